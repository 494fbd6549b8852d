"""Writing files so that a crash or a full disk never leaves half of one, keeping the umask's modes.

``write_atomically`` writes beside the target and renames over it; ``new_folder`` makes a fresh
folder to fill and rename into place. Both make their new name with ``_create_unused``.
``copy_file`` and ``copy_tree`` copy contents and give what they make the umask's modes
(``shutil.copy2`` and ``copytree`` would copy the source's, e.g. 0644 under umask 077).
``backup`` keeps a copy of a student's file in ``.tito/backups/`` before tito replaces it, named
with ``utc_stamp``, the time stamp of every kept copy. ``file_digests``, ``digest_of`` and
``tito_source`` are the sha256 digests that tell whether files (or this tito's source) changed;
``read_json_object`` reads one of tito's JSON records, {} when there is none to read.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import secrets
import shutil
import stat
import threading
import time
from datetime import datetime, timezone
from pathlib import Path

BACKUP_DIR = Path(".tito") / "backups"


def write_atomically(path: Path, text: str | bytes, before_replace=None) -> None:
    """Write ``text`` (or bytes) through a temporary file in the same folder, then rename over the target.

    ``before_replace()``, when given, is called once the temporary file is written, just before
    the rename: what it raises stops the write (the target untouched, the temporary file removed).
    A check that the target is still what the caller read (e.g. an editor's save meanwhile) then
    leaves it only the rename to miss.

    The file gets the mode a plain ``open(path, "w")`` would give it: an existing file keeps
    its mode, a new one gets 0666 minus the umask (``tempfile.mkstemp`` would make it 0600,
    which breaks shared courses and JupyterHub set-ups). Only a regular file's permission bits
    are kept (not a link's target's, never setuid or setgid), and of a file someone else owns
    not its group and other write bits: the new file is ours, and writable by no one it was not.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    keep = _mode_to_keep(path)
    try:
        handle, temp = _new_temporary(path, 0o666 if keep is None else keep)
    except OSError as exc:  # name the file the user knows, not the temporary one
        raise OSError(exc.errno, exc.strerror, str(path)) from None
    try:
        if keep is not None:
            os.fchmod(handle, keep)  # the umask may have taken bits the existing file had
        with (os.fdopen(handle, "wb") if isinstance(text, bytes) else os.fdopen(handle, "w", encoding="utf-8")) as out:
            out.write(text)
        if before_replace is not None:
            before_replace()
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


def _mode_to_keep(path: Path) -> int | None:
    """The permission bits a rewrite of ``path`` keeps (see ``write_atomically``); None for none."""
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        return None
    if not stat.S_ISREG(info.st_mode):
        return None
    mode = info.st_mode & 0o777
    return mode if info.st_uid == os.geteuid() else mode & ~0o022


class WaitInterrupted(KeyboardInterrupt):
    """Ctrl-C while ``exclusive_lock`` waited for another process to let go; ``held_by`` is what
    that process wrote of itself into the lock file ('' when nothing)."""

    def __init__(self, held_by: str):
        super().__init__()
        self.held_by = held_by


CLOSE_ON_EXEC = getattr(os, "O_CLOEXEC", 0)  # no process tito starts keeps a lock
_HELD: dict[str, int] = {}  # the lock files this process holds (real path) -> the thread holding each


@contextlib.contextmanager
def exclusive_lock(lock_path: Path, holder: str = "", on_wait=None, required: bool = True):
    """Hold an exclusive ``fcntl.flock`` on ``lock_path`` (created with its folder if missing):
    one at a time among tito runs side by side. The kernel lets go when the process ends, however
    it ends: a lock file left behind holds nothing.

    Free, it is taken at once; held by another process, ``on_wait(held_by)`` is called once, with
    what that holder wrote of itself, and the wait begins (Ctrl-C then raises ``WaitInterrupted``).
    ``holder`` is written into the lock file while it is held ('pid 1234, tito test ...'), for
    those that wait. Already held by this thread (a step that locks called by a command that
    locked), it is held on: a second ``flock`` of the file from this process would wait for itself.
    Without ``flock`` (not POSIX, or a file system without locks) nothing is locked; with
    ``required`` False neither is anything where the lock file cannot be made (a read-only course).
    """
    key = os.path.realpath(lock_path)
    if _HELD.get(key) == threading.get_ident():
        yield
        return
    descriptor = _lock_file(Path(lock_path), required)
    try:
        locked = descriptor is not None and _flock(descriptor, on_wait)
        if locked:
            _HELD[key] = threading.get_ident()
            _write_holder(descriptor, holder)
        try:
            yield
        finally:
            if locked:
                del _HELD[key]
                _write_holder(descriptor, "")  # a run that waits from now on is not told of this one
    finally:
        if descriptor is not None:
            os.close(descriptor)  # lets go of the lock


def _lock_file(lock_path: Path, required: bool) -> int | None:
    """A descriptor of the lock file, opened to write the holder's line where it may be (a file
    another user made in a shared course is opened to read: ``flock`` needs no more); None where
    it cannot be opened and is not ``required``."""
    try:
        lock_path.parent.mkdir(parents=True, exist_ok=True)
        try:
            return os.open(lock_path, os.O_RDWR | os.O_CREAT | CLOSE_ON_EXEC, 0o666)
        except PermissionError:
            return os.open(lock_path, os.O_RDONLY | CLOSE_ON_EXEC)
    except OSError:
        if required:
            raise
        return None


def _flock(descriptor: int, on_wait) -> bool:
    """Take the lock, waiting after ``on_wait(held_by)`` when another process holds it; False
    where there is no ``flock`` to take."""
    try:
        import fcntl
    except ImportError:  # not POSIX
        return False
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except BlockingIOError:
        pass
    except OSError:  # ENOLCK, EOPNOTSUPP: a file system without locks
        return False
    held_by = _read_holder(descriptor)
    try:
        if on_wait is not None:
            on_wait(held_by)  # Ctrl-C may come as soon as the line is out, before this returns
        fcntl.flock(descriptor, fcntl.LOCK_EX)
    except KeyboardInterrupt:
        raise WaitInterrupted(held_by) from None
    return True


def _write_holder(descriptor: int, holder: str) -> None:
    """Make ``holder`` the lock file's text ('' empties it)."""
    with contextlib.suppress(OSError):  # opened to read only: waiters are told less
        os.ftruncate(descriptor, 0)
        if holder:
            os.pwrite(descriptor, holder.encode("utf-8"), 0)


def _read_holder(descriptor: int) -> str:
    try:
        return os.pread(descriptor, 300, 0).decode("utf-8", errors="replace").strip()
    except OSError:
        return ""


def umask() -> int:
    """This process's umask, read without changing it where Linux says it (/proc), else set and
    restored at once."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    old = os.umask(0o022)
    os.umask(old)
    return old


def copy_file(source, target) -> Path:
    """Copy ``source``'s contents to ``target`` with the mode a new file gets from the umask:
    0666 minus the umask, plus the execute bits ``source`` has (minus the umask)."""
    shutil.copyfile(source, target)
    executable = stat.S_IMODE(os.stat(source).st_mode) & 0o111
    os.chmod(target, (0o666 | executable) & ~umask())
    return Path(target)


def copy_tree(source, target, ignore=None) -> Path:
    """``shutil.copytree`` of ``source`` into a new ``target``, each file made by ``copy_file``
    and each folder 0777 minus the umask."""
    shutil.copytree(source, target, ignore=ignore, copy_function=copy_file)
    folder_mode = 0o777 & ~umask()
    for folder, _, _ in os.walk(target):
        os.chmod(folder, folder_mode)
    return Path(target)


def new_folder(parent: Path, prefix: str) -> Path:
    """A new, empty folder in ``parent`` with the umask's mode (``tempfile.mkdtemp`` makes 0700,
    which a folder renamed into place would keep)."""
    def make(folder: Path) -> Path:
        folder.mkdir(mode=0o777)
        return folder

    return _create_unused(parent, prefix, "", make, f"a temporary folder in {parent}")


def _new_temporary(path: Path, mode: int) -> tuple[int, str]:
    """A new, exclusively created file beside ``path``, created with ``mode`` (the umask applies)."""
    def make(temp: Path) -> tuple[int, str]:
        return os.open(str(temp), os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode), str(temp)

    return _create_unused(path.parent, f".{path.name}.", ".tmp", make, f"a temporary file beside {path}")


def _create_unused(parent: Path, prefix: str, suffix: str, make, what: str):
    """``make(parent / name)`` for the first random name it does not find taken (FileExistsError)."""
    for _ in range(100):
        try:
            return make(parent / f"{prefix}{secrets.token_hex(6)}{suffix}")
        except FileExistsError:
            continue
    raise FileExistsError(f"could not create {what}")


_FOLDER_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)


def remove_tree(folder: Path, seconds: float | None = None) -> bool:
    """Delete ``folder`` whatever it holds, never raising and never following a link; whether it
    is gone. Folders left unwalkable (a folder made 0300 cannot be read, even by its owner) are
    made 0700 first; folders nested thousands deep (where ``shutil.rmtree`` recurses past Python's
    limit) or past PATH_MAX are walked by descriptor, one level at a time, in time linear in what
    they hold. With ``seconds``, it stops after about that long and leaves the rest. Call it once
    nothing can write into ``folder``."""
    try:
        here = os.open(folder, _FOLDER_FLAGS)
    except OSError:  # gone, a link, or no folder: nothing of it to remove
        return not os.path.lexists(folder)
    stop_at = None if seconds is None else time.monotonic() + seconds
    names, waiting = [], [_emptied(here)]  # the path down to ``here``; each level's folders still to remove
    try:
        while stop_at is None or time.monotonic() < stop_at:
            if waiting[-1]:
                name = waiting[-1].pop()
                with contextlib.suppress(OSError):
                    below = os.open(name, _FOLDER_FLAGS, dir_fd=here)
                    os.close(here)
                    here = below
                    names.append(name)
                    waiting.append(_emptied(here))
                continue
            waiting.pop()
            if not names:
                break
            above = os.open("..", _FOLDER_FLAGS & ~os.O_NOFOLLOW, dir_fd=here)
            os.close(here)
            here = above
            with contextlib.suppress(OSError):
                os.rmdir(names.pop(), dir_fd=here)
    except OSError:
        pass
    finally:
        os.close(here)
    with contextlib.suppress(OSError):
        os.rmdir(folder)
    return not os.path.lexists(folder)


def _emptied(folder_fd: int) -> list[str]:
    """Make the open folder ``folder_fd`` 0700 and remove every entry but its real folders, whose
    names it returns (a link to a folder is removed as the link it is)."""
    with contextlib.suppress(OSError):
        os.fchmod(folder_fd, 0o700)
    folders = []
    try:
        entries = list(os.scandir(folder_fd))
    except OSError:
        return folders
    for entry in entries:
        with contextlib.suppress(OSError):
            if entry.is_dir(follow_symlinks=False):
                folders.append(entry.name)
            else:
                os.unlink(entry.name, dir_fd=folder_fd)
    return folders


def file_digests(paths, base: Path) -> dict[str, str]:
    """The sha256 (hex) of each file of ``paths``, by its path relative to ``base``, in that order."""
    import hashlib

    return {str(Path(p).relative_to(base)): hashlib.sha256(Path(p).read_bytes()).hexdigest() for p in paths}


def digest_of(digests: dict[str, str]) -> str:
    """One sha256 of a ``file_digests`` (what changes when a file is added, removed or edited)."""
    import hashlib
    import json

    return hashlib.sha256(json.dumps(digests).encode("utf-8")).hexdigest()


TITO_PACKAGE = Path(__file__).resolve().parent  # this tito's source
# A JSON report tito writes (tito grade's, of any --format, and tito test's) is far smaller: a larger
# file is none of its reports, so it is neither read as one (gradebook.read_report) nor replaced as
# one (--json FILE, options.report_in), and a huge file is never loaded to find that out.
MAX_REPORT_BYTES = 16 << 20


def source_digests(folder: Path) -> dict[str, str]:
    """The sha256 of every .py file of a package folder, by relative path (sorted)."""
    return file_digests(sorted(p for p in folder.rglob("*.py") if "__pycache__" not in p.parts), folder)


@functools.lru_cache(maxsize=1)
def tito_source() -> str:
    """One hash of this tito's source (a grading's ``tito_source``, which a dask worker's must
    match; what a recorded export was made by), as this process found it first."""
    return digest_of(source_digests(TITO_PACKAGE))


def read_json_object(path: Path) -> dict:
    """The JSON object a record file holds; {} when it is missing, unreadable or not an object."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def utc_stamp() -> str:
    """The time now, as backups are named: '20261130T071500123456Z'."""
    return datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")


def backup(root: Path, path: Path) -> Path:
    """Copy a student's file to ``.tito/backups/<name>.<UTC timestamp><suffix>`` and return the copy."""
    target = root / BACKUP_DIR / f"{path.stem}.{utc_stamp()}{path.suffix}"
    target.parent.mkdir(parents=True, exist_ok=True)
    copy_file(path, target)
    return target
