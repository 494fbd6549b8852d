"""Sequential: forward order and values, list behaviour, parameters, repr, bad input."""

import numpy as np
import pytest

from tinytorch.core.activations import ReLU, Sigmoid
from tinytorch.core.layers import Dense, Layer
from tinytorch.core.networks import Sequential, create_mlp
from tinytorch.core.tensor import Tensor


class Record(Layer):
    """Appends its name to a shared log and passes x + 1 on."""

    def __init__(self, name, log):
        self.name, self.log = name, log

    def forward(self, x):
        self.log.append(self.name)
        return x + 1


def hand_model():
    first, second = Dense(2, 2), Dense(2, 1)
    first.weight.data[:] = [[1, -1], [1, 1]]
    first.bias.data[:] = [0, -10]
    second.weight.data[:] = [[2], [3]]
    second.bias.data[:] = [0.5]
    return Sequential([first, ReLU(), second])


def ids(tensors):
    return [id(t) for t in tensors]


def test_hand_computed_forward():
    # [1, 2] -> first: [3, -7] -> ReLU: [3, 0] -> second: 6.5
    # [5, 0] -> first: [5, -15] -> ReLU: [5, 0] -> second: 10.5
    y = hand_model()(Tensor([[1.0, 2.0], [5.0, 0.0]]))
    assert y.shape == (2, 1) and y.dtype == np.float32
    assert y.data.tolist() == [[6.5], [10.5]]


def test_layers_run_in_order_and_chain():
    log = []
    model = Sequential([Record("a", log), Record("b", log), Record("c", log)])
    assert model(Tensor([0])).data.tolist() == [3]
    assert log == ["a", "b", "c"]


def test_forward_equals_numpy_composition():
    model = create_mlp(3, [5], 2)
    x = np.random.default_rng(0).standard_normal((4, 3)).astype(np.float32)
    d1, d2 = model[0], model[2]
    hidden = np.maximum(x @ d1.weight.data + d1.bias.data, 0)
    expected = hidden @ d2.weight.data + d2.bias.data
    np.testing.assert_allclose(model(Tensor(x)).data, expected, rtol=1e-6, atol=1e-6)


def test_is_a_layer():
    assert isinstance(Sequential([]), Layer)


def test_empty_sequential_is_the_identity():
    x = Tensor([[1.0, 2.0]])
    assert Sequential()(x) is x
    assert Sequential([])(x) is x
    assert len(Sequential()) == 0


def test_len_indexing_iteration():
    layers = [Dense(2, 3), ReLU(), Dense(3, 1)]
    model = Sequential(layers)
    assert len(model) == 3
    assert model[0] is layers[0] and model[-1] is layers[2]
    assert list(model) == layers
    with pytest.raises(IndexError):
        model[3]


def test_slices_are_sequentials_sharing_the_layers():
    model = hand_model()
    tail = model[1:]
    assert isinstance(tail, Sequential)
    assert len(tail) == 2 and tail[0] is model[1] and tail[1] is model[2]
    # the tail alone: ReLU([3, -7]) -> [3, 0] -> 6.5
    assert tail(Tensor([[3.0, -7.0]])).data.tolist() == [[6.5]]


def test_the_given_list_is_copied():
    layers = [Dense(2, 2)]
    model = Sequential(layers)
    layers.append(ReLU())
    assert len(model) == 1


def test_a_tuple_is_accepted():
    assert len(Sequential((Dense(2, 2), ReLU()))) == 2


def test_parameters_in_order():
    model = hand_model()
    first, second = model[0], model[2]
    assert ids(model.parameters()) == ids([first.weight, first.bias, second.weight, second.bias])


def test_nested_sequential_parameters_and_forward():
    inner = Sequential([Dense(3, 4), ReLU()])
    outer = Sequential([inner, Dense(4, 2, use_bias=False)])
    expected = [inner[0].weight, inner[0].bias, outer[1].weight]
    assert ids(outer.parameters()) == ids(expected)
    assert outer(Tensor(np.ones((5, 3)))).shape == (5, 2)


def test_a_layer_used_twice_is_listed_once():
    shared = Dense(2, 2)
    model = Sequential([shared, ReLU(), shared])
    assert ids(model.parameters()) == ids([shared.weight, shared.bias])


def test_repr():
    model = Sequential([Dense(4, 8), ReLU(), Dense(8, 2, use_bias=False), Sigmoid()])
    assert repr(model) == (
        "Sequential(\n"
        "  (0): Dense(4, 8)\n"
        "  (1): ReLU()\n"
        "  (2): Dense(8, 2, use_bias=False)\n"
        "  (3): Sigmoid()\n"
        ")"
    )
    assert repr(Sequential()) == "Sequential()"


def test_repr_nests_and_falls_back_to_the_class_name():
    class Plain:
        def __call__(self, x):
            return x

    model = Sequential([Sequential([Dense(1, 1)]), Plain()])
    assert repr(model) == (
        "Sequential(\n"
        "  (0): Sequential(\n"
        "    (0): Dense(1, 1)\n"
        "  )\n"
        "  (1): Plain()\n"
        ")"
    )


def test_macs_is_the_sum_of_the_layers():
    model = create_mlp(10, [20], 5)
    assert model.macs((7, 10)) == 7 * 10 * 20 + 7 * 20 * 5


def test_a_single_layer_instead_of_a_list_is_refused():
    with pytest.raises(TypeError, match="list of layers.*got Dense"):
        Sequential(Dense(2, 2))


def test_a_non_layer_item_is_refused_by_index():
    with pytest.raises(TypeError, match="layer 1 must be a layer.*got int"):
        Sequential([Dense(2, 2), 3])
