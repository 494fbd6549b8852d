"""What changed between two gradings of a reports folder, and re-scoring a report when only points did.

A report keeps only the fingerprint of its grading (``tito.grading.state``): one hash of
everything besides the submission that decides a grade. So that a batch can say *what* changed,
the reports folder also keeps the parts each grading hashed (``grading_parts``) in
``.tito-gradings``, keyed by fingerprint, beside ``.tito-seed``: the settings, each check's
spec, tito's version and the sha256 of every file hashed (tito's own files named one by one). A
batch then says, e.g., "the grading changed: points of receptive_field",
"... tests/06_cnn/checks.py changed" or "... tito changed (tito/commands/book.py)". A report
whose grading is not recorded there (written before, or by an older tito) says only "the grading
changed".

When the only difference is the ``points`` of some checks in module.yaml — the same checks in
the same order, every other part identical — the per-check pass/fail in a report is still right:
the report is *re-scored* (each check's points from the current spec, 0 for a check the untouched
stub passes) instead of run again. Anything else (a check's code, tolerance, message or hidden
flag, tito's code, a module source, a setting) is graded by running, as is a report whose checks
are not the grading's or whose points do not match the grading it claims.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from pathlib import Path

from tito.files import write_atomically
from tito.grading.report import CHECK, Grade

GRADINGS = ".tito-gradings"  # fingerprint -> {"parts": ..., "tito_files": ...}
KEEP = 32  # gradings remembered per reports folder (the latest)
MAX_BYTES = 16 << 20
NAMED = 3  # files named per change, then "and N more"
CHANGED = "the grading changed"


def grading_record(parts: dict) -> dict:
    """What the reports folder keeps of a grading: its parts, and the sha256 of each of tito's files
    (which the parts hash as one)."""
    from tito.files import TITO_PACKAGE, source_digests

    return {"parts": parts, "tito_files": source_digests(TITO_PACKAGE)}


def read_gradings(out: Path) -> dict[str, dict]:
    """The gradings the reports folder ``out`` recorded, by fingerprint; an entry whose parts do not
    hash to its fingerprint is left out (then its reports say only that the grading changed)."""
    from tito.grading.state import fingerprint_of

    path = Path(out) / GRADINGS
    try:
        if path.is_symlink() or path.stat().st_size > MAX_BYTES:
            return {}
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError):
        return {}
    if not isinstance(data, dict):
        return {}
    return {key: entry for key, entry in data.items()
            if isinstance(entry, dict) and isinstance(entry.get("parts"), dict)
            and fingerprint_of(entry["parts"]) == key}


def keep_grading(out: Path, grading: str, record: dict) -> None:
    """Record ``grading``'s parts in the reports folder ``out`` (atomically), as its latest; the
    oldest beyond KEEP are forgotten. A record that cannot be written only costs the words (a
    later change says just that the grading changed, and regrades)."""
    known = read_gradings(out)
    if list(known)[-1:] == [grading]:
        return
    known.pop(grading, None)
    known[grading] = record
    try:
        write_atomically(Path(out) / GRADINGS, json.dumps(dict(list(known.items())[-KEEP:]), indent=1) + "\n")
    except OSError:
        pass


@dataclass
class Change:
    """How the grading of a report differs from the current one."""

    said: list = field(default_factory=list)  # 'points of conv2d', 'tests/06_cnn/checks.py changed', ...
    points: dict = field(default_factory=dict)  # check -> its points before, when only points changed
    known: bool = True  # False: the report's grading is not recorded

    @property
    def only_points(self) -> bool:
        return self.known and bool(self.points) and len(self.said) == 1

    @property
    def why_grade(self) -> str:
        """Why its report is graded again: 'the grading changed: tests/06_cnn/checks.py changed'."""
        return f"{CHANGED}: {'; '.join(self.said)}" if self.said else CHANGED

    @property
    def why_rescore(self) -> str:
        return f"{self.said[0]} changed"


class Changes:
    """What changed since each report's grading, against the current one (``now``: a
    ``grading_record``), from the gradings the reports folder recorded."""

    def __init__(self, known: dict[str, dict], now: dict):
        self.known, self.now, self.seen = known, now, {}

    def of(self, grade: Grade) -> Change:
        if grade.fingerprint not in self.seen:
            before = self.known.get(grade.fingerprint)
            try:
                self.seen[grade.fingerprint] = what_changed(before, self.now) if before else Change(known=False)
            except (TypeError, KeyError, AttributeError, ValueError):  # a record tito did not write
                self.seen[grade.fingerprint] = Change(known=False)
        return self.seen[grade.fingerprint]

    def rescorable(self, grade: Grade) -> bool:
        """True when only points changed and the report's checks are the grading's, in its order."""
        names = [spec["name"] for spec in self.now["parts"]["checks"]]
        return self.of(grade).only_points and [t.name for t in grade.checks] == names


def what_changed(before: dict, now: dict) -> Change:
    """The difference of two grading records (``grading_record``), said part by part."""
    old, new = before["parts"], now["parts"]
    said, points = _settings(old, new), {}
    if old.get("checks") != new.get("checks"):
        checks, points = _checks(old.get("checks") or [], new.get("checks") or [])
        said += checks
    if old.get("tito_source") != new.get("tito_source"):
        said.append(_tito(before.get("tito_files"), old, now.get("tito_files")))
    if old.get("files") != new.get("files"):
        said.append(_files(old.get("files") or {}, new.get("files") or {}))
    handled = {*SETTINGS, "checks", "tito_source", "files"}
    said += [f"{key} changed" for key in sorted((set(old) | set(new)) - handled) if old.get(key) != new.get(key)]
    return Change(said, points if len(said) == 1 else {})


SETTINGS = {"module": "the module", "tito": "tito's version", "calibrate": "calibration", "timeout": "the timeout",
            "sandboxed": "the sandbox", "seed": "the seed (.tito-seed)"}


def _settings(old: dict, new: dict) -> list[str]:
    said = []
    for key, name in SETTINGS.items():
        if old.get(key) != new.get(key):
            said.append(name if key == "seed" else f"{name} ({_setting(old.get(key))} -> {_setting(new.get(key))})")
    return said


def _setting(value) -> str:
    if value is None or isinstance(value, bool):
        return {True: "on", False: "off", None: "default"}[value]
    return f"{value:g}" if isinstance(value, (int, float)) else str(value)


def _checks(old: list, new: list) -> tuple[list[str], dict]:
    """What changed in the checks' specs; and, when only points did, check -> its points before."""
    before, after = {c["name"]: c for c in old}, {c["name"]: c for c in new}
    said = [f"check {name} added" for name in after if name not in before]
    said += [f"check {name} removed" for name in before if name not in after]
    common = [name for name in after if name in before]
    if not said and list(before) != list(after):
        said.append("the order of the checks")
    by_field: dict[str, list[str]] = {}
    for name in common:
        for key in sorted(set(before[name]) | set(after[name])):
            if before[name].get(key) != after[name].get(key):
                by_field.setdefault(key, []).append(name)
    changed_points = by_field.pop("points", [])
    said += [f"{key} of {', '.join(names)}" for key, names in by_field.items()]
    if changed_points:
        said.insert(0, f"points of {', '.join(changed_points)}")
    only = changed_points and len(said) == 1
    return said, {name: before[name]["points"] for name in before} if only else {}


def _tito(old_files: dict | None, old: dict, new_files: dict | None) -> str:
    """'tito changed (tito/commands/book.py)', or 'tito changed' when its files were not recorded."""
    from tito.files import digest_of

    if not isinstance(old_files, dict) or digest_of(old_files) != old.get("tito_source"):
        return "tito changed"
    said = _files(old_files, new_files or {}, "tito/").removesuffix(" changed")
    return f"tito changed ({said})" if said else "tito changed"


def _files(old: dict, new: dict, prefix: str = "") -> str:
    """'tests/06_cnn/checks.py changed', '... and 2 more changed', 'a.py added, b.py removed'."""
    said = []
    for what, names in (("changed", [n for n in new if n in old and old[n] != new[n]]),
                        ("added", [n for n in new if n not in old]), ("removed", [n for n in old if n not in new])):
        if names:
            more = f" and {len(names) - NAMED} more" if len(names) > NAMED else ""
            said.append(f"{', '.join(prefix + n for n in names[:NAMED])}{more} {what}")
    return ", ".join(said)


def rescore(grade: Grade, prepared, change: Change) -> Grade | None:
    """``grade`` with each check's points from ``prepared``'s specs (0 for a check the untouched stub
    passes, ``prepared.free``) and ``prepared``'s fingerprint; the pass/fail, messages and times are
    the report's. None when the report's points are not those of the grading it claims (then it
    is graded again)."""
    free, specs = set(prepared.free), {spec.name: spec for spec in prepared.checks}
    checks = grade.checks
    if [t.name for t in checks] != list(specs) or any(
            t.points != (0 if t.name in free else change.points.get(t.name)) for t in checks):
        return None
    tests = [replace(t, points=0 if t.name in free else specs[t.name].points) if t.kind == CHECK else t
             for t in grade.tests]
    return replace(grade, tests=tests, fingerprint=prepared.fingerprint)
