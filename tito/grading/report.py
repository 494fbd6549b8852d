"""A submission's grade: its checks (the points), its tests (feedback, 0 points), the reason."""

from __future__ import annotations

from dataclasses import dataclass, field

CHECK, INLINE, PYTEST = "check", "inline", "pytest"
# how the reason of a submission that could not be graded at all starts (tito.grading.formats
# tells a platform so)
UNREADABLE = "cannot read the submission"
NOT_EXPORTED = "the submission does not export"


IT_SCORES_0, SO_IT_SCORES_0 = "; it scores 0", ", so it scores 0"
SCORES_0 = (IT_SCORES_0, SO_IT_SCORES_0)  # how those reasons end


def unreadable(detail) -> str:
    """The reason of a 0 for a submission that cannot be read (``detail`` says why)."""
    return f"{UNREADABLE}: {detail}{IT_SCORES_0}"


def not_exported(detail: str) -> str:
    """The reason of a 0 for a submission whose source does not export (``detail``: the first line of why)."""
    return f"{NOT_EXPORTED} ({detail.rstrip('.')}){SO_IT_SCORES_0}"


def grading_failed(exc: BaseException, where: str = "") -> str:
    """The reason of a 0 that is the grader's failure (``where``: e.g. ' on the cluster'), not the submission's."""
    return f"grading failed{where} ({type(exc).__name__}: {exc}); it scores 0"


# how the reason of a grading the kernel's OOM killer ended starts (``Grade.sandbox["out_of_memory"]``)
OUT_OF_MEMORY = "the machine ran out of memory and the kernel killed the grading"
KILLED_OUT_OF_MEMORY = f"{OUT_OF_MEMORY} (not the submission's own limit)"


def out_of_memory() -> str:
    """The reason of a grade the kernel's OOM killer cut short: graded again by the next run."""
    return f"{KILLED_OUT_OF_MEMORY}; it is graded again on the next run"


def timed_out_beside_others(reason: str) -> str:
    """``reason`` of a grading that ran out of time with another grading beside it: not final."""
    return f"{reason}; other gradings ran beside it on this machine, so this timeout is not final: it is graded again"


def filled_the_disk(reason: str, free: int) -> str:
    """``reason`` of a grading that filled the grader's disk itself (``state.filled_the_disk_itself``): final."""
    return (f"it filled the grader's disk itself ({free >> 20} MB were free when it started, with no other "
            f"grading beside it): this grade is final; {reason}")


def out_of_memory_in_its_container(reason: str) -> str:
    """``reason`` (which starts with ``out_of_memory()``) of a grading the OOM killer ended in a
    platform's container, where it ran alone: the submission's doing, so the grade is final."""
    alone = (f"{OUT_OF_MEMORY} in the autograder's container, where it ran alone: this grade is final (if honest "
             "work is killed so, give the container more memory and grade it again)")
    return alone + reason[len(out_of_memory()):] if reason.startswith(out_of_memory()) else reason


def out_of_memory_again(reason: str) -> str:
    """``reason`` (which starts with ``out_of_memory()``) once the same bytes were killed so a second time:
    the grade is final."""
    again = (f"{OUT_OF_MEMORY} again, as on its last run of the same file under the same grading: this grade is "
             "final (a submission that runs the machine out of memory itself is not graded a third time)")
    return again + reason[len(out_of_memory()):] if reason.startswith(out_of_memory()) else reason


# what a platform or a feedback file shows of a failed check in a report written before tito kept
# the withheld message: nothing of its message, which may name the expected value
OLDER_REPORT = "failed (this report is from an older tito: grade it again to see what differs)"


@dataclass
class TestScore:
    """One line of a grade: a graded check, or a test run in the sandbox as feedback."""

    __test__ = False  # not a pytest test class

    name: str
    passed: bool
    points: int
    message: str = ""
    kind: str = CHECK
    hidden: bool = False
    detail: str = ""  # a hidden check's real message: the instructor's report only, never a platform's
    # a check's message as a platform shows it, without where it differs or what was expected
    # (tito.grading.verdict); None: the message says nothing of the expected value
    withheld: str | None = None

    @property
    def earned(self) -> int:
        return self.points if self.passed else 0

    @property
    def shown_on_platforms(self) -> str:
        return self.message if self.withheld is None else self.withheld

    def to_json(self) -> dict:
        found = {"name": self.name, "kind": self.kind, "passed": self.passed, "points": self.points,
                 "earned": self.earned, "hidden": self.hidden, "message": self.message}
        if self.kind == CHECK and not self.passed:  # always, so that a report without it is known as older
            found["withheld"] = self.shown_on_platforms
        return {**found, "detail": self.detail} if self.detail else found

    @classmethod
    def from_json(cls, data: dict) -> "TestScore":
        kind, passed = data.get("kind", CHECK), bool(data["passed"])
        withheld = data.get("withheld")
        if withheld is None and kind == CHECK and not passed:  # a report of a tito before withheld messages:
            withheld = OLDER_REPORT  # its message may name the expected value, so none of it is shown
        return cls(data["name"], passed, int(data["points"]), data.get("message", ""), kind,
                   bool(data.get("hidden", False)), str(data.get("detail", "")),
                   None if withheld is None else str(withheld))


@dataclass
class Grade:
    """The outcome of one submission. ``error`` says why it lost points as a whole (or '').

    ``sha256`` is the hash of the bytes that were graded and ``fingerprint`` that of the grading
    (``tito.grading.state``): a later batch keeps this grade while both still match.
    ``incomplete`` marks a 0 that is not the submission's doing (the grader or a worker failed):
    the next batch grades it again.
    """

    module: str
    submission: str
    student: str
    tests: list[TestScore] = field(default_factory=list)
    error: str = ""
    seconds: float = 0.0
    sandbox: dict = field(default_factory=dict)  # backend, exit code, output kept/dropped, phase times
    sha256: str = ""
    fingerprint: str = ""
    incomplete: bool = False
    # the course module whose file this is, when it names another's '#| default_exp' and earned
    # nothing (the reason says so; tito grade FILE suggests --module NAME); not kept in reports
    other_module: str = ""

    @property
    def checks(self) -> list[TestScore]:
        return [t for t in self.tests if t.kind == CHECK]

    @property
    def feedback(self) -> list[TestScore]:
        return [t for t in self.tests if t.kind != CHECK]

    @property
    def score(self) -> int:
        return sum(t.earned for t in self.checks)

    @property
    def max_score(self) -> int:
        return sum(t.points for t in self.checks)

    def to_json(self) -> dict:
        return {"module": self.module, "student": self.student, "submission": self.submission,
                "score": self.score, "max_score": self.max_score, "error": self.error,
                "seconds": round(self.seconds, 2), "tests": [t.to_json() for t in self.tests],
                "sandbox": self.sandbox, "sha256": self.sha256, "fingerprint": self.fingerprint,
                "incomplete": self.incomplete}

    @classmethod
    def from_json(cls, data: dict) -> "Grade":
        return cls(data["module"], data["submission"], data["student"],
                   [TestScore.from_json(t) for t in data.get("tests", [])], data.get("error", ""),
                   float(data.get("seconds", 0.0)), data.get("sandbox", {}), str(data.get("sha256", "")),
                   str(data.get("fingerprint", "")), bool(data.get("incomplete", False)))
