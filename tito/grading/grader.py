"""Grade one submission: run it in the sandbox, judge what it returned, outside.

``grade_submission(data, filename, student, prepared, sandbox, limits, scratch)`` is the whole
of it: the submission's bytes and a prepared folder in, a ``Grade`` out; it never raises for
anything the submission does. ``Grader`` prepares once and grades many.
"""

from __future__ import annotations

import errno
import json
import math
import os
import re
import shutil
import signal
import sys
import tempfile
import time
from pathlib import Path

from tito.course import Course, Module
from tito.errors import TitoError
from tito.files import remove_tree
from tito.grading import slots
from tito.grading.data import IMPORT_RECORD, UnreadableRecord, read_json, read_record, showable, showable_name
from tito.grading.inside import MAX_TESTS, VERDICT
from tito.grading.report import (CHECK, INLINE, PYTEST, Grade, TestScore, grading_failed, not_exported,
                                 out_of_memory, unreadable)
from tito.grading.sandbox import DEFAULT_TIMEOUT, Limits, Sandbox, choose, process_stat
from tito.grading.state import digest, tito_source
from tito.grading.verdict import judge
from tito.grading.workspace import Prepared, entry_seconds, new_job, prepare, remove_job

SCRATCH_PREFIX = "tito-grade-"
OWNER_FILE = "owner"


SAME_TITO = "install the grader's tito commit on every worker"  # what a TA does when a worker's tito differs


class Cancelled(Exception):
    """The batch was interrupted while this submission ran: it has no grade (the next batch grades it)."""


def grade_submission(data: bytes, filename: str, student: str, prepared: Prepared, sandbox: Sandbox,
                     limits: Limits, scratch: Path, slot: int = 0, label: str = "", cancel=None) -> Grade:
    """The grade of one submission (``data``: the bytes of ``filename``, a .py or .ipynb).

    The grade records the sha256 of exactly these bytes. ``cancel`` (a threading.Event), when
    set, kills the sandbox and raises ``Cancelled``.
    """
    started = time.monotonic()
    grade = Grade(prepared.module, label or filename, student, sandbox={"backend": sandbox.name},
                  sha256=digest(data), fingerprint=prepared.fingerprint)
    job, inner = new_job(prepared, Path(scratch), sandbox, slot, data, filename, limits)
    try:
        from tito.grading.sandbox import environment

        copied = time.monotonic()
        crowded = slots.other_slots_held(slot)  # another grading beside this one, at its start or its end
        outcome = sandbox.run(job, inner, environment(sandbox.view(job), inner[0]), limits, cancel)
        crowded = crowded or slots.other_slots_held(slot)
        if outcome.cancelled:
            raise Cancelled(student)
        ran = time.monotonic()
        # what the sandbox wrote is read from below the job folder, never through a link it made
        out = job.folder / "out"
        status = _status(out, job.folder)
        killed = out_of_memory_killed(outcome, status)
        checks, recorded = _check_scores(prepared, out / "checks", job.folder, outcome.timed_out)
        grader_signal = None if killed else outcome.signal
        hidden = {spec.name for spec in prepared.checks if spec.hidden}
        imported, import_failure = _import_outcome(out / "checks", job.folder)
        if grader_signal:
            checks = [_not_counted(check) for check in checks]
            grade.error = killed_grader_reason(grader_signal)
        else:
            failed = {check.name for check in checks if not check.passed}
            grade.error = _reason(status, outcome, limits, import_failure, bool(recorded), hidden, imported,
                                  finished=len(recorded) == len(checks), failed=failed)
        grade.tests = checks + _feedback(status)
        grade.other_module, wrong_module = another_modules(data, prepared, checks)
        if wrong_module:  # this module's tests on another module's file tell nothing but import errors
            grade.tests = checks
        inside = sandbox.view(job).course
        reason = "; ".join(filter(None, [out_of_memory() if killed else "", wrong_module or grade.error]))
        grade.error = as_submitted(reason, prepared, inside, grade.submission)[:MAX_REASON]
        for test in grade.feedback:
            test.message = as_submitted(test.message, prepared, inside, grade.submission)[:MAX_FEEDBACK]
        grade.incomplete = outcome.starved or killed  # maybe another job's doing: graded again by the next run
        steps = {k: _seconds(v.get("seconds")) for k, v in _steps(status).items() if isinstance(v, dict)}
        grade.sandbox.update(beside_other_gradings=crowded, feedback=limits.feedback, tito_source=tito_source(),
                             exit_code=outcome.returncode, timed_out=outcome.timed_out, starved=outcome.starved,
                             ran_out_of_time=ran_out_of_time(outcome, status, ran - copied, limits),
                             disk_free_at_start=outcome.free_at_start,
                             out_of_memory=killed, oom_kills=outcome.oom_kills,
                             output_kept=len(outcome.output), output_dropped=outcome.dropped,
                             output_tail=showable(outcome.output[-2000:].decode("utf-8", "replace")),
                             checks_output=str(_step(status, "checks").get("output", ""))[-2000:],
                             steps=steps, job_seconds=round(copied - started, 3),
                             sandbox_seconds=round(ran - copied, 3), verdict_seconds=round(time.monotonic() - ran, 3))
    finally:
        remove_job(job)
    grade.seconds = time.monotonic() - started
    return grade


def out_of_memory_killed(outcome, status: dict) -> bool:
    """True when the kernel's OOM killer may have ended this grading: the sandbox's process, or a
    process of its checks (during a check, or before any), ended by a SIGKILL the grader did not
    send while the machine's count of OOM kills grew (``tito.grading.sandbox.oom_kills``, read outside the sandbox).

    Such a grade is not the submission's doing, so it is graded again (``Grade.incomplete``);
    ``tito.grading.state.settle`` makes it final when the same bytes were killed so last time too
    and this time it ran alone, so a submission that runs the machine out of memory itself is graded
    twice, not forever (in a platform's container, where it ran alone, it is final at once:
    ``tito.grading.hosted.final_in_its_container``). The count is the machine's: with jobs side by
    side, a kill in this job's window may have been another job's, or the killer may have picked
    this job's process for memory a neighbour holds that no process is charged for (socket buffers);
    so the batch grades it again alone (``tito.grading.batch._alone_again``). A submission that
    kills itself with SIGKILL (or runs past its CPU time) while the count stays still is graded as
    any crash is. The crashes come from the sandbox's status, which it can forge: a forgery gains no
    more than a real SIGKILL of its own would."""
    if outcome.oom_kills <= 0:
        return False
    checks = _step(status, "checks")
    codes = [checks.get("exit_code"), *(crash.get("exit_code") for crash in _crash_records(checks.get("crashes")))]
    return outcome.signal == signal.SIGKILL or any(type(code) is int and code == -signal.SIGKILL for code in codes)


def signal_name(number: int) -> str:
    """'SIGSEGV' for 11 ('signal 70' for a number that names none)."""
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


NOT_COUNTED = "not counted: the submission killed its grader"


def killed_grader_reason(number: int) -> str:
    """The reason of a 0 for a submission that killed the sandbox's first process (its grader there) with
    signal ``number``. Its checks do not count, whatever they wrote: where the sandbox has no PID
    namespace of its own (uid-drop) its checks' process lives on after that and goes on writing
    results until the grader ends it, so what it wrote would depend on the sandbox and the moment;
    bubblewrap ends them together. No honest code kills its grader; the kernel's OOM killer is told
    apart (``out_of_memory_killed``: graded again)."""
    return (f"the submission killed the grading's own process in its sandbox ({signal_name(number)}), so it scores 0: "
            "none of its checks count")


def _not_counted(check: TestScore) -> TestScore:
    return TestScore(check.name, False, check.points, NOT_COUNTED, check.kind, check.hidden)


def _status(out: Path, job_folder: Path) -> dict:
    try:
        status = read_json(out / "status.json", below=job_folder)
    except UnreadableRecord as exc:
        return {"unreadable": str(exc)}
    return status if isinstance(status, dict) else {}


STEPS = ("read", "export", "checks", "inline", "pytest")  # what inside.py reports, in order


def _steps(status: dict) -> dict:
    """The known steps of the sandbox's status (anything else it wrote is ignored)."""
    steps = status.get("steps")
    return {name: steps[name] for name in STEPS if name in steps} if isinstance(steps, dict) else {}


def _seconds(value) -> float | None:
    """A step's time as the sandbox reported it, when it is a finite number."""
    if type(value) not in (int, float):
        return None
    try:
        seconds = float(value)
    except OverflowError:  # an int of 400 digits
        return None
    return seconds if math.isfinite(seconds) else None


FUNCTION_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*")


def _names(value, limit: int = 50) -> list[str]:
    """The first ``limit`` function names ('Conv2D.forward') of a list the sandbox reported; anything
    else in it (a newline, markup) is left out."""
    if type(value) is not list:
        return []
    return [item for item in value[:limit] if type(item) is str and len(item) <= 100 and FUNCTION_NAME.fullmatch(item)]


def _crash_records(value) -> list[dict]:
    """The records of the checks' processes that ended early, as the sandbox's status lists them (at most 50)."""
    return [crash for crash in value[:50] if type(crash) is dict] if type(value) is list else []


def _crashes(value, hidden: set, failed: set) -> list[str]:
    """'conv2d_naive (exit code 0)' for each check the sandbox says its checks' process ended in
    ('a hidden check' for those whose results students see only once grades are published). Only
    checks that failed are named: a name the sandbox made up (or no name, a list, say), or a check
    that passed, is left out."""
    found = []
    for crash in [c for c in _crash_records(value) if type(c.get("check")) is str and c["check"] in failed]:
        found.append(f"{'a hidden check' if crash['check'] in hidden else crash['check'][:100]} "
                     f"({_exit_code(crash.get('exit_code'))})")
    return found


def _exit_code(code) -> str:
    """'exit code 1' ('exit code ?' for what is not a plausible exit code), as a reason shows it."""
    return f"exit code {code}" if type(code) is int and -1000 < code < 1000 else "exit code ?"


def _step(status: dict, name: str) -> dict:
    step = _steps(status).get(name)
    return step if isinstance(step, dict) else {}


def _late_steps(status: dict) -> list[str]:
    """The steps the sandbox's status says its deadline stopped (checks, inline, pytest)."""
    return [step for step in ("checks", "inline", "pytest") if _step(status, step).get("timed_out")]


def ran_out_of_time(outcome, status: dict, seconds_run: float, limits) -> bool:
    """True when the deadline stopped the grading: the sandbox killed at it (``Outcome.timed_out``),
    or a step inside it stopped for want of the time left. A submission can write that last word
    into the sandbox's status, so it is believed only when the sandbox ran (``seconds_run``, timed
    outside) until near the first process's own deadline, where an honest step runs out of time;
    a forged timeout would buy one more grading, alone (``tito.grading.batch.spoiled_by``)."""
    near_the_deadline = seconds_run >= entry_seconds(limits) - 1.0  # a step is given at least the time left - 0.5 s
    return bool(outcome.timed_out or (_late_steps(status) and near_the_deadline))


def _running(status: dict) -> str:
    """The step the sandbox's status says was running ('' when none, or when it names no step)."""
    return status.get("running") if status.get("running") in STEPS else ""


def announced_failure(output: bytes, step: str) -> str | None:
    """The error of ``step`` (read or export) when the sandbox's first process said that it failed
    (``tito.grading.inside.announce``); None when it said the step succeeded, or said nothing of it.

    Its verdicts are the first lines of the output that start with ``VERDICT``, one after the other,
    the read's then the export's: it holds back all else it prints until it has said them, and
    none of the submission's code runs before. Lines end at a newline only (``str.splitlines``
    would also end one at \\x1c or \\u2028, which a source line quoted in a warning may hold)."""
    lines = output.split(b"\n")
    first = next((index for index, line in enumerate(lines) if line.startswith(VERDICT.encode())), None)
    if first is None:
        return None
    for line, expected in zip(lines[first:], ("read", "export")):
        said = _verdict(line)
        if said is None or said["step"] != expected:
            return None
        if expected == step:
            return None if said.get("ok") is True else str(said.get("error") or "no reason given")
        if said.get("ok") is not True:  # the read failed: there was no export
            return None
    return None


def _verdict(line: bytes) -> dict | None:
    """A verdict line's JSON, or None for a line that is not one."""
    if not line.startswith(VERDICT.encode()):
        return None
    try:
        said = json.loads(line[len(VERDICT):])
    except ValueError:
        return None
    return said if isinstance(said, dict) and said.get("step") in ("read", "export") else None


def _import_outcome(folder: Path, job_folder: Path) -> tuple[bool, str]:
    """(whether the import ended — the checks' probe wrote its import record —, what it raised:
    'TypeError: ...' on one line, or '')."""
    try:
        record = read_record(folder, IMPORT_RECORD, below=job_folder)
    except UnreadableRecord:
        return True, ""  # something was written: the import ended
    if record is None or "raised" not in record:
        return record is not None, ""
    return True, f"{record['raised']['type']}: {record['raised']['message']}".splitlines()[0][:300]


def _check_scores(prepared: Prepared, folder: Path, job_folder: Path, timed_out: bool) -> tuple[list[TestScore], set]:
    """Each check's score, judged outside the sandbox; and the names of the checks that wrote a record."""
    expected, scores, recorded = prepared.expected(), [], set()
    not_run = "not run" + (": the submission's time ran out" if timed_out else "")
    for spec in prepared.checks:
        points = 0 if spec.name in prepared.free else spec.points
        withheld = None  # the messages written here tell nothing of the expected value
        try:
            actual = read_record(folder, spec.name, below=job_folder)
            if actual is not None:
                recorded.add(spec.name)
            passed, message, withheld = judge(spec, expected[spec.name], actual)
        except UnreadableRecord as exc:
            recorded.add(spec.name)
            passed, message = False, f"the sandbox returned unreadable data: {exc}"
        if message == "not run":
            message, withheld = not_run, None
        detail = ""
        if spec.name in prepared.free and passed:
            message, withheld = "passes on the untouched stub too, so it earns no points", None
        elif spec.hidden and not passed:
            message, detail, withheld = "failed (a hidden check: details are not shown)", message, None
        scores.append(TestScore(spec.name, passed, points, message, CHECK, spec.hidden, detail, withheld))
    return scores, recorded


def another_modules(data: bytes, prepared: Prepared, checks: list[TestScore]) -> tuple[str, str]:
    """(the module, the reason) for a submission that earned nothing and whose text names another
    export target than the graded module's: the file of another module, graded with the wrong
    --module. ('', '') otherwise. Its text only words the reason; the checks gave the points."""
    from tito.grading.submission import declared_target

    declared = declared_target(data)
    if any(check.passed for check in checks) or not declared or declared == prepared.target:
        return "", ""
    name = prepared.targets.get(declared, "")
    whose = f"module {name}'s" if name else "another module's"
    return name, (f"the file is {whose} (`#| default_exp {declared}`) where module {prepared.module}'s "
                  f"({prepared.target}) was expected, so it scores 0")


# the grader's Python installation, longest first, as feedback names it: <python>/
PYTHON_PREFIXES = [prefix.rstrip("/") + "/"
                   for prefix in sorted({sys.prefix, sys.base_prefix, os.path.realpath(sys.prefix)},
                                        key=len, reverse=True)
                   if len(prefix) > 1]


def as_submitted(text: str, prepared: Prepared, inside: str, label: str) -> str:
    """``text`` with the module's source in the sandbox's course ``inside`` (where the submission was
    put: modules/source/06_cnn/cnn_dev.py, or /course/modules/...) named as the submission the
    instructor and the student know: subs/frank.py; and the grader's Python installation (its
    folder may be the instructor's home: /home/ana/course/.venv/lib/...) as ``<python>``."""
    base = label.rsplit("/", 1)[-1][:200]  # not the instructor's folders: students may read it
    name = f"{base} (as a .py source)" if base.lower().endswith(".ipynb") else base
    where = rf"(?<![\w/.-])(?:{re.escape(inside)}/)?{re.escape(prepared.dev_file)}"
    text = re.sub(where, lambda _: name, text)
    for prefix in PYTHON_PREFIXES:
        text = text.replace(prefix, "<python>/")
    return text


def _feedback(status: dict) -> list[TestScore]:
    scores = []
    for kind in (INLINE, PYTEST):
        tests = _step(status, kind).get("tests")
        for test in tests[:MAX_TESTS] if isinstance(tests, list) else []:
            if isinstance(test, dict) and not test.get("skipped"):
                scores.append(TestScore(str(test.get("name", "?"))[:300], bool(test.get("passed")), 0,
                                        str(test.get("message", ""))[:MAX_FEEDBACK], kind))
    return scores


MAX_REASON = 1500  # characters: the reason goes into a CSV cell and the platforms' text
MAX_FEEDBACK = 1000  # characters of one feedback test's message
NAMED = 20  # functions named in "not implemented yet: ..." (then "and N more")


def _reason(status: dict, outcome, limits: Limits, import_failure: str, checks_ran: bool,
            hidden: set = frozenset(), imported: bool = True, finished: bool = False, failed: set = frozenset()) -> str:
    """Why the submission lost points as a whole, or ''. (What the sandbox reported is only
    used for these words; the points never depend on it. A submission called unreadable or
    unexported is not graded at all on some platforms, so that is believed only from the lines
    the sandbox's first process said before the submission's code ran, and only when no check ran.)
    ``finished``: every check left a record; ``failed``: the names of the checks that did not pass."""
    output = outcome.output if outcome is not None else b""
    unread = None if checks_ran else announced_failure(output, "read")
    if unread is not None:
        return unreadable(unread[:500])  # one line: the file name in it is shown escaped
    unexported = None if checks_ran else announced_failure(output, "export")
    if unexported is not None:
        return not_exported(unexported.splitlines()[0][:500])
    if import_failure:
        why = (f": it wrote past the sandbox's limit of {limits.file_size >> 20} MB per file, printing that much?"
               if f"[Errno {errno.EFBIG}]" in import_failure else "")  # RLIMIT_FSIZE: its output is a file too
        return f"the submission does not import ({import_failure}{why}), so it scores 0"
    checks = _step(status, "checks")
    stopped = outcome.timed_out or outcome.stopped or checks.get("timed_out")
    if checks and not imported and not checks_ran and not stopped:
        code = checks.get("exit_code")  # the probe ended before its import record: it ended in the import
        number = Sandbox.signal_of(code)
        how = signal_name(number) if number else _exit_code(code)
        return (f"the submission ended the Python process while being imported (os._exit, or a crash: {how}), "
                "so it scores 0")
    reasons = []
    ended = _crashes(checks.get("crashes"), hidden, failed)
    if ended:
        reasons.append(f"the checks' process ended during {', '.join(ended)} and was started again for the "
                       "checks after it (os._exit or a crash in the submission's code?)")
    late = _late_steps(status)
    if outcome.stopped:
        reasons.append(f"stopped by the grader: {outcome.stopped}; checks that had not finished score 0")
    elif outcome.timed_out or late:
        # checks that ran out of time ran out there, even if the tests for feedback began before the kill came
        running = "checks" if checks.get("timed_out") else _running(status) or (late[0] if late else "its start")
        after = finished and running in ("inline", "pytest")
        if running == "checks" and not imported:  # the checks never began: the import took the time
            running = "checks, while importing the submission"
        reasons.append(f"timed out after {limits.seconds:g} s (in {running}): " + (
            "its checks had finished; only feedback was cut short" if after
            else "checks that had not finished score 0"))
    elif outcome.returncode != 0 or _running(status):
        tail = [line[:200] for line in showable(outcome.output.decode("utf-8", "replace")).strip().splitlines()[-2:]]
        where = f" in {_running(status)}" if _running(status) else ""
        reasons.append(f"the sandbox stopped early{where} (exit code {outcome.returncode})"
                       + (f": {' | '.join(tail)}" if tail else ""))
    stubs = _names(_step(status, "read").get("stubs"))
    missing = list(dict.fromkeys([*stubs, *(  # the file's stubs, then what the tests ran into
        n for step in ("inline", "pytest") for n in _names(_step(status, step).get("not_implemented")))]))
    if missing:  # after what stopped it, if anything did
        more = f" and {len(missing) - NAMED} more" if len(missing) > NAMED else ""
        reasons.append(f"not implemented yet: {', '.join(missing[:NAMED])}{more}")
    return "; ".join(reasons)[:MAX_REASON]


# --------------------------------------------------------------------------- many submissions


class Grader:
    """Grades submissions of one module against the reference solutions of ``course``."""

    def __init__(self, course: Course, module: Module, timeout: float = DEFAULT_TIMEOUT, calibrate: bool = True,
                 sandbox: Sandbox | None = None, limits: Limits | None = None, fingerprint: str | None = None,
                 seed: int | None = None, feedback: bool = True):
        if timeout <= 0:
            raise TitoError(f"--timeout must be a positive number of seconds, got {timeout:g}.", exit_code=2)
        self.course, self.module, self.calibrate, self.fingerprint = course, module, calibrate, fingerprint
        self.seed = seed  # None: a new secret seed for this grader
        self.sandbox = sandbox or choose()
        self.limits = limits or Limits(seconds=timeout, feedback=feedback)
        self.scratch: Path | None = None
        self.prepared: Prepared | None = None

    def __enter__(self):
        self.prepare()
        return self

    def __exit__(self, *exc):
        self.close()

    def prepare(self) -> Prepared:
        self.scratch = new_scratch(self.module.name)
        try:
            self.prepared = prepare(self.course, self.module, self.scratch / "prepared", self.calibrate,
                                    seed=self.seed, fingerprint=self.fingerprint)
            refusal = self.sandbox.refusal([self.course.root, self.prepared.folder])
            if refusal:
                raise TitoError(f"The {self.sandbox.name} sandbox cannot keep the solutions from the "
                                f"submissions here: {refusal}.")
        except BaseException:
            self.close()
            raise
        return self.prepared

    def close(self) -> None:
        if self.scratch is not None:
            remove_tree(self.scratch)

    def grade(self, submission: Path, student: str | None = None, slot: int = 0, cancel=None) -> Grade:
        """One submission's grade; any failure, ours or its, is a 0 with the reason, never an exception
        (but ``Cancelled`` when ``cancel`` is set while it runs)."""
        from tito.grading.submission import student_of

        submission = Path(submission)
        student = student or student_of(submission, self.module.name)
        label, data = self.read(submission, student)
        if isinstance(data, Grade):
            return data
        return grade_safely(data, submission.name, student, self.prepared, self.sandbox, self.limits, self.scratch,
                            slot, label, cancel)

    def read(self, submission: Path, student: str) -> tuple[str, bytes | Grade]:
        """(the submission as reports name it, its bytes — or the 0 that says why they cannot be read)."""
        from tito.grading.submission import SubmissionError, read_bytes

        label = showable_name(str(submission))  # a file name may hold anything but / and NUL
        try:
            return label, read_bytes(submission, self.module.name)
        except SubmissionError as exc:
            return label, zero_grade(self.prepared, label, student, unreadable(showable(str(exc))), self.sandbox.name)


def grade_safely(data: bytes, filename: str, student: str, prepared: Prepared, sandbox: Sandbox, limits: Limits,
                 scratch: Path, slot: int, label: str, cancel=None) -> Grade:
    """``grade_submission``, with a failure of the grader's own a 0 marked incomplete (graded again next batch)."""
    try:
        return grade_submission(data, filename, student, prepared, sandbox, limits, scratch, slot, label, cancel)
    except Cancelled:
        raise
    except Exception as exc:  # a bug of ours must not cost the batch
        return zero_grade(prepared, label, student, grading_failed(exc), sandbox.name, incomplete=True,
                          sha256=digest(data))


def zero_grade(prepared: Prepared, label: str, student: str, reason: str, backend: str,
               incomplete: bool = False, sha256: str = "") -> Grade:
    """A 0 for every check, with the reason (the submission never ran, or its grading failed);
    ``sha256``: of the bytes it was given, when known."""
    tests = [TestScore(c.name, False, 0 if c.name in prepared.free else c.points, "not run", CHECK, c.hidden)
             for c in prepared.checks]
    return Grade(prepared.module, label, student, tests, reason, sandbox={"backend": backend},
                 fingerprint=prepared.fingerprint, incomplete=incomplete, sha256=sha256)


def new_scratch(label: str) -> Path:
    """A private temporary folder for a grader's job folders (``tito-grade-<label>-*``), marked with
    this process so that a later grader sweeps it if this one is killed (stale ones are swept first)."""
    sweep_stale_scratch()
    folder = Path(tempfile.mkdtemp(prefix=f"{SCRATCH_PREFIX}{label}-"))
    try:
        os.chmod(folder, 0o711)  # job folders inside belong to their sandbox users
        (folder / OWNER_FILE).write_text(_process_id(os.getpid()), encoding="utf-8")
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return folder


def _process_id(pid: int) -> str:
    """'pid start-time': a process, even after its pid is reused."""
    try:
        return f"{pid} {process_stat(pid)[19]}"
    except (OSError, IndexError):
        return f"{pid} ?"


def sweep_stale_scratch() -> None:
    """Remove the scratch folders of graders that were killed (their process is gone)."""
    for folder in Path(tempfile.gettempdir()).glob(f"{SCRATCH_PREFIX}*"):
        try:
            if folder.is_symlink() or folder.lstat().st_uid != os.geteuid():
                continue  # not ours
            owner = (folder / OWNER_FILE).read_text(encoding="utf-8").split()
            if _process_id(int(owner[0])) == " ".join(owner):
                continue  # its grader still runs
        except (OSError, ValueError, IndexError):
            continue
        remove_tree(folder)
