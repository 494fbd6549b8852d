"""A term of batch grading keeps what an instructor has: a gradebook.csv edited by hand is kept
(and adjustments.csv makes a change last), a regraded report's previous result goes into
history/, rows still to be graded again say so, a student graded before keeps their row when a
newcomer's name clashes with theirs, and students are named alike across modules and typings.
None of these grades anything in a sandbox: the grades are written as reports beforehand."""

import json
import re
from types import SimpleNamespace

import pytest
from tiny_course import ALPHA_DEV, flat, reports, rows_of, run_tito

from tito.course import Course
from tito.errors import TitoError
from tito.grading import Grade, TestScore
from tito.grading.batch import _grade_checked, pending_rows
from tito.grading.gradebook import Gradebook, SetAside, write_gradebook, write_json
from tito.grading.sandbox import DEFAULT_TIMEOUT
from tito.grading.state import digest, fingerprint, plan
from tito.grading.submission import SubmissionError, find_submissions, read_bytes


def grade(student: str, passed=(True, True), **fields) -> Grade:
    return Grade("alpha", f"{student}.py", student,
                 [TestScore("double", passed[0], 3), TestScore("scaler", passed[1], 2)], **fields)


def test_a_gradebook_edited_by_hand_is_kept_before_a_rebuild_and_adjustments_last(tmp_path):
    grades = [grade("alice"), grade("carol", (True, False))]
    aside = SetAside()
    write_gradebook(tmp_path, "alpha", grades, aside=aside)
    write_gradebook(tmp_path, "alpha", grades, aside=aside)  # tito's own file: rewritten, nothing kept
    assert aside.gradebooks == [] and rows_of(tmp_path)["carol"]["score"] == "3"
    tito_wrote = (tmp_path / "gradebook.csv").read_text()
    edited = tito_wrote.replace("carol,carol.py,3,5,60.0", "carol,carol.py,5,5,100.0")
    assert edited != tito_wrote
    (tmp_path / "gradebook.csv").write_text(edited)
    write_gradebook(tmp_path, "alpha", grades, aside=aside)
    [kept] = aside.gradebooks
    assert kept.parent == tmp_path and kept.name.startswith("gradebook.") and kept.read_text() == edited
    assert rows_of(tmp_path)["carol"]["score"] == "3"
    write_gradebook(tmp_path, "alpha", grades, aside=aside)
    assert len(aside.gradebooks) == 1  # the rebuilt file is tito's again
    # a folder of an older tito has no record of what it wrote: kept only if it differs
    (tmp_path / ".gradebook.sha256").unlink()
    write_gradebook(tmp_path, "alpha", grades, aside=aside)
    assert len(aside.gradebooks) == 1
    # the lasting way: adjustments.csv, added in by every rebuild
    (tmp_path / "adjustments.csv").write_text("student,points,reason\ncarol,2,regrade request #12\n"
                                             "carol,-0.5,late\n")
    write_gradebook(tmp_path, "alpha", grades, aside=aside)
    carol = rows_of(tmp_path)["carol"]
    assert (carol["score"], carol["percent"], carol["adjustment"], carol["adjustment_reason"], carol["scaler"]) == (
        "4.5", "90.0", "1.5", "regrade request #12; late", "0")
    assert len(aside.gradebooks) == 1
    (tmp_path / "adjustments.csv").write_text("student,points,reason\ncarol,two,typo\n")
    with pytest.raises(TitoError, match=r"adjustments.csv, line 2: expected a student and a number of points, "
                                        r"got 'carol' and 'two'"):
        write_gradebook(tmp_path, "alpha", grades)
    (tmp_path / "adjustments.csv").write_text("student,points,reason\ncarol,1e308,a\ncarol,1e308,b\n")  # red team 36
    with pytest.raises(TitoError, match=r"adjustments.csv, line 3: the points of 'carol' add up past any number "
                                        r"\(1e\+308 \+ 1e\+308\)\.$"):
        write_gradebook(tmp_path, "alpha", grades)


def test_final_grades_count_the_adjustments_as_the_gradebook_does(tmp_path, tito):
    out = tmp_path / "cnn"
    out.mkdir()
    (out / "adjustments.csv").write_text("student,points,reason\ncarol,2,regrade request #12\n")
    reports(out, "alpha", [grade("carol", (True, False))])
    assert rows_of(out)["carol"]["score"] == "5"
    result = tito("gradebook", "final", str(out), "--out", str(tmp_path / "final.csv"))
    assert result.exit_code == 0, result.output
    assert (tmp_path / "final.csv").read_bytes() == (b"student,alpha (of 5),total (of 5),percent\r\n"
                                                    b"carol,5,5,100.0\r\n")


def test_an_adjustment_goes_to_the_student_whose_gradebook_cell_it_names(tmp_path, tito):
    """Red team 14: students ``=x`` and ``'=x`` are written ``'=x`` and ``''=x`` in gradebook.csv; an
    adjustments.csv row copied from the gradebook (``'=x``) took the points from the other one."""
    out = tmp_path / "cnn"
    out.mkdir()
    (out / "adjustments.csv").write_text("student,points,reason\n'=x,-3,copied from the gradebook\n")
    reports(out, "alpha", [grade("=x"), grade("'=x")])
    rows = rows_of(out)
    assert [(rows[cell]["score"], rows[cell]["adjustment"]) for cell in ("'=x", "''=x")] == [("2", "-3"), ("5", "0")]
    result = tito("gradebook", "final", str(out), "--out", str(tmp_path / "final.csv"))
    assert result.exit_code == 0 and "adjustments" not in result.output, result.output
    assert (tmp_path / "final.csv").read_bytes() == (b"student,alpha (of 5),total (of 5),percent\r\n"
                                                    b"''=x,5,5,100.0\r\n'=x,2,2,40.0\r\n")


def test_a_report_that_cannot_be_written_leaves_no_copy_in_history(tmp_path, monkeypatch):
    """Red team 14: on a full disk, the old report went to history/ though nothing replaced it."""
    from tito.grading import gradebook

    book = Gradebook(tmp_path, "alpha")
    book.add(grade("carol", (True, False)))

    def full(*args):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(gradebook, "write_json", full)
    with pytest.raises(OSError):
        book.add(grade("carol", (True, True)))
    assert book.aside.reports == [] and list((tmp_path / "history").iterdir()) == []
    assert json.loads((tmp_path / "carol.json").read_text())["score"] == 3


def test_a_regrade_with_another_result_keeps_the_previous_report_in_history(tmp_path):
    book = Gradebook(tmp_path, "alpha")
    book.add(grade("carol", (True, False), sha256="a", fingerprint="F1"))
    book.add(grade("carol", (True, False), sha256="a", fingerprint="F2", seconds=9.0))  # the same result
    again = grade("carol", (True, False), sha256="a", fingerprint="F2")
    again.tests[1].message += " <re.Pattern object at 0x7ff0c1a758b0>"  # what varies from run to run
    book.add(again)
    assert book.aside.reports == [] and not (tmp_path / "history").exists()
    first = (tmp_path / "carol.json").read_text()
    book.add(grade("carol", (True, True), sha256="a", fingerprint="F2"))
    [kept] = book.aside.reports
    assert kept.parent == tmp_path / "history" and kept.name.startswith("carol.") and kept.read_text() == first
    assert json.loads((tmp_path / "carol.json").read_text())["score"] == 5
    assert [row["student"] for row in rows_of(tmp_path).values()] == ["carol"]  # history is no student


def test_a_report_of_another_student_about_to_be_replaced_is_kept(tmp_path):
    """On a disk that ignores case, ALICE's report is alice.json: alice's goes to history/ first (red team 13)."""
    from tito.grading.gradebook import keep_replaced_report

    write_json(grade("alice").to_json(), tmp_path / "alice.json")
    kept = keep_replaced_report(tmp_path / "alice.json", grade("ALICE", (False, False)))
    assert kept.parent == tmp_path / "history" and json.loads(kept.read_text())["student"] == "alice"


def test_rows_a_stopped_batch_has_not_graded_again_say_so(tmp_path):
    """Ctrl-C after the first of two regrades: the CSV marks the row still of the old grading."""
    for student in ("alice", "bob"):
        write_json(grade(student, fingerprint="old").to_json(), tmp_path / f"{student}.json")
    submissions = [(s, tmp_path / f"{s}.py") for s in ("alice", "bob")]
    todo = plan(submissions, tmp_path, "alpha", "new").todo

    class StoppedAfterOne:
        def run(self, grader, submissions, done):
            done(grade("alice", (False, True), fingerprint="new"))
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        _grade_checked(SimpleNamespace(module=SimpleNamespace(name="alpha")), [(s, p) for s, p, _ in todo],
                       tmp_path, StoppedAfterOne(), pending=pending_rows(todo))
    rows = rows_of(tmp_path)
    assert (rows["alice"]["score"], rows["alice"]["pending"]) == ("2", "")
    assert (rows["bob"]["score"], rows["bob"]["pending"]) == (
        "5", "old grade, to be graded again (the grading changed)")


def test_students_are_named_alike_whatever_the_typing_the_module_or_the_archive(tmp_path):
    folder = tmp_path / "subs"
    for name in ("__MACOSX", "__pycache__", "sam", "peggy", ".git"):
        (folder / name).mkdir(parents=True)
    (folder / "__carol.py").write_text(ALPHA_DEV)  # no student's name, but not to be dropped in silence
    (folder / "peggy" / "__notes.txt").write_text("notes")
    (folder / "Jose\u0301.py").write_text(ALPHA_DEV)  # as a Mac's zip names it
    (folder / "quinn_alpha_dev.py").write_text(ALPHA_DEV)  # as the README's example names it
    (folder / "__MACOSX" / "._quinn_alpha_dev.py").write_text("resource fork")
    (folder / "sam" / "my_solution.py").write_text(ALPHA_DEV)
    (folder / "peggy" / "alpha_dev.ipynb").write_text("{}")
    (folder / "peggy" / "draft.txt").write_text("draft")
    (folder / "empty.py").write_text("\n \n")
    notes = []
    found = find_submissions(folder, SimpleNamespace(name="alpha"), notes)
    assert [(student, str(path.relative_to(folder))) for student, path in found] == [
        ("Jos\u00e9", "Jose\u0301.py"), ("empty", "empty.py"), ("peggy", "peggy/alpha_dev.ipynb"),
        ("quinn", "quinn_alpha_dev.py"), ("sam", "sam/my_solution.py")]
    assert notes == ["left out, not a submission: __carol.py",
                     "left out of peggy's submission: peggy/__notes.txt, peggy/draft.txt",
                     "sam: graded sam/my_solution.py, the only module source in sam/ (not named alpha_dev.py)"]
    assert [s for s, _, _ in plan(found, tmp_path / "out", "alpha", "F", regrade=("Jose\u0301",)).todo] == [
        "Jos\u00e9", "empty", "peggy", "quinn", "sam"]  # all new; the NFD name is known
    with pytest.raises(SubmissionError, match=r"^empty.py is empty \(only 3 bytes of white space\); nothing was "
                                              r"submitted in it$"):
        read_bytes(folder / "empty.py", "alpha")


def test_a_newcomer_whose_report_would_clash_leaves_the_student_graded_before_in_place(instructor_course, tmp_path):
    """bob.py graded; BOB.py arrives: BOB is refused, bob's row stays; and a hand-edited gradebook
    is kept with a loud line."""
    course = Course(instructor_course)
    folder, out = tmp_path / "subs", tmp_path / "grades"
    folder.mkdir()
    out.mkdir()
    (out / ".tito-seed").write_text(json.dumps({"seed": 7}))
    grading = fingerprint(course, course.get("alpha"), True, DEFAULT_TIMEOUT, False, 7)
    for student in ("alice", "bob"):
        (folder / f"{student}.py").write_text(ALPHA_DEV + f"# {student}\n")
        write_json(grade(student, fingerprint=grading, sha256=digest(ALPHA_DEV.encode() + f"# {student}\n".encode()))
                   .to_json(), out / f"{student}.json")
    command = ("grade", str(folder), "--module", "alpha", "--out", str(out), "--unsafe-no-sandbox")
    (out / "adjustments.csv").write_text("student,points,reason\nbob ,3,a space too many\nbob,1,late\n")
    first = run_tito(instructor_course, *command)
    assert first.returncode == 0 and "(0 graded now, 2 kept)" in flat(first.stdout), first.stdout + first.stderr
    assert ("Note: adjustments.csv names students without a row in the gradebook (their points count for no one; a "
            "name must be as the gradebook writes it): 'bob '") in flat(first.stdout)
    assert (rows_of(out)["bob"]["adjustment"], rows_of(out)["bob"]["adjustment_reason"]) == ("1", "late")
    assert "Note: adjustments.csv takes these scores outside 0 to the module's points (extra credit, or a typo?): " \
           "bob: 6 of 5" in flat(first.stdout)
    gradebook = out / "gradebook.csv"
    gradebook.write_text(gradebook.read_text().replace("alice,alice.py,5", "alice,alice.py,4"))
    (folder / "BOB.py").write_text(ALPHA_DEV)
    again = run_tito(instructor_course, *command)
    said = flat(again.stdout + again.stderr)
    assert again.returncode == 1, said
    assert "Not graded, because they would share a report file: BOB (bob.json is bob's, graded before)." in said
    assert "gradebook.csv was changed since tito wrote it: the changed file is kept as " in said
    assert [(row["student"], row["score"]) for row in rows_of(out).values()] == [("alice", "5"), ("bob", "6")]
    [kept] = out.glob("gradebook.2*.csv")
    assert "alice,alice.py,4" in kept.read_text() and not (out / "BOB.json").exists()


def test_names_that_look_alike_are_shown_apart(tmp_path):
    """'bob ', 'bob\\xa0' and 'bob\\u3000' looked like bob in every table and CSV cell."""
    folder = tmp_path / "subs"
    folder.mkdir()
    for name in ("bob", "bob ", " bob", "bob\xa0", "bob\u3000", "bob smith"):
        (folder / f"{name}.py").write_text(ALPHA_DEV)
    found = [student for student, _ in find_submissions(folder, SimpleNamespace(name="alpha"))]
    assert sorted(found) == sorted(["bob", "bob\\x20", "\\x20bob", "bob\\xa0", "bob\\u3000", "bob smith"])


def test_a_file_planted_in_a_students_name_is_no_one_s_pick(instructor_course, tmp_path):
    """alice_alpha_dev.py is alice too: the newest of her files was graded, and a classmate's zip
    can carry any time. Files that are no .py/.ipynb pair are graded for no one; her last grade
    stays in the gradebook, marked, and the batch ends with exit code 1 naming the files."""
    import os
    import time

    course = Course(instructor_course)
    folder, out = tmp_path / "subs", tmp_path / "grades"
    for name in ("alice", "bob"):
        (folder / name).mkdir(parents=True)
        (folder / name / "alpha_dev.py").write_text(ALPHA_DEV)
        (folder / name / "alpha_dev.ipynb").write_text("{}")  # a pair: not a clash
    (folder / "alice.py").write_text(ALPHA_DEV)
    planted = folder / "alice_alpha_dev.py"
    planted.write_text("# nothing\n")
    os.utime(planted, (time.time() + 10**6, time.time() + 10**6))
    several = {}
    found = find_submissions(folder, course.get("alpha"), [], clashes=several)
    assert [student for student, _ in found] == ["bob"]
    assert several == {"alice": ["alice/alpha_dev.py", "alice/alpha_dev.ipynb", "alice.py", "alice_alpha_dev.py"]}
    (folder / "alice").rename(tmp_path / "alice")
    out.mkdir()
    (out / ".tito-seed").write_text(json.dumps({"seed": 7}))
    grading = fingerprint(course, course.get("alpha"), True, DEFAULT_TIMEOUT, False, 7)
    write_json(grade("alice", fingerprint=grading, sha256=digest(ALPHA_DEV.encode())).to_json(), out / "alice.json")
    data = (folder / "bob" / "alpha_dev.ipynb").read_bytes()
    write_json(grade("bob", fingerprint=grading, sha256=digest(data)).to_json(), out / "bob.json")
    proc = run_tito(instructor_course, "grade", str(folder), "--module", "alpha", "--out", str(out),
                    "--unsafe-no-sandbox")
    said = flat(proc.stdout + proc.stderr)
    assert proc.returncode == 1, said
    assert ("Not graded, because one student's name has several files that are not a .py and .ipynb pair of the "
            "module (one may be a classmate's, so none is picked): alice (alice.py, alice_alpha_dev.py).") in said
    assert "from 2 JSON reports" in said and "(0 graded now, 1 kept, 1 held back)" in said
    # walkthrough 35: the table left alice out, whose row gradebook.csv keeps
    assert re.search(r"\| alice +\| 5 +\| 5 +\| old grade, not graded now \(files alice.py, alice_alpha_dev.py\) +\|",
                     proc.stdout), proc.stdout
    rows = rows_of(out)
    assert (rows["alice"]["score"], rows["alice"]["pending"]) == (
        "5", "old grade, not graded now (files alice.py, alice_alpha_dev.py)")
    assert (rows["bob"]["score"], rows["bob"]["pending"]) == ("5", "")
