"""A folder of submissions: graded where an executor runs them; nothing graded is lost or done twice.

``grade_folder`` is a whole ``tito grade DIR``: under the reports folder's lock it decides what
still needs a grade (``tito.grading.state.plan``: new or changed submissions, a changed
grading, ``--regrade``), prepares the grader only if anything does, grades those with the
executor (``tito.grading.executors``) and rebuilds ``gradebook.csv`` from the reports.

``grade_batch`` grades a list of (student, file): each outcome — a grade, or a 0 with the
reason — is written as ``<student>.json`` the moment it is known (atomically) and the CSV is
rebuilt from the reports every few seconds and when the batch ends, however it ends. If one
submission breaks anything, it scores 0 with the reason and the batch goes on; if the grader
itself is interrupted or killed, every report written so far stays, and the same command
continues where it stopped.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from tito.errors import TitoError
from tito.grading.gradebook import (GRADEBOOK, Gradebook, SetAside, read_adjustments, read_grades, read_report,
                                    report_name, safe_cell, same_file, write_gradebook)
from tito.grading.report import Grade


def report_name_clashes(submissions: list[tuple[str, Path]]) -> list[list[str]]:
    """The groups of students who would write the same report (also on a case-insensitive disk)."""
    by_file: dict[str, list[str]] = {}
    for student, _ in submissions:
        by_file.setdefault(same_file(report_name(student)), []).append(student)
    return [names for names in by_file.values() if len(names) > 1]


def describe_clashes(clashes: list[list[str]], owners: dict | None = None) -> str:
    """'alice? and alice_ (alice_.json); ...', or with ``owners`` (group index -> the student
    graded before, who keeps the report): 'BOB (bob.json is bob's, graded before)'."""
    owners = owners or {}
    return "; ".join(" and ".join(n for n in names if n != owners.get(i))
                     + (f" ({report_name(owners[i])} is {owners[i]}'s, graded before)" if i in owners
                        else f" ({report_name(names[0])})") for i, names in enumerate(clashes))


def report_owners(out: Path, clashes: list[list[str]], module: str) -> dict[int, str]:
    """Of each group of clashing students, the one whose report is already in ``out`` (by group
    index): they keep it, and only the newcomers are refused."""
    owners = {}
    for index, names in enumerate(clashes):
        for name in dict.fromkeys(names):
            grade = read_report(Path(out) / report_name(name))
            if (grade is not None and grade.module == module and grade.student in names
                    and names.count(grade.student) == 1):
                owners[index] = grade.student
                break
    return owners


def check_report_names(submissions: list[tuple[str, Path]]) -> None:
    """TitoError when two students would write the same report."""
    clashes = report_name_clashes(submissions)
    if clashes:
        raise TitoError(f"Two students would share a report file: {describe_clashes(clashes)}.",
                        hint="Rename one of their submissions (letters, digits, - . _ are kept as they are); "
                             "nothing was graded.")


def grade_batch(grader, submissions: list[tuple[str, Path]], out: Path, jobs: int = 1, on_done=None,
                executor=None) -> list[Grade]:
    """Grade every (student, file) with ``executor`` (default: here, ``jobs`` at a time), writing each
    report into ``out`` and then gradebook.csv; returns the grades in input order."""
    from tito.grading.executors import LocalExecutor

    if jobs < 1:
        raise TitoError(f"--jobs must be at least 1, got {jobs}.", exit_code=2)
    check_report_names(submissions)
    return _grade_checked(grader, submissions, out, executor or LocalExecutor(jobs, grader.sandbox), on_done)


def _grade_checked(grader, submissions: list[tuple[str, Path]], out: Path, executor, on_done=None,
                   students=None, pending: dict | None = None, aside: SetAside | None = None,
                   adjustments: dict | None = None, again: dict | None = None) -> list[Grade]:
    """``grade_batch`` once the report names are known not to clash (``students``: the gradebook's rows;
    ``pending``: why each is graded, said in the CSV until they are; ``aside``: what the batch kept aside;
    ``adjustments``: the batch's adjustments.csv, read when not given; ``again``: student -> why they
    are graded once more alone, kept in their report as ``sandbox["graded_again_alone"]``)."""
    from tito.grading.state import settle

    Path(out).mkdir(parents=True, exist_ok=True)
    book = Gradebook(out, grader.module.name, students, pending, aside, adjustments)
    graded: dict[str, Grade] = {}

    def done(grade: Grade) -> None:
        grade = _by_our_tito(grade, grader)
        # the batch's word, never the sandbox's: one submission to grade is alone too, unless another
        # grading on the machine (another batch, its own or on a worker there) held a job slot beside it
        grade.sandbox["alone"] = ((getattr(executor, "alone", False) or len(submissions) == 1)
                                  and grade.sandbox.get("beside_other_gradings") is not True)
        if again and grade.student in again:
            grade.sandbox["graded_again_alone"] = again[grade.student]
        grade = settle(grade, out)
        try:
            book.add(grade)
        except OSError as exc:  # one report that cannot be written (a full disk) does not end the batch
            grade.incomplete = True
            grade.error = "; ".join(filter(None, [grade.error, f"its report could not be written ({exc.strerror}): "
                                                  "it is graded again by the next run"]))
        graded[grade.student] = grade
        if on_done:
            on_done(grade)

    try:
        executor.run(grader, submissions, done)
    finally:
        try:
            book.flush()
        except OSError as exc:
            raise TitoError(f"{Path(out) / GRADEBOOK} could not be written: {exc.strerror}.",
                            hint="The reports written are kept: run the same command again to rebuild it.") from None
    return [graded[student] for student, _ in submissions if student in graded]


def _by_our_tito(grade: Grade, grader) -> Grade:
    """``grade``, or a 0 marked incomplete when it ran in a sandbox under another tito than the
    batch's (``tito_source``): the code that decided its points was not the grader's. A dask worker
    of this tito refuses so itself; an older one, which does not, is caught here."""
    from tito.grading.state import tito_source

    if not ran_in_a_sandbox(grade) or grade.sandbox.get("tito_source") == tito_source():
        return grade
    from tito.grading.grader import SAME_TITO, zero_grade

    return zero_grade(grader.prepared, grade.submission, grade.student,
                      f"graded by a worker running another tito than the grader's: {SAME_TITO}; graded again by "
                      "the next run", grade.sandbox.get("backend", ""), incomplete=True, sha256=grade.sha256)


def ran_in_a_sandbox(grade: Grade) -> bool:
    """True for a grade a sandbox's run gave (``grade_submission`` records its exit code), False for
    a 0 given without running (unreadable, refused, the grader failed)."""
    return "exit_code" in grade.sandbox


def _alone_again(grader, graded: list[Grade], paths: dict, out: Path, executor, on_done, students,
                 held: dict, aside: SetAside, adjustments: dict | None = None, on_again=None) -> list[Grade]:
    """Grade once more, one at a time, the submissions a neighbour may have spoilt (``spoiled_by``):
    with jobs side by side, one that fills the disk would stop its neighbour's on every run, one
    that holds memory no process is charged for (socket buffers) gets the OOM killer to kill its
    neighbour's grading, on every run — until ``settle`` made that 0 final — and one that keeps
    the CPUs busy makes its neighbour's time out, a grade that was final. The grade alone is the
    one kept: a timeout alone is final, and so is a grading the OOM killer ends again (``settle``):
    nothing else of the batch ran beside it. ``held``: the ``pending`` cells of students held
    back, which the gradebook written again keeps; ``on_again(again)`` (student -> why) is called
    before they are graded again."""
    again = {g.student: why for g in graded if (why := spoiled_by(g))}
    if not again:
        return graded
    if on_again:
        on_again(again)
    alone = {g.student: g for g in _grade_checked(grader, [(s, paths[s]) for s in again], out,
                                                  executor.one_at_a_time(), on_done, students, held, aside,
                                                  adjustments, again)}
    return [alone.get(g.student, g) for g in graded]


def spoiled_by(grade: Grade) -> str:
    """Why a grading that ran beside others (not ``alone``) is graded once more alone, as the
    progress line and its report (``sandbox["graded_again_alone"]``) say it; '' when it is not.
    Beside others, a job that fills the disk or holds memory no process is charged for stops its
    neighbour's grading, and one that keeps the CPUs busy (processes in sessions of their own, each
    its own share of them) makes its neighbour's run into its deadline."""
    if grade.sandbox.get("alone"):
        return ""
    if grade.incomplete and grade.sandbox.get("starved"):
        return "the disk ran low beside other gradings"
    if grade.incomplete and grade.sandbox.get("out_of_memory"):
        return "the kernel killed it for memory beside other gradings"
    if grade.sandbox.get("ran_out_of_time") is True:
        return "it timed out beside other gradings"
    return ""


def pending_rows(todo: list) -> dict[str, str]:
    """What the ``pending`` cell of each student to grade says until their new grade is written."""
    return {student: f"to be graded{'' if why == 'new' else ' again'} ({why})" for student, _, why in todo}


def _rescore(prepared, todo, out: Path, students, held: dict, aside: SetAside, adjustments: dict) -> list[Grade]:
    """Write the reports of ``todo.rescore`` re-scored with ``prepared``'s points (nothing runs);
    a report whose points do not fit the grading it claims moves to ``todo.todo``, to be graded."""
    from tito.grading.changes import rescore

    rescored, kept = [], []
    for student, path, grade, change in todo.rescore:
        new = rescore(grade, prepared, change)
        if new is None:
            todo.todo.append((student, path, change.why_grade))
        else:
            rescored.append(new)
            kept.append((student, path, grade, change))
    todo.rescore = kept
    if rescored:
        book = Gradebook(out, prepared.module, students, {**held, **pending_rows(todo.todo)}, aside, adjustments)
        for grade in rescored:
            book.add(grade)
        book.flush()
    return rescored


def held_rows(held: dict[str, str]) -> dict[str, str]:
    """What the ``pending`` cell of each student held back says until they are graded."""
    return {student: f"not graded now ({why})" for student, why in held.items()}


@dataclass
class Batch:
    """What one ``tito grade DIR`` did."""

    graded: list = field(default_factory=list)  # graded in this run
    rescored: list = field(default_factory=list)  # re-scored in this run, without running (only points changed)
    kept: list = field(default_factory=list)  # already graded, unchanged
    gradebook: Path | None = None
    left_out: list = field(default_factory=list)  # students with a report but no submission now
    clashes: list = field(default_factory=list)  # groups of students who would share a report
    owners: dict = field(default_factory=dict)  # clash group index -> its student graded before, who stays
    aside: SetAside = field(default_factory=SetAside)  # edited gradebooks and replaced reports kept
    adjustments: dict = field(default_factory=dict)  # adjustments.csv: student -> (points, reason)
    unmatched: list = field(default_factory=list)  # students of adjustments.csv with no row
    abandoned: list = field(default_factory=list)  # left to grade by an earlier --regrade this one replaced
    held: dict = field(default_factory=dict)  # student held back -> their old grade (``read_grades``' rule), or None

    @property
    def grades(self) -> list[Grade]:
        return sorted(self.graded + self.rescored + self.kept, key=lambda g: g.student)


def grade_folder(course, module, submissions: list[tuple[str, Path]], out: Path, executor, *, timeout: float,
                 calibrate: bool = True, regrade: tuple = (), on_start=None, on_done=None, on_again=None,
                 feedback: bool = True, aside: SetAside | None = None, held: dict | None = None) -> Batch:
    """Grade what in ``submissions`` has no up-to-date report in ``out``, then rebuild the gradebook.

    ``on_start(plan)`` is called once the plan is known (``plan.todo``: (student, file, why)),
    ``on_done(grade)`` as each grade is written, ``on_again(again)`` (student -> why) before the
    gradings a neighbour may have spoilt are graded once more alone (``spoiled_by``; each grade of
    theirs comes to ``on_done`` again); ``aside`` collects what was kept rather than
    overwritten (also when the batch is interrupted). Students who would share a report file are not
    graded (``Batch.clashes``), nor in the gradebook, except the one of them whose report is
    already there (``Batch.owners``): everyone else is. ``held``: student -> why they are not
    graded now (their files clash): a report of theirs keeps its row, saying so in ``pending``.
    """
    from tito.grading.state import RegradeRequest, fingerprint_of, locked, plan

    # held students keep their report file too: a newcomer whose report would be theirs is refused
    clashes = report_name_clashes(submissions + [(student, None) for student in held or {}])
    with locked(out):
        refuse_another_modules_folder(out, module.name)
        owners = report_owners(out, clashes, module.name)
        clashing = {student for names in clashes for student in names} - set(owners.values())
        submissions = [(student, path) for student, path in submissions if student not in clashing]
        adjusted = read_adjustments(out)  # a broken adjustments.csv stops the batch before it grades
        kept_seed, seed, record = _folder_grading(course, module, out, executor.sandbox, calibrate, timeout)
        grading = fingerprint_of(record["parts"])
        request = RegradeRequest(out, regrade, {student for student, _ in submissions}, set(held or {}))
        todo = plan(submissions, out, module.name, grading, request.names, record, feedback)
        batch = Batch(kept=todo.kept, gradebook=Path(out) / GRADEBOOK, clashes=clashes, owners=owners,
                      aside=aside if aside is not None else SetAside(), abandoned=request.abandoned)
        held = held_rows(held or {})
        students = {student for student, _ in submissions} | set(held)  # anyone else's report stays, out of the CSV
        planned = _Planned(out, submissions, todo, request, seed, kept_seed is None, record, grading, students,
                           held, adjusted, batch)
        if todo.todo or todo.rescore:
            _grade_planned(planned, course, module, executor, on_start, on_done, timeout=timeout,
                           calibrate=calibrate, feedback=feedback, on_again=on_again)
        else:  # nothing to grade: gradebook.csv is still rebuilt (it may be missing, or older than the reports)
            _rebuild_gradebook(planned, module.name, on_start)
        reports = {grade.student: grade for grade in read_grades(out, module.name)}
        batch.left_out = sorted(set(reports) - students - clashing)
        batch.held = {student: reports.get(student) for student in sorted(held)}
        batch.adjustments, batch.unmatched = adjusted, sorted(set(adjusted) - set(map(safe_cell, students)))
    return batch


def refuse_another_modules_folder(out: Path, module: str) -> None:
    """TitoError when ``out`` holds reports of another module than ``module``: grading into it would
    replace that module's gradebook and mix the two modules' reports in one folder."""
    others = {}
    for path in sorted(Path(out).glob("*.json")):
        grade = read_report(path)
        if grade is not None and grade.module != module:
            others.setdefault(grade.module, []).append(path.name)
    if others:
        said = "; ".join(f"module {name}'s ({len(files)}, e.g. {files[0]})" for name, files in sorted(others.items()))
        raise TitoError(f"{out} holds the reports of another module: {said}. Grading module {module} into it "
                        "would replace that module's gradebook; nothing was graded.",
                        hint=f"Give module {module} a folder of its own: --out grades/{module} (the default).")


def _folder_grading(course, module, out: Path, sandbox, calibrate: bool, timeout: float) -> tuple:
    """(the seed kept in ``out`` or None, the seed to grade with: that one, else drawn now, the
    ``changes.grading_record`` of the grading those make)."""
    from tito.grading.changes import grading_record
    from tito.grading.state import draw_seed, grading_parts, read_seed

    sandboxed = sandbox.name != "none" and not getattr(sandbox, "unsafe", False)
    kept_seed = read_seed(out)
    seed = draw_seed() if kept_seed is None else kept_seed
    return kept_seed, seed, grading_record(grading_parts(course, module, calibrate, timeout, sandboxed, seed))


@dataclass
class _Planned:
    """What ``grade_folder`` decided under the folder's lock, before anything is graded."""

    out: Path
    submissions: list  # (student, file) of the students graded now, the clashing ones left out
    todo: object  # ``state.plan``'s answer: ``todo`` [(student, file, why)], ``rescore``, ``kept``
    request: object  # the ``state.RegradeRequest`` of this run
    seed: int
    new_seed: bool  # drawn now: written into the folder only once the grader is prepared
    record: dict  # ``changes.grading_record`` of the grading
    grading: str  # its fingerprint
    students: set  # the gradebook's rows: the students graded now and those held back
    held: dict  # student held back -> their ``pending`` cell
    adjusted: dict  # adjustments.csv: student -> (points, reason)
    batch: Batch  # what the run did, filled in as it goes


def _grade_planned(planned: _Planned, course, module, executor, on_start, on_done, *, timeout: float,
                   calibrate: bool, feedback: bool, on_again=None) -> None:
    """Prepare the grader, keep the folder's seed and grading, then re-score and grade what
    ``planned.todo`` lists into ``planned.batch`` (``rescored``, ``graded``)."""
    from tito.grading.changes import keep_grading
    from tito.grading.grader import Grader
    from tito.grading.state import keep_seed

    out, todo, batch, held = planned.out, planned.todo, planned.batch, planned.held

    def graded(grade: Grade) -> None:
        planned.request.graded(grade)
        if on_done:
            on_done(grade)

    # preparing runs the checks on the reference: a broken check stops the batch here,
    # before it announces anything or writes the folder's seed
    with Grader(course, module, timeout=timeout, calibrate=calibrate, sandbox=executor.sandbox,
                fingerprint=planned.grading, seed=planned.seed, feedback=feedback) as grader:
        if planned.new_seed:
            keep_seed(out, planned.seed)
        keep_grading(out, planned.grading, planned.record)
        batch.rescored = _rescore(grader.prepared, todo, out, planned.students, held, batch.aside, planned.adjusted)
        if on_start:
            on_start(todo)
        if todo.todo:
            batch.graded = _grade_checked(grader, [(s, p) for s, p, _ in todo.todo], out, executor, graded,
                                          planned.students, {**held, **pending_rows(todo.todo)}, batch.aside,
                                          planned.adjusted)
            batch.graded = _alone_again(grader, batch.graded, dict(planned.submissions), out, executor, graded,
                                        planned.students, held, batch.aside, planned.adjusted, on_again)


def _rebuild_gradebook(planned: _Planned, module: str, on_start) -> None:
    """With nothing to grade: announce the plan, keep the grading (when the folder has a seed, so
    that a later change of it can be said) and write gradebook.csv from the reports."""
    from tito.grading.changes import keep_grading

    if on_start:
        on_start(planned.todo)
    if not planned.new_seed:  # so that a later change of the grading can be said
        keep_grading(planned.out, planned.grading, planned.record)
    write_gradebook(planned.out, module, students=planned.students, pending=planned.held, aside=planned.batch.aside,
                    adjustments=planned.adjusted)
