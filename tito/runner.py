"""Test one module: inline tests, export, pytest; then record the result.

``run_module`` is the whole pipeline of ``tito test --module NAME``:

1. **inline**: the dev file's code cells run in a fresh subprocess
   (``tito/inline_harness.py``), each ``test_unit_*`` call recorded by name;
2. **export**: ``tito.exporter.export`` writes the generated package file;
3. **pytest**: ``tests/NN_name/`` runs in a subprocess with the course root first on
   ``PYTHONPATH``; per-test results come from its ``--junitxml`` report.

A module passes only when every step passed and steps 1 and 3 each ran at least
one test: zero tests is a failure, never a pass. Nothing here prints; the
``test`` command renders the results.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from tito.course import Module
from tito.errors import TitoError

HARNESS = Path(__file__).with_name("inline_harness.py")
STUB_MESSAGE = re.compile(r"NotImplementedError: TODO: implement ([\w.<>]+)")
LOCATION = re.compile(r"^(\S[^\n]*?\.py):(\d+): ", re.MULTILINE)


def timeout_seconds() -> float:
    """How long one test subprocess may run (TITO_TEST_TIMEOUT, default 15 minutes)."""
    try:
        return float(os.environ.get("TITO_TEST_TIMEOUT", "900"))
    except ValueError:
        return 900.0


@dataclass
class TestOutcome:
    __test__ = False  # not a pytest test class

    name: str
    passed: bool
    message: str = ""
    location: str = ""  # "path:line" of the failure, relative to the course root
    details: str = ""  # traceback or captured output worth showing for a failure
    output: str = ""  # what the test printed (inline tests)
    skipped: bool = False  # a skipped test is neither passed nor failed

    @property
    def status(self) -> str:
        """'passed', 'failed' or 'skipped'."""
        return "skipped" if self.skipped else ("passed" if self.passed else "failed")

    def to_json(self) -> dict:
        return {"name": self.name, "status": self.status, "passed": self.passed, "skipped": self.skipped,
                "message": self.message, "location": self.location}


@dataclass
class StepResult:
    step: str  # "inline" | "export" | "pytest"
    ok: bool
    error: str = ""
    tests: list = field(default_factory=list)
    output: str = ""  # the subprocess's own output (shown with -v or when it failed oddly)
    not_implemented: list = field(default_factory=list)
    note: str = ""  # one line for the summary table, e.g. the generated file

    @property
    def ran(self) -> int:
        return sum(1 for t in self.tests if not t.skipped)

    @property
    def passed_count(self) -> int:
        return sum(1 for t in self.tests if t.passed and not t.skipped)

    @property
    def failures(self) -> list:
        return [t for t in self.tests if t.status == "failed"]

    @property
    def skipped_count(self) -> int:
        return sum(1 for t in self.tests if t.skipped)

    def to_json(self) -> dict:
        return {"step": self.step, "ok": self.ok, "error": self.error,
                "tests": [t.to_json() for t in self.tests]}


@dataclass
class ModuleResult:
    module: Module
    steps: list = field(default_factory=list)
    warnings: list = field(default_factory=list)
    stubs: list = field(default_factory=list)  # (name, line) of the source's remaining stubs, in order

    @property
    def passed(self) -> bool:
        return bool(self.steps) and all(step.ok for step in self.steps)

    @property
    def not_implemented(self) -> list:
        """The source's stubs, then any other stub a test ran into (e.g. a prerequisite's)."""
        names = [name for name, _ in self.stubs] + [n for step in self.steps for n in step.not_implemented]
        return list(dict.fromkeys(names))

    def step(self, name: str) -> StepResult | None:
        return next((s for s in self.steps if s.step == name), None)

    def to_json(self) -> dict:
        return {"module": self.module.name, "passed": self.passed,
                "steps": [s.to_json() for s in self.steps],
                "not_implemented": self.not_implemented}

    def progress_entry(self, keyword: str | None = None) -> dict:
        """What .tito/progress.json keeps; a run limited by -k is marked with its keyword."""
        entry = {"passed": self.passed, "not_implemented": self.not_implemented}
        if keyword:
            entry["keyword"] = keyword
        for step in self.steps:
            if step.step in ("inline", "pytest"):
                entry[step.step] = [step.passed_count, step.ran]
        return entry


def subprocess_environment(root: Path) -> dict:
    """The environment of a test subprocess: this course root first on PYTHONPATH, no windows."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(root)] + [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p])
    env["MPLBACKEND"] = "Agg"
    env["PYTHONIOENCODING"] = "utf-8"
    env.pop("PYTHONSTARTUP", None)
    return env


# --------------------------------------------------------------------------- step 1: inline tests


def run_inline(module: Module, on_progress=None) -> StepResult:
    """Run the dev file's cells and inline tests in a fresh interpreter.

    ``on_progress(text)`` hears, while it runs, which test is running and how many are done.
    """
    from tito.exporter import read_cells

    if not module.dev_file.exists():
        return StepResult("inline", False, f"{module.relative(module.dev_file)} does not exist.")
    try:
        cells = read_cells(module.dev_file)
    except Exception as exc:  # jupytext could not read it
        return StepResult("inline", False, f"Could not read {module.relative(module.dev_file)}: {exc}")
    with tempfile.TemporaryDirectory(prefix="tito-inline-") as scratch:
        spec_path, results = Path(scratch) / "spec.json", Path(scratch) / "results.jsonl"
        spec = {
            "dev_file": str(module.dev_file),
            "root": str(module.root),
            "module_folder": str(module.folder),
            "results": str(results),
            "cells": [{"index": c.index, "line": c.line, "code": _without_magics(c.code)} for c in cells],
        }
        spec_path.write_text(json.dumps(spec), encoding="utf-8")
        command = [sys.executable, str(HARNESS), str(spec_path)]
        output, returncode, timed_out = _watch(command, module.root, Path(scratch) / "output.txt",
                                               results, on_progress or (lambda text: None))
        events = _read_events(results)
    return _inline_result(module, events, output, returncode, timed_out)


def _watch(command, root: Path, log: Path, results: Path, on_progress):
    """Run the harness, reporting progress from its results file; (output, exit code, timed out)."""
    deadline = time.monotonic() + timeout_seconds()
    last = None
    with open(log, "w+", encoding="utf-8", errors="replace") as out:
        proc = subprocess.Popen(command, cwd=root, env=subprocess_environment(root),
                                stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT)
        timed_out = False
        while proc.poll() is None:
            if time.monotonic() > deadline:
                proc.kill()
                timed_out = True
                break
            now = _progress_text(_read_events(results))
            if now and now != last:
                on_progress(now)
                last = now
            time.sleep(0.1)
        returncode = proc.wait()
        out.seek(0)
        output = out.read()
    return output, (None if timed_out else returncode), timed_out


def _progress_text(events: list) -> str:
    done = sum(1 for e in events if e.get("event") == "test")
    running = [e["name"] for e in events if e.get("event") == "start"]
    if len(running) > done:
        return f"{running[-1]} ({done} done)"
    return f"{done} done" if done else ""


MAGIC = re.compile(r"^(\s*)[%!]")


def _without_magics(code: str) -> str:
    """Notebook magics (%matplotlib inline, !pip ...) are not Python: each becomes a `pass`."""
    return "\n".join(MAGIC.sub(r"\1pass  # ", line) if MAGIC.match(line) else line
                     for line in code.splitlines())


def _text(data) -> str:
    if data is None:
        return ""
    return data.decode("utf-8", "replace") if isinstance(data, bytes) else data


def _read_events(path: Path) -> list:
    events = []
    if path.exists():
        for raw in path.read_text(encoding="utf-8").splitlines():
            try:
                events.append(json.loads(raw))
            except ValueError:  # a line cut short by a crash
                break
    return events


def _inline_result(module, events, output, returncode, timed_out) -> StepResult:
    step = StepResult("inline", True, output=output)
    running = None
    for event in events:
        kind = event.get("event")
        if kind == "start":
            running = event["name"]
        elif kind == "test":
            running = None
            step.tests.append(_inline_outcome(module, event))
        elif kind == "cell_error":
            step.tests.append(_cell_failure(module, event))
        if event.get("not_implemented"):
            step.not_implemented.append(event["not_implemented"])
    done = [e for e in events if e.get("event") == "done"]
    if done and done[0].get("uncalled"):
        step.note = "defined but never called: " + ", ".join(done[0]["uncalled"])
    if not done:
        where = f" while running {running}" if running else ""
        if timed_out:
            reason = f"timed out after {timeout_seconds():.0f} s{where} (set TITO_TEST_TIMEOUT to allow longer)"
        else:
            reason = f"stopped early{where} (exit code {returncode})"
        step.error = f"The inline test process {reason}."
        if running:
            step.tests.append(TestOutcome(running, False, step.error, details=_tail(output)))
    elif not any(_is_test(t) for t in step.tests):
        step.error = (f"No inline tests ran: {module.relative(module.dev_file)} has no top-level "
                      "test_unit_*() calls.")
    if step.failures and not step.error:
        names = [t.name for t in step.failures]
        step.error = f"{len(names)} inline test(s) failed: {', '.join(names[:5])}" + (" ..." if len(names) > 5 else "")
    step.ok = not step.error
    return step


def _is_test(outcome: TestOutcome) -> bool:
    return not outcome.name.startswith("cell ")


def _inline_outcome(module, event) -> TestOutcome:
    if event["passed"]:
        return TestOutcome(event["name"], True, output=event.get("output", ""))
    return TestOutcome(
        event["name"], False, event["message"],
        location=f"{module.relative(Path(event['file']))}:{event['line']}",
        details=event.get("traceback", ""), output=event.get("output", ""),
    )


def _cell_failure(module, event) -> TestOutcome:
    """A non-test statement raised: report it as a failure named after its cell and line."""
    line = event.get("statement_line") or event.get("line")
    location = f"{module.relative(Path(event['file']))}:{event['line']}"
    return TestOutcome(
        f"cell {event['cell']} (line {line})", False,
        f"{event['message']}  (the rest of this cell was skipped)",
        location=location, details=event.get("traceback", ""),
    )


def _tail(text: str, lines: int = 15) -> str:
    return "\n".join(text.rstrip().splitlines()[-lines:])


# --------------------------------------------------------------------------- step 2: export


def run_export(module: Module) -> StepResult:
    from tito.exporter import export

    try:
        generated, before = export(module)
    except TitoError as exc:
        error = exc.message + (f"\n{exc.hint}" if exc.hint else "")
        return StepResult("export", False, error)
    except OSError as exc:  # e.g. a read-only course
        where = module.relative(Path(exc.filename)) if exc.filename else "the package"
        return StepResult("export", False, f"Cannot write {where}: {exc.strerror or exc}.")
    verb = "unchanged" if before == "fresh" else "written"
    return StepResult("export", True, note=f"{module.relative(generated.target)} ({verb})")


# --------------------------------------------------------------------------- step 3: pytest


def run_pytest(module: Module, keyword: str | None = None, verbose: bool = False) -> StepResult:
    """Run tests/NN_name/ against this course root's package; one TestOutcome per test."""
    tests_dir = module.tests_dir
    rel = module.relative(tests_dir)
    if not tests_dir.is_dir():
        return StepResult("pytest", False, f"No tests ran: {rel}/ does not exist.")
    with tempfile.TemporaryDirectory(prefix="tito-pytest-") as scratch:
        report = Path(scratch) / "report.xml"
        command = [
            sys.executable, "-m", "pytest", rel, "-p", "no:cacheprovider",
            f"--junitxml={report}", "-o", "junit_family=xunit1", "--tb=short",
            "-v" if verbose else "-q", "--color=no",
        ]
        if keyword:
            command += ["-k", keyword]
        try:
            proc = subprocess.run(
                command, cwd=module.root, env=subprocess_environment(module.root), stdin=subprocess.DEVNULL,
                capture_output=True,
                text=True, encoding="utf-8", errors="replace", timeout=timeout_seconds(),
            )
        except subprocess.TimeoutExpired as exc:
            output = _text(exc.stdout) + _text(exc.stderr)
            return StepResult("pytest", False, f"pytest timed out after {timeout_seconds():.0f} s "
                              "(set TITO_TEST_TIMEOUT to allow longer).", output=output)
        output = proc.stdout + proc.stderr
        tests = parse_junit(report) if report.exists() else []
    return _pytest_result(rel, tests, proc.returncode, output, keyword)


def _pytest_result(rel, tests, returncode, output, keyword) -> StepResult:
    step = StepResult("pytest", True, tests=tests, output=output)
    step.not_implemented = list(dict.fromkeys(
        m for t in tests if t.status == "failed" for m in STUB_MESSAGE.findall(t.message + "\n" + t.details)))
    failed = step.failures
    if failed:
        names = [t.name for t in failed]
        step.error = f"{len(names)} pytest test(s) failed: {', '.join(names[:3])}" + (" ..." if len(names) > 3 else "")
    elif returncode not in (0, 5, None):  # 2 interrupted, 3 internal error, 4 usage error
        step.error = f"pytest exited with code {returncode}:\n{_tail(output)}"
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
            text = problem.text or ""
            message = _message(problem.get("message", ""), text)
            outcomes.append(TestOutcome(name, False, message, location=_location(text, case),
                                        details=text))
        elif skipped is not None:
            outcomes.append(TestOutcome(name, False, f"skipped: {skipped.get('message', '')}", skipped=True))
        else:
            outcomes.append(TestOutcome(name, True))
    return outcomes


JUNIT_NOTE = re.compile(r"\n\[[^\]\n]*; full report in element text\]$")


def _message(attribute: str, text: str) -> str:
    """What went wrong, as pytest says it: its 'E' lines (the full assertion explanation), else
    the report's message attribute without junitxml's note about shortening it."""
    raised = [line[1:].strip() for line in text.splitlines() if line.startswith("E ")]
    if raised:
        return "\n".join(raised)
    return JUNIT_NOTE.sub("", attribute) or _tail(text, 1)


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


# --------------------------------------------------------------------------- generated line -> source line

CELL_MARKER = re.compile(r"^# %% (\S+) \(cell \d+, line (\d+)\)$")


def source_of(root: Path, location: str) -> str:
    """For 'tinytorch/core/cnn.py:120' in a generated file, 'modules/source/06_cnn/cnn_dev.py:345'; else ''.

    Each exported cell starts with a '# %% <source> (cell N, line L)' comment; the lines
    after it are some of the cell's lines from line L on, in order and unchanged (the export
    leaves out directive and solution-marker lines and the docstrings' teaching sections), so
    each generated line is matched with the next source line of the same text.
    """
    path, _, number = location.rpartition(":")
    if not path.endswith(".py") or not number.isdigit():
        return ""
    generated = (root / path) if not Path(path).is_absolute() else Path(path)
    try:
        lines = generated.read_text(encoding="utf-8").splitlines()
    except OSError:
        return ""
    wanted = int(number)
    for marker_at in range(min(wanted, len(lines)) - 1, -1, -1):
        match = CELL_MARKER.match(lines[marker_at])
        if match:
            break
    else:
        return ""
    source, first = root / match.group(1), int(match.group(2))
    try:
        source_lines = source.read_text(encoding="utf-8").splitlines()
    except OSError:
        return ""
    if not marker_at + 1 < wanted <= len(lines):
        return ""
    index = first - 1
    for text in lines[marker_at + 1:wanted]:
        while index < len(source_lines) and source_lines[index] != text:
            index += 1
        if index == len(source_lines):
            return ""
        index += 1
    return f"{match.group(1)}:{index}"


def _add_sources(root: Path, step: StepResult) -> None:
    for test in step.failures:
        origin = source_of(root, test.location) if test.location else ""
        if origin:
            test.location += f" (source: {origin})"


# --------------------------------------------------------------------------- the whole pipeline


def run_module(module: Module, keyword: str | None = None, verbose: bool = False,
               on_step=None, on_progress=None) -> ModuleResult:
    """Inline tests, export, pytest.

    ``on_step(name)`` is called as each step starts; ``on_progress(text)`` as inline tests run.
    """
    result = ModuleResult(module, stubs=stubs_of(module))
    announce = on_step or (lambda name: None)
    announce("inline")
    result.steps.append(run_inline(module, on_progress))
    announce("export")
    exported = run_export(module)
    result.steps.append(exported)
    if exported.ok:
        announce("pytest")
        result.steps.append(run_pytest(module, keyword, verbose))
    else:
        result.steps.append(StepResult(
            "pytest", False, "Not run: the export failed, so the package would not be this source's."))
    for step in result.steps:
        _add_sources(module.root, step)
    return result


def stubs_of(module: Module) -> list:
    """(name, line) of each function the module's source still leaves as its released stub."""
    from tito.release import unimplemented

    try:
        return unimplemented(module.dev_file.read_text(encoding="utf-8"))
    except OSError:
        return []


def unmet_prerequisites(course, module: Module, store) -> list[str]:
    """Warnings about (transitive) prerequisites whose last recorded test run is not a pass:
    one line for those never tested, one for those that failed, one for runs limited by -k."""
    by_name = {m.name: m for m in course.modules}
    seen, queue = set(), list(module.prerequisites)
    while queue:
        name = queue.pop(0)
        if name in seen or name not in by_name:
            continue
        seen.add(name)
        queue.extend(by_name[name].prerequisites)
    records = store.load()["modules"]
    never, failed, partial = [], [], []
    for prereq in course.in_prerequisite_order([by_name[n] for n in seen]):
        last = records.get(prereq.name)
        if last is None:
            never.append(prereq.name)
        elif not last.get("passed"):
            failed.append((prereq.name, last.get("when", "?")))
        elif last.get("keyword"):
            partial.append((prereq.name, last["keyword"]))
    messages = []
    if never:
        messages.append(f"{_prerequisites(never)} never been tested (run: tito test --module {never[0]}).")
    if len(failed) == 1:
        messages.append(f"prerequisite '{failed[0][0]}' failed its last test run ({failed[0][1]}).")
    elif failed:
        messages.append(f"{_prerequisites([n for n, _ in failed])} failed their last test runs.")
    for name, keyword in partial:
        messages.append(f"prerequisite '{name}' was last tested only with -k {keyword!r}.")
    return messages


def _prerequisites(names: list) -> str:
    """The subject of a warning: prerequisite 'a' has / prerequisites 'a', 'b' have."""
    quoted = ", ".join(f"'{n}'" for n in names)
    return f"prerequisite {quoted} has" if len(names) == 1 else f"prerequisites {quoted} have"
