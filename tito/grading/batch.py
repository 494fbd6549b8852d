"""A folder of submissions: graded N at a time, and nothing already graded is ever lost.

Each outcome — a grade, or a 0 with the reason — is written as ``<student>.json`` the moment
it is known (atomically), and ``gradebook.csv`` is rebuilt from the JSON files in the folder
after each one. If one submission breaks anything, it scores 0 with the reason and the batch
goes on; if the grader itself is killed, every JSON written so far and the CSV stay.
"""

from __future__ import annotations

import csv
import io
import json
import queue
import re
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from tito.errors import TitoError
from tito.exporter import write_atomically
from tito.grading.report import Grade

GRADEBOOK = "gradebook.csv"


def grade_batch(grader, submissions: list[tuple[str, Path]], out: Path, jobs: int = 1, on_done=None) -> list[Grade]:
    """Grade every (student, file), ``jobs`` at a time, writing each report into ``out``; input order kept."""
    if jobs < 1:
        raise TitoError(f"--jobs must be at least 1, got {jobs}.", exit_code=2)
    names = [report_name(student) for student, _ in submissions]
    clashes = sorted({name for name in names if names.count(name) > 1})
    if clashes:
        raise TitoError(f"Two students would share a report file: {', '.join(clashes)}.",
                        hint="Rename one of their submissions (letters, digits, - . _ are kept as they are).")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    slots: queue.Queue = queue.Queue()
    for slot in range(jobs):
        slots.put(slot)
    lock = threading.Lock()

    def one(item):
        student, path = item
        slot = slots.get()
        try:
            grade = grader.grade(path, student, slot)
        finally:
            slots.put(slot)
        with lock:
            write_json(grade, out / report_name(student))
            write_gradebook(out, grade.module)
            if on_done:
                on_done(grade)
        return grade

    with ThreadPoolExecutor(max_workers=jobs) as pool:
        return list(pool.map(one, submissions))


def report_name(student: str) -> str:
    """The JSON file of a student's grade: the name with anything but letters, digits, - . _ replaced."""
    return re.sub(r"[^\w.-]", "_", student).lstrip(".") + ".json"


def write_json(grade: Grade, path: Path) -> None:
    write_atomically(Path(path), json.dumps(grade.to_json(), indent=2) + "\n")


def read_grades(folder: Path, module: str) -> list[Grade]:
    """Every grade of ``module`` in a folder of JSON reports, by student (unreadable files skipped)."""
    grades = []
    for path in sorted(Path(folder).glob("*.json")):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            if isinstance(data, dict) and data.get("module") == module:
                grades.append(Grade.from_json(data))
        except (OSError, ValueError, KeyError, TypeError):
            continue
    return sorted(grades, key=lambda g: g.student)


def write_gradebook(folder: Path, module: str) -> Path:
    """Rebuild ``gradebook.csv`` from the folder's JSON reports: a row per student, then the
    points earned per check."""
    grades = read_grades(folder, module)
    checks = list(dict.fromkeys(t.name for g in grades for t in g.checks))
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(["student", "submission", "score", "max_score", "percent", "error", *checks])
    for grade in grades:
        earned = {t.name: t.earned for t in grade.checks}
        percent = round(100 * grade.score / grade.max_score, 1) if grade.max_score else 0.0
        writer.writerow([grade.student, grade.submission, grade.score, grade.max_score, percent,
                         grade.error.splitlines()[0] if grade.error else "", *(earned.get(c, 0) for c in checks)])
    path = Path(folder) / GRADEBOOK
    write_atomically(path, text.getvalue())
    return path
