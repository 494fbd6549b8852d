"""tito grade on the real cnn module: time per submission, step by step, and batch throughput.

    .venv/bin/python benchmarks/bench_grade.py [--repeats 3] [--module cnn]
    .venv/bin/python benchmarks/bench_grade.py --throughput 20 [--jobs 2] [--rounds 1]

Three submissions are built from the module's source: the reference (full marks), the released
stub (0) and a partial one (the first four solution blocks solved, the rest stubbed). The grader
is prepared once (timed), then each submission is graded ``--repeats`` times, one at a time,
alternating. For each, the median of: the whole submission; the grader's job folder (copying
the writable parts); the sandbox run, split into the steps it reports (read + parse, export,
checks, inline tests, pytest) and the rest (bubblewrap, interpreter start, teardown); the
verdict (reading and comparing the results). The load average is printed next to the results.

``--throughput N`` grades a folder of N submissions (the three kinds in turn) as one batch
with ``--jobs`` at a time, with each executor in turn (local, then dask on a LocalCluster of
``--jobs`` workers, ``--rounds`` times), from one prepared grader, and prints submissions per
minute: the dask figure includes starting the cluster and shipping the prepared folder.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

from _processes import loadavg  # noqa: E402

STEPS = ("read", "export", "checks", "inline", "pytest")


def partial(reference: str, solved_blocks: int = 4) -> str:
    """The reference with its first ``solved_blocks`` solution blocks kept and the rest stubbed."""
    from tito.editions.strip import strip_solutions
    from tito.format import BEGIN_SOLUTION, END_SOLUTION

    kept, solved = [], 0
    for line in reference.splitlines(keepends=True):
        if line.strip() in (BEGIN_SOLUTION, END_SOLUTION) and solved < solved_blocks:
            solved += line.strip() == END_SOLUTION
            continue
        kept.append(line)
    return strip_solutions("".join(kept)).text


def throughput(grader, texts: dict, count: int, jobs: int, rounds: int) -> None:
    """Submissions per minute for a batch of ``count``, local and dask, alternating."""
    from tito.grading import grade_batch
    from tito.grading.executors import DaskExecutor, LocalExecutor

    kinds = list(texts)
    with tempfile.TemporaryDirectory(prefix="bench-grade-batch-") as scratch:  # 0700: it holds the solution
        folder = Path(scratch) / "submissions"
        folder.mkdir()
        submissions = []
        for number in range(count):
            kind = kinds[number % len(kinds)]
            (folder / f"s{number:02d}_{kind}.py").write_text(texts[kind], encoding="utf-8")
            submissions.append((f"s{number:02d}_{kind}", folder / f"s{number:02d}_{kind}.py"))
        executors = {"local": lambda: LocalExecutor(jobs, grader.sandbox), "dask": lambda: DaskExecutor(jobs)}
        for round_number in range(rounds):
            for name, make in executors.items():
                before = loadavg()
                started = time.monotonic()
                grades = grade_batch(grader, submissions, Path(scratch) / f"{name}-{round_number}", executor=make())
                seconds = time.monotonic() - started
                scores = Counter((g.student.split("_")[1], g.score, g.error.split(":")[0]) for g in grades)
                print(f"{name:5} --jobs {jobs}: {count} submissions in {seconds:.1f} s = "
                      f"{60 * count / seconds:.1f} per minute; load {before} -> {loadavg()}")
                print("       (kind, score, reason): " + "; ".join(f"{k} x{n}" for k, n in sorted(scores.items())))


def main(argv=None) -> int:
    from tito.course import Course
    from tito.grading import Grader
    from tito.editions.strip import strip_solutions

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3,
                        help="times each submission is graded step by step; medians are shown (default 3)")
    parser.add_argument("--module", default="cnn", help="the module whose reference is graded (default cnn)")
    parser.add_argument("--throughput", type=int, metavar="N", help="grade a batch of N, local and dask")
    parser.add_argument("--jobs", type=int, default=2, help="submissions graded at once in --throughput (default 2)")
    parser.add_argument("--rounds", type=int, default=1,
                        help="local and dask batches, alternated, in --throughput (default 1)")
    args = parser.parse_args(argv)
    course = Course(HERE.parent)
    module = course.get(args.module)
    reference = module.dev_file.read_text(encoding="utf-8")
    submissions = {"reference": reference, "stub": strip_solutions(reference).text, "partial": partial(reference)}
    if args.throughput:
        with Grader(course, module) as grader:
            print(f"sandbox {grader.sandbox.name}; load average before: {loadavg()}")
            throughput(grader, submissions, args.throughput, args.jobs, args.rounds)
        return 0
    print(f"load average before: {loadavg()}")
    with tempfile.TemporaryDirectory(prefix="bench-grade-") as scratch:  # 0700: it holds the solution
        folder = Path(scratch)
        for name, text in submissions.items():
            (folder / f"{name}.py").write_text(text, encoding="utf-8")
        started = time.monotonic()
        with Grader(course, module) as grader:
            print(f"prepare ({grader.sandbox.name}): {time.monotonic() - started:.1f} s")
            samples = {name: [] for name in submissions}
            for _ in range(args.repeats):
                for name in submissions:
                    samples[name].append(grader.grade(folder / f"{name}.py"))
    print(f"load average after:  {loadavg()}")
    header = ["submission", "score", "total", "job", *STEPS, "sandbox rest", "verdict"]
    print(" | ".join(header))
    for name, grades in samples.items():
        def median(value):
            return statistics.median(value(g) for g in grades)

        steps = [median(lambda g, s=s: g.sandbox["steps"].get(s) or 0.0) for s in STEPS]
        rest = median(lambda g: g.sandbox["sandbox_seconds"] - sum(v or 0.0 for v in g.sandbox["steps"].values()))
        row = [name, f"{grades[0].score}/{grades[0].max_score}", f"{median(lambda g: g.seconds):.2f} s",
               f"{median(lambda g: g.sandbox['job_seconds']):.2f}", *(f"{v:.2f}" for v in steps), f"{rest:.2f}",
               f"{median(lambda g: g.sandbox['verdict_seconds']):.2f}"]
        print(" | ".join(row))
    return 0


if __name__ == "__main__":
    sys.exit(main())
