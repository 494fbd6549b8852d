"""The first process in the sandbox: everything a submission runs, in order, under one deadline.

Started by the grader as ``python -I -S -B tito/grading/inside.py SPEC.json`` (see
``tito.grading.workspace.new_job`` for SPEC). Before anything of the submission is read it
sets the limits (``resource.setrlimit``, soft = hard, so they cannot be raised again) and
installs the syscall filter (``tito.grading.syscall_filter``: no memfd, no shared memory). Then:

1. **read**: the submission's bytes become the module source (``to_source``: BOM, CRLF,
   notebooks), its test cells are replaced by the reference's, and it is written as the module's
   source in the private course;
2. **export**: ``tito export`` of that source into ``tinytorch/core``;
3. **checks**: ``probe.py`` runs the graded checks on the exported module in a subprocess and
   writes their results to ``out/checks/`` — the only thing the points are computed from,
   by the grader, outside;
4. **inline** and **pytest**: the module's tests, for the report's feedback (no points).

After each step the progress goes to ``out/status.json``, so a step that hangs or crashes
loses nothing of the steps before it. Nothing written there is trusted by the grader: the
submission's code can rewrite it. Whether the read and the export succeeded is also said on this
process's output (``announce``), before any of the submission's code runs: an attempt that
"cannot be read" is not counted on some platforms, so the grader believes only those lines. While
the two steps run, everything else this process prints is held back (``output_held_back``): a
warning of the export's compile quotes the submission's source, and must not come first.
"""

import contextlib
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

MAX_TESTS = 500  # feedback tests reported
MAX_MESSAGE = 1000  # characters of one feedback message
VERDICT = "tito-inside-verdict "  # starts the line that says a step's verdict on this process's output
MAX_HELD = 64 * 1024  # bytes of the output held back during the read and the export that are shown after
_verdicts = {"fd": 1}  # where announce writes: this process's real output, also while the rest is held back


def set_limits(limits: dict) -> None:
    for name, value in limits.items():
        kind = getattr(resource, name)
        _, hard = resource.getrlimit(kind)
        if hard != resource.RLIM_INFINITY:
            value = min(value, hard)
        resource.setrlimit(kind, (value, value))


class Status:
    """out/status.json: the step running now and what each finished step reported."""

    def __init__(self, out: Path):
        self.path = out / "status.json"
        self.data = {"running": "", "steps": {}}
        self.started = time.monotonic()

    def begin(self, step: str) -> None:
        self.data["running"] = step
        self.started = time.monotonic()
        self.save()

    def end(self, step: str, **report) -> None:
        self.data["steps"][step] = {"seconds": round(time.monotonic() - self.started, 3), **report}
        self.data["running"] = ""
        self.save()

    def save(self) -> None:
        temp = self.path.with_name(".status.json.tmp")
        temp.write_text(json.dumps(self.data), encoding="utf-8")
        os.replace(temp, self.path)


def announce(step: str, ok: bool, error: str = "") -> None:
    """Say on this process's output, on one line of ASCII, whether ``step`` (read or export)
    succeeded. Said while ``output_held_back`` holds everything else back, before any of the
    submission's code runs: the verdicts are the first lines of the output the grader keeps."""
    line = (VERDICT + json.dumps({"step": step, "ok": bool(ok), "error": error[:MAX_MESSAGE]}) + "\n").encode("ascii")
    while line:
        line = line[os.write(_verdicts["fd"], line):]


@contextlib.contextmanager
def output_held_back(folder: Path):
    """While the block runs, what this process and its children print goes to a file in ``folder``;
    after it, the first ``MAX_HELD`` bytes of that follow on the real output, after the verdicts."""
    for stream in (sys.stdout, sys.stderr):
        stream.flush()
    saved = os.dup(1), os.dup(2)
    with open(folder / "held-output.txt", "w+b") as held:
        os.dup2(held.fileno(), 1)
        os.dup2(held.fileno(), 2)
        _verdicts["fd"] = saved[0]
        try:
            yield
        finally:
            for stream in (sys.stdout, sys.stderr):
                stream.flush()
            for fd, copy in ((1, saved[0]), (2, saved[1])):
                os.dup2(copy, fd)
                os.close(copy)
            _verdicts["fd"] = 1
            held.seek(0)
            sys.stdout.buffer.write(held.read(MAX_HELD))
            sys.stdout.flush()


def remaining(deadline: float) -> float:
    return max(0.5, deadline - time.monotonic())


def step_report(step) -> dict:
    """A runner StepResult as plain JSON for the report (tests and messages truncated)."""
    tests = [{"name": t.name[:300], "passed": bool(t.passed), "skipped": bool(t.skipped),
              "message": (t.message or "")[:MAX_MESSAGE]} for t in step.tests[:MAX_TESTS]]
    return {"ok": bool(step.ok), "error": (step.error or "")[:MAX_MESSAGE], "tests": tests,
            "not_implemented": [str(n)[:100] for n in step.not_implemented[:50]],
            "timed_out": "timed out" in (step.error or "")}


def read_submission(spec: dict, status: Status) -> bool:
    from tito.grading.submission import SubmissionError, restore_reference_tests, to_source

    status.begin("read")
    try:
        text = to_source(Path(spec["submission"]).read_bytes(), spec["filename"])
        text = restore_reference_tests(text, Path(spec["reference_tests"]).read_text(encoding="utf-8"))
    except Exception as exc:  # a SubmissionError says what came; whatever else a malformed file raises, too
        error = str(exc) if isinstance(exc, SubmissionError) else (
            f"{spec['filename']} cannot be read as a module source: {type(exc).__name__}: {exc}")
        announce("read", False, error)
        status.end("read", ok=False, error=error[:MAX_MESSAGE])
        return False
    announce("read", True)
    Path(spec["course"], spec["dev_file"]).write_text(text, encoding="utf-8")
    from tito.format import stub_names

    status.end("read", ok=True, stubs=stub_names(text)[:50])  # what the reason lists, with or without feedback
    return True


def run_checks(spec: dict, status: Status, deadline: float) -> None:
    """probe.py on the student's export, in its own process group; its output goes to a file.

    A process that ends during a check (``os._exit`` in the student's code, a crash) is started
    again for the checks after it; the check it ended in is recorded as raising ProcessEnded.
    """
    from tito.grading.data import IMPORT_RECORD

    status.begin("checks")
    out = Path(spec["out"]) / "checks"
    log = Path(spec["tmp"]) / "checks-output.txt"
    pending, crashes = list(spec["checks"]), []
    with open(log, "wb") as output:
        while True:
            (out / f"{IMPORT_RECORD}.json").unlink(missing_ok=True)  # written again once this run imports
            code = _probe(spec, pending, out, output, deadline)
            if code is None:
                report = {"ok": False, "timed_out": True, "error": "the checks ran past the submission's time limit"}
                break
            missing = [check for check in pending if not (out / f"{check['name']}.json").exists()]
            if not missing or not _imported(out / f"{IMPORT_RECORD}.json"):  # all ran, or the import failed
                report = {"ok": code == 0 and not crashes, "exit_code": code}
                break
            crashes.append({"check": missing[0]["name"], "exit_code": code})
            _record_ended(out, missing[0]["name"], code)
            pending = missing[1:]
            if not pending:  # it ended in the last check
                report = {"ok": False, "exit_code": code}
                break
    status.end("checks", output=tail(log), crashes=crashes, **report)


def _probe(spec: dict, checks: list, out: Path, output, deadline: float) -> int | None:
    """Run probe.py on ``checks``: its exit code, or None when it ran past the deadline (killed)."""
    probe = {key: spec[key] for key in ("course", "site_packages", "import_name", "checks_file", "seed")}
    probe.update(checks=checks, out=str(out))
    command = [sys.executable, "-I", "-S", "-B", str(Path(spec["course"], "tito", "grading", "probe.py")),
               json.dumps(probe)]
    proc = subprocess.Popen(command, cwd=spec["course"], stdin=subprocess.DEVNULL, stdout=output,
                            stderr=subprocess.STDOUT, start_new_session=True)
    try:
        return proc.wait(timeout=remaining(deadline) - 0.5)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, 9)
        proc.wait()
        return None


def _imported(record: Path) -> bool:
    """True when this run of probe.py imported the module (then a missing record is a crash)."""
    try:
        return "value" in json.loads(record.read_text(encoding="utf-8"))
    except (OSError, ValueError, TypeError):
        return False


def _record_ended(out: Path, name: str, code: int) -> None:
    """The record of a check during which the checks' process ended."""
    from tito.grading.data import write_record

    message = f"the checks' process ended during this check (exit code {code})"
    write_record(out, name, {"raised": {"type": "ProcessEnded", "mro": ["ProcessEnded", "BaseException", "object"],
                                        "message": message}})


def tail(path: Path, size: int = 2000) -> str:
    """The end of what a step printed (its output goes to a file, bounded by RLIMIT_FSIZE)."""
    with open(path, "rb") as handle:
        handle.seek(max(0, handle.seek(0, os.SEEK_END) - size))
        return handle.read().decode("utf-8", "replace")


def main(argv) -> int:
    spec = json.loads(Path(argv[1]).read_text(encoding="utf-8"))
    set_limits(spec["rlimits"])
    deadline = time.monotonic() + spec["seconds"]
    sys.path[:0] = [spec["course"]]
    sys.path.extend(spec["site_packages"])
    from tito.grading import syscall_filter

    if not syscall_filter.problem():  # elsewhere the sandbox's description names the calls as a weak point
        syscall_filter.install()
    from tito.deps import skip_slow_optional_imports

    skip_slow_optional_imports()
    os.chdir(spec["course"])
    status = Status(Path(spec["out"]))
    from tito.course import Course
    from tito.testing.outcomes import StepResult
    from tito.testing.runner import run_export, run_inline, run_pytest

    with output_held_back(Path(spec["tmp"])):
        if not read_submission(spec, status):
            return 0
        module = Course(Path(spec["course"])).get(spec["module"])
        status.begin("export")
        try:
            exported = run_export(module)
        except Exception as exc:  # a fault of tito's on this file (none of the submission's code has run): said
            exported = StepResult("export", False, f"tito could not export it ({type(exc).__name__}: {exc})")
        announce("export", exported.ok, exported.error or "")
        status.end("export", **step_report(exported))
    if exported.ok:
        run_checks(spec, status, deadline)
    if not spec.get("feedback", True):  # tito grade --no-feedback: the points only
        return 0
    status.begin("inline")
    os.environ["TITO_TEST_TIMEOUT"] = str(remaining(deadline))
    status.end("inline", **step_report(run_inline(module)))
    if exported.ok:
        status.begin("pytest")
        os.environ["TITO_TEST_TIMEOUT"] = str(remaining(deadline))
        status.end("pytest", **step_report(run_pytest(module, full=True)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
