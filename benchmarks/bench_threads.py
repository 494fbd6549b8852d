"""When does a second BLAS thread pay? The measurement behind tinytorch/utils/threads.py.

    .venv/bin/python benchmarks/bench_threads.py [--rounds 9] [--sample-ms 20]
    .venv/bin/python benchmarks/bench_threads.py --epoch [--rounds 40]

Times float32 products (m, k) @ (k, n) of the shapes TinyTorch's layers make (the convolutions'
im2col products, their gradients, Dense layers), on one and on all of NumPy's BLAS threads,
alternating in this process (``_timing.alternate``), and prints the ratio. Run it on an idle
machine: ``tinytorch.utils.threads`` runs a product on one thread when it has fewer than
``MIN_PARALLEL_MACS`` multiply-accumulates or fewer than ``MIN_PARALLEL_SIDE`` rows or columns,
and this table is where those two numbers come from. (Whether the cores are free is the other
half of the policy; ``bench_conv.py --load busy`` measures what a busy core does.)

``--epoch`` asks the same question inside a training loop, where a product is one call among
many: the milestone's training epoch with ``MIN_PARALLEL_MACS`` at 2²⁰ and at 2²² (its
2.4 M-MAC products on two threads or on one), the two settings alternating epoch by epoch in
this process, each epoch after a 0.2 s pause (as the own-processes benchmarks pause).
Prints the median, mean and 90th percentile of each.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

from _processes import loadavg  # noqa: E402
from _timing import alternate, blas_info, format_seconds, medians, require_exported, stops_where_not_ready  # noqa: E402

# (m, k, n): rows of the result, inner size, columns of the result.
SHAPES = [
    (16, 10, 2048), (32, 145, 512), (16, 145, 2048), (32, 145, 2048), (32, 76, 12544),   # conv forward
    (144, 32, 512), (145, 32, 2048), (75, 32, 12544),                                   # conv input gradients
    (32, 512, 145), (32, 2048, 145), (32, 12544, 76),                                   # conv weight gradients
    (32, 128, 64), (32, 64, 10), (128, 5408, 128), (256, 784, 128),                     # Dense layers
    (8, 512, 4096), (4096, 512, 8), (64, 64, 64), (128, 128, 128), (256, 256, 256), (512, 512, 512),
]


@stops_where_not_ready
def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=None, help="9 for the products, 40 for --epoch")
    parser.add_argument("--sample-ms", type=float, default=20.0,
                        help="each sample repeats the call for at least this long (default 20)")
    parser.add_argument("--epoch", action="store_true", help="the training-loop comparison instead")
    args = parser.parse_args(argv)
    if args.epoch:
        require_exported("tensor", "cnn", "dataloader", "autograd", "optimizers", "training")
        return epoch_under_thresholds((1 << 20, 1 << 22), rounds=args.rounds or 40)
    args.rounds = args.rounds or 9

    from threadpoolctl import ThreadpoolController

    from tinytorch.utils import threads

    blas = ThreadpoolController().select(user_api="blas")
    most = max(lib.num_threads for lib in blas.lib_controllers)
    info = blas_info()
    print(f"{info['library']} kernel {info['corename']}, up to {most} threads; loadavg {loadavg()}")
    print(f"policy: 1 thread below {threads.MIN_PARALLEL_MACS:,} MACs or "
          f"{threads.MIN_PARALLEL_SIDE} rows/columns\n")
    print("| m × k × n | MACs | 1 thread | " + f"{most} threads | ratio | policy |")
    print("| --- | ---: | ---: | ---: | ---: | --- |")
    rng = np.random.default_rng(0)
    for m, k, n in SHAPES:
        a = rng.standard_normal((m, k)).astype(np.float32)
        b = rng.standard_normal((k, n)).astype(np.float32)

        def on(count):
            def run():
                with blas.limit(limits=count):
                    return a @ b
            return run

        times = medians(alternate({"one": on(1), "all": on(most)}, rounds=args.rounds,
                                  min_seconds=args.sample_ms / 1e3))
        small = threads.too_small_to_split(m, k, n)
        print(f"| {m} × {k} × {n} | {m * k * n / 1e6:.2f} M | {format_seconds(times['one'])} | "
              f"{format_seconds(times['all'])} | {times['all'] / times['one']:.2f} | "
              f"{'1 thread' if small else 'free cores'} |")
    print(f"\nloadavg after: {loadavg()}")
    return 0


def epoch_under_thresholds(thresholds, rounds, pause=0.2) -> int:
    """Milestone epochs alternating between ``MIN_PARALLEL_MACS`` values: a table of times."""
    from bench_training import epoch_tinytorch
    from tinytorch.utils import threads

    run, _ = epoch_tinytorch()
    for _ in range(3):
        run()
    seconds = {threshold: [] for threshold in thresholds}
    saved = threads.MIN_PARALLEL_MACS
    try:
        for round_ in range(rounds):
            for threshold in (thresholds if round_ % 2 == 0 else thresholds[::-1]):
                threads.MIN_PARALLEL_MACS = threshold
                time.sleep(pause)
                start = time.perf_counter()
                run()
                seconds[threshold].append(time.perf_counter() - start)
    finally:
        threads.MIN_PARALLEL_MACS = saved
    print(f"milestone epoch, {rounds} rounds alternating; loadavg {loadavg()}\n")
    print("| MIN_PARALLEL_MACS | median | mean | 90th percentile |")
    print("| ---: | ---: | ---: | ---: |")
    for threshold, times in seconds.items():
        print(f"| {threshold:,} | {format_seconds(float(np.median(times)))} | "
              f"{format_seconds(float(np.mean(times)))} | {format_seconds(float(np.percentile(times, 90)))} |")
    print(f"\nloadavg after: {loadavg()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
