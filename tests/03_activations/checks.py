"""Graded checks of module 03 (activations): what `tito grade` gives points for.

Each check calls the student's exported `tinytorch.core.activations` (the `activations` argument)
on inputs drawn from `rng`, seeded from the grading run's secret seed, and returns plain data:
each output's values and dtype (the classes promise "same shape, same dtype"). The grader runs
the same check on the reference solution and compares the two outside the sandbox. Points:
`checks:` in modules/source/03_activations/module.yaml. Format: modules/README.md, "Graded checks".
"""

import warnings

import numpy as np

from tinytorch.core.tensor import Tensor


def _input(rng, dtype=np.float32):
    """A random batch (N, D) or (N, C, H, W), with some exact zeros, as a Tensor of ``dtype``."""
    rank = int(rng.choice([1, 2, 4]))
    shape = tuple(int(v) for v in rng.integers(2, 6 if rank < 4 else 4, rank))
    x = rng.standard_normal(shape) * 3
    x[rng.random(shape) < 0.1] = 0.0
    return Tensor(x, dtype=dtype)


def _described(t):
    return {"data": np.asarray(t.data), "dtype": str(t.data.dtype), "is_tensor": isinstance(t, Tensor)}


def _without_overflow(call):
    """``call()`` with NumPy's overflow warnings raised as errors: the module asks for none."""
    with warnings.catch_warnings(), np.errstate(over="raise", invalid="raise"):
        warnings.simplefilter("error", RuntimeWarning)
        return call()


def _extremes(rng):
    """Large magnitudes (±100 to ±1000) and ordinary values, shuffled, float32."""
    values = np.concatenate([rng.uniform(100, 1000, 3), -rng.uniform(100, 1000, 3), rng.standard_normal(3)])
    return Tensor(rng.permutation(values))


def check_relu(activations, rng):
    """max(0, x) element-wise, any shape, float32 and float64 kept."""
    relu = activations.ReLU()
    return {"float32": _described(relu(_input(rng))), "float64": _described(relu(_input(rng, np.float64)))}


def check_relu_keeps_integers(activations, rng):
    """The HINTS: ReLU of an int tensor is an int tensor; array-likes are accepted too."""
    x = rng.integers(-9, 10, (int(rng.integers(1, 5)), 3))
    relu = activations.ReLU()
    return {"tensor": _described(relu(Tensor(x))), "list": _described(relu(x.tolist()))}


def check_leaky_relu(activations, rng):
    """x for x > 0, slope·x otherwise; the default slope 0.01; integers become float32. Each input
    holds a negative value, where the slope shows."""
    slope = float(rng.uniform(0.05, 0.5))
    x = _input(rng)
    x.data.flat[int(rng.integers(0, x.data.size))] = -float(rng.uniform(0.5, 3))
    integers = rng.integers(-5, 6, 4)
    integers[int(rng.integers(0, 4))] = -int(rng.integers(1, 6))
    return {"slope": _described(activations.LeakyReLU(slope)(x)),
            "default": _described(activations.LeakyReLU()(x)),
            "integers": _described(activations.LeakyReLU(slope)(Tensor(integers)))}


def check_sigmoid(activations, rng):
    """1 / (1 + e^-x) element-wise, float32 and float64 kept."""
    sigmoid = activations.Sigmoid()
    return {"float32": _described(sigmoid(_input(rng))), "float64": _described(sigmoid(_input(rng, np.float64)))}


def check_sigmoid_large_inputs(activations, rng):
    """The TODO: stable at any input — exactly 0 and 1 far out, and no overflow on the way."""
    return _described(_without_overflow(lambda: activations.Sigmoid()(_extremes(rng))))


def check_tanh(activations, rng):
    """tanh element-wise, at ordinary and at large inputs, without overflow."""
    tanh = activations.Tanh()
    return {"ordinary": _described(tanh(_input(rng))),
            "large": _described(_without_overflow(lambda: tanh(_extremes(rng))))}


def check_softmax(activations, rng):
    """Softmax along the last axis (the default) of a batch of rows (two or more: one row would
    hide a softmax over the whole tensor)."""
    x = Tensor(rng.standard_normal((int(rng.integers(2, 6)), int(rng.integers(2, 7)))) * 3)
    return _described(activations.Softmax()(x))


def check_softmax_along_an_axis(activations, rng):
    """Softmax(axis) for each axis of a 3-D input, normalising the slices along that axis."""
    x = Tensor(rng.standard_normal(tuple(int(v) for v in rng.integers(2, 5, 3))))
    return {str(axis): _described(activations.Softmax(axis=axis)(x)) for axis in (0, 1, -1)}


### BEGIN HIDDEN TESTS
def check_softmax_large_inputs(activations, rng):
    """The TODO: stable for any finite input — rows of ±1000 without overflow."""
    rows = np.stack([_extremes(rng).data for _ in range(int(rng.integers(2, 4)))])
    return _described(_without_overflow(lambda: activations.Softmax()(Tensor(rows))))
### END HIDDEN TESTS
