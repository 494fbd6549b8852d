"""The feedback a student gets back: one Markdown file per student, from a batch's reports.

A report (``Grade.to_json``) is the instructor's: the sandbox's internals, the fingerprint, the
hidden checks' names and real messages (``detail``), and a failed check's full message, which
says where the answer differs and what was expected there. A feedback file holds what a student
may see, as the learning platforms show it (``tito.grading.formats``):

* the score and why the submission lost points as a whole (``formats.summary``);
* each visible check: passed or failed, its points, and its message *withheld*
  (``formats.answer_withheld``): what differs and what came, never where or what was expected.
  A batch keeps its seed (``OUT/.tito-seed``), so "expected 11 at index (1,)" handed back and
  graded again in the same folder would give the answers away;
* the hidden checks as one line: how many, and the points they earned (as PrairieLearn shows them);
* the tests run for feedback (no points): each failed one with its message, those that failed
  on a function not written yet counted by function, then the passed ones' names on one line.

tito's own sentences (the score, the count of tests) are written as they are; everything a
student chose (the name, test names, messages, the reason, which may quote them) is made showable
(``tito.grading.data``: no terminal escapes, no direction overrides) and cannot become Markdown
or HTML: names have every ASCII punctuation character backslash-escaped (CommonMark renders
``\\<`` as ``<``), messages sit in code blocks fenced longer than any run of backticks in them.
Each file starts with ``MARK``: only a file that does is ever replaced.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from tito.console import counted
from tito.files import write_atomically
from tito.grading.data import showable, showable_name
from tito.grading.formats import answer_withheld, summary
from tito.grading.gradebook import adjusted, report_name, safe_cell
from tito.grading.report import Grade, TestScore
from tito.grading.results import GradedFolder
from tito.testing.outcomes import stubs_failed_on

FOLDER = "feedback"  # default: OUT/feedback/<student>.md
MARK = "<!-- tito feedback"  # how every feedback file tito writes starts (an HTML comment: not rendered)
PUNCTUATION = re.compile(r"([!-/:-@\[-`{-~])")  # ASCII punctuation: CommonMark lets each be escaped


def inline(text: str) -> str:
    """A name or sentence as Markdown text that renders as exactly its characters, on one line."""
    return PUNCTUATION.sub(r"\\\1", showable_name(text))


def code_block(text: str, indent: str = "") -> str:
    """``text`` as a fenced code block: shown as it is, never rendered (HTML and Markdown included)."""
    lines = showable(text).splitlines() or [""]
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return "\n".join(indent + line if line else "" for line in [fence, *lines, fence])


def feedback_markdown(grade: Grade, adjustments: dict | None = None) -> str:
    """The feedback file of ``grade``: what the student may see of it (see the module's docstring).
    ``adjustments``: the folder's ``read_adjustments``; the student's row is said below the score."""
    lines = [f"{MARK}: written by tito gradebook feedback, which replaces it when run again -->", "",
             f"# Module {inline(grade.module)}: feedback for {inline(grade.student)}", "",
             f"Submission: {inline(Path(grade.submission).name)}", ""]
    score, points, reason = adjusted(grade, adjustments or {})
    said = summary(grade).splitlines()
    if points:  # right under the score it changes
        said.insert(1, f"Adjusted by your instructor: {points:+g} point{'s' * (abs(points) != 1)}"
                    + (f" ({inline(reason)})" if reason else "") + f", so {score:g}/{grade.max_score}.")
    error = set(grade.error.splitlines())
    for line in said:  # tito's own sentences as they are; the reason, which quotes the student's code, fenced
        lines += [code_block(line) if line in error else line, ""]
    lines += ["## Graded checks", ""]
    for check in [t for t in grade.checks if not t.hidden]:
        lines += _test_lines(check, f"{check.earned}/{check.points} point{'s' * (check.points != 1)}")
    hidden = [t for t in grade.checks if t.hidden]
    if hidden:
        points = sum(t.points for t in hidden)
        lines.append(f"- Hidden checks ({sum(t.earned for t in hidden)}/{points} point{'s' * (points != 1)}): "
                     f"{counted(len(hidden), 'graded check')}, not shown one by one")
    if grade.feedback:
        lines += ["", "## Tests run for feedback (no points)", ""]
        failed = [t for t in grade.feedback if not t.passed]
        stubs = {id(t): stubs_failed_on(t) for t in failed}
        for test in [t for t in failed if not stubs[id(t)]]:
            lines += _test_lines(test, f"{test.kind} test")
        unwritten = Counter(name for t in failed for name in stubs[id(t)][:1])
        if unwritten:  # as tito test says it: one line, not one heading per test
            lines.append(f"- Failed on functions not implemented yet ({sum(unwritten.values())}): "
                         + ", ".join(f"{inline(name)} ({count})" for name, count in unwritten.items()))
        passed = [t for t in grade.feedback if t.passed]
        if passed:  # named on one line: a module runs a few hundred, and the failures are what to read
            lines.append(f"- Passed ({len(passed)}): " + ", ".join(inline(t.name) for t in passed))
    return "\n".join(lines).rstrip("\n") + "\n"


def _test_lines(test: TestScore, about: str) -> list[str]:
    """A list item: the test's name, passed or failed, ``about``; a message (withheld) below it."""
    lines = [f"- **{inline(test.name)}** ({about}): {'passed' if test.passed else 'failed'}"]
    message = answer_withheld(test)
    if message:
        lines += ["", code_block(message, "  "), ""]
    return lines


def feedback_file(folder: Path, student: str) -> Path:
    """``folder/<student>.md``, named as the student's report is (``report_name``): unique in the folder."""
    return Path(folder) / (report_name(student).removesuffix(".json") + ".md")


def written_by_tito(path: Path) -> bool:
    """Whether ``path`` is a regular file that starts with MARK (a feedback file tito wrote)."""
    try:
        if path.is_symlink() or not path.is_file():
            return False
        with path.open("rb") as handle:
            return handle.read(len(MARK)) == MARK.encode()
    except OSError:
        return False


@dataclass
class Handed:
    """What ``write_feedback`` did."""

    written: list[Path] = field(default_factory=list)
    refused: list[Path] = field(default_factory=list)  # a file tito did not write is there: left as it is


def write_feedback(graded: GradedFolder, to: Path) -> Handed:
    """Write ``to/<student>.md`` for every grade of ``graded``, atomically, except for a student
    whose row waits for a grade (``graded.pending``: their report is an old grade); a file already
    there is replaced only when tito wrote it (``written_by_tito``)."""
    handed = Handed()
    for grade in graded.grades:
        if safe_cell(grade.student) in graded.pending:  # the command names them
            continue
        path = feedback_file(to, grade.student)
        if (path.exists() or path.is_symlink()) and not written_by_tito(path):
            handed.refused.append(path)
            continue
        write_atomically(path, feedback_markdown(grade, graded.adjustments))
        handed.written.append(path)
    return handed
