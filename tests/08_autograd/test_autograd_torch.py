"""The same gradients as PyTorch, when PyTorch is installed (skipped otherwise).

Every test takes the ``torch`` fixture (tests/conftest.py): torch is imported only when these
tests run, and they are marked slow by that (`tito test --full`, `make test`)."""

import numpy as np
import pytest

from tinytorch.core.activations import ReLU, Softmax, Tanh
from tinytorch.core.cnn import AvgPool2D, Conv2D, Flatten, MaxPool2D
from tinytorch.core.layers import Dense
from tinytorch.core.networks import Sequential
from tinytorch.core.tensor import Tensor
import tinytorch.core.autograd  # noqa: F401

def both(torch, data):
    """The same float32 data as a tinytorch leaf and a torch leaf."""
    data = np.asarray(data, dtype=np.float32)
    return Tensor(data, requires_grad=True), torch.tensor(data, requires_grad=True)


def close(ours, theirs, rtol=1e-4, atol=1e-5):
    np.testing.assert_allclose(ours.grad.data, theirs.grad.numpy(), rtol=rtol, atol=atol)


def test_elementwise_and_reductions_match_torch(torch):
    r = np.random.default_rng(0)
    a, ta = both(torch, r.uniform(0.5, 2, size=(3, 4)))
    b, tb = both(torch, r.uniform(0.5, 2, size=(4,)))
    ours = ((a * b - a / b) ** 2).mean(axis=0).sum() + (a @ b).max() - Tanh()(a).sum()
    theirs = ((ta * tb - ta / tb) ** 2).mean(dim=0).sum() + (ta @ tb).max() - torch.tanh(ta).sum()
    ours.backward()
    theirs.backward()
    np.testing.assert_allclose(ours.data, theirs.detach().numpy(), rtol=1e-5)
    close(a, ta)
    close(b, tb)


def test_softmax_cross_entropy_style_graph_matches_torch(torch):
    r = np.random.default_rng(1)
    z, tz = both(torch, r.normal(size=(5, 3)))
    ours = (Softmax()(z)[np.arange(5), [0, 2, 1, 1, 0]]).sum()
    theirs = torch.softmax(tz, dim=-1)[torch.arange(5), torch.tensor([0, 2, 1, 1, 0])].sum()
    ours.backward()
    theirs.backward()
    close(z, tz)


@pytest.mark.filterwarnings("ignore:Using padding='same' with even kernel")
@pytest.mark.parametrize("kernel,stride,padding", [
    (3, 1, 0), (3, 1, 1), (3, 2, 1), (3, 2, 2), (3, 1, "same"), (4, 1, "same"), ((2, 3), 1, "same"), (4, 1, "valid"),
])
def test_conv2d_matches_torch(torch, kernel, stride, padding):
    np.random.seed(0)
    conv = Conv2D(3, 4, kernel_size=kernel, stride=stride, padding=padding)
    x, tx = both(torch, np.random.default_rng(2).normal(size=(2, 3, 7, 7)))
    tconv = torch.nn.Conv2d(3, 4, kernel, stride=stride, padding=padding)
    with torch.no_grad():
        tconv.weight.copy_(torch.tensor(conv.weight.data))
        tconv.bias.copy_(torch.tensor(conv.bias.data))
    g = np.random.default_rng(3).normal(size=conv(x).shape).astype(np.float32)
    conv(x).backward(g)
    tconv(tx).backward(torch.tensor(g))
    close(x, tx)
    np.testing.assert_allclose(conv.weight.grad.data, tconv.weight.grad.numpy(), rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(conv.bias.grad.data, tconv.bias.grad.numpy(), rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("kernel,stride,padding", [(2, None, 0), (3, 1, 1), (3, 2, 1)])
def test_pooling_matches_torch(torch, kernel, stride, padding):
    data = np.random.default_rng(4).normal(size=(2, 3, 6, 6))
    for ours_cls, theirs_fn in [(MaxPool2D, torch.nn.functional.max_pool2d),
                                (AvgPool2D, torch.nn.functional.avg_pool2d)]:
        x, tx = both(torch, data)
        out = ours_cls(kernel, stride, padding)(x)
        g = np.random.default_rng(5).normal(size=out.shape).astype(np.float32)
        out.backward(g)
        theirs_fn(tx, kernel, stride, padding).backward(torch.tensor(g))
        close(x, tx, rtol=1e-5, atol=1e-6)


def milestone_twins(torch):
    """The milestone network in TinyTorch and in PyTorch, with the same float32 parameters
    (TinyTorch's drawn from NumPy's global generator)."""
    ours = Sequential([
        Conv2D(1, 16, 3, padding=1), ReLU(), MaxPool2D(2),
        Conv2D(16, 32, 3, padding=1), ReLU(), MaxPool2D(2),
        Flatten(), Dense(128, 64), ReLU(), Dense(64, 10),
    ])
    theirs = torch.nn.Sequential(
        torch.nn.Conv2d(1, 16, 3, padding=1), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
        torch.nn.Conv2d(16, 32, 3, padding=1), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
        torch.nn.Flatten(), torch.nn.Linear(128, 64), torch.nn.ReLU(), torch.nn.Linear(64, 10),
    )
    for p, tp in zip(ours.parameters(), theirs.parameters()):
        with torch.no_grad():
            tp.copy_(torch.tensor(p.data.T if p.ndim == 2 else p.data))  # Linear stores (out, in)
    return ours, theirs


def test_milestone_network_gradients_match_torch(torch):
    np.random.seed(6)
    ours, theirs = milestone_twins(torch)
    ours_params = ours.parameters()
    theirs_params = list(theirs.parameters())
    x = np.random.default_rng(7).uniform(size=(8, 1, 8, 8)).astype(np.float32)
    out = ours(Tensor(x))
    tout = theirs(torch.tensor(x))
    np.testing.assert_allclose(out.data, tout.detach().numpy(), rtol=1e-4, atol=1e-5)
    (out * out).mean().backward()
    (tout * tout).mean().backward()
    for p, tp in zip(ours_params, theirs_params):
        expected = tp.grad.numpy().T if p.ndim == 2 else tp.grad.numpy()
        np.testing.assert_allclose(p.grad.data, expected, rtol=1e-3, atol=1e-5)

