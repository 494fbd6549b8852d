"""Conv2D forward: TinyTorch's exported layer against PyTorch on the CPU, and the loop reference.

    .venv/bin/python benchmarks/bench_conv.py                      # the whole table (own processes)
    .venv/bin/python benchmarks/bench_conv.py --load idle --threads default
    .venv/bin/python benchmarks/bench_conv.py --mode one-process [--threads 1]

Two cases:

* ``cifar``: a CIFAR-sized batch (128, 3, 32, 32) through 32 filters 5×5 (241 M MACs);
* ``small``: (32, 16, 8, 8) through 32 filters 3×3, padding 1 (9.4 M MACs), where fixed per-call
  costs dominate; the digits CNN is made of layers like it.

**Own processes** (the default mode, see ``_processes.py``): each library in its own process at its
own default thread count, sampled in alternating rounds, on an idle machine and with one core kept
busy by a spinning process the benchmark starts itself; then the same with one thread each.
Targets (ratio to PyTorch, default threads): idle cifar ≤ 0.8×, small ≤ 1.5×; one core busy
cifar ≤ 1.2×, small ≤ 2.0×.

**One process** (``--mode one-process``): both libraries alternating in this process, as before
(``_timing.alternate``); ``--threads N`` sets both to N threads.

Both sides run the same float32 weights and data; outputs are checked to agree before any timing.
PyTorch runs under ``torch.no_grad()`` (TinyTorch's forward builds no graph either). The loop
reference (``conv2d_reference``) is timed on a slice of 2 images and scaled to the batch.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

import _processes  # noqa: E402
from _timing import blas_info, format_seconds, require_exported, stops_where_not_ready  # noqa: E402

CASES = {
    "cifar": {"input": (128, 3, 32, 32), "filters": 32, "kernel": 5, "padding": 0},
    "small": {"input": (32, 16, 8, 8), "filters": 32, "kernel": 3, "padding": 1},
}
TARGETS = {("cifar", "idle"): 0.8, ("small", "idle"): 1.5, ("cifar", "busy"): 1.2, ("small", "busy"): 2.0}


def case_data(spec: dict):
    """The float32 input, weight and bias of a case, the same in every process."""
    rng = np.random.default_rng(0)
    N, C, H, W = spec["input"]
    k = spec["kernel"]
    bound = 1 / np.sqrt(C * k * k)
    weight = rng.uniform(-bound, bound, (spec["filters"], C, k, k)).astype(np.float32)
    bias = rng.uniform(-bound, bound, spec["filters"]).astype(np.float32)
    return rng.standard_normal(spec["input"]).astype(np.float32), weight, bias


def build(library: str, name: str):
    """``(run, result)`` for one case in one library: the timed call and its output as an ndarray."""
    spec = CASES[name]
    x, weight, bias = case_data(spec)
    C, F, k, p = spec["input"][1], spec["filters"], spec["kernel"], spec["padding"]
    if library == "tinytorch":
        from tinytorch.core.cnn import Conv2D
        from tinytorch.core.tensor import Tensor

        layer = Conv2D(C, F, k, padding=p)
        layer.weight.data[...] = weight
        layer.bias.data[...] = bias
        tx = Tensor(x)
        return (lambda: layer(tx)), (lambda: layer(tx).data)
    import torch

    twin = torch.nn.Conv2d(C, F, k, padding=p)
    with torch.no_grad():
        twin.weight.copy_(torch.from_numpy(weight))
        twin.bias.copy_(torch.from_numpy(bias))
    tx = torch.from_numpy(x)

    def run():
        with torch.no_grad():
            return twin(tx)

    return run, (lambda: run().numpy())


def macs(spec: dict) -> int:
    N, C, H, W = spec["input"]
    k, p = spec["kernel"], spec["padding"]
    out = (H + 2 * p - k + 1) * (W + 2 * p - k + 1)
    return N * spec["filters"] * out * C * k * k


def describe(name: str) -> str:
    spec = CASES[name]
    N, C, H, W = spec["input"]
    pad = f", pad {spec['padding']}" if spec["padding"] else ""
    return f"{name} ({N}, {C}, {H}, {W}) → {spec['filters']} × {spec['kernel']}×{spec['kernel']}{pad}"


def target(row: dict):
    return TARGETS.get((row["case"], row["load"])) if row["threads"] == "default" else None


def time_loop_reference(spec: dict, images: int = 2, repeats: int = 3) -> float:
    """Seconds for the whole batch, from the median of ``repeats`` runs on ``images`` images."""
    from tinytorch.core.cnn import conv2d_reference

    x, weight, _ = case_data(spec)
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        conv2d_reference(x[:images], weight, padding=spec["padding"])
        samples.append(time.perf_counter() - start)
    return sorted(samples)[len(samples) // 2] * spec["input"][0] / images


def breakdown(name: str = "small", rounds: int = 9) -> list[tuple[str, float]]:
    """CPU seconds per forward (one thread, ``time.thread_time``) of each step of Conv2D on a
    case: the steps of one chunk of images timed one by one with the library's own helpers and
    scaled to the batch, and what is left of the whole layer call (Python, argument checks,
    allocations, the bias row)."""
    from tinytorch.core import cnn
    from tinytorch.core.tensor import Tensor
    from tinytorch.utils import threads

    threads.set_num_threads(1)
    spec = CASES[name]
    x, weight, bias = case_data(spec)
    layer = cnn.Conv2D(spec["input"][1], spec["filters"], spec["kernel"], padding=spec["padding"])
    layer.weight.data[...], layer.bias.data[...] = weight, bias
    k, F, (N, C, H, W) = spec["kernel"], spec["filters"], spec["input"]
    sides = cnn.padding_sides(spec["padding"], k)
    P = cnn.conv_output_size(H, k, 1, spec["padding"]) * cnn.conv_output_size(W, k, 1, spec["padding"])
    K = C * k * k
    n = cnn.images_per_chunk(N, K + 1, P, np.float32)                   # conv2d_forward's chunk
    images = x[:n]
    xt = cnn.to_batch_last(images, sides)
    view = cnn.sliding_windows(xt, k, 1, axes=(1, 2)).transpose(0, 4, 5, 1, 2, 3)
    cols = np.ones((K + 1, P * n), np.float32)
    target = cols[:K].reshape(view.shape)
    filters = np.concatenate([weight.reshape(F, K), bias[:, None]], axis=1)
    result = filters @ cols
    out = np.empty((n, F, P), np.float32)
    tx = Tensor(x)
    chunks = N / n
    steps = {
        "pad + batch-last copy of the input": lambda: cnn.to_batch_last(images, sides),
        "window view (as_strided, transpose)":
            lambda: cnn.sliding_windows(xt, k, 1, axes=(1, 2)).transpose(0, 4, 5, 1, 2, 3),
        "im2col copy of the windows": lambda: np.copyto(target, view),
        "the matrix product (one thread)": lambda: filters @ cols,
        "output transpose to (N, F, H', W')":
            lambda: np.copyto(out, result.reshape(F, P, n).transpose(2, 0, 1)),
    }
    times = {}
    tiny_layer, tiny = cnn.Conv2D(1, 1, 3, padding=1), Tensor(np.ones((1, 1, 3, 3), np.float32))
    with threadpool_limits(limits=1, user_api="blas"):        # the bare products too
        for label, step in [*steps.items(), ("whole Conv2D call", lambda: layer(tx))]:
            scale = 1 if label == "whole Conv2D call" else chunks
            times[label] = scale * _median_cpu(step, rounds)
        fixed = _median_cpu(lambda: tiny_layer(tiny), rounds)
        other_way = chunks * _product_other_way_round(cols, filters, rounds)
    whole = times.pop("whole Conv2D call")
    rows = list(times.items())
    rows.append(("rest: Python, checks, allocations, bias row, caches", whole - sum(times.values())))
    rows.append(("  of which the fixed cost of a call (Conv2D(1, 1, 3, padding=1) on 1×1×3×3)", fixed))
    rows.append((f"whole Conv2D call ({N // n if N % n == 0 else chunks:g} chunk(s) of {n} images)", whole))
    rows.append(("for comparison, not in the layer: the same product the other way round, "
                 "patches @ filters.T", other_way))
    return rows


def _product_other_way_round(cols, filters, rounds):
    """CPU seconds of ``patches @ filters.T``, patches = cols.T made contiguous: the product
    OpenBLAS runs fastest for a few filters and many windows (benchmarks/README.md)."""
    patches, filters_t = np.ascontiguousarray(cols.T), np.ascontiguousarray(filters.T)
    return _median_cpu(lambda: patches @ filters_t, rounds)


def _median_cpu(step, rounds) -> float:
    """Median CPU seconds per call of ``step`` over ``rounds`` samples of about 20 ms each."""
    step()
    repeat = max(1, int(0.02 / max(_cpu(step), 1e-7)))
    return statistics.median(_cpu(step, repeat) for _ in range(rounds))


def _cpu(function, repeat=1) -> float:
    """CPU seconds of this thread per call of ``function``."""
    start = time.thread_time()
    for _ in range(repeat):
        function()
    return (time.thread_time() - start) / repeat


@stops_where_not_ready
def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    _processes.add_arguments(parser, rounds=21, sample_ms=50.0)
    parser.add_argument("--no-loops", action="store_true", help="skip timing the loop reference")
    parser.add_argument("--breakdown", choices=list(CASES),
                        help="instead: where one forward of this case spends its CPU time, step by step")
    args = parser.parse_args(argv)
    require_exported("tensor", "cnn")
    if args.worker:
        _processes.serve(build, args.worker, int(args.threads) if args.threads else None)
        return 0
    if args.breakdown:
        print(f"{describe(args.breakdown)}: CPU time per forward, one thread, loadavg {_processes.loadavg()}\n")
        print("| step | time |\n| --- | ---: |")
        for label, seconds in breakdown(args.breakdown, args.rounds):
            print(f"| {label} | {format_seconds(seconds)} |")
        return 0
    rows = _processes.rows_for(args, __file__, build, list(CASES), tolerance=(1e-4, 1e-4))
    print()
    print(_processes.table(rows, describe, target))
    if not args.no_loops:
        seconds = time_loop_reference(CASES["cifar"])
        fast = next(row["tinytorch"] for row in rows if row["case"] == "cifar")
        print(f"\nloop reference, {describe('cifar')}, {macs(CASES['cifar']) / 1e6:.1f} M MACs: "
              f"{format_seconds(seconds)} (2 images, scaled to 128), {seconds / fast:,.0f}× the fast layer")
    blas = blas_info()
    print(f"numpy {blas['numpy']}, {blas['library']} kernel {blas['corename']}; "
          f"OPENBLAS_CORETYPE={blas['OPENBLAS_CORETYPE']}, OPENBLAS_L2_SIZE={blas['OPENBLAS_L2_SIZE']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
