"""An edition's tree, built in an empty folder: the course copy, each module's stubbed source
and notebook, a pristine copy of each stub, the hidden checks removed, the manifest."""

from __future__ import annotations

import ast
import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from tito import __version__, format
from tito.errors import TitoError
from tito.course import Course, Module
from tito.editions import MANIFEST, released_stub
from tito.editions.course_copy import copy_course
from tito.editions.notebooks import student_edition
from tito.editions.strip import Stripped, hidden_checks, strip_solutions, without_hidden_checks, without_hidden_tests
from tito.editions.student_files import (STUDENT_MAKEFILE, copy_benchmarks, student_gitignore, student_readme,
                                         write_binder_files)
from tito.files import copy_file
from tito.notebooks.convert import notebook_json

# Solution lines shorter than this are too common ("return out") to count as a leak.
LEAK_MIN_CHARS = 40


@dataclass
class ModuleRelease:
    module: Module
    stubs: list[str]
    hidden_blocks: int  # in the source and in tests/NN_name/checks.py
    warnings: list[str]


def build_edition(course: Course, modules: list[Module], stage: Path,
                  repository: str | None = None) -> tuple[list[ModuleRelease], set[str]]:
    """Write the student edition of ``modules`` into the empty folder ``stage``; returns what each
    module released and the solution lines long enough to count as a leak if found.

    ``repository`` is the edition's own (GitHub) repository: each module's source then starts
    with the cell that fetches it in Colab. Binder's configuration (``binder/``) comes always, and
    the benchmarks a student can run on their own package."""
    copy_course(course, stage, modules)
    (stage / "Makefile").write_text(STUDENT_MAKEFILE, encoding="utf-8")
    (stage / ".gitignore").write_text(student_gitignore(course.root / ".gitignore"), encoding="utf-8")
    write_binder_files(stage)
    copy_benchmarks(course.root, stage)
    released, solution_lines, public = [], set(), set()
    for module in modules:
        released.append(_release_module(module, stage, solution_lines, public, repository))
    released_names = {module.name for module in modules}
    for other in course.modules:  # what an earlier, fuller edition already shows
        if other.name not in released_names and other.dev_file.is_file():
            public.update(_public_lines(other))
    # a line a student sees outside the blocks anyway (e.g. the same argument check in two
    # methods, one stubbed, one not, or in another module) is no leak
    solution_lines -= public
    (stage / "README.md").write_text(student_readme(released, repository), encoding="utf-8")
    _write_manifest(stage, released)
    return released, solution_lines


def _release_module(module: Module, stage: Path, solution_lines: set, public: set,
                    repository: str | None) -> ModuleRelease:
    """The module's source stubbed, its notebook, its pristine stub, its checks without hidden ones."""
    stripped, notebook = student_edition(module, repository)
    _refuse_shipped_solutions(module, stripped)
    _refuse_calls_to_removed_tests(module, stripped.text)
    solution_lines.update(line for line in stripped.solution_lines if len(line) >= LEAK_MIN_CHARS)
    public.update(line.strip() for line in stripped.text.splitlines())
    dev = stage / module.dev_file.relative_to(module.root)
    dev.write_text(stripped.text, encoding="utf-8")
    dev.with_name(module.notebook.name).write_text(notebook_json(notebook), encoding="utf-8")
    pristine = released_stub(stage, module)
    pristine.parent.mkdir(parents=True)
    copy_file(dev, pristine)
    hidden = _leave_out_hidden_checks(module, stage)
    return ModuleRelease(module, stripped.stubs, stripped.hidden_blocks + hidden, stripped.warnings)


def _refuse_shipped_solutions(module: Module, stripped: Stripped) -> None:
    """A function with a TODO in its docstring but no solution block, or a module graded (checks
    or points in module.yaml) with no solution block at all, would hand students the answer, and
    every check would pass on the released stub: the markers were left out or misspelled."""
    where = module.relative(module.dev_file)
    hint = (f"Put each answer between '{format.BEGIN_SOLUTION}' and '{format.END_SOLUTION}', spelled exactly so "
            "(modules/README.md shows a module's markers). Nothing was written.")
    if stripped.unmarked:
        named = ", ".join(f"{name} (line {line})" for name, line in stripped.unmarked)
        raise TitoError(f"{where}: {named} has a TODO in its docstring but no solution block, so the student "
                        "edition would hold its code, the solution.", hint=hint)
    graded = [key for key in ("checks", "points") if module.meta.get(key)]
    if graded and not stripped.stubs:
        raise TitoError(f"{where} has no solution block, but its module.yaml grades it ({' and '.join(graded)}): "
                        "the student edition would hold every solution, and every check would pass on it.",
                        hint=hint)


def _refuse_calls_to_removed_tests(module: Module, text: str) -> None:
    """A call left outside a hidden block to the test inside it (or any use of its name) would fail
    every student's ``tito test`` with a NameError, and tell the test's name: the release stops
    and says where the call goes."""
    try:
        used = {node.id for node in ast.walk(ast.parse(text)) if isinstance(node, ast.Name)}
    except SyntaxError:
        return
    removed = set(format.defined_tests(module.source())) - set(format.defined_tests(text))
    gone = sorted(used & removed)
    if gone:
        raise TitoError(f"{module.relative(module.dev_file)}: calls {', '.join(gone)} outside the hidden-test block "
                        "that defines it, so the student edition would fail on a NameError.",
                        hint="Put the call (`if __name__ == \"__main__\": ...`) inside the same "
                             "### BEGIN HIDDEN TESTS ... ### END HIDDEN TESTS block. Nothing was written.")


def _leave_out_hidden_checks(module: Module, stage: Path) -> int:
    """The edition's tests/NN_name/checks.py and module.yaml without the hidden checks; returns
    how many hidden blocks checks.py had."""
    hidden = 0
    checks = stage / module.tests_dir.relative_to(module.root) / "checks.py"
    if checks.is_file():
        text, hidden = without_hidden_tests(checks.read_text(encoding="utf-8"),
                                            module.relative(module.tests_dir / checks.name))
        checks.write_text(text, encoding="utf-8")
        _refuse_hidden_checks_shown(module, checks)
    meta = stage / module.folder.relative_to(module.root) / "module.yaml"
    if meta.is_file():
        shown = without_hidden_checks(meta.read_text(encoding="utf-8"), module.relative(module.folder / meta.name))
        meta.write_text(shown, encoding="utf-8")
    return hidden


def _refuse_hidden_checks_shown(module: Module, released_checks: Path) -> None:
    """A check module.yaml calls hidden (``hidden: true``) whose code is not between hidden-test
    markers in checks.py would ship its code while its entry is left out: students would read it."""
    from tito.grading.checks import defined_checks

    hidden = hidden_checks(module.meta.get("checks") or {})
    shown = [name for name in defined_checks(released_checks) if name in hidden]
    if shown:
        checks = module.relative(module.tests_dir / "checks.py")
        raise TitoError(f"{checks}: the hidden check(s) {', '.join(shown)} (hidden: true in module.yaml) are not "
                        f"between '{format.BEGIN_HIDDEN}' and '{format.END_HIDDEN}', so the student edition would "
                        "show their code.", hint="Put each hidden check's function between those markers, or make "
                                                 "it visible in module.yaml. Nothing was written.")


def _public_lines(module: Module) -> set[str]:
    """The lines of ``module``'s released stub, stripped."""
    stripped = strip_solutions(module.source(), module.relative(module.dev_file))
    return {line.strip() for line in stripped.text.splitlines()}


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _write_manifest(stage: Path, released: list[ModuleRelease]) -> None:
    modules = {}
    for item in released:
        rel_dev = item.module.dev_file.relative_to(item.module.root)
        modules[item.module.name] = {
            "dirname": item.module.dirname,
            "source": str(rel_dev),
            "sha256": _sha256(stage / rel_dev),
            "notebook_sha256": _sha256(stage / rel_dev.with_suffix(".ipynb")),
            "stubs": item.stubs,
        }
    manifest = {"tito_version": __version__,
                "released": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                "modules": modules}
    (stage / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
