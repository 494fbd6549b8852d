"""The EXAMPLE sections of module tensor's docstrings are true: run them as doctests."""

import tinytorch.core.tensor as module


def test_docstring_examples_hold(docstring_examples_hold):
    docstring_examples_hold(module)
