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
# # Module 09: Optimizers
#
# Autograd (module 08) answers *which way is downhill*: `p.grad` points in the direction in
# which the loss grows fastest, so a small step against it lowers the loss. An **optimizer**
# decides *how far* to step and *how to combine* the gradients of successive steps. Every
# training loop in this course, and in PyTorch, has the same three lines at its core:
#
# ```python
# optimizer.zero_grad()   # forget the previous step's gradients (they accumulate)
# loss.backward()         # fill p.grad for every parameter
# optimizer.step()        # move every parameter using its gradient
# ```
#
# You build the two optimizers that train most networks:
#
# 1. `SGD(params, lr, momentum=0.0, weight_decay=0.0)`: gradient descent, with momentum (a
#    running sum of past gradients) and L2 weight decay;
# 2. `Adam(params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0)`: per-parameter
#    step sizes from running averages of the gradient and of its square.
#
# ```
#   08 autograd ─► 09 optimizers ─► 10 training ─► tito milestone cnn
#                  (you are here)
# ```

# %%
#| default_exp core.optimizers

# %%
#| export
import numpy as np

from tinytorch.core.tensor import Tensor
import tinytorch.core.autograd  # noqa: F401  (optimizers need gradients: switch autograd on)

# %% [markdown]
# ## Step 1: The Optimizer base class
#
# An optimizer holds a list of **parameters**: the tensors it may change (`model.parameters()`),
# each with `requires_grad=True`. Two methods:
#
# * `zero_grad()` sets every `p.grad` to `None`. Gradients *accumulate* across `backward()`
#   calls (module 08), so without it step 2 would use the sum of the gradients of steps 1 and 2.
#   `None` rather than zeros: nothing to add to, and a parameter that took no part in the loss
#   is visibly "no gradient", as in PyTorch's default.
# * `step()` updates every parameter **in place** (`p.data -= ...`): the layers hold these very
#   Tensor objects, so replacing them by new ones would leave the model unchanged.
#
# A parameter whose `grad` is `None` (not used by this loss) is skipped.

# %%
#| export
def _check_number(name, value, low, high=None, high_open=True):
    """ValueError unless low <= value (< or <=) high, naming the parameter and the value."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.floating, np.integer)):
        raise ValueError(f"{name} must be a number, got {value!r}.")
    above = high is not None and (value >= high if high_open else value > high)
    if value < low or above:
        upper = "" if high is None else (f" and < {high}" if high_open else f" and <= {high}")
        raise ValueError(f"{name} must be >= {low}{upper}, got {value}.")
    return float(value)


class Optimizer:
    """Base of the optimizers: holds the parameters, ``zero_grad()``, and ``step()`` to override.

    Args:
        params: an iterable of Tensors with ``requires_grad=True`` (e.g. ``model.parameters()``).
        lr: the learning rate (step size), >= 0.
    """

    def __init__(self, params, lr):
        if isinstance(params, Tensor):  # list() would iterate its rows: new tensors, never updated
            raise TypeError(f"the optimizer takes an iterable of Tensors (e.g. model.parameters() or "
                            f"[w]), got one Tensor of shape {params.shape}.")
        self.params = list(params)
        if not self.params:
            raise ValueError("the optimizer got an empty parameter list; pass model.parameters().")
        for index, p in enumerate(self.params):
            if not isinstance(p, Tensor) or not p.requires_grad:
                what = type(p).__name__ if not isinstance(p, Tensor) else "a Tensor with requires_grad=False"
                raise ValueError(
                    f"parameter {index} must be a Tensor with requires_grad=True, got {what}."
                )
        self.lr = _check_number("lr", lr, 0.0)

    def zero_grad(self):
        """Forget the gradients of the previous step: every ``p.grad`` becomes None."""
        for p in self.params:
            p.grad = None

    def step(self):
        """Update every parameter that has a gradient (each optimizer defines its rule)."""
        raise NotImplementedError(f"{type(self).__name__} must implement step().")

    def __repr__(self):
        return f"{type(self).__name__}({len(self.params)} parameters, lr={self.lr})"


# %%
from tinytorch.utils.feedback import info, passed, progress, unit_test


def test_unit_optimizer_base():
    unit_test("Optimizer base")
    w = Tensor([1.0, 2.0], requires_grad=True)
    opt = Optimizer([w], lr=0.1)
    w.grad = Tensor([1.0, 1.0])
    opt.zero_grad()
    assert w.grad is None
    passed("zero_grad() sets every gradient to None")
    for bad, message in [([], "empty"), ([Tensor([1.0])], "requires_grad"), ([w], "lr")]:
        try:
            Optimizer(bad, lr=-1.0 if message == "lr" else 0.1)
        except ValueError as error:
            assert message in str(error)
        else:
            raise AssertionError(f"expected a ValueError about {message}")
    passed("empty lists, frozen tensors and negative learning rates are refused")
    progress("Optimizer")


if __name__ == "__main__":
    test_unit_optimizer_base()

# %% [markdown]
# ## Step 2: SGD with momentum and weight decay
#
# ### The concept
#
# **Gradient descent** moves each parameter a step of size `lr` against its gradient:
# `p ← p - lr · g`. In a long narrow valley the gradient points mostly *across* the valley, so
# plain steps zig-zag. **Momentum** keeps a velocity `v`, a running sum of past gradients:
# the across-valley components cancel, the along-valley ones add up.
#
# ```
#   plain SGD: zig-zag               with momentum: the zig-zags cancel, speed builds up
#     ╲╱╲╱╲╱╲╱╲╱ ─►                   ───────────────────►
# ```
#
# **Weight decay** adds `λ·p` to the gradient: the gradient of `λ/2·‖p‖²`, a pull towards 0
# that keeps weights small (L2 regularisation).
#
# The update, exactly as PyTorch's `torch.optim.SGD` (dampening 0, no Nesterov):
#
# ```
#   g ← grad + weight_decay · p
#   v ← g                      on the first step,
#   v ← momentum · v + g       afterwards           (only when momentum > 0)
#   p ← p - lr · v
# ```
#
# ### The cost
#
# Memory: one velocity array per parameter when momentum > 0 (1× the model size); compute: a
# few multiply-adds per parameter per step, negligible next to one forward pass.

# %%
#| export
class SGD(Optimizer):
    """Stochastic gradient descent with optional momentum and weight decay (PyTorch's rule).

    Args:
        params: Tensors with requires_grad=True.
        lr: learning rate >= 0.
        momentum: 0 <= momentum < 1; 0 disables the velocity.
        weight_decay: >= 0, the L2 penalty λ added to the gradient as λ·p.
    """

    def __init__(self, params, lr, momentum=0.0, weight_decay=0.0):
        super().__init__(params, lr)
        self.momentum = _check_number("momentum", momentum, 0.0, 1.0)
        self.weight_decay = _check_number("weight_decay", weight_decay, 0.0)
        self.velocities = [None] * len(self.params)

    def step(self):
        """One update of every parameter that has a gradient.

        TODO: Apply weight decay, momentum and the step, in place.

        APPROACH:
        For each index i and parameter p with a gradient:
        1. g = p.grad.data, plus ``weight_decay * p.data`` if weight_decay > 0.
        2. If momentum > 0: the velocity ``self.velocities[i]`` becomes a copy of g on its
           first step, else ``momentum * v + g`` (update it in place); use it as g.
        3. ``p.data -= lr * g`` (in place: the layer holds this very array).

        EXAMPLE:
        >>> w = Tensor([1.0], requires_grad=True); w.grad = Tensor([2.0])
        >>> SGD([w], lr=0.1).step(); w.data
        array([0.8], dtype=float32)

        HINTS:
        - ``v *= momentum; v += g`` updates the velocity without a new array.
        - Keep p's dtype: ``p.data -= ...`` does, ``p.data = p.data - ...`` might not.
        """
        ### BEGIN SOLUTION
        for i, p in enumerate(self.params):
            if p.grad is None:
                continue
            g = p.grad.data
            if self.weight_decay:
                g = g + self.weight_decay * p.data
            if self.momentum:
                v = self.velocities[i]
                if v is None:
                    v = self.velocities[i] = np.array(g, dtype=p.data.dtype)
                else:
                    v *= self.momentum
                    v += g
                g = v
            p.data -= self.lr * g
        ### END SOLUTION

    def __repr__(self):
        return (f"SGD({len(self.params)} parameters, lr={self.lr}, momentum={self.momentum}, "
                f"weight_decay={self.weight_decay})")


# %%
def test_unit_sgd():
    unit_test("SGD")
    w = Tensor([1.0, -2.0], requires_grad=True)
    opt = SGD([w], lr=0.1)
    w.grad = Tensor([0.5, 1.0])
    opt.step()
    np.testing.assert_allclose(w.data, [0.95, -2.1], rtol=1e-6)
    passed("plain SGD: p - lr·g")

    w = Tensor([1.0], requires_grad=True)
    opt = SGD([w], lr=0.1, momentum=0.9)
    for _ in range(3):
        w.grad = Tensor([1.0])
        opt.step()
    # velocities 1, 1.9, 2.71 -> w = 1 - 0.1·(1 + 1.9 + 2.71)
    np.testing.assert_allclose(w.data, [1 - 0.561], rtol=1e-6)
    passed("momentum: velocity 1 → 1.9 → 2.71 for a constant gradient")

    w = Tensor([2.0], requires_grad=True)
    w.grad = Tensor([0.0])
    SGD([w], lr=0.5, weight_decay=0.1).step()
    np.testing.assert_allclose(w.data, [2.0 - 0.5 * 0.2], rtol=1e-6)
    passed("weight decay pulls towards 0 even with a zero gradient")
    progress("SGD")


if __name__ == "__main__":
    test_unit_sgd()

# %% [markdown]
# ## Step 3: Adam
#
# ### The concept
#
# One learning rate for all parameters is a compromise: some weights see large gradients,
# others tiny ones. **Adam** (Kingma & Ba, 2015) keeps two running averages per parameter:
#
# * `m`, of the gradient (a momentum: *which way*),
# * `v`, of the squared gradient (*how big* the gradients of this parameter usually are),
#
# and steps by `m / √v`: about `lr` in size for every parameter, whatever the scale of its
# gradients. Both averages start at 0, so early on they are too small; dividing by
# `1 - β^t` (**bias correction**) fixes that exactly for a constant gradient.
#
# ```
#   t ← t + 1
#   m ← β₁·m + (1 - β₁)·g              m̂ = m / (1 - β₁ᵗ)
#   v ← β₂·v + (1 - β₂)·g²             v̂ = v / (1 - β₂ᵗ)
#   p ← p - lr · m̂ / (√v̂ + ε)
# ```
#
# On the first step `m̂ = g` and `v̂ = g²`, so every parameter moves by `lr · sign(g)`
# (almost exactly): Adam's steps are sized by `lr`, not by the gradient.
#
# ### The cost
#
# Memory: two arrays per parameter (2× the model size, the reason large models are often
# trained with lighter optimizers); compute: about ten operations per parameter per step.

# %%
#| export
class Adam(Optimizer):
    """Adam with bias correction (PyTorch's ``torch.optim.Adam`` rule, L2 ``weight_decay`` optional).

    Args:
        params: Tensors with requires_grad=True.
        lr: learning rate >= 0 (default 1e-3).
        betas: (β₁, β₂), each in [0, 1): decay rates of the gradient and squared-gradient averages.
        eps: > 0, added to √v̂ so that the division is safe.
        weight_decay: >= 0, λ·p added to the gradient.
    """

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0):
        super().__init__(params, lr)
        if not isinstance(betas, (tuple, list)) or len(betas) != 2:
            raise ValueError(f"betas must be a pair (beta1, beta2), got {betas!r}.")
        self.betas = (_check_number("betas[0]", betas[0], 0.0, 1.0),
                      _check_number("betas[1]", betas[1], 0.0, 1.0))
        self.eps = _check_number("eps", eps, 0.0)
        if self.eps == 0.0:
            raise ValueError("eps must be > 0, got 0.")
        self.weight_decay = _check_number("weight_decay", weight_decay, 0.0)
        self.steps = [0] * len(self.params)
        self.m = [None] * len(self.params)
        self.v = [None] * len(self.params)

    def step(self):
        """One Adam update of every parameter that has a gradient.

        TODO: Update the running averages, correct their bias, and step.

        APPROACH:
        For each index i and parameter p with a gradient:
        1. g = p.grad.data (+ weight_decay * p.data); ``self.steps[i] += 1`` -> t.
        2. m and v start as zeros like p.data; m = β₁·m + (1-β₁)·g, v = β₂·v + (1-β₂)·g².
        3. m̂ = m / (1 - β₁ᵗ), v̂ = v / (1 - β₂ᵗ); ``p.data -= lr * m̂ / (np.sqrt(v̂) + eps)``.

        EXAMPLE:
        >>> w = Tensor([1.0], requires_grad=True); w.grad = Tensor([5.0])
        >>> Adam([w], lr=0.1).step(); w.data      # first step: lr · sign(g)
        array([0.9], dtype=float32)

        HINTS:
        - Each parameter has its own step count (a parameter may miss a step without a grad).
        - In-place updates (``m *= b1; m += (1 - b1) * g``) avoid new arrays every step.
        """
        ### BEGIN SOLUTION
        b1, b2 = self.betas
        for i, p in enumerate(self.params):
            if p.grad is None:
                continue
            g = p.grad.data
            if self.weight_decay:
                g = g + self.weight_decay * p.data
            if self.m[i] is None:
                self.m[i] = np.zeros_like(p.data)
                self.v[i] = np.zeros_like(p.data)
            self.steps[i] += 1
            t = self.steps[i]
            m, v = self.m[i], self.v[i]
            m *= b1
            m += (1 - b1) * g
            v *= b2
            v += (1 - b2) * (g * g)
            m_hat = m / (1 - b1 ** t)
            v_hat = v / (1 - b2 ** t)
            p.data -= self.lr * m_hat / (np.sqrt(v_hat) + self.eps)
        ### END SOLUTION

    def __repr__(self):
        return (f"Adam({len(self.params)} parameters, lr={self.lr}, betas={self.betas}, "
                f"eps={self.eps}, weight_decay={self.weight_decay})")


# %%
def test_unit_adam():
    unit_test("Adam")
    w = Tensor([1.0, 1.0], requires_grad=True)
    opt = Adam([w], lr=0.1)
    w.grad = Tensor([5.0, -0.001])
    opt.step()
    np.testing.assert_allclose(w.data, [0.9, 1.1], rtol=1e-4)
    passed("first step moves every parameter by lr·sign(g), whatever |g|")

    w.grad = Tensor([1.0, 1.0])
    opt.step()
    # t=2, first element: m = 0.9·0.5 + 0.1·1 = 0.55, v = 0.999·0.025 + 0.001·1 = 0.025975
    m_hat, v_hat = 0.55 / (1 - 0.81), 0.025975 / (1 - 0.998001)
    np.testing.assert_allclose(w.data[0], 0.9 - 0.1 * m_hat / (np.sqrt(v_hat) + 1e-8), rtol=1e-5)
    passed("second step matches the hand-computed bias-corrected update")
    progress("Adam")


if __name__ == "__main__":
    test_unit_adam()

# %% [markdown]
# ## Using them: fitting a straight line
#
# The same problem for both optimizers: learn `y = 3x - 2` with a `Dense(1, 1)` layer. The loop
# is the three lines from the top of this module.

# %%
if __name__ == "__main__":
    from tinytorch.core.layers import Dense

    xs = Tensor(np.linspace(-1, 1, 16)[:, None])
    ys = xs * 3.0 - 2.0
    for make in (lambda p: SGD(p, lr=0.1, momentum=0.9), lambda p: Adam(p, lr=0.1)):
        np.random.seed(0)
        line = Dense(1, 1)
        opt = make(line.parameters())
        for step in range(100):
            loss = ((line(xs) - ys) ** 2).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
        info(f"{type(opt).__name__}: loss {loss.item():.6f}, "
             f"y = {line.weight.data.item():.3f}·x {line.bias.data.item():+.3f}")

# %% [markdown]
# ## Summary
#
# * `zero_grad()` → `backward()` → `step()` is the whole training step.
# * **SGD**: `p ← p - lr·v`, with `v` a running sum of gradients (momentum) and `λ·p` added to
#   each gradient (weight decay). Memory: 1 extra array per parameter with momentum.
# * **Adam**: steps of size ≈ `lr` per parameter, from bias-corrected running averages of `g`
#   and `g²`. Memory: 2 extra arrays per parameter.
# * Updates are **in place** so the layers see them.
#
# Next, module 10 puts these into a `Trainer` with losses, accuracy and progress bars.
