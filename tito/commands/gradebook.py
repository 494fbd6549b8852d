"""tito gradebook: after tito grade, feedback files to hand back and final grades across modules."""

from pathlib import Path

import click

from tito.console import console, counted
from tito.errors import TitoError

REPORTS = click.Path(exists=True, file_okay=False, path_type=Path)


@click.group("gradebook")
def command():
    """Hand back feedback; combine modules' grades into final grades.

    Both read the reports folders tito grade writes (grades/NAME by default).

    \b
    Example:
      tito gradebook feedback grades/cnn
      tito gradebook final grades/setup grades/cnn --roster roster.txt --out final.csv
    """


@command.command("feedback", short_help="A Markdown file per student to hand back.")
@click.argument("reports", metavar="OUT", type=REPORTS)
@click.option("--to", "to", type=click.Path(file_okay=False, path_type=Path), metavar="DIR",
              help="Where the feedback files go (default: OUT/feedback).")
def feedback(reports, to):
    """Write one Markdown file per student to hand back: OUT/feedback/<student>.md.

    OUT is a folder tito grade DIR --module M --out OUT wrote; every student its gradebook.csv
    lists gets a file with the score, the reason points were lost as a whole, each visible check
    (passed or failed, its points, and its message as the learning platforms show it: what
    differs and what came, never where or what was expected), the hidden checks as one line of
    points, and the tests run for feedback. A file there that tito did not write is left alone.
    """
    from tito.grading.results import read_graded_folder
    from tito.grading.state import refuse_while_graded
    from tito.grading.student_feedback import FOLDER, write_feedback

    refuse_while_graded(reports)
    graded = read_graded_folder(reports)
    to = to or reports / FOLDER
    if to.exists() and not to.is_dir():
        raise TitoError(f"--to {to} is a file: expected a folder for the feedback files.", exit_code=2)
    handed = write_feedback(graded, to)
    out = console()
    out.print(f"Wrote {counted(len(handed.written), 'feedback file')} for module {graded.module} to {to}/ "
              f"(from {counted(len(graded.grades), 'report')} in {reports}/)", markup=False, highlight=False)
    _notes(graded)
    if graded.incomplete:
        out.print(f"Not graded completely, so their feedback says why they score 0: {_names(graded.incomplete)}. "
                  "Run tito grade again before handing these back.", markup=False, highlight=False)
    problems = []  # (what was not written and why, what to do): every one said at once
    if handed.refused:
        problems.append((f"Not written, because a file tito did not write is there: "
                         f"{', '.join(str(path) for path in handed.refused)}.",
                         "Move those files away (or give --to another folder) and run the same command again."))
    if graded.pending:
        problems.append(("Not written for the students whose row in gradebook.csv waits for a grade (its pending "
                         "column), so that no one is handed an old grade: " + _names(graded.waiting, "; ") + ".",
                         AGAIN))
    if problems:
        raise TitoError(" ".join(said for said, _ in problems), hint="\n".join(todo for _, todo in problems))


@command.command("final", short_help="Several modules' grades in one CSV of final grades.")
@click.argument("folders", nargs=-1, required=True, metavar="OUT...", type=REPORTS)
@click.option("--out", "out_file", required=True, type=click.Path(dir_okay=False, path_type=Path), metavar="FILE",
              help="The CSV of final grades (a file there is replaced only if tito wrote it).")
@click.option("--roster", type=click.Path(exists=True, dir_okay=False, path_type=Path), metavar="FILE",
              help="Every student of the course, one name per line as their submissions are named: each gets a "
                   "row, also one who never submitted.")
@click.option("--weight", "weights", multiple=True, metavar="MODULE=W",
              help="A module's weight in the percent (repeatable; then give every module one). Default: each "
                   "module weighs its points.")
def final(folders, out_file, roster, weights):
    """Combine the reports folders of several modules into one CSV of final grades.

    Each OUT is a folder tito grade wrote (one module). The CSV has a row per student, a column
    per module with the points earned (its header says out of how many; an EMPTY cell: no grade
    in that module, counted as 0), the total points and the percent. Cells are safe in a
    spreadsheet (a cell that would start a formula gets a leading ').
    """
    from tito.grading.final_grades import combine, ours, parse_weight, read_roster, write_final
    from tito.grading.results import read_graded_folder
    from tito.grading.state import refuse_while_graded

    if (out_file.exists() or out_file.is_symlink()) and not ours(out_file):
        raise TitoError(f"--out {out_file} exists and is not a file of final grades tito wrote, so it is not "
                        "replaced.", hint="Give another file name, or move that file away first (nothing has run).",
                        exit_code=2)
    parsed = dict(parse_weight(text) for text in weights)
    for folder in folders:
        refuse_while_graded(folder)
    graded = [read_graded_folder(folder) for folder in folders]
    result = combine(graded, read_roster(roster) if roster else None, parsed or None)
    write_final(result, out_file)
    out = console()
    modules = "module" if len(graded) == 1 else "modules"
    out.print(f"Wrote {out_file}: {counted(len(result.rows), 'student')}, {modules} "
              f"{', '.join(g.module for g in graded)} (an empty cell: no grade in that module, counted as 0)",
              markup=False, highlight=False)
    for folder in graded:
        _notes(folder)
    if result.never_graded:
        out.print(f"On the roster, graded in no module (rows of 0): {_names(result.never_graded)}",
                  markup=False, highlight=False)
    if result.not_on_roster:
        out.print(f"Graded but not on the roster (rows added after it): {_names(result.not_on_roster)}",
                  markup=False, highlight=False)
    if result.look_alikes:
        pairs = ", ".join(f"{_names([roster_name])} (roster) and {_names([graded_name])} (graded)"
                          for roster_name, graded_name in result.look_alikes)
        out.print(f"Names that look alike (letter case, accents, a typo?): {pairs}. If each pair is one student, "
                  "write the roster's line as the submission is named and run this command again.",
                  markup=False, highlight=False)
    unfinished = [f"Not graded completely, so their 0 in the CSV is not final: {_names(result.incomplete, '; ')}."
                  if result.incomplete else "",
                  "Waiting for a grade (the pending column of gradebook.csv), so their cell in the CSV is an old "
                  f"grade or empty: {_names(result.waiting, '; ')}." if result.waiting else ""]
    if any(unfinished):
        raise TitoError(" ".join(filter(None, unfinished)), hint=AGAIN)


AGAIN = "Run the same tito grade command on those modules' submissions again (it grades only them), then this command."


def _notes(graded) -> None:
    """What a reports folder holds beyond its gradebook's rows, said once."""
    out = console()
    if graded.edited:
        from rich.markup import escape

        from tito.console import err_console
        from tito.grading.gradebook import lasting_change

        err_console().print(f"[bold yellow]{escape(str(graded.folder))}/gradebook.csv was edited by hand since tito "
                            f"wrote it:[/] those edits do not count here (the reports do). "
                            f"{escape(lasting_change(graded.folder))}", highlight=False, soft_wrap=True)
    if graded.left_out:
        out.print(f"Left out (a report in {graded.folder}/, but no row in its gradebook.csv): "
                  + _names(graded.left_out), markup=False, highlight=False)
    if graded.unreadable:
        out.print(f"In {graded.folder}/gradebook.csv without a readable report (left out): "
                  + _names(graded.unreadable), markup=False, highlight=False)


def _names(names, separator: str = ", ") -> str:
    """Students' names on one line, each shown as it is (a report is a file anyone could have edited)."""
    from tito.grading.data import showable_name

    return separator.join(showable_name(name) for name in names)
