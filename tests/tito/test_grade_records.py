"""A term of batch grading: students are named alike across modules and typings, and every file
of a student's folder is graded or named. Nothing here grades in a sandbox."""

from types import SimpleNamespace

import pytest
from tiny_course import ALPHA_DEV

from tito.grading.state import plan
from tito.grading.submission import SubmissionError, find_submissions, read_bytes


def test_students_are_named_alike_whatever_the_typing_the_module_or_the_archive(tmp_path):
    folder = tmp_path / "subs"
    for name in ("__MACOSX", "sam", "peggy", ".git"):
        (folder / name).mkdir(parents=True)
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
        ("Jos\u00e9", "Jose\u0301.py"), ("empty", "empty.py"), ("peggy", "peggy/alpha_dev.ipynb"), ("quinn", "quinn_alpha_dev.py"),
        ("sam", "sam/my_solution.py")]
    assert notes == ["left out of peggy's submission: peggy/draft.txt",
                     "sam: graded sam/my_solution.py, the only module source in sam/ (not named alpha_dev.py)"]
    assert [s for s, _, _ in plan(found, tmp_path / "out", "alpha", "F", regrade=("Jose\u0301",)).todo] == [
        "Jos\u00e9", "empty", "peggy", "quinn", "sam"]  # all new; the NFD name is known
    with pytest.raises(SubmissionError, match=r"^empty.py is empty \(only 3 bytes of white space\); nothing was "
                                              r"submitted in it$"):
        read_bytes(folder / "empty.py", "alpha")
