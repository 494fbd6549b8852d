"""Where a failure is in the student's own code, when the error was raised in given code.

An inline failure is located at the innermost line of the module source in its traceback. When
that line is in a function the course gives (``to_pair`` raising for a padding of 0), the mistake
is usually in the student's function that called it: the failure is then located at the innermost
line of a function the student writes (one of the module's solution blocks, or of an edition's
stubs), and the traceback still shows the given function that raised.
"""

from __future__ import annotations

import ast
import re

from tito import format
from tito.course import Module

FRAME = re.compile(r'^\s*File "(?P<file>[^"]+)", line (?P<line>\d+), in ')


def students_functions(module: Module) -> set[str]:
    """Qualified names of the functions the student writes: the edition's stubs as released, or
    the instructor's solution blocks."""
    from tito.editions import read_manifest
    from tito.editions.strip import strip_solutions

    entry = ((read_manifest(module.root) or {}).get("modules") or {}).get(module.name) or {}
    if isinstance(entry.get("stubs"), list):
        return {name for name in entry["stubs"] if isinstance(name, str)}
    try:
        return set(strip_solutions(module.source()).stubs)
    except Exception:  # noqa: BLE001 - a source that cannot be read has no functions to prefer
        return set()


def locate_in_students_code(module: Module, step) -> None:
    """Move each inline failure raised in given code to the innermost line, in its traceback, of a
    function the student writes (when there is one)."""
    failures = [test for test in step.failures if test.details]
    if not failures:
        return
    written = students_functions(module)
    try:
        spans = format.function_spans(ast.parse(module.source()))
    except Exception:  # noqa: BLE001 - a source that does not parse: nothing is moved
        return
    dev_file, shown = str(module.dev_file), module.relative(module.dev_file)
    for test in failures:
        lines = [int(found["line"]) for found in map(FRAME.match, test.details.splitlines())
                 if found and found["file"] == dev_file]
        theirs = [line for line in lines if _is_written(_function_at(spans, line), written)]
        if lines and theirs and theirs[-1] != lines[-1] and test.location == f"{shown}:{lines[-1]}":
            test.location = f"{shown}:{theirs[-1]}"


def _function_at(spans, line: int) -> str:
    """The innermost function holding ``line`` ('' outside any)."""
    return next((name for first, last, name in reversed(spans) if first <= line <= last), "")


def _is_written(function: str, written: set[str]) -> bool:
    return any(function == name or function.startswith(name + ".") for name in written)
