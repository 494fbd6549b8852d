"""tito doctor: check that this machine and this course are ready, and say how to fix what is not."""

import importlib
import importlib.util
import sys
from dataclasses import dataclass
from pathlib import Path

import click

from tito.console import console, plain_output, table
from tito.course import MODULE_FILES, Course, python_allowed, requires_python
from tito.errors import TitoError


@dataclass
class Check:
    name: str
    ok: bool
    detail: str
    fix: str = ""
    required: bool = True  # a failed optional check is shown but does not fail the doctor


@click.command("doctor")
def command():
    """Check that this machine and course are ready to work.

    Python version, required packages, that `import tinytorch` finds this course's
    package, which edition this is (a student edition's release), module files, metadata and
    tests folders, generated files not edited by hand, that the course can be
    written, and the progress file. Exits 1 when something needs fixing, and says how.
    Modules not yet exported or still holding stubs are normal progress: a note, not a problem.
    """
    try:
        course = Course.here()
    except TitoError as no_course:  # the machine can still be checked, e.g. before a clone
        checks, title = machine_checks(None), "tito doctor: this machine (no course here)"
        course_note = f"{no_course.message} Run `tito doctor` in a course folder to check the course too."
    else:
        checks = [*machine_checks(course.root), *course_checks(course)]
        title, course_note = f"tito doctor: {course.root}", ""
    view = table("Check", "Status", "Detail", title=title)
    for check in checks:
        view.add_row(check.name, _status(check), check.detail + (f"\nFix: {check.fix}" if check.fix else ""))
    console().print(view)
    problems = [c for c in checks if not c.ok and c.required]
    if problems:
        console().print(f"{len(problems)} problem(s) found: {', '.join(c.name for c in problems)}.")
        sys.exit(1)
    console().print(course_note or "Everything looks ready.")


def machine_checks(root: Path | None) -> list:
    """What any course on this machine needs: Python, the packages, a grading sandbox (for
    instructors only: a student edition grades nothing)."""
    from tito.editions import is_student_edition

    student = root is not None and is_student_edition(root)
    return [check_python(root), *check_packages(), *([] if student else [check_grading_sandbox()])]


def course_checks(course: Course) -> list:
    """What this course needs: its own package imported, sound modules, a writable folder."""
    from tito.exporter import export_state

    states = {m.name: export_state(m) for m in course.modules if m.dev_file.exists()}
    return [check_tinytorch(course.root), check_edition(course.root), *check_modules(course, states),
            check_course_progress(course, states), check_writable(course.root), check_path_encoding(course.root),
            check_progress(course.root), *check_venv_folder(course.root), *check_path_separator(course.root)]


def _status(check: Check) -> str:
    word = "ok" if check.ok else ("PROBLEM" if check.required else "note")
    if plain_output():
        return word
    return {"ok": "[green]ok[/]", "PROBLEM": "[red]PROBLEM[/]", "note": "[yellow]note[/]"}[word]


def check_python(root: Path | None) -> Check:
    """This Python against the versions the course supports (``requires-python``)."""
    version = ".".join(map(str, sys.version_info[:3]))
    supported = supported_python(root)
    ok = python_allowed(supported, version)
    needs = f"; the course needs Python {supported} (pyproject.toml's requires-python)" if supported else ""
    return Check("python", ok, f"Python {version} at {sys.executable}{needs}",
                 "" if ok else f"Use a Python {supported}, e.g. `python3.12 -m venv .venv`, then `make install`.")


def supported_python(root: Path | None) -> str:
    """``requires-python`` (e.g. ">=3.10"): of the course at ``root``, else of the installed
    tinytorch's metadata (written from the same pyproject.toml); "" when neither says."""
    from importlib.metadata import PackageNotFoundError, metadata

    try:
        declared = requires_python(root) if root else ""
    except TitoError:  # a broken pyproject.toml: the installed package still says
        declared = ""
    if declared:
        return declared
    try:
        return metadata("tinytorch").get("Requires-Python") or ""
    except PackageNotFoundError:
        return ""


def check_packages() -> list:
    """The required packages, then the optional ones: matplotlib, and the `jupyter` extra for
    `tito lab` and the notebooks."""
    from tito.deps import FOR_TESTS, JUPYTER, JUPYTER_HINT, OPTIONAL, REQUIRED, install_hint, installed_version

    checks = []
    for group, required in ((REQUIRED, True), (FOR_TESTS, True), (OPTIONAL, False), (JUPYTER, False)):
        for module_name, pip_name in group.items():
            version = installed_version(module_name, pip_name)
            if version is not None:
                checks.append(Check(f"package {pip_name}", True, version))
            elif group is JUPYTER:
                checks.append(Check(f"package {pip_name}", False, "not installed (needed by `tito lab` and notebooks)",
                                    JUPYTER_HINT, required))
            else:
                checks.append(Check(f"package {pip_name}", False, "not installed", install_hint(pip_name), required))
    return checks


def check_tinytorch(root: Path) -> Check:
    """`import tinytorch` in this Python must find this course root's package."""
    expected = (root / "tinytorch" / "__init__.py").resolve()
    spec = importlib.util.find_spec("tinytorch")
    fix = ("Run `make install` (pip install -e .) in the course folder, or "
           "`source bin/activate-tinytorch.sh`. (`tito test` always uses this root either way.)")
    if spec is None or spec.origin is None:
        return Check("tinytorch import", False, "`import tinytorch` fails in this Python", fix)
    found = Path(spec.origin).resolve()
    if found != expected:
        return Check("tinytorch import", False, f"`import tinytorch` finds {found}, not {expected}", fix)
    return Check("tinytorch import", True, f"from {found.parent}")


def check_modules(course, states: dict) -> list:
    checks = []
    missing = [f"{m.dirname}/{path.name}" + (_in_brackets(m.misnamed_source()) if path == m.dev_file else "")
               for m in course.modules for path in m.missing_files()]
    needed = ", ".join(name.format(name="name") for name in MODULE_FILES)
    checks.append(Check("module files", not missing,
                        f"{len(course.modules)} modules" if not missing else "missing: " + ", ".join(missing),
                        "" if not missing else f"Every modules/source/NN_name/ needs {needed}."))
    checks.append(check_tests_folders(course))
    if course.misnamed:
        checks.append(Check("module folders", False, "; ".join(course.misnamed),
                            "Rename the folder (and its source, name_dev.py); modules/README.md says how a module "
                            "is laid out."))
    try:
        order = course.in_prerequisite_order()
        checks.append(Check("prerequisites", True, " -> ".join(m.name for m in order) or "(no modules)"))
        checks.extend(check_numbering(course))
        checks.append(check_imports(course))
    except TitoError as exc:
        checks.append(Check("prerequisites", False, exc.message, "Fix the prerequisites in module.yaml."))
    checks.append(check_generated(course, states))
    return checks


def check_tests_folders(course) -> Check:
    """Each module's pytest tests folder, tests/NN_name/: `tito test` fails a module without it."""
    missing = [f"tests/{m.dirname}/" + _in_brackets(m.misnamed_tests()) for m in course.modules
               if not m.tests_dir.is_dir()]
    if not missing:
        return Check("module tests", True, f"{len(course.modules)} modules")
    return Check("module tests", False, "missing: " + "; ".join(missing),
                 "Every module needs its pytest tests in tests/NN_name/ (`tito test` fails a module without them).")


def check_edition(root: Path) -> Check:
    """Which course this is (``tito.editions.which_edition``); a manifest that cannot be read is a note."""
    from tito.editions import which_edition

    line, told = which_edition(root)
    return Check("edition", told, line, required=False)


def _in_brackets(note: str) -> str:
    """' (note)' without its full stop, or '' without a note."""
    return f" ({note.rstrip('.')})" if note else ""


def check_imports(course) -> Check:
    """Each module's imports of other modules' exports are among its prerequisites (the grader
    builds a module with those only)."""
    unlisted = []
    for module in course.modules:
        try:
            unlisted += course.unlisted_imports(module)
        except TitoError:  # a source missing or not UTF-8: the module files' and generated files' rows say so
            continue
    return Check("imports", not unlisted, " ".join(unlisted) or "every module lists what it imports among its "
                 "prerequisites", "" if not unlisted else "The grader builds a module with its prerequisites only, "
                 "and a release brings only those.")


def check_numbering(course) -> list:
    """A note for each module that needs one numbered after it (11 needs 12): the site, the release and
    the student's README then list the course out of its numbers' order."""
    by_name = {m.name: m for m in course.modules}
    late = [f"{m.dirname} needs {by_name[p].dirname}" for m in course.modules for p in m.prerequisites
            if p in by_name and int(by_name[p].number) > int(m.number)]
    if not late:
        return []
    return [Check("module numbers", False, "; ".join(late) + ", numbered after it: the site and the release "
                  "list the modules in prerequisite order, out of their numbers' order",
                  "Renumber the folders so that each module comes after what it needs.", required=False)]


def check_generated(course, states: dict) -> Check:
    """Generated files edited by hand, and sources that cannot be exported, are problems.

    A module not exported yet (missing) or changed since its export (stale) is normal
    progress; ``check_course_progress`` notes it. ``states``: module name -> ``export_state``.
    """
    dirnames = {m.name: m.dirname for m in course.modules}
    edited = [dirnames[name] for name, (state, _) in states.items() if state == "edited"]
    errors = [f"{dirnames[name]}: {error}" for name, (state, error) in states.items() if state == "error"]
    if errors:
        return Check("generated files", False, "cannot export: " + "; ".join(errors), "Fix the source.")
    if edited:
        return Check("generated files", False, "edited by hand: " + ", ".join(edited),
                     "Move the edit into the module's source, then `tito export --module NAME --force`.")
    return Check("generated files", True, "none edited by hand")


def check_course_progress(course, states: dict) -> Check:
    """Modules not exported yet, changed since their export, or still holding stubs: a note
    with what to do next, never a problem (a student mid-course is not a broken machine)."""
    from tito.format import unimplemented

    waiting, changed, stubbed = [], [], []
    for module in course.in_prerequisite_order():
        if not module.dev_file.exists():
            continue
        state, _ = states[module.name]
        if state == "error":  # a source that cannot be read or exported: check_generated says why
            continue
        stubs = unimplemented(module.source())
        if stubs:
            stubbed.append(f"{module.name} ({len(stubs)})")
        if state == "missing":
            waiting.append(module.name)
        elif state == "stale":
            changed.append(module.name)
    if not (waiting or changed or stubbed):
        return Check("course progress", True, "every module exported, no stubs left")
    total = len(course.modules)
    parts = [f"{label}: {f'all {total} modules' if len(names) == total else ', '.join(names)}"
             for label, names in (("functions still to write", stubbed), ("not exported yet", waiting),
                                  ("changed since their export", changed)) if names]
    first = next(iter(stubbed or waiting or changed)).split(" ")[0]
    return Check("course progress", False,
                 "; ".join(parts) + f"\nNext: `tito test --module {first}` tests a module and exports it; "
                 "`tito status` shows every module.", required=False)


def check_writable(root: Path) -> Check:
    """tito writes exports, progress and notebooks into the course: it must be writable."""
    from tito.course import read_only_reason

    reason = read_only_reason(root)
    if reason:
        return Check("course writable", False, f"cannot write in {root}: {reason}",
                     "Work in a copy you own (e.g. `cp -r` the course), or ask for write access. "
                     "`tito test` still tests it, without recording results.")
    return Check("course writable", True, str(root))


def check_path_encoding(root: Path) -> Check:
    """A course under a non-ASCII path needs a UTF-8 locale: in an ASCII one (LC_ALL=C with
    PYTHONUTF8=0) Python cannot find packages installed there (.venv/bin/tito fails to import
    tito) and libraries that look at paths fail."""
    import os

    encoding = sys.getfilesystemencoding()
    raw = os.fsencode(root)
    if raw.isascii():
        return Check("path encoding", True, f"{encoding}; the course path is ASCII")
    if encoding.lower().replace("-", "") == "utf8":
        return Check("path encoding", True, f"{encoding}: the course path {os.fsdecode(raw)} reads as it should")
    return Check("path encoding", False,
                 f"this locale reads paths as {encoding}, and the course path {raw.decode('utf-8', 'replace')} "
                 "is not ASCII: `.venv/bin/tito` cannot import tito, and libraries that look at paths fail",
                 "`export LC_ALL=C.UTF-8` (or unset PYTHONUTF8=0) in your shell, or move the course to an "
                 "ASCII path.")


def check_venv_folder(root: Path) -> list:
    """The course's ``.venv`` was made for this folder (none or one check; no check without a
    ``.venv``). A course folder moved, renamed or copied after `make install` keeps a .venv whose
    activate and scripts name the old folder: `tito` is not found, or runs the old folder's Python."""
    venv = root / ".venv"
    made_for = venv_made_for(venv)
    if made_for is None:
        return []
    try:
        here = made_for.samefile(venv)
    except OSError:  # the folder it was made for is gone
        here = False
    if here:
        return [Check(".venv", True, f"made for this folder: {venv}")]
    return [Check(".venv", False, f"{venv} was made for {made_for.parent}: the course folder was moved, renamed or "
                  "copied after `make install`, and that .venv's tito runs the other folder's Python (or none, if "
                  "it is gone)",
                  "`rm -rf .venv && make install` in this folder makes it anew; then "
                  "`source bin/activate-tinytorch.sh`.")]


def venv_made_for(venv: Path) -> Path | None:
    """The folder a venv was made for: the VIRTUAL_ENV its ``bin/activate`` sets (Python's venv
    writes the path it made the venv at there; its scripts' first lines name the same Python).
    None without a readable bin/activate. This is the rule; bin/activate-tinytorch.sh and the
    Makefiles' install stamp say it again in shell, by sourcing that activate."""
    import re
    import shlex

    try:
        text = (venv / "bin" / "activate").read_text(encoding="utf-8", errors="surrogateescape")
    except OSError:
        return None
    # `VIRTUAL_ENV="/p"` (Python up to 3.12), `export VIRTUAL_ENV='/p'` (3.13, after a Cygwin-only
    # `export VIRTUAL_ENV=$(cygpath '/p')`): the last plain assignment is the one that holds here
    values = [m.group(1) for m in re.finditer(r"^\s*(?:export\s+)?VIRTUAL_ENV=(?!\$\()(.+)$", text, re.MULTILINE)]
    try:
        words = shlex.split(values[-1]) if values else []
    except ValueError:
        return None
    return Path(words[0]) if len(words) == 1 else None


def check_path_separator(root: Path) -> list:
    """A course path holding the PATH separator (':', how macOS stores a '/' typed in Finder)
    cannot go on PYTHONPATH or PATH, which split at it: the activate script's import path finds
    no module folder (`from cnn_dev import Conv2D` fails), and venv refuses to make a .venv there.
    None or one check."""
    import os

    if os.pathsep not in str(root):
        return []
    return [Check("course path", False, f"{root} contains '{os.pathsep}', which separates folders in PATH and "
                  "PYTHONPATH (Python's import path), so neither can hold it: `source bin/activate-tinytorch.sh` "
                  "cannot put the module folders on the import path, and `from cnn_dev import Conv2D` fails",
                  f"Rename or move the folder so that its path has no '{os.pathsep}' (Finder shows a ':' as '/'), "
                  "then run `make install` there.")]


def check_progress(root: Path) -> Check:
    from tito.progress import ProgressStore, problem_with

    path = ProgressStore(root).path
    if not path.exists():
        return Check("progress file", True, "none yet (created by the first `tito test`)")
    problem = problem_with(path.read_text(encoding="utf-8", errors="replace"))
    if problem:
        return Check("progress file", False, f"{path} is invalid: {problem}",
                     "Run `tito status`: it keeps a copy of the bad file and starts a fresh record.")
    return Check("progress file", True, str(path))


def check_grading_sandbox() -> Check:
    """Which sandbox `tito grade` would run student code in here, and what it protects."""
    from tito.grading.sandbox import HOW_TO_GET_ONE, detect

    sandbox, reasons = detect()
    if sandbox is None:
        return Check("grading sandbox", False,
                     "none can run here, so `tito grade` refuses to grade (unless --unsafe-no-sandbox): "
                     + "; ".join(reasons),
                     HOW_TO_GET_ONE, required=False)
    return Check("grading sandbox", True, sandbox_points(sandbox), required=False)


def sandbox_points(sandbox) -> str:
    """What ``sandbox`` protects and its weak points, one per line (so the table stays narrow)."""
    protects, lacks = sandbox.guarantees()
    return "\n".join([f"{sandbox.name} sandbox:", *(f"- {item}" for item in protects),
                      "Weak points:", *(f"- {item}" for item in lacks)])
