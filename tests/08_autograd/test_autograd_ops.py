"""Gradients of every tensor operation against central finite differences (float64)."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tinytorch.core.autograd import unbroadcast
from tinytorch.core.tensor import Tensor

from finite_differences import gradcheck

F64 = np.float64


def leaf(shape, seed=0, low=-2.0, high=2.0):
    """A float64 tensor that requires grad, with values drawn uniformly from [low, high)."""
    data = np.random.default_rng(seed).uniform(low, high, size=shape)
    return Tensor(data, dtype=F64, requires_grad=True)


def positive(shape, seed=0):
    return leaf(shape, seed, 0.5, 2.0)


# ------------------------------------------------------------------ unbroadcast
def test_unbroadcast_hand_computed():
    g = np.arange(6.0).reshape(2, 3)
    np.testing.assert_array_equal(unbroadcast(g, (3,)), [3.0, 5.0, 7.0])
    np.testing.assert_array_equal(unbroadcast(g, (2, 1)), [[3.0], [12.0]])
    np.testing.assert_array_equal(unbroadcast(g, (1, 1)), [[15.0]])
    assert unbroadcast(g, ()) == 15.0


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(1, 3), min_size=0, max_size=3), st.data())
def test_unbroadcast_undoes_broadcast_to(shape, data):
    """Summing the broadcast copies of ones gives how many copies each element got."""
    extra = data.draw(st.lists(st.integers(1, 3), max_size=2))
    target = tuple(extra) + tuple(s * data.draw(st.sampled_from([1, 2])) if s == 1 else s for s in shape)
    grad = unbroadcast(np.ones(target), tuple(shape))
    assert grad.shape == tuple(shape)
    copies = np.prod(target) / max(np.prod(shape), 1)
    np.testing.assert_array_equal(grad, np.full(shape, copies))


# ------------------------------------------------------------------ binary operations
SHAPES = [((3, 4), (3, 4)), ((3, 4), (4,)), ((3, 1), (1, 4)), ((2, 3, 4), (3, 1)), ((4,), ())]


@pytest.mark.parametrize("shape_a,shape_b", SHAPES)
@pytest.mark.parametrize("op", ["add", "sub", "mul", "div", "pow"])
def test_binary_ops_with_broadcasting(op, shape_a, shape_b):
    a = positive(shape_a, 1)
    b = positive(shape_b, 2)
    fn = {
        "add": lambda: a + b, "sub": lambda: a - b, "mul": lambda: a * b,
        "div": lambda: a / b, "pow": lambda: a ** b,
    }[op]
    assert gradcheck(fn, [a, b])
    assert a.grad.shape == shape_a and b.grad.shape == shape_b


@pytest.mark.parametrize("expr", [
    lambda x: 2.5 + x, lambda x: x + 1, lambda x: 3.0 - x, lambda x: x - 0.5,
    lambda x: 2.0 * x, lambda x: x * -3, lambda x: 1.5 / x, lambda x: x / 4,
    lambda x: x ** 3, lambda x: x ** 0.5, lambda x: x ** -1.5, lambda x: -x,
    lambda x: np.array([1.0, 2.0, 3.0]) - x, lambda x: [2.0, 1.0, 0.5] * x,
])
def test_ops_with_plain_numbers_and_arrays(expr):
    x = positive((2, 3), 3)
    assert gradcheck(lambda: expr(x), [x])


def test_exponent_tensor_gets_log_gradient():
    x = Tensor([2.0, 3.0], dtype=F64, requires_grad=True)
    p = Tensor([3.0, 2.0], dtype=F64, requires_grad=True)
    (x ** p).sum().backward()
    np.testing.assert_allclose(x.grad.data, [3 * 4.0, 2 * 3.0])
    np.testing.assert_allclose(p.grad.data, [8 * np.log(2.0), 9 * np.log(3.0)])


def test_a_zero_exponent_gives_a_zero_gradient_even_at_zero():
    """x ** 0 is 1 everywhere: its gradient is 0, as PyTorch gives, where p * x**(p-1) is 0 * inf at 0."""
    x = Tensor([0.0, 2.0, -3.0], requires_grad=True)
    p = Tensor([0.0, 0.0, 2.0], requires_grad=True)
    (x ** 0).sum().backward()
    np.testing.assert_array_equal(x.grad.data, [0.0, 0.0, 0.0])
    x.grad = None
    (x ** p).sum().backward()
    np.testing.assert_array_equal(x.grad.data, [0.0, 0.0, -6.0])
    assert x.grad.dtype == np.float32


def test_mul_hand_computed_with_broadcast_row():
    x = Tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    w = Tensor([10.0, 100.0], requires_grad=True)
    (x * w).sum().backward()
    np.testing.assert_array_equal(x.grad.data, [[10, 100], [10, 100]])
    np.testing.assert_array_equal(w.grad.data, [4, 6])
    assert x.grad.dtype == np.float32


# ------------------------------------------------------------------ matmul
MATMUL_SHAPES = [
    ((3, 4), (4, 5)), ((4,), (4, 5)), ((3, 4), (4,)), ((4,), (4,)),
    ((2, 3, 4), (4, 5)), ((2, 3, 4), (2, 4, 5)), ((5, 3, 4), (1, 4, 2)), ((3, 4), (2, 4, 5)),
]


@pytest.mark.parametrize("shape_a,shape_b", MATMUL_SHAPES)
def test_matmul_shapes(shape_a, shape_b):
    a, b = leaf(shape_a, 4), leaf(shape_b, 5)
    assert gradcheck(lambda: a @ b, [a, b])
    assert gradcheck(lambda: a.matmul(b), [a, b])


def test_matmul_hand_computed():
    a = Tensor([[1.0, 2.0]], requires_grad=True)
    b = Tensor([[3.0], [4.0]], requires_grad=True)
    (a @ b).backward()  # a one-element result needs no explicit gradient
    np.testing.assert_array_equal(a.grad.data, [[3.0, 4.0]])
    np.testing.assert_array_equal(b.grad.data, [[1.0], [2.0]])


def test_array_at_tensor_uses_rmatmul():
    w = leaf((4, 2), 6)
    x = np.random.default_rng(7).normal(size=(3, 4))
    assert gradcheck(lambda: x @ w, [w])


# ------------------------------------------------------------------ reductions
AXES = [None, 0, 1, -1, (0, 2), ()]


@pytest.mark.parametrize("axis", AXES)
@pytest.mark.parametrize("keepdims", [False, True])
@pytest.mark.parametrize("name", ["sum", "mean", "max"])
def test_reductions(name, axis, keepdims):
    x = leaf((2, 3, 4), 8)  # continuous random values: no ties for max
    assert gradcheck(lambda: getattr(x, name)(axis=axis, keepdims=keepdims), [x])


def test_reductions_positional_axis():
    x = leaf((3, 4), 9)
    assert gradcheck(lambda: x.sum(1), [x])
    assert gradcheck(lambda: x.mean(0, True), [x])


def test_max_ties_share_the_gradient():
    x = Tensor([[1.0, 5.0, 5.0], [2.0, 0.0, 2.0]], requires_grad=True)
    x.max(axis=1).sum().backward()
    np.testing.assert_array_equal(x.grad.data, [[0, 0.5, 0.5], [0.5, 0, 0.5]])
    y = Tensor([3.0, 3.0, 3.0, 1.0], requires_grad=True)
    y.max().backward()
    np.testing.assert_allclose(y.grad.data, [1 / 3, 1 / 3, 1 / 3, 0])


def test_mean_hand_computed():
    x = Tensor(np.ones((2, 5)), requires_grad=True)
    x.mean().backward()
    np.testing.assert_array_equal(x.grad.data, np.full((2, 5), 0.1, dtype=np.float32))


# ------------------------------------------------------------------ shape operations
@pytest.mark.parametrize("expr", [
    lambda x: x.reshape(4, 6), lambda x: x.reshape((6, -1)), lambda x: x.flatten(),
    lambda x: x.transpose(), lambda x: x.transpose(1, 0, 2), lambda x: x.transpose((2, 0, 1)),
    lambda x: x.transpose(-1, 0, 1), lambda x: x.T,
])
def test_shape_ops(expr):
    x = leaf((2, 3, 4), 10)
    assert gradcheck(lambda: expr(x), [x])


@pytest.mark.parametrize("key", [
    0, -1, slice(1, 3), (slice(None), 1), (0, slice(1, None, 2)), (Ellipsis, 2),
    np.array([2, 0, 2, 2]), [1, 1, 0], (np.array([0, 1, 1]), np.array([3, 3, 0])),
    np.array([[True, False, True, False]] * 3),
])
def test_indexing(key):
    x = leaf((3, 4), 11)
    assert gradcheck(lambda: x[key], [x])


def test_indexing_with_repeats_adds_up():
    x = Tensor([1.0, 2.0, 3.0], requires_grad=True)
    x[Tensor([0, 0, 2, 0])].sum().backward()
    np.testing.assert_array_equal(x.grad.data, [3, 0, 1])


@settings(max_examples=25, deadline=None)
@given(
    st.lists(st.integers(1, 3), min_size=1, max_size=3),
    st.lists(st.booleans(), min_size=3, max_size=3),
    st.integers(0, 10_000),
)
def test_broadcast_mul_add_any_shapes(shape, squeeze, seed):
    """a * b + b for b broadcast from a shape with some axes set to 1."""
    b_shape = tuple(1 if s else n for n, s in zip(shape, squeeze))[1:]
    a, b = leaf(tuple(shape), seed), leaf(b_shape, seed + 1)
    assert gradcheck(lambda: a * b + b, [a, b])
