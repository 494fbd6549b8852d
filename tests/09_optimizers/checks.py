"""Graded checks of module 09 (optimizers): what `tito grade` gives points for.

Each check builds parameters and gradients from `rng`, seeded from the grading run's secret seed,
runs a few steps of the student's optimizers (`tinytorch.core.optimizers`, the `optimizers`
argument) and returns the parameters after each step. The grader runs the same check on the
reference solution and compares the two outside the sandbox, within float32 tolerances, so any
order of operations that gives PyTorch's update passes. Points: `checks:` in
modules/source/09_optimizers/module.yaml. Format: modules/README.md, "Graded checks".
"""

import numpy as np

from tinytorch.core.tensor import Tensor


def _parameters(rng):
    """Two to three float32 parameters of random shapes."""
    shapes = [tuple(int(v) for v in rng.integers(1, 5, int(rng.integers(1, 3))))
              for _ in range(int(rng.integers(2, 4)))]
    return [Tensor(rng.standard_normal(shape), requires_grad=True) for shape in shapes]


def _run(optimizer, params, rng, steps, missing=()):
    """``steps`` steps with fresh random gradients; ``missing`` holds (step, index) pairs without
    one. Returns every parameter after every step."""
    history = []
    for step in range(steps):
        for index, p in enumerate(params):
            p.grad = None if (step, index) in missing else Tensor(rng.standard_normal(p.shape))
        optimizer.step()
        history.append([np.array(p.data) for p in params])
    return history


# --------------------------------------------------------------------------- SGD


def check_sgd(optimizers, rng):
    """p -= lr·g, for every parameter."""
    params = _parameters(rng)
    return _run(optimizers.SGD(params, lr=float(rng.uniform(0.01, 0.5))), params, rng, 2)


def check_sgd_momentum(optimizers, rng):
    """The velocity starts as g, then becomes momentum·v + g; p -= lr·v."""
    params = _parameters(rng)
    sgd = optimizers.SGD(params, lr=float(rng.uniform(0.01, 0.3)), momentum=float(rng.uniform(0.5, 0.95)))
    return _run(sgd, params, rng, 4)


def check_sgd_weight_decay(optimizers, rng):
    """weight_decay·p is added to the gradient."""
    params = _parameters(rng)
    sgd = optimizers.SGD(params, lr=float(rng.uniform(0.01, 0.3)), weight_decay=float(rng.uniform(0.01, 0.5)))
    return _run(sgd, params, rng, 2)


def check_sgd_skips_a_parameter_without_gradient(optimizers, rng):
    """A parameter whose grad is None is left as it is (its velocity too)."""
    params = _parameters(rng)
    sgd = optimizers.SGD(params, lr=float(rng.uniform(0.01, 0.3)), momentum=float(rng.uniform(0.5, 0.9)))
    return _run(sgd, params, rng, 3, missing={(0, 0), (1, 1)})


### BEGIN HIDDEN TESTS
def check_sgd_momentum_and_weight_decay(optimizers, rng):
    """Weight decay enters the gradient before the velocity."""
    params = _parameters(rng)
    sgd = optimizers.SGD(params, lr=float(rng.uniform(0.01, 0.3)), momentum=float(rng.uniform(0.5, 0.9)),
                         weight_decay=float(rng.uniform(0.01, 0.3)))
    return _run(sgd, params, rng, 3)
### END HIDDEN TESTS


# --------------------------------------------------------------------------- Adam


def check_adam(optimizers, rng):
    """Adam's default betas and eps: bias-corrected averages of g and g², several steps."""
    params = _parameters(rng)
    return _run(optimizers.Adam(params, lr=float(rng.uniform(0.001, 0.1))), params, rng, 4)


def check_adam_with_its_options(optimizers, rng):
    """Other betas, a larger eps (large enough that eps added under the root shows), and weight decay."""
    params = _parameters(rng)
    adam = optimizers.Adam(params, lr=float(rng.uniform(0.01, 0.1)),
                           betas=(float(rng.uniform(0.5, 0.95)), float(rng.uniform(0.9, 0.999))),
                           eps=float(10 ** rng.uniform(-2, -1)), weight_decay=float(rng.uniform(0.01, 0.3)))
    return _run(adam, params, rng, 3)


### BEGIN HIDDEN TESTS
def check_adam_counts_steps_per_parameter(optimizers, rng):
    """The HINTS: a parameter that missed a step has its own, smaller, step count."""
    params = _parameters(rng)
    return _run(optimizers.Adam(params, lr=float(rng.uniform(0.01, 0.1))), params, rng, 3, missing={(0, 1), (1, 0)})
### END HIDDEN TESTS


# --------------------------------------------------------------------------- both


def check_steps_update_in_place(optimizers, rng):
    """The APPROACH: p.data changes in place (the layer holds that very array) and stays float32."""
    result = {}
    for name, make in (("sgd", lambda p: optimizers.SGD(p, lr=0.1, momentum=0.9)),
                       ("adam", lambda p: optimizers.Adam(p, lr=0.01))):
        params = _parameters(rng)
        arrays = [p.data for p in params]
        values = _run(make(params), params, rng, 2)[-1]
        result[name] = {"in_place": [[p.data is array, str(p.data.dtype)] for p, array in zip(params, arrays)],
                        "values": values}
    return result
