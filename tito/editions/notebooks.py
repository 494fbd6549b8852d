"""Module sources as Jupyter notebooks, with nbgrader metadata, and notebooks back to sources.

``to_notebook`` converts a percent-format source with jupytext and marks its solution cells
(markers, or the stubs that replaced them) and its test cells (defining ``test_unit_*``) for
nbgrader, the points of a test cell coming from ``points:`` in module.yaml (1 per test by
default). ``from_notebook`` is the way back: the metadata tito derived is dropped, any other is
kept, so a source survives the round trip unchanged.
"""

from __future__ import annotations

import re
from pathlib import Path

from tito import format
from tito.course import Module
from tito.deps import load_jupytext
from tito.editions.strip import Stripped, strip_solutions
from tito.errors import TitoError


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


def to_notebook(text: str, module: Module | None = None, original: str | None = None):
    """A percent-format source as an nbformat notebook with nbgrader metadata.

    ``original`` is the instructor's text when ``text`` is its student edition
    (``strip_solutions(original).text``). Solution cells are those with solution markers
    (instructor) or stubs (student); they and the test cells (defining ``test_unit_*``) get
    nbgrader metadata, unless the source gave them their own.
    """
    jupytext = load_jupytext()
    marked = original if original is not None else text
    if not format.MARKER_LINE.search(marked):
        stubbed = marked
    elif original is not None:
        stubbed = text
    else:
        stubbed = strip_solutions(marked).text
    notebook = jupytext.reads(text, fmt="py:percent")
    read = {text: notebook}  # each distinct text is read once
    for source in (marked, stubbed):
        if source not in read:
            read[source] = jupytext.reads(source, fmt="py:percent")
    marked_cells, stubbed_cells = read[marked].cells, read[stubbed].cells
    if not len(notebook.cells) == len(marked_cells) == len(stubbed_cells):
        raise TitoError("The stubbed source no longer has the cells of its original; cannot mark them.")
    solution_cells = {i for i, c in enumerate(marked_cells) if c.cell_type == "code" and (
        format.BEGIN_SOLUTION_LINE.search(c.source) or format.STUB_LINE.search(c.source))}
    codes = [c.source if c.cell_type == "code" else None for c in stubbed_cells]
    derived = nbgrader_metadata(codes, solution_cells, module)
    prefix = _safe_id(module.name) if module else "cell"
    applied = []
    for index, cell in enumerate(notebook.cells):
        cell["id"] = f"{prefix}-{index:03d}"
        if index in derived and "nbgrader" not in cell.metadata:
            cell.metadata["nbgrader"] = derived[index]
            applied.append(derived[index]["grade_id"])
    notebook.metadata["kernelspec"] = {"display_name": "Python 3", "language": "python", "name": "python3"}
    notebook.metadata["tito"] = {"derived_nbgrader": sorted(applied)}
    return notebook


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


def notebook_json(notebook) -> str:
    """A notebook as the text of its .ipynb file (validated first)."""
    jupytext = load_jupytext()  # before nbformat: see load_jupytext
    import nbformat

    nbformat.validate(notebook)
    return jupytext.writes(notebook, fmt="ipynb")


def jupytext_header(source: str) -> str:
    """The ``# ---`` ... ``# ---`` metadata header a percent-format source starts with (and the
    blank line after it), or "" when it has none."""
    lines = source.splitlines(keepends=True)
    if not lines or lines[0].rstrip("\n") != "# ---":
        return ""
    for end in range(1, len(lines)):
        if lines[end].rstrip("\n") == "# ---":
            stop = end + 2 if end + 1 < len(lines) and not lines[end + 1].strip() else end + 1
            return "".join(lines[:stop])
    return ""


def _json_problem(text: str) -> str:
    """Where ``text`` stops being JSON ('' when it is JSON): the line and column, as an editor shows them."""
    import json

    try:
        json.loads(text)
    except json.JSONDecodeError as exc:
        return f"not JSON at line {exc.lineno}, column {exc.colno} ({exc.msg})"
    except (ValueError, RecursionError):
        return ""
    return ""


JUPYTEXT_MARKER = re.compile(r"^([ \t]*)#([ \t]*%%)", re.MULTILINE)  # what jupytext reads as a new cell


def _keep_marker_lines_in_their_cell(notebook) -> None:
    """A code line like '# %% note' (indented or not) would begin a new cell in the .py, cutting the
    code around it in two while the notebook runs fine: it is written '## %% note', still a comment."""
    for cell in notebook.cells:
        if cell.cell_type == "code":
            cell.source = JUPYTEXT_MARKER.sub(r"\1##\2", cell.source)


def from_notebook(json_text: str, where: str = "<notebook>", header: str = "") -> str:
    """An .ipynb (as text) back to a percent-format source; the nbgrader metadata tito derived is
    dropped (it is derived again next time), any other cell metadata is kept. ``header`` (the
    source's own jupytext header, see ``jupytext_header``) is put back in front."""
    jupytext = load_jupytext()
    try:
        notebook = jupytext.reads(json_text, fmt="ipynb")
    except Exception as exc:  # nbformat raises several kinds for a broken file
        name = Path(where).stem.removesuffix("_dev")
        raise TitoError(f"{where} is not a readable notebook: {_json_problem(json_text) or exc}",
                        hint=f"`tito notebooks --module {name}` writes it again from the .py (this one is kept "
                             "in .tito/backups); or fix it by hand.") from None
    _keep_marker_lines_in_their_cell(notebook)
    derived = set((notebook.metadata.get("tito") or {}).get("derived_nbgrader") or [])
    for cell in notebook.cells:
        grade_id = (cell.metadata.get("nbgrader") or {}).get("grade_id")
        if grade_id in derived:
            del cell.metadata["nbgrader"]
    notebook.metadata.pop("tito", None)
    notebook.metadata.pop("kernelspec", None)
    jupytext_meta = notebook.metadata.setdefault("jupytext", {})
    jupytext_meta.setdefault("notebook_metadata_filter", "-all")
    kept = sorted({key for cell in notebook.cells for key in cell.metadata
                   if key not in ("lines_to_next_cell", "execution", "collapsed", "scrolled")})
    jupytext_meta["cell_metadata_filter"] = ",".join(kept + ["-all"])
    return header + jupytext.writes(notebook, fmt="py:percent")
