"""Step 3 of ``tito test``: a module's pytest tests, run in a subprocess, read from its junit report.

``tests/NN_name/`` runs with the course root first on ``PYTHONPATH`` (``tests/conftest.py``
refuses any other ``tinytorch``), without auto-loaded pytest plugins (the course's tests need
none, and loading every installed one costs half a second), and, unless ``full``, without the
tests marked ``slow`` (comparisons with PyTorch, long property tests: ``tito test --full`` and
``make test`` run them). Each test becomes a ``TestOutcome`` named by its pytest node id.
"""

from __future__ import annotations

import os
import re
import sys
import tempfile
import time
from pathlib import Path

from tito.course import Module
from tito.testing import limits
from tito.testing.cell_hints import explain_missing_names
from tito.testing.limits import STEP_VARIABLE, step_seconds
from tito.testing.outcomes import StepResult, TestOutcome, stubs_failed_on, tail
from tito.testing.processes import run_watched, subprocess_environment

LOCATION = re.compile(r"^(\S[^\n]*?\.py):(\d+): ", re.MULTILINE)
DESELECTED = re.compile(r"\b(\d+) deselected\b")
SLOW = "slow"  # the pytest mark of the tests only --full runs


def run_pytest(module: Module, keyword: str | None = None, verbose: bool = False, full: bool = False) -> StepResult:
    """Run tests/NN_name/ against this course root's package; one TestOutcome per test.

    Tests marked slow are left out unless ``full`` or ``keyword`` (``-k`` picks tests by name,
    slow or not).
    """
    tests_dir = module.tests_dir
    rel = module.relative(tests_dir)
    if not tests_dir.is_dir():
        misnamed = module.misnamed_tests()
        return StepResult("pytest", False,
                          f"No tests ran: {rel}/ does not exist." + (f" {misnamed}" if misnamed else ""))
    with tempfile.TemporaryDirectory(prefix="tito-pytest-") as scratch:
        report, running, done = Path(scratch) / "report.xml", Path(scratch) / "running", Path(scratch) / "done"
        stacks = Path(scratch) / "stacks"
        command = [
            sys.executable, "-m", "pytest", rel, "-p", "no:cacheprovider", "-p", "tito.testing.pytest_plugin",
            "--continue-on-collection-errors",  # a file that cannot import one name hides no other file's tests
            f"--junitxml={report}", "-o", "junit_family=xunit1", "--tb=short",
            "-v" if verbose else "-q", "--color=no",
        ]
        if keyword:
            command += ["-k", keyword]
        elif not full:
            command += ["-m", f"not {SLOW}"]
        environment = dict(subprocess_environment(module.root), PYTEST_DISABLE_PLUGIN_AUTOLOAD="1",
                           TITO_PYTEST_RUNNING=str(running), TITO_PYTEST_DONE=str(done),
                           TITO_PYTEST_STACKS=str(stacks))
        deadline = time.monotonic() + step_seconds()
        output, returncode, ended = run_watched(command, module.root, environment,
                                                lambda proc: time.monotonic() <= deadline, poll=0.02)
        if not ended:
            return _timed_out(output, running, done)
        frames = limits.dumped(stacks)
        if frames:  # faulthandler ended pytest: it wrote no report
            step = _stopped(module, output, running, done, frames)
            step.hints = explain_missing_names(module, step.tests)
            return step
        tests = parse_junit(report) if report.exists() else []
    hints = explain_missing_names(module, tests)
    step = _pytest_result(rel, tests, returncode, output, keyword)
    step.hints = hints
    if not (keyword or full):
        left_out = DESELECTED.findall(output)
        step.left_out = int(left_out[-1]) if left_out else 0
    return step


def _timed_out(output: str, running: Path, done: Path) -> StepResult:
    """The step of a pytest run stopped at its deadline: the tests that finished before it (from
    tito.testing.pytest_plugin's files), then the one that was running, failed."""
    hung = running.read_text(encoding="utf-8") if running.exists() else ""
    error = (f"pytest timed out after {step_seconds():.0f} s{f' in {hung}' if hung else ''} "
             f"(set {STEP_VARIABLE} to allow longer).")
    tests = finished_tests(done)
    if hung and hung not in {t.name for t in tests}:
        tests.append(TestOutcome(hung, False, f"still running when the time limit ran out "
                                              f"({STEP_VARIABLE}={step_seconds():.0f} s): an endless loop?"))
    return StepResult("pytest", False, error, tests=tests, output=output)


def _stopped(module: Module, output: str, running: Path, done: Path, frames: list) -> StepResult:
    """The step of a pytest run that faulthandler ended (code ``StillRunning`` could not stop: a
    long C call, an ``except BaseException`` that swallowed it, or pytest too slow, on a loaded
    machine, to report the stop): the tests that finished before, then the one that was running,
    failed where the student's code was (the stacks' innermost line of the package or the tests)."""
    from tito.testing.pytest_plugin import ours, where

    hung = running.read_text(encoding="utf-8") if running.exists() else ""
    frame = ours(frames, module.root)
    error = (f"The pytest process was stopped {f'while running {hung}' if hung else 'while collecting the tests'}: "
             f"{limits.still_running(where(frame, module.root))}.")
    tests = finished_tests(done)
    if hung and hung not in {t.name for t in tests}:
        location = f"{module.relative(Path(frame[0]))}:{frame[1]}" if frame else ""
        tests.append(TestOutcome(hung, False, error, location=location))
    return StepResult("pytest", False, error, tests=tests, output=output)


def finished_tests(done: Path) -> list:
    """TestOutcomes of the JSON lines tito.testing.pytest_plugin wrote as tests finished (a line cut
    short by the kill is left out)."""
    import json

    tests = []
    lines = done.read_text(encoding="utf-8", errors="replace").splitlines() if done.exists() else []
    for line in lines:
        try:
            test = json.loads(line)
        except ValueError:
            continue
        outcome = test.get("outcome")
        tests.append(TestOutcome(test.get("name", "?"), outcome == "passed", str(test.get("message") or ""),
                                 skipped=outcome == "skipped"))
    return tests


def _pytest_result(rel, tests, returncode, output, keyword) -> StepResult:
    step = StepResult("pytest", True, tests=tests, output=output)
    step.not_implemented = list(dict.fromkeys(name for t in tests for name in stubs_failed_on(t)))
    failed = step.failures
    if failed:
        names = [t.name for t in failed]
        step.error = f"{len(names)} pytest test(s) failed: {', '.join(names[:3])}" + (" ..." if len(names) > 3 else "")
    elif returncode not in (0, 5, None):  # 2 interrupted, 3 internal error, 4 usage error
        step.error = f"pytest exited with code {returncode}:\n{tail(output)}"
    elif step.ran == 0:
        selected = f" matched -k {keyword!r}" if keyword else " were collected"
        step.error = f"No tests ran: no tests in {rel}/{selected}."
    step.ok = not step.error
    return step


def parse_junit(report: Path) -> list:
    """TestOutcomes from a pytest ``--junitxml`` report (junit_family=xunit1), named by node id."""
    import xml.etree.ElementTree as ET

    outcomes = []
    for case in ET.parse(report).getroot().iter("testcase"):
        name = _node_id(case)
        problem = case.find("failure")
        if problem is None:
            problem = case.find("error")
        skipped = case.find("skipped")
        if problem is not None:
            text = "\n".join(line for line in (problem.text or "").splitlines() if line.strip() != PYTEST_NAMES_HINT)
            message = _message(problem.get("message", ""), text)
            outcomes.append(TestOutcome(name, False, message, location=_location(text, case),
                                        details=text))
        elif skipped is not None:
            outcomes.append(TestOutcome(name, False, f"skipped: {skipped.get('message', '')}", skipped=True))
        else:
            outcomes.append(TestOutcome(name, True))
    return outcomes


JUNIT_NOTE = re.compile(r"\n\[[^\]\n]*; full report in element text\]$")


# pytest's advice on an import error of a test file, beside the point for a student's module
PYTEST_NAMES_HINT = "Hint: make sure your test modules/packages have valid Python names."


def _message(attribute: str, text: str) -> str:
    """What went wrong, as pytest says it: its 'E' lines (the full assertion explanation), else
    the report's message attribute without junitxml's note about shortening it."""
    raised = [line[1:].strip() for line in text.splitlines() if line.startswith("E ")]
    if raised:
        return "\n".join(raised)
    return JUNIT_NOTE.sub("", attribute) or tail(text, 1)


def _node_id(case) -> str:
    """tests/06_cnn/test_cnn_conv.py::TestConv::test_shape from junit's file/classname/name."""
    file, classname, name = case.get("file"), case.get("classname", ""), case.get("name", "")
    if not file:
        return f"{classname}::{name}" if classname else name
    dotted = file[:-3].replace("/", ".").replace(os.sep, ".") if file.endswith(".py") else file
    if not classname and name == dotted:  # a file that failed to import
        return file
    classes = classname[len(dotted) + 1:] if classname.startswith(dotted + ".") else ""
    return "::".join(part for part in (file, *classes.split(".")) if part) + f"::{name}"


def _location(text: str, case) -> str:
    """The innermost 'path:line' of a failure's traceback (or the test's own line)."""
    found = LOCATION.findall(text)
    if found:
        path, line = found[-1]
        return f"{path}:{line}"
    if case.get("file") and case.get("line"):
        return f"{case.get('file')}:{int(case.get('line')) + 1}"
    return ""
