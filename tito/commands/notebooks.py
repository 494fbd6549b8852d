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
    A file about to be replaced that holds edits of its own (changed since the last sync)
    is first copied to .tito/backups/. `tito test` and `tito export` sync a notebook edited
    last by themselves; when both files changed, these two commands are how you choose.

    \b
    Examples:
      tito notebooks --module cnn
      tito notebooks --module cnn --sync
      tito notebooks --all
    """
    from tito.notebook_sync import sync_notebook, write_notebook

    course = Course.here()
    for module in chosen_modules(course, module_name, all_modules):
        if sync:
            if not module.notebook.exists() and all_modules:
                console().print(f"- {module.dirname}: no notebook, skipped")
                continue
            path, saved = sync_notebook(module)
            source = module.notebook
        else:
            path, saved = write_notebook(module)
            source = module.dev_file
        if saved:
            console().print(f"Backed up {module.relative(path)}, changed after {source.name}: {module.relative(saved)}")
        console().print(f"[green]✓[/] {module.dirname}: {module.relative(source)} -> {module.relative(path)}")
