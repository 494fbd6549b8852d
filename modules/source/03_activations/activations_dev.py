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
# # Module 03: Activations — the non-linearity that makes depth worth it
#
# A layer computes `x @ W + b`: a *linear* map. Stack two of them and you get
# `(x @ W1 + b1) @ W2 + b2 = x @ (W1 @ W2) + (b1 @ W2 + b2)` — still one linear map.
# A hundred linear layers are no more expressive than one. What breaks the
# collapse is an **activation function** applied element by element between the
# layers. This module builds the five every later module uses:
#
# ```python
# from tinytorch.core.activations import ReLU, Sigmoid, Tanh, Softmax, LeakyReLU
# from tinytorch.core.tensor import Tensor
#
# x = Tensor([[-2.0, 0.0, 3.0]])
# ReLU()(x)        # [[0., 0., 3.]]
# Sigmoid()(x)     # [[0.119, 0.5, 0.953]]
# Softmax()(x)     # [[0.006, 0.047, 0.946]]  (each row sums to 1)
# ```
#
# ## Learning objectives
#
# - Why non-linearity is what lets a network bend its decision boundary.
# - Implement ReLU, LeakyReLU, Sigmoid, Tanh and Softmax as callable classes.
# - Make Sigmoid and Softmax **numerically stable**: exact 0/1 at ±1000, with no
#   overflow warnings — the classic bug of a first implementation.
# - Know their cost: one pass over the data, but `exp` is ~10–20× a comparison.

# %%
#| default_exp core.activations

# %%
#| export
import numpy as np

from tinytorch.core.tensor import Tensor, differentiable

# %% [markdown]
# ## 1. The shared shape of an activation
#
# Every activation is a small object with `forward(x: Tensor) -> Tensor`; calling
# the object calls `forward`, exactly like `torch.nn.ReLU()(x)`. Activations have
# no learnable parameters, so `parameters()` is an empty list — that lets a
# `Sequential` network (module 05) ask *every* layer for its parameters without
# special cases.
#
# Each activation's `forward` is marked `@differentiable` (module 02): it changes
# nothing now, and in module 08 it lets autograd record each activation as one
# step of the graph, with its own gradient rule.
#
# Three given helpers keep each `forward` down to the one line of maths:
#
# - `_input(x)` returns the ndarray behind `x` (a Tensor, or a list/array turned
#   into one, so bad input gets the Tensor constructor's clear errors).
# - `_float_input(x)` is the same, except that integer data becomes float32
#   (an activation of integers is not an integer), floating data keeps its dtype.
# - `_output(array)` wraps the result as a Tensor **keeping its dtype** (float64 in,
#   float64 out), because the Tensor constructor alone would turn float64 into float32.

# %%
#| export
def _input(x):
    """The ndarray behind `x`, a Tensor or anything `Tensor(...)` accepts."""
    return x.data if isinstance(x, Tensor) else Tensor(x).data


def _float_input(x):
    """The ndarray behind `x`; integers and bools become float32, floats keep their dtype."""
    data = _input(x)
    return data if data.dtype.kind == "f" else data.astype(np.float32)


def _output(array):
    """Wrap an activation's result, keeping its dtype."""
    return Tensor(array, dtype=array.dtype)


class Activation:
    """Base of the activation functions: `__call__` runs `forward`; no parameters."""

    def forward(self, x):
        raise NotImplementedError(f"{type(self).__name__} must implement forward(x).")

    def __call__(self, x):
        return self.forward(x)

    def parameters(self):
        """Activations learn nothing: an empty list."""
        return []

    def __repr__(self):
        return f"{type(self).__name__}()"

# %% [markdown]
# ## 2. ReLU — the workhorse
#
# ```
# ReLU(x) = max(0, x)
#
#   out │        ╱
#       │      ╱
#       │    ╱
#  ─────┼──●────────── x
#   0 ──┘
# ```
#
# Why it won: it is one comparison per element (the cheapest possible
# non-linearity), its gradient is exactly 1 for positive inputs — so deep stacks
# do not shrink their gradients the way sigmoid stacks do — and it makes many
# outputs exactly zero (sparse activations).
#
# Cost: `size` comparisons, one new array of the input's size.

# %%
#| export
class ReLU(Activation):
    """Rectified linear unit, element-wise `max(0, x)`: any shape -> same shape, same dtype."""

    @differentiable
    def forward(self, x):
        """Apply `max(0, x)` to every element.

        TODO: Replace every negative element by 0, keep the rest.

        APPROACH:
        1. Get the array with `data = _input(x)` (it accepts Tensors and array-likes).
        2. `np.maximum(data, 0)` compares element by element.
        3. Wrap with `_output(...)` so the dtype is kept.

        EXAMPLE:
        >>> ReLU()(Tensor([-1.0, 0.0, 2.0]))
        Tensor([0., 0., 2.], shape=(3,), dtype=float32)

        HINTS:
        - `np.maximum` (element-wise) is not `np.max` (a reduction).
        - Integer tensors stay integer: ReLU of an int is an int.
        """
        ### BEGIN SOLUTION
        data = _input(x)
        return _output(np.maximum(data, 0).astype(data.dtype, copy=False))
        ### END SOLUTION

# %%
from tinytorch.utils.feedback import passed, progress, unit_test


def test_unit_relu():
    unit_test("ReLU")
    out = ReLU()(Tensor([[-2.0, -0.5, 0.0, 0.5, 3.0]]))
    np.testing.assert_array_equal(out.data, [[0.0, 0.0, 0.0, 0.5, 3.0]])
    assert out.dtype == np.float32 and out.shape == (1, 5)
    passed("Negatives become 0, positives pass unchanged")
    assert ReLU()(Tensor([-3, 4])).dtype.kind == "i"
    assert ReLU().parameters() == []
    passed("dtype is kept and there are no parameters")
    progress("ReLU")


if __name__ == "__main__":
    test_unit_relu()

# %% [markdown]
# ## 3. LeakyReLU — ReLU that never goes silent
#
# ```
# LeakyReLU(x) = x            if x > 0
#                slope · x    otherwise        (slope = 0.01 by default)
# ```
#
# A ReLU whose input is negative for every example outputs 0 and gets zero
# gradient — it can "die" and never recover. The small slope keeps a trickle of
# gradient flowing. Same cost as ReLU plus one multiply.

# %%
#| export
class LeakyReLU(Activation):
    """`x` for positive x, `negative_slope * x` otherwise: any shape -> same shape."""

    def __init__(self, negative_slope=0.01):
        self.negative_slope = float(negative_slope)

    @differentiable
    def forward(self, x):
        """Apply the leaky ReLU to every element.

        TODO: Keep positive elements, scale the others by `self.negative_slope`.

        APPROACH:
        1. `data = _float_input(x)` (floats; the slope makes integers fractional).
        2. Split x into its positive part `np.maximum(data, 0)` and its negative part
           `np.minimum(data, 0)`; scale only the negative part by the slope; add them.
        3. Wrap with `_output(...)`.

        EXAMPLE:
        >>> LeakyReLU(0.1)(Tensor([-10.0, 5.0]))
        Tensor([-1.,  5.], shape=(2,), dtype=float32)

        HINTS:
        - `np.where(data > 0, data, slope * data)` also works but is several times
          slower: selecting element by element costs more than two cheap passes.
        """
        ### BEGIN SOLUTION
        data = _float_input(x)
        return _output(np.maximum(data, 0) + self.negative_slope * np.minimum(data, 0))
        ### END SOLUTION

    def __repr__(self):
        return f"LeakyReLU(negative_slope={self.negative_slope})"

# %%
def test_unit_leaky_relu():
    unit_test("LeakyReLU")
    out = LeakyReLU()(Tensor([-100.0, -1.0, 0.0, 2.0]))
    np.testing.assert_allclose(out.data, [-1.0, -0.01, 0.0, 2.0], rtol=1e-6)
    np.testing.assert_array_equal(LeakyReLU(0.5)(Tensor([-4.0, 4.0])).data, [-2.0, 4.0])
    assert out.dtype == np.float32
    passed("Negatives are scaled by the slope")
    progress("LeakyReLU")


if __name__ == "__main__":
    test_unit_leaky_relu()

# %% [markdown]
# ## 4. Sigmoid — squashing to a probability, *stably*
#
# ```
# σ(x) = 1 / (1 + e^(-x))
#
#   1 ┤                ___________
#     │             _-‾
# 0.5 ┤ · · · · · ·●
#     │        _-‾
#   0 ┤______-‾
#     └──────────────┼──────────── x
#                    0
# ```
#
# It maps any number into (0, 1), so it reads as a probability (binary
# classification outputs, gates in LSTMs).
#
# ### The overflow trap
#
# The formula as written breaks at large negative inputs:
#
# ```
# x = -1000:  e^(-x) = e^1000 = inf  (float32 tops out near 3.4e38 = e^88.7)
#             1 / (1 + inf) = 0  — the right answer, but with "RuntimeWarning: overflow"
# ```
#
# and rewriting it as `e^x / (1 + e^x)` fails the same way at `x = +1000`
# (`inf / inf = nan`). The fix is to only ever exponentiate a **non-positive**
# number, so every `e^(…)` lies in (0, 1] and can never overflow:
#
# ```
# x ≥ 0:  σ(x) = 1 / (1 + e^-x)          =  e^0      / (1 + e^-|x|)
# x < 0:  σ(x) = e^x / (1 + e^x)         =  e^x      / (1 + e^-|x|)
#                                           └──┬───┘
# both:   σ(x) = e^min(x, 0) / (1 + e^-|x|)    both exponents are ≤ 0
# ```
#
# At `x = 1000`: `e^0 / (1 + e^-1000) = 1 / (1 + 0) = 1` exactly (the underflow of
# `e^-1000` to 0 is harmless). At `x = -1000`: `0 / (1 + 0) = 0` exactly. And for
# moderately negative `x` the small result keeps its full relative precision,
# which `1 - σ(-x)` would lose to cancellation.
#
# Why not `np.where(x >= 0, branch1, branch2)`? It computes both branches anyway,
# and selecting element by element is itself slow — the formula above needs no
# selection at all.
#
# Cost: two `exp`, a min, an abs, an add and a divide per element — `exp` alone
# costs about as much as 10–20 additions, so sigmoid is several times slower than
# ReLU.

# %%
#| export
class Sigmoid(Activation):
    """Logistic sigmoid `1 / (1 + exp(-x))`, stable for any input: any shape -> same shape, in [0, 1]."""

    @differentiable
    def forward(self, x):
        """Apply the sigmoid to every element without ever overflowing.

        TODO: Compute σ(x) using only exponentials of non-positive numbers.

        APPROACH:
        1. `data = _float_input(x)`.
        2. Numerator `np.exp(np.minimum(data, 0))`: 1 for x ≥ 0, e^x for x < 0.
        3. Denominator `1 + np.exp(-np.abs(data))`: never overflows.
        4. Wrap numerator / denominator with `_output(...)`.

        EXAMPLE:
        >>> Sigmoid()(Tensor([-1000.0, 0.0, 1000.0]))
        Tensor([0. , 0.5, 1. ], shape=(3,), dtype=float32)

        HINTS:
        - For x < 0, multiply 1 / (1 + e^-x) by e^x / e^x to get e^x / (1 + e^x).
        - Underflow to 0 is fine; overflow to inf is what we avoid.
        """
        ### BEGIN SOLUTION
        data = _float_input(x)
        return _output(np.exp(np.minimum(data, 0)) / (1 + np.exp(-np.abs(data))))
        ### END SOLUTION

# %%
def test_unit_sigmoid():
    unit_test("Sigmoid")
    out = Sigmoid()(Tensor([-2.0, 0.0, 2.0]))
    expected = 1 / (1 + np.exp(-np.array([-2.0, 0.0, 2.0])))
    np.testing.assert_allclose(out.data, expected, rtol=1e-6)
    assert out.data[1] == 0.5 and out.dtype == np.float32
    passed("Matches 1 / (1 + e^-x); σ(0) = 0.5")
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        extreme = Sigmoid()(Tensor([-1000.0, 1000.0]))
    assert extreme.data[0] == 0.0 and extreme.data[1] == 1.0
    passed("Exactly 0 and 1 at ±1000, with no overflow warning")
    progress("Sigmoid")


if __name__ == "__main__":
    test_unit_sigmoid()

# %% [markdown]
# ## 5. Tanh — a zero-centred sigmoid
#
# ```
# tanh(x) = (e^x - e^-x) / (e^x + e^-x) = 2·σ(2x) - 1        range (-1, 1)
#
#   1 ┤           ______
#   0 ┤ · · · · ●
#  -1 ┤______‾‾
# ```
#
# Its outputs are centred on 0, which keeps the next layer's inputs balanced —
# the reason it was preferred over sigmoid for hidden layers (and still is in
# RNNs). NumPy's `np.tanh` is already stable at ±1000 (it returns ±1 exactly), so
# this one is short. Cost: about the same as sigmoid.

# %%
#| export
class Tanh(Activation):
    """Hyperbolic tangent, element-wise, in [-1, 1]: any shape -> same shape."""

    @differentiable
    def forward(self, x):
        """Apply tanh to every element.

        TODO: Use NumPy's tanh.

        APPROACH:
        1. `data = _float_input(x)`.
        2. Wrap `np.tanh(data)` with `_output(...)`.

        EXAMPLE:
        >>> Tanh()(Tensor([0.0, 1000.0]))
        Tensor([0., 1.], shape=(2,), dtype=float32)

        HINTS:
        - Writing the formula with `np.exp` by hand would overflow at ±1000.
        """
        ### BEGIN SOLUTION
        return _output(np.tanh(_float_input(x)))
        ### END SOLUTION

# %%
def test_unit_tanh():
    unit_test("Tanh")
    values = np.array([-1000.0, -1.0, 0.0, 1.0, 1000.0], dtype=np.float32)
    out = Tanh()(Tensor(values))
    np.testing.assert_allclose(out.data, np.tanh(values), rtol=1e-6)
    assert out.data[0] == -1.0 and out.data[2] == 0.0 and out.data[4] == 1.0
    passed("tanh is odd, 0 at 0, exactly ±1 at ±1000")
    progress("Tanh")


if __name__ == "__main__":
    test_unit_tanh()

# %% [markdown]
# ## 6. Softmax — turning scores into a distribution
#
# ```
#                 e^(x_i)
# softmax(x)_i = ─────────       along one axis (by default the last)
#                Σ_j e^(x_j)
#
# scores  [2.0, 1.0, 0.1]  ──►  [0.659, 0.242, 0.099]   (sums to 1)
# ```
#
# A classifier's last layer produces one score ("logit") per class; softmax
# turns each row into probabilities: all in [0, 1], summing to 1, the largest
# score getting the largest share.
#
# ### The same trap, the same fix
#
# `e^1000` overflows. But softmax does not change when the same number is
# subtracted from every score of a row:
#
# ```
# e^(x_i - m) / Σ_j e^(x_j - m)  =  e^(-m)·e^(x_i) / (e^(-m)·Σ_j e^(x_j))  =  softmax(x)_i
# ```
#
# Choose `m = max(x)` along the axis: then every exponent is ≤ 0, every `e^(…)`
# is in (0, 1], and at least one is exactly `e^0 = 1`, so the sum is ≥ 1 and the
# division is safe. `[1000, -1000]` gives exactly `[1, 0]`.
#
# Cost: five passes over the data (max, subtract, exp, sum, divide) and a
# temporary array of the input's size — for a batch of `N` rows of `C` classes,
# about `N·C` exponentials.

# %%
#| export
class Softmax(Activation):
    """Softmax along `axis` (default -1): any shape -> same shape, slices along axis sum to 1."""

    def __init__(self, axis=-1):
        self.axis = axis

    @differentiable
    def forward(self, x):
        """Apply softmax along `self.axis`, stable for any finite input.

        TODO: Subtract the maximum along the axis, exponentiate, normalise.

        APPROACH:
        1. `data = _float_input(x)`.
        2. `shifted = data - data.max(axis=self.axis, keepdims=True)`.
        3. `e = np.exp(shifted)`; return `_output(e / e.sum(axis=self.axis, keepdims=True))`.

        EXAMPLE:
        >>> Softmax()(Tensor([[1000.0, -1000.0], [0.0, 0.0]]))
        Tensor([[1. , 0. ],
                [0.5, 0.5]], shape=(2, 2), dtype=float32)

        HINTS:
        - `keepdims=True` keeps the reduced axis with size 1, so the result broadcasts
          back against `data`.
        """
        ### BEGIN SOLUTION
        data = _float_input(x)
        if data.size == 0:
            return _output(data.copy())
        e = np.exp(data - data.max(axis=self.axis, keepdims=True))
        return _output(e / e.sum(axis=self.axis, keepdims=True))
        ### END SOLUTION

    def __repr__(self):
        return f"Softmax(axis={self.axis})"

# %%
def test_unit_softmax():
    unit_test("Softmax")
    out = Softmax()(Tensor([[2.0, 1.0, 0.1], [0.0, 0.0, 0.0]]))
    e = np.exp([2.0, 1.0, 0.1])
    np.testing.assert_allclose(out.data[0], e / e.sum(), rtol=1e-6)
    np.testing.assert_allclose(out.data[1], [1 / 3, 1 / 3, 1 / 3], rtol=1e-6)
    np.testing.assert_allclose(out.data.sum(axis=1), [1.0, 1.0], rtol=1e-6)
    passed("Rows are probability distributions")
    cols = Softmax(axis=0)(Tensor([[1.0, 5.0], [1.0, 5.0]]))
    np.testing.assert_array_equal(cols.data, [[0.5, 0.5], [0.5, 0.5]])
    passed("axis=0 normalises columns")
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        extreme = Softmax()(Tensor([[1000.0, -1000.0]]))
    np.testing.assert_array_equal(extreme.data, [[1.0, 0.0]])
    passed("Exactly [1, 0] for [1000, -1000], with no overflow warning")
    progress("Softmax")


if __name__ == "__main__":
    test_unit_softmax()

# %% [markdown]
# ## 7. Systems view: what does each activation cost?
#
# All five are element-wise (softmax row-wise): the output has the input's shape,
# so memory is one new array of `size × itemsize` bytes each. Time differs by what
# each element needs — a comparison, or an `exp`. Run the cell to see the ratio on
# your machine (a batch of 64 feature maps of 16 × 32 × 32 float32 numbers).

# %%
def analyze_activation_costs():
    import time

    from tinytorch.utils.feedback import info

    x = Tensor(np.random.randn(64, 16, 32, 32))
    info(f"input {x.shape}: {x.size:,} elements, {x.size * x.dtype.itemsize / 1e6:.1f} MB as {x.dtype}")
    timings = {}
    for activation in (ReLU(), LeakyReLU(), Sigmoid(), Tanh(), Softmax()):
        times = []
        for _ in range(5):
            start = time.perf_counter()
            activation(x)
            times.append(time.perf_counter() - start)
        timings[repr(activation)] = 1000 * sorted(times)[2]
    fastest = min(timings.values())
    for name, ms in timings.items():
        info(f"{name:<32} {ms:7.2f} ms  ({ms / fastest:.1f}× the fastest)")


if __name__ == "__main__":
    analyze_activation_costs()

# %% [markdown]
# ## Summary
#
# | class | formula | range | stable at ±1000 |
# |---|---|---|---|
# | `ReLU()` | `max(0, x)` | [0, ∞) | trivially |
# | `LeakyReLU(negative_slope=0.01)` | `x` or `slope·x` | (-∞, ∞) | trivially |
# | `Sigmoid()` | `1 / (1 + e^-x)` via `e^-|x|` | [0, 1] | exact 0 / 1 |
# | `Tanh()` | `np.tanh` | [-1, 1] | exact ±1 |
# | `Softmax(axis=-1)` | `e^(x-max) / Σ e^(x-max)` | [0, 1], sums to 1 | exact 0 / 1 |
#
# Each is callable (`ReLU()(x)`), has `forward(x)`, keeps the input's float dtype
# and has no parameters (`parameters() == []`). Module 04 (layers) puts them
# between `Dense` layers; module 05 (networks) chains them in `Sequential`.
#
# ```bash
# tito test --module activations && tito export --module activations
# ```
