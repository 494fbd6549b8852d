"""PyTorch as the yardstick: Conv2D, pooling and Flatten against torch on the CPU; padding="same"
and "valid", conv_output_size, summary, conv2d_naive's dtype and Tensor's TypeError as PyTorch has them.

Each test takes the ``torch`` fixture: skipped when torch is not installed (it is never a
requirement of TinyTorch), and marked slow (``tito test --full`` runs them, plain pytest does).
"""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cnn_strategies import pool_cases

from tinytorch.core.cnn import AvgPool2D, Conv2D, Flatten, MaxPool2D, conv2d_naive, conv_output_size
from tinytorch.core.tensor import Tensor


@settings(max_examples=40, deadline=None)
@given(st.data(), st.integers(0, 2**31 - 1))
def test_conv2d_matches_torch(torch, data, seed):
    C, out = data.draw(st.integers(1, 4)), data.draw(st.integers(1, 5))
    kernel = (data.draw(st.integers(1, 4)), data.draw(st.integers(1, 4)))
    stride = (data.draw(st.integers(1, 3)), data.draw(st.integers(1, 3)))
    padding = (data.draw(st.integers(0, 2)), data.draw(st.integers(0, 2)))
    H = data.draw(st.integers(max(1, kernel[0] - 2 * padding[0]), 9))
    W = data.draw(st.integers(max(1, kernel[1] - 2 * padding[1]), 9))
    conv = Conv2D(C, out, kernel, stride=stride, padding=padding)
    x = np.random.default_rng(seed).standard_normal((2, C, H, W)).astype(np.float32)
    expected = torch.nn.functional.conv2d(torch.from_numpy(x), torch.from_numpy(conv.weight.data),
                        torch.from_numpy(conv.bias.data), stride=stride, padding=padding).numpy()
    result = conv(Tensor(x))
    assert result.shape == expected.shape
    np.testing.assert_allclose(result.data, expected, rtol=1e-4, atol=1e-5)


def test_conv2d_shape_parameters_and_init_bound_match_torch(torch):
    ours, theirs = Conv2D(3, 16, 5, stride=2, padding=1), torch.nn.Conv2d(3, 16, 5, stride=2, padding=1)
    assert ours.weight.shape == tuple(theirs.weight.shape) and ours.bias.shape == tuple(theirs.bias.shape)
    assert sum(p.size for p in ours.parameters()) == sum(p.numel() for p in theirs.parameters())
    bound = 1 / np.sqrt(3 * 5 * 5)
    assert float(theirs.weight.detach().abs().max()) <= bound and np.abs(ours.weight.data).max() <= bound
    x = np.zeros((1, 3, 32, 32), np.float32)
    assert ours(Tensor(x)).shape == tuple(theirs(torch.from_numpy(x)).shape)


def test_unbatched_input_matches_torch(torch):
    conv = Conv2D(2, 3, 3, padding=1)
    x = np.random.default_rng(1).standard_normal((2, 6, 6)).astype(np.float32)
    expected = torch.nn.functional.conv2d(torch.from_numpy(x), torch.from_numpy(conv.weight.data),
                                          torch.from_numpy(conv.bias.data), padding=1)
    np.testing.assert_allclose(conv(Tensor(x)).data, expected.numpy(), rtol=1e-5, atol=1e-6)
    expected_pool = torch.nn.functional.max_pool2d(torch.from_numpy(x), 2)
    np.testing.assert_array_equal(MaxPool2D(2)(Tensor(x)).data, expected_pool.numpy())


@settings(max_examples=40, deadline=None)
@given(pool_cases())
def test_pooling_matches_torch(torch, case):
    x, kernel, stride, padding = case
    t = torch.from_numpy(x)
    np.testing.assert_array_equal(
        MaxPool2D(kernel, stride, padding)(Tensor(x)).data,
        torch.nn.functional.max_pool2d(t, kernel, stride, padding).numpy())
    np.testing.assert_allclose(
        AvgPool2D(kernel, stride, padding)(Tensor(x)).data,
        torch.nn.functional.avg_pool2d(t, kernel, stride, padding).numpy(),
        rtol=1e-5, atol=1e-6)


def test_flatten_matches_torch(torch):
    x = np.random.default_rng(2).standard_normal((3, 4, 5, 6)).astype(np.float32)
    np.testing.assert_array_equal(Flatten()(Tensor(x)).data, torch.nn.Flatten()(torch.from_numpy(x)).numpy())


# ------------------------------------------------------------------ numerics as PyTorch users expect
SAME_KERNELS = [(1, 1), (2, 2), (3, 3), (4, 4), (2, 5), (4, 3)]


def twin_of(conv, torch):
    """torch.nn.Conv2d with the same sizes, padding and parameters as a TinyTorch Conv2D."""
    twin = torch.nn.Conv2d(conv.in_channels, conv.out_channels, conv.kernel_size, stride=conv.stride,
                           padding=conv.padding, bias=conv.bias is not None)
    with torch.no_grad():
        twin.weight.copy_(torch.from_numpy(conv.weight.data))
        if conv.bias is not None:
            twin.bias.copy_(torch.from_numpy(conv.bias.data))
    return twin


@pytest.mark.filterwarnings("ignore:Using padding='same' with even kernel")
@pytest.mark.parametrize("kernel", SAME_KERNELS)
@pytest.mark.parametrize("padding", ["same", "valid"])
def test_padding_words_match_torch(torch, kernel, padding):
    conv = Conv2D(2, 3, kernel, padding=padding)
    x = np.random.default_rng(11).standard_normal((2, 2, 6, 7)).astype(np.float32)
    expected = twin_of(conv, torch)(torch.from_numpy(x)).detach().numpy()
    out = conv(Tensor(x))
    assert out.shape == expected.shape == conv.output_shape(x.shape)
    if padding == "same":
        assert out.shape[2:] == x.shape[2:]
    np.testing.assert_allclose(out.data, expected, rtol=1e-5, atol=1e-6)
    assert conv.padding == padding and f"padding={padding!r}" in repr(conv)


@pytest.mark.parametrize("size, kernel", [(8, 3), (8, 4), (5, 1), (7, 2), (4, 4)])
def test_conv_output_size_words_match_torch(torch, size, kernel):
    x = torch.zeros(1, 1, size, size)
    for padding in ("same", "valid"):
        expected = torch.nn.functional.conv2d(x, torch.zeros(1, 1, kernel, kernel), padding=padding).shape[-1]
        assert conv_output_size(size, kernel, padding=padding) == expected


def test_same_padding_with_a_stride_is_refused_as_in_torch(torch):
    with pytest.raises(ValueError, match="strided"):
        torch.nn.Conv2d(1, 1, 3, stride=2, padding="same")
    with pytest.raises(ValueError, match=r"padding='same' needs stride 1 .* got stride"):
        Conv2D(1, 1, 3, stride=2, padding="same")
    with pytest.raises(ValueError, match="'valid' or 'same'; got 'full'"):
        Conv2D(1, 1, 3, padding="full")


@pytest.mark.filterwarnings("ignore:Using padding='same' with even kernel")
def test_summary_of_same_padded_network_matches_torch_shapes(torch):
    from tinytorch.core.activations import ReLU
    from tinytorch.core.networks import Sequential, summary

    np.random.seed(12)
    model = Sequential([Conv2D(3, 8, 4, padding="same"), ReLU(), MaxPool2D(2), Conv2D(8, 4, 3, padding="valid")])
    twins = torch.nn.Sequential(twin_of(model[0], torch), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
                                twin_of(model[3], torch))
    rows = summary(model, (2, 3, 10, 10), show=False)
    x = torch.zeros(2, 3, 10, 10)
    for row, layer in zip(rows, twins):
        x = layer(x)
        assert row["output_shape"] == tuple(x.shape)
    assert rows[0]["layer"].endswith("padding='same', bias=True)")
    assert rows[0]["macs"] == 2 * 8 * 10 * 10 * 3 * 4 * 4          # N·F·H'·W'·C·kH·kW, H' = H
    assert rows[3]["macs"] == 2 * 4 * 3 * 3 * 8 * 3 * 3            # (5 − 3 + 1)² positions


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_conv2d_naive_keeps_the_float_dtype_as_torch_does(torch, dtype):
    rng = np.random.default_rng(13)
    image, kernel = rng.standard_normal((6, 5)).astype(dtype), rng.standard_normal((3, 2)).astype(dtype)
    expected = torch.nn.functional.conv2d(torch.from_numpy(image)[None, None],
                                          torch.from_numpy(kernel)[None, None])[0, 0]
    out = conv2d_naive(image, kernel)
    assert out.dtype == dtype and expected.numpy().dtype == dtype
    np.testing.assert_allclose(out, expected.numpy(), rtol=1e-5 if dtype == np.float32 else 1e-12)


def test_text_is_a_type_error_as_in_torch(torch):
    with pytest.raises(TypeError):
        torch.tensor("text")
    with pytest.raises(TypeError, match="must be numbers"):
        Tensor("text")
