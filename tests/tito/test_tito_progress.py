"""The .tito/progress.json store: corruption is survived, concurrent writers never lose entries."""

import json
import os
import re
import subprocess
import sys

import pytest
from tiny_course import flat

from tito.progress import ProgressStore, problem_with

from course_root import ROOT


def test_record_and_read_back(tmp_path):
    store = ProgressStore(tmp_path)
    assert store.last("cnn") is None
    store.record("cnn", {"passed": True, "inline": [3, 3]})
    entry = store.last("cnn")
    assert entry["passed"] is True and entry["inline"] == [3, 3] and "when" in entry
    assert json.loads(store.path.read_text())["version"] == 1


@pytest.mark.parametrize("bad", ["{not json", "[]", '{"modules": []}', '{"modules": {"cnn": {"passed": "yes"}}}'])
def test_corrupt_file_is_kept_and_replaced_by_a_fresh_record(tmp_path, bad):
    store_path = tmp_path / ".tito" / "progress.json"
    store_path.parent.mkdir()
    store_path.write_text(bad)
    warnings = []
    store = ProgressStore(tmp_path, warn=warnings.append)
    assert store.load() == {"version": 1, "modules": {}}
    copies = list(store_path.parent.glob("progress.json.corrupt-*"))
    assert len(copies) == 1 and copies[0].read_text() == bad
    assert len(warnings) == 1 and "kept a copy" in warnings[0] and copies[0].name in warnings[0]
    store.record("cnn", {"passed": False})
    assert problem_with(store_path.read_text()) is None
    assert len(warnings) == 1  # the bad file was moved aside once, not warned about again


def test_status_survives_a_corrupt_progress_file(course, tito):
    (course.root / ".tito").mkdir()
    (course.root / ".tito" / "progress.json").write_text("\x00garbage")
    result = tito("status")
    assert result.exit_code == 0
    assert "kept a copy" in result.stderr
    assert list((course.root / ".tito").glob("progress.json.corrupt-*"))


def test_a_pass_of_tests_changed_since_is_not_counted_as_passed(course, tito):
    """Instructor audit: after a student pulled a fix that added a failing test, `tito status` still
    said the module passed. A pass records its tests' digest; a later change of them shows."""
    assert tito("test", "--module", "alpha").exit_code == 0
    said = tito("status", "--json")
    assert [row["last_result"] for row in json.loads(said.output)["modules"]][0] == "passed"
    test_file = course.root / "tests" / "01_alpha" / "test_alpha_ops.py"
    test_file.write_text(test_file.read_text() + "\n\ndef test_added_by_the_fix():\n    assert False\n")
    rows = json.loads(tito("status", "--json").output)
    assert (rows["modules"][0]["last_result"], rows["passed"]) == ("passed, tests changed since", 0)
    table = flat(tito("status").output)
    assert "Tests changed since their last pass: alpha (`tito test --module alpha` runs them again)." in table
    # every reader of the record says so: tito info, and the module that builds on it
    info = json.loads(tito("info", "alpha", "--json").output)
    assert re.fullmatch(r"passed at [0-9T:.+-]+, tests changed since", info["last_test"]), info["last_test"]
    assert ("prerequisite 'alpha' passed before its tests changed (run: tito test --module alpha)."
            in tito("test", "--module", "beta").stderr)


def test_a_pass_of_a_source_edited_since_is_not_counted_as_passed(course, tito):
    """Red team 34: after a pass, an edit of the module (one that breaks it, say) left `tito status`
    saying it passed; only its Exported column said stale. A pass records its source's digest."""
    assert tito("test", "--module", "alpha").exit_code == 0
    dev = course.dev("alpha")
    dev.write_text(dev.read_text() + "\n# an edit after the pass\n")
    rows = json.loads(tito("status", "--json").output)
    assert (rows["modules"][0]["last_result"], rows["passed"]) == ("passed, source changed since", 0)
    assert ("Edited since their last pass: alpha (`tito test --module alpha` tests them as they are now)."
            in flat(tito("status").output))
    info = json.loads(tito("info", "alpha", "--json").output)
    assert re.fullmatch(r"passed at [0-9T:.+-]+, source changed since", info["last_test"]), info["last_test"]
    assert ("prerequisite 'alpha' was edited since it last passed (run: tito test --module alpha)."
            in tito("test", "--module", "beta").stderr)
    assert tito("test", "--module", "alpha").exit_code == 0
    assert json.loads(tito("status", "--json").output)["modules"][0]["last_result"] == "passed"


def test_a_pass_of_a_notebook_edited_since_is_not_counted_as_passed(course, tito):
    """Most students work in Jupyter: an edit of the notebook's code after a pass (not yet in the .py)
    makes that pass one of other code too, for tito status, tito info and the prerequisite
    warnings alike. Running the notebook (its outputs) does not."""
    import nbformat

    assert tito("notebooks", "--module", "alpha").exit_code == 0
    assert tito("test", "--module", "alpha").exit_code == 0
    path = course.dev("alpha").with_suffix(".ipynb")
    notebook = nbformat.read(path, as_version=4)
    cell = next(c for c in notebook.cells if "np.asarray(x) * 2" in c.source)
    cell.outputs = [nbformat.v4.new_output("stream", text="ran\n")]
    cell.execution_count = 1
    nbformat.write(notebook, path)
    assert json.loads(tito("status", "--json").output)["modules"][0]["last_result"] == "passed"
    cell.source = cell.source.replace("np.asarray(x) * 2", "np.asarray(x) * 3")
    nbformat.write(notebook, path)
    row = json.loads(tito("status", "--json").output)["modules"][0]
    assert (row["notebook"], row["last_result"]) == ("ahead", "passed, source changed since")
    # every reader of the record says so: tito info, and the module that builds on it
    info = json.loads(tito("info", "alpha", "--json").output)
    assert re.fullmatch(r"passed at [0-9T:.+-]+, source changed since", info["last_test"]), info["last_test"]
    assert ("prerequisite 'alpha' was edited since it last passed (run: tito test --module alpha)."
            in tito("test", "--module", "beta").stderr)


WRITER = """
import sys
from pathlib import Path
from tito.progress import ProgressStore
root, worker = Path(sys.argv[1]), sys.argv[2]
store = ProgressStore(root, warn=lambda message: sys.exit("unexpected warning: " + message))
for i in range(25):
    store.record(f"m{worker}_{i}", {"passed": i % 2 == 0})
    store.record("shared", {"passed": True, "by": worker})
"""


def test_concurrent_writers_never_corrupt_or_lose_entries(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    writers = [subprocess.Popen([sys.executable, "-c", WRITER, str(tmp_path), str(w)], env=env,
                                stderr=subprocess.PIPE, text=True) for w in range(4)]
    for writer in writers:
        _, err = writer.communicate(timeout=120)
        assert writer.returncode == 0, err
    data = json.loads((tmp_path / ".tito" / "progress.json").read_text())
    assert set(data["modules"]) == {f"m{w}_{i}" for w in range(4) for i in range(25)} | {"shared"}
    assert data["modules"]["m3_24"]["passed"] is True and data["modules"]["m3_23"]["passed"] is False
    assert not list((tmp_path / ".tito").glob("progress.json.corrupt-*"))
    assert not list((tmp_path / ".tito").glob(".progress.json.*.tmp"))
