"""tito in an ASCII locale (LC_ALL=C with PYTHONUTF8=0: stdout's encoding is 'ascii'), the
course in a folder whose name is not ASCII: readable output, never a UnicodeEncodeError."""

import os
import subprocess
import sys

from tiny_course import build_course, on_a_terminal

from tito.console import JUPYTER_KERNEL_VARIABLES

from course_root import ROOT

ASCII_LOCALE = {"LANG": "C", "LC_ALL": "C", "PYTHONUTF8": "0", "NO_COLOR": "1"}

FAILING_INLINE = '''
# %%
def test_unit_prints_and_fails():
    import os
    print("\\N{MICROSCOPE} José Ñúñez at", os.path.realpath(__file__))
    assert double(2) == 5, "\\N{MICROSCOPE} double(2) \\N{RIGHTWARDS ARROW} 4"

if __name__ == "__main__":
    test_unit_prints_and_fails()
'''

FAILING_PYTEST = '''

def test_prints_and_fails():
    print("\\N{MICROSCOPE} José")
    assert 1 == 2, "\\N{CHECK MARK} expected"
'''


def in_ascii_locale(args, cwd, root):
    environment = {key: value for key, value in os.environ.items() if key not in ("PYTHONIOENCODING", "TITO_ROOT")}
    environment.update(ASCII_LOCALE, PYTHONPATH=f"{root}{os.pathsep}{ROOT}")
    return subprocess.run([sys.executable, "-m", "tito", *args], cwd=cwd, env=environment, capture_output=True,
                          timeout=120)


def test_an_ascii_locale_and_a_non_ascii_course_path_give_readable_results(tmp_path):
    course = build_course(tmp_path / "Mes cours" / "Été 2026" / "course")
    dev = course.root / "modules/source/01_alpha/alpha_dev.py"
    dev.write_text(dev.read_text(encoding="utf-8") + FAILING_INLINE, encoding="utf-8")
    pytest_file = course.root / "tests/01_alpha/test_alpha_ops.py"
    pytest_file.write_text(pytest_file.read_text(encoding="utf-8") + FAILING_PYTEST, encoding="utf-8")

    exported = in_ascii_locale(["export", "--module", "alpha"], course.root, course.root)
    assert exported.returncode == 0, exported.stderr
    assert exported.stdout.decode("ascii") == "+ 01_alpha: wrote tinytorch/core/alpha.py\n"

    tested = in_ascii_locale(["test", "--module", "alpha"], course.root, course.root)
    out, err = tested.stdout.decode("ascii"), tested.stderr.decode("ascii")
    assert "UnicodeEncodeError" not in out + err and "most recent call" not in err, out + err
    assert tested.returncode == 1 and "Module alpha FAILED" in out
    # the two tests written to fail fail; the others (the package's import included) pass
    assert "inline tests: 2/3 passed" in out and "FAIL test_unit_prints_and_fails" in out
    assert "pytest tests: 3/4 passed" in out and "AssertionError: + expected" in out
    assert "\\U0001f52c double(2) -> 4" in out            # tito's arrow as ASCII, the rest escaped
    assert "Jos\\xe9 \\xd1\\xfa\\xf1ez at" in out
    assert "/\\xc9t\\xe9 2026/course/modules/source/01_alpha/alpha_dev.py" in out
    assert "| inline | FAIL   | 2/3" in out and "| pytest | FAIL   | 3/4" in out  # the summary, not a crash


def test_a_terminal_in_an_ascii_locale_shows_an_ascii_spinner_and_tables_in_line(tmp_path):
    """In a terminal (not a pipe) Rich draws the summary with '✓ pass' and a spinner of braille
    dots: the fallback keeps the cell's width, and the spinner is '-\\|/', not '\\u280b'."""
    import re

    course = build_course(tmp_path / "course")
    environment = {key: value for key, value in os.environ.items()
                   if key not in ("PYTHONIOENCODING", "TITO_ROOT", "NO_COLOR", *JUPYTER_KERNEL_VARIABLES)}
    environment.update(ASCII_LOCALE, PYTHONPATH=f"{course.root}{os.pathsep}{ROOT}", COLUMNS="100", TERM="xterm")
    del environment["NO_COLOR"]
    shown, code = on_a_terminal([sys.executable, "-m", "tito", "test", "--module", "alpha"], environment,
                                cwd=course.root)
    assert code == 0
    text = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", shown.decode("ascii"))
    assert "\\u28" not in text  # no spinner frame escaped
    rows = [line.rstrip() for line in text.splitlines()  # the summary table's: borders at both ends
            if line.startswith(("|", "+")) and line.rstrip().endswith(("|", "+"))]
    assert any("+ pass" in row for row in rows), text
    assert len(rows) > 4 and len({len(row) for row in rows}) == 1, rows  # every border in line


def test_doctor_says_an_ascii_locale_cannot_work_under_a_non_ascii_path(tmp_path):
    course = build_course(tmp_path / "Été" / "course")
    doctor = in_ascii_locale(["doctor"], course.root, course.root)
    out = doctor.stdout.decode("ascii")
    row = next(line for line in out.splitlines() if line.startswith("| path encoding"))
    assert doctor.returncode == 1 and "PROBLEM" in row, out
    assert f"the course path {tmp_path}/\\xc9t\\xe9/course is not ASCII" in row
    assert "Fix: `export LC_ALL=C.UTF-8`" in out
    fine = build_course(tmp_path / "plain" / "course")
    assert "| path encoding" in in_ascii_locale(["doctor"], fine.root, fine.root).stdout.decode("ascii")


def test_the_pytorch_comparisons_are_skipped_when_pytorch_cannot_load_in_the_locale(tmp_path):
    """torch encodes its own path as UTF-8 when imported: under a non-ASCII path in an ASCII locale
    that fails, and its comparisons were charged to the student's correct layer as 27 failures."""
    fake = tmp_path / "torch"
    fake.mkdir()
    (fake / "__init__.py").write_text('"/\\udcc3\\udc89t\\udcc3\\udca9".encode("utf-8")\n')
    environment = dict(os.environ, PYTHONPATH=f"{tmp_path}{os.pathsep}{ROOT}")
    ran = subprocess.run([sys.executable, "-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider", "-m", "slow",
                          "tests/06_cnn/test_cnn_vs_torch.py"], cwd=ROOT, env=environment, capture_output=True,
                         text=True, timeout=120)
    assert ran.returncode == 0 and " failed" not in ran.stdout and " skipped" in ran.stdout, ran.stdout + ran.stderr
    assert "PyTorch cannot be imported in this locale ('utf-8' codec can't encode characters" in ran.stdout
    assert "`export LC_ALL=C.UTF-8` fixes it" in ran.stdout
