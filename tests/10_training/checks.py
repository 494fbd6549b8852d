"""Graded checks of module 10 (training): what `tito grade` gives points for.

Each check calls the student's exported `tinytorch.core.training` (the `training` argument) on
data drawn from `rng`, seeded from the grading run's secret seed, and returns plain data: loss
values, their gradients through `backward()`, accuracies, and the weights after a few
deterministic training steps of a model whose weights the check sets. The grader runs the same
check on the reference solution and compares the two outside the sandbox. The Trainer checks
bring their own loss and metric, so they measure `train_step` even when the losses are not done.
Points: `checks:` in modules/source/10_training/module.yaml. Format: modules/README.md, "Graded checks".
"""

import numpy as np

from tinytorch.core.activations import ReLU
from tinytorch.core.layers import Dense
from tinytorch.core.networks import Sequential
from tinytorch.core.optimizers import SGD
from tinytorch.core.tensor import Tensor
from tito.grading.data import refuses  # a valid input's value, then a refusal naming words drawn from the seed


def _shape(rng, low, high, n):
    return tuple(int(v) for v in rng.integers(low, high + 1, n))


def _tracked(values):
    return Tensor(values, requires_grad=True)


def _grad(t):
    return None if t.grad is None else np.array(t.grad.data)


def _classes(rng):
    """Logits (N, C) float32 that require grad, and integer targets (N,); N >= 2, so that a sum is
    not a mean, and N != C, so that an argmax along the wrong axis has the wrong length."""
    N, C = int(rng.integers(2, 9)), int(rng.integers(2, 7))
    N += N == C
    return _tracked(rng.standard_normal((N, C)) * 3), rng.integers(0, C, N)


# --------------------------------------------------------------------------- MSELoss


def check_mse_loss(training, rng):
    """mean((prediction - target)²) as a scalar Tensor, and its gradient 2(ŷ - y)/n."""
    shape = _shape(rng, 2, 5, int(rng.integers(2, 4)))  # 2-D or more: a mean over one axis, a sum, differ
    prediction = _tracked(rng.standard_normal(shape))
    loss = training.MSELoss()(prediction, Tensor(rng.standard_normal(shape)))
    loss.backward()
    return {"loss": np.asarray(loss.data), "is_tensor": isinstance(loss, Tensor), "grad": _grad(prediction)}


def check_mse_loss_of_arrays(training, rng):
    """The APPROACH: arrays and lists are wrapped into Tensors."""
    target = rng.standard_normal(_shape(rng, 2, 5, 2))
    prediction = target + rng.standard_normal(target.shape)
    return np.asarray(training.MSELoss()(prediction, target.tolist()).data)


def check_mse_loss_rejects_different_shapes(training, rng):
    """The TODO: different shapes raise ValueError naming both shapes (no broadcasting)."""
    N = int(rng.integers(2, 7))
    prediction, target = rng.standard_normal((2, N, 1))
    return refuses(lambda: np.asarray(training.MSELoss()(Tensor(prediction), Tensor(target)).data),
                   lambda: training.MSELoss()(Tensor(np.zeros((N, 1))), Tensor(np.zeros(N))), (N, 1), (N,))


# --------------------------------------------------------------------------- CrossEntropyLoss


def check_cross_entropy(training, rng):
    """The mean negative log-probability of the targets: a scalar Tensor of the logits' dtype."""
    logits, targets = _classes(rng)
    loss = training.CrossEntropyLoss()(logits, targets)
    wide = training.CrossEntropyLoss()(Tensor(logits.data, dtype=np.float64), Tensor(targets))
    return {"loss": np.asarray(loss.data), "dtype": str(loss.data.dtype), "shape": loss.shape,
            "float64": np.asarray(wide.data), "float64_dtype": str(wide.data.dtype)}


def check_cross_entropy_gradient(training, rng):
    """backward() gives (softmax(z) - onehot(t)) / N."""
    logits, targets = _classes(rng)
    training.CrossEntropyLoss()(logits, targets).backward()
    return _grad(logits)


def check_cross_entropy_gradient_scaled(training, rng):
    """The APPROACH: the recorded rule multiplies by the upstream g (here the loss times a factor)."""
    logits, targets = _classes(rng)
    factor = float(rng.uniform(0.5, 3.0))
    (training.CrossEntropyLoss()(logits, targets) * factor).backward()
    return _grad(logits)


### BEGIN HIDDEN TESTS
def check_cross_entropy_large_logits(training, rng):
    """Stable for any logits (log-sum-exp): ±1000 give a finite loss and gradient."""
    logits, targets = _classes(rng)
    big = _tracked(np.sign(logits.data) * 1000 + logits.data)
    loss = training.CrossEntropyLoss()(big, targets)
    loss.backward()
    return {"loss": np.asarray(loss.data), "grad": _grad(big)}
### END HIDDEN TESTS


def check_cross_entropy_rejects_a_target_out_of_range(training, rng):
    """The APPROACH: `class_targets` refuses a target outside [0, C) (module.yaml: its words)."""
    logits, targets = _classes(rng)
    position, target = int(rng.integers(0, len(targets))), logits.shape[1] + int(rng.integers(0, 3))
    valid = targets.copy()
    targets[position] = target
    return refuses(lambda: np.asarray(training.CrossEntropyLoss()(logits, valid).data),
                   lambda: training.CrossEntropyLoss()(logits, targets), f"[0, {logits.shape[1]})",
                   f"got {target} at position {position}")


# --------------------------------------------------------------------------- accuracy


def check_accuracy(training, rng):
    """The fraction of rows whose largest logit is the target, for arrays and for Tensors."""
    batches = []
    for _ in range(4):  # one fraction of a small batch could be guessed; four together cannot
        logits, targets = _classes(rng)
        right = logits.data.argmax(axis=1)
        batches.append((logits.data, np.where(rng.random(len(targets)) < 0.5, right, targets)))
    return {"arrays": [training.accuracy(logits, targets) for logits, targets in batches],
            "tensors": [training.accuracy(Tensor(logits), Tensor(targets)) for logits, targets in batches]}


def check_accuracy_rejects_an_empty_batch(training, rng):
    """The APPROACH: an empty batch has no accuracy (ValueError)."""
    logits, targets = _classes(rng)
    return refuses(lambda: training.accuracy(logits.data, np.where(rng.random(len(targets)) < 0.5, 0, targets)),
                   lambda: training.accuracy(np.zeros((0, int(rng.integers(2, 6)))), np.zeros(0, dtype=np.int64)))


# --------------------------------------------------------------------------- Trainer.train_step


def _model(rng, n_in, hidden, n_out):
    """Dense → ReLU → Dense with weights from rng."""
    first, second = Dense(n_in, hidden), Dense(hidden, n_out)
    for layer in (first, second):
        layer.weight.data[...] = rng.standard_normal(layer.weight.shape) * 0.5
        layer.bias.data[...] = rng.standard_normal(layer.bias.shape) * 0.1
    return Sequential([first, ReLU(), second])


def _squared_error(output, target):
    """The checks' own loss, built from Tensor operations (autograd follows them)."""
    diff = output - target
    return (diff * diff).mean()


def _sign_agreement(output, target):
    """The checks' own metric: the fraction of outputs with the target's sign."""
    return float(np.mean(np.sign(output.data) == np.sign(target.data)))


def check_train_step(training, rng):
    """Steps of SGD with a given loss and metric: (loss, metric) of each step, the weights after."""
    n_in, hidden, n_out = _shape(rng, 1, 5, 3)
    model = _model(rng, n_in, hidden, n_out)
    trainer = training.Trainer(model, _squared_error, SGD(model.parameters(), lr=0.05, momentum=0.5),
                               metric=_sign_agreement)
    steps = []
    for _ in range(3):
        X = Tensor(rng.standard_normal((int(rng.integers(2, 7)), n_in)))
        steps.append(list(trainer.train_step(X, Tensor(rng.standard_normal((X.shape[0], n_out))))))
    return {"steps": steps, "weights": [np.array(p.data) for p in model.parameters()]}


def check_train_step_without_a_metric(training, rng):
    """metric=None: the step returns (loss, None)."""
    n_in, hidden, n_out = _shape(rng, 1, 5, 3)
    model = _model(rng, n_in, hidden, n_out)
    trainer = training.Trainer(model, _squared_error, SGD(model.parameters(), lr=0.1), metric=None)
    X = Tensor(rng.standard_normal((4, n_in)))
    step = trainer.train_step(X, Tensor(rng.standard_normal((4, n_out))))
    return {"step": list(step), "weights": [np.array(p.data) for p in model.parameters()]}


def check_train_step_with_cross_entropy(training, rng):
    """The module's pieces together: CrossEntropyLoss, accuracy (the default metric), SGD."""
    n_in, hidden, n_out = _shape(rng, 2, 5, 3)
    model = _model(rng, n_in, hidden, n_out)
    trainer = training.Trainer(model, training.CrossEntropyLoss(), SGD(model.parameters(), lr=0.1))
    steps = []
    for _ in range(2):
        X = Tensor(rng.standard_normal((6, n_in)))
        steps.append(list(trainer.train_step(X, rng.integers(0, n_out, 6))))
    return {"steps": steps, "weights": [np.array(p.data) for p in model.parameters()]}

