"""The reports folder: one JSON report per student, and ``gradebook.csv`` built from them.

``<student>.json`` is written atomically the moment a grade is known; the name keeps letters
(any script), digits, ``-``, ``.`` and ``_`` and replaces everything else, so no student name
can reach outside the folder or onto a hidden file. ``gradebook.csv`` is rebuilt from the
reports (``Gradebook`` does it at most every few seconds during a batch, and at its end): a
row per student, then the points earned per check. It is safe to open in a spreadsheet: a text
cell that starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return — a formula to
Excel, LibreOffice and Google Sheets — gets a leading ``'`` (OWASP's advice on CSV injection),
also after leading spaces or as a full-width ``＝``.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
import time
import unicodedata
from pathlib import Path

from tito.files import write_atomically
from tito.grading.report import Grade

GRADEBOOK = "gradebook.csv"
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
REWRITE_SECONDS = 2.0  # during a batch, gradebook.csv is rebuilt at most this often
MAX_REPORT_BYTES = 16 << 20


MAX_NAME_BYTES = 200  # of a report's name; file systems allow 255, and its temporary name adds 18


def report_name(student: str) -> str:
    """The JSON file of a student's grade: the name (NFC) with anything but letters, digits, - . _
    replaced, and no leading dot; a name longer than MAX_NAME_BYTES is cut and ends with a hash
    of the whole name (so two long names that start alike stay two files)."""
    name = re.sub(r"[^\w.-]", "_", unicodedata.normalize("NFC", student)).lstrip(".") or "_"
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
    a formula once an importer trims its spaces or folds its full-width ``＝`` to ``=``."""
    if isinstance(value, str) and (value.startswith(FORMULA_START) or
                                   unicodedata.normalize("NFKC", value).lstrip().startswith(FORMULA_START)):
        return "'" + value
    return value


def write_gradebook(folder: Path, module: str, grades: list[Grade] | None = None, students=None) -> Path:
    """Write ``gradebook.csv`` from ``grades`` (default: the folder's JSON reports of ``module``):
    a row per student (of ``students`` only, when given), then the points earned per check."""
    grades = sorted(grades, key=lambda g: g.student) if grades is not None else read_grades(folder, module)
    grades = [g for g in grades if students is None or g.student in students]
    checks = list(dict.fromkeys(t.name for g in grades for t in g.checks))
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\r\n")  # RFC 4180; a CR or LF in a cell is then quoted
    writer.writerow(["student", "submission", "score", "max_score", "percent", "error", *checks])
    for grade in grades:
        earned = {t.name: t.earned for t in grade.checks}
        percent = round(100 * grade.score / grade.max_score, 1) if grade.max_score else 0.0
        row = [grade.student, grade.submission, grade.score, grade.max_score, percent,
               grade.error.splitlines()[0] if grade.error else "", *(earned.get(c, 0) for c in checks)]
        writer.writerow([safe_cell(cell) for cell in row])
    path = Path(folder) / GRADEBOOK
    write_atomically(path, text.getvalue())
    return path


class Gradebook:
    """A batch's reports folder: each grade written as its report at once, the CSV every few seconds."""

    def __init__(self, folder: Path, module: str, students=None):
        self.folder, self.module, self.students = Path(folder), module, students
        self.grades = {g.student: g for g in read_grades(self.folder, module)}
        self.written = float("-inf")

    def add(self, grade: Grade) -> None:
        write_json(grade.to_json(), self.folder / report_name(grade.student))
        self.grades[grade.student] = grade
        if time.monotonic() - self.written >= REWRITE_SECONDS:
            self.flush()

    def flush(self) -> Path:
        self.written = time.monotonic()
        return write_gradebook(self.folder, self.module, list(self.grades.values()), self.students)
