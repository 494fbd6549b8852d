"""Autograd plugs into module 02's one slot: nothing is replaced, and every layer records.

The Tensor's primitive operations and the activation, Conv2D and pooling forwards are marked
``@differentiable``; importing autograd puts its engine in the slot. So a layer class imported
from a dev file (as the course text does) and a subclass that overrides ``forward`` get their
gradients like the package's own classes.
"""

import inspect
import json
import subprocess
import sys

import numpy as np
import pytest

import tinytorch.core.activations as activations
import tinytorch.core.autograd as autograd
import tinytorch.core.cnn as cnn
import tinytorch.core.tensor as tensor_module
from tinytorch.core.activations import ReLU, Tanh
from tinytorch.core.autograd import conv2d_backward
from tinytorch.core.cnn import Conv2D, MaxPool2D
from tinytorch.core.layers import Layer
from tinytorch.core.tensor import Tensor

from course_root import ROOT
from finite_differences import gradcheck
F64 = np.float64


def float64_conv(conv_class, *args, **kwargs):
    """A conv layer whose parameters are float64 leaves (for central differences)."""
    np.random.seed(0)
    conv = conv_class(*args, **kwargs)
    conv.weight = Tensor(conv.weight.data, dtype=F64, requires_grad=True)
    conv.bias = Tensor(conv.bias.data, dtype=F64, requires_grad=True)
    return conv


def leaf(shape, seed=1):
    return Tensor(np.random.default_rng(seed).normal(size=shape), dtype=F64, requires_grad=True)


DEV_FILE_CHECK = """
import json
import numpy as np
import pytest
import tinytorch.core.autograd  # noqa: F401  (switches autograd on)
import tinytorch.core.cnn
from cnn_dev import Conv2D      # the course text's import: the student's own class
from tinytorch.core.autograd import conv2d_backward, gradcheck
from tinytorch.core.tensor import Tensor

np.random.seed(0)
conv = Conv2D(2, 3, kernel_size=3, padding="same")
x = Tensor(np.random.default_rng(1).normal(size=(2, 2, 5, 5)), requires_grad=True)
out = conv(x)
g = np.random.default_rng(2).normal(size=out.shape).astype(np.float32)
out.backward(g)
gx, gw, gb = conv2d_backward(g, x.data, conv.weight.data, 1, "same")
close = lambda got, expected: bool(np.allclose(got.grad.data, expected, rtol=1e-5, atol=1e-6))
result = {
    "class": f"{Conv2D.__module__}.{Conv2D.__qualname__}",
    "package_class": Conv2D is tinytorch.core.cnn.Conv2D,
    "node": out.grad_fn.name,
    "weight_grad": close(conv.weight, gw), "bias_grad": close(conv.bias, gb), "input_grad": close(x, gx),
}
conv.weight = Tensor(conv.weight.data, dtype=np.float64, requires_grad=True)
conv.bias = Tensor(conv.bias.data, dtype=np.float64, requires_grad=True)
x64 = Tensor(x.data, dtype=np.float64, requires_grad=True)
result["gradcheck"] = gradcheck(lambda: conv(x64), [x64, conv.weight, conv.bias])
print(json.dumps(result))
"""


def test_a_conv2d_from_the_dev_file_gets_gradients():
    """`source bin/activate-tinytorch.sh; python -c 'from cnn_dev import Conv2D ...'`: the
    dev file's own Conv2D class (not the package's) fills every gradient, as the array-level
    backward and central differences say."""
    # The script sets PYTHONPATH before it looks for .venv, so this needs no venv of its own.
    script = f'. "{ROOT}/bin/activate-tinytorch.sh" >/dev/null 2>&1; cd "$HOME"; exec "$0" -c "$1"'
    done = subprocess.run(["bash", "-c", script, sys.executable, DEV_FILE_CHECK], capture_output=True,
                          text=True, timeout=120, env={"PATH": "/usr/bin:/bin", "HOME": "/tmp"})
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.splitlines()[-1]) == {
        "class": "cnn_dev.Conv2D", "package_class": False, "node": "Conv2DBackward",
        "weight_grad": True, "bias_grad": True, "input_grad": True, "gradcheck": True,
    }


def test_a_subclass_that_overrides_forward_gets_gradients():
    class Doubled(Conv2D):
        def forward(self, x):
            return super().forward(x) * 2

    class ConvTanhPool(Conv2D):
        """A composite forward: the parent's convolution, then other layers' calls."""
        def forward(self, x):
            return MaxPool2D(2)(Tanh()(super().forward(x)))

    for cls in (Doubled, ConvTanhPool):
        conv, x = float64_conv(cls, 2, 3, 3, padding="same"), leaf((2, 2, 4, 4))
        assert gradcheck(lambda: conv(x), [x, conv.weight, conv.bias]), cls.__name__

    conv, x = float64_conv(Doubled, 2, 3, 3, padding=1), leaf((1, 2, 5, 5))
    out = conv(x)
    g = np.random.default_rng(3).normal(size=out.shape)
    out.backward(g)
    gx, gw, gb = conv2d_backward(2 * g, x.data, conv.weight.data, 1, 1)
    np.testing.assert_allclose(conv.weight.grad.data, gw, rtol=1e-12)
    np.testing.assert_allclose(conv.bias.grad.data, gb, rtol=1e-12)
    np.testing.assert_allclose(x.grad.data, gx, rtol=1e-12)
    assert out.grad_fn.name == "MulBackward" and out.grad_fn.inputs[0].grad_fn.name == "Conv2DBackward"


def test_a_layer_written_from_tensor_operations_needs_no_rule():
    class Affine(Layer):
        def __init__(self):
            self.scale = leaf((3,), seed=4)

        def forward(self, x):
            return ReLU()(x * self.scale) - x.mean(axis=0)

    layer, x = Affine(), leaf((4, 3), seed=5)
    assert gradcheck(lambda: layer(x), [x, layer.scale])


def test_importing_autograd_replaces_no_method():
    """Enabling and disabling autograd only fills and empties module 02's slot."""
    classes = [Tensor, Conv2D, MaxPool2D, ReLU, Tanh, cnn.AvgPool2D, cnn.Flatten]
    before = [dict(vars(cls)) for cls in classes]
    try:
        autograd.disable_autograd()
        assert tensor_module.get_autograd() is None and not autograd.is_autograd_enabled()
        assert [dict(vars(cls)) for cls in classes] == before
    finally:
        autograd.enable_autograd()
    assert [dict(vars(cls)) for cls in classes] == before


def _marked_operations():
    """Qualified names of every @differentiable function in the package's classes."""
    marker = tensor_module.differentiable(lambda: None).__code__
    found = set()
    for module in (tensor_module, activations, cnn):
        for _, cls in inspect.getmembers(module, inspect.isclass):
            for value in vars(cls).values():
                if getattr(value, "__code__", None) is marker:
                    found.add(value.__qualname__)
    return found


def test_every_marked_operation_has_a_rule_and_every_rule_an_operation():
    marked = _marked_operations()
    assert {"Tensor.__add__", "Tensor.__getitem__", "ReLU.forward", "Conv2D.forward",
            "_Pool2D.forward"} <= marked
    assert marked == set(autograd.RULES)


def test_a_forward_on_arrays_is_refused_instead_of_losing_gradients():
    class ArrayConv(Conv2D):
        def forward(self, x):  # the parent's numbers, but computed on .data: no graph
            return Tensor(cnn.conv2d_forward(x.data, self.weight.data, self.bias.data))

    layer, x = ArrayConv(1, 2, 3), Tensor(np.ones((1, 1, 4, 4)))
    with pytest.raises(RuntimeError, match=r"ArrayConv\.forward .* no gradient.*super\(\)\.forward"):
        layer(x)
    with autograd.no_grad():
        assert layer(x).shape == (1, 2, 2, 2)  # nothing is recorded, so nothing is lost
    assert MaxPool2D(2)(x).shape == (1, 1, 2, 2)  # no parameters: nothing to lose
