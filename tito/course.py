"""The course on disk: its root folder, its modules and their metadata.

A course root is the folder that holds ``modules/source``. Every module lives in
``modules/source/NN_name/`` with ``name_dev.py``, ``module.yaml`` and ``README.md``;
its pytest tests live in ``tests/NN_name/``.
"""

from __future__ import annotations

import difflib
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from tito import format
from tito.errors import TitoError, UnknownModuleError

MODULE_DIR = re.compile(r"^(\d{2})_([a-z][a-z0-9_]*)$")
MODULE_FILES = ("{name}_dev.py", "module.yaml", "README.md")  # what every module folder holds
NAMING_RULE = "folders are named NN_name: two digits, an underscore, then lowercase letters, digits and underscores"


def misnamed_folder(folder: Path) -> str:
    """Why a folder of modules/source that looks meant as a module (its name starts with a digit,
    or it holds a *_dev.py or module.yaml) is not one, with the name it would have; '' when it is
    a module or not meant as one (e.g. __pycache__)."""
    if MODULE_DIR.match(folder.name) or not folder.is_dir() or folder.name.startswith((".", "_")):
        return ""
    if not (folder.name[:1].isdigit() or any(folder.glob("*_dev.py")) or (folder / "module.yaml").exists()):
        return ""
    number, _, rest = _snake_case(folder.name).partition("_")
    meant = f"{int(number):02d}_{rest.strip('_')}" if number.isdigit() and rest.strip("_") else "NN_name"
    return (f"a folder modules/source/{folder.name} is not a module: {NAMING_RULE} "
            f"(e.g. {meant}), and the source inside is then name_dev.py")


def _snake_case(name: str) -> str:
    """A folder's name as the naming rule would have it: '11-Embedding' -> '11_embedding'."""
    return re.sub(r"[^a-z0-9]+", "_", name.lower())


def find_course_root(start: Path | None = None) -> Path:
    """Walk up from ``start`` (default: the current directory) to the folder holding modules/source.

    Outside any course, ``$TITO_ROOT`` (set by bin/tito) names the course to use.
    """
    here = Path(start or os.getcwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / "modules" / "source").is_dir():
            return folder
    fallback = os.environ.get("TITO_ROOT")
    if fallback and (Path(fallback) / "modules" / "source").is_dir():
        return Path(fallback).resolve()
    raise TitoError(
        f"No TinyTorch course found at {here} or any folder above it.",
        hint="Run tito inside a course folder (one that holds modules/source).",
    )


@dataclass
class Module:
    """One course module, e.g. number '06', name 'cnn', folder modules/source/06_cnn."""

    number: str
    name: str
    folder: Path
    root: Path
    meta: dict = field(default_factory=dict)

    @property
    def dirname(self) -> str:
        return f"{self.number}_{self.name}"

    @property
    def dev_file(self) -> Path:
        return self.folder / f"{self.name}_dev.py"

    @property
    def notebook(self) -> Path:
        return self.folder / f"{self.name}_dev.ipynb"

    @property
    def tests_dir(self) -> Path:
        return self.root / "tests" / self.dirname

    def test_files(self) -> list[Path]:
        """Every file of the module's tests folder (checks and data included), sorted; [] without it."""
        folder = self.tests_dir
        if not folder.is_dir():
            return []
        return sorted(p for p in folder.rglob("*") if p.is_file() and "__pycache__" not in p.parts)

    @property
    def metadata_file(self) -> Path:
        return self.folder / "module.yaml"

    def missing_files(self) -> list[Path]:
        """Those of the module's own files (``MODULE_FILES``: source, module.yaml, README.md) that
        are not in its folder, in that order."""
        paths = [self.folder / name.format(name=self.name) for name in MODULE_FILES]
        return [path for path in paths if not path.exists()]

    def missing_metadata(self) -> str:
        """When module.yaml is missing: that, what the module is without it, and how to get it
        back; else ''. (tito reads a missing module.yaml as empty, so the module still tests and
        exports.)"""
        if self.metadata_file.exists():
            return ""
        shown = self.relative(self.metadata_file)
        return (f"{shown} is missing: tito tests and exports {self.name} without its title, prerequisites and "
                f"graded checks. Get it back: from git, with `git checkout -- {shown}`.")

    @property
    def title(self) -> str:
        return str(self.meta.get("title") or self.name.replace("_", " ").title())

    @property
    def exports_to(self) -> str | None:
        """module.yaml's ``exports_to`` when it names a target (a string, not empty), else None."""
        target = self.meta.get("exports_to")
        return target if isinstance(target, str) and target else None

    @property
    def prerequisites(self) -> list[str]:
        return [str(p) for p in (self.meta.get("prerequisites") or [])]

    def misnamed_source(self) -> str:
        """When ``dev_file`` is missing but the module's folder holds another ``*_dev.py``: which,
        and that tito reads the source by its name; else ''."""
        others = sorted(p.name for p in self.folder.glob("*_dev.py") if p != self.dev_file)
        return _misnamed(self.relative(self.folder), others, "a module's source by its name", self.dev_file.name)

    def misnamed_tests(self) -> str:
        """When ``tests_dir`` is missing but ``tests/`` holds a folder with the module's number or
        name (``1_alpha``, ``01-Alpha``): which, and that tito reads the tests by the folder's name;
        else ''."""
        def alike(folder: Path) -> bool:
            named = MODULE_DIR.match(folder.name)
            if named:  # well named: only this module's name under another number
                return named.group(2) == self.name
            words = _snake_case(folder.name).strip("_")
            return (words == self.name or words.endswith(f"_{self.name}")
                    or words.startswith((f"{self.number}_", f"{int(self.number)}_")))

        tests = self.tests_dir.parent
        others = sorted(p.name for p in tests.iterdir() if p.is_dir() and p != self.tests_dir and alike(p)) \
            if tests.is_dir() else []
        return _misnamed("tests", others, "a module's tests by their folder's name", self.dirname)

    def source(self) -> str:
        """The text of ``dev_file``; TitoError when it is missing or not UTF-8."""
        return self.read_text(self.dev_file)

    def notebook_text(self) -> str:
        """The text of ``notebook``; TitoError when it is missing or not UTF-8."""
        return self.read_text(self.notebook)

    def read_text(self, path: Path) -> str:
        """A module file's text (UTF-8, as tito writes it); TitoError, naming the file, when it
        is missing or was saved in another encoding."""
        try:
            data = Path(path).read_bytes()
        except FileNotFoundError:
            misnamed = self.misnamed_source() if path == self.dev_file else ""
            raise TitoError(f"{self.relative(path)} is missing." + (f" {misnamed}" if misnamed else ""),
                            hint="" if misnamed else
                            f"Get it back: from git, with `tito notebooks --module {self.name} --sync` (from "
                            f"the other of .py/.ipynb), or in a student edition `tito module reset {self.name}`.",
                            ) from None
        except OSError as exc:
            raise TitoError(f"Cannot read {self.relative(path)}: {exc.strerror}.") from None
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError as exc:
            line = data[:exc.start].count(b"\n") + 1
            raise TitoError(
                f"{self.relative(path)} is not UTF-8 text: byte 0x{data[exc.start]:02x} on line {line}.",
                hint="Save it as UTF-8 (in most editors: Save with Encoding, UTF-8); tito reads and writes "
                     f"module files as UTF-8. `tito module reset {self.name}` in a student edition starts it "
                     "over, keeping this file in .tito/backups.") from None

    def relative(self, path: Path) -> str:
        """A path shown relative to the course root, the way a student sees it."""
        try:
            return str(Path(path).resolve().relative_to(self.root))
        except ValueError:
            return str(path)


def _misnamed(where: str, found: list[str], rule: str, expected: str) -> str:
    """'modules/source/01_alpha holds alfa_dev.py: tito reads a module's source by its name,
    alpha_dev.py; rename it.' for what was ``found`` in ``where``; '' when nothing was."""
    if not found:
        return ""
    return f"{where} holds {', '.join(found)}: tito reads {rule}, {expected}; rename it."


def read_only_reason(root: Path) -> str:
    """Why tito cannot write in a course (e.g. 'Read-only file system'), or '' when it can.

    Tried for real, with a file created and removed in ``.tito/`` (or the root), since
    permission bits say nothing on a read-only mount or for root.
    """
    import tempfile

    folder = root / ".tito" if (root / ".tito").is_dir() else root
    try:
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as exc:
        return exc.strerror or str(exc)
    return ""


def read_pyproject(root: Path) -> dict:
    """The course's ``pyproject.toml`` as a dict, ``{}`` when it has none; a TitoError when it is
    not valid TOML. (tomllib from Python 3.11; its backport tomli, which pytest needs, before.)"""
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib
    path = Path(root) / "pyproject.toml"
    if not path.is_file():
        return {}
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise TitoError(f"pyproject.toml is not valid TOML: {exc}") from None


def requires_python(root: Path) -> str:
    """The Pythons the course at ``root`` supports: pyproject.toml's ``requires-python``, a version
    specifier such as ">=3.10"; "" when it names none (a TitoError when it is not valid TOML)."""
    project = read_pyproject(root).get("project")
    return str(project.get("requires-python") or "") if isinstance(project, dict) else ""


def python_allowed(requires: str, version: str) -> bool:
    """Whether the ``requires-python`` specifier ``requires`` allows Python ``version`` ("3.12.1");
    every version is when it is ""."""
    from packaging.specifiers import SpecifierSet  # pytest's dependency

    return not requires or SpecifierSet(requires).contains(version)


def oldest_python(requires: str) -> tuple[int, int] | None:
    """The oldest Python the ``requires-python`` specifier ``requires`` allows, from its ``>=3.N``
    clause: (3, N); None when it has none (">=3.10,<4" -> (3, 10))."""
    floor = re.search(r">=\s*(\d+)\.(\d+)", requires)
    return (int(floor.group(1)), int(floor.group(2))) if floor else None


def _load_yaml(path: Path, root: Path) -> dict:
    if not path.exists():
        return {}
    import yaml

    shown = path.relative_to(root) if path.is_relative_to(root) else path
    try:
        # libyaml's loader where PyYAML has it: a tenth of the time, for every command
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader)) or {}
    except yaml.YAMLError as exc:
        raise TitoError(f"{shown} is not valid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise TitoError(f"{shown} must be a mapping of keys to values, got {type(data).__name__}.")
    return data


def _refuse_another_name(folder: Path, name: str, meta: dict, root: Path) -> None:
    """TitoError when module.yaml's ``name:`` is not the folder's: tito names a module by its folder,
    so the other name would be taken for the module's and found nowhere."""
    declared = meta.get("name")
    if declared is not None and str(declared) != name:
        shown = (folder / "module.yaml").relative_to(root).as_posix()
        raise TitoError(f"{shown} says name: {declared}, but its folder {folder.name} names the module '{name}' "
                        f"(as in `tito test --module {name}`).",
                        hint=f"Make them the same: name: {name} in module.yaml, or rename the folder (and its "
                             f"source, {name}_dev.py) after the name.")


def _first_twins(modules: list[Module], key) -> list[Module]:
    """The first group, in the modules' order, of two or more modules with the same ``key(module)``;
    [] when none share one. A module whose key is None is in no group."""
    groups: dict = {}
    for module in modules:
        value = key(module)
        if value is not None:
            groups.setdefault(value, []).append(module)
    return next((group for group in groups.values() if len(group) > 1), [])


def _refuse_twins(modules: list[Module], root: Path) -> None:
    """TitoError when two module folders share a name or a number (``06_cnn`` and ``07_cnn``, as a
    release of reordered modules over an older edition leaves them): a command would pick one."""
    for label, key in (("name", lambda m: m.name), ("number", lambda m: int(m.number))):
        twins = _first_twins(modules, key)
        if twins:
            folders = " and ".join(m.folder.relative_to(root).as_posix() for m in twins)
            raise TitoError(f"Two module folders have the same {label}: {folders}; tito would not know which one "
                            "is meant.", hint="Remove or rename the one no longer in use (a release of reordered "
                                              "modules over an older edition leaves the old folder).")


def _refuse_shared_targets(modules: list[Module], root: Path) -> None:
    """TitoError when two modules' module.yaml name the same ``exports_to``: exporting one would
    overwrite the other's generated file, and the other would then always be stale."""
    group = _first_twins(modules, lambda module: module.exports_to)
    if group:
        target = group[0].exports_to
        yamls = " and ".join(m.metadata_file.relative_to(root).as_posix() for m in group)
        raise TitoError(f"Two modules export to the same file: {yamls} both say exports_to: {target}, so "
                        f"each export would overwrite the other's {format.module_file(target)}.",
                        hint=f"Give each module its own target: in module.yaml (exports_to: "
                             f"tinytorch.core.{group[-1].name}) and in its source "
                             f"(#| default_exp core.{group[-1].name}).")


class Course:
    """The modules of one course root, found on disk and ordered by number."""

    def __init__(self, root: Path):
        self.root = Path(root).resolve()
        self.source_dir = self.root / "modules" / "source"
        self.misnamed: list[str] = []  # why each folder meant as a module is not one (misnamed_folder)
        self.modules = self._discover()

    @classmethod
    def here(cls) -> "Course":
        return cls(find_course_root())

    def _discover(self) -> list[Module]:
        found = []
        for folder in sorted(self.source_dir.iterdir()):
            match = MODULE_DIR.match(folder.name)
            if folder.is_dir() and match:
                number, name = match.groups()
                meta = _load_yaml(folder / "module.yaml", self.root)
                _refuse_another_name(folder, name, meta, self.root)
                found.append(Module(number, name, folder, self.root, meta))
            elif reason := misnamed_folder(folder):
                self.misnamed.append(reason)
        _refuse_twins(found, self.root)
        _refuse_shared_targets(found, self.root)
        return found

    def exporting_to(self, dotted: str) -> Module | None:
        """The module whose module.yaml says ``exports_to: dotted`` (e.g. tinytorch.core.cnn), or None
        (two modules never both say it: ``_refuse_shared_targets``)."""
        return next((m for m in self.modules if m.exports_to == dotted), None)

    def unlisted_imports(self, module: Module) -> list[str]:
        """For each module another module of the course exports and ``module``'s source or tests
        import without listing it (or what needs it) among its prerequisites: 'modules/source/
        02_beta/beta_dev.py:6 imports tinytorch.core.alpha, module 01_alpha's, which is not among
        beta's prerequisites: add alpha to prerequisites in modules/source/02_beta/module.yaml.'
        The grader builds a module with its prerequisites only, and a release brings only those."""
        from tito.format import tinytorch_imports

        needed = {m.name for m in self.prerequisites_of(module)} | {module.name}
        said, unlisted = set(), []
        files = [module.dev_file, *(p for p in module.test_files() if p.suffix == ".py")]
        for path in files:
            for line, dotted in tinytorch_imports(module.read_text(path)):
                exporter = self.exporting_to(dotted)
                if exporter is None or exporter.name in needed | said:
                    continue
                said.add(exporter.name)
                unlisted.append(f"{module.relative(path)}:{line} imports {dotted}, module {exporter.dirname}'s, "
                                + self._what_to_do(module, exporter))
        return unlisted

    def _what_to_do(self, module: Module, exporter: Module) -> str:
        """The end of an ``unlisted_imports`` line: add ``exporter`` to the prerequisites, unless it
        needs ``module`` itself (that would make a cycle)."""
        if module.name in {m.name for m in self.prerequisites_of(exporter)}:
            return (f"which needs {module.name} itself: grading and a release build {module.name} without it. "
                    "Import it only where it may be missing, in a try that catches ImportError.")
        return (f"which is not among {module.name}'s prerequisites: add {exporter.name} to prerequisites in "
                f"{module.relative(module.metadata_file)}.")

    def names(self) -> list[str]:
        return [m.name for m in self.modules]

    def import_path(self) -> list[Path]:
        """What makes the course importable: its root (``import tinytorch``) and every module
        folder (``from cnn_dev import Conv2D``), as bin/activate-tinytorch.sh puts them on
        PYTHONPATH (so do `tito lab`, Binder's binder/start and the Colab cell)."""
        return [self.root, *(m.folder for m in self.modules)]

    def pythonpath(self, inherited: str = "") -> str:
        """PYTHONPATH with ``import_path`` first, then ``inherited``'s entries, each once."""
        entries = [str(path) for path in self.import_path()] + [p for p in inherited.split(os.pathsep) if p]
        return os.pathsep.join(dict.fromkeys(entries))

    def get(self, spec: str) -> Module:
        """Find a module named as 'cnn', '06', '6' or '06_cnn'; unknown names exit 2 with suggestions."""
        wanted = str(spec).strip().lower()
        for module in self.modules:
            if wanted in (module.name, module.number, module.dirname) or (
                wanted.isdigit() and int(wanted) == int(module.number)
            ):
                return module
        raise self._unknown(spec)

    def _unknown(self, spec: str) -> UnknownModuleError:
        choices = self.names() + [m.dirname for m in self.modules]
        close = difflib.get_close_matches(str(spec).lower(), choices, n=3, cutoff=0.5)
        listing = ", ".join(m.dirname for m in self.modules) or "(none)"
        message = f"Unknown module '{spec}'."
        if close:
            message += f" Did you mean {' or '.join(repr(c) for c in close)}?"
        if self.misnamed:
            message += " " + "; ".join(reason[0].upper() + reason[1:] for reason in self.misnamed) + "."
        return UnknownModuleError(message, hint=f"Modules in this course: {listing}")

    def in_prerequisite_order(self, modules: list[Module] | None = None) -> list[Module]:
        """Modules sorted so that each comes after its prerequisites (ties broken by number).

        An unknown prerequisite or a cycle is an error that names it.
        """
        from graphlib import CycleError, TopologicalSorter

        by_name = {m.name: m for m in self.modules}
        sorter = TopologicalSorter()
        for module in self.modules:
            for prereq in module.prerequisites:
                if prereq not in by_name:
                    raise TitoError(
                        f"Module '{module.dirname}' lists an unknown prerequisite '{prereq}' "
                        f"in {module.relative(module.metadata_file)}.",
                        hint=f"Known modules: {', '.join(by_name)}",
                    )
            sorter.add(module.name, *module.prerequisites)
        try:
            sorter.prepare()
        except CycleError as exc:
            cycle = " -> ".join(exc.args[1])
            raise TitoError(f"Module prerequisites form a cycle: {cycle}.") from None
        ordered, ready = [], []
        while sorter.is_active():
            ready.extend(sorter.get_ready())
            ready.sort(key=lambda n: by_name[n].number)
            name = ready.pop(0)  # the lowest-numbered module whose prerequisites are done
            ordered.append(by_name[name])
            sorter.done(name)
        if modules is not None:
            chosen = {m.name for m in modules}
            ordered = [m for m in ordered if m.name in chosen]
        return ordered

    def with_prerequisites(self, modules: list[Module]) -> list[Module]:
        """The modules and everything they need, directly or not, in prerequisite order."""
        wanted = {m.name for m in modules}
        by_name = {m.name: m for m in self.modules}
        pending = list(wanted)
        while pending:
            for prereq in by_name[pending.pop()].prerequisites:
                if prereq not in wanted and prereq in by_name:
                    wanted.add(prereq)
                    pending.append(prereq)
        return self.in_prerequisite_order([m for m in self.modules if m.name in wanted])

    def prerequisites_of(self, module: Module) -> list[Module]:
        """Everything ``module`` needs, directly or not, in prerequisite order (not itself)."""
        return [m for m in self.with_prerequisites([module]) if m.name != module.name]
