"""The small course every toolkit test works on: two modules (beta needs alpha), their tests,
solutions, hidden tests and graded checks; and helpers to run tito on it.

``build_course(root)`` writes it; ``tooling=True`` adds its own copy of ``tito/``,
``pyproject.toml``, ``bin/`` and ``tinytorch/utils`` (a student edition and a grading copy run
``python -m tito`` inside themselves). No tests here; conftest.py and the test files import it.
"""

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

from course_root import ROOT as REAL_ROOT  # the real course's, beside the tiny one

ALPHA_DEV = '''\
# %% [markdown]
# # Module 01: Alpha
# Doubling numbers.

# %%
#| default_exp core.alpha

# %%
#| export
import numpy as np

# %% tags=["teach"]
#| export
def double(x):
    """Twice x, as a NumPy value: () -> ().

    TODO: Multiply by two.

    HINTS:
    - np.asarray first.
    """
    ### BEGIN SOLUTION
    doubled_value_of_the_input = np.asarray(x) * 2
    return doubled_value_of_the_input
    ### END SOLUTION

# %%
def test_unit_double():
    print("checking double")
    assert double(3) == 6
    ### BEGIN HIDDEN TESTS
    assert double(-1.5) == -3.0, "secret negative case"
    ### END HIDDEN TESTS

if __name__ == "__main__":
    test_unit_double()

# %%
#| export
class Scaler:
    """Multiply by a fixed factor."""

    def __init__(self, factor):
        self.factor = factor

    def __call__(self, x):
        """x * factor.

        TODO: scale x.
        """
        ### BEGIN SOLUTION
        scaled_by_the_stored_factor = x * self.factor
        return scaled_by_the_stored_factor
        ### END SOLUTION

_helper = 1
LIMIT = 10

# %%
def test_unit_scaler():
    assert Scaler(3)(2) == 6

if __name__ == "__main__":
    test_unit_scaler()
'''

ALPHA_TEST = '''\
from tinytorch.core.alpha import Scaler, double


def test_double():
    assert double(4) == 8


class TestScaler:
    def test_scale(self):
        assert Scaler(2)(5) == 10


def test_numpy_is_provided():
    from tinytorch.core import alpha

    assert alpha.np.__name__ == "numpy"
'''

ALPHA_YAML = """\
name: alpha
title: Alpha
description: Doubling.
prerequisites: []
exports_to: tinytorch.core.alpha
components: [double, Scaler]
points:
  test_unit_double: 3
  test_alpha_ops.py::test_double: 2
checks:
  double: 3
  scaler: 2
  double_negative: {points: 1, hidden: true}
  numpy_is_provided: 1
"""

# The graded checks: they call the student's module on inputs from the run's secret seed. The
# last one tests provided code, so it passes on the released stub too and calibration makes it 0.
ALPHA_CHECKS = '''\
"""Graded checks of module alpha."""


def check_double(alpha, rng):
    x = rng.random(5) + 0.5
    x[1::2] *= -1  # both signs, whatever the seed draws
    return alpha.double(x)


def check_scaler(alpha, rng):
    factor = int(rng.integers(2, 9))
    return alpha.Scaler(factor)(rng.standard_normal(4))


### BEGIN HIDDEN TESTS
def check_double_negative(alpha, rng):
    return alpha.double(-rng.random(3))
### END HIDDEN TESTS


def check_numpy_is_provided(alpha, rng):
    return alpha.np.__name__
'''

BETA_DEV = '''\
# %%
#| default_exp core.beta

# %%
#| export
from tinytorch.core.alpha import double

def quadruple(x):
    """Four times x.

    TODO: double twice.
    """
    ### BEGIN SOLUTION
    return double(double(x))
    ### END SOLUTION

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

BETA_YAML = "name: beta\ntitle: Beta\nprerequisites: [alpha]\nexports_to: tinytorch.core.beta\n"


class TinyCourse:
    """A course root in a temporary folder, with helpers to change it."""

    def __init__(self, root: Path):
        self.root = root

    def write(self, relative: str, text: str) -> Path:
        path = self.root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text) if text.startswith("\n") else text, encoding="utf-8")
        return path

    def dev(self, name: str) -> Path:
        return next(self.root.glob(f"modules/source/*_{name}/{name}_dev.py"))

    def generated(self, name: str) -> Path:
        return self.root / "tinytorch" / "core" / f"{name}.py"


def ignore_caches(folder, names):
    return [n for n in names if n == "__pycache__" or n.endswith(".pyc")]


def build_course(root: Path, tooling: bool = False) -> TinyCourse:
    """The small course at ``root``: modules alpha and beta with solutions, their tests, alpha's
    checks; with ``tooling``, the course's own tito, pyproject.toml, bin/ and tinytorch/utils."""
    course = TinyCourse(root)
    course.write("tinytorch/__init__.py", '"""tiny"""\n')
    course.write("modules/README.md", "# Modules\n")
    for dirname, dev, yaml_text, test_name, test_text in (
        ("01_alpha", ALPHA_DEV, ALPHA_YAML, "test_alpha_ops.py", ALPHA_TEST),
        ("02_beta", BETA_DEV, BETA_YAML, "test_beta_ops.py", BETA_TEST),
    ):
        name = dirname.split("_", 1)[1]
        course.write(f"modules/source/{dirname}/{name}_dev.py", dev)
        course.write(f"modules/source/{dirname}/module.yaml", yaml_text)
        course.write(f"modules/source/{dirname}/README.md", f"# {name}\n")
        course.write(f"tests/{dirname}/{test_name}", test_text)
    course.write("tests/01_alpha/checks.py", ALPHA_CHECKS)
    if tooling:
        shutil.copytree(REAL_ROOT / "tito", root / "tito", ignore=ignore_caches)
        shutil.copy2(REAL_ROOT / "pyproject.toml", root / "pyproject.toml")
        shutil.copytree(REAL_ROOT / "tinytorch" / "utils", root / "tinytorch" / "utils", ignore=ignore_caches)
        course.write("tinytorch/core/__init__.py", "")
        course.write("Makefile", "test:\n\ttito test --all\n")
        course.write("bin/hello", "#!/bin/sh\necho hello\n")
        for script in ("activate-tinytorch.sh", "tito"):
            shutil.copy2(REAL_ROOT / "bin" / script, root / "bin" / script)
    return course


# The deadline of a grading whose grade must not depend on the machine's load: far beyond the
# slowest honest grading of the small course on a loaded 2-core machine (8-14 s at a load of
# 10-14, where the 15 s of the tests of deadlines cut feedback short). Only what must run into
# its deadline (an endless sleep) is graded with a short one, so no test waits this long.
PATIENT_SECONDS = 300.0

# How long a test waits for a process or server that should come (or end) before it calls it hung:
# a bound, never a measure (a `tito grade` of three files took over 120 s, JupyterLab over 180 s, at a
# load of 20), beyond PATIENT_SECONDS so that a patient grading is never cut by its caller's wait.
HANG_SECONDS = 600


def with_deadline(grader, seconds: float):
    """A copy of a prepared ``grader`` (the same prepared folder, seed, sandbox and scratch) whose
    gradings may take ``seconds``; the original keeps its own deadline and closes the scratch."""
    import copy
    import dataclasses

    patient = copy.copy(grader)
    patient.limits = dataclasses.replace(grader.limits, seconds=seconds)
    return patient


def run_tito(cwd: Path, *args, pythonpath=(), timeout=HANG_SECONDS, **env) -> subprocess.CompletedProcess:
    """``python -m tito ARGS`` in ``cwd`` (which comes first on sys.path), plain output, no TITO_ROOT;
    ``env`` is added to the environment (a value None takes the variable out). ``timeout`` only keeps
    a tito that hangs from hanging the suite (``HANG_SECONDS``)."""
    environment = dict(os.environ, NO_COLOR="1")
    for variable in ("PYTHONPATH", "TITO_ROOT"):
        environment.pop(variable, None)
    if pythonpath:
        environment["PYTHONPATH"] = os.pathsep.join(str(p) for p in pythonpath)
    for variable, value in env.items():
        if value is None:
            environment.pop(variable, None)
        else:
            environment[variable] = value
    return subprocess.run([sys.executable, "-m", "tito", *args], cwd=cwd, env=environment, capture_output=True,
                          text=True, timeout=timeout)


def test_json(cwd: Path, module: str, pythonpath=()) -> tuple[subprocess.CompletedProcess, dict]:
    """``tito test --module NAME --json`` in ``cwd``: the process and its JSON report."""
    report = cwd / ".tito-test-report.json"
    report.unlink(missing_ok=True)
    proc = run_tito(cwd, "test", "--module", module, "--json", str(report), pythonpath=pythonpath)
    assert report.exists(), proc.stdout + proc.stderr
    return proc, json.loads(report.read_text(encoding="utf-8"))


test_json.__test__ = False


def on_a_terminal(command: list, env: dict, cwd=None, timeout: float = 120) -> tuple[bytes, int]:
    """What ``command`` writes on a pseudo-terminal (a terminal's, or a notebook cell's `!`), and
    its exit code. A command that still runs after ``timeout`` seconds fails the test, not the suite."""
    import pty
    import select
    import time

    main, terminal = pty.openpty()
    run = subprocess.Popen(command, cwd=cwd, env=env, stdin=terminal, stdout=terminal, stderr=terminal)
    os.close(terminal)
    shown, deadline = b"", time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not select.select([main], [], [], 1)[0]:
            continue
        try:
            chunk = os.read(main, 65536)
        except OSError:  # the terminal closed: the command ended
            break
        if not chunk:
            break
        shown += chunk
    code = run.wait(timeout=timeout)
    os.close(main)
    return shown, code


def flat(text: str) -> str:
    """Console output as one line of words: Rich wraps what it prints on a terminal, and tables
    split a cell over lines; messages are compared without that layout."""
    return " ".join(text.split())


def line_of(path, text):
    """The number of the first line of a file that contains ``text``."""
    return next(i for i, line in enumerate(path.read_text().splitlines(), 1) if text in line)


def reports(folder: Path, module: str, grades, students=None) -> Path:
    """A reports folder as a batch leaves it: one JSON per grade, then gradebook.csv."""
    from tito.grading.gradebook import Gradebook

    folder.mkdir(parents=True, exist_ok=True)
    book = Gradebook(folder, module, students)
    for grade in grades:
        book.add(grade)
    book.flush()
    return folder


def rows_of(out: Path) -> dict[str, dict]:
    """The rows of ``out/gradebook.csv``, by student."""
    import csv
    import io

    return {row["student"]: row for row in csv.DictReader(io.StringIO((out / "gradebook.csv").read_text()))}
