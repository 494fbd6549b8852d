"""Grade students' module sources in isolated copies of the course.

For one module, a *reference workspace* is built once in a temporary folder: the
course's tito, tests, package helpers and pyproject, the module and its
prerequisites' sources, with the prerequisites exported from the reference
solutions. The tests a submission can earn points for are listed from the
reference: its inline ``test_unit_*`` functions and the node ids pytest collects
in ``tests/NN_name/``.

Each submission (``.py``, or ``.ipynb`` converted with jupytext) is graded in its
own copy of that workspace, where it replaces the module's source. As nbgrader
does with locked cells, the reference's test cells (hidden tests included) replace
the submission's, so editing a test earns nothing. There
``python -m tito test --module NAME --json FILE`` runs in its own process group
under a time limit; a submission that hangs is killed and scores 0 with the reason.
Points per test come from ``module.yaml``'s ``points: {test_name: n}`` (default 1).
To calibrate, the released stub itself is graded once first: a test it already passes
tests provided code rather than the student's, and earns 0 unless module.yaml gives it
points (``--no-calibrate`` turns this off).
"""

from __future__ import annotations

import ast
import csv
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from tito.course import Course, Module
from tito.errors import TitoError

SUBMISSION_SUFFIXES = (".py", ".ipynb")
DEFAULT_TIMEOUT = 120.0


@dataclass
class TestScore:
    __test__ = False  # not a pytest test class

    name: str
    passed: bool
    points: int
    message: str = ""

    @property
    def earned(self) -> int:
        return self.points if self.passed else 0

    def to_json(self) -> dict:
        return {"name": self.name, "passed": self.passed, "points": self.points, "message": self.message}


@dataclass
class Grade:
    module: str
    submission: str
    student: str
    tests: list[TestScore] = field(default_factory=list)
    error: str = ""
    seconds: float = 0.0

    @property
    def score(self) -> int:
        return sum(t.earned for t in self.tests)

    @property
    def max_score(self) -> int:
        return sum(t.points for t in self.tests)

    def to_json(self) -> dict:
        return {"module": self.module, "score": self.score, "max_score": self.max_score,
                "tests": [t.to_json() for t in self.tests], "student": self.student,
                "submission": self.submission, "error": self.error, "seconds": round(self.seconds, 2)}


# --------------------------------------------------------------------------- submissions


def read_submission(path: Path) -> str:
    """A submission's source as percent-format text (a notebook is converted)."""
    from tito.release import from_notebook

    path = Path(path)
    if path.suffix not in SUBMISSION_SUFFIXES:
        raise TitoError(f"{path.name}: a submission is a .py or .ipynb file, got '{path.suffix or 'no suffix'}'.")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise TitoError(f"{path.name} cannot be read: {exc}") from None
    return from_notebook(text, path.name) if path.suffix == ".ipynb" else text


def _test_names(code: str, calls: bool = False) -> set[str]:
    """test_unit_* functions a cell defines (and, with ``calls``, calls at top level)."""
    try:
        tree = ast.parse(code)
    except SyntaxError:
        pattern = r"^(?:def )?(test_unit_\w+)\s*\(" if calls else r"^def (test_unit_\w+)\s*\("
        return set(re.findall(pattern, code, re.MULTILINE))
    names = {n.name for n in tree.body if isinstance(n, ast.FunctionDef) and n.name.startswith("test_unit_")}
    return names | set(_called_tests(tree)) if calls else names


def restore_reference_tests(submission: str, reference: str) -> str:
    """The submission with every test cell replaced by the reference's cell defining the same tests.

    Reference test cells the submission lacks are appended at its end; a student's own extra
    tests stay but earn nothing, since only the reference's tests are scored. A test cell into
    which the student also put code of their own stays, followed by the reference's cell: a test
    then runs twice, and passes only if both runs pass.
    """
    import jupytext

    sub = jupytext.reads(submission, fmt="py:percent")
    ref = jupytext.reads(reference, fmt="py:percent")
    ref_cells = [(_test_names(c.source), c) for c in ref.cells if c.cell_type == "code"]
    ref_cells = [(names, c) for names, c in ref_cells if names]
    used, cells = set(), []
    for cell in sub.cells:
        names = _test_names(cell.source, calls=True) if cell.cell_type == "code" else set()
        match = next((i for i, (ref_names, _) in enumerate(ref_cells) if names & ref_names), None)
        if match is None or _defines_more_than_tests(cell.source):
            cells.append(cell)  # a student's code merged into a test cell stays; the reference follows
        if match is not None and match not in used:
            used.add(match)
            cells.append(ref_cells[match][1])
    cells.extend(c for i, (_, c) in enumerate(ref_cells) if i not in used)
    sub.cells = cells
    return jupytext.writes(sub, fmt="py:percent")


def _defines_more_than_tests(code: str) -> bool:
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return False
    return any(isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and not n.name.startswith("test_unit_")
               for n in tree.body)


def find_submissions(folder: Path, module: Module) -> list[tuple[str, Path]]:
    """(student, file) pairs in a folder: ``alice.py`` / ``bob.ipynb`` directly in it, or
    ``carol/<name>_dev.py`` (or .ipynb) in a folder per student (the newer one when both)."""
    found = []
    for path in sorted(Path(folder).iterdir()):
        if path.name.startswith("."):
            continue
        if path.is_file() and path.suffix in SUBMISSION_SUFFIXES:
            found.append((path.stem, path))
        elif path.is_dir():
            candidates = [path / f"{module.name}_dev{suffix}" for suffix in SUBMISSION_SUFFIXES]
            candidates = [c for c in candidates if c.is_file()]
            if candidates:
                found.append((path.name, max(candidates, key=lambda c: c.stat().st_mtime)))
    names = [student for student, _ in found]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise TitoError(f"Two submissions for the same student in {folder}: {', '.join(duplicates)}.",
                        hint="Keep one file per student (alice.py or alice.ipynb, not both).")
    return found


# --------------------------------------------------------------------------- the workspace


def _ignore(folder, names):
    return [n for n in names if n in ("__pycache__", ".pytest_cache", ".hypothesis", ".tito", ".ipynb_checkpoints")
            or n.endswith((".pyc", ".ipynb"))]


class Grader:
    """Grades submissions of one module against the reference solutions of ``course``."""

    def __init__(self, course: Course, module: Module, timeout: float = DEFAULT_TIMEOUT, calibrate: bool = True):
        if timeout <= 0:
            raise TitoError(f"--timeout must be a positive number of seconds, got {timeout:g}.", exit_code=2)
        self.course = course
        self.module = module
        self.timeout = timeout
        self.points = self._points()
        self.reference = module.dev_file.read_text(encoding="utf-8")
        self.scratch = Path(tempfile.mkdtemp(prefix=f"tito-grade-{module.name}-"))
        self.workspace = self.scratch / "reference"
        self.expected: list[str] = []
        self.import_name = ""  # e.g. tinytorch.core.cnn, set by prepare()
        self.calibrate = calibrate
        self.free: set[str] = set()  # tests the untouched stub passes already (calibration)

    def _points(self) -> dict:
        points = self.module.meta.get("points") or {}
        if not isinstance(points, dict) or not all(
                isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in points.values()):
            raise TitoError(f"{self.module.relative(self.module.folder / 'module.yaml')}: 'points' must map "
                            f"test names to whole numbers >= 0, got {points!r}.")
        return points

    def __enter__(self):
        self.prepare()
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self) -> None:
        shutil.rmtree(self.scratch, ignore_errors=True)

    # ---- building the reference workspace

    def prepare(self) -> None:
        from tito.exporter import export
        from tito.release import is_generated, with_prerequisites

        root, ws = self.course.root, self.workspace
        ws.mkdir(parents=True)
        for name in ("pyproject.toml", "setup.cfg", "pytest.ini"):
            if (root / name).is_file():
                shutil.copy2(root / name, ws / name)
        shutil.copytree(root / "tito", ws / "tito", ignore=_ignore)
        shutil.copytree(root / "tinytorch", ws / "tinytorch", ignore=_ignore)
        for path in (ws / "tinytorch").rglob("*.py"):
            if is_generated(path):
                path.unlink()
        (ws / "tests").mkdir()
        for path in (root / "tests").glob("*"):
            if path.is_file() and path.suffix != ".pyc":
                shutil.copy2(path, ws / "tests" / path.name)
        needed = with_prerequisites(self.course, [self.module])
        for module in needed:
            shutil.copytree(module.folder, ws / module.folder.relative_to(root), ignore=_ignore)
        if self.module.tests_dir.is_dir():
            shutil.copytree(self.module.tests_dir, ws / "tests" / self.module.dirname, ignore=_ignore)
        copy = Course(ws)
        for module in needed:
            export(copy.get(module.name), force=True)
        self.expected = self._expected_tests(copy)
        target = self._target(copy)
        target.unlink(missing_ok=True)
        self.import_name = ".".join(target.relative_to(ws).with_suffix("").parts)
        if not self.expected:
            raise TitoError(f"Module '{self.module.name}' has no tests to grade with.",
                            hint=f"Add test_unit_* functions to its source or tests in tests/{self.module.dirname}/.")
        unknown = sorted(set(self.points) - {n for name in self.expected for n in _aliases(name)})
        if unknown:
            raise TitoError(f"module.yaml of '{self.module.name}' gives points to unknown tests: {', '.join(unknown)}.",
                            hint="Points are keyed by test_unit_* names or pytest node ids (or test function names).")
        if self.calibrate:
            self.free = self._passing_on_the_stub()

    def _passing_on_the_stub(self) -> set[str]:
        """Tests the released stub passes (they test provided code, not the student's): worth 0
        unless module.yaml gives them points."""
        from tito.release import MARKER_LINE, strip_solutions

        if not MARKER_LINE.search(self.reference):
            return set()
        results, _ = self._run(strip_solutions(self.reference).text)
        return {name for name in self.expected if results.get(name, (False, ""))[0]}

    def _target(self, copy: Course) -> Path:
        from tito.exporter import read_cells, target_of

        module = copy.get(self.module.name)
        return target_of(module, read_cells(module.dev_file))

    def _expected_tests(self, copy: Course) -> list[str]:
        """Inline test names called by the reference source, then the pytest node ids it collects."""
        inline = _called_tests(self.reference)
        tests_dir = f"tests/{self.module.dirname}"
        if not (self.workspace / tests_dir).is_dir():
            return inline
        from tito.runner import subprocess_environment

        proc = subprocess.run(
            [sys.executable, "-m", "pytest", tests_dir, "--collect-only", "-q", "-p", "no:cacheprovider",
             "--color=no"], cwd=self.workspace, env=subprocess_environment(self.workspace),
            capture_output=True, text=True, timeout=max(self.timeout, 60))
        ids = [line.strip() for line in proc.stdout.splitlines() if "::" in line and not line.startswith(" ")]
        if proc.returncode != 0 or not ids:
            raise TitoError(f"pytest cannot collect {tests_dir} against the reference solution "
                            f"(exit code {proc.returncode}).", hint=_tail(proc.stdout + proc.stderr))
        return inline + ids

    # ---- grading one submission

    def grade(self, submission: Path, student: str | None = None) -> Grade:
        submission = Path(submission)
        grade = Grade(self.module.name, str(submission), student or submission.stem)
        started = time.monotonic()
        try:
            text = read_submission(submission)
            outcome = self._run(text)
        except TitoError as exc:
            outcome = ({}, exc.message)
        grade.seconds = time.monotonic() - started
        results, grade.error = outcome
        grade.tests = [self._score(name, results, grade.error) for name in self.expected]
        return grade

    def _score(self, name: str, results: dict, error: str) -> TestScore:
        explicit = next((self.points[a] for a in _aliases(name) if a in self.points), None)
        points = explicit if explicit is not None else (0 if name in self.free else 1)
        if name in results:
            passed, message = results[name]
            if explicit is None and name in self.free and passed:
                message = "passes on the untouched stub too, so it earns no points"
            return TestScore(name, passed, points, message)
        test_file = name.split("::")[0]
        if "::" in name and test_file in results and not results[test_file][0]:  # could not even import
            return TestScore(name, False, points, f"not run: {test_file}: {results[test_file][1]}")
        return TestScore(name, False, points, f"not run: {error}" if error else "not run")

    def _run(self, text: str) -> tuple[dict, str]:
        """Test the submission in a fresh copy of the workspace: ({test: (passed, message)}, error)."""
        copy_root = Path(tempfile.mkdtemp(prefix="submission-", dir=self.scratch))
        try:
            ws = copy_root / "course"
            shutil.copytree(self.workspace, ws)
            dev = ws / self.module.dev_file.relative_to(self.course.root)
            dev.write_text(restore_reference_tests(text, self.reference), encoding="utf-8")
            report = copy_root / "result.json"
            output, timed_out = self._test_process(ws, report)
            if timed_out:
                return {}, (f"timed out after {self.timeout:g} s: the submission hangs or is too slow, "
                            "so it scores 0")
            if not report.exists():
                return {}, f"tito test did not finish: {_tail(output)}"
            payload = json.loads(report.read_text(encoding="utf-8"))
            exported = next((s for s in payload.get("steps", []) if s.get("step") == "export"), {})
            if not exported.get("ok"):
                reason = (exported.get("error") or "no export step ran").splitlines()[0]
                return {}, f"the submission does not export ({reason}), so it scores 0"
            problem = self._import_problem(ws)
            if problem:
                return {}, problem
            return _results(payload)
        finally:
            shutil.rmtree(copy_root, ignore_errors=True)

    def _import_problem(self, ws: Path) -> str:
        """Why the submission's exported module does not import ('' when it does): that scores 0."""
        from tito.runner import subprocess_environment

        command = [sys.executable, "-c", f"import {self.import_name}"]
        try:
            proc = subprocess.run(command, cwd=ws, env=subprocess_environment(ws), capture_output=True,
                                  text=True, timeout=self.timeout)
        except subprocess.TimeoutExpired:
            return f"importing {self.import_name} timed out after {self.timeout:g} s, so it scores 0"
        if proc.returncode == 0:
            return ""
        last = (proc.stderr.strip().splitlines() or ["(no message)"])[-1]
        return f"the submission does not import ({self.import_name}: {last}), so it scores 0"

    def _test_process(self, ws: Path, report: Path) -> tuple[str, bool]:
        from tito.runner import subprocess_environment

        env = subprocess_environment(ws)
        env.update({"NO_COLOR": "1", "TITO_TEST_TIMEOUT": str(self.timeout)})
        command = [sys.executable, "-m", "tito", "test", "--module", self.module.name, "--json", str(report)]
        proc = subprocess.Popen(command, cwd=ws, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                text=True, encoding="utf-8", errors="replace", start_new_session=True)
        try:
            output, _ = proc.communicate(timeout=self.timeout)
            return output, False
        except subprocess.TimeoutExpired:
            _kill_group(proc)
            return "", True


def _kill_group(proc: subprocess.Popen) -> None:
    """Stop the test process and everything it started (its inline harness, pytest)."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.communicate()


def _called_tests(source) -> list[str]:
    """test_unit_* names a source (text or parsed tree) calls at top level (directly or in a top-level if)."""
    try:
        tree = ast.parse(source) if isinstance(source, str) else source
    except SyntaxError as exc:
        raise TitoError(f"The reference source does not parse: line {exc.lineno}: {exc.msg}") from None
    names = []
    statements = list(tree.body)
    while statements:
        node = statements.pop(0)
        if isinstance(node, ast.If):
            statements[:0] = node.body + node.orelse
        elif (isinstance(node, ast.Expr) and isinstance(node.value, ast.Call)
              and isinstance(node.value.func, ast.Name) and node.value.func.id.startswith("test_unit_")):
            names.append(node.value.func.id)
    return list(dict.fromkeys(names))


def _aliases(name: str) -> list[str]:
    """Keys a test's points may be given under: its full name, 'file.py::test', and 'test'."""
    if "::" not in name:
        return [name]
    path, _, rest = name.partition("::")
    function = rest.split("::")[-1]
    return [name, f"{Path(path).name}::{rest}", function, function.split("[")[0]]


def _results(payload: dict) -> tuple[dict, str]:
    """{test name: (passed, message)} from tito test's JSON, and the first failing step's error."""
    results, error = {}, ""
    for step in payload.get("steps", []):
        for test in step.get("tests", []):
            passed, message = bool(test.get("passed")), test.get("message", "")
            earlier = results.get(test["name"])
            if earlier is None or (earlier[0] and not passed):  # a test run twice passes only if both did
                results[test["name"]] = (passed, message)
        if not step.get("ok") and not error:
            error = f"{step.get('step')}: {step.get('error', '')}".strip()
    reasons = []
    missing = payload.get("not_implemented") or []
    if missing:
        reasons.append(f"not implemented yet: {', '.join(missing)}")
    crashed = next((f"{name}: {message}" for name, (passed, message) in results.items()
                    if name.startswith("cell ") and not passed), "")
    if crashed:  # a statement outside the tests failed, e.g. an import: usually the root cause
        reasons.append(crashed.splitlines()[0])
    if error:
        reasons.append(error)
    return results, "; ".join(reasons)


def _tail(text: str, lines: int = 12) -> str:
    return "\n".join((text or "").rstrip().splitlines()[-lines:])


# --------------------------------------------------------------------------- many submissions


def grade_many(grader: Grader, submissions: list[tuple[str, Path]], jobs: int = 1, on_done=None) -> list[Grade]:
    """Grade every (student, file), ``jobs`` at a time (each in its own processes); input order kept."""
    if jobs < 1:
        raise TitoError(f"--jobs must be at least 1, got {jobs}.", exit_code=2)

    def one(item):
        grade = grader.grade(item[1], item[0])
        if on_done:
            on_done(grade)
        return grade

    with ThreadPoolExecutor(max_workers=jobs) as pool:
        return list(pool.map(one, submissions))


def write_json(grade: Grade, path: Path) -> None:
    from tito.exporter import write_atomically

    write_atomically(Path(path), json.dumps(grade.to_json(), indent=2) + "\n")


def write_gradebook(grades: list[Grade], path: Path) -> None:
    """A CSV row per student: score, max, percent, error, then the points earned per test."""
    tests = [t.name for t in grades[0].tests] if grades else []
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.with_name(f".{path.name}.tmp")
    with open(temp, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["student", "submission", "score", "max_score", "percent", "error", *tests])
        for grade in grades:
            earned = {t.name: t.earned for t in grade.tests}
            percent = round(100 * grade.score / grade.max_score, 1) if grade.max_score else 0.0
            writer.writerow([grade.student, grade.submission, grade.score, grade.max_score, percent,
                             grade.error.splitlines()[0] if grade.error else "", *(earned.get(t, 0) for t in tests)])
    os.replace(temp, path)
