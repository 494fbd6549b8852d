"""The first code cell of an edition's module: what makes its notebook run in Google Colab.

Colab opens a notebook alone, without the repository around it, so the modules it imports
(``tinytorch.core.tensor``: the student's own exports of earlier modules) are not there. The
cell fetches the edition's repository, installs it, exports every module (``tito export --all
--keep-going``: finished modules importable, unfinished ones stubs that name what to write) and
moves into the module's folder. It does so only when ``google.colab`` is imported, i.e. in
Colab; anywhere else (``tito test``, JupyterLab, Binder, grading) it imports ``sys`` and stops.

``tito release`` puts it into each module's source, where the repository is known; it is plain
Python (no ``!`` magics), so the source and its notebook convert into each other unchanged.

The cell tells a student working in a fork to put the fork's URL into its ``REPOSITORY`` line:
``without_repository`` blanks that line's value, for ``tito.editions.release_digest``.
"""

from __future__ import annotations

import json
import re

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

