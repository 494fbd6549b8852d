"""The sandbox's syscall filter (tito/grading/syscall_filter.py): its BPF program, run by a small
interpreter of the four instructions it uses, and the filter installed in a real process."""

import errno
import os
import platform
import signal
import subprocess
import sys

import pytest

from tito.grading import syscall_filter
from tito.grading.syscall_filter import ARCHES, RET_ALLOW, RET_ERRNO, RET_KILL_PROCESS, X32_BIT, program

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
GETPID = {"x86_64": 39, "aarch64": 172}


def verdict(code, arch: int, nr: int, flags: int = 0) -> int:
    """What the kernel would return for a call ``nr`` of ABI ``arch`` whose first argument is
    ``flags`` (seccomp_data: nr at 0, arch at 4, the first argument's low 32 bits at 16)."""
    data, accumulator, pc = {0: nr, 4: arch, 16: flags}, 0, 0
    while True:
        op, jt, jf, k = code[pc]
        if op == 0x20:  # ld [k]
            accumulator = data[k]
        elif op == 0x06:  # ret k
            return k
        elif op in (0x15, 0x45):  # jeq k / jset k
            taken = accumulator == k if op == 0x15 else bool(accumulator & k)
            pc += jt if taken else jf
        else:
            raise AssertionError(f"unknown instruction {op:#x}")
        pc += 1


THREAD = 0x3D0F00  # CLONE_VM | FS | FILES | SIGHAND | THREAD | SYSVSEM | SETTLS | PARENT_SETTID | CHILD_CLEARTID
FORK = 0x1200011  # CLONE_CHILD_SETTID | CHILD_CLEARTID | SIGCHLD
CLONE_NEWUSER, CLONE_NEWNS, CLONE_NEWNET = 0x10000000, 0x20000, 0x40000000


@pytest.mark.parametrize("arch", sorted(ARCHES))
def test_the_program_denies_exactly_its_calls_and_kills_other_abis(arch):
    code = program(arch)
    audit_arch, numbers, clone, clone3 = ARCHES[arch]
    for flags in (THREAD, FORK):
        assert verdict(code, audit_arch, clone, flags) == RET_ALLOW
    for flags in (CLONE_NEWUSER | FORK, CLONE_NEWNS, CLONE_NEWNET | THREAD):
        assert verdict(code, audit_arch, clone, flags) == RET_ERRNO | errno.EPERM
    assert verdict(code, audit_arch, clone3) == RET_ERRNO | errno.ENOSYS
    assert {"keyctl", "add_key", "request_key", "unshare", "setns", "semget", "bpf"} <= set(numbers)
    for name, number in numbers.items():
        assert verdict(code, audit_arch, number) == RET_ERRNO | errno.EPERM, name
    assert verdict(code, audit_arch, GETPID[arch]) == RET_ALLOW
    assert verdict(code, audit_arch, 0) == RET_ALLOW  # read (x86_64), io_setup (aarch64)
    assert verdict(code, 0x40000003, 20) == RET_KILL_PROCESS  # i386's getpid through int 0x80
    if arch == "x86_64":
        assert verdict(code, audit_arch, X32_BIT | GETPID[arch]) == RET_KILL_PROCESS


INSTALLED = """
import ctypes, multiprocessing.shared_memory, os, subprocess, sys
sys.path.insert(0, sys.argv[1])
from tito.grading import syscall_filter
syscall_filter.install()
import numpy as np
libc = ctypes.CDLL(None, use_errno=True)
def refused(call):
    try:
        return call() < 0 and ctypes.get_errno() == 1
    except PermissionError:
        return True
child = subprocess.run([sys.executable, "-c", "import os; os.memfd_create('x')"], capture_output=True, text=True)
import threading; worker = threading.Thread(target=lambda: None); worker.start(); worker.join()
keys = refused(lambda: libc.syscall(248, b"user", b"answers", b"x", 1, ctypes.c_int(-4)))  # add_key to @u
namespaces = refused(lambda: libc.unshare(0x10000000)) and refused(lambda: libc.unshare(0x20000))
shared = multiprocessing.shared_memory.SharedMemory(create=True, size=4096)  # POSIX shm is a file in /dev/shm
shared.close(); shared.unlink()
a = np.arange(36.0).reshape(6, 6)
print(refused(lambda: os.memfd_create("x")), refused(lambda: libc.shmget(0, 4096, 0o1600)),
      refused(lambda: libc.msgget(0, 0o1600)), keys, namespaces, child.stderr.strip().splitlines()[-1], (a @ a)[0, 0])
"""


@pytest.mark.skipif(syscall_filter.problem() != "", reason="no syscall filter for this machine")
def test_installed_it_refuses_memfd_shared_memory_keys_and_namespaces_and_threads_still_start():
    proc = subprocess.run([sys.executable, "-c", INSTALLED, ROOT], capture_output=True, text=True, timeout=60)
    assert proc.stdout.split(maxsplit=5)[:5] == ["True"] * 5, proc.stdout + proc.stderr
    assert proc.stdout.rsplit(maxsplit=1)[1] == str(float(sum(k * 6 * k for k in range(6))))  # NumPy still works
    assert "PermissionError: [Errno 1] Operation not permitted" in proc.stdout


@pytest.mark.skipif(platform.machine() != "x86_64" or syscall_filter.problem() != "", reason="x86_64 only")
def test_a_call_by_x32_numbers_kills_the_process():
    code = f"import sys; sys.path.insert(0, {ROOT!r}); from tito.grading import syscall_filter; " \
           f"syscall_filter.install(); import ctypes; ctypes.CDLL(None).syscall({X32_BIT | GETPID['x86_64']})"
    assert subprocess.run([sys.executable, "-c", code], timeout=60).returncode == -signal.SIGSYS


def test_a_machine_without_a_filter_is_told_so(monkeypatch):
    from tito.grading.backends import UidDrop

    monkeypatch.setattr(platform, "machine", lambda: "riscv64")
    assert syscall_filter.problem().startswith("no syscall filter for this machine's architecture (riscv64, ")
    with pytest.raises(OSError, match="no syscall filter"):
        syscall_filter.install()
    protects, lacks = UidDrop().guarantees()
    assert lacks[-1] == syscall_filter.problem() and syscall_filter.PROTECTS not in protects
    monkeypatch.undo()
    assert UidDrop().guarantees()[0][-1] == syscall_filter.PROTECTS
