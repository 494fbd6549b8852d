"""PyTorch as the yardstick: Conv2D, pooling and Flatten against torch on the CPU.

Skipped when torch is not installed (it is never a requirement of TinyTorch).
"""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cnn_strategies import pool_cases

from tinytorch.core.cnn import AvgPool2D, Conv2D, Flatten, MaxPool2D
from tinytorch.core.tensor import Tensor

torch = pytest.importorskip("torch")
F = torch.nn.functional


@settings(max_examples=40, deadline=None)
@given(st.data(), st.integers(0, 2**31 - 1))
def test_conv2d_matches_torch(data, seed):
    C, out = data.draw(st.integers(1, 4)), data.draw(st.integers(1, 5))
    kernel = (data.draw(st.integers(1, 4)), data.draw(st.integers(1, 4)))
    stride = (data.draw(st.integers(1, 3)), data.draw(st.integers(1, 3)))
    padding = (data.draw(st.integers(0, 2)), data.draw(st.integers(0, 2)))
    H = data.draw(st.integers(max(1, kernel[0] - 2 * padding[0]), 9))
    W = data.draw(st.integers(max(1, kernel[1] - 2 * padding[1]), 9))
    conv = Conv2D(C, out, kernel, stride=stride, padding=padding)
    x = np.random.default_rng(seed).standard_normal((2, C, H, W)).astype(np.float32)
    expected = F.conv2d(torch.from_numpy(x), torch.from_numpy(conv.weight.data),
                        torch.from_numpy(conv.bias.data), stride=stride, padding=padding).numpy()
    result = conv(Tensor(x))
    assert result.shape == expected.shape
    np.testing.assert_allclose(result.data, expected, rtol=1e-4, atol=1e-5)


def test_conv2d_shape_parameters_and_init_bound_match_torch():
    ours, theirs = Conv2D(3, 16, 5, stride=2, padding=1), torch.nn.Conv2d(3, 16, 5, stride=2, padding=1)
    assert ours.weight.shape == tuple(theirs.weight.shape) and ours.bias.shape == tuple(theirs.bias.shape)
    assert sum(p.size for p in ours.parameters()) == sum(p.numel() for p in theirs.parameters())
    bound = 1 / np.sqrt(3 * 5 * 5)
    assert float(theirs.weight.detach().abs().max()) <= bound and np.abs(ours.weight.data).max() <= bound
    x = np.zeros((1, 3, 32, 32), np.float32)
    assert ours(Tensor(x)).shape == tuple(theirs(torch.from_numpy(x)).shape)


def test_unbatched_input_matches_torch():
    conv = Conv2D(2, 3, 3, padding=1)
    x = np.random.default_rng(1).standard_normal((2, 6, 6)).astype(np.float32)
    expected = F.conv2d(torch.from_numpy(x), torch.from_numpy(conv.weight.data), torch.from_numpy(conv.bias.data), padding=1)
    np.testing.assert_allclose(conv(Tensor(x)).data, expected.numpy(), rtol=1e-5, atol=1e-6)
    expected_pool = F.max_pool2d(torch.from_numpy(x), 2)
    np.testing.assert_array_equal(MaxPool2D(2)(Tensor(x)).data, expected_pool.numpy())


@settings(max_examples=40, deadline=None)
@given(pool_cases())
def test_pooling_matches_torch(case):
    x, kernel, stride, padding = case
    t = torch.from_numpy(x)
    np.testing.assert_array_equal(
        MaxPool2D(kernel, stride, padding)(Tensor(x)).data, F.max_pool2d(t, kernel, stride, padding).numpy())
    np.testing.assert_allclose(
        AvgPool2D(kernel, stride, padding)(Tensor(x)).data, F.avg_pool2d(t, kernel, stride, padding).numpy(),
        rtol=1e-5, atol=1e-6)


def test_flatten_matches_torch():
    x = np.random.default_rng(2).standard_normal((3, 4, 5, 6)).astype(np.float32)
    np.testing.assert_array_equal(Flatten()(Tensor(x)).data, torch.nn.Flatten()(torch.from_numpy(x)).numpy())
