"""The EXAMPLE sections of module layers's docstrings are true: run them as doctests."""

import tinytorch.core.layers as module


def test_docstring_examples_hold(docstring_examples_hold):
    docstring_examples_hold(module)
