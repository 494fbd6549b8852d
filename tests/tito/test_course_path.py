"""A course folder moved, renamed or copied after `make install` (its .venv was made for the old
folder), and a course path holding ':' (PATH and PYTHONPATH cannot): the activate script, `make
install` and `tito doctor` each say so, and what to do."""

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from tiny_course import REAL_ROOT, build_course, run_tito

from tito.editions.student_files import STUDENT_MAKEFILE

ACTIVATE = "bin/activate-tinytorch.sh"


def make_venv(folder: Path) -> None:
    """A real (pip-less, so quick) venv at ``folder/.venv``, made there as `make install` makes it."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", ".venv"], cwd=folder, check=True)


def a_checkout(folder: Path) -> Path:
    """``folder`` with this course's bin/ scripts, one module folder and a .venv."""
    shutil.copytree(REAL_ROOT / "bin", folder / "bin")
    (folder / "modules" / "source" / "01_alpha").mkdir(parents=True)
    make_venv(folder)
    return folder


def source_activate(folder: Path) -> subprocess.CompletedProcess:
    """`source bin/activate-tinytorch.sh` in bash in ``folder``, then its status and VIRTUAL_ENV."""
    environment = {key: value for key, value in os.environ.items() if key not in ("VIRTUAL_ENV", "PYTHONPATH")}
    return subprocess.run(["bash", "-c", f'source {ACTIVATE}; echo "status=$? VIRTUAL_ENV=$VIRTUAL_ENV"'],
                          cwd=folder, env=environment, capture_output=True, text=True, timeout=60)


def doctor_row(stdout: str, check: str) -> tuple:
    """The status and the detail lines of doctor's row ``check`` in its plain table (a detail's
    further lines follow with the first two columns blank)."""
    lines = stdout.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(f"| {check} "))
    _, status, detail = (cell.strip() for cell in lines[start].strip("|").split(" | ", 2))
    details = [detail]
    for line in lines[start + 1:]:
        more = re.fullmatch(r"\|\s+\|\s+\| (.*?)\s*\|", line)
        if more is None:
            break
        details.append(more.group(1))
    return status, details


def moved_venv_lines(folder: Path, made_for: Path) -> list:
    return [f"activate-tinytorch: not ready: the .venv in {folder} was made for {made_for}: the course folder was "
            "moved, renamed or copied after 'make install', and that .venv's tito runs the other folder's Python "
            "(or none, if it is gone).",
            "Run 'rm -rf .venv && make install' there to make it anew, then source this script again."]


def test_activate_script_says_a_moved_or_copied_folder_s_venv_is_another_folder_s(tmp_path):
    original = a_checkout(tmp_path / "My Course" / "Edition")
    ready = source_activate(original)
    assert ready.stdout == f"TinyTorch ready: {original} (try: tito status)\nstatus=0 VIRTUAL_ENV={original}/.venv\n"
    moved = original.rename(tmp_path / "My Course" / "Edition (2)")  # as OneDrive renames a folder
    result = source_activate(moved)
    assert result.stderr.splitlines() == moved_venv_lines(moved, original)
    assert result.stdout == "status=1 VIRTUAL_ENV=\n"  # not ready, and the other folder's .venv not left on
    copy = tmp_path / "My Course" / "Copy"
    shutil.copytree(moved, copy, symlinks=True)
    moved.rename(original)  # the original is there again: the copy's .venv still is not the copy's
    result = source_activate(copy)
    assert result.stderr.splitlines() == moved_venv_lines(copy, original)
    assert result.stdout == "status=1 VIRTUAL_ENV=\n"


def test_activate_script_says_a_path_with_a_colon_cannot_go_on_the_import_path(tmp_path):
    a_checkout(tmp_path / "Week 1-2" / "course")  # venv refuses to make a .venv under a ':'
    checkout = (tmp_path / "Week 1-2").rename(tmp_path / "Week 1:2") / "course"  # "Week 1/2" typed in Finder
    result = source_activate(checkout)
    assert result.stderr.splitlines() == [
        f"activate-tinytorch: not ready: the course path {checkout} contains ':', which separates folders in PATH "
        "and PYTHONPATH (Python's import path), so neither can hold it: the tito command and `from cnn_dev import "
        "Conv2D` would not be found.",
        "Rename or move the folder so that its path has no ':' (Finder shows a ':' as '/'), run 'make install' "
        "there, then source this script again."]
    assert result.stdout == "status=1 VIRTUAL_ENV=\n"


def test_doctor_says_a_moved_or_copied_folder_s_venv_is_another_folder_s(tmp_path):
    original = build_course(tmp_path / "My Course" / "Edition").root
    make_venv(original)
    ready = run_tito(original, "doctor", pythonpath=(original, REAL_ROOT))
    assert ready.returncode == 0, ready.stdout
    assert doctor_row(ready.stdout, ".venv") == ("ok", [f"made for this folder: {original / '.venv'}"])
    moved = original.rename(tmp_path / "My Course" / "Edition (2)")
    sick = run_tito(moved, "doctor", pythonpath=(moved, REAL_ROOT))
    assert sick.returncode == 1
    assert sick.stdout.splitlines()[-1] == "1 problem(s) found: .venv."
    assert doctor_row(sick.stdout, ".venv") == ("PROBLEM", [
        f"{moved / '.venv'} was made for {original}: the course folder was moved, renamed or copied after "
        "`make install`, and that .venv's tito runs the other folder's Python (or none, if it is gone)",
        "Fix: `rm -rf .venv && make install` in this folder makes it anew; then `source bin/activate-tinytorch.sh`."])

def test_doctor_says_a_path_with_a_colon_cannot_go_on_the_import_path(tmp_path):
    course = build_course(tmp_path / "Week 1:2" / "course").root
    result = run_tito(course, "doctor", pythonpath=(REAL_ROOT,))  # `python -m`: the course folder comes first
    assert result.returncode == 1
    assert result.stdout.splitlines()[-1] == "1 problem(s) found: course path."
    assert doctor_row(result.stdout, "course path") == ("PROBLEM", [
        f"{course} contains ':', which separates folders in PATH and PYTHONPATH (Python's import path), so neither "
        "can hold it: `source bin/activate-tinytorch.sh` cannot put the module folders on the import path, and "
        "`from cnn_dev import Conv2D` fails",
        "Fix: Rename or move the folder so that its path has no ':' (Finder shows a ':' as '/'), then run "
        "`make install` there."])

@pytest.mark.parametrize("makefile", ["course", "student edition"])
def test_make_install_makes_a_moved_or_copied_folder_s_venv_anew(tmp_path, makefile):
    original = tmp_path / "My Course" / "Edition"
    original.mkdir(parents=True)
    text = (REAL_ROOT / "Makefile").read_text() if makefile == "course" else STUDENT_MAKEFILE
    (original / "Makefile").write_text(text)
    (original / "pyproject.toml").write_text("")
    make_venv(original)
    stamp = original / ".venv" / ".installed"
    stamp.touch()
    os.utime(stamp, (stamp.stat().st_mtime + 10,) * 2)  # installed after pyproject.toml last changed
    environment = {key: value for key, value in os.environ.items()
                   if key not in ("MAKEFLAGS", "MAKELEVEL", "MFLAGS", "VIRTUAL_ENV")}  # as if not run by make test

    def dry_run(folder):
        return subprocess.run(["make", "--no-print-directory", "-n", "install"], cwd=folder, env=environment,
                              capture_output=True, text=True, timeout=60)

    assert dry_run(original).stdout == "make: Nothing to be done for 'install'.\n"
    moved = original.rename(tmp_path / "My Course" / "Edition (2)")
    lines = dry_run(moved).stdout.splitlines()
    assert lines[0] == (f".venv was made for {original}, not this folder (moved, renamed or copied since): "
                        "made anew here.")
    assert lines.index("rm -rf .venv") < lines.index("test -x .venv/bin/python || python3 -m venv .venv")
    assert lines[-1] == "touch .venv/.installed"
