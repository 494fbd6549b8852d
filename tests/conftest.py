"""Make every test import this course root's ``tinytorch``, never another installed copy.

The course root (the folder above ``tests/``) goes first on ``sys.path``. If
``tinytorch`` was already imported from somewhere else, or would still resolve to
another folder, the run stops at once with a message saying where it came from.

A test that compares with PyTorch takes the ``torch`` fixture (skipped when torch is not
installed, imported once per session) and is marked ``slow`` by that: ``tito test`` leaves the
slow tests out unless ``--full``; plain pytest and ``make test`` run them.

``tests/tito/`` (the toolkit's own tests) is collected only when it is named:
``python -m pytest tests/ -k cnn``, as the course text says, runs the cnn module's tests and
nothing else; ``python -m pytest tests/tito`` (as ``make test`` does) runs the toolkit's.
The tests of a module whose generated file is not there yet are not collected either; the run's
summary names them and the command that exports them.
"""

import importlib.util
import re
import sys
from pathlib import Path

import pytest
from course_root import ROOT

EXPECTED = ROOT / "tinytorch" / "__init__.py"
TOOLKIT_TESTS = ROOT / "tests" / "tito"

if str(ROOT) in sys.path:
    sys.path.remove(str(ROOT))
sys.path.insert(0, str(ROOT))


def _tinytorch_origin():
    loaded = sys.modules.get("tinytorch")
    if loaded is not None:
        return getattr(loaded, "__file__", None)
    spec = importlib.util.find_spec("tinytorch")
    return spec.origin if spec else None


_origin = _tinytorch_origin()
if _origin is None or Path(_origin).resolve() != EXPECTED:
    pytest.exit(
        f"tests must import tinytorch from this course root ({EXPECTED}), "
        f"but it comes from {_origin}. Run the tests from {ROOT} (tito test, or "
        f"python -m pytest tests/), or unset PYTHONPATH entries that point at another copy.",
        returncode=4,
    )


@pytest.fixture(scope="session")
def torch():
    """PyTorch, the yardstick (skipped when it is not installed: it is never a requirement, nor
    when it cannot load itself from a non-ASCII path in an ASCII locale)."""
    try:
        return pytest.importorskip("torch", reason="PyTorch is not installed (pip install -e '.[bench]' adds it)")
    except UnicodeError as error:
        pytest.skip(f"PyTorch cannot be imported in this locale ({error}); `export LC_ALL=C.UTF-8` fixes it")


@pytest.hookimpl(tryfirst=True)  # before -m selects by marks
def pytest_collection_modifyitems(config, items):
    """A test that asks for torch is slow: importing torch alone costs more than most modules' tests."""
    for item in items:
        if "torch" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.slow)


def pytest_ignore_collect(collection_path, config):
    """Leave tests/tito out unless an argument names it (or something inside it), and the tests of
    a module not exported yet (a student at module 06 has no tinytorch/core/dataloader.py: its
    tests could only fail to import, and that would stop the whole run)."""
    path = Path(collection_path)
    if path == TOOLKIT_TESTS and not _names_toolkit_tests(config):
        return True
    generated = _generated_file(path)
    if generated is not None and not generated.exists():
        NOT_EXPORTED.setdefault(path.name, generated)
        return True
    return None


NOT_EXPORTED: dict = {}  # tests/NN_name folder -> the generated file it waits for
MODULE_TESTS = re.compile(r"^\d\d_(\w+)$")


def _generated_file(path: Path):
    """tinytorch/core/NAME.py for tests/NN_NAME of a module in modules/source, else None."""
    found = MODULE_TESTS.match(path.name)
    if path.parent != ROOT / "tests" or not found or not (ROOT / "modules" / "source" / path.name).is_dir():
        return None
    return ROOT / "tinytorch" / "core" / f"{found.group(1)}.py"


def pytest_terminal_summary(terminalreporter):
    for folder, generated in sorted(NOT_EXPORTED.items()):
        name = MODULE_TESTS.match(folder).group(1)
        terminalreporter.write_line(f"not collected: tests/{folder} ({generated.relative_to(ROOT)} is not exported "
                                    f"yet: tito export --module {name})")


def _names_toolkit_tests(config) -> bool:
    here = Path(config.invocation_params.dir)
    for arg in config.args:
        path = (here / arg.split("::")[0]).resolve()
        if path == TOOLKIT_TESTS or TOOLKIT_TESTS in path.parents:
            return True
    return False
