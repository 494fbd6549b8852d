"""A batch that resumes: which submissions still need a grade, judged from the reports on disk.

The reports folder (``grades/cnn/``) is the whole state of a batch. Each student's report
records the sha256 of the bytes that were graded and the *fingerprint* of the grading: a hash
of what decides a grade besides the submission — the module, its reference solution and
tests (checks included), the prerequisites' reference solutions, the hand-written parts of
``tinytorch``, the checks' points and tolerances, calibration, the deadline, whether a sandbox
ran the code, and tito's own source (a grade made before a fix of the grader is not kept).
A reports folder draws the checks' secret seed once and keeps it (``.tito-seed``): every run,
a late submission and a ``--regrade`` are graded on the same inputs as the rest of the class
(a partly right submission can score differently on other inputs). The seed is part of the
fingerprint: deleting the file draws a new one and grades everyone again.

``plan`` keeps a report while its submission's hash and the fingerprint still match, and the
grade is not marked incomplete (a 0 caused by the grader or a worker, not the submission);
everything else is graded, and the plan says which part of the grading changed; a report whose
grading differs only in the checks' points is re-scored without running (``tito.grading.changes``,
which keeps each grading's parts in ``.tito-gradings``). ``settle`` bounds that for a grading the
kernel's OOM killer ended: graded again once, final the second time on the same bytes if that
time it ran alone. A report that cannot be read, belongs to another module or student, or is not
tito's, counts as missing. ``--regrade`` (everyone) or ``--regrade NAME``
grades again regardless; the students a regrade still has to grade are kept in ``.tito-regrade``
(``RegradeRequest``), so that an interrupted one run again goes on with the rest.

``locked`` holds an exclusive ``flock`` on the reports folder itself for one batch: two
``tito grade`` runs writing the same gradebook would grade everything twice and race on the CSV.
``refuse_while_graded`` tests that lock for ``tito gradebook``: no feedback or final grade is read
from a folder a batch is rewriting (its pending rows are written only once the batch has planned).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from tito.course import Course, Module
from tito.errors import TitoError
from tito.files import file_digests, tito_source, write_atomically
from tito.grading.gradebook import digest, read_report, report_name
from tito.grading.report import Grade, filled_the_disk, out_of_memory_again, timed_out_beside_others

ALL = "\0"  # --regrade given without a name (no student can be named so: a file name holds no NUL)


SEED_FILE = ".tito-seed"


def read_seed(out: Path) -> int | None:
    """The seed the reports folder ``out`` keeps, or None before its first batch."""
    path = Path(out) / SEED_FILE
    try:
        return int(json.loads(path.read_text(encoding="utf-8"))["seed"])
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise TitoError(f"{path} is not a seed tito wrote ({exc}).",
                        hint="Delete it: the next batch draws a new seed and grades everyone again.") from None


def draw_seed() -> int:
    """A new secret seed for a reports folder's checks (62 random bits)."""
    import secrets

    return secrets.randbits(62)


def keep_seed(out: Path, seed: int) -> None:
    """Write ``seed`` as the reports folder's, before any report is."""
    try:
        write_atomically(Path(out) / SEED_FILE, json.dumps({"seed": seed}) + "\n")
    except OSError as exc:  # the reports could not be written either
        raise cannot_write(out, exc) from None


def cannot_write(out: Path, exc: OSError) -> TitoError:
    """The error for a reports folder ``out`` where writing failed with ``exc``."""
    return TitoError(f"Cannot write in the reports folder {out}: {exc.strerror}.",
                     hint="Give a folder you may write with --out DIR.")


REGRADE_FILE = ".tito-regrade"


class RegradeRequest:
    """A ``--regrade`` as the reports folder keeps it until every student it names is graded:
    ``{"asked": [the names given], "left": [students still to grade]}`` in ``.tito-regrade``.
    The same ``--regrade`` again (after Ctrl-C) grades only ``left``; another ``--regrade`` starts
    anew (``abandoned``: whom the one it replaces had still to grade); a run without ``--regrade``
    grades what is left of the one kept. A student held back (``held``: their files clash) stays
    in ``left`` until a run grades them; one neither submitted nor held any more leaves it."""

    def __init__(self, out: Path, asked: tuple, students: set, held: set = frozenset()):
        self.path, self.students = Path(out) / REGRADE_FILE, set(students)
        known = self.students | set(held)
        asked = sorted(set(same_names(asked)))
        refuse_unknown_names(tuple(asked), known)
        kept = self._read(needed=not asked)  # a new --regrade replaces a file it cannot read
        self.abandoned: list[str] = []
        if kept is not None and (not asked or asked == kept["asked"]):  # the same request, or none: go on
            self.asked, self.left = kept["asked"], [s for s in kept["left"] if s in known]
        else:
            self.asked = asked
            self.left = sorted(known) if ALL in asked else [s for s in asked if s in known]
            self.abandoned = [s for s in kept["left"] if s in known and s not in self.left] if kept is not None else []
        try:
            self._write()
        except OSError as exc:
            raise cannot_write(out, exc) from None

    @property
    def names(self) -> tuple:
        """The students to grade again now (``plan``'s ``regrade``): those of ``left`` submitted and not held."""
        return tuple(s for s in self.left if s in self.students)

    def graded(self, grade: Grade) -> None:
        """``grade`` is its student's new one: the request no longer names them, unless it is to be
        graded again (``incomplete``: its report could not be written, or the grader failed)."""
        if grade.student in self.left and not grade.incomplete:
            self.left.remove(grade.student)
            try:
                self._write()
            except OSError:  # a full disk: the file still names them, so the next run grades them again
                pass

    def _read(self, needed: bool) -> dict | None:
        """The request kept, or None; one that cannot be read is a TitoError when ``needed``."""
        try:
            kept = json.loads(self.path.read_text(encoding="utf-8"))
            if all(isinstance(kept.get(key), list) and all(isinstance(name, str) for name in kept[key])
                   for key in ("asked", "left")):
                return kept
        except FileNotFoundError:
            return None
        except (OSError, ValueError, AttributeError):
            pass
        if not needed:
            return None
        raise TitoError(f"{self.path} is not a regrade tito kept.",
                        hint="Delete it, or give --regrade again for the students to grade again.")

    def _write(self) -> None:
        if self.left:
            write_atomically(self.path, json.dumps({"asked": self.asked, "left": self.left}) + "\n")
        else:
            self.path.unlink(missing_ok=True)


def fingerprint(course: Course, module: Module, calibrate: bool, timeout: float | None = None,
                sandboxed: bool = True, seed: int | None = None) -> str:
    """The hash of everything besides the submission that decides its grade (see above)."""
    return fingerprint_of(grading_parts(course, module, calibrate, timeout, sandboxed, seed))


def fingerprint_of(parts: dict) -> str:
    """The fingerprint of a grading's parts (``grading_parts``)."""
    return digest(json.dumps(parts, sort_keys=True).encode("utf-8"))


def grading_parts(course: Course, module: Module, calibrate: bool, timeout: float | None = None,
                  sandboxed: bool = True, seed: int | None = None) -> dict:
    """What the fingerprint hashes, by part: the settings (calibrate, timeout, sandboxed, seed), the
    checks' specs, tito's version and one hash of its source, and the sha256 of each file under
    ``files`` (the module's and its prerequisites' sources, its tests, the package's hand-written files)."""
    from tito import __version__
    from tito.grading.checks import check_specs

    parts = {"tito": __version__, "module": module.name, "calibrate": calibrate, "timeout": timeout,
             "sandboxed": sandboxed, "seed": seed, "checks": [c.to_json() for c in check_specs(module)],
             "tito_source": tito_source()}
    files = [m.dev_file for m in course.with_prerequisites([module])]
    files += module.test_files()
    package = course.root / "tinytorch"
    files += sorted(p for p in package.rglob("*.py") if "__pycache__" not in p.parts and "core" not in
                    p.relative_to(package).parts) if package.is_dir() else []
    parts["files"] = file_digests(files, course.root)
    return parts


@dataclass
class Plan:
    """What a batch does: grade ``todo`` (student, file, why), keep the grades in ``kept``, re-score
    ``rescore`` (student, file, grade, change) without running them (``tito.grading.changes``)."""

    todo: list = field(default_factory=list)
    kept: list = field(default_factory=list)
    rescore: list = field(default_factory=list)


def plan(submissions: list[tuple[str, Path]], out: Path, module: str, grading: str,
         regrade: tuple = (), now: dict | None = None, feedback: bool = False) -> Plan:
    """Which submissions to grade, given the reports already in ``out`` (see the module's text);
    ``now``: the current grading's record (``tito.grading.changes.grading_record``), to say what
    changed since a report's grading and re-score those whose points alone did; ``feedback``: the
    batch runs the feedback tests, so a report graded without them (``--no-feedback``) is graded
    again (the feedback is no part of the fingerprint: a report with it is kept by a run without)."""
    from tito.grading.changes import Changes, read_gradings

    regrade = same_names(regrade)
    refuse_unknown_names(regrade, {student for student, _ in submissions})
    result = Plan()
    changes = Changes(read_gradings(out), now) if now is not None else None
    for student, path in submissions:
        why, grade = _why_grade(student, path, Path(out) / report_name(student), module, grading, regrade, changes,
                                feedback)
        if why:
            result.todo.append((student, path, why))
        elif grade.fingerprint != grading:  # only points changed: re-scored
            result.rescore.append((student, path, grade, changes.of(grade)))
        else:
            result.kept.append(grade)
    return result


def refuse_unknown_names(regrade: tuple, students: set) -> None:
    """TitoError naming the students ``--regrade`` asked for who have no submission."""
    unknown = sorted(set(regrade) - students - {ALL})
    if unknown:
        raise TitoError(f"--regrade names no submission: {', '.join(unknown)}.",
                        hint="Students are named after their file or folder: " + ", ".join(sorted(students)[:20]))


def same_names(names: tuple) -> tuple:
    """Student names as typed (``--regrade José`` may come decomposed) in NFC, as students are named."""
    from tito.grading.data import same_student

    return tuple(map(same_student, names))


def _why_grade(student: str, path: Path, report: Path, module: str, grading: str,
               regrade: tuple, changes=None, feedback: bool = False) -> tuple[str, Grade | None]:
    """Why ``student`` is graded ('' when not: kept, or re-scored when only points changed since
    its grading), and the grade in their report (None if not read)."""
    if ALL in regrade or student in regrade:
        return "asked to regrade", None
    grade = read_report(report)
    if grade is None or grade.module != module or grade.student != student:
        return "new", grade
    if grade.incomplete:
        return "its last grading did not finish", grade
    if feedback and grade.sandbox.get("feedback") is False:
        return "graded without its feedback tests (--no-feedback)", grade
    if grade.fingerprint != grading and not (changes and changes.rescorable(grade)):
        return changes.of(grade).why_grade if changes else "the grading changed", grade
    from tito.grading.data import showable
    from tito.grading.report import unreadable
    from tito.grading.submission import SubmissionError, read_bytes

    try:  # as the grader reads it: no link followed, nothing huge, no FIFO to block on
        data = read_bytes(path, module)
    except SubmissionError as exc:  # kept when its 0 already says this; else grading it says why
        return ("" if grade.error == unreadable(showable(str(exc))) else "cannot be read now"), grade
    return ("" if digest(data) == grade.sha256 else "changed"), grade


def settle(grade: Grade, out: Path) -> Grade:
    """``grade`` as the batch writes it into the reports folder ``out``. A grading that filled the
    disk itself is final (``final_when_it_filled_the_disk``). One that ran out of time with
    another grading beside it (not ``Grade.sandbox["alone"]``, which another batch's CPU hog also
    makes false) is not final: graded again. A grading the kernel's OOM killer ended
    (``Grade.sandbox["out_of_memory"]``, see ``tito.grading.grader``) is graded again, once: if it
    ran alone (no other grading beside it, whose memory could have made the killer pick it) and
    the report it replaces says the same bytes were killed so under the same grading, this grade
    is final, with a reason saying so."""
    if final_when_it_filled_the_disk(grade):
        return grade
    if grade.sandbox.get("ran_out_of_time") is True and grade.sandbox.get("alone") is not True:
        grade.incomplete = True  # another grading's CPU hog may have made it run out of time
        grade.error = timed_out_beside_others(grade.error)
        return grade
    if not (grade.incomplete and grade.sandbox.get("out_of_memory") and grade.sandbox.get("alone") is True):
        return grade
    last = read_report(Path(out) / report_name(grade.student))
    if (last is not None and last.incomplete and last.sandbox.get("out_of_memory") is True
            and (last.module, last.student, last.sha256, last.fingerprint)
            == (grade.module, grade.student, grade.sha256, grade.fingerprint)):
        grade.incomplete = False
        grade.error = out_of_memory_again(grade.error)
    return grade


def final_when_it_filled_the_disk(grade: Grade) -> bool:
    """Make ``grade`` final, saying why, when the submission filled the disk itself
    (:func:`filled_the_disk_itself`); whether it did so."""
    if not filled_the_disk_itself(grade):
        return False
    grade.incomplete = False
    grade.error = filled_the_disk(grade.error, grade.sandbox["disk_free_at_start"])
    return True


def filled_the_disk_itself(grade: Grade) -> bool:
    """A grading stopped for the disk running low (``starved``) while it ran alone, having started
    with FILLED_ITSELF free or more: the submission filled it (graded again on every run, it would
    keep the batch from finishing). One that started with less is the grader's disk being
    full: graded again, as before."""
    from tito.grading.sandbox import FILLED_ITSELF

    free = grade.sandbox.get("disk_free_at_start")
    return (grade.incomplete and grade.sandbox.get("starved") is True and grade.sandbox.get("alone") is True
            and type(free) is int and free >= FILLED_ITSELF)


@contextlib.contextmanager
def locked(out: Path):
    """Hold the reports folder for one batch; TitoError if another batch holds it."""
    out = Path(out)
    try:
        out.mkdir(parents=True, exist_ok=True)
        fd = _open_folder(out)
    except OSError as exc:
        raise TitoError(f"Cannot use {out} as the reports folder: {exc.strerror}.",
                        hint="Give a folder you may write with --out DIR.") from None
    try:
        if not _took(fd, fcntl.LOCK_EX):
            raise TitoError(f"Another tito grade is writing to {out} right now.",
                            hint="Wait for it to finish, or give this one another --out folder.")
        yield out
    finally:
        os.close(fd)


def refuse_while_graded(out: Path) -> None:
    """TitoError while a batch holds ``out`` (``locked``): its gradebook.csv and reports are about
    to change, so what they say now must not be handed back. A grade that crashed holds nothing:
    the kernel drops a ``flock`` with the last descriptor of the folder (close-on-exec: no sandbox
    keeps it)."""
    try:
        fd = _open_folder(Path(out))
    except OSError:
        return  # not a folder this reader can open: its own reading says what is wrong
    try:
        if not _took(fd, fcntl.LOCK_SH):
            raise TitoError(f"A tito grade is writing to {out} right now: run this after it ends.",
                            hint="Its gradebook.csv and reports still change until that tito grade ends.")
    finally:
        os.close(fd)  # released at once: a reader never keeps a batch from starting


def _open_folder(out: Path) -> int:
    """A descriptor of the reports folder itself, the lock's one place (no lock file)."""
    return os.open(out, os.O_RDONLY | os.O_DIRECTORY | getattr(os, "O_CLOEXEC", 0))


def _took(fd: int, kind: int) -> bool:
    """Whether ``flock`` of ``kind`` (shared or exclusive) was taken on ``fd`` without waiting."""
    try:
        fcntl.flock(fd, kind | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True
