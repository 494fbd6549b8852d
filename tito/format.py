"""The module source format: every convention of ``modules/source/NN_name/name_dev.py``.

This file is the format's reference; every other part of tito asks it rather than spelling a
marker, a pattern or a name itself. It imports only the standard library (the inline test
harness loads it by path, as a plain script), and reads cells with jupytext only when asked.

**Cells.** A source is a Jupytext percent-format file: ``# %%`` opens a code cell,
``# %% [markdown]`` a text cell whose lines are ``# ``-comments. Cells are numbered from 1
in file order, text cells included (``SourceCell.index``); only code cells are read.

**Directives**, on their own line in a code cell (nbdev style)::

    #| default_exp core.cnn     once per file: the cells go to tinytorch/core/cnn.py
    #| export                   this cell goes into the package

**Solutions and hidden tests** (nbgrader style), each marker a comment alone on its line::

    def conv2d_naive(input, kernel):
        \"\"\"...docstring with TODO / APPROACH / EXAMPLE / HINTS...\"\"\"
        ### BEGIN SOLUTION
        ...the answer...
        ### END SOLUTION

A solution block is (part of) the body of a function or method. A student edition replaces it,
at its indentation, by the **stub**::

        raise NotImplementedError("TODO: implement conv2d_naive")

naming the function qualified by its class (``Conv2D.forward``). ``STUB_MESSAGE`` finds that
name in the exception's message, ``STUB_RAISED`` in a traceback. Lines between ``### BEGIN
HIDDEN TESTS`` and ``### END HIDDEN TESTS`` are for instructors only: the edition drops them
(also from ``tests/NN_name/checks.py``).
A marker inside a string is not a marker.

**Tests.** An inline test is a top-level function whose name starts with ``test_unit_``, in a
cell that is not exported, called at top level after its definition (directly or inside a
top-level ``if``, usually ``if __name__ == "__main__":``). ``defined_tests`` and
``called_tests`` say which; release (nbgrader test cells), grading (restoring the reference's
tests) and the inline harness (running each call by name) all ask them.

**Docstring sections.** A function a student writes documents itself with sections, each
opened by a line ``NAME:`` (TODO's text may follow on the same line): the teaching sections
``TODO``, ``APPROACH``, ``HINTS`` (they stay in the source and the notebook) and the library
sections ``Args``, ``Returns``, ``Shape``, ``EXAMPLE`` (what a user of the package reads).

**Generated files.** ``tito export`` writes ``tinytorch/<default_exp as a path>.py``: a header
(``generated_header``) naming the source and the sha256 of the body, then each exported
cell's code after a **cell marker** ``# %% <source> (exported cell N)``, N counting the
exported cells only, so that editing text or unexported cells changes nothing in the generated
file. A generated line is traced back to its source line by content (``tito.testing.source_map``).
"""

from __future__ import annotations

import ast
import io
import re
import tokenize
from dataclasses import dataclass

# --------------------------------------------------------------------------- cells and directives

CELL_START = re.compile(r"^# %%", re.MULTILINE)  # the line that opens a cell
TEXT_CELLS = ("[markdown]", "[md]", "[raw]")  # after '# %%': a cell of text, not code


def opens_code_cell(line: str) -> bool:
    """True for a line that opens a code cell (``# %%``, not ``# %% [markdown]``)."""
    return bool(CELL_START.match(line)) and not line[4:].strip().startswith(TEXT_CELLS)
DIRECTIVE = re.compile(r"^#\|\s*([\w-]+)\s*(.*?)\s*$")
DEFAULT_EXP = "default_exp"  # #| default_exp core.cnn
EXPORT = "export"  # #| export
DIRECTIVES = (DEFAULT_EXP, EXPORT)  # every directive tito knows; another is most often a typo
TARGET_NAME = re.compile(r"^[a-z_][a-z0-9_]*(\.[a-z_][a-z0-9_]*)*$")  # what default_exp names


def module_file(dotted: str) -> str:
    """The file a dotted module name is, from the folder of its first part: 'core.cnn' -> 'core/cnn.py',
    'tinytorch.core.cnn' -> 'tinytorch/core/cnn.py'."""
    return "/".join(dotted.split(".")) + ".py"


@dataclass
class SourceCell:
    """A code cell of a source: its index among all cells, first line, code (as the file has
    it) and directives; ``notebook_code`` is the cell as Jupyter has it, magics un-commented
    (``# !ls`` in the file is ``!ls`` there)."""

    index: int
    line: int
    code: str
    directives: dict
    notebook_code: str = ""

    @property
    def exported(self) -> bool:
        return EXPORT in self.directives


def code_cells(text: str) -> list[SourceCell]:
    """The code cells of a percent-format source, with the line each starts on.

    Jupytext gives a cell's source with its magics un-commented (the file's ``# %timeit f()``
    is the cell's ``%timeit f()``, and so is a comment ``# why?``), so each cell is found by
    its lines, in order, at the start of a cell of the file (see ``_cell_start``), and its
    ``code`` is the file's lines: Python, as the file is.
    """
    from tito.deps import load_jupytext

    notebook = load_jupytext().reads(text, fmt="py:percent")
    lines = text.splitlines()
    starts = [0] + [number + 1 for number, line in enumerate(lines) if CELL_START.match(line)]
    cells, position = [], 0
    for index, cell in enumerate(notebook.cells, start=1):
        if cell.cell_type != "code":
            continue
        source = cell.source.splitlines()
        if source and source[0].startswith("%%") and _cell_start(lines, starts, position, source) is None:
            source = source[1:]  # '# %% language="bash"': the cell magic is in the cell's marker
        found = _cell_start(lines, starts, position, source)
        if found is None:
            cells.append(SourceCell(index, 0, cell.source, directives(cell.source), cell.source))
            continue
        position = found + max(len(source), 1)
        code = "\n".join(lines[found:found + len(source)])
        cells.append(SourceCell(index, found + 1, code, directives(code), cell.source))
    return cells


def _cell_start(lines: list[str], starts: list[int], position: int, source: list[str]) -> int | None:
    """The index of the file line where a cell of these ``source`` lines begins, at or after
    ``position``: one of ``starts`` (the file's first line, or one just after a ``# %%``)
    followed by the cell's lines, each as it is or as jupytext comments a magic (``# !ls``)."""
    for start in starts:
        if start < position:
            continue
        window = lines[start:start + len(source)]
        if len(window) == len(source) and all(map(_same_line, window, source)):
            return start
    return None


def _same_line(written: str, read: str) -> bool:
    """True when a file line is a cell line, or the cell line commented by jupytext (magics)."""
    if written == read:
        return True
    indent = read[:len(read) - len(read.lstrip())]
    return written == f"{indent}# {read.lstrip()}"


def read_cells(path) -> list[SourceCell]:
    """The code cells of a source file."""
    with open(path, encoding="utf-8") as handle:
        return code_cells(handle.read())


def is_directive(line: str) -> bool:
    return bool(DIRECTIVE.match(line.strip()))


def unknown_directives(cell: SourceCell) -> list[tuple[int, str]]:
    """(file line, the line) of each directive line of a cell that names no directive of
    ``DIRECTIVES`` (``#| exports``, ``#| defualt_exp``)."""
    return [(cell.line + offset, raw.strip()) for offset, raw in enumerate(cell.code.splitlines())
            if (match := DIRECTIVE.match(raw.strip())) and match.group(1) not in DIRECTIVES]


def directives(code: str) -> dict:
    """{name: argument} of the directive lines in a cell, e.g. {'export': ''}."""
    found = {}
    for raw in code.splitlines():
        match = DIRECTIVE.match(raw.strip())
        if match:
            found[match.group(1)] = match.group(2)
    return found


# --------------------------------------------------------------------------- solution and hidden-test markers

BEGIN_SOLUTION = "### BEGIN SOLUTION"
END_SOLUTION = "### END SOLUTION"
BEGIN_HIDDEN = "### BEGIN HIDDEN TESTS"
END_HIDDEN = "### END HIDDEN TESTS"
MARKERS = (BEGIN_SOLUTION, END_SOLUTION, BEGIN_HIDDEN, END_HIDDEN)
SOLUTION, HIDDEN_TESTS = "SOLUTION", "HIDDEN TESTS"  # the kinds of block
MARKER_LINE = re.compile(r"^\s*### (BEGIN|END) (SOLUTION|HIDDEN TESTS)\s*$", re.MULTILINE)
BEGIN_SOLUTION_LINE = re.compile(r"^\s*### BEGIN SOLUTION\s*$", re.MULTILINE)


class FormatError(ValueError):
    """A source that breaks the format (e.g. unbalanced markers); the message names the line."""


def is_marker(line: str) -> bool:
    """True for a line that is a marker and nothing else (the exporter leaves these out)."""
    return line.strip() in MARKERS


def _lone_comments(text: str) -> list[tuple[int, str]]:
    """(line number, comment stripped) of each comment token that stands alone on its line.

    Tokenizing (rather than matching lines) leaves a marker quoted inside a string alone; a source
    that does not tokenize raises tokenize.TokenError or SyntaxError."""
    lines = text.splitlines()
    return [(token.start[0], token.string.strip())
            for token in tokenize.generate_tokens(io.StringIO(text).readline)
            if token.type == tokenize.COMMENT and lines[token.start[0] - 1].strip() == token.string.strip()]


def marker_lines(text: str, where: str = "<source>") -> dict[int, str]:
    """Line number -> marker, for comment tokens that are exactly a marker on their own line."""
    try:
        return {row: comment for row, comment in _lone_comments(text) if comment in MARKERS}
    except (tokenize.TokenError, SyntaxError) as exc:
        raise FormatError(f"{where} cannot be read as Python: {exc}") from None


# A comment alone on its line that starts like a marker: '#' signs, then BEGIN or END in any case.
MARKER_LIKE = re.compile(r"^\s*#+\s*(BEGIN|END)\b\s*(.*?)[\s#:]*$", re.IGNORECASE | re.MULTILINE)
KINDS = (SOLUTION, HIDDEN_TESTS)


def near_marker(comment: str) -> str | None:
    """The marker a comment seems meant to be but is not exactly ('### Begin Solution', '### BEGIN
    SOLUTON', '## END SOLUTION', '### BEGIN HIDDEN TEST'), else None (an exact marker, or another
    comment such as '# end of the loop')."""
    import difflib

    comment = comment.strip()
    match = MARKER_LIKE.match(comment)
    if comment in MARKERS or not match:
        return None
    rest = " ".join(match.group(2).upper().replace("_", " ").split())
    kind = max(KINDS, key=lambda k: difflib.SequenceMatcher(None, rest, k).ratio())
    if difflib.SequenceMatcher(None, rest, kind).ratio() < 0.85:
        return None
    return f"### {match.group(1).upper()} {kind}"


def near_marker_lines(text: str) -> dict[int, tuple[str, str]]:
    """Line number -> (the line, the marker it seems meant to be) for comments alone on their line
    that look like a marker without being one exactly: a block they should open or close is not
    one, so its solution would ship, or its hidden tests. A source that does not tokenize is
    read line by line."""
    if not MARKER_LIKE.search(text):
        return {}
    try:
        comments = _lone_comments(text)
    except (tokenize.TokenError, SyntaxError):
        comments = [(row, line.strip()) for row, line in enumerate(text.splitlines(), 1)]
    found = {}
    for row, comment in comments:
        meant = near_marker(comment)
        if meant:
            found[row] = (comment, meant)
    return found


def has_markers(code: str) -> bool:
    """True when Python code holds a solution or hidden-test marker as a comment (not in a string)."""
    if not MARKER_LINE.search(code):
        return False
    try:
        return bool(marker_lines(code))
    except FormatError:  # not tokenizable Python: judge by lines
        return True


def marker_blocks(text: str, where: str = "<source>") -> list[tuple[int, int, str]]:
    """(BEGIN line, END line, SOLUTION or HIDDEN TESTS) of each block; a stray, nested or
    unclosed marker is a FormatError naming its line."""
    markers = marker_lines(text, where)
    near = near_marker_lines(text)
    if near:
        line = min(near)
        written, meant = near[line]
        raise FormatError(f"{where}, line {line}: '{written}' looks like a marker but is not one, so it opens or "
                          f"closes no block; did you mean '{meant}'? The markers are exactly: "
                          + ", ".join(f"'{m}'" for m in MARKERS) + ".")
    blocks, open_at, open_kind = [], None, None
    for line in sorted(markers):
        marker = markers[line]
        kind = SOLUTION if SOLUTION in marker else HIDDEN_TESTS
        if marker.startswith("### BEGIN"):
            if open_at is not None:
                raise FormatError(f"{where}, line {line}: '{marker}' inside the block opened at line "
                                  f"{open_at}; close it with '### END {open_kind}' first.")
            open_at, open_kind = line, kind
        else:
            if open_at is None or kind != open_kind:
                raise FormatError(f"{where}, line {line}: '{marker}' without a matching '### BEGIN {kind}'.")
            blocks.append((open_at, line, kind))
            open_at = None
    if open_at is not None:
        raise FormatError(f"{where}, line {open_at}: '### BEGIN {open_kind}' is never closed "
                          f"with '### END {open_kind}'.")
    return blocks


# --------------------------------------------------------------------------- stubs

STUB_NAME = r"[\w.<>]+"  # a qualified function name, e.g. Conv2D.forward (or a frame's <locals>)
STUB_MESSAGE = re.compile(rf"TODO: implement ({STUB_NAME})")  # the stub's exception message
STUB_RAISED = re.compile(rf"NotImplementedError: TODO: implement ({STUB_NAME})")  # in a traceback
STUB_LINE = re.compile(rf'^\s*raise NotImplementedError\("TODO: implement ({STUB_NAME})"\)\s*$', re.MULTILINE)


def stub_message(name: str) -> str:
    """The message of a stub's NotImplementedError: 'TODO: implement conv2d_naive'."""
    return f"TODO: implement {name}"


def stub_line(indent: str, name: str) -> str:
    """The line that replaces a solution block."""
    return f'{indent}raise NotImplementedError("{stub_message(name)}")'


def stub_names(text: str) -> list[str]:
    """Names of the functions still stubbed in a source, e.g. ['conv2d_naive', 'Conv2D.forward']."""
    return STUB_LINE.findall(text)


def stubs_named_in(report: str) -> list[str]:
    """The functions whose stubs raised, in an error report or traceback, in order, once each."""
    return list(dict.fromkeys(STUB_RAISED.findall(report)))


def defined_functions(code: str) -> list[str]:
    """The functions and classes a cell's ``code`` defines at its top level, in order."""
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return []
    return [node.name for node in tree.body if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))]


def functions(tree: ast.AST) -> list[tuple[str, ast.FunctionDef | ast.AsyncFunctionDef]]:
    """(qualified name, node) of every function, e.g. 'Conv2D.forward', in source order."""
    found = []

    def visit(node, prefix):
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                name = f"{prefix}{child.name}"
                if not isinstance(child, ast.ClassDef):
                    found.append((name, child))
                visit(child, name + ".")
            else:
                visit(child, prefix)

    visit(tree, "")
    return found


def function_spans(tree: ast.AST) -> list[tuple[int, int, str]]:
    """(first line, last line, qualified name) of every function, e.g. 'Conv2D.forward'."""
    return [(node.lineno, node.end_lineno, name) for name, node in functions(tree)]


def function_at(spans: list[tuple[int, int, str]], line: int) -> str:
    """The innermost of ``function_spans`` holding ``line`` (its qualified name), '' outside any."""
    return next((name for first, last, name in reversed(spans) if first <= line <= last), "")


def is_stub(statement: ast.stmt, name: str) -> bool:
    """True for ``raise NotImplementedError("TODO: implement <name>")``."""
    call = statement.exc if isinstance(statement, ast.Raise) else None
    return (isinstance(call, ast.Call) and isinstance(call.func, ast.Name)
            and call.func.id == "NotImplementedError" and len(call.args) == 1
            and isinstance(call.args[0], ast.Constant) and call.args[0].value == stub_message(name))


def tinytorch_imports(text: str) -> list[tuple[int, str]]:
    """(line, dotted name) of every ``tinytorch`` module a source imports where it must be there:
    ``from tinytorch.core.alpha import double`` gives (6, 'tinytorch.core.alpha'), and
    ``from tinytorch.core import alpha`` both 'tinytorch.core' and 'tinytorch.core.alpha'.

    Read cell by cell (``# %%``), a cell that is not Python (``x = !ls``) skipped; imports that may
    be missing are left out: under ``if TYPE_CHECKING:`` and in a ``try`` that catches ImportError.
    """
    lines, found = text.removeprefix("\ufeff").split("\n"), []
    starts = [0] + [number for number, line in enumerate(lines) if number and CELL_START.match(line)]
    for start, end in zip(starts, starts[1:] + [len(lines)]):
        try:
            tree = ast.parse("\n".join(lines[start:end]))
        except (SyntaxError, ValueError):
            continue
        found += [(start + line, name) for line, name in _imports_that_must_be_there(tree)]
    return sorted((line, name) for line, name in found if name.split(".")[0] == "tinytorch")


def _imports_that_must_be_there(node: ast.AST) -> list[tuple[int, str]]:
    """(line, dotted name) of the imports under ``node`` but those that may be missing."""
    found = []
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.Import):
            found += [(child.lineno, alias.name) for alias in child.names]
        elif isinstance(child, ast.ImportFrom) and child.module and not child.level:
            found += [(child.lineno, child.module)] + [(child.lineno, f"{child.module}.{a.name}") for a in child.names]
        elif isinstance(child, ast.Try) and any(_catches_import_error(h) for h in child.handlers):
            continue
        elif isinstance(child, ast.If) and "TYPE_CHECKING" in ast.unparse(child.test):
            found += _imports_that_must_be_there(ast.Module(child.orelse, []))
        else:
            found += _imports_that_must_be_there(child)
    return found


def _catches_import_error(handler: ast.ExceptHandler) -> bool:
    caught = handler.type.elts if isinstance(handler.type, ast.Tuple) else [handler.type]
    return any(kind is None or ast.unparse(kind).split(".")[-1] in ("ImportError", "ModuleNotFoundError", "Exception",
                                                                   "BaseException") for kind in caught)


def unimplemented(text: str) -> list[tuple[str, int]]:
    """(name, line of its stub) for each function of a source that still raises its stub, in
    source order.

    Read from the source, not found by running it, so the list is complete whatever runs first
    or fails to import. A function counts as done once a ``return`` or ``raise`` of the
    student's own comes before the stub line in its body. A source that does not parse is
    judged line by line.
    """
    try:
        tree = ast.parse(text)
    except SyntaxError:
        lines = text.splitlines()
        return [(name, next(i for i, line in enumerate(lines, 1) if f'{stub_message(name)}"' in line))
                for name in stub_names(text)]
    found = []
    for name, node in sorted(functions(tree), key=lambda function: function[1].lineno):
        for statement in node.body:
            if is_stub(statement, name):
                found.append((name, statement.lineno))
            if isinstance(statement, (ast.Return, ast.Raise)):
                break
    return found


# --------------------------------------------------------------------------- inline tests

TEST_PREFIX = "test_unit_"
TEST_DEFINITION = re.compile(rf"^def ({TEST_PREFIX}\w+)\s*\(", re.MULTILINE)
TEST_DEFINITION_OR_CALL = re.compile(rf"^(?:def )?({TEST_PREFIX}\w+)\s*\(", re.MULTILINE)


def is_test_name(name: str) -> bool:
    return name.startswith(TEST_PREFIX)


def is_test_call(node: ast.AST) -> bool:
    """True for a call ``test_unit_x(...)`` of a test by its plain name."""
    return isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and is_test_name(node.func.id)


def defined_tests(code: str) -> list[str]:
    """The test_unit_* functions a cell or source defines at top level, in order.

    Code that does not parse is read line by line (``def test_unit_x(`` at the margin).
    """
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return list(dict.fromkeys(TEST_DEFINITION.findall(code)))
    return [n.name for n in tree.body if isinstance(n, ast.FunctionDef) and is_test_name(n.name)]


def called_tests(tree: ast.AST) -> list[str]:
    """test_unit_* names a parsed source calls at top level (directly or in a top-level if)."""
    names, statements = [], list(tree.body)
    while statements:
        node = statements.pop(0)
        if isinstance(node, ast.If):
            statements[:0] = node.body + node.orelse
        elif isinstance(node, ast.Expr) and is_test_call(node.value):
            names.append(node.value.func.id)
    return list(dict.fromkeys(names))


def tests_in(code: str) -> set[str]:
    """The tests a cell defines or calls at top level (how grading pairs a student's test cell
    with the reference's)."""
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return set(TEST_DEFINITION_OR_CALL.findall(code))
    return set(defined_tests(code)) | set(called_tests(tree))


def defines_more_than_tests(code: str) -> bool:
    """True when a cell also defines functions or classes that are not tests."""
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return False
    return any(isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and not is_test_name(n.name)
               for n in tree.body)


# --------------------------------------------------------------------------- docstring sections

TODO, APPROACH, HINTS = "TODO", "APPROACH", "HINTS"
ARGS, RETURNS, SHAPE, EXAMPLE = "Args", "Returns", "Shape", "EXAMPLE"
TEACHING_SECTIONS = (TODO, APPROACH, HINTS)  # for the student: in the source and the notebook
LIBRARY_SECTIONS = (ARGS, RETURNS, SHAPE, EXAMPLE)  # for a user of the package
SECTIONS = TEACHING_SECTIONS + LIBRARY_SECTIONS
# A docstring line that opens a section: its indentation, the name, a colon, then a space or the end.
SECTION_HEADING = re.compile(rf"^(?P<indent>[ \t]*)(?P<name>{'|'.join(SECTIONS)}):(\s|$)")


# --------------------------------------------------------------------------- generated files

RULE = "# " + "=" * 78
GENERATED_BY = "# GENERATED by `tito export`"
HASH_LINE = re.compile(r"^# body-sha256: ([0-9a-f]{64})$", re.MULTILINE)
CELL_MARKER = re.compile(r"^# %% (\S+) \(exported cell (\d+)\)$")


def generated_header(source: str, module_name: str, body_sha256: str) -> str:
    """The header of a generated file: where it comes from, how to change it, its body's hash."""
    return "\n".join([
        RULE,
        f"{GENERATED_BY} from {source}.",
        f"# DO NOT EDIT: change the source and run `tito export --module {module_name}`.",
        f"# body-sha256: {body_sha256}",
        RULE,
    ]) + "\n"


def is_generated(head: str) -> bool:
    """True for the start of a file written by ``tito export`` (its header says so)."""
    return head.startswith(RULE[:5]) and GENERATED_BY in head[:400]


def split_generated(text: str) -> tuple[str, str] | None:
    """(the hash its header records, its body) for a generated file's text, else None."""
    match = HASH_LINE.search(text)
    _, separator, rest = text.partition(RULE + "\n")
    _, separator_2, body = rest.partition(RULE + "\n")
    if not (match and separator and separator_2):
        return None
    return match.group(1), body


def cell_marker(source: str, number: int) -> str:
    """The line that opens the code of the ``number``-th exported cell of ``source``."""
    return f"# %% {source} (exported cell {number})"


def parse_cell_marker(line: str) -> tuple[str, int] | None:
    """(source, exported cell number) of a cell marker line, else None."""
    match = CELL_MARKER.match(line)
    return (match.group(1), int(match.group(2))) if match else None
