"""One tito run at a time writes a course's package and tests it: ``<course root>/.tito/run.lock``.

A student runs ``tito test --module cnn`` in a terminal and ``!tito test --module cnn`` in a
notebook cell, or in two terminals: side by side, one run's late export could put an older
``tinytorch/core/cnn.py`` back under the other's pytest, and one's notebook sync could race the
other's. So every run that syncs a notebook with its ``.py``, writes the package or tests it holds
this lock for those steps (``tito test``: the sync, export, tests and record; ``tito export``;
``tito notebooks``; ``tito lab NAME``'s notebook; ``tito module reset``; ``tito book build
--execute``'s export), and a second run waits, saying once which run it waits for::

    Waiting for another tito run in this course (pid 1234, tito test --module cnn) to finish...

as cargo waits for its package cache. Ctrl-C while waiting ends it with exit code 130 and nothing
changed. The lock is an ``flock`` (``tito.files.exclusive_lock``): the kernel lets go of it when its
run ends, however it ends, so a lock file left behind never blocks anyone. Held already, it is held
on: a command that calls another's locked steps in one process does not wait for itself. A read-only
course, or a system without ``flock``, is not locked (nothing is written there anyway).

Grading takes no such lock: it exports into a copy of the course in its own workspace, never
into the course itself (whose ``.tito`` it does not create).
"""

from __future__ import annotations

import contextlib
import os
import shlex
import sys
from pathlib import Path

from tito.errors import TitoError
from tito.files import WaitInterrupted, exclusive_lock

LOCK = Path(".tito") / "run.lock"


@contextlib.contextmanager
def one_run_at_a_time(root: Path, make_state_folder: bool = True):
    """Hold the course at ``root`` for this run, waiting (and saying so) while another run holds it.
    Without ``make_state_folder`` (the site's build, which writes nothing of tito's own into a
    course) it is held only in a course that has its ``.tito`` folder already."""
    lock = Path(root) / LOCK
    if not make_state_folder and not lock.parent.is_dir():
        yield
        return
    try:
        with exclusive_lock(lock, holder=this_run(), on_wait=_say_waiting, required=False):
            yield
    except WaitInterrupted as stopped:
        raise TitoError(f"Stopped by Ctrl-C while waiting for {_other_run(stopped.held_by)}; nothing was changed.",
                        exit_code=130) from None


def this_run() -> str:
    """'pid 1234, tito test --module cnn': how a run that waits for this one is told of it."""
    return f"pid {os.getpid()}, {shlex.join(['tito', *sys.argv[1:]])}"[:200]


def _other_run(held_by: str) -> str:
    """'another tito run in this course (pid 1234, tito test --module cnn)'; without the holder's
    line (written just after it took the lock) only 'another tito run in this course'."""
    return "another tito run in this course" + (f" ({held_by})" if held_by else "")


def _say_waiting(held_by: str) -> None:
    """The one line a waiting run says, on stderr, in one write: Rich's console, stopped by Ctrl-C
    between writing it and clearing its buffer, wrote it again before the next message."""
    sys.stderr.write(f"Waiting for {_other_run(held_by)} to finish...\n")
    sys.stderr.flush()
