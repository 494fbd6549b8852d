"""Grading you can trust: a sandbox per submission, and a verdict it cannot forge.

How ``tito grade`` turns a student's ``cnn_dev.py`` (or ``.ipynb``) into points:

1. **Prepare, once per batch** (``workspace.prepare``). From the instructor's course, a folder
   that needs nothing else: the *template* the student's code will see (tito, the tests, the
   package's hand-written parts, the prerequisites exported from their reference solutions —
   never the graded module's solution, and checked for its solution lines), and the
   *expected results*: the module's graded checks (``tests/NN_name/checks.py``, points in
   ``module.yaml``) run on the reference build in a trusted process, on inputs drawn from a
   secret seed chosen for this run. Calibration runs them on the released stub too: a check the
   stub already passes earns 0.
2. **Run, once per submission, in a sandbox** (``sandbox``, ``backends``, ``inside``). One
   sandboxed process tree under one wall-clock deadline reads the submission (BOM, CRLF,
   notebooks: parsing is untrusted work too), exports it, runs the checks on the student's
   build (``probe``) and writes what they return as plain data (``data``: JSON + uncompressed
   .npz), then runs the inline tests and pytest for feedback. It sees no solution, no network
   and nothing writable but its private scratch; it dies whole at the deadline.
3. **Judge, outside** (``verdict``, ``grader``). The grader reads the returned data with
   limits (no pickles, no links, sizes checked before loading) and compares it with the
   expected results, with tolerances. Only this decides the points. Whatever the submission
   does inside — monkeypatching the harness or pytest, forging files — changes only the data
   it returns, and the feedback tests, which carry no points.
4. **Record, as it goes** (``gradebook``, ``batch``, ``state``, ``changes``). One JSON report
   per student, written atomically when known, with the hash of the graded bytes and of the
   grading; ``gradebook.csv`` rebuilt from them (spreadsheet-safe), with the instructor's
   ``adjustments.csv`` added in and a hand-edited CSV kept aside, never overwritten. One bad
   submission scores 0 with the reason; an interrupted or killed batch loses nothing already
   graded, and the same command continues: it grades only what is new or changed (``--regrade``
   forces), says which part of the grading changed, and re-scores without running when only
   points did (``changes``).
5. **Anywhere** (``executors``, ``archive``, ``dask_worker``). A batch runs N at a time here,
   or on a dask cluster that receives the prepared folder as one content-hashed archive.
   ``formats`` writes a grade as Gradescope's or PrairieLearn's result file, and ``bundle`` /
   ``hosted`` make and run the autograders of both, which carry no reference solution.
6. **Hand back** (``results``, ``student_feedback``, ``final_grades``: ``tito gradebook``). A
   Markdown file per student with what a student may see (withheld messages, hidden checks as
   points), and the final grades of several modules in one CSV.

``grade_submission(bytes, filename, student, prepared, sandbox, limits, scratch)`` is the pure
step in the middle: a prepared folder (buildable once, shippable) and a submission in, a
``Grade`` out.
"""

from tito.grading.batch import grade_batch, grade_folder
from tito.grading.grader import Grader, grade_submission
from tito.grading.report import Grade, TestScore
from tito.grading.sandbox import detect
from tito.grading.submission import find_submissions, restore_reference_tests
from tito.grading.workspace import Prepared, prepare

__all__ = ["Grade", "Grader", "Prepared", "TestScore", "detect", "find_submissions", "grade_batch", "grade_folder",
           "grade_submission", "prepare", "restore_reference_tests"]
