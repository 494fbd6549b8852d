"""What ``tito grade DIR`` shows while it grades: a Rich progress bar on a terminal, lines otherwise.

On a terminal (and without NO_COLOR): a bar with done/total, how many failed (scored 0 with a
reason), the time elapsed and the estimated time left, with one line per grade printed above
it. In a log or with NO_COLOR: the same lines, plain, one per grade as it is known. The gradings
the batch grades once more alone at its end (``tito.grading.batch.spoiled_by``) are counted
apart, "[again 1/2] ...", and added to the bar's total.
"""

from __future__ import annotations

from collections import Counter

from tito.console import console, first_line, plain_output


def failed(grade) -> bool:
    return bool(grade.error) and grade.score == 0


def rescored(plan) -> str:
    """'re-scored 16 (points of receptive_field changed); ' for the reports the plan re-scores
    without running them ('' for none); several reasons are counted each."""
    rescore = plan.rescore
    why = Counter(change.why_rescore for *_, change in rescore)
    if not why:
        return ""
    reasons = next(iter(why)) if len(why) == 1 else ", ".join(f"{n} {r}" for r, n in why.items())
    return f"re-scored {len(rescore)} ({reasons}); "


class BatchProgress:
    def __init__(self, title: str):
        self.title = title
        self.total = self.done_count = self.failures = 0  # the submissions of the plan
        self.again_total = self.again_count = 0  # the gradings graded once more alone
        self.why_again: dict = {}  # student -> why they are graded once more alone
        self.failing: set = set()  # students whose last grade failed: a grade alone replaces the one before
        self.out = console()
        self.bar = self.task = None

    def start(self, plan) -> None:
        """Say what the batch will do (``plan``: tito.grading.state.Plan) and start the bar."""
        self.total = len(plan.todo)
        why = Counter(reason for _, _, reason in plan.todo)
        kept = f"{len(plan.kept)} already graded and unchanged; " if plan.kept else ""
        reasons = f" ({', '.join(f'{n} {r}' for r, n in why.items())})" if why else ""
        self.out.print(f"{kept}{rescored(plan)}grading {self.total}{reasons}.", highlight=False, markup=False)
        if self.total and not plain_output():
            from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn,
                                       TimeRemainingColumn)

            self.bar = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                                TextColumn("[red]{task.fields[failed]} failed"), TimeElapsedColumn(),
                                TextColumn("ETA"), TimeRemainingColumn(), console=self.out, transient=False)
            self.task = self.bar.add_task(self.title, total=self.total, failed=0)
            self.bar.start()

    def again(self, again: dict) -> None:
        """The batch grades ``again`` (student -> why) once more alone: the grades after this are theirs."""
        self.again_total, self.why_again = len(again), dict(again)
        if self.bar is not None:
            self.bar.update(self.task, total=self.total + self.again_total)

    def done(self, grade) -> None:
        (self.failing.add if failed(grade) else self.failing.discard)(grade.student)
        self.failures = len(self.failing)
        note = f" - {first_line(grade.error, 120)}" if grade.error else ""
        if self.again_total:
            self.again_count += 1
            line = (f"[again {self.again_count}/{self.again_total}] {grade.student}: {grade.score}/{grade.max_score}"
                    f" ({grade.seconds:.1f} s, graded alone: {self.why_again.get(grade.student, '')}){note}")
        else:
            self.done_count += 1
            line = (f"[{self.done_count}/{self.total}] {grade.student}: {grade.score}/{grade.max_score}"
                    f" ({grade.seconds:.1f} s){note}")
        if self.bar is not None:
            self.bar.console.print(line, highlight=False, markup=False)
            self.bar.update(self.task, advance=1, failed=self.failures)
        else:
            self.out.print(line, highlight=False, markup=False)

    def so_far(self) -> str:
        """'3 of 4 submissions', then ', and 0 of 1 graded again alone' once that began."""
        again = f", and {self.again_count} of {self.again_total} graded again alone" if self.again_total else ""
        return f"{self.done_count} of {self.total} submissions{again}"

    def stop(self) -> None:
        if self.bar is not None:
            self.bar.stop()
            self.bar = None
