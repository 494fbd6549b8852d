"""A source with its solutions stubbed and its hidden tests removed (the format: ``tito.format``).

Each ``### BEGIN SOLUTION`` ... ``### END SOLUTION`` block becomes, at its indentation, the stub
naming its function (``raise NotImplementedError("TODO: implement Conv2D.forward")``); each
``### BEGIN HIDDEN TESTS`` ... ``### END HIDDEN TESTS`` block goes, markers and all. Nothing
else changes, so every other line keeps its number and text.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field

from tito import format
from tito.errors import TitoError


@dataclass
class Stripped:
    """A source with its solutions stubbed: the text, the stubbed functions, what was removed."""

    text: str
    stubs: list[str] = field(default_factory=list)
    hidden_blocks: int = 0
    solution_lines: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    unmarked: list[tuple[str, int]] = field(default_factory=list)  # (function, line): a TODO but no block


def strip_solutions(text: str, where: str = "<source>") -> Stripped:
    """Replace solution blocks by NotImplementedError stubs and drop hidden tests.

    ``where`` names the file in error messages. Raises TitoError for a marker outside
    a function, unbalanced markers, or a result that no longer compiles.
    """
    try:
        tree = ast.parse(text)
        blocks = format.marker_blocks(text, where)
    except SyntaxError as exc:
        raise TitoError(f"{where}, line {exc.lineno}: {exc.msg}") from None
    except format.FormatError as exc:
        raise TitoError(str(exc)) from None
    spans = format.function_spans(tree)
    lines = text.splitlines()
    result = Stripped(text="")
    replacements = {}  # begin line -> (end line, replacement lines)
    for begin, end, kind in blocks:
        body = lines[begin:end - 1]
        if kind == format.HIDDEN_TESTS:
            replacements[begin] = (end, [])
            result.hidden_blocks += 1
            continue
        name = _enclosing_function(spans, begin)
        if name is None or not any(s.strip() for s in body):
            problem = "is outside any function" if name is None else "holds no code"
            raise TitoError(f"{where}, line {begin}: this '{format.BEGIN_SOLUTION}' block {problem}.",
                            hint="A solution block is the body of a function or method, after its docstring.")
        indent = lines[begin - 1][: len(lines[begin - 1]) - len(lines[begin - 1].lstrip())]
        replacements[begin] = (end, [format.stub_line(indent, name)])
        result.stubs.append(name)
        result.solution_lines.extend(s.strip() for s in body if s.strip())
    result.text = _replaced(lines, replacements) + ("\n" if text.endswith("\n") else "")
    try:
        stubbed_tree = ast.parse(result.text)
    except SyntaxError as exc:
        raise TitoError(f"{where}: the student edition does not compile ({exc.msg}, line {exc.lineno} "
                        f"of the stubbed file).",
                        hint="A hidden-tests block may have been the whole body of a function.") from None
    result.warnings = _extra_code_warnings(stubbed_tree, set(result.stubs), where)
    result.unmarked = _unmarked_todos(tree, set(result.stubs))
    return result


def _unmarked_todos(tree: ast.AST, stubbed: set[str]) -> list[tuple[str, int]]:
    """(qualified name, line) of each function whose docstring has a TODO section but whose body
    has no solution block (nor a stub already): its code goes to students as it is, most often
    because its markers were left out or misspelled."""
    found = []
    for name, node in format.functions(tree):
        docstring = ast.get_docstring(node) or ""
        if (name not in stubbed and not any(format.is_stub(statement, name) for statement in node.body)
                and any((heading := format.SECTION_HEADING.match(line)) and heading.group("name") == format.TODO
                        for line in docstring.splitlines())):
            found.append((name, node.lineno))
    return found


def _enclosing_function(spans, line: int) -> str | None:
    inside = [s for s in spans if s[0] < line <= s[1]]
    return max(inside, key=lambda s: s[0])[2] if inside else None


def _replaced(lines: list[str], replacements: dict) -> str:
    out, number = [], 1
    while number <= len(lines):
        if number in replacements:
            end, new = replacements[number]
            out.extend(new)
            number = end + 1
        else:
            out.append(lines[number - 1])
            number += 1
    return "\n".join(out)


def _extra_code_warnings(tree: ast.AST, stubbed: set[str], where: str) -> list[str]:
    """Stubbed functions that keep code besides their docstring: students will see that code."""
    warnings = []
    for name, node in format.functions(tree):
        if name not in stubbed:
            continue
        body = list(node.body)
        if body and isinstance(body[0], ast.Expr) and isinstance(getattr(body[0], "value", None), ast.Constant):
            body = body[1:]
        if len(body) > 1:
            warnings.append(f"{where}: {name} keeps code outside its solution block "
                            f"(line {node.lineno}); students will see it.")
    return warnings


def without_hidden_tests(text: str, where: str) -> tuple[str, int]:
    """A file (e.g. tests/NN_name/checks.py) without its hidden-test blocks, and how many there
    were; as it was, and 0, without any."""
    if not (format.MARKER_LINE.search(text) or format.near_marker_lines(text)):
        return text, 0
    stripped = strip_solutions(text, where)
    return stripped.text, stripped.hidden_blocks


def hidden_checks(checks: dict) -> set[str]:
    """The names of the checks that ``checks:`` of module.yaml (name -> its entry) calls hidden
    (``{points: 1, hidden: true}``)."""
    return {name for name, value in checks.items() if isinstance(value, dict) and value.get("hidden")}


def without_hidden_checks(text: str, where: str) -> str:
    """A module.yaml without the entries of its hidden checks (``{points: 1, hidden: true}``): an
    edition's checks.py no longer has them, and their names and messages say what they test.

    Each entry must be one line under ``checks:``; TitoError when one is not, rather than ship it.
    """
    import re

    import yaml

    checks = (yaml.safe_load(text) or {}).get("checks") or {}
    hidden = hidden_checks(checks)
    if not hidden:
        return text
    entry = re.compile(r"^\s+(\w+)\s*:")
    kept = "".join(line for line in text.splitlines(keepends=True)
                   if not ((found := entry.match(line)) and found.group(1) in hidden))
    try:
        left = (yaml.safe_load(kept) or {}).get("checks") or {}
    except yaml.YAMLError:
        left = None
    if left is None or set(left) != set(checks) - hidden or any(left[name] != checks[name] for name in left):
        raise TitoError(f"{where}: the hidden checks {', '.join(sorted(hidden))} could not be left out of the "
                        "edition's copy.", hint="Write each check of 'checks:' on one line, e.g. "
                                                "name: {points: 1, hidden: true}.")
    return kept
