"""The verdict: the student's results against the reference's, compared in the grader.

Both sides are records (``tito.grading.data``): the reference's computed by the grader
outside any sandbox, the student's read back from the sandbox. A check passes when

* the reference raised: the student raised the same exception type (or a subclass of it), whose
  message says the check's ``message`` words if it has some, and names the words the check
  drew from its seed (``names`` of the reference's record: ``tito.grading.data.naming``), and,
  when the reference's record holds the function's value on a valid input (``accepted``:
  ``tito.grading.data.refuses``), the student's holds the same value, compared as below;
* the reference returned a value: the student returned the same structure — the same dict
  keys, sequence lengths (a list and a tuple are alike), shapes, strings, booleans and
  integers exactly, and floats within ``rtol``/``atol`` (NaN equals NaN); the strings of the
  keys the check's ``match`` names instead match its regular expressions.

Float tolerances default by precision: ``rtol=1e-6, atol=1e-9`` when both sides are float64,
``rtol=1e-4, atol=1e-5`` when either is float32 or smaller; a check may set its own.

A verdict says a failed check's message twice. ``message`` says where the value differs, what was
expected there and what came: the instructor's report and ``tito grade``'s feedback. ``withheld``
says only whether the value's structure (kinds, keys, lengths, shapes, anywhere in it) or only
its values differ, and what came, never where or what was expected: what a learning platform
shows (``tito.grading.formats``). A platform grades every attempt on its bundle's fixed inputs,
so "result[1]: expected 11, got 9", or even "at index (1,)", would let a student find a small
answer (six ints) one element per attempt with nothing implemented; and so would any word that
depends on which elements are right (ASPECTS).
"""

from __future__ import annotations

import math
import re
from typing import NamedTuple

from tito.console import counted
from tito.grading.checks import CheckSpec

HINT = " (hint: "  # how a failed check's message ends when its spec has a hint
SHORT = 120  # characters of a value shown in a message
TIGHT = (1e-6, 1e-9)
LOOSE = (1e-4, 1e-5)


class Mismatch(Exception):
    """Where and how a value differs from the expected one (``str()``); ``answer``: whether that
    says anything of the expected value (a pattern a student's string must match says nothing,
    and ``shown`` says even less: not the pattern, which is no secret but is what was expected)."""

    def __init__(self, said: str, answer: bool = True, shown: str | None = None):
        super().__init__(said)
        self.answer = answer
        self.shown = said if shown is None else shown  # what a platform shows when it is no answer


# what a withheld message says differs: never which element, key or index, and never decided by
# comparing values, so that no element's rightness shows (else, with a wrong-kind value
# placed after a guess, "kind" against "values" would tell whether the guess was right)
ASPECTS = {"structure": "its structure differs: a kind, key, length or shape", "values": "its values differ"}


class Verdict(NamedTuple):
    passed: bool
    message: str  # where it differs, what was expected and what came ('' when passed)
    withheld: str  # the message without where or what was expected: what a platform shows


def judge(spec: CheckSpec, expected: dict, actual: dict | None) -> Verdict:
    """The verdict of one check. ``actual`` is None when the sandbox wrote nothing. Both messages
    of a failed check end with the check's ``hint``, if it has one."""
    verdict = _verdict(spec, expected, actual)
    if verdict.passed or not spec.hint or actual is None:
        return verdict
    return Verdict(False, f"{verdict.message}{HINT}{spec.hint})", f"{verdict.withheld}{HINT}{spec.hint})")


def without_hint(message: str) -> tuple[str, str]:
    """(what a failed check's message says, its hint or "")."""
    said, _, hint = message.partition(HINT)
    return said, hint[:-1] if hint.endswith(")") else hint


def _verdict(spec: CheckSpec, expected: dict, actual: dict | None) -> Verdict:
    if actual is None:
        return _said(False, "not run")
    if "unplain" in actual and "raised" not in expected:
        return _said(False, f"returned {actual['unplain']}, not plain data")
    if "raised" in expected:
        return _refusal(spec, expected, actual)
    if "raised" in actual:
        got = actual["raised"]
        return _said(False, f"{got['type']}: {got['message']}")
    want, got = expected["value"], actual["value"]
    try:
        want, got = _matched(spec, want, got)
        _compare(want, got, spec, "result")
    except Mismatch as exc:
        return _differs(exc, want, got)
    return _said(True, "")


def _said(passed: bool, message: str) -> Verdict:
    """A verdict whose message tells nothing of the expected value: the platforms show it whole."""
    return Verdict(passed, message, message)


def _differs(mismatch: Mismatch, expected, got, before: str = "") -> Verdict:
    """A failed verdict from ``mismatch``; ``got``: the student's whole value, the only one the
    withheld message shows, with whether its structure or only its values differ from ``expected``."""
    said = f"{before}{mismatch}"
    if not mismatch.answer:
        return Verdict(False, said, f"{before}{mismatch.shown}")
    aspect = "values" if _same_structure(expected, got) else "structure"
    return Verdict(False, said, f"{before}not the expected answer ({ASPECTS[aspect]}); got {_gist(got)}")


def _same_structure(expected, actual) -> bool:
    """Whether ``actual`` has ``expected``'s kinds, keys, lengths and shapes, all of them: no value
    is compared (see ASPECTS)."""
    kind, other = _kind(expected), _kind(actual)
    if kind == "array" and other in ("number", "bool", "sequence"):
        try:
            actual, other = _as_array(actual, ""), "array"
        except Mismatch:
            return False
    if kind != other:
        return False
    if kind == "array":
        return expected.shape == actual.shape
    if kind == "dict":
        return set(expected) == set(actual) and all(_same_structure(expected[k], actual[k]) for k in expected)
    if kind == "sequence":
        return len(expected) == len(actual) and all(_same_structure(e, a) for e, a in zip(expected, actual))
    return True


def _refusal(spec: CheckSpec, expected: dict, actual: dict) -> Verdict:
    want = expected["raised"]["type"]
    if "raised" not in actual:
        return _said(False, f"expected {want} to be raised, but it returned a value")
    got = actual["raised"]
    wrong = _accepted_wrongly(spec, expected, actual)
    if wrong:
        return wrong
    if want not in got["mro"]:
        return _said(False, f"expected {want}, got {got['type']}: {got['message']}")
    if spec.message and spec.message not in got["message"]:
        return _said(False, f"raised {got['type']}, but its message does not say {spec.message!r}: {got['message']}")
    unnamed = [word for word in expected["raised"].get("names", []) if word not in got["message"]]
    if unnamed:
        return _said(False, f"raised {got['type']}, but its message does not name {', '.join(map(repr, unnamed))}: "
                            f"{got['message']}")
    return _said(True, f"raised {got['type']}: {got['message']}")


def _accepted_wrongly(spec: CheckSpec, expected: dict, actual: dict) -> Verdict | None:
    """How a refusing ``actual`` fails the valid input ``expected`` was accepted on; None when it
    does not (or the check asks for none)."""
    if "accepted" not in expected:
        return None
    if "unplain" in actual:
        return _said(False, f"on a valid input it returned {actual['unplain']}, not plain data")
    if "accepted" not in actual:
        got = actual["raised"]
        return _said(False, f"on a valid input it raised {got['type']}: {got['message']} "
                            "(expected a value, then a refusal)")
    try:
        _compare(expected["accepted"], actual["accepted"], spec, "result")
    except Mismatch as exc:
        return _differs(exc, expected["accepted"], actual["accepted"], before="on a valid input, ")
    return None


MAX_MATCHED = 1000  # characters of a student's string judged by a match: pattern


def _matched(spec: CheckSpec, expected, actual) -> tuple:
    """(expected, actual) without the keys ``spec.match`` names, once each of ``actual``'s is a
    string its pattern matches whole (Mismatch if not); as they are when there is nothing to match."""
    if not spec.match or not isinstance(expected, dict) or not isinstance(actual, dict):
        return expected, actual
    for key, pattern in spec.match.items():
        if key not in actual:
            raise Mismatch(f"the result has no key {key!r}"[:300], answer=False)
        got = actual[key]
        if isinstance(got, str) and len(got) > MAX_MATCHED:  # a pattern may take the square of its length
            raise Mismatch(f"result[{key!r}]: expected a string of at most {MAX_MATCHED} characters, got "
                           f"{len(got)}", answer=False)
        if not isinstance(got, str) or not re.fullmatch(pattern, got):
            raise Mismatch(f"result[{key!r}]: expected a string matching {pattern!r}, got {got!r}"[:300], answer=False,
                           shown=f"result[{key!r}]: not of the form the module asks for, got {got!r}"[:300])
    return ({k: v for k, v in expected.items() if k not in spec.match},
            {k: v for k, v in actual.items() if k not in spec.match})


def _kind(value) -> str:
    import numpy as np

    if isinstance(value, np.ndarray):
        return "array"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, (list, tuple)):
        return "sequence"
    if isinstance(value, dict):
        return "dict"
    if isinstance(value, str):
        return "str"
    return "None"


def _compare(expected, actual, spec: CheckSpec, where: str) -> None:
    kind, other = _kind(expected), _kind(actual)
    if kind == "array" and other in ("number", "bool", "sequence"):
        actual, other = _as_array(actual, where), "array"
    if kind != other:
        raise Mismatch(f"{where}: expected {_describe(expected)}, got {_describe(actual)}")
    if kind == "array":
        _compare_arrays(expected, actual, spec, where)
    elif kind == "dict":
        if set(expected) != set(actual):
            raise Mismatch(f"{where}: expected keys {sorted(expected)}, got {sorted(actual)}")
        for key in expected:
            _compare(expected[key], actual[key], spec, f"{where}[{key!r}]")
    elif kind == "sequence":
        if len(expected) != len(actual):
            raise Mismatch(f"{where}: expected {len(expected)} items, got {len(actual)}")
        for index, (want, got) in enumerate(zip(expected, actual)):
            _compare(want, got, spec, f"{where}[{index}]")
    elif kind == "number":
        _compare_numbers(expected, actual, spec, where)
    elif expected != actual:
        raise Mismatch(f"{where}: expected {_short(expected)}, got {_short(actual)}")


def _as_array(value, where):
    import numpy as np

    try:
        array = np.asarray(value)
    except ValueError:
        raise Mismatch(f"{where}: expected an array, got a ragged sequence") from None
    if array.dtype.kind not in "biuf":
        raise Mismatch(f"{where}: expected an array of numbers, got {_describe(value)}")
    return array


def _compare_numbers(expected, actual, spec, where):
    if isinstance(expected, int) and isinstance(actual, int):
        if expected != actual:
            raise Mismatch(f"{where}: expected {_short(expected)}, got {_short(actual)}")
        return
    rtol, atol = _tolerance(spec, wide=True)
    try:
        if math.isnan(expected) and math.isnan(actual):
            return
        close = math.isclose(expected, actual, rel_tol=rtol, abs_tol=atol)
    except OverflowError:  # an int past any float (10**400): it was graded again on every run
        close = False
    if not close:
        raise Mismatch(f"{where}: expected {_short(expected)}, got {_short(actual)}")


def _tolerance(spec: CheckSpec, wide: bool) -> tuple[float, float]:
    rtol, atol = TIGHT if wide else LOOSE
    return (spec.rtol if spec.rtol is not None else rtol, spec.atol if spec.atol is not None else atol)


def _compare_arrays(expected, actual, spec, where):
    import numpy as np

    if expected.shape != actual.shape:
        raise Mismatch(f"{where}: expected shape {expected.shape}, got {actual.shape}")
    if expected.dtype.kind == "b" or actual.dtype.kind == "b":
        if expected.dtype.kind != actual.dtype.kind or not np.array_equal(expected, actual):
            raise Mismatch(f"{where}: expected {_describe(expected)}, got {_describe(actual)}")
        return
    if expected.dtype.kind in "iu" and actual.dtype.kind in "iu":
        if not np.array_equal(expected, actual):
            raise Mismatch(f"{where}: {_first_difference(expected, actual)}")
        return
    wide = expected.dtype.itemsize >= 8 and actual.dtype.itemsize >= 8
    rtol, atol = _tolerance(spec, wide)
    with np.errstate(all="ignore"):
        close = np.isclose(actual.astype(np.float64), expected.astype(np.float64), rtol=rtol, atol=atol,
                           equal_nan=True)
    if not close.all():
        raise Mismatch(f"{where}: {_first_difference(expected, actual, close)} "
                       f"({int((~close).sum())} of {close.size} values differ; rtol={rtol:g}, atol={atol:g})")


def _first_difference(expected, actual, close=None) -> str:
    import numpy as np

    differs = ~close if close is not None else expected != actual
    index = tuple(int(i) for i in np.argwhere(differs)[0])
    return f"at index {index} expected {expected[index].item()!r}, got {actual[index].item()!r}"


def _short(value) -> str:
    """``repr(value)``, cut to SHORT characters: each side of a message is cut on its own."""
    text = repr(value)
    return text if len(text) <= SHORT else text[:SHORT - 3] + "..."


def _describe(value) -> str:
    kind = _kind(value)
    if kind == "array":
        return f"an array of shape {value.shape} and dtype {value.dtype}"
    if kind in ("dict", "sequence"):
        return f"a {type(value).__name__} of {counted(len(value), 'item')}"
    return f"{value!r}"[:120]


def _gist(value) -> str:
    """The student's own value, as a withheld message shows it: short ones whole, arrays by shape
    and dtype, a dict or list of them item by item while that stays short, else described."""
    kind = _kind(value)
    if kind == "array":
        return _describe(value)
    if kind in ("dict", "sequence"):
        if len(value) > SHORT:  # at least three characters an item: past 3 * SHORT anyway
            return _describe(value)
        items = [f"{k!r}: {_gist(v)}" for k, v in value.items()] if kind == "dict" else [_gist(v) for v in value]
        ends = "{}" if kind == "dict" else "()" if isinstance(value, tuple) else "[]"
        text = ends[0] + ", ".join(items) + ends[1]
        return text if len(text) <= 3 * SHORT else _describe(value)
    text = repr(value)
    return text if len(text) <= SHORT else _describe(value)
