"""Graded checks of module 02 (tensor): what `tito grade` gives points for.

Each check calls the student's exported `tinytorch.core.tensor` (the `tensor` argument) on inputs
drawn from `rng`, seeded from the grading run's secret seed, and returns plain data: arrays and
their dtypes as strings, since the module's dtype rules are part of what it asks. The grader runs
the same check on the reference solution and compares the two outside the sandbox. Points:
`checks:` in modules/source/02_tensor/module.yaml. Format: modules/README.md, "Graded checks".
"""

import numpy as np

from tito.grading.data import refuses  # a valid input's value, then a refusal naming words drawn from the seed


def _shape(rng, low, high, n):
    return tuple(int(v) for v in rng.integers(low, high + 1, n))


def _described(t):
    """A Tensor result as data: its values and its dtype's name."""
    return {"data": np.asarray(t.data), "dtype": str(t.data.dtype)}


# --------------------------------------------------------------------------- construction


def check_creation_dtypes(tensor, rng):
    """The dtype rule: floats -> float32, integers and bools kept, an explicit dtype kept."""
    Tensor = tensor.Tensor
    floats = rng.standard_normal(_shape(rng, 1, 4, 2))
    integers = rng.integers(-50, 50, _shape(rng, 1, 4, 3))
    cases = {
        "float_list": Tensor(floats.tolist()),
        "float64_array": Tensor(floats),
        "int_list": Tensor(integers.tolist()),
        "int_array": Tensor(integers),
        "bool_array": Tensor(floats > 0),
        "python_int": Tensor(int(rng.integers(-9, 10))),
        "python_float": Tensor(float(rng.standard_normal())),
        "explicit_float64": Tensor(floats.tolist(), dtype=np.float64),
        "int_as_float32": Tensor(integers, dtype=np.float32),
        "from_a_tensor": Tensor(Tensor(integers)),
    }
    return {name: _described(t) for name, t in cases.items()}


def check_creation_copies(tensor, rng):
    """The constructor copies: changing the source afterwards leaves the tensor as it was."""
    source = rng.standard_normal(_shape(rng, 2, 5, 2)).astype(np.float32)
    from_array = tensor.Tensor(source)
    from_tensor = tensor.Tensor(from_array)
    source += 1.0
    from_array.data += 10.0  # .data is the tensor's own array, writable in place
    return {"from_array": from_array.data, "from_tensor": from_tensor.data}


def check_creation_rejects_ragged_lists(tensor, rng):
    """The APPROACH: `_numeric_array` refuses rows of different lengths (module.yaml: its words)."""
    short = int(rng.integers(1, 10))
    rows = rng.standard_normal((2, short)).tolist()
    return refuses(lambda: _described(tensor.Tensor(rows)),
                   lambda: tensor.Tensor([[1.0] * (short + 1), [2.0] * short]), [short + 1, short])


def check_creation_rejects_data_that_is_not_numbers(tensor, rng):
    """Section 2: strings (and other non-numbers) raise TypeError through `_numeric_array`."""
    length = int(rng.integers(1, 10))
    return refuses(lambda: _described(tensor.Tensor([length, float(rng.standard_normal())])),
                   lambda: tensor.Tensor(["x" * length, "y"]), f"<U{length}")


def check_creation_rejects_integers_requiring_grad(tensor, rng):
    """The APPROACH: only floating tensors may require gradients (ValueError)."""
    dtype = rng.choice(["int8", "int16", "int32", "int64", "uint8", "uint16", "uint32"])
    values = rng.integers(0, 9, int(rng.integers(1, 5))).astype(dtype)
    return refuses(lambda: _described(tensor.Tensor(values)),
                   lambda: tensor.Tensor(values, requires_grad=True), f"got dtype {dtype}")


def check_creation_autograd_attributes(tensor, rng):
    """requires_grad as given (seeded flags; False by default) and grad None."""
    values = rng.standard_normal(int(rng.integers(1, 6)))
    given = [tensor.Tensor(values, requires_grad=bool(flag)) for flag in rng.random(8) < 0.5]
    plain = tensor.Tensor(values)
    return {"requires_grad": [t.requires_grad for t in given], "grad": [t.grad for t in given],
            "default": [plain.requires_grad, plain.grad]}


### BEGIN HIDDEN TESTS
def check_creation_rejects_the_placeholder(tensor, rng):
    """Section 2: a literal `...` copied from the docs is refused (module.yaml: its words)."""
    row = [float(v) for v in rng.standard_normal(int(rng.integers(1, 8)))]
    at = int(rng.integers(0, len(row) + 1))
    return refuses(lambda: _described(tensor.Tensor([row])),
                   lambda: tensor.Tensor([row[:at] + [...] + row[at:]]), f"data[0][{at}]")
### END HIDDEN TESTS


# --------------------------------------------------------------------------- arithmetic


def _broadcast_pair(rng):
    """Two float arrays of broadcastable shapes: (M, N) and (N,), or (M, 1) and (1, N)."""
    M, N = _shape(rng, 1, 5, 2)
    if rng.random() < 0.5:
        return rng.standard_normal((M, N)), rng.standard_normal(N)
    return rng.standard_normal((M, 1)), rng.standard_normal((1, N))


def check_arithmetic(tensor, rng):
    """+ - * / of two tensors, with broadcasting."""
    a, b = _broadcast_pair(rng)
    b = np.where(np.abs(b) < 0.1, 0.5, b)
    x, y = tensor.Tensor(a), tensor.Tensor(b)
    return {"add": _described(x + y), "sub": _described(x - y), "mul": _described(x * y),
            "div": _described(x / y)}


def check_arithmetic_with_numbers_lists_and_arrays(tensor, rng):
    """The other operand may be a Python number, a list or an ndarray."""
    a = rng.standard_normal(_shape(rng, 1, 4, 2))
    x, k = tensor.Tensor(a), float(rng.uniform(0.5, 3.0))
    row = rng.standard_normal(a.shape[1])
    return {"add_number": _described(x + k), "sub_list": _described(x - row.tolist()),
            "mul_array": _described(x * row), "div_number": _described(x / k),
            "add_int": _described(tensor.Tensor(a.astype(np.int64)) + int(rng.integers(1, 9)))}


def check_arithmetic_dtypes(tensor, rng):
    """PyTorch's rules through `_result`: int / int is float32, float64 stays float64 (values and dtypes)."""
    Tensor = tensor.Tensor
    i, j = Tensor(rng.integers(1, 9, 3)), Tensor(rng.integers(1, 9, 3))
    f32 = Tensor(rng.standard_normal(3))
    f64 = Tensor(rng.standard_normal(3), dtype=np.float64)
    results = {"int_plus_int": i + j, "int_minus_int": i - j, "int_times_int": i * j, "int_over_int": i / j,
               "int_over_number": i / 2, "float32_times_number": f32 * 0.5, "float32_plus_int": f32 + i,
               "float64_times_float64": f64 * f64, "float64_over_number": f64 / 3}
    return {name: _described(t) for name, t in results.items()}


### BEGIN HIDDEN TESTS
def check_arithmetic_rejects_incompatible_shapes(tensor, rng):
    """Section 3.2: (M, N) + (M,) with M != N cannot broadcast: NumPy's ValueError."""
    M = int(rng.integers(2, 5))
    x = rng.standard_normal((M, M + 1))
    return refuses(lambda: _described(tensor.Tensor(x) + tensor.Tensor(x[0])),
                   lambda: tensor.Tensor(np.ones((M, M + 1))) + tensor.Tensor(np.ones(M)))
### END HIDDEN TESTS


# --------------------------------------------------------------------------- matmul


def check_matmul(tensor, rng):
    """(M, K) @ (K, N), a matrix times a vector, and a batch (B, M, K) @ (K, N)."""
    M, K, N, B = _shape(rng, 1, 5, 4)
    Tensor = tensor.Tensor
    a, b = rng.standard_normal((M, K)), rng.standard_normal((K, N))
    batch = rng.standard_normal((B, M, K))
    return {"matrix": _described(Tensor(a) @ Tensor(b)),
            "vector": _described(Tensor(a) @ Tensor(b[:, 0])),
            "batch": _described(Tensor(batch) @ Tensor(b)),
            "with_a_list": _described(Tensor(a) @ b.tolist())}


def check_matmul_integers(tensor, rng):
    """Integer matrices give an exact integer product (K >= 2: with K = 1 it is an outer product,
    which an element-wise product also gives)."""
    M, K, N = _shape(rng, 1, 5, 3)
    K += K == 1
    a, b = rng.integers(-9, 10, (M, K)), rng.integers(-9, 10, (K, N))
    return _described(tensor.Tensor(a) @ tensor.Tensor(b))


def check_matmul_rejects_mismatched_shapes(tensor, rng):
    """The APPROACH: the given `_check_matmul` raises ValueError naming both shapes when the inner
    sizes differ."""
    M, K, N = _shape(rng, 1, 5, 3)
    a, b = (M, K), (K + int(rng.integers(1, 3)), N)
    return refuses(lambda: _described(tensor.Tensor(rng.standard_normal(a))
                                      @ tensor.Tensor(rng.standard_normal((K, N)))),
                   lambda: tensor.Tensor(np.ones(a)) @ tensor.Tensor(np.ones(b)), a, b)


def check_matmul_rejects_scalars(tensor, rng):
    """The APPROACH: a 0-d tensor is not a matrix: the given `_check_matmul` raises ValueError
    naming both shapes (the other's is drawn)."""
    scalar, size = float(rng.standard_normal()), int(rng.integers(1, 10))
    matrix = rng.standard_normal((int(rng.integers(1, 5)), size))
    return refuses(lambda: _described(tensor.Tensor(matrix) @ tensor.Tensor(np.full(size, scalar))),
                   lambda: tensor.Tensor(scalar) @ tensor.Tensor(np.ones(size)), (size,))


# --------------------------------------------------------------------------- reductions


def check_reductions(tensor, rng):
    """sum, mean and max over everything, one axis, a negative axis, a tuple, with keepdims."""
    x = tensor.Tensor(rng.standard_normal(_shape(rng, 2, 4, 3)))  # no axis of size 1: every reduction shows
    out = {}
    for name in ("sum", "mean", "max"):
        reduce = getattr(x, name)
        out[name] = [_described(reduce()), _described(reduce(axis=0)), _described(reduce(axis=-1)),
                     _described(reduce(axis=(0, 2))), _described(reduce(axis=1, keepdims=True)),
                     _described(reduce(keepdims=True))]
    return out


def check_reductions_of_integers(tensor, rng):
    """Integers: sum and max stay integer, mean is float32. At least 2 rows: over axis 1 of one row, a mean
    divided by the whole size is right."""
    x = tensor.Tensor(rng.integers(-20, 20, (int(rng.integers(2, 6)), int(rng.integers(1, 6)))))
    return {"sum": _described(x.sum(axis=0)), "mean": _described(x.mean(axis=1)), "max": _described(x.max()),
            "total": _described(x.sum()), "average": _described(x.mean())}


def check_max_rejects_an_empty_tensor(tensor, rng):
    """The APPROACH: an empty tensor has no maximum (ValueError)."""
    shape = (int(rng.integers(1, 10)), 0)
    return refuses(lambda: _described(tensor.Tensor(rng.standard_normal((shape[0], 2))).max()),
                   lambda: tensor.Tensor(np.zeros(shape)).max(), f"(shape {shape})")


# --------------------------------------------------------------------------- shapes


def check_reshape(tensor, rng):
    """reshape(a, b), reshape((a, b)) and a -1, keeping the row-major order (sizes >= 2, where the
    column-major order differs)."""
    a, b, c = _shape(rng, 2, 4, 3)
    x = tensor.Tensor(rng.standard_normal(a * b * c))
    return {"separate": _described(x.reshape(a, b * c)), "tuple": _described(x.reshape((a * b, c))),
            "inferred": _described(x.reshape(a, -1, c)), "flatten": _described(x.reshape(a, b, c).flatten())}


def check_reshape_rejects_a_size_mismatch(tensor, rng):
    """The APPROACH: ValueError naming the current shape, its size and the requested shape."""
    a, b = _shape(rng, 2, 5, 2)
    x = tensor.Tensor(np.zeros((a, b)))
    y = tensor.Tensor(rng.standard_normal((a, b)))
    return refuses(lambda: _described(y.reshape(b, a)), lambda: x.reshape(a + 1, b), (a, b), a * b, (a + 1, b))


def check_transpose(tensor, rng):
    """No axes reverses them; a permutation, given apart, as a tuple or with negative axes (sizes
    >= 2, where permutations differ)."""
    x = tensor.Tensor(rng.standard_normal(_shape(rng, 2, 4, 3)))
    order = tuple(int(a) for a in rng.permutation(3))
    return {"reversed": _described(x.transpose()), "separate": _described(x.transpose(*order)),
            "tuple": _described(x.transpose(order)), "negative": _described(x.transpose(-1, 0, 1)),
            "T": _described(x.T)}


def check_transpose_rejects_a_non_permutation(tensor, rng):
    """The APPROACH: axes that are not a permutation raise ValueError naming the shape and the axes."""
    shape = _shape(rng, 1, 4, 3)
    axes = (0, 0, 1) if rng.random() < 0.5 else (0, 1)
    return refuses(lambda: _described(tensor.Tensor(rng.standard_normal(shape)).transpose(2, 0, 1)),
                   lambda: tensor.Tensor(np.zeros(shape)).transpose(*axes), shape, axes)
