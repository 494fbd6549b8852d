"""A small temporary course for the toolkit's tests: two modules, their tests, a package."""

import textwrap
from pathlib import Path

import pytest

ALPHA_DEV = '''\
# %% [markdown]
# # Module 01: Alpha
# Doubling numbers.

# %%
#| default_exp core.alpha

# %%
#| export
import numpy as np

# %%
#| export
def double(x):
    """Twice x.

    TODO: multiply by two.
    """
    ### BEGIN SOLUTION
    return np.asarray(x) * 2
    ### END SOLUTION

# %%
def test_unit_double():
    print("checking double")
    assert double(3) == 6

if __name__ == "__main__":
    test_unit_double()

# %%
#| export
class Scaler:
    """Multiply by a fixed factor."""

    def __init__(self, factor):
        self.factor = factor

    def __call__(self, x):
        ### BEGIN SOLUTION
        return x * self.factor
        ### END SOLUTION

_helper = 1
LIMIT = 10

# %%
def test_unit_scaler():
    assert Scaler(3)(2) == 6

test_unit_scaler()
'''

ALPHA_TEST = '''\
from tinytorch.core.alpha import Scaler, double


def test_double():
    assert double(4) == 8


class TestScaler:
    def test_scale(self):
        assert Scaler(2)(5) == 10
'''

BETA_DEV = '''\
# %%
#| default_exp core.beta

# %%
#| export
from tinytorch.core.alpha import double

def quadruple(x):
    return double(double(x))

# %%
def test_unit_quadruple():
    assert quadruple(1) == 4

if __name__ == "__main__":
    test_unit_quadruple()
'''

BETA_TEST = '''\
from tinytorch.core.beta import quadruple


def test_quadruple():
    assert quadruple(2) == 8
'''


class TinyCourse:
    """A course root in a temporary folder, with helpers to change it."""

    def __init__(self, root: Path):
        self.root = root

    def write(self, relative: str, text: str) -> Path:
        path = self.root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text) if text.startswith("\n") else text, encoding="utf-8")
        return path

    def add_module(self, dirname, dev, yaml_text, test_name=None, test_text=None):
        name = dirname.split("_", 1)[1]
        self.write(f"modules/source/{dirname}/{name}_dev.py", dev)
        self.write(f"modules/source/{dirname}/module.yaml", yaml_text)
        self.write(f"modules/source/{dirname}/README.md", f"# {name}\n")
        if test_name:
            self.write(f"tests/{dirname}/{test_name}", test_text)

    def dev(self, name: str) -> Path:
        return next(self.root.glob(f"modules/source/*_{name}/{name}_dev.py"))

    def generated(self, name: str) -> Path:
        return self.root / "tinytorch" / "core" / f"{name}.py"


def build_course(root: Path) -> TinyCourse:
    course = TinyCourse(root)
    course.write("tinytorch/__init__.py", "")
    course.add_module(
        "01_alpha", ALPHA_DEV,
        "name: alpha\ntitle: Alpha\ndescription: Doubling.\nprerequisites: []\n"
        "exports_to: tinytorch.core.alpha\ncomponents: [double, Scaler]\n",
        "test_alpha_basic.py", ALPHA_TEST,
    )
    course.add_module(
        "02_beta", BETA_DEV,
        "name: beta\ntitle: Beta\nprerequisites: [alpha]\nexports_to: tinytorch.core.beta\n",
        "test_beta_basic.py", BETA_TEST,
    )
    return course


@pytest.fixture
def course(tmp_path, monkeypatch):
    """A fresh two-module course; the current directory is its root."""
    built = build_course(tmp_path / "course")
    monkeypatch.chdir(built.root)
    monkeypatch.delenv("TITO_ROOT", raising=False)
    # The tiny course's tests need no pytest plugins; not importing hypothesis's saves ~1 s per run.
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")
    return built


@pytest.fixture
def tito():
    """Invoke the CLI in-process: tito("export", "--all") -> click Result."""
    from click.testing import CliRunner

    from tito.cli import cli

    def invoke(*args):
        return CliRunner().invoke(cli, list(args), prog_name="tito", catch_exceptions=False)

    return invoke


@pytest.fixture(scope="session")
def instructor_course(tmp_path_factory):
    """The instructor course of test_release_support (solutions, checks), built once per session."""
    from test_release_support import build_course as build_instructor_course

    return build_instructor_course(tmp_path_factory.mktemp("instructor") / "course")


@pytest.fixture(scope="session")
def alpha_grader(instructor_course):
    """A grader of module alpha, prepared once per session in the sandbox found here (else skip)."""
    from tito.course import Course
    from tito.grading import Grader, detect

    sandbox, reasons = detect()
    if sandbox is None:
        pytest.skip("no grading sandbox can run here: " + "; ".join(reasons))
    course = Course(instructor_course)
    with Grader(course, course.get("alpha"), timeout=15, sandbox=sandbox) as grader:
        yield grader
