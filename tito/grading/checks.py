"""The graded checks of a module: which exist, what each is worth, how it is compared.

A module's points come only from *checks*: small functions in ``tests/NN_name/checks.py``,
each named ``check_<name>(module, rng)``, that call the student's exported module on inputs
drawn from ``rng`` (a ``numpy.random.Generator`` seeded from the grading run's secret seed and
the check's name) and return plain data (see ``tito.grading.data``). ``module.yaml`` says what
each is worth::

    checks:
      conv2d_naive: 2                                  # points
      conv2d_forward: {points: 3, rtol: 1.0e-4, atol: 1.0e-5}
      conv2d_naive_rejects_3d: {points: 1, hidden: true}

``message: "words"`` (for a check whose answer is an exception) also asks its message to say
those words, where the module's text gives the wording; a check asks for words drawn from its
seed, after the function's value on a valid input, with ``tito.grading.data.refuses``.
``match: {key: regex}`` judges the string a result dict holds under ``key`` by the regular
expression (whole string) instead of equality with the reference's: for the student's own values
(a name, an e-mail address). ``constant: "why"`` declares a check whose answer is the same on
every seed, so a student could predict it without implementing anything; every other check's
answer must change with the seed (tests/tito/test_course_checks.py). ``hidden: true`` keeps a
check's details (what came, what was expected) out of the report,
and ``tito release`` leaves its code out of the student edition when it sits between
``### BEGIN HIDDEN TESTS`` and ``### END HIDDEN TESTS`` in checks.py. ``rtol``/``atol`` set the
tolerance of float comparisons (defaults in ``tito.grading.verdict``), ``seconds`` the time one
check may take (default 10). ``hint: "words"`` is added to the message of the check when it fails
(what a student needs to know about how the check works, e.g. which sources it makes report
made-up values). modules/README.md explains how to write checks.
"""

from __future__ import annotations

import ast
from dataclasses import asdict, dataclass, fields
from pathlib import Path

from tito.course import Module
from tito.errors import TitoError

CHECKS_FILE = "checks.py"
PREFIX = "check_"
DEFAULT_SECONDS = 10.0
KEYS = {"points", "hidden", "rtol", "atol", "seconds", "message", "match", "constant", "hint"}


@dataclass(frozen=True)
class CheckSpec:
    """One graded check: ``check_<name>`` in checks.py, and what module.yaml says of it."""

    name: str
    points: int
    hidden: bool = False
    rtol: float | None = None
    atol: float | None = None
    seconds: float = DEFAULT_SECONDS
    message: str | None = None  # words the raised exception's message must contain
    match: dict | None = None  # result key -> regular expression its string must match (not the reference's)
    constant: str | None = None  # why this check's answer is the same on every seed (None: it is not)
    hint: str | None = None  # added to the message of the check when it fails

    @property
    def function(self) -> str:
        return PREFIX + self.name

    @property
    def may_raise(self) -> bool:
        """Whether an exception can be this check's answer: only a check named ..._rejects_... may raise
        (raised by any other on the reference, it is a bug in the check, which the stub raises too)."""
        return "rejects" in self.name.split("_")

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict) -> "CheckSpec":
        return cls(**{f.name: data[f.name] for f in fields(cls) if f.name in data})


def checks_file(module: Module) -> Path:
    return module.tests_dir / CHECKS_FILE


def defined_checks(path: Path) -> list[str]:
    """Names of the top-level ``check_*`` functions a checks file defines, in order."""
    try:
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    except SyntaxError as exc:
        raise TitoError(f"{path}: line {exc.lineno}: {exc.msg}") from None
    return [node.name[len(PREFIX):] for node in tree.body
            if isinstance(node, ast.FunctionDef) and node.name.startswith(PREFIX)]


def check_specs(module: Module) -> list[CheckSpec]:
    """The module's graded checks, validated against module.yaml and checks.py.

    A module without checks cannot be graded: TitoError says how to add them.
    """
    yaml_name = module.relative(module.metadata_file)
    path = checks_file(module)
    table = module.meta.get("checks")
    if not table:
        raise TitoError(
            f"Module '{module.name}' cannot be graded: it has no graded checks.",
            hint=(f"Points come only from checks: write check_<name>(module, rng) functions in "
                  f"{module.relative(path)} and list them with their points under 'checks:' in "
                  f"{yaml_name} (see modules/README.md, 'Graded checks')."))
    if not isinstance(table, dict):
        raise TitoError(f"{yaml_name}: 'checks' must map check names to points, got {type(table).__name__}.")
    if not path.is_file():
        raise TitoError(f"{yaml_name} lists checks, but {module.relative(path)} does not exist.")
    defined = defined_checks(path)
    specs = [_spec(name, value, yaml_name) for name, value in table.items()]
    missing = [s.name for s in specs if s.name not in defined]
    if missing:
        raise TitoError(f"{yaml_name} lists checks that {module.relative(path)} does not define: "
                        + ", ".join(f"{PREFIX}{name}" for name in missing) + ".")
    unlisted = [name for name in defined if name not in table]
    if unlisted:
        raise TitoError(f"{module.relative(path)} defines checks that {yaml_name} gives no points: "
                        + ", ".join(unlisted) + ".", hint="List each under 'checks:' (0 points is allowed).")
    return specs


def _spec(name, value, where: str) -> CheckSpec:
    if not isinstance(name, str) or not name.isidentifier():
        raise TitoError(f"{where}: check name {name!r} is not a Python name.")
    if isinstance(value, dict):
        unknown = sorted(set(value) - KEYS)
        if unknown:
            raise TitoError(f"{where}: check '{name}' has unknown keys {', '.join(map(str, unknown))} "
                            f"(known: {', '.join(sorted(KEYS))}).")
        fields = dict(value)
    else:
        fields = {"points": value}
    points = fields.get("points")
    if isinstance(points, bool) or not isinstance(points, int) or points < 0:
        raise TitoError(f"{where}: check '{name}' needs whole points >= 0, got {points!r}.")
    for key in ("rtol", "atol", "seconds"):
        number = fields.get(key)
        if number is not None and (isinstance(number, bool) or not isinstance(number, (int, float)) or number < 0):
            raise TitoError(f"{where}: check '{name}': {key} must be a number >= 0, got {number!r}"
                            + (f" (YAML reads {number} as text: write it with a point, "
                               f"{_with_point(number)})." if _yaml_text_number(number) else "."))
    if not isinstance(fields.get("hidden", False), bool):
        raise TitoError(f"{where}: check '{name}': hidden must be true or false.")
    if not isinstance(fields.get("message", ""), str):
        raise TitoError(f"{where}: check '{name}': message must be the words the error must say.")
    for key, must in (("constant", "say why its answer is the same on every seed"),
                      ("hint", "be the words added to the message of the check when it fails")):
        text = fields.get(key)
        if text is not None and not (isinstance(text, str) and text.strip()):
            raise TitoError(f"{where}: check '{name}': {key} must {must}, got {text!r}.")
    return CheckSpec(name, points, bool(fields.get("hidden", False)), _float(fields.get("rtol")),
                     _float(fields.get("atol")), float(fields.get("seconds") or DEFAULT_SECONDS),
                     fields.get("message") or None, _patterns(fields.get("match"), name, where), fields.get("constant"),
                     fields.get("hint"))


def _patterns(match, name: str, where: str) -> dict | None:
    """``match:``: result keys -> regular expressions, each compiled to prove it is one."""
    import re

    if match is None:
        return None
    if not isinstance(match, dict) or not match or not all(isinstance(k, str) and isinstance(v, str)
                                                            for k, v in match.items()):
        raise TitoError(f"{where}: check '{name}': match must map result keys to regular expressions.")
    for key, pattern in match.items():
        try:
            re.compile(pattern)
        except re.error as exc:
            raise TitoError(f"{where}: check '{name}': match: {key}: {pattern!r} is no regular expression ({exc}).")
    return dict(match)


def _yaml_text_number(value) -> bool:
    """True for '1e-4': a number to Python, text to YAML 1.1 (its floats need a point)."""
    try:
        return isinstance(value, str) and float(value) >= 0
    except ValueError:
        return False


def _with_point(text: str) -> str:
    """'1.0e-4' for '1e-4'."""
    mantissa, _, exponent = text.lower().partition("e")
    return (mantissa if "." in mantissa else mantissa + ".0") + (f"e{exponent}" if exponent else "")


def _float(value):
    return None if value is None else float(value)
