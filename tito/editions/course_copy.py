"""What of a course a copy holds: the one rule for a student edition and a grading folder.

A copy holds the course's tooling (``tito/``, ``bin/``, ``pyproject.toml``...), the hand-written
parts of ``tinytorch`` (no generated file: ``tinytorch/core`` holds only ``__init__.py``), the
files at the top of ``tests/`` (``conftest.py``), ``modules/README.md``, and for each module its
folder (without notebooks) and its tests. Caches never travel. The caller then changes what is
its own to change: an edition stubs the sources and writes notebooks, grading exports the
reference solutions.
"""

from __future__ import annotations

from pathlib import Path

from tito.course import Course, Module
from tito.exporter import is_generated
from tito.files import copy_file, copy_tree

COURSE_FILES = ("pyproject.toml", "setup.cfg", "pytest.ini", "LICENSE")
COURSE_DIRS = ("tito", "bin")
SKIP_NAMES = {"__pycache__", ".pytest_cache", ".hypothesis", ".ipynb_checkpoints"}
SKIP_SUFFIXES = (".pyc", ".pyo")


def ignore(folder, names) -> list[str]:
    """``shutil.copytree``'s ignore: caches and compiled files."""
    return [n for n in names if n in SKIP_NAMES or n.endswith(SKIP_SUFFIXES)]


def _ignore_notebooks(folder, names) -> list[str]:
    return ignore(folder, names) + [n for n in names if n.endswith(".ipynb")]


def copy_course(course: Course, target: Path, modules: list[Module], tests_of: list[Module] | None = None) -> None:
    """Copy the course's tooling and ``modules`` into ``target`` (created if missing).

    ``tests_of`` are the modules whose ``tests/NN_name/`` come along (default: all of ``modules``).
    """
    root = course.root
    target.mkdir(parents=True, exist_ok=True)
    for name in COURSE_FILES:
        if (root / name).is_file():
            copy_file(root / name, target / name)
    for name in COURSE_DIRS:
        if (root / name).is_dir():
            copy_tree(root / name, target / name, ignore=ignore)
    copy_package(root / "tinytorch", target / "tinytorch")
    (target / "modules" / "source").mkdir(parents=True, exist_ok=True)
    if (root / "modules" / "README.md").is_file():
        copy_file(root / "modules" / "README.md", target / "modules" / "README.md")
    _copy_test_support(root / "tests", target / "tests")
    for module in modules:
        copy_tree(module.folder, target / module.folder.relative_to(root), ignore=_ignore_notebooks)
    for module in modules if tests_of is None else tests_of:
        if module.tests_dir.is_dir():
            copy_tree(module.tests_dir, target / module.tests_dir.relative_to(root), ignore=ignore)


def copy_package(source: Path, target: Path) -> None:
    """The hand-written parts of tinytorch: no generated file, nothing in core but __init__.py."""
    for path in sorted(source.rglob("*")):
        rel = path.relative_to(source)
        if any(part in SKIP_NAMES for part in rel.parts) or path.suffix in SKIP_SUFFIXES or path.is_dir():
            continue
        if rel.parts[0] == "core" and rel != Path("core", "__init__.py"):
            continue
        if path.suffix == ".py" and is_generated(path):
            continue
        (target / rel).parent.mkdir(parents=True, exist_ok=True)
        copy_file(path, target / rel)
    (target / "core").mkdir(parents=True, exist_ok=True)
    init = target / "core" / "__init__.py"
    if not init.exists():
        init.write_text('"""Generated modules: written here by `tito export`."""\n', encoding="utf-8")


def _copy_test_support(source: Path, target: Path) -> None:
    """Files at the top of tests/ (e.g. conftest.py); module test folders are added per module."""
    target.mkdir(parents=True, exist_ok=True)
    if source.is_dir():
        for path in source.iterdir():
            if path.is_file() and path.suffix not in SKIP_SUFFIXES:
                copy_file(path, target / path.name)
