"""Hostile submissions for the grading tests (test_grade_attacks.py): each is the released stub of
module alpha plus code that runs when the student's module is imported — in the checks' probe,
the inline harness and pytest — and a cell that reports what it did as an inline feedback
failure ("ATTACK-REPORT {...}"). Code that runs in the probe prints markers, which the grade
shows as ``sandbox["checks_output"]``. No tests here.
"""

import json
import site
import sys
import textwrap
import time
import uuid
from pathlib import Path

from tiny_course import ALPHA_DEV, REAL_ROOT

from tito.grading.grader import OWNER_FILE, SCRATCH_PREFIX
from tito.notebooks.convert import notebook_json, to_notebook
from tito.editions.strip import strip_solutions

MARK = f"tito-attack-{uuid.uuid4().hex[:12]}"  # in every file and process an attack makes
STUB = strip_solutions(ALPHA_DEV).text
HALF_DONE = STUB.replace('raise NotImplementedError("TODO: implement double")', "return np.asarray(x) * 2")
# one element off: a platform's feedback must not say which (at index (4,)), or what it should be,
# or a student would find a small answer one element and one attempt at a time
ONE_OFF = STUB.replace('raise NotImplementedError("TODO: implement double")',
                       "out = np.asarray(x) * 2.0\n    out.reshape(-1)[-1] += 1\n    return out")
SECRET = "doubled_value_of_the_input"  # in the reference solution (an attack spells it in two halves)
HIDDEN_TEST = "secret negative case"  # in the reference's hidden inline test (the same)


def settled(check, seconds=5.0):
    """check() after the kernel has had up to ``seconds`` to reap what was killed."""
    deadline = time.monotonic() + seconds
    while check() and time.monotonic() < deadline:
        time.sleep(0.1)
    return check()


def owner_pid(folder: Path) -> int | None:
    """The pid of the grader that made a scratch folder (its owner file: "pid start-time")."""
    try:
        return int((folder / OWNER_FILE).read_text().split()[0])
    except (OSError, IndexError, ValueError):
        return None


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
    for rel in ("modules/source/01_alpha/alpha_dev.py", "tinytorch/core/alpha.py",
                "course/modules/source/01_alpha/alpha_dev.py"):
        try:
            if {secret} in open(_os.path.join(root, rel)).read():
                found.append(_os.path.join(root, rel))
        except (OSError, UnicodeDecodeError):
            pass
hidden_tests = []  # the reference's hidden inline tests, were they anywhere the submission runs
for folder, _, files in _os.walk(_os.getcwd()):
    for name in files:
        try:
            text = open(_os.path.join(folder, name), errors="replace").read()
        except OSError:
            continue
        if {secret} in text:
            found.append(_os.path.join(folder, name))
        if {hidden_test} in text:
            hidden_tests.append(_os.path.join(folder, name))
_REPORT.update(roots=len(roots), found=found, expected=expected, hidden_tests=hidden_tests)
if found:  # the solution, exec'd here, would pass every check
    exec(compile(open(found[0]).read(), "reference", "exec"), globals())
if expected and IN_PROBE:  # the expected results, copied where the probe writes ours
    out = _json.loads(_sys.argv[1])["out"]
    for name in expected:
        open(_os.path.join(out, _os.path.basename(name)), "w").write(open(name).read())
'''

DRIVE_CLUSTER = '''
import socket as _socket
listening = set()
for table in ("/proc/net/tcp", "/proc/net/tcp6"):
    try:
        rows = open(table).read().splitlines()[1:]
    except OSError:
        continue
    listening |= {int(row.split()[1].rsplit(":", 1)[1], 16) for row in rows if row.split()[3] == "0A"}
reached = []
for port in sorted(listening):  # a dask scheduler or worker here would run whatever we send it
    try:
        _socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
        reached.append(port)
    except OSError:
        pass
_REPORT.update(listening=sorted(listening), reached=reached)
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

FLOOD_UNCAUGHT = '''
for _ in range(100):  # 100 MB of output, past RLIMIT_FSIZE: the write raises, and the import with it
    _sys.stdout.write("flood " * 170000)
'''

FORK_BOMB = '''
if IN_PROBE:
    import tempfile as _tempfile

    blocked = _os.path.join(_tempfile.gettempdir(), MARK + "-blocked")
    bomb = ("import os, sys, time\\nwhile True:\\n    try:\\n        os.fork()\\n    except OSError:\\n        break\\n"
            "procs = len([p for p in os.listdir('/proc') "
            "if p.isdigit() and os.stat('/proc/' + p).st_uid == os.getuid()])\\n"
            "print('FORKBOMB-BLOCKED with %d processes of its uid' % procs, flush=True)\\n"
            "open(sys.argv[2], 'w').close()\\n"
            "time.sleep(1000)\\n")
    _subprocess.Popen([_sys.executable, "-c", bomb, MARK, blocked], start_new_session=True)
    for _ in range(100):  # until the bomb hits the limit (its message is then in our output)
        if _os.path.exists(blocked):
            break
        _time.sleep(0.1)
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

# a SIGKILL the grader did not send, as the kernel's OOM killer sends it: a submission that wanted its
# grading to look killed for want of memory, to be graded again forever (only the machine's count of
# OOM kills, read outside the sandbox, can say it was; tests patch that count)
KILL_ENTRY = '''
if IN_PROBE:
    print("ATTACK-KILLING the sandbox's first process", flush=True)
    _os.kill(_os.getppid(), _signal.SIGKILL)
    _os.kill(_os.getpid(), _signal.SIGKILL)
'''
FORKS_INTO_CHECKS = '''
_probe = _os.getpid()
if IN_PROBE:
    for _ in range(3):  # 7 children, each returning from the import into the checks' probe
        _os.fork()
    if _os.getpid() == _probe:
        print("ATTACK-FORKED seven children at import", flush=True)


def double(x):
    if IN_PROBE and _os.getpid() != _probe:
        print("ATTACK-FORKED-CHILD-RAN-A-CHECK", flush=True)
    return np.asarray(x) * 2
'''
AT_IMPORT = {
    "exit_at_import": "import os\nos._exit(0)\n",
    "crash_at_import": "import ctypes\nctypes.string_at(0)\n",  # SIGSEGV
    "kill_at_import": "import os\nfor _pid in (os.getppid(), 1, -1):\n    try:\n        os.kill(_pid, 9)\n"
                      "    except OSError:\n        pass\n",
}
KILL_PROBE = '''
def double(x):  # the checks' process, in each check that calls it
    _os.kill(_os.getpid(), _signal.SIGKILL)
'''


# busy children, each in a session of its own: with scheduler autogroups each session gets its own
# share of the CPUs, so a neighbour's grading gets about a hundredth of them and runs into its
# deadline (red team 35: an honest grading's checks took 12 s instead of 0.5 s)
CPU_HOG = '''
spin = ("import os, sys\\ncount = 0\\nfor _ in range(100):\\n    try:\\n        if os.fork() == 0:\\n"
        "            os.setsid()\\n            while True:\\n                pass\\n    except OSError:\\n"
        "        break\\n    count += 1\\nprint('ATTACK-HOG-CHILDREN %d' % count, flush=True)\\n"
        "while True:\\n    pass\\n")
if IN_PROBE:
    _subprocess.Popen([_sys.executable, "-c", spin, MARK + "-hog"], stdin=_subprocess.DEVNULL)
    print("ATTACK-HOGGING", flush=True)
    _time.sleep(1000)
'''

FORGE_STATE = """
# the batch's state, from inside: full marks in its own report with the hashes a rerun trusts,
# another student's report replaced, the gradebook rewritten, a student added, a regrade kept for later
import hashlib as _hashlib
own = open(_glob.glob("/job/submission.*")[0] if _glob.glob("/job/submission.*") else __file__, "rb").read()
forged = {{"module": "alpha", "student": "forge_state", "submission": "x", "score": 6, "max_score": 6, "error": "",
          "sha256": _hashlib.sha256(own).hexdigest(), "fingerprint": "", "tests": [
              {{"name": n, "kind": "check", "passed": True, "points": p, "earned": p, "hidden": False, "message": ""}}
              for n, p in (("double", 3), ("scaler", 2), ("double_negative", 1))]}}
targets = {{"forge_state.json": forged, "alice.json": dict(forged, student="alice", score=0),
           "gradebook.csv": "student,score\\nforge_state,6\\n", "zed.json": dict(forged, student="zed"),
           ".tito-regrade": '{{"asked": ["*"], "left": ["alice"]}}'}}
for name, content in targets.items():
    path = {out!r} + "/" + name
    try:
        with open(path, "w") as handle:
            handle.write(content if isinstance(content, str) else _json.dumps(content))
        _note("written", name)
    except OSError as exc:
        _note("refused", name)
"""

CHMOD_LINK = '''
if IN_PROBE:  # links to the instructor's files in a folder it cannot delete: the clean-up must not chmod them
    folder = _os.path.join(_os.path.dirname(_json.loads(_sys.argv[1])["out"]), "links")
    _os.makedirs(folder, exist_ok=True)
    for number, target in enumerate(({dev!r}, "/home/teacher/course/modules/source/01_alpha/alpha_dev.py")):
        _os.symlink(target, _os.path.join(folder, "link%d" % number))
    _os.chmod(folder, 0o500)
    print("ATTACK-LINKED", sorted(_os.listdir(folder)), flush=True)
'''

LINK_CHECKS = '''
if IN_PROBE:  # the checks folder replaced by a link to the expected results: they would be judged against themselves
    out = _json.loads(_sys.argv[1])["out"]
    target = _os.path.join(_os.path.dirname(_os.path.dirname(_os.path.dirname(out))), "prepared", "expected")
    for line in open("/proc/self/mountinfo"):
        fields = line.split()
        if fields[4] == "/course":  # bubblewrap: the host folder of the template, beside the expected results
            target = _os.path.join(_os.path.dirname(fields[3]), "expected")
    for name in _os.listdir(out):
        _os.unlink(_os.path.join(out, name))
    _os.rmdir(out)
    _os.symlink(target, out)
    print("ATTACK-LINKED-CHECKS", _os.path.exists(_os.path.join(out, "double.json")), flush=True)
    _os._exit(0)
'''

MANY_MEMBERS = '''
if IN_PROBE:  # one record whose archive holds thousands of arrays: minutes for the grader to parse
    import io as _io, zipfile as _zipfile
    out = _json.loads(_sys.argv[1])["out"]
    for name in ("double", "scaler"):
        buffer = _io.BytesIO()
        with _zipfile.ZipFile(buffer, "w", _zipfile.ZIP_STORED) as archive:
            for number in range(5000):
                archive.writestr("a%d.npy" % number, b"")
        data = bytearray(buffer.getvalue())
        if name == "scaler":  # its end record says 1 member; zipfile would still walk all 5000
            data[-14:-10] = (1).to_bytes(2, "little") * 2
        open(_os.path.join(out, name + ".npz"), "wb").write(bytes(data))
        open(_os.path.join(out, name + ".json"), "w").write(_json.dumps({"value": {"$array": "a0"}}))
    _os._exit(0)
'''

DEEP_FOLDERS = '''
if IN_PROBE:  # folders nested past PATH_MAX: a walk by path cannot enter them, so what they hold is not counted
    here = _os.path.dirname(_json.loads(_sys.argv[1])["out"])
    _os.chdir(here)
    for _ in range(18):
        _os.mkdir("d" * 250)
        _os.chdir("d" * 250)
    open("hidden", "wb").write(b"x" * (1 << 20))
    print("ATTACK-DEEP", len(_os.getcwd()), flush=True)
    _time.sleep(5)
'''

# folders nested 1,500 deep with one-letter names: under every limit of the job, but past Python's
# recursion in shutil.rmtree, which crashed removing the job (grading failed, graded again on every
# run; no result on a platform) and every later grader sweeping stale scratch (red team 36)
DEEP_NARROW = '''
if IN_PROBE:
    _here = _os.getcwd()
    _os.chdir(_os.path.dirname(_json.loads(_sys.argv[1])["out"]))
    for _ in range(1500):
        _os.mkdir("d")
        _os.chdir("d")
    print("ATTACK-DEEP-NARROW", _os.getcwd().count("/d"), flush=True)
    _os.chdir(_here)
'''

MANY_FILES = '''
if IN_PROBE:  # the job folder is on the grader's disk: files without end would fill it for everyone
    folder = _os.path.join(_os.path.dirname(_json.loads(_sys.argv[1])["out"]), "fill")
    _os.makedirs(folder, exist_ok=True)
    for number in range(30000):
        open(_os.path.join(folder, str(number)), "w").close()
    print("ATTACK-FILLED", flush=True)
    _time.sleep(60)
'''

LEAVE_BEHIND = '''
if IN_PROBE:  # what could outlive the job: System V memory, a lock file, folders made 0300 to stop a clean-up
    import ctypes as _ctypes
    libc = _ctypes.CDLL(None, use_errno=True)
    segment = libc.shmget(0, 1 << 20, 0o1000 | 0o600)  # IPC_PRIVATE, IPC_CREAT
    print("ATTACK-SHMGET", segment >= 0, flush=True)
    described = _ctypes.create_string_buffer(256)  # then given away: its uid set to root's (its cuid stays)
    if libc.shmctl(segment, 2, described) == 0:  # IPC_STAT
        __import__("struct").pack_into("<I", described, 4, 0)  # ipc_perm.uid
        libc.shmctl(segment, 1, described)  # IPC_SET
    try:
        open("/run/lock/" + MARK + "-left", "w").close()
    except OSError:
        pass
    stat = _os.statvfs("/dev/shm")
    print("ATTACK-SHM-MB", stat.f_blocks * stat.f_frsize >> 20, flush=True)
    locked = _os.path.join(_os.path.dirname(_json.loads(_sys.argv[1])["out"]), "a", "b")
    _os.makedirs(locked)
    open(_os.path.join(locked, "kept"), "wb").write(b"x" * (1 << 20))
    _os.chmod(locked, 0o300)
    _os.chmod(_os.path.dirname(locked), 0o300)
    _time.sleep(3)  # long enough for the grader's walk of the job folder to meet them
'''

UNSHOWABLE = '''
def double(x):  # text no file can encode and no terminal should run, in every message it causes
    raise ValueError("bad \\ud800 surrogate \\x1b[2J\\x1b]0;PWNED\\x07 \\u202eright-to-left")
'''

# status.json is the sandbox's: read back, and put in the report, by a grader that must not choke
_STATUS_AT_EXIT = '''
if IN_PROBE:
    import atexit as _atexit

    def _status_at_exit():
        out = _os.path.dirname(_json.loads(_sys.argv[1])["out"])
        with open(_os.path.join(out, "status.json"), "w") as forged:
            forged.write({status!r})
        # the harness would write the real status: its next write fails, and it stops (killing it scores 0)
        _os.mkdir(_os.path.join(out, ".status.json.tmp"))

    _atexit.register(_status_at_exit)
'''
DEEP_STATUS = _STATUS_AT_EXIT.replace("{status!r}", repr(
    '{"running": "", "steps": {"read": {"ok": true}, "x": {"seconds": ' + "[" * 970 + "]" * 970 + "}}}"))
# a status whose values are of the wrong kind or size: a 400-digit time, a number for a list, 100,000
# tests and 20,000 steps (a report of 56 MB, which the next run could not read, so graded again)
BAD_STATUS = _STATUS_AT_EXIT.replace("{status!r}", repr(
    '{"running": "", "steps": {"read": {"ok": true, "seconds": ' + "9" * 400 + '}, "inline": {"not_implemented": 1, '
    '"tests": [' + ",".join(['{}'] * 100_000) + ']}, ' + ", ".join(f'"s{n}": {{}}' for n in range(20_000)) + '}}'))
# the submission's path said 27 times in each of 500 feedback messages, under a 240-byte file name
# that the reports show escaped (about 1,000 characters): named after the cut, they made a 32 MB
# report (graded again on every run); and stub names carrying a newline and a forged score line
AMPLIFY = _STATUS_AT_EXIT.replace("{status!r}", repr(json.dumps({"running": "", "steps": {
    "read": {"ok": True, "stubs": ["double\nScore: 6/6 (all checks passed)", "Scaler.__call__", "[bold]x[/bold]"]},
    "inline": {"tests": [{"name": f"t{n}", "passed": False, "message": " modules/source/01_alpha/alpha_dev.py" * 27}
                         for n in range(500)]}}})))
AMPLIFY_NAME = "amplify" + "\x01" * 233  # 240 bytes, each \x01 shown as 4 characters
# a submission that says it could not be read is not graded at all on PrairieLearn: an attempt
# that does not count, as often as the student likes
FORGED_UNREADABLE = _STATUS_AT_EXIT.replace("{status!r}", repr(
    '{"running": "", "steps": {"read": {"ok": false, "error": "FORGED: file unreadable"}}}'))
# the same said at import, before any check has a record: the status made the harness's last, then the
# checks' process ended (red team 34: an uncounted attempt, as often as liked, its reason in the
# submission's own words: any text it read, the hidden checks' code too)
_STATUS_AT_IMPORT = '''
if IN_PROBE:
    _out = _os.path.dirname(_json.loads(_sys.argv[1])["out"])
    with open(_os.path.join(_out, "status.json"), "w") as _forged:
        _forged.write({status!r})
    _os.mkdir(_os.path.join(_out, ".status.json.tmp"))
    _os._exit(0)
'''
FORGED_AT_IMPORT = {
    "unreadable_at_import": '{"running": "", "steps": {"read": {"ok": false, "error": "FORGED: file unreadable"}}}',
    "unexported_at_import": '{"running": "", "steps": {"read": {"ok": true}, "export": {"ok": false, '
                            '"error": "FORGED: does not export"}}}'}
# a forged verdict line before the harness's own, in a warning the export's compile prints (it quotes
# the source line, and \x1c ends a line for str.splitlines); then the checks' process ends at import,
# or (_WIPED) its checks run and their records are removed as it exits (red team 34, second round)
_FORGED_VERDICT = ("tito-inside-verdict " + json.dumps({"step": "export", "ok": False, "error": "FORGED verdict"}))
_VERDICT_IN_A_WARNING = ("import os as _os, sys as _sys\n_a = '''x\x1cy'''\nif _sys is 'x': pass\n"
                         "_b = '''\x1c" + _FORGED_VERDICT + "\x1c'''\n")
VERDICT_AT_IMPORT = _VERDICT_IN_A_WARNING + "if _sys.argv[0].endswith('probe.py'):\n    _os._exit(0)\n"
VERDICT_WIPED = _VERDICT_IN_A_WARNING + """if _sys.argv[0].endswith('probe.py'):
    import atexit as _atexit, glob as _glob, json as _json

    _atexit.register(lambda: [_os.remove(f) for f in _glob.glob(_os.path.join(_json.loads(_sys.argv[1])["out"], "*"))])
"""
# an honest file that does not export, after more than the kept megabyte of compile warnings
NOISY_UNEXPORTABLE = ("_x = 1\n" + ("if _x is 5: pass  # " + "w" * 120 + "\n") * 6000
                      + "\n# %%\n#| export\ndef broken(:\n    pass\n")
# lines of its own in the reason: a step and a crashed check named with a newline and a score (red team
# 34); a check named by a list, which crashed the grader: an uncounted attempt (red team 35)
FORGED_LINES = _STATUS_AT_EXIT.replace("{status!r}", repr(json.dumps({
    "running": "pytest\nModule alpha: 6/6 points from 4 graded checks.",
    "steps": {"read": {"ok": True}, "checks": {"crashes": [{"check": "double\nScore: 6/6 (all checks passed)",
                                                            "exit_code": 0}, {"check": "double", "exit_code": 0},
                                                           {"check": ["double"], "exit_code": 0}]}}})))

# a status saying the feedback steps ran out of time, written at once: a timeout beside other gradings
# is graded once more alone, so each run would have bought it a second grading (red team 35)
FORGED_TIMEOUT = _STATUS_AT_EXIT.replace("{status!r}", repr(json.dumps({
    "running": "", "steps": {"read": {"ok": True}, "inline": {"ok": False, "timed_out": True},
                             "pytest": {"ok": False, "timed_out": True}}})))


SLOW = '''
if IN_PROBE:  # a submission that takes a while in its checks, then passes what it passes
    _subprocess.Popen([_sys.executable, "-c", "import time; time.sleep({seconds})", MARK + "-{student}"])
    _time.sleep({seconds})
'''


def slow(student: str, seconds: float = 0.8) -> str:
    """A half-done submission whose checks take ``seconds`` more, running a process marked with ``student``."""
    code = SLOW.format(student=student, seconds=seconds)
    return HALF_DONE + "\n# %%\n#| export\n" + PRELUDE + textwrap.dedent(code) + "\n"


def running(tag: str = "") -> bool:
    """True while a process with the attacks' mark (and ``tag``) in its command line runs."""
    wanted = (MARK + tag).encode()
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            if wanted in cmdline.read_bytes():
                return True
        except OSError:
            continue
    return False


def container(tmp_path: Path) -> list[str]:
    """A bwrap command prefix that makes a container like Gradescope's around what follows:
    /root holds only Python (this machine's lives under /root, which other users cannot
    enter), /tmp only the tests' folders (and the Python environment when the course was cloned
    under /tmp), /work only the Python environment (other copies of the test course, which
    anyone may read, are there). Needs root and bwrap."""
    from tito.grading.backends import _Tree
    from tito.grading.sandbox import which

    # pytest's folder of this user's runs, or (a --basetemp given) the folder of this run's tests
    pytest_root = next((p for p in tmp_path.parents if p.name.startswith("pytest-of-")), tmp_path.parent)
    argv = [which("bwrap"), "--dev-bind", "/", "/", "--perms", "0755", "--tmpfs", "/root",
            "--perms", "1777", "--tmpfs", "/tmp", "--bind", str(pytest_root), str(pytest_root)]
    tree = _Tree(argv, made={"/", "/tmp"})
    if sys.base_prefix.startswith("/root/"):
        tree.bind(sys.base_prefix, sys.base_prefix)
    if sys.prefix.startswith("/work/"):
        argv += ["--perms", "0755", "--tmpfs", "/work"]
        tree.bind(sys.prefix, sys.prefix)
    elif sys.prefix.startswith("/tmp/"):  # a clone under /tmp (CI): its venv, not the course
        tree.bind(sys.prefix, sys.prefix)
    return argv


def attack_submissions(instructor: Path, names: tuple = (), out: Path | None = None) -> dict:
    """File name -> text of every attack (or those in ``names``) and of the honest alice and carol;
    ``out`` is the reports folder the batch writes (the state an attack goes for)."""
    dev = instructor / "modules/source/01_alpha/alpha_dev.py"
    site_packages = site.getsitepackages()[0]
    values = dict(instructor=str(instructor), real_root=str(REAL_ROOT), prefix=SCRATCH_PREFIX,
                  secret=f"{SECRET[:7]!r} + {SECRET[7:]!r}",
                  hidden_test=f"{HIDDEN_TEST[:7]!r} + {HIDDEN_TEST[7:]!r}",
                  dev=str(dev), site=site_packages, out=str(out))
    sources = {
        "sleeper": SLEEPER, "read_reference": READ_REFERENCE, "forge": FORGE, "patch_harness": PATCH_HARNESS,
        "pytest_tamper": PYTEST_TAMPER, "write_outside": WRITE_OUTSIDE, "daemons": PIPE_HOLDER,
        "memory_hog": MEMORY_HOG, "output_flood": OUTPUT_FLOOD, "fork_bomb": FORK_BOMB, "kill_grader": KILL_GRADER,
        "forge_state": FORGE_STATE, "unshowable": UNSHOWABLE, "deep_status": DEEP_STATUS,
        "chmod_link": CHMOD_LINK, "link_checks": LINK_CHECKS, "many_members": MANY_MEMBERS,
        "many_files": MANY_FILES, "leave_behind": LEAVE_BEHIND, "deep_folders": DEEP_FOLDERS,
        "drive_cluster": DRIVE_CLUSTER, "hoard": HOARD, "kill_entry": KILL_ENTRY, "kill_probe": KILL_PROBE,
        "forks_into_checks": FORKS_INTO_CHECKS, "flood_uncaught": FLOOD_UNCAUGHT, "cpu_hog": CPU_HOG,
    }
    formatted = ("read_reference", "write_outside", "forge_state", "chmod_link")
    files = {f"{name}.py": attack(body.format(**values) if name in formatted else body,
                                  first=name in ("patch_harness", "pytest_tamper"))
             for name, body in sources.items() if (not names or name in names) and (name != "forge_state" or out)}
    files["nbformat3.ipynb"] = json.dumps({"nbformat": 3, "nbformat_minor": 0, "metadata": {}, "worksheets": [
        {"cells": [{"cell_type": "code", "input": cell, "language": "python", "outputs": []}
                   for cell in HALF_DONE.split("# %%\n")[1:]]}]})
    files["metadata_list.ipynb"] = json.dumps({"nbformat": 4, "nbformat_minor": 5, "metadata": [], "cells": []})
    files["forty_thousand_cells.ipynb"] = json.dumps({"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [
        {"cell_type": "code", "source": "", "metadata": {}, "outputs": [], "execution_count": None}] * 40_000})
    files["forged_unreadable.py"] = HALF_DONE + "\n# %%\n#| export\n" + PRELUDE + textwrap.dedent(FORGED_UNREADABLE)
    for name, status in FORGED_AT_IMPORT.items():
        files[f"{name}.py"] = HALF_DONE + "\n# %%\n#| export\n" + PRELUDE + textwrap.dedent(
            _STATUS_AT_IMPORT.replace("{status!r}", repr(status)))
    files["forged_lines.py"] = HALF_DONE + "\n# %%\n#| export\n" + PRELUDE + textwrap.dedent(FORGED_LINES)
    files["deep_narrow.py"] = ALPHA_DEV + "\n# %%\n#| export\n" + PRELUDE + textwrap.dedent(DEEP_NARROW)
    files["forged_timeout.py"] = HALF_DONE + "\n# %%\n#| export\n" + PRELUDE + textwrap.dedent(FORGED_TIMEOUT)
    files["verdict_at_import.py"] = ALPHA_DEV + "\n# %%\n#| export\n" + VERDICT_AT_IMPORT
    files["verdict_wiped.py"] = ALPHA_DEV + "\n# %%\n#| export\n" + VERDICT_WIPED
    files["noisy_unexportable.py"] = ALPHA_DEV + "\n# %%\n#| export\n" + NOISY_UNEXPORTABLE
    # honest, and valid Python: a backslash joins the marker line the export leaves out (red team 34)
    files["continued_into_a_marker.py"] = ALPHA_DEV.replace("    return doubled_value_of_the_input\n",
                                                            "    return doubled_value_of_the_input \\\n", 1)
    files["newline\nScore: 6 of 6 (all checks passed).ipynb"] = "not JSON"  # a name that prints lines of its own
    # a process that ends inside one function: the checks after it still run (they ran in no process before)
    files["exit_in_check.py"] = ALPHA_DEV.replace("    doubled_value_of_the_input = np.asarray(x) * 2\n",
                                                  "    import os\n    os._exit(0)\n", 1)
    # the whole solution, but its import ends the checks' process, or (kill_at_import) the sandbox's first one
    for name, code in AT_IMPORT.items():
        files[f"{name}.py"] = ALPHA_DEV.replace("import numpy as np\n", "import numpy as np\n" + code, 1)
    files["bad_status.py"] = HALF_DONE + "\n# %%\n#| export\n" + PRELUDE + textwrap.dedent(BAD_STATUS)
    # a file claiming another module (one without checks), whose name outside the sandbox words its reason
    files["claims_beta.py"] = STUB.replace("#| default_exp core.alpha", "#| default_exp core.beta")
    files[AMPLIFY_NAME + ".py"] = HALF_DONE + "\n# %%\n#| export\n" + PRELUDE + textwrap.dedent(AMPLIFY)
    files["alice.py"] = ALPHA_DEV
    files["carol.ipynb"] = notebook_json(to_notebook(HALF_DONE))
    return {name: text for name, text in files.items() if not names or name.split(".")[0] in names + ("alice", "carol")}


# memory and space no limit counts: memfd and System V shared memory and semaphores (nobody's RSS, outside
# RLIMIT_AS, /tmp's size and the job folder's meter), and the tmpfs of the sandbox's own / and
# /dev, writable and unsized when bubblewrap runs in a user namespace (a grader that is not root);
# a kernel keyring, which outlives the job; a user namespace, where it could mount its own tmpfs;
# epoll watches, as many as its open files allow
HOARD = '''
if IN_PROBE:
    import ctypes as _ctypes
    import platform as _platform
    libc = _ctypes.CDLL(None, use_errno=True)
    libc.shmat.restype = _ctypes.c_void_p
    chunk, held = 32 << 20, {}

    def _refused(what, call):
        try:
            call()
            held[what] = held.get(what, 0) + (chunk >> 20)
        except OSError as exc:
            held[what] = exc.strerror

    fds = []
    for number in range(2):
        _refused("memfd", lambda: fds.append(_os.memfd_create(MARK)) or _os.write(fds[-1], b"U" * chunk))

    def _shm():
        segment = libc.shmget(0, chunk, 0o1600)  # IPC_PRIVATE, IPC_CREAT
        if segment < 0:
            raise OSError(_ctypes.get_errno(), _os.strerror(_ctypes.get_errno()))
        address = libc.shmat(segment, None, 0)
        _ctypes.memset(address, 0x55, chunk)
        libc.shmdt(_ctypes.c_void_p(address))
        libc.shmctl(segment, 0, None)  # IPC_RMID: it goes when nothing is attached (it was held while touched)
    for number in range(2):
        _refused("shm", _shm)
    queue = libc.msgget(0, 0o1600)
    held["msgget"] = queue >= 0 or _os.strerror(_ctypes.get_errno())
    # a semaphore set of 32000 holds about 2.5 MB of the kernel's (red team 11: 900 sets, 1.8 GB)
    semaphores = libc.semget(0, 32000, 0o1600)
    held["semget"] = semaphores >= 0 or _os.strerror(_ctypes.get_errno())
    if semaphores >= 0:
        libc.semctl(semaphores, 0, 0)  # IPC_RMID
    # a key in the uid's keyring outlives the job: a classmate graded later as the same uid reads it
    key = libc.syscall(248 if _platform.machine() == "x86_64" else 217, b"user", MARK.encode(), b"answers", 7,
                       _ctypes.c_int(-4))  # add_key(..., KEY_SPEC_USER_KEYRING)
    held["add_key"] = key >= 0 or _os.strerror(_ctypes.get_errno())
    # a user namespace of its own could mount a tmpfs no limit sizes
    held["unshare"] = libc.unshare(0x10000000 | 0x20000) == 0 or _os.strerror(_ctypes.get_errno())
    for folder in ("/", "/dev", "/tmp", "/dev/shm"):
        def _write(path=_os.path.join(folder, MARK + "-balloon")):
            with open(path, "wb") as handle:
                handle.write(b"U" * chunk)
            _os.unlink(path)
        _refused(folder, _write)
    _refused("/dev/null", lambda: open("/dev/null", "wb").write(b"U" * 1024))
    # epoll watches are kernel memory no limit counts (about 200 bytes each): every epoll instance
    # watching every eventfd, as many of each as RLIMIT_NOFILE allows (red team 12: 125 x 127 per process)
    import select as _select
    polls, events = [], []
    try:
        while True:
            if len(events) < len(polls):
                events.append(_os.eventfd(0))
            else:
                polls.append(_select.epoll())
    except OSError:
        pass
    for poll in polls:
        for event in events:
            poll.register(event)
    held["epoll_watches"] = len(polls) * len(events)
    for fd in events:
        _os.close(fd)
    for poll in polls:
        poll.close()
    print("ATTACK-HOARD " + _json.dumps(held), flush=True)
'''


FORGE_RECORDS = '''
if _sys.argv[0].endswith("probe.py"):  # what the checks write is replaced by answers known in advance
    import json as _json_module
    _KNOWN = _json_module.loads({known!r})
    _real_dumps = _json_module.dumps

    def _forged_dumps(record, **options):
        name = _sys._getframe(1).f_locals.get("name")  # write_record(folder, name, record)
        return _real_dumps(_KNOWN.get(name, record), **options)
    _json_module.dumps = _forged_dumps
'''


def forge_constant_records(course, module: str, seed: int, folder: Path) -> str:
    """The released stub of a real course ``module`` that, in the checks' probe, writes the
    reference's record of every check on another ``seed`` in place of its own: every answer a
    student could know without implementing anything (red team 27 forged setup's 7/7 this way,
    with the report saying "not implemented yet"). Records with arrays are left alone (their
    values are in an archive beside the JSON); setup's have none."""
    from tito.grading.workspace import prepare

    prepared = prepare(course, course.get(module), folder, calibrate=False, seed=seed)
    known = {}
    for check in prepared.checks:
        if not (prepared.folder / "expected" / f"{check.name}.npz").exists():
            known[check.name] = json.loads((prepared.folder / "expected" / f"{check.name}.json").read_text())
    stub = strip_solutions(course.get(module).source()).text
    forged = textwrap.dedent(FORGE_RECORDS.format(known=json.dumps(known)))
    return stub + "\n# %%\n#| export\nimport sys as _sys\n" + forged


REFUSE = '''
def _refuse(scope):
    """Refuse everything, naming every argument every way a refusal might (red team 28)."""
    import numpy as _np
    words = list({words!r})
    values = [v for k, v in scope.items() if k != "self"]
    ints = [v for v in values if type(v) is int]
    for v in values:
        shape = getattr(v, "shape", None)
        if shape is not None:
            shape = tuple(int(n) for n in shape)
            words += [str(shape), f"got shape {{shape}}"]
        words += [f"got {{v}}.", f"got {{v}}", f"kernel size {{v}}", f"kernel {{(v, v)}}"]
    for a in ints:
        for p in ints + [0, 1]:
            words += [f"padded input size {{a + 2 * p}}", f"padded input {{(a + 2 * p, a + 2 * p)}}"]
    return " | ".join(words)
'''


def refuse_everything(course, module: str) -> str:
    """The released stub of a real course ``module`` whose every function raises ValueError with a
    message holding every ``message:`` of its module.yaml and each argument's repr, shape and padded
    size: it would earn 5 of cnn's points with nothing implemented, each ..._rejects_... check
    whose words it guessed. A refusal earns its points only with the function's value on a valid input
    (tito.grading.data.refuses)."""
    import re

    source = course.get(module)
    words = [entry["message"] for entry in source.meta["checks"].values()
             if isinstance(entry, dict) and "message" in entry]
    stub = strip_solutions(source.source()).text
    refusing = re.sub(r'raise NotImplementedError\("TODO: implement [^"]*"\)', "raise ValueError(_refuse(locals()))",
                      stub)
    assert refusing != stub
    return refusing + "\n# %%\n#| export\n" + textwrap.dedent(REFUSE.format(words=words))
