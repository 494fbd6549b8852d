"""The course's graded checks (tests/NN_name/checks.py, points in module.yaml), module by module:
each runs on the reference solution and returns plain data (only a check named ..._rejects_...
may raise, and that is its expected answer), and the released stub passes none of them — a
check measures the student's work, never code the module provides."""

import pytest
from test_release_support import REAL_ROOT

from tito.course import Course
from tito.grading import prepare

COURSE = Course(REAL_ROOT)
GRADED = [m.name for m in COURSE.modules if m.meta.get("checks")]


@pytest.mark.parametrize("name", GRADED)
def test_checks_run_on_the_reference_and_the_stub_passes_none(name, tmp_path):
    prepared = prepare(COURSE, COURSE.get(name), tmp_path / "prepared", seed=1234)
    expected = prepared.expected()
    assert list(expected) == [c.name for c in prepared.checks]
    raised = {n: r["raised"]["type"] for n, r in expected.items() if "raised" in r}
    assert all("rejects" in n for n in raised), f"only ..._rejects_... checks may raise: {raised}"
    assert prepared.free == []
    assert not (prepared.template / prepared.dev_file).exists()  # no solution where students' code runs


def test_the_cnn_module_is_graded():
    assert "cnn" in GRADED
