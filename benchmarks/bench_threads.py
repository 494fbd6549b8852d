"""When does a second BLAS thread pay? The measurement behind tinytorch/utils/threads.py.

    .venv/bin/python benchmarks/bench_threads.py [--rounds 9] [--sample-ms 20]

Times float32 products (m, k) @ (k, n) of the shapes TinyTorch's layers make (the convolutions'
im2col products, their gradients, Dense layers), on one and on all of NumPy's BLAS threads,
alternating in this process (``_timing.alternate``), and prints the ratio. Run it on an idle
machine: ``tinytorch.utils.threads`` runs a product on one thread when it has fewer than
``MIN_PARALLEL_MACS`` multiply-accumulates or fewer than ``MIN_PARALLEL_SIDE`` rows or columns,
and this table is where those two numbers come from. (Whether the cores are free is the other
half of the policy; ``bench_conv.py --load busy`` measures what a busy core does.)
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

from _processes import loadavg  # noqa: E402
from _timing import alternate, blas_info, format_seconds, medians  # noqa: E402

# (m, k, n): rows of the result, inner size, columns of the result.
SHAPES = [
    (16, 10, 2048), (32, 145, 512), (16, 145, 2048), (32, 145, 2048), (32, 76, 12544),   # conv forward
    (144, 32, 512), (145, 32, 2048), (75, 32, 12544),                                   # conv input gradients
    (32, 512, 145), (32, 2048, 145), (32, 12544, 76),                                   # conv weight gradients
    (32, 128, 64), (32, 64, 10), (128, 5408, 128), (256, 784, 128),                     # Dense layers
    (8, 512, 4096), (4096, 512, 8), (64, 64, 64), (128, 128, 128), (256, 256, 256), (512, 512, 512),
]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--sample-ms", type=float, default=20.0)
    args = parser.parse_args(argv)

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


if __name__ == "__main__":
    raise SystemExit(main())
