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

import functools
import gc
import os
import sys
import statistics
import time
from pathlib import Path
from typing import Callable


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


def blas_info() -> dict:
    """NumPy's BLAS library as threadpoolctl sees it: name, version, kernel and thread count.

    Also the ``OPENBLAS_*`` variables that can change OpenBLAS's choice of kernel.
    """
    import numpy
    from threadpoolctl import threadpool_info

    blas = next((lib for lib in threadpool_info() if lib["user_api"] == "blas"), {})
    return {
        "numpy": numpy.__version__,
        "library": f"{blas.get('internal_api')} {blas.get('version')}",
        "corename": blas.get("architecture"),
        "threads": blas.get("num_threads"),
        "OPENBLAS_CORETYPE": os.environ.get("OPENBLAS_CORETYPE"),
        "OPENBLAS_L2_SIZE": os.environ.get("OPENBLAS_L2_SIZE"),
    }


def load_torch(disabled: bool = False):
    """The torch module, or None when it is not installed or the comparison is ``disabled``.

    For timing in one process, PyTorch's OpenMP workers are told to sleep between calls
    (``OMP_WAIT_POLICY=PASSIVE``, set before the import): by default they spin-wait after every
    call on the very cores that NumPy's threads need for the next, alternating call, which
    turned the small conv case from ~2× into 2-9× at random. PyTorch's own times barely move.
    """
    if disabled:
        return None
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    try:
        import torch
    except ImportError:
        return None
    return torch


NOT_READY_EXIT = 3  # the benchmark (or its worker) reached code not written or not exported yet


def not_exported(module: str) -> str:
    return (f"This benchmark times your tinytorch.core.{module}, which is not exported yet: "
            "run `tito export --all` (or `tito test --module NAME`) first.")


def not_written(error: NotImplementedError) -> str:
    """What to do about a stub the benchmark reached: its module, from where it raised."""
    import traceback

    where = [Path(frame.filename) for frame in traceback.extract_tb(error.__traceback__)]
    module = next((path.stem for path in reversed(where) if path.parent.name == "core"
                   and path.parent.parent.name == "tinytorch"), "NAME")
    return (f"This benchmark runs code you have not written yet ({error}): write it "
            f"(`tito test --module {module}` says what is left), then run the benchmark again.")


def stops_where_not_ready(main: Callable) -> Callable:
    """``main``, ending with one line and exit code NOT_READY_EXIT instead of a traceback when it
    reaches a stub of the student edition (``NotImplementedError("TODO: implement conv2d_forward")``)
    or imports a module of ``tinytorch.core`` not exported yet."""
    @functools.wraps(main)
    def run(*args, **kwargs):
        try:
            return main(*args, **kwargs)
        except NotImplementedError as error:
            print(not_written(error), file=sys.stderr)
        except ModuleNotFoundError as error:
            if not (error.name or "").startswith("tinytorch.core."):
                raise
            print(not_exported(error.name.split(".")[2]), file=sys.stderr)
        return NOT_READY_EXIT
    return run


def require_exported(*modules: str) -> None:
    """Stop with one line saying what to run when a module the benchmark times is not in the
    package yet (a student edition before `tito export`), instead of a worker's traceback."""
    import importlib.util

    missing = [name for name in modules if importlib.util.find_spec(f"tinytorch.core.{name}") is None]
    if missing:
        print(not_exported(missing[0]), file=sys.stderr)
        sys.exit(NOT_READY_EXIT)

