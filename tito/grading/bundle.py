"""A Gradescope autograder for one module: ``tito autograder gradescope --module NAME --out DIR``.

Gradescope's autograder specification (https://gradescope-autograders.readthedocs.io/en/latest/specs/)
asks for a zip with ``setup.sh`` and ``run_autograder`` at its root. Gradescope unzips it into
``/autograder/source``, runs ``setup.sh`` once as root to build the image, then, for each
submission, ``run_autograder`` in a fresh container with the student's files in
``/autograder/submission``; the grade goes to ``/autograder/results/results.json``.

``DIR/<module>-autograder.zip`` holds::

    setup.sh           installs the Python packages (requirements.txt) and unpacks grading.tar.gz
    run_autograder     grades /autograder/submission with python3 from PATH (tito.grading.gradescope)
    requirements.txt   the course's dependencies (pyproject.toml)
    grading.tar.gz     the prepared folder (tito.grading.workspace), built here, now
    grading.tar.gz.sha256
    autograder.json    module, time limit, the archive's sha256, tito's version
    README.md          what this is

Both scripts honour ``AUTOGRADER_ROOT`` in place of ``/autograder`` (to try the bundle locally).

**No reference solution of the graded module is in it.** The expected results are computed here,
once, with a secret seed drawn for this bundle: the reference runs on the instructor's machine
only. This was chosen over shipping the reference build and computing the expected results in
each container because (1) nothing in the container can leak the solution: a permission
mistake, a sandbox escape or a future change that runs student code unsandboxed exposes at most
the expected outputs for this bundle's inputs, never code to copy; (2) every submission skips
the preparation (export, checks on the reference and on the stub: ~2 s for cnn) and all
are judged against the same expected results, so a regrade gives the same grade. The price is
that the inputs are fixed for the bundle's life: a student could learn them from the feedback
of one submission and hard-code answers computed elsewhere in the next; that needs a working
implementation somewhere, which is what copying a solution needs anyway. Build a new bundle
(new seed) per term. The expected results are readable only by root in the container
(``run_autograder`` makes ``/autograder`` 0700 before any student code runs, and the uid-drop
sandbox refuses to start if the student's uid could read them).
"""

from __future__ import annotations

import io
import json
import tempfile
import time
import zipfile
from pathlib import Path

from tito.course import Course, Module
from tito.errors import TitoError
from tito.grading.sandbox import DEFAULT_TIMEOUT

SETUP_SH = """\
#!/usr/bin/env bash
# Gradescope runs this once, as root, when it builds the autograder's image: install the Python
# packages tito needs and unpack the grading (see README.md). AUTOGRADER_ROOT replaces
# /autograder when trying it locally; pip's own PIP_* variables apply (e.g. PIP_NO_INDEX=1).
set -euo pipefail
ROOT="${AUTOGRADER_ROOT:-/autograder}"
SOURCE="$ROOT/source"
export PIP_ROOT_USER_ACTION=ignore PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_BREAK_SYSTEM_PACKAGES=1
if ! python3 -m pip --version >/dev/null 2>&1; then
    apt-get install -y --no-install-recommends python3-pip
fi
python3 -m pip install --quiet -r "$SOURCE/requirements.txt"
cd "$SOURCE"
sha256sum --check --quiet grading.tar.gz.sha256
rm -rf grading
mkdir -m 700 grading
tar -xzf grading.tar.gz -C grading
chmod 700 grading
echo "tito autograder ready: $(python3 --version), grading $(cut -c1-16 grading.tar.gz.sha256)"
"""

RUN_AUTOGRADER = """\
#!/usr/bin/env bash
# Gradescope runs this for every submission, as root: grade $ROOT/submission into
# $ROOT/results/results.json (tito.grading.gradescope). AUTOGRADER_ROOT replaces /autograder.
set -uo pipefail
ROOT="${AUTOGRADER_ROOT:-/autograder}"
cd "$ROOT/source/grading/template"  # python3 -m puts this folder, with tito, first on sys.path
exec python3 -m tito.grading.gradescope "$ROOT"
"""

README = """\
# tito autograder for module {module}

Built {built} by tito {version} from the course's module `{module}`: {checks} graded checks,
{points} points. Upload this zip as a Gradescope "Autograder" (Ubuntu base image). Students
submit `{module}_dev.py` or `{module}_dev.ipynb`.

- `setup.sh` installs the Python packages in `requirements.txt` and unpacks `grading.tar.gz`
  (checked against `grading.tar.gz.sha256`).
- `run_autograder` grades the submission in a sandbox (bubblewrap where user namespaces work,
  otherwise as an unprivileged uid) with a time limit of {timeout:g} s, and writes
  `results.json`. Hidden checks show after grades are published.
- `grading.tar.gz` holds the course the student's code sees (tito, tests, the prerequisites'
  reference builds) and the expected results of the checks on inputs from a seed drawn when
  this bundle was built. It holds no reference solution of `{module}`.
"""


TRY_LOCALLY = """\
Try it locally in a throwaway venv: setup.sh installs the packages with the python3 first on PATH (on
Gradescope, the container's), so never run it with your system's Python. SUBMISSION: a student's file.
  AG=$(mktemp -d) && python3 -m venv "$AG/venv" && . "$AG/venv/bin/activate"
  python3 -m zipfile -e {bundle} "$AG/source" && mkdir "$AG/submission" && cp SUBMISSION "$AG/submission/"
  AUTOGRADER_ROOT="$AG" bash "$AG/source/setup.sh" && AUTOGRADER_ROOT="$AG" bash "$AG/source/run_autograder"
  cat "$AG/results/results.json"; deactivate
(Or in a throwaway container, as Gradescope does: unzip it into /autograder/source there and run the two scripts.)"""


def try_locally(bundle: Path) -> str:
    """How to try ``bundle`` on this machine without installing anything into its Python."""
    import shlex

    return TRY_LOCALLY.format(bundle=shlex.quote(str(bundle)))


def requirements(course: Course) -> list[str]:
    """The course package's dependencies and its ``tests`` extra (what the modules' tests, run as
    feedback, import), as pyproject.toml lists them."""
    from tito.course import read_pyproject

    project = read_pyproject(course.root).get("project")
    if not project:
        raise TitoError("The autograder needs the course's dependencies from pyproject.toml's [project].")
    return [*project["dependencies"], *project.get("optional-dependencies", {}).get("tests", [])]


def bundle_path(out: Path, module: str) -> Path:
    """Where ``build_gradescope`` writes the bundle of ``module``: ``out/<module>-autograder.zip``."""
    return Path(out) / f"{module}-autograder.zip"


def build_gradescope(course: Course, module: Module, out: Path, timeout: float = DEFAULT_TIMEOUT,
                     calibrate: bool = True) -> tuple[Path, list[str]]:
    """Write ``out/<module>-autograder.zip``; returns its path and the names it holds."""
    from tito import __version__
    from tito.files import write_atomically
    from tito.grading.archive import pack
    from tito.grading.workspace import prepare

    with tempfile.TemporaryDirectory(prefix="tito-autograder-") as scratch:  # 0700: the expected results
        prepared = prepare(course, module, Path(scratch) / "prepared", calibrate)
        archive = pack(prepared.folder)
    config = {"module": module.name, "timeout": timeout, "sha256": archive.sha256, "tito": __version__,
              "built": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}
    readme = README.format(module=module.name, built=config["built"], version=__version__,
                           checks=len(prepared.checks), timeout=timeout,
                           points=sum(c.points for c in prepared.checks if c.name not in prepared.free))
    files = [("setup.sh", SETUP_SH.encode(), 0o755), ("run_autograder", RUN_AUTOGRADER.encode(), 0o755),
             ("requirements.txt", ("\n".join(requirements(course)) + "\n").encode(), 0o644),
             ("grading.tar.gz", archive.data, 0o644),
             ("grading.tar.gz.sha256", f"{archive.sha256}  grading.tar.gz\n".encode(), 0o644),
             ("autograder.json", (json.dumps(config, indent=2) + "\n").encode(), 0o644),
             ("README.md", readme.encode(), 0o644)]
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as bundle:
        for name, data, mode in files:
            info = zipfile.ZipInfo(name, date_time=time.gmtime()[:6])
            info.external_attr = (0o100000 | mode) << 16  # a regular file with its Unix mode
            info.compress_type = zipfile.ZIP_DEFLATED
            bundle.writestr(info, data)
    target = bundle_path(out, module.name)
    write_atomically(target, buffer.getvalue())
    return target, [name for name, _, _ in files]
