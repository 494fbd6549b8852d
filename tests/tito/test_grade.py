"""tito grade on a small course: solved and stubbed submissions, a notebook, points from
module.yaml, edited tests restored, broken and hanging submissions, a folder in parallel."""

import csv
import json
import time

import pytest
from test_release_support import ALPHA_DEV, build_course, flat, run_tito

from tito.course import Course
from tito.errors import TitoError
from tito.grading import Grader, find_submissions, restore_reference_tests
from tito.release import notebook_json, strip_solutions, to_notebook

NAMES = ["test_unit_double", "test_unit_scaler", "tests/01_alpha/test_alpha_ops.py::test_double",
         "tests/01_alpha/test_alpha_ops.py::TestScaler::test_scale",
         "tests/01_alpha/test_alpha_ops.py::test_numpy_is_provided"]
# module.yaml gives test_unit_double 3 and test_alpha_ops.py::test_double 2; the last test passes
# on the untouched stub as well (it tests provided code), so calibration makes it worth 0
POINTS = [3, 1, 2, 1, 0]
STUB = strip_solutions(ALPHA_DEV).text
HALF_DONE = STUB.replace('raise NotImplementedError("TODO: implement double")', "return np.asarray(x) * 2")


@pytest.fixture(scope="module")
def instructor(tmp_path_factory):
    return build_course(tmp_path_factory.mktemp("grading") / "course")


@pytest.fixture(scope="module")
def grader(instructor):
    course = Course(instructor)
    with Grader(course, course.get("alpha"), timeout=60) as prepared:
        yield prepared


@pytest.fixture
def submit(tmp_path):
    def write(name, text):
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        return path
    return write


def test_expected_tests_come_from_the_reference(grader):
    assert grader.expected == NAMES


def test_solved_submission_scores_full_marks(instructor, tmp_path):
    report = tmp_path / "alice.json"
    proc = run_tito(instructor, "grade", str(instructor / "modules/source/01_alpha/alpha_dev.py"),
                    "--module", "alpha", "--json", str(report), "--no-calibrate")
    assert proc.returncode == 0, proc.stderr
    assert "Score: 8/8" in proc.stdout
    payload = json.loads(report.read_text())
    assert {k: payload[k] for k in ("module", "score", "max_score")} == {"module": "alpha", "score": 8, "max_score": 8}
    uncalibrated = POINTS[:4] + [1]
    assert [(t["name"], t["passed"], t["points"]) for t in payload["tests"]] == list(zip(NAMES, [True] * 5, uncalibrated))
    assert payload["error"] == ""
    assert not (instructor / ".tito").exists()  # grading ran in a copy, not in the course


def test_stubbed_submission_scores_zero_naming_what_is_missing(grader, submit):
    grade = grader.grade(submit("bob.py", STUB))
    assert (grade.score, grade.max_score) == (0, 7)
    assert grade.error.startswith("not implemented yet: double, Scaler.__call__")
    assert [t.message for t in grade.tests[:4]] == [
        f"NotImplementedError: TODO: implement {name}" for name in ("double", "Scaler.__call__") * 2]
    assert grade.tests[4].passed and grade.tests[4].points == 0


def test_notebook_submission_with_partial_work_earns_the_points_it_passes(grader, submit):
    grade = grader.grade(submit("erin.ipynb", notebook_json(to_notebook(HALF_DONE))))
    assert grade.student == "erin"
    assert grader.free == {NAMES[4]}  # calibration: the untouched stub passes this one already
    assert [t.points for t in grade.tests] == POINTS
    assert grade.tests[4].message == "passes on the untouched stub too, so it earns no points"
    assert [t.passed for t in grade.tests] == [True, False, True, False, True]
    assert (grade.score, grade.max_score) == (3 + 2, 7)
    assert grade.tests[1].message == "NotImplementedError: TODO: implement Scaler.__call__"
    assert grade.error.startswith("not implemented yet: Scaler.__call__")


def test_edited_tests_are_restored_and_hidden_tests_count(grader, submit):
    cheat = (HALF_DONE.replace("return np.asarray(x) * 2", "return abs(np.asarray(x)) * 2")
             .replace("assert Scaler(3)(2) == 6", "assert True")
             .replace("def test_unit_double", "def test_unit_double_gone"))
    cheat += "\n# %%\ndef test_unit_free_points():\n    pass\n\ntest_unit_free_points()\n"
    restored = restore_reference_tests(cheat, ALPHA_DEV)
    assert "assert True" not in restored and "secret negative case" in restored
    assert "def test_unit_double_gone" not in restored and "def test_unit_free_points" in restored
    grade = grader.grade(submit("mallory.py", cheat))
    assert [t.name for t in grade.tests] == NAMES  # no points for a test of one's own
    assert [t.passed for t in grade.tests] == [False, False, True, False, True]
    assert "secret negative case" in grade.tests[0].message


def test_student_code_merged_into_a_test_cell_is_kept_before_the_reference_test():
    merged = HALF_DONE.replace("# %%\ndef test_unit_scaler():\n    assert Scaler(3)(2) == 6",
                               "# %%\ndef helper():\n    return 2\n\ndef test_unit_scaler():\n    assert True")
    restored = restore_reference_tests(merged, ALPHA_DEV)
    assert restored.index("def helper():") < restored.index("assert True") < restored.index("assert Scaler(3)(2) == 6")


def test_submission_that_does_not_import_scores_zero_with_the_reason(grader, submit):
    broken = ALPHA_DEV.replace("import numpy as np", "import numpy as np\nfrom nowhere import thing")
    grade = grader.grade(submit("gina.py", broken))
    assert (grade.score, grade.max_score) == (0, 7)
    assert grade.error == ("the submission does not import (tinytorch.core.alpha: ModuleNotFoundError: "
                           "No module named 'nowhere'), so it scores 0")
    assert all(t.message == "not run: " + grade.error for t in grade.tests)
    grade = grader.grade(submit("hank.py", HALF_DONE.replace("def double(x):", "def double(x:")))
    assert grade.score == 0
    assert grade.error == ("the submission does not export (modules/source/01_alpha/alpha_dev.py, line 14: "
                           "'(' was never closed), so it scores 0")


def test_hanging_submission_is_stopped_at_its_limit(instructor, submit):
    hang = HALF_DONE.replace("return np.asarray(x) * 2", "while True:\n        pass")
    course = Course(instructor)
    with Grader(course, course.get("alpha"), timeout=3, calibrate=False) as quick:
        started = time.monotonic()
        grade = quick.grade(submit("ivan.py", hang))
        took = time.monotonic() - started
    assert grade.score == 0 and grade.max_score == 8  # uncalibrated: every test is worth at least 1
    assert grade.error.startswith("timed out after 3 s")
    assert all(t.message.startswith("not run: timed out after 3 s") for t in grade.tests)
    assert 3 <= took < 10


def test_unreadable_submissions_score_zero(grader, submit):
    grade = grader.grade(submit("judy.ipynb", "{not json"))
    assert grade.score == 0 and "judy.ipynb is not a readable notebook" in grade.error
    grade = grader.grade(submit("kim.txt", "x"))
    assert grade.score == 0 and "a submission is a .py or .ipynb file" in grade.error


def test_points_for_an_unknown_test_are_refused(instructor, tmp_path):
    course = Course(instructor)
    module = course.get("alpha")
    module.meta["points"] = {"test_unit_typo": 2}
    with pytest.raises(TitoError, match="gives points to unknown tests: test_unit_typo"):
        with Grader(course, module):
            pass


def test_a_folder_is_graded_in_parallel_into_a_gradebook(instructor, tmp_path):
    folder = tmp_path / "submissions"
    folder.mkdir()
    (folder / "alice.py").write_text(ALPHA_DEV)
    (folder / "carol").mkdir()
    (folder / "carol" / "alpha_dev.ipynb").write_text(notebook_json(to_notebook(HALF_DONE)))
    (folder / "notes.txt").write_text("not a submission")
    assert [s for s, _ in find_submissions(folder, Course(instructor).get("alpha"))] == ["alice", "carol"]
    out = tmp_path / "grades"
    proc = run_tito(instructor, "grade", str(folder), "--module", "alpha", "--jobs", "2", "--out", str(out),
                    "--no-calibrate")
    assert proc.returncode == 0, proc.stderr
    with open(out / "gradebook.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [(r["student"], r["score"], r["max_score"], r["percent"]) for r in rows] == [
        ("alice", "8", "8", "100.0"), ("carol", "6", "8", "75.0")]
    assert rows[1]["tests/01_alpha/test_alpha_ops.py::test_double"] == "2"
    assert rows[1]["test_unit_scaler"] == "0"
    assert rows[1]["error"].startswith("not implemented yet: Scaler.__call__")
    assert json.loads((out / "carol.json").read_text())["score"] == 6
    assert sorted(p.name for p in out.iterdir()) == ["alice.json", "carol.json", "gradebook.csv"]


def test_json_is_for_one_submission(instructor, tmp_path):
    proc = run_tito(instructor, "grade", str(tmp_path), "--module", "alpha", "--json", str(tmp_path / "x.json"))
    assert proc.returncode == 2 and "--json is for one submission" in flat(proc.stderr)
