"""The course's graded checks (tests/NN_name/checks.py, points in module.yaml), module by module:
each runs on the reference solution and returns plain data (only a check named ..._rejects_...
may raise, and that is its expected answer), gives the same data when the reference is probed
again in another process (so the reference scores full), and the released stub passes none of
them — a check measures the student's work, never code the module provides. A partial solution
earns exactly the checks of what it solved.

The checks run directly, as ``tito grade`` runs them outside its sandbox (``prepare`` and the
probe), not through a sandboxed grade: one module's checks take well under a second."""

import dataclasses
import re
import shutil

import pytest
from course_mistakes import MISTAKES
from tiny_course import REAL_ROOT

from tito.course import Course
from tito.exporter import export
from tito.grading import prepare
from tito.grading.verdict import judge
from tito.grading.workspace import _probe_build
from tito.editions.strip import strip_solutions

COURSE = Course(REAL_ROOT)
GRADED = [m.name for m in COURSE.modules if m.meta.get("checks")]
SEED = 1234
SEEDS = range(100)  # the seeds every check's reference answer, and every usual mistake, is tried on
SOLUTION = re.compile(r"^[ \t]*### BEGIN SOLUTION\n(.*?)^[ \t]*### END SOLUTION\n", re.S | re.M)


@pytest.fixture(scope="module")
def prepared(tmp_path_factory):
    """name -> the module's prepared grading folder (checks run on the reference and the stub)."""
    cache = {}

    def get(name):
        if name not in cache:
            cache[name] = prepare(COURSE, COURSE.get(name), tmp_path_factory.mktemp(name) / "prepared", seed=SEED)
        return cache[name]
    return get


def passing(prepared, records) -> list[str]:
    expected = prepared.expected()
    return [c.name for c in prepared.checks if judge(c, expected[c.name], records[c.name])[0]]


def score(prepared, records) -> int:
    return sum(c.points for c in prepared.checks if c.name in passing(prepared, records))


@pytest.mark.parametrize("name", GRADED)
def test_the_reference_scores_full_and_the_stub_passes_none(name, prepared, tmp_path):
    grading = prepared(name)
    expected = grading.expected()
    assert list(expected) == [c.name for c in grading.checks]
    raised = {n: f"{r['raised']['type']}: {r['raised']['message']}" for n, r in expected.items() if "raised" in r}
    assert all("rejects" in n for n in raised), f"only ..._rejects_... checks may raise: {raised}"
    assert grading.free == [], f"the released stub passes these checks (they test provided code): {grading.free}"
    assert not (grading.template / grading.dev_file).exists()  # no solution where students' code runs
    again = _probe_build(grading, REAL_ROOT, tmp_path / "again")  # the course's own export: the reference
    assert passing(grading, again) == [c.name for c in grading.checks]


OTHER_SEED = 987654321


@pytest.mark.parametrize("name", GRADED)
def test_no_check_can_be_answered_without_the_seed(name, prepared, tmp_path):
    """The student's code runs in the probe's own process and can rewrite what it writes, so an
    answer the student can predict is one it can forge without implementing anything (red team,
    grade_attacks.forge_constant_records). The reference's answer on another seed must therefore
    fail as the answer on this one: a value drawn from the seed, a refusal naming words drawn from
    it (tito.grading.data.naming). A check whose answer is the same on every seed by nature says
    why with constant: in module.yaml (modules/README.md, "Graded checks")."""
    grading = prepared(name)
    other = _probe_build(dataclasses.replace(grading, seed=OTHER_SEED, _expected=None), REAL_ROOT, tmp_path / "other")
    expected = grading.expected()
    replayable = {c.name for c in grading.checks if judge(c, expected[c.name], other[c.name])[0]}
    declared = {c.name for c in grading.checks if c.constant}
    predictable = sorted(replayable - declared)
    assert not predictable, (f"these checks give the same answer on every seed: {predictable}; draw their inputs "
                             "from rng, or declare constant: \"why\" in module.yaml")
    changing = sorted(declared - replayable)
    assert not changing, f"declared constant, but their answer changes with the seed: {changing}"


def test_every_module_is_graded():
    assert GRADED == [m.name for m in COURSE.modules]


def test_setup_grades_the_email_by_the_pattern_its_tests_use():
    """An address `tito test` accepted lost 2 points in grading ('jane@uni.edu.': the module's
    pattern was looser than module.yaml's, red team 11): there is one pattern."""
    from tinytorch.core.setup import EMAIL_PATTERN
    from tito.grading.checks import check_specs

    graded = {spec.name: spec for spec in check_specs(COURSE.get("setup"))}["personal_info_values"]
    assert graded.match["email"] == EMAIL_PATTERN.pattern


def _loaded_checks(module):
    """The module's tests/NN_name/checks.py, loaded as a module."""
    import importlib.util

    loaded = importlib.util.spec_from_file_location(f"{module.name}_checks", module.tests_dir / "checks.py")
    checks = importlib.util.module_from_spec(loaded)
    loaded.loader.exec_module(checks)
    return checks


@pytest.mark.parametrize("name", GRADED)
def test_the_reference_passes_every_check_whatever_the_seed(name):
    """A check whose own reference answer fails it on some seeds takes its points from everyone who
    draws such a seed (check_train_test_split_rejects_a_fraction_of_one_or_more's valid test_size
    once left no training example on 1 seed in 10, so its 'valid' answer was a refusal)."""
    import importlib

    import numpy as np

    from tito.grading.checks import check_specs

    module = COURSE.get(name)
    checks, reference = _loaded_checks(module), importlib.import_module(f"tinytorch.core.{name}")
    state = np.random.get_state()
    failing = []
    try:
        for spec in check_specs(module):
            for seed in SEEDS:
                answer = _answer(checks, spec.name, reference, seed)
                verdict = judge(spec, answer, answer)
                if not verdict[0]:
                    failing.append(f"check_{spec.name} on seed {seed}: {verdict.message}")
                    break
    finally:
        np.random.set_state(state)
    assert failing == []


# --------------------------------------------------------------------------- partial solutions


def solved_only(reference: str, solved: set[str]) -> str:
    """The student edition of ``reference`` with the solutions of the functions in ``solved`` kept."""
    stripped = strip_solutions(reference)
    text = stripped.text
    for name, body in zip(stripped.stubs, SOLUTION.findall(reference)):
        if name in solved:
            stub = re.compile(rf'^[ \t]*raise NotImplementedError\("TODO: implement {re.escape(name)}"\)\n', re.M)
            text = stub.sub(lambda _: body, text, count=1)
    return text


def swap_mul_rule(reference: str) -> str:
    """Autograd with a mul_rule whose forward is untouched but whose gradients are swapped."""
    right = "return _grad_or_none(x, lambda: g * b), _grad_or_none(y, lambda: g * a)"
    assert right in reference
    return reference.replace(right, "return _grad_or_none(x, lambda: g * a), _grad_or_none(y, lambda: g * b)")


def probe_source(grading, source: str, folder) -> dict:
    """Export ``source`` as the module into a copy of the grading template and run the checks."""
    build = folder / "build"
    shutil.copytree(grading.template, build)
    (build / grading.dev_file).write_text(source, encoding="utf-8")
    export(Course(build).get(grading.module), force=True)
    return _probe_build(grading, build, folder / "out")


TENSOR_BASICS = {"Tensor.__init__", "Tensor.__add__", "Tensor.__sub__", "Tensor.__mul__", "Tensor.__truediv__"}
AUTOGRAD_WITHOUT_CONV = {"unbroadcast", "mul_rule", "matmul_grads", "sum_rule", "topological_order", "backward",
                         "relu_rule"}
CONV_CHECKS = {"conv2d_backward", "conv2d_backward_with_int_sizes", "conv2d_backward_with_same_padding",
               "conv2d_backward_without_the_input_gradient",
               "max_pool2d_backward", "conv_network_gradients", "numerical_gradient"}
LOADER = {"collate", "DataLoader.__len__", "DataLoader.epoch_order", "DataLoader.__iter__"}


@pytest.mark.parametrize("name, make, earned", [
    pytest.param("tensor", lambda ref: solved_only(ref, TENSOR_BASICS),
                 lambda check: check.startswith(("creation", "arithmetic")), id="tensor-construction-and-arithmetic"),
    pytest.param("dataloader", lambda ref: solved_only(ref, LOADER),
                 lambda check: (check.startswith(("collate", "dataloader"))
                                and check != "dataloader_over_a_tensor_dataset"),
                 id="dataloader-without-TensorDataset"),
    pytest.param("autograd", lambda ref: solved_only(ref, AUTOGRAD_WITHOUT_CONV),
                 lambda check: check not in CONV_CHECKS,
                 id="autograd-without-conv-and-pool-backward"),
    pytest.param("autograd", swap_mul_rule,
                 lambda check: check not in {"mul_rule", "tensor_operation_gradients"},
                 id="autograd-with-a-wrong-mul-rule"),
    pytest.param("training", lambda ref: solved_only(ref, {"Trainer.train_step"}),
                 lambda check: check in {"train_step", "train_step_without_a_metric"},
                 id="training-step-without-losses"),
])
def test_a_partial_solution_earns_the_checks_of_what_it_solved(name, make, earned, prepared, tmp_path):
    grading = prepared(name)
    records = probe_source(grading, make(COURSE.get(name).dev_file.read_text(encoding="utf-8")), tmp_path)
    assert passing(grading, records) == [c.name for c in grading.checks if earned(c.name)]
    assert 0 < score(grading, records) < sum(c.points for c in grading.checks)


def _with_mistake(module, attribute: str, wrong):
    """``module``'s namespace with one function, or one method (in a subclass), replaced by ``wrong``."""
    import types

    owner, _, method = attribute.partition(".")
    if method:
        wrong = type(owner, (getattr(module, owner),), {method: wrong})
    return types.SimpleNamespace(**{**vars(module), owner: wrong})


def _probed(run, module, rng) -> dict:
    """One check's record, as the probe writes it: its value or the exception it raised."""
    from tito.grading.data import raised

    try:
        return {"value": run(module, rng)}
    except Exception as exc:  # noqa: BLE001 - a raised exception is a check's answer
        return raised(exc)


def _answer(checks, check: str, module, seed: int) -> dict:
    """``module``'s record of ``check_<check>`` on ``seed``, as the probe writes it (rng_for seeds
    np.random too, for code that draws from it: Dense's weights)."""
    from tito.grading.probe import rng_for

    return _probed(getattr(checks, "check_" + check), module, rng_for(seed, check))


# How a student may read system_info()'s sources: (header, [(the reference's code, the student's)]).
SETUP_EQUIVALENTS = [
    ("from platform import machine, system\nfrom os import cpu_count\nfrom sys import version_info\n",
     [("platform.system()", "system()"), ("platform.machine()", "machine()"), ("os.cpu_count()", "cpu_count()"),
      ("sys.version_info[", "version_info[")]),
    ("", [("platform.system()", "platform.uname().system"), ("platform.machine()", "platform.uname().machine"),
          ('"{}.{}.{}".format(*sys.version_info[:3])', "sys.version.split()[0]"),
          ("np.__version__", "np.version.version")]),
    ("from platform import python_version_tuple, uname\nimport multiprocessing\n",
     [("platform.system()", "uname()[0]"), ("platform.machine()", "uname()[4]"),
      ("os.cpu_count()", "multiprocessing.cpu_count()"),
      ('"{}.{}.{}".format(*sys.version_info[:3])', '".".join(python_version_tuple())')]),
    ("", [('"{}.{}.{}".format(*sys.version_info[:3])', "platform.python_version()")]),
    ("", [('"{}.{}.{}".format(*sys.version_info[:3])',
           "f'{sys.version_info.major}.{sys.version_info.minor}.{sys.version_info.micro}'")]),
]


@pytest.mark.parametrize("header, edits", SETUP_EQUIVALENTS, ids=range(len(SETUP_EQUIVALENTS)))
def test_the_setup_checks_do_not_grade_how_the_sources_were_imported(header, edits):
    """The setup checks make platform.system() and the others report seeded facts: a student who
    wrote ``from platform import system`` (or ``from os import cpu_count``, ``from sys import
    version_info``), or read an equivalent (``platform.uname().system``, ``sys.version``,
    ``platform.python_version_tuple()``, ``multiprocessing.cpu_count()``), reads the same sources and
    scores the same on every seed."""
    import importlib
    import platform
    import types

    from tito.grading.checks import check_specs

    module, system = COURSE.get("setup"), platform.system
    reference = importlib.import_module("tinytorch.core.setup")
    source = (REAL_ROOT / "tinytorch/core/setup.py").read_text(encoding="utf-8")
    for call, name in edits:
        assert call in source, call
        source = source.replace(call, name, 1)
    student = types.ModuleType("tinytorch.core.setup")
    exec(compile(header + source, "setup.py", "exec"), vars(student))
    checks = _loaded_checks(module)
    failed = []
    for check in check_specs(module):
        for seed in range(10):
            expected = _answer(checks, check.name, reference, seed)
            if not judge(check, expected, _answer(checks, check.name, student, seed))[0]:
                failed.append(f"{check.name} (seed {seed})")
    assert failed == []
    assert platform.system is system and getattr(student, "system", system) is system  # restored after each check


# Graded modules without usual mistakes here, and why.
NO_MISTAKES: dict = {}


def test_every_graded_module_has_its_usual_mistakes():
    """A module author adds MISTAKES[name] in tests/tito/course_mistakes.py (see its docstring)."""
    assert sorted(set(GRADED) - set(MISTAKES) - set(NO_MISTAKES)) == [], (
        "add the module's usual mistakes to MISTAKES in tests/tito/course_mistakes.py")
    assert set(MISTAKES) <= set(GRADED)


DISCOVERY = SEEDS[:20]  # the seeds on which every other check is asked whether the mistake changes its answer


@pytest.mark.parametrize("name", sorted(MISTAKES))
def test_the_checks_tell_the_usual_mistakes_apart_whatever_the_seed(name):
    """A check draws one case from the seed: no case may be one that a wrong function passes (a 1×k
    kernel hides a flipped kernel, N == d1·d2 a transposed reshape, a batch size that divides N a
    dropped last batch, one row a softmax over the whole tensor...). A Gradescope zip keeps one
    seed a term. A mistake must lose, on every seed tried, its own check and every other check of the
    module that it loses on one of the first few: check_flatten_rejects_1d's valid input once had
    N == d1·d2 on 1 seed in 9, and a transposed reshape earned its point there.
    The mistakes: tests/tito/course_mistakes.py."""
    import importlib

    import numpy as np

    from tito.grading.checks import check_specs

    module = COURSE.get(name)
    checks = _loaded_checks(module)
    specs = {spec.name: spec for spec in check_specs(module)}
    reference = importlib.import_module(f"tinytorch.core.{name}")
    state = np.random.get_state()  # Dense draws its weights from np.random: seeded per case, restored after
    expected_of = {}

    def passes(student, check, seed) -> bool:
        if (check, seed) not in expected_of:
            expected_of[check, seed] = _answer(checks, check, reference, seed)
            # a wrong function raising as the reference does would "pass" (autograd switched on, say)
            assert "value" in expected_of[check, seed] or "_rejects_" in check, (
                f"the reference raises in check_{check} on seed {seed}: {expected_of[check, seed]}")
        return judge(specs[check], expected_of[check, seed], _answer(checks, check, student, seed))[0]

    missed = []
    try:
        for number, (check, attribute, wrong) in enumerate(MISTAKES[name]()):
            student = _with_mistake(reference, attribute, wrong)
            lost = [check] + [other for other in sorted(set(specs) - {check})
                              if not all(passes(student, other, seed) for seed in DISCOVERY)]
            for other in lost:
                passed = [seed for seed in SEEDS if passes(student, other, seed)]
                if passed:
                    missed.append(f"check_{other} passes mistake {number} ({attribute}: {wrong.__qualname__}) "
                                  f"on seeds {passed[:5]}")
    finally:
        np.random.set_state(state)
    assert not missed, "a usual mistake passes a check on some seeds and loses it on others:\n" + "\n".join(missed)
