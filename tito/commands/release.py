"""tito release: write a student edition of the course, without solutions."""

from pathlib import Path

import click

from tito.console import console, counted, say, table, warn
from tito.course import Course
from tito.options import chosen_modules, module_choice


@click.command("release")
@module_choice
@click.option("--out", "out", required=True, type=click.Path(file_okay=False, path_type=Path),
              metavar="DIR", help="Folder for the student edition (must be empty unless --force).")
@click.option("--repository", metavar="URL", default=None,
              help="The edition's own GitHub repository, written into its pyproject.toml: its website's "
                   "Binder, Colab and source links open it, and each notebook's first cell clones it in "
                   "Colab [default: an earlier edition's in DIR].")
@click.option("--force", is_flag=True,
              help="Write into a non-empty DIR; in an earlier edition, modules a student has worked on stay as they "
                   "are, and other files it replaces with other contents are first copied to .tito/backups/.")
def command(module_name, all_modules, out, force, repository):
    """Write a student edition of the course, without solutions.

    Every `### BEGIN SOLUTION` ... `### END SOLUTION` block becomes
    `raise NotImplementedError("TODO: implement <function>")`, hidden tests are removed,
    each module also becomes a notebook, and no solved tinytorch/core file is copied.
    The edition runs on Binder (its binder/ installs it and exports every module) and, with
    --repository, in Colab (each module's first cell fetches the repository there).
    `--module NAME` releases that module with its prerequisites; with --force into a
    student's earlier edition it adds the new modules and leaves their work alone
    (any other file it replaces with other contents is first copied to .tito/backups/).

    \b
    Examples:
      tito release --all --out ../tinytorch-student --repository https://github.com/ME/tinytorch-student
      tito release --module cnn --out /tmp/cnn-edition
    """
    from tito.editions import check_release_record
    from tito.editions.release import release, start_line

    course = Course.here()
    modules = chosen_modules(course, module_name, all_modules)
    check_release_record(course.root)  # recorded after the release: a broken record stops it before
    report = release(course, modules, out, force=force, repository=repository)
    rows = table("Module", "Stubbed functions", "Hidden tests and checks removed", "Notebook",
                 title=f"Student edition: {report.out}")
    for item in report.modules:
        rows.add_row(item.module.dirname, ", ".join(item.stubs) or "-", str(item.hidden_blocks),
                     item.module.notebook.name)
    console().print(rows)
    for path in report.kept:
        if path in report.new_stubs:
            replaced = f", the stub it replaced in {report.replaced_copies}." if report.replaced_copies else "."
            say(f"Kept the student's work in {path}; its new stub is in .tito/release (`tito module reset` takes "
                f"it, backing the work up first){replaced}")
        else:
            say(f"Kept the student's work in {path}; its stub did not change.")
    for path in report.removed:
        console().print(f"Removed a solved generated file: {path}")
    if report.replaced:
        named = ", ".join(str(rel) for rel in report.replaced[:3]) + (
            f" and {len(report.replaced) - 3} more" if len(report.replaced) > 3 else "")
        say(f"Replaced {len(report.replaced)} file(s) that differed from this release's ({named}); the earlier "
            f"copies are in {report.replaced_copies}.")
    for message in report.warnings:
        warn(message)
    _remember(course, report)
    stubs = sum(len(item.stubs) for item in report.modules)
    unchanged = f" ({report.unchanged} more were already as released)" if report.unchanged else ""
    console().print(f"[green]✓[/] Wrote {counted(report.files - report.unchanged, 'file')}{unchanged}: "
                    f"{counted(len(report.modules), 'module')}, "
                    f"{stubs} stubs, no solutions. Students start with:")
    say(f"  {start_line(report)}")


def _remember(course, report) -> None:
    """Record the released files in the course (``tito.editions.RELEASED``), so that grading knows
    these stubs as released after a fix mid-term changes them; a warning if it cannot."""
    from tito.editions import RELEASED, remember_release

    try:
        remember_release(course.root, [item.module for item in report.modules])
    except OSError as exc:
        warn(f"{course.root / RELEASED} could not be written ({exc.strerror}): after a fix of these modules' stubs, "
             "tito grade would take this release's stub for a student's work.")
        return
    say(f"Commit {RELEASED} with the course: it lists every module file released so far, so that tito grade "
        "knows an earlier release's stub as no one's work.")


# What Ctrl-C keeps (said by tito.cli)
command.interrupted = (
    "the edition is built aside and moved into place only when complete, so the output folder "
    "is as it was (unless an update with --force had begun: run it again)."
)
