"""The sandbox backends: bubblewrap, uid-drop and none (see ``tito.grading.sandbox``)."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

from tito.grading.sandbox import (PYTHON, UID_BASE, Job, Limits, Sandbox, View, _kill_group, kill_uid, process_ids,
                                  process_stat, python_problem, site_packages, which)
from tito.files import remove_tree
from tito.grading.slots import job_slot

SHARED_CLEANUP_SECONDS = 15.0  # uid-drop: what a job left in /tmp and the like is removed for this long
SYSTEM_LINKS = ("/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")
ETC_FILES = ("/etc/ld.so.cache", "/etc/ld.so.conf", "/etc/ld.so.conf.d", "/etc/alternatives", "/etc/localtime")
# what in site-packages could lead to the instructor's course: .pth files run code and extend
# sys.path, editable-install finders map package names to the repository, an installed copy of
# the package holds the solutions
MASKED_FILES = (".pth", ".egg-link")
MASKED_DIRS = ("tinytorch", "tito")


def _uid(slot: int) -> int:
    return UID_BASE + slot


def drop_to(uid: int) -> list[str]:
    """setpriv arguments that make the rest of a command run as ``uid``, with no capabilities."""
    return [which("setpriv") or "setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups", "--inh-caps=-all",
            "--no-new-privs", "--"]  # no setuid program gives root back


PER_PROCESS_ONLY = "total memory and CPU across its processes are only bounded per process (no cgroup)"
EPOLL_WATCH_BYTES = 200  # kernel memory of one epoll watch (its epitem and wait queue entry), about


def kernel_memory(limits: Limits) -> str:
    """What a sandbox says of the memory the kernel holds for a process, outside RLIMIT_AS and its
    resident size (no cgroup counts it): the epoll watches as ``limits`` bound them."""
    instances, watched = limits.epoll_watches()
    per_process = instances * watched * EPOLL_WATCH_BYTES
    return ("kernel memory it holds is not bounded: socket and pipe buffers (about 2 GB from one process), "
            f"epoll and inotify watches (at most {instances} x {watched} per process: about "
            f"{per_process / 1e6:.1f} MB, some {per_process * limits.processes / 1e6:.0f} MB per job)")


KERNEL_MEMORY = kernel_memory(Limits())


class Bubblewrap(Sandbox):
    name = "bubblewrap"
    own_network = True  # --unshare-net: a network namespace with only its own loopback
    lacks = (
        PER_PROCESS_ONLY,
        KERNEL_MEMORY,
        "it can read anything the mounted Python installation holds (e.g. other installed libraries)")
    full_copy = False

    @staticmethod
    def signal_of(returncode: int | None) -> int | None:
        """bwrap exits 128 + the signal its command ended by (or ends by one itself)."""
        if type(returncode) is int and 128 < returncode < 128 + signal.NSIG:
            return returncode - 128
        return Sandbox.signal_of(returncode)

    def __init__(self):
        self.root = os.geteuid() == 0
        self.bwrap = which("bwrap")
        self.protects = (
            "no network access, only a loopback of its own; its own PID, IPC and UTS namespaces",
            "sees only the system, the Python installation (course package files masked) and its job, "
            "read-only (its own / and /dev too) except its private scratch and a fresh /tmp and /dev/shm, each "
            "of a fixed size",
            "runs as an unprivileged uid, one per job slot" if self.root else
            "runs in its own user namespace, with no capabilities outside it",
            "every process it starts (setsid or not) dies with it",
            "limits: wall time, CPU, memory, processes, file size, open files, output")

    def problem(self) -> str:
        if not self.bwrap:
            return "bwrap is not installed (Debian/Ubuntu: apt-get install bubblewrap)"
        if self.root and not which("setpriv"):
            return "setpriv (util-linux) is needed to drop root inside the sandbox"
        with job_slot() as slot:  # its uid: no other grader's job may kill the probe
            problem = python_problem(self._argv(None) + ["--"] + (drop_to(_uid(slot)) if self.root else []))
        return f"bwrap cannot start a sandbox here ({problem})" if problem else ""

    def refusal(self, secrets: list[Path]) -> str:
        for path in secrets:
            real = Path(os.path.realpath(path))
            for mounted in self._mounted():
                if real == mounted or mounted in real.parents:
                    return f"{real} would be visible in the sandbox, inside the mounted {mounted}"
        return ""

    def view(self, job: Job) -> View:
        return View("/course", "/job", "/out", "/tmp")

    def job_owner(self, slot: int) -> int | None:
        return _uid(slot) if self.root else None

    def command(self, job, inner, env, limits):
        argv = self._argv(job, limits.tmp_size)
        for name, value in env.items():
            argv += ["--setenv", name, value]
        argv += ["--chdir", "/course", "--"]
        argv += (drop_to(_uid(job.slot)) if self.root else []) + inner
        return argv, {"PATH": "/usr/bin:/bin"}, "/"

    # ---- the mount table

    def _mounted(self) -> list[Path]:
        return [Path("/usr"), *(Path(p) for p in _python_trees())]

    def _argv(self, job: Job | None, tmp_size: int = 64 << 20) -> list[str]:
        argv = [self.bwrap, "--unshare-pid", "--unshare-net", "--unshare-ipc", "--unshare-uts",
                "--unshare-cgroup-try", "--die-with-parent", "--new-session", "--hostname", "sandbox",
                "--clearenv"]
        if self.root:  # real root: no user namespace; the entry drops to the job's uid with setpriv
            argv += ["--cap-drop", "ALL", "--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID"]
        else:
            argv += ["--unshare-user", "--disable-userns"]
        # A fresh /tmp first: a course or venv that lives under /tmp is bound on top of it, not hidden.
        argv += ["--perms", "1777", "--size", str(tmp_size), "--tmpfs", "/tmp"]
        made = _Tree(argv, made={"/", "/tmp"})
        made.bind("/usr", "/usr")
        for link in SYSTEM_LINKS:
            if os.path.islink(link):
                argv += ["--symlink", os.readlink(link), link]
            elif os.path.isdir(link):
                made.bind(link, link)
        for path in ETC_FILES:
            if os.path.exists(path):
                made.bind(path, path)
        for tree in _python_trees():
            made.bind(tree, tree)
        link = _link_on_the_way_to_python()
        if link:
            made.link(*link)
        read_only = ["/"]  # made read-only once every folder is made: in a user namespace its tmpfs is ours
        for masked in _masks():
            if masked.is_dir():
                argv += ["--size", str(1 << 20), "--tmpfs", str(masked)]
                read_only.append(str(masked))
            else:  # reads as empty; no file of ours to leave behind in /tmp when the grader is killed
                argv += ["--dev-bind", "/dev/null", str(masked)]  # --ro-bind would make it nodev: unreadable
        argv += ["--proc", "/proc", "--dev", "/dev"]
        # bwrap's /dev is a tmpfs of its own, with no size: its shm gets one, as /tmp has
        argv += ["--perms", "1777", "--size", str(tmp_size), "--tmpfs", "/dev/shm"]
        read_only.append("/dev")
        if job is not None:
            self._job_binds(made, argv, job)
        for folder in read_only:  # each mount on its own: /tmp, /dev/shm and the job's writable binds stay so
            argv += ["--remount-ro", folder]
        return argv

    def _job_binds(self, made, argv, job: Job) -> None:
        made.bind(str(job.template), "/course")
        for relative in job.writable:
            argv += ["--bind", str(job.folder / "course" / relative), f"/course/{relative}"]
        made.bind(str(job.folder / "inputs"), "/job")
        argv += ["--bind", str(job.folder / "out"), "/out"]


class _Tree:
    """Read-only binds, each preceded by the folders above it (made 0755: bwrap would make 0700)."""

    def __init__(self, argv, made=("/",)):
        self.argv = argv
        self.made = set(made)
        self.mounted = []

    def bind(self, source: str, dest: str) -> None:
        self._make_parents(dest)
        self.argv += ["--ro-bind", os.path.realpath(source), dest]
        self.mounted.append(Path(dest))

    def link(self, target: str, dest: str) -> None:
        self._make_parents(dest)
        self.argv += ["--symlink", target, dest]

    def _make_parents(self, dest: str) -> None:
        for parent in list(Path(dest).parents)[::-1][1:]:
            if str(parent) in self.made or any(parent == m or m in parent.parents for m in self.mounted):
                continue
            self.argv += ["--perms", "0755", "--dir", str(parent)]
            self.made.add(str(parent))


def _python_trees() -> list[str]:
    """The folders of this Python installation: its prefixes and any package folder outside them."""
    prefixes = {os.path.realpath(p) for p in (sys.base_prefix, sys.prefix, sys.exec_prefix, sys.base_exec_prefix)}
    prefixes |= {os.path.realpath(os.path.dirname(os.path.dirname(os.path.realpath(sys.executable))))}
    trees = sorted(p for p in prefixes if not p.startswith("/usr/"))
    for folder in site_packages():
        real = os.path.realpath(folder)
        if not any(real == t or real.startswith(t + "/") for t in trees) and not real.startswith("/usr/"):
            trees.append(real)
    return [t for t in trees if not any(t != o and t.startswith(o + "/") for o in trees)]


def _link_on_the_way_to_python() -> tuple[str, str] | None:
    """(real path, link) for the first symbolic link among the folders above PYTHON, if any.

    The installation is bound at its real path, but the sandbox starts Python by the path it was
    started by here, which then needs the same link: a venv reached through a link, or a /home
    that links to another disk."""
    bin_folder = Path(PYTHON).parent
    for folder in [*reversed(bin_folder.parents), bin_folder]:
        if str(folder).startswith("/usr/") or str(folder) in SYSTEM_LINKS:
            return None
        if folder.is_symlink():
            return os.path.realpath(folder), str(folder)
    return None


def _masks() -> list[Path]:
    """What to hide in the package folders, by the real path of its folder (that is where it is bound)."""
    found = []
    for folder in site_packages():
        real = Path(os.path.realpath(folder))
        for entry in sorted(Path(folder).iterdir()):
            if entry.name.endswith(MASKED_FILES) or entry.name.startswith("__editable__"):
                found.append(real / entry.name)
            elif entry.name in MASKED_DIRS and entry.is_dir():
                found.append(real / entry.name)
    return found


# --------------------------------------------------------------------------- uid-drop


class UidDrop(Sandbox):
    name = "uid-drop"
    protects = (
        "runs as an unprivileged uid reserved for its job slot, with no capabilities",
        "cannot read the course, the expected results or other jobs (checked before grading)",
        "every process of that uid is killed when the job ends",
        "limits: wall time, CPU, memory, processes, file size, open files, output")
    lacks = (
        "no network isolation: it is on the machine's network",
        PER_PROCESS_ONLY,
        KERNEL_MEMORY,
        "it sees the machine's filesystem: whatever other users may read, it may read (so no copy of the "
        "solutions may be readable by everyone anywhere on the machine)",
        "it may write where any user may (/tmp, /var/tmp, /dev/shm); the job's files there are removed "
        "after it, but it can fill them while it runs (/dev/shm is the machine's memory)",
        "if the grader itself is killed, processes the submission started may live on until the "
        "next tito grade")

    def problem(self) -> str:
        if os.geteuid() != 0:
            return "needs the grader to run as root (to switch to an unprivileged uid)"
        if not which("setpriv"):
            return "setpriv (util-linux) is not installed"
        with job_slot() as slot:
            return python_problem(drop_to(_uid(slot)))

    def refusal(self, secrets: list[Path]) -> str:
        installed = [m for m in _masks() if m.name == "tinytorch" and m.is_dir()]  # a copy with its solutions
        with job_slot() as slot:  # every sandbox uid has the same rights; this one is free now
            readable = [str(p) for p in [*secrets, *installed] if _readable_by(_uid(slot), p)]
        if readable:
            return (f"uid {_uid(slot)} can read {', '.join(readable)}; the uid-drop backend needs the course "
                    "in a folder other users cannot enter (chmod 700), with Python installed outside it")
        return ""

    def job_owner(self, slot: int) -> int | None:
        return _uid(slot)

    def command(self, job, inner, env, limits):
        kill_uid(_uid(job.slot))  # nothing of an earlier job (or grader) may still run as this uid
        argv = drop_to(_uid(job.slot))
        argv.insert(-1, "--pdeathsig=KILL")
        return argv + inner, env, str(job.folder / "course")

    def kill(self, proc, job):
        _kill_group(proc)
        kill_uid(_uid(job.slot))

    def cleanup(self, job):
        kill_uid(_uid(job.slot))
        stop_at = time.monotonic() + SHARED_CLEANUP_SECONDS
        for shared in ("/tmp", "/var/tmp", "/dev/shm", "/dev/mqueue", "/run/lock"):
            _remove_owned(Path(shared), _uid(job.slot), stop_at)
        _remove_ipc_of(_uid(job.slot))


def _readable_by(uid: int, path: Path) -> bool:
    probe = "import os, sys; p = sys.argv[1]; os.listdir(p) if os.path.isdir(p) else open(p, 'rb').read(1)"
    proc = subprocess.run([*drop_to(uid), PYTHON, "-I", "-S", "-c", probe, str(path)],
                          capture_output=True, env={"PATH": "/usr/bin:/bin"})
    return proc.returncode == 0


IPC_KINDS = {"shm": "-m", "msg": "-q", "sem": "-s"}  # /proc/sysvipc/<kind> -> ipcrm's option


def _remove_ipc_of(uid: int) -> None:
    """Remove the System V shared memory, queues and semaphores ``uid`` made: with no IPC
    namespace they outlive the job (200 MB segments held the grader's memory)."""
    ipcrm = which("ipcrm")
    for kind, option in IPC_KINDS.items():
        try:
            header, *rows = Path(f"/proc/sysvipc/{kind}").read_text().splitlines()
        except OSError:
            continue
        columns = header.split()
        owners = [columns.index(c) for c in ("uid", "cuid") if c in columns]  # the owner can give it away: not cuid
        ids = [row.split()[1] for row in rows if len(row.split()) == len(columns)
               and any(row.split()[i] == str(uid) for i in owners)]
        if ids and ipcrm:
            subprocess.run([ipcrm, *(arg for i in ids for arg in (option, i))], capture_output=True)


def _remove_owned(folder: Path, uid: int, stop_at: float) -> None:
    """Remove what ``uid`` left directly in a shared folder (never following links), until the
    time.monotonic() ``stop_at``: a job can build faster than anyone removes (a chain of a million
    nested folders in /tmp took minutes to remove), and the rest is removed by the next jobs of
    its uid, each in its own time."""
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return
    for entry in entries:
        try:
            info = entry.stat(follow_symlinks=False)
            if info.st_uid != uid:
                continue
            if stat.S_ISDIR(info.st_mode):
                remove_tree(Path(entry.path), seconds=max(stop_at - time.monotonic(), 0.0))
            else:
                os.unlink(entry.path)
        except OSError:
            continue


# --------------------------------------------------------------------------- none


class Unsafe(Sandbox):
    name = "none"
    protects = ("limits: wall time, CPU, memory, processes, file size, open files, output",
                "a private copy of the workspace per submission")
    lacks = ("student code runs as you: it can read the solutions and every file you can, change them, "
             "plant code in your Python environment, use the network, signal the grader, and leave "
             "processes running after it",)

    def command(self, job, inner, env, limits):
        return inner, env, str(job.folder / "course")

    def kill(self, proc, job):
        _kill_group(proc)
        for pid in _descendants(proc.pid):
            try:
                os.kill(pid, 9)
            except OSError:
                pass


def _descendants(root: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for pid in process_ids():
        try:
            children.setdefault(int(process_stat(pid)[1]), []).append(pid)
        except (OSError, ValueError, IndexError):
            continue
    found, queue = [], [root]
    while queue:
        for child in children.get(queue.pop(), []):
            found.append(child)
            queue.append(child)
    return found


