"""tito grade: grade student submissions, each in a sandbox, with points from the module's checks."""

from pathlib import Path

import click

from tito.console import console, err_console, plain_output, table
from tito.course import Course
from tito.errors import TitoError


@click.command("grade")
@click.argument("submission", type=click.Path(exists=True, path_type=Path))
@click.option("--module", "-m", "module_name", required=True, metavar="NAME", help="The module graded, e.g. cnn.")
@click.option("--json", "json_file", type=click.Path(dir_okay=False, path_type=Path),
              help="One submission: also write its report as JSON here.")
@click.option("--timeout", default=120.0, show_default=True, metavar="S",
              type=click.FloatRange(min=0, min_open=True),
              help="Seconds one submission may take, everything included; checks unfinished then score 0.")
@click.option("--jobs", "-j", default=1, show_default=True, type=click.IntRange(min=1), metavar="N",
              help="A folder: grade N submissions at a time.")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), metavar="DIR",
              help="A folder: where gradebook.csv and the JSON reports go (default: grades/NAME).")
@click.option("--calibrate/--no-calibrate", default=True, show_default=True,
              help="Run the checks on the released stub first; a check it already passes earns 0.")
@click.option("--sandbox", "sandbox_name", default="auto", show_default=True,
              type=click.Choice(["auto", "bubblewrap", "uid-drop"]), help="Which sandbox runs student code.")
@click.option("--unsafe-no-sandbox", is_flag=True,
              help="Grade without any sandbox (student code runs as you). Only for code you trust.")
def command(submission, module_name, json_file, timeout, jobs, out_dir, calibrate, sandbox_name, unsafe_no_sandbox):
    """Grade student submissions, each in a sandbox, with points from the module's checks.

    SUBMISSION is one student's module source (name_dev.py or .ipynb), or a folder of
    them (alice.py, bob.ipynb, or carol/name_dev.py). Each runs in its own sandbox (no
    network, no solutions, its own scratch, one time limit), where its code is exported,
    its checks run and its tests run for feedback. Points come only from the checks in
    tests/NN_name/checks.py, listed with their points under `checks:` in module.yaml,
    compared outside the sandbox with the reference solution's results.

    \b
    Examples:
      tito grade alice_cnn_dev.py --module cnn --json alice.json
      tito grade submissions/ --module cnn --jobs 2 --out grades/cnn
    """
    from tito.grading import Grader, choose

    course = Course.here()
    module = course.get(module_name)
    if submission.is_dir() and json_file:
        raise TitoError("--json is for one submission; a folder's reports go to --out DIR.", exit_code=2)
    if submission.is_file() and submission.suffix not in (".py", ".ipynb"):
        raise TitoError(f"{submission} is not a module source: expected a .py or .ipynb file.", exit_code=2)
    sandbox = choose(sandbox_name, unsafe=unsafe_no_sandbox)
    announce_sandbox(sandbox)
    with Grader(course, module, timeout=timeout, calibrate=calibrate, sandbox=sandbox) as grader:
        if submission.is_dir():
            _grade_folder(grader, submission, jobs, out_dir or Path("grades") / module.name)
        else:
            _grade_one(grader, submission, json_file)


def announce_sandbox(sandbox) -> None:
    if sandbox.name == "none":
        err_console().print("[bold red]WARNING: grading without a sandbox.[/] " + " ".join(sandbox.lacks),
                            highlight=False, soft_wrap=True)
    else:
        console().print(f"Sandbox: {sandbox.name} ({'; '.join(sandbox.protects)}; not: {'; '.join(sandbox.lacks)})",
                        highlight=False, markup=False, soft_wrap=True)


def _grade_one(grader, submission, json_file):
    from tito.grading import write_json

    grade = grader.grade(submission)
    show_grade(grade)
    if json_file:
        write_json(grade, json_file)
        console().print(f"Report: {json_file}")


def _grade_folder(grader, folder, jobs, out_dir):
    from tito.grading import find_submissions, grade_batch

    submissions = find_submissions(folder, grader.module)
    if not submissions:
        raise TitoError(f"No submissions in {folder}: expected alice.py, bob.ipynb or carol/"
                        f"{grader.module.name}_dev.py.")
    out = console()
    done = []

    def report(grade):
        done.append(grade)
        out.print(f"[{len(done)}/{len(submissions)}] {grade.student}: {grade.score}/{grade.max_score}"
                  f" ({grade.seconds:.1f} s)", highlight=False, markup=False)

    grades = grade_batch(grader, submissions, out_dir, jobs, on_done=report)
    book = table("Student", "Score", "Max", "Note", title=f"Gradebook: {grader.module.dirname}")
    for grade in grades:
        book.add_row(_escape(grade.student), str(grade.score), str(grade.max_score), _escape(_first_line(grade.error)))
    out.print(book)
    out.print(f"Wrote {out_dir / 'gradebook.csv'} and {len(grades)} JSON reports in {out_dir}/", markup=False)


def show_grade(grade) -> None:
    """The Rich report of one submission: the checks (points), the tests (feedback), the total."""
    out = console()
    ok, bad = ("PASS", "FAIL") if plain_output() else ("[green]✓[/]", "[red]✗[/]")
    rows = table("Check", "Result", "Points", "Message",
                 title=f"{grade.student}: module {grade.module} ({Path(grade.submission).name})")
    for column in rows.columns:
        column.overflow = "fold"
    for test in grade.checks:
        rows.add_row(_escape(test.name), ok if test.passed else bad, f"{test.earned}/{test.points}",
                     _escape(_first_line(test.message)))
    out.print(rows)
    feedback = grade.feedback
    if feedback:
        passed = sum(t.passed for t in feedback)
        out.print(f"Feedback (no points): {passed}/{len(feedback)} inline and pytest tests passed in the sandbox.",
                  highlight=False)
        for test in [t for t in feedback if not t.passed][:10]:
            out.print(f"  {bad} {_escape(test.name)}: {_escape(_first_line(test.message))}", highlight=False)
    if grade.error:
        out.print(f"Reason: {_escape(grade.error)}", highlight=False)
    style = "bold green" if grade.score == grade.max_score else "bold red" if grade.score == 0 else "bold yellow"
    out.print(f"[{style}]Score: {grade.score}/{grade.max_score}[/] ({grade.seconds:.1f} s, "
              f"sandbox: {grade.sandbox.get('backend', '?')})")


def _first_line(text: str, width: int = 90) -> str:
    line = (text or "").strip().splitlines()[0] if (text or "").strip() else ""
    return line if len(line) <= width else line[: width - 1] + "…"


def _escape(text: str) -> str:
    from rich.markup import escape

    return escape(text)
