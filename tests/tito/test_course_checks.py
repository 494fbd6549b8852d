"""The course's graded checks (tests/NN_name/checks.py, points in module.yaml), module by module:
each runs on the reference solution and returns plain data (only a check named ..._rejects_...
may raise, and that is its expected answer), gives the same data when the reference is probed
again in another process (so the reference scores full), and the released stub passes none of
them — a check measures the student's work, never code the module provides. A partial solution
earns exactly the checks of what it solved.

The checks run directly, as ``tito grade`` runs them outside its sandbox (``prepare`` and the
probe), not through a sandboxed grade: one module's checks take well under a second."""

import re
import shutil

import pytest
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
    raised = {n: r["raised"]["type"] for n, r in expected.items() if "raised" in r}
    assert all("rejects" in n for n in raised), f"only ..._rejects_... checks may raise: {raised}"
    assert grading.free == []
    assert not (grading.template / grading.dev_file).exists()  # no solution where students' code runs
    again = _probe_build(grading, REAL_ROOT, tmp_path / "again")  # the course's own export: the reference
    assert passing(grading, again) == [c.name for c in grading.checks]


def test_every_module_is_graded():
    assert GRADED == [m.name for m in COURSE.modules]


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
                 lambda check: check.startswith(("collate", "dataloader")) and check != "dataloader_over_a_tensor_dataset",
                 id="dataloader-without-TensorDataset"),
    pytest.param("autograd", lambda ref: solved_only(ref, AUTOGRAD_WITHOUT_CONV), lambda check: check not in CONV_CHECKS,
                 id="autograd-without-conv-and-pool-backward"),
    pytest.param("autograd", swap_mul_rule,
                 lambda check: check not in {"mul_rule", "tensor_operation_gradients"}, id="autograd-with-a-wrong-mul-rule"),
    pytest.param("training", lambda ref: solved_only(ref, {"Trainer.train_step"}),
                 lambda check: check in {"train_step", "train_step_without_a_metric"}, id="training-step-without-losses"),
])
def test_a_partial_solution_earns_the_checks_of_what_it_solved(name, make, earned, prepared, tmp_path):
    grading = prepared(name)
    records = probe_source(grading, make(COURSE.get(name).dev_file.read_text(encoding="utf-8")), tmp_path)
    assert passing(grading, records) == [c.name for c in grading.checks if earned(c.name)]
    assert 0 < score(grading, records) < sum(c.points for c in grading.checks)


def _cnn_mistakes():
    """The usual mistakes of module 06, each as its check's name and a wrong version of one function."""
    import numpy as np

    from tinytorch.core import cnn
    from tinytorch.core.tensor import Tensor

    def flipped(image, kernel):  # convolution, not cross-correlation, on the vertical axis
        return cnn.conv2d_naive(image, np.flipud(np.asarray(getattr(kernel, "data", kernel))))

    def transposed_reshape(x):
        data = np.asarray(x.data)
        return Tensor(data.reshape(int(np.prod(data.shape[1:])), data.shape[0]))

    def min_pool(x, kernel, stride=None, padding=0, return_argmax=False):
        found = cnn.max_pool2d_forward(-np.asarray(x), kernel, stride, padding, return_argmax=return_argmax)
        return (-found[0], found[1]) if return_argmax else -found

    def mean_over_rows_only(x, kernel, stride=None, padding=0):
        width = kernel[1] if isinstance(kernel, tuple) else kernel
        return cnn.avg_pool2d_forward(x, kernel, stride, padding) * width

    return {"conv2d_naive": ("conv2d_naive", flipped), "flatten": ("flatten", transposed_reshape),
            "max_pool2d": ("max_pool2d_forward", min_pool), "avg_pool2d": ("avg_pool2d_forward", mean_over_rows_only)}


def test_the_cnn_checks_tell_the_usual_mistakes_apart_whatever_the_seed():
    """A check draws one case from the seed: no case may be one that a wrong function passes (a 1×k
    kernel hides a flip, N == d1·d2 hides a transposed reshape). A Gradescope zip keeps one seed a term."""
    import importlib.util
    import types

    from tinytorch.core import cnn
    from tito.grading.checks import check_specs
    from tito.grading.probe import rng_for

    module = COURSE.get("cnn")
    loaded = importlib.util.spec_from_file_location("cnn_checks", module.tests_dir / "checks.py")
    checks = importlib.util.module_from_spec(loaded)
    loaded.loader.exec_module(checks)
    specs = {spec.name: spec for spec in check_specs(module)}
    for check, (function, wrong) in _cnn_mistakes().items():
        student = types.SimpleNamespace(**{**vars(cnn), function: wrong})
        run = getattr(checks, "check_" + check)
        passed = [seed for seed in range(100)
                  if judge(specs[check], {"value": run(cnn, rng_for(seed, check))},
                           {"value": run(student, rng_for(seed, check))})[0]]
        assert passed == [], f"check_{check} passes {function} done wrong on seeds {passed[:5]}"
