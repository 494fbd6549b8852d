"""Hostile submissions against tito grade, on the small instructor course of test_release_support.

Every attack starts from the released stub (which scores 0) and adds code that runs when the
student's module is imported — in the checks' probe, the inline harness and pytest — plus a
cell that reports what it did as an inline feedback failure ("ATTACK-REPORT {...}"), so each
test can see that the attack really ran. They are graded in one batch, two at a time, beside
honest submissions. Each must earn no more than the stub, change no file outside its scratch
(the course and the Python environment are hashed before and after), leave no process behind
and leave the other students' grades intact.
"""

import hashlib
import json
import os
import re
import signal
import site
import subprocess
import sys
import textwrap
import time
import uuid
from pathlib import Path

import pytest
from test_release_support import ALPHA_DEV, REAL_ROOT

from tito.grading import grade_batch
from tito.grading.grader import SCRATCH_PREFIX, sweep_stale_scratch
from tito.release import notebook_json, strip_solutions, to_notebook

MARK = f"tito-attack-{uuid.uuid4().hex[:12]}"  # in every file and process an attack makes
STUB = strip_solutions(ALPHA_DEV).text
HALF_DONE = STUB.replace('raise NotImplementedError("TODO: implement double")', "return np.asarray(x) * 2")
SECRET = "doubled_value_of_the_input"  # in the reference solution (an attack spells it in two halves)

PRELUDE = f'''
import glob as _glob, json as _json, os as _os, signal as _signal, subprocess as _subprocess, sys as _sys, time as _time
MARK = {MARK!r}
_REPORT = {{}}
IN_PROBE = _sys.argv[0].endswith("probe.py")  # the checks' probe: its output is in the grade's checks_output
IN_PYTEST = "_pytest" in _sys.modules


def _note(key, value):
    _REPORT.setdefault(key, []).append(value)
'''

REPORT_CELL = '\n# %%\nraise AssertionError("ATTACK-REPORT " + _json.dumps(_REPORT, default=str))\n'


def attack(body: str, first: bool = False) -> str:
    """The stub, plus ``body`` in an exported cell — at its end (so it can replace the stubbed
    functions), or ``first``, before the inline tests run — plus the reporting cell."""
    cell = "# %%\n#| export\n" + PRELUDE + textwrap.dedent(body) + "\n"
    if first:
        head, imports, rest = STUB.partition("import numpy as np\n")
        return head + imports + "\n" + cell + rest + REPORT_CELL
    return STUB + "\n" + cell + REPORT_CELL


READ_REFERENCE = '''
roots = {{{instructor!r}, {real_root!r}, _os.getcwd(), _os.path.expanduser("~")}}
roots |= {{v for v in _os.environ.values() if v.startswith("/")}}
for start in (_sys.executable, _os.path.realpath(_sys.executable), _sys.prefix, _sys.base_prefix):
    while start not in ("", "/"):
        roots.add(start)
        start = _os.path.dirname(start)
for folder in [p for p in _sys.path if "-packages" in p]:
    for name in _glob.glob(folder + "/*.pth") + _glob.glob(folder + "/__editable__*"):
        try:
            roots |= set(__import__("re").findall(r"['\\"](/[^'\\"]+)['\\"]", open(name).read()))
            _note("finder_read", _os.path.basename(name))
        except OSError as exc:
            _note("finder_refused", _os.path.basename(name))
for proc in _glob.glob("/proc/[0-9]*"):
    try:
        roots.add(_os.readlink(proc + "/cwd"))
        roots |= {{v.split("=", 1)[1] for v in open(proc + "/environ").read().split("\\0") if "=/" in v}}
    except OSError:
        pass
roots |= set(_glob.glob("/tmp/*")) | set(_glob.glob("/tmp/*/*")) | set(_glob.glob("/tmp/*/*/*"))
found, expected = [], _glob.glob("/tmp/" + {prefix!r} + "*/prepared/expected/*.json")
for root in sorted(roots):
    for rel in ("modules/source/01_alpha/alpha_dev.py", "tinytorch/core/alpha.py", "course/modules/source/01_alpha/alpha_dev.py"):
        try:
            if {secret} in open(_os.path.join(root, rel)).read():
                found.append(_os.path.join(root, rel))
        except (OSError, UnicodeDecodeError):
            pass
for folder, _, files in _os.walk(_os.getcwd()):
    for name in files:
        try:
            if {secret} in open(_os.path.join(folder, name), errors="replace").read():
                found.append(_os.path.join(folder, name))
        except OSError:
            pass
_REPORT.update(roots=len(roots), found=found, expected=expected)
if found:  # the solution, exec'd here, would pass every check
    exec(compile(open(found[0]).read(), "reference", "exec"), globals())
if expected and IN_PROBE:  # the expected results, copied where the probe writes ours
    out = _json.loads(_sys.argv[1])["out"]
    for name in expected:
        open(_os.path.join(out, _os.path.basename(name)), "w").write(open(name).read())
'''

FORGE = '''
if IN_PROBE:
    out = _json.loads(_sys.argv[1])["out"]
    for name in ("double", "scaler", "double_negative", "numpy_is_provided"):
        with open(_os.path.join(out, name + ".json"), "w") as forged:
            forged.write(_json.dumps({"value": [0.0, 1.0, 2.0, 3.0, 4.0]}))
    with open(_os.path.join(_os.path.dirname(out), "status.json"), "w") as forged:
        forged.write(_json.dumps({"running": "", "steps": {"read": {"ok": True}}}))
    print("ATTACK-FORGED", out, flush=True)
    _os.kill(_os.getpid(), _signal.SIGKILL)  # nobody left to write the real results
'''

PATCH_HARNESS = '''
if "__tito_run_test__" in globals():  # the inline harness: every test now "passes"
    harness = globals()["__tito_run_test__"].__self__

    def __tito_run_test__(name, call):
        harness.ran.add(name)
        harness.emit({"event": "test", "name": name, "passed": True, "message": ""})

    _note("patched", "inline harness")
if IN_PROBE:  # the probe: every result it writes is now "right"
    real = _json.dumps
    _json.dumps = lambda record, **options: real({"value": "PATCHED"} if "raised" in record else record, **options)
    print("ATTACK-PATCHED-PROBE", flush=True)
'''

PYTEST_TAMPER = '''
for path in ("tests/01_alpha/conftest.py", "tests/conftest.py", "conftest.py", "tinytorch/core/conftest.py"):
    try:
        with open(path, "w") as planted:
            planted.write("def pytest_collection_modifyitems(items):\\n    items.clear()\\n")
        _note("planted", path)
    except OSError as exc:
        _note("refused", path + ": " + exc.strerror)
import gc as _gc
for config in [o for o in _gc.get_objects() if type(o).__name__ == "Config" and hasattr(o, "pluginmanager")]:
    import pytest as _pytest

    class AllPass:
        @_pytest.hookimpl(hookwrapper=True)
        def pytest_runtest_makereport(self, item, call):
            outcome = yield
            outcome.get_result().outcome = "passed"

    config.pluginmanager.register(AllPass(), "all-pass")
    xml = getattr(config.option, "xmlpath", None)
    if xml:
        import atexit as _atexit
        _atexit.register(lambda: open(xml, "w").write(
            '<testsuites><testsuite><testcase classname="tests.01_alpha.test_alpha_ops" name="test_double" '
            'file="tests/01_alpha/test_alpha_ops.py"/></testsuite></testsuites>'))
'''

WRITE_OUTSIDE = '''
targets = [{dev!r}, {instructor!r} + "/" + MARK, {site!r} + "/zz-" + MARK + ".pth", _sys.prefix + "/" + MARK,
           "tests/01_alpha/test_alpha_ops.py", "tito/cli.py", {real_root!r} + "/" + MARK, "/etc/" + MARK,
           "/work/" + MARK, "/tmp/" + MARK]
for target in targets + _glob.glob("/tmp/" + {prefix!r} + "*/prepared/template/tito/cli.py"):
    try:
        with open(target, "a") as handle:
            handle.write("\\\\nimport os; open('/tmp/" + MARK + "-planted', 'w')\\\\n")
        _note("written", target)
    except OSError as exc:
        _note("refused", target)
'''

DAEMON = '''
body = ("import os, sys, time\\nif os.fork(): os._exit(0)\\nos.setsid()\\nif os.fork(): os._exit(0)\\n"
        "time.sleep(1000)\\n")
if IN_PROBE:  # a double-forked setsid daemon
    _subprocess.Popen([_sys.executable, "-c", body, MARK], start_new_session=True, stdin=_subprocess.DEVNULL,
                      stdout=_subprocess.DEVNULL, stderr=_subprocess.DEVNULL)
    print("ATTACK-DAEMON", flush=True)
'''

PIPE_HOLDER = DAEMON + '''
if IN_PYTEST:  # one that keeps pytest's output pipes open: whoever waits for them waits for ever
    pipes = []
    for fd in _os.listdir("/proc/self/fd"):
        try:
            if _os.readlink("/proc/self/fd/" + fd).startswith("pipe:"):
                pipes.append(int(fd))
        except OSError:
            pass
    _subprocess.Popen([_sys.executable, "-c", body, MARK], start_new_session=True, pass_fds=pipes)
'''

SLEEPER = '''
_subprocess.Popen([_sys.executable, "-c", "import time; time.sleep(1000)", MARK],
                  stdout=_subprocess.DEVNULL, stderr=_subprocess.DEVNULL)
print("ATTACK-SLEEPING", flush=True)
_time.sleep(1000)
'''

MEMORY_HOG = '''
for size in (3 << 30, 1 << 40):
    try:
        hog = bytearray(size)
        _note("allocated", size)
    except MemoryError:
        _note("refused", size)
'''

OUTPUT_FLOOD = '''
chunk = "flood " * 170000
try:
    for _ in range(100):
        _sys.stdout.write(chunk)
    _note("printed", "100 MB")
except OSError as exc:
    _note("stopped", exc.strerror)
'''

FORK_BOMB = '''
if IN_PROBE:
    bomb = ("import os, sys, time\\nwhile True:\\n    try:\\n        os.fork()\\n    except OSError:\\n        break\\n"
            "procs = len([p for p in os.listdir('/proc') if p.isdigit() and os.stat('/proc/' + p).st_uid == os.getuid()])\\n"
            "print('FORKBOMB-BLOCKED with %d processes of its uid' % procs, flush=True)\\n"
            "time.sleep(1000)\\n")
    _subprocess.Popen([_sys.executable, "-c", bomb, MARK], start_new_session=True)
    _time.sleep(3)
'''

KILL_GRADER = '''
killed, refused = [], []
for pid in sorted(int(p) for p in _os.listdir("/proc") if p.isdigit()):
    if pid != _os.getpid():
        try:
            _os.kill(pid, _signal.SIGKILL)
            killed.append(pid)
        except OSError:
            refused.append(pid)
if IN_PROBE:
    print("ATTACK-KILLED %d processes, refused %d" % (len(killed), len(refused)), flush=True)
'''


def course_state(instructor: Path) -> dict:
    """A hash per file of the instructor's course, and of what in the Python environment runs code."""
    state = {str(p): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(instructor.rglob("*"))
             if p.is_file() and "__pycache__" not in p.parts}
    for folder in site.getsitepackages():
        for path in sorted(Path(folder).iterdir()):
            state[str(path)] = hashlib.sha256(path.read_bytes()).hexdigest() if path.suffix == ".pth" else "entry"
    for path in sorted(Path(sys.prefix, "bin").iterdir()):
        state[str(path)] = "entry"
    return state


def leftovers() -> list[str]:
    """Processes still running with the attacks' mark in their command line."""
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            text = cmdline.read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if MARK in text and str(os.getpid()) != cmdline.parent.name:
            found.append(text[:120])
    return found


def settled(check, seconds=5.0):
    """check() after the kernel has had up to ``seconds`` to reap what was killed."""
    deadline = time.monotonic() + seconds
    while check() and time.monotonic() < deadline:
        time.sleep(0.1)
    return check()


def attack_submissions(instructor: Path, names: tuple = ()) -> dict:
    """File name -> text of every attack (or those in ``names``) and of the honest alice and carol."""
    dev = instructor / "modules/source/01_alpha/alpha_dev.py"
    site_packages = site.getsitepackages()[0]
    values = dict(instructor=str(instructor), real_root=str(REAL_ROOT), prefix=SCRATCH_PREFIX,
                  secret=f"{SECRET[:7]!r} + {SECRET[7:]!r}",
                  dev=str(dev), site=site_packages)
    sources = {
        "sleeper": SLEEPER, "read_reference": READ_REFERENCE, "forge": FORGE, "patch_harness": PATCH_HARNESS,
        "pytest_tamper": PYTEST_TAMPER, "write_outside": WRITE_OUTSIDE, "daemons": PIPE_HOLDER,
        "memory_hog": MEMORY_HOG, "output_flood": OUTPUT_FLOOD, "fork_bomb": FORK_BOMB, "kill_grader": KILL_GRADER,
    }
    files = {f"{name}.py": attack(body.format(**values) if name in ("read_reference", "write_outside") else body,
                                  first=name in ("patch_harness", "pytest_tamper"))
             for name, body in sources.items() if not names or name in names}
    files["nbformat3.ipynb"] = json.dumps({"nbformat": 3, "nbformat_minor": 0, "metadata": {}, "worksheets": [
        {"cells": [{"cell_type": "code", "input": cell, "language": "python", "outputs": []}
                   for cell in HALF_DONE.split("# %%\n")[1:]]}]})
    files["metadata_list.ipynb"] = json.dumps({"nbformat": 4, "nbformat_minor": 5, "metadata": [], "cells": []})
    files["forty_thousand_cells.ipynb"] = json.dumps({"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [
        {"cell_type": "code", "source": "", "metadata": {}, "outputs": [], "execution_count": None}] * 40_000})
    files["alice.py"] = ALPHA_DEV
    files["carol.ipynb"] = notebook_json(to_notebook(HALF_DONE))
    return {name: text for name, text in files.items() if not names or name.split(".")[0] in names + ("alice", "carol")}


def report_of(grade) -> dict:
    for test in grade.feedback:
        found = re.search(r"ATTACK-REPORT (\{.*\})", test.message)
        if found:
            return json.loads(found.group(1))
    raise AssertionError(f"{grade.student}: no attack report in the feedback: {[t.message for t in grade.feedback]}")


@pytest.fixture(scope="module")
def batch(alpha_grader, instructor_course, tmp_path_factory):
    """Every attack and two honest students, graded two at a time: (student -> Grade, state before, after).
    The two that run until the deadline go first, side by side."""
    folder = tmp_path_factory.mktemp("attacks")
    files = attack_submissions(instructor_course)
    for name, text in files.items():
        (folder / name).write_text(text, encoding="utf-8")
    before = course_state(instructor_course)
    slow = ["sleeper", "daemons"]
    order = slow + sorted(n.split(".")[0] for n in files if n.split(".")[0] not in slow)
    submissions = [(student, next(folder.glob(student + ".*"))) for student in order]
    grades = grade_batch(alpha_grader, submissions, tmp_path_factory.mktemp("attack-grades"), jobs=2)
    return {g.student: g for g in grades}, before, course_state(instructor_course)


ATTACKS = ["read_reference", "forge", "patch_harness", "pytest_tamper", "write_outside", "daemons", "sleeper",
           "memory_hog", "output_flood", "fork_bomb", "kill_grader", "metadata_list", "forty_thousand_cells"]


def said(grade, marker: str) -> bool:
    """True when the attack printed ``marker`` in the checks' probe (proof that it ran there)."""
    return marker in grade.sandbox.get("checks_output", "")


def test_honest_students_beside_the_attacks_keep_their_grades(batch):
    grades, _, _ = batch
    assert (grades["alice"].score, grades["alice"].max_score, grades["alice"].error) == (6, 6, "")
    assert (grades["carol"].score, grades["carol"].error) == (4, "not implemented yet: Scaler.__call__")
    assert grades["nbformat3"].score == 4  # an nbformat 3 notebook is upgraded and graded


@pytest.mark.parametrize("student", ATTACKS)
def test_no_attack_earns_more_than_the_stub(batch, student):
    grade = batch[0][student]
    assert (grade.score, grade.max_score) == (0, 6), grade.to_json()


def test_nothing_outside_the_scratch_changed_and_nothing_is_left_running(batch):
    _, before, after = batch
    assert after == before
    for folder in (Path("/tmp"), REAL_ROOT, Path("/etc"), Path("/work")):
        assert not list(folder.glob(f"{MARK}*"))
    assert settled(leftovers) == []


def test_the_reference_is_out_of_reach_by_every_route(batch):
    report = report_of(batch[0]["read_reference"])
    assert report["found"] == [] and report["expected"] == []
    assert report["roots"] > 20  # the routes were tried: parents, environment, /proc, /tmp, finders
    assert report["finder_read"]  # the editable-install finder and .pth files are there, emptied


def test_forged_and_patched_results_are_only_data(batch):
    grades = batch[0]
    assert said(grades["forge"], "ATTACK-FORGED")
    assert said(grades["patch_harness"], "ATTACK-PATCHED-PROBE")
    assert [t.message for t in grades["patch_harness"].checks[:2]] == [
        "result: expected an array of shape (5,) and dtype float64, got 'PATCHED'",
        "result: expected an array of shape (4,) and dtype float64, got 'PATCHED'"]
    inline = [t for t in grades["patch_harness"].feedback if t.name.startswith("test_unit_")]
    assert inline and all(t.passed for t in inline)  # the patched harness "passes" them: feedback only
    assert report_of(grades["patch_harness"])["patched"] == ["inline harness"]


def test_tests_and_harness_are_read_only_and_pytest_tampering_is_feedback(batch):
    grade = batch[0]["pytest_tamper"]
    report = report_of(grade)
    assert report.get("planted", []) == ["tinytorch/core/conftest.py"]  # its own package folder only
    assert sorted(r.split(":")[0] for r in report["refused"]) == ["conftest.py", "tests/01_alpha/conftest.py",
                                                                  "tests/conftest.py"]
    pytest_tests = [t for t in grade.feedback if t.kind == "pytest"]
    assert pytest_tests and all(t.passed for t in pytest_tests)  # the plugin found through gc "passed" them


def test_writes_outside_the_scratch_are_refused(batch, instructor_course):
    report = report_of(batch[0]["write_outside"])
    refused = report["refused"]
    for target in (str(instructor_course / "modules/source/01_alpha/alpha_dev.py"), "tests/01_alpha/test_alpha_ops.py",
                   "tito/cli.py", f"{sys.prefix}/{MARK}", f"{site.getsitepackages()[0]}/zz-{MARK}.pth"):
        assert target in refused
    # what it could write is its private /tmp, and folders of the sandbox's own empty root
    assert not [t for t in report.get("written", []) if not t.startswith(("/tmp/", "/etc/", "/work/"))]


def test_daemons_and_held_pipes_end_at_the_deadline(batch, alpha_grader):
    grade = batch[0]["daemons"]
    assert said(grade, "ATTACK-DAEMON")
    assert grade.error.endswith(f"timed out after {alpha_grader.limits.seconds:g} s (in pytest): its checks "
                                "had finished; only feedback was cut short")
    assert grade.seconds < alpha_grader.limits.seconds + 10


def test_a_submission_sleeping_everywhere_is_stopped_at_its_one_deadline(batch, alpha_grader):
    grade = batch[0]["sleeper"]
    limit = alpha_grader.limits.seconds
    assert f"timed out after {limit:g} s (in checks): checks that had not finished score 0" in grade.error
    assert said(grade, "ATTACK-SLEEPING")
    assert grade.seconds < limit + 10  # one deadline for everything, not one per step


def test_memory_output_and_processes_are_bounded(batch, alpha_grader):
    grades = batch[0]
    assert report_of(grades["memory_hog"])["refused"] == [3 << 30, 1 << 40]
    assert report_of(grades["output_flood"])["stopped"] == ["File too large"]
    assert said(grades["output_flood"], "flood flood")  # in the probe too, until RLIMIT_FSIZE stopped it
    blocked = re.search(r"FORKBOMB-BLOCKED with (\d+) processes", grades["fork_bomb"].sandbox["checks_output"])
    assert blocked and int(blocked.group(1)) <= alpha_grader.limits.processes


def test_killing_everything_in_sight_reaches_only_the_sandbox(batch):
    grade = batch[0]["kill_grader"]  # it killed the sandbox's own entry, and nothing else: we are alive
    assert grade.error.startswith("the sandbox stopped early in checks")


def test_broken_notebooks_score_zero_with_their_reason(batch):
    grades = batch[0]
    assert grades["metadata_list"].error == ("cannot read the submission: metadata_list.ipynb: the notebook's "
                                             "metadata must be a JSON object, got list; it scores 0")
    assert grades["forty_thousand_cells"].error.startswith(
        "cannot read the submission: forty_thousand_cells.ipynb has 40000 cells")


# --------------------------------------------------------------------------- a grader that is killed


def test_a_killed_grader_loses_no_grade_already_written(instructor_course, tmp_path):
    folder, out = tmp_path / "subs", tmp_path / "grades"
    folder.mkdir()
    (folder / "alice.py").write_text(ALPHA_DEV)
    (folder / "zed.py").write_text(attack(SLEEPER))
    env = dict(os.environ, NO_COLOR="1")
    env.pop("PYTHONPATH", None)
    proc = subprocess.Popen([sys.executable, "-m", "tito", "grade", str(folder), "--module", "alpha", "--out",
                             str(out), "--timeout", "60"], cwd=instructor_course, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        assert settled(lambda: not leftovers(), seconds=60) is False, "the sleeper never started"
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    finally:
        proc.kill()
    assert json.loads((out / "alice.json").read_text())["score"] == 6
    assert (out / "gradebook.csv").read_text().splitlines()[1].startswith("alice,")
    assert settled(leftovers) == []  # the sandbox died with its grader
    stale = [p for p in Path("/tmp").glob(f"{SCRATCH_PREFIX}alpha-*") if f"{proc.pid} " in _owner(p)]
    assert stale  # it could not clean up after itself ...
    sweep_stale_scratch()
    assert not any(p.exists() for p in stale)  # ... so the next tito grade does


def _owner(folder: Path) -> str:
    try:
        return (folder / "owner").read_text() + " "
    except OSError:
        return ""


# --------------------------------------------------------------------------- the uid-drop backend


def test_the_uid_drop_backend_contains_them_too(instructor_course, tmp_path):
    """As root without namespaces (e.g. in a Gradescope container), the code runs as an unprivileged
    uid, which can read whatever other users may read. So the grader runs in a mount namespace
    made like such a container: /root holds only Python (this machine's lives under /root, which
    other users cannot enter), /tmp only this test's folders, /work only the Python environment
    (other copies of the test course, readable by anyone, would be found there)."""
    from tito.grading.backends import _Tree
    from tito.grading.sandbox import PYTHON, UID_BASE, pids_of_uid, which

    if os.geteuid() != 0:
        pytest.skip("the uid-drop backend needs a grader running as root")
    if not which("bwrap") or not which("setpriv"):
        pytest.skip("needs bubblewrap (to give the grader a Python other users can read) and setpriv")
    folder, out = tmp_path / "subs", tmp_path / "grades"
    folder.mkdir()
    chosen = ("read_reference", "forge", "write_outside", "kill_grader", "daemon", "memory_hog")
    for name, text in attack_submissions(instructor_course, chosen).items():
        (folder / name).write_text(text, encoding="utf-8")
    (folder / "daemon.py").write_text(attack(DAEMON), encoding="utf-8")
    pytest_root = next(p for p in tmp_path.parents if p.name.startswith("pytest-of-"))
    container = [which("bwrap"), "--dev-bind", "/", "/", "--perms", "0755", "--tmpfs", "/root",
                 "--perms", "1777", "--tmpfs", "/tmp", "--bind", str(pytest_root), str(pytest_root)]
    tree = _Tree(container)
    if sys.base_prefix.startswith("/root/"):
        tree.bind(sys.base_prefix, sys.base_prefix)
    if sys.prefix.startswith("/work/"):
        container += ["--perms", "0755", "--tmpfs", "/work"]
        tree.bind(sys.prefix, sys.prefix)
    before = course_state(instructor_course)
    env = dict(os.environ, NO_COLOR="1")
    env.pop("PYTHONPATH", None)
    proc = subprocess.run([*container, PYTHON, "-m", "tito", "grade", str(folder), "--module", "alpha", "--sandbox",
                           "uid-drop", "--jobs", "2", "--out", str(out), "--timeout", "12"],
                          cwd=instructor_course, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Sandbox: uid-drop" in proc.stdout
    grades = {p.stem: json.loads(p.read_text()) for p in out.glob("*.json")}
    assert {s: g["score"] for s, g in grades.items()} == {"alice": 6, "carol": 4, **{name: 0 for name in chosen}}
    assert "ATTACK-DAEMON" in grades["daemon"]["sandbox"]["checks_output"]
    reference = next(t for t in grades["read_reference"]["tests"] if "ATTACK-REPORT" in t["message"])
    assert '"found": [], "expected": []' in reference["message"]
    assert course_state(instructor_course) == before
    assert not list(Path("/tmp").glob(f"{MARK}*"))
    assert settled(lambda: pids_of_uid(UID_BASE) + pids_of_uid(UID_BASE + 1)) == []
    assert settled(leftovers) == []
