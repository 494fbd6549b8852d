"""A pytest plugin of ``tito test``'s pytest step: time limits, and what ran before a hang.

- each test may run ``tito.testing.limits.test_seconds()``, the whole run ``step_seconds()``; a test
  out of time fails with ``StillRunning`` saying where the student's code was (the generated
  package's line traced back to the module source); when the whole run's time is out, the
  run stops there, and pytest still writes its report;
- ``$TITO_PYTEST_RUNNING`` holds the node id of the test running now, and ``$TITO_PYTEST_DONE``
  gets a JSON line per finished test (name, outcome, first line of a failure), for a run killed
  at its deadline, when pytest never writes its report.
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
    stacks = os.fdopen(os.dup(2), "w")  # fd 2 itself is captured while a test runs
    _state["limits"] = limits.Limits(_where, stacks)
    _state["limits"].arm()  # collection (importing the tests, and the package) is timed too


def pytest_sessionstart(session):
    _state["session"] = session


def pytest_collection_finish(session):
    if _state["limits"]:
        _state["limits"].disarm()


def _where(frame) -> str:
    """'cnn_dev.py:1204 in f' for the innermost frame in the course's package (its module
    source line) or, failing that, in its tests; '' elsewhere."""
    root = Path.cwd()
    package, tests = str(root / "tinytorch") + os.sep, str(root / "tests") + os.sep
    found = limits.innermost(frame, lambda path: path.startswith(package))
    if found:
        from tito.testing.source_map import source_of

        origin = source_of(root, f"{found[0]}:{found[1]}")  # 'modules/source/06_cnn/cnn_dev.py:1204'
        at = Path(origin).name if origin else f"{Path(found[0]).name}:{found[1]}"
        return f"{at} in {found[2]}"
    found = limits.innermost(frame, lambda path: path.startswith(tests))
    return f"{Path(found[0]).name}:{found[1]} in {found[2]}" if found else ""


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
