"""The package's docstring examples are true: each module's EXAMPLE sections run as doctests.

One test per module of ``tinytorch``: every generated module (``tinytorch/core``, one per course
module; the export keeps each docstring's EXAMPLE and drops its TODO / APPROACH / HINTS) and every
hand-written module that shows examples. They run as ``pytest --doctest-modules tinytorch`` runs
them (doctest's ELLIPSIS, nothing else), so an example is true as printed. Ids name the module:
``python -m pytest tests/ -k cnn`` runs the cnn module's examples with its tests.
"""

import doctest
import importlib

import pytest

from course_root import ROOT

PACKAGE = ROOT / "tinytorch"


def modules_with_examples() -> list[str]:
    """Dotted names of the generated modules, and of the other modules whose text has '>>> '.

    Found by reading the files, not importing them: a module that fails to import fails its own
    test here instead of stopping the collection of every test.
    """
    names = []
    for path in sorted(PACKAGE.rglob("*.py")):
        dotted = path.relative_to(PACKAGE.parent).with_suffix("").parts
        if dotted[-1] == "__init__":
            dotted = dotted[:-1]
        generated = dotted[:2] == ("tinytorch", "core") and len(dotted) == 3
        if generated or ">>> " in path.read_text(encoding="utf-8"):
            names.append(".".join(dotted))
    return names


@pytest.mark.parametrize("name", modules_with_examples(), ids=lambda name: name.removeprefix("tinytorch."))
def test_docstring_examples_hold(name):
    module = importlib.import_module(name)
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    report = []
    for test in doctest.DocTestFinder().find(module):
        runner.run(test, out=report.append)
    result = runner.summarize(verbose=False)
    assert result.attempted > 0, f"{name} shows no docstring examples (EXAMPLE: >>> ...)"
    assert result.failed == 0, f"{result.failed} of {result.attempted} examples of {name} fail:\n" + "".join(report)
