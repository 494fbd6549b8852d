"""MSELoss, CrossEntropyLoss and accuracy: exact values, gradients, stability, bad input."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tinytorch.core.tensor import Tensor
from tinytorch.core.training import CrossEntropyLoss, MSELoss, accuracy, log_softmax

from finite_differences import gradcheck

F64 = np.float64


# ------------------------------------------------------------------ MSELoss
def test_mse_value_and_gradient():
    pred = Tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    loss = MSELoss()(pred, np.array([[0.0, 2.0], [5.0, 4.0]], dtype=np.float32))
    assert loss.shape == () and loss.item() == pytest.approx((1 + 0 + 4 + 0) / 4)
    loss.backward()
    np.testing.assert_allclose(pred.grad.data, [[0.5, 0.0], [-1.0, 0.0]])


def test_mse_finite_differences():
    pred = Tensor(np.random.default_rng(0).normal(size=(5, 3)), dtype=F64, requires_grad=True)
    target = Tensor(np.random.default_rng(1).normal(size=(5, 3)), dtype=F64)
    assert gradcheck(lambda: MSELoss()(pred, target), [pred])


def test_mse_refuses_broadcasting_shapes():
    with pytest.raises(ValueError, match=r"same shape.*\(4, 1\).*\(4,\)"):
        MSELoss()(Tensor(np.zeros((4, 1))), Tensor(np.zeros(4)))


# ------------------------------------------------------------------ CrossEntropyLoss
def reference_cross_entropy(z, t):
    z = np.asarray(z, dtype=F64)
    return float(np.mean([np.log(np.exp(row).sum()) - row[c] for row, c in zip(z, t)]))


def test_cross_entropy_hand_computed():
    z = [[2.0, 1.0, 0.1], [0.5, 2.5, -1.0]]
    loss = CrossEntropyLoss()(Tensor(z), np.array([0, 1]))
    assert loss.item() == pytest.approx(reference_cross_entropy(z, [0, 1]), rel=1e-6)
    assert loss.dtype == np.float32


@settings(max_examples=30, deadline=None)
@given(st.integers(1, 6), st.integers(2, 5), st.integers(0, 10_000))
def test_cross_entropy_matches_reference_and_gradient(n, classes, seed):
    rng = np.random.default_rng(seed)
    z = Tensor(rng.normal(scale=3, size=(n, classes)), dtype=F64, requires_grad=True)
    t = rng.integers(0, classes, size=n)
    loss = CrossEntropyLoss()(z, t)
    assert loss.item() == pytest.approx(reference_cross_entropy(z.data, t), rel=1e-10)
    assert gradcheck(lambda: CrossEntropyLoss()(z, t), [z])
    z.grad = None
    loss.backward()
    probs = np.exp(z.data) / np.exp(z.data).sum(axis=1, keepdims=True)
    np.testing.assert_allclose(z.grad.data, (probs - np.eye(classes)[t]) / n, atol=1e-12)


def test_cross_entropy_stable_for_huge_logits():
    z = Tensor([[1000.0, -1000.0, 0.0], [-1000.0, -1000.0, -1000.0]], requires_grad=True)
    loss = CrossEntropyLoss()(z, np.array([1, 2]))
    assert np.isfinite(loss.item())
    assert loss.item() == pytest.approx((2000.0 + np.log(3)) / 2, rel=1e-6)
    loss.backward()
    assert np.all(np.isfinite(z.grad.data))
    np.testing.assert_allclose(log_softmax(np.array([[1000.0, 0.0]])), [[0.0, -1000.0]])


def test_cross_entropy_targets_as_tensor_and_list():
    z = Tensor([[0.0, 1.0]])
    a = CrossEntropyLoss()(z, Tensor([1])).item()
    b = CrossEntropyLoss()(z, [1]).item()
    assert a == b == pytest.approx(np.log(1 + np.e ** -1))


def test_cross_entropy_matches_torch(torch):
    rng = np.random.default_rng(2)
    data = rng.normal(scale=4, size=(8, 10)).astype(np.float32)
    t = rng.integers(0, 10, size=8)
    z = Tensor(data, requires_grad=True)
    tz = torch.tensor(data, requires_grad=True)
    ours = CrossEntropyLoss()(z, t)
    theirs = torch.nn.functional.cross_entropy(tz, torch.tensor(t))
    ours.backward()
    theirs.backward()
    assert ours.item() == pytest.approx(theirs.item(), rel=1e-5)
    np.testing.assert_allclose(z.grad.data, tz.grad.numpy(), rtol=1e-4, atol=1e-7)


@pytest.mark.parametrize("logits,targets,match", [
    (np.zeros((3, 4)), [0, 1, 4], r"class indices in \[0, 4\), got 4 at position 2"),
    (np.zeros((3, 4)), [0, -1, 2], r"got -1 at position 1"),
    (np.zeros((3, 4)), [0, 1], r"3 rows of logits but 2 targets"),
    (np.zeros((3, 4)), [0.0, 1.0, 2.0], r"integer class indices.*float"),
    (np.zeros((3, 4)), [[0], [1], [2]], r"shape \(N,\).*\(3, 1\)"),
    (np.zeros(4), [0], r"logits of shape \(N, C\), got shape \(4,\)"),
])
def test_cross_entropy_bad_input(logits, targets, match):
    with pytest.raises(ValueError, match=match):
        CrossEntropyLoss()(Tensor(logits), np.array(targets))


# ------------------------------------------------------------------ accuracy
def test_accuracy_exact():
    logits = np.array([[0.1, 0.9, 0.0], [0.8, 0.1, 0.1], [0.2, 0.3, 0.5], [1.0, 0.0, 0.0]])
    assert accuracy(logits, np.array([1, 0, 0, 0])) == 0.75
    assert accuracy(Tensor(logits), Tensor([1, 0, 2, 0])) == 1.0


def test_accuracy_bad_input():
    with pytest.raises(ValueError, match="2 rows of logits but 3 targets"):
        accuracy(np.zeros((2, 3)), np.array([0, 1, 2]))
    with pytest.raises(ValueError, match="empty"):
        accuracy(np.zeros((0, 3)), np.array([], dtype=np.int64))


def test_integer_logits_give_a_float32_loss():
    """A loss is a fraction: integer logits must not truncate it (Tensor([[0, 1]]) is int64)."""
    loss = CrossEntropyLoss()(Tensor([[0, 1]]), np.array([1]))
    assert loss.data.dtype == np.float32
    assert loss.item() == pytest.approx(np.log1p(np.exp(-1.0)), rel=1e-6)
