"""Hostile submissions against tito grade, on the small instructor course of tiny_course.

Every attack starts from the released stub (which scores 0) and adds code that runs when the
student's module is imported — in the checks' probe, the inline harness and pytest — plus a
cell that reports what it did as an inline feedback failure ("ATTACK-REPORT {...}"), so each
test can see that the attack really ran. They are graded in one batch, two at a time, beside
honest submissions. Each must earn no more than the stub, change no file outside its scratch
(the course and the Python environment are hashed before and after), leave no process behind
and leave the other students' grades intact.
"""

import copy
import csv
import hashlib
import itertools
import json
import os
import re
import shutil
import signal
import site
import subprocess
import sys
from pathlib import Path

import pytest
import grade_attacks
from grade_attacks import DAEMON, MARK, SLEEPER, attack, attack_submissions, owner_pid, running, settled, slow
from tiny_course import (ALPHA_DEV, HANG_SECONDS, PATIENT_SECONDS, REAL_ROOT, flat, rows_of, run_tito,
                         with_deadline)

from tito.grading import grade_batch
from tito.grading.grader import SCRATCH_PREFIX, sweep_stale_scratch
from tito.grading.state import plan


def course_state(instructor: Path) -> dict:
    """A hash and mode per file of the instructor's course, and what in the Python environment runs code."""
    state = {str(p): (hashlib.sha256(p.read_bytes()).hexdigest(), p.stat().st_mode)
             for p in sorted(instructor.rglob("*")) if p.is_file() and "__pycache__" not in p.parts}
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


def report_of(grade) -> dict:
    for test in grade.feedback:
        found = re.search(r"ATTACK-REPORT (\{.*\})", test.message)
        if found:
            return json.loads(found.group(1))
    raise AssertionError(f"{grade.student}: no attack report in the feedback: {[t.message for t in grade.feedback]}")


RUN_INTO_THE_DEADLINE = {"sleeper"}  # graded with alpha_grader's short deadline; the rest of the batch never nears it


def short_deadline_for(students: set, hasty, patient):
    """A grader for one batch: ``patient``, but grading ``students`` with ``hasty`` (both copies of
    one prepared grader, with different deadlines)."""
    mixed = copy.copy(patient)
    mixed.grade = lambda path, student=None, *args: (hasty if student in students else patient).grade(
        path, student, *args)
    return mixed


@pytest.fixture(scope="module")
def batch(alpha_grader, patient_alpha_grader, instructor_course, tmp_path_factory):
    """Every attack and two honest students, graded two at a time: (student -> Grade, state before, after,
    the reports folder).
    The sleeper runs until its deadline, alpha_grader's short one; every other grading is asserted
    as it ends by itself, so it gets a deadline no load reaches. The sleeper and the daemons go
    first, side by side. ``many_files`` is graded alone
    (``test_writing_without_end_into_the_job_folder_is_stopped``), ``cpu_hog`` beside one honest
    grading (``test_a_cpu_hog_beside_a_grading_cannot_make_its_timeout_final``)."""
    folder, out = tmp_path_factory.mktemp("attacks"), tmp_path_factory.mktemp("attack-grades")
    files = attack_submissions(instructor_course, out=out)
    del files["many_files.py"], files["cpu_hog.py"]
    for name, text in files.items():
        (folder / name).write_text(text, encoding="utf-8")
    before = course_state(instructor_course)
    slow = ["sleeper", "daemons"]
    order = slow + sorted(n.split(".")[0] for n in files if n.split(".")[0] not in slow)
    submissions = [(student, next(folder.glob(student + ".*"))) for student in order]
    grader = short_deadline_for(RUN_INTO_THE_DEADLINE, alpha_grader, patient_alpha_grader)
    grades = grade_batch(grader, submissions, out, jobs=2)
    return {g.student: g for g in grades}, before, course_state(instructor_course), out


ATTACKS = ["read_reference", "forge", "patch_harness", "pytest_tamper", "write_outside", "daemons", "sleeper",
           "memory_hog", "output_flood", "fork_bomb", "kill_grader", "metadata_list", "forty_thousand_cells",
           "forge_state", "unshowable", "deep_status", "chmod_link", "link_checks", "many_members",
           "deep_folders", "claims_beta", "hoard", "kill_entry", "kill_probe", "flood_uncaught",
           "exit_at_import", "crash_at_import", "kill_at_import"]


ATTACKS_SLEEP = 1000  # seconds the daemon and the sleeper would wait without a deadline


def said(grade, marker: str) -> bool:
    """True when the attack printed ``marker`` in the checks' probe (proof that it ran there)."""
    return marker in grade.sandbox.get("checks_output", "")


def test_honest_students_beside_the_attacks_keep_their_grades(batch):
    grades = batch[0]
    assert (grades["alice"].score, grades["alice"].max_score, grades["alice"].error) == (6, 6, "")
    assert (grades["carol"].score, grades["carol"].error) == (4, "not implemented yet: Scaler.__call__")
    assert grades["nbformat3"].score == 4  # an nbformat 3 notebook is upgraded and graded
    assert grades["alice"].sandbox["feedback"] is True  # its feedback tests ran (a --no-feedback one is regraded)


@pytest.mark.parametrize("student", ATTACKS)
def test_no_attack_earns_more_than_the_stub(batch, student):
    grade = batch[0][student]
    assert (grade.score, grade.max_score) == (0, 6), grade.to_json()


def test_nothing_outside_the_scratch_changed_and_nothing_is_left_running(batch):
    _, before, after, _ = batch
    assert after == before
    for folder in (Path("/tmp"), REAL_ROOT, Path("/etc"), Path("/work")):
        assert not list(folder.glob(f"{MARK}*"))
    assert settled(leftovers) == []


def test_the_reference_is_out_of_reach_by_every_route(batch):
    report = report_of(batch[0]["read_reference"])
    assert report["found"] == [] and report["expected"] == []
    assert report["hidden_tests"] == []  # the reference's tests as the student edition has them: no hidden ones
    assert report["roots"] > 10  # the routes were tried: parents, environment, /proc, /tmp, finders (20-30 here)
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
    # the grader's Python installation is named <python> in feedback (its folder may be the instructor's home)
    site_packages = site.getsitepackages()[0].replace(sys.prefix + "/", "<python>/", 1)
    for target in (str(instructor_course / "modules/source/01_alpha/alpha_dev.py"), "tests/01_alpha/test_alpha_ops.py",
                   "tito/cli.py", f"<python>/{MARK}", f"{site_packages}/zz-{MARK}.pth"):
        assert target in refused
    # what it could write is its private /tmp, and folders of the sandbox's own empty root
    assert not [t for t in report.get("written", []) if not t.startswith(("/tmp/", "/etc/", "/work/"))]


def test_daemons_and_held_pipes_do_not_hold_the_grade(batch, patient_alpha_grader):
    """A daemon that keeps the tests' output pipes open held the pytest step until the deadline;
    the steps write to files now, and the sandbox's end ends the daemon."""
    grade = batch[0]["daemons"]
    assert said(grade, "ATTACK-DAEMON")
    assert grade.error == "not implemented yet: double, Scaler.__call__" and grade.score == 0
    # not its deadline (below the daemon's ATTACKS_SLEEP, so a held pipe would reach it), nor when the daemon let go
    assert grade.seconds < patient_alpha_grader.limits.seconds < ATTACKS_SLEEP


def test_a_submission_sleeping_everywhere_is_stopped_at_its_one_deadline(batch, alpha_grader):
    grade = batch[0]["sleeper"]  # graded with alpha_grader (RUN_INTO_THE_DEADLINE)
    limit = alpha_grader.limits.seconds
    assert (f"timed out after {limit:g} s (in checks, while importing the submission): checks that had not "
            "finished score 0") in grade.error  # TA audit: it said "(in checks)" of an import that never ended
    assert said(grade, "ATTACK-SLEEPING")
    assert grade.seconds < ATTACKS_SLEEP / 5  # one deadline for everything, not one per step


def test_memory_output_and_processes_are_bounded(batch, alpha_grader):
    grades = batch[0]
    assert report_of(grades["memory_hog"])["refused"] == [3 << 30, 1 << 40]
    assert report_of(grades["output_flood"])["stopped"] == ["File too large"]
    assert said(grades["output_flood"], "flood flood")  # in the probe too, until RLIMIT_FSIZE stopped it
    assert grades["flood_uncaught"].error == (  # TA audit: it said only "File too large"
        "the submission does not import (OSError: [Errno 27] File too large: it wrote past the sandbox's limit of "
        f"{alpha_grader.limits.file_size >> 20} MB per file, printing that much?), so it scores 0")
    blocked = re.search(r"FORKBOMB-BLOCKED with (\d+) processes", grades["fork_bomb"].sandbox["checks_output"])
    assert blocked and int(blocked.group(1)) <= alpha_grader.limits.processes


def test_the_batchs_reports_and_gradebook_are_out_of_reach(batch):
    grades, out = batch[0], batch[3]
    report = report_of(grades["forge_state"])  # its own report, alice's, the gradebook, a new student's, a regrade
    assert report.get("written", []) == [] and len(report["refused"]) == 5
    assert not (out / ".tito-regrade").exists()
    assert json.loads((out / "forge_state.json").read_text())["score"] == 0
    assert json.loads((out / "alice.json").read_text())["score"] == 6
    with (out / "gradebook.csv").open(newline="", encoding="utf-8") as gradebook:
        rows = list(csv.reader(gradebook))  # a student named with a line break has a quoted cell holding it
    assert len(rows) == len(grades) + 1 and not (out / "zed.json").exists()  # one row per report, none forged
    assert [row[2] for row in rows if row[0] in ("alice", "forge_state")] == ["6", "0"]


def test_killing_everything_in_sight_reaches_only_the_sandbox(batch):
    grade = batch[0]["kill_grader"]  # it killed the sandbox's own entry, and nothing else: we are alive
    assert grade.error == KILLED_ITS_GRADER


KILLED_ITS_GRADER = ("the submission killed the grading's own process in its sandbox (SIGKILL), so it scores 0: "
                     "none of its checks count")


def test_a_submission_whose_import_ends_the_python_process_is_told_so(batch):
    """Audit: os._exit(0) or a segfault at the top level scored 0 with no reason at all (every check
    'not run', no feedback), where sys.exit(0) was told "does not import (SystemExit: 0)"."""
    grades = batch[0]
    for student, how in [("exit_at_import", "exit code 0"), ("crash_at_import", "SIGSEGV")]:
        assert grades[student].error == ("the submission ended the Python process while being imported (os._exit, "
                                         f"or a crash: {how}), so it scores 0"), grades[student].to_json()
        assert {t.message for t in grades[student].checks if not t.hidden} == {"not run"}


def test_a_loop_at_import_is_told_as_the_import_and_its_time_limit(tmp_path):
    """Audit: an endless loop at the top level said "does not import (CheckTimedOut: the check ran past
    its time limit)", naming no check it ran. The checks' probe, on a module that never imports."""
    from tito.grading.grader import _import_outcome, _reason
    from tito.grading.sandbox import Limits

    (tmp_path / "looping.py").write_text("while True:\n    pass\n", encoding="utf-8")
    (tmp_path / "checks.py").write_text("", encoding="utf-8")
    spec = {"course": str(tmp_path), "site_packages": [str(REAL_ROOT), *site.getsitepackages()],
            "import_name": "looping", "checks_file": str(tmp_path / "checks.py"), "checks": [], "seed": 1,
            "out": str(tmp_path / "out"), "import_seconds": 1.5}
    subprocess.run([sys.executable, "-I", "-S", str(REAL_ROOT / "tito/grading/probe.py"), json.dumps(spec)],
                   check=True, timeout=60)
    imported, failure = _import_outcome(tmp_path / "out", tmp_path)
    assert _reason({}, None, Limits(), failure, False, imported=imported) == (
        "the submission does not import (CheckTimedOut: importing it did not end within 1.5 s: a loop at the top "
        "level?), so it scores 0")


def test_checks_stopped_by_their_deadline_are_not_told_as_finished_when_feedback_had_begun():
    """Under load (a load of 20 on 2 cores) the sleeper's checks ran into the sandbox's own deadline and
    the tests for feedback began, with no time left, before the grader's kill came: the reason said
    "(in pytest): its checks had finished; only feedback was cut short" of a submission whose import
    never ended. Where a step ran out of time is where the checks did, when they did."""
    from types import SimpleNamespace

    from tito.grading.grader import _reason
    from tito.grading.sandbox import Limits

    status = {"running": "pytest", "steps": {
        "read": {"ok": True}, "export": {"ok": True},
        "checks": {"ok": False, "timed_out": True, "error": "the checks ran past the submission's time limit"},
        "inline": {"ok": False}}}
    killed = SimpleNamespace(timed_out=True, stopped="", returncode=-9, output=b"")
    assert _reason(status, killed, Limits(seconds=15), "", False, imported=False) == (
        "timed out after 15 s (in checks, while importing the submission): checks that had not finished score 0")
    finished = {**status, "steps": {**status["steps"], "checks": {"ok": True, "exit_code": 0}}}
    assert _reason(finished, killed, Limits(seconds=15), "", True, finished=True) == (
        "timed out after 15 s (in pytest): its checks had finished; only feedback was cut short")


def test_a_submission_that_kills_its_grader_scores_0_with_the_reason(batch):
    """Audit: a full solution killing its parent, pid 1 and every process it may at import scored 0 under
    bubblewrap (its checks' process died with the sandbox's first one) but 4/46 under uid-drop (it lived
    on, and the checks it finished before the grader ended it counted). Its checks count in no sandbox
    (test_contained_in_every_mode grades it under uid-drop)."""
    grade = batch[0]["kill_at_import"]
    assert grade.error == KILLED_ITS_GRADER
    assert {t.message for t in grade.checks} == {"not counted: the submission killed its grader"}


def test_text_from_the_sandbox_is_stored_and_shown_escaped(batch):
    """A lone surrogate would stop every report from being written (and the batch with it); a
    terminal escape would run in the instructor's terminal."""
    grades, _, _, out = batch
    check = grades["unshowable"].checks[0]
    assert check.message == ("ValueError: bad \\ud800 surrogate \\x1b[2J\\x1b]0;PWNED\\x07 "
                             "\\u202eright-to-left")
    report = json.loads((out / "unshowable.json").read_text(encoding="utf-8"))
    assert report["tests"][0]["message"] == check.message
    assert all(s.isprintable() or s in "\n\t" for g in grades.values() for t in g.tests for s in t.message)


def test_a_checks_folder_linked_to_the_expected_results_is_not_read(batch):
    grade = batch[0]["link_checks"]
    assert said(grade, "ATTACK-LINKED-CHECKS")  # the link was made (it resolves on the host, not inside)
    assert {t.message for t in grade.checks if not t.hidden} == {
        "the sandbox returned unreadable data: out/checks is not a folder of the sandbox's own (a symbolic link?)"}


def test_an_archive_of_thousands_of_arrays_is_refused_before_it_is_parsed(batch):
    grade = batch[0]["many_members"]
    assert [t.message for t in grade.checks[:2]] == [
        "the sandbox returned unreadable data: the arrays hold 5000 members, more than the 1024 allowed",
        "the sandbox returned unreadable data: the arrays' directory holds more members than the 1 it declares"]


def test_writing_without_end_into_the_job_folder_is_stopped(patient_alpha_grader, instructor_course, tmp_path):
    """Graded alone, with a deadline far beyond the 2-3 s it takes to reach the file limit: side by
    side with the batch's attacks on a loaded machine, the 15 s deadline could come first."""
    grader = patient_alpha_grader
    submission = tmp_path / "many_files.py"
    submission.write_text(attack_submissions(instructor_course, ("many_files",))["many_files.py"], encoding="utf-8")
    grade = grade_batch(grader, [("many_files", submission)], tmp_path / "grades")[0]
    assert (grade.score, grade.max_score) == (0, 6)
    assert grade.error.startswith("stopped by the grader: it wrote more than 20000 files, a job's limit"), grade.error
    assert not grade.sandbox["timed_out"]  # stopped at the limit, long before its deadline


def test_folders_nested_past_path_max_stop_the_job(batch):
    grade = batch[0]["deep_folders"]
    assert grade.error.startswith("stopped by the grader: it made a folder the grader cannot look into (out/dddd"), \
        grade.error
    assert "File name too long" in grade.error


def test_folders_nested_thousands_deep_are_removed_with_the_job(batch):
    """Red team 36: 1,500 nested folders crashed shutil.rmtree (RecursionError) as the job was
    removed: the grading failed and was never final, a platform wrote no result (an uncounted
    attempt), and every later grader on the machine crashed sweeping the stale scratch. The job
    folder is removed one level at a time, by descriptor; honest code beside the folders keeps 6/6."""
    grade = batch[0]["deep_narrow"]
    assert said(grade, "ATTACK-DEEP-NARROW 1500"), grade.sandbox["checks_output"]
    assert (grade.score, grade.max_score, grade.incomplete, grade.error) == (6, 6, False, "")


def test_the_sandboxs_shared_memory_is_a_sized_tmpfs(batch):
    """bwrap's own /dev has no size: its /dev/shm could take half the machine's memory."""
    assert said(batch[0]["leave_behind"], "ATTACK-SHM-MB 256")


def test_a_status_nested_too_deep_is_unreadable_not_a_crash(batch):
    grade = batch[0]["deep_status"]
    assert (batch[3] / "deep_status.json").is_file()
    assert grade.sandbox["steps"] == {} and grade.score == 0


def test_a_status_of_the_wrong_kinds_and_sizes_keeps_the_points_and_a_small_report(batch):
    from tito.grading.inside import MAX_TESTS

    grade = batch[0]["bad_status"]
    assert (grade.score, grade.incomplete) == (4, False)  # as carol: double and scaler's half
    assert "grading failed" not in grade.error
    assert len(grade.feedback) == MAX_TESTS
    assert grade.sandbox["steps"] == {"read": None, "inline": None}  # no time given: the 20,000 others dropped
    assert (batch[3] / "bad_status.json").stat().st_size < 200_000


def test_a_long_name_said_many_times_keeps_the_report_small_and_the_reason_names_only_functions(batch):
    from tito.grading.grader import MAX_FEEDBACK, MAX_REASON

    grade = next(g for student, g in batch[0].items() if student.startswith("amplify"))
    assert (grade.score, grade.incomplete) == (4, False)  # as carol: double and scaler's half
    assert grade.error.endswith("; not implemented yet: Scaler.__call__")  # it broke its harness: stopped early
    assert "\n" not in grade.error and "Score" not in grade.error and "bold" not in grade.error  # names only
    assert len(grade.feedback) == 500 and all(len(t.message) <= MAX_FEEDBACK for t in grade.feedback)
    assert grade.feedback[0].message.startswith(" amplify\\x01")  # the sandbox's path named as the file
    assert len(grade.error) <= MAX_REASON
    assert next(batch[3].glob("amplify*.json")).stat().st_size < 1_000_000  # 32 MB before


def test_a_process_that_ends_in_one_check_costs_that_check_only_and_says_so(batch):
    grade = batch[0]["exit_in_check"]
    scores = {t.name: (t.passed, t.earned) for t in grade.checks}
    assert scores["scaler"] == (True, 2) and grade.score == 2  # after double's checks, in a new process
    assert scores["double"] == (False, 0)
    assert next(t.message for t in grade.checks if t.name == "double").startswith(
        "ProcessEnded: the checks' process ended during this check (exit code 0)")
    # double_negative is hidden: its name would tell, before grades are published, that it failed
    assert grade.error.startswith("the checks' process ended during double (exit code 0), a hidden check (exit "
                                  "code 0) and was started again for the checks after it")


def test_a_submission_cannot_say_it_was_unreadable_once_its_checks_ran(batch):
    from tito.grading.formats import prairielearn

    grade = batch[0]["forged_unreadable"]
    assert grade.score == 4 and "FORGED" not in grade.error  # as carol: double and scaler's half
    assert prairielearn(grade)["gradable"] is True


@pytest.mark.parametrize("student", ["unreadable_at_import", "unexported_at_import"])
def test_a_submission_cannot_say_it_was_unreadable_or_unexported_before_its_checks_ran(batch, student):
    """Red team 34: said at import, before any check had a record, the forged status was believed, and
    PrairieLearn counted no attempt, its reason in the submission's words. Only the harness's own lines,
    said before the submission's code runs, tell that a read or an export failed."""
    from tito.grading.formats import prairielearn

    grade = batch[0][student]
    assert "FORGED" not in grade.error and grade.score == 0
    assert grade.error.startswith("the sandbox stopped early (exit code 1): ")  # its harness could not write on
    assert prairielearn(grade)["gradable"] is True


@pytest.mark.parametrize("student", ["verdict_at_import", "verdict_wiped"])
def test_a_verdict_line_in_a_compile_warning_is_not_believed(batch, student):
    """Red team 34, second round: the export's compile printed a warning quoting a source line that held
    a forged verdict after a \\x1c, before the harness's own; read as a line of its own, it made a whole
    solution "not export" (uncounted on PrairieLearn), at import or once its checks' records were removed.
    What the harness prints during the read and the export is held back until it has said its verdicts."""
    from tito.grading.formats import prairielearn

    grade = batch[0][student]
    assert "FORGED" not in grade.error and "does not export" not in grade.error
    assert prairielearn(grade)["gradable"] is True
    assert grade.sandbox["output_tail"].count("tito-inside-verdict") == 3  # the two verdicts, then the quoted one


def test_a_file_that_does_not_export_is_told_so_after_a_megabyte_of_warnings(batch):
    """Red team 34: more than the kept megabyte of compile warnings came before the export's verdict,
    so an unexportable file got no reason and a counted 0."""
    from tito.grading.formats import prairielearn

    grade = batch[0]["noisy_unexportable"]
    assert grade.error.startswith("the submission does not export (noisy_unexportable.py, line ")
    assert prairielearn(grade)["gradable"] is False
    # valid Python that the export cannot keep so: it crashed the export between the two verdicts, a counted 0
    grade = batch[0]["continued_into_a_marker"]
    assert grade.error.startswith("the submission does not export (continued_into_a_marker.py, the cell at line ")
    assert prairielearn(grade)["gradable"] is False


def test_a_file_name_cannot_print_lines_of_its_own_in_the_reason(batch):
    """Red team 34: a notebook named "newline\\nScore: 6 of 6 ..." put that line into "cannot read" (and
    the gradebook kept only the part before it). The name in the reason is shown escaped, as its label."""
    grade = next(g for student, g in batch[0].items() if student.startswith("newline"))
    assert grade.error == ("cannot read the submission: newline\\x0aScore: 6 of 6 (all checks passed).ipynb is "
                           "not a readable notebook: not JSON (Expecting value: line 1 column 1 (char 0)); it scores 0")


def test_a_submission_cannot_put_lines_of_its_own_into_the_reason(batch):
    """Red team 34: a step named "pytest\\nModule alpha: 6/6 ..." and a crashed check "double\\nScore: 6/6
    ..." went into the reason as lines of their own. Only steps the harness has and checks that failed
    are named; double passed, so its crash is not believed either. Red team 35: a check named by a
    list crashed the grader (a grade never final; no result on PrairieLearn, an uncounted attempt)."""
    grade = batch[0]["forged_lines"]
    assert (grade.score, grade.incomplete) == (4, False)  # as carol: double and scaler's half
    assert "\n" not in grade.error and "6/6" not in grade.error and "ended during" not in grade.error
    assert grade.error.startswith("the sandbox stopped early (exit code 1): ")



def test_a_submission_cannot_say_it_ran_out_of_time_to_be_graded_again(batch):
    """Red team 35: a status saying its steps ran out of time, written long before any deadline,
    counted as a timeout beside other gradings, which buys one more grading, alone. The sandbox's
    word of a late step is believed only when the sandbox ran until near its deadline, timed outside."""
    from tito.grading.batch import spoiled_by

    grade = batch[0]["forged_timeout"]
    assert (grade.score, grade.incomplete, grade.sandbox["timed_out"]) == (4, False, False)  # as carol
    assert grade.sandbox["sandbox_seconds"] < PATIENT_SECONDS / 2 and grade.sandbox["ran_out_of_time"] is False
    assert spoiled_by(grade) == ""

def test_the_reason_says_checks_finished_only_when_each_left_a_record():
    """Red team 34: a status saying the checks ended well and pytest was running, then the harness
    stopped (SIGSTOP) until the deadline, read "its checks had finished; only feedback was cut short" while
    no check had run. Whether they finished is told by their records, read outside."""
    from types import SimpleNamespace

    from tito.grading.grader import _reason
    from tito.grading.sandbox import Limits

    forged = {"running": "pytest", "steps": {"read": {"ok": True}, "export": {"ok": True},
                                             "checks": {"ok": True, "exit_code": 0, "crashes": []}}}
    killed = SimpleNamespace(timed_out=True, stopped="", returncode=None, output=b"")
    assert _reason(forged, killed, Limits(seconds=20), "", False, imported=False) == (
        "timed out after 20 s (in pytest): checks that had not finished score 0")
    assert _reason(forged, killed, Limits(seconds=20), "", True, finished=True) == (
        "timed out after 20 s (in pytest): its checks had finished; only feedback was cut short")


def test_a_file_claiming_another_module_is_graded_by_this_modules_checks_only(batch):
    """What the file says it is (read outside the sandbox) words the reason; it never picks the checks."""
    grade = batch[0]["claims_beta"]
    assert [t.name for t in grade.checks] == ["double", "scaler", "double_negative", "numpy_is_provided"]
    assert grade.error == ("the file is module beta's (`#| default_exp core.beta`) where module alpha's (core.alpha) "
                           "was expected, so it scores 0") and grade.other_module == "beta"


def test_a_symbolic_link_is_no_submission(instructor_course, tmp_path):
    """A link would make the reference (or another student's file) this student's submission."""
    from tito.grading import detect

    if detect()[0] is None:
        pytest.skip("no grading sandbox can run here")
    folder, out = tmp_path / "subs", tmp_path / "grades"
    folder.mkdir()
    (folder / "mallory.py").symlink_to(instructor_course / "modules/source/01_alpha/alpha_dev.py")
    (folder / "nina").symlink_to(instructor_course / "modules/source/01_alpha")
    (folder / "alice.py").write_text(ALPHA_DEV, encoding="utf-8")
    proc = run_tito(instructor_course, "grade", str(folder), "--module", "alpha", "--out", str(out), "--jobs", "2")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    grades = {p.stem: json.loads(p.read_text()) for p in out.glob("*.json")}
    assert {s: g["score"] for s, g in grades.items()} == {"alice": 6, "mallory": 0, "nina": 0}
    assert grades["mallory"]["error"] == ("cannot read the submission: mallory.py is a symbolic link; "
                                          "a submission is a file of its own; it scores 0")
    assert "nina is a symbolic link" in grades["nina"]["error"]
    (folder / "zed.py").symlink_to("/dev/zero")  # planning the next run must not read it either
    again = run_tito(instructor_course, "grade", str(folder), "--module", "alpha", "--out", str(out))
    assert again.returncode == 0, again.stdout + again.stderr
    assert json.loads((out / "zed.json").read_text())["error"].startswith("cannot read the submission: zed.py is a "
                                                                         "symbolic link")


def test_a_students_escape_sequences_never_reach_the_terminal(instructor_course, tmp_path):
    from tito.grading import detect

    if detect()[0] is None:
        pytest.skip("no grading sandbox can run here")
    named = tmp_path / "x\x1b]0;PWNED\x07.py"
    named.write_text(attack_submissions(instructor_course, ("unshowable",))["unshowable.py"], encoding="utf-8")
    proc = run_tito(instructor_course, "grade", str(named), "--module", "alpha", "--json", str(tmp_path / "r.json"))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "\x1b" not in proc.stdout + proc.stderr and "\x07" not in proc.stdout + proc.stderr
    assert "\\x1b[2J" in flat(proc.stdout) and "x\\x1b]0;PWNED\\x07" in flat(proc.stdout)


def test_a_students_file_name_can_neither_print_a_line_nor_pass_for_another(instructor_course, tmp_path):
    """A newline in a file name would print a forged progress line; a zero-width space would make
    a second 'alice' row. Both are shown escaped, on the console and in the gradebook."""
    from tito.grading import detect

    if detect()[0] is None:
        pytest.skip("no grading sandbox can run here")
    folder = tmp_path / "submissions"
    folder.mkdir()
    forged = "evil\n[1/3] alice: 6/6 (0.1 s)"
    for name in ("alice", "alice\u200b", forged.replace("/", "\u2215")):
        (folder / f"{name}.py").write_text("raise SystemExit('not a module')\n")
    out = tmp_path / "grades"
    proc = run_tito(instructor_course, "grade", str(folder), "--module", "alpha", "--out", str(out), "--no-feedback")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert not [line for line in proc.stdout.splitlines() if line.startswith("[1\u22153] alice")]
    assert "evil\\x0a[1\u22153] alice" in flat(proc.stdout) and "alice\\u200b" in flat(proc.stdout)
    students = [line.split(",")[0] for line in (out / "gradebook.csv").read_text(encoding="utf-8").splitlines()[1:]]
    assert students == ["alice", "alice\\u200b", "evil\\x0a[1\u22153] alice: 6\u22156 (0.1 s)"]


def test_broken_notebooks_score_zero_with_their_reason(batch):
    grades = batch[0]
    assert grades["metadata_list"].error == ("cannot read the submission: metadata_list.ipynb: the notebook's "
                                             "metadata must be a JSON object, got list; it scores 0")
    assert grades["forty_thousand_cells"].error.startswith(
        "cannot read the submission: forty_thousand_cells.ipynb has 40000 cells")


# --------------------------------------------------------------------------- a grader that is killed


def test_a_killed_grader_loses_no_grade_already_written(instructor_course, tmp_path, monkeypatch):
    """Its scratch folder goes in a temporary folder of its own: a grader another test starts
    meanwhile sweeps the stale scratch folders of /tmp, and could take this one first."""
    import tempfile

    folder, out = tmp_path / "subs", tmp_path / "grades"
    folder.mkdir()
    (folder / "alice.py").write_text(ALPHA_DEV)
    (folder / "zed.py").write_text(attack(SLEEPER))
    scratch = Path(tempfile.mkdtemp(prefix="killed-grader-"))
    os.chmod(scratch, 0o755)  # as /tmp is, for the sandbox users of the jobs
    env = dict(os.environ, NO_COLOR="1", TMPDIR=str(scratch))
    env.pop("PYTHONPATH", None)
    try:
        proc = subprocess.Popen([sys.executable, "-m", "tito", "grade", str(folder), "--module", "alpha", "--out",
                                 str(out), "--timeout", "60"], cwd=instructor_course, env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            # a wait, not a measure: starting tito, calibrating and grading alice first took over 60 s at a load
            # of 20; the sleeper is running (another test's attack could be too) once alice's grade is written
            assert settled(lambda: not ((out / "alice.json").exists() and leftovers()), seconds=300) is False, \
                "alice was never graded, or the sleeper never started"
            proc.send_signal(signal.SIGKILL)
            proc.wait()
        finally:
            proc.kill()
        assert json.loads((out / "alice.json").read_text())["score"] == 6
        assert (out / "gradebook.csv").read_text().splitlines()[1].startswith("alice,")
        assert settled(leftovers) == []  # the sandbox died with its grader
        stale = [p for p in scratch.glob(f"{SCRATCH_PREFIX}alpha-*") if owner_pid(p) == proc.pid]
        assert stale  # it could not clean up after itself ...
        monkeypatch.setattr(tempfile, "tempdir", str(scratch))
        sweep_stale_scratch()
        assert not any(p.exists() for p in stale)  # ... so the next tito grade does
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


# --------------------------------------------------------------------------- other ways of running


TEACHER = 61900  # the uid of an instructor grading on their own machine, without root


@pytest.mark.parametrize("mode, sandbox", [("root, no namespaces", "uid-drop"), ("an ordinary user", "bubblewrap")])
def test_contained_in_every_mode(mode, sandbox, instructor_course, tmp_path):
    """Attacks again, in the two other ways the grader runs: as root without user namespaces, as
    in a Gradescope container (uid-drop: the code runs as an unprivileged uid), and as an ordinary
    user (bubblewrap in a user namespace). Each runs in a mount namespace
    made like such a container: /root holds only Python (this machine's lives under /root, which
    other users cannot enter), /tmp only this test's folders, /work only the Python environment
    (other copies of the test course, which anyone may read, are there)."""
    from tito.grading.backends import drop_to
    from tito.grading.sandbox import PYTHON, UID_BASE, pids_of_uid, which

    if os.geteuid() != 0:
        pytest.skip(f"testing {mode} needs root, to make a container and switch users")
    if not which("bwrap") or not which("setpriv"):
        pytest.skip(f"testing {mode} needs bubblewrap (to make a container) and setpriv")
    home = tmp_path / "home"
    course, folder, out = home / "course", home / "subs", home / "grades"
    shutil.copytree(instructor_course, course, symlinks=True)
    folder.mkdir()
    chosen = ("read_reference", "write_outside", "kill_grader", "chmod_link", "link_checks", "leave_behind",
              "kill_at_import")
    for name, text in attack_submissions(course, chosen).items():
        (folder / name).write_text(text, encoding="utf-8")
    (folder / "daemon.py").write_text(attack(DAEMON), encoding="utf-8")
    container = grade_attacks.container(tmp_path)
    if mode == "an ordinary user":
        for path in [home, *home.rglob("*")]:
            os.chown(path, TEACHER, TEACHER, follow_symlinks=False)
        os.chmod(home, 0o700)
        container += ["--bind", str(home), "/home/teacher", "--chdir", "/home/teacher/course", "--",
                      *drop_to(TEACHER)]
        folder = Path("/home/teacher/subs")
    state_before = course_state(course)
    env = dict(os.environ, NO_COLOR="1", HOME="/tmp")
    env.pop("PYTHONPATH", None)
    proc = subprocess.run([*container, PYTHON, "-m", "tito", "grade", str(folder), "--module", "alpha", "--sandbox",
                           sandbox, "--jobs", "2", "--out", str(folder.parent / "grades"),
                           "--timeout", f"{PATIENT_SECONDS:g}"],
                          cwd=course, env=env, capture_output=True, text=True, timeout=HANG_SECONDS)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert f"Sandbox: {sandbox}" in proc.stdout
    grades = {p.stem: json.loads(p.read_text()) for p in out.glob("*.json")}
    assert {s: g["score"] for s, g in grades.items()} == {"alice": 6, "carol": 4, "daemon": 0,
                                                          **{name: 0 for name in chosen}}
    assert "ATTACK-DAEMON" in grades["daemon"]["sandbox"]["checks_output"]
    assert grades["kill_at_import"]["error"] == KILLED_ITS_GRADER  # in every sandbox, whatever its checks wrote
    assert "ATTACK-LINKED ['link0', 'link1']" in grades["chmod_link"]["sandbox"]["checks_output"]
    left = grades["leave_behind"]
    assert not left["incomplete"], left["error"]  # its clean-up did not fail (0300 folders are made 0700 first)
    if mode == "an ordinary user":  # its walk cannot enter a 0300 folder (root's can): the job is stopped there
        assert left["error"].startswith("stopped by the grader: it made a folder the grader cannot look into "
                                        "(out/a: Permission denied)"), left["error"]
    else:
        # the syscall filter refuses the segment (the clean-up of segments stays, for machines without one)
        assert "ATTACK-SHMGET False" in left["sandbox"]["checks_output"], left["sandbox"]
    header, *segments = Path("/proc/sysvipc/shm").read_text().splitlines()
    owners = [header.split().index(column) for column in ("uid", "cuid")]
    assert not [row for row in segments if {row.split()[i] for i in owners} & {str(UID_BASE), str(UID_BASE + 1)}]
    assert not list(Path("/run/lock").glob(f"{MARK}*"))
    reference = next(t for t in grades["read_reference"]["tests"] if "ATTACK-REPORT" in t["message"])
    assert '"found": [], "expected": []' in reference["message"]
    assert course_state(course) == state_before
    assert not list(Path("/tmp").glob(f"{MARK}*"))
    assert settled(lambda: pids_of_uid(UID_BASE) + pids_of_uid(UID_BASE + 1)) == []
    assert settled(leftovers) == []


# --------------------------------------------------------------------------- a full disk


def test_a_disk_running_low_stops_the_job_and_leaves_its_grade_to_the_next_run(patient_alpha_grader, tmp_path,
                                                                               monkeypatch):
    """Files a job unlinked but keeps open fill a disk with nothing a walk can find: every job on
    it is stopped, and since that may be another job's doing, its grade is graded again later."""
    from tito.grading import sandbox

    monkeypatch.setattr(sandbox, "DISK_RESERVE", 1 << 62)  # no disk has that much free
    (tmp_path / "alice.py").write_text(ALPHA_DEV, encoding="utf-8")
    grade = patient_alpha_grader.grade(tmp_path / "alice.py")
    assert grade.incomplete and grade.score == 0
    assert grade.error.startswith("stopped by the grader: the grader's disk had only "), grade.error


def test_a_submission_that_fills_the_disk_alone_is_final_when_the_disk_had_room(alpha_grader, instructor_course,
                                                                               tmp_path, monkeypatch):
    """Stopped for the disk running low while it ran alone, after starting with room to spare, a
    submission filled the disk itself: final, not graded again on every run (red team 13). With
    the disk nearly full from the start, it is the grader's disk: graded again, as before."""
    from tito.course import Course
    from tito.grading import batch, executors, sandbox, slots

    monkeypatch.setattr(sandbox, "disk_running_low", lambda folder: "the grader's disk had only 1 MB free while it ran")
    monkeypatch.setattr(slots, "other_slots_held", lambda own: False)  # the test runner's other gradings aside
    folder = tmp_path / "subs"
    folder.mkdir()
    (folder / "hog.py").write_text(ALPHA_DEV, encoding="utf-8")
    course = Course(instructor_course)

    def graded(free: int):
        monkeypatch.setattr(sandbox, "disk_free", lambda folder: free)
        [grade] = batch.grade_folder(course, course.get("alpha"), [("hog", folder / "hog.py")], tmp_path / str(free),
                                     executors.LocalExecutor(2, alpha_grader.sandbox),
                                     timeout=PATIENT_SECONDS).graded
        return grade

    nearly_full = graded(100 << 20)
    assert nearly_full.incomplete and nearly_full.sandbox["alone"]  # one submission is alone, even at --jobs 2
    filled = graded(sandbox.FILLED_ITSELF)
    assert (filled.incomplete, filled.score) == (False, 0)
    assert filled.error.startswith(f"it filled the grader's disk itself ({sandbox.FILLED_ITSELF >> 20} MB were free "
                                   "when it started, with no other grading beside it): this grade is final; "
                                   "stopped by the grader: the grader's disk had only 1 MB free"), filled.error


def test_processes_forked_at_import_never_run_the_checks(batch):
    """TA audit: children forked by the submission went on from its import through the checks,
    writing records over the probe's: one file scored 1, 46, 28 and 43 on four runs. They end
    before any check (tito.grading.probe), and the probe's records alone count."""
    grade = batch[0]["forks_into_checks"]
    assert said(grade, "ATTACK-FORKED seven children at import")
    assert not said(grade, "ATTACK-FORKED-CHILD-RAN-A-CHECK"), grade.sandbox["checks_output"]
    assert {t.name: t.passed for t in grade.checks}["double"] is True


def test_a_sigkill_of_its_own_is_graded_as_any_crash_while_no_memory_ran_out(batch):
    """A submission that ends its sandbox, or its checks' process, by SIGKILL (as the kernel's OOM
    killer would) is not graded again for it: the machine's count of OOM kills did not grow."""
    grades = batch[0]
    for student in ("kill_entry", "kill_probe"):
        assert grades[student].sandbox["oom_kills"] == 0, "the kernel OOM-killed a process during the batch: rerun"
        assert (grades[student].incomplete, grades[student].sandbox["out_of_memory"]) == (False, False)
    assert grades["kill_entry"].sandbox["exit_code"] in (-9, 137)  # killed, or bwrap saying its command was
    assert grades["kill_entry"].error == KILLED_ITS_GRADER
    assert grades["kill_probe"].error.startswith("the checks' process ended during double (exit code -9)")


def beside_alice(instructor_course, folder: Path, attacks: tuple) -> Path:
    """``folder``, made to hold the submissions of ``attacks`` and of the honest alice."""
    folder.mkdir()
    for name, text in attack_submissions(instructor_course, attacks).items():
        if name.split(".")[0] in (*attacks, "alice"):
            (folder / name).write_text(text, encoding="utf-8")
    return folder


def test_a_grading_the_kernel_killed_out_of_memory_is_graded_again_alone_then_final(instructor_course, tmp_path,
                                                                                     monkeypatch, tito):
    """The OOM killer cannot be set off safely on a shared machine: the count of OOM kills it
    keeps (/proc/vmstat) grows during every job here, while the SIGKILLs are real, sent by the
    submissions to their sandbox's first process and to their checks' process. Killed so side by
    side, a grading is graded again alone in the same batch; killed so again on the same bytes,
    alone, it is final, so a submission that runs the machine out of memory itself is not graded
    forever. An honest submission beside them, which no SIGKILL ended, keeps its grade whatever
    the count says."""
    from tito.grading import sandbox, slots

    kills = itertools.count()
    monkeypatch.setattr(sandbox, "oom_kills", lambda: next(kills))
    monkeypatch.setattr(slots, "other_slots_held", lambda own: False)  # the test runner's other gradings aside
    folder, out = beside_alice(instructor_course, tmp_path / "subs", ("kill_entry", "kill_probe")), tmp_path / "grades"
    monkeypatch.chdir(instructor_course)

    def grade():
        result = tito("grade", str(folder), "--module", "alpha", "--out", str(out), "--jobs", "2", "--no-feedback")
        reports = {p.stem: json.loads(p.read_text()) for p in out.glob("*.json")}
        return result.exit_code, flat(result.output), reports

    code, said, reports = grade()
    assert code == 0 and ("Killed by the kernel when the machine ran out of memory, for the second time on the same "
                          "file, so graded as far as they got (2): kill_entry, kill_probe") in said
    assert (reports["alice"]["score"], reports["alice"]["incomplete"], reports["alice"]["error"]) == (6, False, "")
    assert reports["alice"]["sandbox"]["alone"] is False
    assert reports["alice"]["sandbox"]["feedback"] is False  # --no-feedback: a run with feedback grades it again
    for student in ("kill_entry", "kill_probe"):
        assert (reports[student]["score"], reports[student]["incomplete"]) == (0, False)
        assert reports[student]["sandbox"]["alone"] is True
        assert reports[student]["error"].startswith(
            "the machine ran out of memory and the kernel killed the grading again, as on its last run of the same "
            "file under the same grading: this grade is final (a submission that runs the machine out of memory "
            "itself is not graded a third time); "), reports[student]["error"]
    assert len(list((out / "history").iterdir())) == 2  # the side-by-side kills, kept
    assert grade()[1].count("already graded and unchanged; grading 0.") == 1  # final: kept


def test_a_grade_from_a_worker_too_old_to_refuse_is_not_taken(alpha_grader, tmp_path):
    """Re-check: a dask worker of an older tito runs its own setup, which knows no source check,
    and graded an untouched stub 6/6 with a verdict edited to pass. The batch takes a grade only
    from a grading that says it ran under its own tito."""
    from tito.grading.report import Grade, TestScore

    class OlderWorker:
        alone = False

        def run(self, grader, todo, done):
            for student, path in todo:  # its report, as a tito before the check writes it: full marks
                done(Grade("alpha", path.name, student, [TestScore(spec.name, True, spec.points)
                                                          for spec in grader.prepared.checks],
                           sandbox={"backend": "bubblewrap", "exit_code": 0}, sha256="a" * 64))

    (tmp_path / "bob.py").write_text(ALPHA_DEV)
    [grade] = grade_batch(alpha_grader, [("bob", tmp_path / "bob.py")], tmp_path / "grades", executor=OlderWorker())
    assert (grade.score, grade.incomplete, grade.sha256) == (0, True, "a" * 64)
    assert grade.error.startswith("graded by a worker running another tito than the grader's: install the grader's "
                                  "tito commit on every worker"), grade.error


def test_a_kill_while_another_grading_ran_on_the_machine_is_never_final(instructor_course, tmp_path,
                                                                         monkeypatch, tito):
    """Red team 14: "alone" meant alone in the batch; another tito grade on the machine (a
    classmate's hog in it) could get a grading killed twice "alone", and its 0 made final. Another
    grading holds a job slot all along here: the grading killed by the (counted) OOM killer is
    graded again alone in its batch, but not final, and its report says why."""
    from tito.grading import sandbox
    from tito.grading.slots import job_slot

    kills = itertools.count()
    monkeypatch.setattr(sandbox, "oom_kills", lambda: next(kills))
    folder, out = tmp_path / "subs", tmp_path / "grades"
    folder.mkdir()
    (folder / "kill_entry.py").write_text(attack_submissions(instructor_course, ("kill_entry",))["kill_entry.py"],
                                         encoding="utf-8")
    monkeypatch.chdir(instructor_course)
    with job_slot():  # another tito grade on this machine
        for _ in range(2):  # the second run would make a kill alone final
            result = tito("grade", str(folder), "--module", "alpha", "--out", str(out), "--no-feedback")
    report = json.loads((out / "kill_entry.json").read_text())
    assert (report["incomplete"], report["sandbox"]["alone"], report["sandbox"]["beside_other_gradings"]) == (
        True, False, True)
    assert "for the second time on the same file" not in flat(result.output)


def oom_graded(student, killed, alone):
    """``student``'s grade of 3 points, or 0 when the OOM killer ended its grading."""
    from tito.grading.report import Grade, TestScore, out_of_memory

    return Grade("alpha", f"{student}.py", student, [TestScore("double", not killed, 3)],
                 error=out_of_memory() + "; the sandbox stopped early" if killed else "",
                 sandbox={"out_of_memory": killed}, sha256="a" * 64, fingerprint="f", incomplete=killed)


class AnnKilledBesideMal:
    """An executor: ann's grading is OOM-killed whenever mal's runs beside it; mal's never is."""

    def __init__(self, alone=False, kill_alone=False):
        self.alone, self.kill_alone, self.ran = alone, kill_alone, []

    def run(self, grader, todo, done):
        for student, _ in todo:
            self.ran.append(student)
            done(oom_graded(student, student == "ann" and (not self.alone or self.kill_alone), self.alone))

    def one_at_a_time(self):
        self.single = AnnKilledBesideMal(True, self.kill_alone)
        return self.single


def oom_batch(executor, out: Path, students=None, held=None) -> dict:
    """Grade ann and mal with ``executor`` as ``grade_folder`` does: side by side, then the killed alone."""
    from types import SimpleNamespace

    from tito.grading.batch import _alone_again, _grade_checked
    from tito.grading.gradebook import SetAside

    grader, paths = SimpleNamespace(module=SimpleNamespace(name="alpha")), {"ann": "ann.py", "mal": "mal.py"}
    first = _grade_checked(grader, list(paths.items()), out, executor, None, students, held)
    return {g.student: g for g in _alone_again(grader, first, paths, out, executor, None, students, held,
                                               SetAside())}


def test_a_neighbour_that_gets_a_grading_oom_killed_side_by_side_cannot_make_its_0_final(tmp_path):
    """Memory charged to no process (socket buffers) makes the OOM killer pick a neighbour's
    grading: killed on every run side by side, its 0 became final on the second. Graded again
    alone, it gets its grade; a kill side by side never makes a grade final, even after one
    before; a kill alone after one before does."""
    from tito.grading.gradebook import write_json

    write_json(oom_graded("ann", True, False).to_json(), tmp_path / "ann.json")  # killed so on the run before
    executor = AnnKilledBesideMal()
    grades = oom_batch(executor, tmp_path)
    assert executor.single.ran == ["ann"]  # only the killed one, alone
    assert (grades["ann"].score, grades["ann"].incomplete, grades["ann"].sandbox["alone"]) == (3, False, True)
    assert json.loads((tmp_path / "ann.json").read_text())["score"] == 3
    # killed alone too (its own doing): final, as the killed report before it is of the same bytes
    grades = oom_batch(AnnKilledBesideMal(kill_alone=True), tmp_path)
    assert (grades["ann"].score, grades["ann"].incomplete) == (0, False)
    assert grades["ann"].error.startswith("the machine ran out of memory and the kernel killed the grading again")


def test_a_student_held_back_keeps_their_pending_note_when_a_grading_is_graded_again_alone(tmp_path):
    """A student held back (their files clash) keeps their old row, saying why in ``pending``; the
    pass that grades a killed grading again alone rewrites gradebook.csv, and kept the note."""
    from tito.grading.gradebook import write_json

    write_json(oom_graded("hal", False, False).to_json(), tmp_path / "hal.json")
    executor = AnnKilledBesideMal()
    oom_batch(executor, tmp_path, students={"ann", "mal", "hal"}, held={"hal": "not graded now (files hal.py, "
                                                                              "hal_alpha_dev.py)"})
    assert executor.single.ran == ["ann"]
    rows = rows_of(tmp_path)
    assert [(rows[s]["score"], rows[s]["pending"]) for s in ("ann", "mal", "hal")] == [
        ("3", ""), ("3", ""), ("3", "old grade, not graded now (files hal.py, hal_alpha_dev.py)")]


def test_only_the_same_bytes_killed_out_of_memory_twice_make_a_final_grade(tmp_path):
    """The second kill makes a grade final only when it ran alone and the report it replaces was
    killed so too, on the same bytes under the same grading; anything else leaves it to the next run."""
    from tito.grading.gradebook import write_json
    from tito.grading.report import Grade, out_of_memory
    from tito.grading.state import settle

    def killed(**changes):
        grade = Grade("alpha", "ann.py", "ann", error=out_of_memory() + "; the sandbox stopped early",
                      sandbox={"out_of_memory": True, "alone": True}, sha256="a" * 64, fingerprint="f",
                      incomplete=True)
        return Grade.from_json({**grade.to_json(), **changes})

    assert settle(killed(), tmp_path).incomplete  # no report yet
    for last in (killed(sha256="b" * 64), killed(fingerprint="g"), killed(sandbox={}), killed(incomplete=False)):
        write_json(last.to_json(), tmp_path / "ann.json")
        assert settle(killed(), tmp_path).incomplete, last
    write_json(killed().to_json(), tmp_path / "ann.json")
    assert settle(killed(sandbox={"out_of_memory": True, "alone": False}), tmp_path).incomplete  # side by side
    final = settle(killed(), tmp_path)
    assert not final.incomplete and final.error.endswith("; the sandbox stopped early")


def test_a_report_that_cannot_be_written_does_not_end_the_batch(patient_alpha_grader, tmp_path):
    folder, out = tmp_path / "subs", tmp_path / "grades"
    folder.mkdir()
    (out / "alice.json").mkdir(parents=True)  # in the way of alice's report
    for name in ("alice", "carol"):
        (folder / f"{name}.py").write_text(ALPHA_DEV, encoding="utf-8")
    grades = {g.student: g for g in grade_batch(patient_alpha_grader, [(n, folder / f"{n}.py")
                                                                       for n in ("alice", "carol")], out, jobs=2)}
    assert grades["carol"].score == 6 and (out / "carol.json").is_file()
    assert grades["alice"].incomplete
    assert grades["alice"].error.endswith("its report could not be written (Is a directory): it is graded again "
                                          "by the next run")
    assert (out / "gradebook.csv").read_text().splitlines()[1].startswith("carol,")


def test_jobs_stopped_by_a_full_disk_are_graded_again_alone(alpha_grader, instructor_course, tmp_path, monkeypatch):
    """Side by side, a job that fills the disk stops its neighbour on every run: so the jobs the
    disk stopped are graded once more, one at a time, before the batch ends."""
    from tito.course import Course
    from tito.grading import batch, executors, sandbox

    def running_low_with_two_jobs(folder):
        seen.add(folder)
        return "the grader's disk had only 1 MB free while it ran" if sum(f.exists() for f in seen) > 1 else ""

    seen = set()
    monkeypatch.setattr(sandbox, "disk_running_low", running_low_with_two_jobs)
    folder = tmp_path / "subs"
    folder.mkdir()
    for name in ("ann", "ben"):
        (folder / f"{name}.py").write_text(slow(name, 1.5), encoding="utf-8")  # side by side for a while
    course = Course(instructor_course)
    done = []
    result = batch.grade_folder(course, course.get("alpha"), [(n, folder / f"{n}.py") for n in ("ann", "ben")],
                                tmp_path / "grades", executors.LocalExecutor(2, alpha_grader.sandbox),
                                timeout=PATIENT_SECONDS, on_done=done.append)
    assert sum(g.sandbox["starved"] for g in done[:2]) >= 1 and len(done) > 2  # stopped side by side, then again
    assert {(g.student, g.score, g.incomplete) for g in result.graded} == {("ann", 4, False), ("ben", 4, False)}


def test_a_grading_that_timed_out_beside_others_is_graded_again_alone_then_final(alpha_grader, instructor_course,
                                                                                   tmp_path, monkeypatch, tito):
    """Red team 35: a neighbour keeping the CPUs busy made an honest grading time out, and the
    timeout was final. A grading that timed out beside another is graded once more alone, and the
    grade alone is kept: the sleeper, which runs into any deadline, times out alone too, and that
    is final (the next run keeps it). The progress line says it is a second grading, alone, and
    why (it said "[3/2] sleeper")."""
    from tito.grading import slots

    monkeypatch.setattr(slots, "other_slots_held", lambda own: False)  # the test runner's other gradings aside
    folder, out = beside_alice(instructor_course, tmp_path / "subs", ("sleeper",)), tmp_path / "grades"
    monkeypatch.chdir(instructor_course)
    limit = f"{alpha_grader.limits.seconds:g}"

    def grade():
        result = tito("grade", str(folder), "--module", "alpha", "--out", str(out), "--jobs", "2", "--timeout", limit,
                      "--no-calibrate")
        return result.exit_code, flat(result.output)

    code, said = grade()
    timed_out = f"timed out after {limit} s (in checks, while importing the submission)"
    assert code == 0 and re.search(rf"\[[12]/2\] sleeper: 0/7 \([0-9.]+ s\) - {re.escape(timed_out)}", said), said
    # alice too, were the machine loaded enough for her to run out of time beside it: [again 1/2], [again 2/2]
    assert re.search(r"\[again [12]/[12]\] sleeper: 0/7 \([0-9.]+ s, graded alone: it timed out beside other "
                     rf"gradings\) - {re.escape(timed_out)}", said), said
    assert "[3/" not in said
    report = json.loads((out / "sleeper.json").read_text())
    assert (report["incomplete"], report["sandbox"]["alone"], report["sandbox"]["ran_out_of_time"],
            report["sandbox"]["graded_again_alone"]) == (False, True, True, "it timed out beside other gradings")
    assert "ATTACK-SLEEPING" in report["sandbox"]["checks_output"] and report["error"].startswith(timed_out)
    assert grade()[1].count("already graded and unchanged; grading 0.") == 1  # the timeout alone is final: kept


def test_a_cpu_hog_beside_a_grading_cannot_make_its_timeout_final(alpha_grader, patient_alpha_grader,
                                                                   instructor_course, tmp_path, monkeypatch):
    """Red team 35: a submission whose checks' process forks a hundred busy children, each in a
    session of its own, made an honest neighbour's grading time out, and its grade (6/6, "only
    feedback was cut short") was final. The neighbour, graded beside the hog with a deadline it
    misses beside it, is graded again alone and keeps that grade. Its grading alone gets a deadline
    no load reaches (on a shared machine a short one can be missed alone too, which is not what
    is tested here); the hog runs into its own, short, deadline twice, and every process it
    started dies with its sandbox. Nothing here measures how much the hog slowed anyone."""
    from tito.grading import slots
    from tito.grading.batch import _alone_again, _grade_checked
    from tito.grading.executors import LocalExecutor
    from tito.grading.gradebook import SetAside

    monkeypatch.setattr(slots, "other_slots_held", lambda own: False)  # the test runner's other gradings aside
    folder, out = beside_alice(instructor_course, tmp_path / "subs", ("cpu_hog",)), tmp_path / "grades"
    paths = {name: folder / f"{name}.py" for name in ("cpu_hog", "alice")}
    hasty, graded = with_deadline(alpha_grader, 5), []

    def grade(path, student=None, *args):
        graded.append(student)
        grader = alpha_grader if student == "cpu_hog" else hasty if graded.count("alice") == 1 else patient_alpha_grader
        return grader.grade(path, student, *args)

    grader = copy.copy(patient_alpha_grader)
    grader.grade = grade
    executor = LocalExecutor(2, alpha_grader.sandbox)
    first = _grade_checked(grader, list(paths.items()), out, executor)
    grades = {g.student: g for g in _alone_again(grader, first, paths, out, executor, None, set(paths), {},
                                                  SetAside())}
    assert settled(lambda: running("-hog")) is False
    alice, hog = grades["alice"], grades["cpu_hog"]
    assert (alice.score, alice.max_score, alice.error, alice.sandbox["alone"]) == (6, 6, "", True)
    if graded.count("alice") == 2:  # graded again alone: the grade kept is that one
        assert alice.sandbox["graded_again_alone"] == "it timed out beside other gradings"
    assert (hog.score, hog.max_score, hog.sandbox["alone"]) == (0, 6, True)
    assert hog.sandbox["graded_again_alone"] == "it timed out beside other gradings"
    assert said(hog, "ATTACK-HOGGING") and re.search(r"ATTACK-HOG-CHILDREN [1-9]", hog.sandbox["checks_output"]), (
        hog.sandbox["checks_output"])
    assert json.loads((out / "alice.json").read_text())["score"] == 6


class AnnTimedOutBesideMal:
    """An executor: ann's grading times out whenever mal's runs beside it (a CPU hog); alone it
    scores 3, unless (``another_batch``) a hog in another batch on the machine runs beside it still."""

    def __init__(self, alone=False, another_batch=False):
        self.alone, self.another_batch, self.ran = alone, another_batch, []

    def run(self, grader, todo, done):
        from tito.grading.report import Grade, TestScore

        for student, _ in todo:
            self.ran.append(student)
            timed_out = student == "ann" and (not self.alone or self.another_batch)
            done(Grade("alpha", f"{student}.py", student, [TestScore("double", not timed_out, 3)],
                       error="timed out after 25 s (in pytest)" if timed_out else "",
                       sandbox={"ran_out_of_time": timed_out, "beside_other_gradings": self.another_batch},
                       sha256="a" * 64, fingerprint="f"))

    def one_at_a_time(self):
        self.single = AnnTimedOutBesideMal(True, self.another_batch)
        return self.single


def test_a_timeout_beside_a_cpu_hog_gives_way_to_the_grade_alone(tmp_path):
    """The grade alone replaces the timeout beside others, in the report and the gradebook; the
    neighbour that did not time out is not graded again."""
    executor = AnnTimedOutBesideMal()
    grades = oom_batch(executor, tmp_path)
    assert (executor.ran, executor.single.ran) == (["ann", "mal"], ["ann"])
    assert (grades["ann"].score, grades["ann"].error, grades["ann"].sandbox["graded_again_alone"]) == (
        3, "", "it timed out beside other gradings")
    assert json.loads((tmp_path / "ann.json").read_text())["score"] == 3
    assert (rows_of(tmp_path)["ann"]["score"], rows_of(tmp_path)["ann"]["error"]) == ("3", "")


def test_a_timeout_beside_another_batchs_grading_is_never_final(tmp_path):
    """Red team 36: a CPU hog in another batch on the machine made eight honest solutions time out,
    in the grading alone too (it was alone in its batch only), and their 0 was final. A timeout
    with any other grading beside it is not final: the next run grades it again."""
    executor = AnnTimedOutBesideMal(another_batch=True)
    ann = oom_batch(executor, tmp_path)["ann"]
    assert executor.single.ran == ["ann"]
    assert (ann.score, ann.incomplete, ann.sandbox["alone"]) == (0, True, False)
    assert ann.error == ("timed out after 25 s (in pytest); other gradings ran beside it on this machine, so "
                         "this timeout is not final: it is graded again")
    assert json.loads((tmp_path / "ann.json").read_text())["incomplete"] is True
    (tmp_path / "ann.py").write_text("# ann")
    assert plan([("ann", tmp_path / "ann.py")], tmp_path, "alpha", "f").todo[0][2] == "its last grading did not finish"


# --------------------------------------------------------------------------- memory and space no limit counts


REFUSED = "Operation not permitted"  # the syscall filter's EPERM
DENIED = ("memfd", "shm", "msgget", "semget", "add_key", "unshare")


def hoard_report(sandbox: dict) -> dict:
    """What the hoard attack held (MB) or was refused (the error), from its checks' output."""
    found = re.search(r"ATTACK-HOARD (\{.*\})", sandbox["checks_output"])
    assert found, sandbox
    return json.loads(found.group(1))


def test_memfd_and_shared_memory_are_refused_and_the_sized_tmpfs_still_work(batch):
    """bubblewrap as root: memfd and System V memory would hold memory outside every limit."""
    report = hoard_report(batch[0]["hoard"].sandbox)
    assert {key: report[key] for key in DENIED} == dict.fromkeys(DENIED, REFUSED)
    assert isinstance(report["/"], str) and isinstance(report["/dev"], str)  # the sandbox's uid may not write there
    assert (report["/tmp"], report["/dev/shm"], report["/dev/null"]) == (32, 32, 32)
    # not refused (epoll has honest uses), but bounded by RLIMIT_NOFILE: 64 x 64 watches at 128 open
    # files (about 0.8 MB of the kernel's per process), where 256 allowed 125 x 127 (3.4 MB)
    from tito.grading.sandbox import Limits

    instances, watched = Limits().epoll_watches()
    assert 1000 < report["epoll_watches"] <= instances * watched, report


@pytest.mark.parametrize("mode, sandbox", [("root, no namespaces", "uid-drop"), ("an ordinary user", "bubblewrap")])
def test_memory_and_space_no_limit_counts_are_refused_in_every_mode(mode, sandbox, instructor_course, tmp_path):
    """The hoard again, graded as root without namespaces (uid-drop) and as an ordinary user
    (bubblewrap in a user namespace, where the sandbox's own / and /dev are tmpfs it owns), in a
    container made as test_contained_in_every_mode makes it."""
    from tito.grading.backends import drop_to
    from tito.grading.sandbox import PYTHON, which

    if os.geteuid() != 0 or not which("bwrap") or not which("setpriv"):
        pytest.skip(f"testing {mode} needs root, bubblewrap and setpriv (to make a container and switch users)")
    home = tmp_path / "home"
    course, folder = home / "course", home / "subs"
    shutil.copytree(instructor_course, course, symlinks=True)
    folder.mkdir()
    (folder / "hoard.py").write_text(attack_submissions(course, ("hoard",))["hoard.py"], encoding="utf-8")
    container = grade_attacks.container(tmp_path)
    if mode == "an ordinary user":
        for path in [home, *home.rglob("*")]:
            os.chown(path, TEACHER, TEACHER, follow_symlinks=False)
        container += ["--bind", str(home), "/home/teacher", "--chdir", "/home/teacher/course", "--",
                      *drop_to(TEACHER)]
        folder = Path("/home/teacher/subs")
    env = dict(os.environ, NO_COLOR="1", HOME="/tmp")
    env.pop("PYTHONPATH", None)
    proc = subprocess.run([*container, PYTHON, "-m", "tito", "grade", str(folder / "hoard.py"), "--module", "alpha",
                           "--sandbox", sandbox, "--no-feedback", "--json", str(folder.parent / "hoard.json")],
                          cwd=course, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    report = hoard_report(json.loads((home / "hoard.json").read_text())["sandbox"])
    assert {key: report[key] for key in DENIED} == dict.fromkeys(DENIED, REFUSED)
    if mode == "an ordinary user":  # its own tmpfs: read-only, where it wrote 840 MB into each before
        assert (report["/"], report["/dev"]) == ("Read-only file system", "Read-only file system")
        assert (report["/tmp"], report["/dev/shm"], report["/dev/null"]) == (32, 32, 32)
    else:  # the machine's / and /dev, which only root may write
        assert (report["/"], report["/dev"]) == ("Permission denied", "Permission denied")
    assert "a syscall filter denies memory no limit counts and what outlives a job: memfd_create" in flat(proc.stdout)


def test_masks_of_an_ordinary_users_sandbox_are_read_only(tmp_path, monkeypatch):
    """bubblewrap in a user namespace hides course folders in site-packages under tmpfs it owns:
    they must not become unsized space to write into (here pip's folder stands for one)."""
    from tito.grading import backends
    from tito.grading.backends import Bubblewrap, drop_to
    from tito.grading.sandbox import PYTHON, which

    if os.geteuid() != 0 or not which("bwrap") or not which("setpriv"):
        pytest.skip("testing an ordinary user's sandbox needs root, bubblewrap and setpriv (to make a container)")
    masked = Path(os.path.realpath(site.getsitepackages()[0])) / "pip"
    monkeypatch.setattr(backends, "_masks", lambda: [masked])
    sandbox = Bubblewrap()
    sandbox.root = False  # as an ordinary user builds it
    probe = ("import os, sys\nfor folder in sys.argv[1:]:\n    try:\n"
             "        open(os.path.join(folder, 'x'), 'wb').write(b'x')\n        print(folder, 'written')\n"
             "    except OSError as exc:\n        print(folder, exc.strerror)\n")
    proc = subprocess.run([*grade_attacks.container(tmp_path), "--", *drop_to(TEACHER), *sandbox._argv(None), "--",
                           PYTHON, "-I", "-S", "-c", probe, str(masked), "/", "/dev", "/tmp"],
                          capture_output=True, text=True, timeout=60, env={"PATH": "/usr/bin:/bin"})
    assert proc.stdout.splitlines() == [f"{masked} Read-only file system", "/ Read-only file system",
                                        "/dev Read-only file system", "/tmp written"], proc.stdout + proc.stderr


def test_answers_known_in_advance_earn_only_the_checks_constant_by_nature(tmp_path):
    """A student's code runs in the probe's process: it can replace what the checks write by answers
    it knows in advance (grade_attacks.forge_constant_records: the reference's, on another seed).
    Every answer is drawn from the secret seed but those module.yaml declares constant, so the stub
    that forges them all earns those alone (setup: the keys of two dicts), never the 7 of 7 it
    earned when every setup check was the same on every seed."""
    from tito.course import Course
    from tito.grading import Grader, detect

    sandbox, reasons = detect()
    if sandbox is None:
        pytest.skip("no grading sandbox can run here: " + "; ".join(reasons))
    course = Course(REAL_ROOT)
    forged = tmp_path / "forger.py"
    forged.write_text(grade_attacks.forge_constant_records(course, "setup", 987654321, tmp_path / "known"))
    with Grader(course, course.get("setup"), timeout=30, sandbox=sandbox) as grader:
        grade = grader.grade(forged)
        constant = {c.name for c in grader.prepared.checks if c.constant}
    checks = grade.checks
    assert {t.name for t in checks if t.passed} == constant == {"personal_info_keys", "system_info_keys"}, (
        [(t.name, t.message or t.detail) for t in checks])
    assert grade.score == 2 and grade.max_score == 7


def test_a_function_that_refuses_everything_earns_nothing(tmp_path):
    """A ..._rejects_... check passes on the right exception with the right words; a stub whose every
    cnn function raises ValueError with all of module.yaml's message: words and every argument's
    repr, shape and padded size would earn 5 points with nothing implemented
    (grade_attacks.refuse_everything). Each refusal earns its points only with the function's
    value on a valid input (tito.grading.data.refuses): the submission earns nothing, and says why."""
    from tito.course import Course
    from tito.grading import Grader, detect

    sandbox, reasons = detect()
    if sandbox is None:
        pytest.skip("no grading sandbox can run here: " + "; ".join(reasons))
    course = Course(REAL_ROOT)
    refusing = tmp_path / "refuser.py"
    refusing.write_text(grade_attacks.refuse_everything(course, "cnn"))
    with Grader(course, course.get("cnn"), timeout=60, sandbox=sandbox, feedback=False) as grader:
        grade = grader.grade(refusing)
    rejects = [t for t in grade.checks if "_rejects_" in t.name]
    assert len(rejects) == 10 and grade.max_score == 47
    assert grade.score == 0, [(t.name, t.message) for t in grade.checks if t.passed]
    assert all(t.message.startswith("on a valid input it raised ValueError: ") for t in rejects), (
        [(t.name, t.message) for t in rejects])
