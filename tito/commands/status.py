"""tito status: every module's export state and last test result, with an overall progress bar."""

import json

import click

from tito.console import PLAIN_WIDTH, console, plain_output, say, table
from tito.course import Course
from tito.editions import which_edition
from tito.notebooks.sync import BOTH_CHANGED, IN_STEP, NO_NOTEBOOK, NOTEBOOK_AHEAD, SOURCE_AHEAD
from tito.progress import SOURCE_CHANGED, TESTS_CHANGED


@click.command("status")
@click.option("--json", "as_json", is_flag=True, help="Print the status as JSON instead of a table.")
def command(as_json):
    """Show every module's export and test status, and the edition.

    \b
    exported: fresh (matches its source), stale (source changed since the
              last export), missing, edited (changed by hand) or error
    notebook: - (none; "no notebook" in --json), in step, ahead
              (name_dev.ipynb edited after name_dev.py; tito test/export take
              it), behind (the .py edited after it; tito lab updates it),
              both changed
    last test: the result and time of the last `tito test` of the module
               (passed, source changed since: you edited it, the .py or the
               notebook, after that pass;
               passed, tests changed since: its tests changed after that pass)
    Edition: a student edition and its release, or the instructor's course
             (as `tito doctor` says it)
    """
    course = Course.here()
    rows = module_rows(course)
    passed = sum(1 for row in rows if row["last_result"] == "passed")
    edition, _ = which_edition(course.root)
    if as_json:
        click.echo(json.dumps({"root": str(course.root), "edition": edition, "modules": rows,
                               "passed": passed, "total": len(rows)}, indent=2))
        return
    out = console()
    view = table("Module", "Title", "Exported", "Notebook", "Last test", "When", title=TITLE)
    for row in rows:
        view.add_row(*_cells(row))
    if not plain_output() and out.measure(view, options=out.options.update_width(PLAIN_WIDTH)).maximum > out.width:
        _show_narrow(out, rows)  # the table would cut its cells to a few letters ('06_…')
    else:
        out.print(view)
    say(f"Edition: {edition}")
    for row in rows:
        if row["exported"] == "error":
            say(f"{row['number']}_{row['name']} cannot be exported: {row['export_error']}")
    ahead = [row["name"] for row in rows if row["notebook"] == NOTEBOOK_AHEAD]
    if ahead:
        say(f"Notebook edits not yet in the .py: {', '.join(ahead)} "
            f"(`tito test --module {ahead[0]}` takes them).")
    both = [row["name"] for row in rows if row["notebook"] == BOTH_CHANGED]
    if both:
        say(f"Both the notebook and the .py changed: {', '.join(both)}. Keep one: "
            f"`tito notebooks --module {both[0]} --sync` keeps the notebook, `tito notebooks --module {both[0]}` "
            "the .py (the other is backed up).")
    edited = [row["name"] for row in rows if row["last_result"] == SOURCE_CHANGED]
    if edited:
        say(f"Edited since their last pass: {', '.join(edited)} "
            f"(`tito test --module {edited[0]}` tests them as they are now).")
    changed = [row["name"] for row in rows if row["last_result"] == TESTS_CHANGED]
    if changed:
        say(f"Tests changed since their last pass: {', '.join(changed)} "
            f"(`tito test --module {changed[0]}` runs them again).")
    bar = progress_bar(passed, len(rows))
    out.print(bar, markup=False) if isinstance(bar, str) else out.print(bar)


TITLE = "TinyTorch course status"


def _cells(row) -> tuple:
    """(module, title, exported, notebook, last test, when) of one module, as both layouts show them."""
    from rich.markup import escape

    return (f"{row['number']}_{escape(row['name'])}", escape(row["title"]), _styled(row["exported"]),
            _styled("-" if row["notebook"] == NO_NOTEBOOK else row["notebook"]), _styled(row["last_result"]),
            _when(row["last_run"]))


def _show_narrow(out, rows) -> None:
    """'06_cnn CNN' then '  exported fresh, notebook -, test passed 2026-11-30 12:57', wrapped at words."""
    out.print(f"[bold]{TITLE}[/]")
    for row in rows:
        module, title, exported, notebook, last, when = _cells(row)
        out.print(f"[bold]{module}[/] {title}", highlight=False)
        out.print(f"  exported {exported}, notebook {notebook}, test {last}" + ("" if when == "-" else f" {when}"),
                  highlight=False)


def module_rows(course) -> list:
    """One dict per module: number, name, title, exported, export_error, notebook, last_result, last_run."""
    from tito.exporter import export_state
    from tito.notebooks.sync import state
    from tito.progress import ProgressStore, last_result

    records = ProgressStore(course.root).load()["modules"]
    rows = []
    for module in course.modules:
        exported, error = export_state(module)
        last, notebook = records.get(module.name), state(module)
        rows.append({
            "number": module.number,
            "name": module.name,
            "title": module.title,
            "exported": exported,
            "export_error": error,
            "notebook": notebook,
            "last_result": last_result(last, module, notebook),
            "last_run": None if last is None else last.get("when"),
        })
    return rows


STYLES = {"fresh": "green", "passed": "green", "stale": "yellow", "never": "dim", TESTS_CHANGED: "yellow",
          SOURCE_CHANGED: "yellow",
          "missing": "yellow", "edited": "red", "error": "red", "failed": "red",
          IN_STEP: "green", "-": "dim", NOTEBOOK_AHEAD: "yellow", SOURCE_AHEAD: "yellow", BOTH_CHANGED: "red"}


def _styled(word: str) -> str:
    if plain_output():
        return word
    from rich.markup import escape

    return f"[{STYLES.get(word, 'yellow')}]{escape(word)}[/]"


def _when(stamp) -> str:
    if not stamp:
        return "-"
    from datetime import datetime

    try:
        return datetime.fromisoformat(stamp).astimezone().strftime("%Y-%m-%d %H:%M")
    except ValueError:
        return str(stamp)


def progress_bar(done: int, total: int, width: int = 30):
    """'[#########-----] 3/6 modules passed' in plain mode, a Rich bar on a terminal."""
    label = f"{done}/{total} modules passed"
    if plain_output():
        filled = round(width * done / total) if total else 0
        return f"[{'#' * filled}{'-' * (width - filled)}] {label}"
    from rich.progress_bar import ProgressBar
    from rich.table import Table

    width = min(width, max(10, console().width - len(label) - 1))  # the label whole on a narrow terminal
    line = Table.grid(padding=(0, 1))
    line.add_row(ProgressBar(total=max(total, 1), completed=done, width=width), label)
    return line
