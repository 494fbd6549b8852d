"""Inside a learning platform's container: grade one submission into the platform's ``results.json``.

The autograder bundle (``tito.grading.bundle``) runs, as root, from the unpacked grading's
``template/`` (so this tito is the bundle's)::

    python3 -m tito.grading.hosted gradescope ROOT            # run_autograder, for each submission
    python3 -m tito.grading.hosted prairielearn ROOT GRADE    # run_prairielearn, PrairieLearn's entrypoint

``ROOT`` (``/autograder``, or ``AUTOGRADER_ROOT``) holds the bundle in ``source/``. Gradescope
puts the student's files in ``ROOT/submission`` and reads ``ROOT/results/results.json``;
PrairieLearn puts them in ``GRADE/student`` (``/grade``) and reads ``GRADE/results/results.json``.
In order:

1. ``ROOT`` (and ``GRADE``) are made 0700: the expected results, the students' metadata and
   the results folder are out of the sandbox user's reach, whatever modes the platform gave them
   (``GRADE``, PrairieLearn's folder, gets its mode back once the result is written and the
   sandbox has ended; ``ROOT``, the bundle's, stays private);
2. the sandbox is chosen (``TITO_SANDBOX``, default ``auto``: bubblewrap if user namespaces
   work, else uid-drop, the usual case in both platforms' containers);
3. the submission is found (``tito.grading.submission.find_submission``): ``<module>_dev.py`` or ``.ipynb``, of both
   the one ``tito grade`` would grade (``submission.graded_of``, with the released pair the
   bundle keeps), else the only source file;
4. it is graded like one ``tito grade`` submission, against the bundle's prepared folder, and
   the grade is written in the platform's format (``tito.grading.formats``), atomically, its
   top-level output (Gradescope) or message (PrairieLearn) ending with the file graded.

Two kinds of failure, told apart:

* **the submission's** (no module file, two candidates, an unreadable file): a result saying
  why, for the student — Gradescope's score 0, PrairieLearn's ``gradable: false`` (the attempt
  is not counted);
* **the grader's** (no sandbox, a sandbox that could read the grading, a bug of tito's, a disk
  nearly full before the grading started): no ``results.json`` at all and exit code 1, with the
  reason on stdout for the instructor. Both platforms then show the submission as failed to
  grade, to be graded again once fixed, and no 0 is recorded that the student did not earn.

The container grades this one submission only, so a disk it fills, or memory it runs out of (the
kernel's OOM killer ending the grading: ``tito.grading.grader.out_of_memory_killed``), is its own
doing: that grade is final and counted, with the reason (``final_in_its_container``).
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path

from tito.files import remove_tree
from tito.grading.data import showable
from tito.grading.submission import NotGraded, find_submission


class GraderFailed(Exception):
    """Why the grader could not grade anything here (for the instructor; no result is written)."""

    def __init__(self, reason: str, advice: str = "The grader failed, not the submission: fix the autograder (see "
                 "its README.md) and grade this submission again."):
        super().__init__(reason)
        self.advice = advice


@dataclass(frozen=True)
class Platform:
    """Where one platform's container keeps the submission and wants the result."""

    name: str  # a format of tito.grading.formats
    root: Path  # the bundle is in root/source
    submission: Path
    results: Path  # the folder of results.json
    private: tuple[Path, ...]  # made 0700 before any student code runs (kept_private)


def platform(argv: list[str]) -> Platform:
    """The platform named by ``run_autograder`` / ``run_prairielearn``'s arguments."""
    name, root = argv[1], Path(argv[2]).resolve()
    if name == "gradescope":
        return Platform(name, root, root / "submission", root / "results", (root,))
    if name == "prairielearn":
        grade = Path(argv[3]).resolve()
        return Platform(name, root, grade / "student", grade / "results", (root, grade))
    raise GraderFailed(f"unknown platform {name!r}: gradescope or prairielearn")


@contextlib.contextmanager
def kept_private(place: Platform):
    """Make ``place.private`` 0700 while grading; the platform's own folders (not the bundle's
    ``root``, which stays private) get their modes back at the end."""
    lent = {folder: folder.stat().st_mode & 0o7777 for folder in place.private if folder != place.root}
    try:
        for folder in place.private:
            os.chmod(folder, 0o700)
        yield
    finally:
        for folder, mode in lent.items():
            os.chmod(folder, mode)


def grade(place: Platform):
    """The submission's Grade and the note on which file was graded (NotGraded, GraderFailed)."""
    from tito.grading.grader import grade_safely, new_scratch
    from tito.grading.sandbox import BACKENDS, Limits, detect
    from tito.grading.slots import job_slot
    from tito.grading.submission import SubmissionError, read_bytes
    from tito.grading.workspace import Prepared

    config = json.loads((place.root / "source" / "autograder.json").read_text(encoding="utf-8"))
    prepared = Prepared.load(place.root / "source" / "grading")
    choice = os.environ.get("TITO_SANDBOX", "auto")
    if choice not in ("auto", *BACKENDS):  # never "none": a platform grades hostile code unattended
        raise GraderFailed(f"TITO_SANDBOX must be auto, {' or '.join(BACKENDS)}, got {choice!r}")
    sandbox, reasons = detect(choice)
    if sandbox is None:
        raise GraderFailed(f"no sandbox can run the submission here ({'; '.join(reasons)})")
    refusal = sandbox.refusal(list(place.private))
    if refusal:
        raise GraderFailed(f"the {sandbox.name} sandbox could read the grading ({refusal})")
    submission, note = find_submission(place.submission, prepared.module, config.get("released"))
    try:
        data = read_bytes(submission)
    except SubmissionError as exc:
        raise NotGraded(f"Cannot read your submission: {exc}.") from None
    scratch = new_scratch(prepared.module)
    try:
        with job_slot() as slot:
            result = grade_safely(data, submission.name, "submission", prepared, sandbox,
                                  Limits(seconds=float(config["timeout"])), scratch, slot, showable(submission.name))
    finally:
        remove_tree(scratch)
    return final_in_its_container(result), note, config


def final_in_its_container(result):
    """The grade of the one submission a platform's container grades, where nothing else runs beside
    it: a submission that fills the disk, or runs the container out of memory, did so itself
    (else it could make its attempt uncounted at will, red team 35), so those grades are final.
    GraderFailed when the grading is still incomplete: the grader's failure, not the submission's
    (the disk was nearly full from the start, another tito ran it)."""
    from tito.grading.report import out_of_memory_in_its_container
    from tito.grading.state import final_when_it_filled_the_disk

    result.sandbox["alone"] = True
    if result.incomplete and result.sandbox.get("out_of_memory"):
        result.incomplete = False
        result.error = out_of_memory_in_its_container(result.error)
    final_when_it_filled_the_disk(result)
    if result.incomplete:
        raise GraderFailed(result.error)
    return result


def result_of(place: Platform, graded, note: str, config: dict) -> dict:
    """The platform's results.json for a grade, with the note naming the file graded and the bundle's
    archive sha256 (which names the seed the checks' inputs came from)."""
    from tito.grading.formats import render

    result = render(graded, place.name)
    key = "output" if place.name == "gradescope" else "message"
    if result.get("gradable", True):  # an attempt PrairieLearn does not count graded nothing
        result[key] = "\n".join(filter(None, [result[key], note]))
    if place.name == "gradescope":
        result["extra_data"]["grading"] = config["sha256"]
    else:
        result["grading"] = config["sha256"]
    return result


def not_graded(place: Platform, reason: str) -> dict:
    """The result of a submission that could not be graded, saying why."""
    from tito.grading.formats import gradescope_not_graded, prairielearn_not_graded

    return gradescope_not_graded(reason) if place.name == "gradescope" else prairielearn_not_graded(reason)


def main(argv: list[str]) -> int:
    from tito.grading.gradebook import write_json

    with contextlib.ExitStack() as private:  # until the sandbox has ended and the result is written, if any
        try:
            place = platform(argv)
            (place.results / "results.json").unlink(missing_ok=True)  # nothing stale is read as this grade
            private.enter_context(kept_private(place))
            try:
                graded, note, config = grade(place)
                result = result_of(place, graded, note, config)
            except NotGraded as reason:
                result = not_graded(place, str(reason))
        except GraderFailed as failure:
            print(f"tito autograder: not graded, no result written: {failure}. {failure.advice}")
            return 1
        except Exception:  # noqa: BLE001 - a bug of tito's: no result, the traceback for the instructor
            import traceback

            traceback.print_exc(file=sys.stdout)
            print("tito autograder: not graded, no result written: the grader failed (the traceback above), not the "
                  "submission; grade it again once fixed.")
            return 1
        place.results.mkdir(mode=0o755, exist_ok=True)
        write_json(result, place.results / "results.json")
    summary = result.get("output") or result.get("message") or ""
    first_line = showable(summary.splitlines()[0]) if summary else ""
    score = "not gradable" if result.get("gradable") is False else result.get("score")
    print(f"{place.name}: score {score}: {first_line}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
