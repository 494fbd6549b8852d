"""The docstring EXAMPLEs of tinytorch.core.autograd hold (run as doctests)."""

import tinytorch.core.autograd as module


def test_docstring_examples_hold(docstring_examples_hold):
    docstring_examples_hold(module)
