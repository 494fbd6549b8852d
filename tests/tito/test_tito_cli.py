"""The CLI surface: help, plain output, status, info, doctor, missing packages, bin/ scripts."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tito.deps import exit_for_missing

REPO = Path(__file__).resolve().parents[2]
MINE = ["export", "test", "status", "info", "doctor"]


def process(args, cwd, **env):
    environment = {**os.environ, "PYTHONPATH": str(REPO), **env}
    environment.pop("TITO_ROOT", None)
    return subprocess.run(args, cwd=cwd, env=environment, capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("name", MINE)
def test_every_command_has_help(tito, name):
    result = tito(name, "--help")
    assert result.exit_code == 0
    assert result.output.startswith(f"Usage: tito {name} ")


def test_top_level_help_lists_the_commands(tito):
    result = tito("--help")
    assert result.exit_code == 0
    for name in MINE:
        assert f"  {name} " in result.output


def test_no_color_output_is_plain_text(course):
    result = process([sys.executable, "-m", "tito", "test", "--module", "alpha"], course.root, NO_COLOR="1")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "\x1b[" not in result.stdout + result.stderr
    assert "| inline | PASS   | 2/2" in result.stdout


def test_status_table_and_json(course, tito):
    tito("test", "--module", "alpha")
    table = tito("status")
    assert table.exit_code == 0
    assert "01_alpha" in table.output and "fresh" in table.output and "passed" in table.output
    assert "1/2 modules passed" in table.output
    data = json.loads(tito("status", "--json").output)
    rows = {row["name"]: row for row in data["modules"]}
    assert (data["passed"], data["total"]) == (1, 2)
    assert rows["alpha"]["exported"] == "fresh" and rows["alpha"]["last_result"] == "passed"
    assert rows["beta"]["exported"] == "missing" and rows["beta"]["last_result"] == "never"
    dev = course.dev("alpha")
    dev.write_text(dev.read_text().replace("LIMIT = 10", "LIMIT = 11"))
    rows = {row["name"]: row for row in json.loads(tito("status", "--json").output)["modules"]}
    assert rows["alpha"]["exported"] == "stale"


def test_info_shows_metadata_prerequisites_and_exports(course, tito):
    facts = json.loads(tito("info", "01", "--json").output)
    assert facts["module"] == "01_alpha" and facts["title"] == "Alpha"
    assert facts["generated_file"] == "tinytorch/core/alpha.py"
    assert facts["exported_names"] == ["double", "Scaler", "LIMIT"]
    assert facts["components"] == ["double", "Scaler"]
    assert facts["required_by"] == ["beta"]
    assert facts["tests"] == ["tests/01_alpha/test_alpha_basic.py"]
    shown = tito("info", "beta").output
    assert "prerequisites" in shown and "alpha" in shown and "tinytorch/core/beta.py" in shown


def test_doctor_passes_on_a_ready_course_and_names_problems_with_fixes(course):
    tito_cmd = [sys.executable, "-m", "tito", "doctor"]
    ready_env = {"PYTHONPATH": f"{course.root}{os.pathsep}{REPO}", "NO_COLOR": "1"}
    process([sys.executable, "-m", "tito", "export", "--all"], course.root, **ready_env)
    ready = process(tito_cmd, course.root, **ready_env)
    assert ready.returncode == 0, ready.stdout
    assert "Everything looks ready." in ready.stdout
    dev = course.dev("alpha")
    dev.write_text(dev.read_text().replace("LIMIT = 10", "LIMIT = 11"))
    (course.root / ".tito").mkdir(exist_ok=True)
    (course.root / ".tito" / "progress.json").write_text("{oops")
    sick = process(tito_cmd, course.root, **ready_env)
    assert sick.returncode == 1
    assert "out of step: 01_alpha (stale)" in sick.stdout and "tito export --all" in sick.stdout
    assert "progress file" in sick.stdout and "not JSON" in sick.stdout
    assert (course.root / ".tito" / "progress.json").read_text() == "{oops"  # doctor only looks


def test_doctor_notices_tinytorch_imported_from_elsewhere(course):
    # -P: the current folder is not put on sys.path, as with the installed `tito` script
    result = process([sys.executable, "-P", "-m", "tito", "doctor"], course.root, NO_COLOR="1")
    assert result.returncode == 1
    row = next(line for line in result.stdout.splitlines() if line.startswith("| tinytorch import"))
    assert "PROBLEM" in row and f"finds {REPO / 'tinytorch'}" in row


def test_missing_dependency_says_which_and_how(capsys):
    with pytest.raises(SystemExit) as stop:
        exit_for_missing(ModuleNotFoundError("No module named 'yaml'", name="yaml"))
    assert stop.value.code == 1
    err = capsys.readouterr().err
    assert "'PyYAML'" in err and "pip install PyYAML" in err and "make install" in err
    with pytest.raises(ModuleNotFoundError):  # not one of ours: the real error, unchanged
        exit_for_missing(ModuleNotFoundError("No module named 'student_thing'", name="student_thing"))


def test_missing_jupytext_is_reported_by_the_cli(course):
    code = "import sys; sys.modules['jupytext'] = None; from tito.cli import main; main()"
    result = process([sys.executable, "-c", code, "export", "--all"], course.root, NO_COLOR="1")
    assert result.returncode == 1
    assert "jupytext" in result.stderr and "pip install jupytext" in result.stderr
    assert "Traceback" not in result.stderr


def test_bin_tito_runs_without_installing(course):
    result = process([str(REPO / "bin" / "tito"), "info", "alpha", "--json"], course.root / "tests")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["module"] == "01_alpha"


def test_activate_script_puts_root_and_module_folders_on_pythonpath():
    script = f"source {REPO / 'bin' / 'activate-tinytorch.sh'} >/dev/null 2>&1; echo \"$PYTHONPATH\""
    result = process(["bash", "-c", script], REPO)
    entries = result.stdout.strip().split(":")
    assert entries[0] == str(REPO)
    folders = sorted(str(p) for p in (REPO / "modules" / "source").glob("[0-9][0-9]_*") if p.is_dir())
    assert [e for e in entries if "/modules/source/" in e] == folders
