"""Convolution: the worked example, loops versus NumPy, the im2col helpers, and the fast path
against the loop reference on random configurations (strides, padding, rectangular kernels)."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tinytorch.core.cnn import (
    conv2d_forward,
    conv2d_naive,
    conv2d_reference,
    conv_output_size,
    im2col,
    pad2d,
    padding_sides,
    sliding_windows,
    to_pair,
)
from tinytorch.core.tensor import Tensor

IMAGE = np.array([[1, 2, 3], [4, 5, 6], [7, 8, 9]])


def test_worked_example_3x3_input_2x2_kernel():
    out = conv2d_naive(IMAGE, np.array([[1, 0], [0, -1]]))
    assert out.shape == (2, 2)
    assert out.tolist() == [[-4.0, -4.0], [-4.0, -4.0]]


def test_naive_does_not_flip_the_kernel():
    assert conv2d_naive(IMAGE, np.array([[1, 2], [3, 4]])).tolist() == [[37, 47], [67, 77]]


def test_naive_accepts_tensors():
    out = conv2d_naive(Tensor(IMAGE), Tensor([[1.0, 0.0], [0.0, -1.0]]))
    assert out.tolist() == [[-4.0, -4.0], [-4.0, -4.0]]


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 6), st.integers(1, 6), st.integers(1, 4), st.integers(1, 4), st.integers(0, 2**31 - 1))
def test_naive_matches_explicit_window_sums(H, W, kH, kW, seed):
    kH, kW = min(kH, H), min(kW, W)
    rng = np.random.default_rng(seed)
    image, kernel = rng.standard_normal((H, W)), rng.standard_normal((kH, kW))
    expected = np.array([[np.sum(image[i:i + kH, j:j + kW] * kernel) for j in range(W - kW + 1)]
                         for i in range(H - kH + 1)])
    np.testing.assert_allclose(conv2d_naive(image, kernel), expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("image, kernel, words", [
    (np.zeros((3, 3)), np.zeros((4, 2)), "larger than the input"),
    (np.zeros((3, 3, 1)), np.zeros((2, 2)), "2-D input (H, W)"),
    (np.zeros((3, 3)), np.zeros(2), "got shapes (3, 3) and (2,)"),
])
def test_naive_rejects_bad_shapes(image, kernel, words):
    with pytest.raises(ValueError) as error:
        conv2d_naive(image, kernel)
    assert words in str(error.value)


@pytest.mark.parametrize("size, kernel, stride, padding, expected", [
    (32, 5, 1, 0, 28), (32, 3, 1, 1, 32), (7, 3, 2, 0, 3), (8, 3, 2, 1, 4), (5, 5, 1, 0, 1), (1, 3, 1, 1, 1),
])
def test_output_size_formula(size, kernel, stride, padding, expected):
    assert conv_output_size(size, kernel, stride, padding) == expected


def test_output_size_rejects_kernel_larger_than_padded_input():
    with pytest.raises(ValueError, match=r"kernel size 5 is larger than the padded input size 4"):
        conv_output_size(2, 5, 1, 1)


@pytest.mark.parametrize("kernel, stride, named", [(3, 0, "stride"), (0, 1, "kernel_size"), ((3, 0), 1, "kernel_size")])
def test_padding_sides_names_a_zero_stride_or_kernel(kernel, stride, named):
    """The given helper: conv_output_size(8, 3, stride=0) met a ZeroDivisionError before."""
    with pytest.raises(ValueError, match=rf"^{named} must be an int or an \(h, w\) pair of ints, each positive"):
        padding_sides(1, kernel, stride)


@pytest.mark.parametrize("value, expected", [(3, (3, 3)), ((2, 5), (2, 5)), ([1, 4], (1, 4)), (np.int64(2), (2, 2))])
def test_to_pair_accepts_ints_and_pairs(value, expected):
    assert to_pair(value, "kernel_size") == expected


@pytest.mark.parametrize("value", [0, -2, (3, 0), (1, 2, 3), (3,), 2.0, "3", None, True])
def test_to_pair_rejects_bad_sizes(value):
    with pytest.raises(ValueError) as error:
        to_pair(value, "stride")
    assert "stride must be an int or an (h, w) pair of ints, each positive" in str(error.value)
    assert repr(value) in str(error.value)


def test_to_pair_allows_zero_padding_but_not_negative():
    assert to_pair(0, "padding", minimum=0) == (0, 0)
    with pytest.raises(ValueError, match="padding must be .* each at least 0; got -1"):
        to_pair(-1, "padding", minimum=0)


def test_pad2d_pads_last_two_axes_with_value():
    x = np.ones((2, 1, 2, 3), np.float32)
    out = pad2d(x, (1, 2), value=-7.0)
    assert out.shape == (2, 1, 4, 7) and out.dtype == np.float32
    assert out[0, 0, 0, 0] == -7.0 and out[1, 0, 1:3, 2:5].tolist() == [[1.0] * 3] * 2
    assert np.sum(out == -7.0) == 2 * (4 * 7 - 6)
    assert pad2d(x, 0) is x


def test_sliding_windows_is_a_strided_view():
    x = np.arange(2 * 2 * 6 * 7, dtype=np.float32).reshape(2, 2, 6, 7)
    windows = sliding_windows(x, (3, 2), stride=(2, 3))
    assert windows.shape == (2, 2, 2, 2, 3, 2)
    assert np.shares_memory(windows, x)
    for i in range(2):
        for j in range(2):
            np.testing.assert_array_equal(windows[1, 1, i, j], x[1, 1, 2 * i:2 * i + 3, 3 * j:3 * j + 2])


def test_sliding_windows_over_batch_last_axes_equal_numpy_and_are_read_only():
    x = np.arange(3 * 7 * 6 * 4, dtype=np.float64).reshape(3, 7, 6, 4)          # (C, H, W, N)
    windows = sliding_windows(x, (3, 2), stride=(2, 1), axes=(1, 2))
    expected = np.lib.stride_tricks.sliding_window_view(x, (3, 2), axis=(1, 2))[:, ::2, ::1]
    assert windows.shape == (3, 3, 5, 4, 3, 2)
    np.testing.assert_array_equal(windows, expected)
    assert not windows.flags.writeable


def test_sliding_windows_larger_than_the_input_is_a_clear_error():
    with pytest.raises(ValueError, match=r"window \(4, 2\) is larger than the input's \(3, 5\)"):
        sliding_windows(np.zeros((1, 1, 3, 5)), (4, 2))


def test_im2col_layout_matches_weight_reshape():
    cols = im2col(np.arange(9.0).reshape(1, 1, 3, 3), 2)
    assert cols.tolist() == [[0, 1, 3, 4], [1, 2, 4, 5], [3, 4, 6, 7], [4, 5, 7, 8]]
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 3, 5, 6)).astype(np.float32)
    weight = rng.standard_normal((4, 3, 2, 3)).astype(np.float32)
    cols = im2col(x, (2, 3), stride=(1, 2), padding=(1, 0))
    assert cols.shape == (3 * 2 * 3, 2 * 6 * 2) and cols.flags["C_CONTIGUOUS"]
    padded = np.pad(x, ((0, 0), (0, 0), (1, 1), (0, 0)))
    for (c, di, dj), (i, j, n) in [((2, 1, 2), (4, 1, 1)), ((0, 0, 0), (0, 0, 0)), ((1, 1, 0), (5, 0, 1))]:
        row, column = c * 6 + di * 3 + dj, (i * 2 + j) * 2 + n     # rows (c, di, dj); columns (i, j, n)
        assert cols[row, column] == padded[n, c, i + di, 2 * j + dj]
    via_cols = (weight.reshape(4, -1) @ cols).reshape(4, 6, 2, 2).transpose(3, 0, 1, 2)
    np.testing.assert_allclose(via_cols, conv2d_reference(x, weight, stride=(1, 2), padding=(1, 0)), atol=1e-4)


def random_case(draw):
    C, F = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    kH, kW = draw(st.integers(1, 5)), draw(st.integers(1, 5))
    sh, sw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    ph, pw = draw(st.integers(0, 2)), draw(st.integers(0, 2))
    H = draw(st.integers(max(1, kH - 2 * ph), 10))
    W = draw(st.integers(max(1, kW - 2 * pw), 10))
    N = draw(st.integers(1, 3))
    return (N, C, H, W), (F, C, kH, kW), (sh, sw), (ph, pw)


@settings(max_examples=60, deadline=None)
@given(st.data(), st.booleans(), st.integers(0, 2**31 - 1))
def test_fast_forward_equals_loop_reference(data, with_bias, seed):
    x_shape, w_shape, stride, padding = random_case(data.draw)
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(x_shape).astype(np.float32)
    weight = rng.standard_normal(w_shape).astype(np.float32)
    bias = rng.standard_normal(w_shape[0]).astype(np.float32) if with_bias else None
    fast = conv2d_forward(x, weight, bias, stride, padding)
    slow = conv2d_reference(x, weight, bias, stride, padding)
    H_out = (x_shape[2] + 2 * padding[0] - w_shape[2]) // stride[0] + 1
    W_out = (x_shape[3] + 2 * padding[1] - w_shape[3]) // stride[1] + 1
    assert fast.shape == slow.shape == (x_shape[0], w_shape[0], H_out, W_out)
    assert fast.dtype == np.float32 and fast.flags["C_CONTIGUOUS"]
    np.testing.assert_allclose(fast, slow, rtol=1e-4, atol=1e-4)


def test_reference_is_sum_of_naive_over_channels_plus_bias():
    rng = np.random.default_rng(4)
    x, weight, bias = rng.standard_normal((2, 3, 6, 5)), rng.standard_normal((2, 3, 3, 2)), np.array([0.5, -1.0])
    out = conv2d_reference(x, weight, bias)
    for n in range(2):
        for f in range(2):
            expected = sum(conv2d_naive(x[n, c], weight[f, c]) for c in range(3)) + bias[f]
            np.testing.assert_allclose(out[n, f], expected, rtol=1e-12)


def test_padding_is_zeros_and_stride_subsamples():
    x = np.arange(1, 17, dtype=np.float32).reshape(1, 1, 4, 4)
    ones = np.ones((1, 1, 3, 3), np.float32)
    padded = conv2d_forward(x, ones, padding=1)
    assert padded.shape == (1, 1, 4, 4)
    assert padded[0, 0, 0, 0] == 1 + 2 + 5 + 6           # corner window: 4 pixels, 5 zeros
    assert padded[0, 0, 1, 1] == sum(range(1, 12)) - 4 - 8 + 0  # 1+2+3+5+6+7+9+10+11
    stride2 = conv2d_forward(x, ones, padding=1, stride=2)
    np.testing.assert_array_equal(stride2, padded[:, :, ::2, ::2])


def test_integer_input_is_computed_in_float32():
    out = conv2d_forward(np.arange(16).reshape(1, 1, 4, 4), np.ones((2, 1, 2, 2), np.float32),
                         np.array([0, 1], np.float32))
    assert out.dtype == np.float32
    assert out[0, :, 0, 0].tolist() == [10.0, 11.0]


@pytest.mark.parametrize("x_shape, w_shape, kwargs, words", [
    ((1, 3, 8, 8), (4, 2, 3, 3), {}, "with the same C, got shapes (1, 3, 8, 8) and (4, 2, 3, 3)"),
    ((3, 8, 8), (4, 3, 3, 3), {}, "x (N, C, H, W)"),
    ((1, 1, 2, 2), (1, 1, 5, 5), {"padding": 1}, "kernel (5, 5) is larger than the padded input (4, 4)"),
    ((1, 1, 8, 8), (1, 1, 3, 3), {"stride": 0}, "stride must be"),
    ((1, 1, 8, 8), (1, 1, 3, 3), {"padding": -1}, "padding must be"),
])
def test_fast_forward_rejects_bad_input(x_shape, w_shape, kwargs, words):
    with pytest.raises(ValueError) as error:
        conv2d_forward(np.zeros(x_shape, np.float32), np.zeros(w_shape, np.float32), **kwargs)
    assert words in str(error.value)


@pytest.mark.parametrize("chunk_bytes", [1, 3000, 1 << 30])
def test_fast_forward_is_the_same_in_any_chunking(monkeypatch, chunk_bytes):
    import tinytorch.core.cnn as cnn

    rng = np.random.default_rng(8)
    x = rng.standard_normal((7, 2, 6, 5)).astype(np.float32)
    weight = rng.standard_normal((3, 2, 3, 2)).astype(np.float32)
    bias = rng.standard_normal(3).astype(np.float32)
    expected = conv2d_reference(x, weight, bias, stride=(2, 1), padding=1)
    monkeypatch.setattr(cnn, "COLUMN_CHUNK_BYTES", chunk_bytes)   # 1 byte: one image per chunk
    for b in (bias, None):
        out = cnn.conv2d_forward(x, weight, b, stride=(2, 1), padding=1)
        reference = expected if b is not None else expected - bias[:, None, None]
        np.testing.assert_allclose(out, reference, rtol=1e-4, atol=1e-4)


def test_float64_in_gives_float64_out():
    rng = np.random.default_rng(9)
    x, weight = rng.standard_normal((2, 2, 5, 5)), rng.standard_normal((2, 2, 3, 3))
    out = conv2d_forward(x, weight, np.array([1.0, -1.0]))
    assert out.dtype == np.float64
    np.testing.assert_allclose(out, conv2d_reference(x, weight, np.array([1.0, -1.0])), rtol=1e-12, atol=1e-12)


def test_im2col_writes_into_a_given_buffer_view():
    x = np.arange(2 * 1 * 4 * 4, dtype=np.float32).reshape(2, 1, 4, 4)
    buffer = np.full((10, 12), -1.0, np.float32)
    result = im2col(x, 3, padding=0, out=buffer[:9, :8])
    assert np.shares_memory(result, buffer)
    np.testing.assert_array_equal(buffer[:9, :8], im2col(x, 3))
    assert np.all(buffer[9] == -1) and np.all(buffer[:, 8:] == -1)
    with pytest.raises(ValueError, match=r"out must be an array view of shape \(9, 8\), got shape \(9, 9\)"):
        im2col(x, 3, out=np.empty((9, 9), np.float32))


def test_im2col_of_an_empty_batch_fills_an_empty_out():
    x = np.zeros((0, 3, 5, 6), np.float32)
    buffer = np.empty((28, 12), np.float32)
    assert im2col(x, 3, out=buffer[:27, :0]).shape == (27, 0) == im2col(x, 3).shape


def test_non_contiguous_input_and_empty_batch():
    rng = np.random.default_rng(10)
    x = rng.standard_normal((5, 6, 3, 2)).astype(np.float32).transpose(3, 2, 0, 1)   # (2, 3, 5, 6), strided
    assert not x.flags["C_CONTIGUOUS"]
    weight = rng.standard_normal((4, 3, 3, 3)).astype(np.float32)
    np.testing.assert_allclose(conv2d_forward(x, weight, padding=1), conv2d_reference(x, weight, padding=1), atol=1e-4)
    empty = conv2d_forward(np.zeros((0, 3, 5, 6), np.float32), weight, np.ones(4, np.float32))
    assert empty.shape == (0, 4, 3, 4)


@pytest.mark.parametrize("image_dtype, kernel_dtype, expected", [
    (np.float32, np.float32, np.float32), (np.float64, np.float64, np.float64),
    (np.float32, np.float64, np.float64), (np.int64, np.int64, np.float64), (np.uint8, np.int8, np.float64),
])
def test_naive_keeps_the_floating_dtype(image_dtype, kernel_dtype, expected):
    out = conv2d_naive(IMAGE.astype(image_dtype), np.array([[1, 0], [0, 1]], kernel_dtype))
    assert out.dtype == expected and out.tolist() == [[6.0, 8.0], [12.0, 14.0]]


@pytest.mark.parametrize("padding, kernel, stride, expected", [
    ("valid", 3, 1, ((0, 0), (0, 0))), ("same", 3, 1, ((1, 1), (1, 1))), ("same", 4, 1, ((1, 2), (1, 2))),
    ("same", (2, 5), 1, ((0, 1), (2, 2))), ("same", 1, (1, 1), ((0, 0), (0, 0))),
    (2, 3, 2, ((2, 2), (2, 2))), ((1, 0), 3, 1, ((1, 1), (0, 0))), (((0, 1), (2, 3)), 3, 1, ((0, 1), (2, 3))),
])
def test_padding_sides_of_every_form(padding, kernel, stride, expected):
    assert padding_sides(padding, kernel, stride) == expected


@pytest.mark.parametrize("padding, stride, words", [
    ("same", 2, "padding='same' needs stride 1"), ("same", (1, 2), "got stride (1, 2)"),
    ("full", 1, "'valid' or 'same'; got 'full'"), (-1, 1, "padding must be an int"),
])
def test_padding_sides_rejects_bad_padding(padding, stride, words):
    with pytest.raises(ValueError) as error:
        padding_sides(padding, 3, stride)
    assert words in str(error.value)


@pytest.mark.parametrize("size, kernel", [(8, 3), (8, 4), (5, 5), (7, 2), (1, 1)])
def test_output_size_of_the_padding_words(size, kernel):
    assert conv_output_size(size, kernel, padding="same") == size
    assert conv_output_size(size, kernel, padding="valid") == size - kernel + 1


@pytest.mark.parametrize("kernel", [(2, 2), (3, 3), (4, 4), (2, 5), (4, 1)])
def test_same_padding_is_the_asymmetric_zero_pad(kernel):
    rng = np.random.default_rng(14)
    x = rng.standard_normal((2, 3, 6, 7))
    weight = rng.standard_normal((2, 3, *kernel))
    (top, bottom), (left, right) = padding_sides("same", kernel)
    assert (top + bottom, left + right) == (kernel[0] - 1, kernel[1] - 1) and bottom - top in (0, 1)
    padded = np.pad(x, ((0, 0), (0, 0), (top, bottom), (left, right)))
    expected = conv2d_reference(padded, weight)
    assert expected.shape[2:] == x.shape[2:]
    np.testing.assert_allclose(conv2d_reference(x, weight, padding="same"), expected, rtol=1e-12)
    np.testing.assert_allclose(conv2d_forward(x, weight, padding="same"), expected, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(conv2d_forward(x, weight, padding="valid"), conv2d_reference(x, weight), rtol=1e-10)
