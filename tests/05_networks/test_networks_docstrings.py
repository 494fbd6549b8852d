"""The EXAMPLE sections of module networks's docstrings are true: run them as doctests."""

import tinytorch.core.networks as module


def test_docstring_examples_hold(docstring_examples_hold):
    docstring_examples_hold(module)
