"""One tito run at a time writes and tests a course (``tito.course_lock``): a second waits, saying for
which, goes on once the first ends, and Ctrl-C while it waits ends it cleanly.

Each test makes the first run hold the course where the test decides (a helper process holding the
lock until told, or a pytest test of the course waiting at a gate the test opens), so the order of
the two runs is never left to the machine's timing.
"""

import os
import selectors
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from tiny_course import HANG_SECONDS, flat

ROOT = Path(__file__).resolve().parents[2]
WAITING = "Waiting for another tito run in this course (pid {pid}, tito test --module alpha) to finish..."


def environment(**extra) -> dict:
    env = dict(os.environ, NO_COLOR="1", PYTHONPATH=str(ROOT), TITO_TEST_TIMEOUT="600",
               TITO_TEST_TIMEOUT_PER_TEST="600", **extra)  # a loaded machine cuts no wait short
    env.pop("TITO_ROOT", None)
    return env


def start_tito(course_root: Path, *args) -> subprocess.Popen:
    """``python -m tito ARGS`` in the course, its own process group (a terminal's job), its output
    and errors on one pipe."""
    return subprocess.Popen([sys.executable, "-m", "tito", *args], cwd=course_root, env=environment(),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)


class Holder:
    """A process holding the course's lock as ``tito test --module alpha`` would, until ``release``."""

    def __init__(self, course_root: Path):
        script = ("import sys\nfrom pathlib import Path\nfrom tito.course_lock import one_run_at_a_time\n"
                  "sys.argv = ['tito', 'test', '--module', 'alpha']\n"
                  f"with one_run_at_a_time(Path({str(course_root)!r})):\n"
                  "    print('held', flush=True)\n"
                  "    sys.stdin.readline()\n")
        self.process = subprocess.Popen([sys.executable, "-c", script], env=environment(), stdin=subprocess.PIPE,
                                        stdout=subprocess.PIPE, text=True)
        assert self.process.stdout.readline() == "held\n"
        self.pid = self.process.pid

    def release(self) -> None:
        self.process.communicate("\n", timeout=HANG_SECONDS)
        assert self.process.returncode == 0

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(timeout=HANG_SECONDS)


@pytest.fixture
def holder(course):
    held = Holder(course.root)
    yield held
    held.kill()


def read_until(process: subprocess.Popen, text: str) -> str:
    """What ``process`` wrote until ``text`` (or until it ended, or HANG_SECONDS passed: a hang
    fails the test, not the suite)."""
    shown, deadline = b"", time.monotonic() + HANG_SECONDS
    with selectors.DefaultSelector() as selector:
        selector.register(process.stdout, selectors.EVENT_READ)
        while text.encode() not in shown and time.monotonic() < deadline:
            if not selector.select(timeout=1):
                continue
            chunk = os.read(process.stdout.fileno(), 65536)
            if not chunk:
                break
            shown += chunk
    return shown.decode()


def finish(process: subprocess.Popen, shown: str = "") -> str:
    """All that ``process`` wrote (``shown`` of it already read), once it ended."""
    try:
        rest, _ = process.communicate(timeout=HANG_SECONDS)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
    return shown + rest.decode()


@pytest.mark.parametrize("args, writes", [
    (("export", "--module", "alpha"), "tinytorch/core/alpha.py"),
    (("notebooks", "--module", "alpha"), "modules/source/01_alpha/alpha_dev.ipynb"),
])
def test_a_run_waits_for_the_run_holding_the_course_and_says_which(course, holder, args, writes):
    run, shown = start_tito(course.root, *args), ""
    try:
        shown = read_until(run, WAITING.format(pid=holder.pid))
        assert WAITING.format(pid=holder.pid) in shown, shown
        assert not (course.root / writes).exists()  # it waits: nothing written yet
        holder.release()
    finally:
        output = finish(run, shown)
    assert run.returncode == 0, output
    assert (course.root / writes).exists()
    assert output.count("Waiting for") == 1


def test_two_tito_test_runs_started_together_both_record_a_correct_result(course, tmp_path):
    """Red team: `tito test` in a terminal and `!tito test` in a notebook side by side. The first
    waits at a gate in its pytest step (a test of the course) until the second has said it waits."""
    reached, gate = tmp_path / "reached", tmp_path / "gate"
    course.write("tests/01_alpha/test_alpha_gate.py", (
        "import pathlib, time\n"
        "def test_the_first_run_waits_at_the_gate():\n"
        f"    pathlib.Path({str(reached)!r}).touch()\n"
        "    deadline = time.monotonic() + 300\n"
        f"    while not pathlib.Path({str(gate)!r}).exists():\n"
        "        assert time.monotonic() < deadline, 'the gate never opened'\n"
        "        time.sleep(0.05)\n"))
    first = start_tito(course.root, "test", "--module", "alpha")
    second = None
    try:
        deadline = time.monotonic() + HANG_SECONDS
        while not reached.exists() and first.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert reached.exists(), finish(first)
        second = start_tito(course.root, "test", "--module", "alpha")
        said = read_until(second, WAITING.format(pid=first.pid))
        assert WAITING.format(pid=first.pid) in said, said
        gate.touch()
        first_output = finish(first)
        second_output = finish(second, said)
    finally:
        gate.touch()
        for run in (first, second):
            if run is not None and run.poll() is None:
                os.killpg(run.pid, signal.SIGKILL)
    for run, output in ((first, first_output), (second, second_output)):
        assert run.returncode == 0, output
        assert "Module alpha PASSED" in output
        assert "changed while it was tested" not in output
    assert "Waiting for" not in first_output
    import json

    recorded = json.loads((course.root / ".tito" / "progress.json").read_text())["modules"]["alpha"]
    assert recorded["passed"] is True and recorded["pytest"] == [4, 4]
    from tito.course import Course
    from tito.exporter import render, state_of

    assert state_of(render(Course(course.root).get("alpha"))) == "fresh"


def test_ctrl_c_while_waiting_ends_the_run_cleanly(course, holder):
    run, shown = start_tito(course.root, "export", "--module", "alpha"), ""
    try:
        shown = read_until(run, WAITING.format(pid=holder.pid))
        assert WAITING.format(pid=holder.pid) in shown, shown
        os.killpg(run.pid, signal.SIGINT)  # what Ctrl-C in a terminal does
    finally:
        output = finish(run, shown)
    assert run.returncode == 130, output
    assert ("Error: Stopped by Ctrl-C while waiting for another tito run in this course (pid "
            f"{holder.pid}, tito test --module alpha); nothing was changed.") in flat(output)
    assert "Traceback" not in output
    assert not course.generated("alpha").exists()


def test_ctrl_c_as_the_waiting_line_is_said_is_a_ctrl_c_while_waiting(course, holder):
    """Ctrl-C can come as soon as the line is out, before the wait itself begins: said the same."""
    from tito.course_lock import LOCK
    from tito.files import WaitInterrupted, exclusive_lock

    def ctrl_c(held_by):
        raise KeyboardInterrupt

    with pytest.raises(WaitInterrupted) as stopped:
        with exclusive_lock(course.root / LOCK, on_wait=ctrl_c):
            pytest.fail("the lock was taken while another process held it")
    assert stopped.value.held_by == f"pid {holder.pid}, tito test --module alpha"


def test_a_run_that_died_holding_the_course_holds_nothing(course, holder):
    """The kernel lets go of a killed run's lock: the lock file left behind keeps no one waiting."""
    holder.kill()
    assert (course.root / ".tito" / "run.lock").exists()
    run = start_tito(course.root, "export", "--module", "alpha")
    output = finish(run)
    assert run.returncode == 0, output
    assert "Waiting" not in output and course.generated("alpha").exists()


def test_a_command_inside_a_run_holding_the_course_does_not_wait_for_itself(course):
    """A step that locks, called by a command that locked (one process): held on, not taken again."""
    script = ("import sys\nfrom pathlib import Path\nfrom tito.course_lock import one_run_at_a_time\n"
              "from tito.cli import main\n"
              "sys.argv = ['tito', 'export', '--module', 'alpha']\n"
              "with one_run_at_a_time(Path('.')):\n"
              "    try:\n"
              "        main()\n"
              "    except SystemExit as end:\n"
              "        print('ended', end.code)\n")
    run = subprocess.run([sys.executable, "-c", script], cwd=course.root, env=environment(), capture_output=True,
                         text=True, timeout=300)
    assert run.returncode == 0 and "ended 0" in run.stdout, run.stdout + run.stderr
    assert "Waiting" not in run.stderr and course.generated("alpha").exists()


def test_without_flock_nothing_is_locked_and_nothing_is_said(course, holder, monkeypatch, capsys):
    """Where there is no fcntl (not POSIX) the run goes on unlocked, without a word."""
    from tito.course_lock import one_run_at_a_time

    monkeypatch.setitem(sys.modules, "fcntl", None)  # `import fcntl` raises ImportError
    with one_run_at_a_time(course.root):
        entered = True
    assert entered and capsys.readouterr().err == ""
