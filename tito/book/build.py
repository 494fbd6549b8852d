"""Build the site: the source tree in a temporary folder, Sphinx into a staging folder next to the
output, and the staging folder swapped in only when the build succeeded.

An output folder is replaced only when it is empty or holds a site this command built (it carries
a ``.tito-book`` marker): nothing else is ever written over.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import sys
import tempfile
import threading
import time
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from datetime import datetime, timezone
from importlib.util import find_spec
from pathlib import Path

from tito import __version__
from tito.book.launch import Repository
from tito.course import Course
from tito.errors import TitoError

MARKER = ".tito-book"
DEFAULT_OUT = "_site"
# Each notebook's kernel says this on stderr: it talks to the build over TCP on this machine.
KERNEL_TCP_WARNING = "Kernel is running over TCP without encryption"
NEEDED = {"sphinx": "sphinx", "myst_nb": "myst-nb", "sphinx_book_theme": "sphinx-book-theme",
          "sphinx_design": "sphinx-design"}


@dataclass
class BuildResult:
    """What a build made: the output folder, its HTML pages, Sphinx's warnings, the wall time, and
    with --execute the line saying the package was exported first."""

    out: Path
    pages: list[str]
    warnings: list[str] = field(default_factory=list)
    seconds: float = 0.0
    exported: str = ""


def require_toolchain() -> None:
    """A clear error when the `book` extra is not installed."""
    missing = [pip for name, pip in NEEDED.items() if find_spec(name) is None]
    if missing:
        raise TitoError(f"tito book needs {', '.join(missing)}, which {'is' if len(missing) == 1 else 'are'} "
                        f"not installed.",
                        hint="Install the `book` extra: pip install -e '.[book]' in the course folder (the "
                             "course's `make install` does; in a student edition, `make book` installs it and "
                             "builds the site).")


def check_destination(course: Course, out: Path) -> None:
    """Refuse an output folder that is the course (or holds it), a file, or someone else's files."""
    out, root = out.resolve(), course.root
    if out == root or out in root.parents or out in (root / "modules", course.source_dir):
        raise TitoError(f"The site cannot be written to {out}: that is the course itself.",
                        hint="Give a folder of its own, e.g. --out _site", exit_code=2)
    if out.exists() and not out.is_dir():
        raise TitoError(f"{out} is a file, not a folder.", exit_code=2)
    if out.is_dir() and any(out.iterdir()) and not (out / MARKER).is_file():
        raise TitoError(f"{out} is not empty and holds no site built by `tito book build`; not writing over it.",
                        hint="Choose an empty or new folder with --out DIR, or remove that one first.",
                        exit_code=2)


def build_site(course: Course, out: Path, repository: Repository, execute: bool = False,
               jobs: int = 1) -> BuildResult:
    """Build the HTML site of ``course`` into ``out`` (replacing a site built there before).
    With ``execute``, every module is exported first and each student notebook runs in a kernel.

    ``jobs`` > 1 reads pages in parallel processes; for a course of a dozen pages one process is
    faster (5.3 s against 7.5 s with two, medians of three alternating builds on two busy cores).
    """
    from tito.book.pages import write_source_tree

    require_toolchain()
    out = Path(out).resolve()
    check_destination(course, out)
    started = time.perf_counter()
    exported, problems = export_for_execution(course) if execute else ("", [])
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="tito-book-") as work:
        source = Path(work) / "source"
        problems += write_source_tree(course, source, repository, execute=execute)
        # Staged beside ``out`` (so it moves by a rename), one level down: MyST-NB writes its own
        # folder next to Sphinx's output folder, and that must not land in the course.
        stage = Path(tempfile.mkdtemp(prefix=f".{out.name}.building-", dir=out.parent))
        try:
            html = stage / "html"
            with kernels_without_colour() if execute else nullcontext():
                warnings = problems + run_sphinx(source, html, Path(work) / "doctrees", jobs)
            write_marker(html, course, repository)
            replace_folder(html, out)
        finally:
            shutil.rmtree(stage, ignore_errors=True)
    pages = site_pages(out)
    return BuildResult(out, pages, warnings, time.perf_counter() - started, exported)


def export_for_execution(course: Course) -> tuple[str, list[str]]:
    """Export every module, as `tito export --all --keep-going` does, so that the executed notebooks
    import this course's tinytorch as its sources are now. Returns the line saying so and one
    warning per module that could not be exported."""
    from tito.course_lock import one_run_at_a_time
    from tito.exporter import export_modules
    from tito.notebooks.sync import take_notebook_edits

    modules = course.in_prerequisite_order()
    with one_run_at_a_time(course.root, make_state_folder=False):
        failed = export_modules(modules, keep_going=True, prepare=take_notebook_edits)
    line = (f"Exported {len(modules) - len(failed)} of {len(modules)} modules into tinytorch/ first "
            "(as `tito export --all --keep-going`): the notebooks run against it.")
    return line, [f"{module.dirname} not exported, its notebook runs without it: {error.message}"
                  for module, error in failed]


@contextmanager
def kernels_without_colour():
    """The notebooks' kernels start with NO_COLOR=1 (they inherit this process's environment):
    coloured output (Rich's, in the inline tests' feedback) becomes plain text, which reads in
    the site's light and dark modes alike. Their TCP warning is left out of stderr."""
    before = os.environ.get("NO_COLOR")
    os.environ["NO_COLOR"] = "1"
    try:
        with without_stderr_lines(KERNEL_TCP_WARNING):
            yield
    finally:
        if before is None:
            del os.environ["NO_COLOR"]
        else:
            os.environ["NO_COLOR"] = before


@contextmanager
def without_stderr_lines(fragment: str):
    """Drop the lines holding ``fragment`` from what this process and the processes it starts
    write to stderr (file descriptor 2) inside the block; everything else passes through."""
    sys.stderr.flush()
    saved = os.dup(2)
    out = os.dup(saved)  # the pump's own copy: it may outlive the block (a kernel still exiting)
    read, write = os.pipe()
    os.dup2(write, 2)
    os.close(write)

    def pump():
        with os.fdopen(read, "rb") as lines, os.fdopen(out, "wb", buffering=0) as stderr:
            for line in lines:
                if fragment.encode() not in line:
                    stderr.write(line)

    thread = threading.Thread(target=pump, name="stderr-filter", daemon=True)
    thread.start()
    try:
        yield
    finally:
        sys.stderr.flush()
        os.dup2(saved, 2)  # the pipe ends when the last process holding it is gone
        os.close(saved)
        thread.join(timeout=5)


def site_pages(out: Path) -> list[str]:
    """The site's HTML pages, e.g. ['chapters/06_cnn.html', ..., 'index.html'] (theme templates aside)."""
    return sorted(p.relative_to(out).as_posix() for p in out.rglob("*.html")
                  if not p.relative_to(out).parts[0].startswith("_"))


def run_sphinx(source: Path, html: Path, doctrees: Path, jobs: int) -> list[str]:
    """Sphinx's HTML builder, quiet; its warnings come back as lines. A failed build is a TitoError."""
    from sphinx.application import Sphinx
    from sphinx.errors import SphinxError
    from sphinx.util.console import nocolor

    nocolor()  # warnings come back as plain text; tito's console colours them

    warnings = io.StringIO()
    try:
        app = Sphinx(str(source), str(source), str(html), str(doctrees), "html", status=None,
                     warning=warnings, freshenv=True, parallel=jobs, keep_going=True)
        app.build(force_all=True)
    except SphinxError as exc:
        raise TitoError(f"Sphinx could not build the site: {exc}",
                        hint=_tail(warnings.getvalue())) from None
    lines = [line.replace(str(source) + os.sep, "") for line in warnings.getvalue().splitlines() if line.strip()]
    if app.statuscode:
        raise TitoError("Sphinx could not build the site.", hint="\n".join(lines[-20:]))
    return lines


def _tail(text: str, lines: int = 20) -> str:
    return "\n".join(text.strip().splitlines()[-lines:])


def write_marker(folder: Path, course: Course, repository: Repository) -> None:
    """``.tito-book``: says the folder is a built site (so a rebuild may replace it) and how it was built."""
    facts = {"built_by": f"tito {__version__}", "built": datetime.now(timezone.utc).isoformat(timespec="seconds"),
             "repository": repository.url, "branch": repository.branch,
             "modules": [m.dirname for m in course.in_prerequisite_order()]}
    (folder / MARKER).write_text(json.dumps(facts, indent=2) + "\n", encoding="utf-8")


def replace_folder(new: Path, out: Path) -> None:
    """Put ``new`` at ``out`` by renames in one folder; an old site there is removed afterwards."""
    old = None
    if out.is_dir():
        old = Path(tempfile.mkdtemp(prefix=f".{out.name}.old-", dir=out.parent))
        os.replace(out, old / out.name)
    try:
        os.replace(new, out)
    except BaseException:
        if old is not None:
            os.replace(old / out.name, out)
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
