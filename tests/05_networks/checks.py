"""Graded checks of module 05 (networks): what `tito grade` gives points for.

Each check calls the student's exported `tinytorch.core.networks` (the `networks` argument) on
inputs drawn from `rng`, seeded from the grading run's secret seed, and returns plain data. The
grader runs the same check on the reference solution and compares the two outside the sandbox.
Models are built from the prerequisites' layers (the reference's Dense, ReLU, ...) with their
weights set explicitly, so the checks measure the composition, not an initialisation. Points:
`checks:` in modules/source/05_networks/module.yaml. Format: modules/README.md, "Graded checks".
"""

import numpy as np

from tinytorch.core.activations import ReLU, Sigmoid, Softmax, Tanh
from tinytorch.core.layers import Dense
from tinytorch.core.tensor import Tensor
from tito.grading.data import refuses  # a valid input's value, then a refusal naming words drawn from the seed


def _widths(rng, hidden):
    """[input, *hidden, output] with ``hidden`` hidden layers, each 1 to 9 wide."""
    return [int(w) for w in rng.integers(1, 10, hidden + 2)]


def _dense(rng, fan_in, fan_out, use_bias=True):
    layer = Dense(fan_in, fan_out, use_bias=use_bias)
    layer.weight.data[...] = rng.standard_normal((fan_in, fan_out))
    if use_bias:
        layer.bias.data[...] = rng.standard_normal(fan_out)
    return layer


def _kinds(model):
    return [type(layer).__name__ for layer in model]


# --------------------------------------------------------------------------- Sequential


def check_sequential_forward(networks, rng):
    """Dense → ReLU → Dense → Tanh with set weights: each output feeds the next layer."""
    a, b, c = _widths(rng, 1)
    model = networks.Sequential([_dense(rng, a, b), ReLU(), _dense(rng, b, c), Tanh()])
    out = model(Tensor(rng.standard_normal((int(rng.integers(1, 6)), a))))
    return {"is_tensor": isinstance(out, Tensor), "out": np.asarray(out.data)}


def check_sequential_forward_of_no_layers(networks, rng):
    """The APPROACH: an empty Sequential returns its input unchanged."""
    x = Tensor(rng.standard_normal(int(rng.integers(1, 6))))
    return np.asarray(networks.Sequential([])(x).data)


### BEGIN HIDDEN TESTS
def check_sequential_calls_each_layer(networks, rng):
    """The HINTS: layer(x), not layer.forward(x) — any callable is a layer (here plain functions)."""
    scale, shift = float(rng.uniform(1, 3)), float(rng.standard_normal())
    model = networks.Sequential([lambda x: x * scale, ReLU(), lambda x: x + shift])
    return np.asarray(model(Tensor(rng.standard_normal(5))).data)
### END HIDDEN TESTS


# --------------------------------------------------------------------------- create_mlp


def check_create_mlp(networks, rng):
    """Dense per neighbouring pair of widths, a ReLU after each but the last; forward shape."""
    widths = _widths(rng, int(rng.integers(0, 4)))
    model = networks.create_mlp(widths[0], widths[1:-1], widths[-1])
    out = model(Tensor(rng.standard_normal((3, widths[0]))))
    return {"type": type(model).__name__, "kinds": _kinds(model),
            "sizes": [[layer.input_size, layer.output_size] for layer in model if isinstance(layer, Dense)],
            "out_shape": out.shape}


def check_create_mlp_activations(networks, rng):
    """A class gives a fresh instance per use, an instance is reused, None leaves only Dense
    layers, and output_activation comes last."""
    widths = _widths(rng, int(rng.integers(2, 4)))
    shared = Sigmoid()
    fresh = networks.create_mlp(widths[0], widths[1:-1], widths[-1], activation=Tanh, output_activation=Softmax)
    reused = networks.create_mlp(widths[0], widths[1:-1], widths[-1], activation=shared)
    linear = networks.create_mlp(widths[0], widths[1:-1], widths[-1], activation=None)
    tanhs = [layer for layer in fresh if isinstance(layer, Tanh)]
    return {"fresh": _kinds(fresh), "distinct": len({id(t) for t in tanhs}) == len(tanhs),
            "reused": _kinds(reused), "shared": all(layer is shared for layer in reused if isinstance(layer, Sigmoid)),
            "linear": _kinds(linear)}


def check_create_mlp_rejects_widths_that_are_not_a_list(networks, rng):
    """The APPROACH: `_check_widths` refuses a hidden_sizes that is not a list (module.yaml: its words)."""
    width = int(rng.integers(1, 1000))

    def valid():
        model = networks.create_mlp(4, [width % 9 + 1], 2)
        return [[type(layer).__name__, getattr(getattr(layer, "weight", None), "shape", None)] for layer in model]
    return refuses(valid, lambda: networks.create_mlp(4, width, 2), f"got {width}")


# --------------------------------------------------------------------------- count_parameters


def check_count_parameters(networks, rng):
    """The number of scalars in the parameters of an MLP, a layer without bias, a shared layer."""
    widths = _widths(rng, int(rng.integers(0, 4)))
    layers = [_dense(rng, i, o, use_bias=bool(rng.random() < 0.7)) for i, o in zip(widths[:-1], widths[1:])]
    shared = _dense(rng, widths[0], widths[0])
    count = networks.count_parameters
    return {"mlp": count(networks.Sequential(layers)), "layer": count(layers[0]),
            "shared": count(networks.Sequential([shared, ReLU(), shared])),
            "none": count(networks.Sequential([ReLU()]))}


# --------------------------------------------------------------------------- summary


def _rows(rows):
    """summary's rows as data (output shapes as lists)."""
    return [{**row, "output_shape": list(row["output_shape"])} if isinstance(row, dict) else row for row in rows]


def check_summary(networks, rng):
    """Per layer: its repr, output shape, parameters, MACs (of its input) and activation bytes."""
    widths = _widths(rng, int(rng.integers(1, 3)))
    layers = []
    for fan_in, fan_out in zip(widths[:-1], widths[1:]):
        layers += [_dense(rng, fan_in, fan_out, use_bias=bool(rng.random() < 0.7)), ReLU()]
    model = networks.Sequential(layers[:-1])
    return _rows(networks.summary(model, (int(rng.integers(1, 9)), widths[0]), show=False))


def check_summary_of_one_layer(networks, rng):
    """A model that is not a Sequential (one Dense) is one row; the shape may come as a list."""
    fan_in, fan_out = (int(v) for v in rng.integers(1, 10, 2))
    return _rows(networks.summary(_dense(rng, fan_in, fan_out), [int(rng.integers(1, 5)), fan_in], show=False))


def check_summary_rejects_an_input_a_layer_refuses(networks, rng):
    """The APPROACH: `_forward_one` names the layer that failed (module.yaml: its words)."""
    width, batch = int(rng.integers(2, 9)), int(rng.integers(1, 9))
    model = networks.Sequential([ReLU(), Dense(width, 3)])
    return refuses(lambda: _rows(networks.summary(model, (batch, width), show=False)),
                   lambda: networks.summary(model, (batch, width + 1), show=False), f"Dense({width}, 3)",
                   (batch, width + 1))


### BEGIN HIDDEN TESTS
def check_sequential_macs(networks, rng):
    """Sequential.macs adds up the MACs that summary reports."""
    widths = _widths(rng, 2)
    model = networks.create_mlp(widths[0], widths[1:-1], widths[-1])
    return model.macs((int(rng.integers(1, 9)), widths[0]))
### END HIDDEN TESTS
