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
# # Module 10: Training
#
# Everything is in place: layers that compute (modules 04-06), batches of data (07), gradients
# (08) and updates (09). Training is the loop that ties them together, and it needs three more
# pieces:
#
# 1. a **loss**: one number saying how wrong the model is. `MSELoss` for numbers,
#    `CrossEntropyLoss` for classes (stable for any logits, through log-sum-exp);
# 2. a **metric** people understand: `accuracy`, the fraction of correct classes;
# 3. the **loop**: `Trainer.fit` runs epochs of `zero_grad → forward → loss → backward → step`,
#    shows a progress bar with the running loss and accuracy, and `evaluate` measures a model
#    on data it never trained on.
#
# ```
#   for each epoch:                          ┌──────────────── one step ────────────────┐
#     for X, y in DataLoader(train):         │ logits = model(X)       forward          │
#        ─────────────────────────────►      │ loss = CrossEntropy(logits, y)           │
#                                            │ optimizer.zero_grad(); loss.backward()   │
#                                            │ optimizer.step()        update           │
#                                            └──────────────────────────────────────────┘
#     evaluate(test) under no_grad()  ──►  test accuracy
# ```
#
# The milestone `tito milestone cnn` uses exactly this module to train a CNN on handwritten
# digits to over 98% test accuracy.

# %%
#| default_exp core.training

# %%
#| export
import time

import numpy as np

from tinytorch.core.autograd import no_grad, record
from tinytorch.core.tensor import Tensor

# %% [markdown]
# ## Step 1: Mean squared error
#
# For a prediction `ŷ` and a target `y` of the same shape, `MSE = mean((ŷ - y)²)`. Squaring
# makes every error count positively and large errors count a lot; the mean makes the loss
# independent of the batch size. Its gradient, `2(ŷ - y)/n`, is what autograd computes through
# the tensor operations: no rule of its own needed.
#
# Shapes must match exactly. `(N, 1)` predictions against `(N,)` targets would *broadcast*
# to an `(N, N)` matrix of every prediction against every target: a silent, classic bug, so it
# is refused with a ValueError.

# %%
#| export
def _as_tensor(value):
    return value if isinstance(value, Tensor) else Tensor(value)


class MSELoss:
    """Mean squared error: ``mean((prediction - target)²)``, (any shape) × (same shape) -> scalar."""

    def __call__(self, prediction, target):
        return self.forward(prediction, target)

    def forward(self, prediction, target):
        """The mean of the squared differences, a scalar Tensor that autograd can follow.

        TODO: Check the shapes, then compute the mean squared difference with Tensor operations.

        APPROACH:
        1. Wrap non-Tensors with ``Tensor(...)``.
        2. Different shapes: raise ``ValueError(f"MSELoss needs predictions and targets of the
           same shape, got {prediction.shape} and {target.shape}; reshape one of them
           (broadcasting would compare every prediction with every target).")``.
        3. ``diff = prediction - target``; return ``(diff * diff).mean()``.

        EXAMPLE:
        >>> MSELoss()(Tensor([1.0, 2.0]), Tensor([1.0, 4.0]))
        Tensor(2., shape=(), dtype=float32)

        HINTS:
        - Tensor operations record the graph, so ``backward()`` works on the result for free.
        """
        ### BEGIN SOLUTION
        prediction, target = _as_tensor(prediction), _as_tensor(target)
        if prediction.shape != target.shape:
            raise ValueError(
                f"MSELoss needs predictions and targets of the same shape, got {prediction.shape} "
                f"and {target.shape}; reshape one of them (broadcasting would compare every "
                f"prediction with every target)."
            )
        diff = prediction - target
        return (diff * diff).mean()
        ### END SOLUTION

    def __repr__(self):
        return "MSELoss()"


# %%
from tinytorch.utils.feedback import info, passed, progress, unit_test


def test_unit_mse_loss():
    unit_test("MSELoss")
    pred = Tensor([[1.0], [2.0], [3.0]], requires_grad=True)
    loss = MSELoss()(pred, Tensor([[1.0], [0.0], [6.0]]))
    assert abs(loss.item() - (0 + 4 + 9) / 3) < 1e-6
    loss.backward()
    np.testing.assert_allclose(pred.grad.data, [[0.0], [4 / 3], [-2.0]], rtol=1e-6)
    passed("loss (0 + 4 + 9) / 3 and gradient 2(ŷ - y)/n")
    try:
        MSELoss()(Tensor(np.zeros((3, 1))), Tensor(np.zeros(3)))
    except ValueError as error:
        assert "(3, 1)" in str(error) and "(3,)" in str(error)
        passed("(3, 1) against (3,) is refused instead of broadcasting")
    else:
        raise AssertionError("MSELoss should refuse different shapes")
    progress("MSELoss")


if __name__ == "__main__":
    test_unit_mse_loss()

# %% [markdown]
# ## Step 2: Cross-entropy, stable
#
# ### The concept
#
# A classifier outputs one **logit** `zⱼ` per class. Softmax turns them into probabilities
# `pⱼ = e^{zⱼ} / Σₖ e^{zₖ}`, and the loss of an example with true class `t` is the negative log
# probability of the truth: `-log p_t`. It is 0 for a confident right answer and grows without
# bound for a confident wrong one. The loss of a batch is the mean over its examples.
#
# ### Stability: log-sum-exp
#
# `e^{1000}` overflows float32 (max ≈ 3.4·10³⁸ ≈ e^{88.7}). But
# `-log p_t = log Σₖ e^{zₖ} - z_t`, and subtracting the row maximum `m` changes nothing:
#
# ```
#   log Σₖ e^{zₖ} = m + log Σₖ e^{zₖ - m}      every exponent ≤ 0: no overflow, and the
#                                              largest term is e⁰ = 1: no log(0) either
# ```
#
# ### The gradient
#
# Computed as one fused rule instead of through softmax, log and indexing, the gradient is
# remarkably simple: `∂loss/∂z = (softmax(z) - onehot(t)) / N`. The predicted probabilities
# minus the truth: the model is pushed up on the right class, down on the others, in proportion
# to its mistakes.
#
# ```
#   logits   z = [2.0, 1.0, 0.1]   softmax p = [0.66, 0.24, 0.10]   target t = 0
#   loss = -log 0.66 = 0.42        ∂loss/∂z = [0.66 - 1, 0.24, 0.10] = [-0.34, 0.24, 0.10]
# ```
#
# ### The cost
#
# `N·C` exponentials and one pass to subtract the one-hot: negligible next to the network. The
# backward reuses the log-probabilities of the forward, so nothing is computed twice.

# %%
#| export
def class_targets(targets, logits_shape):
    """Integer class indices (N,) checked against logits (N, C): ValueError on any mismatch."""
    t = targets.data if isinstance(targets, Tensor) else np.asarray(targets)
    if len(logits_shape) != 2:
        raise ValueError(f"CrossEntropyLoss expects logits of shape (N, C), got shape {tuple(logits_shape)}.")
    n, classes = logits_shape
    if t.ndim != 1 or t.dtype.kind not in "iu":
        raise ValueError(
            f"CrossEntropyLoss expects targets of shape (N,) holding integer class indices, "
            f"got shape {t.shape} of dtype {t.dtype}."
        )
    if len(t) != n:
        raise ValueError(
            f"CrossEntropyLoss got {n} rows of logits but {len(t)} targets: the batch sizes "
            f"must match."
        )
    bad = np.flatnonzero((t < 0) | (t >= classes))
    if bad.size:
        raise ValueError(
            f"CrossEntropyLoss targets must be class indices in [0, {classes}), got {t[bad[0]]} "
            f"at position {bad[0]}."
        )
    return t.astype(np.int64, copy=False)


def log_softmax(z):
    """Row-wise log-probabilities, stable: (N, C) -> (N, C), ``z - max - log Σ exp(z - max)``."""
    shifted = z - z.max(axis=1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))


class CrossEntropyLoss:
    """Softmax cross-entropy of logits (N, C) and integer class targets (N,) -> scalar (the mean).

    Stable for any logits (log-sum-exp); its gradient is (softmax(z) - onehot(t)) / N.
    """

    def __call__(self, logits, targets):
        return self.forward(logits, targets)

    def forward(self, logits, targets):
        """The mean negative log-probability of the target classes, as a scalar Tensor.

        TODO: Validate, compute the loss with log-sum-exp, and record its gradient rule.

        APPROACH:
        1. ``logits = Tensor(...)`` if needed; ``t = class_targets(targets, logits.shape)``.
        2. ``log_probs = log_softmax(logits.data)``; loss = ``-log_probs[arange(N), t].mean()``.
        3. ``out = Tensor(loss, dtype=logits.dtype)``, or float32 for integer logits (a loss is
           a fraction: an integer dtype would truncate it).
        4. backward(g): ``probs = exp(log_probs)``, subtract 1 at ``[arange(N), t]``,
           multiply by ``g / N``; return it as a 1-tuple.
        5. ``return record(out, (logits,), backward, "CrossEntropyBackward")``.

        EXAMPLE:
        >>> CrossEntropyLoss()(Tensor([[0.0, 0.0]]), np.array([1]))   # log 2
        Tensor(0.6931472, shape=(), dtype=float32)

        HINTS:
        - ``record`` (module 08) attaches the node only when the logits require grad.
        """
        ### BEGIN SOLUTION
        logits = _as_tensor(logits)
        t = class_targets(targets, logits.shape)
        n = len(t)
        rows = np.arange(n)
        log_probs = log_softmax(logits.data)
        dtype = logits.dtype if logits.dtype.kind == "f" else np.float32
        out = Tensor(-log_probs[rows, t].mean(), dtype=dtype)

        def backward(g):
            grad = np.exp(log_probs)
            grad[rows, t] -= 1
            grad *= g / n
            return (grad,)
        return record(out, (logits,), backward, "CrossEntropyBackward")
        ### END SOLUTION

    def __repr__(self):
        return "CrossEntropyLoss()"


# %%
def test_unit_cross_entropy():
    unit_test("CrossEntropyLoss")
    loss = CrossEntropyLoss()(Tensor([[0.0, 0.0], [0.0, 0.0]]), np.array([0, 1]))
    assert abs(loss.item() - np.log(2)) < 1e-6
    passed("uniform logits over 2 classes: loss log 2")
    z = Tensor([[2.0, 1.0, 0.1]], requires_grad=True)
    CrossEntropyLoss()(z, np.array([0])).backward()
    p = np.exp([2.0, 1.0, 0.1]) / np.exp([2.0, 1.0, 0.1]).sum()
    np.testing.assert_allclose(z.grad.data, [p - [1, 0, 0]], rtol=1e-5)
    passed("gradient = softmax - onehot")
    huge = CrossEntropyLoss()(Tensor([[1000.0, -1000.0]]), np.array([1]))
    assert np.isfinite(huge.item()) and abs(huge.item() - 2000.0) < 1e-3
    passed("logits of ±1000: finite loss (2000), thanks to log-sum-exp")
    for logits, targets, text in [(np.zeros((2, 3)), [0, 3], "[0, 3)"), (np.zeros((2, 3)), [0], "2 rows")]:
        try:
            CrossEntropyLoss()(Tensor(logits), np.array(targets))
        except ValueError as error:
            assert text in str(error)
        else:
            raise AssertionError(f"expected a ValueError mentioning {text}")
    passed("out-of-range targets and mismatched batch sizes are ValueErrors")
    progress("CrossEntropyLoss")


if __name__ == "__main__":
    test_unit_cross_entropy()

# %% [markdown]
# ## Step 3: Accuracy
#
# The loss guides training; people read **accuracy**: the fraction of examples whose highest
# logit is the true class. It has no useful gradient (a tiny change of the weights almost never
# changes an argmax), which is exactly why training minimises the cross-entropy instead.

# %%
#| export
def accuracy(logits, targets):
    """Fraction of rows whose largest logit is the target class: (N, C), (N,) -> float in [0, 1].

    TODO: Compare the argmax of each row with the target.

    APPROACH:
    1. Arrays of both (``.data`` of Tensors); ``class_targets`` checks the targets.
    2. An empty batch has no accuracy: raise ``ValueError("accuracy of an empty batch is
       undefined.")``.
    3. ``predictions = logits.argmax(axis=1)``; return the mean of ``predictions == targets``.

    EXAMPLE:
    >>> accuracy(np.array([[0.1, 0.9], [0.8, 0.2]]), np.array([1, 1]))
    0.5

    HINTS:
    - ``np.mean`` of an empty array is nan (with a warning), not an error: check first.
    """
    ### BEGIN SOLUTION
    z = logits.data if isinstance(logits, Tensor) else np.asarray(logits)
    t = class_targets(targets, z.shape)
    if len(t) == 0:
        raise ValueError("accuracy of an empty batch is undefined.")
    return float(np.mean(z.argmax(axis=1) == t))
    ### END SOLUTION


# %%
def test_unit_accuracy():
    unit_test("accuracy")
    assert accuracy(np.array([[0.1, 0.9], [0.8, 0.2], [0.3, 0.7]]), np.array([1, 1, 1])) == 2 / 3
    assert accuracy(Tensor([[5.0, 1.0]]), Tensor([0])) == 1.0
    passed("argmax of each row against the target")
    progress("accuracy")


if __name__ == "__main__":
    test_unit_accuracy()

# %% [markdown]
# ## Step 4: The training loop
#
# ### The concept
#
# One **epoch** is one pass over the training data in mini-batches. Each batch is a step: the
# forward pass records the graph, the loss is a scalar at its end, `backward()` fills every
# `p.grad`, and the optimizer moves the parameters. The `Trainer` keeps the running loss and
# accuracy of the epoch (weighted by batch size, so a small last batch counts for what it is)
# and shows them on a Rich progress bar:
#
# ```
#   epoch  3/20 ━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━ 45/45 loss 0.0812 acc 0.9749 val acc 0.9722 0:00:00
# ```
#
# `evaluate` runs the model on other data under `no_grad()`: nothing is recorded, so it is
# faster and uses no memory for the graph. A model is only as good as its accuracy on data it
# did **not** train on.
#
# A **learning-rate schedule** changes the optimizer's `lr` before each epoch. `cosine_schedule`
# starts at the full rate and glides to 0 along half a cosine: big steps while far from a
# minimum, small ones to settle into it at the end.
#
# ### The cost
#
# One step costs a forward (recorded), a backward (≈ 2 forwards) and an update (a few
# operations per parameter): about 3 forwards per batch. The graph of one batch lives only
# until the next `zero_grad` / forward: memory stays flat over the epoch.

# %%
#| export
def cosine_schedule(base_lr, epochs, min_lr=0.0):
    """lr for epoch e (0-based): min_lr + (base_lr - min_lr)·(1 + cos(π·e/epochs))/2."""
    def lr_at(epoch):
        return min_lr + (base_lr - min_lr) * 0.5 * (1 + np.cos(np.pi * epoch / epochs))
    return lr_at


def _progress(console):
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    return Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
        TextColumn("{task.fields[stats]}"), TimeElapsedColumn(), console=console,
    )


def _stats(row):
    parts = [f"loss {row['loss']:.4f}"]
    if row.get("accuracy") is not None:
        parts.append(f"acc {row['accuracy']:.4f}")
    if row.get("val_accuracy") is not None:
        parts.append(f"val acc {row['val_accuracy']:.4f}")
    elif row.get("val_loss") is not None:
        parts.append(f"val loss {row['val_loss']:.4f}")
    return " ".join(parts)


class Trainer:
    """Train ``model`` with ``loss_fn`` and ``optimizer``; ``metric`` (default accuracy, or None)
    is reported next to the loss.

    >>> from tinytorch.core.dataloader import DataLoader, TensorDataset
    >>> from tinytorch.core.layers import Dense
    >>> from tinytorch.core.optimizers import Adam
    >>> X = np.random.default_rng(0).normal(size=(64, 2)).astype(np.float32)
    >>> y = (X[:, 0] > X[:, 1]).astype(np.int64)     # class 1 where the first coordinate is larger
    >>> np.random.seed(0); model = Dense(2, 2)
    >>> trainer = Trainer(model, CrossEntropyLoss(), Adam(model.parameters(), lr=0.1))
    >>> history = trainer.fit(DataLoader(TensorDataset(X, y), batch_size=16), epochs=20, show=False)
    >>> len(history), trainer.evaluate(DataLoader(TensorDataset(X, y), batch_size=64))["accuracy"] > 0.9
    (20, True)
    """

    def __init__(self, model, loss_fn, optimizer, metric=accuracy, console=None):
        self.model = model
        self.loss_fn = loss_fn
        self.optimizer = optimizer
        self.metric = metric
        self.console = console
        self.history = []

    def train_step(self, X, y):
        """One optimisation step on a batch; returns (loss value, metric value or None).

        TODO: forward, loss, zero_grad, backward, step.

        APPROACH:
        1. ``output = self.model(X)``; ``loss = self.loss_fn(output, y)``.
        2. ``self.optimizer.zero_grad()``; ``loss.backward()``; ``self.optimizer.step()``.
        3. Return ``loss.item()`` and ``self.metric(output, y)`` (None without a metric).

        EXAMPLE:
        >>> from tinytorch.core.layers import Dense
        >>> from tinytorch.core.optimizers import SGD
        >>> model = Dense(2, 3); model.weight.data[...] = 0.0; model.bias.data[...] = 0.0
        >>> trainer = Trainer(model, CrossEntropyLoss(), SGD(model.parameters(), lr=0.1))
        >>> loss, score = trainer.train_step(Tensor([[1.0, 2.0], [3.0, 4.0]]), np.array([0, 2]))
        >>> round(loss, 4), score       # loss log 3 (all classes equal), argmax 0: one of two right
        (1.0986, 0.5)

        HINTS:
        - Call the metric on the output computed *before* the step: that is what the loss saw.
        """
        ### BEGIN SOLUTION
        output = self.model(X)
        loss = self.loss_fn(output, y)
        self.optimizer.zero_grad()
        loss.backward()
        self.optimizer.step()
        score = self.metric(output, y) if self.metric else None
        return loss.item(), score
        ### END SOLUTION

    def train_epoch(self, loader, on_batch=None):
        """One pass over ``loader``; returns {"loss", "accuracy"} averaged over the examples."""
        total = {"loss": 0.0, "metric": 0.0, "count": 0}
        for X, y in loader:
            loss, score = self.train_step(X, y)
            count = len(X)
            total["loss"] += loss * count
            total["metric"] += (score or 0.0) * count
            total["count"] += count
            if on_batch:
                on_batch(self._averages(total))
        return self._averages(total)

    def _averages(self, total):
        count = max(total["count"], 1)
        return {"loss": total["loss"] / count,
                "accuracy": total["metric"] / count if self.metric else None}

    def evaluate(self, loader):
        """Loss and metric of the model on ``loader``, under no_grad(): {"loss", "accuracy"}."""
        total = {"loss": 0.0, "metric": 0.0, "count": 0}
        with no_grad():
            for X, y in loader:
                output = self.model(X)
                count = len(X)
                total["loss"] += self.loss_fn(output, y).item() * count
                total["metric"] += (self.metric(output, y) if self.metric else 0.0) * count
                total["count"] += count
        return self._averages(total)

    def fit(self, train_loader, epochs, val_loader=None, lr_schedule=None, show=True):
        """Train for ``epochs`` epochs; returns the history, one dict per epoch:
        {"epoch", "lr", "loss", "accuracy", "val_loss", "val_accuracy", "seconds"}.

        ``lr_schedule(epoch) -> lr`` (0-based epoch) sets the learning rate before each epoch;
        ``show`` draws a Rich progress bar per epoch with the running loss and accuracy.
        """
        if isinstance(epochs, bool) or not isinstance(epochs, (int, np.integer)) or epochs < 1:
            raise ValueError(f"epochs must be a positive integer, got {epochs!r}.")
        width = len(str(epochs))
        for epoch in range(epochs):
            if lr_schedule is not None:
                self.optimizer.lr = float(lr_schedule(epoch))
            start = time.perf_counter()
            label = f"epoch {epoch + 1:>{width}}/{epochs}"
            if show:
                row = self._fit_one_shown(label, train_loader, val_loader)
            else:
                row = self._fit_one(train_loader, val_loader)
            row.update(epoch=epoch + 1, lr=self.optimizer.lr, seconds=time.perf_counter() - start)
            self.history.append(row)
        return self.history

    def _fit_one(self, train_loader, val_loader, on_batch=None):
        row = self.train_epoch(train_loader, on_batch)
        val = self.evaluate(val_loader) if val_loader is not None else {"loss": None, "accuracy": None}
        row.update(val_loss=val["loss"], val_accuracy=val["accuracy"])
        return row

    def _fit_one_shown(self, label, train_loader, val_loader):
        with _progress(self.console) as progress_bar:  # one bar per epoch, left on screen
            task = progress_bar.add_task(label, total=len(train_loader), stats="")
            row = self._fit_one(
                train_loader, val_loader,
                on_batch=lambda stats: progress_bar.update(task, advance=1, stats=_stats(stats)),
            )
            progress_bar.update(task, stats=_stats(row))
        return row


def fit(model, train_loader, loss_fn, optimizer, epochs, val_loader=None, lr_schedule=None,
        show=True, metric=accuracy):
    """Train ``model`` (a convenience around ``Trainer``); returns the per-epoch history."""
    trainer = Trainer(model, loss_fn, optimizer, metric=metric)
    return trainer.fit(train_loader, epochs, val_loader=val_loader, lr_schedule=lr_schedule, show=show)


# %%
def test_unit_trainer():
    unit_test("Trainer")
    from tinytorch.core.activations import ReLU
    from tinytorch.core.dataloader import DataLoader, TensorDataset
    from tinytorch.core.layers import Dense
    from tinytorch.core.networks import Sequential
    from tinytorch.core.optimizers import Adam

    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 2)).astype(np.float32)
    y = (X[:, 0] * X[:, 1] > 0).astype(np.int64)  # XOR of the signs: not linearly separable
    np.random.seed(0)
    model = Sequential([Dense(2, 16), ReLU(), Dense(16, 2)])
    trainer = Trainer(model, CrossEntropyLoss(), Adam(model.parameters(), lr=0.05))
    loader = DataLoader(TensorDataset(X, y), batch_size=32, shuffle=True, seed=0)
    history = trainer.fit(loader, epochs=30, show=False)
    assert len(history) == 30 and history[-1]["loss"] < history[0]["loss"] / 3
    passed(f"loss {history[0]['loss']:.3f} → {history[-1]['loss']:.3f} in 30 epochs")
    assert trainer.evaluate(DataLoader(TensorDataset(X, y), batch_size=64))["accuracy"] > 0.9
    passed("a small MLP learns XOR of signs: accuracy > 0.9")
    progress("Trainer")


if __name__ == "__main__":
    test_unit_trainer()

# %% [markdown]
# ## Watching it train
#
# The same problem with the progress bars on: one line per epoch with the running loss and
# accuracy, plus the accuracy on held-out points.

# %%
if __name__ == "__main__":
    from tinytorch.core.activations import ReLU
    from tinytorch.core.dataloader import DataLoader, TensorDataset, train_test_split
    from tinytorch.core.layers import Dense
    from tinytorch.core.networks import Sequential
    from tinytorch.core.optimizers import Adam

    rng = np.random.default_rng(1)
    X = rng.normal(size=(600, 2)).astype(np.float32)
    y = (X[:, 0] * X[:, 1] > 0).astype(np.int64)
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, seed=0)
    np.random.seed(1)
    model = Sequential([Dense(2, 32), ReLU(), Dense(32, 2)])
    trainer = Trainer(model, CrossEntropyLoss(), Adam(model.parameters(), lr=0.02))
    trainer.fit(DataLoader(TensorDataset(X_train, y_train), batch_size=32, shuffle=True, seed=0),
                epochs=8, val_loader=DataLoader(TensorDataset(X_test, y_test), batch_size=128),
                lr_schedule=cosine_schedule(0.02, 8))
    info(f"test accuracy: {trainer.evaluate(DataLoader(TensorDataset(X_test, y_test)))['accuracy']:.4f}")

# %% [markdown]
# ## Summary
#
# * `MSELoss` = `mean((ŷ - y)²)` through tensor operations; shapes must match.
# * `CrossEntropyLoss` = mean of `log Σ e^{z} - z_t`, computed with log-sum-exp so that any
#   logits are safe; gradient `(softmax - onehot)/N`; bad targets are ValueErrors.
# * `accuracy` is what people read; the loss is what the gradient follows.
# * `Trainer.fit` = epochs of `zero_grad → forward → loss → backward → step` with a progress
#   bar; `evaluate` under `no_grad()`; `cosine_schedule` anneals the learning rate.
#
# Next: `tito milestone cnn` trains the LeNet-style CNN of module 06 on real handwritten digits.
