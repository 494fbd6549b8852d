"""Small timing helpers shared by the benchmarks in this folder.

The machine these benchmarks run on is shared and noisy, so a single timing means
little. The helpers here time several candidates *alternately* in one process (A, B,
A, B, ... with the order flipped every round, so slow drifts hit both alike), take
the median of each, and report ratios from that one run::

    from _timing import alternate, medians, format_seconds

    samples = alternate({"numpy": lambda: f(x), "torch": lambda: g(t)}, rounds=21)
    times = medians(samples)          # {"numpy": 0.0061, "torch": 0.0085} seconds
    print(format_seconds(times["numpy"]), times["numpy"] / times["torch"])

Speed is only ever measured here, never asserted in the test suite.
"""

from __future__ import annotations

import ctypes
import gc
import glob
import os
import statistics
import time
from typing import Callable

# PyTorch's OpenMP workers spin-wait after every call by default, on the very cores that
# NumPy's OpenBLAS threads need for the next, alternating call: measured here, that turned the
# small conv case from ~2x into 2-9x at random. Passive workers sleep instead; PyTorch's own
# times barely move (17-18 ms either way on the CIFAR case). Set before torch is imported.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


def calls_per_sample(function: Callable[[], object], min_seconds: float = 0.005, limit: int = 1000) -> int:
    """How many back-to-back calls make one sample last at least ``min_seconds``.

    Fast functions (a fraction of a millisecond) are timed in groups so that the
    timer's resolution and per-sample overhead stay negligible.
    """
    start = time.perf_counter()
    function()
    once = max(time.perf_counter() - start, 1e-7)
    return int(min(limit, max(1, min_seconds // once + 1)))


def alternate(
    candidates: dict[str, Callable[[], object]],
    rounds: int = 15,
    warmup: int = 2,
    min_seconds: float = 0.005,
) -> dict[str, list[float]]:
    """Seconds per call of each candidate, ``rounds`` samples each, taken in alternation.

    Every candidate runs ``warmup`` times first (caches, allocator, lazy imports). Each
    round times every candidate once, in order on even rounds and reversed on odd ones.
    A sample is the mean over ``calls_per_sample`` back-to-back calls. The garbage
    collector is paused while timing.
    """
    if not candidates:
        raise ValueError("alternate() needs at least one candidate, got none.")
    names = list(candidates)
    for name in names:
        for _ in range(warmup):
            candidates[name]()
    number = {name: calls_per_sample(candidates[name], min_seconds) for name in names}
    samples: dict[str, list[float]] = {name: [] for name in names}
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        for round_index in range(rounds):
            order = names if round_index % 2 == 0 else names[::-1]
            for name in order:
                function, count = candidates[name], number[name]
                start = time.perf_counter()
                for _ in range(count):
                    function()
                samples[name].append((time.perf_counter() - start) / count)
    finally:
        if was_enabled:
            gc.enable()
    return samples


def medians(samples: dict[str, list[float]]) -> dict[str, float]:
    """The median of each candidate's samples."""
    return {name: statistics.median(values) for name, values in samples.items()}


def format_seconds(seconds: float) -> str:
    """A duration with a readable unit: '97.0 s', '6.63 ms', '412 µs'."""
    if seconds >= 1:
        return f"{seconds:.2f} s"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.2f} ms"
    return f"{seconds * 1e6:.0f} µs"


def _openblas():
    """NumPy's bundled OpenBLAS (scipy_openblas) as a ctypes library and its symbol suffix, or (None, '')."""
    import numpy

    folder = os.path.join(os.path.dirname(os.path.dirname(numpy.__file__)), "numpy.libs")
    for path in glob.glob(os.path.join(folder, "libscipy_openblas*.so*")):
        try:
            library = ctypes.CDLL(path)
        except OSError:
            continue
        for suffix in ("64_", ""):
            if hasattr(library, f"scipy_openblas_get_corename{suffix}"):
                return library, suffix
    return None, ""


def set_blas_threads(count: int) -> bool:
    """Set NumPy's OpenBLAS thread count for this process; False when the library is not found."""
    library, suffix = _openblas()
    if library is None:
        return False
    getattr(library, f"scipy_openblas_set_num_threads{suffix}")(int(count))
    return True


def blas_info() -> dict:
    """Which OpenBLAS kernel NumPy runs here, and the environment that chose it.

    Reads the core name from NumPy's bundled OpenBLAS (``scipy_openblas``) through
    ctypes, so no extra package is needed; fields are None when it cannot be found.
    """
    import numpy

    info = {
        "OPENBLAS_CORETYPE": os.environ.get("OPENBLAS_CORETYPE"),
        "OPENBLAS_L2_SIZE": os.environ.get("OPENBLAS_L2_SIZE"),
        "corename": None,
        "threads": None,
        "numpy": numpy.__version__,
    }
    library, suffix = _openblas()
    if library is not None:
        corename = getattr(library, f"scipy_openblas_get_corename{suffix}")
        corename.restype = ctypes.c_char_p
        info["corename"] = corename().decode()
        info["threads"] = int(getattr(library, f"scipy_openblas_get_num_threads{suffix}")())
    return info


def load_torch(disabled: bool = False):
    """The torch module, or None when it is not installed or the comparison is ``disabled``."""
    if disabled:
        return None
    try:
        import torch
    except ImportError:
        return None
    return torch
