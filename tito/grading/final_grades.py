"""Final grades: the reports folders of several modules combined into one CSV for the registrar.

One row per student, one column per module (its points; the header says out of how many), then
the total points and a percent. Without weights the percent is the total over the summed
maxima; with weights (every module given one) it is ``sum(w * points / max) / sum(w)``. A
student with no grade in a module has an **empty cell** there, counted as 0 in the total and
the percent. With a roster (one student per line, as the submissions are named), every student
on it has a row, in its order, also one who never submitted (all cells empty); students graded
but not on it follow, sorted, and are named (``Final.not_on_roster``).

Each folder is read as ``tito.grading.results`` does (the students its gradebook.csv lists, with
the points of its ``adjustments.csv``); the
CSV is written atomically, RFC 4180, every cell through gradebook.csv's formula guard
(``safe_cell``), and replaces only a file whose header says tito wrote it.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path

from tito.errors import TitoError
from tito.files import write_atomically
from tito.grading.data import same_student, showable_name
from tito.grading.gradebook import csv_text
from tito.grading.results import GradedFolder

STUDENT, TOTAL, PERCENT, WEIGHTED = "student", "total", "percent", "weighted percent"
MAX_ROSTER_BYTES = 1 << 20


@dataclass
class Final:
    """The table of final grades: ``header`` then ``rows`` (an empty cell: no grade in that module)."""

    header: list[str]
    rows: list[list] = field(default_factory=list)
    not_on_roster: list[str] = field(default_factory=list)
    never_graded: list[str] = field(default_factory=list)  # on the roster, in no folder
    look_alikes: list[tuple[str, str]] = field(default_factory=list)  # (never graded, not on roster), alike
    incomplete: list[str] = field(default_factory=list)  # 'cnn: bob': a 0 the grader owes a regrade
    waiting: list[str] = field(default_factory=list)  # 'cnn: bob (old grade, ...)': a row waiting for a grade

    def csv(self) -> str:
        return csv_text([self.header, *self.rows])


def module_maximum(graded: GradedFolder) -> int:
    """The points a module's checks are worth: the same in every grade of one grading."""
    maxima = sorted({g.max_score for g in graded.grades})
    if len(maxima) > 1:
        raise TitoError(f"{graded.folder} holds grades of module {graded.module} out of "
                        f"{' and '.join(map(str, maxima))} points: they come from different gradings.",
                        hint=f"Grade them again: tito grade DIR --module {graded.module} --out {graded.folder} "
                             "--regrade", exit_code=2)
    return maxima[0]


def combine(folders: list[GradedFolder], roster: list[str] | None = None,
            weights: dict[str, float] | None = None) -> Final:
    """The final grades of ``folders`` (one module each, in this order) for every student graded or on ``roster``."""
    modules = [graded.module for graded in folders]
    twice = sorted({m for m in modules if modules.count(m) > 1})
    if twice:
        raise TitoError(f"Module {', '.join(twice)} is given by more than one folder: "
                        + ", ".join(str(g.folder) for g in folders if g.module in twice) + ".", exit_code=2)
    _check_weights(weights, modules)
    maxima = {graded.module: module_maximum(graded) for graded in folders}
    points = {graded.module: {same_student(g.student): (g.student, graded.score_of(g)) for g in graded.grades}
              for graded in folders}
    graded_students = {key: name for table in points.values() for key, (name, _) in table.items()}
    listed = {same_student(name): name for name in reversed(roster or [])}  # the roster's spelling, first kept
    listed = dict(reversed(listed.items()))
    extra = sorted(set(graded_students) - set(listed)) if roster is not None else []
    order = [*listed, *extra] if roster is not None else sorted(graded_students)
    final = Final([STUDENT, *(f"{m} (of {maxima[m]})" for m in modules), f"{TOTAL} (of {sum(maxima.values())})",
                   WEIGHTED if weights else PERCENT],
                  not_on_roster=[graded_students[key] for key in extra],
                  never_graded=[name for key, name in listed.items() if key not in graded_students],
                  incomplete=[f"{g.module}: {student}" for g in folders for student in g.incomplete],
                  waiting=[f"{g.module}: {row}" for g in folders for row in g.waiting])
    final.look_alikes = _look_alikes(final.never_graded, final.not_on_roster)
    for key in order:
        earned = {m: points[m][key][1] for m in modules if key in points[m]}
        final.rows.append([showable_name(listed.get(key) or graded_students[key]),
                           *(earned.get(m, "") for m in modules),
                           sum(earned.values()), _percent(earned, maxima, weights)])
    return final


def _look_alikes(never_graded: list[str], not_on_roster: list[str]) -> list[tuple[str, str]]:
    """Pairs of a roster name and a graded name that may be one student twice: the same but for
    letter case or accents ('Alice', 'alice'; 'Jose', 'José'), else close enough for a typo
    ('henri', 'henry'). Names match exactly, as a file system may hold both, so these are only said."""
    import difflib

    graded = {}
    for name in not_on_roster:
        graded.setdefault(_folded(name), name)
    pairs = []
    for name in never_graded:
        close = difflib.get_close_matches(_folded(name), list(graded), n=1, cutoff=0.8)
        if close:
            pairs.append((name, graded[close[0]]))
    return pairs


def _folded(name: str) -> str:
    """A name without letter case and accents: 'José' and 'JOSE' are 'jose'."""
    import unicodedata

    return "".join(c for c in unicodedata.normalize("NFKD", name.casefold()) if not unicodedata.combining(c))


def _percent(earned: dict, maxima: dict, weights: dict | None) -> float:
    """The percent of a row (a module without a grade counts 0), rounded to 0.1 as gradebook.csv's."""
    weights = weights or maxima  # no weights: each module weighs its points, so the percent is total/max
    shares = [(weights[m], earned.get(m, 0) / maxima[m]) for m in maxima if maxima[m]]
    total = sum(weight for weight, _ in shares)
    return round(100 * sum(weight * share for weight, share in shares) / total, 1) if total else 0.0


def _check_weights(weights: dict | None, modules: list[str]) -> None:
    if not weights:
        return
    unknown = sorted(set(weights) - set(modules))
    if unknown:
        raise TitoError(f"--weight names {', '.join(unknown)}, which no folder grades: the modules are "
                        f"{', '.join(modules)}.", exit_code=2)
    missing = [m for m in modules if m not in weights]
    if missing:
        raise TitoError(f"--weight gives no weight to {', '.join(missing)}: with weights, give every module one.",
                        hint=" ".join(f"--weight {m}=1" for m in missing), exit_code=2)
    if not sum(weights.values()) > 0:
        raise TitoError("--weight: the weights add up to 0; give at least one module a positive weight.",
                        exit_code=2)


def parse_weight(text: str) -> tuple[str, float]:
    """'cnn=2' -> ('cnn', 2.0); TitoError for anything else."""
    module, equals, value = text.partition("=")
    try:
        weight = float(value) if equals and module.strip() else None
    except ValueError:
        weight = None
    if weight is None or not weight >= 0 or weight == float("inf"):
        raise TitoError(f"--weight {text}: expected MODULE=WEIGHT with a weight of 0 or more, e.g. --weight cnn=2.",
                        exit_code=2)
    return module.strip(), weight


def read_roster(path: Path) -> list[str]:
    """The students of a roster file: one name per line (blank lines and lines starting with # skipped)."""
    try:
        if Path(path).stat().st_size > MAX_ROSTER_BYTES:
            raise TitoError(f"--roster {path} is larger than {MAX_ROSTER_BYTES >> 20} MB: expected one student "
                            "name per line.", exit_code=2)
        text = Path(path).read_text(encoding="utf-8-sig")  # a spreadsheet's export may start with a BOM
    except (OSError, UnicodeDecodeError) as exc:
        raise TitoError(f"Cannot read --roster {path}: {exc}.", hint="Expected a UTF-8 text file, one student "
                        "name per line.", exit_code=2) from None
    return [line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]


def ours(path: Path) -> bool:
    """Whether ``path`` holds final grades tito wrote (its header: student, ..., total (of N), percent)."""
    try:
        if path.is_symlink() or not path.is_file():
            return False
        with path.open(encoding="utf-8", newline="") as handle:
            header = next(csv.reader(handle), [])
    except (OSError, UnicodeDecodeError, csv.Error):
        return False
    return (len(header) >= 3 and header[0] == STUDENT and header[-2].startswith(f"{TOTAL} (of ")
            and header[-1] in (PERCENT, WEIGHTED))


def write_final(final: Final, path: Path) -> None:
    """Write the CSV atomically; TitoError when ``path`` is a file tito did not write."""
    path = Path(path)
    if (path.exists() or path.is_symlink()) and not ours(path):
        raise TitoError(f"{path} exists and is not a file of final grades tito wrote, so it is not replaced.",
                        hint="Give another --out, or move that file away first.", exit_code=2)
    write_atomically(path, final.csv())
