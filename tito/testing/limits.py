"""How long a test may run, kept by the process that runs it (the inline harness, pytest).

Two limits, each overridable in the environment:

- ``TITO_TEST_TIMEOUT_PER_TEST`` (default 30 s): one inline test, one top-level statement of
  a dev file, or one pytest test. The slowest test of the course takes about 2.5 s on a busy
  2-core machine, so a test still running after 30 s is stuck, most likely in an endless loop:
  it is stopped and fails, and the next test runs.
- ``TITO_TEST_TIMEOUT`` (default 300 s): a whole step (all inline tests, or all pytest tests),
  for slow machines; when it runs out the step stops where it is.

A test is stopped by an exception, ``StillRunning``, raised where its code is (SIGALRM), so it
fails like any other test with a traceback into the student's code, and its message says
where: ``still running after 30 s at cnn_dev.py:1204 in avg_pool2d_forward: an endless loop?``.
Code that cannot be interrupted so (a long C call, or a bare ``except:`` that swallows the
exception) is stopped a little later by ``faulthandler``, which writes every thread's stack to
a file the parent reads and exits the process. Where SIGALRM does not exist (Windows), only the
latter works.

Only the standard library: the inline harness loads this file by its path.
"""

from __future__ import annotations

import faulthandler
import os
import re
import signal
import time

STEP_VARIABLE, TEST_VARIABLE = "TITO_TEST_TIMEOUT", "TITO_TEST_TIMEOUT_PER_TEST"
STARTED_VARIABLE = "TITO_TEST_STARTED"  # when the parent started the step (time.time()), set by tito
STEP_DEFAULT, TEST_DEFAULT = 300.0, 30.0
GRACE = 5.0  # after StillRunning is raised, how long until faulthandler stops the process (see grace())
MOST_GRACE = 60.0
PROBE = 0.5  # after a test was stopped, how often the next tests are looked at (see Limits.arm)


def step_seconds() -> float:
    """How long one step (its subprocess) may run: TITO_TEST_TIMEOUT, default 300 s."""
    return _seconds(STEP_VARIABLE, STEP_DEFAULT)


def test_seconds() -> float:
    """How long one test may run: TITO_TEST_TIMEOUT_PER_TEST, default 30 s."""
    return _seconds(TEST_VARIABLE, TEST_DEFAULT)


test_seconds.__test__ = False  # not a pytest test


def _seconds(variable: str, default: float) -> float:
    try:
        value = float(os.environ.get(variable, default))
    except ValueError:
        return default
    return value if value > 0 else default


def grace() -> float:
    """How long a stopped test has to report its failure (pytest reads sources and formats the
    traceback) before faulthandler ends the process: GRACE seconds on an idle machine, times the
    load per core on a busy one (a load of 60 on 2 cores makes a second's work take half a
    minute), at most MOST_GRACE; never past the step's own end (``Limits.kill_at``)."""
    try:
        busy = os.getloadavg()[0] / (os.cpu_count() or 1)
    except (AttributeError, OSError):  # no load average (Windows)
        busy = 1.0
    return min(GRACE * max(busy, 1.0), MOST_GRACE)


def _running_for() -> float:
    """How long ago the parent started this step (0 when it did not say)."""
    try:
        return min(max(time.time() - float(os.environ.get(STARTED_VARIABLE, "")), 0.0), 60.0)
    except ValueError:
        return 0.0


def margin(step: float) -> float:
    """How long before the parent's deadline the child stops itself, to report where it was."""
    return min(5.0, step / 10)


class StillRunning(BaseException):
    """Raised in a test that ran out of time (a BaseException: ``except Exception`` in student
    code does not swallow it). ``whole_step`` is True when the step's limit ran out."""

    def __init__(self, message: str, whole_step: bool):
        super().__init__(message)
        self.whole_step = whole_step


StillRunning.__module__ = "builtins"  # pytest says 'StillRunning: still running ...', not the module's path


class Limits:
    """The limits of this process's tests, from the moment it is made.

    ``where(frame)`` says where a stopped test was, e.g. 'cnn_dev.py:1204 in avg_pool2d_forward'
    ('' when nowhere worth naming); ``dump`` is the file faulthandler writes stacks to.
    """

    def __init__(self, where, dump=None):
        self.where, self.dump = where, dump
        self.step, self.test = step_seconds(), test_seconds()
        started = time.monotonic() - _running_for()
        self.stop_at = started + self.step - margin(self.step)  # StillRunning, to report where
        self.kill_at = started + self.step - margin(self.step) / 3  # faulthandler, at the latest
        self.armed_at, self.ends_at, self.whole_step = 0.0, 0.0, False
        self.stopped_at = set()  # the functions the tests stopped so far were in
        self.can_signal = hasattr(signal, "setitimer")
        if self.can_signal:
            signal.signal(signal.SIGALRM, self._ran_out)

    def arm(self, whole_step: bool = False) -> None:
        """Start the clock of one test (or statement); with ``whole_step``, of something that is
        no one test and may take the rest of the step (pytest collecting: importing numpy,
        hypothesis and the package, which on a loaded machine takes longer than a test may).

        Once a test was stopped, the next ones are looked at every half second (PROBE) as
        well: one found at the very line where an earlier test was stopped is stopped at once,
        so that the same endless loop, reached by many tests, costs the full limit only once
        (the same function, that is: a loop's lines take turns).
        """
        now = time.monotonic()
        self.armed_at = now
        self.whole_step = whole_step or self.stop_at - now <= self.test
        seconds = max(self.stop_at - now if whole_step else min(self.test, self.stop_at - now), 0.01)
        self.ends_at = now + seconds
        if self.can_signal:
            signal.setitimer(signal.ITIMER_REAL, min(seconds, PROBE) if self.stopped_at else seconds)
            self._backstop(now + seconds + grace())
        else:
            self._backstop(now + seconds)

    def disarm(self) -> None:
        if self.can_signal:
            signal.setitimer(signal.ITIMER_REAL, 0)
        if self.dump is not None:
            faulthandler.cancel_dump_traceback_later()

    def _backstop(self, when: float) -> None:
        """faulthandler ends the process at ``when`` (or before the parent would kill it)."""
        if self.dump is not None:
            seconds = max(min(when, self.kill_at) - time.monotonic(), 0.01)
            faulthandler.dump_traceback_later(seconds, exit=True, file=self.dump)

    def _ran_out(self, signum, frame) -> None:
        __tracebackhide__ = True  # pytest shows the test's frames, not this one  # noqa: F841
        now = time.monotonic()
        where = self.where(frame)
        again = bool(where) and _function(where) in self.stopped_at
        if now < self.ends_at - 0.005 and not again:  # a look (PROBE) elsewhere: the test goes on
            signal.setitimer(signal.ITIMER_REAL, min(PROBE, self.ends_at - now))
            return
        if where:
            self.stopped_at.add(_function(where))
        self._backstop(now + grace())  # time to report the failure, not to go on forever
        ran = now - self.armed_at if again else self.ends_at - self.armed_at  # the limit, not a late handler's time
        raise StillRunning(self.message(ran, where, again), self.whole_step)

    def message(self, seconds: float, where: str, again: bool = False) -> str:
        """'still running after 30 s at cnn_dev.py:1204 in f: an endless loop? (...limit...)'."""
        at = f" at {where}" + (", where an earlier test was stopped" if again else "") if where else ""
        if self.whole_step:
            limit = f"{STEP_VARIABLE}={self.step:g} s for the whole step ran out; set it to allow longer"
        else:
            limit = f"each test may take {TEST_VARIABLE}={self.test:g} s; set it to allow longer"
        return f"still running after {seconds:.0f} s{at}: an endless loop? ({limit})"


def _function(where: str) -> str:
    """'cnn_dev.py in f' for 'cnn_dev.py:1204 in f'."""
    return re.sub(r":\d+ in ", " in ", where, count=1)


def both_limits() -> str:
    """'(TITO_TEST_TIMEOUT_PER_TEST=30 s for each test, TITO_TEST_TIMEOUT=300 s for the whole
    step: set them to allow longer)'."""
    return (f"({TEST_VARIABLE}={test_seconds():g} s for each test, {STEP_VARIABLE}={step_seconds():g} s "
            "for the whole step: set them to allow longer)")


def still_running(where: str) -> str:
    """Why faulthandler stopped a process, at ``where`` ('cnn_dev.py:1204 in f', or ''): 'still
    running at cnn_dev.py:1204 in f: an endless loop? (TITO_TEST_TIMEOUT_PER_TEST=30 s ...)'."""
    return f"still running{f' at {where}' if where else ''}: an endless loop? {both_limits()}"


def innermost(frame, wanted) -> tuple | None:
    """(file, line, function) of the innermost frame from ``frame`` outwards whose file
    ``wanted(path)`` accepts, else None."""
    return next((found for found in frames_of(frame) if wanted(found[0])), None)


def frames_of(frame) -> list[tuple[str, int, str]]:
    """(file, line, function) of ``frame`` and each frame that called it, innermost first."""
    frames = []
    while frame is not None:
        frames.append((frame.f_code.co_filename, frame.f_lineno, frame.f_code.co_name))
        frame = frame.f_back
    return frames


def dumped(path) -> list[tuple[str, int, str]]:
    """The frames of the faulthandler dump in the file ``path`` ([] when it is missing or empty:
    faulthandler writes there only when it stops the process)."""
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            return dumped_frames(handle.read())
    except OSError:
        return []


def dumped_frames(text: str) -> list[tuple[str, int, str]]:
    """(file, line, function) of each frame of a faulthandler dump, innermost first per thread."""
    return [(path, int(line), name) for path, line, name in
            re.findall(r'^\s+File "([^"]+)", line (\d+) in (\S+)', text, re.MULTILINE)]
