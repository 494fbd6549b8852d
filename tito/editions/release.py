"""``tito release``: a student edition written into a folder, audited, atomically.

The edition is built in a temporary folder beside the destination (``build.py``) and searched
for anything of the solutions (``audit``) before it is moved into place; a failed release
leaves the destination as it was. With ``--force`` into an earlier edition, a module the
student has worked on stays as it is (its new stub goes to ``.tito/release`` only).
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from tito import format
from tito.book.launch import Repository, declared_repository, set_repository
from tito.course import Course, Module
from tito.editions import MANIFEST, RELEASE_DIR, read_manifest, released_stub
from tito.editions.build import ModuleRelease, build_edition
from tito.editions.notebooks import check_points
from tito.editions.student_files import student_readme
from tito.errors import TitoError
from tito.exporter import is_generated
from tito.files import BACKUP_DIR, copy_file, new_folder, utc_stamp
from tito.notebooks.convert import notebook_json, to_notebook


@dataclass
class ReleaseReport:
    out: Path
    modules: list[ModuleRelease]
    files: int
    kept: list[Path] = field(default_factory=list)  # students' work left in place by --force
    new_stubs: list[Path] = field(default_factory=list)  # those of ``kept`` whose released stub changed
    unchanged: int = 0  # files of ``files`` that an earlier edition already held as they are
    removed: list[Path] = field(default_factory=list)
    replaced: list[Path] = field(default_factory=list)  # other files that differed, copied first
    replaced_copies: Path | None = None
    warnings: list[str] = field(default_factory=list)


def _check_destination(course: Course, out: Path, force: bool) -> None:
    root = course.root
    if out == root or root in out.parents or out in root.parents:
        raise TitoError(f"The edition cannot be written into the course itself ({out}).",
                        hint="Give a folder outside the course: tito release --all --out ../student")
    if out.exists() and not out.is_dir():
        raise TitoError(f"{out} is a file, not a folder.")
    if out.exists() and any(out.iterdir()) and not force:
        raise TitoError(f"{out} is not empty; not writing a student edition over it.",
                        hint="Choose an empty folder, or add --force to write over it (in an earlier edition, a "
                             "module source a student worked on is kept as it is; any other file replaced is "
                             "copied to .tito/backups first).")


# A worked-in edition's folders that no release writes: the student's environment and history.
NOT_THE_EDITIONS = (".venv", ".git")


def audit(folder: Path, solution_lines: set[str], solved_exports: set[str],
          fresh: bool = True) -> tuple[list[str], list[str]]:
    """Problems (solution markers, solved generated files, solution text) and warnings in an edition.

    Solution text found under tests/ is only a warning: a test may spell out an expected
    expression the same way. ``.tito/backups`` holds students' own work and is not searched.
    An edition a student has worked in (``fresh=False``) may hold their own exports in
    tinytorch/core and, in their own code, lines that equal the solution's: only markers and
    solved generated files are problems there.
    """
    problems, warnings = [], []
    core = folder / "tinytorch" / "core"
    for path in sorted(folder.rglob("*")):
        rel = path.relative_to(folder)
        if (path.is_dir() or rel.parts[:2] == BACKUP_DIR.parts or rel.parts[0] in NOT_THE_EDITIONS
                or path.suffix not in (".py", ".ipynb", ".md", ".txt", ".yaml")):
            continue
        text = path.read_text(encoding="utf-8", errors="replace")
        if path.suffix == ".ipynb":
            text = _notebook_code(text)
        if path.suffix in (".py", ".ipynb") and format.has_markers(text):
            problems.append(f"{rel}: still holds '### BEGIN/END SOLUTION' or hidden-test markers")
        if fresh and path.parent == core and path.name != "__init__.py":
            problems.append(f"{rel}: tinytorch/core must hold only __init__.py in a fresh edition")
        elif path.suffix == ".py" and text in solved_exports:
            problems.append(f"{rel}: is a solved generated file")
        if not fresh:
            continue
        leaked = sorted({line.strip() for line in text.splitlines()} & solution_lines)
        if leaked:
            more = f" (+{len(leaked) - 1} more)" if len(leaked) > 1 else ""
            message = f"{rel}: holds solution text: {leaked[0]!r}{more}"
            (warnings if rel.parts[0] == "tests" else problems).append(message)
    return problems, warnings


def _notebook_code(text: str) -> str:
    try:
        cells = json.loads(text).get("cells", [])
    except ValueError:
        return text
    return "\n".join("".join(c.get("source", "")) if isinstance(c.get("source"), list) else str(c.get("source", ""))
                     for c in cells)


def start_line(report: ReleaseReport) -> str:
    """The commands a student runs first in the edition, as one line to copy."""
    first = report.modules[0].module.name if report.modules else "NAME"
    return (f"cd {shlex.quote(str(report.out))} && make install && source bin/activate-tinytorch.sh "
            f"&& tito test --module {first}")


def release(course: Course, modules: list[Module], out: Path, force: bool = False,
            repository: str | None = None) -> ReleaseReport:
    """Write the student edition of ``modules`` (with their prerequisites) into ``out``.

    The edition is built in a temporary folder beside ``out`` and audited before it is moved
    (or, with ``force``, copied) into place, so a failed release leaves ``out`` untouched.
    ``repository`` is the edition's own GitHub repository (its website's launch cards open it);
    an earlier edition in ``out`` keeps the one it names.
    """
    out = Path(out).expanduser().resolve()
    _check_destination(course, out, force)
    repository = Repository.parse(repository).url if repository else _earlier_editions_repository(course, out)
    modules = course.with_prerequisites(modules)
    for module in modules:  # the sources' and module.yaml's mistakes before any work
        _check_module(course, module)
    solved = _solved_exports(course)
    out.parent.mkdir(parents=True, exist_ok=True)
    stage = new_folder(out.parent, prefix=f".{out.name}.release-")
    try:
        released, solution_lines = build_edition(course, modules, stage, repository)
        repository_warning = _point_at(stage, repository, declared_repository(course.root))
        problems, warnings = audit(stage, solution_lines, solved)
        if problems:
            raise TitoError("The student edition would leak solutions:\n  " + "\n  ".join(problems),
                            hint="Nothing was written. Fix the sources (markers, exports) and release again.")
        files = sum(1 for p in stage.rglob("*") if p.is_file())
        report = ReleaseReport(out, released, files, warnings=warnings + repository_warning)
        for item in released:
            report.warnings.extend(item.warnings)
        if not out.exists() or not any(out.iterdir()):
            if out.exists():
                out.rmdir()
            os.replace(stage, out)
        else:
            _merge_into(course, stage, out, released, solved, report, repository)
        return report
    finally:
        if stage.exists():
            shutil.rmtree(stage, ignore_errors=True)


def _check_module(course: Course, module: Module) -> None:
    """What would make the edition of ``module`` fail every student: its export target against
    module.yaml's exports_to, the points of its tests, its graded checks' entries, a module it
    imports that its prerequisites leave out (an edition of it alone, and its grading, lack it)."""
    from tito.exporter import target_of
    from tito.grading.checks import check_specs

    target_of(module, format.code_cells(module.source()))
    check_points(module)
    if module.meta.get("checks"):
        check_specs(module)
    unlisted = course.unlisted_imports(module)
    if unlisted:
        raise TitoError(" ".join(unlisted))


def _earlier_editions_repository(course: Course, out: Path) -> str | None:
    """The repository an earlier edition in ``out`` names, when it is not the instructor's."""
    try:
        named = declared_repository(out)
    except TitoError:  # its pyproject.toml is broken: the release replaces it
        return None
    return named if named and named != declared_repository(course.root) else None


def _point_at(stage: Path, repository: str | None, instructors: str | None) -> list[str]:
    """Name the edition's repository in its pyproject.toml; a warning when it would name the instructor's."""
    if repository:
        set_repository(stage, repository)
        return []
    if instructors:
        return [f"The edition's pyproject.toml names {instructors} as its Repository, this course's: its "
                "website's Binder, Colab and source links would open the instructor's repository, and its "
                "notebooks get no first cell to fetch the course in Colab. Name the edition's own with "
                "--repository URL."]
    return []


def _solved_exports(course: Course) -> set[str]:
    """The text of every generated file the instructor's course holds (these are solutions)."""
    found = set()
    for path in (course.root / "tinytorch").rglob("*.py"):
        if is_generated(path):
            found.add(path.read_text(encoding="utf-8"))
    return found


def _merge_into(course: Course, stage: Path, out: Path, released: list[ModuleRelease], solved: set[str],
                report: ReleaseReport, repository: str | None):
    """Copy an edition over an existing folder.

    In an earlier edition, a module the student has worked on (source or notebook no longer
    its released stub) is left as it is: the new stub only replaces the pristine copy in
    .tito/release, from where ``tito module reset`` takes it. Solved generated files go. The
    manifest and the README then list every module of both releases.
    """
    old_manifest = read_manifest(out)
    kept_sources = []
    if old_manifest is not None:
        for item in released:
            if _students_work(out, item.module):
                rel_dev = item.module.dev_file.relative_to(item.module.root)
                (stage / rel_dev).unlink()
                (stage / rel_dev.with_suffix(".ipynb")).unlink(missing_ok=True)
                report.kept.append(out / rel_dev)
                if _stub_changed(stage, out, item.module):
                    report.new_stubs.append(out / rel_dev)
                kept_sources.append(rel_dev.as_posix())
    solved_files = _solved_files(out, solved, kept_sources)
    _refuse_leftover_solutions(stage, out, report.kept, solved_files)
    for path in solved_files:
        path.unlink()
        report.removed.append(path)
    if old_manifest is not None:
        manifest = _merged_manifest(json.loads((stage / MANIFEST).read_text(encoding="utf-8")), old_manifest,
                                    released, report.kept)
        (stage / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
        (stage / "README.md").write_text(student_readme(_listed(course, manifest, released), repository),
                                         encoding="utf-8")
    _count_and_back_up(stage, out, report)
    shutil.copytree(stage, out, dirs_exist_ok=True)


def _stub_changed(stage: Path, out: Path, module: Module) -> bool:
    """True when this release's stub of ``module`` differs from the one ``out`` was released with."""
    earlier = released_stub(out, module)
    return not earlier.is_file() or earlier.read_bytes() != released_stub(stage, module).read_bytes()


def _merged_manifest(new: dict, old: dict, released: list[ModuleRelease], kept: list[Path]) -> dict:
    """A release of some modules keeps the others' entries; a kept module keeps the entry of the
    files the student has."""
    old_entries = old.get("modules") or {}
    for path in kept:
        name = next(item.module.name for item in released if item.module.dev_file.name == path.name)
        if name in old_entries:
            new["modules"][name] = old_entries[name]
    new["modules"] = {**old_entries, **new["modules"]}
    return new


def _listed(course: Course, manifest: dict, released: list[ModuleRelease]) -> list[ModuleRelease]:
    """Every course module the merged manifest names, in the course's order, as the README lists them."""
    entries, fresh = manifest.get("modules") or {}, {item.module.name: item for item in released}
    return [fresh.get(module.name) or ModuleRelease(module, list(entries[module.name].get("stubs") or []), 0, [])
            for module in course.in_prerequisite_order() if module.name in entries]


def _count_and_back_up(stage: Path, out: Path, report: ReleaseReport) -> None:
    """Count the files the release writes into ``out`` (``report.files``: the student's work kept is
    not among them) and those already as released (``report.unchanged``); copy each file of ``out``
    that it replaces with other contents (a README, a test, a module.yaml the student may have
    edited) to .tito/backups/release-<UTC time>/, so nothing is lost. Of tito's own records (.tito/)
    only the released stubs are copied (a student whose work was kept merges the new stub into it
    from the old one)."""
    copies = out / BACKUP_DIR / f"release-{utc_stamp()}"
    staged = sorted(p for p in stage.rglob("*") if p.is_file())
    report.files = len(staged)
    for path in staged:
        rel = path.relative_to(stage)
        old = out / rel
        if not old.is_file() or old.is_symlink():
            continue
        if old.read_bytes() == path.read_bytes():
            report.unchanged += 1
        elif rel.parts[0] != ".tito" or _a_released_stub(rel):
            (copies / rel).parent.mkdir(parents=True, exist_ok=True)
            copy_file(old, copies / rel)
            report.replaced.append(rel)
    report.replaced_copies = copies if report.replaced else None


def _solved_files(out: Path, solved: set[str], kept_sources: list[str]) -> list[Path]:
    """The edition's tinytorch/core files that are solved generated files, except a kept module's
    own export (a student whose code equals the solution exported it: theirs, not a leak)."""
    core = out / "tinytorch" / "core"
    found = []
    for path in sorted(core.glob("*.py")) if core.is_dir() else ():
        text = path.read_text(encoding="utf-8", errors="replace")
        if path.name != "__init__.py" and text in solved and not any(f" from {source}." in text[:400]
                                                                       for source in kept_sources):
            found.append(path)
    return found


def _refuse_leftover_solutions(stage: Path, out: Path, kept: list[Path], solved_files: list[Path]) -> None:
    """Before anything is written: a file in ``out`` that the release neither replaces nor removes,
    and that is not a student's own (a module source or notebook, a Jupyter checkpoint, a backup),
    must not hold solution markers."""
    problems, _ = audit(out, set(), set(), fresh=False)
    mine = {path.relative_to(out).as_posix() for path in [*kept, *solved_files]}
    leftovers = [problem for problem in problems
                 if (rel := problem.split(": ", 1)[0]) not in mine and not (stage / rel).exists()
                 and not _students_own(Path(rel))]
    if leftovers:
        raise TitoError(f"{out} holds solutions that the release would leave there:\n  " + "\n  ".join(leftovers),
                        hint="Nothing was written. Remove those files (they are not a student's module work), "
                             "then release again.")


def _students_own(rel: Path) -> bool:
    """True for a file of an edition that is the student's to write: any module's source or
    notebook (solutions pasted in once published keep their markers), Jupyter's checkpoints."""
    return ".ipynb_checkpoints" in rel.parts or (rel.parts[:2] == ("modules", "source")
                                                 and rel.stem.endswith("_dev") and rel.suffix in (".py", ".ipynb"))


def _students_work(out: Path, module: Module) -> bool:
    """True when a module in an existing edition differs from the stub it was released with."""
    rel_dev = module.dev_file.relative_to(module.root)
    current, pristine = out / rel_dev, released_stub(out, module)
    if not current.exists() or not pristine.exists():
        return False
    stub = pristine.read_text(encoding="utf-8")
    if current.read_text(encoding="utf-8") != stub:
        return True
    notebook = current.with_suffix(".ipynb")
    return notebook.exists() and notebook.read_text(encoding="utf-8") != notebook_json(to_notebook(stub, module))


def _a_released_stub(rel: Path) -> bool:
    """True for the path, relative to an edition, of a module's released source or notebook stub
    (``.tito/release/<module folder>/<file>``; the manifest is in ``.tito/release`` itself)."""
    return rel.parent.parent == RELEASE_DIR
