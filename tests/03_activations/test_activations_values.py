"""Activations: exact values, shapes, dtypes, axes, stability at ±1000 and the callable interface."""

import numpy as np
import pytest

from tinytorch.core.activations import LeakyReLU, ReLU, Sigmoid, Softmax, Tanh
from tinytorch.core.tensor import Tensor

ALL = [ReLU(), LeakyReLU(), Sigmoid(), Tanh(), Softmax()]


# ------------------------------------------------------------------ values
def test_relu_values():
    out = ReLU()(Tensor([[-3.0, -0.0, 0.0, 0.25, 7.0]]))
    np.testing.assert_array_equal(out.data, [[0.0, 0.0, 0.0, 0.25, 7.0]])


def test_relu_keeps_integers():
    out = ReLU()(Tensor([-2, 0, 5]))
    assert out.dtype == np.int64
    np.testing.assert_array_equal(out.data, [0, 0, 5])


def test_leaky_relu_default_slope():
    out = LeakyReLU()(Tensor([-200.0, -1.0, 0.0, 3.0]))
    np.testing.assert_allclose(out.data, [-2.0, -0.01, 0.0, 3.0], rtol=1e-6)
    assert LeakyReLU().negative_slope == 0.01


def test_leaky_relu_custom_slope_and_int_input():
    out = LeakyReLU(negative_slope=0.5)(Tensor([-4, 2]))
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out.data, [-2.0, 2.0])


def test_sigmoid_hand_values():
    out = Sigmoid()(Tensor([0.0, np.log(3.0), -np.log(3.0)]))
    np.testing.assert_allclose(out.data, [0.5, 0.75, 0.25], rtol=1e-6)


def test_sigmoid_matches_float64_formula():
    x = np.linspace(-30, 30, 601)
    out = Sigmoid()(Tensor(x, dtype=np.float64))
    np.testing.assert_allclose(out.data, 1 / (1 + np.exp(-x)), rtol=1e-14)


def test_sigmoid_small_outputs_keep_relative_precision():
    # σ(-20) ≈ 2.06e-9: a `1 - σ(20)` shortcut would give exactly 0 in float32.
    out = Sigmoid()(Tensor([-20.0]))
    np.testing.assert_allclose(out.data, [1 / (1 + np.exp(20.0))], rtol=1e-6)


def test_tanh_values():
    out = Tanh()(Tensor([-1.0, 0.0, 0.5]))
    np.testing.assert_allclose(out.data, np.tanh(np.float32([-1.0, 0.0, 0.5])), rtol=1e-6)
    assert out.data[1] == 0.0


def test_softmax_hand_values():
    out = Softmax()(Tensor([[0.0, np.log(3.0)], [1.0, 1.0]]))
    np.testing.assert_allclose(out.data, [[0.25, 0.75], [0.5, 0.5]], rtol=1e-6)


def test_softmax_axis_zero_normalises_columns():
    data = np.array([[1.0, 2.0], [3.0, 5.0]])
    out = Softmax(axis=0)(Tensor(data))
    e = np.exp(data)
    np.testing.assert_allclose(out.data, e / e.sum(axis=0, keepdims=True), rtol=1e-6)
    np.testing.assert_allclose(out.data.sum(axis=0), [1.0, 1.0], rtol=1e-6)


def test_softmax_over_channels_of_a_4d_batch():
    data = np.random.default_rng(1).standard_normal((2, 3, 4, 5))
    out = Softmax(axis=1)(Tensor(data))
    assert out.shape == (2, 3, 4, 5)
    np.testing.assert_allclose(out.data.sum(axis=1), np.ones((2, 4, 5)), rtol=1e-6)


def test_softmax_is_shift_invariant():
    x = Tensor([[1.0, 2.0, 3.0]])
    np.testing.assert_allclose(Softmax()(x).data, Softmax()(x + 100).data, rtol=1e-6)


def test_softmax_single_element_is_one():
    assert Softmax()(Tensor([42.0])).data.tolist() == [1.0]


def test_softmax_empty_input_gives_empty_output():
    out = Softmax()(Tensor(np.zeros((0, 3))))
    assert out.shape == (0, 3)


def test_softmax_bad_axis_is_value_error():
    with pytest.raises(ValueError, match="axis 2"):
        Softmax(axis=2)(Tensor([[1.0, 2.0]]))


# ------------------------------------------------------------------ stability
@pytest.mark.filterwarnings("error")
def test_sigmoid_exact_at_plus_minus_1000_without_warnings():
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        out = Sigmoid()(Tensor([-1000.0, 1000.0]))
    assert out.data.tolist() == [0.0, 1.0]


@pytest.mark.filterwarnings("error")
def test_sigmoid_exact_at_plus_minus_1000_in_float64():
    out = Sigmoid()(Tensor([-1000.0, 1000.0], dtype=np.float64))
    assert out.data.tolist() == [0.0, 1.0]


@pytest.mark.filterwarnings("error")
def test_softmax_exact_at_plus_minus_1000_without_warnings():
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        out = Softmax()(Tensor([[1000.0, -1000.0], [-1000.0, 1000.0], [1000.0, 1000.0]]))
    np.testing.assert_array_equal(out.data, [[1.0, 0.0], [0.0, 1.0], [0.5, 0.5]])


@pytest.mark.filterwarnings("error")
def test_tanh_and_relus_exact_at_plus_minus_1000():
    x = Tensor([-1000.0, 1000.0])
    assert Tanh()(x).data.tolist() == [-1.0, 1.0]
    assert ReLU()(x).data.tolist() == [0.0, 1000.0]
    assert LeakyReLU()(x).data.tolist() == pytest.approx([-10.0, 1000.0])


# ------------------------------------------------------------------ interface
@pytest.mark.parametrize("activation", ALL, ids=repr)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_float_dtype_and_shape_are_kept(activation, dtype):
    x = Tensor(np.linspace(-3, 3, 24).reshape(2, 3, 4), dtype=dtype)
    out = activation(x)
    assert isinstance(out, Tensor)
    assert out.shape == (2, 3, 4)
    assert out.dtype == dtype


@pytest.mark.parametrize("activation", [Sigmoid(), Tanh(), Softmax(), LeakyReLU()], ids=repr)
def test_integer_input_gives_float32(activation):
    assert activation(Tensor([[1, 2, 3]])).dtype == np.float32


@pytest.mark.parametrize("activation", ALL, ids=repr)
def test_call_equals_forward_and_no_parameters(activation):
    x = Tensor([[-1.0, 0.5, 2.0]])
    np.testing.assert_array_equal(activation(x).data, activation.forward(x).data)
    assert activation.parameters() == []


@pytest.mark.parametrize("activation", ALL, ids=repr)
def test_scalar_and_one_element_inputs(activation):
    out = activation(Tensor([[0.0]]))
    assert out.shape == (1, 1)


@pytest.mark.parametrize("activation", ALL, ids=repr)
def test_input_is_not_modified(activation):
    x = Tensor([[-1.0, 2.0]])
    activation(x)
    np.testing.assert_array_equal(x.data, [[-1.0, 2.0]])


def test_array_like_input_is_accepted():
    np.testing.assert_array_equal(ReLU()([[-1.0, 1.0]]).data, [[0.0, 1.0]])


def test_bad_input_is_value_error():
    with pytest.raises(ValueError, match="rectangular"):
        Sigmoid()([[1.0], [1.0, 2.0]])


def test_reprs():
    assert repr(ReLU()) == "ReLU()"
    assert repr(Softmax(axis=1)) == "Softmax(axis=1)"
    assert repr(LeakyReLU(0.2)) == "LeakyReLU(negative_slope=0.2)"
