"""tito release and tito module reset on a small course: stubs, hidden tests, the edition's
contents, refusing a non-empty folder, and the student's round trip (stub fails, solution passes)."""

import json
import os
import re
import shutil
import subprocess
import sys
import sysconfig
from datetime import datetime
from pathlib import Path

import pytest
from course_root import ROOT
from tiny_course import ALPHA_DEV, build_course, flat, run_tito, test_json

from tito.errors import TitoError
from tito.editions.strip import strip_solutions
from tito.format import MARKER_LINE, stub_names


# --------------------------------------------------------------------------- stripping


def test_solution_blocks_become_named_stubs_at_their_indentation():
    stripped = strip_solutions(ALPHA_DEV, "alpha_dev.py")
    assert stripped.stubs == ["double", "Scaler.__call__"]
    assert '    raise NotImplementedError("TODO: implement double")\n' in stripped.text
    assert '        raise NotImplementedError("TODO: implement Scaler.__call__")\n' in stripped.text
    assert stub_names(stripped.text) == ["double", "Scaler.__call__"]
    # signature, docstring with TODO/HINTS, the rest of the source stay; the answers go
    assert 'def double(x):\n    """Twice x, as a NumPy value: () -> ().\n\n    TODO: Multiply by two.' in stripped.text
    assert "HINTS:\n    - np.asarray first." in stripped.text
    assert "doubled_value_of_the_input" not in stripped.text
    assert "scaled_by_the_stored_factor" not in stripped.text
    assert not MARKER_LINE.search(stripped.text)
    assert stripped.solution_lines == [
        "doubled_value_of_the_input = np.asarray(x) * 2", "return doubled_value_of_the_input",
        "scaled_by_the_stored_factor = x * self.factor", "return scaled_by_the_stored_factor"]


def test_hidden_tests_are_removed_and_visible_ones_kept():
    stripped = strip_solutions(ALPHA_DEV)
    assert stripped.hidden_blocks == 1
    assert "secret negative case" not in stripped.text
    assert ('def test_unit_double():\n    print("checking double")\n    assert double(3) == 6\n\nif __name__'
            in stripped.text)


def test_only_the_solution_lines_change():
    stripped = strip_solutions(ALPHA_DEV)
    removed = len(ALPHA_DEV.splitlines()) - len(stripped.text.splitlines())
    assert removed == (4 - 1) * 2 + 3  # two 4-line solution blocks become 1 line each; a 3-line hidden block goes


@pytest.mark.parametrize("source, message", [
    ("def f():\n    ### BEGIN SOLUTION\n    return 1\n", "line 2: '### BEGIN SOLUTION' is never closed"),
    ("def f():\n    return 1\n    ### END SOLUTION\n", "line 3: '### END SOLUTION' without a matching"),
    ("def f():\n    ### BEGIN SOLUTION\n    ### BEGIN SOLUTION\n    return 1\n    ### END SOLUTION\n",
     "line 3: '### BEGIN SOLUTION' inside the block opened at line 2"),
    ("### BEGIN SOLUTION\nx = 1\n### END SOLUTION\n",
     "line 1: this '### BEGIN SOLUTION' block is outside any function"),
    ("def f():\n    ### BEGIN HIDDEN TESTS\n    assert 1\n    ### END SOLUTION\n",
     "line 4: '### END SOLUTION' without"),
    ("def f(:\n    pass\n", "x.py, line 1"),
])
def test_broken_markers_are_errors_naming_the_line(source, message):
    with pytest.raises(TitoError) as caught:
        strip_solutions(source, "x.py")
    assert message in caught.value.message


def test_a_marker_inside_a_string_is_not_a_marker():
    source = 'def f():\n    """\n    ### BEGIN SOLUTION\n    """\n    return 1\n'
    assert strip_solutions(source).text == source


def test_nested_function_and_code_outside_the_block_warn():
    source = ("class A:\n    def g(self):\n        x = 1\n        ### BEGIN SOLUTION\n        return x\n"
              "        ### END SOLUTION\n")
    stripped = strip_solutions(source, "a.py")
    assert stripped.text == ('class A:\n    def g(self):\n        x = 1\n'
                             '        raise NotImplementedError("TODO: implement A.g")\n')
    assert stripped.warnings == ["a.py: A.g keeps code outside its solution block (line 2); students will see it."]


def test_a_hidden_block_that_was_a_whole_body_is_an_error():
    source = "def test_unit_x():\n    ### BEGIN HIDDEN TESTS\n    assert 1\n    ### END HIDDEN TESTS\n"
    with pytest.raises(TitoError, match="does not compile"):
        strip_solutions(source, "x.py")


# --------------------------------------------------------------------------- the edition


@pytest.fixture(scope="module")
def instructor(tmp_path_factory):
    return build_course(tmp_path_factory.mktemp("instructor") / "course", tooling=True).root


@pytest.fixture(scope="module")
def edition(instructor, tmp_path_factory):
    """A released student edition of the whole course (made once; copy it before changing it)."""
    out = tmp_path_factory.mktemp("editions") / "student"
    proc = run_tito(instructor, "export", "--all")  # the instructor has solved exports lying around
    assert proc.returncode == 0, proc.stdout + proc.stderr
    proc = run_tito(instructor, "release", "--all", "--out", str(out))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Scaler.__call__" in flat(proc.stdout) and "no solutions" in flat(proc.stdout)
    return out


def files_of(folder):
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())


def test_edition_tree_is_self_contained_and_holds_no_solutions(edition, instructor):
    files = files_of(edition)
    for expected in ("Makefile", "README.md", "pyproject.toml", "bin/hello", "tito/cli.py", "tito/editions/release.py",
                     "modules/README.md", "modules/source/01_alpha/alpha_dev.py",
                     "modules/source/01_alpha/alpha_dev.ipynb",
                     "modules/source/01_alpha/module.yaml", "modules/source/02_beta/beta_dev.py",
                     "tests/01_alpha/test_alpha_ops.py", "tests/02_beta/test_beta_ops.py",
                     "tinytorch/__init__.py", "tinytorch/core/__init__.py", "tinytorch/utils/feedback.py",
                     ".tito/release/manifest.json", ".tito/release/01_alpha/alpha_dev.py"):
        assert expected in files
    assert sorted(p.name for p in (edition / "tinytorch" / "core").iterdir()) == ["__init__.py"]
    assert (instructor / "tinytorch" / "core" / "alpha.py").exists()  # the solved export stayed home
    assert not any("__pycache__" in f for f in files)
    everything = "\n".join((edition / f).read_text(encoding="utf-8", errors="replace") for f in files)
    for secret in ("doubled_value_of_the_input", "scaled_by_the_stored_factor", "secret negative case",
                   "return double(double(x))"):
        assert secret not in everything
    package = [f for f in files if f.startswith("tinytorch/")]
    assert not any("GENERATED by `tito export`" in (edition / f).read_text(errors="replace") for f in package)


def test_hidden_checks_stay_out_of_the_edition(edition, instructor):
    import yaml

    from tito.grading.checks import defined_checks

    checks = (edition / "tests/01_alpha/checks.py").read_text()
    assert "def check_double(" in checks and "def check_numpy_is_provided(" in checks
    assert "check_double_negative" not in checks and "HIDDEN" not in checks
    meta = (edition / "modules/source/01_alpha/module.yaml").read_text()
    original = yaml.safe_load((instructor / "modules/source/01_alpha/module.yaml").read_text())
    assert "double_negative" not in meta  # its name says what it tests
    listed = yaml.safe_load(meta)["checks"]
    assert listed == {name: value for name, value in original["checks"].items() if name != "double_negative"}
    assert list(listed) == defined_checks(edition / "tests/01_alpha/checks.py")


def test_a_hidden_check_that_cannot_be_left_out_of_module_yaml_stops_the_release():
    from tito.editions.strip import without_hidden_checks

    text = "name: alpha\nchecks:\n  double: 3\n  double_negative:\n    points: 1\n    hidden: true\n"
    with pytest.raises(TitoError, match="the hidden checks double_negative could not be left out"):
        without_hidden_checks(text, "module.yaml")
    assert without_hidden_checks("checks:\n  double: 3\n", "m.yaml") == "checks:\n  double: 3\n"


def test_edition_has_a_students_makefile_and_keeps_released_stubs_in_git(edition):
    makefile = (edition / "Makefile").read_text()
    assert "test: $(STAMP)\n\t$(TITO) test --all\n" in makefile and "export --check" not in makefile
    assert "pip install --quiet -e '.[dev,jupyter]'" in makefile  # JupyterLab and a kernel for students
    assert "lab: $(STAMP)\n\t$(TITO) lab\n" in makefile
    dry_run = subprocess.run(["make", "-n", "book"], cwd=edition, capture_output=True, text=True)
    assert dry_run.returncode == 0, dry_run.stderr  # the site of the edition: its `book` extra, then the build
    assert "pip install --quiet -e '.[book]'" in dry_run.stdout and "tito book build" in dry_run.stdout
    # a course under .../Été/... in an ASCII locale imports its own install only in UTF-8 mode
    environment = {key: value for key, value in os.environ.items()
                   if key not in ("PYTHONUTF8", "MAKEFLAGS", "MAKELEVEL", "MFLAGS")}  # as if not run by make test
    shown = subprocess.run(["make", "--no-print-directory", "--eval", "shown: ; @echo $$PYTHONUTF8", "shown"],
                           cwd=edition, env=environment,
                           capture_output=True, text=True)
    assert shown.stdout == "1\n", shown.stdout + shown.stderr
    gitignore = (edition / ".gitignore").read_text().splitlines()
    assert ".tito/*" in gitignore and "!.tito/release/" in gitignore


def test_solution_notebooks_stay_out_of_the_instructors_git_and_in_an_editions():
    from tito.editions.student_files import SOLUTION_NOTEBOOKS, student_gitignore

    ignored = subprocess.run(["git", "check-ignore", "-q", "modules/source/06_cnn/cnn_dev.ipynb"], cwd=ROOT)
    assert ignored.returncode == 0  # `tito notebooks --all` writes it with the solutions
    for path in ("grades/cnn/alice.json", "grades/cnn/.tito-seed", "submissions/alice.py"):  # tito grade's
        assert subprocess.run(["git", "check-ignore", "-q", path], cwd=ROOT).returncode == 0, path
    kept = student_gitignore(ROOT / ".gitignore").splitlines()
    assert SOLUTION_NOTEBOOKS not in kept and ".venv/" in kept and "!.tito/release/" in kept
    assert not any("notebooks" in line or "instructor" in line for line in kept if line.startswith("#"))


def test_edition_sources_are_the_stubs_and_the_manifest_says_so(edition):
    dev = (edition / "modules/source/01_alpha/alpha_dev.py").read_text()
    assert dev == strip_solutions(ALPHA_DEV).text
    assert (edition / ".tito/release/01_alpha/alpha_dev.py").read_text() == dev
    manifest = json.loads((edition / ".tito/release/manifest.json").read_text())
    assert manifest["modules"]["alpha"]["stubs"] == ["double", "Scaler.__call__"]
    assert manifest["modules"]["beta"]["stubs"] == ["quadruple"]
    assert "| 01_alpha | Alpha | `double`, `Scaler.__call__` |" in (edition / "README.md").read_text()


def test_edition_notebook_marks_solution_and_test_cells(edition):
    notebook = json.loads((edition / "modules/source/01_alpha/alpha_dev.ipynb").read_text())
    graded = {c["metadata"]["nbgrader"]["grade_id"]: c["metadata"]["nbgrader"]
              for c in notebook["cells"] if "nbgrader" in c["metadata"]}
    assert graded["solution-double"] == {"grade": False, "grade_id": "solution-double", "locked": False,
                                         "schema_version": 3, "solution": True, "task": False}
    assert graded["solution-Scaler-__call__"]["solution"] is True
    assert graded["test_unit_double"]["grade"] is True and graded["test_unit_double"]["points"] == 3
    assert graded["test_unit_scaler"]["points"] == 1
    sources = ["".join(c["source"]) for c in notebook["cells"]]
    assert any('raise NotImplementedError("TODO: implement double")' in s for s in sources)
    teach = [c for c in notebook["cells"] if "teach" in c["metadata"].get("tags", [])]
    assert len(teach) == 1 and "def double" in "".join(teach[0]["source"])


def test_release_of_one_module_brings_its_prerequisites(instructor, tmp_path):
    out = tmp_path / "beta-only"
    proc = run_tito(instructor, "release", "--module", "beta", "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    assert sorted(p.name for p in (out / "modules" / "source").iterdir()) == ["01_alpha", "02_beta"]


def test_the_release_table_counts_hidden_checks_removed_too(instructor, tmp_path):
    """alpha hides one test block in its source and one check in tests/01_alpha/checks.py."""
    proc = run_tito(instructor, "release", "--module", "alpha", "--out", str(tmp_path / "counted"))
    assert proc.returncode == 0, proc.stderr
    row = next(line for line in proc.stdout.splitlines() if "01_alpha" in line)
    assert [cell.strip() for cell in row.strip("|│ ").replace("│", "|").split("|")][2] == "2"
    assert "BEGIN HIDDEN" not in (tmp_path / "counted/tests/01_alpha/checks.py").read_text()


def test_release_into_a_non_empty_folder_is_refused_without_force(instructor, tmp_path):
    out = tmp_path / "busy"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    proc = run_tito(instructor, "release", "--all", "--out", str(out))
    assert proc.returncode == 1
    assert f"{out} is not empty; not writing a student edition over it." in flat(proc.stderr)
    assert files_of(out) == ["notes.txt"]
    proc = run_tito(instructor, "release", "--all", "--out", str(out), "--force")
    assert proc.returncode == 0, proc.stderr
    assert (out / "notes.txt").read_text() == "mine"
    assert (out / "modules/source/01_alpha/alpha_dev.py").exists()


def test_release_force_over_an_edition_keeps_the_students_work(instructor, tmp_path):
    out = tmp_path / "again"
    assert run_tito(instructor, "release", "--module", "alpha", "--out", str(out)).returncode == 0
    dev = out / "modules/source/01_alpha/alpha_dev.py"
    dev.write_text(dev.read_text() + "\n# my own notes\n")
    changed = instructor / "modules/source/01_alpha/alpha_dev.py"
    original = changed.read_text()
    changed.write_text(original.replace("TODO: Multiply by two.", "TODO: Multiply by 2."))
    try:
        proc = run_tito(instructor, "release", "--module", "beta", "--out", str(out), "--force")
    finally:
        changed.write_text(original)
    assert proc.returncode == 0, proc.stderr
    assert dev.read_text().endswith("# my own notes\n")  # the student's work stays
    said = flat(proc.stdout)
    assert f"Kept the student's work in {dev}; its new stub is in .tito/release" in said
    assert "TODO: Multiply by 2." in (out / ".tito/release/01_alpha/alpha_dev.py").read_text()
    # the stub the work was started from stays, to merge the new one in from
    [old_stub] = (out / ".tito/backups").glob("release-*/.tito/release/01_alpha/alpha_dev.py")
    assert "TODO: Multiply by two." in old_stub.read_text()
    assert f"the stub it replaced in {old_stub.parents[3]}." in said
    assert (out / "modules/source/02_beta/beta_dev.py").exists()  # the new module arrived
    manifest = json.loads((out / ".tito/release/manifest.json").read_text())
    assert sorted(manifest["modules"]) == ["alpha", "beta"]
    assert run_tito(out, "module", "reset", "alpha").returncode == 0  # and reset brings the new stub
    assert "TODO: Multiply by 2." in dev.read_text()
    assert list((out / ".tito" / "backups").glob("alpha_dev.*.py"))


def test_release_force_of_the_same_release_writes_nothing_new_and_says_so(instructor, tmp_path):
    out = tmp_path / "same"
    first = run_tito(instructor, "release", "--module", "alpha", "--out", str(out))
    written = int(re.search(r"Wrote (\d+) files:", flat(first.stdout))[1])
    dev = out / "modules/source/01_alpha/alpha_dev.py"
    dev.write_text(dev.read_text() + "\n# my own notes\n")
    again = run_tito(instructor, "release", "--module", "alpha", "--out", str(out), "--force")
    assert again.returncode == 0, again.stderr
    said = flat(again.stdout)
    assert f"Kept the student's work in {dev}; its stub did not change." in said
    # the manifest at most (it holds the release's time, to the second); the student's .py and .ipynb are not written
    wrote, kept = map(int, re.search(r"Wrote (\d+) files? \((\d+) more were already as released\):", said).groups())
    assert wrote <= 1 and wrote + kept == written - 2, said
    assert dev.read_text().endswith("\n# my own notes\n")
    assert not (out / ".tito/backups").exists()


def test_releasing_one_module_into_a_fuller_edition_keeps_every_module_in_its_readme(instructor, tmp_path):
    out = tmp_path / "term"
    assert run_tito(instructor, "release", "--all", "--out", str(out)).returncode == 0
    before = (out / "README.md").read_text()
    assert "| 01_alpha | Alpha |" in before and "| 02_beta | Beta |" in before
    assert run_tito(instructor, "release", "--module", "alpha", "--out", str(out), "--force").returncode == 0
    assert (out / "README.md").read_text() == before
    assert sorted(json.loads((out / ".tito/release/manifest.json").read_text())["modules"]) == ["alpha", "beta"]


def test_release_force_over_an_edition_the_student_exported_and_solved_in(instructor, tmp_path):
    """The student's own exports in tinytorch/core, and their own lines that equal the
    solution's, are their work: no 'still holds solutions' alarm, nothing of theirs lost."""
    out = tmp_path / "worked"
    assert run_tito(instructor, "release", "--module", "alpha", "--out", str(out)).returncode == 0
    dev = out / "modules/source/01_alpha/alpha_dev.py"
    dev.write_text(dev.read_text().replace('raise NotImplementedError("TODO: implement double")',
                                           "doubled_value_of_the_input = np.asarray(x) * 2\n"
                                           "    return doubled_value_of_the_input", 1))
    assert run_tito(out, "export", "--module", "alpha").returncode == 0
    exported = (out / "tinytorch/core/alpha.py").read_text()
    proc = run_tito(instructor, "release", "--module", "beta", "--out", str(out), "--force")
    assert proc.returncode == 0, proc.stderr
    assert "still holds solutions" not in flat(proc.stderr)
    assert (out / "tinytorch/core/alpha.py").read_text() == exported
    assert "doubled_value_of_the_input = np.asarray(x) * 2" in dev.read_text()
    assert (out / "modules/source/02_beta/beta_dev.py").exists()


def test_release_force_keeps_a_student_file_equal_to_the_solution_and_its_export(instructor, tmp_path):
    """Solutions pasted in once published, markers and all: the student's file and export stay."""
    course, out = tmp_path / "published", tmp_path / "pasted"
    shutil.copytree(instructor, course)
    assert run_tito(course, "export", "--module", "alpha").returncode == 0
    assert run_tito(course, "release", "--module", "alpha", "--out", str(out)).returncode == 0
    dev = out / "modules/source/01_alpha/alpha_dev.py"
    shutil.copy(course / "modules/source/01_alpha/alpha_dev.py", dev)
    shutil.copy(course / "tinytorch/core/alpha.py", out / "tinytorch/core/alpha.py")  # their export of it
    proc = run_tito(course, "release", "--module", "beta", "--out", str(out), "--force")
    assert proc.returncode == 0, proc.stderr
    assert dev.read_text() == (course / "modules/source/01_alpha/alpha_dev.py").read_text()
    assert (out / "tinytorch/core/alpha.py").read_text() == (course / "tinytorch/core/alpha.py").read_text()
    assert "Removed a solved generated file" not in flat(proc.stdout)
    assert (out / "modules/source/02_beta/beta_dev.py").exists()


def test_release_force_leaves_the_students_notebooks_checkpoints_and_environment_alone(instructor, tmp_path):
    """Solutions pasted in once published reach the student's notebook (tito notebooks, Jupyter) and
    its checkpoint; an installed package may hold markers: none of it is a leftover to refuse."""
    out = tmp_path / "notebooks"
    assert run_tito(instructor, "release", "--module", "alpha", "--out", str(out)).returncode == 0
    pasted = (instructor / "modules/source/01_alpha/alpha_dev.py").read_text()
    notebook = out / "modules/source/01_alpha/alpha_dev.ipynb"
    notebook.write_text(json.dumps({"cells": [{"cell_type": "code", "source": pasted}]}))
    (notebook.parent / ".ipynb_checkpoints").mkdir()
    (notebook.parent / ".ipynb_checkpoints/alpha_dev-checkpoint.ipynb").write_text(notebook.read_text())
    (out / ".venv/lib/somepackage").mkdir(parents=True)
    (out / ".venv/lib/somepackage/example.py").write_text("### BEGIN SOLUTION\nx = 1\n### END SOLUTION\n")
    proc = run_tito(instructor, "release", "--module", "beta", "--out", str(out), "--force")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(notebook.read_text())["cells"][0]["source"] == pasted
    assert (out / "modules/source/02_beta/beta_dev.py").exists()


@pytest.mark.parametrize("change, said", [
    (("modules/source/01_alpha/alpha_dev.py", "#| default_exp core.alpha", "#| default_exp core.alfa"),
     "says '#| default_exp core.alfa' (tinytorch.core.alfa), but modules/source/01_alpha/module.yaml says "
     "exports_to: tinytorch.core.alpha"),
    (("modules/source/01_alpha/module.yaml", "  scaler: 2", "  scaler: {points: 2, rtol: 1e-4}"),
     "check 'scaler': rtol must be a number >= 0, got '1e-4'"),
    (("modules/source/01_alpha/module.yaml", "  scaler: 2", "  scalar: 2"),
     "lists checks that tests/01_alpha/checks.py does not define: check_scalar."),
])
def test_what_would_fail_every_student_stops_the_release_before_anything_is_written(instructor, tmp_path, change,
                                                                                     said):
    course = tmp_path / "broken"
    shutil.copytree(instructor, course)
    path, old, new = change
    (course / path).write_text((course / path).read_text().replace(old, new, 1))
    proc = run_tito(course, "release", "--all", "--out", str(tmp_path / "out"))
    assert proc.returncode == 1 and said in flat(proc.stderr) and not (tmp_path / "out").exists()


def _without_markers(text):
    return "".join(line for line in text.splitlines(keepends=True) if "### BEGIN SOLUTION" not in line
                   and "### END SOLUTION" not in line)


@pytest.mark.parametrize("path, change, said", [
    ("modules/source/01_alpha/alpha_dev.py", lambda t: t.replace("    ### BEGIN SOLUTION", "    ### Begin Solution", 1),
     "modules/source/01_alpha/alpha_dev.py, line 22: '### Begin Solution' looks like a marker but is not one, so it "
     "opens or closes no block; did you mean '### BEGIN SOLUTION'?"),
    ("modules/source/01_alpha/alpha_dev.py",
     lambda t: t.replace("        ### BEGIN SOLUTION", "        ### BEGIN SOLUTON")
     .replace("        ### END SOLUTION", "        ### END SOLUTON"),
     "alpha_dev.py, line 51: '### BEGIN SOLUTON' looks like a marker but is not one"),
    ("tests/01_alpha/checks.py", lambda t: t.replace("### BEGIN HIDDEN TESTS", "### BEGIN HIDDEN TEST"),
     "tests/01_alpha/checks.py, line 15: '### BEGIN HIDDEN TEST' looks like a marker but is not one, so it opens or "
     "closes no block; did you mean '### BEGIN HIDDEN TESTS'?"),
    ("modules/source/01_alpha/alpha_dev.py", lambda t: t.replace("        ### BEGIN SOLUTION\n", "")
     .replace("        ### END SOLUTION\n", ""),
     "modules/source/01_alpha/alpha_dev.py: Scaler.__call__ (line 46) has a TODO in its docstring but no solution "
     "block, so the student edition would hold its code, the solution."),
    ("tests/01_alpha/checks.py",
     lambda t: t.replace("### BEGIN HIDDEN TESTS\n", "").replace("### END HIDDEN TESTS\n", ""),
     "tests/01_alpha/checks.py: the hidden check(s) double_negative (hidden: true in module.yaml) are not between "
     "'### BEGIN HIDDEN TESTS' and '### END HIDDEN TESTS', so the student edition would show their code."),
    ("modules/source/01_alpha/alpha_dev.py", lambda t: _without_markers(t).replace("TODO:", "Task:"),
     "modules/source/01_alpha/alpha_dev.py has no solution block, but its module.yaml grades it (checks and points): "
     "the student edition would hold every solution"),
])
def test_a_missing_or_misspelled_marker_stops_the_release(instructor, tmp_path, path, change, said):
    """Instructor audit: solution markers left out, or spelled SOLUTON on both lines, released the
    solution (`✓ Wrote ... no solutions`, rc 0), and grading then gave every student 0 of 0;
    '### Begin Solution' on line 82 was reported at line 86, about its END marker."""
    course = tmp_path / "unmarked"
    shutil.copytree(instructor, course)
    (course / path).write_text(change((course / path).read_text()))
    proc = run_tito(course, "release", "--all", "--out", str(tmp_path / "out"))
    assert proc.returncode == 1 and "Traceback" not in proc.stderr, proc.stdout + proc.stderr
    assert said in flat(proc.stderr)
    assert not (tmp_path / "out").exists()


def test_release_force_copies_each_file_it_replaces_with_other_contents(instructor, tmp_path):
    """A student's notes in a module's README or a test they changed are not lost: copied, and said."""
    out = tmp_path / "edited"
    assert run_tito(instructor, "release", "--module", "alpha", "--out", str(out)).returncode == 0
    again = run_tito(instructor, "release", "--module", "alpha", "--out", str(out), "--force")
    assert again.returncode == 0 and "Replaced" not in flat(again.stdout)  # nothing differed
    test_file = out / "tests/01_alpha/test_alpha_ops.py"
    test_file.write_text(test_file.read_text() + "\n# my note\n")
    proc = run_tito(instructor, "release", "--module", "alpha", "--out", str(out), "--force")
    assert proc.returncode == 0, proc.stderr
    copies = next((out / ".tito/backups").glob("release-*"))
    assert "Replaced 1 file(s) that differed from this release's (tests/01_alpha/test_alpha_ops.py); the earlier " \
           f"copies are in {copies}." in flat(proc.stdout)
    assert (copies / "tests/01_alpha/test_alpha_ops.py").read_text().endswith("# my note\n")
    assert "# my note" not in test_file.read_text()


def test_release_force_over_a_leftover_solution_writes_nothing(instructor, tmp_path):
    out = tmp_path / "leftover-solution"
    assert run_tito(instructor, "release", "--module", "alpha", "--out", str(out)).returncode == 0
    (out / "notes").mkdir()
    (out / "notes/answers.py").write_text("### BEGIN SOLUTION\nx = 1\n### END SOLUTION\n")
    manifest = (out / ".tito/release/manifest.json").read_text()
    proc = run_tito(instructor, "release", "--module", "beta", "--out", str(out), "--force")
    assert proc.returncode == 1
    assert "holds solutions that the release would leave there" in flat(proc.stderr)
    assert "notes/answers.py" in flat(proc.stderr) and "Nothing was written." in flat(proc.stderr)
    assert not (out / "modules/source/02_beta").exists()
    assert (out / ".tito/release/manifest.json").read_text() == manifest


def test_release_force_still_removes_a_solved_generated_file(instructor, tmp_path):
    course, out = tmp_path / "solved", tmp_path / "leftover"
    shutil.copytree(instructor, course)
    assert run_tito(course, "export", "--module", "alpha").returncode == 0
    assert run_tito(course, "release", "--module", "alpha", "--out", str(out)).returncode == 0
    shutil.copy(course / "tinytorch/core/alpha.py", out / "tinytorch/core/alpha.py")
    proc = run_tito(course, "release", "--module", "beta", "--out", str(out), "--force")
    assert proc.returncode == 0, proc.stderr
    assert not (out / "tinytorch/core/alpha.py").exists()
    assert f"Removed a solved generated file: {out / 'tinytorch/core/alpha.py'}" in flat(proc.stdout)


def test_a_module_released_into_a_fuller_edition_may_repeat_what_another_stub_shows(instructor, tmp_path):
    """alpha's solution line is also given code in beta: the full edition shows it anyway, so
    releasing alpha alone into that edition is no leak."""
    course = tmp_path / "shared-line"
    shutil.copytree(instructor, course)
    beta = course / "modules/source/02_beta/beta_dev.py"
    beta.write_text(beta.read_text() + "\n# %%\ndef given(x):\n"
                    "    doubled_value_of_the_input = np.asarray(x) * 2\n    return doubled_value_of_the_input\n")
    out = tmp_path / "edition"
    assert run_tito(course, "release", "--all", "--out", str(out)).returncode == 0
    proc = run_tito(course, "release", "--module", "alpha", "--out", str(out), "--force")
    assert proc.returncode == 0, proc.stderr
    assert "doubled_value_of_the_input = np.asarray(x) * 2" in (out / "modules/source/02_beta/beta_dev.py").read_text()
    assert "raise NotImplementedError" in (out / "modules/source/01_alpha/alpha_dev.py").read_text()


def test_an_edition_names_its_own_repository_and_keeps_it(instructor, tmp_path):
    plain = run_tito(instructor, "release", "--module", "alpha", "--out", str(tmp_path / "plain"))
    assert plain.returncode == 0, plain.stderr
    assert "names https://github.com/mlsysbook/TinyTorch as its Repository, this course's" in flat(plain.stderr)
    out = tmp_path / "named"
    named = run_tito(instructor, "release", "--module", "alpha", "--out", str(out),
                     "--repository", "https://github.com/me/student.git")
    assert named.returncode == 0 and "as its Repository" not in flat(named.stderr)
    assert 'Repository = "https://github.com/me/student"' in (out / "pyproject.toml").read_text()
    again = run_tito(instructor, "release", "--module", "beta", "--out", str(out), "--force")
    assert again.returncode == 0 and "as its Repository" not in flat(again.stderr)
    assert 'Repository = "https://github.com/me/student"' in (out / "pyproject.toml").read_text()


def test_a_stub_of_an_earlier_release_stays_released_after_a_fix_mid_term(tmp_path):
    """Instructor audit: after a fix of a module's text and a new release, a pair forked from the
    first release (the work in the .py, the notebook as released, both written at once by the
    checkout) was graded on the old notebook: 0 points. tito release records every released
    file in modules/released.json, which grading counts as released."""
    from tito.course import Course
    from tito.editions import RELEASED, released_pair
    from tito.grading.submission import graded_of

    root = build_course(tmp_path / "course", tooling=True).root
    first = run_tito(root, "release", "--all", "--out", str(tmp_path / "v1"))
    assert first.returncode == 0 and f"Commit {RELEASED} with the course" in flat(first.stdout), first.stderr
    dev = root / "modules/source/01_alpha/alpha_dev.py"
    dev.write_text(dev.read_text().replace("# %% [markdown]\n", "# %% [markdown]\n# A fixed hint.\n", 1))
    assert run_tito(root, "release", "--all", "--out", str(tmp_path / "v2")).returncode == 0
    fork = tmp_path / "fork"
    fork.mkdir()
    (fork / "alpha_dev.py").write_text(dev.read_text())  # the student's work
    (fork / "alpha_dev.ipynb").write_bytes((tmp_path / "v1/modules/source/01_alpha/alpha_dev.ipynb").read_bytes())
    for path in fork.iterdir():
        os.utime(path, (1_800_000_000, 1_800_000_000))
    released = released_pair(Course(root).get("alpha"))
    assert graded_of(sorted(fork.iterdir()), released) == (fork / "alpha_dev.py", "the other is as released")
    (root / RELEASED).unlink()  # as before: only the release of today is known
    assert graded_of(sorted(fork.iterdir()), released_pair(Course(root).get("alpha")))[0] == fork / "alpha_dev.ipynb"
    (root / RELEASED).write_text('{"alpha": {"py": [1]}}')  # re-check: a hand edit gave a TypeError's traceback
    broken = run_tito(root, "release", "--all", "--out", str(tmp_path / "v3"))
    assert broken.returncode == 1 and "Traceback" not in broken.stderr
    assert f"{root / RELEASED} is not the record tito release writes." in flat(broken.stderr)
    assert not (tmp_path / "v3").exists()  # said before the edition is written


def test_release_into_the_course_itself_is_refused(instructor):
    proc = run_tito(instructor, "release", "--all", "--out", str(instructor / "student"))
    assert proc.returncode == 1 and "cannot be written into the course itself" in flat(proc.stderr)


def test_a_hidden_test_called_outside_its_block_stops_the_release(instructor, tmp_path):
    course = tmp_path / "dangling"
    shutil.copytree(instructor, course)
    dev = course / "modules/source/01_alpha/alpha_dev.py"
    dev.write_text(dev.read_text() + '\n# %%\n### BEGIN HIDDEN TESTS\ndef test_unit_secret():\n'
                   '    assert double(2) == 4\n### END HIDDEN TESTS\n\nif __name__ == "__main__":\n'
                   '    test_unit_secret()\n')
    proc = run_tito(course, "release", "--all", "--out", str(tmp_path / "out"))
    assert proc.returncode == 1 and not (tmp_path / "out").exists()
    assert ("modules/source/01_alpha/alpha_dev.py: calls test_unit_secret outside the hidden-test block that "
            "defines it, so the student edition would fail on a NameError.") in flat(proc.stderr)
    dev.write_text(dev.read_text().replace('    test_unit_secret()\n',
                                           '    for test in (test_unit_double, test_unit_secret):\n        test()\n'))
    proc = run_tito(course, "release", "--all", "--out", str(tmp_path / "out"))  # its name, not called by it
    assert proc.returncode == 1 and "calls test_unit_secret outside the hidden-test block" in flat(proc.stderr)


def test_release_that_would_leak_a_solution_writes_nothing(instructor, tmp_path):
    course = tmp_path / "leaky"
    shutil.copytree(instructor, course)
    (course / "tinytorch" / "utils" / "cheat.py").write_text(
        "doubled_value_of_the_input = np.asarray(x) * 2\n")
    proc = run_tito(course, "release", "--all", "--out", str(tmp_path / "out"))
    assert proc.returncode == 1
    assert "tinytorch/utils/cheat.py: holds solution text" in flat(proc.stderr)
    assert not (tmp_path / "out").exists()


def test_bad_points_in_module_yaml_are_refused_before_anything_is_built(instructor, tmp_path):
    from tito.course import Course
    from tito.editions.release import release

    course = Course(instructor)
    course.get("alpha").meta["points"] = {"test_unit_double": "three"}
    with pytest.raises(TitoError) as refused:
        release(course, course.modules, tmp_path / "out")
    assert refused.value.message == ("modules/source/01_alpha/module.yaml: points of 'test_unit_double' must be "
                                     "a whole number >= 0, got 'three'.")
    assert not (tmp_path / "out").exists() and list(tmp_path.iterdir()) == []
    course.get("alpha").meta["points"] = {"test_unit_doubel": 3, "test_alpha_ops.py::test_double": 2,
                                          "test_alpha_ops.py::test_dubble": 1}  # two typos
    with pytest.raises(TitoError) as refused:
        release(course, course.modules, tmp_path / "out")
    assert refused.value.message == ("modules/source/01_alpha/module.yaml: points for test_unit_doubel, "
                                     "test_alpha_ops.py::test_dubble, which alpha_dev.py or tests/01_alpha does not "
                                     "define (a test is worth 1 point unless named here).")
    assert refused.value.hint == "Its tests: test_unit_double, test_unit_scaler."


# --------------------------------------------------------------------------- the student's loop


def test_stub_fails_naming_functions_even_with_a_solved_tinytorch_behind_then_passes(instructor, edition, tmp_path):
    student = tmp_path / "student"
    shutil.copytree(edition, student)
    # a solved tinytorch is importable from PYTHONPATH, behind the student's own course root
    proc, report = test_json(student, "alpha", pythonpath=[instructor])
    assert proc.returncode == 1
    assert report["passed"] is False
    assert set(report["not_implemented"]) == {"double", "Scaler.__call__"}
    assert "Not implemented yet (2): double, Scaler.__call__" in flat(proc.stdout)
    shutil.copy2(instructor / "modules/source/01_alpha/alpha_dev.py", student / "modules/source/01_alpha/alpha_dev.py")
    proc, report = test_json(student, "alpha", pythonpath=[instructor])
    assert proc.returncode == 0, proc.stdout
    assert report["passed"] is True and report["not_implemented"] == []


def test_the_start_line_runs_as_printed(instructor, tmp_path):
    """`tito release` ends with the line a student copies; bash runs it exactly as printed.

    `make install` really runs pip, offline: the edition's .venv is made beforehand from this
    interpreter and sees this environment's packages (a .pth file), so that pip, with no index
    and no build isolation, only installs the edition itself (editable, with its `tito`).
    """
    pytest.importorskip("wheel")  # setuptools before 70.1 needs it to build an editable install
    out = tmp_path / "student edition"  # a space: the printed line must quote the folder
    proc = run_tito(instructor, "release", "--all", "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[-2].endswith("no solutions. Students start with:")
    line = lines[-1].strip()
    assert line == f"cd '{out}' && make install && source bin/activate-tinytorch.sh && tito test --module alpha"
    subprocess.run([sys._base_executable, "-m", "venv", "--without-pip", str(out / ".venv")], check=True)
    site = next((out / ".venv" / "lib").glob("python*/site-packages"))
    (site / "this-environment.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    env = {key: value for key, value in os.environ.items() if key not in ("PYTHONPATH", "VIRTUAL_ENV", "TITO_ROOT")}
    env.update(PIP_NO_INDEX="1", PIP_NO_BUILD_ISOLATION="0", PIP_DISABLE_PIP_VERSION_CHECK="1", NO_COLOR="1")
    done = subprocess.run(["bash", "-c", line], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert "== tito test 01_alpha ==" in done.stdout, done.stdout + done.stderr
    assert "BuildBackendWarning" not in done.stdout + done.stderr  # setuptools' "Editable installation": alarming
    assert done.returncode == 1  # it ran: the stubs are not implemented yet
    assert "Not implemented yet (2): double, Scaler.__call__" in done.stdout
    assert (out / ".venv" / "bin" / "tito").exists() and (out / ".venv" / ".installed").exists()


def test_module_reset_restores_the_stub_and_backs_up_the_work(instructor, edition, tmp_path):
    student = tmp_path / "student"
    shutil.copytree(edition, student)
    dev = student / "modules/source/01_alpha/alpha_dev.py"
    notebook = dev.with_suffix(".ipynb")
    stub, stub_notebook = dev.read_text(), notebook.read_text()
    dev.write_text(stub.replace('raise NotImplementedError("TODO: implement double")', "return x + x"))
    assert run_tito(student, "test", "--module", "alpha").returncode == 1  # a result on record, and an export
    assert "return x + x" in (student / "tinytorch/core/alpha.py").read_text()
    notebook.write_text(stub_notebook.replace("TODO: Multiply by two.", "TODO: done!"))
    proc = run_tito(student, "module", "reset", "alpha")
    assert proc.returncode == 0, proc.stderr
    assert dev.read_text() == stub and notebook.read_text() == stub_notebook
    # the package follows the stub, and the last result, of the work put aside, is gone
    assert "Exported: tinytorch/core/alpha.py (written)" in flat(proc.stdout)
    assert "return x + x" not in (student / "tinytorch/core/alpha.py").read_text()
    assert "alpha" not in json.loads((student / ".tito" / "progress.json").read_text())["modules"]
    backups = sorted((student / ".tito" / "backups").iterdir(), key=lambda p: p.suffix)
    assert [b.suffix for b in backups] == [".ipynb", ".py"]
    assert "return x + x" in backups[1].read_text() and "TODO: done!" in backups[0].read_text()
    assert "Backed up your work: .tito/backups/alpha_dev." in flat(proc.stdout)
    # the notebook open in Jupyter is stale: its autosave would write the old work back
    assert ("01_alpha: modules/source/01_alpha/alpha_dev.py and alpha_dev.ipynb are back to their released stub. "
            "Is alpha_dev.ipynb open in Jupyter? Reload it from disk (File > Reload Notebook from Disk) and restart "
            "its kernel, or the notebook's autosave writes your old work back.") in flat(proc.stdout)
    proc = run_tito(student, "module", "reset", "alpha")
    assert proc.returncode == 0 and "already the released stub; nothing to do" in flat(proc.stdout)
    assert len(list((student / ".tito" / "backups").iterdir())) == 2


def test_module_reset_starts_over_a_source_saved_in_another_encoding(edition, tmp_path):
    student = tmp_path / "student"
    shutil.copytree(edition, student)
    dev = student / "modules/source/01_alpha/alpha_dev.py"
    stub = dev.read_text()
    dev.write_bytes(dev.read_bytes() + b"# caf\xe9\n")
    proc = run_tito(student, "module", "reset", "alpha")
    assert proc.returncode == 0, proc.stderr
    assert dev.read_text() == stub
    assert [p.read_bytes()[-7:] for p in (student / ".tito" / "backups").glob("alpha_dev.*.py")] == [b"# caf\xe9\n"]


@pytest.mark.parametrize("unwritable", [".py", ".ipynb"])
def test_a_reset_that_cannot_write_one_file_changes_neither(unwritable, edition, tmp_path, monkeypatch):
    from tito.course import Course
    from tito.editions import reset

    student = tmp_path / "student"
    shutil.copytree(edition, student)
    dev = student / "modules/source/01_alpha/alpha_dev.py"
    notebook = dev.with_suffix(".ipynb")
    dev.write_text(dev.read_text().replace('raise NotImplementedError("TODO: implement double")', "return x + x"))
    notebook.write_text(notebook.read_text() + "\n")
    work = dev.read_text(), notebook.read_text()
    real_write = reset.write_atomically

    def refusing(path, text):
        if Path(path).suffix == unwritable:
            raise PermissionError(1, "Operation not permitted", str(path))
        real_write(path, text)

    monkeypatch.setattr(reset, "write_atomically", refusing)
    course = Course(student)
    with pytest.raises(PermissionError):
        reset.reset_module(course, course.get("alpha"))
    assert (dev.read_text(), notebook.read_text()) == work


def test_an_editions_website_shows_the_released_stub_not_the_students_work(edition, tmp_path):
    """The site's "notebook as you receive it" in an edition: the stub, even once it is solved there."""
    from tito.course import Course
    from tito.editions.notebooks import student_notebook

    student = tmp_path / "student"
    shutil.copytree(edition, student)
    solved = "".join(line for line in ALPHA_DEV.splitlines(keepends=True) if "### " not in line)
    (student / "modules/source/01_alpha/alpha_dev.py").write_text(solved)  # as a student solves it: no markers
    code = "".join(c.source for c in student_notebook(Course(student).get("alpha")).cells if c.cell_type == "code")
    assert 'raise NotImplementedError("TODO: implement double")' in code and "doubled_value_of_the_input" not in code


def test_an_editions_website_shows_its_readme_and_runs_its_notebooks_on_the_students_package(edition, tmp_path):
    """`tito book build --execute` in a fresh edition: every module exported first (said in one line),
    so beta's notebook imports alpha (not a ModuleNotFoundError) and stops at its own stub; "How to
    start" is the edition's README (tito lab, module reset, Binder in JupyterLab, a downloaded
    notebook put back)."""
    import html
    import re

    student = tmp_path / "student"
    shutil.copytree(edition, student)
    proc = run_tito(student, "book", "build", "--execute", "--out", str(tmp_path / "site"), pythonpath=[student],
                    timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Exported 2 of 2 modules into tinytorch/ first (as `tito export --all --keep-going`)" in flat(proc.stdout)
    assert "Kernel is running over TCP" not in proc.stderr

    def text(page):
        return flat(html.unescape(re.sub(r"<[^>]+>", " ", (tmp_path / "site" / page).read_text())))

    beta = text("chapters/02_beta.html")
    assert "NotImplementedError : TODO: implement quadruple" in beta and "ModuleNotFoundError" not in beta
    assert "tito lab beta" in beta and "the functions you write, as stubs" in beta
    index = text("index.html")
    for words in ("tito lab tensor", "tito module reset tensor", "Binder and Colab: in your browser",
                  "put it back as modules/source/NN_name/name_dev.ipynb"):
        assert words in index
    page = (tmp_path / "site/index.html").read_text()
    assert 'href="https://mybinder.org/v2/gh/OWNER/NAME/main?labpath=modules/source/01_alpha/alpha_dev.ipynb"' in page
    setup = re.search(r'<section id="setup">(.*?)</section>', page, re.DOTALL).group(1)
    assert '<div class="highlight-bash notranslate">' in setup and "make install" in re.sub(r"<[^>]+>", "", setup)
    assert "To implement" not in text("index.html").split("Modules In the order")[0]  # the README's table stays out


def with_a_cell_cut(edition, tmp_path, start: str, keep_from: str = "# %%", also: str = ""):
    """A student's copy of the edition whose alpha_dev.py lost the text from ``start`` to the next
    ``keep_from`` (a cell deleted, as in Jupyter), and the lines ``also``; returns its root."""
    student = tmp_path / "student"
    shutil.copytree(edition, student)
    dev = student / "modules/source/01_alpha/alpha_dev.py"
    text = dev.read_text()
    first = text.index(start)
    dev.write_text(text[:first] + text[text.index(keep_from, first + 1):].replace(also, ""))
    return student


def test_a_deleted_function_is_traced_to_its_released_stub_and_other_tests_still_run(edition, tmp_path):
    student = with_a_cell_cut(edition, tmp_path, '# %% tags=["teach"]\n#| export\ndef double')
    (student / "tests/01_alpha/test_other.py").write_text("def test_unrelated():\n    assert 1 + 1 == 2\n")
    proc, report = test_json(student, "alpha")
    pytest_step = next(s for s in report["steps"] if s["step"] == "pytest")
    by_name = {t["name"]: t for t in pytest_step["tests"]}
    assert by_name["tests/01_alpha/test_other.py::test_unrelated"]["passed"]  # not hidden by the other file
    assert ("double is no longer in modules/source/01_alpha/alpha_dev.py; the released stub "
            ".tito/release/01_alpha/alpha_dev.py has it") in by_name["tests/01_alpha/test_alpha_ops.py"]["message"]


def test_a_deleted_inline_test_is_pointed_out(edition, tmp_path):
    student = with_a_cell_cut(edition, tmp_path, "def test_unit_double", also="    test_unit_double()\n")
    proc, report = test_json(student, "alpha")
    inline = next(s for s in report["steps"] if s["step"] == "inline")
    assert "test_unit_double" not in {t["name"] for t in inline["tests"]}
    assert ("inline: test_unit_double is no longer in modules/source/01_alpha/alpha_dev.py; the released stub "
            ".tito/release/01_alpha/alpha_dev.py has it") in flat(proc.stdout + proc.stderr)


def test_grading_in_a_student_edition_says_where_to_grade(edition):
    proc = run_tito(edition, "grade", str(edition / "modules/source/01_alpha/alpha_dev.py"), "--module", "alpha")
    assert proc.returncode == 1
    assert ("is a student edition (written by tito release): it holds no solutions to grade against."
            in flat(proc.stderr))
    assert "Grade from the instructor's course" in flat(proc.stderr)


def test_module_reset_refuses_the_instructors_course(instructor):
    before = (instructor / "modules/source/01_alpha/alpha_dev.py").read_text()
    proc = run_tito(instructor, "module", "reset", "alpha")
    assert proc.returncode == 1
    assert "No released stub of module 'alpha'" in flat(proc.stderr)
    assert "resetting them would erase the solutions" in flat(proc.stderr)
    assert (instructor / "modules/source/01_alpha/alpha_dev.py").read_text() == before


def test_doctor_and_status_say_which_release_an_edition_is(edition, instructor, tmp_path):
    """A TA helping a student asks which release they work in: doctor and status name it (the
    manifest's time and tito version) in an edition, and say the course holds the solutions otherwise."""
    student = tmp_path / "student"
    shutil.copytree(edition, student)
    manifest = json.loads((student / ".tito/release/manifest.json").read_text())
    released = datetime.fromisoformat(manifest["released"]).strftime("%Y-%m-%d %H:%M UTC")
    line = f"a student edition, released {released} by tito {manifest['tito_version']}: alpha, beta"
    said = flat(run_tito(student, "doctor").stdout)
    assert f"| edition | ok | {line} |" in said, said
    status = run_tito(student, "status").stdout
    assert f"\nEdition: {line}\n" in status, status
    assert json.loads(run_tito(student, "status", "--json").stdout)["edition"] == line
    line = "the instructor's course, with the solutions (`tito release` writes a student edition)"
    said = flat(run_tito(instructor, "doctor").stdout)
    assert f"| edition | ok | {line} |" in said, said
    status = run_tito(instructor, "status").stdout
    assert f"\nEdition: {line}\n" in status, status


def test_a_module_importing_one_not_among_its_prerequisites_is_not_released(instructor, tmp_path):
    """An edition of beta alone would lack alpha, and its grading too: the release stops, naming
    the import and what to add, and writes nothing."""
    root = tmp_path / "course"
    shutil.copytree(instructor, root)
    (root / "modules/source/02_beta/module.yaml").write_text(
        "name: beta\ntitle: Beta\nexports_to: tinytorch.core.beta\n")
    proc = run_tito(root, "release", "--all", "--out", str(tmp_path / "student"))
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert ("modules/source/02_beta/beta_dev.py:6 imports tinytorch.core.alpha, module 01_alpha's, which is not among "
            "beta's prerequisites: add alpha to prerequisites in modules/source/02_beta/module.yaml."
            ) in flat(proc.stderr)
    assert not (tmp_path / "student").exists()
