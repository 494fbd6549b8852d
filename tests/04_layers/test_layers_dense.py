"""Dense: exact outputs, shapes, initialisation, dtypes, bad input, MACs."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tinytorch.core.layers import Dense
from tinytorch.core.tensor import Tensor


def hand_layer():
    """Dense(2, 3) with W = [[1, 2, 3], [4, 5, 6]] and b = [0.5, -0.5, 1]."""
    layer = Dense(2, 3)
    layer.weight.data[:] = [[1, 2, 3], [4, 5, 6]]
    layer.bias.data[:] = [0.5, -0.5, 1]
    return layer


def test_hand_computed_batch():
    y = hand_layer()(Tensor([[1.0, 2.0], [0.0, -1.0]]))
    # row 0: [1+8+0.5, 2+10-0.5, 3+12+1]; row 1: [-4+0.5, -5-0.5, -6+1]
    assert isinstance(y, Tensor)
    assert y.shape == (2, 3) and y.dtype == np.float32
    assert y.data.tolist() == [[9.5, 11.5, 16.0], [-3.5, -5.5, -5.0]]


def test_single_sample_in_gives_single_sample_out():
    y = hand_layer()(Tensor([1.0, 2.0]))
    assert y.shape == (3,)
    assert y.data.tolist() == [9.5, 11.5, 16.0]


def test_without_bias():
    layer = Dense(2, 3, use_bias=False)
    layer.weight.data[:] = [[1, 2, 3], [4, 5, 6]]
    assert layer.bias is None
    assert layer(Tensor([[1.0, 2.0]])).data.tolist() == [[9.0, 12.0, 15.0]]
    assert [p.shape for p in layer.parameters()] == [(2, 3)]


def test_leading_batch_dimensions():
    layer = Dense(4, 3)
    x = np.random.default_rng(0).standard_normal((2, 5, 4)).astype(np.float32)
    y = layer(Tensor(x))
    assert y.shape == (2, 5, 3)
    np.testing.assert_allclose(y.data, x @ layer.weight.data + layer.bias.data, rtol=1e-6)


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 5), st.integers(1, 6), st.integers(1, 6), st.integers(0, 2**32 - 1))
def test_matches_numpy_reference(batch, fan_in, fan_out, seed):
    layer = Dense(fan_in, fan_out)
    x = np.random.default_rng(seed).standard_normal((batch, fan_in)).astype(np.float32)
    expected = x.astype(np.float64) @ layer.weight.data.astype(np.float64) + layer.bias.data
    np.testing.assert_allclose(layer(Tensor(x)).data, expected, rtol=1e-5, atol=1e-6)


def test_parameters_are_weight_then_bias_trainable_float32():
    layer = Dense(5, 4)
    weight, bias = layer.parameters()
    assert weight is layer.weight and bias is layer.bias
    assert weight.shape == (5, 4) and bias.shape == (4,)
    assert weight.dtype == np.float32 and bias.dtype == np.float32
    assert weight.requires_grad and bias.requires_grad


@pytest.mark.parametrize("fan_in, fan_out", [(1, 1), (4, 300), (100, 50), (784, 16)])
def test_init_is_uniform_within_one_over_sqrt_fan_in(fan_in, fan_out):
    np.random.seed(fan_in)
    layer = Dense(fan_in, fan_out)
    bound = 1 / math.sqrt(fan_in)
    for param in (layer.weight.data, layer.bias.data):
        assert np.abs(param).max() <= bound
    weights = layer.weight.data
    if weights.size >= 1000:
        # uniform on [-a, a]: spread out to the edges, mean 0, variance a²/3
        assert np.abs(weights).max() > 0.95 * bound
        assert abs(weights.mean()) < 0.1 * bound
        assert weights.var() == pytest.approx(bound ** 2 / 3, rel=0.1)


def test_init_is_reproducible_with_numpy_seed():
    np.random.seed(7)
    first = Dense(3, 2)
    np.random.seed(7)
    second = Dense(3, 2)
    assert np.array_equal(first.weight.data, second.weight.data)
    assert np.array_equal(first.bias.data, second.bias.data)
    assert not np.array_equal(first.weight.data, Dense(3, 2).weight.data)


@pytest.mark.parametrize("data", [
    np.array([[1.0, 2.0]], dtype=np.float64),
    np.array([[1, 2]]),
    [[1.0, 2.0]],
    Tensor(np.array([[1.0, 2.0]]), dtype=np.float64),
])
def test_other_input_dtypes_are_cast_to_float32(data):
    y = hand_layer()(data)
    assert isinstance(y, Tensor)
    assert y.dtype == np.float32
    assert y.data.tolist() == [[9.5, 11.5, 16.0]]


def test_input_is_not_modified():
    x = Tensor([[1.0, 2.0]])
    hand_layer()(x)
    assert x.data.tolist() == [[1.0, 2.0]]


@pytest.mark.parametrize("shape", [(2, 3), (3,), (1, 5, 3)])
def test_wrong_width_names_expected_and_received_shapes(shape):
    with pytest.raises(ValueError) as info:
        Dense(4, 2)(Tensor(np.ones(shape)))
    message = str(info.value)
    assert "(N, 4)" in message and "(4,)" in message
    assert f"got shape {shape}" in message


def test_a_scalar_input_is_refused():
    with pytest.raises(ValueError, match=r"got shape \(\)"):
        Dense(1, 2)(Tensor(3.0))


@pytest.mark.parametrize("args, name", [
    ((0, 3), "input_size"),
    ((3, -1), "output_size"),
    ((2.5, 3), "input_size"),
    ((True, 3), "input_size"),
    ((3, "4"), "output_size"),
])
def test_bad_sizes_are_refused(args, name):
    with pytest.raises(ValueError, match=f"{name} must be a positive integer"):
        Dense(*args)


def test_numpy_integer_sizes_are_fine():
    layer = Dense(np.int64(3), np.int32(2))
    assert layer.weight.shape == (3, 2)


@pytest.mark.parametrize("shape, expected", [
    ((32, 784), 32 * 784 * 10),
    ((784,), 784 * 10),
    ((2, 3, 784), 6 * 784 * 10),
    ((0, 784), 0),
])
def test_macs(shape, expected):
    macs = Dense(784, 10).macs(shape)
    assert macs == expected and isinstance(macs, int)


def test_macs_refuses_the_wrong_width():
    with pytest.raises(ValueError, match=r"got shape \(32, 10\)"):
        Dense(784, 10).macs((32, 10))


def test_repr():
    assert repr(Dense(4, 8)) == "Dense(4, 8)"
    assert repr(Dense(4, 8, use_bias=False)) == "Dense(4, 8, use_bias=False)"


def test_float64_parameters_make_a_float64_layer():
    layer = hand_layer()
    for param in layer.parameters():
        param.data = param.data.astype(np.float64)
    x = Tensor([[1.0, 2.0]], dtype=np.float64) / 3              # not representable in float32
    y = layer(x)
    assert y.dtype == np.float64
    np.testing.assert_array_equal(y.data, x.data @ layer.weight.data + layer.bias.data)
    assert layer(np.array([[1, 2]])).dtype == np.float64        # other dtypes: the weight's
