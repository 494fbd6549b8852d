"""tito export: write modules' #| export cells into the tinytorch package."""

import click

from tito.console import console, escape, table, warn
from tito.course import Course
from tito.errors import TitoError
from tito.options import chosen_modules, module_choice


@click.command("export")
@module_choice
@click.option("--check", is_flag=True, help="Write nothing; exit 1 if a generated file is out of step.")
@click.option("--force", is_flag=True, help="Overwrite generated files that were edited by hand (each is "
              "first copied to .tito/backups/).")
@click.option("--keep-going", is_flag=True,
              help="With --all: export every module that can be, even after one that cannot; exit 1 naming those.")
def command(module_name, all_modules, check, force, keep_going):
    """Export module sources into the tinytorch package.

    Each `#| export` cell of modules/source/NN_name/name_dev.py goes into the file
    named by its `#| default_exp` line, e.g. tinytorch/core/cnn.py. A name_dev.ipynb
    edited after name_dev.py is first synced into it (the .py backed up in .tito/backups/).
    With --keep-going, a module that cannot be exported (e.g. a syntax error) is named and
    the others are still exported (an edition's Binder and Colab setup export this way).
    Another tito run writing or testing this course (a second terminal, a notebook
    cell) is waited for, saying which.

    \b
    Examples:
      tito export --module cnn
      tito export --all
      tito export --all --keep-going
      tito export --check
    """
    course = Course.here()
    modules = chosen_modules(course, module_name, all_modules, required=not check, keep_going=keep_going)
    if check:
        _check(modules)
        return
    from tito.course_lock import one_run_at_a_time

    with one_run_at_a_time(course.root):
        _export(modules, force, keep_going)


def _export(modules, force, keep_going=False):
    from tito.exporter import export_modules
    from tito.notebooks.sync import take_notebook_edits

    def prepare(module):
        if missing := module.missing_metadata():
            warn(missing)
        take_notebook_edits(module)

    failed = export_modules(modules, force, keep_going, prepare=prepare, on_exported=_say_exported,
                            on_failed=_say_failed)
    if failed:
        raise TitoError(f"Not exported: {', '.join(module.dirname for module, _ in failed)}; the other modules were.",
                        hint="Fix each, then `tito export --module NAME`; `tito test --module NAME` shows more.")


def _say_exported(module, generated, before):
    rel = module.relative(generated.target)
    verb = "unchanged" if before == "fresh" else ("overwrote hand edit in" if before == "edited" else "wrote")
    kept = f" (the hand-edited file is in {module.relative(generated.kept)})" if generated.kept else ""
    console().print(f"[green]✓[/] {module.dirname}: {verb} {escape(rel)}{escape(kept)}")
    for message in generated.warnings:
        warn(message)


def _say_failed(module, error):
    console().print(f"[red]✗[/] {module.dirname}: not exported: {escape(error.message)}",
                    highlight=False, soft_wrap=True)


def _check(modules):
    from tito.exporter import render, state_of

    out = table("Module", "Generated file", "State")
    problems = []
    for module in modules:
        generated = render(module)
        state = state_of(generated)
        out.add_row(module.dirname, module.relative(generated.target), state)
        if state != "fresh":
            problems.append(f"{module.relative(generated.target)} ({state})")
    console().print(out)
    if problems:
        raise TitoError(
            "Generated files out of step with their sources: " + ", ".join(problems),
            hint="Run `tito export --all` (stale or missing); for a hand edit, move it into the source first.",
        )
    console().print(f"[green]All {len(modules)} generated files match their sources.[/]")


# What Ctrl-C keeps (said by tito.cli)
command.interrupted = (
    "the modules listed above are exported and every other generated file is as it was; run "
    "it again to export the rest."
)
