"""Fixtures of the toolkit's tests: the small course (tiny_course.py) in a temporary
folder, the CLI in-process, and a grader of that course prepared once per session.

``make test`` runs these files in parallel (pytest-xdist, one file per worker at a time); each
worker's sandboxed jobs run as uids of their own, so that one worker's checks for leftover
sandbox processes never see another's. Each test run takes its own range of them too: the
uid-drop backend kills every process of its uid when a job starts, so two test runs on one
machine (or a test run beside a grader) must not share uids.

The Ctrl-C tests send SIGINT as a terminal does. A shell starts a background job (`make test &`,
`nohup`) with SIGINT ignored, and every process started from it inherits that, so the signal would
be lost: here SIGINT gets Python's own handler back, which a process started from a test then
gets as the default (an exec keeps ignored signals, not handled ones).
"""

import os
import signal

import pytest
from tiny_course import PATIENT_SECONDS, build_course, with_deadline

if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)

_WORKER = os.environ.get("PYTEST_XDIST_WORKER", "")  # gw0, gw1, ... under pytest-xdist
_RUN = int(os.environ.setdefault("TITO_TEST_UID_RANGE", str(62000 + 500 * (os.getpid() % 5))))  # workers inherit it
os.environ["TITO_SANDBOX_UID_BASE"] = str(  # before tito.grading.sandbox reads it
    _RUN + 100 * (int(_WORKER[2:]) if _WORKER[2:].isdigit() else 0))


@pytest.fixture
def course(tmp_path, monkeypatch):
    """A fresh two-module course; the current directory is its root."""
    built = build_course(tmp_path / "course")
    monkeypatch.chdir(built.root)
    monkeypatch.delenv("TITO_ROOT", raising=False)
    # The tiny course's tests need no pytest plugins; not importing hypothesis's saves ~1 s per run.
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")
    return built


@pytest.fixture
def tito():
    """Invoke the CLI in-process: tito("export", "--all") -> click Result."""
    from click.testing import CliRunner

    from tito.cli import cli

    def invoke(*args):
        return CliRunner().invoke(cli, list(args), prog_name="tito", catch_exceptions=False)

    return invoke


@pytest.fixture(scope="session")
def instructor_course(tmp_path_factory):
    """The small course with its own tooling (a grader copies it), built once per session."""
    return build_course(tmp_path_factory.mktemp("instructor") / "course", tooling=True).root


@pytest.fixture(scope="session")
def alpha_grader(instructor_course):
    """A grader of module alpha, prepared once per session in the sandbox found here (else skip).
    Its deadline is short (15 s), for the tests of what a deadline does: an honest grading on a
    loaded machine can take nearly that long, so tests of honest work grade with ``patient_alpha_grader``."""
    from tito.course import Course
    from tito.grading import Grader, detect

    sandbox, reasons = detect()
    if sandbox is None:
        pytest.skip("no grading sandbox can run here: " + "; ".join(reasons))
    course = Course(instructor_course)
    with Grader(course, course.get("alpha"), timeout=15, sandbox=sandbox) as grader:
        yield grader


@pytest.fixture(scope="session")
def patient_alpha_grader(alpha_grader):
    """``alpha_grader`` with a deadline no load reaches (tiny_course.PATIENT_SECONDS): for gradings
    whose grade, reason or feedback a test asserts, which a cut deadline would change."""
    return with_deadline(alpha_grader, PATIENT_SECONDS)
