"""Job slots shared by every grader on one machine.

A job slot picks the unprivileged uid a submission runs as (``UID_BASE + slot``, see
``tito.grading.sandbox``) when the grader is root. Two submissions running at once must never
share a uid: the uid-drop backend kills every process of its uid before and after a job, and
process limits count per uid. Threads of one grader, dask workers on one host and two
``tito grade`` runs side by side therefore take slots from one place: an ``flock`` on
``N.lock`` in a folder only the grader's user may write (``/run/tito-grade-slots`` as root),
released by the kernel when the holder exits, however it exits.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import stat
import tempfile
import time
from pathlib import Path

from tito.errors import TitoError

MAX_SLOTS = 256


def _folder() -> Path:
    """The slots' folder, made 0700 and owned by us (a link or a folder of someone else's is refused)."""
    uid = os.geteuid()
    parent = Path("/run") if uid == 0 and os.access("/run", os.W_OK) else Path(tempfile.gettempdir())
    folder = parent / ("tito-grade-slots" if uid == 0 else f"tito-grade-slots-{uid}")
    try:
        folder.mkdir(mode=0o700)
    except FileExistsError:
        pass
    info = os.lstat(folder)
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != uid or info.st_mode & 0o022:
        raise TitoError(f"{folder} is not a private folder of this user, so job slots cannot be kept there.",
                        hint="Remove it; tito grade makes it again.")
    return folder


@contextlib.contextmanager
def job_slot(wait: float = 0.2):
    """The lowest free slot on this machine, held until the block ends."""
    folder = _folder()
    while True:
        for slot in range(MAX_SLOTS):
            fd = os.open(folder / f"{slot}.lock", os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                continue
            try:
                yield slot
            finally:
                os.close(fd)
            return
        time.sleep(wait)  # every slot is taken: some grader on this machine frees one soon


def other_slots_held(own: int) -> bool:
    """True when a grading other than the one holding slot ``own`` runs on this machine now: some
    other slot's lock is held (by this batch's other jobs, another ``tito grade``, a dask worker)."""
    folder = _folder()
    for lock in folder.glob("*.lock"):
        if lock.name == f"{own}.lock":
            continue
        try:
            fd = os.open(lock, os.O_RDWR | os.O_NOFOLLOW | os.O_CLOEXEC)
        except OSError:
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # free: taken and, on close, given back at once
        except BlockingIOError:
            return True
        finally:
            os.close(fd)
    return False
