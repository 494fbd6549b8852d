"""The export keeps a docstring's library sections and drops its teaching ones, line by line."""

import inspect
import re

import pytest

from tito.course import Course
from tito.docstrings import for_package
from tito.exporter import render
from tito.format import CELL_MARKER
from tito.testing.source_map import source_of

from course_root import ROOT

WORKBOOK = '''\
def scale(x, factor=2):
    """Multiply ``x`` by ``factor``: (N, C) -> (N, C).

    Args:
        x: an array.

    TODO: Multiply.

    APPROACH:
    1. Return ``x * factor``.
       EXAMPLE: this line belongs to the APPROACH (deeper indentation).

    EXAMPLE:
    >>> scale(3)
    6

    HINTS:
    - ``*`` broadcasts.
    """
    note = """
    TODO: a string that is not a docstring stays as it is.
    """
    return x * factor
'''

LIBRARY = '''\
def scale(x, factor=2):
    """Multiply ``x`` by ``factor``: (N, C) -> (N, C).

    Args:
        x: an array.

    EXAMPLE:
    >>> scale(3)
    6
    """
    note = """
    TODO: a string that is not a docstring stays as it is.
    """
    return x * factor
'''


def test_teaching_sections_go_and_library_sections_stay():
    assert for_package(WORKBOOK) == LIBRARY


def test_every_kept_line_is_a_source_line_in_order():
    kept, source = for_package(WORKBOOK).splitlines(), iter(WORKBOOK.splitlines())
    assert all(any(line == candidate for candidate in source) for line in kept)


@pytest.mark.parametrize("code", [
    'def f():\n    """Just a summary."""\n',
    'def f():\n    """Summary.\n\n    Args:\n        x: TODO: not a section here.\n\n'
    '    EXAMPLE:\n    >>> 1\n    1\n    """\n',
    'class C:\n    """A class.\n\n    Returns: TODO in prose.\n    """\n',
    'x = 1  # no docstring at all\n',
])
def test_docstrings_without_teaching_sections_are_untouched(code):
    assert for_package(code) == code


def test_sections_of_modules_classes_and_methods():
    code = ('"""Module.\n\nHINTS:\n- read on.\n"""\n\n\nclass C:\n    """Class.\n\n    TODO: build it.\n    """\n\n'
            '    def m(self):\n        """Method.\n\n        APPROACH:\n        1. Do.\n\n'
            '        EXAMPLE:\n        >>> C().m()\n        """\n')
    assert for_package(code) == (
        '"""Module.\n"""\n\n\nclass C:\n    """Class.\n    """\n\n'
        '    def m(self):\n        """Method.\n\n        EXAMPLE:\n        >>> C().m()\n        """\n')


def test_the_course_package_reads_like_a_library():
    """No teaching section is left in tinytorch/core; help(Tensor.__add__) starts with what + does."""
    from tinytorch.core.tensor import Tensor

    for path in sorted((ROOT / "tinytorch" / "core").glob("*.py")):
        text = path.read_text(encoding="utf-8")
        assert not re.search(r"^\s*(TODO|APPROACH|HINTS):", text, re.MULTILINE), path.name
    assert inspect.getdoc(Tensor.__add__).startswith("Element-wise `self + other` with broadcasting")
    assert "EXAMPLE:\n>>> Tensor([[1, 2], [3, 4]]) + Tensor([10, 20])" in inspect.getdoc(Tensor.__add__)


@pytest.mark.parametrize("name", ["tensor", "autograd"])
def test_every_exported_line_of_a_course_module_maps_to_its_source_line(name):
    """Cutting docstring lines keeps the map from a generated line back to its source line."""
    generated = render(Course(ROOT).get(name))
    relative = generated.target.relative_to(ROOT)
    source = (ROOT / generated.module.relative(generated.module.dev_file)).read_text().splitlines()
    lines = generated.text.splitlines()
    assert generated.target.read_text(encoding="utf-8") == generated.text, "export the course first"
    checked, in_cell = 0, False
    for number, text in enumerate(lines, start=1):
        if text.startswith("__all__"):
            break
        in_cell = in_cell or bool(CELL_MARKER.match(text))
        if not in_cell or CELL_MARKER.match(text) or not text.strip():
            continue
        path, _, line = source_of(ROOT, f"{relative}:{number}").rpartition(":")
        assert path and source[int(line) - 1] == text, (number, text)
        checked += 1
    assert checked > 300
