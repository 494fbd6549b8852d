"""The Trainer: a training step, epochs, evaluation, schedules, progress output."""

import io

import numpy as np
import pytest

from tinytorch.core.activations import ReLU
from tinytorch.core.dataloader import DataLoader, TensorDataset
from tinytorch.core.layers import Dense
from tinytorch.core.networks import Sequential
from tinytorch.core.optimizers import SGD, Adam
from tinytorch.core.tensor import Tensor
from tinytorch.core.training import (
    CrossEntropyLoss, MSELoss, Trainer, accuracy, cosine_schedule, fit,
)


def blobs(n=120, seed=0):
    """Three well-separated Gaussian clusters in 2-D: (n, 2) float32, (n,) int64."""
    rng = np.random.default_rng(seed)
    centres = np.array([[0.0, 4.0], [4.0, -2.0], [-4.0, -2.0]])
    y = rng.integers(0, 3, size=n)
    return (centres[y] + rng.normal(size=(n, 2))).astype(np.float32), y


def make_model(seed=0):
    np.random.seed(seed)
    return Sequential([Dense(2, 16), ReLU(), Dense(16, 3)])


def test_train_step_equals_a_manual_step():
    X, y = blobs(16)
    a, b = make_model(), make_model()
    trainer = Trainer(a, CrossEntropyLoss(), SGD(a.parameters(), lr=0.1))
    loss, score = trainer.train_step(Tensor(X), y)
    out = b(Tensor(X))
    expected_loss = CrossEntropyLoss()(out, y)
    expected_loss.backward()
    for p in b.parameters():
        p.data -= 0.1 * p.grad.data
    assert loss == pytest.approx(expected_loss.item(), rel=1e-6)
    assert score == accuracy(out, y)
    for pa, pb in zip(a.parameters(), b.parameters()):
        np.testing.assert_allclose(pa.data, pb.data, rtol=1e-6)


def test_fit_learns_and_records_history():
    X, y = blobs()
    model = make_model()
    trainer = Trainer(model, CrossEntropyLoss(), Adam(model.parameters(), lr=0.05))
    loader = DataLoader(TensorDataset(X, y), batch_size=32, shuffle=True, seed=0)
    history = trainer.fit(loader, epochs=5, val_loader=DataLoader(TensorDataset(X, y), 64), show=False)
    assert [row["epoch"] for row in history] == [1, 2, 3, 4, 5]
    assert set(history[0]) == {"epoch", "lr", "loss", "accuracy", "val_loss", "val_accuracy", "seconds"}
    assert history[-1]["loss"] < history[0]["loss"]
    assert history[-1]["val_accuracy"] > 0.95
    final = trainer.evaluate(DataLoader(TensorDataset(X, y), batch_size=50))
    assert final["accuracy"] == pytest.approx(history[-1]["val_accuracy"])


def test_epoch_averages_weight_the_last_partial_batch():
    X, y = blobs(10)
    model = make_model()
    trainer = Trainer(model, CrossEntropyLoss(), SGD(model.parameters(), lr=0.0))
    row = trainer.train_epoch(DataLoader(TensorDataset(X, y), batch_size=4))  # 4 + 4 + 2
    expected = CrossEntropyLoss()(model(Tensor(X)), y).item()  # lr 0: the model never changes
    assert row["loss"] == pytest.approx(expected, rel=1e-5)


def test_evaluate_records_no_graph_and_changes_nothing():
    X, y = blobs(20)
    model = make_model()
    before = [p.data.copy() for p in model.parameters()]
    result = Trainer(model, CrossEntropyLoss(), SGD(model.parameters(), lr=1.0)).evaluate(
        DataLoader(TensorDataset(X, y), batch_size=8))
    assert all(p.grad is None for p in model.parameters())
    assert all(np.array_equal(a, p.data) for a, p in zip(before, model.parameters()))
    assert result["accuracy"] == accuracy(model(Tensor(X)), y)


def test_regression_without_metric():
    rng = np.random.default_rng(3)
    X = rng.normal(size=(64, 1)).astype(np.float32)
    Y = (2 * X - 1).astype(np.float32)
    np.random.seed(0)
    line = Dense(1, 1)
    history = fit(line, DataLoader(TensorDataset(X, Y), batch_size=16), MSELoss(),
                  SGD(line.parameters(), lr=0.1), epochs=40, show=False, metric=None)
    assert history[-1]["accuracy"] is None and history[-1]["loss"] < 1e-4
    np.testing.assert_allclose([line.weight.data.item(), line.bias.data.item()], [2, -1], atol=1e-2)


def test_cosine_schedule_values_and_fit_applies_it():
    lr = cosine_schedule(0.1, 4)
    np.testing.assert_allclose([lr(e) for e in range(4)], [0.1, 0.1 * (1 + np.sqrt(0.5)) / 2, 0.05,
                                                          0.1 * (1 - np.sqrt(0.5)) / 2])
    X, y = blobs(8)
    model = make_model()
    trainer = Trainer(model, CrossEntropyLoss(), SGD(model.parameters(), lr=1.0))
    history = trainer.fit(DataLoader(TensorDataset(X, y), batch_size=8), 4, lr_schedule=lr, show=False)
    np.testing.assert_allclose([row["lr"] for row in history], [lr(e) for e in range(4)])


def test_progress_bar_shows_each_epoch_with_loss_and_accuracy():
    from rich.console import Console

    out = io.StringIO()
    X, y = blobs(40)
    model = make_model()
    trainer = Trainer(model, CrossEntropyLoss(), Adam(model.parameters(), lr=0.01),
                      console=Console(file=out, width=120, force_terminal=False))  # as a file, even under FORCE_COLOR
    trainer.fit(DataLoader(TensorDataset(X, y), batch_size=16), epochs=2,
                val_loader=DataLoader(TensorDataset(X, y), batch_size=40))
    lines = [line for line in out.getvalue().splitlines() if line.strip()]
    assert len(lines) == 2
    for number, line in enumerate(lines, start=1):
        assert line.startswith(f"epoch {number}/2") and "3/3" in line
        assert "loss " in line and "acc " in line and "val acc " in line


@pytest.mark.parametrize("epochs", [0, -1, 2.5, True])
def test_bad_epochs(epochs):
    model = make_model()
    trainer = Trainer(model, CrossEntropyLoss(), SGD(model.parameters(), lr=0.1))
    with pytest.raises(ValueError, match="epochs must be a positive integer"):
        trainer.fit([], epochs, show=False)
