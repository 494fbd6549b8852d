"""A student who works in the notebook gets that work tested: the .py / .ipynb sync rule.

In a released edition, name_dev.ipynb edited after name_dev.py is synced into it by
`tito test` and `tito export` (the .py backed up, one line said); both changed stops with a
choice and changes nothing; running a notebook (outputs only) changes no code; `tito status`
shows a notebook ahead; `tito lab`'s side writes the notebook when the .py is ahead.
"""

import json
import re
import os

import nbformat
import pytest
from tiny_course import flat

from tito.course import Course
from tito.notebooks.sync import (BOTH_CHANGED, IN_STEP, NOTEBOOK_AHEAD, RECORD, SOURCE_AHEAD, last_edited,
                                notebook_up_to_date, state)

STUB = 'raise NotImplementedError("TODO: implement double")'
DEV = "modules/source/01_alpha/alpha_dev.py"


@pytest.fixture
def edition(course, tito, tmp_path, monkeypatch):
    """A student edition of the two-module course; the current directory is its root."""
    out = tmp_path / "edition"
    assert tito("release", "--all", "--out", str(out)).exit_code == 0
    monkeypatch.chdir(out)
    return out


def edit_notebook(path, old, new, later=True):
    """Change a code cell of the notebook the way Jupyter saves it (and after the .py)."""
    notebook = nbformat.read(path, as_version=4)
    cell = next(c for c in notebook.cells if old in c.source)
    cell.source = cell.source.replace(old, new)
    nbformat.write(notebook, path)
    if later:
        os.utime(path, (path.stat().st_mtime + 5,) * 2)


def test_work_done_only_in_the_notebook_is_what_gets_tested(edition, tito):
    dev, notebook = edition / DEV, (edition / DEV).with_suffix(".ipynb")
    stub = dev.read_text()
    edit_notebook(notebook, STUB, "return np.asarray(x) * 2")
    assert state(Course(edition).get("alpha")) == NOTEBOOK_AHEAD
    result = tito("test", "--module", "alpha", "--json", "report.json")
    said = [line for line in result.output.splitlines() if line.startswith("Synced ")]
    assert len(said) == 1 and said[0].startswith(
        "Synced modules/source/01_alpha/alpha_dev.ipynb -> alpha_dev.py (you edited the notebook last; "
        "the previous alpha_dev.py is in .tito/backups/alpha_dev.")
    report = json.loads((edition / "report.json").read_text())
    inline = {t["name"]: t for t in report["steps"][0]["tests"]}
    assert inline["test_unit_double"]["status"] == "passed"
    assert report["not_implemented"] == ["Scaler.__call__"]
    assert "return np.asarray(x) * 2" in dev.read_text() and STUB not in dev.read_text()
    assert [p.read_text() for p in (edition / ".tito" / "backups").glob("alpha_dev.*.py")] == [stub]
    assert state(Course(edition).get("alpha")) == IN_STEP
    again = tito("test", "--module", "alpha")
    assert "Synced" not in again.output  # in step now: nothing to take


def test_a_copy_saved_after_the_notebook_is_pointed_out(edition, tito):
    notebook = (edition / DEV).with_suffix(".ipynb")
    copy = notebook.with_name("alpha_dev-Copy1.ipynb")
    copy.write_bytes(notebook.read_bytes())
    edit_notebook(copy, STUB, "return np.asarray(x) * 2")
    older = notebook.with_name("alpha_dev (1).ipynb")
    older.write_bytes(notebook.read_bytes())
    os.utime(older, (notebook.stat().st_mtime - 5,) * 2)
    result = tito("test", "--module", "alpha")
    words = flat(result.output)
    assert ("modules/source/01_alpha/alpha_dev-Copy1.ipynb was saved after alpha_dev.ipynb and alpha_dev.py, "
            "but tito only reads alpha_dev.ipynb and alpha_dev.py: if your work is in it, rename it to "
            "alpha_dev.ipynb.") in words
    assert "(1).ipynb" not in words  # older than the student's files: not their latest work
    assert STUB in (edition / DEV).read_text()  # the copy is never taken silently either
    # student audit: the notebook renamed in JupyterLab (no alpha_dev.ipynb left) was ignored in silence
    copy.unlink()
    notebook.rename(notebook.with_name("my_alpha.ipynb"))
    edit_notebook(notebook.with_name("my_alpha.ipynb"), STUB, "return np.asarray(x) * 2")
    words = flat(tito("test", "--module", "alpha").output)
    assert ("modules/source/01_alpha/my_alpha.ipynb was saved after alpha_dev.py, but tito only reads "
            "alpha_dev.ipynb and alpha_dev.py: if your work is in it, rename it to alpha_dev.ipynb.") in words


def test_from_a_notebook_cell_tito_test_says_which_save_it_tests(edition, tito, monkeypatch):
    """Student audit: `!tito test` tested the notebook as last saved (autosave: every 2 minutes),
    without a word, right after the student ran their new cell."""
    notebook = (edition / DEV).with_suffix(".ipynb")
    os.utime(notebook, (1_800_000_000, 1_800_000_000))
    saved = __import__("datetime").datetime.fromtimestamp(1_800_000_000).strftime("%H:%M:%S")
    said = f"Testing alpha_dev.ipynb as saved at {saved}: save it first (Ctrl-S) to test your latest edits."
    monkeypatch.delenv("JPY_PARENT_PID", raising=False)
    monkeypatch.delenv("COLAB_RELEASE_TAG", raising=False)
    assert said not in flat(tito("test", "--module", "alpha").output)  # a terminal: no such line
    monkeypatch.setenv("JPY_PARENT_PID", "1")  # as ipykernel sets it for a cell's `!` command
    assert said in flat(tito("test", "--module", "alpha").output)
    monkeypatch.setenv("COLAB_RELEASE_TAG", "release-colab")  # Colab: its hook saved it just now, into the clone
    assert "as saved at" not in flat(tito("test", "--module", "alpha").output)


def test_from_a_notebook_cell_a_py_edited_after_the_notebook_is_named_as_the_one_tested(edition, tito, monkeypatch):
    """Student audit: with the notebook saved and then the .py edited in an editor, `!tito test`
    said it tested the notebook "as saved at ..." and then failed on the .py's code."""
    dev, notebook = edition / DEV, (edition / DEV).with_suffix(".ipynb")
    dev.write_text(dev.read_text().replace(STUB, "return np.asarray(x) * 3"))
    os.utime(notebook, (1_800_000_000, 1_800_000_000))
    os.utime(dev, (1_800_000_010, 1_800_000_010))
    assert state(Course(edition).get("alpha")) == SOURCE_AHEAD  # tito status: notebook behind
    saved = __import__("datetime").datetime.fromtimestamp(1_800_000_000).strftime("%H:%M:%S")
    monkeypatch.delenv("COLAB_RELEASE_TAG", raising=False)
    monkeypatch.setenv("JPY_PARENT_PID", "1")
    words = flat(tito("test", "--module", "alpha").output)
    assert (f"Testing alpha_dev.py, edited after the notebook (alpha_dev.ipynb was saved at {saved}): "
            "the .py's code is what runs.") in words, words
    assert "alpha_dev.ipynb as saved at" not in words


def test_jupyter_only_syntax_is_placed_in_the_notebook_too(edition, tito):
    """Smoke test: the note on a `!tito test` cell said "cell 41 line 1764", the .py's count of
    cells (markdown ones too), where Jupyter shows [26]."""
    notebook_path = (edition / DEV).with_suffix(".ipynb")
    notebook = nbformat.read(notebook_path, as_version=4)
    notebook.cells.append(nbformat.v4.new_code_cell("!tito test --module alpha", execution_count=26))
    nbformat.write(notebook, notebook_path)
    os.utime(notebook_path, (notebook_path.stat().st_mtime + 5,) * 2)
    words = flat(tito("test", "--module", "alpha").output)
    assert "alpha_dev.py:58 (alpha_dev.ipynb: cell [26], line 1): !tito test --module alpha" in words, words


def test_a_failing_cell_is_named_by_its_notebook_cell_too(edition, tito):
    """A statement outside any test that fails is named by its .py line, which a student in Jupyter
    does not see: its line in the inline tests' list says the notebook cell too."""
    notebook_path = (edition / DEV).with_suffix(".ipynb")
    notebook = nbformat.read(notebook_path, as_version=4)
    notebook.cells.append(nbformat.v4.new_code_cell("ratio = 1 / 0", execution_count=9))
    nbformat.write(notebook, notebook_path)
    os.utime(notebook_path, (notebook_path.stat().st_mtime + 5,) * 2)
    output = tito("test", "--module", "alpha").output
    line = dev_line(edition, "ratio = 1 / 0")
    assert (f"  FAIL the cell at line {line} (alpha_dev.ipynb: cell [9], line 1)  ZeroDivisionError: division by "
            "zero  (the rest of this cell was skipped)") in output.splitlines(), output
    assert (f"--- inline failure: the cell at line {line} at {DEV}:{line} (alpha_dev.ipynb: cell [9], line 1)"
            in output.splitlines())


def test_a_syntax_error_saved_in_the_notebook_is_placed_in_the_notebook_too(edition, tito):
    """Student audit: an export that failed on a notebook's syntax error named only the .py's line."""
    notebook = (edition / DEV).with_suffix(".ipynb")
    edit_notebook(notebook, STUB, "return np.asarray(x) * 2 +")
    result = tito("export", "--module", "alpha")
    words = flat(result.output)
    assert result.exit_code == 1
    assert ("modules/source/01_alpha/alpha_dev.py, line 22 (alpha_dev.ipynb: code cell 3, line 10): invalid syntax"
            in words), words  # a cell never run has no [N]: counted among the code cells


def test_a_cell_marker_typed_in_a_notebook_cell_stays_a_comment_of_that_cell(edition, tito):
    """'# %% note' in a code cell would begin a new cell in the .py and cut the function in two."""
    notebook, dev = (edition / DEV).with_suffix(".ipynb"), edition / DEV
    edit_notebook(notebook, STUB, "# %% note to self\n    return np.asarray(x) * 2\n#%% and another")
    result = tito("test", "--module", "alpha", "--json", "report.json")
    inline = {t["name"]: t for t in json.loads((edition / "report.json").read_text())["steps"][0]["tests"]}
    assert "    ## %% note to self\n    return np.asarray(x) * 2\n##%% and another" in dev.read_text()
    assert inline["test_unit_double"]["status"] == "passed", result.output


def test_export_takes_the_notebook_too(edition, tito):
    edit_notebook((edition / DEV).with_suffix(".ipynb"), STUB, "return np.asarray(x) * 2")
    result = tito("export", "--module", "alpha")
    assert result.exit_code == 0 and "Synced modules/source/01_alpha/alpha_dev.ipynb" in result.output
    assert "return np.asarray(x) * 2" in (edition / "tinytorch/core/alpha.py").read_text()


def test_both_changed_stops_says_how_to_choose_and_changes_nothing(edition, tito):
    dev, notebook = edition / DEV, (edition / DEV).with_suffix(".ipynb")
    dev.write_text(dev.read_text().replace(STUB, "return x + x"))
    edit_notebook(notebook, STUB, "return 2 * x")
    before = dev.read_text(), notebook.read_text()
    assert state(Course(edition).get("alpha")) == BOTH_CHANGED
    result = tito("test", "--module", "alpha")
    assert result.exit_code == 1
    assert ("Both modules/source/01_alpha/alpha_dev.py and alpha_dev.ipynb changed since tito last synced "
            "them; tito will not guess which to keep.") in result.output
    assert "Keep the notebook's version: tito notebooks --module alpha --sync" in result.output
    assert "Keep the .py's version:      tito notebooks --module alpha" in result.output
    assert (dev.read_text(), notebook.read_text()) == before
    assert not (edition / ".tito" / "progress.json").exists()  # nothing was tested
    assert ("Both the notebook and the .py changed: alpha. Keep one: `tito notebooks --module alpha --sync` keeps "
            "the notebook, `tito notebooks --module alpha` the .py (the other is backed up)."
            ) in flat(tito("status").output)
    assert "takes them" not in tito("status").output
    # choosing the notebook keeps the .py's version in a backup
    assert tito("notebooks", "--module", "alpha", "--sync").exit_code == 0
    assert "return 2 * x" in dev.read_text()
    assert any("return x + x" in p.read_text() for p in (edition / ".tito" / "backups").glob("alpha_dev.*.py"))
    assert state(Course(edition).get("alpha")) == IN_STEP


def test_running_a_notebook_changes_no_code(edition, tito):
    notebook = (edition / DEV).with_suffix(".ipynb")
    data = nbformat.read(notebook, as_version=4)
    code = next(c for c in data.cells if c.cell_type == "code")
    code.execution_count = 3
    code.outputs = [nbformat.v4.new_output("stream", name="stdout", text="hello\n")]
    nbformat.write(data, notebook)
    os.utime(notebook, (notebook.stat().st_mtime + 5,) * 2)
    assert state(Course(edition).get("alpha")) == IN_STEP
    result = tito("test", "--module", "alpha")
    assert "Synced" not in result.output and not (edition / ".tito" / "backups").exists()


def test_a_pair_replaced_by_another_pair_in_step_is_not_read_as_both_changed_after_status(edition, tito):
    """git checkout (or pull, stash) puts back both files, in step; a .py edit after that is the .py's."""
    dev, notebook = edition / DEV, (edition / DEV).with_suffix(".ipynb")
    edit_notebook(notebook, STUB, "return np.asarray(x) * 2")
    assert tito("test", "--module", "alpha").exit_code in (0, 1)  # synced: the record holds this pair
    new_py, new_notebook = dev.read_text(), notebook.read_text()
    released = edition / ".tito" / "release" / "01_alpha"
    dev.write_text((released / "alpha_dev.py").read_text())  # as a checkout of the released pair
    notebook.write_text(tito_notebook_of(edition))
    assert tito("status").exit_code == 0
    assert state(Course(edition).get("alpha")) == IN_STEP
    dev.write_text(dev.read_text() + "\n# %%\nmine = 1\n")
    assert state(Course(edition).get("alpha")) == SOURCE_AHEAD
    assert new_py != dev.read_text() and new_notebook != notebook.read_text()


def tito_notebook_of(edition):
    """The notebook `tito notebooks` writes from the edition's alpha source as it is now."""
    from tito.notebooks.convert import notebook_json, to_notebook

    module = Course(edition).get("alpha")
    return notebook_json(to_notebook(module.source(), module))


def test_status_shows_a_notebook_ahead(edition, tito):
    edit_notebook((edition / DEV).with_suffix(".ipynb"), STUB, "return np.asarray(x) * 2")
    rows = {row["name"]: row for row in json.loads(tito("status", "--json").output)["modules"]}
    assert rows["alpha"]["notebook"] == "ahead" and rows["beta"]["notebook"] == "in step"
    table = tito("status").output
    assert re.search(r"01_alpha .* ahead ", table) and re.search(r"02_beta .* in step ", table), table
    shown = flat(tito("status", "--help").output)  # the words --help explains are those of the table and the JSON
    assert "in step, ahead (name_dev.ipynb edited after name_dev.py;" in shown and ", behind (the .py" in shown
    assert "Notebook edits not yet in the .py: alpha (`tito test --module alpha` takes them)." in table


def test_without_a_record_the_newer_differing_file_is_ahead(course, tito):
    assert tito("notebooks", "--module", "alpha").exit_code == 0
    (course.root / RECORD).unlink()
    module = Course(course.root).get("alpha")
    assert state(module) == IN_STEP  # the same code: no record needed
    (course.root / RECORD).unlink()  # which status then wrote; this test is of a course without one
    edit_notebook(module.notebook, "= x * self.factor", "= self.factor * x")
    assert state(module) == NOTEBOOK_AHEAD
    os.utime(module.dev_file, (module.notebook.stat().st_mtime + 5,) * 2)
    assert state(module) == SOURCE_AHEAD


def test_the_notebook_follows_a_py_edited_last_and_is_created_when_missing(course):
    module = Course(course.root).get("alpha")
    assert notebook_up_to_date(module) == "Wrote modules/source/01_alpha/alpha_dev.ipynb from alpha_dev.py."
    assert notebook_up_to_date(module) == ""
    module.dev_file.write_text(module.dev_file.read_text().replace("LIMIT = 10", "LIMIT = 11"))
    assert state(module) == SOURCE_AHEAD
    said = notebook_up_to_date(module)
    assert said == "Updated modules/source/01_alpha/alpha_dev.ipynb from alpha_dev.py, which you edited last."
    assert "LIMIT = 11" in module.notebook.read_text() and state(module) == IN_STEP


def test_a_submitted_pair_is_judged_by_the_same_rule(edition, tmp_path):
    """For grading a folder that holds both files of a student: against the released pair."""
    import hashlib
    import shutil

    manifest = json.loads((edition / ".tito/release/manifest.json").read_text())["modules"]["alpha"]
    released = {"py": manifest["sha256"], "ipynb": manifest["notebook_sha256"]}
    py, notebook = tmp_path / "alice_alpha_dev.py", tmp_path / "alice_alpha_dev.ipynb"
    shutil.copy2(edition / DEV, py)
    shutil.copy2((edition / DEV).with_suffix(".ipynb"), notebook)
    assert hashlib.sha256(py.read_bytes()).hexdigest() == released["py"]
    assert last_edited(py, notebook, released) == IN_STEP
    edit_notebook(notebook, STUB, "return np.asarray(x) * 2", later=False)
    assert last_edited(py, notebook, released) == NOTEBOOK_AHEAD
    py.write_text(py.read_text().replace(STUB, "return x + x"))
    assert last_edited(py, notebook, released) == BOTH_CHANGED
    os.utime(py, (notebook.stat().st_mtime + 5,) * 2)
    assert last_edited(py, notebook) == SOURCE_AHEAD  # without the released pair: the newer one


def line_in_cell(notebook, text):
    """(the code cell holding ``text``, its 1-based line there), read with nbformat."""
    cell = next(c for c in nbformat.read(notebook, as_version=4).cells if text in c.source)
    return cell, next(n for n, line in enumerate(cell.source.splitlines(), 1) if text in line)


def test_a_failure_in_notebook_work_is_also_located_in_the_notebook(edition, tito):
    notebook = (edition / DEV).with_suffix(".ipynb")
    edit_notebook(notebook, STUB, "return np.asarray(x) * undefined_factor")
    data = nbformat.read(notebook, as_version=4)
    next(c for c in data.cells if "undefined_factor" in c.source).execution_count = 4
    nbformat.write(data, notebook)
    os.utime(notebook, (notebook.stat().st_mtime + 5,) * 2)
    _, line = line_in_cell(notebook, "undefined_factor")
    output = tito("test", "--module", "alpha", "--json", "report.json").output
    place = f"(alpha_dev.ipynb: cell [4], line {line}, in double)"
    inline = next(row for row in output.splitlines() if row.startswith("--- inline failure: test_unit_double"))
    assert inline.endswith(f"alpha_dev.py:{dev_line(edition, 'undefined_factor')} {place}")
    steps = json.loads((edition / "report.json").read_text())["steps"]
    in_pytest = next(t for t in steps[2]["tests"] if t["name"].endswith("::test_double"))
    assert f"(source: {DEV}:{dev_line(edition, 'undefined_factor')}) {place}" in in_pytest["location"]


def dev_line(edition, text):
    return next(n for n, line in enumerate((edition / DEV).read_text().splitlines(), 1) if text in line)


def test_the_next_stub_is_located_in_a_notebook_never_run(edition, tito):
    _, line = line_in_cell((edition / DEV).with_suffix(".ipynb"), STUB)
    output = tito("test", "--module", "alpha").output
    assert (f"Next: double at {DEV}:{dev_line(edition, STUB)} (alpha_dev.ipynb: the cell defining double, "
            f"line {line})") in output


def test_work_in_the_py_is_located_in_the_py_only(edition, tito):
    dev = edition / DEV
    dev.write_text(dev.read_text().replace(STUB, "return np.asarray(x) * undefined_factor"))
    output = tito("test", "--module", "alpha").output
    failures = [row for row in output.splitlines() if row.startswith("--- ")]
    assert failures and all(row.endswith(f"alpha_dev.py:{dev_line(edition, 'undefined_factor')}")
                            for row in failures if "inline" in row)
    assert "alpha_dev.ipynb:" not in output  # the notebook is not the student's work: no place in it


def test_a_solution_in_a_new_unexported_notebook_cell_is_pointed_at_in_the_notebook(edition, tito):
    notebook = (edition / DEV).with_suffix(".ipynb")
    data = nbformat.read(notebook, as_version=4)
    stub_at = next(n for n, c in enumerate(data.cells) if STUB in c.source)
    mine = nbformat.v4.new_code_cell("def double(x):\n    return np.asarray(x) * 2", execution_count=5)
    data.cells.insert(stub_at + 1, mine)
    nbformat.write(data, notebook)
    os.utime(notebook, (notebook.stat().st_mtime + 5,) * 2)
    output = tito("test", "--module", "alpha").output
    own_line = dev_line(edition, "def double(x):\n    return np.asarray(x) * 2".splitlines()[1]) - 1
    assert (f"  double: your version at {DEV}:{own_line} (alpha_dev.ipynb: cell [5], line 1, in double) is in a "
            "cell without `#| export`") in output


def test_an_error_in_a_helper_the_student_added_stays_at_the_helper(edition, tito):
    """Only the functions the edition gives are skipped over to the student's calling line: a
    function the student added (not in the released source) is where the mistake is."""
    dev = edition / DEV
    dev.write_text(dev.read_text().replace(
        "def double(x):", "def my_window(v):\n    return np.asarray(v)[5]\n\n\ndef double(x):", 1).replace(
        STUB, "return my_window([x]) * 2", 1))
    output = tito("test", "--module", "alpha").output
    assert f"--- inline failure: test_unit_double at {DEV}:{dev_line(edition, 'return np.asarray(v)[5]')}" in output


def test_two_runs_side_by_side_sync_a_notebook_once(edition, monkeypatch):
    """Two `tito test` at once with the notebook ahead: the second waits for the first's sync,
    then finds the pair in step; the one backup holds the .py as it was."""
    import threading

    import tito.notebooks.sync as sync

    dev = edition / DEV
    stub = dev.read_text()
    edit_notebook(dev.with_suffix(".ipynb"), STUB, "return np.asarray(x) * 2")
    first_is_backing_up, second_started = threading.Event(), threading.Event()
    real_backup = sync.backup

    def slow_backup(root, path):
        first_is_backing_up.set()
        second_started.wait(5)  # the second run reaches the sync meanwhile
        return real_backup(root, path)

    monkeypatch.setattr(sync, "backup", slow_backup)
    said = {}
    first = threading.Thread(target=lambda: said.update(first=sync.source_up_to_date(Course(edition).get("alpha"))))
    first.start()
    assert first_is_backing_up.wait(5)
    monkeypatch.setattr(sync, "backup", real_backup)
    second = threading.Thread(target=lambda: said.update(second=sync.source_up_to_date(Course(edition).get("alpha"))))
    second.start()
    second.join(0.5)
    second_started.set()
    first.join(10)
    second.join(10)
    assert said["first"].startswith("Synced ") and said["second"] == ""
    assert [p.read_text() for p in (edition / ".tito" / "backups").glob("alpha_dev.*.py")] == [stub]


def test_a_notebook_saved_again_during_a_sync_is_taken_by_the_next_one(edition, monkeypatch):
    """Jupyter may save while tito converts the notebook: the record holds what was synced, so the
    later save reads as ahead (and is taken next time) instead of as in step, lost."""
    import tito.notebooks.sync as sync

    notebook = (edition / DEV).with_suffix(".ipynb")
    edit_notebook(notebook, STUB, "return np.asarray(x) * 2")
    real_backup = sync.backup

    def backup_while_jupyter_saves(root, path):
        edit_notebook(notebook, "return np.asarray(x) * 2", "return np.asarray(x) * 2  # saved again")
        return real_backup(root, path)

    with monkeypatch.context() as patch:
        patch.setattr(sync, "backup", backup_while_jupyter_saves)
        assert sync.source_up_to_date(Course(edition).get("alpha")).startswith("Synced ")
    assert state(Course(edition).get("alpha")) == NOTEBOOK_AHEAD
    assert sync.source_up_to_date(Course(edition).get("alpha")).startswith("Synced ")
    assert "# saved again" in (edition / DEV).read_text()


def test_a_notebook_saved_while_status_records_the_pair_in_step_stays_ahead(edition, monkeypatch):
    import tito.notebooks.sync as sync

    notebook = (edition / DEV).with_suffix(".ipynb")
    nb = nbformat.read(notebook, as_version=4)
    nb.metadata["ran"] = True  # the hash moved, the code did not: in step, recorded again
    nbformat.write(nb, notebook)
    real_judge = sync._judge

    def judge_then_jupyter_saves(pair):
        verdict = real_judge(pair)
        edit_notebook(notebook, STUB, "return np.asarray(x) * 2")
        return verdict

    with monkeypatch.context() as patch:
        patch.setattr(sync, "_judge", judge_then_jupyter_saves)
        assert state(Course(edition).get("alpha")) == IN_STEP
    assert state(Course(edition).get("alpha")) == NOTEBOOK_AHEAD


def test_a_notebook_read_while_jupyter_writes_it_is_read_again(edition, monkeypatch):
    """Jupyter writes a notebook in place: a read may find it empty or cut short. tito reads it
    again before calling it broken."""
    from tito.course import Module

    notebook = (edition / DEV).with_suffix(".ipynb")
    edit_notebook(notebook, STUB, "return np.asarray(x) * 2")
    whole = notebook.read_text()
    cut_short = []
    real_read = Module.read_text

    def read_mid_save(self, path):
        if path == notebook and len(cut_short) < 2:
            cut_short.append(path)
            return whole[:len(whole) // 2]
        return real_read(self, path)

    monkeypatch.setattr(Module, "read_text", read_mid_save)
    import tito.notebooks.sync as sync

    assert sync.source_up_to_date(Course(edition).get("alpha")).startswith("Synced ")
    assert len(cut_short) == 2  # two reads found it cut short; the third found it whole
    assert "return np.asarray(x) * 2" in (edition / DEV).read_text()


BOTH_CHANGED_SAID = ("Both modules/source/01_alpha/alpha_dev.py and alpha_dev.ipynb changed since tito last synced "
                     "them; tito will not guess which to keep.")


def sync_while_the_editor_saves(edition, patch_save):
    """Take the notebook's edit while ``patch_save(save)`` makes an editor save the .py at one
    point of the sync: (what the sync raised, the saved text). The sync must refuse as when both
    changed, keep the save in the .py, and leave no backup of its own."""
    from tito.errors import TitoError
    from tito.notebooks.sync import source_up_to_date

    dev = edition / DEV
    edit_notebook(dev.with_suffix(".ipynb"), STUB, "return np.asarray(x) * 2")
    saved_text = dev.read_text().replace(STUB, "return x + x  # the editor's save")
    saves = []

    def save():
        if not saves:
            saves.append(dev)
            dev.write_text(saved_text)

    patch_save(save)
    with pytest.raises(TitoError) as refused:
        source_up_to_date(Course(edition).get("alpha"))
    assert saves == [dev]
    return refused.value, saved_text


def assert_the_save_is_kept_and_both_changed(edition, refused, saved_text):
    assert refused.message == BOTH_CHANGED_SAID
    assert (edition / DEV).read_text() == saved_text
    assert list((edition / ".tito" / "backups").glob("alpha_dev.*.py")) == []
    assert state(Course(edition).get("alpha")) == BOTH_CHANGED


def test_an_editor_save_just_after_the_syncs_backup_is_kept(edition, monkeypatch):
    """Red team 34: the .py saved just after the sync copied it to .tito/backups/ was replaced by
    the notebook's code: the save was in no file, tito said it synced and the pair was in step."""
    import tito.notebooks.sync as sync

    real_backup = sync.backup

    def backup_then_the_editor_saves(save):
        def backup(root, path):
            copy = real_backup(root, path)
            save()
            return copy
        patch.setattr(sync, "backup", backup)

    with monkeypatch.context() as patch:
        refused, saved_text = sync_while_the_editor_saves(edition, backup_then_the_editor_saves)
    assert_the_save_is_kept_and_both_changed(edition, refused, saved_text)


def test_an_editor_save_while_the_sync_judges_the_pair_again_under_its_lock_is_kept(edition, monkeypatch):
    """Red team 34: the .py saved while the sync converted the notebook a second time (its check under
    the lock) was backed up and replaced, and tito said "you edited the notebook last": both had changed."""
    import tito.notebooks.sync as sync

    real_from_notebook = sync.from_notebook
    calls = []

    def the_editor_saves_during_the_second_conversion(save):
        def from_notebook(*args):
            calls.append(args)
            if len(calls) == 2:
                save()
            return real_from_notebook(*args)
        patch.setattr(sync, "from_notebook", from_notebook)

    with monkeypatch.context() as patch:
        refused, saved_text = sync_while_the_editor_saves(edition, the_editor_saves_during_the_second_conversion)
    assert len(calls) == 2
    assert_the_save_is_kept_and_both_changed(edition, refused, saved_text)


def test_an_editor_save_while_the_sync_writes_the_py_is_kept(edition, monkeypatch):
    """The last check is made once the notebook's code is written beside the .py, just before the
    rename: a save while that temporary file is written is kept too."""
    import tito.files as files

    real_temporary = files._new_temporary

    def the_editor_saves_while_the_temporary_file_is_made(save):
        def new_temporary(path, mode):
            if path.name == "alpha_dev.py":
                save()
            return real_temporary(path, mode)
        patch.setattr(files, "_new_temporary", new_temporary)

    with monkeypatch.context() as patch:
        refused, saved_text = sync_while_the_editor_saves(edition, the_editor_saves_while_the_temporary_file_is_made)
    assert_the_save_is_kept_and_both_changed(edition, refused, saved_text)
    assert sorted(p.name for p in (edition / DEV).parent.iterdir() if p.name.startswith(".alpha_dev")) == []


def saved_while_written(monkeypatch, path, saved_text):
    """Make an editor (or Jupyter's autosave) save ``saved_text`` into ``path`` while tito writes
    its new text beside it, just before the rename over it: the last moment a save can come."""
    import tito.files as files

    real_temporary = files._new_temporary
    saves = []

    def new_temporary(target, mode):
        if target.name == path.name and not saves:
            saves.append(target)
            path.write_text(saved_text)
        return real_temporary(target, mode)

    monkeypatch.setattr(files, "_new_temporary", new_temporary)
    return saves


def jupyter_save_of(notebook, text):
    """The notebook as Jupyter would save it with the code cell holding STUB changed to ``text``."""
    edited = nbformat.read(notebook, as_version=4)
    cell = next(c for c in edited.cells if STUB in c.source)
    cell.source = cell.source.replace(STUB, text)
    return nbformat.writes(edited)


def test_an_editor_save_while_notebooks_sync_writes_the_py_is_kept(edition, tito, monkeypatch):
    """`tito notebooks --sync` wrote the notebook's code over a .py an editor saved meanwhile: the
    save was in no file. Now it is refused as when both changed, the save kept, nothing backed up."""
    dev = edition / DEV
    edit_notebook(dev.with_suffix(".ipynb"), STUB, "return np.asarray(x) * 2")
    saved_text = dev.read_text().replace(STUB, "return x + x  # the editor's save")
    saves = saved_while_written(monkeypatch, dev, saved_text)
    result = tito("notebooks", "--module", "alpha", "--sync")
    assert saves and result.exit_code == 1, result.output
    assert BOTH_CHANGED_SAID in flat(result.output)
    assert dev.read_text() == saved_text
    assert list((edition / ".tito" / "backups").glob("alpha_dev.*.py")) == []
    assert state(Course(edition).get("alpha")) == BOTH_CHANGED


def notebook_saved_while_written(edition, monkeypatch):
    """The .py edited (ahead of the notebook), and a Jupyter save of the notebook coming while
    tito writes the notebook from it: (the notebook, the saved text, the saves made)."""
    dev, notebook = edition / DEV, (edition / DEV).with_suffix(".ipynb")
    dev.write_text(dev.read_text().replace(STUB, "return np.asarray(x) * 2"))
    os.utime(dev, (notebook.stat().st_mtime + 5,) * 2)
    saved_text = jupyter_save_of(notebook, "return x + x  # saved in Jupyter")
    return notebook, saved_text, saved_while_written(monkeypatch, notebook, saved_text)


def assert_the_notebook_save_is_kept(edition, notebook, saved_text):
    assert notebook.read_text() == saved_text
    assert list((edition / ".tito" / "backups").glob("alpha_dev.*.ipynb")) == []
    assert state(Course(edition).get("alpha")) == BOTH_CHANGED


def test_a_jupyter_save_while_tito_notebooks_writes_the_notebook_is_kept(edition, tito, monkeypatch):
    """`tito notebooks` wrote the notebook from the .py over a save Jupyter made meanwhile."""
    notebook, saved_text, saves = notebook_saved_while_written(edition, monkeypatch)
    result = tito("notebooks", "--module", "alpha")
    assert saves and result.exit_code == 1, result.output
    assert BOTH_CHANGED_SAID in flat(result.output)
    assert_the_notebook_save_is_kept(edition, notebook, saved_text)


def test_a_jupyter_save_while_tito_lab_writes_the_notebook_is_kept(edition, monkeypatch):
    """`tito lab alpha` writes the notebook from a .py edited last (``notebook_up_to_date``): a
    save of the notebook meanwhile (the student's JupyterLab still open) was replaced."""
    from tito.errors import TitoError

    notebook, saved_text, saves = notebook_saved_while_written(edition, monkeypatch)
    with pytest.raises(TitoError) as refused:
        notebook_up_to_date(Course(edition).get("alpha"))
    assert saves and refused.value.message == BOTH_CHANGED_SAID
    assert_the_notebook_save_is_kept(edition, notebook, saved_text)
