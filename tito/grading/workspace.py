"""The prepared grading folder, built once per batch, and one job folder per submission.

``prepare(course, module, folder)`` writes a self-contained folder that grades any number of
submissions of ``module`` without the instructor's repository, so it can be shipped (e.g. in
an autograder bundle)::

    folder/grading.json   module, checks and their points, the secret seed, calibration
    folder/expected/      the reference's check results (tito.grading.data records)
    folder/template/      the course the student's code sees: a course copy
                          (tito.editions.course_copy: tito, the package's hand-written parts)
                          with the prerequisites (sources and exports: their reference
                          solutions), tests/NN_name/ (checks included), the module's folder
                          without its source, and .grading/reference_tests.py (the
                          reference's test cells, without their hidden tests)

The graded module's reference solution is never in ``template/``: it is exported and probed
in a separate temporary folder that is removed before ``prepare`` returns, and the template is
searched for its solution lines. ``folder`` is readable by the grader only; ``template/`` by
everyone (the sandbox mounts it read-only, or copies it).
"""

from __future__ import annotations

import compileall
import json
import os
import secrets
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from tito import format
from tito.course import Course, Module
from tito.editions.build import LEAK_MIN_CHARS
from tito.editions.course_copy import copy_course
from tito.editions.course_copy import ignore as ignore_caches
from tito.editions.strip import strip_solutions
from tito.errors import TitoError
from tito.files import remove_tree
from tito.grading.checks import CheckSpec, check_specs
from tito.grading.data import showable_name
from tito.grading.sandbox import ONE_THREAD, PYTHON, Job, Limits, Sandbox, site_packages
from tito.grading.verdict import judge
from tito.grading import state

GRADING_JSON = "grading.json"
REFERENCE_TESTS = ".grading/reference_tests.py"
PROBE = Path(__file__).with_name("probe.py")


@dataclass
class Prepared:
    """What grading one module needs, read from (or written to) a prepared folder."""

    folder: Path
    module: str
    dirname: str
    dev_file: str  # the module's source, relative to the course: modules/source/06_cnn/cnn_dev.py
    import_name: str  # tinytorch.core.cnn
    seed: int
    checks: list[CheckSpec]
    free: list[str] = field(default_factory=list)  # checks the released stub passes: worth 0
    fingerprint: str = ""  # of the grading (tito.grading.state): reports keep it
    targets: dict = field(default_factory=dict)  # the course's modules by export target: {"core.cnn": "cnn"}
    _expected: dict | None = None

    @property
    def target(self) -> str:
        """The graded module's export target, as its '#| default_exp' names it: core.cnn."""
        return self.import_name.removeprefix("tinytorch.")

    @property
    def template(self) -> Path:
        return self.folder / "template"

    @property
    def writable(self) -> list[str]:
        """The course folders the student's code may write: its module's folder and tinytorch/core."""
        return [str(Path(self.dev_file).parent), "tinytorch/core"]

    def probe_spec(self, course: str) -> dict:
        """What probe.py needs to run the checks on the build in ``course`` (but ``out``, where the records go)."""
        return {"course": course, "site_packages": site_packages(), "import_name": self.import_name,
                "checks_file": f"{course}/tests/{self.dirname}/checks.py", "seed": self.seed,
                "checks": [{"name": c.name, "seconds": c.seconds} for c in self.checks]}

    def expected(self) -> dict:
        """Check name -> the reference's record."""
        from tito.grading.data import read_record

        if self._expected is None:
            self._expected = {c.name: read_record(self.folder / "expected", c.name) for c in self.checks}
        return self._expected

    def save(self) -> None:
        data = {"module": self.module, "dirname": self.dirname, "dev_file": self.dev_file,
                "import_name": self.import_name, "seed": self.seed, "free": self.free,
                "fingerprint": self.fingerprint, "targets": self.targets, "checks": [c.to_json() for c in self.checks]}
        (self.folder / GRADING_JSON).write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")

    @classmethod
    def load(cls, folder: Path) -> "Prepared":
        data = json.loads((Path(folder) / GRADING_JSON).read_text(encoding="utf-8"))
        return cls(Path(folder), data["module"], data["dirname"], data["dev_file"], data["import_name"],
                   data["seed"], [CheckSpec.from_json(c) for c in data["checks"]], data["free"],
                   data.get("fingerprint", ""), data.get("targets", {}))


# --------------------------------------------------------------------------- building it


def refuse_a_student_edition(course: Course) -> None:
    """TitoError when ``course`` is a student edition: grading needs the solutions it does not hold."""
    from tito.editions import is_student_edition

    if is_student_edition(course.root):
        raise TitoError(f"{course.root} is a student edition (written by tito release): it holds no solutions to "
                        "grade against.", hint="Grade from the instructor's course, where the solutions are (tito "
                                               "grade and tito autograder both need them).")


def prepare(course: Course, module: Module, folder: Path, calibrate: bool = True, seed: int | None = None,
            fingerprint: str | None = None) -> Prepared:
    """Build the prepared folder for ``module`` (an empty or missing ``folder``); ``fingerprint``:
    the grading's (``tito.grading.state.fingerprint``), when the caller has it already."""
    from tito.exporter import target_of
    from tito.format import code_cells

    refuse_a_student_edition(course)
    specs = check_specs(module)
    unlisted = course.unlisted_imports(module)
    if unlisted:
        raise TitoError(f"Module '{module.name}' cannot be graded: " + " ".join(unlisted))
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    os.chmod(folder, 0o700)
    reference = module.source()
    with tempfile.TemporaryDirectory(prefix="tito-reference-") as scratch:
        solved = Path(scratch) / "reference"
        exported = _reference_build(course, module, solved)
        target = target_of(module, code_cells(module.source()))
        prepared = Prepared(folder, module.name, module.dirname, str(module.dev_file.relative_to(course.root)),
                            ".".join(target.relative_to(course.root).with_suffix("").parts),
                            secrets.randbits(62) if seed is None else seed, specs,
                            fingerprint=fingerprint or state.fingerprint(course, module, calibrate),
                            targets=_targets(course))
        _template(course, module, solved, exported, folder / "template", reference)
        expected = _probe_build(prepared, solved, folder / "expected")
        _refuse_broken_checks(module, specs, expected)
        if calibrate:  # a source without markers too: its stub is its solution, which every check passes
            stub = Path(scratch) / "stub"
            shutil.copytree(solved, stub, symlinks=True)
            (stub / prepared.dev_file).write_text(strip_solutions(reference, prepared.dev_file).text, encoding="utf-8")
            _export(Course(stub), module.name)
            prepared.free = _passing(prepared, expected, _probe_build(prepared, stub, Path(scratch) / "stub-out"))
            _refuse_nothing_to_earn(module, prepared)
    prepared.save()
    return prepared


def _refuse_nothing_to_earn(module: Module, prepared: Prepared) -> None:
    """TitoError when calibration leaves no points to earn: the released stub passes every check
    that has points, so each student would get 0 of 0, most often because the stub still holds the
    solution (solution markers left out or misspelled)."""
    earning = [spec.name for spec in prepared.checks if spec.points]  # points are whole and >= 0 (check_specs)
    if earning and set(earning) <= set(prepared.free):
        raise TitoError(
            f"Module {module.dirname} has nothing to earn: its released stub passes every graded check "
            f"({', '.join(earning)}), so every student would score "
            "0 of 0.",
            hint=f"The stub most likely still holds the solution: check that {prepared.dev_file} puts each answer "
                 f"between '{format.BEGIN_SOLUTION}' and '{format.END_SOLUTION}', spelled exactly so "
                 f"(`tito release --module {module.name}` refuses a module whose solutions would ship). "
                 "Nothing was graded.")


def _targets(course: Course) -> dict:
    """{"core.cnn": "cnn", ...}: each module's export target (module.yaml's exports_to), to name the
    module a submission of another one belongs to."""
    exports = {str(m.meta.get("exports_to") or ""): m.name for m in course.modules}
    return {target.removeprefix("tinytorch."): name for target, name in exports.items() if target}


def _reference_build(course: Course, module: Module, target: Path) -> list[Path]:
    """A course copy in ``target`` with the module and its prerequisites exported from their
    reference solutions (only the graded module's tests come along); returns the prerequisites'
    generated files."""
    needed = course.with_prerequisites([module])
    copy_course(course, target, needed, tests_of=[module])
    copy = Course(target)
    prerequisites = [_export(copy, each.name) for each in needed if each.name != module.name]
    _export(copy, module.name)
    return prerequisites


def _export(course: Course, name: str) -> Path:
    from tito.exporter import export

    generated, _ = export(course.get(name), force=True)
    return generated.target


def _template(course: Course, module: Module, solved: Path, prerequisites: list[Path], template: Path,
              reference: str) -> None:
    """The course the student's code sees: the reference build without the graded module's
    source and export (the prerequisites' stay: their exports are in the package anyway)."""
    from tito.grading.submission import test_cells

    def ignore(folder, names):
        skipped = set(ignore_caches(folder, names))
        if Path(folder) == solved / "tinytorch" / "core":
            kept = {p.name for p in prerequisites} | {"__init__.py"}
            skipped |= {n for n in names if n.endswith(".py") and n not in kept}
        if Path(folder) == solved / module.folder.relative_to(course.root):
            skipped |= {n for n in names if n.endswith(("_dev.py", ".ipynb"))}
        return list(skipped)

    shutil.copytree(solved, template, ignore=ignore)
    (template / REFERENCE_TESTS).parent.mkdir(parents=True, exist_ok=True)
    (template / REFERENCE_TESTS).write_text(test_cells(reference, module.relative(module.dev_file)),
                                             encoding="utf-8")
    lines = {line.strip() for line in strip_solutions(reference).solution_lines if len(line.strip()) >= LEAK_MIN_CHARS}
    for path in template.rglob("*"):
        if (path.is_file() and path.suffix in (".py", ".md", ".txt", ".yaml", ".json", ".toml")
                and path.relative_to(template).parts[0] not in ("tests", ".grading")):
            leaked = lines & {line.strip() for line in path.read_text(encoding="utf-8", errors="replace").splitlines()}
            if leaked:  # unless a prerequisite's student edition shows those lines anyway
                lines -= _released_lines(course, module)
                leaked &= lines
            if leaked:
                raise TitoError(f"The grading workspace would hold solution text of '{module.name}' in "
                                f"{path.relative_to(template)}: {sorted(leaked)[0]!r}",
                                hint="That file is shown to the students' code; keep solutions in the module source.")
    compileall.compile_dir(str(template), quiet=2, workers=1)
    for path in [template, *template.rglob("*")]:
        os.chmod(path, 0o755 if path.is_dir() else 0o644)


def _released_lines(course: Course, module: Module) -> set[str]:
    """Lines every student has anyway: the student editions of the module's prerequisites.

    A solution line that a prerequisite gives away as provided code (e.g. autograd's
    ``padding = to_pair(padding, "padding", minimum=0)``, written out in cnn) leaks nothing.
    """
    public = set()
    for each in course.prerequisites_of(module):
        public |= {line.strip() for line in strip_solutions(each.source()).text.splitlines()}
    return public


def _probe_build(prepared: Prepared, build: Path, out: Path) -> dict:
    """Run the checks on ``build`` in a trusted subprocess (no sandbox); name -> record."""
    from tito.grading.data import IMPORT_RECORD, UnreadableRecord, read_record

    spec = {**prepared.probe_spec(str(build)), "out": str(out)}
    try:
        proc = subprocess.run([PYTHON, "-I", "-S", str(PROBE), json.dumps(spec)], cwd=build,
                              env=dict(os.environ, **ONE_THREAD), capture_output=True, text=True, timeout=600)
    except subprocess.TimeoutExpired:
        raise TitoError(f"The checks of '{prepared.module}' took more than 10 minutes on {build.name}.") from None
    if proc.returncode != 0:
        raise TitoError(f"The checks of '{prepared.module}' crashed on the {build.name} build.",
                        hint=(proc.stdout + proc.stderr)[-2000:])
    try:
        failed = read_record(out, IMPORT_RECORD)
        if failed is not None and "raised" in failed:
            raise TitoError(f"The {build.name} build of '{prepared.module}' does not import or its checks do "
                            f"not load: {failed['raised']['type']}: {failed['raised']['message']}")
        return {c.name: read_record(out, c.name) for c in prepared.checks}
    except UnreadableRecord as exc:
        raise TitoError(f"A check of '{prepared.module}' returned unreadable data on the {build.name} build: "
                        f"{exc}") from None


def _refuse_broken_checks(module: Module, specs: list[CheckSpec], expected: dict) -> None:
    """TitoError naming each check whose result on the reference solution is no answer to grade
    against, with its error and the file to fix; before calibration, which would make a check that
    raises on both the reference and the stub worth 0 without a word."""
    checks, yaml = module.relative(module.tests_dir / "checks.py"), module.relative(module.metadata_file)
    problems = [f"check {spec.name} {problem}" for spec in specs
                if (problem := _reference_problem(spec, expected.get(spec.name), checks, yaml))]
    if problems:
        raise TitoError(f"The checks of '{module.name}' do not run as they should on the reference solution:\n  "
                        + "\n  ".join(problems))


def _reference_problem(spec: CheckSpec, record: dict | None, checks: str, yaml: str) -> str:
    """What is wrong with ``spec``'s result on the reference, and where to fix it; '' when nothing."""
    if record is None:
        return f"wrote no result: fix {checks}"
    if "unplain" in record:
        return f"returns {record['unplain']}, not plain data: fix {checks}"
    error = record.get("raised")
    if error and error["type"] == "CheckTimedOut":
        return f"ran past its time limit on the reference solution: fix {checks} or its seconds: in {yaml}"
    if error and not spec.may_raise:
        return (f"raised {_error_text(error)} on the reference solution; only checks named *_rejects_* may raise: "
                f"fix {checks}")
    if error and not spec.message and error["type"] in CHECK_BUGS:
        return (f"raised {_error_text(error)} on the reference solution, an error of the check's own code rather "
                f"than a refusal (the stub would raise it too): fix {checks}, or give the refusal's words as "
                f"message: in {yaml}")
    if spec.message and spec.message not in (error or {}).get("message", ""):
        came = f"it raised {_error_text(error)}" if error else "it returned a value"
        return (f"asks for an error saying {spec.message!r} (its message: in {yaml}), but on the reference solution "
                f"{came}: fix that message: or the check in {checks}")
    if error and "accepted" not in record:
        return (f"raised {_error_text(error)} on the reference solution without first returning the function's value "
                f"on a valid input: return refuses(valid, call, *words) (tito.grading.data), so that a function "
                f"refusing everything earns nothing: fix {checks}")
    passes, why, _ = judge(spec, record, record)
    if not passes:  # words it names that the reference's message lacks, a match: the reference's value fails
        return f"fails against its own result on the reference solution ({why}): fix {checks} or its entry in {yaml}"
    return ""


# Errors a refusal never is, but a typo in a check is: a rejects-check raising one on the reference
# would be worth 0 without a word (the stub raises it too).
CHECK_BUGS = ("NameError", "AttributeError", "ImportError", "ModuleNotFoundError", "UnboundLocalError")


def _error_text(error: dict) -> str:
    """'AttributeError: module ... has no attribute ...': a raised record as one line of text."""
    return f"{error['type']}: {' '.join(str(error['message']).split())}"[:300]


def _passing(prepared: Prepared, expected: dict, stub: dict) -> list[str]:
    return [c.name for c in prepared.checks
            if stub.get(c.name) is not None and judge(c, expected[c.name], stub[c.name])[0]]


# --------------------------------------------------------------------------- one job per submission


def entry_seconds(limits) -> float:
    """The time the sandbox's first process gives its own steps: a little less than the sandbox's
    deadline (``limits.seconds``), so that it ends them itself, saying where, before the kill."""
    return max(1.0, limits.seconds - 3.0)


def new_job(prepared: Prepared, parent: Path, sandbox: Sandbox, slot: int, data: bytes, filename: str,
            limits: Limits) -> tuple[Job, list[str]]:
    """A private job folder for one submission; returns it and the command the sandbox runs."""
    folder = Path(tempfile.mkdtemp(prefix="job-", dir=parent))
    job = Job(folder, prepared.template, prepared.writable, slot)
    view = sandbox.view(job)
    if sandbox.full_copy:
        shutil.copytree(prepared.template, folder / "course", symlinks=True)
    else:
        for relative in job.writable:
            shutil.copytree(prepared.template / relative, folder / "course" / relative)
    for name in ("out", "tmp"):
        (folder / name).mkdir()
    inputs = folder / "inputs"
    inputs.mkdir()
    submission = "submission" + (".ipynb" if filename.lower().endswith(".ipynb") else ".py")
    (inputs / submission).write_bytes(data)
    spec = {
        **prepared.probe_spec(view.course), "out": view.out, "tmp": view.tmp,
        "submission": f"{view.inputs}/{submission}", "filename": showable_name(filename), "module": prepared.module,
        "dev_file": prepared.dev_file, "reference_tests": f"{view.course}/{REFERENCE_TESTS}",
        "rlimits": limits.rlimits(), "feedback": limits.feedback,
        "seconds": entry_seconds(limits),
    }
    (inputs / "spec.json").write_text(json.dumps(spec), encoding="utf-8")
    _hand_over(job, sandbox.job_owner(slot))
    inner = [PYTHON, "-I", "-S", "-B", f"{view.course}/tito/grading/inside.py", f"{view.inputs}/spec.json"]
    return job, inner


def _hand_over(job: Job, owner: int | None) -> None:
    """Make the job's writable parts the sandbox user's; the rest stays the grader's, read-only."""
    folder = job.folder
    for path in [folder / "inputs", *(folder / "inputs").iterdir()]:
        os.chmod(path, 0o755 if path.is_dir() else 0o644)
    if owner is None:
        return
    writable = [folder / "out", folder / "tmp", *(folder / "course" / w for w in job.writable)]
    for top in writable:
        for path in [top, *top.rglob("*")]:
            os.chown(path, owner, owner, follow_symlinks=False)
    os.chown(folder, owner, owner)
    os.chmod(folder, 0o700)


def remove_job(job: Job) -> None:
    """Delete a job folder, whatever modes the student's code left on it."""
    remove_tree(job.folder)
