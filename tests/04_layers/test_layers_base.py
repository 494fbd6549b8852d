"""The Layer base class: __call__, parameters() discovery and order, macs, repr."""

import numpy as np
import pytest

from tinytorch.core.layers import Dense, Layer
from tinytorch.core.tensor import Tensor


class Scale(Layer):
    def __init__(self, factor=2.0):
        self.factor = Tensor([factor], requires_grad=True)
        self.offset = Tensor([1.0])        # not trainable: not a parameter
        self.note = "plain attributes are ignored"
        self.buffer = np.ones(3)

    def forward(self, x):
        return x * self.factor


class NoParams:
    """Duck-typed layer (like the activations of module 03): has parameters(), not a Layer."""

    def __call__(self, x):
        return x

    def parameters(self):
        return []


def ids(tensors):
    return [id(t) for t in tensors]


def test_call_runs_forward():
    assert Scale(3.0)(Tensor([2.0])).data.tolist() == [6.0]


def test_call_passes_keyword_arguments():
    class Add(Layer):
        def forward(self, x, y=0):
            return x + y

    assert Add()(1, y=2) == 3


def test_only_tensors_requiring_grad_are_parameters():
    layer = Scale()
    assert ids(layer.parameters()) == [id(layer.factor)]


def test_sub_layers_lists_and_tuples_in_definition_order():
    class Block(Layer):
        def __init__(self):
            self.head = Scale()
            self.own = Tensor([0.0], requires_grad=True)
            self.body = [Scale(), NoParams(), Scale()]
            self.tail = (Scale(),)

    block = Block()
    expected = [block.head.factor, block.own, block.body[0].factor, block.body[2].factor,
                block.tail[0].factor]
    assert ids(block.parameters()) == ids(expected)


def test_private_attributes_are_not_searched():
    class Cached(Scale):
        def forward(self, x):
            self._input = x                    # kept for a backward pass
            self._helpers = [Scale()]
            return super().forward(x)

    layer = Cached()
    layer(Tensor([1.0], requires_grad=True))
    assert ids(layer.parameters()) == [id(layer.factor)]


def test_a_shared_tensor_is_listed_once():
    class Tied(Layer):
        def __init__(self):
            self.first = Scale()
            self.second = Scale()
            self.second.factor = self.first.factor

    tied = Tied()
    assert ids(tied.parameters()) == [id(tied.first.factor)]


def test_dense_sub_layers_give_weight_then_bias():
    class TwoDense(Layer):
        def __init__(self):
            self.a = Dense(3, 2)
            self.b = Dense(2, 1, use_bias=False)

    model = TwoDense()
    assert ids(model.parameters()) == ids([model.a.weight, model.a.bias, model.b.weight])


def test_base_forward_is_abstract():
    with pytest.raises(NotImplementedError, match="Layer must implement forward"):
        Layer()(Tensor([1.0]))

    class Forgot(Layer):
        pass

    with pytest.raises(NotImplementedError, match="Forgot"):
        Forgot().forward(Tensor([1.0]))


def test_base_macs_and_parameters_of_an_empty_layer():
    assert Layer().macs((4, 5)) == 0
    assert Layer().parameters() == []


def test_repr_names_the_class():
    assert repr(Scale()) == "Scale()"
