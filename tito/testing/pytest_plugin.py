"""A pytest plugin of ``tito test``'s pytest step: time limits, and what ran before a hang.

- each test may run ``tito.testing.limits.test_seconds()``, the whole run ``step_seconds()``; a test
  out of time fails with ``StillRunning`` saying where the student's code was (the generated
  package's line traced back to the module source); when the whole run's time is out, the
  run stops there, and pytest still writes its report;
- collecting the tests (importing numpy, hypothesis, the package) is no one test: it may take the
  whole step's time;
- ``$TITO_PYTEST_RUNNING`` holds the node id of the test running now, and ``$TITO_PYTEST_DONE``
  gets a JSON line per finished test (name, outcome, first line of a failure), for a run killed
  at its deadline, when pytest never writes its report; faulthandler, when it stops code that
  ``StillRunning`` could not, writes its stacks to ``$TITO_PYTEST_STACKS`` (``ours`` finds the
  student's line in them).
"""

import json
import os
from pathlib import Path

from tito.testing import limits

_outcomes = {}  # node id -> "passed" | "failed" | "skipped", over its setup, call and teardown
_messages = {}
_state = {"limits": None, "session": None}


def pytest_configure(config):
    if not os.environ.get("TITO_PYTEST_RUNNING"):
        return
    path = os.environ.get("TITO_PYTEST_STACKS")
    stacks = open(path, "w", encoding="utf-8") if path else os.fdopen(os.dup(2), "w")  # fd 2 is captured in a test
    _state["limits"] = limits.Limits(_where, stacks)
    _state["limits"].arm(whole_step=True)  # collection is timed too, but as the step, not as one test


def pytest_sessionstart(session):
    _state["session"] = session


def pytest_collection_finish(session):
    if _state["limits"]:
        _state["limits"].disarm()


def _where(frame) -> str:
    return where(ours(limits.frames_of(frame), Path.cwd()), Path.cwd())


def ours(frames: list, root: Path) -> tuple | None:
    """Of ``frames`` ((file, line, function), innermost first), the innermost in the course's
    package (``root``/tinytorch) or, failing that, in its tests; None when none is."""
    package, tests = str(root / "tinytorch") + os.sep, str(root / "tests") + os.sep
    return (next((frame for frame in frames if frame[0].startswith(package)), None)
            or next((frame for frame in frames if frame[0].startswith(tests)), None))


def where(frame: tuple | None, root: Path) -> str:
    """'cnn_dev.py:1204 in f' for a frame of ``ours`` (a package line named by its module source
    line), '' for None."""
    if frame is None:
        return ""
    from tito.testing.source_map import source_of

    origin = source_of(root, f"{frame[0]}:{frame[1]}")  # 'modules/source/06_cnn/cnn_dev.py:1204'
    at = Path(origin).name if origin else f"{Path(frame[0]).name}:{frame[1]}"
    return f"{at} in {frame[2]}"


def pytest_runtest_logstart(nodeid, location):
    path = os.environ.get("TITO_PYTEST_RUNNING")
    if path:
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(nodeid)
    if _state["limits"]:
        _state["limits"].arm()


def pytest_runtest_logreport(report):
    if report.failed:
        _outcomes[report.nodeid] = "failed"
        crash = getattr(report.longrepr, "reprcrash", None)
        _messages.setdefault(report.nodeid, getattr(crash, "message", "") or str(report.longrepr)[-500:])
        if _out_of_time(report) and _state["session"] is not None:
            _state["session"].shouldstop = "the time of the whole step ran out"
    elif report.skipped and _outcomes.get(report.nodeid) != "failed":
        _outcomes[report.nodeid] = "skipped"
    else:
        _outcomes.setdefault(report.nodeid, "passed")


def _out_of_time(report) -> bool:
    return bool(_state["limits"] and _state["limits"].whole_step and "StillRunning" in str(report.longrepr))


def pytest_runtest_logfinish(nodeid, location):
    if _state["limits"]:
        _state["limits"].disarm()
    path = os.environ.get("TITO_PYTEST_DONE")
    if path:
        line = {"name": nodeid, "outcome": _outcomes.pop(nodeid, "passed"), "message": _messages.pop(nodeid, "")}
        with open(path, "a", encoding="utf-8") as handle:
            handle.write(json.dumps(line) + "\n")
