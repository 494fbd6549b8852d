"""Convolutional layers composed with Dense and activations: the course's CNN, summary rows
with MACs and memory, parameter counts and receptive fields."""

import numpy as np
import pytest

from tinytorch.core.activations import ReLU, Sigmoid
from tinytorch.core.cnn import AvgPool2D, Conv2D, Flatten, MaxPool2D, receptive_field
from tinytorch.core.layers import Dense
from tinytorch.core.networks import Sequential, count_parameters, summary
from tinytorch.core.tensor import Tensor


def course_cnn():
    return Sequential([
        Conv2D(3, 16, kernel_size=3), ReLU(), MaxPool2D(kernel_size=2),
        Conv2D(16, 32, kernel_size=3), ReLU(), Flatten(),
        Dense(32 * 13 * 13, 128), ReLU(), Dense(128, 10), Sigmoid(),
    ])


@pytest.mark.parametrize("batch", [1, 5])
def test_course_cnn_maps_images_to_probabilities(batch):
    np.random.seed(0)
    out = course_cnn()(Tensor(np.random.rand(batch, 3, 32, 32)))
    assert out.shape == (batch, 10) and out.dtype == np.float32
    assert np.all((out.data > 0) & (out.data < 1))


def test_course_cnn_intermediate_shapes():
    np.random.seed(1)
    x = Tensor(np.random.rand(2, 3, 32, 32))
    shapes = []
    for layer in course_cnn().layers:
        x = layer(x)
        shapes.append(x.shape)
    assert shapes == [(2, 16, 30, 30), (2, 16, 30, 30), (2, 16, 15, 15), (2, 32, 13, 13), (2, 32, 13, 13),
                      (2, 5408), (2, 128), (2, 128), (2, 10), (2, 10)]


def test_course_cnn_parameters():
    model = course_cnn()
    assert count_parameters(model) == 448 + 4640 + 692_352 + 1290 == 698_730
    assert len(model.parameters()) == 8


def test_summary_reports_conv_macs_and_memory():
    rows = summary(course_cnn(), (4, 3, 32, 32), show=False)
    assert [row["macs"] for row in rows] == [
        4 * 16 * 30 * 30 * 27, 0, 0, 4 * 32 * 13 * 13 * 144, 0, 0, 4 * 5408 * 128, 0, 4 * 128 * 10, 0]
    assert [row["params"] for row in rows] == [448, 0, 0, 4640, 0, 0, 692_352, 0, 1290, 0]
    assert rows[0]["memory_bytes"] == 4 * 16 * 30 * 30 * 4
    assert rows[2]["memory_bytes"] == 4 * 16 * 15 * 15 * 4
    assert rows[5]["output_shape"] == (4, 5408)


def test_same_padding_cnn_with_average_pooling():
    np.random.seed(2)
    model = Sequential([
        Conv2D(1, 8, 3, padding=1), ReLU(), AvgPool2D(2),
        Conv2D(8, 8, (3, 5), stride=(1, 2), padding=(1, 2)), ReLU(), MaxPool2D(2, padding=1),
        Flatten(), Dense(8 * 3 * 2, 4),
    ])
    assert model(Tensor(np.random.rand(3, 1, 8, 8))).shape == (3, 4)


def test_receptive_field_of_course_cnn():
    rows = receptive_field(course_cnn())
    assert [row["receptive_field"] for row in rows] == [
        (3, 3), (3, 3), (4, 4), (8, 8), (8, 8), (8, 8), (8, 8), (8, 8), (8, 8), (8, 8)]
    assert [row["jump"] for row in rows][:4] == [(1, 1), (1, 1), (2, 2), (2, 2)]
    assert rows[0]["layer"].startswith("Conv2D(3, 16")


def test_receptive_field_with_strides_and_rectangular_kernels():
    rows = receptive_field([Conv2D(1, 1, (3, 5), stride=(2, 1)), MaxPool2D(2), Conv2D(1, 1, 3)])
    assert rows[-1]["receptive_field"] == (3 + 1 * 2 + 2 * 4, 5 + 1 * 1 + 2 * 2) == (13, 10)
    assert rows[-1]["jump"] == (4, 2)
