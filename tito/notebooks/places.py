"""Where a line of ``name_dev.py`` is in ``name_dev.ipynb``, for a student working in the notebook.

tito tests the ``.py``, so it reports failures at ``.py`` lines. A student in Jupyter finds a cell
by the label Jupyter shows beside it, ``[7]`` (its execution count, as in IPython's
``Cell In[7], line 12``), and by what it defines. So while the two files hold the same code
(``tito.notebooks.sync``), a location in the ``.py`` is also told as a place in the notebook::

    cnn_dev.ipynb: cell [7], line 12, in conv2d_naive

The cell's line counts from its first line, ``#| export`` included, as Jupyter's line numbers do.
"""

from __future__ import annotations

import ast
import json
import re
from dataclasses import dataclass

from tito import format
from tito.course import Module


@dataclass
class NotebookCell:
    """A code cell of the ``.py`` as the notebook has it: where it starts in the ``.py`` (1-based),
    how many lines it has there, and what the student sees of it."""

    first_line: int
    length: int
    execution_count: int | None
    code: str
    position: int  # among the notebook's code cells, from 1

    def describe(self, line: int) -> str:
        """'cell [7], line 12, in conv2d_naive' for the cell's ``line`` (1-based). A cell never run
        has no number: 'the cell defining conv2d_naive, line 12', else 'code cell 12, line 3'."""
        function = self.function_at(line)
        if self.execution_count:
            cell = f"cell [{self.execution_count}]"
        else:
            defines = format.defined_functions(self.code)
            owner = function.split(".")[0] if function else (defines[0] if defines else "")
            cell = f"the cell defining {owner}" if owner else f"code cell {self.position}"
        named = function and not cell.endswith(f" defining {function}")
        return f"{cell}, line {line}" + (f", in {function}" if named else "")

    def function_at(self, line: int) -> str:
        """The innermost function holding the cell's ``line`` (1-based), e.g. 'Conv2D.forward'."""
        try:
            spans = format.function_spans(ast.parse(self.code))
        except SyntaxError:
            return ""
        return format.function_at(spans, line)


def notebook_cells(module: Module) -> list[NotebookCell] | None:
    """The notebook's code cells matched to the ``.py``'s, or None when the two files do not hold
    the same code (the ``.py`` was edited last, there is no notebook) or a cell does not match."""
    from tito.notebooks.sync import IN_STEP, state

    if state(module) != IN_STEP:
        return None
    try:
        cells = json.loads(module.notebook_text()).get("cells", [])
        source_cells = format.code_cells(module.source())
    except Exception:  # noqa: BLE001 - a pair tito cannot read has no places to tell
        return None
    found = []
    for position, cell in enumerate(source_cells, start=1):
        in_notebook = cells[cell.index - 1] if 0 < cell.index <= len(cells) else {}
        text = in_notebook.get("source", "")
        text = "".join(text) if isinstance(text, list) else text
        if in_notebook.get("cell_type") != "code" or text != cell.notebook_code or not cell.line:
            return None
        count = in_notebook.get("execution_count")
        found.append(NotebookCell(cell.line, len(cell.code.splitlines()),
                                  count if isinstance(count, int) else None, cell.code, position))
    return found


def place(module: Module, cells: list[NotebookCell], line: int) -> str:
    """'cnn_dev.ipynb: cell [7], line 12, in conv2d_naive' for line ``line`` of the ``.py``;
    '' when the line is in no code cell (a markdown cell, a cell marker)."""
    for cell in cells:
        if cell.first_line <= line < cell.first_line + cell.length:
            return f"{module.notebook.name}: {cell.describe(line - cell.first_line + 1)}"
    return ""


def in_notebook(module: Module, line: int | None, cells: list[NotebookCell] | None = None) -> str:
    """' (cnn_dev.ipynb: cell [7], line 12)' for line ``line`` of the module's ``.py``, or ''
    (``cells``: the module's ``notebook_cells``, when known already)."""
    if not line:
        return ""
    cells = notebook_cells(module) if cells is None else cells
    where = place(module, cells, line) if cells else ""
    return f" ({where})" if where else ""


def add_notebook_places(module: Module, step) -> None:
    """Append ' (alpha_dev.ipynb: cell [4], line 2)' to each failure located at a line of the
    module's ``.py``, directly or through '(source: ...)', when the student's notebook holds the
    same code; the place is kept in its ``notebook_place`` too."""
    dev_file = re.escape(module.relative(module.dev_file))
    at_line = re.compile(rf"(?:^|\(source: ){dev_file}:(\d+)")
    located = [(test, int(found.group(1))) for test in step.failures
               if test.location and (found := at_line.search(test.location))]
    cells = notebook_cells(module) if located else None
    for test, line in located if cells else ():
        where = place(module, cells, line)
        if where:
            test.notebook_place = where
            test.location += f" ({where})"
