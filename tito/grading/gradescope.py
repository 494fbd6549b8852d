"""Inside Gradescope's container: grade ``/autograder/submission`` into ``results/results.json``.

``run_autograder`` (see ``tito.grading.bundle``) runs ``python3 -m tito.grading.gradescope ROOT``
as root, from the unpacked grading's ``template/`` (so this tito is the bundle's). In order:

1. ``ROOT`` (``/autograder``, or ``AUTOGRADER_ROOT``) is made 0700: the expected results, the
   student's metadata and the results folder are out of the sandbox user's reach, whatever
   modes Gradescope gave them;
2. the sandbox is chosen (``TITO_SANDBOX``, default ``auto``: bubblewrap if user namespaces
   work, else uid-drop, the usual case there); without one, or if its user could read
   ``ROOT``, nothing of the student's runs and the results say why;
3. the submission is found: ``<module>_dev.py`` or ``.ipynb`` (the newer if both), else the only
   ``.py`` / ``.ipynb`` file;
4. it is graded like one ``tito grade`` submission, against the bundle's prepared folder, and
   the grade is written in Gradescope's format (``tito.grading.formats``), atomically.

Whatever fails, a ``results.json`` is written (score 0, the reason in ``output``), so the
student sees a reason instead of "The autograder failed to execute correctly".
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from tito.files import remove_tree
from tito.grading.data import showable
from tito.grading.submission import SUFFIXES, source_names

SUBMISSION_LIMIT = 200  # files looked at in the submission folder


class NotGraded(Exception):
    """Why this submission could not be graded (shown to the student as the output)."""


def find_submission(folder: Path, module: str) -> Path:
    """The file to grade in a submission folder (NotGraded when there is none, or no single one)."""
    files = [p for p in sorted(folder.rglob("*"))[:SUBMISSION_LIMIT]
             if p.is_file() and not any(part.startswith((".", "__")) for part in p.relative_to(folder).parts)]
    named = [p for p in files if p.name in source_names(module)]
    if len(named) > 1:  # upload times decide nothing: say so rather than guess
        raise NotGraded(f"Submit one file: this submission has {', '.join(str(p.relative_to(folder)) for p in named)}, "
                        f"and the autograder cannot tell which is your work.")
    sources = named or [p for p in files if p.suffix.lower() in SUFFIXES]
    if len(sources) == 1:
        return sources[0]
    found = ", ".join(str(p.relative_to(folder)) for p in files[:10]) or "no files"
    raise NotGraded(f"Submit your {module}_dev.py (or {module}_dev.ipynb) for module {module}; "
                    f"this submission has {found}.")


def grade(root: Path):
    """The submission's Grade (NotGraded when it could not be graded)."""
    from tito.grading.grader import grade_safely, new_scratch
    from tito.grading.sandbox import Limits, detect
    from tito.grading.slots import job_slot
    from tito.grading.submission import SubmissionError, read_bytes
    from tito.grading.workspace import Prepared

    os.chmod(root, 0o700)
    config = json.loads((root / "source" / "autograder.json").read_text(encoding="utf-8"))
    prepared = Prepared.load(root / "source" / "grading")
    sandbox, reasons = detect(os.environ.get("TITO_SANDBOX", "auto"))
    if sandbox is None:
        raise NotGraded("The autograder has no sandbox to run your code in, so it did not run it "
                        f"({'; '.join(reasons)}). Please tell your instructor.")
    refusal = sandbox.refusal([root])
    if refusal:
        raise NotGraded(f"The autograder's {sandbox.name} sandbox could read the grading ({refusal}), so it did "
                        "not run your code. Please tell your instructor.")
    submission = find_submission(root / "submission", prepared.module)
    try:
        data = read_bytes(submission)
    except SubmissionError as exc:
        raise NotGraded(f"Cannot read your submission: {exc}.") from None
    scratch = new_scratch(prepared.module)
    try:
        with job_slot() as slot:
            return grade_safely(data, submission.name, "submission", prepared, sandbox,
                                Limits(seconds=float(config["timeout"])), scratch, slot, showable(submission.name))
    finally:
        remove_tree(scratch)


def main(argv: list[str]) -> int:
    from tito.grading.formats import gradescope
    from tito.grading.gradebook import write_json

    root = Path(argv[1] if len(argv) > 1 else os.environ.get("AUTOGRADER_ROOT", "/autograder")).resolve()
    code = 0
    try:
        result = gradescope(grade(root))
    except NotGraded as reason:
        result = {"score": 0, "output": str(reason), "tests": []}
    except Exception as exc:  # noqa: BLE001 - the student still gets a result, the instructor the traceback
        import traceback

        traceback.print_exc()
        result = {"score": 0, "output": f"The autograder failed ({type(exc).__name__}: {exc}). Please tell your "
                                        "instructor.", "tests": []}
        code = 1
    (root / "results").mkdir(mode=0o755, exist_ok=True)
    write_json(result, root / "results" / "results.json")
    print(f"score {result['score']}: {showable(result['output'].splitlines()[0]) if result['output'] else ''}")
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv))
