"""How many threads TinyTorch's matrix products use: the one place that decides.

NumPy hands every ``a @ b`` to its BLAS library (OpenBLAS in the pip wheels), which by default
splits any product above a small size across every core it sees. Measured on a 2-core machine
(``benchmarks/bench_threads.py``, results in ``benchmarks/README.md``), that loses in two cases:

- **small or skinny products**: starting and synchronising the threads costs more than the
  second core saves (a product with 10 rows ran 2× slower on two threads than on one);
- **a loaded machine**: a multi-threaded product waits, at every synchronisation point, for a
  core that another process holds. With one core taken by other jobs, two-thread products ran
  1.8-220× slower than on one thread.

So every product in TinyTorch goes through :func:`matmul` (or :func:`blas_threads`), which runs
it on one thread unless it is large, not skinny, and the cores are free:

    threads = 1                                  if m·k·n < MIN_PARALLEL_MACS
                                                 or min(m, n) < MIN_PARALLEL_SIDE
              min(usable cores, cores others leave free)   otherwise

"Usable cores" honours the CPU affinity and a container's CPU quota (Binder, Docker); "free"
is measured, on Linux, from ``/proc/stat``: the CPU time other processes used over the last
quarter of a second or more. Elsewhere, and before the first measurement, products run on one
thread.

Override with the environment variable ``TINYTORCH_NUM_THREADS`` (read when this module is
imported) or :func:`set_num_threads` (like ``torch.set_num_threads``): a positive number fixes
the thread count of every product; ``auto`` (the default) is the policy above.
"""

from __future__ import annotations

import math
import os
import time

import numpy as np

ENV_VARIABLE = "TINYTORCH_NUM_THREADS"

# Measured with benchmarks/bench_threads.py on a 2-core AMD EPYC (OpenBLAS 0.3.31), cores free:
# below ~1 M multiply-accumulates, or with fewer than 16 rows or columns, a second thread
# never saved time alone. Inside a training loop (``bench_threads.py --epoch``, results in
# benchmarks/README.md) the digits CNN's 2.4 M-MAC products on two threads made the mean epoch
# slower in six of seven runs, with a long tail (90th percentile up to 62 ms against at most
# 48 ms on one thread): OpenBLAS's woken thread competes with everything around the product.
# So products below 4 M MACs stay on one thread.
MIN_PARALLEL_MACS = 1 << 22
MIN_PARALLEL_SIDE = 16
# OpenBLAS runs products of at most this many MACs on one thread whatever its setting
# (interface/gemm.c: 65,536 × GEMM_MULTITHREAD_THRESHOLD 4), so :func:`matmul` does not change
# the thread count for them: most products of a small network, a few µs saved on each.
BLAS_ONE_THREAD_MACS = 1 << 18

# A core counts as free when other processes used less than this share of it.
BUSY_SHARE = 0.25
# How often the load is re-measured (seconds): reading /proc/stat costs ~20 µs.
LOAD_INTERVAL = 0.25

_fixed_threads: int | None = None          # set by TINYTORCH_NUM_THREADS or set_num_threads
_blas = {"libraries": None, "ceiling": 1}  # threadpoolctl controllers and thread cap, found on first use
_load = {"stamp": None, "busy": None, "own": None, "free": None}


# ----------------------------------------------------------------- the user's override
def _parse(value, source):
    text = str(value).strip().lower()
    if text in ("", "auto"):
        return None
    if text.isdigit() and int(text) >= 1:
        return int(text)
    raise ValueError(f"{source} must be a positive number of threads or 'auto', got {value!r}.")


def set_num_threads(threads):
    """Fix the thread count of every TinyTorch matrix product; ``None`` or ``"auto"``: the policy."""
    global _fixed_threads
    _fixed_threads = _parse("auto" if threads is None else threads, "set_num_threads")


def get_num_threads():
    """The fixed thread count, or None when the policy decides per product."""
    return _fixed_threads


# ----------------------------------------------------------------- how many cores there are
def usable_cores():
    """Cores this process may run on: its CPU affinity, capped by a cgroup CPU quota."""
    try:
        cores = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cores = os.cpu_count() or 1
    quota = _cgroup_quota()
    return max(1, min(cores, math.ceil(quota)) if quota else cores)


def _cgroup_quota():
    """The container's CPU quota in cores (cgroup v2 ``cpu.max`` or v1 ``cfs_quota_us``), or None."""
    for path, split in (("/sys/fs/cgroup/cpu.max", None),
                        ("/sys/fs/cgroup/cpu/cpu.cfs_quota_us", "/sys/fs/cgroup/cpu/cpu.cfs_period_us")):
        try:
            with open(path) as handle:
                fields = handle.read().split()
            if split is not None:
                with open(split) as handle:
                    fields.append(handle.read().strip())
        except OSError:
            continue
        if len(fields) == 2 and fields[0] not in ("max", "-1"):
            return int(fields[0]) / int(fields[1])
    return None


def _busy_seconds():
    """CPU seconds every process has spent busy since boot (Linux), or None elsewhere."""
    try:
        with open("/proc/stat") as handle:
            fields = handle.readline().split()[1:]
    except OSError:
        return None
    ticks = [int(value) for value in fields]
    idle = ticks[3] + (ticks[4] if len(ticks) > 4 else 0)            # idle + iowait
    return (sum(ticks[:8]) - idle) / os.sysconf("SC_CLK_TCK")      # user ... steal


def free_cores():
    """Cores other processes have left idle over the last measurement window (≥ LOAD_INTERVAL).

    Re-measured at most every ``LOAD_INTERVAL`` seconds. Before the first window is complete,
    or where ``/proc/stat`` does not exist, the answer is 1.
    """
    now = time.monotonic()
    stamp = _load["stamp"]
    if stamp is not None and now - stamp < LOAD_INTERVAL:
        return _load["free"] if _load["free"] is not None else 1
    busy, own = _busy_seconds(), time.process_time()
    if busy is not None and stamp is not None:
        others = (busy - _load["busy"]) - (own - _load["own"])        # cores' seconds, not ours
        cpus = os.cpu_count() or 1
        _load["free"] = max(0, cpus - math.ceil(others / (now - stamp) - BUSY_SHARE))
    _load.update(stamp=now, busy=busy, own=own)
    return _load["free"] if _load["free"] is not None else 1


# ----------------------------------------------------------------- the policy
def too_small_to_split(m, k, n):
    """Whether an (m, k) @ (k, n) product always runs on one thread: too few multiply-accumulates
    or too few rows or columns for a second thread to pay."""
    return m * k * n < MIN_PARALLEL_MACS or min(m, n) < MIN_PARALLEL_SIDE


def threads_for(m, k, n):
    """Threads for one (m, k) @ (k, n) product: 1 when small, skinny or the machine is busy.

    Never more than the BLAS library started with (``OPENBLAS_NUM_THREADS``,
    ``OMP_NUM_THREADS`` or its own count of the cores) nor than :func:`usable_cores`.
    """
    if _fixed_threads is not None:
        return _fixed_threads
    if too_small_to_split(m, k, n):
        return 1
    _libraries()
    return max(1, min(_blas["ceiling"], free_cores()))


def _libraries():
    """threadpoolctl's controllers of the BLAS libraries loaded in this process (found once)."""
    if _blas["libraries"] is None:
        from threadpoolctl import ThreadpoolController

        try:
            libraries = ThreadpoolController().select(user_api="blas").lib_controllers
        except (OSError, UnicodeError) as error:
            libraries = _uncontrolled(error)
        started = [library.get_num_threads() or 1 for library in libraries]
        _blas.update(libraries=libraries, ceiling=min([usable_cores(), *started]))
    return _blas["libraries"]


def _uncontrolled(error):
    """No thread control when threadpoolctl cannot look at the loaded libraries (an ASCII locale,
    ``LC_ALL=C`` with ``PYTHONUTF8=0``, and a library under a non-ASCII path): products then run
    as the BLAS library decides, which changes their speed, never their results."""
    import warnings

    locale = " In an ASCII locale, `export LC_ALL=C.UTF-8` fixes this." if isinstance(error, UnicodeError) else ""
    warnings.warn(f"TinyTorch cannot set the BLAS thread count ({type(error).__name__}: {error}); matrix "
                  f"products use the BLAS library's own setting.{locale}", RuntimeWarning, stacklevel=4)
    return []


class blas_threads:
    """``with blas_threads(m, k, n): a @ b`` runs the products inside on ``threads_for(m, k, n)``
    threads and restores the BLAS library's own setting afterwards."""

    __slots__ = ("threads", "saved")

    def __init__(self, m, k, n):
        self.threads = threads_for(m, k, n)
        self.saved = []

    def __enter__(self):
        for library in _libraries():
            before = library.get_num_threads()
            if before != self.threads:
                library.set_num_threads(self.threads)
                self.saved.append((library, before))
        return self.threads

    def __exit__(self, *exc):
        for library, before in self.saved:
            library.set_num_threads(before)
        return False


def matmul(a, b):
    """``a @ b`` on ndarrays, on the number of threads :func:`threads_for` picks for its size.

    For stacks of matrices (..., m, k) @ (..., k, n) the size of one product decides.
    """
    m = a.shape[-2] if a.ndim > 1 else 1
    k = a.shape[-1]
    n = b.shape[-1] if b.ndim > 1 else 1
    if m * k * n <= BLAS_ONE_THREAD_MACS:
        return np.matmul(a, b)
    with blas_threads(m, k, n):
        return np.matmul(a, b)


_fixed_threads = _parse(os.environ.get(ENV_VARIABLE, "auto"), ENV_VARIABLE)
