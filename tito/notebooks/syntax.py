"""Jupyter-only syntax in a module's cells: what it is, and the plain Python ``tito test`` runs.

A student working in Jupyter writes cells that are not Python: magics (``%timeit f()``,
``%%time``), shell commands (``!ls``, ``x = !ls``) and help (``conv2d_naive?``). The .py
side of the notebook holds them commented by jupytext (``# %timeit f()``), and jupytext reads
them back un-commented (``tito.format.SourceCell.notebook_code``). ``runnable`` turns such a
cell into Python with the file's line numbers:

- run as Jupyter would, where that is safe and cheap: ``%time STMT`` runs the statement once;
  ``%%time`` and ``%%capture`` run the cell; ``%matplotlib``, ``%config``, ``%load_ext``,
  ``%autoreload`` and the like set up the notebook only, and do nothing here;
- skipped, with a note: a shell command, ``%timeit`` and any other magic used as a statement
  (help too, without a note: in the file it is also a comment ending in '?'); a cell that
  opens with another cell magic (``%%bash``, ``%%timeit``, ``%%writefile``) is skipped whole;
  of a cell that keeps a magic's result (``x = !ls``) only the definitions run (functions,
  classes, imports), since its other statements may need what the magic made.

A skipped line stays the file's comment, or becomes ``pass`` where the file has the magic
itself. Lines inside a string are never touched. A cell that is not valid Python even so is
left as it is, for its SyntaxError to be reported at its line.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field

SHELL = re.compile(r"^!")
MAGIC = re.compile(r"^%{1,2}\w")
KEPT_RESULT = re.compile(r"^[\w.\[\], ]+\s*=\s*[!%]")  # x = !ls, files = %sx ls
HELP = re.compile(r"^(\?{1,2}[\w.]+|[\w.]+\?{1,2})$")  # conv2d_naive?, ??Conv2D, np.pad?
NOTEBOOK_SETUP = {"matplotlib", "config", "load_ext", "reload_ext", "unload_ext", "autoreload", "aimport",
                  "precision", "xmode", "pylab", "colors"}
CELL_MAGICS_RUN = {"time", "capture"}  # %%time and %%capture: the cell's code runs once, as in Jupyter


def is_jupyter_only(line: str) -> bool:
    """True for a line (ignoring its indentation) that Jupyter runs and Python cannot."""
    text = line.strip()
    return bool(SHELL.match(text) or MAGIC.match(text) or KEPT_RESULT.match(text) or HELP.match(text))


def jupyter_only_lines(code: str, written: str | None = None) -> list[tuple[int, str]]:
    """(line in the cell, from 1; the line) of each statement of Jupyter-only syntax in a cell's
    code, none inside a string; [] for a cell that is Python (or not valid even without them).

    ``written`` is the cell as the file has it, where jupytext commented the magics; a line it
    commented stands in for the magic, else ``pass`` does.
    """
    lines = code.splitlines()
    opening = _cell_magic(lines)
    if opening and _magic_name(opening[1]) not in CELL_MAGICS_RUN:  # the cell is not Python at all
        return [opening]
    if _parses(code):
        return []
    found = [number for number, line in enumerate(lines, start=1) if is_jupyter_only(line)]
    if not found:
        return []
    try:
        tree = ast.parse("\n".join(_blanked(lines, found, written)))
    except SyntaxError:
        return []
    quoted = _lines_inside_strings(tree)
    return [(number, lines[number - 1]) for number in found if number not in quoted]


@dataclass
class Runnable:
    """A cell as ``tito test`` runs it: its code, and what of the cell was skipped."""

    code: str
    skipped: list = field(default_factory=list)  # (line in the cell, text) of the Jupyter-only lines not run
    whole_cell: bool = False  # True when the whole cell was skipped
    definitions_only: bool = False  # True when only its functions, classes and imports ran


def runnable(code: str, written: str | None = None) -> Runnable:
    """The cell's code (as Jupyter has it, ``written`` as the file has it) with its Jupyter-only
    lines run or skipped (see the module docstring); as many lines as the file's cell."""
    written = code if written is None else written
    found = jupyter_only_lines(code, written)
    if not found:
        return Runnable(written)
    lines = code.splitlines()
    opening = _cell_magic(lines)
    if opening and _magic_name(opening[1]) not in CELL_MAGICS_RUN:
        return Runnable(_skip_all(written.splitlines()), [(opening[0], opening[1].strip())], whole_cell=True)
    if any(KEPT_RESULT.match(line.strip()) for _, line in found):
        number, line = next((n, line) for n, line in found if KEPT_RESULT.match(line.strip()))
        blanked = _blanked(lines, [n for n, _ in found], written)
        return Runnable(_definitions_only(blanked), [(number, line.strip())], definitions_only=True)
    lines = _blanked(lines, [number for number, _ in found], written)
    skipped = []
    for number, line in found:
        text, name = line.strip(), _magic_name(line)
        if name == "time" and not text.startswith("%%"):
            lines[number - 1] = _indent(line) + text[len("%time"):].strip()
        elif not (name in NOTEBOOK_SETUP or (text.startswith("%%") and name in CELL_MAGICS_RUN) or HELP.match(text)):
            skipped.append((number, text))  # help is left out: in the file it is also a comment ending in '?'
    return Runnable("\n".join(lines), skipped)


def _blanked(lines: list[str], numbers: list[int], written: str | None) -> list[str]:
    """The lines with those of ``numbers`` made harmless: the file's comment where jupytext
    wrote one, else ``pass``."""
    in_file = written.splitlines() if written is not None else []
    blanked = list(lines)
    for number in numbers:
        line = lines[number - 1]
        commented = len(in_file) == len(lines) and in_file[number - 1] != line
        blanked[number - 1] = in_file[number - 1] if commented else _indent(line) + "pass"
    return blanked


DEFINITIONS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Import, ast.ImportFrom)


def _definitions_only(lines: list[str]) -> str:
    """The cell's functions, classes and imports, every other top-level statement a blank line
    (the line numbers stay the file's)."""
    kept = list(lines)
    for node in ast.parse("\n".join(lines)).body:
        if not isinstance(node, DEFINITIONS):
            for number in range(node.lineno, node.end_lineno + 1):
                kept[number - 1] = ""
    return "\n".join(kept)


def _skip_all(lines: list[str]) -> str:
    return "\n".join("pass" if number == 0 else "" for number in range(len(lines)))


def _cell_magic(lines: list[str]) -> tuple[int, str] | None:
    """(line, text) of the cell magic (``%%bash``) a cell opens with, else None."""
    first = next(((number, line) for number, line in enumerate(lines, start=1) if line.strip()), None)
    return first if first and first[1].startswith("%%") else None


def _magic_name(text: str) -> str:
    match = re.match(r"%{1,2}(\w+)", text.strip())
    return match.group(1) if match else ""


def _indent(line: str) -> str:
    return line[:len(line) - len(line.lstrip())]


def _parses(code: str) -> bool:
    try:
        ast.parse(code)
    except SyntaxError:
        return False
    return True


def _lines_inside_strings(tree: ast.AST) -> set[int]:
    """Lines after the first of each string that spans lines (their text is the string's)."""
    inside = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Constant, ast.JoinedStr)) and node.end_lineno and node.end_lineno > node.lineno:
            if isinstance(node, ast.JoinedStr) or isinstance(node.value, (str, bytes)):
                inside.update(range(node.lineno + 1, node.end_lineno + 1))
    return inside
