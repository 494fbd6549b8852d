"""Dense against PyTorch's nn.Linear, the yardstick (the ``torch`` fixture: skipped when torch is not
installed, marked slow)."""

import math

import numpy as np
import pytest

from tinytorch.core.layers import Dense
from tinytorch.core.tensor import Tensor


def test_same_weights_give_the_same_outputs_as_linear(torch):
    torch.manual_seed(0)
    linear = torch.nn.Linear(7, 5)
    layer = Dense(7, 5)
    # nn.Linear stores (out, in) and computes x @ W.T; Dense stores (in, out).
    layer.weight.data[:] = linear.weight.detach().numpy().T
    layer.bias.data[:] = linear.bias.detach().numpy()
    x = np.random.default_rng(0).standard_normal((4, 7)).astype(np.float32)
    expected = linear(torch.from_numpy(x)).detach().numpy()
    np.testing.assert_allclose(layer(Tensor(x)).data, expected, rtol=1e-5, atol=1e-6)


def test_single_sample_shape_matches_linear(torch):
    linear, layer = torch.nn.Linear(3, 2), Dense(3, 2)
    assert tuple(linear(torch.zeros(3)).shape) == layer(Tensor(np.zeros(3))).shape == (2,)


def test_init_bound_matches_linear(torch):
    torch.manual_seed(0)
    fan_in = 400
    linear = torch.nn.Linear(fan_in, 300)
    bound = 1 / math.sqrt(fan_in)
    torch_max = linear.weight.detach().abs().max().item()
    ours_max = float(np.abs(Dense(fan_in, 300).weight.data).max())
    # both fill the same interval [-1/sqrt(in), 1/sqrt(in)] nearly to its edge
    assert bound * 0.99 < torch_max <= bound
    assert bound * 0.99 < ours_max <= bound
    torch_var = linear.weight.detach().var().item()
    ours_var = float(Dense(fan_in, 300).weight.data.var())
    assert ours_var == pytest.approx(torch_var, rel=0.05)


def test_parameter_count_matches_linear(torch):
    linear, layer = torch.nn.Linear(784, 128), Dense(784, 128)
    assert sum(p.numel() for p in linear.parameters()) == sum(p.size for p in layer.parameters())
