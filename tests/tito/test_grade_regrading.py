"""After a grading change, a batch says which part changed, and re-scores without running when
only the checks' points did. The plans are made on reports written directly; one small batch
(no sandbox: --unsafe-no-sandbox's backend) shows that nothing but the report with other checks runs."""

import io
import json
from pathlib import Path
from types import SimpleNamespace

import pytest

from tiny_course import ALPHA_DEV, PATIENT_SECONDS, rows_of

from tito.course import Course
from tito.grading import Grade, TestScore
from tito.grading.changes import GRADINGS, grading_record, keep_grading, rescore
from tito.grading.checks import CheckSpec
from tito.grading.gradebook import write_json
from tito.grading.report import INLINE
from tito.grading.state import ALL, digest, fingerprint, fingerprint_of, grading_parts, plan
from tito.grading.workspace import Prepared

YAML = "modules/source/01_alpha/module.yaml"
FREE_SAYS = "passes on the untouched stub too, so it earns no points"


def alpha_grade(student: str, double_passed=True, **fields) -> Grade:
    """A report of module alpha as the grader writes it (numpy_is_provided is free: the stub passes it)."""
    return Grade("alpha", f"{student}.py", student, [
        TestScore("double", double_passed, 3, "" if double_passed else "result[0]: expected 2, got 3"),
        TestScore("scaler", True, 2),
        TestScore("double_negative", double_passed, 1, hidden=True),
        TestScore("numpy_is_provided", True, 0, FREE_SAYS),
        TestScore("test_unit_double", double_passed, 0, "", INLINE),
    ], **fields)


def record_of(root: Path, timeout=120.0, sandboxed=True, seed=7) -> dict:
    course = Course(root)
    return grading_record(grading_parts(course, course.get("alpha"), True, timeout, sandboxed, seed))


def graded_under(out: Path, record: dict, students, folder: Path) -> str:
    """Reports of ``students`` (alice.py ... in ``folder``) under the grading ``record``, which the
    folder keeps, as a batch leaves them; returns its fingerprint."""
    grading = fingerprint_of(record["parts"])
    keep_grading(out, grading, record)
    for student in students:
        data = ALPHA_DEV.encode() + f"# {student}\n".encode()
        (folder / f"{student}.py").write_bytes(data)
        write_json(alpha_grade(student, fingerprint=grading, sha256=digest(data)).to_json(), out / f"{student}.json")
    return grading


def plan_now(root: Path, folder: Path, out: Path, **settings):
    record = record_of(root, **settings)
    submissions = sorted((p.stem, p) for p in folder.glob("*.py"))
    return plan(submissions, out, "alpha", fingerprint_of(record["parts"]), now=record)


def test_the_plan_says_which_part_of_the_grading_changed(course, tmp_path, monkeypatch):
    from rich.console import Console

    from tito.grading import progress_bar

    folder, out = tmp_path / "subs", tmp_path / "grades"
    folder.mkdir()
    out.mkdir()
    before = record_of(course.root)
    graded_under(out, before, ["alice"], folder)
    yaml = (course.root / YAML).read_text()
    assert plan_now(course.root, folder, out).kept[0].student == "alice"  # nothing changed

    (course.root / YAML).write_text(yaml.replace("  double: 3", "  double: 4"))
    points = plan_now(course.root, folder, out)
    assert (points.todo, points.kept, [(s, c.why_rescore) for s, _, _, c in points.rescore]) == (
        [], [], [("alice", "points of double changed")])
    screen = io.StringIO()
    monkeypatch.setattr(progress_bar, "console", lambda: Console(file=screen, width=200))
    progress_bar.BatchProgress("Grading 01_alpha").start(points)
    assert screen.getvalue() == "re-scored 1 (points of double changed); grading 0.\n"

    def why(**settings) -> list:
        return [(student, reason) for student, _, reason in plan_now(course.root, folder, out, **settings).todo]

    (course.root / YAML).write_text(yaml.replace("  scaler: 2", "  scaler: {points: 3, rtol: 1.0e-3}"))
    assert why() == [("alice", "the grading changed: points of scaler; rtol of scaler")]
    (course.root / YAML).write_text(yaml)
    checks = course.root / "tests/01_alpha/checks.py"
    checks.write_text(checks.read_text() + "# a comment\n")
    assert why(timeout=60.0, seed=8) == [("alice", "the grading changed: the timeout (120 -> 60); the seed "
                                                   "(.tito-seed); tests/01_alpha/checks.py changed")]
    # a change of tito itself: the grading before had another tito/commands/book.py
    files = dict(before["tito_files"], **{"commands/book.py": "0" * 64})
    older = {"parts": dict(before["parts"], tito_source=digest(json.dumps(files).encode())), "tito_files": files}
    checks.write_text(checks.read_text().replace("# a comment\n", ""))
    graded_under(out, older, ["bob"], folder)
    assert why() == [("bob", "the grading changed: tito changed (tito/commands/book.py)")]
    # a report of a grading the folder did not record (an older tito's): it only says so
    (out / GRADINGS).unlink()
    assert why() == [("bob", "the grading changed")]


def prepared_alpha(tmp_path: Path, double_points=5) -> Prepared:
    checks = [CheckSpec("double", double_points), CheckSpec("scaler", 2), CheckSpec("double_negative", 1, hidden=True),
              CheckSpec("numpy_is_provided", 1)]
    return Prepared(tmp_path, "alpha", "01_alpha", "modules/source/01_alpha/alpha_dev.py", "tinytorch.core.alpha",
                    7, checks, free=["numpy_is_provided"], fingerprint="NEW")


def test_a_rescored_report_takes_the_new_points_and_a_free_check_stays_at_0(tmp_path):
    from tito.grading.changes import Change

    was = Change(["points of double"], {"double": 3, "scaler": 2, "double_negative": 1, "numpy_is_provided": 1})
    failed = rescore(alpha_grade("bob", double_passed=False, fingerprint="OLD", seconds=4.5), prepared_alpha(tmp_path),
                     was)
    assert [(t.name, t.passed, t.points, t.earned) for t in failed.tests] == [
        ("double", False, 5, 0), ("scaler", True, 2, 2), ("double_negative", False, 1, 0),
        ("numpy_is_provided", True, 0, 0), ("test_unit_double", False, 0, 0)]
    assert (failed.score, failed.max_score, failed.fingerprint, failed.seconds) == (2, 8, "NEW", 4.5)
    assert failed.checks[0].message == "result[0]: expected 2, got 3" and failed.checks[3].message == FREE_SAYS
    # points that are not those of the grading the report claims: graded again, not re-scored
    claims_more = alpha_grade("carol", fingerprint="OLD")
    claims_more.tests[1].points = 4
    assert rescore(claims_more, prepared_alpha(tmp_path), was) is None


def test_points_alone_changed_rescores_every_report_without_running_a_sandbox(tmp_path, monkeypatch):
    """double: 3 -> 5 rescores alice and bob from their reports; carol's report, of other checks
    than the grading's, is graded by running; a second batch keeps all three."""
    from tito.grading import Grader, grade_folder
    from tito.grading.executors import LocalExecutor
    from tito.grading.sandbox import backend
    from tiny_course import build_course

    root = build_course(tmp_path / "course", tooling=True).root
    folder, out = tmp_path / "subs", tmp_path / "grades"
    folder.mkdir()
    out.mkdir()
    (out / ".tito-seed").write_text(json.dumps({"seed": 7}))
    grading = graded_under(out, record_of(root, timeout=PATIENT_SECONDS, sandboxed=False), ["alice", "bob", "carol"],
                           folder)
    write_json(alpha_grade("bob", double_passed=False, fingerprint=grading,
                           sha256=digest((folder / "bob.py").read_bytes())).to_json(), out / "bob.json")
    carol = json.loads((out / "carol.json").read_text())
    carol["tests"] = [t for t in carol["tests"] if t["name"] != "scaler"]  # graded when scaler was no check
    (out / "carol.json").write_text(json.dumps(carol))
    (root / YAML).write_text((root / YAML).read_text().replace("  double: 3", "  double: 5"))
    ran = []
    real_grade = Grader.grade
    monkeypatch.setattr(Grader, "grade", lambda self, path, student=None, *a, **k: ran.append(student) or
                        real_grade(self, path, student, *a, **k))
    plans = []
    course = Course(root)
    batch = grade_folder(course, course.get("alpha"), sorted((p.stem, p) for p in folder.glob("*.py")), out,
                         LocalExecutor(1, backend("none")), timeout=PATIENT_SECONDS, on_start=plans.append)
    assert ran == ["carol"]
    assert ([g.student for g in batch.rescored], [g.student for g in batch.graded]) == (["alice", "bob"], ["carol"])
    assert [(s, c.why_rescore) for s, _, _, c in plans[0].rescore] == [("alice", "points of double changed"),
                                                                       ("bob", "points of double changed")]
    assert [(s, why) for s, _, why in plans[0].todo] == [("carol", "the grading changed: points of double")]
    now = fingerprint(course, course.get("alpha"), True, PATIENT_SECONDS, False, 7)
    reports = {s: json.loads((out / f"{s}.json").read_text()) for s in ("alice", "bob", "carol")}
    assert {s: (r["score"], r["max_score"], r["fingerprint"] == now) for s, r in reports.items()} == {
        "alice": (8, 8, True), "bob": (2, 8, True), "carol": (8, 8, True)}
    assert [(t["name"], t["points"], t["earned"]) for t in reports["alice"]["tests"]][2:] == [
        ("double_negative", 1, 1), ("numpy_is_provided", 0, 0), ("test_unit_double", 0, 0)]
    rows = rows_of(out)
    assert [(s, r["score"], r["max_score"], r["double"], r["numpy_is_provided"]) for s, r in rows.items()] == [
        ("alice", "8", "8", "5", "0"), ("bob", "2", "8", "0", "0"), ("carol", "8", "8", "5", "0")]
    history = sorted(p.name.split(".")[0] for p in (out / "history").glob("*.json"))
    assert history == ["alice", "bob", "carol"]  # each result changed: the old reports are kept
    assert [json.loads(p.read_text())["max_score"] for p in sorted((out / "history").glob("alice.*.json"))] == [6]
    again = grade_folder(course, course.get("alpha"), sorted((p.stem, p) for p in folder.glob("*.py")), out,
                         LocalExecutor(1, backend("none")), timeout=PATIENT_SECONDS)
    assert (len(again.kept), again.rescored, again.graded, ran) == (3, [], [], ["carol"])


@pytest.fixture
def stoppable(tmp_path, monkeypatch):
    """alice, bob and carol graded before in a tiny course, and ``batch(*regrade, stop=N, held=...)``:
    ``grade_folder`` without a sandbox, which raises KeyboardInterrupt after N gradings; the
    students graded by the last batch are in ``ran``."""
    from tito.grading import Grader, grade_folder
    from tito.grading.executors import LocalExecutor
    from tito.grading.sandbox import backend
    from tiny_course import build_course

    root = build_course(tmp_path / "course", tooling=True).root
    folder, out = tmp_path / "subs", tmp_path / "grades"
    folder.mkdir()
    out.mkdir()
    (out / ".tito-seed").write_text(json.dumps({"seed": 7}))
    graded_under(out, record_of(root, timeout=PATIENT_SECONDS, sandboxed=False), ["alice", "bob", "carol"], folder)
    ran, stop_after = [], []
    real_grade = Grader.grade

    def grade(self, path, student=None, *args, **kwargs):
        if stop_after and len(ran) == stop_after[0]:
            raise KeyboardInterrupt
        ran.append(student)
        return real_grade(self, path, student, *args, **kwargs)

    monkeypatch.setattr(Grader, "grade", grade)
    course = Course(root)

    def batch(*regrade, stop=None, held=None):
        ran.clear()
        stop_after[:] = [stop] if stop else []
        submissions = sorted((p.stem, p) for p in folder.glob("*.py") if p.stem not in (held or {}))
        return grade_folder(course, course.get("alpha"), submissions, out, LocalExecutor(1, backend("none")),
                            timeout=PATIENT_SECONDS, regrade=regrade, held=held)

    return SimpleNamespace(batch=batch, ran=ran, out=out)


def test_a_regrade_stopped_by_ctrl_c_goes_on_with_the_rest_when_run_again(stoppable):
    """--regrade of three students, Ctrl-C after the first: the same command again grades the
    other two only (it graded all three again), then the request is done; a new --regrade starts
    anew, and one interrupted then resumed by a run without --regrade finishes too."""
    from tito.grading.state import REGRADE_FILE

    batch, ran, out = stoppable.batch, stoppable.ran, stoppable.out
    with pytest.raises(KeyboardInterrupt):
        batch(ALL, stop=1)
    assert ran == ["alice"] and json.loads((out / REGRADE_FILE).read_text()) == {"asked": [ALL],
                                                                                "left": ["bob", "carol"]}
    assert [g.student for g in batch(ALL).graded] == ["bob", "carol"]  # the same command: the rest
    assert not (out / REGRADE_FILE).exists()
    assert [g.student for g in batch(ALL).graded] == ["alice", "bob", "carol"]  # asked again: everyone
    with pytest.raises(KeyboardInterrupt):
        batch("carol", "bob", stop=1)
    assert ran == ["bob"]
    assert [g.student for g in batch().graded] == ["carol"] and not (out / REGRADE_FILE).exists()
    assert batch().graded == []


def test_a_regrade_waits_for_a_student_held_back_and_says_whom_another_regrade_leaves(stoppable):
    """Red team 14: a --regrade interrupted, then a classmate's planted file holds carol back for
    one run (her files clash): the request kept her, so the run after the file is gone grades her
    again (it forgot her, and kept her old grade). A new --regrade replacing an unfinished one
    says whom the old one had left to grade (it dropped them without a word)."""
    from tito.grading.state import REGRADE_FILE

    batch, out = stoppable.batch, stoppable.out
    with pytest.raises(KeyboardInterrupt):
        batch(ALL, stop=1)
    held = batch(held={"carol": "files carol.py, carol_alpha_dev.py"})
    assert [g.student for g in held.graded] == ["bob"]
    assert json.loads((out / REGRADE_FILE).read_text()) == {"asked": [ALL], "left": ["carol"]}
    assert [g.student for g in batch().graded] == ["carol"] and not (out / REGRADE_FILE).exists()

    with pytest.raises(KeyboardInterrupt):
        batch(ALL, stop=1)
    replaced = batch("alice")
    assert [g.student for g in replaced.graded] == ["alice"] and replaced.abandoned == ["bob", "carol"]
    assert not (out / REGRADE_FILE).exists()


def test_a_batch_gives_the_old_grades_of_the_students_held_back_by_the_gradebooks_rule(stoppable):
    """``Batch.held``: each student held back (their files clash) with their old grade, the report
    that counts for them in gradebook.csv (the one in the file their name gives), else None:
    dave's file holds zed's report, which is no grade of dave's (tito grade's table shows his row empty)."""
    batch, out = stoppable.batch, stoppable.out
    report = json.loads((out / "carol.json").read_text())
    (out / "dave.json").write_text(json.dumps({**report, "student": "zed"}))
    held = batch(held={"carol": "files carol.py, carol_alpha_dev.py", "dave": "files dave.py, dave.ipynb"})
    assert [g.student for g in held.kept] == ["alice", "bob"]
    assert list(held.held) == ["carol", "dave"] and held.held["dave"] is None
    assert held.held["carol"].to_json() == report


def test_a_report_graded_without_feedback_tests_is_graded_again_by_a_run_with_them(tmp_path):
    """Red team 14: reports of a --no-feedback run were kept by a later run with feedback, so the
    feedback handed back lacked its tests. A report says whether its feedback tests ran; a run
    with them grades the others again, a run without keeps either."""
    from tiny_course import build_course

    root = build_course(tmp_path / "course", tooling=True).root
    folder, out = tmp_path / "subs", tmp_path / "grades"
    folder.mkdir()
    out.mkdir()
    record = record_of(root)
    graded_under(out, record, ["alice", "bob"], folder)
    for student, ran in (("alice", False), ("bob", True)):
        report = json.loads((out / f"{student}.json").read_text())
        report["sandbox"]["feedback"] = ran
        (out / f"{student}.json").write_text(json.dumps(report))
    submissions = sorted((p.stem, p) for p in folder.glob("*.py"))
    grading = fingerprint_of(record["parts"])
    with_feedback = plan(submissions, out, "alpha", grading, now=record, feedback=True)
    assert [(s, why) for s, _, why in with_feedback.todo] == [("alice", "graded without its feedback tests "
                                                                        "(--no-feedback)")]
    assert [g.student for g in with_feedback.kept] == ["bob"]
    assert plan(submissions, out, "alpha", grading, now=record).todo == []  # without: both kept


def test_a_kept_regrade_survives_bad_files_names_and_a_full_disk(tmp_path, monkeypatch):
    """The request file as the instructor's disk may leave it: unreadable (a new --regrade
    replaces it; without one, the batch stops naming it), names typed decomposed, students gone
    since, a full disk while it is updated (the student stays asked for)."""
    import unicodedata

    from tito.errors import TitoError
    from tito.grading import state
    from tito.grading.state import REGRADE_FILE, RegradeRequest

    students = {"alice", "bob", "José"}
    (tmp_path / REGRADE_FILE).write_text("{not json")
    with pytest.raises(TitoError, match=rf"{REGRADE_FILE} is not a regrade tito kept\."):
        RegradeRequest(tmp_path, (), students)
    request = RegradeRequest(tmp_path, (unicodedata.normalize("NFD", "José"), "bob"), students)
    assert request.names == ("José", "bob")
    assert json.loads((tmp_path / REGRADE_FILE).read_text()) == {"asked": ["José", "bob"], "left": ["José", "bob"]}
    assert RegradeRequest(tmp_path, (), {"alice", "José"}).names == ("José",)  # bob's submission is gone

    def full(*args, **kwargs):
        raise OSError(28, "No space left on device")

    (tmp_path / REGRADE_FILE).write_text(json.dumps({"asked": [ALL], "left": ["bob", "zed"]}))  # zed: gone
    assert RegradeRequest(tmp_path, ("alice",), students).abandoned == ["bob"]  # only who can be named again
    request = RegradeRequest(tmp_path, (ALL,), students)
    request.graded(alpha_grade("alice", incomplete=True))  # its report was not written: still to grade
    monkeypatch.setattr(state, "write_atomically", full)
    request.graded(alpha_grade("bob"))  # no exception: the file still names bob, graded again by the next run
    monkeypatch.undo()
    assert json.loads((tmp_path / REGRADE_FILE).read_text())["left"] == ["José", "alice", "bob"]
    request.graded(alpha_grade("alice"))
    assert json.loads((tmp_path / REGRADE_FILE).read_text())["left"] == ["José"]
