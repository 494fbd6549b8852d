"""The nbgrader side of an edition's notebooks, and what a student receives of a module.

``nbgrader_metadata`` marks solution cells and test cells for nbgrader, the points of a test
cell coming from ``points:`` in module.yaml (1 per test by default; ``check_points`` checks
them). ``student_edition`` and ``student_notebook`` are a module as released: its stubbed
source and that source as a notebook. The conversion itself (``to_notebook``, ``from_notebook``,
``notebook_json``) is ``tito.notebooks.convert``.
"""

from __future__ import annotations

import re

from tito import format
from tito.course import Module
from tito.editions.strip import Stripped, strip_solutions
from tito.errors import TitoError
from tito.notebooks.convert import to_notebook


def _safe_id(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]+", "-", text).strip("-")[:60] or "cell"


def points_of(module: Module | None) -> dict:
    """``points:`` of module.yaml (test name -> whole points >= 0), checked: a TitoError names
    the first bad entry."""
    points = (module.meta.get("points") if module else None) or {}
    where = module.relative(module.folder / "module.yaml") if module else "module.yaml"
    if not isinstance(points, dict):
        raise TitoError(f"{where}: 'points' must map test names to points, got {type(points).__name__}.")
    for name, value in points.items():
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise TitoError(f"{where}: points of {name!r} must be a whole number >= 0, got {value!r}.")
    return points


def _pytest_test_exists(module: Module, node: str) -> bool:
    """True when 'test_file.py::test_x' (or '::TestClass::test_x') names a test function in the
    module's tests folder."""
    file, *names = node.split("::")
    path = module.tests_dir / file
    try:
        text = path.read_text(encoding="utf-8") if path.is_file() else ""
    except (OSError, UnicodeDecodeError):
        return False
    function = names[-1].split("[")[0] if names else ""  # 'test_x[case]': a parametrized test's case
    return bool(function) and re.search(rf"^\s*def {re.escape(function)}\(", text, re.M) is not None


def check_points(module: Module) -> None:
    """``points_of``, and every inline test it names defined in the module's source (a typo
    would give that test 1 point silently): the instructor's release checks this first."""
    points = points_of(module)
    inline = [name for name in points if "::" not in str(name)]  # 'test_file.py::test_x' names a pytest test
    defined = set(format.defined_tests(module.source()))
    unknown = [str(name) for name in inline if name not in defined]
    unknown += [str(name) for name in points if "::" in str(name) and not _pytest_test_exists(module, str(name))]
    if unknown:
        where = module.relative(module.folder / "module.yaml")
        raise TitoError(f"{where}: points for {', '.join(unknown)}, which {module.dev_file.name} or "
                        f"{module.relative(module.tests_dir)} does not define (a test is worth 1 point unless named "
                        "here).",
                        hint=f"Its tests: {', '.join(sorted(defined)) or 'none'}.")


def nbgrader_metadata(cells_code: list[str | None], solution_cells: set[int], module: Module | None) -> dict[int, dict]:
    """Cell index -> nbgrader metadata for the solution cells and the test cells.

    ``cells_code`` is the stubbed code of each cell (None for markdown), so a solution cell is
    named by the function its stub names, e.g. grade_id 'solution-Conv2D-forward'.
    """
    points = points_of(module)
    found, used = {}, set()

    def unique(base):
        grade_id, n = _safe_id(base), 2
        while grade_id in used:
            grade_id, n = f"{_safe_id(base)}-{n}", n + 1
        used.add(grade_id)
        return grade_id

    for index, code in enumerate(cells_code):
        if code is None:
            continue
        tests = format.defined_tests(code)
        if index in solution_cells:
            names = format.stub_names(code) or format.defined_functions(code)
            found[index] = {"grade": False, "grade_id": unique("solution-" + (names[0] if names else str(index))),
                            "locked": False, "schema_version": 3, "solution": True, "task": False}
        elif tests:
            total = sum(points.get(name, 1) for name in tests)
            found[index] = {"grade": True, "grade_id": unique(tests[0]), "locked": True,
                            "points": total, "schema_version": 3, "solution": False, "task": False}
    return found


def student_edition(module: Module, repository: str | None = None) -> tuple[Stripped, object]:
    """What a student receives of ``module``: its source with the solutions stubbed, and that
    source as a notebook (nbgrader metadata from the instructor's markers). With the edition's
    ``repository``, both start with the cell that sets the module up in Colab (``colab.py``)."""
    original = module.source()
    stripped = strip_solutions(original, module.relative(module.dev_file))
    if repository:
        from tito.editions.colab import colab_cell, with_colab_cell

        cell = colab_cell(module, repository)
        original, stripped.text = with_colab_cell(original, cell), with_colab_cell(stripped.text, cell)
    return stripped, to_notebook(stripped.text, module, original=original)


def student_notebook(module: Module):
    """The notebook a student receives for ``module``: solutions stubbed by the release transform.

    In a student edition that is its released stub (``.tito/release``), not the student's file,
    which may hold their solution by now."""
    from tito.editions import released_stub

    released = released_stub(module.root, module)
    if released.is_file():
        return to_notebook(module.read_text(released), module)
    return student_edition(module)[1]
