"""The CLI surface: help, plain output, status, info, doctor, missing packages, bin/ scripts."""

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from tiny_course import flat, on_a_terminal

from tito.console import JUPYTER_KERNEL_VARIABLES
from tito.deps import exit_for_missing

from course_root import ROOT
MINE = ["export", "test", "status", "info", "doctor"]


def process(args, cwd, **env):
    environment = {**os.environ, "PYTHONPATH": str(ROOT), **env}
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


def test_each_command_is_summed_up_by_the_first_paragraph_of_its_own_help(tito):
    """``tito --help`` says of each command what ``tito NAME --help`` opens with (one owner: the
    command's docstring), read without importing the command."""
    import importlib

    from tito.cli import COMMANDS, summary

    for name, path in COMMANDS.items():
        opening = " ".join(importlib.import_module(path).command.help.split("\n\n")[0].split())
        assert summary(name) == opening and opening.endswith("."), name
    listed = " ".join(tito("--help").output.split())
    assert "grade Grade submissions, each in a sandbox, with the module's checks. gradebook " in listed


def test_a_mistyped_command_gets_a_suggestion(tito):
    result = tito("statuss")
    assert result.exit_code == 2
    assert "No such command 'statuss'. Did you mean 'status'?" in result.output
    assert "Did you mean" not in tito("xyz").output


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
    assert facts["tests"] == ["tests/01_alpha/test_alpha_ops.py"]
    shown = tito("info", "beta").output
    assert "prerequisites" in shown and "alpha" in shown and "tinytorch/core/beta.py" in shown


def test_info_in_plain_text_is_a_narrow_table_whose_names_and_paths_stay_whole():
    """Piped, tito info cnn was 374 columns wide (its description and lists on one line each)."""
    facts = json.loads(process([sys.executable, "-m", "tito", "info", "cnn", "--json"], ROOT).stdout)
    shown = process([sys.executable, "-m", "tito", "info", "cnn"], ROOT, NO_COLOR="1").stdout
    assert max(map(len, shown.splitlines())) <= 130
    words = shown.replace("|", " ").replace(",", " ").split()
    assert all(name in words for name in facts["exported_names"] + facts["tests"])


def test_doctor_passes_on_a_ready_course_and_names_problems_with_fixes(course):
    tito_cmd = [sys.executable, "-m", "tito", "doctor"]
    ready_env = {"PYTHONPATH": f"{course.root}{os.pathsep}{ROOT}", "NO_COLOR": "1"}
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
    assert "changed since their export: alpha" in sick.stdout  # normal work: a note
    assert "1 problem(s) found: progress file." in sick.stdout
    assert "progress file" in sick.stdout and "not JSON" in sick.stdout
    assert (course.root / ".tito" / "progress.json").read_text() == "{oops"  # doctor only looks


def test_doctor_outside_a_course_checks_the_machine_and_says_there_is_no_course(tmp_path):
    result = process([sys.executable, "-m", "tito", "doctor"], tmp_path, NO_COLOR="1")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "tito doctor: this machine (no course here)" in result.stdout
    assert "| python " in result.stdout and "| grading sandbox " in result.stdout
    assert "tinytorch" not in result.stdout.split("no course here", 1)[1].split("No TinyTorch course")[0]
    assert result.stdout.strip().endswith(f"No TinyTorch course found at {tmp_path} or any folder above it. "
                                          "Run `tito doctor` in a course folder to check the course too.")


def test_doctor_notices_tinytorch_imported_from_elsewhere(course):
    # the installed `tito` script: the current folder is not put on sys.path (`python -m` would)
    result = process([str(Path(sys.executable).with_name("tito")), "doctor"], course.root, NO_COLOR="1")
    assert result.returncode == 1
    row = next(line for line in result.stdout.splitlines() if line.startswith("| tinytorch import"))
    assert "PROBLEM" in row and f"finds {ROOT / 'tinytorch'}" in row


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
    result = process([str(ROOT / "bin" / "tito"), "info", "alpha", "--json"], course.root / "tests")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["module"] == "01_alpha"


def test_activate_script_puts_root_and_module_folders_on_pythonpath():
    script = f"source {ROOT / 'bin' / 'activate-tinytorch.sh'} >/dev/null 2>&1; echo \"$PYTHONPATH\""
    result = process(["bash", "-c", script], ROOT)
    entries = result.stdout.strip().split(":")
    assert entries[0] == str(ROOT)
    folders = sorted(str(p) for p in (ROOT / "modules" / "source").glob("[0-9][0-9]_*") if p.is_dir())
    assert [e for e in entries if "/modules/source/" in e] == folders


def test_plain_output_never_breaks_a_path_wherever_the_course_lives(tmp_path):
    from tiny_course import build_course

    course = build_course(tmp_path / ("long-folder-name-" * 6) / ("deeper-" * 8) / "course")
    env = {"PYTHONPATH": f"{course.root}{os.pathsep}{ROOT}", "NO_COLOR": "1"}
    result = process([sys.executable, "-m", "tito", "doctor"], course.root, **env)
    assert result.returncode == 0, result.stdout
    assert len(str(course.root)) > 150
    row = next(line for line in result.stdout.splitlines() if line.startswith("| tinytorch import"))
    assert f"from {course.root / 'tinytorch'}" in row
    assert result.stdout.splitlines()[0].startswith(f"tito doctor: {course.root}")


def test_pytest_k_cnn_selects_the_cnn_modules_tests_only():
    result = process([sys.executable, "-m", "pytest", "tests/", "-k", "cnn", "--collect-only", "-q",
                      "-p", "no:cacheprovider"], ROOT)
    nodes = [line for line in result.stdout.splitlines() if "::" in line]
    examples = "tests/test_package_examples.py::test_docstring_examples_hold[core.cnn]"  # cnn's EXAMPLEs
    assert examples in nodes, result.stdout[-2000:]
    nodes.remove(examples)
    assert len(nodes) > 50 and all(node.startswith("tests/06_cnn/") for node in nodes), result.stdout[-2000:]
    # (named, tests/tito is collected: `make test` runs `pytest tests/tito`)


def test_bin_tito_says_plainly_what_it_needs(tmp_path):
    """A checkout without .venv and a Python without tito's packages (-S: no site-packages)."""
    checkout = tmp_path / "checkout"
    shutil.copytree(ROOT / "bin", checkout / "bin")
    shutil.copytree(ROOT / "tito", checkout / "tito", ignore=shutil.ignore_patterns("__pycache__"))
    bare = tmp_path / "bare-python"
    bare.write_text(f"#!/bin/sh\nexec {sys.executable} -S \"$@\"\n")
    bare.chmod(0o755)
    result = process([str(checkout / "bin" / "tito"), "status"], tmp_path, PYTHON=str(bare))
    assert result.returncode == 1
    first, *rest = result.stderr.splitlines()
    prefix = f"bin/tito: {bare} lacks what tito needs: "
    assert first.startswith(prefix) and first.endswith(".")
    block = (ROOT / "pyproject.toml").read_text().split("\ndependencies = [", 1)[1].split("]", 1)[0]
    assert set(first[len(prefix):-1].split()) == set(re.findall(r'"([A-Za-z0-9_.-]+)', block))  # all of them
    assert rest == [
        f"Run 'make install' in {checkout} first: it creates .venv with everything tito needs,",
        "and bin/tito uses it from then on (or set PYTHON to a Python that has them).",
    ]


def test_activate_script_without_a_venv_does_not_say_ready(tmp_path):
    checkout = tmp_path / "checkout"
    shutil.copytree(ROOT / "bin", checkout / "bin")
    (checkout / "modules" / "source" / "01_alpha").mkdir(parents=True)
    result = process(["bash", "-c", f"source {checkout / 'bin' / 'activate-tinytorch.sh'}; echo \"status=$?\""],
                     tmp_path)
    assert "TinyTorch ready" not in result.stdout + result.stderr
    assert "status=1" in result.stdout
    assert f"not ready: {checkout} has no .venv yet" in result.stderr and "make install" in result.stderr


def test_activate_script_run_instead_of_sourced_says_to_source_it():
    for shell in ("bash", "sh"):
        result = process([shell, "bin/activate-tinytorch.sh"], ROOT)
        assert result.returncode == 1 and "TinyTorch ready" not in result.stdout + result.stderr
        assert result.stderr == ("activate-tinytorch: this script was run, not sourced, so it activated nothing.\n"
                                 "Source it in your shell instead:  source bin/activate-tinytorch.sh\n")


def test_doctor_on_a_fresh_student_edition_is_ready_with_a_hint(course, tito, tmp_path):
    out = tmp_path / "edition"
    assert tito("release", "--all", "--out", str(out)).exit_code == 0
    env = {"PYTHONPATH": f"{out}{os.pathsep}{ROOT}", "NO_COLOR": "1"}
    fresh = process([sys.executable, "-m", "tito", "doctor"], out, **env)
    assert fresh.returncode == 0, fresh.stdout
    row = next(line for line in fresh.stdout.splitlines() if line.startswith("| course progress"))
    assert "| note" in row and "functions still to write: all 2 modules; not exported yet: all 2 modules" in row
    assert "Next: `tito test --module alpha` tests a module and exports it" in fresh.stdout
    assert "Everything looks ready." in fresh.stdout
    assert "| grading sandbox" not in fresh.stdout  # an instructor's, not a student's
    # a real problem still fails: a generated file edited by hand
    (out / "modules/source/02_beta/beta_dev.py").write_text(BETA_SOLVED)
    process([sys.executable, "-m", "tito", "export", "--module", "beta"], out, **env)
    generated = out / "tinytorch" / "core" / "beta.py"
    generated.write_text(generated.read_text().replace("double(double(x))", "4 * x"))
    sick = process([sys.executable, "-m", "tito", "doctor"], out, **env)
    assert sick.returncode == 1 and "edited by hand: 02_beta" in sick.stdout


BETA_SOLVED = "# %%\n#| default_exp core.beta\n\n# %%\n#| export\ndef quadruple(x):\n    return double(double(x))\n\n" \
              "def double(x):\n    return 2 * x\n"


def in_read_only_course(root, *args, **env):
    """Run `python -m tito ARGS` with the course mounted read-only (bubblewrap): writes fail with
    EROFS for every user, root included."""
    if shutil.which("bwrap") is None:
        pytest.skip("bubblewrap (bwrap) is not installed")
    probe = subprocess.run(["bwrap", "--dev-bind", "/", "/", "--ro-bind", str(root), str(root), "true"],
                           capture_output=True)
    if probe.returncode != 0:
        pytest.skip(f"bwrap cannot mount here: {probe.stderr.decode()[-200:]}")
    return process(["bwrap", "--dev-bind", "/", "/", "--ro-bind", str(root), str(root),
                    sys.executable, "-m", "tito", *args], root, **env)


def test_a_read_only_course_is_tested_with_one_clear_message(course):
    env = {"PYTHONPATH": f"{course.root}{os.pathsep}{ROOT}", "NO_COLOR": "1"}
    process([sys.executable, "-m", "tito", "export", "--all"], course.root, **env)
    tested = in_read_only_course(course.root, "test", "--module", "alpha", **env)
    assert tested.returncode == 0, tested.stdout + tested.stderr
    assert "Traceback" not in tested.stdout + tested.stderr
    assert tested.stderr.count("read-only") == 1
    assert (f"Warning: This course is read-only (Read-only file system in {course.root}): tito tests it as it "
            "is, but cannot export, sync notebooks or record the results.") in tested.stderr
    assert "inline tests: 2/2 passed" in tested.stdout and "Module alpha PASSED" in tested.stdout
    assert not (course.root / ".tito" / "progress.json").exists()

    notebooks = in_read_only_course(course.root, "notebooks", "--module", "alpha", **env)
    assert notebooks.returncode == 1 and "Traceback" not in notebooks.stderr
    assert (f"Error: Cannot write {course.root}/modules/source/01_alpha/alpha_dev.ipynb: Read-only file system."
            in notebooks.stderr)

    doctor = in_read_only_course(course.root, "doctor", **env)
    assert doctor.returncode == 1
    row = next(line for line in doctor.stdout.splitlines() if line.startswith("| course writable"))
    assert "PROBLEM" in row and "Read-only file system" in row


def test_a_long_note_is_cut_between_words_and_marked():
    from tito.console import first_line

    note = "the submission does not export (cnn_dev.py has no line, so tito does not know where to export it)"
    assert first_line(note, 60) == "the submission does not export (cnn_dev.py has no line, so…"
    assert first_line("\n  short\nsecond", 60) == "short"
    assert first_line("x" * 80, 40) == "x" * 39 + "…"
    assert first_line(note, len(note)) == note


def test_a_count_has_its_noun_in_the_right_number():
    from tito.console import counted

    assert [counted(n, "graded check") for n in (0, 1, 2)] == ["0 graded checks", "1 graded check", "2 graded checks"]


def _ctrl_c(*args, **kwargs):
    raise KeyboardInterrupt


def test_ctrl_c_while_a_command_loads_says_it_had_not_started(monkeypatch):
    from click.testing import CliRunner

    from tito.cli import LazyGroup, cli

    monkeypatch.setattr(LazyGroup, "resolve_command", _ctrl_c)
    result = CliRunner().invoke(cli, ["status"], prog_name="tito")
    assert result.exit_code == 130
    assert result.output == "Error: Stopped by Ctrl-C before the command started; nothing was changed.\n"


@pytest.mark.parametrize("args, patched, kept", [
    (["export", "--all"], "tito.exporter.export_modules",
     "the modules listed above are exported and every other generated file is as it was; run it again to export"),
    (["notebooks", "--all"], "tito.notebooks.sync.write_notebook", "the modules listed above are converted"),
    (["release", "--all", "--out", "edition"], "tito.editions.release.release", "the output folder is as it was"),
    (["status"], "tito.course.Course.here", "every file it wrote is complete and every other is as it was"),
])
def test_ctrl_c_says_what_was_stopped_and_kept_and_exits_130(course, args, patched, kept, monkeypatch):
    from click.testing import CliRunner

    from tito.cli import cli

    monkeypatch.setattr(patched, _ctrl_c)
    result = CliRunner().invoke(cli, args, prog_name="tito")
    assert result.exit_code == 130, result.output
    assert "Aborted!" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert result.output.startswith(f"Error: Stopped by Ctrl-C: tito {args[0]} ended early; ")
    assert kept in result.output and result.output.count("\n") == 1


def test_a_real_ctrl_c_in_export_ends_without_a_traceback(course):
    script = ("import os, signal, sys\nimport tito.exporter\n"
              "tito.exporter.export_modules = lambda *a, **k: os.kill(os.getpid(), signal.SIGINT)\n"
              "from tito.cli import main\nsys.argv = ['tito', 'export', '--all']\nmain()\n")
    result = process([sys.executable, "-c", script], course.root, PYTHONPATH=str(ROOT), NO_COLOR="1")
    assert result.returncode == 130 and "Traceback" not in result.stderr
    assert result.stderr.startswith("Error: Stopped by Ctrl-C: tito export ended early; the modules listed above")


def status_at(width: int, tito, monkeypatch) -> str:
    """What ``tito status`` shows on a terminal ``width`` columns wide."""
    import io

    from rich.console import Console

    from tito.commands import status

    screen = io.StringIO()
    monkeypatch.setattr(status, "console", lambda: Console(file=screen, force_terminal=True, width=width,
                                                           color_system=None))
    monkeypatch.setattr(status, "plain_output", lambda: False)
    assert tito("status").exit_code == 0
    return screen.getvalue()


def test_status_on_a_narrow_terminal_shows_whole_words(course, tito, monkeypatch):
    """40 columns: a module per two lines, no cell cut to '06_…', the progress line whole; at any
    width, the table when it fits whole, else the two lines (80 columns cut the real course's)."""
    for width in (30, 40, 60, 61, 62, 63, 64, 65, 80, 120):
        shown = status_at(width, tito, monkeypatch)
        assert "…" not in shown and all(len(line) <= width for line in shown.splitlines()), (width, shown)
        assert ("Module" in shown) == (width >= 61), (width, shown)  # the whole table is 61 wide here
    screen = status_at(40, tito, monkeypatch)
    lines = screen.splitlines()
    assert lines[1] == "01_alpha Alpha" and lines[2].startswith("  exported missing, notebook -,")
    assert flat(screen).startswith(
        "TinyTorch course status 01_alpha Alpha exported missing, notebook -, test never 02_beta Beta exported "
        "missing, notebook -, test never ")
    assert lines[-1].endswith(" 0/2 modules passed")


def _on_a_terminal(code: str, **env) -> bytes:
    """What ``python -c code`` writes on a pseudo-terminal (as a notebook cell's `!` command has)."""
    environment = {key: value for key, value in os.environ.items()
                   if key not in ("NO_COLOR", "CI", "TERM", *JUPYTER_KERNEL_VARIABLES)}
    environment.update(PYTHONPATH=str(ROOT), TERM="xterm-256color", **env)
    written, returncode = on_a_terminal([sys.executable, "-c", code], environment)
    assert returncode == 0, written
    return written


def test_from_a_notebook_a_progress_bar_drawn_on_tito_s_console_is_printed_once_not_redrawn():
    """A notebook keeps every frame of a redrawn bar (it ignores the cursor moves that erase one):
    the Trainer's bar, drawn on the console tito gives it (`tito milestone cnn`), is printed once
    when it ends from a cell's `!`; on a terminal it is redrawn in place."""
    code = ("from rich.progress import Progress\nfrom tito.console import console\nimport time\n"
            "with Progress(console=console()) as bar:\n    task = bar.add_task('epoch 1/1', total=4)\n"
            "    for _ in range(4):\n        time.sleep(0.15)\n        bar.update(task, advance=1)\n")
    erase_line = b"\x1b[2K"
    assert erase_line in _on_a_terminal(code)
    in_a_cell = _on_a_terminal(code, JPY_PARENT_PID="1")
    assert erase_line not in in_a_cell and in_a_cell.count(b"epoch 1/1") == 1, in_a_cell
