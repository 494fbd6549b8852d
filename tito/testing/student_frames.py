"""Where a failure is in the student's own code, when the error was raised in given code.

An inline failure is located at the innermost line of the module source in its traceback. When
that line is in a function the module gives written (``to_pair`` raising for a padding of 0), the
mistake is usually in the student's function that called it: the failure is then located at the
innermost line of a function the student wrote (one they fill in, or one they added), and the
traceback still shows the given function that raised.
"""

from __future__ import annotations

import ast
import re

from tito import format
from tito.course import Module

FRAME = re.compile(r'^\s*File "(?P<file>[^"]+)", line (?P<line>\d+), in ')


def given_functions(module: Module) -> set[str]:
    """Qualified names of the functions the module gives the student, written (helpers, tests):
    those of the source as released, less the stubs the student fills in. A function the student
    adds is not among them."""
    from tito.editions import released_source
    from tito.editions.strip import strip_solutions

    try:
        text = released_source(module)
        if text is not None:
            stubs = {name for name, _ in format.unimplemented(text)}
        else:  # the instructor's course: the source as it would be released
            stripped = strip_solutions(module.source())
            text, stubs = stripped.text, set(stripped.stubs)
        return {name for _, _, name in format.function_spans(ast.parse(text))} - stubs
    except Exception:  # noqa: BLE001 - a source that cannot be read or parsed: nothing is given
        return set()


def locate_in_students_code(module: Module, step) -> None:
    """Move each inline failure raised in a given function to the innermost line, in its traceback,
    of a function the student wrote."""
    failures = [test for test in step.failures if test.details]
    if not failures:
        return
    given = given_functions(module)
    try:
        spans = format.function_spans(ast.parse(module.source()))
    except Exception:  # noqa: BLE001 - a source that does not parse: nothing is moved
        return
    dev_file, shown = str(module.dev_file), module.relative(module.dev_file)
    for test in failures:
        frames = [(int(found["line"]), format.function_at(spans, int(found["line"])))
                  for found in map(FRAME.match, test.details.splitlines()) if found and found["file"] == dev_file]
        if not frames or frames[-1][1] not in given:
            continue
        theirs = [line for line, function in frames if function and function not in given]
        if theirs and test.location == f"{shown}:{frames[-1][0]}":
            test.location = f"{shown}:{theirs[-1]}"
