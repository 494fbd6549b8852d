"""summary: exact rows (params, MACs, activation memory), totals table, bad input."""

import numpy as np
import pytest

from tinytorch.core.activations import ReLU
from tinytorch.core.layers import Dense, Layer
from tinytorch.core.networks import Sequential, create_mlp, summary
from tinytorch.core.tensor import Tensor


def small_mlp():
    return create_mlp(4, [8], 2)


def test_rows_of_a_small_mlp_are_exact():
    rows = summary(small_mlp(), (3, 4), show=False)
    assert rows == [
        {"layer": "Dense(4, 8)", "output_shape": (3, 8), "params": 40, "macs": 96, "memory_bytes": 96},
        {"layer": "ReLU()", "output_shape": (3, 8), "params": 0, "macs": 0, "memory_bytes": 96},
        {"layer": "Dense(8, 2)", "output_shape": (3, 2), "params": 18, "macs": 48, "memory_bytes": 24},
    ]
    for row in rows:
        assert all(type(row[key]) is int for key in ("params", "macs", "memory_bytes"))


def test_mnist_mlp_totals():
    rows = summary(create_mlp(784, [128, 64], 10), (32, 784), show=False)
    assert sum(row["params"] for row in rows) == 109_386
    assert sum(row["macs"] for row in rows) == 32 * (784 * 128 + 128 * 64 + 64 * 10)
    assert sum(row["memory_bytes"] for row in rows) == 4 * 32 * (128 + 128 + 64 + 64 + 10)


def test_single_sample_input_shape():
    rows = summary(small_mlp(), (4,), show=False)
    assert [row["output_shape"] for row in rows] == [(8,), (8,), (2,)]
    assert [row["macs"] for row in rows] == [32, 0, 16]


def test_an_int_input_shape_means_one_sample():
    assert summary(small_mlp(), 4, show=False) == summary(small_mlp(), (4,), show=False)


def test_a_single_layer_model_is_one_row():
    rows = summary(Dense(5, 3, use_bias=False), (2, 5), show=False)
    assert rows == [
        {"layer": "Dense(5, 3, use_bias=False)", "output_shape": (2, 3), "params": 15,
         "macs": 30, "memory_bytes": 24},
    ]


def test_a_nested_sequential_is_one_row_with_its_totals():
    model = Sequential([Sequential([Dense(4, 8), ReLU()]), Dense(8, 2)])
    first = summary(model, (3, 4), show=False)[0]
    assert first["params"] == 40 and first["macs"] == 96 and first["output_shape"] == (3, 8)


def test_layer_macs_methods_are_used_and_missing_ones_count_zero():
    class Square(Layer):
        def forward(self, x):
            return x * x

        def macs(self, input_shape):
            return int(np.prod(input_shape))

    class NoMacs:
        def __call__(self, x):
            return x

    rows = summary(Sequential([Square(), NoMacs()]), (2, 3, 5), show=False)
    assert [row["macs"] for row in rows] == [30, 0]
    assert [row["params"] for row in rows] == [0, 0]
    assert rows[1]["layer"] == "NoMacs()"


def test_memory_uses_the_output_itemsize():
    class Widen(Layer):
        def forward(self, x):
            return Tensor(x.data, dtype=np.float64)

    assert summary(Sequential([Widen()]), (2, 5), show=False)[0]["memory_bytes"] == 2 * 5 * 8


def test_macs_use_each_layers_input_shape():
    model = Sequential([Dense(6, 3), Dense(3, 7)])
    assert [row["macs"] for row in summary(model, (10, 6), show=False)] == [180, 210]


def test_parameters_are_not_changed():
    model = small_mlp()
    before = [p.data.copy() for p in model.parameters()]
    summary(model, (3, 4), show=False)
    assert all(np.array_equal(a, p.data) for a, p in zip(before, model.parameters()))


def test_show_prints_a_table_with_totals(capsys):
    rows = summary(small_mlp(), (3, 4))
    out = capsys.readouterr().out
    for text in ("Dense(4, 8)", "ReLU()", "Dense(8, 2)", "(3, 8)", "Total", "Params", "MACs", "Memory"):
        assert text in out
    assert "Parameters: 58 (232 B)" in out
    assert "MACs: 144" in out
    assert "activation memory: 216 B" in out
    assert len(rows) == 3


def test_show_false_prints_nothing(capsys):
    summary(small_mlp(), (3, 4), show=False)
    assert capsys.readouterr().out == ""


def test_memory_is_printed_in_binary_units(capsys):
    summary(create_mlp(784, [128, 64], 10), (32, 784))
    out = capsys.readouterr().out
    assert "16.0 KB" in out and "49.2 KB" in out and "427.3 KB" in out


def test_a_wrong_input_shape_names_the_layer():
    with pytest.raises(ValueError) as info:
        summary(small_mlp(), (3, 5), show=False)
    message = str(info.value)
    assert "layer 0 (Dense(4, 8))" in message and "(3, 5)" in message
    assert "expected input of shape (N, 4)" in message


@pytest.mark.parametrize("bad", [(), (3, -1), (3, 4.0), "abc", None])
def test_bad_input_shapes_are_refused(bad):
    with pytest.raises(ValueError, match="input_shape must be a tuple of sizes"):
        summary(small_mlp(), bad, show=False)
