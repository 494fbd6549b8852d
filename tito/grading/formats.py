"""A grade as the result file of a learning platform: tito's own JSON, Gradescope's, PrairieLearn's.

* ``tito``: ``Grade.to_json()`` — everything, including what the sandbox reported; the
  reports of a batch are always this (they are its resumable state).
* ``gradescope``: the ``results.json`` of Gradescope's autograder specification,
  https://gradescope-autograders.readthedocs.io/en/latest/specs/ ("Output format"). Top level
  ``score``, ``execution_time`` (seconds), ``output``, ``stdout_visibility``, ``extra_data``,
  ``tests``; each test ``name``, ``score``, ``max_score``, ``status`` (``passed``/``failed``),
  ``output``, ``tags`` and ``visibility`` (``visible``; a check marked ``hidden`` in
  module.yaml is ``after_published``: its result shows once the instructor publishes grades).
  Every output and name is plain ``text`` (``output_format``, ``test_output_format``,
  ``test_name_format``, the defaults of each test's own ``output_format`` and ``name_format``):
  Gradescope's default, ``simple_format``, reads them as HTML, so ``<class 'int'>`` or a
  student's ``<b>`` in a message would be taken for markup.
* ``prairielearn``: the ``results.json`` of PrairieLearn's external grading,
  https://github.com/PrairieLearn/PrairieLearn/blob/master/docs/externalGrading.md ("Grading
  results"). ``gradable``, ``score`` in [0, 1], ``message``, ``output``, ``tests`` with
  ``name``, ``description``, ``points``, ``max_points``, ``message``, ``output``; and tito's own
  ``module`` and ``student`` (Gradescope's file has them in ``extra_data``), so that ``--json``
  never replaces another student's file (``named_in``). A submission
  that cannot be read or exported (a syntax error) is ``gradable: false`` with its
  ``format_errors``: PrairieLearn then does not count the attempt, as its documentation
  describes for input that does not compile. PrairieLearn shows every test at once and has no
  "after published": the checks marked ``hidden`` are folded into one test, "hidden checks",
  with their total points only (the score gives that total away anyway), never their names
  or messages. The file stays under PrairieLearn's 1 MB: past it, the longest messages are cut.

The checks carry the points; the inline and pytest tests come after them as feedback worth 0.
On both platforms a check's message says whether the answer's structure or its values differ and what came, never
where it differs or what was expected (``answer_withheld``): every attempt there is graded on the
bundle's fixed inputs.
"""

from __future__ import annotations

import json

from tito.console import counted
from tito.grading.report import CHECK, NOT_EXPORTED, SCORES_0, UNREADABLE, Grade, TestScore

FORMATS = ("tito", "gradescope", "prairielearn")
UNGRADABLE = (UNREADABLE, NOT_EXPORTED)  # how the reason starts when nothing could be graded
FEEDBACK = "feedback: "  # before the names of tests that carry no points


def render(grade: Grade, form: str) -> dict:
    return {"tito": Grade.to_json, "gradescope": gradescope, "prairielearn": prairielearn}[form](grade)


def summary(grade: Grade, until_published: bool = False) -> str:
    """The lines shown above the tests: the score, and why points were lost as a whole.
    ``until_published``: the score of the visible checks only, so that it tells nothing of the
    hidden ones before grades are published (Gradescope)."""
    hidden = [t for t in grade.checks if t.hidden]
    if until_published and hidden:
        visible = [t for t in grade.checks if not t.hidden]
        points = sum(t.points for t in hidden)
        lines = [f"Module {grade.module}: {sum(t.earned for t in visible)}/{sum(t.points for t in visible)} points "
                 f"from {counted(len(visible), 'visible check')}; the hidden checks ({counted(points, 'point')}) "
                 "show when grades are published."]
    else:
        lines = [f"Module {grade.module}: {grade.score}/{grade.max_score} points from "
                 f"{counted(len(grade.checks), 'graded check')}."]
    if grade.error:
        lines.append(grade.error)
    if grade.feedback:
        passed = sum(t.passed for t in grade.feedback)
        lines.append(f"Feedback (no points): {passed}/{len(grade.feedback)} of the module's tests passed.")
    return "\n".join(lines)


def _name(test: TestScore) -> str:
    return test.name if test.kind == "check" else FEEDBACK + test.name


def answer_withheld(test: TestScore) -> str:
    """A test's message on a platform: a check's says what differs and what came, never where or
    what was expected (``tito.grading.verdict``); feedback tests keep their messages."""
    return test.shown_on_platforms if test.kind == CHECK else test.message


GRADESCOPE_TEXT = {"output_format": "text", "test_output_format": "text", "test_name_format": "text"}


def gradescope_not_graded(reason: str) -> dict:
    """Gradescope's result for a submission it could not grade: a 0 and the reason."""
    return {"score": 0, "output": reason, **GRADESCOPE_TEXT, "tests": []}


def gradescope(grade: Grade) -> dict:
    tests = [{"name": _name(t), "score": t.earned, "max_score": t.points,
              "status": "passed" if t.passed else "failed", "output": answer_withheld(t), "tags": [t.kind],
              "visibility": "after_published" if t.hidden else "visible"}
             for t in grade.tests]
    return {"score": grade.score, "execution_time": round(grade.seconds),
            "output": summary(grade, until_published=True),
            **GRADESCOPE_TEXT, "stdout_visibility": "hidden", "tests": tests,
            "extra_data": {"module": grade.module, "student": grade.student, "sha256": grade.sha256,
                           "sandbox": grade.sandbox.get("backend", "")}}


PRAIRIELEARN_MAX_BYTES = 1_000_000  # "this file should be limited to 1 MB"
HIDDEN_CHECKS = "hidden checks"


def prairielearn(grade: Grade) -> dict:
    shown = [t for t in grade.tests if not (t.kind == "check" and t.hidden)]
    hidden = [t for t in grade.tests if t.kind == "check" and t.hidden]
    tests = [{"name": _name(t), "description": "graded check" if t.kind == "check" else f"{t.kind} test (no points)",
              "points": t.earned, "max_points": t.points, "message": answer_withheld(t), "output": ""}
             for t in shown]
    if hidden:
        position = sum(1 for t in shown if t.kind == "check")  # after the visible checks, before the feedback
        tests.insert(position, {"name": HIDDEN_CHECKS, "description": (f"{counted(len(hidden), 'graded check')} whose "
                                + ("name and result are" if len(hidden) == 1 else "names and results are")
                                + " not shown"), "points": sum(t.earned for t in hidden),
                                "max_points": sum(t.points for t in hidden), "message": "", "output": ""})
    result = {"gradable": True, "score": grade.score / grade.max_score if grade.max_score else 0.0,
              "message": summary(grade), "output": "", "tests": tests, "module": grade.module, "student": grade.student}
    if grade.error.startswith(UNGRADABLE):
        reason = next((grade.error[:-len(end)] for end in SCORES_0 if grade.error.endswith(end)), grade.error)
        # not counted, so it carries nothing but the reason: feedback in an uncounted attempt would
        # be a free run of the tests, as often as a student liked
        result.update(prairielearn_not_graded(reason))
    return _within(result, PRAIRIELEARN_MAX_BYTES)


def named_in(result: dict) -> tuple:
    """(student, module) a results file of any of FORMATS names, None for what it does not name."""
    named = result.get("extra_data") if isinstance(result.get("extra_data"), dict) else result
    return named.get("student"), named.get("module")


def prairielearn_not_graded(reason: str) -> dict:
    """PrairieLearn's result for a submission it does not count: the reason, and nothing else."""
    return {"gradable": False, "format_errors": [reason], "message": reason, "tests": []}


def _within(result: dict, limit: int) -> dict:
    """``result`` with its JSON at most ``limit`` bytes: its tests' messages cut to one length,
    halved until it fits (short messages are left whole); then, if it still does not (hundreds of
    feedback tests with long names, which the submission chose), the feedback tests
    that do not fit, last first, replaced by one line saying how many. Checks are always kept."""
    def size(value) -> int:
        return len(json.dumps(value, indent=2, ensure_ascii=False).encode("utf-8", "surrogatepass"))

    cut = " [cut: the results file is limited to 1 MB]"
    cap = max((len(t["message"]) for t in result["tests"]), default=0)
    while size(result) > limit and cap > 100:
        cap //= 2
        for test in result["tests"]:
            if len(test["message"]) > cap + len(cut):
                test["message"] = test["message"][:cap] + cut
    feedback = [t for t in result["tests"] if t["name"].startswith(FEEDBACK)]
    shown, note = len(feedback), {"name": FEEDBACK + "more tests", "description": "", "points": 0, "max_points": 0,
                                  "message": "", "output": ""}
    while size(result) > limit and shown:
        excess = size(result) - limit + size(note) + 100
        while excess > 0 and shown:
            shown -= 1
            excess -= size(feedback[shown])
        gone = {id(t) for t in feedback[shown:]} | {id(note)}
        note["message"] = (f"{counted(len(feedback) - shown, 'feedback test')} not shown: the results file is "
                           "limited to 1 MB")
        result["tests"] = [t for t in result["tests"] if id(t) not in gone] + [note]
    return result
