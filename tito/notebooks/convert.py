"""Module sources (Jupytext percent format) as Jupyter notebooks, and notebooks back to sources.

``to_notebook`` converts a percent-format source with jupytext and marks its solution cells
(markers, or the stubs that replaced them) and its test cells (defining ``test_unit_*``) for
nbgrader (the marks and their points: ``tito.notebooks.nbgrader``). ``from_notebook`` is the way
back: the metadata tito derived is dropped, any other is kept, so a source survives the round trip
unchanged. ``notebook_json`` is a notebook's .ipynb text; ``jupytext_header`` a source's own header.
"""

from __future__ import annotations

import re
from pathlib import Path

from tito import format
from tito.course import Module
from tito.deps import load_jupytext
from tito.editions.strip import strip_solutions
from tito.errors import TitoError
from tito.notebooks.nbgrader import nbgrader_metadata, safe_id


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
    prefix = safe_id(module.name) if module else "cell"
    applied = []
    for index, cell in enumerate(notebook.cells):
        cell["id"] = f"{prefix}-{index:03d}"
        if index in derived and "nbgrader" not in cell.metadata:
            cell.metadata["nbgrader"] = derived[index]
            applied.append(derived[index]["grade_id"])
    notebook.metadata["kernelspec"] = {"display_name": "Python 3", "language": "python", "name": "python3"}
    notebook.metadata["tito"] = {"derived_nbgrader": sorted(applied)}
    return notebook


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
