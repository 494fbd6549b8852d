"""Graded checks of module 04 (layers): what `tito grade` gives points for.

Each check calls the student's exported `tinytorch.core.layers` (the `layers` argument) on inputs
drawn from `rng`, seeded from the grading run's secret seed, and returns plain data. The grader
runs the same check on the reference solution and compares the two outside the sandbox. Dense's
random initialisation is the student's to draw: its checks return the shapes, the dtype and
whether the values fill ±1/√input_size, and forward passes run with weights set explicitly.
Points: `checks:` in modules/source/04_layers/module.yaml. Format: modules/README.md, "Graded checks".
"""

import numpy as np

from tinytorch.core.tensor import Tensor
from tito.grading.data import refuses  # a valid input's value, then a refusal naming words drawn from the seed


def _shape(rng, low, high, n):
    return tuple(int(v) for v in rng.integers(low, high + 1, n))


def _described(value):
    """A result as data: its type (Tensor or ndarray), values and dtype."""
    data = value.data if isinstance(value, Tensor) else value
    return {"type": type(value).__name__, "data": np.asarray(data), "dtype": str(np.asarray(data).dtype)}


# --------------------------------------------------------------------------- matmul_naive


def check_matmul_naive(layers, rng):
    """Float matrices (M, K) @ (K, N): an ndarray equal to a @ b."""
    M, K, N = _shape(rng, 1, 6, 3)
    return _described(layers.matmul_naive(rng.standard_normal((M, K)), rng.standard_normal((K, N))))


def check_matmul_naive_integers(layers, rng):
    """The docstring: the result dtype is NumPy's, so int @ int stays int; lists are accepted."""
    M, K, N = _shape(rng, 1, 5, 3)
    a, b = rng.integers(-9, 10, (M, K)), rng.integers(-9, 10, (K, N))
    return {"arrays": _described(layers.matmul_naive(a, b)),
            "lists": _described(layers.matmul_naive(a.tolist(), b.tolist()))}


def check_matmul_naive_tensors(layers, rng):
    """A Tensor in gives a Tensor out, with either operand a Tensor."""
    M, K, N = _shape(rng, 1, 5, 3)
    a, b = rng.standard_normal((M, K)).astype(np.float32), rng.standard_normal((K, N)).astype(np.float32)
    return {"both": _described(layers.matmul_naive(Tensor(a), Tensor(b))),
            "left": _described(layers.matmul_naive(Tensor(a), b)),
            "right": _described(layers.matmul_naive(a, Tensor(b)))}


def check_matmul_naive_rejects_mismatched_sizes(layers, rng):
    """The APPROACH: `_check_matmul_shapes` refuses inner sizes that differ (module.yaml: its words)."""
    M, K, N = _shape(rng, 1, 9, 3)
    a, b = rng.standard_normal((M, K)), rng.standard_normal((K, N))
    return refuses(lambda: _described(layers.matmul_naive(a, b)),
                   lambda: layers.matmul_naive(np.ones((M, K)), np.ones((K + 1, N))), (M, K), (K + 1, N))


### BEGIN HIDDEN TESTS
def check_matmul_naive_rejects_a_vector(layers, rng):
    """The APPROACH: `_check_matmul_shapes` refuses anything but two 2-D matrices."""
    K, N = _shape(rng, 1, 9, 2)
    a, b = rng.standard_normal((1, K)), rng.standard_normal((K, N))
    return refuses(lambda: _described(layers.matmul_naive(a, b)),
                   lambda: layers.matmul_naive(np.ones(K), np.ones((K, N))), (K,), (K, N))
### END HIDDEN TESTS


# --------------------------------------------------------------------------- Dense: construction


def check_dense_init(layers, rng):
    """weight (in, out) and bias (out,), float32, requires_grad, filling U(±1/√in); sizes stored.
    in >= 8 and out <= in/2, so that a bound of 1/in (at most 0.35/√in) misses the spread and
    one of 1/√out overshoots ±1/√in."""
    n_in = int(rng.integers(8, 17))
    n_out = int(rng.integers(2, n_in // 2 + 1))
    layer = layers.Dense(n_in, n_out)
    bound = 1 / np.sqrt(n_in)
    values = np.concatenate([layer.weight.data.ravel(), layer.bias.data.ravel()])
    return {"sizes": [layer.input_size, layer.output_size],
            "weight": [layer.weight.shape, str(layer.weight.data.dtype), layer.weight.requires_grad],
            "bias": [layer.bias.shape, str(layer.bias.data.dtype), layer.bias.requires_grad],
            "within_bound": bool(np.abs(values).max() <= bound * (1 + 1e-6)),
            "spread": bool(np.abs(values).max() > 0.4 * bound and values.std() > 0.2 * bound)}


def _values(tensors):
    """The values of ``tensors``: parameters set from rng (`_dense`), which no one can guess."""
    return [np.asarray(t.data) for t in tensors]


def check_dense_without_bias(layers, rng):
    """use_bias=False: no bias (None), and parameters() is only the weight."""
    layer = _dense(layers, rng, use_bias=False)
    bias = None if layer.bias is None else np.asarray(getattr(layer.bias, "data", layer.bias))
    return {"bias": bias, "parameters": _values(layer.parameters())}


def check_dense_parameters_in_order(layers, rng):
    """The HINTS: weight assigned before bias, so parameters() is [weight, bias]."""
    return _values(_dense(layers, rng).parameters())


def check_dense_rejects_a_size_that_is_not_positive(layers, rng):
    """The APPROACH: `_check_size` refuses a size below 1 (module.yaml: its words)."""
    n_in, n_out = int(rng.integers(1, 9)), -int(rng.integers(0, 1000))

    def valid():
        layer = layers.Dense(n_in, 1 - n_out)
        return [layer.weight.shape, layer.bias.shape]
    return refuses(valid, lambda: layers.Dense(n_in, n_out), f"got {n_out}")


### BEGIN HIDDEN TESTS
def check_dense_init_is_reproducible_with_a_seed(layers, rng):
    """The HINTS: drawn from np.random, so np.random.seed(...) repeats a layer."""
    sizes, seed = _shape(rng, 1, 8, 2), int(rng.integers(0, 2 ** 31))
    np.random.seed(seed)
    first = layers.Dense(*sizes)
    np.random.seed(seed)
    second = layers.Dense(*sizes)
    return {"weight": second.weight.data - first.weight.data, "bias": second.bias.data - first.bias.data}  # zeros
### END HIDDEN TESTS


# --------------------------------------------------------------------------- Dense: forward


def _dense(layers, rng, use_bias=True):
    """A Dense layer whose weight and bias are set from rng, never 1×1 (x @ Wᵀ would pass)."""
    n_in, n_out = _shape(rng, 1, 8, 2)
    n_out += n_in == n_out == 1
    layer = layers.Dense(n_in, n_out, use_bias=use_bias)
    layer.weight.data[...] = rng.standard_normal((n_in, n_out))
    if use_bias:
        layer.bias.data[...] = rng.standard_normal(n_out)
    return layer


def check_dense_forward(layers, rng):
    """y = x @ W + b on a batch (N, in): a float32 Tensor (N, out)."""
    layer = _dense(layers, rng)
    x = rng.standard_normal((int(rng.integers(1, 7)), layer.weight.shape[0])).astype(np.float32)
    return _described(layer(Tensor(x)))


def check_dense_forward_shapes(layers, rng):
    """One sample (in,) gives (out,); leading batch axes (A, B, in) give (A, B, out)."""
    layer = _dense(layers, rng)
    n_in = layer.weight.shape[0]
    return {"sample": _described(layer(Tensor(rng.standard_normal(n_in)))),
            "leading_axes": _described(layer(Tensor(rng.standard_normal((2, 3, n_in)))))}


def check_dense_forward_converts_its_input(layers, rng):
    """The APPROACH: arrays and lists are wrapped; float64 and integer inputs take the weight's float32."""
    layer = _dense(layers, rng)
    x = rng.standard_normal((3, layer.weight.shape[0]))
    return {"float64_array": _described(layer(x)), "list": _described(layer(x.tolist())),
            "float64_tensor": _described(layer(Tensor(x, dtype=np.float64))),
            "integer_tensor": _described(layer(Tensor(rng.integers(-3, 4, x.shape))))}


def check_dense_forward_in_the_weights_dtype(layers, rng):
    """The APPROACH: the input takes the weight's dtype, so float64 parameters compute in float64."""
    layer = _dense(layers, rng)
    for p in layer.parameters():
        p.data = p.data.astype(np.float64)
    x = rng.standard_normal((3, layer.weight.shape[0]))
    return {"float32_input": _described(layer(Tensor(x))),
            "float64_input": _described(layer(Tensor(x, dtype=np.float64))),
            "integer_input": _described(layer(Tensor(rng.integers(-3, 4, x.shape))))}


def check_dense_forward_without_bias(layers, rng):
    """use_bias=False: y = x @ W."""
    layer = _dense(layers, rng, use_bias=False)
    return _described(layer(Tensor(rng.standard_normal((4, layer.weight.shape[0])))))


def check_dense_forward_rejects_the_wrong_width(layers, rng):
    """The APPROACH: `_check_features` refuses an input whose last size is not input_size."""
    width, batch = _shape(rng, 1, 9, 2)
    layer = layers.Dense(width, 3)
    layer.weight.data[...] = rng.standard_normal((width, 3))
    layer.bias.data[...] = rng.standard_normal(3)
    good = rng.standard_normal((batch, width)).astype(np.float32)
    return refuses(lambda: _described(layer(Tensor(good))),
                   lambda: layer(Tensor(np.ones((batch, width + 1)))), f"(N, {width})", (batch, width + 1))
