"""Timing for the modules' "measure it" cells: one small helper, so every module measures alike."""

import time


def median_seconds(run, repeats=7):
    """Median wall time in seconds of ``run()`` over ``repeats`` calls (the median shrugs off noisy runs)."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return sorted(times)[len(times) // 2]
