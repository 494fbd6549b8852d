"""A pytest plugin of ``tito test``'s pytest step, for a run stopped at its deadline (a student's
endless loop), when pytest never writes its report:

- ``$TITO_PYTEST_RUNNING`` holds the node id of the test running now, to say which one hung;
- ``$TITO_PYTEST_DONE`` gets a JSON line per finished test (name, outcome, first line of a
  failure), so that the tests before the hang still count.
"""

import json
import os

_outcomes = {}  # node id -> "passed" | "failed" | "skipped", over its setup, call and teardown
_messages = {}


def pytest_runtest_logstart(nodeid, location):
    path = os.environ.get("TITO_PYTEST_RUNNING")
    if path:
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(nodeid)


def pytest_runtest_logreport(report):
    if report.failed:
        _outcomes[report.nodeid] = "failed"
        crash = getattr(report.longrepr, "reprcrash", None)
        _messages.setdefault(report.nodeid, getattr(crash, "message", "") or str(report.longrepr)[-500:])
    elif report.skipped and _outcomes.get(report.nodeid) != "failed":
        _outcomes[report.nodeid] = "skipped"
    else:
        _outcomes.setdefault(report.nodeid, "passed")


def pytest_runtest_logfinish(nodeid, location):
    path = os.environ.get("TITO_PYTEST_DONE")
    if path:
        line = {"name": nodeid, "outcome": _outcomes.pop(nodeid, "passed"), "message": _messages.pop(nodeid, "")}
        with open(path, "a", encoding="utf-8") as handle:
            handle.write(json.dumps(line) + "\n")
