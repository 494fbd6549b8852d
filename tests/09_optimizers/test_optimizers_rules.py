"""SGD and Adam: hand-computed steps, PyTorch's numbers, and clear errors."""

import numpy as np
import pytest

from tinytorch.core.optimizers import SGD, Adam, Optimizer
from tinytorch.core.tensor import Tensor


def param(values):
    return Tensor(values, requires_grad=True)


def run(opt, p, grads):
    for g in grads:
        p.grad = Tensor(g)
        opt.step()
    return p.data


# ------------------------------------------------------------------ SGD
def test_sgd_plain_steps():
    p = param([1.0, -1.0])
    np.testing.assert_allclose(run(SGD([p], lr=0.5), p, [[0.2, -0.4], [0.2, -0.4]]),
                               [0.8, -0.6], rtol=1e-6)


def test_sgd_momentum_hand_computed():
    p = param([0.0])
    # v: 1 -> 0.5·1 + 2 = 2.5 -> 0.5·2.5 - 1 = 0.25; p = -0.1·(1 + 2.5 + 0.25)
    np.testing.assert_allclose(run(SGD([p], lr=0.1, momentum=0.5), p, [[1.0], [2.0], [-1.0]]),
                               [-0.375], rtol=1e-6)


def test_sgd_weight_decay_and_momentum_hand_computed():
    p = param([1.0])
    opt = SGD([p], lr=0.1, momentum=0.9, weight_decay=0.5)
    p.grad = Tensor([1.0])
    opt.step()  # g = 1 + 0.5 = 1.5, v = 1.5, p = 1 - 0.15 = 0.85
    np.testing.assert_allclose(p.data, [0.85], rtol=1e-6)
    opt.step()  # g = 1 + 0.425 = 1.425, v = 1.35 + 1.425 = 2.775, p = 0.85 - 0.2775
    np.testing.assert_allclose(p.data, [0.5725], rtol=1e-6)


def test_step_is_in_place_and_keeps_dtype():
    p = param(np.ones((2, 2)))
    array = p.data
    p.grad = Tensor(np.ones((2, 2)))
    SGD([p], lr=0.1, momentum=0.9).step()
    assert p.data is array and p.data.dtype == np.float32


def test_parameters_without_gradient_are_skipped():
    a, b = param([1.0]), param([2.0])
    a.grad = Tensor([1.0])
    for opt in (SGD([a, b], lr=0.1, momentum=0.9), Adam([a, b], lr=0.1)):
        opt.step()
    np.testing.assert_allclose(b.data, [2.0])
    assert a.data[0] < 0.9


def test_zero_grad_sets_none():
    a, b = param([1.0]), param([2.0])
    a.grad, b.grad = Tensor([1.0]), Tensor([3.0])
    Adam([a, b]).zero_grad()
    assert a.grad is None and b.grad is None


# ------------------------------------------------------------------ Adam
def test_adam_first_step_is_lr_times_sign():
    p = param([0.0, 0.0, 0.0])
    run(Adam([p], lr=0.01), p, [[1e3, -1e-3, 2.0]])
    np.testing.assert_allclose(p.data, [-0.01, 0.01, -0.01], rtol=1e-4)


def test_adam_three_steps_hand_computed():
    p = param([1.0])
    grads = [[0.5], [-1.0], [2.0]]
    run(Adam([p], lr=0.1, betas=(0.8, 0.9), eps=1e-6), p, grads)
    value, m, v = 1.0, 0.0, 0.0
    for t, (g,) in enumerate(grads, start=1):
        m = 0.8 * m + 0.2 * g
        v = 0.9 * v + 0.1 * g * g
        value -= 0.1 * (m / (1 - 0.8 ** t)) / (np.sqrt(v / (1 - 0.9 ** t)) + 1e-6)
    np.testing.assert_allclose(p.data, [value], rtol=1e-5)


def test_adam_weight_decay_adds_to_gradient():
    p, q = param([2.0]), param([2.0])
    run(Adam([p], lr=0.1, weight_decay=0.5), p, [[1.0], [1.0]])
    # effective gradients: 1 + 0.5·2.0 = 2.0, then (p = 1.9 after a first step of lr) 1 + 0.5·1.9
    run(Adam([q], lr=0.1), q, [[2.0], [1.95]])
    np.testing.assert_allclose(p.data, q.data, rtol=1e-5)


# ------------------------------------------------------------------ against PyTorch
@pytest.mark.parametrize("name,kwargs", [
    ("SGD", {"lr": 0.05}),
    ("SGD", {"lr": 0.05, "momentum": 0.9, "weight_decay": 0.01}),
    ("Adam", {"lr": 0.01}),
    ("Adam", {"lr": 0.02, "betas": (0.8, 0.95), "eps": 1e-6, "weight_decay": 0.1}),
])
def test_matches_torch_on_a_quadratic(name, kwargs, torch):
    start = np.array([[1.0, -2.0], [0.5, 3.0]], dtype=np.float32)
    target = np.array([[0.0, 1.0], [2.0, -1.0]], dtype=np.float32)
    p = param(start)
    tp = torch.tensor(start, requires_grad=True)
    ours = {"SGD": SGD, "Adam": Adam}[name]([p], **kwargs)
    theirs = getattr(torch.optim, name)([tp], **kwargs)
    for _ in range(10):
        ours.zero_grad()
        ((p - Tensor(target)) ** 2).sum().backward()
        ours.step()
        theirs.zero_grad()
        ((tp - torch.tensor(target)) ** 2).sum().backward()
        theirs.step()
    np.testing.assert_allclose(p.data, tp.detach().numpy(), rtol=1e-5, atol=1e-6)


# ------------------------------------------------------------------ bad settings
@pytest.mark.parametrize("make,match", [
    (lambda p: SGD(p, lr=-0.1), r"lr must be >= 0.*-0.1"),
    (lambda p: SGD(p, lr=0.1, momentum=1.0), r"momentum must be >= 0.0 and < 1.0, got 1.0"),
    (lambda p: SGD(p, lr=0.1, weight_decay=-1), r"weight_decay must be >= 0"),
    (lambda p: Adam(p, betas=(0.9, 1.0)), r"betas\[1\]"),
    (lambda p: Adam(p, betas=0.9), r"betas must be a pair"),
    (lambda p: Adam(p, eps=0.0), r"eps must be > 0"),
    (lambda p: SGD(p, lr="fast"), r"lr must be a number"),
])
def test_bad_settings_are_value_errors(make, match):
    with pytest.raises(ValueError, match=match):
        make([param([1.0])])


def test_bad_parameter_lists_are_value_errors():
    with pytest.raises(ValueError, match="empty"):
        SGD([], lr=0.1)
    with pytest.raises(ValueError, match="parameter 1 .*requires_grad=False"):
        SGD([param([1.0]), Tensor([1.0])], lr=0.1)
    with pytest.raises(ValueError, match="parameter 0 .*ndarray"):
        Adam([np.ones(2)])


def test_base_class_step_is_abstract():
    with pytest.raises(NotImplementedError):
        Optimizer([param([1.0])], lr=0.1).step()


def test_one_tensor_instead_of_a_list_is_refused():
    """list(w) would give its rows: new tensors that step() updates while w never changes."""
    with pytest.raises(TypeError, match=r"takes an iterable of Tensors .*got one Tensor of shape \(2,\)"):
        SGD(param([1.0, 2.0]), lr=0.1)

