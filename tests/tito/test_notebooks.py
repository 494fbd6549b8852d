"""tito notebooks: .py -> .ipynb with nbgrader metadata, --sync back, metadata kept, atomic writes."""

import json
import os

import nbformat
import pytest
from tiny_course import ALPHA_DEV, BETA_DEV, flat

from tito.notebooks.convert import from_notebook, notebook_json, to_notebook
from tito.editions.strip import strip_solutions

ALPHA = "modules/source/01_alpha/alpha_dev"


@pytest.fixture
def course_dir(course):
    """The in-process two-module course, with this file's alpha module (markers, tags, points)."""
    course.write(f"{ALPHA}.py", ALPHA_DEV)
    course.write("modules/source/01_alpha/module.yaml", "name: alpha\npoints:\n  test_unit_double: 3\n")
    return course.root


def graded_cells(notebook: dict) -> dict:
    return {c["metadata"]["nbgrader"]["grade_id"]: c for c in notebook["cells"] if "nbgrader" in c["metadata"]}


@pytest.mark.parametrize("source", [ALPHA_DEV, strip_solutions(ALPHA_DEV).text, BETA_DEV])
def test_source_to_notebook_and_back_is_the_same_text(source):
    assert from_notebook(notebook_json(to_notebook(source))) == source


def test_notebook_is_valid_and_marks_solution_and_test_cells(course_dir, tito):
    result = tito("notebooks", "--module", "alpha")
    assert result.exit_code == 0, result.output
    assert ("01_alpha: modules/source/01_alpha/alpha_dev.py -> modules/source/01_alpha/alpha_dev.ipynb"
            in flat(result.output))
    path = course_dir / f"{ALPHA}.ipynb"
    nbformat.validate(nbformat.read(path, as_version=4))
    notebook = json.loads(path.read_text())
    cells = graded_cells(notebook)
    assert sorted(cells) == ["solution-Scaler-__call__", "solution-double", "test_unit_double", "test_unit_scaler"]
    assert cells["solution-double"]["metadata"]["nbgrader"] == {
        "grade": False, "grade_id": "solution-double", "locked": False, "schema_version": 3, "solution": True,
        "task": False}
    assert cells["test_unit_double"]["metadata"]["nbgrader"] == {
        "grade": True, "grade_id": "test_unit_double", "locked": True, "points": 3, "schema_version": 3,
        "solution": False, "task": False}
    assert cells["test_unit_scaler"]["metadata"]["nbgrader"]["points"] == 1
    assert "### BEGIN SOLUTION" in "".join(cells["solution-double"]["source"])  # the instructor's own notebook
    assert cells["solution-double"]["metadata"]["tags"] == ["teach"]
    assert notebook["metadata"]["kernelspec"]["name"] == "python3"
    assert [c["id"] for c in notebook["cells"][:2]] == ["alpha-000", "alpha-001"]


def test_sync_writes_the_notebooks_edits_and_keeps_metadata(course_dir, tito):
    assert tito("notebooks", "--module", "alpha").exit_code == 0
    path = course_dir / f"{ALPHA}.ipynb"
    notebook = nbformat.read(path, as_version=4)
    cell = next(c for c in notebook.cells if "def double" in c.source)
    cell.source = cell.source.replace("return doubled_value_of_the_input", "return doubled_value_of_the_input  # mine")
    cell.metadata["tags"] = ["teach", "edited"]
    notebook.cells.append(nbformat.v4.new_markdown_cell("My notes.", id="notes"))
    nbformat.write(notebook, path)
    result = tito("notebooks", "--module", "alpha", "--sync")
    assert result.exit_code == 0, result.output
    text = (course_dir / f"{ALPHA}.py").read_text()
    assert "return doubled_value_of_the_input  # mine" in text
    assert '# %% tags=["teach", "edited"]\n#| export\ndef double(x):' in text
    assert text.endswith("# %% [markdown]\n# My notes.\n")
    assert "nbgrader" not in text  # derived again next time, never written into the source
    assert not list(path.parent.glob(".*.tmp"))


def test_own_nbgrader_metadata_in_the_source_survive_both_ways(course_dir, tito):
    dev = course_dir / f"{ALPHA}.py"
    own = '# %% nbgrader={"grade": true, "grade_id": "test_unit_scaler", "points": 5}\ndef test_unit_scaler'
    dev.write_text(ALPHA_DEV.replace("# %%\ndef test_unit_scaler", own))
    assert tito("notebooks", "--module", "alpha").exit_code == 0
    cells = graded_cells(json.loads((course_dir / f"{ALPHA}.ipynb").read_text()))
    assert cells["test_unit_scaler"]["metadata"]["nbgrader"] == {"grade": True, "grade_id": "test_unit_scaler",
                                                                  "points": 5}
    assert "test_unit_double" in cells
    assert tito("notebooks", "--module", "alpha", "--sync").exit_code == 0
    assert dev.read_text() == ALPHA_DEV.replace("# %%\ndef test_unit_scaler", own)


def test_all_modules_and_a_missing_notebook(course_dir, tito):
    result = tito("notebooks", "--module", "beta", "--sync")
    assert result.exit_code == 1
    assert "modules/source/02_beta/beta_dev.ipynb does not exist." in flat(result.output)
    result = tito("notebooks", "--all")
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in course_dir.glob("modules/source/*/*.ipynb")) == ["alpha_dev.ipynb", "beta_dev.ipynb"]
    assert tito("notebooks", "--all", "--sync").exit_code == 0
    assert (course_dir / f"{ALPHA}.py").read_text() == ALPHA_DEV


def test_a_notebook_that_matches_its_source_keeps_its_outputs(course_dir, tito):
    """Student audit: `tito notebooks` (make notebooks, Binder's postBuild) rewrote a notebook in
    step with its .py, and every output and execution count of the student's runs was gone."""
    assert tito("notebooks", "--module", "alpha").exit_code == 0
    path = course_dir / f"{ALPHA}.ipynb"
    notebook = json.loads(path.read_text())
    ran = next(cell for cell in notebook["cells"] if cell["cell_type"] == "code")
    ran["execution_count"], ran["outputs"] = 7, [{"output_type": "stream", "name": "stdout", "text": "42\n"}]
    ran["metadata"]["scrolled"] = True  # what JupyterLab adds
    path.write_text(json.dumps(notebook))
    result = tito("notebooks", "--all")
    assert result.exit_code == 0, result.output
    assert (f"01_alpha: {ALPHA}.ipynb already matches alpha_dev.py: left as it is, its outputs kept"
            in flat(result.output))
    assert json.loads(path.read_text()) == notebook
    assert tito("notebooks", "--module", "alpha", "--force").exit_code == 0  # written again: outputs gone
    assert not any(cell.get("outputs") for cell in json.loads(path.read_text())["cells"])


def test_a_broken_notebook_is_refused_and_the_source_kept(course_dir, tito):
    (course_dir / f"{ALPHA}.ipynb").write_text("{not json")
    result = tito("notebooks", "--module", "alpha", "--sync")
    assert result.exit_code == 1
    assert ("modules/source/01_alpha/alpha_dev.ipynb is not a readable notebook: not JSON at line 1, column 2 "
            "(Expecting property name enclosed in double quotes)") in flat(result.output)
    assert "`tito notebooks --module alpha` writes it again from the .py" in flat(result.output)
    assert (course_dir / f"{ALPHA}.py").read_text() == ALPHA_DEV
    assert tito("notebooks", "--module", "alpha").exit_code == 0  # the way out it names
    assert json.loads((course_dir / f"{ALPHA}.ipynb").read_text())["cells"]


def test_the_file_with_the_newer_edits_is_replaced_only_with_force_and_then_backed_up(course_dir, tito):
    dev, path = course_dir / f"{ALPHA}.py", course_dir / f"{ALPHA}.ipynb"
    assert tito("notebooks", "--module", "alpha").exit_code == 0
    path.write_text(path.read_text().replace("Doubling numbers.", "Doubling numbers, my notes."))
    edited = path.read_text()
    os.utime(path, (dev.stat().st_mtime + 10,) * 2)  # the notebook was edited after the source
    refused = tito("notebooks", "--module", "alpha")
    assert refused.exit_code == 1
    assert ("01_alpha: alpha_dev.ipynb holds edits newer than alpha_dev.py, which would replace them; nothing was "
            "written.") in flat(refused.output)
    assert "tito notebooks --module alpha --sync" in refused.output and path.read_text() == edited
    result = tito("notebooks", "--module", "alpha", "--force")
    assert result.exit_code == 0, result.output
    saved = list((course_dir / ".tito" / "backups").glob("alpha_dev.*.ipynb"))
    assert len(saved) == 1 and "my notes" in saved[0].read_text()
    assert "Backed up modules/source/01_alpha/alpha_dev.ipynb, changed after alpha_dev.py" in flat(result.output)

    dev.write_text(ALPHA_DEV + "\n# %%\nmine = 1\n")
    os.utime(dev, (path.stat().st_mtime + 10,) * 2)  # and now the source after the notebook
    assert tito("notebooks", "--module", "alpha", "--sync").exit_code == 1
    assert dev.read_text().endswith("mine = 1\n")
    assert tito("notebooks", "--module", "alpha", "--sync", "--force").exit_code == 0
    saved = list((course_dir / ".tito" / "backups").glob("alpha_dev.*.py"))
    assert len(saved) == 1 and saved[0].read_text().endswith("mine = 1\n")
    assert dev.read_text() == ALPHA_DEV
    assert tito("notebooks", "--module", "alpha", "--sync").exit_code == 0  # in step now: no new backup
    assert len(list((course_dir / ".tito" / "backups").iterdir())) == 2


def test_converting_every_module_leaves_each_newer_edit_where_it_is(course_dir, tito):
    """`make sync` (tito notebooks --all --sync) after work done in the .py files took them back to stubs."""
    assert tito("notebooks", "--all").exit_code == 0
    alpha, beta = course_dir / f"{ALPHA}.py", course_dir / "modules/source/02_beta/beta_dev.py"
    alpha.write_text(ALPHA_DEV + "\n# %%\nmine = 1\n")  # work in alpha's .py: its notebook is behind
    notebook = beta.with_suffix(".ipynb")
    notebook.write_text(notebook.read_text().replace("Four times x.", "Four times x, my notes."))
    os.utime(notebook, (beta.stat().st_mtime + 10,) * 2)  # work in beta's notebook: its .py is behind
    result = tito("notebooks", "--all", "--sync")
    assert result.exit_code == 0, result.output
    assert alpha.read_text().endswith("mine = 1\n") and "my notes" in beta.read_text()
    assert ("- 01_alpha: skipped: alpha_dev.py holds edits newer than alpha_dev.ipynb, which would replace them "
            "(`tito notebooks --module alpha` brings the notebook up to them)") in flat(result.output)
    result = tito("notebooks", "--all")
    assert result.exit_code == 0, result.output
    assert "mine = 1" in (course_dir / f"{ALPHA}.ipynb").read_text() and "my notes" in beta.read_text()
    assert not (course_dir / ".tito" / "backups").exists()  # nothing of the student's was replaced


JUPYTEXT_HEADER = """\
# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

"""


def test_sync_keeps_the_sources_jupytext_header(course_dir, tito):
    source = course_dir / f"{ALPHA}.py"
    source.write_text(JUPYTEXT_HEADER + ALPHA_DEV)
    assert tito("notebooks", "--module", "alpha").exit_code == 0
    result = tito("notebooks", "--module", "alpha", "--sync")
    assert result.exit_code == 0, result.output
    assert source.read_text() == JUPYTEXT_HEADER + ALPHA_DEV
