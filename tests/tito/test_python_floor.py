"""The oldest Python the course supports is pyproject.toml's ``requires-python``, and that is true:
every file parses with that Python's grammar, ``tito doctor`` states it, the README says it.

The full proof is the suite run under that Python; these checks need only the one that runs them.
"""

import ast

from tito.commands.doctor import check_python
from tito.course import Course
from tito.grading.bundle import python_floor

from course_root import ROOT
CODE = ("tito", "tinytorch", "modules/source", "benchmarks", "tests")


def floor() -> tuple[int, int]:
    """(3, 10) for ``requires-python = ">=3.10"`` (as the autograders' setup.sh checks it)."""
    return python_floor(Course(ROOT))[1]


def test_every_python_file_parses_with_the_oldest_supported_grammar():
    files = [path for folder in CODE for path in sorted((ROOT / folder).rglob("*.py"))]
    assert len(files) > 100  # the folders were found
    newer = []
    for path in files:
        try:
            ast.parse(path.read_text(encoding="utf-8"), str(path), feature_version=floor())
        except SyntaxError as error:
            newer.append(f"{path.relative_to(ROOT)}:{error.lineno}: {error.msg}")
    assert newer == [], f"syntax newer than Python {'.'.join(map(str, floor()))}"


def test_ast_rejects_what_is_newer_than_the_grammar_asked_for():
    """The check above can fail: ``match`` (3.10) is refused under a 3.9 grammar."""
    source = "match x:\n    case 1:\n        pass\n"
    ast.parse(source, feature_version=(3, 10))
    try:
        ast.parse(source, feature_version=(3, 9))
    except SyntaxError as error:
        assert "Pattern matching is only supported in Python 3.10 and greater" in error.msg
    else:
        raise AssertionError("ast.parse accepted a match statement under a 3.9 grammar")


def test_doctor_states_the_floor_and_the_readme_says_it():
    declared = python_floor(Course(ROOT))[0]
    check = check_python(ROOT)
    assert check.ok
    assert f"the course needs Python {declared} (pyproject.toml's requires-python)" in check.detail
    major, minor = floor()
    assert f"You need Python {major}.{minor}+ with `venv`" in (ROOT / "README.md").read_text(encoding="utf-8")


def test_doctor_names_a_python_below_the_floor_and_how_to_fix_it(tmp_path):
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "c"\nrequires-python = ">=3.99"\n')
    check = check_python(tmp_path)
    assert not check.ok
    assert "the course needs Python >=3.99" in check.detail
    assert check.fix.startswith("Use a Python >=3.99, ")


def test_the_autograder_and_doctor_read_one_requires_python(tmp_path):
    """tito.course reads ``requires-python`` once for both: doctor's check against the whole
    specifier, the autograder's floor from its '>=3.N' clause (spaces and an upper bound allowed)."""
    from types import SimpleNamespace

    from tito.course import oldest_python, python_allowed, requires_python

    (tmp_path / "pyproject.toml").write_text('[project]\nname = "c"\nrequires-python = ">= 3.11, <4"\n')
    assert requires_python(tmp_path) == ">= 3.11, <4"
    assert python_floor(SimpleNamespace(root=tmp_path)) == (">= 3.11, <4", (3, 11))
    assert (python_allowed(">= 3.11, <4", "3.10.9"), python_allowed(">= 3.11, <4", "3.11.0")) == (False, True)
    assert python_allowed("", "2.7.18") and oldest_python("<4") is None
    assert "the course needs Python >= 3.11, <4" in check_python(tmp_path).detail
