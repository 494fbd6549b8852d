"""Grading at course scale, on the small course of tiny_course.py: the dask
executor against the local one (on real LocalClusters), a batch that
resumes after Ctrl-C and SIGKILL, the report's resumable state and its attacks, Gradescope's and
PrairieLearn's result formats, and a spreadsheet-safe gradebook."""

import contextlib
import csv
import io
import json
import re
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from grade_attacks import HALF_DONE, STUB, attack_submissions, owner_pid, running, settled, slow
from tiny_course import ALPHA_DEV, flat, run_tito

from tito.errors import TitoError
from tito.grading import Grade, TestScore, grade_batch
from tito.grading.batch import check_report_names
from tito.grading.gradebook import Gradebook, read_grades, report_name, write_gradebook
from tito.grading.report import CHECK, INLINE
from tito.grading.state import ALL, digest, plan
from tito.notebooks.convert import notebook_json, to_notebook

# the documented fields (see tito/grading/formats.py for the sources)
GRADESCOPE_TOP = {"score", "execution_time", "output", "output_format", "test_output_format", "test_name_format",
                  "visibility", "stdout_visibility", "extra_data", "tests", "leaderboard"}
GRADESCOPE_TEST = {"score", "max_score", "status", "name", "name_format", "number", "output", "output_format",
                   "tags", "visibility", "extra_data"}
GRADESCOPE_VISIBILITY = {"hidden", "after_due_date", "after_published", "visible"}
PRAIRIELEARN_TOP = {"gradable", "score", "message", "output", "images", "tests", "format_errors"}
PRAIRIELEARN_OURS = {"module", "student", "grading"}  # "you may add any additional data to that object"
PRAIRIELEARN_TEST = {"name", "description", "points", "max_points", "message", "output", "images"}
# How long a dask process started here may take to join: seconds when the machine is quiet, past
# 30 at a load of 14 (a third worker: "Only 2/3 workers arrived after 30"). Waited for, never asserted.
WORKER_START_SECONDS = 180


@pytest.fixture(scope="module")
def folder(instructor_course, tmp_path_factory):
    """Four submissions: solved, a half-done notebook, a broken notebook, an attack on the stub."""
    folder = tmp_path_factory.mktemp("scale")
    (folder / "alice.py").write_text(ALPHA_DEV)
    (folder / "erin.ipynb").write_text(notebook_json(to_notebook(HALF_DONE)))
    (folder / "judy.ipynb").write_text("{not json")
    attacks = attack_submissions(instructor_course, ("read_reference", "drive_cluster"))
    for name in ("read_reference.py", "drive_cluster.py"):
        (folder / name).write_text(attacks[name])
    return folder


def submissions_in(folder):
    return [(p.name.split(".")[0], p) for p in sorted(folder.iterdir())]


@pytest.fixture(scope="module")
def local(patient_alpha_grader, folder, tmp_path_factory):
    """The folder graded here, two at a time: (student -> Grade, reports folder)."""
    out = tmp_path_factory.mktemp("local-grades")
    return {g.student: g for g in grade_batch(patient_alpha_grader, submissions_in(folder), out, jobs=2)}, out


@pytest.fixture(scope="module")
def cluster():
    """One real LocalCluster (two worker processes) for the dask tests."""
    distributed = pytest.importorskip("distributed", reason="the cluster extra (dask.distributed) is not installed")
    import logging

    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0",
                                  silence_logs=logging.ERROR) as made:
        yield made


def comparable(grade: Grade) -> dict:
    """A report without what differs from run to run: times, the sandbox's details, what the attack saw."""
    report = grade.to_json()
    for varying in ("seconds", "sandbox"):
        report.pop(varying)
    for test in report["tests"]:
        if "ATTACK-REPORT" in test["message"]:
            test["message"] = "ATTACK-REPORT"
    return report


# --------------------------------------------------------------------------- executors


def test_dask_workers_give_the_same_gradebook_without_the_graders_files(patient_alpha_grader, folder, local, cluster,
                                                                         tmp_path, monkeypatch):
    from distributed import Client

    from tito.grading import archive
    from tito.grading.executors import DaskExecutor

    prepared = patient_alpha_grader.prepared.folder
    real_pack, hidden = archive.pack, prepared.with_name("hidden-while-dask-grades")

    def pack_then_hide(path):  # once packed, the workers have no way to the grader's folder
        packed = real_pack(path)
        path.rename(hidden)
        return packed

    monkeypatch.setattr(archive, "pack", pack_then_hide)
    out = tmp_path / "dask-grades"
    try:
        grades = grade_batch(patient_alpha_grader, submissions_in(folder), out,
                             executor=DaskExecutor(scheduler=cluster.scheduler_address))
    finally:
        if hidden.exists():
            hidden.rename(prepared)
    expected, local_out = local
    assert (out / "gradebook.csv").read_bytes() == (local_out / "gradebook.csv").read_bytes()
    assert {g.student: comparable(g) for g in grades} == {s: comparable(g) for s, g in expected.items()}
    assert [(g.student, g.score) for g in grades] == [("alice", 6), ("drive_cluster", 0), ("erin", 4), ("judy", 0),
                                                      ("read_reference", 0)]
    assert {g.sandbox["backend"] for g in grades} == {patient_alpha_grader.sandbox.name}
    attack = next(t.message for t in grades[-1].feedback if "ATTACK-REPORT" in t.message)
    assert '"found": [], "expected": []' in attack  # on a worker too: no reference, no expected results
    attack = next(t.message for t in grades[1].feedback if "ATTACK-REPORT" in t.message)
    assert '"reached": []' in attack  # nothing of the cluster (nor of the machine) listens where it runs
    with Client(cluster) as client:  # each worker removed its copy of the grading when the batch ended
        pids = set(client.run(os.getpid).values())
    left = [p for p in Path("/tmp").glob("tito-grade-worker-*") if owner_pid(p) in pids]
    assert left == []


def test_a_worker_that_refuses_to_grade_leaves_its_share_to_the_others(patient_alpha_grader, folder, local, cluster,
                                                                       tmp_path, capsys):
    """TA audit: next to two good workers, one without bubblewrap refused each submission at once,
    so it took most of them: 24 of 27 came back `0 ... refused to grade`, the next run graded 3 more."""
    from tito.grading.executors import DaskExecutor

    # sent to three idle workers at once, twice as many as them: the one without bwrap gets some
    todo = [(f"{i}_{name}", folder / file) for i, (name, file) in enumerate([("alice", "alice.py"),
                                                                            ("erin", "erin.ipynb")] * 3)]
    told = []
    with worker_without_bwrap(cluster.scheduler_address, tmp_path):
        grades = grade_batch(patient_alpha_grader, todo, tmp_path / "grades", on_done=lambda g: told.append(g.student),
                             executor=DaskExecutor(scheduler=cluster.scheduler_address))
    expected, _ = local
    assert [comparable(g) for g in grades] == [
        comparable(expected[student.split("_")[1]]) | {"student": student} for student, _ in todo]
    assert sorted(told) == sorted(student for student, _ in todo)  # each graded once
    [line] = [line for line in capsys.readouterr().out.splitlines() if "refused" in line]
    assert line.startswith("Note: worker no-bwrap (tcp://127.0.0.1:")
    assert line.endswith("; the other workers grade what it was sent.")
    assert ("refused to grade: it has no sandbox that can run here (bubblewrap: bwrap is not installed" in line
            or "refused to grade: its uid-drop sandbox shares the network with the cluster" in line)  # as root


def test_a_worker_that_refused_steals_nothing_back(patient_alpha_grader, cluster, tmp_path, monkeypatch):
    """Review: sent to the other workers with `allow_other_workers`, a task could be stolen by the
    worker that refused while they were busy, refused again, sent again: 34 refusals to grade 12
    submissions that take 1.5 s each (8-9 for the 6 here). Sent to them alone, each is refused once at most."""
    from tito.grading import executors
    from tito.grading.executors import DaskExecutor

    refused = []
    real_add = executors.Refusals.add
    monkeypatch.setattr(executors.Refusals, "add",
                        lambda self, r, client: refused.append(r) or real_add(self, r, client))
    slow = tmp_path / "slow.py"
    slow.write_text(ALPHA_DEV + "\n# %%\n#| export\nimport time as _time\n_time.sleep(1)\n")
    todo = [(f"s{i}", slow) for i in range(6)]
    with worker_without_bwrap(cluster.scheduler_address, tmp_path):
        grades = grade_batch(patient_alpha_grader, todo, tmp_path / "grades",
                             executor=DaskExecutor(scheduler=cluster.scheduler_address))
    assert [g.score for g in grades] == [6] * 6
    assert len(refused) <= len(todo), len(refused)  # each refused once at most: then only the others get it


def test_when_no_worker_can_grade_the_batch_stops_sending(patient_alpha_grader, folder, cluster, tmp_path, monkeypatch,
                                                           capsys):
    """TA audit: a worker whose tito was older (or changed) graded with its own code — every
    submission 46/46 with a verdict edited to pass — under the batch's fingerprint, silently.
    Both workers refuse now: what they were sent gets the refusal, the rest is not sent."""
    from tito.grading import state
    from tito.grading.executors import DaskExecutor

    monkeypatch.setattr(state, "tito_source", lambda: "0" * 64)  # the grader's tito, as if another commit
    out = tmp_path / "grades"
    with pytest.raises(TitoError) as stopped:  # two workers, two submissions each sent ahead, two left
        grade_batch(patient_alpha_grader, [(f"s{n}", folder / "alice.py") for n in range(6)], out,
                    executor=DaskExecutor(scheduler=cluster.scheduler_address))
    assert flat(str(stopped.value)) == (f"No worker of the dask cluster at {cluster.scheduler_address} can grade "
                                        "(each refused, as said above): 2 of 6 submissions were not sent.")
    refused = read_grades(out, "alpha")
    assert [(g.student, g.score, g.incomplete) for g in refused] == [(f"s{n}", 0, True) for n in range(4)]
    for grade in refused:
        assert "refused to grade: it runs another tito than the grader's (source " in grade.error
        assert "000000000000 here): install the grader's tito commit on every worker" in grade.error
    notes = [line for line in capsys.readouterr().out.splitlines() if "refused" in line]
    assert [line.startswith("Note: worker ") for line in notes] == [True, True]  # one line for each worker
    assert notes[1].endswith("; no other worker can grade.")


@contextlib.contextmanager
def worker_without_bwrap(address: str, tmp_path: Path):
    """A third worker, `dask worker --name no-bwrap`, on whose machine tito finds no bwrap."""
    from distributed import Client

    hide = tmp_path / "hide_bwrap.py"
    hide.write_text("import tito.grading.backends as b\n"
                    "b.which = lambda program, which=b.which: '' if program == 'bwrap' else which(program)\n")
    worker = dask_process("worker", address, "--name", "no-bwrap", "--nthreads", "1", "--no-nanny",
                          "--preload", str(hide))
    try:
        with Client(address, timeout=f"{WORKER_START_SECONDS}s") as client:
            client.wait_for_workers(3, timeout=WORKER_START_SECONDS)
        yield
    finally:
        worker.terminate()  # it leaves the cluster
        try:
            worker.wait(timeout=30)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()


def test_a_worker_without_a_sandbox_of_its_own_network_refuses_and_says_why(patient_alpha_grader, folder, tmp_path):
    """On a LocalCluster the executor starts itself, as `tito grade --executor dask` without --scheduler.
    uid-drop either cannot run here (not root) or shares the machine's network with the cluster."""
    pytest.importorskip("distributed", reason="the cluster extra (dask.distributed) is not installed")
    from tito.grading.executors import DaskExecutor, create
    from tito.grading.sandbox import detect

    with pytest.raises(TitoError, match="--sandbox uid-drop cannot grade on dask: the submission would share"):
        create("dask", 1, None, sandbox="uid-drop")
    out = tmp_path / "grades"
    executor = DaskExecutor(1, None, sandbox="uid-drop")  # as a worker whose `auto` finds only uid-drop
    assert executor.describe() == "dask, on a LocalCluster of 1 worker"
    # what grades once more alone the gradings a neighbour may have stopped (tito.grading.batch._alone_again)
    assert executor.alone and executor.one_at_a_time() is executor
    remote = DaskExecutor(2, "tcp://head:8786")
    single = remote.one_at_a_time()
    assert (remote.alone, single.alone, single.scheduler) == (False, True, "tcp://head:8786")
    assert single.describe() == "dask, on the cluster at tcp://head:8786, one at a time"
    [grade] = grade_batch(patient_alpha_grader, [("alice", folder / "alice.py")], out, executor=executor)
    assert (grade.score, grade.incomplete) == (0, True)
    assert grade.error.startswith("worker 0 (tcp://127.0.0.1:")  # a LocalCluster names its workers 0, 1...
    why = ("its uid-drop sandbox shares the network with the cluster, and dask runs any function a connection "
           "sends it" if detect("uid-drop")[0] is not None else "it has no sandbox that can run here (uid-drop: ")
    assert f"refused to grade: {why}" in grade.error
    assert grade.error.endswith("; it scores 0")
    # its report is there, and the next batch grades it again
    assert plan([("alice", folder / "alice.py")], out, "alpha", grade.fingerprint).todo[0][2] == \
        "its last grading did not finish"


def test_ctrl_c_stops_the_gradings_running_on_a_cluster_tito_did_not_start(patient_alpha_grader, cluster, tmp_path):
    """`tito grade --executor dask --scheduler ADDRESS`, then Ctrl-C (a real SIGINT) while a
    submission's checks run for a minute: its sandbox on the worker is killed, not left to run."""
    from tito.grading.executors import DaskExecutor

    hang = tmp_path / "hang.py"
    hang.write_text(slow("hang", seconds=60))

    def press_ctrl_c_once_it_runs():  # sending the grading to a worker took over 60 s at a load of 20
        deadline = time.monotonic() + WORKER_START_SECONDS
        while not running("-hang") and time.monotonic() < deadline:
            time.sleep(0.05)
        if running("-hang"):  # else no Ctrl-C: pytest.raises reports that it never ran
            os.kill(os.getpid(), signal.SIGINT)

    presser = threading.Thread(target=press_ctrl_c_once_it_runs)
    presser.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            grade_batch(patient_alpha_grader, [("hang", hang)], tmp_path / "grades",
                        executor=DaskExecutor(scheduler=cluster.scheduler_address))
    finally:
        presser.join()
    assert settled(lambda: running("-hang")) is False
    assert not (tmp_path / "grades" / "hang.json").exists()


def test_ctrl_c_at_the_terminal_stops_a_batch_on_a_local_cluster_without_the_workers_tracebacks(instructor_course,
                                                                                                tmp_path):
    """Instructor walkthrough 35: Ctrl-C during `tito grade --executor dask` printed about 100 lines
    of the workers' own tracebacks before tito's line. A terminal sends SIGINT to every process of
    its group, the LocalCluster's workers too: they leave it to tito, which stops the batch."""
    folder, out = tmp_path / "subs", tmp_path / "grades"
    folder.mkdir()
    (folder / "hang.py").write_text(slow("hang", seconds=60))
    command = ["grade", str(folder), "--module", "alpha", "--out", str(out), "--no-calibrate", "--executor", "dask",
               "--jobs", "1"]
    stopped = stop_when_running(instructor_course, command, "-hang", signal.SIGINT, WORKER_START_SECONDS, group=True)
    said = stopped.stdout + stopped.stderr
    assert stopped.returncode == 130, said
    assert re.search(r"Interrupted after 0 of 1 submissions?", flat(stopped.stderr)), said
    assert "Traceback" not in said and "KeyboardInterrupt" not in said and "distributed." not in said, said
    assert settled(lambda: running("-hang")) is False

def test_a_scheduler_killed_mid_batch_stops_it_saying_what_to_do(patient_alpha_grader, folder, tmp_path):
    """TA audit: `kill -9` of the dask scheduler while a submission ran left tito waiting forever
    (the client kept submitting to a scheduler it had lost), and Ctrl-C then ended in a traceback."""
    from tito.grading.executors import DaskExecutor

    slow_b = tmp_path / "b_slow.py"
    slow_b.write_text(slow("b_slow", seconds=60))
    todo = [("a_alice", folder / "alice.py"), ("b_slow", slow_b), ("c_alice", folder / "alice.py"),
            ("d_erin", folder / "erin.ipynb")]  # one at a time, two sent ahead: d waits to be sent
    out = tmp_path / "grades"
    with own_cluster(tmp_path) as (scheduler, address):
        killer = threading.Thread(target=kill_when_running, args=(scheduler, "-b_slow"))
        killer.start()
        try:
            with pytest.raises(TitoError) as lost:
                grade_batch(patient_alpha_grader, todo, out, executor=DaskExecutor(scheduler=address))
        finally:
            killer.join()
    assert flat(str(lost.value)) == (f"Lost the connection to the dask scheduler at {address}: 3 of 4 submissions "
                                     "were not graded.")
    assert lost.value.hint == ("Start the scheduler and workers again, then run the same command: it grades only "
                               "those.")
    assert sorted(p.name for p in out.glob("*.json")) == ["a_alice.json"]  # graded before: kept
    with open(out / "gradebook.csv", newline="") as handle:
        assert [(r["student"], r["score"]) for r in csv.DictReader(handle)] == [("a_alice", "6")]
    assert settled(lambda: running("-b_slow")) is False  # its worker exited with the scheduler, killing it


@contextlib.contextmanager
def own_cluster(tmp_path):
    """A `dask scheduler` process of its own (for a test to kill) and one `dask worker` of one thread:
    (the scheduler's Popen, its address)."""
    pytest.importorskip("distributed", reason="the cluster extra (dask.distributed) is not installed")
    file = tmp_path / "scheduler.json"
    scheduler = dask_process("scheduler", "--host", "127.0.0.1", "--port", "0", "--scheduler-file", str(file))
    worker = dask_process("worker", "--scheduler-file", str(file), "--nthreads", "1", "--no-nanny")
    try:
        from distributed import Client

        with Client(scheduler_file=str(file), timeout=f"{WORKER_START_SECONDS}s") as client:
            client.wait_for_workers(1, timeout=WORKER_START_SECONDS)
            address = client.scheduler.address
        yield scheduler, address
    finally:
        for process in (worker, scheduler):
            process.kill()
            process.wait()


def dask_process(kind: str, *args) -> subprocess.Popen:
    """`dask scheduler ARGS` or `dask worker ARGS`, quiet, with no dashboard."""
    return subprocess.Popen([sys.executable, "-m", f"distributed.cli.dask_{kind}", *args, "--no-dashboard"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def kill_when_running(process, tag, seconds=30) -> None:
    """SIGKILL ``process`` once a process marked ``tag`` runs."""
    settled(lambda: not running(tag), seconds)
    process.kill()


# --------------------------------------------------------------------------- resuming


def test_an_interrupted_then_killed_batch_continues_where_it_stopped(instructor_course, tmp_path):
    """The same `tito grade` three times over one folder (one at a time, in file order): Ctrl-C
    (SIGINT) while the second submission runs, SIGKILL while the third runs, then to the end.
    Nothing graded is graded again."""
    folder, out = tmp_path / "subs", tmp_path / "grades"
    folder.mkdir()
    files = {"a_alice.py": ALPHA_DEV, "b_slow.py": slow("b_slow"), "c_slow.py": slow("c_slow"), "d_bob.py": STUB}
    for name, text in files.items():
        (folder / name).write_text(text)
    command = ["grade", str(folder), "--module", "alpha", "--out", str(out), "--no-calibrate", "--timeout", "30"]

    first = stop_when_running(instructor_course, command, "-b_slow", signal.SIGINT)
    assert first.returncode == 130, first.stdout + first.stderr
    assert "Interrupted after 1 of 4 submissions" in flat(first.stderr) and "Traceback" not in first.stderr
    assert sorted(p.name for p in out.glob("*.json")) == ["a_alice.json"]
    with open(out / "gradebook.csv", newline="") as handle:  # the rest wait, so that gradebook final says so
        assert [(r["student"], r["score"], r["pending"]) for r in csv.DictReader(handle)] == [
            ("a_alice", "7", ""), *((s, "", "no grade yet, to be graded (new)") for s in ("b_slow", "c_slow", "d_bob"))]
    assert settled(lambda: running("-b_slow")) is False  # its sandbox was stopped, not left behind
    alice = (out / "a_alice.json").stat().st_mtime_ns

    second = stop_when_running(instructor_course, command, "-c_slow", signal.SIGKILL)
    assert second.returncode == -signal.SIGKILL
    assert "1 already graded and unchanged; grading 3 (3 new)." in second.stdout
    assert sorted(p.name for p in out.glob("*.json")) == ["a_alice.json", "b_slow.json"]
    assert settled(lambda: running("-c_slow")) is False  # the sandbox died with its grader

    third = run_tito(instructor_course, *command)
    assert third.returncode == 0, third.stdout + third.stderr
    assert "2 already graded and unchanged; grading 2 (2 new)." in third.stdout
    assert "(2 graded now, 2 kept)" in third.stdout
    scores = {p.stem: json.loads(p.read_text())["score"] for p in out.glob("*.json")}
    assert scores == {"a_alice": 7, "b_slow": 5, "c_slow": 5, "d_bob": 1}  # uncalibrated: 1 point for numpy
    assert (out / "a_alice.json").stat().st_mtime_ns == alice  # graded once, in the first run

    with open(out / "gradebook.csv", newline="") as handle:
        assert [(r["student"], r["score"]) for r in csv.DictReader(handle)] == [
            ("a_alice", "7"), ("b_slow", "5"), ("c_slow", "5"), ("d_bob", "1")]
    typo = run_tito(instructor_course, *command, "--regrade", "a_alice", "--regrade", "zed")
    assert typo.returncode == 1 and "--regrade names no submission: zed." in flat(typo.stderr)


def stop_when_running(cwd, command, tag, signum, seconds=60, group=False) -> subprocess.CompletedProcess:
    """Start ``python -m tito COMMAND``, send ``signum`` once a process marked ``tag`` runs: to tito,
    or (``group``) to its whole process group, as a terminal's Ctrl-C does."""
    env = dict(os.environ, NO_COLOR="1", PYTHONUNBUFFERED="1")  # what it printed survives a SIGKILL
    env.pop("PYTHONPATH", None)
    proc = subprocess.Popen([sys.executable, "-m", "tito", *command], cwd=cwd, env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=group)
    try:
        deadline = time.monotonic() + seconds
        while not running(tag) and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.05)
        assert running(tag), f"{tag} never ran"
        if group:
            os.killpg(proc.pid, signum)
        else:
            proc.send_signal(signum)
        stdout, stderr = proc.communicate(timeout=60)
    finally:
        proc.kill()
    return subprocess.CompletedProcess(proc.args, proc.returncode, stdout, stderr)


def report(out: Path, student: str, **fields) -> Grade:
    grade = Grade("alpha", f"{student}.py", student, [TestScore("double", True, 3)], **fields)
    Gradebook(out, "alpha").add(grade)
    return grade


def test_a_report_is_kept_only_while_its_submission_and_the_grading_are_unchanged(tmp_path):
    folder, out = tmp_path / "subs", tmp_path / "grades"
    folder.mkdir()
    names = ["same", "edited", "regraded", "broken", "new", "other_grading", "forged", "alias"]
    for name in names:
        (folder / f"{name}.py").write_text(f"# {name}\n")
    sha = {name: digest(f"# {name}\n".encode()) for name in names}
    for name in ("same", "regraded", "other_grading", "alias"):
        report(out, name, sha256=sha[name], fingerprint="other" if name == "other_grading" else "F")
    report(out, "edited", sha256=digest(b"the first version"), fingerprint="F")
    report(out, "broken", sha256=sha["broken"], fingerprint="F", incomplete=True)
    (out / "forged.json").write_text("{not a report")
    # a report that names another student than its file: it counts for nobody
    (out / "alias.json").write_text(json.dumps(dict(json.loads((out / "alias.json").read_text()), student="same")))
    submissions = [(name, folder / f"{name}.py") for name in names]
    done = plan(submissions, out, "alpha", "F", regrade=("regraded",))
    assert [(student, why) for student, _, why in done.todo] == [
        ("edited", "changed"), ("regraded", "asked to regrade"), ("broken", "its last grading did not finish"),
        ("new", "new"), ("other_grading", "the grading changed"), ("forged", "new"), ("alias", "new")]
    assert [g.student for g in done.kept] == ["same"]
    assert [g.student for g in read_grades(out, "alpha")] == ["broken", "edited", "other_grading", "regraded", "same"]
    assert [student for student, _, _ in plan(submissions, out, "alpha", "F", regrade=(ALL,)).todo] == names
    with pytest.raises(TitoError, match="--regrade names no submission: zed."):
        plan(submissions, out, "alpha", "F", regrade=("zed",))


def test_a_student_named_like_a_wildcard_is_regraded_alone(tmp_path):
    folder, out = tmp_path / "subs", tmp_path / "grades"
    folder.mkdir()
    for name in ("*", "bob"):
        (folder / f"{name}.py").write_text(f"# {name}\n")
        report(out, name, sha256=digest(f"# {name}\n".encode()), fingerprint="F")
    submissions = [(name, folder / f"{name}.py") for name in ("*", "bob")]
    assert [(student, why) for student, _, why in plan(submissions, out, "alpha", "F", regrade=("*",)).todo] == [
        ("*", "asked to regrade")]


def test_a_submission_that_still_cannot_be_read_for_the_same_reason_keeps_its_zero(tmp_path):
    from tito.grading.report import unreadable
    from tito.grading.submission import MAX_BYTES

    folder, out = tmp_path / "subs", tmp_path / "grades"
    folder.mkdir()
    with open(folder / "huge.py", "wb") as handle:
        handle.truncate(MAX_BYTES + 1)
    (folder / "shrunk.py").write_text("# now small\n")
    said = unreadable("huge.py is larger than 20 MB; a module source is far smaller")
    for name in ("huge", "shrunk"):
        report(out, name, fingerprint="F", error=said.replace("huge", name, 1))
    done = plan([(name, folder / f"{name}.py") for name in ("huge", "shrunk")], out, "alpha", "F")
    assert [g.student for g in done.kept] == ["huge"]  # not "changed" on every run
    assert [(student, why) for student, _, why in done.todo] == [("shrunk", "changed")]


def test_the_grading_changes_with_its_deadline_its_sandbox_and_the_graders_own_code(instructor_course, tmp_path):
    """A 0 for a time-out under --timeout 2 is not kept under --timeout 120; a grade made without
    a sandbox (it could have been forged) is not kept once a sandbox runs; nor one made by a
    grader since fixed."""
    import shutil

    from tito.course import Course
    from tito.grading.state import fingerprint

    course = Course(instructor_course)
    module = course.get("alpha")
    base = fingerprint(course, module, True, 120.0, True)
    assert base == fingerprint(course, module, True, 120.0, True)
    assert len({base, fingerprint(course, module, True, 2.0, True), fingerprint(course, module, True, 120.0, False),
                fingerprint(course, module, False, 120.0, True)}) == 4
    fixed = tmp_path / "fixed"
    shutil.copytree(instructor_course, fixed, ignore=shutil.ignore_patterns("__pycache__"))
    verdict = fixed / "tito" / "grading" / "verdict.py"
    verdict.write_text(verdict.read_text() + "\n# a fix\n")
    probe = ("import sys; from tito.course import Course; from tito.grading.state import fingerprint; "
             "c = Course(sys.argv[1]); print(fingerprint(c, c.get('alpha'), True, 120.0, True))")
    env = dict(os.environ)
    env.pop("PYTHONPATH", None)
    printed = {subprocess.run([sys.executable, "-c", probe, str(root)], cwd=root, env=env, capture_output=True,
                              text=True, check=True).stdout.strip() for root in (instructor_course, fixed)}
    assert len(printed) == 2 and base in printed


def test_a_reports_folder_keeps_one_seed_so_every_run_grades_on_the_same_inputs(instructor_course, tmp_path,
                                                                                monkeypatch):
    """``grade_folder`` (no sandbox: --unsafe-no-sandbox's backend) draws the folder's seed on its first
    batch and keeps it in .tito-seed only once the grader is prepared (a check that breaks on the
    reference leaves no seed); the next batch grades on that seed, so it keeps every report; a new
    seed (the file deleted) grades everyone again; a file tito did not write stops the batch."""
    from tito.course import Course
    from tito.grading import Grader, grade_folder
    from tito.grading.executors import LocalExecutor
    from tito.grading.sandbox import backend
    from tito.grading.state import SEED_FILE, fingerprint

    course = Course(instructor_course)
    folder, out = tmp_path / "subs", tmp_path / "grades"
    folder.mkdir()
    (folder / "alice.py").write_text(ALPHA_DEV)

    def batch():
        return grade_folder(course, course.get("alpha"), [("alice", folder / "alice.py")], out,
                            LocalExecutor(1, backend("none")), timeout=15.0)

    def seed_kept() -> int:
        return json.loads((out / SEED_FILE).read_text())["seed"]

    real_enter = Grader.__enter__

    def broken_check(self):
        raise TitoError("check_double fails on the reference")

    monkeypatch.setattr(Grader, "__enter__", broken_check)
    with pytest.raises(TitoError, match="check_double fails on the reference"):
        batch()
    assert not (out / SEED_FILE).exists()  # drawn, but not kept: the grader was never prepared
    monkeypatch.setattr(Grader, "__enter__", real_enter)

    first = batch()
    seed = seed_kept()
    assert [g.student for g in first.graded] == ["alice"]
    assert (out / SEED_FILE).read_text() == json.dumps({"seed": seed}) + "\n"
    assert first.graded[0].fingerprint == fingerprint(course, course.get("alpha"), True, 15.0, False, seed)
    again = batch()  # the same seed: the same inputs, so alice's grade is kept
    assert (seed_kept(), [g.student for g in again.kept], again.graded) == (seed, ["alice"], [])
    (out / SEED_FILE).unlink()  # a new seed: new inputs, so everyone is graded again
    renewed = batch()
    assert seed_kept() != seed and [g.student for g in renewed.graded] == ["alice"]
    assert renewed.graded[0].fingerprint == fingerprint(course, course.get("alpha"), True, 15.0, False,
                                                        seed_kept())
    (out / SEED_FILE).write_text("not json")
    with pytest.raises(TitoError, match=r"\.tito-seed is not a seed tito wrote"):
        batch()


def test_the_hash_is_of_the_bytes_graded_even_if_the_file_changes_meanwhile(patient_alpha_grader, tmp_path,
                                                                             monkeypatch):
    from tito.grading import submission

    (tmp_path / "mallory.py").write_text(STUB)
    real = submission.read_bytes

    def read_then_swap(path, *args):  # the file is replaced by a solution right after the grader read it
        data = real(path, *args)
        Path(path).write_text(ALPHA_DEV)
        return data

    monkeypatch.setattr(submission, "read_bytes", read_then_swap)
    [grade] = grade_batch(patient_alpha_grader, [("mallory", tmp_path / "mallory.py")], tmp_path / "out")
    assert (grade.score, grade.sha256) == (0, digest(STUB.encode()))  # the stub's grade, the stub's hash
    later = plan([("mallory", tmp_path / "mallory.py")], tmp_path / "out", "alpha", grade.fingerprint)
    assert [why for _, _, why in later.todo] == ["changed"]  # so the solution is graded next time


def test_student_names_stay_inside_the_reports_folder(tmp_path):
    out = tmp_path / "grades"
    names = ["../../escape", "/etc/passwd", ".hidden", "...", "名前", "José Ñ", "a\nb"]
    for name in names:
        report(out, name)
    assert sorted(p.name for p in out.iterdir()) == sorted(
        ["_.._escape.json", "_etc_passwd.json", "hidden.json", "_.json", "名前.json", "José_Ñ.json", "a_b.json",
         ".gradebook.pending", ".gradebook.sha256", "gradebook.csv"])
    assert not (tmp_path / "escape.json").exists() and not Path("/etc/passwd.json").exists()
    assert sorted(g.student for g in read_grades(out, "alpha")) == sorted(names)
    long_names = ["a" * 240, "a" * 239 + "b", "名" * 90]  # an LMS export's long names: no file name fits them
    for name in long_names:
        report(out, name)
    files = [p.name for p in out.iterdir() if p.name not in {report_name(n) for n in names} | {
        "gradebook.csv", ".gradebook.sha256", ".gradebook.pending"}]
    assert len(files) == 3 and all(len(f.encode()) <= 205 for f in files)
    assert sorted(g.student for g in read_grades(out, "alpha")) == sorted(names + long_names)
    for clash in ([("Alice", None), ("alice", None)], [("a/b", None), ("a_b", None)], [("é", None), ("e\u0301", None)]):
        with pytest.raises(TitoError, match="Two students would share a report file"):
            check_report_names(clash)


# --------------------------------------------------------------------------- the gradebook and the formats


def test_the_gradebook_is_safe_in_a_spreadsheet_and_keeps_unicode(tmp_path):
    students = ["=HYPERLINK(\"http://x\",\"y\")", "+1", "-2", "@SUM(A1)", "\tx", "\rx", " =1+1", "＝1+1",
                "José", "名前", "plain"]
    grades = [Grade("alpha", f"subs/{s}.py", s, [TestScore("double", True, 3)], error="=1+1 in the error" if
                    s == "plain" else "") for s in students]
    path = write_gradebook(tmp_path, "alpha", grades)
    rows = list(csv.reader(io.StringIO(path.read_bytes().decode("utf-8"), newline="")))
    cells = {row[0]: row for row in rows[1:]}
    for student in students[:8]:
        assert f"'{student}" in cells and cells[f"'{student}"][1] == f"subs/{student}.py"
    assert cells["José"][:5] == ["José", "subs/José.py", "3", "3", "100.0"] and "名前" in cells
    assert cells["plain"][5] == "'=1+1 in the error"
    assert not any(cell.startswith(("=", "+", "-", "@", "\t", "\r")) for row in rows for cell in row)


def test_gradescope_results_follow_its_specification(local):
    from tito.grading.formats import gradescope
    from tito.grading.hosted import Platform, not_graded

    nothing = not_graded(Platform("gradescope", Path("/ag"), Path("/ag/submission"), Path("/ag/results"), ()), "<b>")
    assert nothing == {"score": 0, "output": "<b>", "output_format": "text", "test_output_format": "text",
                       "test_name_format": "text", "tests": []}

    grades = local[0]
    for grade in grades.values():
        result = json.loads(json.dumps(gradescope(grade)))
        assert set(result) <= GRADESCOPE_TOP and result["tests"]
        assert result["score"] == grade.score == sum(t["score"] for t in result["tests"])
        assert isinstance(result["execution_time"], int) and result["output"].startswith("Module alpha: ")
        # plain text: Gradescope's default (simple_format) would read "<class 'int'>" in a message as HTML
        assert [result[k] for k in ("output_format", "test_output_format", "test_name_format")] == ["text"] * 3
        for test in result["tests"]:
            assert set(test) <= GRADESCOPE_TEST and test["status"] in ("passed", "failed")
            assert test["visibility"] in GRADESCOPE_VISIBILITY and 0 <= test["score"] <= test["max_score"]
    erin = gradescope(grades["erin"])
    assert [(t["name"], t["score"], t["max_score"], t["status"], t["visibility"]) for t in erin["tests"][:4]] == [
        ("double", 3, 3, "passed", "visible"), ("scaler", 0, 2, "failed", "visible"),
        ("double_negative", 1, 1, "passed", "after_published"), ("numpy_is_provided", 0, 0, "passed", "visible")]
    assert erin["tests"][1]["output"] == "NotImplementedError: TODO: implement Scaler.__call__"
    assert erin["tests"][4]["name"] == "feedback: test_unit_double" and erin["tests"][4]["max_score"] == 0
    # the total would tell whether the hidden check passed before grades are published
    assert erin["output"].splitlines()[:2] == [
        "Module alpha: 3/5 points from 3 visible checks; the hidden checks (1 point) show when grades are published.",
        "not implemented yet: Scaler.__call__"]


def test_prairielearn_results_follow_its_specification(local):
    from tito.grading.formats import prairielearn

    grades = local[0]
    for grade in grades.values():
        result = json.loads(json.dumps(prairielearn(grade)))
        assert set(result) <= PRAIRIELEARN_TOP | PRAIRIELEARN_OURS and 0.0 <= result["score"] <= 1.0
        assert all(set(t) <= PRAIRIELEARN_TEST and 0 <= t["points"] <= t["max_points"] for t in result["tests"])
    assert prairielearn(grades["alice"])["score"] == 1.0 and prairielearn(grades["alice"])["gradable"] is True
    erin = prairielearn(grades["erin"])
    assert erin["score"] == pytest.approx(4 / 6)
    # PrairieLearn shows everything at once: the hidden check is folded into one test with its points only
    assert [(t["name"], t["points"], t["max_points"]) for t in erin["tests"][:5]] == [
        ("double", 3, 3), ("scaler", 0, 2), ("numpy_is_provided", 0, 0), ("hidden checks", 1, 1),
        ("feedback: test_unit_double", 0, 0)]
    assert erin["tests"][1]["message"] == "NotImplementedError: TODO: implement Scaler.__call__"
    assert erin["tests"][3]["message"] == ""
    assert erin["tests"][3]["description"] == "1 graded check whose name and result are not shown"
    assert "double_negative" not in json.dumps(erin)
    judy = prairielearn(grades["judy"])  # not a notebook: PrairieLearn does not count the attempt
    assert judy["gradable"] is False
    assert judy["format_errors"][0].startswith("cannot read the submission: judy.ipynb is not a readable notebook")


def test_platforms_never_show_where_or_what_a_check_expected():
    """Every attempt on a platform is graded on its bundle's fixed inputs: "expected 11, got 0"
    gave conv_output_size's answers away, one attempt at a time, with nothing implemented (red
    team round 9), and so would "result[1]" or "at index (1,)" (one wrong int found at a time) or
    "expected shape (3,)". A platform says which aspect differs and what came; the instructor's
    report keeps everything; refusals and feedback tests keep their messages."""
    import numpy as np

    from tito.grading.checks import CheckSpec
    from tito.grading.formats import gradescope, prairielearn
    from tito.grading.verdict import judge

    def value(v):
        return {"value": v}

    spec = CheckSpec("sizes", 2)
    structure = "its structure differs: a kind, key, length or shape"
    verdicts = {name: judge(spec, value(expected), value(got)) for name, expected, got in [
        ("int", 11, 0), ("float", 2.5, 2.0), ("list", [11, 10, 7], [11, 9, 7]),
        ("ints", np.arange(4), np.zeros(4, int)),
        ("floats", np.ones(3), np.zeros(3)), ("shape", np.ones(3), np.ones(4)), ("length", [1, 2], [1]),
        ("keys", {"a": 1}, {"b": 1}), ("type", np.ones(2), "two")]}
    verdicts["raised"] = judge(spec, {"raised": {"type": "ValueError", "mro": ["ValueError"], "message": "m"}},
                               {"raised": {"type": "TypeError", "mro": ["TypeError"], "message": "t"}})
    verdicts["accepted"] = judge(spec, {"raised": {"type": "ValueError", "mro": ["ValueError"], "message": "m"},
                                        "accepted": [4, 4]},
                                 {"raised": {"type": "ValueError", "mro": ["ValueError"], "message": "m"},
                                  "accepted": [4, 5]})
    feedback = TestScore("test_unit_sizes", False, 0, "AssertionError: expected 11, got 0", kind=INLINE)
    grade = Grade("alpha", "x.py", "x", [TestScore(name, False, 1, v.message, withheld=v.withheld)
                                         for name, v in verdicts.items()] + [feedback])
    # a report read back (a dask worker's, a batch's) keeps both messages
    grade = Grade.from_json(json.loads(json.dumps(grade.to_json())))
    for shown in ([t["output"] for t in gradescope(grade)["tests"]],
                  [t["message"] for t in prairielearn(grade)["tests"]]):
        assert shown == ["not the expected answer (its values differ); got 0",
                         "not the expected answer (its values differ); got 2.0",
                         "not the expected answer (its values differ); got [11, 9, 7]",
                         "not the expected answer (its values differ); got an array of shape (4,) and dtype int64",
                         "not the expected answer (its values differ); got an array of shape (3,) and dtype float64",
                         f"not the expected answer ({structure}); got an array of shape (4,) and dtype float64",
                         f"not the expected answer ({structure}); got [1]",
                         f"not the expected answer ({structure}); got {{'b': 1}}",
                         f"not the expected answer ({structure}); got 'two'",
                         verdicts["raised"].message,
                         "on a valid input, not the expected answer (its values differ); got [4, 5]",
                         feedback.message]
    assert verdicts["int"].message == "result: expected 11, got 0"  # the instructor's own report keeps it all
    assert verdicts["list"].message == "result[1]: expected 10, got 9"
    assert verdicts["shape"].message == "result: expected shape (3,), got (4,)"
    assert verdicts["accepted"].message == "on a valid input, result[1]: expected 4, got 5"
    # whether an element is right never shows: a guess followed by a value of the wrong kind gets
    # the same words, right or wrong (red team 12 found each of six ints that way)
    right, wrong = (judge(spec, value([17, 5, 9]), value([guess, "sentinel", 9])) for guess in (17, 18))
    assert right.withheld == f"not the expected answer ({structure}); got [17, 'sentinel', 9]"
    assert wrong.withheld == right.withheld.replace("17", "18")
    # a check's own dict of arrays shows the student's shapes, key by key
    labelled = judge(spec, value({"with_bias": np.ones((2, 3)), "without_bias": np.ones((2, 3))}),
                     value({"with_bias": np.ones((2, 4)), "without_bias": np.ones((2, 3))}))
    assert labelled.withheld == (f"not the expected answer ({structure}); got {{'with_bias': an array of shape "
                                 "(2, 4) and dtype float64, 'without_bias': an array of shape (2, 3) and "
                                 "dtype float64}")
    # a long answer is never in the withheld message, whatever its length
    for expected, got in (("secret answer " * 25, "no"), (10 ** 4200, 1)):
        verdict = judge(spec, value(expected), value(got))
        assert verdict.withheld == f"not the expected answer (its values differ); got {got!r}"
        assert len(verdict.message) < 300


def test_an_uncounted_prairielearn_attempt_carries_only_its_reason():
    """A file that does not export is not gradable, so PrairieLearn does not count the attempt: it
    must not carry the tests' feedback, or a student would get free test runs at will (an
    exported cell with a bad __all__ did it, red team round 9)."""
    from tito.grading.formats import prairielearn
    from tito.grading.report import not_exported

    feedback = TestScore("test_unit_double", False, 0, "AssertionError: double(2) should be 4", kind=INLINE)
    grade = Grade("alpha", "x.py", "x", [TestScore("double", False, 3), feedback],
                  error=not_exported("__all__ names not_defined_anywhere, which the cell does not define."))
    result = prairielearn(grade)
    reason = "the submission does not export (__all__ names not_defined_anywhere, which the cell does not define)"
    assert (result["gradable"], result["tests"], result["format_errors"], result["message"]) == (
        False, [], [reason], reason)


def test_one_submission_written_for_prairielearn(instructor_course, folder, tmp_path):
    result = tmp_path / "results.json"
    proc = run_tito(instructor_course, "grade", str(folder / "erin.ipynb"), "--module", "alpha", "--format",
                    "prairielearn", "--json", str(result), "--no-calibrate")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert f"Report: {result} (prairielearn format)" in flat(proc.stdout)
    data = json.loads(result.read_text())
    assert (data["gradable"], data["score"]) == (True, pytest.approx(5 / 7))  # uncalibrated: numpy_is_provided 1 point


def test_the_progress_bar_counts_done_and_failed(monkeypatch):
    from rich.console import Console

    from tito.grading import progress_bar
    from tito.grading.state import Plan

    screen = io.StringIO()
    monkeypatch.setattr(progress_bar, "console", lambda: Console(file=screen, force_terminal=True, width=120))
    monkeypatch.setattr(progress_bar, "plain_output", lambda: False)
    bar = progress_bar.BatchProgress("Grading 01_alpha")
    bar.start(Plan(todo=[("a", None, "new"), ("b", None, "changed")], kept=[object()]))
    bar.done(Grade("alpha", "a.py", "a", [TestScore("double", True, 3, kind=CHECK)]))
    bar.done(Grade("alpha", "b.py", "b", [TestScore("double", False, 3), TestScore("t", False, 0, kind=INLINE)],
                   error="the submission does not export (x), so it scores 0"))
    bar.stop()
    text = screen.getvalue()
    assert "1 already graded and unchanged; grading 2 (1 new, 1 changed)." in text
    assert "[2/2] b: 0/3 (0.0 s) - the submission does not export (x), so it scores 0" in text
    assert "2/2" in text and "1 failed" in text and "ETA" in text


@pytest.mark.parametrize("terminal", [True, False])
def test_a_grading_graded_again_alone_is_counted_apart_and_added_to_the_total(monkeypatch, terminal):
    """Red team 35: the grade alone of a grading that timed out beside others was shown as
    "[3/2] mallory", and an interrupt then said "after 3 of 2 submissions". It is counted apart,
    saying why, the bar's total grows by it, and its failure no longer counts once it passes."""
    from rich.console import Console

    from tito.grading import progress_bar
    from tito.grading.state import Plan

    screen = io.StringIO()
    monkeypatch.setattr(progress_bar, "console", lambda: Console(file=screen, force_terminal=terminal, width=200))
    monkeypatch.setattr(progress_bar, "plain_output", lambda: not terminal)
    bar = progress_bar.BatchProgress("Grading 01_alpha")
    bar.start(Plan(todo=[("mallory", None, "new"), ("alice", None, "new")]))
    bar.done(Grade("alpha", "mallory.py", "mallory", [TestScore("double", False, 3)],
                   error="timed out after 25 s (in checks): checks that had not finished score 0"))
    bar.done(Grade("alpha", "alice.py", "alice", [TestScore("double", True, 3)]))
    bar.again({"mallory": "it timed out beside other gradings"})
    assert bar.so_far() == "2 of 2 submissions, and 0 of 1 graded again alone"
    if terminal:
        assert bar.bar.tasks[0].total == 3 and bar.bar.tasks[0].fields["failed"] == 1
    bar.done(Grade("alpha", "mallory.py", "mallory", [TestScore("double", True, 3)]))
    assert bar.so_far() == "2 of 2 submissions, and 1 of 1 graded again alone"
    if terminal:
        assert (bar.bar.tasks[0].completed, bar.bar.tasks[0].total, bar.bar.tasks[0].fields["failed"]) == (3, 3, 0)
    bar.stop()
    said = ["grading 2 (2 new).", "[1/2] mallory: 0/3 (0.0 s) - timed out after 25 s (in checks): checks that had not "
            "finished score 0", "[2/2] alice: 3/3 (0.0 s)",
            "[again 1/1] mallory: 3/3 (0.0 s, graded alone: it timed out beside other gradings)"]
    if terminal:  # printed above the bar
        assert all(line in screen.getvalue() for line in said) and "3/3" in screen.getvalue()
    else:
        assert screen.getvalue().splitlines() == said


def test_two_batches_may_not_write_one_reports_folder(tmp_path):
    from tito.grading.state import locked

    with locked(tmp_path / "grades"):
        with pytest.raises(TitoError, match="Another tito grade is writing to .*grades right now"):
            with locked(tmp_path / "grades"):
                pass
    with locked(tmp_path / "grades"):  # released when the batch ends
        pass
    assert [p.name for p in (tmp_path / "grades").iterdir()] == []
