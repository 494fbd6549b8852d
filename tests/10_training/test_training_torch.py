"""A float64 network's cross-entropy loss and gradients equal PyTorch's in double precision.

Takes the ``torch`` fixture (tests/conftest.py): skipped when PyTorch is not installed, and
marked slow by that (`tito test --full`, `make test`)."""

import numpy as np

from tinytorch.core.activations import ReLU
from tinytorch.core.cnn import Conv2D, Flatten, MaxPool2D
from tinytorch.core.layers import Dense
from tinytorch.core.networks import Sequential
from tinytorch.core.tensor import Tensor
from tinytorch.core.training import CrossEntropyLoss


def double_twins(torch):
    """The milestone network, its first convolution padded "same", in TinyTorch and in PyTorch
    with the same float64 parameters (TinyTorch's drawn from NumPy's global generator)."""
    ours = Sequential([
        Conv2D(1, 16, 3, padding="same"), ReLU(), MaxPool2D(2),
        Conv2D(16, 32, 3, padding=1), ReLU(), MaxPool2D(2),
        Flatten(), Dense(128, 64), ReLU(), Dense(64, 10),
    ])
    nn = torch.nn
    theirs = nn.Sequential(
        nn.Conv2d(1, 16, 3, padding="same"), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(128, 64), nn.ReLU(), nn.Linear(64, 10),
    ).double()
    for p, tp in zip(ours.parameters(), theirs.parameters()):
        p.data = p.data.astype(np.float64)
        with torch.no_grad():
            tp.copy_(torch.from_numpy(p.data.T if p.ndim == 2 else p.data))  # Linear stores (out, in)
    return ours, theirs


def test_float64_network_loss_and_gradients_match_torch_double(torch):
    """Parameters converted to float64 (PyTorch's .double()): every layer, gradient and the loss
    stay float64 and agree with PyTorch to float64 precision."""
    np.random.seed(8)
    ours, theirs = double_twins(torch)
    x = np.random.default_rng(9).normal(size=(8, 1, 8, 8))
    labels = np.arange(8) % 10
    loss = CrossEntropyLoss()(ours(Tensor(x, dtype=np.float64)), labels)
    expected = torch.nn.functional.cross_entropy(theirs(torch.from_numpy(x)), torch.from_numpy(labels))
    assert loss.dtype == np.float64
    np.testing.assert_allclose(loss.data, expected.item(), rtol=1e-13)
    loss.backward()
    expected.backward()
    for p, tp in zip(ours.parameters(), theirs.parameters()):
        assert p.grad.dtype == np.float64
        wanted = tp.grad.numpy().T if p.ndim == 2 else tp.grad.numpy()
        np.testing.assert_allclose(p.grad.data, wanted, rtol=1e-10, atol=1e-13)
