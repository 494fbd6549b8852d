"""Test one module: inline tests, export, pytest (``tito test`` records and shows the result).

``run_module`` is the whole pipeline of ``tito test --module NAME``:

1. **inline**: the dev file's code cells run in a fresh subprocess
   (``tito/testing/inline_harness.py``), each ``test_unit_*`` call recorded by name, Jupyter-only
   syntax run or skipped (``tito.notebooks.syntax``);
2. **export**: ``tito.exporter.export`` writes the generated package file;
3. **pytest**: ``tests/NN_name/`` runs in a subprocess (``tito.testing.pytest_step``).

Step 1 runs while steps 2 and 3 do (they are independent processes), so a run takes about
as long as its longer half. Each step reads the source when it starts: a source saved in between
(an editor's autosave) would make one result of two versions, so its digest is compared at the
start and the end; so is the generated file with the text this run's export left in it (another
tito run waits for this one, ``tito.course_lock``, but an editor, git or an older tito does not).
A change is said (``ModuleResult.mixed``) and never a pass. A module passes only when every
step passed and steps 1 and 3 each ran at least one test: zero tests is a failure, never a pass.
Each test has a time limit (``tito.testing.limits``); Ctrl-C ends the run with a ``TitoError``
naming the test and line it stopped. Nothing here prints; the ``test`` command renders the
results (``tito.testing.outcomes``).
"""

from __future__ import annotations

import json
import signal
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from tito import format
from tito.course import Module
from tito.errors import TitoError
from tito.notebooks import syntax as notebook_syntax
from tito.progress import source_digest
from tito.testing import limits
from tito.testing.cell_hints import deleted_tests_note
from tito.testing.limits import STEP_VARIABLE, step_seconds
from tito.testing.outcomes import ModuleResult, StepResult, TestOutcome, cell_failure_name, tail
from tito.testing.processes import run_watched, subprocess_environment
from tito.testing.pytest_step import run_pytest
from tito.testing.student_frames import locate_in_students_code

HARNESS = Path(__file__).with_name("inline_harness.py")


# --------------------------------------------------------------------------- step 1: inline tests


def run_inline(module: Module, on_progress=None, stop: threading.Event | None = None) -> StepResult:
    """Run the dev file's cells and inline tests in a fresh interpreter.

    ``on_progress(text)`` hears, while it runs, which test is running and how many are done.
    Setting ``stop`` (Ctrl-C in the parent) interrupts the tests, which then say where they were.
    """
    if not module.dev_file.exists():
        misnamed = module.misnamed_source()
        return StepResult("inline", False, f"{module.relative(module.dev_file)} does not exist."
                          + (f" {misnamed}" if misnamed else ""))
    try:
        cells = format.code_cells(module.source())
    except Exception as exc:  # jupytext could not read it
        return StepResult("inline", False, f"Could not read {module.relative(module.dev_file)}: {exc}")
    runnable = {cell.index: notebook_syntax.runnable(cell.notebook_code, cell.code) for cell in cells}
    with tempfile.TemporaryDirectory(prefix="tito-inline-") as scratch:
        folder = Path(scratch)
        spec_path, results, stacks = folder / "spec.json", folder / "results.jsonl", folder / "stacks"
        spec = {
            "dev_file": str(module.dev_file),
            "root": str(module.root),
            "module_folder": str(module.folder),
            "results": str(results),
            "dump": str(stacks),
            "cells": [{"index": c.index, "line": c.line, "code": runnable[c.index].code} for c in cells],
        }
        spec_path.write_text(json.dumps(spec), encoding="utf-8")
        command = [sys.executable, str(HARNESS), str(spec_path)]
        output, returncode, timed_out = _watch(command, module.root, results, on_progress or (lambda text: None), stop)
        events = _read_events(results)
        stopped_at = _stopped_at(stacks, str(module.dev_file))
    step = _inline_result(module, events, output, returncode, timed_out, stopped_at)
    _add_note(step, _jupyter_only_note(module, cells, runnable))
    return step


def _watch(command, root: Path, results: Path, on_progress, stop=None):
    """Run the harness, reporting progress from its results file; (output, exit code, timed out).

    The harness keeps its own time limits (``tito.testing.limits``) and says where it stopped; this
    kills it only if it outlives them. Ctrl-C reaches it through ``stop``.
    """
    deadline = time.monotonic() + step_seconds() + limits.grace()
    last, interrupted = None, None

    def keep_waiting(proc) -> bool:
        nonlocal last, interrupted
        if stop is not None and stop.is_set() and interrupted is None:
            proc.send_signal(signal.SIGINT)  # the harness says where its test was, then ends
            interrupted = time.monotonic()
        if time.monotonic() > deadline or (interrupted and time.monotonic() > interrupted + 2):
            return False
        now = _progress_text(_read_events(results))
        if now and now != last:
            on_progress(now)
            last = now
        return True

    output, returncode, ended = run_watched(command, root, subprocess_environment(root), keep_waiting, poll=0.1)
    timed_out = not ended and interrupted is None
    return output, (None if timed_out else returncode), timed_out


def _stopped_at(stacks: Path, dev_file: str) -> tuple | None:
    """(file, line, function) of the innermost frame in the dev file of the stacks faulthandler
    wrote when it stopped the harness, else None."""
    return next((frame for frame in limits.dumped(stacks) if frame[0] == dev_file), None)


def _progress_text(events: list) -> str:
    done = sum(1 for e in events if e.get("event") == "test")
    running = [e["name"] for e in events if e.get("event") == "start"]
    if len(running) > done:
        return f"{running[-1]} ({done} done)"
    return f"{done} done" if done else ""


def _jupyter_only_note(module: Module, cells, runnable: dict) -> str:
    """'Jupyter-only syntax skipped by tito test: cnn_dev.py:164 (cnn_dev.ipynb: cell [7], line 1):
    %timeit conv2d_naive(x, w); cnn_dev.py:170: x = !ls (only the cell's definitions ran)', or ''
    when every cell is Python (help such as ``conv2d_naive?`` is skipped without a word). Each
    place as tito names a failure's: the .py line, and the notebook cell."""
    from tito.notebooks.places import in_notebook, notebook_cells

    found, places = [], None
    for cell in cells:
        ran = runnable[cell.index]
        if ran.skipped:
            skipped = ran.skipped
            texts = ", ".join(text for _, text in skipped) + (
                " (the whole cell)" if ran.whole_cell else " (only the cell's definitions ran)" if ran.definitions_only
                else "")
            line = cell.line + skipped[0][0] - 1
            if places is None:  # read once, for every line ([]: no notebook in step with the .py)
                places = notebook_cells(module) or []
            found.append(f"{module.dev_file.name}:{line}{in_notebook(module, line, places)}: {texts}")
    return f"Jupyter-only syntax skipped by tito test: {'; '.join(found)}" if found else ""


def _add_note(step: StepResult, note: str) -> None:
    if note:
        step.note = f"{step.note}; {note}" if step.note else note


def _read_events(path: Path) -> list:
    events = []
    if path.exists():
        for raw in path.read_text(encoding="utf-8").splitlines():
            try:
                events.append(json.loads(raw))
            except ValueError:  # a line cut short by a crash
                break
    return events


def _inline_result(module, events, output, returncode, timed_out, stopped_at=None) -> StepResult:
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
    notes = []
    if done and done[0].get("uncalled"):
        notes.append("defined but never called: " + ", ".join(done[0]["uncalled"]))
    notes.append(deleted_tests_note(module))
    step.note = "; ".join(filter(None, notes))
    interrupted = next((e for e in events if e.get("event") == "interrupted"), None)
    if interrupted:
        step.error = "Stopped by Ctrl-C" + _interrupted_where(module, interrupted) + "."
    elif any(e.get("event") == "out_of_time" for e in events):
        last = step.failures[-1] if step.failures else None
        step.error = (f"The inline tests ran out of time in {last.name}: {last.message}" if last else
                      f"The inline tests ran out of time ({STEP_VARIABLE}={step_seconds():g} s).")
    elif not done:
        where = f" while running {running}" if running else ""
        location = ""
        if stopped_at:  # faulthandler stopped it: a loop that StillRunning could not interrupt
            location = f"{module.relative(module.dev_file)}:{stopped_at[1]}"
            reason = (f"was stopped{where}: "
                      + limits.still_running(f"{Path(stopped_at[0]).name}:{stopped_at[1]} in {stopped_at[2]}"))
        elif timed_out:
            reason = f"timed out after {step_seconds():g} s{where} (set {STEP_VARIABLE} to allow longer)"
        else:
            reason = f"stopped early{where} (exit code {returncode})"
        step.error = f"The inline test process {reason}."
        if running:
            step.tests.append(TestOutcome(running, False, step.error, location=location, details=tail(output)))
    elif all(t.is_cell_failure for t in step.tests):
        step.error = (f"No inline tests ran: {module.relative(module.dev_file)} has no top-level "
                      "test_unit_*() calls.")
    if step.failures and not step.error:
        names = [t.name for t in step.failures]
        step.error = f"{len(names)} inline test(s) failed: {', '.join(names[:5])}" + (" ..." if len(names) > 5 else "")
    step.ok = not step.error
    return step


def _interrupted_where(module, event) -> str:
    """' while test_unit_x was running, at modules/source/.../x_dev.py:12 in f' (what is known)."""
    text = f" while {event['name']} was running" if event.get("name") else ""
    if event.get("file") == str(module.dev_file):
        text += f", at {module.relative(module.dev_file)}:{event['line']} in {event['function']}"
    return text


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
        cell_failure_name(line), False,
        f"{event['message']}  (the rest of this cell was skipped)",
        location=location, details=event.get("traceback", ""),
    )


# --------------------------------------------------------------------------- step 2: export


def run_export(module: Module) -> StepResult:
    return _export_step(module)[0]


def _export_step(module: Module):
    """(the export step, the ``Generated`` text it left in the package file or None when it failed)."""
    from tito.exporter import export

    try:
        generated, before = export(module)
    except TitoError as exc:
        error = exc.message + (f"\n{exc.hint}" if exc.hint else "")
        return StepResult("export", False, error), None
    except OSError as exc:  # e.g. a read-only course
        where = module.relative(Path(exc.filename)) if exc.filename else "the package"
        return StepResult("export", False, f"Cannot write {where}: {exc.strerror or exc}."), None
    verb = "unchanged" if before == "fresh" else "written"
    return StepResult("export", True, note=f"{module.relative(generated.target)} ({verb})"), generated


# --------------------------------------------------------------------------- the whole pipeline


def run_module(module: Module, keyword: str | None = None, verbose: bool = False, full: bool = False,
               on_step=None, on_progress=None, on_inline=None) -> ModuleResult:
    """Inline tests, and meanwhile export and pytest; the steps in that order in the result.

    ``on_step(names)`` is called with the steps running whenever they change, e.g.
    ['inline', 'export']; ``on_progress(text)`` as inline tests run; ``on_inline(step)`` with
    the inline step's result as soon as it is known (from its thread: the other steps may still
    run), so that it can be shown first. ``full`` runs the tests marked slow too.
    """
    before = source_digest(module)
    result = ModuleResult(module, stubs=stubs_of(module))
    running = Running(on_step or (lambda names: None))
    stop = threading.Event()

    def inline_step() -> StepResult:
        step = _finish(running, "inline", run_inline, module, on_progress, stop)
        locate_in_students_code(module, step)
        _place_failures(module, step)
        if on_inline is not None:
            on_inline(step)
        return step

    with ThreadPoolExecutor(max_workers=1) as pool:
        running.start("inline")
        inline = pool.submit(inline_step)
        try:
            running.start("export")
            exported, generated = _finish(running, "export", _export_step, module)
            if exported.ok:
                running.start("pytest")
                tested = _finish(running, "pytest", run_pytest, module, keyword, verbose, full)
            else:
                tested = StepResult("pytest", False, "Not run: the export failed, so the package would not be "
                                    "this source's.")
            result.steps = [inline.result(), exported, tested]
        except KeyboardInterrupt:
            names = list(running.names)
            stop.set()
            raise TitoError(_interrupted(inline.result(), names), exit_code=130) from None
    for step in result.steps[1:]:
        _place_failures(module, step)
    result.mixed = _mixed(module, before, generated)
    return result


def _mixed(module: Module, source_before: str, generated) -> str:
    """Why this run's steps may have tested more than one version of the module, or '': its source
    no longer has the digest it had at the start, or the package file pytest imported is no longer
    the text this run's export left in it (``generated``; None when the export failed)."""
    again = f"is not recorded. Run tito test --module {module.name} again."
    if source_digest(module) != source_before:
        return (f"{module.relative(module.dev_file)} changed while it was tested: this result mixes two "
                f"versions of it, so it {again}")
    if generated is not None and not _still_exported(generated):
        return (f"{module.relative(generated.target)} changed while it was tested (written by something besides "
                f"this run: an editor, git, an older tito?): the pytest tests may have imported another version of "
                f"it, so this result {again}")
    return ""


def _still_exported(generated) -> bool:
    """True when the package file still holds the text this run's export wrote or found there."""
    from tito.exporter import state_of

    try:
        return state_of(generated) == "fresh"
    except (OSError, UnicodeDecodeError):
        return False


def _place_failures(module: Module, step: StepResult) -> None:
    """Give each failure of ``step`` its place: the source line shown, the notebook cell."""
    from tito.notebooks.places import add_notebook_places
    from tito.testing.source_map import add_sources

    add_sources(module.root, step)
    add_notebook_places(module, step)


def _interrupted(inline: StepResult, running: list) -> str:
    """What Ctrl-C stopped: the inline test and where its code was, else the steps running."""
    if inline.error.startswith("Stopped by Ctrl-C while"):
        return inline.error + " Nothing was recorded."
    steps = " and ".join(STEP_WORDS.get(name, name) for name in running) or "the tests"
    return f"Stopped by Ctrl-C during {steps}. Nothing was recorded."


STEP_WORDS = {"inline": "the inline tests", "export": "the export", "pytest": "the pytest tests"}


class Running:
    """The steps running now, told to a listener whenever they change (from either thread)."""

    def __init__(self, listener):
        self.names, self.listener, self.lock = [], listener, threading.Lock()

    def start(self, name: str) -> None:
        with self.lock:
            self.names.append(name)
            self.listener(list(self.names))

    def end(self, name: str) -> None:
        with self.lock:
            self.names.remove(name)
            if self.names:
                self.listener(list(self.names))


def _finish(running: Running, name: str, step, *args) -> StepResult:
    try:
        return step(*args)
    finally:
        running.end(name)


def stubs_of(module: Module) -> list:
    """(name, line) of each function the module's source still leaves as its released stub."""
    try:
        return format.unimplemented(module.source())
    except OSError:
        return []


def stubs_in_prerequisites(module: Module, names) -> list:
    """(prerequisite, name, line) of each of ``names`` that one of the module's prerequisites
    still leaves as its released stub, earliest prerequisite first."""
    from tito.course import Course

    wanted = set(names)
    return [(prereq, name, line) for prereq in Course(module.root).prerequisites_of(module)
            for name, line in stubs_of(prereq) if name in wanted]


def unmet_prerequisites(course, module: Module, store) -> list[str]:
    """Warnings about (transitive) prerequisites whose last recorded test run is not a pass of
    them as they stand (``progress.last_result``): one line for those never tested, one for those
    that failed, one each for runs limited by -k and for passes of tests or a source changed since."""
    from tito.progress import FAILED, NEVER, SOURCE_CHANGED, TESTS_CHANGED, last_result

    records = store.load()["modules"]
    never, failed, partial, changed, edited = [], [], [], [], []
    for prereq in course.prerequisites_of(module):
        last = records.get(prereq.name)
        result = last_result(last, prereq)
        if result == NEVER:
            never.append(prereq.name)
        elif result == FAILED:
            failed.append((prereq.name, last.get("when", "?")))
        elif result == TESTS_CHANGED:
            changed.append(prereq.name)
        elif result == SOURCE_CHANGED:
            edited.append(prereq.name)
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
    for name in changed:
        messages.append(f"prerequisite '{name}' passed before its tests changed (run: tito test --module {name}).")
    for name in edited:
        messages.append(f"prerequisite '{name}' was edited since it last passed (run: tito test --module {name}).")
    return messages


def _prerequisites(names: list) -> str:
    """The subject of a warning: prerequisite 'a' has / prerequisites 'a', 'b' have."""
    quoted = ", ".join(f"'{n}'" for n in names)
    return f"prerequisite {quoted} has" if len(names) == 1 else f"prerequisites {quoted} have"
