"""The files an edition has of its own: the students' Makefile, README and .gitignore, Binder's
configuration (``binder/``, repo2docker's conventions), and the benchmarks a student can run."""

from __future__ import annotations

from pathlib import Path

from tito.files import copy_file

# The edition README's sections that say how to start; the website's "How to start" shows them.
SETUP_SECTION = "Setup"
LOOP_SECTION = "The loop"
HOSTED_SECTION = "Binder and Colab: in your browser, nothing to install"
START_SECTIONS = (SETUP_SECTION, LOOP_SECTION, HOSTED_SECTION)

# The benchmarks a student runs against their own package (PyTorch, the yardstick, stays optional:
# the `bench` extra). The others stay with the instructor: bench_milestone.py holds a second Conv2D
# forward (a solution), bench_grade.py grades the reference solutions.
STUDENT_BENCHMARKS = ("README.md", "_timing.py", "_processes.py", "bench_conv.py", "bench_training.py",
                      "bench_threads.py")
BENCHMARKS_NOTE = """\
> **In this student edition** the scripts run against your own package: `tito export --all` (or
> `tito test`) first; what you have not written yet stops them with a line naming it.
> `bench_milestone.py` and `bench_grade.py` stay with the instructor's course: they use the
> reference solutions, on which the figures below were measured.
"""

# Binder (repo2docker) runs `pip install -r binder/requirements.txt` in the repository's root once
# the whole repository is copied (a local requirement such as `-e .` makes it wait for that), then
# `binder/postBuild`. Editable: `tito export` writes into this repository's tinytorch/ at any time.
BINDER_REQUIREMENTS = """\
# Binder installs this course from the repository itself (tito, tinytorch, matplotlib for pictures,
# hypothesis for the modules' property tests: `tito test` in a Binder terminal runs them).
-e .[viz,tests]
"""

BINDER_POSTBUILD = """\
#!/bin/bash
# Binder runs this once, in the repository's root, after binder/requirements.txt: every module is
# exported into tinytorch/, so your finished modules are importable from any notebook and the
# unfinished ones are stubs that say what to write. A module that cannot be exported is named
# in the build log and does not stop the others or the build.
tito export --all --keep-going || echo "binder/postBuild: some modules were not exported (above);" \
    "open a terminal and run: tito test --module NAME"
# Notebooks behind their .py (work done in the .py files) are written again from it; a notebook
# with edits of its own is left as it is.
tito notebooks --all || echo "binder/postBuild: some notebooks were not written (above)"
"""

# Binder (repo2docker) runs binder/start as the container's entrypoint each time a session starts,
# the command to run (JupyterLab) as its arguments: every process of the session (kernels, `!`
# commands, terminals) inherits what it exports, the import path of bin/activate-tinytorch.sh.
BINDER_START = """\
#!/bin/bash
# Binder runs this each time a session starts, before JupyterLab: the course root and every
# module folder go on PYTHONPATH (as `source bin/activate-tinytorch.sh` does on your machine),
# so notebooks, their `!` commands and terminals can `from cnn_dev import Conv2D`.
export TINYTORCH_ROOT="$(cd "$(dirname "$0")/.." && pwd)"
. "$TINYTORCH_ROOT/bin/tinytorch-path.sh"
exec "$@"
"""

STUDENT_MAKEFILE = """\
# TinyTorch, student edition.
#   make install     create .venv and install this course into it (tito, JupyterLab and a kernel)
#   make test        test your modules in order; stops at the first one still to do
#   make lab         open JupyterLab on the course (tito lab NAME opens one module's notebook)
#   make notebooks   write every module as a Jupyter notebook
#   make sync        write your edited notebooks back into the module sources
#   make book        build the course website into _site/ (installs the `book` extra once)
SHELL  := /bin/bash
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
TITO   := $(VENV)/bin/tito
STAMP  := $(VENV)/.installed
BOOK   := $(VENV)/.book-installed
# Paths are UTF-8 bytes: a course under .../Été/... in an ASCII locale (LC_ALL=C, PYTHONUTF8=0)
# could not import its own install (`tito doctor` explains this outside make).
export PYTHONUTF8 := 1

.PHONY: FORCE install test lab notebooks sync book clean

# A .venv moved, renamed or copied here from another folder (its bin/activate's VIRTUAL_ENV names that
# folder; tito doctor's check_venv_folder owns this rule, said here in shell) runs that folder's Python:
# install makes it anew.
VENV_ELSEWHERE := $(shell [ -f $(VENV)/bin/activate ] && (. $(VENV)/bin/activate && [ ! "$$VIRTUAL_ENV" -ef $(VENV) ] \\
                  && printf %s "$${VIRTUAL_ENV%/$(VENV)}"))
VENV_MOVED_NOTE := $(VENV) was made for $(VENV_ELSEWHERE), not this folder
VENV_MOVED_NOTE += (moved, renamed or copied since): made anew here.

install: $(STAMP)

# setuptools' "Editable installation" warning is true of any checkout, and alarming: not said
QUIET_EDITABLE = PYTHONWARNINGS='ignore:Editable installation'

$(STAMP): pyproject.toml $(if $(VENV_ELSEWHERE),FORCE)
\t$(if $(VENV_ELSEWHERE),$(info $(VENV_MOVED_NOTE))rm -rf $(VENV))
\ttest -x $(PY) || $(PYTHON) -m venv $(VENV)
\t$(PY) -m pip install --quiet --upgrade pip
\t$(QUIET_EDITABLE) $(PY) -m pip install --quiet -e '.[dev,jupyter]'
\ttouch $(STAMP)

test: $(STAMP)
\t$(TITO) test --all

lab: $(STAMP)
\t$(TITO) lab

notebooks: $(STAMP)
\t$(TITO) notebooks --all

sync: $(STAMP)
\t$(TITO) notebooks --all --sync

$(BOOK): $(STAMP)
\t$(QUIET_EDITABLE) $(PY) -m pip install --quiet -e '.[book]'
\ttouch $(BOOK)

book: $(BOOK)
\t$(TITO) book build

clean:
\trm -rf build dist *.egg-info .pytest_cache .hypothesis
\tfind . -path ./$(VENV) -prune -o -name __pycache__ -type d -print0 | xargs -0 rm -rf
"""


def write_binder_files(root: Path) -> None:
    """``binder/requirements.txt`` and the executable ``binder/postBuild`` and ``binder/start``
    in the edition at ``root``."""
    binder = root / "binder"
    binder.mkdir()
    (binder / "requirements.txt").write_text(BINDER_REQUIREMENTS, encoding="utf-8")
    for name, text in (("postBuild", BINDER_POSTBUILD), ("start", BINDER_START)):
        script = binder / name
        script.write_text(text, encoding="utf-8")
        mode = script.stat().st_mode
        script.chmod(mode | (mode & 0o444) >> 2)  # executable by whoever may read it (the umask's choice)


def copy_benchmarks(course_root: Path, root: Path) -> None:
    """The course's ``STUDENT_BENCHMARKS`` into the edition at ``root``, its README saying which came."""
    source = Path(course_root) / "benchmarks"
    shipped = [name for name in STUDENT_BENCHMARKS if (source / name).is_file()]
    if not shipped:
        return
    (root / "benchmarks").mkdir()
    for name in shipped:
        copy_file(source / name, root / "benchmarks" / name)
    readme = root / "benchmarks" / "README.md"
    if readme.is_file():
        text = readme.read_text(encoding="utf-8")
        title, _, rest = text.partition("\n\n")
        readme.write_text(f"{title}\n\n{BENCHMARKS_NOTE}\n{rest}", encoding="utf-8")


# The instructor's notebooks hold solutions and stay out of git; an edition's are the students' work.
SOLUTION_NOTEBOOKS = "/modules/source/*/*_dev.ipynb"
INSTRUCTORS_ONLY = "# The instructor's:"  # the comment above that line in the course's .gitignore


def student_gitignore(source: Path) -> str:
    """The course's .gitignore, except that the released stubs under .tito/release and the
    notebooks are kept (``tito module reset`` needs the stubs in every clone of a student's
    repository; Binder and Colab open the notebooks from it)."""
    default = [".venv/", "__pycache__/", ".tito/"]
    lines = source.read_text(encoding="utf-8").splitlines() if source.is_file() else default
    out = []
    for line in lines:
        if line.strip() == SOLUTION_NOTEBOOKS or line.startswith(INSTRUCTORS_ONLY):
            continue
        if line.strip() in (".tito/", ".tito", "/.tito/"):
            out += [".tito/*", "!.tito/release/"]
        else:
            out.append(line)
    return "\n".join(out) + "\n"


def student_readme(released, repository: str | None = None) -> str:
    """The edition's README: setup, the loop, Binder and Colab, and the modules with the
    functions to write. ``repository`` is the edition's GitHub repository, when it has one."""
    rows = "\n".join(f"| {r.module.dirname} | {r.module.title} | {', '.join(f'`{s}`' for s in r.stubs) or '-'} |"
                     for r in released)
    return f"""# TinyTorch — student edition

You build a small deep-learning framework, one module at a time. Each module's
source is `modules/source/NN_name/name_dev.py` (or the notebook `name_dev.ipynb`
next to it): read it, and fill in every function that says
`raise NotImplementedError("TODO: implement ...")`, following its TODO / APPROACH /
HINTS docstring.

## {SETUP_SECTION}

```bash
make install                       # .venv with this course installed (tito, JupyterLab, a kernel)
source bin/activate-tinytorch.sh   # .venv on, this folder's tinytorch first
```

Moved, renamed or copied this folder after `make install`? Its `.venv` still runs the old
folder's Python: the activate script and `tito doctor` say so, and `make install` makes it anew.

## {LOOP_SECTION}

```bash
tito status                        # where am I? module by module
tito lab tensor                    # work in JupyterLab on tensor_dev.ipynb (or edit tensor_dev.py)
tito test --module tensor          # export your code into tinytorch/ and test it
tito module reset tensor           # start a module again (your work is backed up in .tito/backups/)
```

Work in the notebook or in the `.py`, whichever you like: `tito test` and `tito export`
take the one you edited last (a notebook saved after the `.py` is synced into it, the old
`.py` kept in `.tito/backups/`), and stop to ask if you changed both. `tito notebooks
--module tensor` (keep the `.py`) and `tito notebooks --module tensor --sync` (keep the
notebook) settle that.

Modules build on each other: finish a module's prerequisites (`tito info NAME` lists
them) before you start it. `make test` tests your modules in order and stops at the
first one still to do.

When your instructor publishes a fix, commit your work first (`git add -A && git commit -m
"my work"`), then `git pull` (in a fork of the course's repository: `git pull upstream main`,
after `git remote add upstream URL-of-the-course-repository` once). Git merges the fix into
your files and keeps your work; `tito test --module NAME` then tests both.

{_hosted_section(released, repository)}

## The modules

| Module | Title | To implement |
| --- | --- | --- |
{rows}
"""


def _hosted_section(released, repository: str | None) -> str:
    """How Binder and Colab run a module of this repository, or of the student's fork of it."""
    from tito.book.launch import Repository

    example = released[0].module if released else None  # where a new student starts
    path = (f"{example.folder.relative_to(example.root).as_posix()}/{example.notebook.name}"
            if example else "modules/source/NN_name/name_dev.ipynb")
    where = Repository.parse(repository) if repository else Repository("OWNER", "NAME")
    colab = ("its first cell (which does nothing anywhere else) clones the repository named in it, "
             f"`{where.url}`; in your own fork, put your fork's URL there (in the `.py` and push, "
             "or in Colab before you run it)." if repository else
             "this edition was released without its repository (`tito release --repository URL`), "
             "so its notebooks cannot fetch the course in Colab: work locally or on Binder.")
    colab_tito = ("\n  `!tito test --module NAME` in a cell runs in that copy of your repository (in `~/NAME`); "
                  "before a cell runs `!tito`, the notebook as you see it in Colab is saved into the copy, "
                  "its code into the `.py`, so it is your work in Colab that is tested (a line says so, "
                  "or says that it could not: then download the notebook and upload it there).")
    return f"""## {HOSTED_SECTION}

Both start from your repository **as it is on GitHub**: commit and push your work first
(if you work in the `.py` files, run `make notebooks` before, so that the notebooks Colab opens
carry your work; Binder does that itself).
For your fork, put its OWNER/NAME in the links below (the course website's cards open
`{where.url}`, where every module is still a stub).

- **Binder**: <{where.binder(path)}>
  (`?labpath=` any module's notebook, opened in JupyterLab). `binder/requirements.txt` installs this course
  from the repository and `binder/postBuild` exports every module (`tito export --all
  --keep-going`), so your finished modules are importable and the unfinished ones are stubs
  that say what to write; `binder/start` puts every module folder on the import path, so
  `from cnn_dev import Conv2D` works in any notebook. A terminal there runs `tito test
  --module NAME` as here.
- **Colab**: <{where.colab(path)}>
  Colab opens the notebook alone: {colab}{colab_tito if repository else ""}

Hosted sessions are temporary: download your notebook when done (File → Download .ipynb),
put it back as `modules/source/NN_name/name_dev.ipynb`, and `tito test --module NAME` takes
it; commit and push to carry it to your next session."""
