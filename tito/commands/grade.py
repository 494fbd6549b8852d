"""tito grade: grade student submissions, each in a sandbox, with points from the module's checks."""

import contextlib
import signal
import sys
from pathlib import Path

import click

from tito.console import console, err_console, escape, first_line, plain_output, table
from tito.course import Course
from tito.errors import TitoError
from tito.grading.executors import EXECUTORS
from tito.grading.formats import FORMATS
from tito.grading.sandbox import BACKENDS, choose
from tito.grading.state import ALL
from tito.grading.verdict import without_hint
from tito.options import edition_option, grading_options, json_report_option


@click.command("grade")
@click.argument("submission", required=False, metavar="SUBMISSION", type=click.Path(exists=True, path_type=Path))
@grading_options
@json_report_option("grade", "One submission: also write its report as JSON here (a file there is replaced only "
                    "if it is a report of tito grade, of the same student and module in tito's format).")
@click.option("--format", "form", default="tito", show_default=True,
              type=click.Choice(FORMATS),
              help="One submission: the --json file's format (Gradescope's or PrairieLearn's results.json).")
@click.option("--jobs", "-j", default=1, show_default=True, type=click.IntRange(min=1), metavar="N",
              help="A folder: grade N submissions at a time (dask: a LocalCluster of N workers).")
@click.option("--executor", default="local", show_default=True, type=click.Choice(EXECUTORS),
              help="A folder: grade here, or on a dask cluster (the `cluster` extra).")
@click.option("--scheduler", metavar="ADDRESS", help="With --executor dask: a running cluster, e.g. tcp://host:8786.")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), metavar="DIR",
              help="A folder: where gradebook.csv and the JSON reports go (default: grades/NAME).")
@click.option("--regrade", multiple=True, is_flag=False, flag_value=ALL, metavar="[STUDENT]",
              help="A folder: grade again even if unchanged: everyone, or this student (repeatable).")
@click.option("--sandbox", "sandbox_name", default="auto", show_default=True,
              type=click.Choice(["auto", *BACKENDS]), help="Which sandbox runs student code.")
@click.option("--unsafe-no-sandbox", is_flag=True,
              help="Grade without any sandbox (student code runs as you). Only for code you trust.")
@click.option("--seed", type=click.IntRange(min=0), metavar="N",
              help="One submission: draw the checks' inputs from this seed (the report gives the one used), "
                   "to grade it again on the same inputs. A folder keeps its own in OUT/.tito-seed.")
@click.option("--feedback/--no-feedback", default=True, show_default=True,
              help="After the checks, run the module's inline and pytest tests as feedback (no points; most "
                   "of a submission's time). --no-feedback: the points only.")
@edition_option
def command(submission, module_name, json_file, form, timeout, jobs, executor, scheduler, out_dir, regrade,
            calibrate, sandbox_name, unsafe_no_sandbox, feedback, seed, edition):
    """Grade submissions, each in a sandbox, with the module's checks.

    SUBMISSION is one student's module source (name_dev.py or .ipynb), or a folder of
    them (alice.py, bob.ipynb, or carol/name_dev.py). Each runs in its own sandbox (no
    network, no solutions, its own scratch, one time limit), where its code is exported,
    its checks run and its tests run for feedback. Points come only from the checks in
    tests/NN_name/checks.py, listed with their points under `checks:` in module.yaml,
    compared outside the sandbox with the reference solution's results.

    A folder's batch resumes: each student's report records the hash of the graded file, so
    running the same command again grades only new or changed submissions (or all of them
    after the module's grading changed), and an interrupted batch continues where it stopped,
    an interrupted --regrade too.

    \b
    Examples:
      tito grade alice_cnn_dev.py --module cnn --json alice.json
      tito grade alice_cnn_dev.py --module cnn --format gradescope --json results.json
      tito grade submissions/ --module cnn --jobs 2 --out grades/cnn
      tito grade submissions/ --module cnn --executor dask --scheduler tcp://head:8786
      tito grade submissions/ --module cnn --regrade alice
    """
    from tito.grading import Grader
    from tito.grading.executors import create
    from tito.grading.workspace import refuse_a_student_edition

    if submission is None:
        _missing_submission(regrade, module_name)
    course = Course.here()
    module = course.get(module_name)
    refuse_a_student_edition(course)  # before the sandbox is looked for
    if submission.is_dir():
        if json_file or form != "tito":
            raise TitoError("--json is for one submission (and so is --format); a folder's reports go to --out DIR.",
                            exit_code=2)
        if seed is not None:
            raise TitoError("--seed is for one submission: a folder draws its seed once and keeps it in "
                            "OUT/.tito-seed (delete that file to grade everyone on new inputs).", exit_code=2)
        grader_executor = create(executor, jobs, scheduler, sandbox_name, unsafe_no_sandbox)
        _grade_folder(course, module, submission, grader_executor, out_dir or Path("grades") / module.name,
                      timeout, calibrate, regrade, feedback, edition)
        return
    if edition is not None:
        raise TitoError("--edition is for a folder of submissions, where a student may have left both a .py and "
                        "a notebook; one file is graded as it is.", exit_code=2)
    if submission.suffix.lower() not in (".py", ".ipynb"):
        raise TitoError(f"{submission} is not a module source: expected a .py or .ipynb file.", exit_code=2)
    if regrade or executor != "local" or scheduler:
        raise TitoError("--regrade, --executor and --scheduler are for a folder of submissions.", exit_code=2)
    if form != "tito" and not json_file:
        raise TitoError(f"--format {form} writes that platform's results file: add --json FILE.", exit_code=2)
    if json_file:
        _refuse_another_students_report(json_file, submission, module.name)
    sandbox = choose(sandbox_name, unsafe=unsafe_no_sandbox)
    announce_sandbox(sandbox)
    with Grader(course, module, timeout=timeout, calibrate=calibrate, sandbox=sandbox, feedback=feedback,
                seed=seed) as grader:
        _grade_one(grader, submission, json_file, form)


def _missing_submission(regrade, module_name: str) -> None:
    """SUBMISSION is required; when --regrade took the folder as its value (its value is optional), say so."""
    taken = next((value for value in regrade if value != ALL and Path(value).exists()), None)
    if taken is not None:
        again = f"tito grade {taken} --module {module_name}"
        raise click.UsageError(f"--regrade took '{taken}' as a student name, so SUBMISSION is missing: put the "
                               f"students after the folder ({again} --regrade NAME), use --regrade=NAME, or "
                               f"regrade everyone with --regrade after the folder ({again} --regrade).")
    raise click.UsageError("Missing argument 'SUBMISSION'.")


def announce_sandbox(sandbox) -> None:
    if sandbox.name == "none":
        err_console().print("[bold red]WARNING: grading without a sandbox.[/] " + " ".join(sandbox.lacks),
                            highlight=False, soft_wrap=True)
    else:
        protects, lacks = sandbox.guarantees()
        console().print(f"Sandbox: {sandbox.name} ({'; '.join(protects)}; weak points: {'; '.join(lacks)})",
                        highlight=False, markup=False, soft_wrap=True)


def _refuse_another_students_report(json_file: Path, submission: Path, module: str) -> None:
    """An earlier report names its student and module (in any --format): only the same one's is replaced."""
    from tito.grading.submission import student_of
    from tito.grading.data import showable
    from tito.grading.formats import named_in
    from tito.options import report_in

    whose = named_in(report_in(json_file, "grade") or {})
    if None not in whose and whose != (student_of(submission, module), module):
        # the file's words, which anyone may have written: shown as text, on one line
        student, other = (showable(str(value)).replace("\n", "\\n")[:100] for value in whose)
        raise TitoError(f"--json {json_file} holds the report of {student} for module {other}; not replacing it "
                        f"with {student_of(submission, module)}'s for module {module}.",
                        hint="Give another file name (nothing has run).", exit_code=2)


def _grade_one(grader, submission, json_file, form):
    from tito.grading.formats import render
    from tito.grading.gradebook import write_json

    grade = grader.grade(submission)
    show_grade(grade)
    if grade.other_module:
        console().print(f"Hint: it is module {grade.other_module}'s file: grade it with --module {grade.other_module}",
                        markup=False, highlight=False)
    console().print(f"Seed: {grader.prepared.seed} (--seed {grader.prepared.seed} grades it again on the same inputs)",
                    markup=False, highlight=False)
    if json_file:
        write_json(render(grade, form), json_file)
        console().print(f"Report: {json_file}" + (f" ({form} format)" if form != "tito" else ""), markup=False)


def _grade_folder(course, module, folder, executor, out_dir, timeout, calibrate, regrade, feedback, edition):
    from tito.editions import released_pair
    from tito.grading import find_submissions, grade_folder
    from tito.grading.gradebook import SetAside
    from tito.grading.progress_bar import BatchProgress

    inside = Path(out_dir).resolve()
    if inside == folder.resolve() or folder.resolve() in inside.parents:
        raise TitoError(f"The reports folder {out_dir} is inside the submissions folder {folder}: its reports "
                        "would sit among the students' files, or look like a student.",
                        hint="Give --out a folder outside it (default: grades/MODULE here).", exit_code=2)
    notes: list[str] = []
    several: dict[str, list[str]] = {}  # student -> their files that are no .py/.ipynb pair
    submissions = find_submissions(folder, module, notes, released_pair(module, edition), several)
    if not submissions and not several:
        raise TitoError(f"No submissions in {folder}: expected alice.py, bob.ipynb or carol/{module.name}_dev.py.")
    out = console()
    for note in notes:
        out.print(f"Note: {note}", markup=False, highlight=False)
    out.print(f"Executor: {executor.describe()}", highlight=False, markup=False)
    progress = BatchProgress(f"Grading {module.dirname}")

    def start(plan) -> None:
        if plan.todo:  # what the sandbox guarantees matters to a batch that runs student code
            announce_sandbox(executor.sandbox)
        progress.start(plan)

    aside = SetAside()
    try:
        with _terminate_as_interrupt():
            batch = grade_folder(course, module, submissions, out_dir, executor, timeout=timeout, calibrate=calibrate,
                                 regrade=tuple(regrade), on_start=start, on_done=progress.done,
                                 on_again=progress.again,
                                 feedback=feedback, aside=aside,
                                 held={student: f"files {', '.join(files)}" for student, files in several.items()})
    except KeyboardInterrupt:
        progress.stop()
        _say_what_was_set_aside(aside, out_dir)
        done = (f"their reports and {out_dir / 'gradebook.csv'} are written" if progress.done_count else
                f"{out_dir / 'gradebook.csv'} keeps the grades it had")
        err_console().print(f"Interrupted after {progress.so_far()}: {done}. Run the "
                            "same command again to grade the rest.", highlight=False, markup=False, soft_wrap=True)
        sys.exit(130)
    finally:
        progress.stop()
    _show_gradebook(batch, module, folder, out_dir)
    killed = [grade for grade in batch.graded if grade.sandbox.get("out_of_memory")]
    final = [grade.student for grade in killed if not grade.incomplete]
    if final:
        out.print(f"Killed by the kernel when the machine ran out of memory, for the second time on the same file, so "
                  f"graded as far as they got ({len(final)}): {', '.join(final)}", markup=False, highlight=False)
    unfinished = _not_graded_completely(batch, killed)
    if unfinished is not None and (several or batch.clashes):
        unfinished.show()  # said, before the refusal below ends the command
    _refuse_clashes(batch, several)
    if unfinished is not None:
        raise unfinished


def _show_gradebook(batch, module, folder, out_dir) -> None:
    """The grade table of a batch (its rows as gradebook.csv has them: the students held back
    last, with their old grade if they have one, ``Batch.held``), what it wrote, and its notes
    (left out, set aside, unmatched adjustments, an unfinished --regrade it replaced)."""
    from tito.grading.gradebook import beyond_the_points, read_waiting, safe_cell

    out = console()
    book = table("Student", "Score", "Max", "Note", title=f"Gradebook: {module.dirname}")
    for grade in batch.grades:
        book.add_row(*_row(grade, batch.adjustments))
    waiting = read_waiting(out_dir) or {}
    for student, old in batch.held.items():
        cells = _row(old, batch.adjustments)[:3] if old is not None else (escape(student), "", "")
        book.add_row(*cells, escape(waiting.get(safe_cell(student), "")))
    out.print(book)
    kept_back = sum(old is not None for old in batch.held.values())
    rescored = f"{len(batch.rescored)} re-scored without running, " if batch.rescored else ""
    held_back = f", {kept_back} held back" if kept_back else ""
    out.print(f"Wrote {batch.gradebook} from {len(batch.grades) + kept_back} JSON reports in {out_dir}/ "
              f"({len(batch.graded)} graded now, {rescored}{len(batch.kept)} kept{held_back})",
              markup=False, highlight=False)
    if batch.left_out:
        out.print(f"Left out of the gradebook, with no submission in {folder} now (their reports are kept): "
                  + ", ".join(batch.left_out), markup=False, highlight=False)
    _say_what_was_set_aside(batch.aside, out_dir)
    if batch.unmatched:
        out.print("Note: adjustments.csv names students without a row in the gradebook (their points count for no "
                  f"one; a name must be as the gradebook writes it): {', '.join(map(repr, batch.unmatched))}",
                  markup=False, highlight=False)
    beyond = beyond_the_points(batch.grades, batch.adjustments)
    if beyond:
        out.print(f"Note: adjustments.csv takes these scores outside 0 to the module's points (extra credit, or a "
                  f"typo?): {', '.join(beyond)}", markup=False, highlight=False)
    if batch.abandoned:
        import shlex

        from tito.grading.data import showable_name

        out.print("Note: an earlier --regrade had not finished, and this --regrade replaced it, so these were not "
                  f"graded again (their reports are kept): {', '.join(map(showable_name, batch.abandoned))}. To grade "
                  f"them again too: {' '.join('--regrade ' + shlex.quote(showable_name(s)) for s in batch.abandoned)}",
                  markup=False, highlight=False)


def _row(grade, adjustments: dict) -> tuple:
    """A grade's cells in the table: student, score (adjusted), max, note."""
    from tito.grading.gradebook import adjusted

    score, added, why = adjusted(grade, adjustments)
    note = "; ".join(filter(None, [first_line(grade.error, 90), f"{added:+} adjusted ({why})" if added else ""]))
    return escape(grade.student), str(score), str(grade.max_score), escape(note)


def _not_graded_completely(batch, killed) -> TitoError | None:
    """The error naming the grades that are not final (not the submissions' doing: a report not
    written, a worker without a sandbox, the machine out of memory), or None."""
    unfinished = [grade.student for grade in batch.graded if grade.incomplete]
    if not unfinished:
        return None
    oom = sum(grade.incomplete for grade in killed)
    memory = (f" {oom} of them because the machine ran out of memory and the kernel killed their grading "
              "(fewer --jobs side by side need less memory).") if oom else ""
    return TitoError(f"Not graded completely ({len(unfinished)}): {', '.join(unfinished)}; their notes above say "
                     f"why.{memory}", hint="Run the same command again: it grades them, and only them, again.")


def _refuse_clashes(batch, several: dict[str, list[str]]) -> None:
    """Exit 1 naming the students not graded: files in one name that are no .py/.ipynb pair
    (``several``), and students whose reports would share a file (``batch.clashes``)."""
    from tito.grading.batch import describe_clashes

    if several:
        files = "; ".join(f"{student} ({', '.join(names)})" for student, names in several.items())
        raise TitoError(f"Not graded, because one student's name has several files that are not a .py and .ipynb "
                        f"pair of the module (one may be a classmate's, so none is picked): {files}."
                        + (f" Not graded either, because they would share a report file: "
                           f"{describe_clashes(batch.clashes, batch.owners)}." if batch.clashes else ""),
                        hint="Keep one file per student (or its .py and .ipynb) and run the same command again: "
                             "only they will be graded; until then a grade they had stays, marked in pending.")
    if batch.clashes:
        raise TitoError(f"Not graded, because they would share a report file: "
                        f"{describe_clashes(batch.clashes, batch.owners)}.",
                        hint="Rename one of each (letters, digits, - . _ are kept as they are) and run the same "
                             "command again: only they will be graded.")


NAMED_REPLACED = 5  # replaced reports named one per line; more are counted


def _say_what_was_set_aside(aside, out_dir: Path) -> None:
    """Name every edited gradebook and replaced report the batch kept, loudly for the gradebook."""
    from tito.grading.gradebook import lasting_change

    for path in aside.gradebooks:
        err_console().print(f"[bold yellow]gradebook.csv was changed since tito wrote it:[/] the changed file is kept "
                            f"as {escape(str(path))}, and {escape(str(Path(out_dir) / 'gradebook.csv'))} is rebuilt "
                            f"from the reports. {escape(lasting_change(out_dir))}", highlight=False, soft_wrap=True)
    if len(aside.reports) > NAMED_REPLACED:  # hundreds re-scored: one line
        console().print(f"Kept the {len(aside.reports)} reports replaced with another result in "
                        f"{aside.reports[0].parent}/", markup=False, highlight=False)
        return
    for path in aside.reports:
        console().print(f"Kept the report it replaced, with another result: {path}", markup=False, highlight=False)


@contextlib.contextmanager
def _terminate_as_interrupt():
    """SIGTERM (a scheduler cancelling the job, `kill`) stops a batch as cleanly as Ctrl-C."""
    def interrupt(signum, frame):
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def show_grade(grade) -> None:
    """The Rich report of one submission: the checks (points), the tests (feedback), the total."""
    out = console()
    ok, bad = ("PASS", "FAIL") if plain_output() else ("[green]✓[/]", "[red]✗[/]")
    rows = table("Check", "Result", "Points", "Message",
                 title=f"{grade.student}: module {grade.module} ({Path(grade.submission).name})")
    for column in rows.columns:
        column.overflow = "fold"
    hints = []
    for test in grade.checks:
        said, hint = without_hint(f"hidden from the student: {test.detail}" if test.detail else test.message)
        hints += [(test.name, hint)] if hint else []
        rows.add_row(escape(test.name), ok if test.passed else bad, f"{test.earned}/{test.points}",
                     escape(first_line(said, 90) + (" (hint below)" if hint else "")))
    out.print(rows)
    for name, hint in hints:  # in full: the table cuts a message to its first 90 characters
        out.print(f"Hint ({escape(name)}): {escape(hint)}", highlight=False)
    feedback = grade.feedback
    if feedback:
        passed = sum(t.passed for t in feedback)
        out.print(f"Feedback (no points): {passed}/{len(feedback)} inline and pytest tests passed in the sandbox.",
                  highlight=False)
        for test in [t for t in feedback if not t.passed][:10]:
            out.print(f"  {bad} {escape(test.name)}: {escape(first_line(test.message, 90))}", highlight=False)
    if grade.error:
        out.print(f"Reason: {escape(grade.error)}", highlight=False)
    style = "bold green" if grade.score == grade.max_score else "bold red" if grade.score == 0 else "bold yellow"
    out.print(f"[{style}]Score: {grade.score}/{grade.max_score}[/] ({grade.seconds:.1f} s, "
              f"sandbox: {grade.sandbox.get('backend', '?')})")
