"""A student edition's notebooks run where the website's launch cards open them: Binder and Colab.

The course is released with its repository (as for its website), and a student finishes the
cnn module's prerequisites (tensor, activations, layers, networks: the instructor's solutions
stand in for their work) and commits. Then, offline:

* **Binder**: repo2docker's steps by hand. A fresh environment (a venv that sees this one's
  packages through a .pth file, so pip installs nothing but the edition, with no index and no
  build isolation), ``pip install -r binder/requirements.txt`` in the edition's root, then
  ``binder/postBuild``; the cnn notebook's first cells then run in a real kernel of that
  environment, in the notebook's folder, as Binder opens it.
* **Colab**: Colab opens the notebook alone. A kernel of another fresh environment, in an empty
  home folder, with a stand-in ``google.colab`` module, runs the notebook's first cell (its
  repository pointed at the edition's git repository on disk), then the notebook's imports.

Both times the student's finished modules compute and the cnn module is a stub naming what to
write; the course page's `from activations_dev import ReLU` works in a cell and in a `!python`
(Binder: ``binder/start`` sets the session's environment; Colab: the first cell). In Colab,
`!tito test` tests the notebook as the student edited it there, not the clone's copy. The first
cell does nothing outside Colab, and source and notebook stay in step with it.
"""

import asyncio
import json
import os
import shutil
import subprocess
import sys
import sysconfig
import types
from pathlib import Path

import pytest
from tiny_course import flat

nbformat = pytest.importorskip("nbformat")
pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")
pytest.importorskip("wheel")  # setuptools before 70.1 needs it to build an editable install offline

from jupyter_client.kernelspec import KernelSpecManager  # noqa: E402
from jupyter_client.manager import AsyncKernelManager  # noqa: E402
from nbclient import NotebookClient  # noqa: E402

from tito.course import Course  # noqa: E402
from tito.editions.colab import colab_cell, save_notebook, with_colab_cell  # noqa: E402
from tito.notebooks.convert import from_notebook, jupytext_header, to_notebook  # noqa: E402
from tito.editions.release import release  # noqa: E402

from course_root import ROOT
REPOSITORY = "https://github.com/me/student"
FINISHED = ("setup", "tensor", "activations", "layers", "networks")
CNN = "modules/source/06_cnn"

# After the notebook's imports: what the student's package is made of, and that it computes.
CHECK = """\
import os, sys, tinytorch.core.tensor, tinytorch.core.cnn
print("TENSOR", tinytorch.core.tensor.__file__)
print("CWD", os.getcwd())
print("RELU", ReLU()(Tensor([-1.0, 2.0])).data.tolist())
try:
    tinytorch.core.cnn.conv2d_naive(np.ones((3, 3)), np.ones((2, 2)))
except NotImplementedError as stub:
    print("STUB", stub)
"""
# The course page's "Manual Testing Examples" import from the module folders (activations_dev is
# not in the notebook's folder), in the kernel and in a `!` command.
MODULE_PATH = """\
from activations_dev import ReLU as PageReLU
from cnn_dev import Conv2D, MaxPool2D, Flatten
print("PAGE RELU", PageReLU()(Tensor([-3.0, 4.0])).data.tolist())
"""
SHELL_MODULE_PATH = '!python -c "import activations_dev; print(\'SHELL\', activations_dev.__name__)"'
# Colab: a stand-in google.colab whose page holds the notebook saved at {page}, as the student
# edited it in Colab (google.colab._message.blocking_request("get_ipynb") answers {"ipynb": ...}).
FAKE_COLAB = """\
import json, sys, types
colab = sys.modules["google.colab"] = types.ModuleType("google.colab")
colab._message = sys.modules["google.colab._message"] = types.ModuleType("google.colab._message")
def blocking_request(request_type, request="", timeout_sec=5, parent=None):
    assert request_type == "get_ipynb", request_type
    with open({page!r}, encoding="utf-8") as page:
        return {{"ipynb": json.load(page)}}
colab._message.blocking_request = blocking_request
"""


def git(*args, cwd):
    subprocess.run(["git", "-c", "user.name=Student", "-c", "user.email=s@example.org", *args], cwd=cwd,
                   check=True, capture_output=True)


@pytest.fixture(scope="module")
def edition(tmp_path_factory):
    """The course released with its repository; the cnn module's prerequisites finished and committed."""
    course = Course(ROOT)
    out = tmp_path_factory.mktemp("hosted") / "student"
    release(course, course.modules, out, repository=REPOSITORY)
    for name in FINISHED:
        module = course.get(name)
        solved = with_colab_cell(module.source(), colab_cell(module, REPOSITORY))
        (out / module.dev_file.relative_to(ROOT)).write_text(solved, encoding="utf-8")
    git("init", "-q", "-b", "main", cwd=out)
    git("add", "-A", cwd=out)
    git("commit", "-q", "-m", "my modules", cwd=out)
    return out


def fresh_environment(folder: Path) -> tuple[Path, dict]:
    """A venv seeing this environment's packages (no downloads), and the environment to run it in."""
    subprocess.run([sys._base_executable, "-m", "venv", "--without-pip", str(folder)], check=True)
    site = next((folder / "lib").glob("python*/site-packages"))
    (site / "this-environment.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV", "TITO_ROOT")}
    env.update(PATH=f"{folder / 'bin'}{os.pathsep}{env.get('PATH', '')}", PIP_NO_INDEX="1",
               PIP_NO_BUILD_ISOLATION="0", PIP_DISABLE_PIP_VERSION_CHECK="1", NO_COLOR="1")
    return folder / "bin" / "python", env


def run_cells(python: Path, cells: list[str], cwd: Path, env: dict, kernels: Path, launcher=()) -> str:
    """Run ``cells`` in one real kernel of ``python`` in ``cwd``, started through ``launcher``
    (e.g. Binder's start script): the text they printed."""
    spec = kernels / "venv"
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [*map(str, launcher), str(python), "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "venv", "language": "python"}))
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])

    async def run():
        manager = AsyncKernelManager(kernel_name="venv",
                                     kernel_spec_manager=KernelSpecManager(kernel_dirs=[str(kernels)]))
        await manager.start_kernel(env=env, cwd=str(cwd))
        try:
            await NotebookClient(notebook, km=manager, timeout=120, kernel_name="venv").async_execute()
        finally:
            await manager.shutdown_kernel(now=True)

    asyncio.run(run())
    return "".join(out.get("text", "") for cell in notebook.cells for out in cell.outputs)


def colab_page(notebook_path: Path, solved: str) -> dict:
    """The released notebook as Colab's page holds it once the student wrote the function whose
    cell has ``solved`` (the instructor's cell): Colab's metadata on every cell."""
    page = json.loads(notebook_path.read_text(encoding="utf-8"))
    module = Course(ROOT).get("cnn")
    solution = next(c.source for c in to_notebook(module.source(), module).cells if solved in c.source)
    for number, cell in enumerate(page["cells"]):
        if solved in "".join(cell["source"]):
            cell["source"] = solution.splitlines(keepends=True)
        cell["metadata"].update(id=f"cell{number}", colab={"base_uri": "https://localhost:8080/"})
    return page


def first_cells(notebook_path: Path) -> list[str]:
    """The notebook's code cells up to its imports (the one importing tinytorch.core.networks)."""
    cells = [c.source for c in nbformat.read(notebook_path, as_version=4).cells if c.cell_type == "code"]
    last = next(i for i, source in enumerate(cells) if "from tinytorch.core.networks import" in source)
    return cells[:last + 1]


def test_binder_installs_the_course_exports_the_modules_and_the_notebook_runs(edition, tmp_path):
    edition = shutil.copytree(edition, tmp_path / "binder-checkout", symlinks=True)  # Binder writes into it
    python, env = fresh_environment(tmp_path / "binder-env")
    env["HOME"] = str(tmp_path / "home")
    installed = subprocess.run([str(python), "-m", "pip", "install", "-r", "binder/requirements.txt"], cwd=edition,
                               env=env, capture_output=True, text=True, timeout=120)
    assert installed.returncode == 0, installed.stdout + installed.stderr
    built = subprocess.run([str(edition / "binder" / "postBuild")], cwd=edition, env=env, capture_output=True,
                           text=True, timeout=120)
    assert built.returncode == 0, built.stdout + built.stderr
    assert "✓ 02_tensor: wrote tinytorch/core/tensor.py" in built.stdout
    assert "✓ 06_cnn: wrote tinytorch/core/cnn.py" in built.stdout
    tensor = (edition / "modules/source/02_tensor/tensor_dev.ipynb").read_text()
    assert "TODO: implement Tensor.__init__" not in tensor  # the notebook carries the work done in the .py

    # Binder starts the session (JupyterLab, its kernels) through binder/start: ENTRYPOINT, command as arguments
    start = edition / "binder" / "start"
    assert os.access(start, os.X_OK)
    printed = run_cells(python, first_cells(edition / CNN / "cnn_dev.ipynb") + [CHECK, MODULE_PATH, SHELL_MODULE_PATH],
                        edition / CNN, env, tmp_path / "kernels", launcher=[start])
    assert f"TENSOR {edition / 'tinytorch/core/tensor.py'}\n" in printed
    assert "RELU [0.0, 2.0]\n" in printed
    assert "STUB TODO: implement conv2d_naive\n" in printed
    assert "PAGE RELU [0.0, 4.0]\n" in printed
    assert "SHELL activations_dev" in printed
    assert not (tmp_path / "home" / "student").exists()  # the Colab cell ran and did nothing


def test_colab_fetches_the_repository_installs_and_exports_it_then_the_notebook_runs(edition, tmp_path):
    python, env = fresh_environment(tmp_path / "colab-env")
    home = tmp_path / "content"
    home.mkdir()
    env["HOME"] = str(home)
    cells = first_cells(edition / CNN / "cnn_dev.ipynb")
    assert cells[0].count(f'REPOSITORY = "{REPOSITORY}"') == 1
    cells[0] = cells[0].replace(f'REPOSITORY = "{REPOSITORY}"', f"REPOSITORY = {str(edition)!r}")

    page = tmp_path / "colab-page.ipynb"  # the student implements conv2d_naive in Colab, saves nothing
    page.write_text(json.dumps(colab_page(edition / CNN / "cnn_dev.ipynb", "def conv2d_naive")), encoding="utf-8")
    again = "colab_session(course, MODULE_FOLDER)"  # the setup cell run twice: one hook, one save per cell

    printed = run_cells(python, [FAKE_COLAB.format(page=str(page))] + cells + [CHECK, MODULE_PATH, SHELL_MODULE_PATH,
                        again, "!tito test --module cnn -k conv2d_naive"], home, env, tmp_path / "kernels")
    clone = home / "student"
    assert f"TENSOR {clone / 'tinytorch/core/tensor.py'}\n" in printed
    assert f"CWD {clone / CNN}\n" in printed
    assert "RELU [0.0, 2.0]\n" in printed
    assert "STUB TODO: implement conv2d_naive\n" in printed
    assert "✓ 05_networks: wrote tinytorch/core/networks.py" in printed  # tito's output is shown
    assert "PAGE RELU [0.0, 4.0]\n" in printed
    assert "SHELL activations_dev" in printed
    # !tito test: the notebook as edited in Colab, saved into the clone, is what is tested
    tested = printed[printed.index("== tito test 06_cnn =="):]
    not_yet = next(line for line in tested.splitlines() if line.startswith("Not implemented yet ("))
    assert not_yet.startswith("Not implemented yet (9): conv_output_size,") and "conv2d_naive" not in not_yet
    assert "PASS test_unit_conv2d_naive" in tested and "pytest tests: 2/2 passed" in tested
    assert printed.count(f"tito: saved this notebook as {CNN}/cnn_dev.ipynb and its code as {CNN}/cnn_dev.py") == 1
    source = (clone / CNN / "cnn_dev.py").read_text(encoding="utf-8")
    assert "TODO: implement conv2d_naive" not in source and "TODO: implement Conv2D" in source
    assert 'colab={' not in source and ' id="' not in source  # Colab's cell metadata stays out of the .py


def test_the_first_cell_does_nothing_outside_colab_and_the_notebook_converts_back_to_the_source(edition):
    for folder in sorted((edition / "modules" / "source").iterdir()):  # as released (.tito/release)
        source = next((edition / ".tito" / "release" / folder.name).glob("*_dev.py")).read_text(encoding="utf-8")
        notebook = next(folder.glob("*_dev.ipynb")).read_text(encoding="utf-8")
        assert from_notebook(notebook, folder.name, jupytext_header(source)) == source, folder.name
        cells = [c for c in nbformat.reads(notebook, as_version=4).cells if c.cell_type == "code"]
        assert f'REPOSITORY = "{REPOSITORY}"' in cells[0].source
        assert f'MODULE_FOLDER = "modules/source/{folder.name}"' in cells[0].source
    namespace = {}
    exec(cells[0].source, namespace)  # noqa: S102 - the cell, outside Colab
    assert sorted(namespace) == ["__builtins__", "sys"]
    readme = flat((edition / "README.md").read_text(encoding="utf-8"))
    assert "commit and push your work first" in readme
    assert "`binder/start` puts every module folder on the import path" in readme
    assert "it is your work in Colab that is tested" in readme
    first = Course(ROOT).in_prerequisite_order()[0]  # the README's example: where a student starts (smoke test)
    notebook = f"modules/source/{first.dirname}/{first.notebook.name}"
    assert f"https://mybinder.org/v2/gh/me/student/main?labpath={notebook}" in readme
    assert f"https://colab.research.google.com/github/me/student/blob/main/{notebook}" in readme


def test_the_cell_goes_before_the_first_code_cell_and_only_with_a_repository(tmp_path):
    cell = "# %%\nCOLAB = 1\n\n"
    assert with_colab_cell("# %% [markdown]\n# # Title\n\n# %%\nx = 1\n", cell) == \
        "# %% [markdown]\n# # Title\n\n# %%\nCOLAB = 1\n\n# %%\nx = 1\n"
    assert with_colab_cell("# %%\nx = 1\n", cell) == "# %%\nCOLAB = 1\n\n# %%\nx = 1\n"
    course = Course(ROOT)
    plain = tmp_path / "plain"
    release(course, [course.get("setup")], plain)
    assert "google.colab" not in (plain / "modules/source/01_setup/setup_dev.py").read_text(encoding="utf-8")
    post_build = plain / "binder" / "postBuild"  # Binder's configuration comes always
    assert os.access(post_build, os.X_OK) and "tito export --all --keep-going" in post_build.read_text()
    assert (plain / "binder" / "requirements.txt").read_text().splitlines()[-1] == "-e .[viz,tests]"  # hypothesis
    shutil.rmtree(plain)


@pytest.mark.parametrize("answer", [TimeoutError("timed out after 30 s"), {"error": "no notebook"}])
def test_a_notebook_colab_does_not_send_leaves_the_clone_as_it_is_and_says_so(edition, monkeypatch, answer):
    def blocking_request(request_type, request="", timeout_sec=5, parent=None):
        if isinstance(answer, Exception):
            raise answer
        return answer

    colab = types.ModuleType("google.colab")
    colab._message = types.SimpleNamespace(blocking_request=blocking_request)
    monkeypatch.setitem(sys.modules, "google.colab", colab)
    module = Course(edition).get("cnn")
    before = module.dev_file.read_bytes(), module.notebook.read_bytes()
    said = save_notebook(module)
    assert said.startswith(f"tito: could not save this notebook into {module.notebook} (")
    assert ("timed out after 30 s" if isinstance(answer, Exception) else "Colab sent no notebook") in said
    assert "File > Download .ipynb" in said
    assert (module.dev_file.read_bytes(), module.notebook.read_bytes()) == before
