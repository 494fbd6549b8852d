"""The files an edition has of its own: the students' Makefile, README and .gitignore."""

from __future__ import annotations

from pathlib import Path

STUDENT_MAKEFILE = """\
# TinyTorch, student edition.
#   make install     create .venv and install this course into it (tito, JupyterLab and a kernel)
#   make test        test your modules in order; stops at the first one still to do
#   make lab         open JupyterLab on the course (tito lab NAME opens one module's notebook)
#   make notebooks   write every module as a Jupyter notebook
#   make sync        write your edited notebooks back into the module sources
SHELL  := /bin/bash
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
TITO   := $(VENV)/bin/tito
STAMP  := $(VENV)/.installed

.PHONY: install test lab notebooks sync clean

install: $(STAMP)

$(STAMP): pyproject.toml
\ttest -x $(PY) || $(PYTHON) -m venv $(VENV)
\t$(PY) -m pip install --quiet --upgrade pip
\t$(PY) -m pip install --quiet -e '.[dev,jupyter]'
\ttouch $(STAMP)

test: $(STAMP)
\t$(TITO) test --all

lab: $(STAMP)
\t$(TITO) lab

notebooks: $(STAMP)
\t$(TITO) notebooks --all

sync: $(STAMP)
\t$(TITO) notebooks --all --sync

clean:
\trm -rf build dist *.egg-info .pytest_cache .hypothesis
\tfind . -path ./$(VENV) -prune -o -name __pycache__ -type d -print0 | xargs -0 rm -rf
"""


def student_gitignore(source: Path) -> str:
    """The course's .gitignore, except that the released stubs under .tito/release are kept
    (``tito module reset`` needs them in every clone of a student's repository)."""
    lines = source.read_text(encoding="utf-8").splitlines() if source.is_file() else [".venv/", "__pycache__/", ".tito/"]
    out = []
    for line in lines:
        if line.strip() in (".tito/", ".tito", "/.tito/"):
            out += [".tito/*", "!.tito/release/"]
        else:
            out.append(line)
    return "\n".join(out) + "\n"


def student_readme(released) -> str:
    """The edition's README: setup, the loop, and the modules with the functions to write."""
    rows = "\n".join(f"| {r.module.dirname} | {r.module.title} | {', '.join(r.stubs) or '-'} |" for r in released)
    return f"""# TinyTorch — student edition

You build a small deep-learning framework, one module at a time. Each module's
source is `modules/source/NN_name/name_dev.py` (or the notebook `name_dev.ipynb`
next to it): read it, and fill in every function that says
`raise NotImplementedError("TODO: implement ...")`, following its TODO / APPROACH /
HINTS docstring.

## Setup

    make install                       # .venv with this course installed (tito, JupyterLab, a kernel)
    source bin/activate-tinytorch.sh   # .venv on, this folder's tinytorch first

## The loop

    tito status                        # where am I? module by module
    tito lab tensor                    # work in JupyterLab on tensor_dev.ipynb (or edit tensor_dev.py)
    tito test --module tensor          # export your code into tinytorch/ and test it
    tito module reset tensor           # start a module again (your work is backed up in .tito/backups/)

Work in the notebook or in the `.py`, whichever you like: `tito test` and `tito export`
take the one you edited last (a notebook saved after the `.py` is synced into it, the old
`.py` kept in `.tito/backups/`), and stop to ask if you changed both. `tito notebooks
--module tensor` (keep the `.py`) and `tito notebooks --module tensor --sync` (keep the
notebook) settle that.

Modules build on each other: finish a module's prerequisites (`tito info NAME` lists
them) before you start it. `make test` tests your modules in order and stops at the
first one still to do.

| Module | Title | To implement |
| --- | --- | --- |
{rows}
"""
