"""create_mlp structure and shapes; count_parameters exact."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tinytorch.core.activations import ReLU, Sigmoid, Tanh
from tinytorch.core.layers import Dense, Layer
from tinytorch.core.networks import Sequential, count_parameters, create_mlp
from tinytorch.core.tensor import Tensor


def kinds(model):
    return [type(layer).__name__ for layer in model]


def widths(model):
    return [(layer.input_size, layer.output_size) for layer in model if isinstance(layer, Dense)]


def test_structure_of_a_two_hidden_layer_mlp():
    model = create_mlp(784, [128, 64], 10)
    assert isinstance(model, Sequential)
    assert kinds(model) == ["Dense", "ReLU", "Dense", "ReLU", "Dense"]
    assert widths(model) == [(784, 128), (128, 64), (64, 10)]


def test_each_hidden_activation_is_a_fresh_instance():
    model = create_mlp(2, [3, 3], 1)
    assert model[1] is not model[3]


def test_an_activation_instance_is_reused():
    tanh = Tanh()
    model = create_mlp(2, [3, 3], 1, activation=tanh)
    assert model[1] is tanh and model[3] is tanh


def test_output_activation_goes_last():
    model = create_mlp(4, [8], 1, activation=Tanh, output_activation=Sigmoid)
    assert kinds(model) == ["Dense", "Tanh", "Dense", "Sigmoid"]
    y = model(Tensor(np.random.default_rng(0).standard_normal((6, 4))))
    assert y.shape == (6, 1)
    assert np.all((y.data > 0) & (y.data < 1))


def test_no_hidden_layers_is_a_single_dense():
    model = create_mlp(3, [], 2)
    assert kinds(model) == ["Dense"] and widths(model) == [(3, 2)]


def test_no_hidden_layers_still_takes_an_output_activation():
    assert kinds(create_mlp(3, [], 2, output_activation=Sigmoid)) == ["Dense", "Sigmoid"]


def test_activation_none_gives_only_dense_layers():
    assert kinds(create_mlp(3, [4, 5], 2, activation=None)) == ["Dense", "Dense", "Dense"]


def test_a_tuple_of_hidden_sizes_works():
    assert widths(create_mlp(3, (4,), 2)) == [(3, 4), (4, 2)]


@pytest.mark.parametrize("batch_shape", [(5,), (1,), ()])
def test_output_shapes(batch_shape):
    model = create_mlp(6, [4], 3)
    y = model(Tensor(np.ones(batch_shape + (6,))))
    assert y.shape == batch_shape + (3,)
    assert y.dtype == np.float32


def test_hidden_sizes_must_be_a_list():
    with pytest.raises(ValueError, match=r"hidden_sizes must be a list .* got 128"):
        create_mlp(784, 128, 10)


def test_a_bad_width_is_refused():
    with pytest.raises(ValueError, match="output_size must be a positive integer, got 0"):
        create_mlp(4, [0], 2)


def test_a_bad_activation_is_refused():
    with pytest.raises(TypeError, match="activation must be a layer class"):
        create_mlp(4, [3], 2, activation=3)


def test_count_parameters_of_dense_layers():
    assert count_parameters(Dense(3, 2)) == 8
    assert count_parameters(Dense(3, 2, use_bias=False)) == 6
    assert count_parameters(ReLU()) == 0
    assert count_parameters(Sequential()) == 0


def test_count_parameters_of_known_mlps():
    assert count_parameters(create_mlp(4, [8, 6], 3)) == 40 + 54 + 21
    assert count_parameters(create_mlp(784, [128, 64], 10)) == 109_386


def test_count_parameters_counts_shared_tensors_once():
    shared = Dense(4, 4)
    assert count_parameters(Sequential([shared, ReLU(), shared])) == 20


def test_count_parameters_of_any_layer():
    class Custom(Layer):
        def __init__(self):
            self.table = Tensor(np.zeros((3, 5)), requires_grad=True)
            self.frozen = Tensor(np.zeros(100))

    count = count_parameters(Custom())
    assert count == 15 and isinstance(count, int)


@settings(max_examples=30, deadline=None)
@given(
    st.integers(1, 20),
    st.lists(st.integers(1, 20), max_size=4),
    st.integers(1, 20),
)
def test_count_parameters_formula(input_size, hidden, output_size):
    sizes = [input_size, *hidden, output_size]
    expected = sum(a * b + b for a, b in zip(sizes[:-1], sizes[1:]))
    model = create_mlp(input_size, hidden, output_size)
    assert count_parameters(model) == expected
    assert len(model) == 2 * len(sizes) - 3
    assert model(Tensor(np.ones((2, input_size)))).shape == (2, output_size)
