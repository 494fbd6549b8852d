"""tito grade for honest submissions, on the small instructor course of tiny_course:
points from the checks, the stub at 0, partial work in between, notebooks, BOM and CRLF, broken
files scoring 0 with their reason, a folder graded into a gradebook; and the pieces that decide
the points (the checks in module.yaml, the data read back from the sandbox, the verdict)."""

import csv
import io
import json
import re
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest
from grade_attacks import HALF_DONE, STUB
from tiny_course import ALPHA_DEV, PATIENT_SECONDS, REAL_ROOT, flat, run_tito

from tito.course import Course
from tito.errors import TitoError
from tito.grading import Grader, grade_batch, prepare, restore_reference_tests
from tito.grading.bundle import build
from tito.grading.checks import CheckSpec, check_specs
from tito.grading.data import UnreadableRecord, read_record, write_record
from tito.grading.formats import FORMATS, render
from tito.grading.sandbox import HOW_TO_GET_ONE, PYTHON, Limits, _kill_group, _supervise, detect
from tito.grading.submission import SubmissionError, to_source
from tito.grading.submission import test_cells as reference_test_cells
from tito.grading.verdict import judge
from tito.notebooks.convert import notebook_json, to_notebook

CHECKS = ["double", "scaler", "double_negative", "numpy_is_provided"]
# module.yaml: double 3, scaler 2, double_negative 1 (hidden); numpy_is_provided passes on the
# released stub too (it checks provided code), so calibration makes it worth 0
POINTS = [3, 2, 1, 0]


def notebook(text: str) -> str:
    return notebook_json(to_notebook(text))


@pytest.fixture(scope="module")
def honest(patient_alpha_grader, tmp_path_factory):
    """Honest and careless submissions, graded in one batch (two at a time): student -> Grade."""
    folder = tmp_path_factory.mktemp("honest")
    files = {
        "alice.py": ALPHA_DEV.encode(),
        "bob.py": STUB.encode(),
        "erin.ipynb": notebook(HALF_DONE).encode(),
        "bom_crlf.py": b"\xef\xbb\xbf" + ALPHA_DEV.replace("\n", "\r\n").encode(),
        "bom_notebook.ipynb": b"\xef\xbb\xbf" + notebook(ALPHA_DEV).encode(),
        "gina.py": ALPHA_DEV.replace("import numpy as np", "import numpy as np\nfrom nowhere import thing").encode(),
        "hank.py": HALF_DONE.replace("def double(x):", "def double(x:").encode(),
        "judy.ipynb": b"{not json",
        "mallory.py": (HALF_DONE.replace("return np.asarray(x) * 2", "return abs(np.asarray(x)) * 2")
                       .replace("assert Scaler(3)(2) == 6", "assert True")).encode(),
    }
    for name, data in files.items():
        (folder / name).write_bytes(data)
    submissions = [(name.split(".")[0], folder / name) for name in files]
    grades = grade_batch(patient_alpha_grader, submissions, tmp_path_factory.mktemp("honest-out"), jobs=2)
    return {g.student: g for g in grades}


def scores(grade):
    return [(t.name, t.passed, t.points) for t in grade.checks]


def test_the_checks_come_from_module_yaml(alpha_grader):
    assert [c.name for c in alpha_grader.prepared.checks] == CHECKS
    assert alpha_grader.prepared.free == ["numpy_is_provided"]


def test_the_reference_scores_full_marks_and_its_tests_pass_as_feedback(honest):
    alice = honest["alice"]
    assert scores(alice) == list(zip(CHECKS, [True] * 4, POINTS))
    assert (alice.score, alice.max_score, alice.error) == (6, 6, "")
    assert alice.checks[3].message == "passes on the untouched stub too, so it earns no points"
    assert [(t.name, t.kind, t.passed, t.points) for t in alice.feedback] == [
        ("test_unit_double", "inline", True, 0), ("test_unit_scaler", "inline", True, 0),
        ("tests/01_alpha/test_alpha_ops.py::test_double", "pytest", True, 0),
        ("tests/01_alpha/test_alpha_ops.py::TestScaler::test_scale", "pytest", True, 0),
        ("tests/01_alpha/test_alpha_ops.py::test_numpy_is_provided", "pytest", True, 0)]
    assert alice.sandbox["backend"] in ("bubblewrap", "uid-drop") and alice.sandbox["exit_code"] == 0


def test_the_cnn_reference_passes_every_feedback_test_in_the_sandbox(tmp_path):
    """The course's centre module, as a student who wrote the reference hands it in: full marks,
    and every test run for feedback passes inside the sandbox too (a test of the module's picture
    helpers that wanted an empty stderr failed there, where fontconfig has no config to read)."""
    from tito.grading import detect

    sandbox, reasons = detect()
    if sandbox is None:
        pytest.skip("no grading sandbox can run here: " + "; ".join(reasons))
    course = Course(REAL_ROOT)
    with Grader(course, course.get("cnn"), timeout=120, sandbox=sandbox) as grader:
        grade = grader.grade(course.get("cnn").dev_file, "reference")
    assert (grade.score, grade.max_score, grade.error) == (47, 47, "")
    assert len(grade.feedback) > 150 and [(t.name, t.message) for t in grade.feedback if not t.passed] == []


def test_the_stub_scores_zero_naming_what_is_missing(honest):
    bob = honest["bob"]
    assert (bob.score, bob.max_score) == (0, 6)
    assert bob.error == "not implemented yet: double, Scaler.__call__"
    assert [t.message for t in bob.checks[:2]] == [f"NotImplementedError: TODO: implement {name}"
                                                  for name in ("double", "Scaler.__call__")]
    assert bob.checks[2].message == "failed (a hidden check: details are not shown)"
    assert bob.checks[2].detail == "NotImplementedError: TODO: implement double"  # the instructor's report only
    from tito.grading.formats import gradescope, prairielearn

    assert "TODO: implement double" not in json.dumps(gradescope(bob)["tests"][2])
    pl = prairielearn(bob)  # shown at once: the hidden check is one test with its points, no name, no message
    assert [(t["name"], t["points"], t["max_points"]) for t in pl["tests"][2:4]] == [
        ("numpy_is_provided", 0, 0), ("hidden checks", 0, 1)] and pl["tests"][3]["message"] == ""
    assert "double_negative" not in json.dumps(pl) and "hidden check: details" not in json.dumps(pl)


def test_partial_work_in_a_notebook_earns_the_checks_it_passes(honest):
    erin = honest["erin"]
    assert scores(erin) == list(zip(CHECKS, [True, False, True, True], POINTS))
    assert (erin.score, erin.max_score) == (4, 6)
    assert erin.error == "not implemented yet: Scaler.__call__"


def test_a_bom_and_crlf_change_nothing(honest):
    for student in ("bom_crlf", "bom_notebook"):
        assert (honest[student].score, honest[student].error) == (6, "")


def test_editing_the_tests_only_changes_feedback(honest):
    mallory = honest["mallory"]  # abs() breaks the negative case; the edited test said `assert True`
    assert scores(mallory) == list(zip(CHECKS, [False, False, False, True], POINTS))
    assert mallory.checks[0].message.startswith("result: at index")
    scaler = next(t for t in mallory.feedback if t.name == "test_unit_scaler")
    assert not scaler.passed and "TODO: implement Scaler.__call__" in scaler.message  # the reference's test ran


def test_what_does_not_import_export_or_parse_scores_zero_with_the_reason(honest):
    assert honest["gina"].score == 0
    assert honest["gina"].error == ("the submission does not import (ModuleNotFoundError: No module named "
                                    "'nowhere'), so it scores 0")
    assert all(t.message == "not run" for t in honest["gina"].checks[:2])
    # the line is the student's file's, named as they and the instructor know it (not as the sandbox had it)
    assert honest["hank"].error == ("the submission does not export (hank.py, line 14: '(' was never closed), so it "
                                    "scores 0")  # its file name: the instructor's folders are no student's business
    assert honest["hank"].submission.endswith("/hank.py") and "modules/source" not in json.dumps(
        honest["hank"].to_json()["tests"])
    assert honest["judy"].score == 0
    assert honest["judy"].error.startswith(
        "cannot read the submission: judy.ipynb is not a readable notebook: not JSON")


def test_restoring_tests_keeps_a_students_code_before_the_reference_test():
    merged = HALF_DONE.replace("# %%\ndef test_unit_scaler():\n    assert Scaler(3)(2) == 6",
                               "# %%\ndef helper():\n    return 2\n\ndef test_unit_scaler():\n    assert True")
    restored = restore_reference_tests(merged, ALPHA_DEV)
    assert restored.index("def helper():") < restored.index("assert True") < restored.index("assert Scaler(3)(2) == 6")
    assert "secret negative case" not in restore_reference_tests(STUB, reference_test_cells(ALPHA_DEV))


HIDDEN_INLINE_TEST = """
# %%
### BEGIN HIDDEN TESTS
def test_unit_double_of_a_quarter():
    assert double(0.25) == 0.5, "quarter-secret"

if __name__ == "__main__":
    test_unit_double_of_a_quarter()
### END HIDDEN TESTS
"""


def test_hidden_inline_tests_are_neither_run_nor_shown_in_any_feedback_nor_shipped(instructor_course, tmp_path):
    """modules/README.md: hidden tests are for instructors only. The reference's tests a submission
    gets back are the student edition's: a hidden test cell, or a hidden block in a test, is in no
    format's feedback, nor in the Gradescope zip (where the submission's code could read it)."""
    sandbox, reasons = detect()
    if sandbox is None:
        pytest.skip("no grading sandbox can run here: " + "; ".join(reasons))
    root = tmp_path / "course"
    shutil.copytree(instructor_course, root)
    dev = root / "modules/source/01_alpha/alpha_dev.py"
    dev.write_text(dev.read_text() + HIDDEN_INLINE_TEST)
    course = Course(root)
    # right for whole numbers only: both hidden asserts (of -1.5 and 0.25) would fail, with their words
    submission = tmp_path / "fred.py"
    submission.write_text(HALF_DONE.replace("return np.asarray(x) * 2", "return np.asarray(x) * 2 + np.asarray(x) % 1"))
    with Grader(course, course.get("alpha"), timeout=PATIENT_SECONDS, sandbox=sandbox, calibrate=False) as grader:
        grade = grader.grade(submission)
    assert [(t.name, t.passed) for t in grade.feedback if t.kind == "inline"] == [
        ("test_unit_double", True), ("test_unit_scaler", False)]  # the visible part of test_unit_double ran
    secrets = ("test_unit_double_of_a_quarter", "quarter-secret", "secret negative case")
    for form in FORMATS:
        shown = json.dumps(render(grade, form))
        assert not [s for s in secrets if s in shown], form
    zipped, _ = build(course, course.get("alpha"), tmp_path / "dist", "gradescope", calibrate=False)
    with zipfile.ZipFile(zipped) as bundle:
        files = {name: bundle.read(name) for name in bundle.namelist()}
    with tarfile.open(fileobj=io.BytesIO(files["grading.tar.gz"])) as archive:
        files |= {m.name: archive.extractfile(m).read() for m in archive.getmembers() if m.isfile()}
    assert "template/.grading/reference_tests.py" in files
    assert not [(name, s) for name, data in files.items() for s in secrets if s.encode() in data]


def test_restoring_tests_keeps_the_students_line_numbers_and_runs_each_test_once():
    cnn = (REAL_ROOT / "modules/source/06_cnn/cnn_dev.py").read_text()
    reference_tests = reference_test_cells(cnn)
    # a test cell that also defines a helper (course_cnn) is not doubled when it is the reference's
    assert restore_reference_tests(cnn, reference_tests) == cnn
    broken = cnn.replace("def conv_output_size(size", "def conv_output_size((size", 1)
    line = next(n for n, text in enumerate(broken.splitlines(), 1) if "conv_output_size((" in text)
    with pytest.raises(SyntaxError) as raised:
        compile(restore_reference_tests(broken, reference_tests), "cnn_dev.py", "exec")
    assert raised.value.lineno == line


def test_a_folder_is_graded_into_a_gradebook_and_one_json_each(instructor_course, tmp_path):
    folder = tmp_path / "submissions"
    (folder / "carol").mkdir(parents=True)
    (folder / "alice.py").write_text(ALPHA_DEV)
    (folder / "carol" / "alpha_dev.ipynb").write_text(notebook(HALF_DONE))
    (folder / "notes.txt").write_text("not a submission")
    out = tmp_path / "grades"
    proc = run_tito(instructor_course, "grade", str(folder), "--module", "alpha", "--jobs", "2", "--out", str(out))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Sandbox: " in proc.stdout
    with open(out / "gradebook.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [(r["student"], r["score"], r["max_score"], r["percent"], r["double"], r["scaler"]) for r in rows] == [
        ("alice", "6", "6", "100.0", "3", "2"), ("carol", "4", "6", "66.7", "3", "0")]
    assert rows[1]["error"] == "not implemented yet: Scaler.__call__"
    assert json.loads((out / "carol.json").read_text())["score"] == 4
    assert sorted(p.name for p in out.iterdir()) == [".gradebook.pending", ".gradebook.sha256", ".tito-gradings",
                                                     ".tito-seed", "alice.json", "carol.json", "gradebook.csv"]
    assert not (instructor_course / ".tito").exists()  # graded in the sandbox, not in the course
    again = run_tito(instructor_course, "grade", str(folder), "--module", "alpha", "--jobs", "2", "--out", str(out))
    assert again.returncode == 0, again.stdout + again.stderr
    assert "2 already graded and unchanged; grading 0." in again.stdout
    assert "Sandbox: " not in again.stdout  # what it guarantees is said when student code runs
    # instructor walkthrough 35: a module graded into another's folder replaced its gradebook, in silence
    report = json.loads((out / "alice.json").read_text())
    (out / "zed.json").write_text(json.dumps({**report, "module": "beta", "student": "zed"}))
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    other = run_tito(instructor_course, "grade", str(folder), "--module", "alpha", "--out", str(out))
    assert other.returncode == 1 and flat(other.stderr) == (
        f"Error: {out} holds the reports of another module: module beta's (1, e.g. zed.json). Grading module "
        "alpha into it would replace that module's gradebook; nothing was graded. Give module alpha a folder "
        "of its own: --out grades/alpha (the default)."), other.stdout + other.stderr
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before


def test_no_student_of_a_folder_is_dropped_in_silence(instructor_course, tmp_path):
    """A student's folder without a module source gets a 0 saying what it holds, its only source of
    another name is graded as a platform's autograder grades it (said so), a .PY counts,
    of a .py and an .ipynb the one not as released is graded and said so, a file that is no submission is named
    (also inside a student's folder), an archive is its student's row saying to unpack it, and a report
    whose submission is gone stays on disk but leaves the gradebook, said so."""
    folder, out = tmp_path / "submissions", tmp_path / "grades"
    for student in ("erin", "dan", "peggy", "__MACOSX"):
        (folder / student).mkdir(parents=True)
    (folder / "erin" / "my_alpha.py").write_text(ALPHA_DEV)
    (folder / "dan" / "readme.txt").write_text("I will submit tomorrow")
    (folder / "peggy" / "alpha_dev.py").write_text(ALPHA_DEV)
    (folder / "peggy" / "alpha_dev_v2.py").write_text(STUB)
    (folder / "peggy" / "notes.txt").write_text("draft")
    (folder / "__MACOSX" / "._alice.py").write_text("resource fork")
    (folder / "alice.py").write_text(ALPHA_DEV)
    (folder / "ivy.PY").write_text(ALPHA_DEV)
    (folder / "bob.py").write_text(STUB)
    (folder / "bob.ipynb").write_text(notebook(HALF_DONE))
    os.utime(folder / "bob.py", (1, 1))  # and older
    (folder / "notes.txt").write_text("not a submission")
    (folder / "kim.zip").write_bytes(b"PK\x05\x06" + bytes(18))  # instructor walkthrough 35: kim had no row
    (folder / "alice.tar.gz").write_bytes(b"packed too")  # alice's .py is graded: her archive is left out, said
    proc = run_tito(instructor_course, "grade", str(folder), "--module", "alpha", "--out", str(out), "--jobs", "2")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    said = flat(proc.stdout)
    assert "Note: left out, not a submission: alice.tar.gz" in said and "not a submission: kim.zip" not in said
    assert "Note: bob: bob.ipynb, bob.py; graded bob.ipynb (the other is as released)" in said
    assert "Note: left out, not a submission: notes.txt" in said
    assert ("Note: erin: graded erin/my_alpha.py, the only module source in erin/ (not named alpha_dev.py)"
            in said)
    assert "Note: left out of peggy's submission: peggy/alpha_dev_v2.py, peggy/notes.txt" in said
    rows = {row["student"]: row for row in csv.DictReader(io.StringIO((out / "gradebook.csv").read_text()))}
    assert {name: row["score"] for name, row in rows.items()} == {"alice": "6", "bob": "4", "dan": "0", "erin": "6",
                                                                  "ivy": "6", "kim": "0", "peggy": "6"}
    assert rows["kim"]["error"] == ("cannot read the submission: kim.zip is an archive, which tito does not unpack: "
                                    "unpack it into a folder kim/ beside it and grade again; it scores 0")
    assert rows["dan"]["error"] == ("cannot read the submission: dan/ holds no alpha_dev.py or alpha_dev.ipynb; "
                                    "it has readme.txt; it scores 0")
    (folder / "ivy.PY").unlink()
    again = run_tito(instructor_course, "grade", str(folder), "--module", "alpha", "--out", str(out))
    assert again.returncode == 0, again.stdout + again.stderr
    assert "Left out of the gradebook, with no submission in " in flat(again.stdout) and flat(again.stdout).endswith(
        "(their reports are kept): ivy")
    assert "ivy" not in (out / "gradebook.csv").read_text() and (out / "ivy.json").is_file()


def test_a_fork_with_the_notebook_as_released_is_graded_on_its_py(instructor_course, tmp_path):
    """A student's fork of the edition holds both files, written at once by the clone: the one
    still as released (here the notebook) is not their work, whether the edition was released
    with --repository or not (its Colab cell, with the fork's URL put into it, is not work either)."""
    from tito.editions.notebooks import student_edition
    from tito.notebooks.convert import notebook_json

    folder = tmp_path / "submissions"
    alpha = Course(instructor_course).get("alpha")
    colab = notebook_json(student_edition(alpha, "https://github.com/uni/tinytorch-student")[1])
    forks = {"frank": notebook_json(student_edition(alpha)[1]),  # tito release --all --out student
             "uma": colab.replace("github.com/uni/tinytorch-student", "github.com/uma/tinytorch-fork")}  # --repository
    for student, released in forks.items():
        (folder / student).mkdir(parents=True)
        (folder / student / "alpha_dev.py").write_text(ALPHA_DEV)
        (folder / student / "alpha_dev.ipynb").write_text(released, encoding="utf-8")
        for name in ("alpha_dev.py", "alpha_dev.ipynb"):
            os.utime(folder / student / name, (1000, 1000))
    assert "github.com/uma/tinytorch-fork" in forks["uma"]
    proc = run_tito(instructor_course, "grade", str(folder), "--module", "alpha", "--out", str(tmp_path / "grades"),
                    "--no-feedback", "--jobs", "2")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    for student in forks:
        assert f"graded {student}/alpha_dev.py (the other is as released)" in flat(proc.stdout)
        assert json.loads((tmp_path / "grades" / f"{student}.json").read_text())["score"] == 6
    wrong = run_tito(instructor_course, "grade", str(folder), "--module", "alpha", "--edition", str(folder))
    assert wrong.returncode == 1 and "is not a student edition holding module 'alpha'" in flat(wrong.stderr)


def test_students_whose_reports_would_clash_are_named_and_everyone_else_is_graded(instructor_course, tmp_path):
    """A student who names an upload after another's report must not stop the whole batch."""
    folder, out = tmp_path / "submissions", tmp_path / "grades"
    folder.mkdir()
    (folder / "alice.py").write_text(ALPHA_DEV)
    (folder / "mallory?.py").write_text(STUB)
    (folder / "mallory_.py").write_text(ALPHA_DEV)
    proc = run_tito(instructor_course, "grade", str(folder), "--module", "alpha", "--out", str(out), "--no-feedback")
    assert proc.returncode == 1
    assert ("Not graded, because they would share a report file: mallory? and mallory_ (mallory_.json)."
            in flat(proc.stdout + proc.stderr))
    assert "Traceback" not in proc.stdout + proc.stderr
    rows = list(csv.DictReader(io.StringIO((out / "gradebook.csv").read_text())))
    assert [(row["student"], row["score"]) for row in rows] == [("alice", "6")]
    assert not (out / "mallory_.json").exists()


def test_a_batch_that_could_not_finish_a_grade_says_so_and_fails(instructor_course, tmp_path):
    folder, out = tmp_path / "submissions", tmp_path / "grades"
    folder.mkdir()
    (folder / "alice.py").write_text(ALPHA_DEV)
    (folder / "bob.py").write_text(STUB)
    (out / "alice.json").mkdir(parents=True)  # her report cannot be written
    proc = run_tito(instructor_course, "grade", str(folder), "--module", "alpha", "--out", str(out), "--no-feedback")
    assert proc.returncode == 1
    said = flat(proc.stdout + proc.stderr)
    assert "its report could not be written (Is a directory)" in said
    assert "Not graded completely (1): alice; their notes above say why." in said
    assert (out / "bob.json").is_file()


def test_one_submission_prints_its_checks_and_writes_json(instructor_course, tmp_path):
    report = tmp_path / "alice.json"
    proc = run_tito(instructor_course, "grade", str(instructor_course / "modules/source/01_alpha/alpha_dev.py"),
                    "--module", "alpha", "--json", str(report), "--no-calibrate")
    assert proc.returncode == 0, proc.stderr
    assert "Score: 7/7" in proc.stdout and "Feedback (no points): 5/5" in flat(proc.stdout)
    payload = json.loads(report.read_text())
    checks = [(t["name"], t["points"]) for t in payload["tests"] if t["kind"] == "check"]
    assert checks == list(zip(CHECKS, [3, 2, 1, 1]))


def test_one_submission_is_graded_again_on_the_same_inputs_with_its_seed(instructor_course, tmp_path):
    wrong = tmp_path / "carol.py"
    wrong.write_text(ALPHA_DEV.replace("np.asarray(x) * 2", "np.asarray(x) * 3"))

    def double_message(*seed):
        report = tmp_path / "report.json"
        proc = run_tito(instructor_course, "grade", str(wrong), "--module", "alpha", "--no-feedback",
                        "--json", str(report), *seed)
        assert proc.returncode == 0, proc.stderr
        drawn = re.search(r"^Seed: (\d+) \(--seed \1 grades it again on the same inputs\)$", proc.stdout, re.M)
        message = next(t["message"] for t in json.loads(report.read_text())["tests"] if t["name"] == "double")
        return int(drawn.group(1)), message

    seed, first = double_message()
    assert double_message("--seed", str(seed)) == (seed, first)  # the inputs it failed on, again
    assert double_message("--seed", str(seed + 1))[1] != first
    proc = run_tito(instructor_course, "grade", str(tmp_path), "--module", "alpha", "--seed", "3")
    assert proc.returncode == 2 and "--seed is for one submission" in flat(proc.stdout + proc.stderr)


def test_no_feedback_grades_the_same_points_without_running_the_tests(instructor_course, tmp_path):
    """The inline and pytest tests are most of a submission's time and earn nothing: an instructor
    in a hurry leaves them out and gets the same points."""
    report = tmp_path / "carol.json"
    (tmp_path / "carol.py").write_text(HALF_DONE)
    proc = run_tito(instructor_course, "grade", str(tmp_path / "carol.py"), "--module", "alpha", "--json", str(report),
                    "--no-feedback")
    assert proc.returncode == 0, proc.stderr
    payload = json.loads(report.read_text())
    assert payload["score"] == 4 and {t["kind"] for t in payload["tests"]} == {"check"}
    assert "Feedback (no points)" not in proc.stdout
    assert set(payload["sandbox"]["steps"]) == {"read", "export", "checks"}
    assert payload["error"] == "not implemented yet: Scaler.__call__"  # the file's stubs, without the tests' help


def test_without_a_sandbox_it_refuses_unless_told_to_grade_unprotected(instructor_course):
    dev = str(instructor_course / "modules/source/01_alpha/alpha_dev.py")
    sandbox, reasons = detect("uid-drop")
    if sandbox is not None:
        pytest.skip("the uid-drop backend can run here, so there is nothing to refuse")
    refused = run_tito(instructor_course, "grade", dev, "--module", "alpha", "--sandbox", "uid-drop")
    assert refused.returncode == 1
    said = flat(refused.stderr)
    assert f"Error: The uid-drop sandbox cannot run student code on this machine: {reasons[0][len('uid-drop: '):]}." \
        in said and "No sandbox can run" not in said
    assert "uid-drop needs a grader running as root and a Python every user may read." in said
    default = detect()[0]
    assert ("The default sandbox, bubblewrap, works here: leave out --sandbox" in said) == (default is not None)
    assert ("add --unsafe-no-sandbox" in said) == ("bwrap" in said) == (default is None)  # bwrap: only if it fails too
    unsafe = run_tito(instructor_course, "grade", dev, "--module", "alpha", "--unsafe-no-sandbox", "--no-calibrate")
    assert unsafe.returncode == 0, unsafe.stderr
    assert "WARNING: grading without a sandbox. student code runs as you" in flat(unsafe.stderr)
    assert "Score: 7/7" in unsafe.stdout and "sandbox: none" in unsafe.stdout


def test_json_is_for_one_submission(instructor_course, tmp_path):
    proc = run_tito(instructor_course, "grade", str(tmp_path), "--module", "alpha", "--json", str(tmp_path / "x.json"))
    assert proc.returncode == 2 and "--json is for one submission" in flat(proc.stderr)
    proc = run_tito(instructor_course, "grade", str(tmp_path), "--module", "alpha", "--out", str(tmp_path / "grades"))
    assert proc.returncode == 2 and f"The reports folder {tmp_path / 'grades'} is inside the submissions folder" \
        in flat(proc.stderr)
    dev = str(instructor_course / "modules/source/01_alpha/alpha_dev.py")
    proc = run_tito(instructor_course, "grade", dev, "--module", "alpha", "--format", "gradescope")
    assert proc.returncode == 2 and "--format gradescope writes that platform's results file: add --json FILE." \
        in flat(proc.stderr)  # it was ignored: no file, no word


def test_a_prepared_folder_grades_on_its_own_wherever_it_is_copied(patient_alpha_grader, tmp_path):
    from tito.grading import Prepared, grade_submission

    grader = patient_alpha_grader  # erin's grade is asserted: no load may cut it
    shipped = tmp_path / "bundle" / "prepared"
    shutil.copytree(grader.prepared.folder, shipped, symlinks=True)
    prepared = Prepared.load(shipped)
    assert (prepared.checks, prepared.free, prepared.seed) == (grader.prepared.checks, ["numpy_is_provided"],
                                                                grader.prepared.seed)
    scratch = Path(tempfile.mkdtemp(prefix="tito-grade-test-"))  # where any sandbox user may enter
    scratch.chmod(0o711)
    try:
        grade = grade_submission(HALF_DONE.encode(), "erin.py", "erin", prepared, grader.sandbox, grader.limits,
                                 scratch)
        assert (grade.score, grade.max_score, grade.student) == (4, 6, "erin")
        assert list(scratch.iterdir()) == []  # the job folder is gone
    finally:
        shutil.rmtree(scratch)


# --------------------------------------------------------------------------- checks in module.yaml


@pytest.mark.parametrize("checks, message", [
    (None, "Module 'alpha' cannot be graded: it has no graded checks."),
    ({"double": 3}, "tests/01_alpha/checks.py defines checks that modules/source/01_alpha/module.yaml gives no "
                    "points: scaler, double_negative, numpy_is_provided."),
    ({"double": 3, "typo": 1}, "lists checks that tests/01_alpha/checks.py does not define: check_typo."),
    ({"double": -1}, "check 'double' needs whole points >= 0, got -1."),
    ({"double": {"points": 1, "weight": 2}}, "check 'double' has unknown keys weight"),
    ({"double": {"points": 1, "rtol": "1e-4"}}, "check 'double': rtol must be a number >= 0, got '1e-4' (YAML reads "
                                                "1e-4 as text: write it with a point, 1.0e-4)."),
    ({"double": {"points": 1, "atol": "tiny"}}, "check 'double': atol must be a number >= 0, got 'tiny'."),
    ({"double": {"points": 1, "constant": True}}, "check 'double': constant must say why its answer is the same on "
                                                  "every seed, got True."),
    ({"double": {"points": 1, "hint": ""}}, "check 'double': hint must be the words added to the message of the "
                                            "check when it fails, got ''."),
])
def test_checks_in_module_yaml_are_validated(instructor_course, checks, message):
    module = Course(instructor_course).get("alpha")
    module.meta["checks"] = checks
    with pytest.raises(TitoError) as caught:
        check_specs(module)
    assert message in caught.value.message


def test_a_solution_line_leaks_into_the_workspace_unless_a_prerequisite_shows_it(instructor_course, tmp_path):
    """prepare refuses a workspace holding a line of the graded module's solution, except one that
    a prerequisite's student edition gives away anyway (autograd repeats a line of cnn's)."""
    root = tmp_path / "course"
    shutil.copytree(instructor_course, root)
    shown, secret = "ratio_of_the_two_sides_of_the_window = 1 / 2", "secret_ratio_of_the_two_sides_of_the_window = 2"
    beta = root / "modules/source/02_beta/beta_dev.py"
    beta.write_text(beta.read_text().replace("    return double(double(x))",
                                             f"    {shown}\n    {secret}\n    return double(double(x))"))
    (root / "modules/source/02_beta/module.yaml").write_text(
        "name: beta\ntitle: Beta\nprerequisites: [alpha]\nchecks:\n  quadruple: 1\n")
    (root / "tests/02_beta/checks.py").write_text("def check_quadruple(beta, rng):\n    return beta.quadruple(3)\n")
    alpha = root / "modules/source/01_alpha/alpha_dev.py"
    alpha.write_text(alpha.read_text().replace("class Scaler:", f"def _halve():\n    {shown}\n\n\nclass Scaler:"))
    course = Course(root)
    prepare(course, course.get("beta"), tmp_path / "shown", calibrate=False)
    (root / "tinytorch/utils/notes.py").write_text(f"{shown}\n{secret}\n")
    with pytest.raises(TitoError, match="would hold solution text of 'beta' in tinytorch/utils/notes.py: 'secret_"):
        prepare(course, course.get("beta"), tmp_path / "leaked", calibrate=False)


@pytest.mark.parametrize("markers", [" SOLUTION", ""])
def test_a_stub_that_passes_every_check_stops_the_grading(instructor_course, tmp_path, markers):
    """Instructor audit: a module released with its solution markers left out (or misspelled) had its
    solution in the stub; calibration made every check worth 0 and each student got 0 of 0, rc 0,
    nothing said. Without solution markers (with the hidden tests' or without any), prepare stops."""
    root = tmp_path / "course"
    shutil.copytree(instructor_course, root)
    alpha = root / "modules/source/01_alpha/alpha_dev.py"
    alpha.write_text("".join(line for line in alpha.read_text().splitlines(keepends=True)
                             if not (line.strip().startswith("### ") and markers in line)))
    course = Course(root)
    with pytest.raises(TitoError) as caught:
        prepare(course, course.get("alpha"), tmp_path / "prepared")
    assert caught.value.message == ("Module 01_alpha has nothing to earn: its released stub passes every graded check "
                                    "(double, scaler, double_negative, numpy_is_provided), so every student would "
                                    "score 0 of 0.")
    assert "modules/source/01_alpha/alpha_dev.py puts each answer between '### BEGIN SOLUTION'" in caught.value.hint
    prepare(course, course.get("alpha"), tmp_path / "uncalibrated", calibrate=False)  # the instructor's choice


def test_a_check_that_raises_on_the_reference_or_misses_its_words_stops_the_grading(instructor_course, tmp_path):
    """A bug in a check's own code raises on the stub too: calibration would make it worth 0 and shrink the
    maximum without a word. Only a ..._rejects_... check may raise; prepare names the check, the error and
    where to fix it, and for words its `message:` asks for, the reference's message as text. A refusal
    without the function's value on a valid input first (tito.grading.data.refuses) would pay a
    function that refuses everything: it stops the grading too."""
    root = tmp_path / "course"
    shutil.copytree(instructor_course, root)
    checks = root / "tests/01_alpha/checks.py"
    checks.write_text(checks.read_text().replace("alpha.Scaler(factor)(", "alpha.Scaler(factor).scale(")
                      + "\n\ndef check_double_rejects_none(alpha, rng):\n    return alpha.double(None)\n"
                      + "\n\ndef check_scaler_rejects_text(alpha, rng):\n    return alpha.Scalr(2)('x')\n"
                      + "\n\ndef check_double_rejects_nothing(alpha, rng):\n    return alpha.double(None)\n")
    yaml = root / "modules/source/01_alpha/module.yaml"
    yaml.write_text(yaml.read_text() + '  double_rejects_none: {points: 1, message: "x must be a number"}\n'
                    + "  scaler_rejects_text: 1\n  double_rejects_nothing: 1\n")
    course = Course(root)
    with pytest.raises(TitoError) as caught:
        prepare(course, course.get("alpha"), tmp_path / "prepared")
    assert caught.value.message == (
        "The checks of 'alpha' do not run as they should on the reference solution:\n"
        "  check scaler raised AttributeError: 'Scaler' object has no attribute 'scale' on the reference solution; "
        "only checks named *_rejects_* may raise: fix tests/01_alpha/checks.py\n"
        "  check double_rejects_none asks for an error saying 'x must be a number' (its message: in "
        "modules/source/01_alpha/module.yaml), but on the reference solution it raised TypeError: unsupported "
        "operand type(s) for *: 'NoneType' and 'int': fix that message: or the check in tests/01_alpha/checks.py\n"
        "  check scaler_rejects_text raised AttributeError: module 'tinytorch.core.alpha' has no attribute 'Scalr' on "
        "the reference solution, an error of the check's own code rather than a refusal (the stub would raise it "
        "too): fix tests/01_alpha/checks.py, or give the refusal's words as message: in "
        "modules/source/01_alpha/module.yaml\n"
        "  check double_rejects_nothing raised TypeError: unsupported operand type(s) for *: 'NoneType' and 'int' on "
        "the reference solution without first returning the function's value on a valid input: return "
        "refuses(valid, call, *words) (tito.grading.data), so that a function refusing everything earns nothing: "
        "fix tests/01_alpha/checks.py")


def test_a_batch_stopped_by_a_broken_check_announces_and_writes_nothing(instructor_course, tmp_path):
    """The checks run on the reference before the batch says what it will grade or keeps a seed:
    fixed, the next run draws its seed as a first batch does."""
    root = tmp_path / "course"
    shutil.copytree(instructor_course, root)
    checks = root / "tests/01_alpha/checks.py"
    checks.write_text(checks.read_text().replace("alpha.Scaler(factor)(", "alpha.Scaler(factor).scale("))
    (tmp_path / "submissions").mkdir()
    (tmp_path / "submissions/alice.py").write_text(ALPHA_DEV)
    out = tmp_path / "grades"
    proc = run_tito(root, "grade", str(tmp_path / "submissions"), "--module", "alpha", "--out", str(out))
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "check scaler raised AttributeError" in proc.stderr
    assert "grading 1" not in proc.stdout and list(out.iterdir()) == []


# --------------------------------------------------------------------------- reading submissions


@pytest.mark.parametrize("name, data, reason", [
    ("a.ipynb", json.dumps({"nbformat": 4, "nbformat_minor": 5, "metadata": [], "cells": []}),
     "a.ipynb: the notebook's metadata must be a JSON object, got list"),
    ("a.ipynb", json.dumps({"nbformat": 4, "nbformat_minor": 5, "metadata": {},
                            "cells": [{"cell_type": "code", "source": "x", "metadata": "oops"}]}),
     "a.ipynb: the metadata of cell 1 must be a JSON object, got str"),
    ("a.ipynb", json.dumps({"nbformat": 4, "nbformat_minor": 5, "metadata": {},
                            "cells": [{"cell_type": "code", "source": "", "metadata": {}}] * 40_000}),
     "a.ipynb has 40000 cells; a module notebook has at most 2000"),
    ("a.ipynb", "[1, 2]", "a.ipynb is not a readable notebook: expected a JSON object, got list"),
    ("a.py", "# %%\n" * 3000, "a.py has 3000 cells; a module source has at most 2000"),
    ("a.py", b"x = '\xff'", "a.py is not UTF-8 text (byte 0xff at position 5)"),
])
def test_broken_submissions_get_a_reason(name, data, reason):
    with pytest.raises(SubmissionError) as caught:
        to_source(data.encode() if isinstance(data, str) else data, name)
    assert str(caught.value) == reason


def test_an_nbformat_3_notebook_is_upgraded():
    v3 = {"nbformat": 3, "nbformat_minor": 0, "metadata": {}, "worksheets": [{"cells": [
        {"cell_type": "code", "input": "def double(x):\n    return 2 * x", "language": "python", "outputs": []}]}]}
    assert "def double(x):\n    return 2 * x" in to_source(json.dumps(v3).encode(), "old.ipynb")


# --------------------------------------------------------------------------- data across the wall


def record_roundtrip(tmp_path, value):
    write_record(tmp_path, "c", {"value": value})
    return read_record(tmp_path, "c")


def test_plain_data_crosses_the_wall(tmp_path):
    value = {"out": np.arange(6, dtype=np.float32).reshape(2, 3), "shape": (2, 3), "ok": True, "name": "x",
             "n": np.int64(7), "nested": [None, 1.5, [np.bool_(False)]]}
    back = record_roundtrip(tmp_path, value)["value"]
    assert back["out"].dtype == np.float32 and np.array_equal(back["out"], value["out"])
    assert back["shape"] == [2, 3] and back["n"] == 7 and back["nested"] == [None, 1.5, [False]]
    assert record_roundtrip(tmp_path, object()) == {"unplain": "an object of type object"}
    assert record_roundtrip(tmp_path, np.array(["a"])) == {
        "unplain": "an array of dtype <U1 (only bool, int and float arrays are data)"}


def test_a_refusal_carries_the_value_on_a_valid_input_across_the_wall(tmp_path):
    """refuses(valid, call, *words): the record of the refusal holds valid()'s value as plain data."""
    from tito.grading.data import raised, refuses

    def record_of(valid):
        try:
            refuses(valid, lambda: int("x7"), "x7")
        except ValueError as exc:
            write_record(tmp_path, "c", raised(exc))
        return read_record(tmp_path, "c")

    back = record_of(lambda: {"out": np.arange(3.0)})
    assert back["raised"]["names"] == ["x7"] and back["raised"]["type"] == "ValueError"
    assert set(back) == {"raised", "accepted"} and np.array_equal(back["accepted"]["out"], np.arange(3.0))
    assert record_of(object) == {"raised": back["raised"], "unplain": "an object of type object"}
    assert refuses(lambda: 1, lambda: 2) == 2  # nothing refused: the bad call's value is the answer


def forge(tmp_path, json_text, npz=None):
    (tmp_path / "c.json").write_text(json_text)
    if npz is not None:
        (tmp_path / "c.npz").write_bytes(npz)


def npz_of(**members):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, (data, compression) in members.items():
            archive.writestr(zipfile.ZipInfo(name), data, compress_type=compression)
    return buffer.getvalue()


def test_what_the_sandbox_says_about_crashes_is_bounded_and_keeps_hidden_checks_unnamed():
    """Only checks that failed are named (a made-up name, a name that is no text, or a check that
    passed, is not), from the first 50 records."""
    from tito.grading.grader import _crashes

    said = [{"check": "conv2d_naive", "exit_code": int("9" * 4299)}, {"check": "secret", "exit_code": 3},
            {"check": 5}, {"check": ["secret"]}, "x", {"check": "flatten", "exit_code": 1}]
    said += [{"check": "c" * 10_000, "exit_code": 1}] * 44
    said.append({"check": "im2col", "exit_code": 1})  # the 51st record
    crashes = _crashes(said, hidden={"secret"}, failed={"conv2d_naive", "secret", "im2col"})
    assert crashes == ["conv2d_naive (exit code ?)", "a hidden check (exit code 3)"]
    long = _crashes(said, hidden=set(), failed={"c" * 10_000})
    assert len(long) == 44 and max(len(c) for c in long) < 130


def npz_with_extra_field():
    """One member whose directory entry carries an extra field (zipfile decodes 64 KB ones slowly)."""
    buffer, member = io.BytesIO(), zipfile.ZipInfo("a0.npy")
    member.extra = b"\xff\xff\x00\x00"
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(member, npy(np.zeros(2)))
    return buffer.getvalue()


def with_zip64_locator(raw: bytes) -> bytes:
    """``raw`` with a zip64 end-record locator where zipfile looks for one: its end record then
    overrules the normal one (which a bomb sets to 1 member)."""
    end = raw.rfind(b"PK\x05\x06")
    return raw[:end] + b"PK\x06\x07" + bytes(16) + raw[end:]


def npy(array, allow_pickle=False):
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=allow_pickle)
    return buffer.getvalue()


@pytest.mark.parametrize("setup, reason", [
    (lambda p: (p / "c.json").symlink_to("/etc/hostname"), "c.json cannot be opened"),
    (lambda p: forge(p, '{"value": 1, "extra": 2}'), "the record is not one of value / raised / unplain"),
    (lambda p: forge(p, '{"value": 1, "accepted": 2}'), "the record is not one of value / raised / unplain"),
    (lambda p: forge(p, '{"value": {"$array": "a0"}}', npz_of(**{"a0.npy": (npy(np.zeros(2)), zipfile.ZIP_DEFLATED)})),
     "a compressed member in the arrays"),
    (lambda p: forge(p, '{"value": {"$array": "a0"}}', npz_of(**{"../x.npy": (b"", zipfile.ZIP_STORED)})),
     "unexpected member '../x.npy'"),
    (lambda p: forge(p, '{"value": {"$array": "a0"}}',
                     npz_of(**{"a0.npy": (npy(np.array([object()]), allow_pickle=True), zipfile.ZIP_STORED)})),
     "the arrays cannot be loaded (ValueError: Object arrays cannot be loaded when allow_pickle=False)"),
    (lambda p: forge(p, '{"value": {"$array": "a9"}}'), "unexpected data"),
    (lambda p: forge(p, '{"value": {"$array": "a0"}}', npz_with_extra_field()),
     "the arrays' directory has an entry np.savez does not write (name of 6 bytes, extra field of 4, comment of 0)"),
    (lambda p: forge(p, '{"value": {"$array": "a0"}}', with_zip64_locator(npz_of(**{"a0.npy": (npy(np.zeros(2)),
                                                                                               zipfile.ZIP_STORED)}))),
     "the arrays are a zip64 archive (np.savez writes none)"),
    (lambda p: forge(p, "[" * 100_000), "c.json is not valid JSON (RecursionError)"),
])
def test_the_grader_refuses_anything_but_plain_data(tmp_path, setup, reason):
    setup(tmp_path)
    with pytest.raises(UnreadableRecord) as caught:
        read_record(tmp_path, "c")
    assert reason in str(caught.value)


def test_declared_sizes_are_checked_before_loading(tmp_path, monkeypatch):
    from tito.grading import data

    monkeypatch.setattr(data, "MAX_ARRAY_BYTES", 1000)
    forge(tmp_path, '{"value": {"$array": "a0"}}', npz_of(**{"a0.npy": (npy(np.zeros(200)), zipfile.ZIP_STORED)}))
    with pytest.raises(UnreadableRecord, match="the arrays declare more than 1000 bytes"):
        read_record(tmp_path, "c")


# --------------------------------------------------------------------------- the verdict


SPEC = CheckSpec("c", 1)


def value(v):
    return {"value": v}


def raised(kind, mro=None, message="m"):
    return {"raised": {"type": kind, "mro": mro or [kind, "Exception"], "message": message}}


def refusal(accepted):
    """The record of refuses(): a ValueError after the value ``accepted`` on a valid input."""
    return {**raised("ValueError"), "accepted": accepted}


@pytest.mark.parametrize("expected, actual, passed, message", [
    (value(np.float32([1, 2])), value(np.float32([1, 2.0001])), True, ""),
    (value(np.float64([1, 2])), value(np.float64([1, 2.0001])), False,
     "result: at index (1,) expected 2.0, got 2.0001 (1 of 2 values differ; rtol=1e-06, atol=1e-09)"),
    (value(np.zeros((2, 3))), value(np.zeros((3, 2))), False, "result: expected shape (2, 3), got (3, 2)"),
    (value({"a": [1, 2]}), value({"a": (1, 2)}), True, ""),
    (value({"a": 1}), value({"b": 1}), False, "result: expected keys ['a'], got ['b']"),
    (value([3, 4]), value([3, 5]), False, "result[1]: expected 4, got 5"),
    (value(np.array([np.nan, 1.0])), value(np.array([np.nan, 1.0])), True, ""),
    (raised("ValueError"), raised("BadSizeError", ["BadSizeError", "ValueError", "Exception"]), True,
     "raised BadSizeError: m"),
    (raised("ValueError"), raised("TypeError"), False, "expected ValueError, got TypeError: m"),
    (raised("ValueError"), value(1), False, "expected ValueError to be raised, but it returned a value"),
    (value(1), raised("NotImplementedError", message="TODO: implement f"), False,
     "NotImplementedError: TODO: implement f"),
    (value(1), {"unplain": "an object of type Tensor"}, False, "returned an object of type Tensor, not plain data"),
    (value(1), None, False, "not run"),
    # no OverflowError
    (value(1.5), value(10 ** 400), False, "result: expected 1.5, got " + str(10 ** 400)[:117] + "..."),
    (refusal([1, 2]), refusal((1, 2)), True, "raised ValueError: m"),
    (refusal([1, 2]), raised("ValueError"), False,
     "on a valid input it raised ValueError: m (expected a value, then a refusal)"),
    (refusal([1, 2]), refusal([1, 3]), False, "on a valid input, result[1]: expected 2, got 3"),
    (refusal([1, 2]), {**raised("ValueError"), "unplain": "an object of type Tensor"}, False,
     "on a valid input it returned an object of type Tensor, not plain data"),
    (refusal([1, 2]), value(1), False, "expected ValueError to be raised, but it returned a value"),
])
def test_the_verdict_compares_with_the_reference(expected, actual, passed, message):
    assert judge(SPEC, expected, actual)[:2] == (passed, message)


def test_a_check_may_ask_for_the_words_of_an_error():
    worded = CheckSpec("c", 1, message="larger than the input")
    assert judge(worded, raised("ValueError"),
                 raised("ValueError", message="kernel (3, 3) is larger than the input"))[0]
    assert judge(worded, raised("ValueError"), raised("ValueError", message="bad kernel"))[:2] == (
        False, "raised ValueError, but its message does not say 'larger than the input': bad kernel")


def test_a_failed_check_says_its_hint():
    hinted = CheckSpec("c", 1, hint="the sources report made-up values")
    assert judge(hinted, value("32.1.4"), value("3.11.7")) == (
        False, "result: expected '32.1.4', got '3.11.7' (hint: the sources report made-up values)",
        "not the expected answer (its values differ); got '3.11.7' (hint: the sources report made-up values)")
    assert judge(hinted, value("32.1.4"), value("32.1.4"))[:2] == (True, "")
    assert judge(hinted, value(1), None) == (False, "not run", "not run")
    assert CheckSpec.from_json(hinted.to_json()) == hinted


def test_tito_grade_shows_a_hint_in_full_below_its_table(capsys, monkeypatch):
    from tito.commands.grade import show_grade
    from tito.grading.report import Grade, TestScore

    monkeypatch.setenv("NO_COLOR", "1")
    hint = "during this check the sources report made-up values: read them, " + "don't type them in " * 5
    message = judge(CheckSpec("values", 2, hint=hint), value("32.1.4"), value("3.11.7"))[1]
    show_grade(Grade("setup", "setup_dev.py", "ada", [TestScore("values", False, 2, message)]))
    out = flat(capsys.readouterr().out)
    assert "result: expected '32.1.4', got '3.11.7' (hint below)" in out
    assert "Hint (values): " + flat(hint) in out


def test_a_matched_key_the_result_lacks_is_named():
    matched = CheckSpec("c", 1, match={"developer": ".+"})
    assert judge(matched, value({"developer": "Ada"}), value({"develper": "Ada"}))[:2] == (
        False, "the result has no key 'developer'")
    assert judge(matched, value({"developer": "Ada"}), value({"developer": None})) == (
        False, "result['developer']: expected a string matching '.+', got None",
        "result['developer']: not of the form the module asks for, got None")  # a platform's: not what was expected


def test_a_students_long_string_is_refused_before_a_pattern_judges_it():
    """A pattern can take the square of its input's length ('a@' + 'b.' * 499000 + '@' hung the
    grader for half an hour): a student's string is judged only up to MAX_MATCHED characters."""
    from tito.grading.verdict import MAX_MATCHED

    email = CheckSpec("c", 1, match={"email": r"[^@\s]+@[^@\s]+\.[^@\s]+"})
    long = "a@" + "b." * (MAX_MATCHED // 2) + "@"
    assert judge(email, value({"email": "x@y.z"}), value({"email": long}))[:2] == (
        False, f"result['email']: expected a string of at most {MAX_MATCHED} characters, got {len(long)}")
    assert judge(email, value({"email": "x@y.z"}), value({"email": "ada@lovelace.org"}))[0]


def test_a_check_may_set_its_tolerance():
    loose = CheckSpec("c", 1, rtol=1e-3)
    assert judge(loose, value(np.float64([100.0])), value(np.float64([100.05])))[0]


# --------------------------------------------------------------------------- the grader's side of the sandbox


def test_the_grader_keeps_the_first_output_bytes_and_counts_the_rest():
    flood = "import os\nfor _ in range(64): os.write(1, b'x' * 65536)\n"
    outcome = _supervise([PYTHON, "-c", flood], {}, "/", Limits(seconds=60, output=1 << 20), _kill_group)
    assert (len(outcome.output), outcome.dropped) == (1 << 20, 64 * 65536 - (1 << 20))
    assert (outcome.returncode, outcome.timed_out) == (0, False)


def test_a_job_folder_is_removed_however_deep_locked_or_linked_and_within_a_budget_if_given(tmp_path):
    """Red team 36: shutil.rmtree recursed once per level (1,500 crashed it), and the first walk
    by descriptor copied its path list at each level (150,000 levels took a minute); under uid-drop
    a chain in /tmp could hold a platform's grading past its job's time. What lies outside, behind
    a link, stays; with a budget of no time, the removal stops and says the folder is still there."""
    from tito.files import remove_tree

    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "keep").write_text("keep")
    folder = tmp_path / "job"
    folder.mkdir()
    here = os.open(folder, os.O_RDONLY)
    for _ in range(3000):  # 6 KB of path: past PATH_MAX
        os.mkdir("d", dir_fd=here)
        below = os.open("d", os.O_RDONLY, dir_fd=here)
        os.close(here)
        here = below
    os.close(os.open("file", os.O_WRONLY | os.O_CREAT, dir_fd=here))
    os.close(here)
    (folder / "link").symlink_to(outside)
    (folder / "locked").mkdir()
    (folder / "locked" / "x").write_text("x")
    (folder / "locked").chmod(0o300)
    assert remove_tree(folder, seconds=0) is False and (folder / "d").is_dir()
    assert remove_tree(folder) is True and not folder.exists()
    assert (outside / "keep").read_text() == "keep"
    assert remove_tree(folder) is True  # gone already


def test_a_setsid_process_holding_the_output_pipe_does_not_hold_the_grader():
    mark = f"pipe-holder-{os.getpid()}-{time.monotonic_ns()}"  # the stray killed below is this test's only
    holder = ("import subprocess, sys\n"
              f"subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(600)', {mark!r}], "
              "start_new_session=True)\n"
              "print('bye', flush=True)\n")
    stray = []
    outcome = _supervise([PYTHON, "-c", holder], {}, "/", Limits(seconds=60), lambda proc: stray.append(proc))
    # read until it ended and a little more: waiting until the pipe closed would have run into the deadline
    assert (outcome.output, outcome.returncode, outcome.timed_out) == (b"bye\n", 0, False)
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):  # the sandbox would have killed it; here we do
        try:
            if mark.encode() in cmdline.read_bytes() and int(cmdline.parent.name) != os.getpid():
                os.kill(int(cmdline.parent.name), 9)
        except OSError:
            pass


def test_doctor_says_which_sandbox_grades_and_what_it_protects():
    from tito.commands.doctor import check_grading_sandbox, sandbox_points

    check, (sandbox, reasons) = check_grading_sandbox(), detect()
    assert not check.required and check.ok == (sandbox is not None)
    assert check.detail == (sandbox_points(sandbox) if sandbox else
                            "none can run here, so `tito grade` refuses to grade (unless --unsafe-no-sandbox): "
                            + "; ".join(reasons))
    assert check.fix == ("" if sandbox else HOW_TO_GET_ONE)


def test_each_sandbox_says_plainly_what_it_keeps_from_student_code():
    from tito.commands.doctor import sandbox_points
    from tito.grading.sandbox import backend

    bubblewrap, uid_drop = sandbox_points(backend("bubblewrap")), sandbox_points(backend("uid-drop"))
    lines = bubblewrap.splitlines()
    assert lines[0] == "bubblewrap sandbox:"
    assert lines[1] == "- no network access, only a loopback of its own; its own PID, IPC and UTS namespaces"
    assert lines[lines.index("Weak points:") + 1].startswith("- total memory and CPU")
    assert "protects no" not in bubblewrap
    assert "Weak points:\n- no network isolation: it is on the machine's network" in uid_drop
    # one point a line, so that `tito doctor | cat` is not a table as wide as all of them in one
    assert max(map(len, lines)) < 300



def test_the_epoll_bound_a_sandbox_states_follows_from_its_open_files():
    """The weak point 'epoll watches' says the bound Limits.open_files makes: half the files epoll
    instances, each watching the other half (about 200 bytes each), in each of its processes."""
    from tito.commands.doctor import sandbox_points
    from tito.grading.backends import kernel_memory
    from tito.grading.sandbox import backend

    assert ("- kernel memory it holds is not bounded: socket and pipe buffers (about 2 GB from one process), epoll "
            "and inotify watches (at most 64 x 64 per process: about 0.8 MB, some 105 MB per job)"
            in sandbox_points(backend("bubblewrap")).splitlines())
    assert Limits().epoll_watches() == (64, 64) and Limits(open_files=257).epoll_watches() == (128, 129)
    assert "(at most 128 x 128 per process: about 3.3 MB, some 210 MB per job)" in kernel_memory(
        Limits(open_files=256, processes=64))

LINKED_PYTHON_PROBE = """
import os, sys
from tito.grading.backends import _masks
from tito.grading.sandbox import backend
print(sys.prefix)
print(backend("bubblewrap").problem() or "starts")
print(all(os.path.realpath(m.parent) == str(m.parent) for m in _masks()))
"""


def test_a_venv_reached_through_a_symbolic_link_starts_in_bubblewrap(tmp_path):
    """A venv behind a link (or a /home linked to another disk): the installation is bound at its
    real path, and the sandbox needs the link too, since Python is started by the linked path."""
    if os.path.realpath(sys.prefix) == os.path.realpath(sys.base_prefix):
        pytest.skip("the tests run outside a venv")
    if detect("bubblewrap")[0] is None:
        pytest.skip("bubblewrap cannot run here")
    link = tmp_path / "linked-venv"
    link.symlink_to(os.path.realpath(sys.prefix))
    probe = subprocess.run([str(link / "bin" / "python"), "-c", LINKED_PYTHON_PROBE], capture_output=True,
                           text=True, env={**os.environ, "PYTHONPATH": str(REAL_ROOT)}, timeout=120)
    assert probe.stdout.splitlines() == [str(link), "starts", "True"], probe.stderr


def test_regrade_taking_the_folder_as_its_value_is_told_apart_from_a_missing_folder(tito, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "subs").mkdir()
    result = tito("grade", "--module", "alpha", "--regrade", "subs/")  # --regrade's value is optional
    assert result.exit_code == 2
    assert ("Error: --regrade took 'subs/' as a student name, so SUBMISSION is missing: put the students after the "
            "folder (tito grade subs/ --module alpha --regrade NAME), use --regrade=NAME, or regrade everyone with "
            "--regrade after the folder (tito grade subs/ --module alpha --regrade).") in flat(result.output)
    result = tito("grade", "--module", "alpha", "--regrade", "alice")
    assert result.exit_code == 2 and "Error: Missing argument 'SUBMISSION'." in result.output


@pytest.mark.parametrize("command", [("grade", "alice.py", "--module", "alpha"), ("test", "--module", "alpha")])
def test_json_goes_only_into_an_existing_folder_and_replaces_only_a_report_of_tito(command, tito, tmp_path,
                                                                                    monkeypatch):
    """tito grade and tito test check --json alike, before anything runs."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "alice.py").write_text(ALPHA_DEV)
    result = tito(*command, "--json", "nodir/x.json")
    assert result.exit_code == 2 and not (tmp_path / "nodir").exists()
    assert f"Error: --json nodir/x.json: its folder {tmp_path / 'nodir'} does not exist." in flat(result.output)
    for unrelated in ('{"name": "my settings", "tests": []}', "notes\n", "[1, 2]"):
        (tmp_path / "notes.json").write_text(unrelated)
        result = tito(*command, "--json", "notes.json")
        assert result.exit_code == 2 and (tmp_path / "notes.json").read_text() == unrelated
        assert (f"Error: --json notes.json: notes.json exists and is not a JSON report of tito {command[0]}, so "
                "it is not replaced.") in flat(result.output)
    other = {"test": '{"score": 45, "tests": [], "student": "bob", "module": "cnn"}',
             "grade": '{"passed": true, "steps": []}'}[command[0]]  # the other command's report
    (tmp_path / "other.json").write_text(other)
    assert tito(*command, "--json", "other.json").exit_code == 2 and (tmp_path / "other.json").read_text() == other


def test_json_of_one_submission_replaces_only_the_same_students_report(tito, course):
    (course.root / "alice.py").write_text(ALPHA_DEV)
    bobs = '{"module": "alpha", "student": "bob", "score": 6, "tests": []}'
    (course.root / "report.json").write_text(bobs)
    result = tito("grade", "alice.py", "--module", "alpha", "--json", "report.json")
    assert result.exit_code == 2 and (course.root / "report.json").read_text() == bobs
    assert ("Error: --json report.json holds the report of bob for module alpha; not replacing it with alice's for "
            "module alpha.") in flat(result.output)
    planted = json.dumps({"module": "alpha", "student": "\x1b]0;PWNED\x07\x1b[2J\nScore: 6/6", "score": 0, "tests": []})
    (course.root / "report.json").write_text(planted)
    result = tito("grade", "alice.py", "--module", "alpha", "--json", "report.json")
    assert result.exit_code == 2 and "\x1b" not in result.output and "\nScore" not in result.output
    assert "holds the report of \\x1b]0;PWNED" in result.output  # the file's words, shown as text
    from tito.grading.formats import render
    from tito.grading.report import Grade, TestScore

    for form in ("gradescope", "prairielearn"):  # a platform's results file names its student too
        bobs = json.dumps(render(Grade("alpha", "bob.py", "bob", [TestScore("double", True, 3)]), form))
        (course.root / "report.json").write_text(bobs)
        result = tito("grade", "alice.py", "--module", "alpha", "--format", form, "--json", "report.json")
        assert result.exit_code == 2 and (course.root / "report.json").read_text() == bobs
        assert "holds the report of bob for module alpha" in flat(result.output)


def test_a_file_too_big_to_be_a_report_is_neither_read_as_one_nor_replaced_as_one(tmp_path):
    """One size says what no JSON report of tito's exceeds: a grade report past it is not read from a
    reports folder, and the same file given as --json FILE is not taken for tito's (so not replaced)."""
    from tito.files import MAX_REPORT_BYTES
    from tito.grading.gradebook import read_report, write_json
    from tito.grading.report import Grade
    from tito.options import report_in

    path = tmp_path / "alice.json"
    for padding, known in ((MAX_REPORT_BYTES, False), (1000, True)):
        write_json(Grade("alpha", "alice.py", "alice", [], error="x" * padding).to_json(), path)
        assert (read_report(path) is not None, report_in(path, "grade") is not None) == (known, known), padding


def test_every_report_tito_writes_is_known_as_one():
    from tito.grading.formats import FORMATS, render
    from tito.grading.report import Grade, TestScore
    from tito.options import REPORT_KEYS

    from tito.course import Module
    from tito.testing.outcomes import ModuleResult, StepResult

    grade = Grade("alpha", "alice.py", "alice", [TestScore("double", True, 3)])
    tested = ModuleResult(Module("01", "alpha", Path("m"), Path(".")), [StepResult("inline", True)]).to_json()
    for report in [render(grade, form) for form in FORMATS]:
        assert any(keys <= report.keys() for keys in REPORT_KEYS["grade"]), report
    for report in [tested, {"passed": True, "modules": [tested]}]:
        assert any(keys <= report.keys() for keys in REPORT_KEYS["test"]), report


def test_the_reason_names_every_stub_left_or_says_how_many_more():
    from types import SimpleNamespace

    from tito.grading.grader import NAMED, _reason

    def reason(stubs, ran_into=()):
        status = {"steps": {"read": {"ok": True, "stubs": stubs}, "inline": {"not_implemented": list(ran_into)}}}
        outcome = SimpleNamespace(stopped="", timed_out=False, returncode=0, output=b"")
        return _reason(status, outcome, Limits(), "", True)

    assert reason(["f1", "C.forward"], ["C.__init__", "f1"]) == "not implemented yet: f1, C.forward, C.__init__"
    many = [f"f{i}" for i in range(NAMED + 5)]
    assert reason(many) == f"not implemented yet: {', '.join(many[:NAMED])} and 5 more"


def test_a_file_of_another_module_scores_zero_saying_whose_it_is(instructor_course, tmp_path):
    """Graded with the wrong --module: the file's own '#| default_exp' words the reason and the hint."""
    from tiny_course import BETA_DEV

    beta = tmp_path / "alice.py"
    beta.write_text(BETA_DEV)
    proc = run_tito(instructor_course, "grade", str(beta), "--module", "alpha", "--no-calibrate",
                    "--json", str(tmp_path / "alice.json"))
    assert proc.returncode == 0, proc.stderr
    report = json.loads((tmp_path / "alice.json").read_text())
    assert report["tests"] and all(t["kind"] == "check" for t in report["tests"])  # no feedback: import errors only
    assert "Feedback" not in proc.stdout and "ModuleNotFoundError" not in proc.stdout
    assert ("Reason: the file is module beta's (`#| default_exp core.beta`) where module alpha's (core.alpha) was "
            "expected, so it scores 0") in flat(proc.stdout)
    assert "Score: 0/7" in proc.stdout and "Hint: it is module beta's file: grade it with --module beta" in proc.stdout


def test_feedback_names_the_submission_and_not_the_graders_folders():
    """A feedback message names the module's source as the student's file, and the grader's Python
    installation (in the instructor's home, say) as <python> (final smoke test: a hypothesis
    failure printed torch's path under the instructor's folder)."""
    import sys
    from types import SimpleNamespace

    from tito.grading.grader import as_submitted

    prepared = SimpleNamespace(dev_file="modules/source/01_alpha/alpha_dev.py")
    text = (f'File "/course/modules/source/01_alpha/alpha_dev.py", line 3; '
            f"torch=<module 'torch' from '{sys.prefix}/lib/site-packages/torch/__init__.py'>")
    assert as_submitted(text, prepared, "/course", "subs/alice.ipynb") == (
        "File \"alice.ipynb (as a .py source)\", line 3; torch=<module 'torch' from "
        "'<python>/lib/site-packages/torch/__init__.py'>")


def test_a_module_importing_one_not_among_its_prerequisites_is_refused_naming_it(instructor_course, tmp_path):
    """The grader builds a module with its prerequisites only: a module.yaml that forgets one the
    source imports stopped the grading with `No module named 'tinytorch.core.alpha'`; it now says
    which import and what to add, and doctor says it before any grading."""
    root = tmp_path / "course"
    shutil.copytree(instructor_course, root)
    (root / "modules/source/02_beta/module.yaml").write_text(
        "name: beta\ntitle: Beta\nexports_to: tinytorch.core.beta\nchecks:\n  quadruple: 1\n")
    (root / "tests/02_beta/checks.py").write_text("def check_quadruple(beta, rng):\n    return beta.quadruple(3)\n")
    said = ("modules/source/02_beta/beta_dev.py:6 imports tinytorch.core.alpha, module 01_alpha's, which is not "
            "among beta's prerequisites: add alpha to prerequisites in modules/source/02_beta/module.yaml.")
    course = Course(root)
    with pytest.raises(TitoError) as caught:
        prepare(course, course.get("beta"), tmp_path / "grader", calibrate=False)
    assert said in caught.value.message
    doctor = run_tito(root, "doctor")
    assert doctor.returncode == 1 and f"| imports | PROBLEM | {said}" in flat(doctor.stdout), doctor.stdout
