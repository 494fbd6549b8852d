"""The "own processes" mode of the benchmarks: each library alone in its own process.

Students run one library at a time, at its default thread count, on a machine that is rarely
idle. Timing two libraries in one process measures something else: each one's worker threads
keep spinning after a call, on the cores the other one needs next. So here the parent process
starts one *worker* per library (``python SCRIPT --worker LIBRARY``), which imports only that
library and builds every case, and then asks the workers in turn for one timed sample each:

    round 1:  tinytorch, torch      round 2:  torch, tinytorch      ...   (order flipped)

Only one worker computes at a time; the other waits on a pipe. Before each sample the parent
pauses ``gap`` seconds, so the threads of the previous sample have gone to sleep (OpenBLAS's
spin for ~0.1 s after a multi-threaded product). A sample repeats the call back to back for at
least ``sample_seconds``; the medians of ``rounds`` samples and their ratio come from one run.

``load="busy"`` starts a process that spins on one core for the whole measurement (the
benchmark's own, stopped afterwards); ``load="idle"`` adds nothing. ``threads=1`` starts the
workers with one thread each (TinyTorch: ``TINYTORCH_NUM_THREADS=1``; PyTorch:
``torch.set_num_threads(1)``); ``threads=None`` leaves both at their defaults.

A benchmark script provides ``build(library, case) -> (run, result)``: ``run()`` is the timed
call, ``result()`` an ndarray (or a list of them) that must agree between the libraries; and it
calls :func:`serve` when started with ``--worker``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable

import numpy as np

from _timing import NOT_READY_EXIT, alternate, blas_info, calls_per_sample, format_seconds, load_torch, medians


# ------------------------------------------------------------------ the worker side
def serve(build: Callable, library: str, threads: int | None = None) -> None:
    """Answer the parent's requests on stdin/stdout until it says ``quit``.

    ``threads`` (PyTorch only; TinyTorch reads ``TINYTORCH_NUM_THREADS``, set by the parent)
    fixes the library's thread count.

    Requests, one JSON list per line: ``["info"]``, ``["check", case, path]`` (save the case's
    result as .npz at path), ``["time", case, seconds]`` (one sample: seconds per call).
    """
    if library == "torch" and threads is not None:
        import torch

        torch.set_num_threads(threads)
    channel = sys.stdout
    sys.stdout = sys.stderr                     # anything the libraries print stays off the pipe
    built: dict[str, tuple] = {}
    calls: dict[str, int] = {}

    def case(name):
        if name not in built:
            built[name] = build(library, name)
        return built[name]

    for line in sys.stdin:
        request = json.loads(line)
        if request[0] == "quit":
            break
        if request[0] == "info":
            answer = worker_info(library)
        elif request[0] == "check":
            result = case(request[1])[1]()
            arrays = result if isinstance(result, (list, tuple)) else [result]
            np.savez(request[2], *[np.asarray(array) for array in arrays])
            answer = "ok"
        else:
            _, name, seconds = request
            run = case(name)[0]
            if name not in calls:
                run()                           # warm-up: caches, allocator, thread start
                calls[name] = calls_per_sample(run, seconds, limit=10_000)
            if library == "tinytorch":
                _measure_the_load_afresh()
            start = time.perf_counter()
            for _ in range(calls[name]):
                run()
            answer = (time.perf_counter() - start) / calls[name]
        channel.write(json.dumps(answer) + "\n")
        channel.flush()


def _measure_the_load_afresh() -> None:
    """Start TinyTorch's load window after the other worker's sample, not before it.

    ``tinytorch.utils.threads`` counts the cores other processes used over its last window
    (at least ``LOAD_INTERVAL``); left alone, that window would span the PyTorch worker's
    sample that just ran, load which this benchmark adds and a student running TinyTorch alone
    never has. Closing the window now and waiting one interval makes the first product of the
    sample see the machine as it is: idle, or with the spinner of ``load="busy"`` on one core.
    """
    from tinytorch.utils import threads

    time.sleep(threads.LOAD_INTERVAL)
    threads.free_cores()
    time.sleep(threads.LOAD_INTERVAL * 1.1)


def worker_info(library: str) -> dict:
    """Versions and thread counts as this worker sees them."""
    if library == "torch":
        import torch

        return {"library": "torch", "version": torch.__version__, "threads": torch.get_num_threads(),
                "cpu capability": torch.backends.cpu.get_cpu_capability()}
    from tinytorch.utils import threads

    info = blas_info()
    blas = f"{info['library']} {info['corename']}, {info['threads']} threads"
    fixed = threads.get_num_threads()
    return {"library": "tinytorch", "version": f"numpy {np.__version__}", "blas": blas,
            "threads": f"{fixed} (fixed)" if fixed else "auto (tinytorch.utils.threads)"}


# ------------------------------------------------------------------ the parent side
class Worker:
    """One library's worker process, spoken to through its stdin and stdout."""

    def __init__(self, script: Path, library: str, threads: int | None):
        env = dict(os.environ)
        args = [sys.executable, str(script), "--worker", library]
        if threads is not None:
            env["TINYTORCH_NUM_THREADS"] = str(threads)
            args += ["--threads", str(threads)]
        self.library = library
        self.process = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                        text=True, env=env, cwd=script.parent)

    def ask(self, *request):
        self.process.stdin.write(json.dumps(request) + "\n")
        self.process.stdin.flush()
        line = self.process.stdout.readline()
        if not line:
            code = self.process.wait()
            if code == NOT_READY_EXIT:  # the worker said what is missing on its stderr, which is ours
                raise SystemExit(NOT_READY_EXIT)
            raise RuntimeError(f"the {self.library} worker stopped (exit code {code}); see its errors above")
        return json.loads(line)

    def close(self):
        if self.process.poll() is None:
            with contextlib.suppress(BrokenPipeError, OSError):
                self.process.stdin.write(json.dumps(["quit"]) + "\n")
                self.process.stdin.close()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@contextlib.contextmanager
def workers(script: Path, libraries, threads: int | None):
    started = []
    try:
        for library in libraries:
            started.append(Worker(script, library, threads))
        yield started
    finally:
        for worker in started:
            worker.close()


@contextlib.contextmanager
def machine_load(load: str):
    """``idle``: nothing; ``busy``: a process spinning on one core while the block runs."""
    if load == "idle":
        yield
        return
    if load != "busy":
        raise ValueError(f"load must be 'idle' or 'busy', got {load!r}")
    spinner = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        time.sleep(0.5)                         # running, and seen by load measurements
        yield
    finally:
        spinner.kill()
        spinner.wait()


def check_agreement(pool, case: str, rtol: float, atol: float) -> None:
    """Every worker's result for ``case`` equals the first one's: within ``rtol``, or within
    ``atol`` times the largest magnitude of that result (float32 sums of 100,000 products
    cancel to small numbers with large relative errors)."""
    with tempfile.TemporaryDirectory() as folder:
        results = []
        for worker in pool:
            path = Path(folder) / f"{worker.library}.npz"
            worker.ask("check", case, str(path))
            with np.load(path) as saved:
                results.append([saved[key] for key in sorted(saved.files, key=lambda k: int(k.split("_")[1]))])
    for worker, arrays in zip(pool[1:], results[1:]):
        assert_agree(results[0], arrays, rtol, atol, f"{case}: {pool[0].library} and {worker.library}")


def assert_agree(ours, theirs, rtol: float, atol: float, label: str) -> None:
    """Results (an array or a list of arrays) equal within ``rtol``, or within ``atol`` times the
    largest magnitude of each expected array."""
    ours = ours if isinstance(ours, (list, tuple)) else [ours]
    theirs = theirs if isinstance(theirs, (list, tuple)) else [theirs]
    for index, (mine, expected) in enumerate(zip(ours, theirs)):
        np.testing.assert_allclose(
            mine, expected, rtol=rtol, atol=atol * max(1.0, float(np.abs(expected).max(initial=0))),
            err_msg=f"{label}: result {index} differs")


def time_side_by_side(pool, case: str, rounds: int, sample_seconds: float, gap: float) -> dict:
    """Median seconds per call of every worker on ``case``, sampled in alternating rounds."""
    samples = {worker.library: [] for worker in pool}
    for worker in pool:                          # warm-up, and the calls per sample
        worker.ask("time", case, sample_seconds)
    for round_index in range(rounds):
        order = pool if round_index % 2 == 0 else pool[::-1]
        for worker in order:
            time.sleep(gap)
            samples[worker.library].append(worker.ask("time", case, sample_seconds))
    return {library: statistics.median(values) for library, values in samples.items()}


def loadavg() -> str:
    """The first three fields of /proc/loadavg ('1.02 0.87 0.61'), or os.getloadavg() elsewhere."""
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return " ".join(f"{value:.2f}" for value in os.getloadavg())


def own_processes(script, cases, libraries, loads, thread_modes, rounds, sample_seconds, gap,
                  tolerance) -> list[dict]:
    """Rows ``{case, load, threads, <library>: seconds, ratio, loadavg}`` for every combination.

    The results are checked to agree once per worker start, before any timing.
    """
    rows = []
    for threads in thread_modes:
        with workers(Path(script), libraries, threads) as pool:
            for worker in pool:
                print(f"  {worker.library} worker: {worker.ask('info')}")
            if len(pool) > 1:
                for case in cases:
                    check_agreement(pool, case, *tolerance)
            for load in loads:
                with machine_load(load):
                    before = loadavg()
                    for case in cases:
                        times = time_side_by_side(pool, case, rounds, sample_seconds, gap)
                        row = {"case": case, "load": load, "threads": threads or "default",
                               **times, "loadavg": f"{before} → {loadavg()}"}
                        if len(pool) > 1:
                            row["ratio"] = times[pool[0].library] / times[pool[1].library]
                        rows.append(row)
                        print(f"  {case}, {load}, threads {row['threads']}: " + ", ".join(
                            f"{name} {times[name] * 1e3:.3f} ms" for name in times)
                            + (f", ratio {row['ratio']:.2f}×" if "ratio" in row else "")
                            + f"  (loadavg {row['loadavg']})")
    return rows


# ------------------------------------------------------------------ shared command line and table
def add_arguments(parser, rounds: int, sample_ms: float) -> None:
    """The options every benchmark script shares (mode, load, threads, sampling, worker)."""
    parser.add_argument("--mode", choices=["own-processes", "one-process"], default="own-processes",
                        help="each library in its own process (default) or both in this one")
    parser.add_argument("--load", default="idle,busy",
                        help="own-processes: comma list of idle, busy (a core kept busy) (default: idle,busy)")
    parser.add_argument("--threads", default=None,
                        help="comma list of 'default' and thread counts, e.g. default,1 "
                             "(own-processes default: default,1; one-process: one value, default: default)")
    parser.add_argument("--rounds", type=int, default=rounds,
                        help=f"alternating samples per library (default {rounds})")
    parser.add_argument("--sample-ms", type=float, default=sample_ms,
                        help="each sample repeats the call back to back for at least this long "
                             f"(default {sample_ms:g})")
    parser.add_argument("--gap-ms", type=float, default=200.0,
                        help="own-processes: pause before each sample, so the other library's threads sleep "
                             "(default 200)")
    parser.add_argument("--no-torch", action="store_true", help="time TinyTorch alone")
    parser.add_argument("--worker", help=argparse.SUPPRESS)


def thread_modes(text: str | None, mode: str) -> list:
    """'default,1' -> [None, 1]; the default depends on the mode."""
    text = text or ("default,1" if mode == "own-processes" else "default")
    modes = [None if item.strip() == "default" else int(item) for item in text.split(",")]
    if mode == "one-process" and len(modes) != 1:
        raise SystemExit("--mode one-process takes one --threads value")
    return modes


def table(rows: list[dict], describe: Callable[[str], str], target: Callable[[dict], float | None]) -> str:
    """The rows as a Markdown table with medians, ratios, targets and the load average."""
    lines = ["| case | load | threads | TinyTorch | PyTorch | ratio | target | loadavg (1, 5, 15 min) |",
             "| --- | --- | --- | ---: | ---: | ---: | --- | --- |"]
    for row in rows:
        goal = target(row)
        ratio = row.get("ratio")
        verdict = "" if goal is None or ratio is None else (" ✓" if ratio <= goal else " ✗")
        lines.append(
            f"| {describe(row['case'])} | {row['load']} | {row['threads']} | "
            f"{format_seconds(row['tinytorch'])} | "
            f"{format_seconds(row['torch']) if 'torch' in row else '—'} | "
            f"{f'{ratio:.2f}×' if ratio is not None else '—'} | "
            f"{f'≤ {goal:g}×' if goal is not None else '—'}{verdict} | {row['loadavg']} |")
    return "\n".join(lines)



def one_process(build: Callable, cases, args, threads: int | None, tolerance) -> list[dict]:
    """Both libraries alternating in this process (``_timing.alternate``), results checked first."""
    from tinytorch.utils import threads as tinytorch_threads

    torch = load_torch(args.no_torch)
    if threads is not None:
        tinytorch_threads.set_num_threads(threads)
        if torch is not None:
            torch.set_num_threads(threads)
    rows = []
    for case in cases:
        ours, our_result = build("tinytorch", case)
        candidates = {"tinytorch": ours}
        if torch is not None:
            theirs, their_result = build("torch", case)
            assert_agree(our_result(), their_result(), *tolerance, f"{case}: tinytorch and torch")
            candidates["torch"] = theirs
        times = medians(alternate(candidates, rounds=args.rounds, min_seconds=args.sample_ms / 1e3))
        row = {"case": case, "load": "as found", "threads": threads or "default", **times, "loadavg": loadavg()}
        if "torch" in times:
            row["ratio"] = times["tinytorch"] / times["torch"]
        rows.append(row)
    return rows


def rows_for(args, script, build: Callable, cases, tolerance) -> list[dict]:
    """The table's rows, in the mode the command line chose; prints the mode and the load first."""
    modes = thread_modes(args.threads, args.mode)
    print(f"{args.mode}, cores: {os.cpu_count()}, loadavg {loadavg()}")
    if args.mode == "one-process":
        return one_process(build, cases, args, modes[0], tolerance)
    libraries = ["tinytorch"] if args.no_torch else ["tinytorch", "torch"]
    return own_processes(script, cases, libraries, args.load.split(","), modes, args.rounds,
                         args.sample_ms / 1e3, args.gap_ms / 1e3, tolerance)
