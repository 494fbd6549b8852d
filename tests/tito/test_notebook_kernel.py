"""Every module's notebook, run top to bottom in a real Jupyter kernel (nbclient + ipykernel).

* The instructor's notebook (the source as `tito notebooks` writes it) runs without an error,
  and its inline tests' Rich feedback renders in the notebook (as HTML, the way Rich does in
  Jupyter): one "🔬 Unit Test" display per `unit_test(...)` call of the source.
* The released stub notebook (from `tito release`) stops at the first function still to
  implement, with the NotImplementedError that names it.
* The cnn notebook draws its pictures in the notebook and saves its PNG in the outputs folder
  (here $TINYTORCH_OUTPUTS), writing nothing into the temporary folder every user shares
  (here $TMPDIR): the same code runs in `tito test --module cnn`'s inline step.

Both sets run with the instructor's solved package importable (a student's prerequisites are
their own solved, exported modules). To stay fast, two kernels run side by side, one per set,
and each is reused: before each notebook a first cell clears the namespace (``%reset -f``),
forgets every imported ``tinytorch`` module and moves into the module's folder, as a fresh
kernel would find it.
"""

import asyncio
import os
import re

import pytest

nbformat = pytest.importorskip("nbformat")
pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

from jupyter_client.manager import AsyncKernelManager  # noqa: E402
from nbclient import NotebookClient  # noqa: E402
from nbclient.exceptions import CellExecutionError  # noqa: E402

from tito.course import Course  # noqa: E402
from tito.notebooks.convert import to_notebook  # noqa: E402
from tito.editions.release import release  # noqa: E402
from tito.format import unimplemented  # noqa: E402

from course_root import ROOT
COURSE = Course(ROOT)
MODULES = [m.name for m in COURSE.in_prerequisite_order()]

FRESH_START = """\
%reset -f
import os as _os, sys as _sys
[_sys.modules.pop(n) for n in list(_sys.modules) if n == "tinytorch" or n.startswith("tinytorch.")]
_os.chdir({folder!r})
del _os, _sys
"""


async def run_in_one_kernel(jobs, env) -> dict:
    """Run each (name, notebook, folder) in turn in one kernel: {name: None or the CellExecutionError}."""
    manager = AsyncKernelManager(kernel_name="python3")
    await manager.start_kernel(env=env, cwd=str(ROOT))
    outcomes = {}
    try:
        for name, notebook, folder in jobs:
            notebook.cells.insert(0, nbformat.v4.new_code_cell(FRESH_START.format(folder=str(folder))))
            client = NotebookClient(notebook, km=manager, timeout=300, kernel_name="python3")
            try:
                await client.async_execute()
                outcomes[name] = None
            except CellExecutionError as error:
                outcomes[name] = error
    finally:
        await manager.shutdown_kernel(now=True)
    return outcomes


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Every solved and every stub notebook, executed: {"solved"|"stub": {name: (notebook, error)}}."""
    edition = tmp_path_factory.mktemp("kernel") / "edition"
    release(COURSE, COURSE.modules, edition)
    solved, stubs = [], []
    for module in COURSE.in_prerequisite_order():
        solved.append((module.name, to_notebook(module.dev_file.read_text(encoding="utf-8"), module), module.folder))
        folder = edition / module.folder.relative_to(ROOT)
        stubs.append((module.name, nbformat.read(folder / module.notebook.name, as_version=4), folder))
    shared_tmp, outputs = tmp_path_factory.mktemp("tmpdir"), tmp_path_factory.mktemp("outputs")
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TMPDIR": str(shared_tmp), "TINYTORCH_OUTPUTS": str(outputs)}
    env.pop("MPLBACKEND", None)
    env.pop("NO_COLOR", None)  # a student's Jupyter, where feedback is Rich's HTML (CI sets NO_COLOR for its log)

    async def both():
        return await asyncio.gather(run_in_one_kernel(solved, env), run_in_one_kernel(stubs, env))

    solved_errors, stub_errors = asyncio.run(both())
    return {
        "solved": {name: (notebook, solved_errors[name]) for name, notebook, _ in solved},
        "stub": {name: (notebook, stub_errors[name]) for name, notebook, _ in stubs},
        "edition": edition, "tmp": shared_tmp, "outputs": outputs,
    }


def rich_displays(notebook, text: str) -> list:
    """The HTML displays (how Rich prints in Jupyter) of the notebook whose text holds ``text``."""
    return [output for cell in notebook.cells if cell.cell_type == "code" for output in cell.get("outputs", [])
            if output.get("output_type") == "display_data" and text in output.get("data", {}).get("text/html", "")]


@pytest.mark.parametrize("name", MODULES)
def test_solved_notebook_runs_top_to_bottom_with_its_feedback(runs, name):
    notebook, error = runs["solved"][name]
    assert error is None, f"{name}: {error}"
    calls = COURSE.get(name).dev_file.read_text(encoding="utf-8").count("unit_test(")
    assert calls and len(rich_displays(notebook, "🔬 Unit Test:")) == calls


@pytest.mark.parametrize("name", MODULES)
def test_stub_notebook_stops_at_the_first_function_to_implement(runs, name):
    notebook, error = runs["stub"][name]
    source = (runs["edition"] / COURSE.get(name).dev_file.relative_to(ROOT)).read_text(encoding="utf-8")
    first, _ = unimplemented(source)[0]
    assert error is not None, f"{name}: the stub notebook ran to the end"
    assert (error.ename, error.evalue) == ("NotImplementedError", f"TODO: implement {first}")


def test_cnn_notebook_shows_its_pictures_and_keeps_out_of_the_shared_temp_folder(runs):
    notebook, _ = runs["solved"]["cnn"]
    printed = "".join(output.get("text", "") for cell in notebook.cells if cell.cell_type == "code"
                      for output in cell.get("outputs", []) if output.get("output_type") == "stream")
    assert "out[1, 2] = 8·1 + 9·0 + 13·0 + 14·-1 = -6" in printed  # the filter-sliding picture
    assert rich_displays(notebook, "map 15") and rich_displays(notebook, "✅ Edge filters respond")
    assert rich_displays(notebook, "📈 Progress: Visualisation ✓")
    assert list(runs["tmp"].iterdir()) == []
    png = runs["outputs"] / "cnn_demo_feature_maps.png"
    if rich_displays(notebook, "Feature maps saved as"):  # matplotlib is installed
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_a_cells_tito_test_tells_its_steps_line_by_line_not_with_a_spinner(course):
    """Student audit: a cell's `!tito test` runs on a pseudo-terminal (ipykernel's `!`), so Rich
    animated its spinner there, and the notebook kept every frame: a garbled first line such as
    `⠼ cnn: pytest ... done | pytest ...`. In a Jupyter kernel tito tells its steps line by line."""
    env = {key: value for key, value in os.environ.items() if key not in ("NO_COLOR", "TITO_ROOT", "MPLBACKEND")}
    env["PYTHONPATH"] = str(ROOT)  # colour stays on: ipykernel forces it (FORCE_COLOR), as in a student's Jupyter
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(
        "import sys\n!{sys.executable} -m tito test --module alpha\n!{sys.executable} -m tito test --all")])

    async def run():
        manager = AsyncKernelManager(kernel_name="python3")
        await manager.start_kernel(env=env, cwd=str(course.root))
        try:
            await NotebookClient(notebook, km=manager, timeout=120, kernel_name="python3").async_execute()
        finally:
            await manager.shutdown_kernel(now=True)

    asyncio.run(run())
    shown = "".join(output.get("text", "") for output in notebook.cells[0].outputs)
    text = re.sub(r"\x1b\[[0-9;]*m", "", shown)  # colours are fine; any other escape would move the cursor
    assert "\x1b" not in text and not re.search("[\u2800-\u28ff]", text), text  # no cursor moves, no spinner frame
    lines = text.replace("\r\n", "\n").splitlines()
    assert "-- inline ..." in lines and "-- pytest ..." in lines and "[2/2] 02_beta" in lines, text
    assert "Module alpha PASSED" in lines and "Module beta PASSED" in lines, text
