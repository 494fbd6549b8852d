"""Autograders for learning platforms, one module each, with no reference solution in them.

``tito autograder gradescope --module NAME --out DIR`` writes ``DIR/<module>-autograder.zip``;
``tito autograder prairielearn --module NAME --out DIR`` writes ``DIR/<module>-prairielearn.zip``.
Both hold the same grading, installed the same way (``setup.sh``), run by the same code
(``tito.grading.hosted``)::

    setup.sh           installs the Python packages (requirements.txt), bubblewrap when apt-get can,
                       and unpacks grading.tar.gz; fails on a Python older than the course's
    requirements.txt   the course's dependencies and its `tests` extra (pyproject.toml)
    grading.tar.gz     the prepared folder (tito.grading.workspace), built here, now
    grading.tar.gz.sha256
    autograder.json    module, time limit, the archive's sha256, tito's version, the released pair's digests
    README.md          what this is and how to use it

**Gradescope** (https://gradescope-autograders.readthedocs.io/en/latest/specs/) unzips the zip
into ``/autograder/source``, runs ``setup.sh`` once as root to build the image, then, for each
submission, ``run_autograder`` in a fresh container with the student's files in
``/autograder/submission``; the grade goes to ``/autograder/results/results.json``.

**PrairieLearn** (https://github.com/PrairieLearn/PrairieLearn/blob/master/docs/externalGrading.md)
runs a question's ``entrypoint`` in a Docker image of the course's choosing, with no network, the
student's files in ``/grade/student``, and reads ``/grade/results/results.json``. The zip adds a
``Dockerfile`` (the image: a Python base, the bundle copied to ``/autograder/source`` and
``setup.sh`` run at build time, when there is network), ``run_prairielearn`` (the entrypoint,
built into the image) and ``info.json`` (the question's ``externalGradingOptions``: the image,
the entrypoint, and a job ``timeout`` of tito's own time limit plus ``STARTUP`` seconds, at most
PrairieLearn's 600). Nothing of the course goes to ``serverFilesCourse``.

Both scripts honour ``AUTOGRADER_ROOT`` in place of ``/autograder`` (to try the bundle locally),
``run_prairielearn`` also ``PRAIRIELEARN_GRADE`` in place of ``/grade``.

**No reference solution of the graded module is in it.** The expected results are computed here,
once, with a secret seed drawn for this bundle: the reference runs on the instructor's machine
only. This was chosen over shipping the reference build and computing the expected results in
each container because (1) nothing in the container can leak the solution: a permission
mistake, a sandbox escape or a future change that runs student code unsandboxed exposes at most
the expected outputs for this bundle's inputs, never code to copy; (2) every submission skips
the preparation (export, checks on the reference and on the stub: ~2 s for cnn) and all
are judged against the same expected results, so a regrade gives the same grade. The price is
that the inputs are fixed for the bundle's life: a student could learn them from the feedback
of one submission and hard-code answers computed elsewhere in the next, which needs a working
implementation somewhere. The answers themselves are never in the feedback: a check's message
there says whether its structure or only its values differ and what came, never where it
differs or what was expected (``formats.answer_withheld``), or a student could collect them one
attempt at a time with nothing implemented. Build a new bundle
(new seed) per term; each result names its bundle by the archive's sha256. The expected results
are readable only by root in the container (``/autograder`` is made 0700 before any student
code runs, and the uid-drop sandbox refuses to start if the student's uid could read them).

A student who submits both ``<module>_dev.py`` and ``.ipynb`` (a fork of the edition always has
both) is graded as ``tito grade`` grades them (``submission.graded_of``): ``autograder.json`` keeps
the pair as released (``tito.editions.released_pair``: ``--edition``'s files, else the module as
tito release writes it with and without ``--repository``, the Colab cell's REPOSITORY URL not
counted), so a file left as released is never the one graded: the container needs no reference
to rebuild the stub. The result's output (message) always names the file graded.
"""

from __future__ import annotations

import io
import json
import sys
import tempfile
import time
import zipfile
from pathlib import Path

from tito.console import counted
from tito.course import Course, Module
from tito.errors import TitoError
from tito.grading.formats import HIDDEN_CHECKS
from tito.grading.sandbox import DEFAULT_TIMEOUT

PRAIRIELEARN_MAX_TIMEOUT = 600  # seconds: the longest job PrairieLearn runs
STARTUP = 30  # seconds a PrairieLearn job gets beyond tito's own limit: the container, Python, the results

SETUP_SH = """\
#!/usr/bin/env bash
# Run once, as root, when the autograder's image is built (Gradescope runs it; the PrairieLearn
# Dockerfile runs it): check Python, install the Python packages tito needs, bubblewrap when
# apt-get can, and unpack the grading (see README.md). AUTOGRADER_ROOT replaces /autograder
# when trying it locally; pip's own PIP_* variables apply (e.g. PIP_NO_INDEX=1).
set -euo pipefail
ROOT="${{AUTOGRADER_ROOT:-/autograder}}"
SOURCE="$ROOT/source"
if ! python3 -c 'import sys; sys.exit(sys.version_info < {floor})'; then
    echo "tito autograder: the course needs Python {requires} (its pyproject.toml), and python3 here is" \\
         "$(python3 --version 2>&1 || echo missing). Pick a base image with a newer Python." >&2
    exit 1
fi
export PIP_ROOT_USER_ACTION=ignore PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_BREAK_SYSTEM_PACKAGES=1
apt_get() {{ [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 \\
    && {{ apt-get update -qq \\
          && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@"; }}; }}
if ! python3 -m pip --version >/dev/null 2>&1; then
    apt_get python3-pip
fi
# bubblewrap isolates the submission best where the container allows user namespaces; without
# it, tito uses the uid-drop sandbox (TITO_SANDBOX chooses; see README.md)
if ! command -v bwrap >/dev/null 2>&1; then
    apt_get bubblewrap >/dev/null || echo "note: bubblewrap not installed; submissions run in the uid-drop sandbox"
fi
python3 -m pip install --quiet -r "$SOURCE/requirements.txt"
cd "$SOURCE"
sha256sum --check --quiet grading.tar.gz.sha256
rm -rf grading
mkdir -m 700 grading
tar -xzf grading.tar.gz -C grading
chmod 700 grading
SANDBOX=uid-drop
if command -v bwrap >/dev/null 2>&1; then SANDBOX="bubblewrap if user namespaces work, else uid-drop"; fi
echo "tito autograder ready: $(python3 --version), grading $(cut -c1-16 grading.tar.gz.sha256), sandbox $SANDBOX"
"""

RUN_AUTOGRADER = """\
#!/usr/bin/env bash
# Gradescope runs this for every submission, as root: grade $ROOT/submission into
# $ROOT/results/results.json (tito.grading.hosted). AUTOGRADER_ROOT replaces /autograder.
set -uo pipefail
ROOT="${AUTOGRADER_ROOT:-/autograder}"
cd "$ROOT/source/grading/template"  # python3 -m puts this folder, with tito, first on sys.path
exec python3 -m tito.grading.hosted gradescope "$ROOT"
"""

RUN_PRAIRIELEARN = """\
#!/usr/bin/env bash
# PrairieLearn runs this (info.json's entrypoint) for every submission, as root, in the image
# the Dockerfile built: grade $GRADE/student into $GRADE/results/results.json
# (tito.grading.hosted). AUTOGRADER_ROOT replaces /autograder, PRAIRIELEARN_GRADE /grade.
set -uo pipefail
ROOT="${AUTOGRADER_ROOT:-/autograder}"
GRADE="${PRAIRIELEARN_GRADE:-/grade}"
cd "$ROOT/source/grading/template"  # python3 -m puts this folder, with tito, first on sys.path
exec python3 -m tito.grading.hosted prairielearn "$ROOT" "$GRADE"
"""

DOCKERFILE = """\
# The image PrairieLearn grades module {module} in: everything is installed now, because a
# grading job has no network. Build it from the unzipped bundle and push it where PrairieLearn
# pulls from (see README.md):  docker build -t {image} . && docker push {image}
FROM python:{python}-slim
COPY . /autograder/source
RUN chmod 755 /autograder/source/setup.sh /autograder/source/run_prairielearn \\
    && bash /autograder/source/setup.sh \\
    && chmod 700 /autograder
"""

README = """\
# tito autograder for module {module} ({platform_title})

Built {built} by tito {version} from the course's module `{module}`: {checks},
{points} points. Students submit `{module}_dev.py` or `{module}_dev.ipynb` (of both, the one
`tito grade` would grade: not one left as released, else the newer, else the notebook).

{how}
- `setup.sh` checks that Python is {requires}, installs the Python packages in `requirements.txt`
  and bubblewrap (when apt-get can), and unpacks `grading.tar.gz` (checked against
  `grading.tar.gz.sha256`).
- The submission runs in a sandbox with a time limit of {timeout:g} s: bubblewrap where user
  namespaces work, otherwise as an unprivileged uid (`TITO_SANDBOX=bubblewrap` or `uid-drop`
  in the container's environment picks one).{hidden}
- A submission without the module's file gets a result saying so{not_graded}. When the grader
  itself fails (no sandbox can run, a bug), no result is written and the script exits 1 with
  the reason in its output: the platform shows the submission as failed, to be graded again.
- `grading.tar.gz` holds the course the student's code sees (tito, tests, the prerequisites'
  reference builds) and the expected results of the checks on inputs from a seed drawn when
  this bundle was built. It holds no reference solution of `{module}`.
"""

GRADESCOPE_HOW = """\
Upload this zip as a Gradescope "Autograder" (Ubuntu base image) and set the assignment's
autograder timeout above {timeout:g} s. `run_autograder` grades `/autograder/submission` into
`/autograder/results/results.json`."""

PRAIRIELEARN_HOW = """\
PrairieLearn grades with no network, so everything goes into a Docker image first:

    unzip {module}-prairielearn.zip -d {module}-grader && cd {module}-grader
    docker build -t {image} . && docker push {image}

(`{image}` is the name given with `--image`: one PrairieLearn may pull, e.g. on Docker Hub; sync
the image in PrairieLearn's course staff pages.) Then merge `info.json` into the question's
`info.json`: it names the image, the entrypoint built into it (`/autograder/source/run_prairielearn`)
and a job timeout of {job_timeout} s (tito's {timeout:g} s per submission plus {startup} s to start;
PrairieLearn's default of 30 s would kill a slow submission's grading before tito reports it).
The question lets students upload `{module}_dev.py` or `{module}_dev.ipynb`, either or both
(`<pl-file-upload optional-file-names="{module}_dev.py, {module}_dev.ipynb">`: `file-names` would
require both; with neither uploaded, the result is not gradable and the attempt not counted). Nothing of the
course goes to `serverFilesCourse`. `run_prairielearn` grades `/grade/student` into
`/grade/results/results.json` and makes `/grade` readable by root only while it does (it gets its mode back
once the result is written)."""

TRY_LOCALLY = """\
Try it locally in a throwaway venv: setup.sh installs the packages with the python3 first on PATH (in
the platform's container, the image's), so never run it with your system's Python. SUBMISSION: a student's file.
  VENV=$(mktemp -d) && chmod 755 "$VENV" && python3 -m venv "$VENV/venv" && . "$VENV/venv/bin/activate"
  AG=$(mktemp -d) && python3 -m zipfile -e {bundle} "$AG/source" && mkdir {parents}"$AG/{inbox}" && cp SUBMISSION "$AG/{inbox}/"
  AUTOGRADER_ROOT="$AG" bash "$AG/source/setup.sh" && AUTOGRADER_ROOT="$AG" {grade}bash "$AG/source/{run}"
  cat "$AG/{results}/results.json"; deactivate; rm -rf "$VENV" "$AG"
The venv is outside $AG, which {run} makes readable by root only: the sandbox's user runs its Python.
As root without user namespaces (or with TITO_SANDBOX=uid-drop) that user must also be able to run the
Python the venv was made from: /usr/bin/python3 works, a pyenv Python under /root (a private folder) does not.
That user can also read every file others can on this machine (your course, this zip): try untrusted files in
bubblewrap only (TITO_SANDBOX=bubblewrap) or in a container.
(Or in a throwaway container, as {platform_title} does: {container})"""  # noqa: E501 (a command a student copies is one line)


def try_locally(bundle: Path, platform: str = "gradescope") -> str:
    """How to try ``bundle`` on this machine without installing anything into its Python."""
    import shlex

    if platform == "gradescope":
        return TRY_LOCALLY.format(bundle=shlex.quote(str(bundle)), run="run_autograder", platform_title="Gradescope",
                                  parents="", inbox="submission", grade="", results="results",
                                  container="unzip it into /autograder/source there and run the two scripts.")
    return TRY_LOCALLY.format(bundle=shlex.quote(str(bundle)), run="run_prairielearn", platform_title="PrairieLearn",
                              parents="-p ", inbox="grade/student", grade='PRAIRIELEARN_GRADE="$AG/grade" ',
                              results="grade/results",
                              container="build the image (README.md in the zip) and run it with a folder as /grade, "
                                        "holding student/SUBMISSION.")


def _project(course: Course) -> dict:
    """The ``[project]`` table of the course's pyproject.toml."""
    from tito.course import read_pyproject

    project = read_pyproject(course.root).get("project")
    if not project:
        raise TitoError("The autograder needs the course's dependencies and Python versions from pyproject.toml's "
                        "[project].")
    return project


def requirements(course: Course) -> list[str]:
    """The course package's dependencies and its ``tests`` extra (what the modules' tests, run as
    feedback, import), as pyproject.toml lists them."""
    project = _project(course)
    return [*project["dependencies"], *project.get("optional-dependencies", {}).get("tests", [])]


def python_floor(course: Course) -> tuple[str, tuple[int, int]]:
    """The course's ``requires-python`` and the oldest Python it allows, e.g. ('>=3.10', (3, 10)),
    as the autograder's setup.sh checks the container's Python (``tito.course`` reads both)."""
    from tito.course import oldest_python, requires_python

    _project(course)  # no [project]: said as the autograder needs it
    spec = requires_python(course.root)
    floor = oldest_python(spec)
    if floor is None:
        raise TitoError(f"The autograder checks the container's Python against pyproject.toml's requires-python, "
                        f"which should give the oldest Python as '>=3.N'; it is {spec!r}.")
    return spec, floor


def bundle_path(out: Path, module: str, platform: str = "gradescope") -> Path:
    """Where ``build`` writes the bundle of ``module``: ``out/<module>-autograder.zip`` (Gradescope)
    or ``out/<module>-prairielearn.zip``."""
    return Path(out) / f"{module}-{'autograder' if platform == 'gradescope' else platform}.zip"


def job_timeout(timeout: float) -> int:
    """The PrairieLearn job timeout for tito's per-submission ``timeout`` (TitoError past 600 s)."""
    import math

    seconds = math.ceil(timeout) + STARTUP
    if seconds > PRAIRIELEARN_MAX_TIMEOUT:
        raise TitoError(f"PrairieLearn stops a grading job after {PRAIRIELEARN_MAX_TIMEOUT} s at most, and tito "
                        f"needs {STARTUP} s beyond its --timeout: give --timeout "
                        f"{PRAIRIELEARN_MAX_TIMEOUT - STARTUP} or less, not {timeout:g}.")
    return seconds


def build(course: Course, module: Module, out: Path, platform: str, timeout: float = DEFAULT_TIMEOUT,
          calibrate: bool = True, edition: Path | None = None, image: str = "") -> tuple[Path, list[str]]:
    """Write the ``platform``'s bundle (``bundle_path``); returns its path and the names it holds."""
    from tito import __version__
    from tito.editions import released_pair
    from tito.files import write_atomically
    from tito.grading.workspace import refuse_a_student_edition

    refuse_a_student_edition(course)
    target = bundle_path(out, module.name, platform)
    refuse_to_replace_what_is_no_bundle(target)
    image = image or f"tito-{module.name}-grader"
    seconds = job_timeout(timeout) if platform == "prairielearn" else None  # refused before the slow part
    requires, floor = python_floor(course)
    released = released_pair(module, edition)
    prepared, archive = _prepare_and_pack(course, module, calibrate)
    config = {"module": module.name, "platform": platform, "timeout": timeout, "sha256": archive.sha256,
              "tito": __version__, "built": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "released": released}
    fields = dict(module=module.name, built=config["built"], version=__version__,
                  checks=counted(len(prepared.checks), "graded check"), timeout=timeout, requires=requires,
                  image=image, job_timeout=seconds, startup=STARTUP,
                  points=sum(c.points for c in prepared.checks if c.name not in prepared.free))
    readme = _readme(platform, prepared, fields)
    files = [("setup.sh", SETUP_SH.format(floor=floor, requires=requires).encode(), 0o755),
             *_platform_files(platform, module.name, image, seconds),
             *_shared_files(course, archive, config, readme)]
    write_atomically(target, _zipped(files))
    return target, [name for name, _, _ in files]


def refuse_to_replace_what_is_no_bundle(target: Path) -> None:
    """TitoError when ``target`` is there and is not a bundle tito wrote (a zip holding its
    autograder.json): an earlier bundle is replaced, anything else is kept."""
    if not target.exists() and not target.is_symlink():
        return
    try:
        with zipfile.ZipFile(target) as existing:
            if not target.is_symlink() and "autograder.json" in existing.namelist():
                return
    except (OSError, zipfile.BadZipFile):
        pass
    raise TitoError(f"{target} is there and is not a bundle tito wrote; nothing was written.",
                    hint="Move it away, or give another folder with --out DIR.")


def _prepare_and_pack(course: Course, module: Module, calibrate: bool) -> tuple:
    """(``module``'s prepared grading, its ``archive.pack``), prepared in a private scratch folder
    that is gone once it is packed."""
    from tito.grading.archive import pack
    from tito.grading.workspace import prepare

    with tempfile.TemporaryDirectory(prefix="tito-autograder-") as scratch:  # 0700: the expected results
        prepared = prepare(course, module, Path(scratch) / "prepared", calibrate)
        archive = pack(prepared.folder)
    return prepared, archive


def _readme(platform: str, prepared, fields: dict) -> str:
    """The bundle's README.md: ``README`` with the ``platform``'s way to install it, what its hidden
    checks show and what a submission without the module's file gets."""
    hidden = [c for c in prepared.checks if c.hidden]
    if platform == "gradescope":
        how, title = GRADESCOPE_HOW.format(**fields), "Gradescope"
        hidden_text = " Hidden checks show after grades are published." if hidden else ""
        not_graded = " (score 0)"
    else:
        how, title = PRAIRIELEARN_HOW.format(**fields), "PrairieLearn"
        hidden_text = ((" The hidden check shows" if len(hidden) == 1 else f" The {len(hidden)} hidden checks show")
                       + f' as one test, "{HIDDEN_CHECKS}", with '
                       + ("its points" if len(hidden) == 1 else "their total points")
                       + " only (PrairieLearn shows every result at once)." if hidden else "")
        not_graded = " (`gradable: false`: the attempt is not counted)"
    return README.format(platform_title=title, how=how, hidden=hidden_text, not_graded=not_graded, **fields)


def _platform_files(platform: str, module: str, image: str, seconds: int | None) -> list[tuple[str, bytes, int]]:
    """(name, data, Unix mode) of the files only the ``platform``'s bundle holds: Gradescope's
    ``run_autograder``; PrairieLearn's entrypoint, Dockerfile and info.json (job ``seconds``)."""
    if platform == "gradescope":
        return [("run_autograder", RUN_AUTOGRADER.encode(), 0o755)]
    python = f"{sys.version_info.major}.{sys.version_info.minor}"  # the Python the expected results came from
    options = {"externalGradingOptions": {"enabled": True, "image": image,
                                          "entrypoint": "/autograder/source/run_prairielearn",
                                          "timeout": seconds}}
    return [("run_prairielearn", RUN_PRAIRIELEARN.encode(), 0o755),
            ("Dockerfile", DOCKERFILE.format(module=module, image=image, python=python).encode(), 0o644),
            ("info.json", (json.dumps(options, indent=2) + "\n").encode(), 0o644)]


def _shared_files(course: Course, archive, config: dict, readme: str) -> list[tuple[str, bytes, int]]:
    """(name, data, Unix mode) of the files every platform's bundle holds after its own: the
    requirements, the grading's archive and its sha256, autograder.json (``config``), the README."""
    return [("requirements.txt", ("\n".join(requirements(course)) + "\n").encode(), 0o644),
            ("grading.tar.gz", archive.data, 0o644),
            ("grading.tar.gz.sha256", f"{archive.sha256}  grading.tar.gz\n".encode(), 0o644),
            ("autograder.json", (json.dumps(config, indent=2) + "\n").encode(), 0o644),
            ("README.md", readme.encode(), 0o644)]


def _zipped(files: list[tuple[str, bytes, int]]) -> bytes:
    """A zip of (name, data, Unix mode) ``files``, each a regular file with its mode, dated now."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as bundle:
        for name, data, mode in files:
            info = zipfile.ZipInfo(name, date_time=time.gmtime()[:6])
            info.external_attr = (0o100000 | mode) << 16  # a regular file with its Unix mode
            info.compress_type = zipfile.ZIP_DEFLATED
            bundle.writestr(info, data)
    return buffer.getvalue()
