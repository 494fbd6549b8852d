"""The EXAMPLE sections of module setup's docstrings are true: run them as doctests."""

import tinytorch.core.setup as module


def test_docstring_examples_hold(docstring_examples_hold):
    docstring_examples_hold(module)
