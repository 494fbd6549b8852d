# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Module 06: CNN
#
# A 32×32 colour image is 3·32·32 = 3,072 numbers. A `Dense` layer that maps it to 16 maps of
# 30×30 needs 3,072 × 14,400 ≈ 44 million weights, and it treats the pixel in the top-left corner
# as unrelated to its neighbour. A **convolutional layer** does the same job with 16 small
# 3×3×3 filters — 448 parameters — because it builds in two facts about images:
#
# - **Local connectivity**: a pixel's meaning depends on its neighbours, so each output looks
#   only at a small window of the input;
# - **Weight sharing**: an edge is an edge wherever it appears, so the same filter slides over
#   every position.
#
# In this module you **build** the operation (first with your own loops, then fast), wrap it in
# layers, **use** them in a complete CNN, and **analyze** what it costs and what it sees:
#
# 1. `conv2d_naive`: one channel, one filter, four loops — the sliding window you can see;
# 2. `conv2d_reference`: batches, channels, filters, stride and padding, still with loops; you
#    time it and meet the problem;
# 3. `im2col` + `conv2d_forward`: the same numbers from **one matrix multiply**;
# 4. `Conv2D`, `MaxPool2D`, `AvgPool2D`, `Flatten`: layers that compose in `Sequential`;
# 5. a complete CNN for 32×32 images; its receptive fields, parameters, MACs and memory;
#    pictures of its filters and feature maps in your terminal.
#
# ```
#   02 tensor ──► 03 activations ──► 04 layers ──► 05 networks ──► 06 cnn ──► 07 dataloader ...
#                                                                 (you are here)
# ```
#
# Prerequisites: `tinytorch.core.tensor`, `.activations`, `.layers`, `.networks`, exported with
# `tito export --module NAME`.
#
# **Testing as you go.** Each function is followed by its test cell: run it once you have filled
# the function in. `tito test --module cnn` runs them all, exports your code into
# `tinytorch/core/cnn.py` and runs the module's pytest tests. In a notebook, run it in a cell as
# `!tito test --module cnn` — save the notebook first: tito reads the file as it is on disk.

# %%
#| default_exp core.cnn

# %%
#| export
import numpy as np
from numpy.lib.stride_tricks import as_strided

from tinytorch.core.tensor import Tensor, differentiable
from tinytorch.core.layers import Layer
from tinytorch.utils.threads import matmul

# %%
from tinytorch.utils.timing import median_seconds

from tinytorch.core.activations import ReLU, Sigmoid
from tinytorch.core.layers import Dense
from tinytorch.core.networks import Sequential, count_parameters, summary
from tinytorch.utils.feedback import info, passed, progress, unit_test

# %% [markdown]
# ## Step 1: The sliding window
#
# ### The concept
#
# Put a small grid of weights, the **kernel** (or filter), on the top-left corner of the image.
# Multiply each weight by the pixel under it and add the products: that sum is one output
# pixel. Slide the kernel one step right and repeat; at the end of the row, go down one step.
#
# ```
#   input (3×3)          kernel (2×2)        output (2×2)
#   ┌───┬───┬───┐
#   │ 1 │ 2 │ 3 │        ┌───┬───┐          ┌────┬────┐
#   ├───┼───┼───┤        │ 1 │ 0 │          │ -4 │ -4 │   out[0,0] = 1·1 + 2·0
#   │ 4 │ 5 │ 6 │   ⋆    ├───┼───┤    =     ├────┼────┤            + 4·0 + 5·(-1) = -4
#   ├───┼───┼───┤        │ 0 │-1 │          │ -4 │ -4 │
#   │ 7 │ 8 │ 9 │        └───┴───┘          └────┴────┘
#   └───┴───┴───┘
#    [1 2]            the window at (0, 0) covers 1 2 / 4 5;
#    [4 5]            at (0, 1) it covers 2 3 / 5 6, and so on.
# ```
#
# For an `(H, W)` input and a `(kH, kW)` kernel the window fits in `H − kH + 1` rows and
# `W − kW + 1` columns of positions, so that is the output's shape.
#
# Deep-learning libraries call this *convolution*, but strictly it is **cross-correlation**: a
# mathematician's convolution flips the kernel first. Since the kernel is learned, the flip
# makes no difference to what a network can do, and PyTorch, TensorFlow and TinyTorch all skip it.
#
# ### The cost
#
# Every output pixel takes `kH·kW` multiply-accumulates (MACs), so one filter on one channel
# costs `(H−kH+1)·(W−kW+1)·kH·kW` MACs: 30·30·3·3 = 8,100 for a 32×32 image and a 3×3 kernel.
# The kernel itself is only `kH·kW` numbers, whatever the image size.

# %%
#| export
def _as_array(x):
    """The ndarray behind a Tensor, or ``x`` itself as an ndarray."""
    return x.data if isinstance(x, Tensor) else np.asarray(x)


def conv2d_naive(input, kernel):
    """Single-channel 2-D cross-correlation with explicit loops: (H, W) ⋆ (kH, kW) -> (H-kH+1, W-kW+1).

    TODO: Slide the kernel over every position of the input and sum the products.

    APPROACH:
    1. Take the arrays: `image, kernel = _as_array(input), _as_array(kernel)` (either may be a
       Tensor). If one is not 2-D, raise `ValueError(f"conv2d_naive expects a 2-D input (H, W)
       and a 2-D kernel (kH, kW), got shapes {image.shape} and {kernel.shape}.")`.
    2. Read the shapes `H, W = image.shape` and `kH, kW = kernel.shape`. If the kernel is larger
       than the image along either axis, raise
       `ValueError(f"conv2d_naive: kernel {kernel.shape} is larger than the input {image.shape}.")`.
    3. Create the output `np.zeros((H - kH + 1, W - kW + 1), dtype)` in the inputs' floating
       dtype, as PyTorch keeps it: `dtype = np.result_type(image, kernel)`, or float64 when
       that is not a floating type (integer or boolean inputs).
    4. For every output position (i, j), loop over the kernel rows di and columns dj and add
       `image[i + di, j + dj] * kernel[di, dj]` to `output[i, j]`.
    5. Return the output.

    EXAMPLE:
    >>> conv2d_naive(np.array([[1, 2, 3], [4, 5, 6], [7, 8, 9]]), np.array([[1, 0], [0, -1]]))
    array([[-4., -4.],
           [-4., -4.]])
    >>> conv2d_naive(np.ones((3, 3), np.float32), np.ones((2, 2), np.float32)).dtype
    dtype('float32')

    HINTS:
    - Four nested `for` loops: two over output positions, two over kernel positions.
    - `np.result_type(a, b).kind == "f"` tells whether the combined dtype is floating.
    - Do not flip the kernel: `input[i + di, j + dj]` pairs with `kernel[di, dj]`.
    """
    ### BEGIN SOLUTION
    image, kernel = _as_array(input), _as_array(kernel)
    if image.ndim != 2 or kernel.ndim != 2:
        raise ValueError(
            f"conv2d_naive expects a 2-D input (H, W) and a 2-D kernel (kH, kW), "
            f"got shapes {image.shape} and {kernel.shape}."
        )
    H, W = image.shape
    kH, kW = kernel.shape
    if kH > H or kW > W:
        raise ValueError(f"conv2d_naive: kernel {kernel.shape} is larger than the input {image.shape}.")
    dtype = np.result_type(image, kernel)
    output = np.zeros((H - kH + 1, W - kW + 1), dtype if dtype.kind == "f" else np.float64)
    for i in range(H - kH + 1):
        for j in range(W - kW + 1):
            for di in range(kH):
                for dj in range(kW):
                    output[i, j] += image[i + di, j + dj] * kernel[di, dj]
    return output
    ### END SOLUTION


# %%
def test_unit_conv2d_naive():
    unit_test("conv2d_naive")
    image = np.array([[1, 2, 3], [4, 5, 6], [7, 8, 9]])
    result = conv2d_naive(image, np.array([[1, 0], [0, -1]]))
    assert result.shape == (2, 2), f"3×3 input, 2×2 kernel -> (2, 2), got {result.shape}"
    np.testing.assert_array_equal(result, [[-4, -4], [-4, -4]], err_msg="the worked example")
    passed("Worked example: 3×3 input ⋆ 2×2 kernel = (-4, -4 / -4, -4)")

    asymmetric = conv2d_naive(image, np.array([[1, 2], [3, 4]]))
    np.testing.assert_array_equal(asymmetric, [[37, 47], [67, 77]],
                                  err_msg="an asymmetric kernel (is it flipped?)")
    passed("Kernel is not flipped (cross-correlation, as in PyTorch)")

    rng = np.random.default_rng(0)
    big, kernel = rng.standard_normal((6, 5)), rng.standard_normal((3, 2))
    expected = [[np.sum(big[i:i + 3, j:j + 2] * kernel) for j in range(4)] for i in range(4)]
    np.testing.assert_allclose(conv2d_naive(big, kernel), expected, atol=1e-6)
    passed("Rectangular input and kernel give (H-kH+1, W-kW+1)")
    progress("conv2d_naive")


if __name__ == "__main__":
    test_unit_conv2d_naive()

# %% [markdown]
# ## Step 2: Batches, channels, filters, stride and padding — still with loops
#
# ### The concept
#
# Real images have **channels** (red, green, blue), and a layer learns **many filters** at once.
# A filter spans all input channels: with `C` input channels it is a `(C, kH, kW)` block, and
# its output pixel is the sum over channels of the single-channel results. `F` filters make `F`
# output channels, the **feature maps**. We process a **batch** of `N` images at once:
#
# ```
#   input x (N, C, H, W)        weight (F, C, kH, kW)    bias (F,)    output (N, F, H', W')
#
#   x[n]: C planes of H×W        filter f: C planes       out[n, f]: one plane of H'×W'
#      ┌────────┐                   ┌───┐                   ┌──────┐
#     ┌┴───────┐│                  ┌┴──┐│                   │      │
#    ┌┴───────┐││        ⋆        ┌┴──┐││       ──►         │      │
#    │        │├┘                 │   │├┘                   └──────┘
#    │        ├┘                  │   ├┘
#    └────────┘                   └───┘
#
#   out[n, f, i, j] = b[f] + Σ_c Σ_di Σ_dj  x[n, c, i·s + di, j·s + dj] · w[f, c, di, dj]
# ```
#
# Two more knobs shape the output:
#
# - **Padding** `p` adds `p` rows/columns of zeros around the image, so border pixels are seen
#   by more windows (with a 3×3 kernel, a corner pixel by 4 instead of 1, the centre by 9), and a
#   3×3 kernel with `p = 1` keeps the size.
# - **Stride** `s` moves the window `s` pixels at a time, dividing each output side by about `s`.
#
# ```
#   padding 1 around a 3×3 image            stride 2: windows start at 0, 2, 4, ...
#   0 0 0 0 0                              [x x x] x x x x        (kernel 3)
#   0 a b c 0                               x x [x x x] x x
#   0 d e f 0                               x x x x [x x x]
#   0 g h i 0
#   0 0 0 0 0
# ```
#
# Per axis, the output size is
#
# ```
#   H' = ⌊(H + 2p − kH) / s⌋ + 1          e.g. 32 + 2·0 − 5 = 27, 27/1 + 1 = 28
# ```
#
# `kernel_size`, `stride` and `padding` may each be one number or an `(h, w)` pair, as in
# PyTorch, so rectangular kernels and different strides per axis work too. Like
# `torch.nn.Conv2d`, `padding` may also be a word:
#
# - `"valid"`: no padding, only windows that lie entirely inside the image (`p = 0`);
# - `"same"`: the output keeps the input's size, which needs stride 1 and `k − 1` zeros per
#   axis. An odd kernel gets `(k − 1)/2` on each side; for an even kernel the zeros cannot be
#   split evenly, and the extra one goes to the bottom and the right, as in PyTorch:
#
# ```
#   kernel 3, "same": 1 before, 1 after          kernel 4, "same": 1 before, 2 after
#   0 a b c 0                                    0 a b c 0 0
# ```
#
# ### The cost
#
# `N·F·H'·W'·C·kH·kW` MACs. For a CIFAR-sized batch (128, 3, 32, 32) through 32 filters of
# 5×5 that is 128·32·28·28·3·5·5 ≈ **241 million** MACs for one forward pass of one layer.

# %%
#| export
def to_pair(value, name, minimum=1):
    """An int or an (h, w) pair as a tuple of two ints, each at least ``minimum``.

    >>> to_pair(3, "kernel_size")
    (3, 3)
    >>> to_pair((3, 5), "kernel_size")
    (3, 5)
    """
    if type(value) is tuple and len(value) == 2 and type(value[0]) is int and type(value[1]) is int:
        if min(value) >= minimum:                     # the common case, checked first: it is cheap
            return value
    if isinstance(value, (bool, np.bool_)):
        pair = None
    elif isinstance(value, (int, np.integer)):
        pair = (int(value), int(value))
    else:
        try:
            pair = tuple(value)
        except TypeError:
            pair = None
        if pair is not None and (
            len(pair) != 2
            or not all(isinstance(v, (int, np.integer)) and not isinstance(v, (bool, np.bool_)) for v in pair)
        ):
            pair = None
    kind = "positive" if minimum == 1 else f"at least {minimum}"
    if pair is None or min(pair) < minimum:
        raise ValueError(
            f"{name} must be an int or an (h, w) pair of ints, each {kind}; got {value!r}."
        )
    return (int(pair[0]), int(pair[1]))


PADDING_WORDS = ("valid", "same")


def padding_sides(padding, kernel_size, stride=1):
    """Zeros on each side of the image, ``((top, bottom), (left, right))``, for a conv padding.

    ``padding`` is an int or an (h, w) pair (that many on both sides), ``"valid"`` (none),
    ``"same"`` (stride 1 only: ``k − 1`` per axis, ``(k − 1) // 2`` before and the rest after, as
    PyTorch does), or already ``((top, bottom), (left, right))``.

    >>> padding_sides("same", 4)
    ((1, 2), (1, 2))
    >>> padding_sides((1, 2), 3)
    ((1, 1), (2, 2))
    """
    to_pair(kernel_size, "kernel_size")  # a zero stride or kernel is named here, not met as a ZeroDivisionError
    to_pair(stride, "stride")
    if isinstance(padding, str):
        if padding == "valid":
            return ((0, 0), (0, 0))
        if padding == "same":
            if to_pair(stride, "stride") != (1, 1):
                raise ValueError(
                    f"padding='same' needs stride 1 (the output keeps the input's size), "
                    f"got stride {stride!r}; use a number for the padding of a strided convolution."
                )
            kH, kW = to_pair(kernel_size, "kernel_size")
            return (((kH - 1) // 2, kH // 2), ((kW - 1) // 2, kW // 2))
        raise ValueError(
            f"padding must be an int, an (h, w) pair, 'valid' or 'same'; got {padding!r}."
        )
    if isinstance(padding, tuple) and len(padding) == 2 and isinstance(padding[0], tuple):
        return (to_pair(padding[0], "padding", minimum=0), to_pair(padding[1], "padding", minimum=0))
    ph, pw = to_pair(padding, "padding", minimum=0)
    return ((ph, ph), (pw, pw))


def conv_output_size(size, kernel, stride=1, padding=0):
    """Output length along one axis: ⌊(size + 2·padding − kernel) / stride⌋ + 1.

    ``padding`` is a number of zeros on each side, or ``"valid"`` (0) or ``"same"`` (the output
    length is ``size``; stride must be 1).

    TODO: Compute how many window positions fit along an axis.

    APPROACH:
    1. Turn the words into numbers: "valid" is 0 on each side; "same" is `kernel - 1` zeros in
       total (raise ValueError if the stride is not 1). Otherwise there are `2 * padding`.
    2. The padded length `padded` is `size` plus those zeros.
    3. If the kernel is longer than that, no window fits:
       `raise ValueError(f"kernel size {kernel} is larger than the padded input size {padded}")`.
    4. Otherwise return `(padded - kernel) // stride + 1`.

    EXAMPLE:
    >>> conv_output_size(32, 5)
    28
    >>> conv_output_size(8, 3, stride=1, padding=1)
    8
    >>> conv_output_size(8, 4, padding="same")
    8

    HINTS:
    - `//` is floor division: windows that would run off the end are dropped.
    - `padding_sides(padding, kernel, stride)` turns every form of padding into numbers.
    """
    ### BEGIN SOLUTION
    (before, after), _ = padding_sides(padding, kernel, stride)
    padded = size + before + after
    if kernel > padded:
        raise ValueError(
            f"kernel size {kernel} is larger than the padded input size {padded} "
            f"(input {size} + padding {before} before and {after} after)."
        )
    return (padded - kernel) // stride + 1
    ### END SOLUTION


def conv2d_reference(x, weight, bias=None, stride=1, padding=0):
    """Batched multi-channel 2-D cross-correlation with loops: (N, C, H, W) -> (N, F, H', W').

    ``weight`` is (F, C, kH, kW), ``bias`` (F,) or None; H' = ⌊(H + 2p − kH)/s⌋ + 1 and
    likewise W'; ``padding`` may also be "valid" or "same". Computed in float64, so it can
    serve as the yardstick for the fast version.

    TODO: Loop over images, filters and output positions; each output pixel is the sum of
    a (C, kH, kW) window times the filter, plus the filter's bias.

    APPROACH:
    1. Turn `stride` into an (h, w) pair with `to_pair`, and `padding` into the zeros on each
       side with `(top, bottom), (left, right) = padding_sides(padding, (kH, kW), stride)`.
    2. Zero-pad the input's last two axes: `np.pad(x, ((0, 0), (0, 0), (top, bottom), (left, right)))`.
    3. Compute H' and W' with `conv_output_size` on the padded size and create a float64
       output (N, F, H', W').
    4. For n, f, i, j: take the window `xp[n, :, i*sh : i*sh + kH, j*sw : j*sw + kW]`,
       set `out[n, f, i, j] = np.sum(window * weight[f])`, plus `bias[f]` if there is a bias.

    EXAMPLE:
    >>> x = np.arange(9.0).reshape(1, 1, 3, 3)
    >>> conv2d_reference(x, np.ones((1, 1, 2, 2)), padding=1).shape
    (1, 1, 4, 4)

    HINTS:
    - This is conv2d_naive's two inner loops replaced by one `np.sum` over the whole
      (C, kH, kW) window.
    - `window * weight[f]` multiplies element by element; both are (C, kH, kW).
    """
    ### BEGIN SOLUTION
    x = np.asarray(_as_array(x), dtype=np.float64)
    weight = np.asarray(_as_array(weight), dtype=np.float64)
    if x.ndim != 4 or weight.ndim != 4 or x.shape[1] != weight.shape[1]:
        raise ValueError(
            f"conv2d_reference expects x (N, C, H, W) and weight (F, C, kH, kW) with the same C, "
            f"got shapes {x.shape} and {weight.shape}."
        )
    sh, sw = to_pair(stride, "stride")
    N, _, H, W = x.shape
    F, _, kH, kW = weight.shape
    (top, bottom), (left, right) = padding_sides(padding, (kH, kW), stride)
    xp = np.pad(x, ((0, 0), (0, 0), (top, bottom), (left, right)))
    H_out = conv_output_size(xp.shape[2], kH, sh)
    W_out = conv_output_size(xp.shape[3], kW, sw)
    out = np.zeros((N, F, H_out, W_out))
    for n in range(N):
        for f in range(F):
            for i in range(H_out):
                for j in range(W_out):
                    window = xp[n, :, i * sh:i * sh + kH, j * sw:j * sw + kW]
                    out[n, f, i, j] = np.sum(window * weight[f])
                    if bias is not None:
                        out[n, f, i, j] += _as_array(bias)[f]
    return out
    ### END SOLUTION


# %%
def test_unit_conv_output_size():
    unit_test("conv_output_size")
    for args, expected in (((32, 5), 28), ((32, 3, 1, 1), 32), ((7, 3, 2), 3), ((8, 3, 2, 1), 4)):
        got = conv_output_size(*args)  # (size, kernel, stride, padding)
        assert got == expected, f"conv_output_size{args}: expected {expected}, got {got}"
    passed("⌊(H + 2p − k)/s⌋ + 1 for stride and padding")
    try:
        conv_output_size(2, 3)
    except ValueError as error:
        assert "larger than the padded input" in str(error)
    else:
        raise AssertionError("a kernel larger than the padded input must raise ValueError")
    passed("A kernel that does not fit raises ValueError")
    assert to_pair(3, "kernel_size") == (3, 3) and to_pair((2, 5), "stride") == (2, 5)
    assert to_pair(0, "padding", minimum=0) == (0, 0)
    for bad in (0, -1, (3,), (3, 0), 2.5, "3", True):
        try:
            to_pair(bad, "kernel_size")
        except ValueError as error:
            assert "kernel_size" in str(error) and repr(bad) in str(error)
        else:
            raise AssertionError(f"to_pair({bad!r}) must raise ValueError")
    passed("Sizes are ints or (h, w) pairs; anything else raises ValueError")
    progress("conv_output_size")


if __name__ == "__main__":
    test_unit_conv_output_size()


# %%
def test_unit_conv2d_reference():
    unit_test("conv2d_reference")
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, 3, 6, 5))
    weight = rng.standard_normal((4, 3, 3, 2))
    bias = rng.standard_normal(4)
    out = conv2d_reference(x, weight, bias)
    assert out.shape == (2, 4, 4, 4)
    for n in range(2):
        for f in range(4):
            expected = sum(conv2d_naive(x[n, c], weight[f, c]) for c in range(3)) + bias[f]
            np.testing.assert_allclose(out[n, f], expected, atol=1e-6)
    passed("Each map is the sum over channels of conv2d_naive, plus the filter's bias")

    strided = conv2d_reference(x, weight, bias, stride=2)
    np.testing.assert_allclose(strided, out[:, :, ::2, ::2], atol=1e-6)
    passed("Stride 2 keeps every other window of stride 1")

    padded = conv2d_reference(x, weight, None, padding=(1, 2))
    x_padded = np.pad(x, ((0, 0), (0, 0), (1, 1), (2, 2)))
    assert padded.shape == (2, 4, 6, 8)
    np.testing.assert_allclose(padded, conv2d_reference(x_padded, weight), atol=1e-6)
    passed("Padding equals convolving the zero-padded image")
    progress("conv2d_reference")


if __name__ == "__main__":
    test_unit_conv2d_reference()

# %% [markdown]
# ### Measure it
#
# Time the loop version on one image of the CIFAR-sized case and scale up to a batch of 128.
# Four Python loops make 128·32·28·28 ≈ 3.2 million trips through `np.sum`, each a few
# microseconds: seconds for one forward pass of one layer (the measured time is in
# `benchmarks/README.md`). (The paper behind the
# original course timed its pure-Python Conv2D at 97 s on this batch; PyTorch takes
# milliseconds.) Training needs thousands of such passes, so we need another way.

# %%
def measure_loop_reference(images=1, repeats=1):
    """Time conv2d_reference on a slice of the (128, 3, 32, 32) ⋆ 32×(5×5) case; return seconds per 128 images."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((images, 3, 32, 32)).astype(np.float32)
    weight = rng.standard_normal((32, 3, 5, 5)).astype(np.float32)
    per_batch = median_seconds(lambda: conv2d_reference(x, weight), repeats) * 128 / images
    info(f"Loop reference: {per_batch / 128 * 1e3:.0f} ms per image, ≈ {per_batch:.1f} s per batch of 128", icon="⏱️")
    return per_batch


if __name__ == "__main__":
    measure_loop_reference()

# %% [markdown]
# ## Step 3: From loops to one matrix multiply (im2col)
#
# ### The concept
#
# Look at what the loops do for one output pixel: a dot product between a filter, flattened
# to `C·kH·kW` numbers, and the window under it, flattened the same way. So:
#
# 1. copy every window into a **column** of a matrix (*im2col*, "image to columns"):
#    `cols` has `C·kH·kW` rows and one column per output position of every image;
# 2. flatten the filters into the rows of a matrix `W` of shape `(F, C·kH·kW)`;
# 3. then **all** outputs are one matrix product, `W @ cols`, which NumPy hands to an optimised
#    BLAS routine that uses every vector unit and core of the machine.
#
# ```
#   image (C=1, 3×3)        cols (kH·kW = 4 rows, H'·W' = 4 columns)     W (F=1, 4)
#   ┌───┬───┬───┐           window: (0,0) (0,1) (1,0) (1,1)
#   │ 1 │ 2 │ 3 │            row 0:   1     2     4     5               [ 1  0  0 -1 ]
#   │ 4 │ 5 │ 6 │   ──►      row 1:   2     3     5     6
#   │ 7 │ 8 │ 9 │            row 2:   4     5     7     8          W @ cols = [-4 -4 -4 -4]
#   └───┴───┴───┘            row 3:   5     6     8     9          reshape -> (2, 2)
# ```
#
# In words: each of the four 2×2 windows of the 3×3 image becomes one column of `cols`, its
# pixels read row by row (the window at (0, 0) is the column 1, 2, 4, 5), and the filter
# `[1, 0, 0, -1]`, top-left pixel minus bottom-right, gives -4 for every window: the 2×2 output.
#
# We never write a copy loop: a **view** of every window needs no data copied, just clever
# strides (`numpy.lib.stride_tricks.as_strided`; `sliding_window_view` does the same with more
# checks, and costs 7 µs a call instead of 1). A stride is how many bytes to jump for +1 along
# an axis; the window axes simply reuse the row and column strides, and the next window is
# `sh` rows or `sw` columns further, so neighbouring windows overlap in memory.
#
# **Which order the columns come in matters for speed**, not for the result. The copy into
# `cols` moves, at a time, the numbers that lie next to each other both in the image and in
# `cols`, and NumPy pays a fixed cost for each such run. In `(N, C, H, W)` order a window row
# of one image is a run of `W'` numbers — only 8 for the 8×8 images of the digits CNN, so the
# copy would spend its time on bookkeeping. So we first copy the (padded) batch once into
# **batch-last** order `(C, H, W, N)`: the same window row of *every* image is then one run of
# `W'·N` numbers (256 for 32 images of 8×8), and the columns come in the order
# `(i, j, n)` — position first, image last:
#
# ```
#   xt       (3, 32, 32, 128)              strides (524288, 16384, 512, 4)      bytes, float32
#   windows  (3, 28, 28, 128, 5, 5)        strides (524288, 16384, 512, 4, 16384, 512)
#                                                           └─┬─┘  └┬┘  └────┬─────┘
#                                                  next window  next image  next pixel of a window
# ```
#
# In words: the view steps 16384 or 512 bytes (a row or a column of `xt`) to the next window
# down or right, 4 bytes (one float32) to the next image, and again 16384 or 512 bytes to the
# next pixel of a window, down or right.
#
# Slicing `[:, ::sh, ::sw]` applies the stride. A transpose (free: another view) puts the row
# axes `(C, kH, kW)` first and the column axes `(H', W', N)` last, and one copy moves the
# windows into the `cols` matrix `(C·kH·kW, H'·W'·N)`. `W @ cols` is then `(F, H'·W'·N)`: one
# row per filter; a last transpose gives `(N, F, H', W')`. (PyTorch calls the order of the axes
# in memory its *memory format*; `torch.channels_last` is the same idea for the channels.)
#
# ### The cost
#
# The MACs are the same; what changes is *who* performs them. The price is memory: `cols` holds
# every input pixel up to `kH·kW / (sh·sw)` times (fewer at the borders). For (128, 3, 32, 32)
# with 5×5 kernels that is 128 · 75 · 784 float32 numbers = **30 MB** of columns for a 1.5 MB
# input, about 19 copies of each pixel. Every framework that
# uses im2col pays this; it is the classic speed-for-memory trade.
#
# Two refinements make `conv2d_forward` faster without changing a single number:
#
# - **Chunks that fit in cache.** Written all at once, the 30 MB of columns leave the CPU's
#   caches before the multiply reads them back. Built a few images at a time (about 2 MB) into
#   one reused buffer, they are still in cache when the multiply needs them, and the extra
#   memory drops from 30 MB to 2 MB. Each chunk is still one large multiply, so BLAS keeps
#   its speed (many tiny multiplies would each pay a fixed start-up cost).
# - **The bias as a weight.** `W @ cols + b` needs a second pass over the whole output just to
#   add `b`. Append `b` as one more column of `W` and a row of ones to `cols`: the multiply adds
#   the bias for free (`K` grows from 75 to 76).
#
# ```
#   [ W | b ]  @  [ cols ]   =   W @ cols + b
#    (F, K+1)     [ 1 1 1 ]        (F, H'·W'·N)
#                  (K+1, H'·W'·N)
# ```
#
# ### Threads: when a second core pays
#
# BLAS can split one matrix product across every core. That pays for a large product on an
# idle machine, and loses in two cases, both measured (`benchmarks/README.md`): a small or
# skinny product, where starting and synchronising the threads costs more than the second core
# saves, and a **busy machine**: a multi-threaded product waits at every synchronisation point
# for a core that another program holds, and with one core kept busy two-thread products ran
# several times slower than one thread. Students rarely run on an idle machine, so TinyTorch
# decides per product, in one place (`tinytorch/utils/threads.py`): `matmul(a, b)` is NumPy's
# `a @ b` on **one thread** unless the product is large and not skinny *and* the cores are free
# (measured from the operating system's CPU counters every quarter second). Set the
# environment variable `TINYTORCH_NUM_THREADS=N` to fix the count yourself (`auto` is the
# default), like `torch.set_num_threads`.

# %%
#| export
def _floating(x):
    """Integer and boolean arrays become float32; floating arrays are kept as they are."""
    return x if x.dtype.kind == "f" else x.astype(np.float32)


def pad2d(x, padding, value=0.0):
    """Pad the last two axes: (..., H, W) -> (..., top + H + bottom, left + W + right).

    ``padding`` is an int or an (h, w) pair (the same on both sides) or
    ``((top, bottom), (left, right))``; the border is filled with ``value``. Returns ``x``
    itself when there is no padding.
    """
    (top, bottom), (left, right) = padding_sides(padding, 1)
    if top == bottom == left == right == 0:
        return x
    *lead, H, W = x.shape
    shape = (*lead, top + H + bottom, left + W + right)
    out = np.zeros(shape, x.dtype) if value == 0 else np.full(shape, value, x.dtype)
    out[..., top:top + H, left:left + W] = x
    return out


def sliding_windows(x, kernel_size, stride=1, axes=(-2, -1)):
    """Every (kH, kW) window of x over two ``axes`` as a read-only view, the window last.

    Default (N, C, H, W) -> (N, C, H', W', kH, kW): ``windows[n, c, i, j]`` is
    ``x[n, c, i·sh : i·sh + kH, j·sw : j·sw + kW]``. With ``axes=(1, 2)`` a batch-last
    (C, H, W, N) gives (C, H', W', N, kH, kW). No data is copied. The caller pads first;
    H' = ⌊(H − kH)/sh⌋ + 1.
    """
    kH, kW = to_pair(kernel_size, "kernel_size")
    sh, sw = to_pair(stride, "stride")
    rows, cols = (axis % x.ndim for axis in axes)
    if kH > x.shape[rows] or kW > x.shape[cols]:
        raise ValueError(f"sliding_windows: window {(kH, kW)} is larger than the input's "
                         f"{(x.shape[rows], x.shape[cols])} on axes {tuple(axes)}.")
    shape, strides = list(x.shape), list(x.strides)
    shape[rows], shape[cols] = (x.shape[rows] - kH) // sh + 1, (x.shape[cols] - kW) // sw + 1
    strides[rows], strides[cols] = x.strides[rows] * sh, x.strides[cols] * sw
    return as_strided(x, (*shape, kH, kW), (*strides, x.strides[rows], x.strides[cols]), writeable=False)


def to_batch_last(x, padding=0, dtype=None):
    """(N, C, H, W) -> (C, top + H + bottom, left + W + right, N), zero-padded, in one copy.

    ``padding`` as in ``pad2d``; ``dtype`` defaults to x's. The batch becomes the innermost axis:
    the same pixel of consecutive images lies side by side in memory.
    """
    (top, bottom), (left, right) = padding_sides(padding, 1)
    N, C, H, W = x.shape
    out = np.zeros((C, top + H + bottom, left + W + right, N), dtype or x.dtype)
    out[:, top:top + H, left:left + W, :] = x.transpose(1, 2, 3, 0)
    return out


def to_batch_first(x_last, padding=0):
    """(C, Hp, Wp, N) -> (N, C, H, W): ``to_batch_last`` undone, its padding dropped, in one copy."""
    (top, bottom), (left, right) = padding_sides(padding, 1)
    Hp, Wp = x_last.shape[1:3]
    inside = x_last[:, top:Hp - bottom, left:Wp - right]
    return np.ascontiguousarray(inside.transpose(3, 0, 1, 2))


def _check_fits(x_shape, kernel, sides, who):
    """ValueError when a (kH, kW) kernel is larger than the input's (H, W) padded by ``sides``,
    ((top, bottom), (left, right))."""
    H, W = x_shape[-2:]
    (kH, kW), ((top, bottom), (left, right)) = kernel, sides
    padded = (top + H + bottom, left + W + right)
    if kH > padded[0] or kW > padded[1]:
        shown = (top, left) if (top, left) == (bottom, right) else ((top, bottom), (left, right))
        raise ValueError(
            f"{who}: kernel {(kH, kW)} is larger than the padded input "
            f"{padded} (input {(H, W)} + padding {shown} on each side)."
        )


def im2col(x, kernel_size, stride=1, padding=0, out=None):
    """Windows as columns: (N, C, H, W) -> cols (C·kH·kW, H'·W'·N), the batch innermost.

    Row ``c·kH·kW + di·kW + dj`` holds pixel (di, dj) of channel c of every window; column
    ``(i·W' + j)·N + n`` is the window of output (i, j) of image n. So
    ``weight.reshape(F, -1) @ cols`` is the whole convolution, as (F, H'·W'·N). ``padding`` is
    an int, an (h, w) pair, "valid", "same" or ((top, bottom), (left, right)). With ``out`` (an
    array of that shape, e.g. a slice of a reused buffer) the columns are written there.

    TODO: Pad and move the batch last, take the sliding windows, copy them into columns.

    APPROACH:
    1. Sizes: `kH, kW = to_pair(kernel_size, "kernel_size")`, and the zeros on each side,
       `padding = padding_sides(padding, (kH, kW), stride)`; `_check_fits(x.shape, (kH, kW),
       padding, "im2col")` raises the ValueError for a kernel larger than the padded input.
    2. `xt = to_batch_last(x, padding)`: (C, Hp, Wp, N), zero-padded, the batch last.
    3. `windows = sliding_windows(xt, (kH, kW), stride, axes=(1, 2))` -> (C, H', W', N, kH, kW)
       view.
    4. Put the row axes (C, kH, kW) first and the column axes (H', W', N) last:
       `windows.transpose(0, 4, 5, 1, 2, 3)` -> (C, kH, kW, H', W', N), still a view.
    5. Without `out`: copy once with `np.ascontiguousarray` and reshape to
       `shape = (C·kH·kW, H'·W'·N)`.
    6. With `out`: it must have that `shape`, and `out.reshape(C, kH, kW, H', W', N)` must be a
       view of it (`np.may_share_memory`; an empty `out` has nothing to share and is fine), else
       `raise ValueError(f"im2col: out must be an array view of shape {shape}, got shape {out.shape}.")`.
       Copy the windows into that view (`np.copyto`) and return `out`.

    EXAMPLE:
    >>> im2col(np.arange(9.0).reshape(1, 1, 3, 3), 2)
    array([[0., 1., 3., 4.],
           [1., 2., 4., 5.],
           [3., 4., 6., 7.],
           [4., 5., 7., 8.]])

    HINTS:
    - The transpose is free (a view); the copy happens in `np.ascontiguousarray`.
    - `reshape` of a contiguous array is free too.
    - Why batch last: see "Which order the columns come in" above.
    """
    ### BEGIN SOLUTION
    kH, kW = to_pair(kernel_size, "kernel_size")
    padding = padding_sides(padding, (kH, kW), stride)
    _check_fits(x.shape, (kH, kW), padding, "im2col")
    windows = sliding_windows(to_batch_last(x, padding), (kH, kW), stride, axes=(1, 2))
    C, H_out, W_out, N = windows.shape[:4]
    rows_then_columns = windows.transpose(0, 4, 5, 1, 2, 3)      # (C, kH, kW, H', W', N), a view
    shape = (C * kH * kW, H_out * W_out * N)
    if out is None:
        return np.ascontiguousarray(rows_then_columns).reshape(shape)
    target = out.reshape(rows_then_columns.shape) if out.shape == shape else None
    if target is None or (out.size and not np.may_share_memory(target, out)):
        raise ValueError(f"im2col: out must be an array view of shape {shape}, got shape {out.shape}.")
    np.copyto(target, rows_then_columns)
    return out
    ### END SOLUTION


COLUMN_CHUNK_BYTES = 2 << 20


def images_per_chunk(images, rows, positions, dtype):
    """How many of a batch's ``images`` go in one chunk: as many as have columns, (rows,
    positions·n) of ``dtype``, that fit in about ``COLUMN_CHUNK_BYTES``; at most the batch, and
    at least one (an empty batch too, so that ``range(0, N, chunk)`` can step). The chunk of
    the forward here and of the backward."""
    fit = COLUMN_CHUNK_BYTES // (rows * positions * np.dtype(dtype).itemsize)
    return max(1, min(images, fit))


def conv2d_forward(x, weight, bias=None, stride=1, padding=0):
    """Fast 2-D cross-correlation on ndarrays: (N, C, H, W) ⋆ (F, C, kH, kW) -> (N, F, H', W').

    ``bias`` is (F,) or None; ``padding`` an int, an (h, w) pair, "valid" or "same". Integer
    input is computed in float32, and the result has the dtype of ``x`` and ``weight`` combined
    (float32 for float32). Same numbers as ``conv2d_reference``, from im2col and one matrix
    multiply per chunk of images (each chunk's columns about ``COLUMN_CHUNK_BYTES``, so they
    are still in the CPU cache when multiplied).

    TODO: Build the columns, multiply by the flattened filters (bias included), rearrange.

    APPROACH:
    1. Make integer input float32 (`_floating`). If x or weight is not 4-D or their channels
       differ, raise `ValueError(f"conv2d_forward expects x (N, C, H, W) and weight (F, C, kH, kW)
       with the same C, got shapes {x.shape} and {weight.shape}.")`. The result's dtype is
       `dtype = np.result_type(x, weight)`.
    2. `stride` as a pair with `to_pair`; resolve the padding once into the zeros on each side,
       `padding = padding_sides(padding, (kH, kW), stride)`, then
       `_check_fits(x.shape, (kH, kW), padding, "conv2d_forward")`. Compute H', W'
       (`conv_output_size` of the padded sizes); P = H'·W'; allocate `out`, (N, F, P) of
       `dtype`.
    3. `filters = weight.reshape(F, K)` with K = C·kH·kW. With a bias, append it as one more
       column: the bias is the weight of an input that is always 1.
    4. Allocate one buffer `cols` of (R, chunk·P), where R = `filters.shape[1]` (K, plus 1
       with a bias), with `chunk = images_per_chunk(N, R, P, dtype)` (given above); fill its
       bias row with 1.
    5. For each chunk of n images: `im2col(images, ..., out=cols[:K, :P·n])`, then
       `result = matmul(filters, cols[:, :P·n])` -> (F, P·n), and store it image-major:
       `out[start:start + n] = result.reshape(F, P, n).transpose(2, 0, 1)`.
    6. Return `out.reshape(N, F, H', W')`, C-contiguous like `out`. An empty batch (N = 0)
       must give an empty (0, F, H', W') result.

    EXAMPLE:
    >>> conv2d_forward(np.ones((2, 3, 8, 8)), np.ones((4, 3, 3, 3)), padding=1).shape
    (2, 4, 8, 8)

    HINTS:
    - One chunk of all N images gives the same numbers; chunks only make it faster.
    - `matmul` (from `tinytorch.utils.threads`) is NumPy's `@` on the number of threads that
      pays for this size and this machine's load; `@` gives the same numbers.
    """
    ### BEGIN SOLUTION
    x = _floating(np.asarray(x))
    weight = np.asarray(weight)
    if x.ndim != 4 or weight.ndim != 4 or x.shape[1] != weight.shape[1]:
        raise ValueError(
            f"conv2d_forward expects x (N, C, H, W) and weight (F, C, kH, kW) with the same C, "
            f"got shapes {x.shape} and {weight.shape}."
        )
    F, C, kH, kW = weight.shape
    stride = to_pair(stride, "stride")
    padding = padding_sides(padding, (kH, kW), stride)
    _check_fits(x.shape, (kH, kW), padding, "conv2d_forward")
    dtype = np.result_type(x, weight)
    N, K = x.shape[0], C * kH * kW
    (top, bottom), (left, right) = padding
    H_out = conv_output_size(top + x.shape[2] + bottom, kH, stride[0])
    W_out = conv_output_size(left + x.shape[3] + right, kW, stride[1])
    P = H_out * W_out
    filters = weight.reshape(F, K).astype(dtype, copy=False)
    if bias is not None:
        filters = np.concatenate([filters, np.asarray(bias, dtype=dtype).reshape(F, 1)], axis=1)
    chunk = images_per_chunk(N, filters.shape[1], P, dtype)
    cols = np.empty((filters.shape[1], chunk * P), dtype=dtype)
    cols[K:] = 1                                      # the bias's constant input (no row without bias)
    out = np.empty((N, F, P), dtype=dtype)
    for start in range(0, N, chunk):
        images = x[start:start + chunk].astype(dtype, copy=False)
        n = images.shape[0]
        im2col(images, (kH, kW), stride, padding, out=cols[:K, :P * n])
        result = matmul(filters, cols[:, :P * n])                        # (F, P·n), batch last
        out[start:start + n] = result.reshape(F, P, n).transpose(2, 0, 1)
    return out.reshape(N, F, H_out, W_out)
    ### END SOLUTION


# %%
def test_unit_im2col():
    unit_test("sliding_windows and im2col")
    x = np.arange(2 * 3 * 5 * 6, dtype=np.float32).reshape(2, 3, 5, 6)
    windows = sliding_windows(x, (2, 3), stride=(2, 1))
    assert windows.shape == (2, 3, 2, 4, 2, 3), windows.shape
    np.testing.assert_array_equal(windows[1, 2, 1, 3], x[1, 2, 2:4, 3:6])
    assert np.shares_memory(windows, x)
    passed("sliding_windows is a view: window (i, j) is the kH×kW patch at (i·sh, j·sw)")

    example = im2col(np.arange(9.0).reshape(1, 1, 3, 3), 2)
    np.testing.assert_array_equal(example, [[0, 1, 3, 4], [1, 2, 4, 5], [3, 4, 6, 7], [4, 5, 7, 8]])
    cols = im2col(x, (2, 3), stride=1, padding=1)
    assert cols.shape == (3 * 2 * 3, 6 * 6 * 2) and cols.flags["C_CONTIGUOUS"]
    padded = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)))
    row = 2 * 6 + 1 * 3 + 2                                  # channel 2, di = 1, dj = 2
    image_1 = cols[row, 1::2].reshape(6, 6)                  # every 2nd column: image 1
    np.testing.assert_array_equal(image_1, padded[1, 2, 1:7, 2:8])
    passed("im2col rows are (c, di, dj), columns are (i, j, image): the batch innermost")
    progress("im2col")


if __name__ == "__main__":
    test_unit_im2col()


# %%
def test_unit_conv2d_forward():
    unit_test("conv2d_forward (im2col + matmul)")
    rng = np.random.default_rng(2)
    for N, C, H, W, F, kernel, stride, padding in [
        (2, 3, 7, 6, 4, (3, 3), (1, 1), (0, 0)),
        (1, 2, 9, 8, 3, (3, 2), (2, 1), (1, 0)),
        (3, 1, 5, 5, 2, (5, 5), (1, 1), (2, 2)),
        (2, 4, 10, 7, 5, (1, 3), (3, 2), (0, 1)),
    ]:
        x = rng.standard_normal((N, C, H, W)).astype(np.float32)
        weight = rng.standard_normal((F, C, *kernel)).astype(np.float32)
        bias = rng.standard_normal(F).astype(np.float32)
        fast = conv2d_forward(x, weight, bias, stride, padding)
        slow = conv2d_reference(x, weight, bias, stride, padding)
        assert fast.shape == slow.shape and fast.dtype == np.float32
        np.testing.assert_allclose(fast, slow, atol=1e-4, rtol=1e-5)
    passed("Equal to the loop reference for strides, padding and rectangular kernels")
    ints = conv2d_forward(np.arange(16).reshape(1, 1, 4, 4), np.ones((1, 1, 2, 2), np.float32))
    assert ints.dtype == np.float32 and ints[0, 0, 0, 0] == 0 + 1 + 4 + 5
    passed("Integer input is computed in float32")
    progress("conv2d_forward")


if __name__ == "__main__":
    test_unit_conv2d_forward()

# %% [markdown]
# ### Measure it again
#
# The same image, now through `conv2d_forward`. Expect a speed-up of two to three orders
# of magnitude (more on a full batch, where the fixed costs are shared by more images): the
# arithmetic is identical, but it runs in compiled, vectorised BLAS code instead of the Python
# interpreter. (`benchmarks/bench_conv.py` compares the exported layer
# with PyTorch side by side.)

# %%
def measure_speedup(images=1, repeats=9):
    """Median times of the loop reference and conv2d_forward on the same slice; returns the ratio."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((images, 3, 32, 32)).astype(np.float32)
    weight = rng.standard_normal((32, 3, 5, 5)).astype(np.float32)

    for _ in range(3):                       # warm up: BLAS threads, caches, allocator
        conv2d_forward(x, weight)
    slow = median_seconds(lambda: conv2d_reference(x, weight), 1)
    fast = median_seconds(lambda: conv2d_forward(x, weight), repeats)
    info(f"Loops {slow * 1e3:.0f} ms, im2col {fast * 1e3:.2f} ms: {slow / fast:,.0f}× faster", icon="⏱️")
    return slow / fast


if __name__ == "__main__":
    measure_speedup()

# %% [markdown]
# ## Step 4: The Conv2D layer
#
# ### The concept
#
# `Conv2D` owns the filters and the bias as trainable tensors and calls `conv2d_forward`:
#
# | argument | meaning | stored as |
# | --- | --- | --- |
# | `in_channels` | C, channels of the input | int |
# | `out_channels` | F, number of filters = feature maps | int |
# | `kernel_size` | `k` or `(kH, kW)` | `(kH, kW)` tuple |
# | `stride` | int or `(h, w)` | `(h, w)` tuple |
# | `padding` | int, `(h, w)`, `"valid"` or `"same"` | `(h, w)` tuple, or the word |
# | `bias` | add a learned offset per filter | `.bias` Tensor `(F,)` or None |
#
# `.weight` is a Tensor `(F, C, kH, kW)`. Like PyTorch, weight and bias start uniform in
# `±1/√(C·kH·kW)`: the bound keeps the output's variance roughly independent of how many
# inputs each output sums (its *fan-in*). The layer takes a batch `(N, C, H, W)`, or a single
# image `(C, H, W)` for which it returns `(F, H', W')`.
#
# ### The cost
#
# Parameters: `F·C·kH·kW + F` — independent of the image size. MACs: `N·F·H'·W'·C·kH·kW`,
# reported by `macs(input_shape)` so that `summary()` from module 05 can show them. Memory: the
# output holds `N·F·H'·W'` float32 numbers — for `Conv2D(3, 16, 3)` on a batch of 128 CIFAR
# images that is 128·16·30·30·4 bytes = 7.4 MB, far more than its 1.8 KB of parameters, and a
# training step keeps every layer's output until the backward pass (module 08) has used it.
#
# `forward` computes on NumPy arrays, which autograd cannot follow on its own, so it is marked
# `@differentiable` (module 02): that changes nothing here, and in module 08 it makes the whole
# convolution one step of the graph, with its own vectorised gradient rule. The pooling layers
# below are marked the same way.

# %%
#| export
def _batched(x, who):
    """x as a 4-D ndarray (N, C, H, W) and whether it came unbatched as (C, H, W)."""
    data = _as_array(x)
    if data.ndim == 4:
        return data, False
    if data.ndim == 3:
        return data[np.newaxis], True
    raise ValueError(
        f"{who} expects input of shape (N, C, H, W) or (C, H, W), "
        f"got shape {data.shape} with {data.ndim} dimension(s)."
    )


def _wrap(array):
    """A layer's freshly computed (floating) result as a Tensor of its dtype, without a copy.

    float32 from float32 parameters and input; float64 when both are float64 (a network whose
    parameters were converted, like PyTorch's ``model.double()``).
    """
    return Tensor.from_numpy(array)


def _check_size(name, value):
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} must be a positive int, got {value!r}.")
    return int(value)


class Conv2D(Layer):
    """2-D convolution (cross-correlation, as ``torch.nn.Conv2d``) of a batch of images.

    Args:
        in_channels (int): C, the channels of each input image.
        out_channels (int): F, the number of filters, which is the channels of the output.
        kernel_size (int or (int, int)): (kH, kW); one int is a square kernel.
        stride (int or (int, int)): (sh, sw), the step between windows. Default: 1.
        padding (int, (int, int), "valid" or "same"): (ph, pw) zeros on each side. "valid" is no
            padding; "same" keeps H' = H and W' = W (stride 1; for an even kernel the extra zero
            goes to the bottom and right), stored as the word. Default: 0.
        bias (bool): learn one bias per filter. Default: True.

    Shape:
        Input: (N, C, H, W) or (C, H, W).
        Output: (N, F, H', W') or (F, H', W'), where H' = ⌊(H + 2·ph − kH)/sh⌋ + 1 and
        W' = ⌊(W + 2·pw − kW)/sw⌋ + 1.

    Attributes:
        weight (Tensor): (F, C, kH, kW), uniform in ±1/√(C·kH·kW).
        bias (Tensor or None): (F,), drawn likewise; None when ``bias=False``.
        kernel_size, stride, padding: stored as (h, w) pairs (padding as the word, if given one).
    """

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, bias=True):
        """Store the sizes and create the filters and bias.

        TODO: Validate and store the hyper-parameters, then initialise weight and bias.

        APPROACH:
        1. Store `in_channels`, `out_channels` through `_check_size("in_channels", in_channels)`
           (likewise `out_channels`), which raises `ValueError("in_channels must be a positive
           int, got 0.")` for anything but a positive int.
        2. Store `kernel_size`, `stride` as pairs with `to_pair`; store `padding` as a pair
           too, `to_pair(padding, "padding", minimum=0)` (it may be 0), or as the word "valid"
           or "same" (check it with `padding_sides`, which raises ValueError for another word,
           or for "same" with a stride above 1).
        3. `bound = 1 / sqrt(in_channels * kH * kW)`.
        4. `self.weight = Tensor(np.random.uniform(-bound, bound, (F, C, kH, kW)), requires_grad=True)`.
        5. `self.bias` the same with shape (F,), or None when `bias=False`.

        EXAMPLE:
        >>> Conv2D(3, 16, 3).weight.shape
        (16, 3, 3, 3)

        HINTS:
        - Tensor stores floating data as float32.
        """
        ### BEGIN SOLUTION
        self.in_channels = _check_size("in_channels", in_channels)
        self.out_channels = _check_size("out_channels", out_channels)
        self.kernel_size = to_pair(kernel_size, "kernel_size")
        self.stride = to_pair(stride, "stride")
        padding_sides(padding, self.kernel_size, self.stride)            # raises on bad padding
        self.padding = padding if isinstance(padding, str) else to_pair(padding, "padding", minimum=0)
        kH, kW = self.kernel_size
        bound = 1.0 / np.sqrt(self.in_channels * kH * kW)
        shape = (self.out_channels, self.in_channels, kH, kW)
        self.weight = Tensor(np.random.uniform(-bound, bound, shape), requires_grad=True)
        self.bias = (
            Tensor(np.random.uniform(-bound, bound, self.out_channels), requires_grad=True)
            if bias else None
        )
        ### END SOLUTION

    @differentiable
    def forward(self, x):
        """Convolve a batch (N, C, H, W) or one image (C, H, W) with every filter.

        TODO: Check the input, call conv2d_forward on the arrays, wrap the result in a Tensor.

        APPROACH:
        1. `data, unbatched = _batched(x, "Conv2D")` gives a 4-D array.
        2. If `data.shape[1] != self.in_channels`, raise `ValueError(f"Conv2D expected
           {self.in_channels} input channel(s), i.e. input of shape (N, {self.in_channels}, H, W)
           or ({self.in_channels}, H, W), got {data.shape[1]} channel(s) in input of shape
           {_as_array(x).shape}.")`.
        3. Give the input the weight's dtype, as Dense does (float32, unless the parameters were
           converted): `data = data.astype(self.weight.dtype, copy=False)`.
        4. `out = conv2d_forward(data, self.weight.data, bias_data, self.stride, self.padding)`.
        5. Return `_wrap(out[0] if unbatched else out)` (a Tensor of out's dtype, not copied).

        EXAMPLE:
        >>> Conv2D(3, 16, kernel_size=3)(Tensor(np.zeros((1, 3, 32, 32)))).shape
        (1, 16, 30, 30)
        >>> Conv2D(3, 16, kernel_size=4, padding="same")(Tensor(np.zeros((1, 3, 32, 32)))).shape
        (1, 16, 32, 32)

        HINTS:
        - `self.bias` may be None.
        """
        ### BEGIN SOLUTION
        data, unbatched = _batched(x, "Conv2D")
        if data.shape[1] != self.in_channels:
            raise ValueError(
                f"Conv2D expected {self.in_channels} input channel(s), i.e. input of shape "
                f"(N, {self.in_channels}, H, W) or ({self.in_channels}, H, W), "
                f"got {data.shape[1]} channel(s) in input of shape {_as_array(x).shape}."
            )
        data = data.astype(self.weight.dtype, copy=False)
        bias = None if self.bias is None else self.bias.data
        out = conv2d_forward(data, self.weight.data, bias, self.stride, self.padding)
        return _wrap(out[0] if unbatched else out)
        ### END SOLUTION

    def output_shape(self, input_shape):
        """The output shape for an input shape (N, C, H, W) or (C, H, W)."""
        *lead, C, H, W = _shape_of(input_shape, "Conv2D")
        if C != self.in_channels:
            raise ValueError(
                f"Conv2D expected {self.in_channels} input channel(s), got input shape {tuple(input_shape)}."
            )
        (top, bottom), (left, right) = padding_sides(self.padding, self.kernel_size, self.stride)
        H_out = conv_output_size(top + H + bottom, self.kernel_size[0], self.stride[0])
        W_out = conv_output_size(left + W + right, self.kernel_size[1], self.stride[1])
        return (*lead, self.out_channels, H_out, W_out)

    def macs(self, input_shape):
        """Multiply-accumulates of one forward pass: N·F·H'·W'·C·kH·kW."""
        *lead, F, H_out, W_out = self.output_shape(input_shape)
        batch = lead[0] if lead else 1
        return int(batch * F * H_out * W_out * self.in_channels * self.kernel_size[0] * self.kernel_size[1])

    def __repr__(self):
        return (
            f"Conv2D({self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
            f"stride={self.stride}, padding={self.padding!r}, bias={self.bias is not None})"
        )


def _shape_of(input_shape, who):
    shape = tuple(int(n) for n in input_shape)
    if len(shape) not in (3, 4):
        raise ValueError(f"{who} expects an input shape (N, C, H, W) or (C, H, W), got {shape}.")
    return shape


# %%
def test_unit_conv2d_layer():
    unit_test("Conv2D implementation")
    np.random.seed(0)
    conv = Conv2D(in_channels=1, out_channels=2, kernel_size=2, bias=False)
    conv.weight.data[0, 0] = [[1, 0], [0, -1]]
    conv.weight.data[1, 0] = [[1, 2], [3, 4]]
    image = Tensor([[[[1, 2, 3], [4, 5, 6], [7, 8, 9]]]])
    out = conv(image)
    np.testing.assert_array_equal(out.data[0, 0], [[-4, -4], [-4, -4]])
    np.testing.assert_array_equal(out.data[0, 1], [[37, 47], [67, 77]])
    passed("Convolution sliding window works correctly")

    biased = Conv2D(in_channels=1, out_channels=2, kernel_size=2)
    biased.weight.data[...] = conv.weight.data
    biased.bias.data[...] = [10, -1]
    np.testing.assert_array_equal(biased(image).data[0, 0], [[6, 6], [6, 6]])  # -4 + 10 in every position
    np.testing.assert_array_equal(biased(image).data[0, 1], [[36, 46], [66, 76]])  # one bias per filter
    passed("Each filter adds its own bias")

    shifted = np.zeros((1, 1, 6, 6), np.float32)
    shifted[0, 0, 1, 1] = 1.0
    moved = np.roll(shifted, (2, 3), axis=(2, 3))
    a, b = conv(Tensor(shifted)).data, conv(Tensor(moved)).data
    np.testing.assert_allclose(np.roll(a, (2, 3), axis=(2, 3)), b, atol=1e-6)
    passed("Weight sharing applied consistently")

    conv = Conv2D(3, 16, kernel_size=3)
    assert conv.weight.shape == (16, 3, 3, 3) and conv.bias.shape == (16,)
    assert conv.kernel_size == (3, 3) and conv.stride == (1, 1) and conv.padding == (0, 0)
    bound = 1 / np.sqrt(27)
    assert np.abs(conv.weight.data).max() <= bound and np.abs(conv.weight.data).max() > 0.8 * bound
    assert conv.parameters() == [conv.weight, conv.bias]
    batch = conv(Tensor(np.random.rand(2, 3, 32, 32)))
    assert batch.shape == (2, 16, 30, 30) and batch.dtype == np.float32
    single = conv(Tensor(np.random.rand(3, 32, 32)))
    assert single.shape == (16, 30, 30)
    strided = Conv2D(3, 8, kernel_size=(3, 5), stride=2, padding=(1, 2))(Tensor(np.zeros((1, 3, 9, 10))))
    assert strided.shape == (1, 8, 5, 5)
    assert conv.macs((2, 3, 32, 32)) == 2 * 16 * 30 * 30 * 3 * 3 * 3
    passed("Output shapes match expected dimensions")

    for bad_input, words in [
        (np.zeros((1, 1, 32, 32)), "expected 3 input channel"),
        (np.zeros((32, 32)), "(N, C, H, W) or (C, H, W)"),
        (np.zeros((1, 3, 2, 2)), "larger than the padded input"),
    ]:
        try:
            conv(Tensor(bad_input))
        except ValueError as error:
            assert words in str(error), str(error)
        else:
            raise AssertionError(f"input of shape {bad_input.shape} must raise ValueError")
    passed("Bad input raises ValueError saying what was expected")
    progress("Conv2D")


if __name__ == "__main__":
    test_unit_conv2d_layer()

# %% [markdown]
# ## Step 5: Pooling
#
# ### The concept
#
# After a convolution, neighbouring outputs carry nearly the same information. **Pooling**
# summarises each `k×k` window by one number and, with the default stride `s = k`, divides each
# side by `k`:
#
# ```
#   feature map (4×4)             MaxPool2D(2)      AvgPool2D(2)
#   ┌───┬───┬───┬───┐
#   │ 1 │ 3 │ 2 │ 0 │            ┌───┬───┐          ┌─────┬─────┐
#   │ 5 │ 4 │ 1 │ 1 │    ──►     │ 5 │ 2 │          │ 3.25│ 1.0 │
#   ├───┼───┼───┼───┤            ├───┼───┤          ├─────┼─────┤
#   │ 0 │ 0 │ 7 │ 8 │            │ 2 │ 9 │          │ 0.75│ 8.0 │
#   │ 2 │ 1 │ 9 │ 8 │            └───┴───┘          └─────┴─────┘
#   └───┴───┴───┴───┘
# ```
#
# In words: each 2×2 quarter of the 4×4 map becomes one number. Max pooling keeps the largest,
# 5, 2, 2 and 9 (`[[5, 2], [2, 9]]`); average pooling keeps the mean, 3.25, 1.0, 0.75 and 8.0
# (`[[3.25, 1.0], [0.75, 8.0]]`).
#
# - **Max pooling** keeps the strongest response: "is the feature somewhere in this window?"
#   It makes the network tolerant to small shifts.
# - **Average pooling** keeps the mean response.
#
# Padding follows PyTorch: for max pooling the border counts as −∞, so it loses to every finite
# pixel (in a window whose real pixels are all −∞, PyTorch's gradient goes to a pixel and ours may
# go to the border); for average pooling it counts as zeros in the average
# (`count_include_pad=True`). Padding may be at most half the kernel, so every window
# holds at least one real pixel.
#
# ### The cost
#
# No parameters at all, and about `k²` comparisons or additions per output; but the next layer
# sees `k²` times fewer positions, so pooling cuts the MACs and activation memory of everything
# after it. We compute it without Python loops over positions: one vectorised array operation per
# kernel offset (`k²` of them), each on the whole batch at once.

# %%
#| export
def _pool_setup(x, kernel_size, stride, padding, who):
    """Checked (kH, kW), (sh, sw), (ph, pw) and output size for a pooling of a 4-D x."""
    if x.ndim != 4:
        raise ValueError(f"{who} expects input of shape (N, C, H, W), got shape {x.shape}.")
    kernel = to_pair(kernel_size, "kernel_size")
    stride = kernel if stride is None else to_pair(stride, "stride")
    padding = to_pair(padding, "padding", minimum=0)
    if padding[0] > kernel[0] // 2 or padding[1] > kernel[1] // 2:
        raise ValueError(
            f"{who}: padding {padding} must be at most half the kernel size {kernel}."
        )
    _check_fits(x.shape, kernel, padding_sides(padding, kernel), who)
    H_out = conv_output_size(x.shape[2], kernel[0], stride[0], padding[0])
    W_out = conv_output_size(x.shape[3], kernel[1], stride[1], padding[1])
    return kernel, stride, padding, (H_out, W_out)


def offset_views(xp, kernel, stride, out_size):
    """For each kernel offset (di, dj), the strided view of xp that it sees: all (N, C, H', W')."""
    (kH, kW), (sh, sw), (H_out, W_out) = kernel, stride, out_size
    for di in range(kH):
        for dj in range(kW):
            yield xp[:, :, di:di + sh * (H_out - 1) + 1:sh, dj:dj + sw * (W_out - 1) + 1:sw]


def max_pool2d_forward(x, kernel_size, stride=None, padding=0, return_argmax=False):
    """Max over each window: (N, C, H, W) -> (N, C, H', W'); padding counts as −∞.

    ``stride`` defaults to ``kernel_size``. Integer input is computed in float32. With
    ``return_argmax=True`` also returns, for each output, the position of the maximum inside
    its window as ``di·kW + dj`` (int64, (N, C, H', W')) — what a backward pass needs.

    TODO: Take the running maximum over the kernel offsets.

    APPROACH:
    1. Make integer input float32 (`_floating`); then
       `kernel, stride, padding, out_size = _pool_setup(x, ...)` checks and computes sizes.
    2. `xp = pad2d(x, padding, value=-np.inf)`.
    3. Start from a copy of the first offset view, `out = np.array(next(views))` (without
       padding the views are of `x` itself, which must stay as it is), and
       `np.maximum(out, view, out=out)` with the others (`offset_views` yields them).
    4. With `return_argmax`, keep `best` (zeros, int64) alongside: before each maximum, the
       offset number goes where the view is strictly greater than the running maximum
       (`np.copyto(best, index, where=view > out)`), so ties keep the first maximum.

    EXAMPLE:
    >>> max_pool2d_forward(np.arange(16.0).reshape(1, 1, 4, 4), 2)[0, 0]
    array([[ 5.,  7.],
           [13., 15.]])

    HINTS:
    - Each view is a whole (N, C, H', W') array, so the only loop is over the k² offsets.
    """
    ### BEGIN SOLUTION
    x = _floating(np.asarray(x))
    kernel, stride, padding, out_size = _pool_setup(x, kernel_size, stride, padding, "max_pool2d")
    xp = pad2d(x, padding, value=-np.inf)
    views = offset_views(xp, kernel, stride, out_size)
    out = np.array(next(views))
    best = np.zeros(out.shape, np.int64) if return_argmax else None
    for index, view in enumerate(views, start=1):
        if return_argmax:
            np.copyto(best, index, where=view > out)
        np.maximum(out, view, out=out)
    return (out, best) if return_argmax else out
    ### END SOLUTION


def avg_pool2d_forward(x, kernel_size, stride=None, padding=0):
    """Mean over each window: (N, C, H, W) -> (N, C, H', W'); zero padding counts in the mean.

    ``stride`` defaults to ``kernel_size``; integer input is computed in float32.

    TODO: Sum the kernel-offset views and divide by the window size.

    APPROACH:
    1. Same setup as max pooling (`_floating`, `_pool_setup`), but pad with zeros.
    2. Add up the `offset_views`, then divide by `kH * kW`.

    EXAMPLE:
    >>> avg_pool2d_forward(np.arange(16.0).reshape(1, 1, 4, 4), 2)[0, 0]
    array([[ 2.5,  4.5],
           [10.5, 12.5]])

    HINTS:
    - Divide by the full window size even where it overlaps the padding (PyTorch's default).
    """
    ### BEGIN SOLUTION
    x = _floating(np.asarray(x))
    kernel, stride, padding, out_size = _pool_setup(x, kernel_size, stride, padding, "avg_pool2d")
    views = offset_views(pad2d(x, padding), kernel, stride, out_size)
    out = np.array(next(views))
    for view in views:
        out += view
    out /= kernel[0] * kernel[1]
    return out
    ### END SOLUTION


class _Pool2D(Layer):
    """Shared parts of MaxPool2D and AvgPool2D: sizes, unbatched input, output shape, repr."""

    _forward = None

    def __init__(self, kernel_size, stride=None, padding=0):
        self.kernel_size = to_pair(kernel_size, "kernel_size")
        self.stride = self.kernel_size if stride is None else to_pair(stride, "stride")
        self.padding = to_pair(padding, "padding", minimum=0)
        if self.padding[0] > self.kernel_size[0] // 2 or self.padding[1] > self.kernel_size[1] // 2:
            raise ValueError(
                f"{type(self).__name__}: padding {self.padding} must be at most half "
                f"the kernel size {self.kernel_size}."
            )

    @differentiable
    def forward(self, x):
        """Pool a batch (N, C, H, W) -> (N, C, H', W'), or one image (C, H, W) -> (C, H', W')."""
        data, unbatched = _batched(x, type(self).__name__)
        out = type(self)._forward(data, self.kernel_size, self.stride, self.padding)
        return _wrap(out[0] if unbatched else out)

    def output_shape(self, input_shape):
        *lead, C, H, W = _shape_of(input_shape, type(self).__name__)
        H_out = conv_output_size(H, self.kernel_size[0], self.stride[0], self.padding[0])
        W_out = conv_output_size(W, self.kernel_size[1], self.stride[1], self.padding[1])
        return (*lead, C, H_out, W_out)

    def __repr__(self):
        return (
            f"{type(self).__name__}(kernel_size={self.kernel_size}, stride={self.stride}, "
            f"padding={self.padding})"
        )


class MaxPool2D(_Pool2D):
    """Max pooling: the largest value of each window, per channel (``torch.nn.MaxPool2d``).

    Args:
        kernel_size (int or (int, int)): (kH, kW), the window.
        stride (int or (int, int) or None): (sh, sw). Default: None, the kernel size.
        padding (int or (int, int)): (ph, pw) on each side, at most half the kernel; padding
            counts as −∞, so it never wins. Default: 0.

    Shape:
        Input: (N, C, H, W) or (C, H, W).
        Output: (N, C, H', W') or (C, H', W'), where H' = ⌊(H + 2·ph − kH)/sh⌋ + 1, W' likewise.
    """

    _forward = staticmethod(max_pool2d_forward)


class AvgPool2D(_Pool2D):
    """Average pooling: the mean of each window, per channel (``torch.nn.AvgPool2d``).

    Args:
        kernel_size (int or (int, int)): (kH, kW), the window.
        stride (int or (int, int) or None): (sh, sw). Default: None, the kernel size.
        padding (int or (int, int)): (ph, pw) zeros on each side, at most half the kernel; the
            zeros count in the mean (PyTorch's default, ``count_include_pad=True``). Default: 0.

    Shape:
        Input: (N, C, H, W) or (C, H, W).
        Output: (N, C, H', W') or (C, H', W'), where H' = ⌊(H + 2·ph − kH)/sh⌋ + 1, W' likewise.
    """

    _forward = staticmethod(avg_pool2d_forward)


# %%
def test_unit_pooling():
    unit_test("MaxPool2D and AvgPool2D")
    fmap = np.array([[1, 3, 2, 0], [5, 4, 1, 1], [0, 0, 7, 8], [2, 1, 9, 8]], np.float32)
    x = fmap.reshape(1, 1, 4, 4)
    np.testing.assert_array_equal(MaxPool2D(2)(Tensor(x)).data[0, 0], [[5, 2], [2, 9]])
    np.testing.assert_allclose(AvgPool2D(2)(Tensor(x)).data[0, 0], [[3.25, 1.0], [0.75, 8.0]],
                               atol=1e-6)
    passed("2×2 pooling of the worked example")

    padded_max = max_pool2d_forward(-np.ones((1, 1, 2, 2)), 3, stride=1, padding=1)
    np.testing.assert_array_equal(padded_max, -np.ones((1, 1, 2, 2)),
                                  err_msg="max padding must act as −∞")
    padded_avg = avg_pool2d_forward(np.ones((1, 1, 2, 2)), 3, stride=1, padding=1)
    np.testing.assert_allclose(padded_avg, 4 / 9, atol=1e-6,
                               err_msg="avg padding counts as zeros in a window of 9")
    passed("Padding: −∞ for max, zeros counted for average (as PyTorch)")

    rng = np.random.default_rng(3)
    x = rng.standard_normal((2, 3, 7, 6)).astype(np.float32)
    out, argmax = max_pool2d_forward(x, (3, 2), stride=(2, 1), return_argmax=True)
    assert out.shape == (2, 3, 3, 5) and argmax.shape == out.shape
    for i in range(3):
        for j in range(5):
            window = x[:, :, 2 * i:2 * i + 3, j:j + 2].reshape(2, 3, -1)
            np.testing.assert_array_equal(out[:, :, i, j], window.max(axis=-1))
            np.testing.assert_array_equal(argmax[:, :, i, j], window.argmax(axis=-1))
    passed("Rectangular windows and strides match a loop over windows")

    assert MaxPool2D(2)(Tensor(np.zeros((3, 8, 8)))).shape == (3, 4, 4)
    assert MaxPool2D(2).parameters() == []
    for make, words in [
        (lambda: MaxPool2D(0), "kernel_size"),
        (lambda: MaxPool2D(2, padding=2), "at most half"),
        (lambda: MaxPool2D(3)(Tensor(np.zeros((1, 1, 2, 2)))), "larger than the padded input"),
        (lambda: AvgPool2D(2)(Tensor(np.zeros((4, 4)))), "(N, C, H, W) or (C, H, W)"),
    ]:
        try:
            make()
        except ValueError as error:
            assert words in str(error), str(error)
        else:
            raise AssertionError(f"expected ValueError mentioning {words!r}")
    passed("Unbatched input works; bad sizes raise ValueError")
    progress("Pooling")


if __name__ == "__main__":
    test_unit_pooling()

# %% [markdown]
# ## Step 6: Flatten
#
# ### The concept
#
# Convolutions keep the picture's layout; a `Dense` layer wants one row of numbers per image.
# `Flatten` keeps the batch axis and lays out everything else in one row:
#
# ```
#   (N, C, H, W) = (2, 32, 13, 13)   ──►   (N, C·H·W) = (2, 5408)
# ```
#
# It copies no numbers and learns nothing: it is `reshape(N, -1)`. Like PyTorch's `nn.Flatten`,
# it always keeps the first axis, so an unbatched `(C, H, W)` becomes `(C, H·W)`.

# %%
#| export
def flatten(x):
    """Keep the first (batch) axis, flatten the rest: (N, d1, d2, ...) -> (N, d1·d2·...).

    TODO: Reshape the tensor to (N, everything else).

    APPROACH:
    1. Wrap ndarrays in a Tensor; a tensor with fewer than 2 axes has nothing to flatten:
       `raise ValueError(f"flatten expects input of shape (N, ...) with at least 2 dimensions,
       got shape {x.shape}.")`.
    2. Return `x.reshape(N, rest)` with `rest` the product of the other axes.

    EXAMPLE:
    >>> flatten(Tensor(np.zeros((2, 32, 13, 13)))).shape
    (2, 5408)

    HINTS:
    - Use the Tensor's own `reshape`, so that autograd (module 08) can follow it.
    """
    ### BEGIN SOLUTION
    x = x if isinstance(x, Tensor) else Tensor(x)
    if x.ndim < 2:
        raise ValueError(
            f"flatten expects input of shape (N, ...) with at least 2 dimensions, got shape {x.shape}."
        )
    rest = int(np.prod(x.shape[1:]))
    return x.reshape(x.shape[0], rest)
    ### END SOLUTION


class Flatten(Layer):
    """Each sample of a batch as one row: the bridge from feature maps to Dense layers.

    Shape:
        Input: (N, d1, d2, ...), at least 2 dimensions.
        Output: (N, d1·d2·...).
    """

    def forward(self, x):
        """(N, d1, d2, ...) -> (N, d1·d2·...): ``flatten(x)``."""
        return flatten(x)

    def output_shape(self, input_shape):
        """The output shape (N, d1·d2·...) for an input shape (N, d1, d2, ...)."""
        shape = tuple(int(n) for n in input_shape)
        if len(shape) < 2:  # as flatten(x) refuses it
            raise ValueError(f"Flatten expects input of shape (N, ...) with at least 2 dimensions, "
                             f"got shape {shape}.")
        return (shape[0], int(np.prod(shape[1:])))

    def __repr__(self):
        return "Flatten()"


# %%
def test_unit_flatten():
    unit_test("Flatten")
    x = Tensor(np.arange(2 * 3 * 4 * 5).reshape(2, 3, 4, 5))
    out = Flatten()(x)
    assert out.shape == (2, 60)
    np.testing.assert_array_equal(out.data[1], np.arange(60, 120))
    assert flatten(np.zeros((3, 16, 2, 2))).shape == (3, 64)
    assert flatten(Tensor(np.zeros((4, 7)))).shape == (4, 7)
    passed("Batch axis kept, the rest laid out row by row")
    try:
        flatten(Tensor([1.0, 2.0]))
    except ValueError as error:
        assert "at least 2 dimensions" in str(error)
    else:
        raise AssertionError("flatten of a 1-D tensor must raise ValueError")
    passed("A 1-D input raises ValueError")
    progress("Flatten")


if __name__ == "__main__":
    test_unit_flatten()

# %% [markdown]
# # Use: a complete CNN
#
# Stack the pieces: convolution + ReLU extract features, pooling halves the resolution, a second
# convolution combines features into larger ones, `Flatten` hands them to a dense classifier.
#
# ```
#   (N, 3, 32, 32) ─Conv2D(3,16,3)─► (N,16,30,30) ─ReLU─► ─MaxPool2D(2)─► (N,16,15,15)
#        ─Conv2D(16,32,3)─► (N,32,13,13) ─ReLU─► ─Flatten─► (N,5408)
#        ─Dense(5408,128)─► (N,128) ─ReLU─► ─Dense(128,10)─► (N,10) ─Sigmoid─► probabilities
# ```

# %%
def course_cnn():
    """The course's CNN for (N, 3, 32, 32) images: 10 sigmoid outputs per image."""
    return Sequential([
        Conv2D(3, 16, kernel_size=3),    # Feature extraction
        ReLU(),                          # Nonlinearity
        MaxPool2D(kernel_size=2),        # Dimensionality reduction
        Conv2D(16, 32, kernel_size=3),   # Higher-level features
        ReLU(),                          # More nonlinearity
        Flatten(),                       # Prepare for dense layers
        Dense(32 * 13 * 13, 128),        # Feature integration
        ReLU(),
        Dense(128, 10),                  # Classification head
        Sigmoid(),                       # Probability outputs
    ])


def test_unit_complete_cnn():
    unit_test("Complete CNN")
    np.random.seed(1)
    cnn = course_cnn()
    images = Tensor(np.random.rand(4, 3, 32, 32))
    predictions = cnn(images)
    assert predictions.shape == (4, 10), predictions.shape
    assert np.all((predictions.data > 0) & (predictions.data < 1))
    passed("(4, 3, 32, 32) images -> (4, 10) probabilities")
    expected = 16 * 27 + 16 + 32 * 144 + 32 + 5408 * 128 + 128 + 128 * 10 + 10
    assert count_parameters(cnn) == expected, count_parameters(cnn)
    passed(f"{expected:,} parameters, {5408 * 128 / expected:.0%} of them in the first Dense layer")
    progress("Complete CNN")


if __name__ == "__main__":
    test_unit_complete_cnn()

# %% [markdown]
# # Analyze
#
# ## Receptive fields: how much of the image does one output see?
#
# One output of a 3×3 convolution sees 3×3 input pixels. Stack a second 3×3 convolution and each
# of its outputs sees 3×3 outputs of the first, which together cover 5×5 pixels. Pooling and
# strides multiply the step (*jump*) between neighbouring outputs, so later layers grow faster:
#
# ```
#   r_out = r_in + (k − 1) · j_in          j_out = j_in · s          (start: r = 1, j = 1)
#
#   layer            k  s   r    j
#   input            -  -   1    1
#   Conv2D 3×3       3  1   3    1
#   MaxPool2D 2      2  2   4    2
#   Conv2D 3×3       3  1   8    2
# ```
#
# After the course CNN's second convolution, each feature sees an 8×8 patch of the 32×32 image:
# deeper networks see more, which is how they go from edges to parts to objects.

# %%
#| export
def receptive_field(layers):
    """Receptive field and jump after each layer of a model or list of layers.

    Returns one dict per layer: ``{"layer": repr, "receptive_field": (rh, rw), "jump": (jh, jw)}``.
    Layers without a ``kernel_size`` (activations, Flatten, Dense) leave both unchanged.
    """
    field, jump, rows = (1, 1), (1, 1), []
    for layer in getattr(layers, "layers", layers):
        kernel = getattr(layer, "kernel_size", None)
        if kernel is not None:
            stride = getattr(layer, "stride", (1, 1))
            field = tuple(r + (k - 1) * j for r, k, j in zip(field, kernel, jump))
            jump = tuple(j * s for j, s in zip(jump, stride))
        rows.append({"layer": repr(layer), "receptive_field": field, "jump": jump})
    return rows


# %%
def test_unit_receptive_field():
    unit_test("Receptive field")
    rows = receptive_field(course_cnn())
    fields = [row["receptive_field"][0] for row in rows]
    assert fields[:4] == [3, 3, 4, 8], fields
    assert rows[-1]["receptive_field"] == (8, 8) and rows[-1]["jump"] == (2, 2)
    deep = receptive_field([Conv2D(1, 1, 3), Conv2D(1, 1, 3), Conv2D(1, 1, 3)])
    assert [row["receptive_field"] for row in deep] == [(3, 3), (5, 5), (7, 7)]
    strided = receptive_field([Conv2D(1, 1, (3, 5), stride=2), Conv2D(1, 1, 3)])
    assert strided[-1]["receptive_field"] == (7, 9) and strided[-1]["jump"] == (2, 2)
    passed("Three 3×3 convolutions see 7×7; the course CNN's features see 8×8")
    progress("Receptive field")


if __name__ == "__main__":
    test_unit_receptive_field()

# %% [markdown]
# ## Parameters: Conv2D versus Dense on the same image
#
# Produce the same (16, 30, 30) output from a (3, 32, 32) image, once with a convolution and
# once with a dense layer that connects every input to every output:
#
# | layer | parameters | float32 memory |
# | --- | --- | --- |
# | `Conv2D(3, 16, 3)` | 16·3·3·3 + 16 = **448** | 1.8 KB |
# | `Dense(3·32·32, 16·30·30)` | 3,072·14,400 + 14,400 = **44,251,200** | 177 MB |
#
# That is about 100,000 times fewer parameters for the convolution, and the saving grows with
# the image: the convolution's count does not depend on the image size at all. The arithmetic
# shrinks too: per image the dense layer does 3,072 · 14,400 ≈ 44 million MACs, the convolution
# 16·30·30·27 = 388,800. Locality and weight sharing save both memory and compute.

# %%
def compare_conv_dense(image_shape=(3, 32, 32), out_channels=16, kernel_size=3):
    """Parameters and MACs of a Conv2D and of a Dense layer producing the same output size."""
    C, H, W = image_shape
    conv = Conv2D(C, out_channels, kernel_size)
    out_shape = conv.output_shape(image_shape)
    inputs, outputs = C * H * W, int(np.prod(out_shape))
    rows = {
        "conv": {"params": count_parameters(conv), "macs": conv.macs(image_shape)},
        "dense": {"params": inputs * outputs + outputs, "macs": inputs * outputs},
    }
    ratio = rows["dense"]["params"] / rows["conv"]["params"]
    info(
        f"Conv2D({C}, {out_channels}, {kernel_size}): {rows['conv']['params']:,} parameters; "
        f"Dense({inputs}, {outputs}): {rows['dense']['params']:,} ({ratio:,.0f}× more)"
    )
    return rows


def test_unit_conv_vs_dense():
    unit_test("Conv2D versus Dense parameters")
    rows = compare_conv_dense()
    assert rows["conv"] == {"params": 448, "macs": 388_800}
    assert rows["dense"] == {"params": 44_251_200, "macs": 44_236_800}
    small = Dense(3 * 4 * 4, 2 * 2 * 2)
    assert count_parameters(small) == 48 * 8 + 8   # the formula above, checked on a real Dense
    passed("448 parameters for the convolution, 44,251,200 for the dense layer")
    progress("Conv2D versus Dense")


if __name__ == "__main__":
    test_unit_conv_vs_dense()

# %% [markdown]
# ## Summary: where do the MACs and the memory go?
#
# `summary()` from module 05 runs the model once and reports, per layer, the output shape, the
# parameters, the multiply-accumulates (from each layer's `macs()`) and the activation memory
# (output elements × 4 bytes). For the course CNN on one image the two convolutions do most of
# the arithmetic while the first dense layer holds almost all of the parameters — a pattern that
# pushed later architectures (e.g. global average pooling) to drop big dense heads.

# %%
def test_unit_cnn_summary():
    unit_test("CNN summary")
    np.random.seed(2)
    rows = summary(course_cnn(), (1, 3, 32, 32), show=__name__ == "__main__")
    assert [row["output_shape"] for row in rows][:6] == [
        (1, 16, 30, 30), (1, 16, 30, 30), (1, 16, 15, 15), (1, 32, 13, 13), (1, 32, 13, 13), (1, 5408),
    ]
    assert rows[0]["macs"] == 16 * 30 * 30 * 27 and rows[3]["macs"] == 32 * 13 * 13 * 144
    assert rows[0]["memory_bytes"] == 16 * 30 * 30 * 4
    assert rows[6]["params"] == 5408 * 128 + 128
    conv_macs = rows[0]["macs"] + rows[3]["macs"]
    total_macs = sum(row["macs"] for row in rows)
    passed(f"Convolutions: {conv_macs / total_macs:.0%} of {total_macs:,} MACs per image")
    progress("CNN summary")


if __name__ == "__main__":
    test_unit_cnn_summary()

# %% [markdown]
# ## Seeing what a CNN sees
#
# Numbers in arrays are hard to read; pictures are easy. `tinytorch.utils.visualize` draws
# arrays as heatmaps in the terminal with Rich (in a notebook, right below the cell), and as PNG
# files in the course's `outputs/` folder when matplotlib is installed, each map named as in the
# terminal and with its colour bar; nothing ever opens a window. First the filter sliding across
# an input, then the 16 feature maps that a `Conv2D(3, 16, 3)` makes from a 3-channel image. We
# set four of the filters by hand — vertical edges, horizontal edges, a blur and a
# centre-surround spot detector — so you can tell what each one responds to; the other twelve
# keep their random initialisation, as before training.

# %%
def handmade_filters(conv):
    """Set the first four filters of a Conv2D(C, F>=4, 3) to edge, blur and spot detectors."""
    vertical = np.array([[1, 0, -1], [2, 0, -2], [1, 0, -1]], np.float32)
    spot = -np.ones((3, 3), np.float32)
    spot[1, 1] = 8
    for f, kernel in enumerate([vertical, vertical.T, np.full((3, 3), 1 / 9, np.float32), spot]):
        conv.weight.data[f] = kernel / conv.in_channels
        conv.bias.data[f] = 0.0
    return conv


def demo_image(size=12):
    """A (3, size, size) test image: a bright square on a dark background, red-tinted."""
    image = np.zeros((3, size, size), np.float32)
    image[:, size // 4:3 * size // 4, size // 4:3 * size // 4] = 1.0
    image[0] += 0.2
    return image


def test_unit_visualize_feature_maps():
    from tinytorch.utils.visualize import filter_sliding, output_folder, render, save_png, show_feature_maps

    unit_test("Feature map visualisation")
    info("Visualizing convolution operation...")
    image = np.arange(1, 26, dtype=np.float32).reshape(5, 5)
    kernel = np.array([[1, 0], [0, -1]], np.float32)
    picture = filter_sliding(image, kernel, position=(1, 2))
    text = render(picture)
    info("Showing filter sliding across input", icon="📈")
    if __name__ == "__main__":
        print(text)
    assert f"= {image[1, 2] - image[2, 3]:g}" in text, text
    passed("Filter window drawn with its output value")

    np.random.seed(3)
    conv = handmade_filters(Conv2D(3, 16, kernel_size=3))
    maps = conv(Tensor(demo_image())).data
    assert maps.shape == (16, 10, 10)
    info("Feature map generation: 3→16 channels")
    grid = show_feature_maps(maps, title="Conv2D(3, 16, 3) feature maps", show=__name__ == "__main__")
    assert len(grid) == 16
    vertical_edges, horizontal_edges = maps[0], maps[1]
    assert np.abs(vertical_edges[:, 4:6]).max() < 1e-6 < np.abs(vertical_edges[:, 1]).max()
    assert np.abs(horizontal_edges[4:6, :]).max() < 1e-6 < np.abs(horizontal_edges[1, :]).max()
    passed("Edge filters respond at the square's borders and nowhere else")

    filters = show_feature_maps(conv.weight.data[:4, 0], title="The four hand-made filters (channel 0)",
                                show=__name__ == "__main__")
    assert len(filters) == 4
    png = save_png(maps, output_folder() / "cnn_demo_feature_maps.png", title="Conv2D(3, 16, 3) feature maps")
    if png is not None:                       # None: matplotlib is not installed
        assert png.read_bytes()[:4] == b"\x89PNG"
        info(f"Feature maps saved as {png}", icon="🖼️")
    passed("Filters as heatmaps; feature maps as a PNG when matplotlib is installed")
    progress("Visualisation")


if __name__ == "__main__":
    test_unit_visualize_feature_maps()

# %% [markdown]
# # Closing note
#
# You built convolution three times: four loops you can follow by hand, a batched loop reference
# you could time in seconds, and an im2col version that turns the whole layer into one matrix
# multiply. Then you wrapped it in `Conv2D`, added pooling and `Flatten`, composed a complete
# CNN, and measured what it costs.
#
# How fast is "fast"? `benchmarks/bench_conv.py` times the exported `Conv2D` forward against
# PyTorch's `nn.Conv2d` on the CPU, each library in its own process at its own default
# threads, on an idle machine and with one core kept busy by another program, then on one
# thread each; `benchmarks/bench_training.py` does the same for a training epoch of the digits
# CNN and for forward + backward. The tables, with the load they were measured under, live in
# one place, `benchmarks/README.md`; run `python benchmarks/bench_conv.py` to get your own.
#
# The fast path is nothing but NumPy: stride tricks make the windows free to describe, one
# copy per chunk builds the columns, and BLAS does the 241 million MACs — from seconds of
# loops to milliseconds, in the range of PyTorch. What is left is structural: im2col turns the
# convolution into a skinny matrix product (only K = 76 rows for the CIFAR layer) that BLAS
# runs below its peak, plus passes over memory (the column copy and the final transpose) that
# PyTorch's direct convolution kernels avoid. And two systems lessons: **memory order** — the
# same copy is several times faster when what it moves lies in long contiguous runs, which is
# why the batch goes last — and **threads** — a multi-threaded product waits for every one of
# its threads at each internal synchronisation, so on a machine where other programs hold the
# cores it can lose far more than it gains; TinyTorch takes one thread unless it pays.
#
# **Next**: module 07 feeds real images to this network in batches, and module 08 (autograd)
# reuses `im2col`, `to_batch_last`, `padding_sides`, `offset_views` and `max_pool2d_forward`
# from here to compute gradients, so the CNN can learn its filters instead of being handed them.
