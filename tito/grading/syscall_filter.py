"""A seccomp filter that keeps student code from memory no limit counts.

Memory made with ``memfd_create`` or System V shared memory belongs to no process: it is
outside RLIMIT_AS, outside the sandbox's sized ``/tmp`` and ``/dev/shm`` and outside the job
folder's disk meter, and the OOM killer cannot find it (one process held 2.7 GB that way
under a 2 GiB RLIMIT_AS). NumPy, OpenBLAS and the course's code need none of the calls below,
so they fail with EPERM. The entry (``inside.py``) installs the filter in every backend before
any of the submission is read; it is inherited by every process the submission starts and
cannot be removed.

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

# audit arch (linux/audit.h) and the numbers of the denied calls, per machine
ARCHES = {
    "x86_64": (0xC000003E, {"shmget": 29, "shmat": 30, "msgget": 68, "mq_open": 240, "memfd_create": 319,
                            "userfaultfd": 323, "io_uring_setup": 425, "io_uring_enter": 426,
                            "io_uring_register": 427, "memfd_secret": 447}),
    "aarch64": (0xC00000B7, {"mq_open": 180, "msgget": 186, "shmget": 194, "shmat": 196, "memfd_create": 279,
                             "userfaultfd": 282, "io_uring_setup": 425, "io_uring_enter": 426,
                             "io_uring_register": 427, "memfd_secret": 447}),
}
X32_BIT = 0x40000000  # x86_64's x32 ABI: the same calls under other numbers
DENIED = ("memfd_create", "memfd_secret", "System V shared memory and message queues", "POSIX message queues",
          "userfaultfd", "io_uring")
PROTECTS = f"a syscall filter denies memory no limit counts: {', '.join(DENIED)}"

# linux/filter.h, linux/seccomp.h, linux/prctl.h
LD_W_ABS, JEQ_K, JSET_K, RET_K = 0x20, 0x15, 0x45, 0x06
RET_KILL_PROCESS, RET_ERRNO, RET_ALLOW = 0x80000000, 0x00050000, 0x7FFF0000
PR_SET_NO_NEW_PRIVS, PR_SET_SECCOMP, SECCOMP_MODE_FILTER = 38, 22, 2


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
    audit_arch, numbers = ARCHES[arch]
    tests = [(JSET_K, X32_BIT, "kill")] if arch == "x86_64" else []
    tests += [(JEQ_K, number, "eperm") for number in sorted(set(numbers.values()))]
    first = 4  # the index of the first test; after the tests: allow, eperm, kill
    target = {"eperm": first + len(tests) + 1, "kill": first + len(tests) + 2}
    code = [(LD_W_ABS, 0, 0, 4), (JEQ_K, 1, 0, audit_arch), (RET_K, 0, 0, RET_KILL_PROCESS), (LD_W_ABS, 0, 0, 0)]
    code += [(op, target[to] - (first + i + 1), 0, k) for i, (op, k, to) in enumerate(tests)]
    return code + [(RET_K, 0, 0, RET_ALLOW), (RET_K, 0, 0, RET_ERRNO | errno.EPERM), (RET_K, 0, 0, RET_KILL_PROCESS)]


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
