"""Graded checks of module 06 (cnn): what `tito grade` gives points for.

Each check calls the student's exported `tinytorch.core.cnn` (the `cnn` argument) on inputs
drawn from `rng`, seeded from the grading run's secret seed, and returns plain data. The grader
runs the same check on the reference solution and compares the two outside the sandbox, so a
check only asks what the module's text asks of the student. Whatever the seed draws must tell
the usual mistakes apart: kernels are at least 2 wide on both axes (a flip, a min for a max or
a mean over one axis would pass a 1×k kernel), a convolution has 2 images or more of 2 channels or
more (im2col's column or row order), and a flattened batch never has as many rows as columns (a
transposed reshape would pass). 1×1 kernels have their own check. Points: `checks:` in
modules/source/06_cnn/module.yaml. Format: modules/README.md, "Graded checks".
"""

import numpy as np

from tinytorch.core.tensor import Tensor
from tito.grading.data import refuses  # a valid input's value, then a refusal naming words drawn from the seed


def _shape(rng, low, high, n):
    return tuple(int(v) for v in rng.integers(low, high + 1, n))


def _conv_case(rng, dtype=np.float64):
    """A random conv problem: x (N, C, H, W), weight (F, C, kH, kW), bias (F,), stride, padding pairs.
    N, C and the output's H' are at least 2: im2col's columns in (n, i, j) order are right for one image or one
    output position, its rows in (di, dj, c) for one channel."""
    N, C = _shape(rng, 2, 3, 2)
    F = int(rng.integers(1, 4))
    kernel = _shape(rng, 2, 4, 2)
    stride, padding = _shape(rng, 1, 3, 2), _shape(rng, 0, 2, 2)
    H, W = (int(k + s + rng.integers(0, 5)) for k, s in zip(kernel, stride))  # H' >= 2
    x = rng.standard_normal((N, C, H, W)).astype(dtype)
    weight = rng.standard_normal((F, C, *kernel)).astype(dtype)
    bias = rng.standard_normal(F).astype(dtype)
    return x, weight, bias, stride, padding


def _pool_case(rng):
    """A random pooling problem: x (N, C, H, W), kernel, stride and padding (at most half the kernel)."""
    kernel = _shape(rng, 2, 4, 2)
    stride = _shape(rng, 1, 3, 2)
    padding = tuple(int(rng.integers(0, k // 2 + 1)) for k in kernel)
    H, W = (int(k + rng.integers(0, 6)) for k in kernel)
    x = rng.standard_normal((int(rng.integers(1, 3)), int(rng.integers(1, 4)), H, W)).astype(np.float32)
    return x, kernel, stride, padding


# --------------------------------------------------------------------------- Step 1: conv2d_naive


def check_conv2d_naive(cnn, rng):
    """A random rectangular input and kernel: (H, W) ⋆ (kH, kW) -> (H-kH+1, W-kW+1), not flipped."""
    kernel = rng.standard_normal(_shape(rng, 2, 4, 2))
    image = rng.standard_normal((kernel.shape[0] + int(rng.integers(0, 5)), kernel.shape[1] + int(rng.integers(0, 5))))
    return cnn.conv2d_naive(image, kernel)


def check_conv2d_naive_keeps_the_input_dtype(cnn, rng):
    """The APPROACH, step 3: float32 inputs give a float32 output; integer inputs a float64 one."""
    kernel = rng.standard_normal(_shape(rng, 2, 3, 2)).astype(np.float32)
    image = rng.standard_normal((kernel.shape[0] + 2, kernel.shape[1] + 1)).astype(np.float32)
    out = cnn.conv2d_naive(image, kernel)
    whole = cnn.conv2d_naive(rng.integers(-3, 4, (4, 4)), rng.integers(-2, 3, (2, 2)))
    return {"float32": out, "float32_dtype": str(np.asarray(out).dtype), "int": whole,
            "int_dtype": str(np.asarray(whole).dtype)}


def check_conv2d_naive_accepts_tensors(cnn, rng):
    """The APPROACH: input and kernel may be Tensors."""
    kernel = rng.standard_normal(_shape(rng, 2, 3, 2))
    image = rng.standard_normal((kernel.shape[0] + 2, kernel.shape[1] + 3))
    return np.asarray(cnn.conv2d_naive(Tensor(image), Tensor(kernel)))


def check_conv2d_naive_rejects_a_3d_input(cnn, rng):
    """The APPROACH: an input that is not 2-D raises ValueError (module.yaml: its words)."""
    image, kernel = _shape(rng, 1, 6, 3), _shape(rng, 1, 3, 2)
    good = rng.standard_normal((kernel[0] + 2, kernel[1] + 1))
    return refuses(lambda: cnn.conv2d_naive(good, np.ones(kernel)),
                   lambda: cnn.conv2d_naive(rng.standard_normal(image), np.ones(kernel)), image, kernel)


def check_conv2d_naive_rejects_a_kernel_larger_than_the_input(cnn, rng):
    """The APPROACH: a kernel larger than the image raises ValueError."""
    size = int(rng.integers(2, 9))
    kernel = (size + 1, int(rng.integers(1, size + 1)))
    image = rng.standard_normal((size, size))
    return refuses(lambda: cnn.conv2d_naive(image, image[:2, :2]),
                   lambda: cnn.conv2d_naive(image, np.ones(kernel)), kernel, (size, size))


# --------------------------------------------------------------------------- Step 2: sizes and the loop reference


def check_conv_output_size(cnn, rng):
    """⌊(size + 2·padding − kernel) / stride⌋ + 1 for random sizes, strides and paddings."""
    cases = []
    for _ in range(6):
        kernel, stride, padding = int(rng.integers(1, 6)), int(rng.integers(1, 4)), int(rng.integers(0, 3))
        size = int(rng.integers(max(1, kernel - 2 * padding), 40))
        cases.append(cnn.conv_output_size(size, kernel, stride=stride, padding=padding))
    return cases


def check_conv_output_size_rejects_a_kernel_that_does_not_fit(cnn, rng):
    """The TODO: a kernel longer than the padded input raises ValueError."""
    size, stride = int(rng.integers(1, 20)), int(rng.integers(1, 4))
    return refuses(lambda: cnn.conv_output_size(size + 3, 3, stride=stride, padding=1),
                   lambda: cnn.conv_output_size(size, size + 3, stride=1, padding=1), f"kernel size {size + 3}",
                   f"padded input size {size + 2}")


def check_conv2d_reference(cnn, rng):
    """Batches, channels, filters, bias, and (h, w) strides and paddings, in float64."""
    x, weight, bias, stride, padding = _conv_case(rng)
    return {"with_bias": cnn.conv2d_reference(x, weight, bias, stride=stride, padding=padding),
            "without_bias": cnn.conv2d_reference(x, weight, None, stride=stride[0], padding=padding[1])}


# --------------------------------------------------------------------------- Step 3: im2col and conv2d_forward


def check_im2col(cnn, rng):
    """Windows as columns, (C·kH·kW, H'·W'·N), rows (c, di, dj), columns (i, j, n)."""
    x, weight, _, stride, padding = _conv_case(rng)
    return cnn.im2col(x, weight.shape[2:], stride=stride, padding=padding)


def check_im2col_into_a_buffer(cnn, rng):
    """The APPROACH: with `out` (a view of a larger buffer) the columns go there, and out is returned."""
    x, weight, _, stride, padding = _conv_case(rng)
    shape = cnn.im2col(x, weight.shape[2:], stride=stride, padding=padding).shape
    buffer = np.full((shape[0] + 1, shape[1] + 2), -1.0)
    returned = cnn.im2col(x, weight.shape[2:], stride=stride, padding=padding, out=buffer[:shape[0], :shape[1]])
    return {"returned_the_buffer": bool(np.shares_memory(returned, buffer)), "buffer": buffer}


def check_im2col_rejects_a_buffer_of_another_shape(cnn, rng):
    """The APPROACH: an `out` of the wrong shape raises ValueError."""
    x, columns = rng.standard_normal((1, 1, 4, 4)), int(rng.integers(5, 30))
    return refuses(lambda: cnn.im2col(x, 3, out=np.empty((9, 4))),
                   lambda: cnn.im2col(x, 3, out=np.empty((9, columns))), f"got shape {(9, columns)}")


def check_im2col_rejects_a_kernel_that_does_not_fit(cnn, rng):
    """The APPROACH: `_check_fits` raises ValueError for a kernel larger than the padded input."""
    size = int(rng.integers(2, 9))
    x = rng.standard_normal((1, 1, size, size))
    return refuses(lambda: cnn.im2col(x, size + 2, padding=1), lambda: cnn.im2col(x, size + 3, padding=1),
                   f"kernel {(size + 3, size + 3)}", f"padded input {(size + 2, size + 2)}")


def check_conv2d_forward(cnn, rng):
    """The fast convolution in float32: values, shape and dtype as the loop reference's."""
    x, weight, bias, stride, padding = _conv_case(rng, np.float32)
    out = cnn.conv2d_forward(x, weight, bias, stride, padding)
    return {"out": out, "dtype": str(out.dtype)}


def check_conv2d_forward_integer_input(cnn, rng):
    """Integer input is computed in float32."""
    x = rng.integers(-5, 6, (1, 2, 5, 6))
    weight = rng.standard_normal((3, 2, 2, 3)).astype(np.float32)
    out = cnn.conv2d_forward(x, weight)
    return {"out": out, "dtype": str(out.dtype)}


def check_conv2d_forward_rejects_mismatched_channels(cnn, rng):
    """The TODO: x's channels must match the weight's (ValueError)."""
    N, C, F = _shape(rng, 1, 4, 3)
    x, weight = (N, C, 6, 6), (F, C + 1, 3, 3)
    good = rng.standard_normal((N, C + 1, 6, 6)).astype(np.float32)
    return refuses(lambda: cnn.conv2d_forward(good, rng.standard_normal(weight).astype(np.float32)),
                   lambda: cnn.conv2d_forward(np.zeros(x, np.float32), np.zeros(weight, np.float32)), x, weight)


### BEGIN HIDDEN TESTS
def check_conv2d_forward_one_by_one_kernel(cnn, rng):
    """A 1×1 kernel with stride 2: a strided channel mix."""
    x = rng.standard_normal((2, 3, 7, 6)).astype(np.float32)
    weight = rng.standard_normal((4, 3, 1, 1)).astype(np.float32)
    return cnn.conv2d_forward(x, weight, None, 2, 0)
### END HIDDEN TESTS


# --------------------------------------------------------------------------- Step 4: the Conv2D layer


def check_conv2d_layer_init(cnn, rng):
    """Sizes stored as pairs, weight (F, C, kH, kW) and bias (F,) uniform in ±1/√(C·kH·kW), bias=False."""
    C, F = _shape(rng, 1, 6, 2)
    kernel, stride = _shape(rng, 1, 4, 2), int(rng.integers(1, 3))
    conv = cnn.Conv2D(C, F, kernel_size=kernel, stride=stride, padding=0)
    bound = 1 / np.sqrt(C * kernel[0] * kernel[1])
    values = np.concatenate([conv.weight.data.ravel(), conv.bias.data.ravel()])
    return {"kernel_size": conv.kernel_size, "stride": conv.stride, "padding": conv.padding,
            "weight_shape": conv.weight.shape, "bias_shape": conv.bias.shape,
            "within_bound": bool(np.abs(values).max() <= bound * (1 + 1e-6)),
            "spread": bool(np.abs(values).max() > 0.4 * bound),
            "without_bias": cnn.Conv2D(C, F, kernel_size=kernel, bias=False).bias is None}


def check_conv2d_layer_rejects_bad_channel_counts(cnn, rng):
    """The TODO: in_channels and out_channels must be positive ints (ValueError)."""
    channels, size = -int(rng.integers(0, 1000)), int(rng.integers(1, 5))
    return refuses(lambda: cnn.Conv2D(size, 2 * size + 1, kernel_size=3).weight.shape,
                   lambda: cnn.Conv2D(channels, size, kernel_size=3), f"got {channels}.")


def _layer(cnn, rng):
    x, weight, bias, stride, padding = _conv_case(rng, np.float32)
    conv = cnn.Conv2D(weight.shape[1], weight.shape[0], kernel_size=weight.shape[2:], stride=stride, padding=padding)
    conv.weight.data[...] = weight
    conv.bias.data[...] = bias
    return conv, x


def check_conv2d_layer_forward(cnn, rng):
    """A batch (N, C, H, W) through Conv2D with stride and padding: a Tensor (N, F, H', W')."""
    conv, x = _layer(cnn, rng)
    out = conv(Tensor(x))
    return {"is_tensor": isinstance(out, Tensor), "out": np.asarray(out.data)}


def check_conv2d_layer_forward_in_the_weights_dtype(cnn, rng):
    """The APPROACH: the input takes the weight's dtype. A float64 array gives float32 out; with
    the parameters converted to float64, a float32 Tensor gives float64 out."""
    conv, x = _layer(cnn, rng)
    from_an_array = conv(x.astype(np.float64))
    for parameter in conv.parameters():
        parameter.data = parameter.data.astype(np.float64)
    converted = conv(Tensor(x))
    return {"float64_array": np.asarray(from_an_array.data), "float64_array_dtype": str(from_an_array.dtype),
            "converted": np.asarray(converted.data), "converted_dtype": str(converted.dtype)}


def check_conv2d_layer_forward_unbatched(cnn, rng):
    """One image (C, H, W) gives (F, H', W')."""
    conv, x = _layer(cnn, rng)
    return np.asarray(conv(Tensor(x[0])).data)


def check_conv2d_layer_rejects_wrong_channels(cnn, rng):
    """The TODO: input with another number of channels raises ValueError."""
    C, N = _shape(rng, 1, 4, 2)
    shape = (N, C + 1, 8, 8)
    conv = cnn.Conv2D(C, 2, kernel_size=3)
    conv.weight.data[...] = rng.standard_normal(conv.weight.shape)
    good = rng.standard_normal((N, C, 8, 8)).astype(np.float32)
    return refuses(lambda: np.asarray(conv(Tensor(good)).data),
                   lambda: conv(Tensor(np.zeros(shape, np.float32))), f"Conv2D expected {C} input channel(s)", shape)


# --------------------------------------------------------------------------- Step 5: pooling


def check_max_pool2d(cnn, rng):
    """Max over each window, rectangular kernels and strides, padding counts as −∞."""
    x, kernel, stride, padding = _pool_case(rng)
    return cnn.max_pool2d_forward(x, kernel, stride, padding)


def check_max_pool2d_rejects_a_3d_input(cnn, rng):
    """The APPROACH: `_pool_setup` checks the input: a 3-D one raises ValueError."""
    shape = _shape(rng, 2, 8, 3)
    return refuses(lambda: cnn.max_pool2d_forward(rng.standard_normal((1, *shape)), 2),
                   lambda: cnn.max_pool2d_forward(rng.standard_normal(shape), 2), f"got shape {shape}")


def check_max_pool2d_argmax(cnn, rng):
    """return_argmax=True: the position di·kW + dj of each window's maximum."""
    x, kernel, stride, _ = _pool_case(rng)
    out, argmax = cnn.max_pool2d_forward(x, kernel, stride, 0, return_argmax=True)
    return {"out": out, "argmax": np.asarray(argmax)}


def check_avg_pool2d(cnn, rng):
    """Mean over each window; zero padding counts in the mean."""
    x, kernel, stride, padding = _pool_case(rng)
    return cnn.avg_pool2d_forward(x, kernel, stride, padding)


def check_max_pool2d_layer(cnn, rng):
    """MaxPool2D(k): stride k by default, batched and unbatched."""
    x, kernel, _, _ = _pool_case(rng)
    layer = cnn.MaxPool2D(kernel)
    return {"batch": np.asarray(layer(Tensor(x)).data), "image": np.asarray(layer(Tensor(x[0])).data)}


def check_avg_pool2d_layer(cnn, rng):
    """AvgPool2D(k, stride, padding) on a batch."""
    x, kernel, stride, padding = _pool_case(rng)
    return np.asarray(cnn.AvgPool2D(kernel, stride, padding)(Tensor(x)).data)


# --------------------------------------------------------------------------- Step 6: Flatten


def check_flatten(cnn, rng):
    """(N, d1, d2, ...) -> (N, d1·d2·...), by flatten and by the Flatten layer."""
    rest = _shape(rng, 1, 4, int(rng.integers(1, 4)))
    N = int(rng.choice([n for n in (1, 2, 3, 5) if n != int(np.prod(rest))]))
    x = rng.standard_normal((N, *rest))
    return {"function": np.asarray(cnn.flatten(Tensor(x)).data), "layer": np.asarray(cnn.Flatten()(Tensor(x)).data)}


def check_flatten_rejects_1d(cnn, rng):
    """The TODO: fewer than 2 axes raises ValueError."""
    size = int(rng.integers(1, 10))
    good = rng.standard_normal((size + 1, 2, size + 1))  # N is never d1·d2: a transposed reshape fails
    return refuses(lambda: np.asarray(cnn.flatten(Tensor(good)).data),
                   lambda: cnn.flatten(Tensor(rng.standard_normal(size))), f"got shape {(size,)}")


# --------------------------------------------------------------------------- Analyze: receptive fields


def check_receptive_field(cnn, rng):
    """Receptive field and jump after each layer of a random stack of Conv2D and MaxPool2D."""
    layers = []
    for position in range(int(rng.integers(2, 5))):
        kernel = _shape(rng, 1, 4, 2)
        if position == 0 or rng.random() < 0.6:
            layers.append(cnn.Conv2D(1, 1, kernel_size=kernel, stride=_shape(rng, 1, 2, 2)))
        else:
            layers.append(cnn.MaxPool2D(kernel))
    return [[row["receptive_field"], row["jump"]] for row in cnn.receptive_field(layers)]
