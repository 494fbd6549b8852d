"""The nbgrader marks of a module's notebook, which ``to_notebook`` adds and ``from_notebook`` drops.

``nbgrader_metadata`` marks solution cells and test cells for nbgrader, the points of a test
cell coming from ``points:`` in module.yaml (1 per test by default; ``points_of`` reads and checks
them, ``tito.editions.notebooks.check_points`` also checks the tests they name exist). ``safe_id``
makes a cell's or a grade's id of a name.
"""

from __future__ import annotations

import re

from tito import format
from tito.course import Module
from tito.errors import TitoError


def safe_id(text: str) -> str:
    """``text`` as a cell or grade id: runs of other characters than letters, digits, _ and - become
    one -, at most 60 characters, "cell" when nothing is left."""
    return re.sub(r"[^A-Za-z0-9_-]+", "-", text).strip("-")[:60] or "cell"


def points_of(module: Module | None) -> dict:
    """``points:`` of module.yaml (test name -> whole points >= 0), checked: a TitoError names
    the first bad entry."""
    points = (module.meta.get("points") if module else None) or {}
    where = module.relative(module.metadata_file) if module else "module.yaml"
    if not isinstance(points, dict):
        raise TitoError(f"{where}: 'points' must map test names to points, got {type(points).__name__}.")
    for name, value in points.items():
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise TitoError(f"{where}: points of {name!r} must be a whole number >= 0, got {value!r}.")
    return points


def nbgrader_metadata(cells_code: list[str | None], solution_cells: set[int], module: Module | None) -> dict[int, dict]:
    """Cell index -> nbgrader metadata for the solution cells and the test cells.

    ``cells_code`` is the stubbed code of each cell (None for markdown), so a solution cell is
    named by the function its stub names, e.g. grade_id 'solution-Conv2D-forward'.
    """
    points = points_of(module)
    found, used = {}, set()

    def unique(base):
        grade_id, n = safe_id(base), 2
        while grade_id in used:
            grade_id, n = f"{safe_id(base)}-{n}", n + 1
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
