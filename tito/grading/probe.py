"""Run a module's checks against one build of the package and write what they return.

Started as a script, never imported by the grader::

    python -I -S tito/grading/probe.py '{"course": ..., "import_name": ..., ...}'

with ``course`` the course copy whose ``tinytorch`` is tested, ``site_packages`` the folders
of the installed packages, ``checks_file`` the checks, ``checks`` their names and time limits,
``seed`` the grading run's seed and ``out`` the folder for the records (``tito.grading.data``).

The grader runs it twice per batch outside any sandbox, on the reference build (the expected
results) and on the released stub (calibration), and the sandbox runs it once per submission
on the student's build. There, everything here — this file included — is the student's to
tamper with: what it writes is only data, read and compared by the grader outside.
"""

import importlib
import importlib.util
import json
import os
import signal
import sys
import zlib
from pathlib import Path


class CheckTimedOut(BaseException):
    """A check ran past its time (a BaseException, so `except Exception` in student code lets it through)."""


def _limited(seconds: float, call, message: str = "the check ran past its time limit"):
    def _on_alarm(signum, frame):
        raise CheckTimedOut(message)

    signal.signal(signal.SIGALRM, _on_alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        return call()
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)


def rng_for(seed: int, name: str):
    """The generator a check draws its inputs from: the same for every build in one run."""
    import numpy as np

    salt = zlib.crc32(name.encode("utf-8"))
    np.random.seed((seed + salt) % (2 ** 32))  # for code that uses the global RNG (e.g. weight init)
    return np.random.default_rng([seed, salt])


def _load_checks(path: str):
    spec = importlib.util.spec_from_file_location("tito_graded_checks", path)
    checks = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(checks)
    return checks


def run(spec: dict) -> None:
    from tito.grading.data import IMPORT_RECORD, raised

    out = Path(spec["out"])
    out.mkdir(parents=True, exist_ok=True)
    probe = os.getpid()
    try:
        seconds = spec.get("import_seconds", 30.0)
        module = _limited(seconds, lambda: importlib.import_module(spec["import_name"]),
                          f"importing it did not end within {seconds:g} s: a loop at the top level?")
        checks = _load_checks(spec["checks_file"])
    except BaseException as exc:  # noqa: BLE001 - whatever the import raised is the student's answer
        _record(out, IMPORT_RECORD, raised(exc), probe)
        return
    _record(out, IMPORT_RECORD, {"value": "imported"}, probe)  # a process that ends now ended in a check
    for check in spec["checks"]:
        name = check["name"]
        try:
            function = getattr(checks, "check_" + name)
            rng = rng_for(spec["seed"], name)
            record = {"value": _limited(check["seconds"], lambda: function(module, rng))}
        except BaseException as exc:  # noqa: BLE001 - an exception is a result like any other
            record = raised(exc)
        _record(out, name, record, probe)


def _record(out: Path, name: str, record: dict, probe: int) -> None:
    """Write a check's record, in the probe only: a process the submission forked ends here (its
    records would be written over the probe's, and the grade would vary from run to run)."""
    from tito.grading.data import write_record

    if os.getpid() != probe:
        os._exit(0)
    write_record(out, name, record)


def main(argv) -> int:
    spec = json.loads(argv[1])
    sys.path[:0] = [spec["course"]]
    sys.path.extend(spec.get("site_packages", []))
    run(spec)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
