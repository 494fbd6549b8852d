"""tito notebooks: module sources (.py) to Jupyter notebooks (.ipynb) and back."""

import click

from tito.console import console, say
from tito.course import Course
from tito.errors import TitoError
from tito.options import chosen_modules, module_choice


@click.command("notebooks")
@module_choice
@click.option("--sync", is_flag=True, help="The other way: write name_dev.py from name_dev.ipynb.")
@click.option("--force", is_flag=True, help="Replace the file even when it holds the newer edits (backed up first).")
def command(module_name, all_modules, sync, force):
    """Convert module sources to notebooks and back.

    Writes modules/source/NN_name/name_dev.ipynb from name_dev.py (jupytext), with
    nbgrader metadata on solution and test cells; `--sync` writes your edited notebook
    back into name_dev.py. Cell metadata survive both ways; files are written atomically.
    A notebook that already matches its .py is left as it is (its outputs kept) unless `--force`.
    A file holding the newer edits is not replaced (a module whose notebook you edited last
    is left as it is by `tito notebooks`, one whose .py you edited last by `--sync`) unless
    `--force`; a file about to be replaced that holds edits of its own is first copied to
    .tito/backups/. `tito test` and `tito export` sync a notebook edited last by themselves;
    when both files changed, these two commands with --module are how you choose.

    \b
    Examples:
      tito notebooks --module cnn
      tito notebooks --module cnn --sync
      tito notebooks --all
    """
    from tito.course_lock import one_run_at_a_time

    course = Course.here()
    modules = chosen_modules(course, module_name, all_modules)
    with one_run_at_a_time(course.root):
        for module in modules:
            _convert(module, sync, force, all_modules)


def _convert(module, sync: bool, force: bool, all_modules: bool) -> None:
    """Write one module's notebook from its .py (with ``sync`` the other way), or say why not."""
    from tito.notebooks.sync import notebook_is_current, overwrite_blocker, sync_notebook, write_notebook

    if sync and not module.notebook.exists() and all_modules:
        console().print(f"- {module.dirname}: no notebook, skipped")
        return
    blocker = "" if force else overwrite_blocker(module, sync, chosen=not all_modules)
    if blocker and not all_modules:
        raise TitoError(f"{module.dirname}: {blocker}; nothing was written.", hint=_ways_out(module, sync))
    if blocker:
        say(f"- {module.dirname}: skipped: {blocker} ({_choice(module, sync, blocker)})")
        return
    if not sync and not force and notebook_is_current(module):
        console().print(f"[green]✓[/] {module.dirname}: {module.relative(module.notebook)} already matches "
                        f"{module.dev_file.name}: left as it is, its outputs kept")
        return
    if sync:
        path, saved = sync_notebook(module)
        source = module.notebook
    else:
        path, saved = write_notebook(module)
        source = module.dev_file
    if saved:
        console().print(f"Backed up {module.relative(path)}, changed after {source.name}: {module.relative(saved)}")
    console().print(f"[green]✓[/] {module.dirname}: {module.relative(source)} -> {module.relative(path)}")


def _ways_out(module, sync: bool) -> str:
    other = "" if sync else " --sync"
    return (f"Keep the newer edits the other way: tito notebooks --module {module.name}{other}\n"
            f"Replace them anyway (backed up first): tito notebooks --module {module.name}"
            f"{' --sync' if sync else ''} --force")


def _choice(module, sync: bool, blocker: str) -> str:
    """What a skipped module's student can run instead (one line)."""
    if blocker.startswith("both"):
        return f"`tito notebooks --module {module.name}` keeps the .py, with --sync the notebook"
    other, side = ("", "the notebook") if sync else (" --sync", "the .py")
    return f"`tito notebooks --module {module.name}{other}` brings {side} up to them"


# What Ctrl-C keeps (said by tito.cli)
command.interrupted = (
    "the modules listed above are converted and every other file is as it was; run it again "
    "to convert the rest."
)
