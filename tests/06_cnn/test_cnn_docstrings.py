"""The docstring EXAMPLEs of tinytorch.core.cnn hold (run as doctests)."""

import tinytorch.core.cnn as module


def test_docstring_examples_hold(docstring_examples_hold):
    docstring_examples_hold(module)
