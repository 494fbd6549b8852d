"""The reports folder: one JSON report per student, and ``gradebook.csv`` built from them.

``<student>.json`` is written atomically the moment a grade is known; the name keeps letters
(any script), digits, ``-``, ``.`` and ``_`` and replaces everything else, so no student name
can reach outside the folder or onto a hidden file. ``gradebook.csv`` is rebuilt from the
reports (``Gradebook`` does it at most every few seconds during a batch, and at its end): a
row per student, then the points earned per check. It is safe to open in a spreadsheet: a text
cell that starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return — a formula to
Excel, LibreOffice and Google Sheets — gets a leading ``'`` (OWASP's advice on CSV injection),
also after leading spaces or as a full-width ``＝``; so does a cell that starts with ``'``, so
that two students' names never become one cell.

Nothing an instructor has is lost to a rebuild. tito keeps the sha256 of the CSV it last wrote
(``.gradebook.sha256``): a ``gradebook.csv`` edited since (a score changed by hand) is kept as
``gradebook.<UTC stamp>.csv`` before the new one is written, and the batch says so; a lasting
change goes into ``adjustments.csv`` (student, points, reason), which every rebuild adds in. A
report replaced by one with another result (a regrade, a resubmission) is kept first as
``history/<student>.<UTC stamp>.json``. While a batch runs (or after it was stopped), a row
whose student it still has to grade says why in the ``pending`` column (the grading changed,
the submission changed, ...); the row is the old grade until then, or, for a student with no
grade yet (new, or held back), only the name and why. ``tito gradebook`` hands back and makes
final no row that waits so.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
import os
import shutil
import time
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

from tito.files import MAX_REPORT_BYTES, utc_stamp, write_atomically
from tito.grading.data import same_student, showable_name
from tito.grading.report import Grade

GRADEBOOK = "gradebook.csv"
WRITTEN = ".gradebook.sha256"  # the sha256 of the gradebook.csv tito wrote last
WAITING = ".gradebook.pending"  # its pending cells, by student cell: what a hand edit of the CSV cannot hide
HISTORY = "history"  # reports replaced by a different result
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
REWRITE_SECONDS = 2.0  # during a batch, gradebook.csv is rebuilt at most this often


MAX_NAME_BYTES = 200  # of a report's name; file systems allow 255, and its temporary name adds 18


def report_name(student: str) -> str:
    """The JSON file of a student's grade: the name (NFC) with anything but letters, digits, - . _
    replaced, and no leading dot; a name longer than MAX_NAME_BYTES is cut and ends with a hash
    of the whole name (so two long names that start alike stay two files)."""
    name = re.sub(r"[^\w.-]", "_", same_student(student)).lstrip(".") or "_"
    if len(name.encode("utf-8")) > MAX_NAME_BYTES:
        kept = name.encode("utf-8")[:MAX_NAME_BYTES - 13].decode("utf-8", "ignore")
        name = f"{kept}-{hashlib.sha256(student.encode('utf-8', 'surrogatepass')).hexdigest()[:12]}"
    return name + ".json"


def same_file(name: str) -> str:
    """What decides whether two report names are one file on a case-insensitive file system."""
    return name.casefold()


def write_json(data, path: Path) -> None:
    """Write ``data`` as indented UTF-8 JSON, atomically (a report, or a platform's results file)."""
    text = json.dumps(data, indent=2, ensure_ascii=False)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate that got past showable(): JSON can still spell it
        text = json.dumps(data, indent=2)
    write_atomically(Path(path), text + "\n")


def read_report(path: Path) -> Grade | None:
    """The grade in a report file, or None when it is missing or is not a readable tito report."""
    try:
        if Path(path).is_symlink() or Path(path).stat().st_size > MAX_REPORT_BYTES:
            return None
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        return Grade.from_json(data) if isinstance(data, dict) else None
    except (OSError, ValueError, KeyError, TypeError, AttributeError, RecursionError):
        return None


def read_grades(folder: Path, module: str) -> list[Grade]:
    """Every grade of ``module`` in a folder of JSON reports, by student (unreadable files skipped)."""
    grades = []
    for path in sorted(Path(folder).glob("*.json")):
        grade = read_report(path)
        # a report counts only in the file its student's name gives: one row per student
        if grade is not None and grade.module == module and path.name == report_name(grade.student):
            grades.append(grade)
    return sorted(grades, key=lambda g: g.student)


def safe_cell(value):
    """A CSV cell a spreadsheet shows as text, never runs as a formula: also one that would start
    a formula once an importer trims its spaces or folds its full-width ``＝`` to ``=``. A value
    that starts with ``'`` gets one more, so that no two values give one cell (``=x`` is ``'=x``,
    and ``'=x`` is ``''=x``): students are told apart by their cell (``tito.grading.results``)."""
    if isinstance(value, str) and (value.startswith((*FORMULA_START, "'")) or
                                   unicodedata.normalize("NFKC", value).lstrip().startswith(FORMULA_START)):
        return "'" + value
    return value


@dataclass
class SetAside:
    """What rebuilding a reports folder kept rather than lose: edited gradebooks, replaced reports."""

    gradebooks: list = field(default_factory=list)  # gradebook.<stamp>.csv
    reports: list = field(default_factory=list)  # history/<student>.<stamp>.json


def write_gradebook(folder: Path, module: str, grades: list[Grade] | None = None, students=None,
                    pending: dict | None = None, aside: SetAside | None = None,
                    adjustments: dict | None = None) -> Path:
    """Write ``gradebook.csv`` from ``grades`` (default: the folder's JSON reports of ``module``):
    a row per student (of ``students`` only, when given), then the points earned per check.
    ``pending``: student -> why their row still waits for a grade ('to be graded again (changed)'),
    said after 'old grade, ' — or, for a student with no grade yet, in a row of only that;
    ``adjustments``: student -> (points, reason) added to the score (default: ``read_adjustments``).
    A CSV edited since tito wrote it is kept first (its name added to ``aside.gradebooks``)."""
    grades = sorted(grades, key=lambda g: g.student) if grades is not None else read_grades(folder, module)
    grades = [g for g in grades if students is None or g.student in students]
    checks = list(dict.fromkeys(t.name for g in grades for t in g.checks))
    adjustments = read_adjustments(folder) if adjustments is None else adjustments
    graded = {g.student for g in grades}
    waiting = {student: f"{'old grade' if student in graded else 'no grade yet'}, {why}"
               for student, why in (pending or {}).items() if students is None or student in students}
    rows = {}
    for grade in grades:
        earned = {t.name: t.earned for t in grade.checks}
        score, added, why = adjusted(grade, adjustments)
        percent = round(100 * score / grade.max_score, 1) if grade.max_score else 0.0
        rows[grade.student] = [grade.student, grade.submission, score, grade.max_score, percent,
                               grade.error.splitlines()[0] if grade.error else "", waiting.get(grade.student, ""),
                               added, why, *(earned.get(c, 0) for c in checks)]
    for student in sorted(set(waiting) - graded):  # so that no one waiting for a grade goes unseen
        rows[student] = [student, "", "", "", "", "", waiting[student], "", "", *("" for _ in checks)]
    header = ["student", "submission", "score", "max_score", "percent", "error", "pending", "adjustment",
              "adjustment_reason", *checks]
    path = Path(folder) / GRADEBOOK
    data = csv_text([header, *(rows[student] for student in sorted(rows))]).encode("utf-8")
    backup = keep_edited_gradebook(Path(folder), data)
    if backup is not None and aside is not None:
        aside.gradebooks.append(backup)
    write_atomically(path, data)
    write_atomically(Path(folder) / WRITTEN, digest(data) + "\n")
    cells = {safe_cell(student): waiting[student] for student in sorted(waiting)}
    write_atomically(Path(folder) / WAITING, json.dumps(cells, ensure_ascii=False, indent=1) + "\n")
    return path


def read_waiting(folder: Path) -> dict[str, str] | None:
    """The pending cells tito last wrote into ``folder``'s gradebook.csv (student cell -> why),
    or None when a folder of an older tito has no record of them."""
    try:
        waiting = json.loads((Path(folder) / WAITING).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError):
        return {}
    return {str(k): str(v) for k, v in waiting.items()} if isinstance(waiting, dict) else {}


ADJUSTMENTS = "adjustments.csv"  # the instructor's: student, points, reason


def lasting_change(folder: Path) -> str:
    """How to change a grade in ``folder`` so that it outlives a rebuilt gradebook.csv."""
    return f"To change a grade so that it lasts, add a row to {Path(folder) / ADJUSTMENTS} (see README.md, Grading)."


def adjusted(grade: Grade, adjustments: dict) -> tuple[int | float, int | float, str]:
    """(score, points added, reasons): ``grade``'s score with its student's row of
    ``adjustments`` (``read_adjustments``) added, as gradebook.csv, the grade table, the
    feedback files and the final grades all count it. A row names a student as gradebook.csv
    writes them (``safe_cell``): ``'=x`` is the student ``=x``, not ``'=x`` (whose cell is ``''=x``)."""
    added, why = adjustments.get(safe_cell(grade.student), (0, ""))
    return grade.score + added, added, why


def beyond_the_points(grades, adjustments: dict) -> list[str]:
    """'carol: 1000000003 of 5' for each of ``grades`` that its adjustments take below 0 or above
    its maximum: meant as extra credit, or a typo in adjustments.csv."""
    scores = [(grade, adjusted(grade, adjustments)[0]) for grade in grades]
    return [f"{showable_name(grade.student)}: {score:g} of {grade.max_score:g}" for grade, score in scores
            if not 0 <= score <= grade.max_score]


def read_adjustments(folder: Path) -> dict[str, tuple[int | float, str]]:
    """student -> (points added, reasons) from ``adjustments.csv`` in ``folder`` ({} without one):
    one row per change, a student's rows summed. A student is the name exactly as the gradebook
    writes it (in NFC; a space before or after it is not trimmed, so ``bob `` is no one's row
    but its own, which the batch names as matching no student). TitoError naming the line of a
    row that is not a student and a number."""
    from tito.errors import TitoError

    path = Path(folder) / ADJUSTMENTS
    try:
        text = path.read_text(encoding="utf-8-sig")  # a spreadsheet may save a BOM
    except FileNotFoundError:
        return {}
    except (OSError, UnicodeDecodeError) as exc:
        raise TitoError(f"{path} cannot be read: {exc}.", hint="Save it as UTF-8 CSV: student,points,reason.") from None
    rows = csv.DictReader(io.StringIO(text, newline=""))
    if not {"student", "points"} <= set(rows.fieldnames or ()):
        header = ",".join(rows.fieldnames or [])
        raise TitoError(f"{path}: expected a header row student,points,reason, got {header!r}.")
    found: dict[str, tuple[int | float, str]] = {}
    for row in rows:
        student = same_student(row.get("student") or "")  # as written: 'bob ' is not bob
        try:
            points = float((row.get("points") or "").strip())
        except ValueError:
            points = float("nan")
        if not student or points != points or abs(points) == float("inf"):
            raise TitoError(f"{path}, line {rows.line_num}: expected a student and a number of points, got "
                            f"{row.get('student')!r} and {row.get('points')!r}.")
        added, why = found.get(student, (0, ""))
        total = added + points
        if abs(total) == float("inf"):
            raise TitoError(f"{path}, line {rows.line_num}: the points of {student!r} add up past any number "
                            f"({added:g} + {points:g}).")
        found[student] = (int(total) if total == int(total) else round(total, 2),
                          "; ".join(filter(None, [why, (row.get("reason") or "").strip()])))
    return found


def csv_text(rows) -> str:
    """``rows`` as spreadsheet-safe CSV: RFC 4180 (a CR or LF in a cell is then quoted), each cell
    through ``safe_cell``."""
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\r\n")
    for row in rows:
        writer.writerow([safe_cell(cell) for cell in row])
    return text.getvalue()


def digest(data: bytes) -> str:
    """The sha256 of ``data``, in hex: of a graded file, a grading, the gradebook tito wrote."""
    return hashlib.sha256(data).hexdigest()


def keep_edited_gradebook(folder: Path, new: bytes) -> Path | None:
    """Keep ``gradebook.csv`` as ``gradebook.<UTC stamp>.csv`` when it is not the file tito wrote
    last (by ``.gradebook.sha256``; without one, when it differs from ``new``): someone edited it.
    Returns the copy's path, or None when there was nothing of anyone's to keep."""
    if not edited_by_hand(folder, new):
        return None
    return _keep_copy(folder / GRADEBOOK, folder / f"gradebook.{utc_stamp()}.csv")


def edited_by_hand(folder: Path, new: bytes | None = None) -> bool:
    """Whether ``folder``'s gradebook.csv is not the file tito wrote last (by ``.gradebook.sha256``;
    a folder without one: when it differs from ``new``, or, without ``new``, never said)."""
    try:
        current = (Path(folder) / GRADEBOOK).read_bytes()
    except FileNotFoundError:
        return False
    try:
        last = (Path(folder) / WRITTEN).read_text(encoding="utf-8").strip()
    except (FileNotFoundError, UnicodeDecodeError):
        return new is not None and current != new
    return digest(current) != last


def _keep_copy(path: Path, copy: Path) -> Path:
    """A copy of ``path`` at ``copy`` (a hard link when the disk allows), never over an existing file."""
    copy.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(path, copy, follow_symlinks=False)
    except OSError as exc:
        if isinstance(exc, FileExistsError):
            raise
        with open(path, "rb") as source, open(copy, "xb") as target:
            shutil.copyfileobj(source, target)
    return copy


RESULT = ("submission", "score", "max_score", "error", "sha256")  # what a grade says of its submission
TEST_RESULT = ("name", "kind", "passed", "points")  # and of each test: not its message, whose text may vary
# from run to run with nothing changed (an object's address in a pytest message: re.Pattern at 0x7fec...)


def keep_replaced_report(path: Path, grade: Grade) -> Path | None:
    """Keep the report at ``path`` as ``history/<student>.<UTC stamp>.json`` when ``grade`` is
    about to replace it with another result, or it is another student's; None when there is none,
    or it says the same."""
    old = read_report(path)
    if old is None:
        return None
    before, after = old.to_json(), grade.to_json()
    if (old.student == grade.student and all(before[key] == after[key] for key in RESULT)
            and _test_results(old) == _test_results(grade)):
        return None  # the same student's same result (another student's report is always kept: a disk that
        # ignores case makes ALICE.json alice.json)
    return _keep_copy(path, path.parent / HISTORY / f"{path.name[:-len('.json')]}.{utc_stamp()}.json")


def _test_results(grade: Grade) -> list:
    return [tuple(test.to_json()[key] for key in TEST_RESULT) for test in grade.tests]


class Gradebook:
    """A batch's reports folder: each grade written as its report at once, the CSV every few seconds.
    ``pending``: student -> why the batch grades them (their rows say so until it has);
    ``adjustments``: the batch's ``read_adjustments`` (read here when not given)."""

    def __init__(self, folder: Path, module: str, students=None, pending: dict | None = None,
                 aside: SetAside | None = None, adjustments: dict | None = None):
        self.folder, self.module, self.students = Path(folder), module, students
        self.pending, self.aside = dict(pending or {}), aside if aside is not None else SetAside()
        # read once per batch: a later edit neither stops it nor makes its CSV disagree with what it said
        self.adjustments = read_adjustments(self.folder) if adjustments is None else adjustments
        self.grades = {g.student: g for g in read_grades(self.folder, module)}
        self.written = float("-inf")

    def add(self, grade: Grade) -> None:
        path = self.folder / report_name(grade.student)
        kept = keep_replaced_report(path, grade)
        try:
            write_json(grade.to_json(), path)
        except OSError:  # nothing was replaced: the copy in history/ would record what never happened
            if kept is not None:
                kept.unlink(missing_ok=True)
            raise
        if kept is not None:
            self.aside.reports.append(kept)
        self.grades[grade.student] = grade
        self.pending.pop(grade.student, None)
        if time.monotonic() - self.written >= REWRITE_SECONDS:
            self.flush()

    def flush(self) -> Path:
        self.written = time.monotonic()
        return write_gradebook(self.folder, self.module, list(self.grades.values()), self.students, self.pending,
                               self.aside, self.adjustments)
