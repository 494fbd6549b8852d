"""The student's round trip on every module of the real course, in a released edition.

For each module, in its own copy of the edition with its prerequisites solved (the
reference sources copied in and exported), while a solved tinytorch (the instructor's)
sits on PYTHONPATH behind the copy's root:

1. the untouched stubs fail the inline step with NotImplementedError naming the
   functions not implemented;
2. with the module's solution copied back, it exports;
3. in a copy with every module solved, every module's package imports and every test of
   ``tests/NN_name/`` is collected (the edition holds all they need).

The tests themselves run once, in ``tito test --all`` (``make test``) on the instructor's
course; test_release.py runs ``tito test`` in an edition of the small course. The modules
run two at a time.
"""

import re
import shutil
import subprocess
import sys
import traceback
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tito.course import Course
from tito.exporter import export
from tito.editions.release import release
from tito.testing.processes import subprocess_environment
from tito.testing.runner import run_inline

from course_root import ROOT
COURSE = Course(ROOT)
MODULES = [m.name for m in COURSE.in_prerequisite_order()]
SOLUTION_MARKER = re.compile(r"^\s*### BEGIN SOLUTION\s*$", re.MULTILINE)


@pytest.fixture(scope="module")
def edition(tmp_path_factory):
    """The whole course released once; the report says which functions became stubs."""
    out = tmp_path_factory.mktemp("roundtrip") / "edition"
    report = release(COURSE, COURSE.modules, out)
    return out, {item.module.name: item.stubs for item in report.modules}


@pytest.fixture(scope="module")
def solved(edition, tmp_path_factory):
    """A copy of the edition with every module's reference solution copied back and exported:
    (its root, {module: its generated file, or the error that stopped its export})."""
    root = tmp_path_factory.mktemp("solved") / "edition"
    shutil.copytree(edition[0], root)
    exported = {}
    for name in MODULES:
        module = COURSE.get(name)
        shutil.copy2(module.dev_file, root / module.dev_file.relative_to(ROOT))
        try:
            exported[name] = export(Course(root).get(name), force=True)[0].target
        except Exception:  # noqa: BLE001 - reported by that module's test
            exported[name] = traceback.format_exc()
    return root, exported


def round_trip(edition_folder: Path, solved: tuple, work: Path, name: str) -> dict:
    """The module's stubs run in a copy of the edition whose prerequisites are solved."""
    root = work / name
    shutil.copytree(edition_folder, root)
    solved_root, exported = solved
    for prereq in COURSE.prerequisites_of(COURSE.get(name)):
        shutil.copy2(prereq.dev_file, root / prereq.dev_file.relative_to(ROOT))
        shutil.copy2(exported[prereq.name], root / exported[prereq.name].relative_to(solved_root))
    return {"stubbed": run_inline(Course(root).get(name))}


COLLECT = """\
import importlib, sys
for name in sys.argv[1:]:
    importlib.import_module(name)
"""


@pytest.fixture(scope="module")
def solved_copy(solved):
    """In the solved copy: (every package imported, pytest collecting every module's tests)."""
    root, exported = solved
    packages = [".".join(path.relative_to(root).with_suffix("").parts) for path in exported.values()
                if isinstance(path, Path)]
    env = subprocess_environment(root)
    imported = subprocess.run([sys.executable, "-c", COLLECT, *packages], cwd=root, env=env, capture_output=True,
                              text=True, timeout=300)
    collected = subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider",
                                *(f"tests/{COURSE.get(name).dirname}" for name in MODULES)],
                               cwd=root, env=dict(env, PYTEST_DISABLE_PLUGIN_AUTOLOAD="1"), capture_output=True,
                               text=True, timeout=300)
    return imported, collected


@pytest.fixture(scope="module")
def trips(edition, solved, tmp_path_factory):
    """Every module's round trip, two at a time (each runs in its own processes)."""
    work = tmp_path_factory.mktemp("trips")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("PYTHONPATH", str(ROOT))  # a solved tinytorch, behind each copy's root
        patch.setenv("NO_COLOR", "1")
        with ThreadPoolExecutor(max_workers=2) as pool:
            futures = {name: pool.submit(round_trip, edition[0], solved, work, name) for name in MODULES}
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
def test_stubs_fail_by_name_then_the_solution_exports(name, edition, trips, solved):
    stubs, trip = edition[1][name], trips[name]
    assert "error" not in trip, trip.get("error")
    stubbed = trip["stubbed"]
    if stubs:
        assert not stubbed.ok
        assert stubbed.not_implemented and set(stubbed.not_implemented) <= set(stubs), (stubbed.not_implemented, stubs)
        failures = [t.message for t in stubbed.tests if not t.passed]
        assert any(m.startswith("NotImplementedError: TODO: implement ") for m in failures), failures
    exported = solved[1][name]
    assert isinstance(exported, Path) and exported.is_file(), exported


def test_a_solved_edition_imports_and_collects_every_test(solved_copy):
    imported, collected = solved_copy
    assert imported.returncode == 0, imported.stderr[-3000:]
    assert collected.returncode == 0, collected.stdout[-3000:] + collected.stderr[-2000:]
    expected = subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider",
                               *(f"tests/{COURSE.get(name).dirname}" for name in MODULES)],
                              cwd=ROOT, env=dict(subprocess_environment(ROOT), PYTEST_DISABLE_PLUGIN_AUTOLOAD="1"),
                              capture_output=True, text=True, timeout=300)
    ids = [line for line in collected.stdout.splitlines() if "::" in line]
    assert ids and ids == [line for line in expected.stdout.splitlines() if "::" in line]


def test_pytest_k_runs_a_students_module_before_the_later_ones_exist(edition, tmp_path):
    """The course page's `python -m pytest tests/ -k NAME`, at the first module: the tests of modules
    not exported yet are not collected (their imports would stop the run) and the summary says so."""
    root = tmp_path / "edition"
    shutil.copytree(edition[0], root)
    first = COURSE.in_prerequisite_order()[0]
    shutil.copy2(first.dev_file, root / first.dev_file.relative_to(ROOT))
    export(Course(root).get(first.name))
    env = dict(subprocess_environment(root), PYTEST_DISABLE_PLUGIN_AUTOLOAD="1")
    run = subprocess.run([sys.executable, "-m", "pytest", "tests/", "-k", first.name, "-q", "-p", "no:cacheprovider"],
                         cwd=root, env=env, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]
    assert re.search(r"^\d+ passed", run.stdout.splitlines()[-1])
    later = [m for m in COURSE.in_prerequisite_order() if m.name != first.name]
    assert [line for line in run.stdout.splitlines() if line.startswith("not collected:")] == [
        f"not collected: tests/{m.dirname} (tinytorch/core/{m.name}.py is not exported yet: "
        f"tito export --module {m.name})" for m in later]


@pytest.mark.parametrize("name", MODULES)
def test_a_modules_tests_ask_only_what_a_student_has(name):
    """tests/NN_name/ is released: its tests may use the student's package and the module's README,
    not the instructor's source text (a student's has no solution blocks) nor tito itself."""
    module = COURSE.get(name)
    for path in sorted(module.tests_dir.glob("test_*.py")):
        text = path.read_text(encoding="utf-8")
        assert not re.search(r"^\s*(from|import) tito\b", text, re.M), f"{path.name} imports tito"
        assert "_dev.py" not in text and "BEGIN SOLUTION" not in text, f"{path.name} reads a module source"


BENCHMARK_PATH = re.compile(r"benchmarks/[\w.]+")


def test_every_benchmark_a_students_page_names_is_in_the_edition(edition):
    """Module texts, notebooks, the edition's README and the milestones (the website's pages come
    from them) send students only to benchmark files their edition has."""
    folder = edition[0]
    pages = [*folder.glob("modules/source/*/*"), folder / "README.md", *folder.glob("tito/milestones/*.py")]
    named = {}
    for page in pages:
        if page.suffix in (".md", ".py", ".ipynb"):
            for path in BENCHMARK_PATH.findall(page.read_text(encoding="utf-8")):
                named.setdefault(path.rstrip("."), page.relative_to(folder).as_posix())
    assert "benchmarks/bench_conv.py" in named  # the cnn module's closing note: "run it to get your own"
    missing = {path: page for path, page in named.items() if not (folder / path).is_file()}
    assert missing == {}
    assert not (folder / "benchmarks/bench_milestone.py").exists()  # a second Conv2D forward: a solution


def test_the_shipped_benchmark_runs_against_the_students_own_package(solved):
    """bench_conv.py in a solved edition: the student's Conv2D, timed (PyTorch aside)."""
    root = solved[0]
    result = subprocess.run([sys.executable, "benchmarks/bench_conv.py", "--mode", "one-process", "--rounds", "1",
                             "--no-loops", "--no-torch"], cwd=root, capture_output=True, text=True, timeout=300,
                            env=dict(subprocess_environment(root), PYTHONPATH=str(root)))
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    rows = [line for line in result.stdout.splitlines() if line.startswith("| cifar") or line.startswith("| small")]
    assert len(rows) == 2 and all(" ms |" in row or " µs |" in row for row in rows), result.stdout


NOT_WRITTEN = re.compile(r"This benchmark runs code you have not written yet \(TODO: implement [\w.]+\): write it "
                         r"\(`tito test --module (tensor|cnn)` says what is left\), then run the benchmark again\.")
LAYERS_NOT_EXPORTED = re.compile(re.escape("This benchmark times your tinytorch.core.layers, which is not exported "
                                           "yet: run `tito export --all` (or `tito test --module NAME`) first."))


@pytest.mark.parametrize("mode, exported, said", [
    ("own-processes", MODULES, NOT_WRITTEN),  # in the benchmark's worker process
    ("one-process", MODULES, NOT_WRITTEN),
    ("own-processes", ["tensor", "cnn"], LAYERS_NOT_EXPORTED),  # cnn imports layers
], ids=["stub-in-worker", "stub-in-process", "import-not-exported"])
def test_a_shipped_benchmark_stops_with_one_line_at_what_is_not_ready(edition, tmp_path, mode, exported, said):
    """Exported stubs, or a module the timed one imports not exported: one line saying what to
    do, and no traceback."""
    root = tmp_path / "edition"
    shutil.copytree(edition[0], root)
    for name in exported:
        export(Course(root).get(name), force=True)
    result = subprocess.run([sys.executable, "benchmarks/bench_conv.py", "--mode", mode, "--rounds", "1",
                             "--no-loops", "--no-torch"], cwd=root, capture_output=True, text=True, timeout=300,
                            env=dict(subprocess_environment(root), PYTHONPATH=str(root)))
    assert result.returncode == 3 and "Traceback" not in result.stderr, result.stderr[-2000:]
    assert said.fullmatch(result.stderr.strip()), result.stderr


def test_a_shipped_benchmark_before_any_export_says_what_to_run(edition):
    root = edition[0]
    assert not (root / "tinytorch/core/cnn.py").exists()
    result = subprocess.run([sys.executable, "benchmarks/bench_conv.py", "--no-torch"], cwd=root,
                            capture_output=True, text=True, timeout=120,
                            env=dict(subprocess_environment(root), PYTHONPATH=str(root)))
    assert result.returncode == 3 and "Traceback" not in result.stderr
    assert result.stderr.strip() == ("This benchmark times your tinytorch.core.tensor, which is not exported yet: "
                                     "run `tito export --all` (or `tito test --module NAME`) first.")
