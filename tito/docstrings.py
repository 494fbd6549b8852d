"""What the package keeps of a docstring: the library user's sections, not the workbook's.

A function in a module source documents itself twice over. For whoever *uses* it: a summary,
``Args:``, ``Shape:``, ``Returns:``, an ``EXAMPLE:``. For the student who *writes* it: ``TODO:``,
``APPROACH:`` and ``HINTS:``. The source and the notebook keep everything; the exported package
keeps only the first kind, so ``help(Tensor.__add__)`` starts with what ``+`` does, not with
what to type::

    \"\"\"Element-wise `self + other`.       \"\"\"Element-wise `self + other`.

    TODO: Add the two operands' ...   ──►  EXAMPLE:
                                           >>> Tensor([1, 2]) + 1
    APPROACH:                              ...
    1. ...                                 \"\"\"

    EXAMPLE:
    >>> Tensor([1, 2]) + 1
    ...

    HINTS:
    - ...
    \"\"\"

A section starts at a line, at the docstring's own indentation, that begins with one of
``SECTIONS`` and a colon (``TODO: Add ...``, ``EXAMPLE:``), and runs to the next such line or to
the closing quotes. Whole lines are dropped and no line is changed, so every line of the package
is still a line of its source.

The section names belong to the source format: ``tito.format`` defines them.
"""

from __future__ import annotations

import ast

from tito.format import SECTION_HEADING, TEACHING_SECTIONS


def for_package(code: str) -> str:
    """``code`` (a module's exported Python) with the teaching sections cut out of its docstrings."""
    lines = code.splitlines(keepends=True)
    dropped: set[int] = set()
    for first, last in _docstring_spans(code):
        dropped |= _teaching_lines(lines, first, last)
    if not dropped:
        return code
    return "".join(line for number, line in enumerate(lines, start=1) if number not in dropped)


def _docstring_spans(code: str) -> list[tuple[int, int]]:
    """(first line, last line), 1-based, of every module, class and function docstring literal."""
    spans = []
    for node in ast.walk(ast.parse(code)):
        if not isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        first = node.body[0] if node.body else None
        if (isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant)
                and isinstance(first.value.value, str)):
            spans.append((first.lineno, first.end_lineno))
    return spans


def _teaching_lines(lines: list[str], first: int, last: int) -> set[int]:
    """Line numbers of the teaching sections of the docstring on lines first..last.

    The opening and closing lines stay (they hold the quotes); so does a blank line that
    separates kept text, while the blank lines left just above the closing quotes go.
    """
    inner = range(first + 1, last)
    headers = [(number, match.group("name")) for number in inner
               if (match := SECTION_HEADING.match(lines[number - 1].rstrip("\n")))]
    if not headers:
        return set()
    base = min(len(lines[number - 1]) - len(lines[number - 1].lstrip()) for number, _ in headers)
    headers = [(number, name) for number, name in headers
               if len(lines[number - 1]) - len(lines[number - 1].lstrip()) == base]
    dropped = set()
    for (start, name), end in zip(headers, [number for number, _ in headers[1:]] + [last]):
        if name in TEACHING_SECTIONS:
            dropped.update(range(start, end))
    if not dropped:
        return dropped
    number = last - 1
    while number > first and (number in dropped or not lines[number - 1].strip()):
        dropped.add(number)
        number -= 1
    return dropped
