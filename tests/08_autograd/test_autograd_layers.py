"""Gradients of the activations and layers: finite differences, loop references, hand values."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tinytorch.core.activations import LeakyReLU, ReLU, Sigmoid, Softmax, Tanh
from tinytorch.core.autograd import avg_pool2d_backward, conv2d_backward, max_pool2d_backward
from tinytorch.core.cnn import (
    AvgPool2D, Conv2D, Flatten, MaxPool2D, avg_pool2d_forward, conv2d_forward, max_pool2d_forward,
)
from tinytorch.core.layers import Dense
from tinytorch.core.networks import Sequential
from tinytorch.core.tensor import Tensor

from finite_differences import central_differences, gradcheck

F64 = np.float64


def rng(seed=0):
    return np.random.default_rng(seed)


def leaf(data):
    return Tensor(data, dtype=F64, requires_grad=True)


# ------------------------------------------------------------------ activations
@pytest.mark.parametrize("activation", [
    ReLU(), LeakyReLU(0.1), Sigmoid(), Tanh(), Softmax(), Softmax(axis=0),
])
def test_activation_gradients(activation):
    data = rng(1).uniform(-3, 3, size=(4, 5))
    data[np.abs(data) < 0.05] = 0.5  # keep ReLU's kink away from the finite differences
    x = leaf(data)
    assert gradcheck(lambda: activation(x), [x])


def test_relu_and_leaky_relu_hand_computed():
    x = Tensor([-2.0, 0.0, 3.0], requires_grad=True)
    ReLU()(x).sum().backward()
    np.testing.assert_array_equal(x.grad.data, [0, 0, 1])
    x.grad = None
    LeakyReLU(0.25)(x).sum().backward()
    np.testing.assert_array_equal(x.grad.data, [0.25, 0.25, 1])


def test_softmax_at_extremes_has_finite_gradient():
    x = Tensor([[1000.0, -1000.0, 0.0]], requires_grad=True)
    (Softmax()(x) * Tensor([[1.0, 2.0, 3.0]])).sum().backward()
    assert np.all(np.isfinite(x.grad.data))
    np.testing.assert_allclose(x.grad.data, [[0.0, 0.0, 0.0]], atol=1e-6)


# ------------------------------------------------------------------ Dense and Sequential
def test_dense_gradients_finite_differences():
    np.random.seed(0)
    layer = Dense(4, 3)
    layer.weight = leaf(layer.weight.data)
    layer.bias = leaf(layer.bias.data)
    x = Tensor(rng(2).normal(size=(5, 4)))  # float32 input
    assert gradcheck(lambda: layer(x), [layer.weight, layer.bias])


def test_dense_gradients_hand_formula():
    np.random.seed(1)
    layer = Dense(3, 2)
    x = Tensor(rng(3).normal(size=(4, 3)), requires_grad=True)
    g = rng(4).normal(size=(4, 2)).astype(np.float32)
    layer(x).backward(g)
    np.testing.assert_allclose(x.grad.data, g @ layer.weight.data.T, rtol=1e-6)
    np.testing.assert_allclose(layer.weight.grad.data, x.data.T @ g, rtol=1e-6)
    np.testing.assert_allclose(layer.bias.grad.data, g.sum(axis=0), rtol=1e-6)


def test_sequential_mlp_fills_every_parameter_gradient():
    np.random.seed(2)
    model = Sequential([Dense(4, 8), ReLU(), Dense(8, 3)])
    model(Tensor(rng(5).normal(size=(6, 4)))).sum().backward()
    for p in model.parameters():
        assert p.grad is not None and p.grad.shape == p.shape
        assert np.any(p.grad.data != 0)


# ------------------------------------------------------------------ Conv2D
CONV_CASES = [
    # x shape, weight shape, stride, padding
    ((2, 3, 5, 5), (4, 3, 3, 3), 1, 0),
    ((1, 2, 6, 5), (3, 2, 3, 2), 2, 1),
    ((2, 1, 7, 7), (2, 1, 3, 3), (2, 1), (1, 0)),
    ((1, 2, 4, 4), (1, 2, 1, 1), 1, 0),
    ((3, 2, 5, 6), (2, 2, 5, 5), 1, 2),
    ((2, 2, 5, 6), (3, 2, 3, 3), 1, "same"),
    ((1, 2, 5, 5), (2, 2, 4, 4), 1, "same"),     # even kernel: one more zero bottom and right
    ((2, 1, 4, 6), (2, 1, 2, 3), 1, "same"),
    ((1, 2, 5, 6), (2, 2, 3, 2), 1, "valid"),
]


@pytest.mark.parametrize("x_shape,w_shape,stride,padding", CONV_CASES)
def test_conv2d_backward_finite_differences(x_shape, w_shape, stride, padding):
    r = rng(6)
    x, w, b = r.normal(size=x_shape), r.normal(size=w_shape), r.normal(size=w_shape[0])
    out_shape = conv2d_forward(x, w, b, stride, padding).shape
    g = r.normal(size=out_shape)
    loss = lambda: float((conv2d_forward(x, w, b, stride, padding) * g).sum())
    gx, gw, gb = conv2d_backward(g, x, w, stride, padding)
    assert gx.shape == x.shape and gw.shape == w.shape and gb.shape == b.shape
    np.testing.assert_allclose(gx, central_differences(loss, x), atol=1e-7)
    np.testing.assert_allclose(gw, central_differences(loss, w), atol=1e-7)
    np.testing.assert_allclose(gb, central_differences(loss, b), atol=1e-7)


def test_conv2d_backward_skips_input_gradient_on_request():
    r = rng(7)
    gx, gw, gb = conv2d_backward(r.normal(size=(1, 2, 3, 3)), r.normal(size=(1, 1, 5, 5)),
                                 r.normal(size=(2, 1, 3, 3)), need_input_grad=False)
    assert gx is None and gw.shape == (2, 1, 3, 3) and gb.shape == (2,)


def test_conv2d_layer_gradients_match_the_array_function():
    np.random.seed(3)
    conv = Conv2D(2, 3, kernel_size=3, stride=2, padding=1)
    x = Tensor(rng(8).normal(size=(2, 2, 6, 6)), requires_grad=True)
    out = conv(x)
    g = rng(9).normal(size=out.shape).astype(np.float32)
    out.backward(g)
    gx, gw, gb = conv2d_backward(g, x.data, conv.weight.data, 2, 1)
    np.testing.assert_allclose(x.grad.data, gx, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(conv.weight.grad.data, gw, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(conv.bias.grad.data, gb, rtol=1e-5, atol=1e-6)
    assert conv.weight.grad.dtype == np.float32


def test_conv2d_unbatched_input_and_no_bias():
    np.random.seed(4)
    conv = Conv2D(1, 2, kernel_size=2, bias=False)
    x = Tensor(rng(10).normal(size=(1, 3, 3)), requires_grad=True)
    conv(x).sum().backward()
    gx, gw, _ = conv2d_backward(np.ones((1, 2, 2, 2)), x.data[None], conv.weight.data)
    assert x.grad.shape == (1, 3, 3)
    np.testing.assert_allclose(x.grad.data, gx[0], rtol=1e-6)
    np.testing.assert_allclose(conv.weight.grad.data, gw, rtol=1e-6)


def test_conv2d_first_layer_input_gets_no_gradient():
    conv = Conv2D(1, 2, kernel_size=3)
    image = Tensor(np.ones((1, 1, 5, 5)))
    conv(image).sum().backward()
    assert image.grad is None and conv.weight.grad is not None


# ------------------------------------------------------------------ pooling and Flatten
POOL_CASES = [((2, 2, 4, 4), 2, None, 0), ((1, 3, 5, 5), 3, 1, 1), ((1, 1, 6, 5), (2, 3), (2, 1), 0),
              ((2, 1, 5, 5), 2, 1, 1)]


@pytest.mark.parametrize("x_shape,kernel,stride,padding", POOL_CASES)
def test_max_pool_backward_finite_differences(x_shape, kernel, stride, padding):
    x = rng(11).permutation(np.prod(x_shape)).reshape(x_shape) * 0.1  # distinct values: no ties
    g = rng(12).normal(size=max_pool2d_forward(x, kernel, stride, padding).shape)
    loss = lambda: float((max_pool2d_forward(x, kernel, stride, padding) * g).sum())
    got = max_pool2d_backward(g, x, kernel, stride, padding)
    np.testing.assert_allclose(got, central_differences(loss, x, eps=1e-4), atol=1e-8)


@pytest.mark.parametrize("x_shape,kernel,stride,padding", POOL_CASES)
def test_avg_pool_backward_finite_differences(x_shape, kernel, stride, padding):
    x = rng(13).normal(size=x_shape)
    g = rng(14).normal(size=avg_pool2d_forward(x, kernel, stride, padding).shape)
    loss = lambda: float((avg_pool2d_forward(x, kernel, stride, padding) * g).sum())
    got = avg_pool2d_backward(g, x.shape, kernel, stride, padding)
    np.testing.assert_allclose(got, central_differences(loss, x), atol=1e-8)


def test_max_pool_tie_goes_to_the_first_maximum():
    x = Tensor(np.ones((1, 1, 2, 2)), requires_grad=True)
    MaxPool2D(2)(x).sum().backward()
    np.testing.assert_array_equal(x.grad.data[0, 0], [[1, 0], [0, 0]])


def test_conv2d_backward_of_an_empty_batch_is_zero_gradients_of_the_right_shapes():
    gx, gw, gb = conv2d_backward(np.zeros((0, 4, 3, 3), np.float32), np.zeros((0, 2, 5, 5), np.float32),
                                 np.ones((4, 2, 3, 3), np.float32))
    assert (gx.shape, gw.shape, gb.shape) == ((0, 2, 5, 5), (4, 2, 3, 3), (4,))
    assert not gw.any() and not gb.any()


def _max_pool_backward_loop(g, x, kernel, stride, padding):
    """The definition, one window at a time: g to the first maximum of the padded window."""
    (kh, kw), (sh, sw), (ph, pw) = kernel, stride, padding
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)), constant_values=-np.inf)
    grad = np.zeros_like(xp)
    for n, c, i, j in np.ndindex(*g.shape):
        window = xp[n, c, i * sh:i * sh + kh, j * sw:j * sw + kw]
        di, dj = np.unravel_index(np.argmax(window), window.shape)     # argmax: the first maximum
        grad[n, c, i * sh + di, j * sw + dj] += g[n, c, i, j]
    return grad[:, :, ph:ph + x.shape[2], pw:pw + x.shape[3]]


@pytest.mark.parametrize("kernel,stride,padding", [((2, 2), (2, 2), (0, 0)), ((3, 3), (1, 1), (1, 1)),
                                                   ((3, 2), (2, 1), (1, 0))])
def test_max_pool_backward_with_ties_and_overlap_equals_the_loop(kernel, stride, padding):
    x = rng(15).integers(0, 3, size=(2, 3, 6, 5)).astype(np.float32)     # many ties
    pooled = max_pool2d_forward(x, kernel, stride, padding)
    g = rng(16).normal(size=pooled.shape).astype(np.float32)
    expected = _max_pool_backward_loop(g, x, kernel, stride, padding)
    got = max_pool2d_backward(g, x, kernel, stride, padding)
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-6)
    np.testing.assert_array_equal(max_pool2d_backward(g, x, kernel, stride, padding, out=pooled), got)


def test_pool_layers_hand_computed_and_unbatched():
    x = Tensor([[[1.0, 2.0], [4.0, 3.0]]], requires_grad=True)  # (C, H, W)
    MaxPool2D(2)(x).sum().backward()
    np.testing.assert_array_equal(x.grad.data, [[[0, 0], [1, 0]]])
    x.grad = None
    AvgPool2D(2)(x).sum().backward()
    np.testing.assert_array_equal(x.grad.data, np.full((1, 2, 2), 0.25))


def test_flatten_passes_gradient_back_in_shape():
    x = Tensor(np.arange(24.0).reshape(2, 3, 2, 2), requires_grad=True)
    out = Flatten()(x)
    out.backward(np.arange(24.0).reshape(2, 12))
    np.testing.assert_array_equal(x.grad.data, np.arange(24.0).reshape(2, 3, 2, 2))


def test_lenet_gets_every_gradient():
    np.random.seed(5)
    model = Sequential([
        Conv2D(1, 16, 3, padding=1), ReLU(), MaxPool2D(2),
        Conv2D(16, 32, 3, padding=1), ReLU(), MaxPool2D(2),
        Flatten(), Dense(128, 64), ReLU(), Dense(64, 10),
    ])
    model(Tensor(rng(15).uniform(size=(4, 1, 8, 8)))).sum().backward()
    params = model.parameters()
    assert len(params) == 8
    for p in params:
        assert p.grad is not None and p.grad.shape == p.shape and p.grad.dtype == np.float32


@settings(max_examples=20, deadline=None)
@given(
    n=st.integers(1, 2), c=st.integers(1, 3), f=st.integers(1, 3),
    kh=st.integers(1, 3), kw=st.integers(1, 3), sh=st.integers(1, 3), sw=st.integers(1, 2),
    ph=st.integers(0, 2), pw=st.integers(0, 1), extra_h=st.integers(0, 3), extra_w=st.integers(0, 3),
    seed=st.integers(0, 10_000),
)
def test_conv2d_backward_any_geometry(n, c, f, kh, kw, sh, sw, ph, pw, extra_h, extra_w, seed):
    """Random kernel, stride, padding and input sizes: all three gradients match central differences."""
    r = rng(seed)
    x = r.normal(size=(n, c, kh + extra_h, kw + extra_w))
    w, b = r.normal(size=(f, c, kh, kw)), r.normal(size=f)
    g = r.normal(size=conv2d_forward(x, w, b, (sh, sw), (ph, pw)).shape)
    loss = lambda: float((conv2d_forward(x, w, b, (sh, sw), (ph, pw)) * g).sum())
    gx, gw, gb = conv2d_backward(g, x, w, (sh, sw), (ph, pw))
    np.testing.assert_allclose(gx, central_differences(loss, x), atol=1e-7)
    np.testing.assert_allclose(gw, central_differences(loss, w), atol=1e-7)
    np.testing.assert_allclose(gb, central_differences(loss, b), atol=1e-7)


def test_dense_keeps_an_input_of_another_dtype_in_the_graph():
    """A float64 input that requires grad is not copied into float32 (that would cut it out)."""
    layer = Dense(3, 2)
    x = Tensor(np.arange(12.0).reshape(4, 3), dtype=np.float64, requires_grad=True)
    layer(x).sum().backward()
    assert x.grad is not None
    np.testing.assert_allclose(x.grad.data, np.ones((4, 2)) @ layer.weight.data.T.astype(np.float64), rtol=1e-6)
    np.testing.assert_allclose(layer.weight.grad.data, x.data.T @ np.ones((4, 2)), rtol=1e-6)
