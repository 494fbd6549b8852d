"""Conv2D, MaxPool2D, AvgPool2D and Flatten as layers: attributes, initialisation, shapes,
unbatched input, dtypes, MACs, pooling semantics, and bad input."""

import numpy as np
import pytest
from hypothesis import given, settings

from cnn_strategies import pool_cases

from tinytorch.core.cnn import (
    AvgPool2D,
    Conv2D,
    Flatten,
    MaxPool2D,
    avg_pool2d_forward,
    conv2d_reference,
    flatten,
    max_pool2d_forward,
)
from tinytorch.core.layers import Layer
from tinytorch.core.tensor import Tensor


def test_conv2d_attributes_and_parameters():
    conv = Conv2D(3, 16, kernel_size=(3, 5), stride=2, padding=(1, 0))
    assert isinstance(conv, Layer)
    assert conv.kernel_size == (3, 5) and conv.stride == (2, 2) and conv.padding == (1, 0)
    assert conv.weight.shape == (16, 3, 3, 5) and conv.bias.shape == (16,)
    assert conv.weight.requires_grad and conv.bias.requires_grad
    assert conv.weight.dtype == np.float32 and conv.bias.dtype == np.float32
    assert conv.parameters() == [conv.weight, conv.bias]
    assert repr(conv) == "Conv2D(3, 16, kernel_size=(3, 5), stride=(2, 2), padding=(1, 0), bias=True)"
    no_bias = Conv2D(3, 16, 3, bias=False)
    assert no_bias.bias is None and no_bias.parameters() == [no_bias.weight]


def test_conv2d_initialisation_is_uniform_within_pytorch_bound():
    np.random.seed(0)
    conv = Conv2D(8, 64, kernel_size=3)
    bound = 1 / np.sqrt(8 * 3 * 3)
    w = conv.weight.data
    assert np.abs(w).max() <= bound and np.abs(conv.bias.data).max() <= bound
    assert np.abs(w).max() > 0.99 * bound
    assert abs(w.mean()) < 0.02 * bound
    np.testing.assert_allclose(w.var(), bound ** 2 / 3, rtol=0.05)   # variance of U(-b, b)


def test_conv2d_forward_equals_reference_with_its_parameters():
    rng = np.random.default_rng(5)
    conv = Conv2D(2, 3, kernel_size=(2, 3), stride=(1, 2), padding=1)
    x = rng.standard_normal((4, 2, 7, 6)).astype(np.float32)
    out = conv(Tensor(x))
    assert isinstance(out, Tensor) and out.shape == (4, 3, 8, 3) and out.dtype == np.float32
    expected = conv2d_reference(x, conv.weight.data, conv.bias.data, (1, 2), (1, 1))
    np.testing.assert_allclose(out.data, expected, rtol=1e-5, atol=1e-5)


def test_conv2d_accepts_unbatched_input():
    conv = Conv2D(3, 4, 3, padding=1)
    x = np.random.default_rng(6).standard_normal((3, 5, 5)).astype(np.float32)
    single = conv(Tensor(x))
    assert single.shape == (4, 5, 5)
    np.testing.assert_array_equal(single.data, conv(Tensor(x[np.newaxis])).data[0])


def test_conv2d_integer_input_gives_float32():
    conv = Conv2D(1, 1, 2, bias=False)
    conv.weight.data[...] = 1.0
    out = conv(Tensor([[[[1, 2, 3], [4, 5, 6], [7, 8, 9]]]]))
    assert out.dtype == np.float32 and out.data[0, 0].tolist() == [[12.0, 16.0], [24.0, 28.0]]


def test_conv2d_gives_its_input_the_weights_dtype():
    """APPROACH step 3: a float64 array computes in the weight's float32; float64 parameters
    (converted, as PyTorch's model.double()) compute a float32 input in float64."""
    conv = Conv2D(2, 3, 3, padding=1)
    x = np.random.default_rng(7).standard_normal((2, 2, 5, 5))
    out = conv(x)
    assert out.dtype == np.float32, f"a float64 array gave {out.dtype}: give the input the weight's dtype (step 3)"
    expected = conv2d_reference(x.astype(np.float32), conv.weight.data, conv.bias.data, (1, 1), (1, 1))
    np.testing.assert_allclose(out.data, expected, rtol=1e-5, atol=1e-5)
    for parameter in conv.parameters():
        parameter.data = parameter.data.astype(np.float64)
    converted = conv(Tensor(x.astype(np.float32)))
    assert converted.dtype == np.float64
    np.testing.assert_allclose(converted.data, conv2d_reference(x.astype(np.float32), conv.weight.data,
                                                                conv.bias.data, (1, 1), (1, 1)), rtol=1e-12)


def test_conv2d_macs_and_output_shape():
    conv = Conv2D(3, 32, 5)
    assert conv.output_shape((128, 3, 32, 32)) == (128, 32, 28, 28)
    assert conv.macs((128, 3, 32, 32)) == 128 * 32 * 28 * 28 * 3 * 5 * 5 == 240_844_800
    assert conv.macs((3, 32, 32)) == 32 * 28 * 28 * 75
    strided = Conv2D(16, 8, (3, 1), stride=(2, 1), padding=(1, 0))
    assert strided.output_shape((2, 16, 9, 4)) == (2, 8, 5, 4)
    assert strided.macs((2, 16, 9, 4)) == 2 * 8 * 5 * 4 * 16 * 3


@pytest.mark.parametrize("args, words", [
    ((0, 4, 3), "in_channels must be a positive int, got 0"),
    ((3, -1, 3), "out_channels must be a positive int, got -1"),
    ((3, 4, 0), "kernel_size must be"),
    ((3, 4, (3, -3)), "kernel_size must be"),
    ((3, 4, 3, 0), "stride must be"),
    ((3, 4, 3, 1, -1), "padding must be"),
    ((3.0, 4, 3), "in_channels must be a positive int, got 3.0"),
])
def test_conv2d_rejects_bad_sizes(args, words):
    with pytest.raises(ValueError) as error:
        Conv2D(*args)
    assert words in str(error.value)


@pytest.mark.parametrize("shape, words", [
    ((1, 1, 32, 32), "Conv2D expected 3 input channel(s), i.e. input of shape (N, 3, H, W) or (3, H, W), "
                     "got 1 channel(s) in input of shape (1, 1, 32, 32)"),
    ((1, 32, 32), "got 1 channel(s) in input of shape (1, 32, 32)"),
    ((32, 32), "Conv2D expects input of shape (N, C, H, W) or (C, H, W), got shape (32, 32) with 2 dimension(s)"),
    ((1, 1, 3, 32, 32), "got shape (1, 1, 3, 32, 32) with 5 dimension(s)"),
    ((1, 3, 2, 8), "kernel (3, 3) is larger than the padded input (2, 8)"),
])
def test_conv2d_rejects_bad_input(shape, words):
    conv = Conv2D(3, 4, 3)
    with pytest.raises(ValueError) as error:
        conv(Tensor(np.zeros(shape, np.float32)))
    assert words in str(error.value)


def test_max_and_avg_pool_worked_example():
    fmap = Tensor(np.array([[[[1, 3, 2, 0], [5, 4, 1, 1], [0, 0, 7, 8], [2, 1, 9, 8]]]], np.float32))
    assert MaxPool2D(2)(fmap).data[0, 0].tolist() == [[5, 2], [2, 9]]
    assert AvgPool2D(2)(fmap).data[0, 0].tolist() == [[3.25, 1.0], [0.75, 8.0]]


def test_pool_stride_defaults_to_kernel():
    pool = MaxPool2D((2, 3))
    assert pool.kernel_size == (2, 3) and pool.stride == (2, 3) and pool.padding == (0, 0)
    assert pool(Tensor(np.zeros((1, 2, 7, 9)))).shape == (1, 2, 3, 3)
    assert MaxPool2D(3, stride=1).stride == (1, 1)
    assert repr(AvgPool2D(2, padding=1)) == "AvgPool2D(kernel_size=(2, 2), stride=(2, 2), padding=(1, 1))"
    assert MaxPool2D(2).parameters() == [] and MaxPool2D(2).macs((1, 3, 8, 8)) == 0


def loop_pool(x, kernel, stride, padding, reduce, fill):
    N, C, H, W = x.shape
    (kH, kW), (sh, sw), (ph, pw) = kernel, stride, padding
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)), constant_values=fill)
    H_out, W_out = (H + 2 * ph - kH) // sh + 1, (W + 2 * pw - kW) // sw + 1
    out = np.empty((N, C, H_out, W_out))
    for i in range(H_out):
        for j in range(W_out):
            out[:, :, i, j] = reduce(xp[:, :, i * sh:i * sh + kH, j * sw:j * sw + kW], axis=(2, 3))
    return out


@settings(max_examples=50, deadline=None)
@given(pool_cases())
def test_pooling_equals_loops_with_and_without_padding(case):
    x, kernel, stride, padding = case
    maxed = max_pool2d_forward(x, kernel, stride, padding)
    np.testing.assert_array_equal(maxed, loop_pool(x, kernel, stride, padding, np.max, -np.inf))
    averaged = avg_pool2d_forward(x, kernel, stride, padding)
    np.testing.assert_allclose(averaged, loop_pool(x, kernel, stride, padding, np.mean, 0.0), rtol=1e-5, atol=1e-6)
    assert maxed.dtype == averaged.dtype == np.float32


def test_max_pool_padding_never_wins_and_avg_counts_zeros():
    x = -np.ones((1, 1, 3, 3), np.float32)
    assert max_pool2d_forward(x, 3, stride=1, padding=1).tolist() == [[[[-1.0] * 3] * 3]]
    avg = avg_pool2d_forward(np.ones((1, 1, 3, 3), np.float32), 3, stride=1, padding=1)
    np.testing.assert_allclose(avg[0, 0], np.array([[4, 6, 4], [6, 9, 6], [4, 6, 4]]) / 9, rtol=1e-6)


def test_max_pool_argmax_points_at_the_maximum_inside_each_window():
    x = np.random.default_rng(7).standard_normal((2, 2, 6, 6)).astype(np.float32)
    out, argmax = max_pool2d_forward(x, (2, 3), stride=(2, 3), return_argmax=True)
    assert argmax.shape == out.shape == (2, 2, 3, 2) and argmax.dtype == np.int64
    for i in range(3):
        for j in range(2):
            window = x[:, :, 2 * i:2 * i + 2, 3 * j:3 * j + 3].reshape(2, 2, 6)
            np.testing.assert_array_equal(np.take_along_axis(window, argmax[:, :, i, j, None], -1)[..., 0],
                                          out[:, :, i, j])


def test_pools_accept_unbatched_and_integer_input():
    x = np.arange(2 * 4 * 4).reshape(2, 4, 4)
    out = MaxPool2D(2)(Tensor(x))
    assert out.shape == (2, 2, 2) and out.dtype == np.float32
    assert out.data[1].tolist() == [[21.0, 23.0], [29.0, 31.0]]
    averaged = AvgPool2D(2)(Tensor(x))
    assert averaged.dtype == np.float32 and averaged.data[0].tolist() == [[2.5, 4.5], [10.5, 12.5]]


def test_pools_leave_their_input_as_it_was():
    x = np.random.default_rng(3).standard_normal((2, 3, 4, 4)).astype(np.float32)
    before = x.copy()
    max_pool2d_forward(x, 2)
    avg_pool2d_forward(x, 2)
    max_pool2d_forward(x, 2, return_argmax=True)
    np.testing.assert_array_equal(x, before)


def test_max_pool_argmax_ties_keep_the_first_maximum():
    x = np.array([[[[1.0, 1.0], [1.0, 1.0]], [[0.0, 2.0], [2.0, 2.0]]]], np.float32)
    out, argmax = max_pool2d_forward(x, 2, return_argmax=True)
    assert out[0, :, 0, 0].tolist() == [1.0, 2.0] and argmax[0, :, 0, 0].tolist() == [0, 1]


@pytest.mark.parametrize("make, words", [
    (lambda: MaxPool2D(0), "kernel_size must be"),
    (lambda: AvgPool2D(2, stride=0), "stride must be"),
    (lambda: MaxPool2D(3, padding=2), "padding (2, 2) must be at most half the kernel size (3, 3)"),
    (lambda: MaxPool2D(3)(Tensor(np.zeros((1, 1, 2, 5)))), "kernel (3, 3) is larger than the padded input (2, 5)"),
    (lambda: AvgPool2D(2)(Tensor(np.zeros((4, 4)))),
     "AvgPool2D expects input of shape (N, C, H, W) or (C, H, W), got shape (4, 4)"),
    (lambda: max_pool2d_forward(np.zeros((3, 4, 4)), 2), "expects input of shape (N, C, H, W), got shape (3, 4, 4)"),
])
def test_pools_reject_bad_input(make, words):
    with pytest.raises(ValueError) as error:
        make()
    assert words in str(error.value)


def test_flatten_keeps_batch_dimension():
    x = Tensor(np.arange(2 * 3 * 4 * 5, dtype=np.float32).reshape(2, 3, 4, 5))
    out = Flatten()(x)
    assert isinstance(out, Tensor) and out.shape == (2, 60)
    np.testing.assert_array_equal(out.data, x.data.reshape(2, 60))
    assert flatten(np.zeros((5, 2, 3))).shape == (5, 6)
    assert flatten(Tensor(np.zeros((4, 7)))).shape == (4, 7)
    assert Flatten().output_shape((8, 32, 13, 13)) == (8, 5408)
    assert Flatten().parameters() == [] and repr(Flatten()) == "Flatten()"


def test_flatten_rejects_1d_input():
    with pytest.raises(ValueError, match=r"at least 2 dimensions, got shape \(3,\)"):
        Flatten()(Tensor([1.0, 2.0, 3.0]))
    with pytest.raises(ValueError, match=r"at least 2 dimensions, got shape \(5,\)"):
        Flatten().output_shape((5,))  # as the layer itself
