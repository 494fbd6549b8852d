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
write. The first cell does nothing outside Colab, and source and notebook stay in step with it.
"""

import asyncio
import json
import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")
pytest.importorskip("wheel")  # setuptools before 70.1 needs it to build an editable install offline

from jupyter_client.kernelspec import KernelSpecManager  # noqa: E402
from jupyter_client.manager import AsyncKernelManager  # noqa: E402
from nbclient import NotebookClient  # noqa: E402

from tito.course import Course  # noqa: E402
from tito.editions.colab import colab_cell, with_colab_cell  # noqa: E402
from tito.editions.notebooks import from_notebook, jupytext_header  # noqa: E402
from tito.editions.release import release  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
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
FAKE_COLAB = 'import sys, types\nsys.modules["google.colab"] = types.ModuleType("google.colab")\n'


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


def run_cells(python: Path, cells: list[str], cwd: Path, env: dict, kernels: Path) -> str:
    """Run ``cells`` in one real kernel of ``python`` in ``cwd``: the text they printed."""
    spec = kernels / "venv"
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [str(python), "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "venv", "language": "python"}))
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])

    async def run():
        manager = AsyncKernelManager(kernel_name="venv", kernel_spec_manager=KernelSpecManager(kernel_dirs=[str(kernels)]))
        await manager.start_kernel(env=env, cwd=str(cwd))
        try:
            await NotebookClient(notebook, km=manager, timeout=120, kernel_name="venv").async_execute()
        finally:
            await manager.shutdown_kernel(now=True)

    asyncio.run(run())
    return "".join(out.get("text", "") for cell in notebook.cells for out in cell.outputs)


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

    printed = run_cells(python, first_cells(edition / CNN / "cnn_dev.ipynb") + [CHECK], edition / CNN, env,
                        tmp_path / "kernels")
    assert f"TENSOR {edition / 'tinytorch/core/tensor.py'}\n" in printed
    assert "RELU [0.0, 2.0]\n" in printed
    assert "STUB TODO: implement conv2d_naive\n" in printed
    assert not (tmp_path / "home" / "student").exists()  # the Colab cell ran and did nothing


def test_colab_fetches_the_repository_installs_and_exports_it_then_the_notebook_runs(edition, tmp_path):
    python, env = fresh_environment(tmp_path / "colab-env")
    home = tmp_path / "content"
    home.mkdir()
    env["HOME"] = str(home)
    cells = first_cells(edition / CNN / "cnn_dev.ipynb")
    assert cells[0].count(f'REPOSITORY = "{REPOSITORY}"') == 1
    cells[0] = cells[0].replace(f'REPOSITORY = "{REPOSITORY}"', f"REPOSITORY = {str(edition)!r}")

    printed = run_cells(python, [FAKE_COLAB] + cells + [CHECK], home, env, tmp_path / "kernels")
    clone = home / "student"
    assert f"TENSOR {clone / 'tinytorch/core/tensor.py'}\n" in printed
    assert f"CWD {clone / CNN}\n" in printed
    assert "RELU [0.0, 2.0]\n" in printed
    assert "STUB TODO: implement conv2d_naive\n" in printed
    assert "✓ 05_networks: wrote tinytorch/core/networks.py" in printed  # tito's output is shown


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
    readme = " ".join((edition / "README.md").read_text(encoding="utf-8").split())
    assert "commit and push your work first" in readme
    last = Course(ROOT).in_prerequisite_order()[-1]  # the README's example: the course's last module
    notebook = f"modules/source/{last.dirname}/{last.notebook.name}"
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
