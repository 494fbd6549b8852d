"""The first code cell of an edition's module: what makes its notebook run in Google Colab.

Colab opens a notebook alone, without the repository around it, so the modules it imports
(``tinytorch.core.tensor``: the student's own exports of earlier modules) are not there. The
cell fetches the edition's repository, installs it, exports every module (``tito export --all
--keep-going``: finished modules importable, unfinished ones stubs that name what to write) and
moves into the module's folder. It does so only when ``google.colab`` is imported, i.e. in
Colab; anywhere else (``tito test``, JupyterLab, Binder, grading) it imports ``sys`` and stops.

``tito release`` puts it into each module's source, where the repository is known; it is plain
Python (no ``!`` magics), so the source and its notebook convert into each other unchanged.
"""

from __future__ import annotations

import json

from tito.course import Module

CELL = '''\
# %%
# Google Colab opens this notebook alone, without the course around it. There, this cell fetches
# the course repository below (working in your own fork? put its URL there), installs it, exports
# your modules into its tinytorch/ (`tito export --all`) and moves into this module's folder, so
# that the cells below run as on your machine. Run again, it fetches what you pushed since.
# Anywhere else (your machine, Binder, `tito test`) it does nothing.
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

'''


def colab_cell(module: Module, repository: str) -> str:
    """The cell, as percent-format source, for ``module`` of an edition at ``repository``."""
    folder = module.folder.relative_to(module.root).as_posix()
    return CELL.format(repository=json.dumps(repository), folder=json.dumps(folder))


def with_colab_cell(source: str, cell: str) -> str:
    """``source`` with ``cell`` before its first code cell (after its header and opening text)."""
    lines = source.splitlines(keepends=True)
    for index, line in enumerate(lines):
        if _starts_code_cell(line):
            return "".join(lines[:index]) + cell + "".join(lines[index:])
    return source.rstrip("\n") + "\n\n" + cell.rstrip("\n") + "\n"


def _starts_code_cell(line: str) -> bool:
    if not line.startswith("# %%"):
        return False
    return not line[4:].strip().startswith(("[markdown]", "[md]", "[raw]"))

