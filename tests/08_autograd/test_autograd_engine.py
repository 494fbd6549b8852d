"""The backward pass: accumulation, graph shapes, no_grad, errors, and enabling autograd."""

import numpy as np
import pytest

import tinytorch.core.autograd as autograd
import tinytorch.core.tensor as tensor_module
from tinytorch.core.activations import ReLU, Sigmoid
from tinytorch.core.autograd import backward, is_grad_enabled, no_grad, topological_order
from tinytorch.core.cnn import Conv2D, Flatten, MaxPool2D, AvgPool2D
from tinytorch.core.layers import Dense
from tinytorch.core.networks import Sequential
from tinytorch.core.tensor import Tensor


def test_gradients_accumulate_until_zeroed():
    x = Tensor([1.0, 2.0], requires_grad=True)
    (x * 3).sum().backward()
    (x * 3).sum().backward()
    np.testing.assert_array_equal(x.grad.data, [6.0, 6.0])
    x.grad = None
    (x * x).sum().backward()
    np.testing.assert_array_equal(x.grad.data, [2.0, 4.0])


def test_diamond_graph_adds_both_paths():
    x = Tensor([3.0], requires_grad=True)
    h = x * 2          # dh/dx = 2
    y = h * h + h      # dy/dh = 2h + 1 = 13
    y.backward()
    np.testing.assert_array_equal(x.grad.data, [26.0])


def test_same_tensor_twice_in_one_op():
    x = Tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    (x @ x).sum().backward()
    expected = np.ones((2, 2)) @ x.data.T + x.data.T @ np.ones((2, 2))
    np.testing.assert_array_equal(x.grad.data, expected)


def test_topological_order_puts_inputs_first():
    a = Tensor([1.0], requires_grad=True)
    b = a * 2
    c = b + a
    d = c * b
    order = topological_order(d)
    position = {id(t): i for i, t in enumerate(order)}
    assert position[id(a)] < position[id(b)] < position[id(c)] < position[id(d)]
    assert len(order) == 4


def test_grad_is_a_tensor_of_the_leaf_dtype_and_only_on_leaves():
    w = Tensor(np.ones((2, 2)), requires_grad=True)
    h = w * 2
    (h + 1).sum().backward()
    assert isinstance(w.grad, Tensor) and w.grad.dtype == np.float32
    assert h.grad is None and not h.is_leaf and w.is_leaf
    assert h.grad_fn.name == "MulBackward" and w.grad_fn is None


def test_tensors_without_requires_grad_get_nothing():
    x = Tensor([1.0, 2.0])
    w = Tensor([3.0, 4.0], requires_grad=True)
    (x * w).sum().backward()
    assert x.grad is None
    np.testing.assert_array_equal(w.grad.data, [1.0, 2.0])
    assert not (x * 2).requires_grad


def test_explicit_gradient_for_non_scalar_output():
    x = Tensor([1.0, 2.0, 3.0], requires_grad=True)
    (x * x).backward(Tensor([1.0, 0.0, 2.0]))
    np.testing.assert_array_equal(x.grad.data, [2.0, 0.0, 12.0])
    (x * 1).backward(np.array([1.0, 1.0, 1.0]))
    np.testing.assert_array_equal(x.grad.data, [3.0, 1.0, 13.0])


def test_non_scalar_without_gradient_is_a_value_error():
    x = Tensor(np.ones((2, 3)), requires_grad=True)
    with pytest.raises(ValueError, match=r"scalar.*\(2, 3\)"):
        (x * 2).backward()


def test_gradient_of_the_wrong_shape_is_a_value_error():
    x = Tensor(np.ones((2, 3)), requires_grad=True)
    with pytest.raises(ValueError, match=r"\(2, 3\).*\(3,\)"):
        (x * 2).backward(np.ones(3))


def test_backward_on_tensor_without_graph_is_a_runtime_error():
    with pytest.raises(RuntimeError, match="does not require grad"):
        Tensor([1.0]).backward()


def test_no_grad_records_nothing_and_restores():
    w = Tensor([1.0], requires_grad=True)
    with no_grad():
        assert not is_grad_enabled()
        y = w * 2
        with no_grad():
            pass
        assert not is_grad_enabled()
    assert is_grad_enabled()
    assert not y.requires_grad and y.grad_fn is None


def test_no_grad_as_decorator_and_after_an_exception():
    @no_grad()
    def doubled(t):
        return t * 2

    w = Tensor([1.0], requires_grad=True)
    assert not doubled(w).requires_grad
    with pytest.raises(KeyError):
        with no_grad():
            raise KeyError("boom")
    assert is_grad_enabled() and (w * 2).requires_grad


def test_detach_cuts_the_graph():
    w = Tensor([2.0], requires_grad=True)
    d = (w * 3).detach()
    assert not d.requires_grad and d.grad_fn is None
    (w * d).backward()
    np.testing.assert_array_equal(w.grad.data, [6.0])


def test_deep_graph_needs_no_recursion():
    x = Tensor([1.0], requires_grad=True)
    y = x
    for _ in range(5000):
        y = y * 1.0 + 0.0
    y.backward()
    np.testing.assert_array_equal(x.grad.data, [1.0])


def test_backward_function_and_method_agree():
    x = Tensor([1.0, -1.0], requires_grad=True)
    backward((x * x).sum())
    first = x.grad.data.copy()
    x.grad = None
    (x * x).sum().backward()
    np.testing.assert_array_equal(first, x.grad.data)


# ------------------------------------------------------------------ enabling autograd
def _network():
    np.random.seed(3)
    return Sequential([
        Conv2D(1, 4, 3, padding=1), ReLU(), MaxPool2D(2), Conv2D(4, 2, 3, padding=1),
        Sigmoid(), AvgPool2D(2), Flatten(), Dense(8, 3),
    ])


def test_forward_values_are_bit_identical_without_autograd():
    model = _network()
    x = Tensor(np.random.default_rng(0).normal(size=(2, 1, 8, 8)))
    a = Tensor(np.random.default_rng(1).normal(size=(3, 4)), requires_grad=True)
    with_graph = [model(x), (a * 3 - 1) / 7 @ a.T, a.max(axis=0), a.mean(), a[1:, ::2] ** 2]
    assert with_graph[0].requires_grad
    autograd.disable_autograd()
    try:
        plain = [model(x), (a * 3 - 1) / 7 @ a.T, a.max(axis=0), a.mean(), a[1:, ::2] ** 2]
        assert all(t.grad_fn is None and not t.requires_grad for t in plain)
        with pytest.raises(RuntimeError, match="module 08"):
            plain[0].backward()
    finally:
        autograd.enable_autograd()
    for got, expected in zip(with_graph, plain):
        assert got.dtype == expected.dtype
        assert np.array_equal(got.data, expected.data)


def test_enable_autograd_is_idempotent():
    autograd.enable_autograd()
    autograd.enable_autograd()
    assert isinstance(tensor_module.get_autograd(), autograd.Autograd) and autograd.is_autograd_enabled()
    x = Tensor([1.0], requires_grad=True)
    (x + x).backward()
    np.testing.assert_array_equal(x.grad.data, [2.0])  # one node, not a doubled one
    assert [t is x for t in topological_order(x + x)] == [True, False]


def test_layer_forward_records_one_node():
    conv = Conv2D(1, 2, 3)
    out = conv(Tensor(np.ones((1, 1, 4, 4))))
    assert out.grad_fn.name == "Conv2DBackward"
    assert out.grad_fn.inputs[1] is conv.weight and out.grad_fn.inputs[2] is conv.bias
    dense_out = Dense(3, 2)(Tensor(np.ones((1, 3))))
    assert dense_out.grad_fn.name == "AddBackward"  # Dense works through the tensor ops
