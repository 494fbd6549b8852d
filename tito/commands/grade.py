"""tito grade: grade student submissions in isolated copies of the course."""

from pathlib import Path

import click

from tito.console import console, plain_output, table
from tito.course import Course
from tito.errors import TitoError


@click.command("grade")
@click.argument("submission", type=click.Path(exists=True, path_type=Path))
@click.option("--module", "-m", "module_name", required=True, metavar="NAME", help="The module graded, e.g. cnn.")
@click.option("--json", "json_file", type=click.Path(dir_okay=False, path_type=Path),
              help="One submission: also write its report as JSON here.")
@click.option("--timeout", default=120.0, show_default=True, metavar="S",
              type=click.FloatRange(min=0, min_open=True),
              help="Seconds one submission may take; a slower one scores 0.")
@click.option("--jobs", "-j", default=1, show_default=True, type=click.IntRange(min=1), metavar="N",
              help="A folder: grade N submissions at a time.")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), metavar="DIR",
              help="A folder: where gradebook.csv and the JSON reports go (default: grades/NAME).")
@click.option("--calibrate/--no-calibrate", default=True, show_default=True,
              help="Grade the released stub first; tests it already passes earn 0 unless module.yaml gives points.")
def command(submission, module_name, json_file, timeout, jobs, out_dir, calibrate):
    """Grade student submissions in isolated copies of the course.

    SUBMISSION is one student's module source (name_dev.py or .ipynb), or a folder of
    them (alice.py, bob.ipynb, or carol/name_dev.py). Each is tested in its own
    temporary copy of the course, with the prerequisites from the reference solutions
    and the reference's inline tests; points per test come from module.yaml
    (`points: {test_name: n}`, default 1, but 0 for a test the untouched stub
    already passes).

    \b
    Examples:
      tito grade alice_cnn_dev.py --module cnn --json alice.json
      tito grade submissions/ --module cnn --jobs 2 --out grades/cnn
    """
    from tito.grading import Grader

    course = Course.here()
    module = course.get(module_name)
    if submission.is_dir() and json_file:
        raise TitoError("--json is for one submission; a folder's reports go to --out DIR.", exit_code=2)
    if submission.is_file() and submission.suffix not in (".py", ".ipynb"):
        raise TitoError(f"{submission} is not a module source: expected a .py or .ipynb file.", exit_code=2)
    with Grader(course, module, timeout=timeout, calibrate=calibrate) as grader:
        if submission.is_dir():
            _grade_folder(grader, submission, jobs, out_dir or Path("grades") / module.name)
        else:
            _grade_one(grader, submission, json_file)


def _grade_one(grader, submission, json_file):
    from tito.grading import write_json

    grade = grader.grade(submission)
    show_grade(grade)
    if json_file:
        write_json(grade, json_file)
        console().print(f"Report: {json_file}")


def _grade_folder(grader, folder, jobs, out_dir):
    from tito.grading import find_submissions, grade_many, write_gradebook, write_json

    submissions = find_submissions(folder, grader.module)
    if not submissions:
        raise TitoError(f"No submissions in {folder}: expected alice.py, bob.ipynb or carol/"
                        f"{grader.module.name}_dev.py.")
    out = console()
    done = []

    def report(grade):
        done.append(grade)
        out.print(f"[{len(done)}/{len(submissions)}] {grade.student}: {grade.score}/{grade.max_score}"
                  f" ({grade.seconds:.1f} s)", highlight=False)

    grades = grade_many(grader, submissions, jobs, on_done=report)
    for grade in grades:
        write_json(grade, out_dir / f"{grade.student}.json")
    write_gradebook(grades, out_dir / "gradebook.csv")
    book = table("Student", "Score", "Max", "Note", title=f"Gradebook: {grader.module.dirname}")
    for grade in grades:
        book.add_row(grade.student, str(grade.score), str(grade.max_score), _first_line(grade.error))
    out.print(book)
    out.print(f"Wrote {out_dir / 'gradebook.csv'} and {len(grades)} JSON reports in {out_dir}/")


def show_grade(grade) -> None:
    """The Rich report of one submission: one row per test, the reason it lost points, the total."""
    out = console()
    ok, bad = ("PASS", "FAIL") if plain_output() else ("[green]✓[/]", "[red]✗[/]")
    rows = table("Test", "Result", "Points", "Message",
                 title=f"{grade.student}: module {grade.module} ({Path(grade.submission).name})")
    for column in rows.columns:
        column.overflow = "fold"  # a long pytest node id stays whole, across lines
    for test in grade.tests:
        rows.add_row(_escape(test.name), ok if test.passed else bad, f"{test.earned}/{test.points}",
                     _escape(_first_line(test.message)))
    out.print(rows)
    if grade.error:
        out.print(f"Reason: {_escape(grade.error)}", highlight=False)
    style = "bold green" if grade.score == grade.max_score else "bold red" if grade.score == 0 else "bold yellow"
    out.print(f"[{style}]Score: {grade.score}/{grade.max_score}[/] ({grade.seconds:.1f} s)")


def _first_line(text: str, width: int = 90) -> str:
    line = (text or "").strip().splitlines()[0] if (text or "").strip() else ""
    return line if len(line) <= width else line[: width - 1] + "…"


def _escape(text: str) -> str:
    from rich.markup import escape

    return escape(text)
