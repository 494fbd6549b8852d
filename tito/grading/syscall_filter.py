"""A seccomp filter that keeps student code from memory no limit counts.

Memory made with ``memfd_create``, System V shared memory or semaphores (a set of 32000
takes about 2.5 MB of the kernel's; 900 sets took 1.8 GB) or BPF maps belongs to no process: it is
outside RLIMIT_AS, outside the sandbox's sized ``/tmp`` and ``/dev/shm`` and outside the job
folder's disk meter, and the OOM killer cannot find it (one process held 2.7 GB that way
under a 2 GiB RLIMIT_AS). A kernel keyring outlives the job and is shared by every job of its
uid (one student's answers copied into a classmate's grade through it), and a new user
namespace lets the submission mount a tmpfs no limit sizes. NumPy, OpenBLAS and the course's
code need none of the calls below, so they fail with EPERM (``clone3``: ENOSYS, so that glibc
starts threads and processes with ``clone``, whose namespace flags the filter can see). The
entry (``inside.py``) installs the filter in every backend before any of the submission is read;
it is inherited by every process the submission starts and cannot be removed.

The filter is a classic-BPF program over ``struct seccomp_data`` (``nr`` at offset 0, ``arch``
at 4). A call made through another ABI (i386's ``int 0x80``, x32's numbers on x86_64) would
dodge the numbers below, so it kills the process. On a machine whose architecture is not in
``ARCHES`` there is no filter, and ``problem()`` says so (the sandbox lists it as a weak point).
"""

from __future__ import annotations

import ctypes
import errno
import platform
import struct

# per machine: audit arch (linux/audit.h), the calls denied with EPERM, and the numbers of clone
# (denied when it asks for a new namespace) and clone3 (ENOSYS: glibc then falls back to clone,
# whose flags a classic-BPF filter can read; clone3 keeps them behind a pointer)
ARCHES = {
    "x86_64": (0xC000003E, {"shmget": 29, "shmat": 30, "semget": 64, "msgget": 68, "mq_open": 240, "add_key": 248,
                            "request_key": 249, "keyctl": 250, "unshare": 272, "setns": 308, "memfd_create": 319,
                            "userfaultfd": 323, "io_uring_setup": 425, "io_uring_enter": 426,
                            "io_uring_register": 427, "memfd_secret": 447, "bpf": 321}, 56, 435),
    "aarch64": (0xC00000B7, {"unshare": 97, "mq_open": 180, "msgget": 186, "semget": 190, "shmget": 194, "shmat": 196,
                             "add_key": 217, "request_key": 218, "keyctl": 219, "setns": 268, "memfd_create": 279,
                             "userfaultfd": 282, "io_uring_setup": 425, "io_uring_enter": 426,
                             "io_uring_register": 427, "memfd_secret": 447, "bpf": 280}, 220, 435),
}
X32_BIT = 0x40000000  # x86_64's x32 ABI: the same calls under other numbers
# CLONE_NEWNS, NEWCGROUP, NEWUTS, NEWIPC, NEWUSER, NEWPID, NEWNET: a user namespace would let the
# submission mount an unsized tmpfs of its own
NEW_NAMESPACES = 0x00020000 | 0x02000000 | 0x04000000 | 0x08000000 | 0x10000000 | 0x20000000 | 0x40000000
DENIED = ("memfd_create", "memfd_secret", "System V shared memory, semaphores and message queues",
          "POSIX message queues", "userfaultfd", "io_uring", "BPF maps",
          "kernel keyrings (shared by every job of a uid)",
          "new namespaces (a tmpfs of its own)")
PROTECTS = f"a syscall filter denies memory no limit counts and what outlives a job: {', '.join(DENIED)}"

# linux/filter.h, linux/seccomp.h, linux/prctl.h
LD_W_ABS, JEQ_K, JSET_K, RET_K = 0x20, 0x15, 0x45, 0x06
RET_KILL_PROCESS, RET_ERRNO, RET_ALLOW = 0x80000000, 0x00050000, 0x7FFF0000
PR_SET_NO_NEW_PRIVS, PR_SET_SECCOMP, SECCOMP_MODE_FILTER = 38, 22, 2
NR, ARCH, FIRST_ARGUMENT = 0, 4, 16  # offsets in struct seccomp_data (the argument's low 32 bits)


def machine() -> str:
    """This Python's architecture as the kernel sees its calls ('' for a 32-bit Python)."""
    return platform.machine() if struct.calcsize("P") == 8 else ""


def problem() -> str:
    """Why this machine gets no syscall filter ('' when it does)."""
    if platform.system() != "Linux":
        return f"no syscall filter on {platform.system()}: memfd and shared memory are not denied"
    if machine() not in ARCHES:
        return (f"no syscall filter for this machine's architecture ({platform.machine()}, "
                f"{8 * struct.calcsize('P')}-bit Python): memfd and System V shared memory can hold memory "
                "that no limit counts")
    return ""


def program(arch: str) -> list[tuple[int, int, int, int]]:
    """The filter for ``arch`` as (code, jt, jf, k) instructions."""
    audit_arch, denied, clone, clone3 = ARCHES[arch]
    # (code, k, where to go if true, if false): a label, or None for the next instruction
    steps = [(LD_W_ABS, ARCH, None, None), (JEQ_K, audit_arch, None, "kill"), (LD_W_ABS, NR, None, None)]
    if arch == "x86_64":
        steps.append((JSET_K, X32_BIT, "kill", None))
    steps += [(JEQ_K, number, "eperm", None) for number in sorted(set(denied.values()))]
    steps += [(JEQ_K, clone3, "enosys", None), (JEQ_K, clone, None, "allow"),
              (LD_W_ABS, FIRST_ARGUMENT, None, None), (JSET_K, NEW_NAMESPACES, "eperm", "allow")]
    ends = {"allow": RET_ALLOW, "eperm": RET_ERRNO | errno.EPERM, "enosys": RET_ERRNO | errno.ENOSYS,
            "kill": RET_KILL_PROCESS}
    at = {label: len(steps) + i for i, label in enumerate(ends)}

    def offset(i, label):
        return 0 if label is None else at[label] - (i + 1)
    code = [(op, offset(i, yes), offset(i, no), k) for i, (op, k, yes, no) in enumerate(steps)]
    return code + [(RET_K, 0, 0, value) for value in ends.values()]


class _Program(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]


def install() -> None:
    """Deny the calls for the rest of this process's life and its children's; OSError if it cannot."""
    reason = problem()
    if reason:
        raise OSError(reason)
    code = program(machine())
    buffer = ctypes.create_string_buffer(b"".join(struct.pack("=HBBI", *op) for op in code))
    fprog = _Program(len(code), ctypes.cast(buffer, ctypes.c_void_p))
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_void_p, ctypes.c_ulong, ctypes.c_ulong]
    if libc.prctl(PR_SET_NO_NEW_PRIVS, 1, None, 0, 0) != 0 or \
            libc.prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.addressof(fprog), 0, 0) != 0:
        number = ctypes.get_errno()
        raise OSError(number, f"cannot install the syscall filter: {errno.errorcode.get(number, number)}")
