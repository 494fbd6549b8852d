"""What a student receives of a module, and the check of the points its tests are worth.

``student_edition`` and ``student_notebook`` are a module as released: its stubbed source and that
source as a notebook. ``check_points`` checks ``points:`` in module.yaml before a release, the tests
it names included. The nbgrader marks and their points (``nbgrader_metadata``, ``points_of``) and
the conversion itself (``to_notebook``, ``from_notebook``, ``notebook_json``) are
``tito.notebooks.nbgrader`` and ``tito.notebooks.convert``.
"""

from __future__ import annotations

import re

from tito import format
from tito.course import Module
from tito.editions.strip import Stripped, strip_solutions
from tito.errors import TitoError
from tito.notebooks.convert import to_notebook
from tito.notebooks.nbgrader import points_of


def _pytest_test_exists(module: Module, node: str) -> bool:
    """True when 'test_file.py::test_x' (or '::TestClass::test_x') names a test function in the
    module's tests folder."""
    file, *names = node.split("::")
    path = module.tests_dir / file
    try:
        text = path.read_text(encoding="utf-8") if path.is_file() else ""
    except (OSError, UnicodeDecodeError):
        return False
    function = names[-1].split("[")[0] if names else ""  # 'test_x[case]': a parametrized test's case
    return bool(function) and re.search(rf"^\s*def {re.escape(function)}\(", text, re.M) is not None


def check_points(module: Module) -> None:
    """``points_of``, and every inline test it names defined in the module's source (a typo
    would give that test 1 point silently): the instructor's release checks this first."""
    points = points_of(module)
    inline = [name for name in points if "::" not in str(name)]  # 'test_file.py::test_x' names a pytest test
    defined = set(format.defined_tests(module.source()))
    unknown = [str(name) for name in inline if name not in defined]
    unknown += [str(name) for name in points if "::" in str(name) and not _pytest_test_exists(module, str(name))]
    if unknown:
        where = module.relative(module.metadata_file)
        raise TitoError(f"{where}: points for {', '.join(unknown)}, which {module.dev_file.name} or "
                        f"{module.relative(module.tests_dir)} does not define (a test is worth 1 point unless named "
                        "here).",
                        hint=f"Its tests: {', '.join(sorted(defined)) or 'none'}.")


def student_edition(module: Module, repository: str | None = None) -> tuple[Stripped, object]:
    """What a student receives of ``module``: its source with the solutions stubbed, and that
    source as a notebook (nbgrader metadata from the instructor's markers). With the edition's
    ``repository``, both start with the cell that sets the module up in Colab (``colab.py``)."""
    original = module.source()
    stripped = strip_solutions(original, module.relative(module.dev_file))
    if repository:
        from tito.editions.colab import colab_cell, with_colab_cell

        cell = colab_cell(module, repository)
        original, stripped.text = with_colab_cell(original, cell), with_colab_cell(stripped.text, cell)
    return stripped, to_notebook(stripped.text, module, original=original)


def student_notebook(module: Module):
    """The notebook a student receives for ``module``: solutions stubbed by the release transform.

    In a student edition that is its released stub (``.tito/release``), not the student's file,
    which may hold their solution by now."""
    from tito.editions import released_stub

    released = released_stub(module.root, module)
    if released.is_file():
        return to_notebook(module.read_text(released), module)
    return student_edition(module)[1]
