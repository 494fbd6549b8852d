"""What a ``tito test`` run produces: a TestOutcome per test, a StepResult per step, a
ModuleResult per module (each step's subprocess is run by ``tito.testing.processes``).

Nothing here prints: the ``test`` command renders these, ``tito.progress`` keeps a summary.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from tito.course import Module


NONE_USED = re.compile(r"'NoneType' object (has no attribute|is not subscriptable|is not iterable)|"
                       r"unsupported operand type\(s\) for .*'NoneType'|\bgot (a )?NoneType\b")


# The name of a failure outside any test: "the cell at line 480" (its line in the .py; the
# notebook's cell is added beside it, in its location and its line of the list: notebook_place)
CELL_FAILURE = "the cell at line "


def cell_failure_name(line) -> str:
    return f"{CELL_FAILURE}{line}"


def stubs_failed_on(test) -> list[str]:
    """The functions whose released stubs (``raise NotImplementedError``) made ``test`` fail, in
    order, once each; [] for a test that passed or was skipped. Read from its message and, for a
    ``TestOutcome``, its traceback (``details``); a grade's ``TestScore`` has only its message.
    ``tito test``'s summary and list, its report's ``not_implemented`` and a student's grade
    feedback all tell "failed on a stub" by this."""
    from tito.format import stubs_named_in

    if test.passed or getattr(test, "skipped", False):
        return []
    return stubs_named_in(test.message + "\n" + getattr(test, "details", ""))


@dataclass
class TestOutcome:
    __test__ = False  # not a pytest test class

    name: str
    passed: bool
    message: str = ""
    location: str = ""  # "path:line" of the failure, relative to the course root
    details: str = ""  # traceback or captured output worth showing for a failure
    output: str = ""  # what the test printed (inline tests)
    skipped: bool = False  # a skipped test is neither passed nor failed
    notebook_place: str = ""  # 'alpha_dev.ipynb: cell [4], line 2' when the notebook holds the failing code

    @property
    def is_cell_failure(self) -> bool:
        """A statement outside any test raised (its name is ``cell_failure_name``'s)."""
        return self.name.startswith(CELL_FAILURE)

    def __post_init__(self):
        if not self.passed and NONE_USED.search(self.message):
            self.message += ("\n(A value was None where a result was expected: does a function miss its `return`, "
                             "or is an optional argument such as `bias=None` used without checking for None?)")

    @property
    def status(self) -> str:
        """'passed', 'failed' or 'skipped'."""
        return "skipped" if self.skipped else ("passed" if self.passed else "failed")

    def to_json(self) -> dict:
        return {"name": self.name, "status": self.status, "passed": self.passed, "skipped": self.skipped,
                "message": self.message, "location": self.location}


@dataclass
class StepResult:
    step: str  # "inline" | "export" | "pytest"
    ok: bool
    error: str = ""
    tests: list = field(default_factory=list)
    output: str = ""  # the subprocess's own output (shown with -v or when it failed oddly)
    not_implemented: list = field(default_factory=list)
    note: str = ""  # one line for the summary table, e.g. the generated file
    left_out: int = 0  # tests marked slow that this run left out (tito test --full runs them)
    hints: list = field(default_factory=list)  # what the failures have in common, said once each

    @property
    def ran(self) -> int:
        return sum(1 for t in self.tests if not t.skipped)

    @property
    def passed_count(self) -> int:
        return sum(1 for t in self.tests if t.passed and not t.skipped)

    @property
    def failures(self) -> list:
        return [t for t in self.tests if t.status == "failed"]

    @property
    def skipped_count(self) -> int:
        return sum(1 for t in self.tests if t.skipped)

    def to_json(self) -> dict:
        return {"step": self.step, "ok": self.ok, "error": self.error,
                "tests": [t.to_json() for t in self.tests]}


@dataclass
class ModuleResult:
    module: Module
    steps: list = field(default_factory=list)
    stubs: list = field(default_factory=list)  # (name, line) of the source's remaining stubs, in order
    mixed: str = ""  # why the steps tested two versions of the source (edited during the run): then no pass

    @property
    def passed(self) -> bool:
        return bool(self.steps) and all(step.ok for step in self.steps) and not self.mixed

    @property
    def not_implemented(self) -> list:
        """The source's stubs, then any other stub a test ran into (e.g. a prerequisite's)."""
        names = [name for name, _ in self.stubs] + [n for step in self.steps for n in step.not_implemented]
        return list(dict.fromkeys(names))

    def step(self, name: str) -> StepResult | None:
        return next((s for s in self.steps if s.step == name), None)

    def to_json(self) -> dict:
        return {"module": self.module.name, "passed": self.passed,
                "steps": [s.to_json() for s in self.steps],
                "not_implemented": self.not_implemented}

    def progress_entry(self, keyword: str | None = None) -> dict:
        """What .tito/progress.json keeps; a run limited by -k is marked with its keyword."""
        from tito.progress import source_digest, tests_digest

        entry = {"passed": self.passed, "not_implemented": self.not_implemented, "tests": tests_digest(self.module),
                 "source": source_digest(self.module)}
        if keyword:
            entry["keyword"] = keyword
        for step in self.steps:
            if step.step in ("inline", "pytest"):
                entry[step.step] = [step.passed_count, step.ran]
        return entry


def tail(text: str, lines: int = 15) -> str:
    """The last lines of a subprocess's output."""
    return "\n".join(text.rstrip().splitlines()[-lines:])
