"""Where student code runs: one sandboxed process tree per submission, under one deadline.

A ``Sandbox`` starts a command (the entry in ``tito/grading/inside.py``) on a *job*: a
private folder per submission prepared by the grader (``tito.grading.workspace``) with

* ``course/``: the course the student's code sees — the read-only template (tito, tests,
  package helpers, prerequisites exported from their reference) plus two writable folders, the
  graded module's source folder and ``tinytorch/core``;
* ``inputs/``: the submission and ``spec.json``, read-only;
* ``out/``: where the sandbox writes its results (untrusted data); ``tmp/``.

Backends, from the strongest (``detect`` picks the first that works here):

* ``bubblewrap`` (``bwrap``): new mount, PID, network, IPC and UTS namespaces; only the system,
  the Python installation and the job are mounted, read-only except the job's writable parts;
  a fresh ``/tmp`` and ``/dev/shm`` of ``Limits.tmp_size``, its own ``/`` and ``/dev`` read-only;
  as root, the code runs as an unprivileged uid; everything dies with the PID namespace when
  the entry ends or the deadline passes.
* ``uid-drop`` (root without user namespaces, e.g. Gradescope's containers): the code runs as
  an unprivileged uid reserved for this job slot; the course, the expected results and every
  other job must be unreadable to it (checked before grading); its processes are killed by uid.
* ``none``: no protection but the limits; only with ``tito grade --unsafe-no-sandbox``.

Every backend applies the same limits (``Limits``): one wall-clock deadline for the whole
submission, and, set by the entry before any student code runs, address space, CPU time,
processes, file size and open files, and the syscall filter (``tito.grading.syscall_filter``:
no memfd, no System V shared memory or message queues, no POSIX message queues). The grader
reads the sandbox's output itself, keeping the first ``Limits.output`` bytes and counting the
rest, and never waits for a pipe past the deadline. Around each job it reads the machine's
count of OOM kills (``oom_kills``) and notes the signal the process ended by when the grader
sent none (``Outcome.signal``): ``tito.grading.grader.out_of_memory_killed`` judges the two.
"""

from __future__ import annotations

import os
import selectors
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from tito.errors import TitoError

DEFAULT_TIMEOUT = 120.0  # seconds one submission may take, everything included
UID_BASE = int(os.environ.get("TITO_SANDBOX_UID_BASE", "61000"))  # job slot n runs as uid UID_BASE + n
# one thread per BLAS: jobs run side by side, and results do not depend on thread counts
ONE_THREAD = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
GRACE = 2.0  # seconds to collect output and tear down after the process ends or is killed
# this Python, by a path without '..' that still goes through its virtual environment (a
# resolved path would skip the venv; an unnormalised one may not exist in the sandbox)
PYTHON = os.path.abspath(sys.executable)


@dataclass(frozen=True)
class Limits:
    seconds: float = DEFAULT_TIMEOUT  # wall clock for the whole submission, parsing included
    memory: int = 2 << 30  # address space per process (RLIMIT_AS)
    processes: int = 128  # processes and threads of the sandbox's user (RLIMIT_NPROC)
    file_size: int = 64 << 20  # largest file it may write (RLIMIT_FSIZE)
    # RLIMIT_NOFILE: the cnn module's grading (checks and feedback) needs fewer than 24; the epoll watches a
    # process can make, kernel memory no other limit counts, grow as its square (``epoll_watches``)
    open_files: int = 128
    output: int = 1 << 20  # stdout+stderr kept by the grader; the rest is counted and dropped
    tmp_size: int = 256 << 20  # its /tmp (bubblewrap)
    # all it writes into its job folder, which is on the grader's disk: RLIMIT_FSIZE bounds one
    # file only, so the grader measures the folder as it runs and stops the job past either
    disk: int = 1 << 30
    files: int = 20_000
    feedback: bool = True  # after the checks, the module's inline and pytest tests (no points)

    def epoll_watches(self) -> tuple[int, int]:
        """The most epoll watches one process can hold, as (epoll instances, files each watches): its
        ``open_files`` split in two, every file of one half an epoll instance watching every file of
        the other (64 x 64 for 128 open files)."""
        instances = self.open_files // 2
        return instances, self.open_files - instances

    def rlimits(self) -> dict:
        """What the entry sets with ``resource.setrlimit`` (soft = hard) before student code runs."""
        return {"RLIMIT_AS": self.memory, "RLIMIT_CPU": int(self.seconds) + 1, "RLIMIT_NPROC": self.processes,
                "RLIMIT_FSIZE": self.file_size, "RLIMIT_NOFILE": self.open_files, "RLIMIT_CORE": 0}


@dataclass
class Job:
    """One submission's run: its private folder, the shared read-only template, its slot."""

    folder: Path  # inputs/, out/, tmp/ and course/ (the writable parts, or a full copy)
    template: Path  # the read-only course the batch shares
    writable: list  # folders of the course the code may write, relative to it
    slot: int = 0  # job slots run side by side; under uid-drop and as root each has its own uid


@dataclass
class View:
    """The job's folders as the code inside the sandbox sees them."""

    course: str
    inputs: str
    out: str
    tmp: str


@dataclass
class Outcome:
    returncode: int | None
    timed_out: bool
    output: bytes
    dropped: int  # output bytes beyond Limits.output, counted and thrown away
    cancelled: bool = False  # the batch was interrupted: killed, and no grade
    stopped: str = ""  # why the grader stopped it before its deadline (a limit it went past)
    starved: bool = False  # stopped because the grader's disk ran low: not known to be its doing
    free_at_start: int | None = None  # bytes free on the job's disk when it started (None: not known)
    signal: int | None = None  # the signal it ended by, when the grader sent none (its own doing, or the kernel's)
    oom_kills: int = 0  # processes the kernel's OOM killer killed on this machine while it ran (anyone's)


class Sandbox:
    """A way to run the entry on a job. Subclasses say what they protect and what they do not."""

    name = ""
    protects: tuple = ()
    lacks: tuple = ()
    full_copy = True  # the job's course/ must hold the whole template (no read-only mounts)
    # True when it has a network of its own, not the machine's: one on the machine's network could
    # reach a dask cluster, which runs any function a connection sends it, so dask workers refuse it
    own_network = False

    def problem(self) -> str:
        """Why this backend cannot run here ('' when it can)."""
        return ""

    @staticmethod
    def signal_of(returncode: int | None) -> int | None:
        """The signal the entry ended by, from its exit status (None: it exited, or it is not known)."""
        return -returncode if type(returncode) is int and returncode < 0 else None

    def refusal(self, secrets: list[Path]) -> str:
        """Why grading would expose one of ``secrets`` (the course, the expected results) ('' if not)."""
        return ""

    def view(self, job: Job) -> View:
        folder = job.folder
        return View(str(folder / "course"), str(folder / "inputs"), str(folder / "out"), str(folder / "tmp"))

    def job_owner(self, slot: int) -> int | None:
        """The uid that must own the job's writable folders (None: the grader's own)."""
        return None

    def command(self, job: Job, inner: list[str], env: dict, limits: Limits) -> tuple[list[str], dict, str]:
        """(argv, environment, working folder) of the process that runs ``inner`` in the sandbox."""
        raise NotImplementedError

    def kill(self, proc: subprocess.Popen, job: Job) -> None:
        _kill_group(proc)

    def cleanup(self, job: Job) -> None:
        """After a job: make sure nothing it started is left."""

    def guarantees(self) -> tuple[list[str], list[str]]:
        """(what it protects, its weak points), the syscall filter's line in one or the other."""
        from tito.grading import syscall_filter

        missing = syscall_filter.problem()
        return ([*self.protects, *([] if missing else [syscall_filter.PROTECTS])],
                [*self.lacks, *([missing] if missing else [])])

    def run(self, job: Job, inner: list[str], env: dict, limits: Limits, cancel=None) -> Outcome:
        """Run ``inner`` on ``job`` until it ends, its deadline passes or ``cancel`` (an Event) is set."""
        argv, environment, cwd = self.command(job, inner, env, limits)
        before, free = oom_kills(), disk_free(job.folder)
        try:
            outcome = _supervise(argv, environment, cwd, limits, lambda proc: self.kill(proc, job), cancel,
                                 lambda: over_disk_limits(job.folder, limits), lambda: disk_running_low(job.folder),
                                 self.signal_of)
        finally:
            self.cleanup(job)
        after = oom_kills()
        outcome.oom_kills = after - before if before is not None and after is not None else 0
        outcome.free_at_start = free
        return outcome


def environment(view: View, python: str) -> dict:
    """The whole environment of the code in the sandbox: nothing of the grader's leaks in."""
    tmp = view.tmp
    return {
        "PATH": f"{Path(python).parent}:/usr/local/bin:/usr/bin:/bin", "HOME": tmp, "TMPDIR": tmp,
        "USER": "student", "LOGNAME": "student", "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8",
        "PYTHONDONTWRITEBYTECODE": "1", "PYTHONIOENCODING": "utf-8", "NO_COLOR": "1",
        "MPLBACKEND": "Agg", "MPLCONFIGDIR": f"{tmp}/matplotlib",
        **ONE_THREAD,
        # the course's tests need no plugins; loading every installed one costs a second per run
        "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1",
    }


# --------------------------------------------------------------------------- supervision


DISK_CHECK_SECONDS = 1.0  # how often the job folder is measured
DISK_RESERVE = 256 << 20  # free space the grader keeps on its scratch disk for the reports
INODE_RESERVE = 10_000  # and free files


# a grading that started with this much free and ran with no other of its batch beside it, and
# still ran the disk under DISK_RESERVE, filled it itself (unlinked files no walk finds)
FILLED_ITSELF = 4 * DISK_RESERVE


def disk_free(folder: Path) -> int | None:
    """Bytes free (for an unprivileged user) on the disk of ``folder``, or None when not known."""
    try:
        info = os.statvfs(folder)
    except OSError:
        return None
    return info.f_bavail * info.f_frsize


def disk_running_low(folder: Path) -> str:
    """Why the disk of ``folder`` is too full to go on ('' when it is not). A job can fill it in a
    moment with files it has already unlinked (no walk finds them); every job on it is stopped
    within a quarter of a second, and their grades are graded again by the next run."""
    try:
        info = os.statvfs(folder)
    except OSError:
        return ""
    free = info.f_bavail * info.f_frsize
    if free < DISK_RESERVE:
        return f"the grader's disk had only {free >> 20} MB free while it ran"
    if info.f_files and info.f_favail < INODE_RESERVE:  # files, not bytes, can run out too
        return f"the grader's disk had only {info.f_favail} free files (inodes) while it ran"
    return ""


def over_disk_limits(folder: Path, limits: Limits) -> str:
    """Why what the job wrote into ``folder`` is past ``limits`` ('' when it is not). The walk
    stops at the limits, so its cost is bounded whatever the job wrote."""
    size, files, folders = 0, 0, [str(folder)]
    while folders:
        current = folders.pop()
        try:
            entries = list(os.scandir(current))
        except FileNotFoundError:
            continue
        except OSError as exc:  # a folder made 0300, or nested past PATH_MAX, hides what it holds
            return _hidden(current, folder, exc)
        for entry in entries:
            files += 1
            try:
                info = entry.stat(follow_symlinks=False)
            except FileNotFoundError:
                continue
            except OSError as exc:
                return _hidden(entry.path, folder, exc)
            size += info.st_blocks * 512
            if entry.is_dir(follow_symlinks=False):
                folders.append(entry.path)
            if files > limits.files:
                return f"it wrote more than {limits.files} files, a job's limit"
            if size > limits.disk:
                return f"it wrote more than {limits.disk >> 20} MB, a job's limit"
    return ""


def _hidden(path: str, folder: Path, exc: OSError) -> str:
    return f"it made a folder the grader cannot look into ({os.path.relpath(path, folder)[:120]}: {exc.strerror})"


def _supervise(argv, env, cwd, limits: Limits, kill, cancel=None, over_limits=None, starving=None,
               signal_of=Sandbox.signal_of) -> Outcome:
    """Run ``argv`` until it ends, the deadline passes, ``cancel`` is set, or ``over_limits()``
    (each second) or ``starving()`` (each turn) says why it must stop; keep its first output bytes.
    ``signal_of``: the signal an exit status means it ended by (``Outcome.signal``, when the grader
    sent none before it ended)."""
    deadline = time.monotonic() + limits.seconds
    next_check = time.monotonic() + DISK_CHECK_SECONDS
    proc = subprocess.Popen(argv, env=env, cwd=cwd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, start_new_session=True, close_fds=True)
    run = _Supervised(proc, kill, deadline, next_check)
    fd = proc.stdout.fileno()
    os.set_blocking(fd, False)
    with selectors.DefaultSelector() as selector:
        selector.register(fd, selectors.EVENT_READ)
        open_pipe = True
        while open_pipe:
            now = time.monotonic()
            if not run.watch(now, cancel, over_limits, starving):
                break
            open_pipe = run.read(selector, fd, limits.output, now)
    return run.reap(signal_of)


@dataclass
class _Supervised:
    """One process ``_supervise`` runs, and what it knows of it so far."""

    proc: subprocess.Popen
    kill: Callable[[subprocess.Popen], None]  # ends its whole process tree, as its sandbox does
    deadline: float  # time.monotonic() at which it is stopped
    next_check: float  # when over_limits() is asked next
    stopped: str = ""  # why the grader stopped it before its deadline
    starved: bool = False  # stopped because the grader's disk ran low
    timed_out: bool = False
    cancelled: bool = False
    killed_running: bool = False  # the grader killed it while it still ran: its SIGKILL is not a stranger's
    drain_until: float | None = None  # once it ended or was stopped: until when its pipe is still read
    kept: bytearray = field(default_factory=bytearray)  # its first output bytes
    dropped: int = 0  # output bytes beyond those kept

    def stop(self) -> None:
        """Kill it, noting whether it still ran."""
        self.killed_running = self.killed_running or self.proc.poll() is None
        self.kill(self.proc)

    def watch(self, now: float, cancel, over_limits, starving) -> bool:
        """One turn's look at it at ``now``: stop it past its deadline, once ``cancel`` is set or a
        limit says so; False once the time to drain its pipe is over (it is killed, and reading ends)."""
        if self.drain_until is None and self.proc.poll() is not None:
            self.drain_until = now + GRACE  # it ended: collect what is still in the pipe, briefly
        if self.drain_until is None and now >= self.deadline:
            self.timed_out = True
            self.stop()
            self.drain_until = now + GRACE
        if self.drain_until is None and cancel is not None and cancel.is_set():
            self.cancelled = True
            self.stop()
            self.drain_until = now
        if self.drain_until is None and starving is not None:
            self.stopped = starving()
            self.starved = bool(self.stopped)
        if self.drain_until is None and not self.stopped and over_limits is not None and now >= self.next_check:
            self.next_check, self.stopped = now + DISK_CHECK_SECONDS, over_limits()
        if self.drain_until is None and self.stopped:
            self.stop()
            self.drain_until = now + GRACE
        if self.drain_until is not None and now >= self.drain_until:
            self.stop()  # something still holds the pipe: it goes too, and we stop reading
            return False
        return True

    def read(self, selector, fd: int, output: int, now: float) -> bool:
        """Read what the pipe ``fd`` gives until this turn's wait ends, keeping the first ``output``
        bytes and counting the rest; False at its end."""
        limit = (self.drain_until if self.drain_until is not None else self.deadline) - now
        for _ in selector.select(timeout=max(0.0, min(limit, 0.25))):
            try:
                chunk = os.read(fd, 1 << 16)
            except BlockingIOError:
                continue
            if not chunk:
                return False
            room = max(0, output - len(self.kept))
            self.kept += chunk[:room]
            self.dropped += len(chunk) - min(len(chunk), room)
        return True

    def reap(self, signal_of) -> Outcome:
        """Close the pipe, wait for the process (killed if it lingers) and say how it ended."""
        self.proc.stdout.close()
        try:
            returncode = self.proc.wait(timeout=GRACE)
        except subprocess.TimeoutExpired:
            self.stop()
            returncode = self.proc.wait()
        ended_by = None if self.killed_running else signal_of(returncode)
        return Outcome(None if self.timed_out or self.stopped else returncode, self.timed_out, bytes(self.kept),
                       self.dropped, self.cancelled, self.stopped, self.starved, signal=ended_by)


def oom_kills() -> int | None:
    """How many processes the kernel's OOM killer has killed on this machine since it started
    (``oom_kill`` in /proc/vmstat, Linux 4.13 and later), or None where it is not counted. The
    grader reads it outside every sandbox: a submission can make it grow only by running the
    machine (or its container's memory cgroup, which the count includes) out of memory."""
    try:
        with open("/proc/vmstat", encoding="ascii") as handle:
            for line in handle:
                name, _, value = line.partition(" ")
                if name == "oom_kill":
                    return int(value)
    except (OSError, ValueError):
        pass
    return None


def _kill_group(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def process_ids() -> list[int]:
    """Every process id in /proc (some may be gone by the time they are read)."""
    return [int(entry.name) for entry in os.scandir("/proc") if entry.name.isdigit()]


def process_stat(pid: int) -> list[str]:
    """The fields of /proc/<pid>/stat after the command name: [state, ppid, ...] (``proc(5)``
    numbers them from 3); OSError when the process is gone."""
    with open(f"/proc/{pid}/stat", encoding="utf-8") as handle:
        return handle.read().rsplit(")", 1)[1].split()


def pids_of_uid(uid: int) -> list[int]:
    """Processes whose real uid is ``uid``."""
    found = []
    for pid in process_ids():
        try:
            with open(f"/proc/{pid}/status", encoding="utf-8") as handle:
                for line in handle:
                    if line.startswith("Uid:"):
                        if int(line.split()[1]) == uid:
                            found.append(pid)
                        break
        except (OSError, ValueError):
            continue
    return found


def kill_uid(uid: int) -> None:
    """SIGKILL every process of ``uid`` (as that uid, with kill(-1)), until none is left."""
    for _ in range(20):
        if not pids_of_uid(uid):
            return
        subprocess.run(["setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups", "--",
                        "kill", "-KILL", "-1"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(0.05)


# --------------------------------------------------------------------------- choosing a backend


BACKENDS = ("bubblewrap", "uid-drop")


def backend(name: str) -> Sandbox:
    from tito.grading.backends import Bubblewrap, UidDrop, Unsafe

    return {"bubblewrap": Bubblewrap, "uid-drop": UidDrop, "none": Unsafe}[name]()


def detect(choice: str = "auto") -> tuple[Sandbox | None, list[str]]:
    """The sandbox to grade with: ``choice`` ('auto', 'bubblewrap', 'uid-drop', 'none'), and
    for each backend that cannot run here, why (None when no sandbox can run)."""
    reasons = []
    for name in (BACKENDS if choice == "auto" else (choice,)):
        sandbox = backend(name)
        problem = sandbox.problem()
        if not problem:
            return sandbox, reasons
        reasons.append(f"{name}: {problem}")
    return None, reasons


NEEDS = {"bubblewrap": "bubblewrap needs `bwrap` (apt-get install bubblewrap) and user namespaces or root",
         "uid-drop": "uid-drop needs a grader running as root and a Python every user may read"}
HOW_TO_GET_ONE = f"Fix what a line above names. {'; '.join(NEEDS.values())}."
UNSAFE_HINT = "To grade anyway, without protection, add --unsafe-no-sandbox."


def choose(choice: str = "auto", unsafe: bool = False) -> Sandbox:
    """The sandbox ``tito grade`` uses; TitoError when none can run and ``unsafe`` is not given."""
    if unsafe:
        return backend("none")
    sandbox, reasons = detect(choice)
    if sandbox is not None:
        return sandbox
    if choice != "auto":
        raise _refuse_chosen(choice, reasons[0].split(": ", 1)[1])
    raise TitoError(
        "No sandbox can run student code on this machine, so tito grade refuses to grade: "
        "the submissions' code could read the solutions, change files and forge grades.\n  "
        + "\n  ".join(reasons),
        hint=f"{HOW_TO_GET_ONE} {UNSAFE_HINT}")


def _refuse_chosen(choice: str, problem: str) -> TitoError:
    """The refusal of a backend asked for by name: why it cannot run, and whether the default can."""
    default, _ = detect()
    if default is not None:
        instead = (f"The default sandbox, {default.name}, works here: leave out --sandbox (or give "
                   f"--sandbox {default.name}).")
    else:
        instead = f"No other sandbox works here either ({NEEDS['bubblewrap']}). {UNSAFE_HINT}"
    return TitoError(f"The {choice} sandbox cannot run student code on this machine: {problem}.",
                     hint=f"{NEEDS[choice]}. {instead}")


def python_problem(argv_prefix: list[str], env: dict | None = None) -> str:
    """'' when ``argv_prefix + [python, ...]`` can start Python and import numpy; else why not."""
    command = [*argv_prefix, PYTHON, "-I", "-S", "-c",
               "import sys; sys.path.extend(sys.argv[1:]); import numpy; print(sys.base_prefix)", *site_packages()]
    try:
        proc = subprocess.run(command, capture_output=True, text=True, timeout=60, env=env or {"PATH": "/usr/bin:/bin"})
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"cannot start {command[0]}: {exc}"
    if proc.returncode != 0:
        lines = (proc.stderr or proc.stdout).strip().splitlines() or [f"exit code {proc.returncode}"]
        return f"Python does not start in it: {lines[-1]}"
    if proc.stdout.strip() != sys.base_prefix:  # it started, but cannot read its own installation
        return (f"{PYTHON} cannot read its installation {sys.base_prefix} as the sandbox's unprivileged user "
                f"(it found {proc.stdout.strip() or 'nothing'}): a folder above it is private to its owner; install "
                "Python where every user may read it")
    return ""


def site_packages() -> list[str]:
    """The folders of installed packages this Python uses (the sandbox adds them to sys.path)."""
    import site

    folders = [*site.getsitepackages()]
    folders += [p for p in sys.path if p.endswith(("site-packages", "dist-packages")) and p not in folders]
    return [p for p in dict.fromkeys(folders) if os.path.isdir(p)]


def which(program: str) -> str:
    return shutil.which(program, path="/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin") or ""
