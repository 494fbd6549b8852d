"""Conv2D forward: TinyTorch's exported layer against PyTorch on the CPU, and the loop reference.

    .venv/bin/python benchmarks/bench_conv.py [--rounds 21] [--sample-ms 50] [--threads N] [--no-torch]

Two cases from issue 4:

* ``cifar``: a CIFAR-sized batch (128, 3, 32, 32) through 32 filters 5×5 (241 M MACs), target
  within 1.5× of PyTorch;
* ``small``: (32, 16, 8, 8) through 32 filters 3×3, padding 1 (9.4 M MACs), where fixed per-call
  costs dominate; target within 4× of PyTorch.

Both sides run the same weights on the same float32 data; outputs are checked to agree before any
timing. Times are medians of alternating runs in this one process (see ``_timing.py``): the
machine is shared, so only ratios from one run are meaningful. Each sample repeats one library's
call for at least ``--sample-ms`` (50 ms): after a call, worker threads keep spinning for a
while on the cores the other library needs next, and long samples keep that hand-over cost from
dominating the small case (``_timing`` also sets ``OMP_WAIT_POLICY=PASSIVE``, so PyTorch's
OpenMP workers sleep instead of spinning). PyTorch runs under
``torch.no_grad()`` (TinyTorch's forward builds no graph either), with its default thread count.
Without torch the comparison is skipped and absolute times are printed. ``--threads N`` sets both
libraries to N threads (OpenBLAS through ``set_blas_threads``, torch through
``torch.set_num_threads``): on a shared machine, ``--threads 1`` compares the two kernels without
either one waiting for a core that another process holds.

The loop reference (``conv2d_reference``) is timed on a slice of 2 images and scaled to the batch.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

from _timing import alternate, blas_info, format_seconds, load_torch, medians, set_blas_threads  # noqa: E402

from tinytorch.core.cnn import Conv2D, conv2d_reference  # noqa: E402
from tinytorch.core.tensor import Tensor  # noqa: E402

CASES = {
    "cifar": {"input": (128, 3, 32, 32), "filters": 32, "kernel": 5, "padding": 0, "target": 1.5},
    "small": {"input": (32, 16, 8, 8), "filters": 32, "kernel": 3, "padding": 1, "target": 4.0},
}


def build_case(spec: dict, torch):
    """The TinyTorch layer, its input, and (when torch is there) the same layer and input in torch."""
    rng = np.random.default_rng(0)
    np.random.seed(0)
    C = spec["input"][1]
    layer = Conv2D(C, spec["filters"], spec["kernel"], padding=spec["padding"])
    x = Tensor(rng.standard_normal(spec["input"]).astype(np.float32))
    if torch is None:
        return layer, x, None, None
    twin = torch.nn.Conv2d(C, spec["filters"], spec["kernel"], padding=spec["padding"])
    with torch.no_grad():
        twin.weight.copy_(torch.from_numpy(layer.weight.data))
        twin.bias.copy_(torch.from_numpy(layer.bias.data))
    return layer, x, twin, torch.from_numpy(x.data)


def macs(spec: dict) -> int:
    N, C, H, W = spec["input"]
    k, p = spec["kernel"], spec["padding"]
    out = (H + 2 * p - k + 1) * (W + 2 * p - k + 1)
    return N * spec["filters"] * out * C * k * k


def time_case(name: str, spec: dict, torch, rounds: int, sample_seconds: float) -> dict:
    layer, x, twin, tx = build_case(spec, torch)
    candidates = {"tinytorch": lambda: layer(x)}
    if twin is not None:
        with torch.no_grad():
            expected = twin(tx).numpy()
        np.testing.assert_allclose(layer(x).data, expected, rtol=1e-4, atol=1e-4)

        def run_torch():
            with torch.no_grad():
                return twin(tx)

        candidates["torch"] = run_torch
    times = medians(alternate(candidates, rounds=rounds, min_seconds=sample_seconds))
    row = {"case": name, "spec": spec, "macs": macs(spec), **times}
    if "torch" in times:
        row["ratio"] = times["tinytorch"] / times["torch"]
    return row


def time_loop_reference(spec: dict, images: int = 2, repeats: int = 3) -> float:
    """Seconds for the whole batch, from the median of ``repeats`` runs on ``images`` images."""
    rng = np.random.default_rng(1)
    x = rng.standard_normal((images, *spec["input"][1:])).astype(np.float32)
    weight = rng.standard_normal((spec["filters"], spec["input"][1], spec["kernel"], spec["kernel"])).astype(np.float32)
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        conv2d_reference(x, weight, padding=spec["padding"])
        samples.append(time.perf_counter() - start)
    return sorted(samples)[len(samples) // 2] * spec["input"][0] / images


def describe(spec: dict) -> str:
    N, C, H, W = spec["input"]
    pad = f", pad {spec['padding']}" if spec["padding"] else ""
    return f"({N}, {C}, {H}, {W}) → {spec['filters']} × {spec['kernel']}×{spec['kernel']}{pad}"


def report(rows: list[dict], loops: dict, torch) -> str:
    lines = [
        "| case | input → filters | MACs | TinyTorch Conv2D | PyTorch CPU | ratio | target |",
        "| --- | --- | ---: | ---: | ---: | ---: | --- |",
    ]
    for row in rows:
        torch_time = format_seconds(row["torch"]) if "torch" in row else "—"
        ratio = f"{row['ratio']:.2f}×" if "ratio" in row else "—"
        target = f"≤ {row['spec']['target']}×"
        if "ratio" in row:
            target += " ✓" if row["ratio"] <= row["spec"]["target"] else " ✗"
        lines.append(
            f"| {row['case']} | {describe(row['spec'])} | {row['macs'] / 1e6:.1f} M | "
            f"{format_seconds(row['tinytorch'])} | {torch_time} | {ratio} | {target} |"
        )
    for name, seconds in loops.items():
        fast = next(row["tinytorch"] for row in rows if row["case"] == name)
        lines.append(
            f"| {name}, loop reference | {describe(CASES[name])} | {macs(CASES[name]) / 1e6:.1f} M | "
            f"{format_seconds(seconds)} (2 images, scaled) | | {seconds / fast:,.0f}× the fast layer | |"
        )
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=21, help="alternating samples per candidate (default 21)")
    parser.add_argument("--sample-ms", type=float, default=50.0,
                        help="each sample repeats a call back to back for at least this long (default 50)")
    parser.add_argument("--threads", type=int, default=None, help="threads for both OpenBLAS and torch (default: theirs)")
    parser.add_argument("--no-torch", action="store_true", help="skip the PyTorch comparison")
    parser.add_argument("--no-loops", action="store_true", help="skip timing the loop reference")
    args = parser.parse_args(argv)

    torch = load_torch(args.no_torch)
    if args.threads is not None:
        if not set_blas_threads(args.threads):
            print("could not set the OpenBLAS thread count (library not found)")
        if torch is not None:
            torch.set_num_threads(args.threads)
    blas = blas_info()
    print(
        f"numpy {blas['numpy']}, OpenBLAS kernel {blas['corename']} ({blas['threads']} threads); "
        f"OPENBLAS_CORETYPE={blas['OPENBLAS_CORETYPE']}, OPENBLAS_L2_SIZE={blas['OPENBLAS_L2_SIZE']}"
    )
    if torch is None:
        print("torch not available: printing TinyTorch's absolute times only.")
    else:
        print(f"torch {torch.__version__}, {torch.get_num_threads()} threads")
    print(f"cores: {os.cpu_count()}, load average (1 min): {os.getloadavg()[0]:.2f} (other jobs slow multi-threaded runs)")

    rows = [time_case(name, spec, torch, args.rounds, args.sample_ms / 1e3) for name, spec in CASES.items()]
    loops = {} if args.no_loops else {"cifar": time_loop_reference(CASES["cifar"])}
    print()
    print(report(rows, loops, torch))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
