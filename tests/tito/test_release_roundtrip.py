"""The student's round trip on every module of the real course, in a released edition.

For each module, in its own copy of the edition with its prerequisites solved (the
reference sources copied in and exported), while a solved tinytorch (the instructor's)
sits on PYTHONPATH behind the copy's root:

1. the untouched stubs fail the inline step with NotImplementedError naming the
   functions not implemented;
2. with the module's solution copied back, the inline step passes and it exports;
3. in a copy with every module solved, one pytest process runs a sample of each module's
   tests: the first test function of its smallest test file that does not need PyTorch.

``tito test --all`` runs every test of the instructor's course and test_release.py runs
``tito test`` itself in an edition; this file samples to stay fast, and runs the modules
two at a time.
"""

import ast
import re
import shutil
import subprocess
import sys
import threading
import traceback
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tito.course import Course
from tito.exporter import export
from tito.editions.release import release
from tito.outcomes import subprocess_environment
from tito.pytest_step import parse_junit
from tito.runner import run_inline

ROOT = Path(__file__).resolve().parents[2]
COURSE = Course(ROOT)
MODULES = [m.name for m in COURSE.in_prerequisite_order()]
SOLUTION_MARKER = re.compile(r"^\s*### BEGIN SOLUTION\s*$", re.MULTILINE)
EXPORT_LOCK = threading.Lock()
NEEDS_TORCH = re.compile(r"^\s*(import torch|from torch\b)|importorskip\(\s*[\"']torch", re.MULTILINE)


@pytest.fixture(scope="module")
def edition(tmp_path_factory):
    """The whole course released once; the report says which functions became stubs."""
    out = tmp_path_factory.mktemp("roundtrip") / "edition"
    report = release(COURSE, COURSE.modules, out)
    return out, {item.module.name: item.stubs for item in report.modules}


def solve(root: Path, name: str) -> None:
    """Copy a module's reference solution into a copy of the edition and export it."""
    module = COURSE.get(name)
    shutil.copy2(module.dev_file, root / module.dev_file.relative_to(ROOT))
    with EXPORT_LOCK:
        export(Course(root).get(name), force=True)


def sample_test(name: str) -> str:
    """Node id of the first test function in the module's smallest test file without torch."""
    files = sorted(COURSE.get(name).tests_dir.glob("test_*.py"), key=lambda p: (p.stat().st_size, p.name))
    files = [p for p in files if not NEEDS_TORCH.search(p.read_text(encoding="utf-8"))] or files
    assert files, f"module {name} has no pytest tests"
    for node in ast.parse(files[0].read_text(encoding="utf-8")).body:
        if isinstance(node, ast.FunctionDef) and node.name.startswith("test"):
            return f"{files[0].relative_to(ROOT)}::{node.name}"
        if isinstance(node, ast.ClassDef) and node.name.startswith("Test"):
            method = next(m.name for m in node.body if isinstance(m, ast.FunctionDef) and m.name.startswith("test"))
            return f"{files[0].relative_to(ROOT)}::{node.name}::{method}"
    raise AssertionError(f"no test function in {files[0]}")


def round_trip(edition_folder: Path, work: Path, name: str) -> dict:
    root = work / name
    shutil.copytree(edition_folder, root)
    for prereq in COURSE.prerequisites_of(COURSE.get(name)):
        solve(root, prereq.name)
    stubbed = run_inline(Course(root).get(name))
    solve(root, name)
    solved = run_inline(Course(root).get(name))
    return {"stubbed": stubbed, "solved": solved}


@pytest.fixture(scope="module")
def samples(edition, tmp_path_factory):
    """Each module's sample pytest test, all run by one pytest process in a fully solved copy."""
    root = tmp_path_factory.mktemp("samples") / "solved"
    shutil.copytree(edition[0], root)
    for name in MODULES:
        try:
            solve(root, name)
        except Exception:  # noqa: BLE001 - that module's round trip reports it
            pass
    report = root / "report.xml"
    nodes = {name: sample_test(name) for name in MODULES}
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("PYTHONPATH", str(ROOT))
        proc = subprocess.run([sys.executable, "-m", "pytest", *nodes.values(), "-q", "-p", "no:cacheprovider",
                               f"--junitxml={report}", "-o", "junit_family=xunit1"],
                              cwd=root, env=subprocess_environment(root), capture_output=True, text=True, timeout=300)
    outcomes = parse_junit(report) if report.exists() else []
    return nodes, outcomes, proc.stdout[-3000:] + proc.stderr[-2000:]


@pytest.fixture(scope="module")
def trips(edition, tmp_path_factory):
    """Every module's round trip, two at a time (each runs in its own processes)."""
    work = tmp_path_factory.mktemp("trips")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("PYTHONPATH", str(ROOT))  # a solved tinytorch, behind each copy's root
        patch.setenv("NO_COLOR", "1")
        with ThreadPoolExecutor(max_workers=2) as pool:
            futures = {name: pool.submit(round_trip, edition[0], work, name) for name in MODULES}
            return {name: _outcome(future) for name, future in futures.items()}


def _outcome(future) -> dict:
    """A module's round trip, or the error that stopped it (so that only that module fails)."""
    try:
        return future.result()
    except Exception:  # noqa: BLE001 - reported by that module's test
        return {"error": traceback.format_exc()}


def test_every_module_is_released_with_its_stubs(edition):
    folder, stubs = edition
    for module in COURSE.modules:
        markers = len(SOLUTION_MARKER.findall(module.dev_file.read_text(encoding="utf-8")))
        assert len(stubs[module.name]) == markers, module.name
        released = (folder / module.dev_file.relative_to(ROOT)).read_text(encoding="utf-8")
        assert not SOLUTION_MARKER.search(released)
        assert (folder / module.notebook.relative_to(ROOT)).exists()
    assert sorted(p.name for p in (folder / "tinytorch" / "core").iterdir()) == ["__init__.py"]


@pytest.mark.parametrize("name", MODULES)
def test_stubs_fail_by_name_then_the_solution_passes(name, edition, trips, samples):
    stubs, trip = edition[1][name], trips[name]
    assert "error" not in trip, trip.get("error")
    stubbed, solved = trip["stubbed"], trip["solved"]
    if stubs:
        assert not stubbed.ok
        assert stubbed.not_implemented and set(stubbed.not_implemented) <= set(stubs), (stubbed.not_implemented, stubs)
        failures = [t.message for t in stubbed.tests if not t.passed]
        assert any(m.startswith("NotImplementedError: TODO: implement ") for m in failures), failures
    assert solved.ok, solved.error + "\n" + solved.output[-2000:]
    assert solved.not_implemented == [] and solved.tests
    nodes, outcomes, output = samples
    mine = [t for t in outcomes if t.name == nodes[name] or t.name.startswith(nodes[name] + "[")]
    assert mine and all(t.passed and not t.skipped for t in mine), f"{nodes[name]}:\n{output}"
