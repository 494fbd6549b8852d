"""Hints that trace a test failure back to the cell of the student's source that causes it.

In Jupyter it is easy to write code in a new cell without ``#| export``: the notebook runs it,
the inline tests pass, but the package (what pytest imports) never gets it. And a cell deleted
in Jupyter takes a released stub with it. These hints name the cell and the fix:

- ``explain_missing_names``: a pytest failure that cannot import a name, or finds it undefined,
  that the student defined only in an unexported cell, or deleted since release;
- ``unexported_versions``: the functions still stubbed in the exported cells that the student
  wrote again in an unexported cell (the inline tests then pass, pytest says "not implemented");
- ``deleted_tests_note``: the inline tests the module was released with that the source lost.
"""

from __future__ import annotations

import ast
import re

from tito import format
from tito.course import Module

CANNOT_IMPORT = re.compile(r"cannot import name '(\w+)' from 'tinytorch\.")
NOT_DEFINED = re.compile(r"NameError: name '(\w+)' is not defined")


def defined_names(code: str) -> set[str]:
    """The names a cell defines at its top level: functions, classes, assignments, imports."""
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return set()
    names = set()
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names |= {t.id for t in targets if isinstance(t, ast.Name)}
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names |= {(alias.asname or alias.name).split(".")[0] for alias in node.names if alias.name != "*"}
    return names


def _cells(module: Module) -> list:
    try:
        return format.code_cells(module.source())
    except Exception:  # noqa: BLE001 - the export step reports an unreadable source
        return []


def unexported_definitions(cells: list) -> dict[str, int]:
    """Name -> first line of the first unexported cell that defines it."""
    found = {}
    for cell in cells:
        if not cell.exported:
            for name in defined_names(cell.code):
                found.setdefault(name, cell.line)
    return found


def explain_missing_names(module: Module, tests: list) -> list[str]:
    """Add to a failed test's message why the package lacks a name it imports or uses: the
    student's cell defining it is not exported, or the name is gone since release. Returns
    each hint once."""
    wanted = {name for t in tests if t.status == "failed" for name in _missing(t.message)}
    if not wanted:
        return []
    cells = _cells(module)
    exported = {name for cell in cells if cell.exported for name in defined_names(cell.code)}
    unexported = {name: line for name, line in unexported_definitions(cells).items() if name not in exported}
    everywhere = {name for cell in cells for name in defined_names(cell.code)}
    released = released_names(module)
    source = module.relative(module.dev_file)
    jupyter_only = _jupyter_only_uses(module, wanted)
    hints = {}
    for name in sorted(wanted):
        if name in jupyter_only:
            line, text = jupyter_only[name]
            hints[name] = (f"{name} exists only in Jupyter ({source}, line {line}: {text}), so importing "
                           f"{module.dev_file.stem} as plain Python, as this test and the course page do, fails "
                           "there: put that line under `if __name__ == \"__main__\":` (tito test still runs it).")
        elif name in unexported:
            hints[name] = (f"{name} is defined in {source} (cell at line {unexported[name]}), but that cell is not "
                           "exported: make `#| export` its first line.")
        elif name not in everywhere and name in released:
            hints[name] = (f"{name} is no longer in {source}; the released stub {released[name]} has it (copy its "
                           f"cell back, or `tito module reset {module.name}` to start over, your file backed up).")
    for test in tests:
        for name in dict.fromkeys(_missing(test.message)):
            if name in hints:
                test.message += "\n" + hints[name]
    return list(hints.values())


JUPYTER_BUILTINS = ("display", "get_ipython")  # names a Jupyter kernel gives every cell (the inline harness: display)


def _jupyter_only_uses(module: Module, names: set) -> dict[str, tuple[int, str]]:
    """Name -> (line, text) of the top-level line of the source that makes it exist only in
    Jupyter: a call of a Jupyter builtin, or a magic's result (``# files = !ls`` in the .py)."""
    try:
        lines = module.source().splitlines()
    except Exception:  # noqa: BLE001 - the export step reports an unreadable source
        return {}
    from tito.notebooks.syntax import KEPT_RESULT

    found = {}
    for number, line in enumerate(lines, start=1):
        commented = line[1:].strip() if line.startswith("#") else ""  # how jupytext writes `files = !ls`
        kept = re.findall(r"\w+", commented.split("=")[0]) if KEPT_RESULT.match(commented) else []
        for name in names - set(found):
            if (name in JUPYTER_BUILTINS and re.match(rf"{name}\s*\(", line)) or name in kept:
                found[name] = (number, line.strip())
    return found


def _missing(message: str) -> list[str]:
    return CANNOT_IMPORT.findall(message) + NOT_DEFINED.findall(message)


def _released_stub(module: Module) -> tuple[str, str] | None:
    """(its path as named in messages, its text) of the stub the module was released with, in a
    student edition; None elsewhere."""
    from tito.editions import released_source, released_stub

    text = released_source(module)
    return None if text is None else (module.relative(released_stub(module.root, module)), text)


def released_names(module: Module) -> dict:
    """Name -> the released stub that defines it, in a student edition ({} elsewhere)."""
    released = _released_stub(module)
    if released is None:
        return {}
    where, text = released
    return {name: where for cell in format.code_cells(text) for name in defined_names(cell.code)}


def deleted_tests_note(module: Module) -> str:
    """'test_unit_x is no longer in ...; the released stub ... has it (...)' for the inline tests
    the module was released with that its source no longer defines (a deleted cell), else ''."""
    released = _released_stub(module)
    try:
        now = set(format.defined_tests(module.source()))
    except Exception:  # noqa: BLE001 - the export step reports an unreadable source
        return ""
    deleted = [name for name in format.defined_tests(released[1]) if name not in now] if released else []
    if not deleted:
        return ""
    one = len(deleted) == 1
    return (f"{', '.join(deleted)} {'is' if one else 'are'} no longer in {module.relative(module.dev_file)}; the "
            f"released stub {released[0]} has {'it' if one else 'them'} (copy the cell back to have your work "
            "checked by it)")


def unexported_versions(module: Module, stubs: list[tuple[str, int]]) -> list[tuple[str, int, int]]:
    """(name, line of the stub, line of the student's cell) for each stubbed function or method
    (``Conv2D.forward``: its class) that an unexported cell defines again."""
    unexported = unexported_definitions(_cells(module))
    return [(name, stub_line, unexported[name.split(".")[0]]) for name, stub_line in stubs
            if name.split(".")[0] in unexported]
