"""The milestone's margin: `tito milestone cnn`'s recipe over many seeds and numerical variants.

    .venv/bin/python benchmarks/bench_milestone.py                       # seeds 0-7, three variants
    .venv/bin/python benchmarks/bench_milestone.py --seeds 0-3 --variants float64 --jobs 1

Each run is the milestone's ``run(seed=...)`` (5-fold cross-validation, every digit tested once)
in a process of its own, ``--jobs`` at a time, without the pictures; each row gives its wall time
and its CPU time (one thread: on a quiet machine the wall time is about the CPU time). The
variants:

* ``float32``: the milestone as students run it;
* ``float64``: every network in float64 (parameters converted, as PyTorch's ``model.double()``);
* ``reordered``: float32, but Conv2D's forward sums its products in another order — one matrix
  product per kernel offset, accumulated, instead of im2col's single product — as a correct
  student implementation might: the same numbers up to rounding.

The recipe is robust when every run clears 0.985 (the goal is 0.98). Prints one row per run and
a summary per variant, with the load average. Accuracy is measured here, not in the test suite.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

from _processes import loadavg  # noqa: E402

VARIANTS = ("float32", "float64", "reordered")
MARGIN = 0.985


def conv2d_by_offsets(x, weight, bias=None, stride=1, padding=0):
    """Conv2D's forward summed in another order: for each kernel offset (di, dj) one product
    (F, C) @ (C, N·H'·W') of the shifted input, accumulated over the kH·kW offsets."""
    from tinytorch.core.cnn import conv_output_size, padding_sides, to_pair

    x = np.asarray(x)
    F, C, kH, kW = weight.shape
    sh, sw = to_pair(stride, "stride")
    (top, bottom), (left, right) = padding_sides(padding, (kH, kW), (sh, sw))
    xp = np.pad(x, ((0, 0), (0, 0), (top, bottom), (left, right)))
    H_out = conv_output_size(xp.shape[2], kH, sh)
    W_out = conv_output_size(xp.shape[3], kW, sw)
    dtype = np.result_type(x, weight)
    out = np.zeros((F, x.shape[0], H_out, W_out), dtype)
    for di in range(kH):
        for dj in range(kW):
            shifted = xp[:, :, di:di + sh * (H_out - 1) + 1:sh, dj:dj + sw * (W_out - 1) + 1:sw]
            out += np.tensordot(weight[:, :, di, dj], shifted, axes=([1], [1]))
    if bias is not None:
        out += np.asarray(bias, dtype).reshape(F, 1, 1, 1)
    return np.ascontiguousarray(out.transpose(1, 0, 2, 3))


def one_run(seed: int, variant: str) -> dict:
    """The milestone once, quietly, in this process: accuracy, correct counts and seconds."""
    import io

    from rich.console import Console

    import tinytorch.core.cnn as cnn
    from tito.milestones import cnn_digits

    if variant == "reordered":
        cnn.conv2d_forward = conv2d_by_offsets          # what Conv2D.forward calls
    cnn_digits.show_pictures = lambda *args: []
    dtype = np.float64 if variant == "float64" else np.float32
    start, cpu = time.perf_counter(), time.process_time()
    result = cnn_digits.run(seed=seed, dtype=dtype, console=Console(file=io.StringIO()))
    return {"seed": seed, "variant": variant, "accuracy": result.accuracy,
            "correct": sum(c for c, _ in result.folds), "total": sum(t for _, t in result.folds),
            "seconds": time.perf_counter() - start, "cpu_seconds": time.process_time() - cpu}


def in_process(seed: int, variant: str) -> dict:
    done = subprocess.run([sys.executable, __file__, "--worker", str(seed), variant],
                          capture_output=True, text=True, cwd=HERE, env=dict(os.environ))
    if done.returncode != 0:
        raise RuntimeError(f"seed {seed} {variant} failed:\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def seeds_of(text: str) -> list[int]:
    """'0-7' -> [0, ..., 7]; '0,3,5' -> [0, 3, 5]."""
    if "-" in text:
        low, high = text.split("-")
        return list(range(int(low), int(high) + 1))
    return [int(item) for item in text.split(",")]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", default="0-7", help="e.g. 0-7 or 0,3,5 (default 0-7)")
    parser.add_argument("--variants", default=",".join(VARIANTS), help="comma list of " + ", ".join(VARIANTS))
    parser.add_argument("--jobs", type=int, default=2, help="runs at a time, each in its own process (default 2)")
    parser.add_argument("--worker", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        print(json.dumps(one_run(int(args.worker[0]), args.worker[1])))
        return 0
    variants = args.variants.split(",")
    unknown = set(variants) - set(VARIANTS)
    if unknown:
        parser.error(f"unknown variant(s) {sorted(unknown)}; choose from {', '.join(VARIANTS)}")
    runs = [(seed, variant) for variant in variants for seed in seeds_of(args.seeds)]
    print(f"{len(runs)} runs, {args.jobs} at a time; loadavg {loadavg()}")
    with ThreadPoolExecutor(args.jobs) as pool:
        rows = list(pool.map(lambda run: in_process(*run), runs))
    print("\n| variant | seed | test accuracy | correct | wall seconds | CPU seconds |\n"
          "| --- | ---: | ---: | ---: | ---: | ---: |")
    for row in rows:
        print(f"| {row['variant']} | {row['seed']} | {row['accuracy']:.4f} | "
              f"{row['correct']}/{row['total']} | {row['seconds']:.1f} | {row['cpu_seconds']:.1f} |")
    print(f"\n| variant | runs | min | mean | max | ≥ {MARGIN} |\n| --- | ---: | ---: | ---: | ---: | ---: |")
    for variant in variants:
        scores = [row["accuracy"] for row in rows if row["variant"] == variant]
        print(f"| {variant} | {len(scores)} | {min(scores):.4f} | {np.mean(scores):.4f} | "
              f"{max(scores):.4f} | {sum(score >= MARGIN for score in scores)}/{len(scores)} |")
    print(f"\nloadavg after: {loadavg()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
