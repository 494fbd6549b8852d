"""tito notebooks: module sources (.py) to Jupyter notebooks (.ipynb) and back."""

import click

from tito.console import console
from tito.course import Course
from tito.options import chosen_modules, module_choice


@click.command("notebooks")
@module_choice
@click.option("--sync", is_flag=True, help="The other way: write name_dev.py from name_dev.ipynb.")
def command(module_name, all_modules, sync):
    """Convert module sources to notebooks and back.

    Writes modules/source/NN_name/name_dev.ipynb from name_dev.py (jupytext), with
    nbgrader metadata on solution and test cells; `--sync` writes your edited notebook
    back into name_dev.py. Cell metadata survive both ways; files are written atomically.

    \b
    Examples:
      tito notebooks --module cnn
      tito notebooks --module cnn --sync
      tito notebooks --all
    """
    from tito.release import sync_notebook, write_notebook

    course = Course.here()
    for module in chosen_modules(course, module_name, all_modules):
        if sync:
            if not module.notebook.exists() and all_modules:
                console().print(f"- {module.dirname}: no notebook, skipped")
                continue
            path = sync_notebook(module)
            console().print(f"[green]✓[/] {module.dirname}: {module.relative(module.notebook)} -> {module.relative(path)}")
        else:
            path = write_notebook(module)
            console().print(f"[green]✓[/] {module.dirname}: {module.relative(module.dev_file)} -> {module.relative(path)}")
