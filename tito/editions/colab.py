"""The first code cell of an edition's module: what makes its notebook run in Google Colab.

Colab opens a notebook alone, without the repository around it, so the modules it imports
(``tinytorch.core.tensor``: the student's own exports of earlier modules) are not there. The
cell fetches the edition's repository, installs it, exports every module (``tito export --all
--keep-going``: finished modules importable, unfinished ones stubs that name what to write) and
moves into the module's folder. It does so only when ``google.colab`` is imported, i.e. in
Colab; anywhere else (``tito test``, JupyterLab, Binder, grading) it imports ``sys`` and stops.

``tito release`` puts it into each module's source, where the repository is known; it is plain
Python (no ``!`` magics), so the source and its notebook convert into each other unchanged.

Once the course is cloned, the cell hands over to ``colab_session`` (tito is then importable from
the clone): the kernel and its ``!`` commands get the module folders on their import path, as
``bin/activate-tinytorch.sh`` gives them on a student's machine, and a cell that runs ``!tito``
first saves the notebook as the student sees it into the clone (``save_notebook``): ``!tito test``
runs in the clone, and would otherwise test the notebook as it came from GitHub.

The cell tells a student working in a fork to put the fork's URL into its ``REPOSITORY`` line:
``without_repository`` blanks that line's value, for ``tito.editions.release_digest``.
"""

from __future__ import annotations

import json
import os
import re
import sys
from pathlib import Path

from tito import format
from tito.course import Course, Module
from tito.files import write_atomically

CELL = '''\
# %%
# Google Colab opens this notebook alone, without the course around it. There, this cell fetches
# the course repository below (working in your own fork? put its URL there), installs it, exports
# your modules into its tinytorch/ (`tito export --all`) and moves into this module's folder, so
# that the cells below run as on your machine (`from cnn_dev import Conv2D` too). Run again, it
# fetches what you pushed since. `!tito` commands run in that copy of the course: before a cell
# that runs one, this notebook as you see it here is saved into the copy, so `!tito test` tests
# your work here. Anywhere else (your machine, Binder, `tito test`) this cell does nothing.
import sys

if "google.colab" in sys.modules:
    import os
    import subprocess

    REPOSITORY = {repository}
    MODULE_FOLDER = {folder}

    def _run(*command, must=True):
        done = subprocess.run(command, capture_output=True, text=True)
        print(done.stdout[-3000:] + done.stderr[-3000:])
        if must and done.returncode:
            raise RuntimeError(f"{{' '.join(command)}} failed (exit {{done.returncode}}): see above.")

    course = os.path.join(os.path.expanduser("~"), os.path.basename(REPOSITORY.rstrip("/")).removesuffix(".git"))
    if os.path.isdir(course):
        _run("git", "-C", course, "pull", "--ff-only", must=False)
    else:
        _run("git", "clone", "--depth", "1", REPOSITORY, course)
    _run(sys.executable, "-m", "pip", "install", "--quiet", "--editable", course + "[viz,tests]")
    os.chdir(os.path.join(course, MODULE_FOLDER))
    _run(sys.executable, "-m", "tito", "export", "--all", "--keep-going", must=False)
    if course not in sys.path:
        sys.path.insert(0, course)
    from tito.editions.colab import colab_session

    colab_session(course, MODULE_FOLDER)

'''


# The cell's REPOSITORY line with any URL, in a .py or in a notebook's JSON (where the line is a
# cell's line and its double quotes are escaped): the value, in double or single quotes, at most
# 500 bytes of neither quotes nor backslashes, on a line of its own.
REPOSITORY_LINE = re.compile(rb'((?:^|"|\\n)[ \t]*REPOSITORY[ \t]*=[ \t]*)'
                             rb'(?:\\?"[^"\\\r\n]{0,500}\\?"|\'[^\'"\\\r\n]{0,500}\')'
                             rb'(?=[ \t]*(?:\r?$|\\n|"))', re.MULTILINE)


def without_repository(data: bytes) -> bytes:
    """A module file's bytes (.py or notebook) with every REPOSITORY line's value made '""': the
    same whichever repository the edition was released with, or a fork put there. Linear in the
    size: no parsing, fit for a submission outside the sandbox."""
    return REPOSITORY_LINE.sub(rb'\1""', data) if b"REPOSITORY" in data else data


def fetches_the_course(module: Module) -> bool:
    """Whether the module's source (and so its notebook) starts with the cell that fetches the
    course in Colab: an edition released with ``--repository`` records that repository in each
    module's cell, one released without it has no such cell."""
    try:
        return REPOSITORY_LINE.search(module.dev_file.read_bytes()) is not None
    except OSError:
        return False


def colab_cell(module: Module, repository: str) -> str:
    """The cell, as percent-format source, for ``module`` of an edition at ``repository``."""
    folder = module.folder.relative_to(module.root).as_posix()
    return CELL.format(repository=json.dumps(repository), folder=json.dumps(folder))


def with_colab_cell(source: str, cell: str) -> str:
    """``source`` with ``cell`` before its first code cell (after its header and opening text)."""
    lines = source.splitlines(keepends=True)
    for index, line in enumerate(lines):
        if format.opens_code_cell(line):
            return "".join(lines[:index]) + cell + "".join(lines[index:])
    return source.rstrip("\n") + "\n\n" + cell.rstrip("\n") + "\n"


# --------------------------------------------------------------------------- in Colab, once cloned

# A cell that runs tito in a shell: `!tito test --module cnn`, `!cd ~/x && tito status`.
RUNS_TITO = re.compile(r"^[ \t]*!.*\btito\b", re.MULTILINE)
# What Colab adds to each cell's metadata; the module's .py would otherwise carry it.
COLAB_CELL_METADATA = ("id", "colab", "colab_type", "outputId", "executionInfo")
GET_NOTEBOOK_TIMEOUT = 30  # seconds: Colab's frontend sends the notebook, a big one takes a while


def colab_session(course: str, module_folder: str) -> None:
    """Set up this Colab kernel for the course cloned at ``course``, once the setup cell has
    installed and exported it:

    * the course root and every module folder on ``sys.path`` (this kernel) and on PYTHONPATH
      (its ``!`` commands), as ``bin/activate-tinytorch.sh`` puts them: ``from cnn_dev import
      Conv2D`` works in a cell and in ``!python``;
    * before a cell that runs ``!tito``, the notebook open in Colab is saved into the clone
      (``save_notebook``), so that ``!tito test`` tests the work done in Colab.

    Run again (the setup cell run twice), it leaves one hook, not two."""
    cloned = Course(Path(course))
    paths = [str(path) for path in cloned.import_path()]
    sys.path[:0] = [path for path in paths if path not in sys.path]
    os.environ["PYTHONPATH"] = cloned.pythonpath(os.environ.get("PYTHONPATH", ""))
    os.environ["TITO_ROOT"] = str(Path(course).resolve())
    try:
        from IPython import get_ipython
    except ImportError:
        return
    shell = get_ipython()
    if shell is None:
        return
    for hook in list(shell.events.callbacks["pre_run_cell"]):
        if getattr(hook, "tito_saves_notebook", False):
            shell.events.unregister("pre_run_cell", hook)
    module = cloned.get(Path(module_folder).name)

    def save_before_tito(info=None):
        if RUNS_TITO.search(getattr(info, "raw_cell", "") or ""):
            print(save_notebook(module), flush=True)

    save_before_tito.tito_saves_notebook = True
    shell.events.register("pre_run_cell", save_before_tito)


def save_notebook(module: Module) -> str:
    """Save the notebook open in Colab as ``module``'s notebook in the clone and write its code
    into the module's ``.py`` (backed up first when it held other edits), so that the next
    ``tito`` command takes it. Returns one line saying what was done, or why not: it never
    raises, and the cell that runs ``!tito`` runs anyway, on the clone as it is."""
    from tito.notebooks.sync import sync_notebook

    try:
        notebook = _notebook_in_colab()
        write_atomically(module.notebook, json.dumps(notebook, indent=1, ensure_ascii=False) + "\n")
        _, saved = sync_notebook(module)
    except Exception as exc:  # noqa: BLE001 - said in one line; the student's cell still runs
        return (f"tito: could not save this notebook into {module.notebook} ({exc}), so `!tito` takes the "
                f"{module.notebook.name} there as it is, not your work here: download this notebook "
                "(File > Download .ipynb) and upload it there, or run the cell again.")
    backed_up = f"; the one before is in {module.relative(saved)}" if saved else ""
    return (f"tito: saved this notebook as {module.relative(module.notebook)} and its code as "
            f"{module.relative(module.dev_file)}{backed_up}: `!tito` takes your work here.")


def _notebook_in_colab() -> dict:
    """The notebook open in Colab as its page has it now (edits not yet saved included),
    without the metadata Colab adds to each cell."""
    from google.colab import _message

    reply = _message.blocking_request("get_ipynb", request="", timeout_sec=GET_NOTEBOOK_TIMEOUT)
    notebook = reply.get("ipynb") if isinstance(reply, dict) else None
    if not isinstance(notebook, dict) or not isinstance(notebook.get("cells"), list):
        raise ValueError(f"Colab sent no notebook (its answer: {str(reply)[:80]})")
    for cell in notebook["cells"]:
        metadata = cell.get("metadata") if isinstance(cell, dict) else None
        if isinstance(metadata, dict):
            for key in COLAB_CELL_METADATA:
                metadata.pop(key, None)
    return notebook
