"""tito module: manage a student's module (reset it to its released stub)."""

import click

from tito.console import console, say
from tito.course import Course


@click.group("module")
def command():
    """Manage a student's module.

    \b
    Examples:
      tito module reset cnn
    """


@command.command("reset")
@click.argument("name")
def reset(name):
    """Restore module NAME to the stub it was released with.

    Your current name_dev.py (and name_dev.ipynb) are first copied to
    .tito/backups/name_dev.<time>.py, so no work is lost.
    """
    from tito.course_lock import one_run_at_a_time

    course = Course.here()
    module = course.get(name)
    with one_run_at_a_time(course.root):
        _reset(course, module)


def _reset(course, module) -> None:
    """Put the module's released stub back (backing up the student's files) and export it."""
    from tito.editions.reset import reset_module

    result = reset_module(course, module)
    for path in result.backups:
        console().print(f"Backed up your work: {module.relative(path)}")
    if result.changed:
        from tito.testing.runner import run_export

        files = (f"{module.relative(result.restored)} and {module.notebook.name} are back to their"
                 if result.notebook_rewritten else f"{module.relative(result.restored)} is back to its")
        console().print(f"[green]✓[/] {module.dirname}: {files} released stub.")
        if result.notebook_rewritten:
            say(f"Is {module.notebook.name} open in Jupyter? Reload it from disk (File > Reload Notebook from Disk) "
                "and restart its kernel, or the notebook's autosave writes your old work back.")
        exported = run_export(module)  # tinytorch/ follows the source, as after tito test
        say(f"Exported: {exported.note}" if exported.ok else f"Not exported: {exported.error}")
    else:
        console().print(f"{module.dirname}: already the released stub; nothing to do.")
