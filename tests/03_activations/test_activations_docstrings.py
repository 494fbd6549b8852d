"""The EXAMPLE sections of module activations's docstrings are true: run them as doctests."""

import tinytorch.core.activations as module


def test_docstring_examples_hold(docstring_examples_hold):
    docstring_examples_hold(module)
