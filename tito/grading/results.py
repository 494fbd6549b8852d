"""A reports folder as a batch left it: the grades its ``gradebook.csv`` lists, read back.

``tito grade DIR --module M --out OUT`` writes ``OUT/<student>.json`` and ``OUT/gradebook.csv``
(``tito.grading.gradebook``). A report can outlive its student's place in the gradebook (the
submission was removed or renamed: ``Batch.left_out``), so what is handed back or sent on
(``tito.grading.student_feedback``, ``tito.grading.final_grades``) is the grades of the students
gradebook.csv lists, no others: the instructor's gradebook and what is sent on never disagree
(``adjustments.csv``, the instructor's changes to a score, counts in both).
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from pathlib import Path

from tito.errors import TitoError
from tito.grading.gradebook import (GRADEBOOK, adjusted, edited_by_hand, read_adjustments, read_grades, read_report,
                                    read_waiting, safe_cell)
from tito.grading.report import Grade


@dataclass
class GradedFolder:
    """The grades of one module in a reports folder, by student."""

    folder: Path
    module: str
    grades: list[Grade]
    left_out: list[str] = field(default_factory=list)  # a report, but no row in gradebook.csv
    unreadable: list[str] = field(default_factory=list)  # a row in gradebook.csv, but no readable report
    pending: dict = field(default_factory=dict)  # gradebook.csv's student cell -> why the row waits for a grade
    adjustments: dict = field(default_factory=dict)  # adjustments.csv: student -> (points, reason)
    edited: bool = False  # gradebook.csv was edited by hand since tito wrote it (its edits do not count)

    def score_of(self, grade: Grade):
        """A grade's points with the instructor's adjustments added, as gradebook.csv's score."""
        return adjusted(grade, self.adjustments)[0]

    @property
    def waiting(self) -> list[str]:
        """'alice (old grade, to be graded again (changed))': each row that waits for a grade, and why."""
        return [f"{cell} ({why})" for cell, why in sorted(self.pending.items())]

    @property
    def incomplete(self) -> list[str]:
        """The students whose 0 is the grader's failure, not theirs (the next batch grades them again)."""
        return [g.student for g in self.grades if g.incomplete]


def read_graded_folder(folder: Path) -> GradedFolder:
    """The grades ``folder``'s gradebook.csv lists; TitoError when it is not a folder ``tito grade``
    wrote, lists no one, or holds the grades of more than one module."""
    folder = Path(folder)
    listed = _gradebook_students(folder)
    modules = sorted({g.module for g in map(read_report, sorted(folder.glob("*.json"))) if g is not None})
    every = {module: read_grades(folder, module) for module in modules}
    # gradebook.csv guards its cells against formulas (safe_cell): a student is compared as written there
    found = {module: [g for g in grades if safe_cell(g.student) in listed] for module, grades in every.items()}
    found = {module: grades for module, grades in found.items() if grades}
    if len(found) > 1:
        raise TitoError(f"{folder} holds the grades of modules {' and '.join(found)}: a reports folder is one "
                        "module's.", hint="Grade each module into its own folder (tito grade DIR --module M "
                                          "--out grades/M).", exit_code=2)
    if not found:
        raise TitoError(f"{folder / GRADEBOOK} lists no student with a readable report: nothing to read.",
                        hint="Run tito grade DIR --module M --out FOLDER first.", exit_code=2)
    module, grades = found.popitem()
    shown = {safe_cell(g.student) for g in grades}
    waiting = read_waiting(folder)  # as tito wrote them: a pending cell emptied by hand still waits
    pending = {cell: why for cell, why in listed.items() if why} if waiting is None else waiting
    return GradedFolder(folder, module, grades,
                        left_out=sorted(g.student for g in every[module] if safe_cell(g.student) not in listed),
                        unreadable=sorted(set(listed) - shown - set(pending)), pending=pending,
                        adjustments=read_adjustments(folder), edited=edited_by_hand(folder))


def _gradebook_students(folder: Path) -> dict[str, str]:
    """The student column of ``folder``'s gradebook.csv, as written (formula-guarded), each with
    its ``pending`` cell: why the row still waits for a grade ('' when it does not)."""
    path = folder / GRADEBOOK
    if not path.is_file():
        raise TitoError(f"{folder} has no {GRADEBOOK}: expected a reports folder of tito grade.",
                        hint="Give the folder tito grade DIR --module M --out FOLDER wrote (default: grades/M).",
                        exit_code=2)
    try:
        rows = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8"), newline="")))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise TitoError(f"Cannot read {path}: {exc}.", hint="Run the same tito grade command again to rebuild it.",
                        exit_code=2) from None
    if not rows or not rows[0] or rows[0][0] != "student":
        raise TitoError(f"{path} is not a gradebook of tito grade: its first cell is not 'student'.", exit_code=2)
    waits = rows[0].index("pending") if "pending" in rows[0] else None
    return {row[0]: row[waits] if waits is not None and len(row) > waits else "" for row in rows[1:] if row}
