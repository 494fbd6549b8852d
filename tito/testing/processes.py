"""How ``tito test`` runs a step's subprocess: its environment, its own session (what the
student's code leaves running is killed with it), its output in a file, and a deadline.
"""

from __future__ import annotations

import os
import signal
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Callable

from tito.testing.limits import STARTED_VARIABLE


def run_watched(command: list, cwd: Path, env: dict, keep_waiting: Callable, poll: float) -> tuple[str, int, bool]:
    """Run ``command`` until it exits or ``keep_waiting(proc)``, asked every ``poll`` seconds,
    says False; then kill what is left of its process group. Returns (output, exit code, ended).

    Its own session: a process the student's code leaves running neither outlives the step nor,
    since the output goes to a file and not a pipe, holds it open. Ctrl-C in the parent ends it too.
    """
    with tempfile.TemporaryFile("w+", encoding="utf-8", errors="replace") as out:
        proc = subprocess.Popen(command, cwd=cwd, env=env, stdin=subprocess.DEVNULL,
                                stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        ended = True
        try:
            while not has_ended(proc):
                if not keep_waiting(proc):
                    ended = False
                    break
                time.sleep(poll)
        finally:
            returncode = end_group(proc)
        out.seek(0)
        return out.read(), returncode, ended


def subprocess_environment(root: Path) -> dict:
    """The environment of a test subprocess: this course root first on PYTHONPATH, no windows."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(root)] + [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p])
    env["MPLBACKEND"] = "Agg"
    # surrogateescape: in an ASCII locale (LC_ALL=C, PYTHONUTF8=0) a path like .../Été/... is
    # held with surrogates, and printing it writes its bytes back as they are on disk
    env["PYTHONIOENCODING"] = "utf-8:surrogateescape"
    env.pop("PYTHONSTARTUP", None)
    # what the tests print is read, not shown on a terminal: no colour codes, also where a
    # notebook's `!tito test` (ipykernel sets FORCE_COLOR=1) would force them on Rich and pytest
    for forcing in ("FORCE_COLOR", "CLICOLOR_FORCE", "TTY_COMPATIBLE"):
        env.pop(forcing, None)
    env["PY_COLORS"] = "0"
    env[STARTED_VARIABLE] = repr(time.time())  # the step's time limit counts from now (tito.testing.limits)
    return env


def has_ended(proc) -> bool:
    """True once ``proc`` has exited, without reaping it: its pid, which is also its process
    group's id, stays taken until ``end_group`` (so that id can name nobody else meanwhile)."""
    try:
        return os.waitid(os.P_PID, proc.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None
    except ChildProcessError:  # reaped already
        return True


def end_group(proc) -> int:
    """Kill what is left of the process group of ``proc`` (started with ``start_new_session``:
    a student's background processes), then reap ``proc``; its exit code."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    return proc.wait()
