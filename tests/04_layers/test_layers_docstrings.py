"""The EXAMPLE sections of module layers's docstrings are true: run them as doctests."""

import doctest

import numpy as np

import tinytorch.core.layers as module


def test_docstring_examples_hold():
    globs = {**vars(module), "np": np}
    flags = doctest.NORMALIZE_WHITESPACE | doctest.ELLIPSIS
    result = doctest.testmod(module, globs=globs, optionflags=flags, report=True)
    assert result.attempted > 0
    assert result.failed == 0, f"{result.failed} of {result.attempted} docstring examples failed (see output)"
