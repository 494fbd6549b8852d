"""tito gradebook: the feedback files handed back to students and the final grades across modules,
from reports written directly (no sandbox runs here)."""

import unicodedata

import pytest
from tiny_course import flat, reports, rows_of
from hypothesis import example, given, settings
from hypothesis import strategies as st

from tito.grading.checks import CheckSpec
from tito.grading.gradebook import safe_cell
from tito.grading.report import INLINE, PYTEST, Grade, TestScore
from tito.grading.student_feedback import MARK, feedback_markdown
from tito.grading.verdict import judge

HIDDEN_DETAIL = "result: expected 5, got 4"
HIDDEN_SAYS = "failed (a hidden check: details are not shown)"


def failed_double() -> TestScore:
    """A failed check as the grader makes it: a real verdict, whose full message names the expected value."""
    verdict = judge(CheckSpec("double", 3), {"value": [2, 22, 6]}, {"value": [2, 11, 6]})
    assert verdict.message == "result[1]: expected 22, got 11"  # what must never reach a student
    return TestScore("double", False, 3, verdict.message, withheld=verdict.withheld)


def alice() -> Grade:
    return Grade("alpha", "subs/alice.py", "alice", [
        failed_double(),
        TestScore("scaler", True, 2),
        TestScore("secret_kernel_size", False, 1, HIDDEN_SAYS, hidden=True, detail=HIDDEN_DETAIL),
        TestScore("secret_padding", True, 2, hidden=True),
        TestScore("test_unit_double", False, 0, "AssertionError: double([1]) gave [1]", INLINE),
        TestScore("test_unit_scaler", True, 0, "", INLINE),
    ], error="not implemented yet: scale")


def test_the_feedback_file_says_what_a_student_may_see(tmp_path, tito):
    out = reports(tmp_path / "alpha", "alpha", [alice()])
    result = tito("gradebook", "feedback", str(out))
    assert result.exit_code == 0, result.output
    assert result.output == f"Wrote 1 feedback file for module alpha to {out}/feedback/ (from 1 report in {out}/)\n"
    text = (out / "feedback" / "alice.md").read_text(encoding="utf-8")
    assert text == f"""{MARK}: written by tito gradebook feedback, which replaces it when run again -->

# Module alpha: feedback for alice

Submission: alice\\.py

Module alpha: 4/8 points from 4 graded checks.

```
not implemented yet: scale
```

Feedback (no points): 1/2 of the module's tests passed.

## Graded checks

- **double** (0/3 points): failed

  ```
  not the expected answer (its values differ); got [2, 11, 6]
  ```

- **scaler** (2/2 points): passed
- Hidden checks (2/3 points): 2 graded checks, not shown one by one

## Tests run for feedback (no points)

- **test\\_unit\\_double** (inline test): failed

  ```
  AssertionError: double([1]) gave [1]
  ```

- Passed (1): test\\_unit\\_scaler
"""
    # neither the hidden checks' names nor their messages, nor the expected value of a failed check
    for secret in ("secret", "kernel", "padding", HIDDEN_SAYS, HIDDEN_DETAIL, "expected 22", "22", "result[1]",
                   "index"):
        assert secret not in text


def test_the_feedback_file_says_the_instructors_adjustment_as_the_gradebook_counts_it(tmp_path, tito):
    out = reports(tmp_path / "alpha", "alpha", [alice()])
    (out / "adjustments.csv").write_text("student,points,reason\nalice,2,regrade request\nalice,-0.5,late\n")
    assert tito("gradebook", "feedback", str(out)).exit_code == 0
    lines = (out / "feedback" / "alice.md").read_text(encoding="utf-8").splitlines()
    assert lines[lines.index("Module alpha: 4/8 points from 4 graded checks.") + 2] == (
        "Adjusted by your instructor: +1.5 points (regrade request\\; late), so 5.5/8.")


def test_tests_that_failed_on_functions_not_written_yet_are_counted_by_function():
    """A stub's file listed 115 tests that only said 'TODO: implement ...' (final smoke test): they
    are one line, by function, as tito test says them."""
    unwritten = [TestScore(f"test_{n}", False, 0, f"NotImplementedError: TODO: implement {name}", PYTEST)
                 for n, name in enumerate(["double", "double", "Scaler.__call__"])]
    scores = [TestScore("double", False, 3), *unwritten, TestScore("test_x", False, 0, "AssertionError: 1", PYTEST)]
    text = feedback_markdown(Grade("alpha", "stub.py", "stub", scores))
    assert text.endswith("- **test\\_x** (pytest test): failed\n\n  ```\n  AssertionError: 1\n  ```\n\n"
                         "- Failed on functions not implemented yet (3): double (2), Scaler\\.\\_\\_call\\_\\_ (1)\n")


def test_a_gradebook_edited_by_hand_is_said_not_to_count(tmp_path, tito):
    """An instructor changed a score in gradebook.csv: feedback and final grades come from the
    reports and adjustments.csv, so they say the edit does not count (instructor re-check)."""
    out = reports(tmp_path / "alpha", "alpha", [alice()])
    assert "edited by hand" not in tito("gradebook", "feedback", str(out)).output
    gradebook = out / "gradebook.csv"
    gradebook.write_text(gradebook.read_text().replace("alice,alice.py,4", "alice,alice.py,6"))
    for command in (("feedback", str(out)), ("final", str(out), "--out", str(tmp_path / "final.csv"))):
        said = flat(tito("gradebook", *command).output)
        assert (f"{out}/gradebook.csv was edited by hand since tito wrote it: those edits do not count here (the "
                f"reports do). To change a grade so that it lasts, add a row to {out}/adjustments.csv") in said


def test_a_report_of_an_older_tito_shows_nothing_of_a_failed_checks_message(tmp_path, tito):
    """Reports written before tito kept the withheld message have only the full one, which names
    the expected value (red team 12): a feedback file shows none of it."""
    import json

    out = reports(tmp_path / "alpha", "alpha", [alice()])
    report = json.loads((out / "alice.json").read_text())
    for test in report["tests"]:
        test.pop("withheld", None)
    (out / "alice.json").write_text(json.dumps(report))
    assert tito("gradebook", "feedback", str(out)).exit_code == 0
    text = (out / "feedback" / "alice.md").read_text(encoding="utf-8")
    assert "expected 22" not in text and "result[1]" not in text
    assert "  failed (this report is from an older tito: grade it again to see what differs)" in text


def test_a_hostile_name_and_message_cannot_become_markup():
    markdown_it = pytest.importorskip("markdown_it")
    student = "<img src=x onerror=alert(1)>*bob* [win](http://evil) `x` @all\x1b[31m"
    message = "```\n<script>alert(1)</script>\n````"
    grade = Grade("alpha", f"subs/{student}.py", student,
                  [TestScore("double", True, 3), TestScore("test_<b>bold</b>", False, 0, message, INLINE)],
                  error="ValueError: <img src=y onerror=alert(2)> **[x](http://evil)**")  # quoting the student
    text = feedback_markdown(grade)
    assert "\x1b" not in text
    assert text.splitlines()[2] == ("# Module alpha: feedback for \\<img src\\=x onerror\\=alert\\(1\\)\\>\\*bob\\* "
                                    "\\[win\\]\\(http\\:\\/\\/evil\\) \\`x\\` \\@all\\\\x1b\\[31m")
    html = markdown_it.MarkdownIt("commonmark").render(text)
    assert "<img" not in html and "<script" not in html and "<a " not in html and "<b>" not in html
    assert "<em>" not in html and "<code>x</code>" not in html
    # rendered, the name reads as it is (its escape character as the text \x1b), the message whole in a code block
    assert ("<h1>Module alpha: feedback for &lt;img src=x onerror=alert(1)&gt;*bob* [win](http://evil) `x` "
            "@all\\x1b[31m</h1>") in html
    assert "<pre><code>```\n&lt;script&gt;alert(1)&lt;/script&gt;\n````\n</code></pre>" in html
    assert "<pre><code>ValueError: &lt;img src=y onerror=alert(2)&gt; **[x](http://evil)**\n</code></pre>" in html


def test_feedback_replaces_only_the_files_tito_wrote(tmp_path, tito):
    bob = Grade("alpha", "subs/bob.py", "bob", [TestScore("double", True, 3)])
    out = reports(tmp_path / "alpha", "alpha", [alice(), bob])
    (out / "feedback").mkdir()
    (out / "feedback" / "alice.md").write_text("my own notes\n")
    (out / "feedback" / "bob.md").write_text(MARK + ": an older run -->\n")
    result = tito("gradebook", "feedback", str(out))
    assert result.exit_code == 1
    assert f"Not written, because a file tito did not write is there: {out}/feedback/alice.md." in result.output
    assert (out / "feedback" / "alice.md").read_text() == "my own notes\n"
    assert "feedback for bob" in (out / "feedback" / "bob.md").read_text()


def test_a_report_left_out_of_the_gradebook_gets_no_feedback(tmp_path, tito):
    out = reports(tmp_path / "alpha", "alpha", [alice(), Grade("alpha", "subs/bob.py", "bob", [])], students={"alice"})
    result = tito("gradebook", "feedback", str(out), "--to", str(tmp_path / "back"))
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in (tmp_path / "back").iterdir()) == ["alice.md"]
    assert f"Left out (a report in {out}/, but no row in its gradebook.csv): bob" in result.output



@given(st.text("='x+ ＝-", max_size=4), st.text("='x+ ＝-", max_size=4))
@settings(deadline=None)  # as every property test here: a loaded machine's pause is no failure
@example("=x", "'=x")
@example(" =x", "' =x")
def test_two_values_never_share_a_guarded_cell(first, second):
    """gradebook.csv tells students apart by their guarded cell: '=x' and "'=x" were one."""
    assert (safe_cell(first) == safe_cell(second)) == (first == second)


def test_a_removed_student_whose_cell_looked_like_another_s_stays_left_out(tmp_path, tito):
    """'=x stays in the gradebook, "'=x" was removed from the batch: their report stays left out."""
    grades = [Grade("alpha", f"subs/{name}.py", name, [TestScore("double", True, 3)]) for name in ("=x", "'=x")]
    out = reports(tmp_path / "alpha", "alpha", grades, students={"=x"})
    result = tito("gradebook", "feedback", str(out), "--to", str(tmp_path / "back"))
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in (tmp_path / "back").iterdir()) == ["_x.md"]
    assert f"Left out (a report in {out}/, but no row in its gradebook.csv): '=x" in result.output

def two_modules(tmp_path):
    setup = reports(tmp_path / "setup", "setup", [
        Grade("setup", "s/alice.py", "alice", [TestScore("hello", True, 4), TestScore("name", True, 1)]),
        Grade("setup", "s/=cmd.py", "=cmd", [TestScore("hello", False, 4), TestScore("name", True, 1)]),
    ])
    cnn = reports(tmp_path / "cnn", "cnn", [
        Grade("cnn", "c/alice.py", "alice", [TestScore("conv", True, 6), TestScore("pool", False, 4)]),
        Grade("cnn", "c/bob.py", "bob", [TestScore("conv", True, 6), TestScore("pool", True, 4)]),
    ])
    return setup, cnn


def test_two_modules_combine_into_final_grades(tmp_path, tito):
    setup, cnn = two_modules(tmp_path)
    result = tito("gradebook", "final", str(setup), str(cnn), "--out", str(tmp_path / "final.csv"))
    assert result.exit_code == 0, result.output
    assert f"Wrote {tmp_path / 'final.csv'}: 3 students, modules setup, cnn (an empty cell" in result.output
    one = tito("gradebook", "final", str(cnn), "--out", str(tmp_path / "cnn.csv"))
    assert f"Wrote {tmp_path / 'cnn.csv'}: 2 students, module cnn (an empty cell" in one.output
    # bob has no setup grade: an empty cell, counted as 0; =cmd is guarded as gradebook.csv guards it
    assert (tmp_path / "final.csv").read_bytes() == (
        b"student,setup (of 5),cnn (of 10),total (of 15),percent\r\n"
        b"'=cmd,1,,1,6.7\r\n"
        b"alice,5,6,11,73.3\r\n"
        b"bob,,10,10,66.7\r\n")
    again = tito("gradebook", "final", str(setup), str(cnn), "--weight", "setup=1", "--weight", "cnn=3",
                 "--out", str(tmp_path / "final.csv"))
    assert again.exit_code == 0, again.output  # its own file is replaced
    assert (tmp_path / "final.csv").read_bytes() == (
        b"student,setup (of 5),cnn (of 10),total (of 15),weighted percent\r\n"
        b"'=cmd,1,,1,5.0\r\n"
        b"alice,5,6,11,70.0\r\n"
        b"bob,,10,10,75.0\r\n")


def test_a_roster_student_without_submissions_gets_a_row(tmp_path, tito):
    setup, cnn = two_modules(tmp_path)
    nfd = unicodedata.normalize("NFD", "José")
    (tmp_path / "roster.txt").write_text("# section 1\nbob\n\nzoe\nJosé\nalice\n", encoding="utf-8")
    cnn = reports(cnn, "cnn", [Grade("cnn", f"c/{nfd}.py", nfd,
                                     [TestScore("conv", True, 6), TestScore("pool", True, 4)])])
    result = tito("gradebook", "final", str(setup), str(cnn), "--roster", str(tmp_path / "roster.txt"),
                  "--out", str(tmp_path / "final.csv"))
    assert result.exit_code == 0, result.output
    # the roster's order and spelling (its José is the NFD file name's); =cmd, graded but not on it, comes after it
    assert (tmp_path / "final.csv").read_bytes().decode("utf-8") == (
        "student,setup (of 5),cnn (of 10),total (of 15),percent\r\n"
        "bob,,10,10,66.7\r\n"
        "zoe,,,0,0.0\r\n"
        "José,,10,10,66.7\r\n"
        "alice,5,6,11,73.3\r\n"
        "'=cmd,1,,1,6.7\r\n")
    assert "On the roster, graded in no module (rows of 0): zoe" in result.output
    assert "Graded but not on the roster (rows added after it): =cmd" in result.output


def test_a_roster_name_like_a_graded_one_is_pointed_out(tmp_path, tito):
    """Names match exactly (a file system may hold both alice.py and Alice.py), so a roster's Alice
    is not the graded alice; the instructor is told the two may be one student. So are names the
    same but for accents (walkthrough 35: a roster's Jose for a graded José was not pointed out),
    and names a typo apart; a name not like any other is not."""
    setup, cnn = two_modules(tmp_path)
    (tmp_path / "roster.txt").write_text("Alice\nböb\n=CMD\nzoe\n", encoding="utf-8")
    result = tito("gradebook", "final", str(setup), str(cnn), "--roster", str(tmp_path / "roster.txt"),
                  "--out", str(tmp_path / "final.csv"))
    assert result.exit_code == 0, result.output
    assert "On the roster, graded in no module (rows of 0): Alice, böb, =CMD, zoe" in result.output
    assert "Graded but not on the roster (rows added after it): =cmd, alice, bob" in result.output
    assert ("Names that look alike (letter case, accents, a typo?): Alice (roster) and alice (graded), böb (roster) "
            "and bob (graded), =CMD (roster) and =cmd (graded). If each pair is one student, write the roster's "
            "line as the submission is named and run this command again.") in flat(result.output)
    from tito.grading.final_grades import _look_alikes

    assert _look_alikes(["henri", "Jose", "zoe", "frank"], ["henry", "José", "frank_cnn_dev (1)"]) == [
        ("henri", "henry"), ("Jose", "José")]


def test_final_grades_refuse_what_they_cannot_stand_behind(tmp_path, tito):
    setup, cnn = two_modules(tmp_path)
    (tmp_path / "mine.csv").write_text("my spreadsheet\n")
    refused = tito("gradebook", "final", str(setup), "--out", str(tmp_path / "mine.csv"))
    assert refused.exit_code == 2 and "is not a file of final grades tito wrote" in refused.output
    assert (tmp_path / "mine.csv").read_text() == "my spreadsheet\n"
    weighted = tito("gradebook", "final", str(setup), str(cnn), "--weight", "cnn=2", "--out", str(tmp_path / "f.csv"))
    assert weighted.exit_code == 2 and "--weight gives no weight to setup" in weighted.output
    not_reports = tito("gradebook", "final", str(tmp_path), "--out", str(tmp_path / "f.csv"))
    assert not_reports.exit_code == 2 and f"{tmp_path} has no gradebook.csv" in not_reports.output
    other = reports(tmp_path / "other", "cnn", [Grade("cnn", "c/eve.py", "eve", [TestScore("conv", True, 5)])])
    mixed = tito("gradebook", "final", str(cnn), str(other), "--out", str(tmp_path / "f.csv"))
    assert mixed.exit_code == 2 and f"Module cnn is given by more than one folder: {cnn}, {other}." in mixed.output
    reports(other, "cnn", [Grade("cnn", "c/fay.py", "fay", [TestScore("conv", True, 6)])])
    graded_twice = tito("gradebook", "final", str(other), "--out", str(tmp_path / "f.csv"))
    assert graded_twice.exit_code == 2
    assert "out of 5 and 6 points: they come from different gradings" in graded_twice.output
    assert not (tmp_path / "f.csv").exists()


def test_a_row_waiting_for_a_grade_is_neither_handed_back_nor_final(tmp_path, tito):
    """Red team 14: after a stopped batch (alice's file changed: her report is her old grade) and
    with dave held back (a classmate planted a second file in his name: he has no report), both
    commands exited 0 and handed back alice's old 7/7, while final.csv left dave out unsaid."""
    from tito.grading.gradebook import Gradebook

    cnn = reports(tmp_path / "cnn", "cnn", [Grade("cnn", "c/alice.py", "alice", [TestScore("conv", True, 6)]),
                                            Grade("cnn", "c/bob.py", "bob", [TestScore("conv", False, 6)])])
    Gradebook(cnn, "cnn", pending={"alice": "to be graded again (changed)",
                                   "dave": "not graded now (files dave.py, dave_cnn_dev.py)"}).flush()
    assert [(row["student"], row["score"], row["pending"]) for row in rows_of(cnn).values()] == [
        ("alice", "6", "old grade, to be graded again (changed)"), ("bob", "0", ""),
        ("dave", "", "no grade yet, not graded now (files dave.py, dave_cnn_dev.py)")]
    waiting = ("alice (old grade, to be graded again (changed)); dave (no grade yet, not graded now (files dave.py, "
               "dave_cnn_dev.py))")
    (cnn / "feedback").mkdir()
    (cnn / "feedback" / "notes.md").write_text("mine\n")  # walkthrough 35: only the first problem was said
    (cnn / "feedback" / "bob.md").write_text("my own notes for bob\n")
    handed = tito("gradebook", "feedback", str(cnn))
    assert handed.exit_code == 1
    assert (f"Not written, because a file tito did not write is there: {cnn}/feedback/bob.md. Not written for the "
            "students whose row in gradebook.csv waits for a grade (its pending column), so that no one is handed an "
            f"old grade: {waiting}.") in flat(handed.output), handed.output
    assert "Move those files away" in handed.output and "Run the same tito grade command" in handed.output
    assert sorted(p.name for p in (cnn / "feedback").iterdir()) == ["bob.md", "notes.md"]
    assert (cnn / "feedback" / "bob.md").read_text() == "my own notes for bob\n"
    final = tito("gradebook", "final", str(cnn), "--out", str(tmp_path / "f.csv"))
    assert final.exit_code == 1
    assert ("Waiting for a grade (the pending column of gradebook.csv), so their cell in the CSV is an old grade or "
            f"empty: cnn: {waiting.replace('; dave', '; cnn: dave')}.") in flat(final.output)
    assert "In " not in final.output  # dave's row is waiting, not a row without its report
    # re-check: a pending cell emptied by hand (a spreadsheet tidied up) still waits
    book = cnn / "gradebook.csv"
    book.write_text(book.read_text().replace("old grade, to be graded again (changed)", ""))
    again = tito("gradebook", "final", str(cnn), "--out", str(tmp_path / "f.csv"))
    assert again.exit_code == 1 and "empty: cnn: alice (old grade, to be graded again (changed))" in flat(again.output)


def test_a_grade_the_grader_failed_is_written_but_not_final(tmp_path, tito):
    setup, cnn = two_modules(tmp_path)
    reports(cnn, "cnn", [Grade("cnn", "c/eve.py", "eve", [TestScore("conv", False, 6, "not run"),
                                                          TestScore("pool", False, 4, "not run")],
                               "grading failed (OSError: disk full); it scores 0", incomplete=True)])
    result = tito("gradebook", "final", str(setup), str(cnn), "--out", str(tmp_path / "f.csv"))
    assert result.exit_code == 1
    assert "Not graded completely, so their 0 in the CSV is not final: cnn: eve." in result.output
    assert "eve,,0,0,0.0\r\n" in (tmp_path / "f.csv").read_bytes().decode()


def test_a_folder_a_grade_is_writing_is_neither_handed_back_nor_final(tmp_path, tito):
    """Red team 33: while a tito grade --regrade was starting (it holds the folder, but writes the
    pending rows only once it has planned), tito gradebook feedback wrote everyone's feedback from
    the grades about to be replaced, exit 0; later in that batch it said to run that very tito grade
    again. A grade that crashed (killed, its lock never released by hand) blocks nothing."""
    import signal
    import subprocess
    import sys

    from tito.grading.state import locked

    cnn = reports(tmp_path / "cnn", "cnn", [Grade("cnn", "c/alice.py", "alice", [TestScore("conv", True, 6)])])
    busy = f"Error: A tito grade is writing to {cnn} right now: run this after it ends."
    with locked(cnn):
        handed = tito("gradebook", "feedback", str(cnn))
        final = tito("gradebook", "final", str(cnn), "--out", str(tmp_path / "f.csv"))
    assert handed.exit_code == 1 and busy in flat(handed.output)
    assert final.exit_code == 1 and busy in flat(final.output)
    assert not (cnn / "feedback").exists() and not (tmp_path / "f.csv").exists()
    # a grade killed while it held the folder: its lock ends with its process
    holder = subprocess.Popen([sys.executable, "-c", "import sys, time\nfrom tito.grading.state import locked\n"
                               "with locked(sys.argv[1]):\n    print('held', flush=True)\n    time.sleep(600)",
                               str(cnn)], stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline() == "held\n"
    assert tito("gradebook", "feedback", str(cnn)).exit_code == 1  # held by another process too
    holder.send_signal(signal.SIGKILL)
    holder.wait()
    holder.stdout.close()
    handed = tito("gradebook", "feedback", str(cnn))
    assert handed.exit_code == 0 and sorted(p.name for p in (cnn / "feedback").iterdir()) == ["alice.md"]
