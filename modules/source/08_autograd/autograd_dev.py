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
# # Module 08: Autograd
#
# Your CNN can already *see*: Conv2D, pooling and Dense layers turn an image into ten class
# scores. But its filters are random. To make them *learned*, training needs one number per
# parameter: **how much the loss changes when that parameter changes a little**, the gradient
# `∂loss/∂θ`. A LeNet-style network has thousands of parameters; a modern one has billions.
# Nobody derives those by hand.
#
# **Automatic differentiation** (autograd) gets every gradient at once, exactly, for about the
# cost of one more forward pass. The idea fits in two sentences:
#
# 1. While the forward pass runs, every operation writes down *what it did* and *to what*:
#    a **computational graph**, recorded on the fly ("define-by-run", as in PyTorch).
# 2. `loss.backward()` walks that graph from the loss back to the parameters, and each
#    operation turns the gradient of its output into gradients of its inputs with the
#    **chain rule**.
#
# Module 02 gave the `Tensor` dormant pieces: `requires_grad`, `grad` and a `backward()`
# that so far only says "autograd arrives in module 08". Here they come alive. Module 02 also
# left autograd one slot: every primitive tensor operation, and the `forward` of every
# activation, Conv2D and pooling layer, is marked `@differentiable`. When
# `tinytorch.core.autograd` is imported, `enable_autograd()` puts this module's engine in
# that slot, and from then on every marked operation's result remembers its inputs and how to
# send a gradient back. The forward values do not change by a single bit.
#
# ```
#   02 tensor ─► 03 activations ─► 04 layers ─► 05 networks ─► 06 cnn ─► 07 dataloader
#                                                                  │
#                              08 autograd ◄───────────────────────┘   (you are here)
#                                  │
#                                  ▼
#                           09 optimizers ─► 10 training ─► tito milestone cnn
# ```
#
# You will build, in order:
#
# 1. the **graph**: a `Node` per operation, `record()`, and the `no_grad()` switch;
# 2. `unbroadcast`: the gradient of a broadcast operand, summed back to its shape;
# 3. the **gradient rules** of the tensor operations (add, mul, matmul, sum, ...);
# 4. the **backward pass**: topological order, the chain rule, accumulation in `.grad`;
# 5. the rules of the **activations**;
# 6. the vectorised backward of **Conv2D** (col2im), **MaxPool2D** and **AvgPool2D**;
# 7. the **engine** in module 02's slot: one table from each operation to its rule;
# 8. **gradient checking** with central finite differences: how you know every rule is right.

# %%
#| default_exp core.autograd

# %%
#| export
import contextlib

import numpy as np

from tinytorch.core.tensor import Tensor, get_autograd, set_autograd
from tinytorch.utils.threads import matmul
from tinytorch.core.cnn import (
    images_per_chunk, im2col, max_pool2d_forward, offset_views, pad2d, padding_sides, to_batch_first,
    to_batch_last, to_pair,
)

# %% [markdown]
# ## Step 1: The computational graph
#
# ### The concept
#
# Take one dense layer with a ReLU and a loss, `loss = sum(relu(x @ W + b))`. Running it
# forward creates four tensors; autograd keeps, for each result, a **node**: the operation's
# name, the tensors it was computed from, and a function that maps the gradient of the result
# to gradients of those inputs.
#
# ```
#   forward (records)                         backward (replays in reverse)
#
#   x ─┐                                       ∂L/∂x ◄─┐
#      ├─► [MatMul] ─► h ─┐                            ├── MatMul: g @ Wᵀ , xᵀ @ g
#   W ─┘                  ├─► [Add] ─► z ─►   ∂L/∂W ◄─┘
#   b ────────────────────┘       │           ∂L/∂b ◄── Add: sum g over the batch axis
#                                 ▼                          ▲
#                              [ReLU] ─► a                   │  ReLU: g · (z > 0)
#                                 │                          │
#                                 ▼                          │
#                              [Sum] ─► L                 g = 1 = ∂L/∂L
# ```
#
# Leaves are tensors created by you (inputs, parameters); only those with `requires_grad=True`
# get a `.grad`. A result requires grad if any of its inputs does, so gradients flow exactly
# where they are needed and nowhere else.
#
# ### The cost
#
# * **Memory**: each node keeps references to its inputs until the graph is dropped: during
#   training every intermediate activation of the forward pass stays alive until `backward()`
#   is done. For the milestone CNN with a batch of 32 that is about 0.5 MB (most of it the first
#   convolution's output and its ReLU, 128 KB each); for a large model it is
#   most of the GPU memory, which is why evaluation runs under `no_grad()`: nothing is recorded.
# * **Time**: recording is one small Python object per operation; the backward pass costs about
#   twice the forward (each matmul of the forward becomes two in the backward).
#
# ### Why a switch
#
# `no_grad()` turns recording off for a block. The optimizer uses it while it updates the
# weights (an update is not part of the model), and so does evaluation.

# %%
#| export
class GradMode:
    """Whether operations record the graph. One instance is shared through the Tensor class,
    so every copy of this module (package or notebook) flips the same switch."""

    def __init__(self):
        self.enabled = True


GRAD_MODE = Tensor.__dict__.get("_grad_mode") or GradMode()
Tensor._grad_mode = GRAD_MODE


def is_grad_enabled():
    """True when operations on tensors that require grad record the graph."""
    return GRAD_MODE.enabled


@contextlib.contextmanager
def no_grad():
    """Inside ``with no_grad():`` (or on a function decorated with ``@no_grad()``) nothing is
    recorded: results never require grad and hold no graph."""
    previous = GRAD_MODE.enabled
    GRAD_MODE.enabled = False
    try:
        yield
    finally:
        GRAD_MODE.enabled = previous


class Node:
    """One recorded operation: its name, its inputs, and ``backward(grad) -> input grads``.

    ``backward`` receives the gradient of the result (an ndarray of the result's shape) and
    returns one entry per input, in order: an ndarray of that input's shape, or None when the
    input needs no gradient.
    """

    __slots__ = ("name", "inputs", "backward")

    def __init__(self, name, inputs, backward):
        self.name = name
        self.inputs = tuple(inputs)
        self.backward = backward

    def __repr__(self):
        return f"<{self.name}>"


def needs_grad(value):
    """True for a Tensor that requires grad (anything else gets no gradient)."""
    return isinstance(value, Tensor) and value.requires_grad


def record(result, inputs, backward, name):
    """Attach a graph node to ``result`` when recording is on and some input requires grad.

    Returns ``result`` either way, so operations end with ``return record(out, ...)``.
    """
    if GRAD_MODE.enabled and any(needs_grad(x) for x in inputs):
        result.requires_grad = True
        result._node = Node(name, inputs, backward)
    return result


def _value(x):
    """The ndarray behind an operand; Python numbers stay numbers (NumPy keeps them 'weak',
    so float32 * 0.5 stays float32, exactly as in the forward)."""
    if isinstance(x, Tensor):
        return x.data
    if isinstance(x, (int, float)):
        return x
    return np.asarray(x)


# %%
from tinytorch.core.activations import ReLU, Sigmoid, Softmax, Tanh
from tinytorch.utils.feedback import passed, progress, unit_test


def test_unit_graph_recording():
    unit_test("graph recording")
    a = Tensor([1.0, 2.0], requires_grad=True)
    b = Tensor([3.0, 4.0])
    out = Tensor([4.0, 6.0])
    assert record(out, (a, b), lambda g: (g, g), "AddBackward") is out
    assert out.requires_grad and out._node.inputs == (a, b) and repr(out._node) == "<AddBackward>"
    passed("a result of a tensor that requires grad gets a node naming its inputs")

    plain = record(Tensor([1.0]), (b,), lambda g: (g,), "NegBackward")
    assert not plain.requires_grad and getattr(plain, "_node", None) is None
    passed("inputs without requires_grad record nothing")

    with no_grad():
        assert not is_grad_enabled()
        quiet = record(Tensor([1.0]), (a,), lambda g: (g,), "NegBackward")
    assert is_grad_enabled() and not quiet.requires_grad
    passed("no_grad() switches recording off, and back on afterwards")
    progress("computational graph")


if __name__ == "__main__":
    test_unit_graph_recording()

# %% [markdown]
# ## Step 2: Gradients of broadcast operands
#
# ### The concept
#
# `z = h + b` with `h` of shape `(N, 3)` and `b` of shape `(3,)` adds the *same* `b` to every
# row: NumPy **broadcasts** `b` to `(N, 3)`. Each `b[j]` influenced `N` outputs, so its
# gradient is the **sum** of the `N` gradients of those outputs:
#
# ```
#   forward: b (3,) is copied N times          backward: the N copies' gradients are summed
#
#        b:  [b0 b1 b2]                           g (N, 3):  [g00 g01 g02]
#             │  │  │                                        [g10 g11 g12]  ──┐ sum over
#   h + b:   [h00+b0 h01+b1 h02+b2]                         [g20 g21 g22]  ──┘ axis 0
#            [h10+b0 h11+b1 h12+b2]                                │
#            [h20+b0 h21+b1 h22+b2]             ∂L/∂b (3,): [Σg·0 Σg·1 Σg·2]
# ```
#
# The rule, for any broadcast: sum the gradient over the axes that broadcasting **added** in
# front, and over the axes where the operand had **size 1**, keeping those as size 1.
#
# Cost: one reduction over the gradient, `O(N·3)` additions here: the same as the forward add.

# %%
#| export
def unbroadcast(grad, shape):
    """Sum ``grad`` (the gradient of a broadcast result) back to an operand's ``shape``.

    (N, 3) -> (3,): sum over axis 0.   (N, 3) -> (N, 1): sum over axis 1, keep it.
    () for a scalar operand: sum everything.

    TODO: Undo NumPy's broadcasting by summing the gradient.

    APPROACH:
    1. While grad has more axes than shape, sum over axis 0 (axes added in front).
    2. For each axis where shape has size 1 but grad does not, sum it with keepdims=True.
    3. Return grad (now of exactly ``shape``).

    EXAMPLE:
    >>> unbroadcast(np.ones((4, 3)), (3,))
    array([4., 4., 4.])
    >>> unbroadcast(np.ones((4, 3)), (4, 1)).shape
    (4, 1)

    HINTS:
    - ``grad.sum(axis=0)`` drops an axis; ``grad.sum(axis=i, keepdims=True)`` keeps it.
    """
    ### BEGIN SOLUTION
    shape = tuple(shape)
    while grad.ndim > len(shape):
        grad = grad.sum(axis=0)
    for axis, size in enumerate(shape):
        if size == 1 and grad.shape[axis] != 1:
            grad = grad.sum(axis=axis, keepdims=True)
    return grad
    ### END SOLUTION


# %%
def test_unit_unbroadcast():
    unit_test("unbroadcast")
    g = np.arange(12.0).reshape(4, 3)
    np.testing.assert_array_equal(unbroadcast(g, (3,)), [18.0, 22.0, 26.0])
    passed("(4, 3) -> (3,) sums the rows")
    np.testing.assert_array_equal(unbroadcast(g, (4, 1)), [[3.0], [12.0], [21.0], [30.0]])
    passed("(4, 3) -> (4, 1) sums each row and keeps the axis")
    assert unbroadcast(g, ()) == 66.0
    np.testing.assert_array_equal(unbroadcast(np.ones((2, 4, 3)), (1, 3)), [[8.0, 8.0, 8.0]])
    passed("scalars and leading axes are summed away")
    assert unbroadcast(g, (4, 3)) is g
    passed("an operand that was not broadcast gets the gradient unchanged")
    progress("unbroadcast")


if __name__ == "__main__":
    test_unit_unbroadcast()

# %% [markdown]
# ## Step 3: The gradient rules of tensor operations
#
# ### The concept
#
# Each operation needs one rule: given `g = ∂L/∂out`, return `∂L/∂input` for each input. The
# chain rule says it is `g` times the operation's local derivative, arranged to the input's
# shape. For the operations of module 02:
#
# | operation            | ∂L/∂x                         | ∂L/∂y                      |
# |----------------------|-------------------------------|----------------------------|
# | `x + y`, `x - y`     | `g`                           | `g`, `-g`                  |
# | `x * y`              | `g · y`                       | `g · x`                    |
# | `x / y`              | `g / y`                       | `-g · x / y²`              |
# | `x ** p`             | `g · p · x^(p-1)`             | `g · out · ln x`           |
# | `x @ y` (M,K)@(K,N)  | `g @ yᵀ`  (M,N)@(N,K)         | `xᵀ @ g`  (K,M)@(M,N)      |
# | `x.sum(axis)`        | `g` copied back along `axis`  |                            |
# | `x.mean(axis)`       | `g / count` copied back       |                            |
# | `x.max(axis)`        | `g` to the maximum (ties share it) |                       |
# | `reshape`, `flatten` | `g.reshape(x.shape)`          |                            |
# | `transpose(axes)`    | `g.transpose(inverse axes)`   |                            |
# | `x[key]`             | zeros, plus `g` at `key`      |                            |
#
# Every element-wise result then passes through `unbroadcast`. The matmul rule is the one
# worth deriving once by hand: `out[i, j] = Σₖ x[i, k] · y[k, j]`, so `∂out[i, j]/∂x[i, k] = y[k, j]`
# and `∂L/∂x[i, k] = Σⱼ g[i, j] · y[k, j] = (g @ yᵀ)[i, k]`. Shapes check it for you:
# `(M, N) @ (N, K) = (M, K)`, the shape of `x`. That is also its **cost**: two matmuls of the
# forward's size, `2·M·N·K` MACs, twice the forward.
#
# Each rule below is a small function `rule(out, x, ...) -> (inputs, backward)`: it is called
# right after the forward with the same arguments, and returns the inputs to record and the
# `backward(g)` closure. The closure keeps only what it needs (the input arrays), and computes
# a gradient only for inputs that require one.

# %%
#| export
def _grad_or_none(value, compute, shape=None):
    """``unbroadcast(compute(), shape)`` when ``value`` needs a gradient, else None (no work)."""
    if not needs_grad(value):
        return None
    return unbroadcast(compute(), np.shape(_value(value)) if shape is None else shape)


def add_rule(out, x, y):
    """out = x + y: both inputs get g (summed back to their shapes)."""
    def backward(g):
        return _grad_or_none(x, lambda: g), _grad_or_none(y, lambda: g)
    return (x, y), backward


def sub_rule(out, x, y):
    """out = x - y: x gets g, y gets -g."""
    def backward(g):
        return _grad_or_none(x, lambda: g), _grad_or_none(y, lambda: -g)
    return (x, y), backward


def rsub_rule(out, x, y):
    """out = y - x (``y - tensor`` with y not a Tensor): x gets -g."""
    def backward(g):
        return _grad_or_none(x, lambda: -g), _grad_or_none(y, lambda: g)
    return (x, y), backward


def mul_rule(out, x, y):
    """out = x * y: x gets g * y, y gets g * x.

    TODO: Return the inputs and a backward closure for element-wise multiplication.

    APPROACH:
    1. a, b = _value(x), _value(y): the arrays (or numbers) of the two operands.
    2. backward(g) returns (g * b for x, g * a for y), each through ``_grad_or_none``, which
       skips an input that needs no gradient and unbroadcasts to its shape.
    3. Return ``(x, y), backward``.

    EXAMPLE:
    >>> inputs, backward = mul_rule(None, Tensor([2.0], requires_grad=True), Tensor([5.0]))
    >>> backward(np.array([1.0]))
    (array([5.]), None)

    HINTS:
    - Follow ``add_rule`` above; only the two lambdas change.
    """
    ### BEGIN SOLUTION
    a, b = _value(x), _value(y)

    def backward(g):
        return _grad_or_none(x, lambda: g * b), _grad_or_none(y, lambda: g * a)
    return (x, y), backward
    ### END SOLUTION


def truediv_rule(out, x, y):
    """out = x / y: x gets g / y, y gets -g * x / y**2."""
    a, b = _value(x), _value(y)

    def backward(g):
        return _grad_or_none(x, lambda: g / b), _grad_or_none(y, lambda: -g * a / (b * b))
    return (x, y), backward


def rtruediv_rule(out, x, y):
    """out = y / x (``y / tensor``): x gets -g * y / x**2."""
    a, b = _value(x), _value(y)

    def backward(g):
        return _grad_or_none(x, lambda: -g * b / (a * a)), _grad_or_none(y, lambda: g / a)
    return (x, y), backward


def pow_rule(out, x, p):
    """out = x ** p: x gets g * p * x**(p-1) (0 where p == 0: x**0 is constant, though 0 * 0**-1
    is nan); a tensor exponent gets g * out * ln(x) (0 where x <= 0)."""
    a, e = _value(x), _value(p)

    def backward(g):
        def d_base():
            with np.errstate(divide="ignore", invalid="ignore"):
                return np.where(np.equal(e, 0), 0, g * e * a ** (e - 1))

        def d_exponent():
            safe_log = np.log(np.where(a > 0, a, 1))
            return g * out.data * safe_log
        return _grad_or_none(x, d_base), _grad_or_none(p, d_exponent)
    return (x, p), backward


def neg_rule(out, x):
    """out = -x: x gets -g."""
    return (x,), lambda g: (-g,)


# %% [markdown]
# The matmul rule handles NumPy's conventions: a 1-D left operand is a row `(1, K)`, a 1-D right
# operand a column `(K, 1)`, and leading batch axes broadcast (their gradients are summed back
# by `unbroadcast`).

# %%
#| export
def matmul_grads(g, a, b):
    """Gradients of ``a @ b`` for an upstream g: ``(g @ bᵀ, aᵀ @ g)`` with a's and b's shapes.

    (M, K) @ (K, N): g (M, N) -> (M, K) and (K, N). 1-D operands and batch axes as in NumPy.

    TODO: Apply the matmul rule, treating 1-D operands as a row / a column.

    APPROACH:
    1. a2 = a[None, :] if a is 1-D; b2 = b[:, None] if b is 1-D; give g the same axes:
       (1, 1) when both are 1-D, else ``np.expand_dims(g, -2)`` for a 1-D a or
       ``np.expand_dims(g, -1)`` for a 1-D b.
    2. ga = g2 @ b2ᵀ and gb = a2ᵀ @ g2, where ᵀ swaps the last two axes (``np.swapaxes``);
       multiply with ``matmul`` (``tinytorch.utils.threads``: ``@`` on the right thread count).
    3. Unbroadcast ga to a2.shape and gb to b2.shape, then reshape to a.shape and b.shape.

    EXAMPLE:
    >>> ga, gb = matmul_grads(np.ones((2, 4)), np.ones((2, 3)), np.ones((3, 4)))
    >>> ga.shape, gb.shape
    ((2, 3), (3, 4))

    HINTS:
    - Check the shapes: (M, N) @ (N, K) must give (M, K), the shape of a.
    """
    ### BEGIN SOLUTION
    a2 = a[None, :] if a.ndim == 1 else a
    b2 = b[:, None] if b.ndim == 1 else b
    if a.ndim == 1 and b.ndim == 1:
        g2 = np.reshape(g, (1, 1))
    elif a.ndim == 1 or b.ndim == 1:
        g2 = np.expand_dims(g, -2 if a.ndim == 1 else -1)
    else:
        g2 = g
    ga = matmul(g2, np.swapaxes(b2, -1, -2))
    gb = matmul(np.swapaxes(a2, -1, -2), g2)
    return unbroadcast(ga, a2.shape).reshape(a.shape), unbroadcast(gb, b2.shape).reshape(b.shape)
    ### END SOLUTION


def matmul_rule(out, x, y):
    """out = x @ y."""
    def backward(g):
        if not (needs_grad(x) or needs_grad(y)):
            return None, None
        ga, gb = matmul_grads(g, _value(x), np.asarray(_value(y)))
        return (ga if needs_grad(x) else None), (gb if needs_grad(y) else None)
    return (x, y), backward


def rmatmul_rule(out, x, y):
    """out = y @ x (``array @ tensor``)."""
    def backward(g):
        gy, gx = matmul_grads(g, np.asarray(_value(y)), _value(x))
        return (gx if needs_grad(x) else None), (gy if needs_grad(y) else None)
    return (x, y), backward


# %% [markdown]
# ### Reductions and shape operations
#
# A reduction's output has fewer elements than its input, so the gradient must be **copied
# back** along the reduced axes: `sum` copies `g` unchanged (every element counted once),
# `mean` copies `g / count`, and `max` sends `g` only to the position(s) holding the maximum
# (ties share it equally, as `torch.amax` does). Shape operations move elements without
# changing them, so their gradients move back: `reshape` reshapes, `transpose` applies the
# inverse permutation, indexing scatters `g` into zeros at the indexed positions.

# %%
#| export
def _reduced_axes(ndim, axis):
    """The axes a reduction over ``axis`` (None, an int or a tuple) removes, as non-negative ints."""
    if axis is None:
        return tuple(range(ndim))
    axes = axis if isinstance(axis, (tuple, list)) else (axis,)
    return tuple(int(a) % ndim for a in axes)


def expand_reduced(g, shape, axis, keepdims):
    """Copy the gradient of a reduction back over the reduced axes: result has ``shape``."""
    axes = _reduced_axes(len(shape), axis)
    if not keepdims:
        g = np.reshape(g, [1 if i in axes else size for i, size in enumerate(shape)])
    return np.broadcast_to(g, shape)


def sum_rule(out, x, axis=None, keepdims=False):
    """out = x.sum(axis, keepdims): x gets g copied back along the summed axes.

    TODO: Return ``(x,)`` and a backward that copies g back to x's shape.

    APPROACH:
    1. backward(g) returns a 1-tuple: ``expand_reduced(g, x.shape, axis, keepdims)``.

    EXAMPLE:
    >>> inputs, backward = sum_rule(None, Tensor(np.ones((2, 3)), requires_grad=True), axis=1)
    >>> backward(np.array([1.0, 2.0]))[0]
    array([[1., 1., 1.],
           [2., 2., 2.]])

    HINTS:
    - Every input element contributed once to its sum, so its local derivative is 1.
    """
    ### BEGIN SOLUTION
    return (x,), lambda g: (expand_reduced(g, x.shape, axis, keepdims),)
    ### END SOLUTION


def mean_rule(out, x, axis=None, keepdims=False):
    """out = x.mean(axis, keepdims): x gets g / count copied back."""
    axes = _reduced_axes(x.ndim, axis)
    count = int(np.prod([x.shape[a] for a in axes]))

    def backward(g):
        return (expand_reduced(g / max(count, 1), x.shape, axis, keepdims),)
    return (x,), backward


def max_rule(out, x, axis=None, keepdims=False):
    """out = x.max(axis, keepdims): g goes to the maxima; k tied maxima get g / k each."""
    def backward(g):
        peak = expand_reduced(out.data, x.shape, axis, keepdims)
        hits = x.data == peak
        ties = hits.sum(axis=_reduced_axes(x.ndim, axis), keepdims=True)
        share = expand_reduced(g, x.shape, axis, keepdims) / ties
        return ((hits * share).astype(g.dtype, copy=False),)
    return (x,), backward


def reshape_rule(out, x, *shape):
    """out = x.reshape(...) (also ``flatten``): g reshaped back to x's shape."""
    return (x,), lambda g: (np.reshape(g, x.shape),)


def transpose_rule(out, x, *axes):
    """out = x.transpose(*axes) (also ``.T``): g transposed by the inverse permutation."""
    if len(axes) == 1 and isinstance(axes[0], (tuple, list)):
        axes = tuple(axes[0])
    inverse = tuple(np.argsort([a % x.ndim for a in axes])) if axes else None
    return (x,), lambda g: (np.transpose(g, inverse),)


def _index_key(key):
    """An indexing key with Tensors replaced by their arrays (as ``Tensor.__getitem__`` does)."""
    if isinstance(key, Tensor):
        return key.data
    if isinstance(key, tuple):
        return tuple(k.data if isinstance(k, Tensor) else k for k in key)
    return key


def _has_integer_array(key):
    """True if the key holds an integer array or list: positions may repeat (fancy indexing)."""
    parts = key if isinstance(key, tuple) else (key,)
    return any(
        isinstance(k, (list, np.ndarray)) and np.asarray(k).dtype.kind in "iu" for k in parts
    )


def getitem_rule(out, x, key):
    """out = x[key]: g scattered into zeros of x's shape; repeated positions add up."""
    key = _index_key(key)

    def backward(g):
        full = np.zeros(x.shape, dtype=g.dtype)
        if _has_integer_array(key):
            np.add.at(full, key, g)
        else:
            full[key] += g
        return (full,)
    return (x,), backward


# %%
def test_unit_tensor_rules():
    unit_test("gradient rules of tensor operations")
    x = Tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    y = Tensor([10.0, 20.0], requires_grad=True)
    g = np.ones((2, 2), dtype=np.float32)
    gx, gy = mul_rule(None, x, y)[1](g)
    np.testing.assert_array_equal(gx, [[10, 20], [10, 20]])
    np.testing.assert_array_equal(gy, [4, 6])
    passed("mul: g·y for x, g·x summed over the broadcast rows for y")

    a, b = np.arange(6.0).reshape(2, 3), np.arange(12.0).reshape(3, 4)
    ga, gb = matmul_grads(np.ones((2, 4)), a, b)
    np.testing.assert_array_equal(ga, np.ones((2, 4)) @ b.T)
    np.testing.assert_array_equal(gb, a.T @ np.ones((2, 4)))
    ga1, gb1 = matmul_grads(np.array(1.0), np.array([1.0, 2.0]), np.array([3.0, 4.0]))
    np.testing.assert_array_equal(ga1, [3, 4])
    np.testing.assert_array_equal(gb1, [1, 2])
    passed("matmul: g @ bᵀ and aᵀ @ g, also for vector · vector")

    (gs,) = sum_rule(None, x, axis=0)[1](np.array([1.0, 2.0]))
    np.testing.assert_array_equal(gs, [[1, 2], [1, 2]])
    (gm,) = max_rule(Tensor(4.0), x)[1](np.array(1.0, dtype=np.float32))
    np.testing.assert_array_equal(gm, [[0, 0], [0, 1]])
    passed("sum copies g back; max sends it to the maximum")
    progress("tensor operation rules")


if __name__ == "__main__":
    test_unit_tensor_rules()

# %% [markdown]
# ## Step 4: The backward pass
#
# ### The concept
#
# `loss.backward()` must call each node's `backward` only after the gradient of its result is
# **complete**: a tensor used twice (say `h` feeding both a skip connection and a layer) gets
# gradient contributions from both uses, and they must be *added* before `h`'s own node passes
# the total on. A **topological order** guarantees that: list every tensor after all the tensors
# it was computed from, then walk the list backwards.
#
# ```
#     x ──► h ──► a ──┐               topological order:  x, h, a, L
#           │         ├──► L          backward walks:     L, a, h, x
#           └─────────┘               h receives g from a AND from L, summed, before h ─► x
# ```
#
# Gradients of leaves are **accumulated** into `.grad`: two `backward()` calls add up (that is
# how PyTorch works too, and why every training step starts with `optimizer.zero_grad()`).
# Intermediate results pass their gradients on and keep none, as in PyTorch.
#
# A depth-first search written with an explicit stack, not recursion, so that a graph deeper
# than Python's recursion limit (a long training loop on one graph, an RNN) still works.
#
# Cost: one visit per node and per edge, `O(nodes + edges)`, plus the rules' work.

# %%
#| export
def topological_order(root):
    """Every tensor that ``root`` was computed from and that requires grad, ``root`` last;
    each tensor comes after all of the inputs it was computed from.

    TODO: Depth-first search from root, appending a tensor once all its inputs are appended.

    APPROACH:
    1. order = [], visited = set() of ids, stack = [(root, False)].
    2. Pop (tensor, inputs_done). If inputs_done: append it to order. Otherwise, if not yet
       visited: mark it, push (tensor, True), then push (input, False) for each input of its
       node (``getattr(tensor, "_node", None)``) that ``needs_grad``.
    3. Return order.

    EXAMPLE:
    >>> x = Tensor([2.0], requires_grad=True); y = x * x; z = y + x
    >>> [t is x for t in topological_order(z)]
    [True, False, False]

    HINTS:
    - Use ``id(tensor)`` in the visited set: Tensors compare element-wise, not by identity.
    """
    ### BEGIN SOLUTION
    order, visited = [], set()
    stack = [(root, False)]
    while stack:
        tensor, inputs_done = stack.pop()
        if inputs_done:
            order.append(tensor)
            continue
        if id(tensor) in visited:
            continue
        visited.add(id(tensor))
        stack.append((tensor, True))
        node = getattr(tensor, "_node", None)
        if node is not None:
            stack.extend((x, False) for x in node.inputs if needs_grad(x) and id(x) not in visited)
    return order
    ### END SOLUTION


def _seed_gradient(tensor, gradient):
    """The gradient backward() starts from: ones for a one-element tensor, else the given one."""
    if gradient is None:
        if tensor.data.size != 1:
            raise ValueError(
                f"backward() without a gradient needs a one-element (scalar) output, got shape "
                f"{tensor.shape}; reduce it first (e.g. loss = out.sum()) or pass "
                f"gradient= an array of shape {tensor.shape}."
            )
        return np.ones_like(tensor.data)
    seed = np.asarray(_value(gradient), dtype=tensor.data.dtype)
    if seed.shape != tensor.shape:
        raise ValueError(
            f"backward(gradient=...) expects a gradient of the output's shape {tensor.shape}, "
            f"got shape {seed.shape}."
        )
    return seed


def _accumulate(leaf, grad):
    """Add ``grad`` into ``leaf.grad`` (a Tensor of the leaf's dtype), creating it the first time."""
    if leaf.grad is None:
        leaf.grad = Tensor(grad, dtype=leaf.data.dtype)
    else:
        leaf.grad.data += grad


def backward(tensor, gradient=None):
    """Fill ``.grad`` of every leaf that ``tensor`` depends on and that requires grad.

    ``tensor`` is usually a scalar loss; otherwise ``gradient`` (same shape) says how the
    scalar of interest depends on it. Gradients add to existing ``.grad`` values.

    TODO: Seed the gradient, then apply each node's rule in reverse topological order.

    APPROACH:
    1. A tensor that does not require grad has no graph: raise ``RuntimeError("backward() was
       called on a tensor that does not require grad, so no graph was recorded: create the
       parameters with requires_grad=True (and don't compute the loss under no_grad()).")``.
    2. grads = {id(tensor): _seed_gradient(tensor, gradient)}.
    3. For t in reversed(topological_order(tensor)): g = grads.pop(id(t), None); skip if None.
       - no node (a leaf): ``_accumulate(t, g)``;
       - else for each (input, input_grad) of ``zip(node.inputs, node.backward(g))``: if the
         input needs grad and input_grad is not None, add input_grad to grads[id(input)].

    EXAMPLE:
    >>> x = Tensor([3.0], requires_grad=True)
    >>> (x * x).sum().backward(); x.grad
    Tensor([6.], shape=(1,), dtype=float32)

    HINTS:
    - A tensor reached along two paths gets the sum of both contributions: add, don't overwrite.
    """
    ### BEGIN SOLUTION
    if not tensor.requires_grad:
        raise RuntimeError(
            "backward() was called on a tensor that does not require grad, so no graph was "
            "recorded: create the parameters with requires_grad=True (and don't compute the "
            "loss under no_grad())."
        )
    grads = {id(tensor): _seed_gradient(tensor, gradient)}
    for t in reversed(topological_order(tensor)):
        g = grads.pop(id(t), None)
        if g is None:
            continue
        node = getattr(t, "_node", None)
        if node is None:
            _accumulate(t, g)
            continue
        for x, gx in zip(node.inputs, node.backward(g)):
            if gx is None or not needs_grad(x):
                continue
            grads[id(x)] = grads[id(x)] + gx if id(x) in grads else gx
    ### END SOLUTION


# %%
def test_unit_backward_pass():
    unit_test("backward pass")
    x = Tensor([2.0], requires_grad=True)
    y = record(Tensor(x.data * x.data), (x, x), lambda g: (g * x.data, g * x.data), "MulBackward")
    z = record(Tensor(y.data + x.data), (y, x), lambda g: (g, g), "AddBackward")
    order = topological_order(z)
    assert [id(t) for t in order] == [id(x), id(y), id(z)]
    passed("topological order lists inputs before results")

    backward(z)
    np.testing.assert_array_equal(x.grad.data, [5.0])  # d(x² + x)/dx = 2x + 1
    passed("contributions along every path are added: d(x² + x)/dx = 2x + 1 = 5")
    backward(z)
    np.testing.assert_array_equal(x.grad.data, [10.0])
    passed("a second backward() accumulates into .grad")

    try:
        backward(record(Tensor([1.0, 2.0]), (x,), lambda g: (g[:1],), "Op"))
    except ValueError as error:
        assert "scalar" in str(error) and "(2,)" in str(error)
        passed("a non-scalar output without a gradient is a ValueError naming its shape")
    else:
        raise AssertionError("backward() on a non-scalar without gradient should raise ValueError")
    progress("backward pass")


if __name__ == "__main__":
    test_unit_backward_pass()

# %% [markdown]
# ## Step 5: Activations
#
# Each activation is element-wise, so its rule is `g` times its derivative at each element,
# best written with what the forward already computed:
#
# | activation | derivative                                 |
# |------------|--------------------------------------------|
# | ReLU       | `1` where `x > 0`, else `0`                |
# | LeakyReLU  | `1` where `x > 0`, else `negative_slope`   |
# | Sigmoid    | `s · (1 - s)` with `s = sigmoid(x)`, the output |
# | Tanh       | `1 - t²` with `t = tanh(x)`, the output    |
# | Softmax    | `s · (g - Σ g·s)` along its axis (its Jacobian `diag(s) - s sᵀ` applied to g) |
#
# ```
#    ReLU forward            ReLU backward: a gate
#   x:  -2  -1   0   1   2     g:   g₀ g₁ g₂ g₃ g₄
#   y:   0   0   0   1   2     ∂x:   0  0  0 g₃ g₄      (gradient only where x > 0)
# ```
#
# Using the output `s` instead of recomputing `sigmoid(x)` saves an exponential per element:
# backward then costs a few multiplications per element, far less than the matmuls around it.
#
# Layer rules have the signature `rule(out, layer, x) -> (inputs, backward)`; a layer's inputs
# are its input tensor followed by its parameters.

# %%
#| export
def relu_rule(out, layer, x):
    """ReLU: g passes where x > 0 and is 0 elsewhere.

    TODO: Return ``(x,)`` and a backward that gates g by ``x > 0``.

    APPROACH:
    1. backward(g) returns ``(g * (x.data > 0),)``: multiplying by a boolean mask keeps g's dtype.

    EXAMPLE:
    >>> from tinytorch.core.activations import ReLU
    >>> relu_rule(None, ReLU(), Tensor([-1.0, 2.0]))[1](np.array([5.0, 5.0]))
    (array([0., 5.]),)

    HINTS:
    - At exactly 0 PyTorch uses derivative 0; so does ``x > 0``.
    """
    ### BEGIN SOLUTION
    return (x,), lambda g: (g * (_value(x) > 0),)
    ### END SOLUTION


def leaky_relu_rule(out, layer, x):
    """LeakyReLU: g where x > 0, g * negative_slope elsewhere."""
    slope = layer.negative_slope
    return (x,), lambda g: (np.where(_value(x) > 0, g, g * slope),)


def sigmoid_rule(out, layer, x):
    """Sigmoid: g * s * (1 - s), s the output."""
    return (x,), lambda g: (g * out.data * (1 - out.data),)


def tanh_rule(out, layer, x):
    """Tanh: g * (1 - t**2), t the output."""
    return (x,), lambda g: (g * (1 - out.data * out.data),)


def softmax_rule(out, layer, x):
    """Softmax along layer.axis: s * (g - sum(g * s, axis))."""
    def backward(g):
        s = out.data
        return (s * (g - (g * s).sum(axis=layer.axis, keepdims=True)),)
    return (x,), backward


# %%
def test_unit_activation_rules():
    unit_test("activation rules")
    x = Tensor([-2.0, 0.0, 3.0], requires_grad=True)
    g = np.array([1.0, 1.0, 1.0], dtype=np.float32)
    np.testing.assert_array_equal(relu_rule(None, ReLU(), x)[1](g)[0], [0, 0, 1])
    passed("ReLU lets the gradient through only where x > 0")
    s = Sigmoid()(x)
    np.testing.assert_allclose(sigmoid_rule(s, None, x)[1](g)[0], s.data * (1 - s.data))
    passed("Sigmoid uses its output: s·(1-s)")
    soft = Softmax()(x)
    np.testing.assert_allclose(softmax_rule(soft, Softmax(), x)[1](g)[0], [0, 0, 0], atol=1e-7)
    passed("Softmax: a uniform gradient changes nothing (the outputs always sum to 1)")
    progress("activation rules")


if __name__ == "__main__":
    test_unit_activation_rules()

# %% [markdown]
# ## Step 6: Convolution and pooling, vectorised
#
# ### Conv2D backward
#
# The forward of module 06 copies every receptive field of the input into a column
# (**im2col**) and multiplies by the flattened filters: `out = W @ cols`, with `W` of shape
# `(F, C·kH·kW)` and `cols` of shape `(C·kH·kW, OH·OW)` per image. The backward is the matmul
# rule applied to that, plus one new step:
#
# * `∂L/∂b = Σ g` over batch and positions: `(F,)`. The forward made the bias the weight of a
#   row of ones in `cols`; keep that row in the backward and `∂L/∂b` comes out of the next
#   product as its last column, with no extra pass over `g`;
# * `∂L/∂W = g @ colsᵀ`, summed over the batch: each filter weight's gradient sums
#   `g × the input pixel it saw` over all `N·OH·OW` positions: `(F, C·kH·kW)` → `(F, C, kH, kW)`;
# * `∂L/∂cols = Wᵀ @ g`: the gradient of every *copy* of every input pixel. A pixel appears in
#   up to `kH·kW` receptive fields, so its gradient is the **sum over its copies**: **col2im**,
#   the inverse of im2col, a scatter-add.
#
# ```
#   input 3×4, kernel 2×2, stride 1       its six receptive fields (im2col rows)
#
#      a  b  c  d                         (0,0): a b e f    (0,1): b c f g    (0,2): c d g h
#      e [f] g  h                         (1,0): e f i j    (1,1): f g j k    (1,2): g h k l
#      i  j  k  l
#                                         pixel f has 4 copies, so col2im adds 4 gradients:
#   ∂L/∂f = ∂cols(0,0)[f] + ∂cols(0,1)[f] + ∂cols(1,0)[f] + ∂cols(1,1)[f]
#   (a corner pixel like a has one copy; each pixel gets one term per field that saw it)
# ```
#
# Instead of looping over `N·OH·OW` positions, col2im loops over the `kH·kW` kernel offsets
# `(i, j)`: offset `(i, j)` of every field maps to the strided slice
# `x[i : i + stride·OH : stride, j : j + stride·OW : stride]` — one vectorised `+=` of a whole
# block per offset. Nine `+=` for a 3×3 kernel, whatever the image size.
#
# **Memory layout matters here.** NumPy pays a fixed cost for every contiguous run of numbers
# it adds, and in `(N, C, H, W)` order a window row of one image is only `OW` numbers long —
# 4 in the digits CNN, so the `+=` would spend its time on bookkeeping. So col2im works with the
# **batch last**, `(C, H, W, N)`: the same window row of all `N` images is then one run of
# `OW·N` numbers (128 for a batch of 32). The pieces come out of one matmul already in that
# order, and one transposed copy at the end gives the `(N, C, H, W)` gradient:
#
# ```
#   pieces (kH·kW·C, OH·OW·N) = W_rows (kH·kW·C, F) @ g (F, OH·OW·N)      g: grad_out, batch last
#   target (C, Hp, Wp, N):   target[:, i:i+OH, j:j+OW, :] += pieces[i, j]     for each offset
#   grad_x (N, C, H, W) = target without its padding, batch first again
# ```
#
# **Cost**: two matmuls of the forward's size (`N·OH·OW·F·C·kH·kW` MACs each), so backward is
# about twice the forward, plus the im2col copy (`N·OH·OW·C·kH·kW` numbers, 4 bytes each:
# 30 MB for a (128, 3, 32, 32) batch through 5×5 filters) and two transposed copies of the
# size of the output and the input. Padding is the forward's: a number, `"valid"`, or `"same"`
# (`padding_sides` of module 06 turns each into the zeros on each side, which col2im's target
# has and the gradient drops).

# %%
#| export
def col2im_add(target, pieces, stride):
    """Scatter-add ``pieces`` (kH, kW, C, OH, OW, N) into ``target`` (C, Hp, Wp, N), batch last:
    the piece at kernel offset (i, j) of output position (oh, ow) lands on pixel
    (oh·sh + i, ow·sw + j). Returns ``target``."""
    sh, sw = to_pair(stride, "stride")
    kh, kw, _, oh, ow, _ = pieces.shape
    for i in range(kh):
        for j in range(kw):
            target[:, i:i + sh * oh:sh, j:j + sw * ow:sw] += pieces[i, j]
    return target


def _padded_zeros(x_shape, sides, dtype):
    """Zeros (C, top + H + bottom, left + W + right, N) for an input (N, C, H, W): col2im's target."""
    (top, bottom), (left, right) = sides
    n, c, h, w = x_shape
    return np.zeros((c, top + h + bottom, left + w + right, n), dtype=dtype)


def conv2d_backward(grad_out, x, weight, stride=1, padding=0, need_input_grad=True):
    """Gradients of a batched convolution for the upstream gradient of its output.

    grad_out (N, F, OH, OW), x (N, C, H, W), weight (F, C, kH, kW); ``padding`` as in the
    forward (a number, an (h, w) pair, "valid" or "same")
    -> (grad_x (N, C, H, W) or None, grad_weight (F, C, kH, kW), grad_bias (F,)).

    TODO: Compute the bias, weight and input gradients without Python loops over positions.

    APPROACH:
    1. ``sides = padding_sides(padding, (kH, kW), stride)`` (module 06);
       ``grads`` starts as zeros (F, C·kH·kW + 1): the weight gradient and, as its last
       column, the bias gradient (the bias is the weight of a row of ones, as in the forward);
       grad_x is an empty array of x's shape; ``W_rows = weight.transpose(2, 3, 1, 0)
       .reshape(kH·kW·C, F)``.
    2. Work through the batch in chunks of n images (``images_per_chunk`` of module 06: columns
       of about ``COLUMN_CHUNK_BYTES``, as in the forward), with one buffer for the columns,
       ``cols`` (C·kH·kW + 1, OH·OW·chunk), its last row ones. For each chunk:
       - g = its grad_out batch last, as a matrix (F, OH·OW·n) — the column order of im2col:
         ``to_batch_last(grad_out[part]).reshape(F, -1)`` (module 06);
       - ``im2col(x[part], (kH, kW), stride, sides, out=cols[:-1, :OH·OW·n])`` (module 06) and
         add ``matmul(g, cols[:, :OH·OW·n].T)`` to grads;
       - if the input gradient is needed: ``pieces = matmul(W_rows, g)`` reshaped to
         (kH, kW, C, OH, OW, n): the gradient of every copy. Scatter-add them with
         ``col2im_add`` into ``_padded_zeros(x[part].shape, sides, dtype)`` and store
         ``to_batch_first(target, sides)`` (module 06) in ``grad_x[part]``.
    3. Return grad_x (None if not needed), grads[:, :-1] reshaped to the weight's shape, and
       grads[:, -1].

    EXAMPLE:
    >>> gx, gw, gb = conv2d_backward(np.ones((1, 1, 2, 2)), np.ones((1, 1, 3, 3)), np.ones((1, 1, 2, 2)))
    >>> gx[0, 0]
    array([[1., 2., 1.],
           [2., 4., 2.],
           [1., 2., 1.]])

    HINTS:
    - The centre pixel of a 3×3 input lies in all four 2×2 fields: gradient 4.
    - Check each product's shapes: (F, OH·OW·N) @ (OH·OW·N, C·kH·kW) = (F, C·kH·kW).
    - ``matmul`` (``tinytorch.utils.threads``) is ``@`` on the thread count that pays.
    - One chunk of all N images gives the same numbers (up to rounding); chunks keep the
      columns and pieces in the CPU cache instead of allocating 30 MB for a CIFAR batch.
    """
    ### BEGIN SOLUTION
    n, f, oh, ow = grad_out.shape
    c, kh, kw = weight.shape[1:]
    sides = padding_sides(padding, (kh, kw), stride)
    dtype = np.result_type(grad_out, x, weight)
    rows = c * kh * kw
    grads = np.zeros((f, rows + 1), dtype)                   # weight gradient | bias gradient
    grad_x = np.empty(x.shape, dtype) if need_input_grad else None
    w_rows = weight.transpose(2, 3, 1, 0).reshape(kh * kw * c, f)
    chunk = images_per_chunk(n, rows + 1, oh * ow, dtype)
    cols = np.empty((rows + 1, oh * ow * chunk), dtype)
    cols[rows:] = 1                                          # the bias's constant input
    for start in range(0, n, chunk):
        part = slice(start, start + chunk)
        g = to_batch_last(grad_out[part]).reshape(f, -1)               # (F, OH·OW·n)
        width = g.shape[1]
        im2col(x[part], (kh, kw), stride, sides, out=cols[:rows, :width])
        grads += matmul(g, cols[:, :width].T)
        if need_input_grad:
            pieces = matmul(w_rows, g).reshape(kh, kw, c, oh, ow, -1)
            target = col2im_add(_padded_zeros(x[part].shape, sides, dtype), pieces, stride)
            grad_x[part] = to_batch_first(target, sides)
    return grad_x, grads[:, :rows].reshape(weight.shape), grads[:, rows].copy()
    ### END SOLUTION


# %% [markdown]
# ### Pooling
#
# **Max pooling** passes each window's gradient to the one input that was the maximum (the
# first one on a tie, as PyTorch does); the others get 0. The forward's output tells which: in
# each window, the first pixel equal to it. Which pixel of the input that is needs one idea:
# **number every pixel** of the padded input, `0 … size−1`. Window `(i, j)` starts at pixel
# number `corner = (i·sh)·Wp + j·sw` of its image and channel, and its offset `(di, dj)` lies
# `di·Wp + dj` further. So each window's maximum has a pixel number, and
# `np.bincount(numbers, weights=g)` adds every window's `g` at its number: a scatter-add in one
# call, where windows that overlap (stride < kernel) add up, as they must.
#
# ```
#   padded input (Wp = 4), numbered    a window's maximum     its g lands there
#    0  1 | 2  3                        at offset (1, 0):      (bincount)
#    4  5 | 6  7                        corner 0 + 1·4 + 0
#   ------+------                       = pixel 4
#    8  9 |10 11
#   12 13 |14 15
# ```
#
# **Average pooling** spreads each window's gradient evenly: `g / (kH·kW)` to each of its
# `kH·kW` inputs: col2im again, with all pieces equal.
#
# **Flatten** needs no rule of its own: it calls the Tensor's `reshape` (module 06's HINT), and
# `reshape_rule` sends the gradient back in the input's shape.
#
# Cost: `kH·kW` comparisons per output for max pooling and one scatter; one pass over the
# `N·C·OH·OW·kH·kW` window elements for average pooling; no multiplications worth counting.

# %%
#| export
def max_pool2d_backward(grad_out, x, kernel_size, stride=None, padding=0, out=None):
    """Gradient of max pooling: each window's g goes to its (first) maximum.

    grad_out (N, C, OH, OW), x (N, C, H, W) -> grad_x (N, C, H, W), grad_out's dtype. ``out``
    is the forward's result (N, C, OH, OW) when the caller has it; otherwise it is recomputed.

    TODO: Find the pixel number of each window's first maximum and add the window's g there.

    APPROACH:
    1. ``kernel = to_pair(kernel_size, ...)``, ``stride`` (the kernel when None),
       ``sides = padding_sides(padding, kernel)``; ``out = max_pool2d_forward(x, kernel,
       stride, padding)`` (module 06) unless it was given; ``xp = pad2d(x, sides,
       value=-np.inf)``.
    2. Number the pixels of xp, ``np.arange(xp.size).reshape(xp.shape)``: the windows'
       corners are the first of its ``offset_views`` (module 06); copy them into ``at``.
    3. ``offset_views(xp, kernel, stride, (OH, OW))`` yields, offset by offset in order
       (index ``di·kW + dj``), that pixel of every window. Where it equals ``out`` in a window
       that has no maximum yet (keep an ``unclaimed`` mask, all True at first), that is the
       window's first maximum: ``at += first * (di·Wp + dj)`` and take it out of ``unclaimed``.
    4. ``np.bincount(at.ravel(), weights=grad_out.ravel(), minlength=xp.size)`` adds every g
       at its pixel number; reshape it to xp's shape, drop the padding, and return it as
       grad_out's dtype.

    EXAMPLE:
    >>> max_pool2d_backward(np.ones((1, 1, 1, 1)), np.array([[[[1.0, 3.0], [2.0, 0.0]]]]), 2)
    array([[[[0., 1.],
             [0., 0.]]]])

    HINTS:
    - ``np.bincount`` adds up the weights of a repeated number: windows that overlap (stride <
      kernel size) and share a maximum both send their g to it.
    - The padding is −∞, so it never equals the maximum of a window holding a finite pixel.
    """
    ### BEGIN SOLUTION
    kernel = to_pair(kernel_size, "kernel_size")
    stride = kernel if stride is None else to_pair(stride, "stride")
    sides = padding_sides(padding, kernel)
    if out is None:
        out = max_pool2d_forward(x, kernel, stride, padding)
    xp = pad2d(np.asarray(x, dtype=out.dtype), sides, value=-np.inf)
    out_size, kw = out.shape[2:], kernel[1]
    Hp, Wp = xp.shape[2:]
    numbers = np.arange(xp.size).reshape(xp.shape)
    at = np.array(next(offset_views(numbers, kernel, stride, out_size)))      # the corners
    unclaimed = np.ones(out.shape, bool)
    for index, view in enumerate(offset_views(xp, kernel, stride, out_size)):
        first = view == out
        first &= unclaimed
        unclaimed ^= first
        di, dj = divmod(index, kw)
        at += first * (di * Wp + dj)
    grad = np.bincount(at.ravel(), weights=grad_out.ravel(), minlength=xp.size).reshape(xp.shape)
    (top, bottom), (left, right) = sides
    return grad[:, :, top:Hp - bottom, left:Wp - right].astype(grad_out.dtype)
    ### END SOLUTION


def avg_pool2d_backward(grad_out, x_shape, kernel_size, stride=None, padding=0):
    """Gradient of average pooling (zero padding counted, as in the forward): g / (kH·kW)
    to every input of each window. grad_out (N, C, OH, OW) -> grad_x of ``x_shape``."""
    kh, kw = to_pair(kernel_size, "kernel_size")
    stride = (kh, kw) if stride is None else stride
    sides = padding_sides(padding, (kh, kw))
    share = to_batch_last(grad_out / (kh * kw))
    pieces = np.broadcast_to(share, (kh, kw) + share.shape)
    target = col2im_add(_padded_zeros(x_shape, sides, share.dtype), pieces, stride)
    return to_batch_first(target, sides)


# %% [markdown]
# The layer rules adapt these array functions to the layers of module 06: an unbatched
# `(C, H, W)` input is treated as a batch of one, and the rule asks for the input gradient
# only when the input needs it (the images fed to the first layer never do).

# %%
#| export
def _batched(array):
    """(C, H, W) -> (1, C, H, W); (N, C, H, W) unchanged."""
    return array if array.ndim == 4 else array[None]


def _like_input(grad, x):
    """A batched gradient back in the input's own rank."""
    return grad if np.ndim(_value(x)) == 4 else grad[0]


def conv2d_rule(out, layer, x):
    """Conv2D: inputs (x, weight, bias); gradients from ``conv2d_backward``."""
    weight, bias = layer.weight, layer.bias

    def backward(g):
        gx, gw, gb = conv2d_backward(
            _batched(g), _batched(np.asarray(_value(x))), weight.data,
            layer.stride, layer.padding, need_input_grad=needs_grad(x),
        )
        return (
            _like_input(gx, x) if gx is not None else None,
            gw if needs_grad(weight) else None,
            gb if needs_grad(bias) else None,
        )
    return (x, weight, bias), backward


def max_pool2d_rule(out, layer, x):
    """MaxPool2D: the input gets g at each window's maximum."""
    def backward(g):
        grad = max_pool2d_backward(_batched(g), _batched(np.asarray(_value(x))), layer.kernel_size,
                                   layer.stride, layer.padding, out=_batched(out.data))
        return (_like_input(grad, x),)
    return (x,), backward


def avg_pool2d_rule(out, layer, x):
    """AvgPool2D: the input gets g / (kH·kW) from every window it is in."""
    def backward(g):
        shape = _batched(np.asarray(_value(x))).shape
        grad = avg_pool2d_backward(_batched(g), shape, layer.kernel_size,
                                   layer.stride, layer.padding)
        return (_like_input(grad, x),)
    return (x,), backward


POOL_RULES = {"max_pool2d_forward": max_pool2d_rule, "avg_pool2d_forward": avg_pool2d_rule}


def pool2d_rule(out, layer, x):
    """MaxPool2D and AvgPool2D share one forward in module 06: the pooling function the layer
    calls (its ``_forward``) picks the rule."""
    return POOL_RULES[layer._forward.__name__](out, layer, x)


# %%
def test_unit_conv_pool_backward():
    unit_test("Conv2D / pooling backward")
    gx, gw, gb = conv2d_backward(np.ones((1, 1, 2, 2)), np.ones((1, 1, 3, 3)), np.ones((1, 1, 2, 2)))
    np.testing.assert_array_equal(gx[0, 0], [[1, 2, 1], [2, 4, 2], [1, 2, 1]])
    np.testing.assert_array_equal(gw[0, 0], [[4, 4], [4, 4]])
    np.testing.assert_array_equal(gb, [4])
    passed("col2im adds the gradient of every copy of a pixel (centre: 4 copies)")

    rng = np.random.default_rng(0)
    x = rng.normal(size=(2, 3, 5, 5))
    w = rng.normal(size=(4, 3, 3, 3))
    g = rng.normal(size=(2, 4, 3, 3))
    gx, gw, _ = conv2d_backward(g, x, w, stride=2, padding=1)
    xp = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)))
    loop_gw = np.zeros_like(w)
    loop_gxp = np.zeros_like(xp)
    for oh in range(3):
        for ow in range(3):
            field = xp[:, :, 2 * oh:2 * oh + 3, 2 * ow:2 * ow + 3]
            loop_gw += np.einsum("nf,nchw->fchw", g[:, :, oh, ow], field)
            loop_gxp[:, :, 2 * oh:2 * oh + 3, 2 * ow:2 * ow + 3] += np.einsum("nf,fchw->nchw", g[:, :, oh, ow], w)
    np.testing.assert_allclose(gw, loop_gw, atol=1e-12)
    np.testing.assert_allclose(gx, loop_gxp[:, :, 1:-1, 1:-1], atol=1e-12)
    passed("stride 2, padding 1: equal to a loop over output positions")

    x = np.array([[[[1.0, 3.0], [2.0, 0.0]]]])
    np.testing.assert_array_equal(max_pool2d_backward(np.ones((1, 1, 1, 1)), x, 2),
                                  [[[[0, 1], [0, 0]]]])
    np.testing.assert_array_equal(avg_pool2d_backward(np.ones((1, 1, 1, 1)), (1, 1, 2, 2), 2),
                                  np.full((1, 1, 2, 2), 0.25))
    passed("max pooling routes g to the maximum; average pooling shares it")
    progress("Conv2D / pooling backward")


if __name__ == "__main__":
    test_unit_conv_pool_backward()

# %% [markdown]
# ## Step 7: Bringing the Tensor to life
#
# ### The concept
#
# Module 02 left autograd one slot. Every primitive operation of the Tensor is marked
# `@differentiable`, and so is the `forward` of every activation (module 03) and of Conv2D and
# the pooling layers (module 06). Without an engine in the slot, the mark only calls the
# operation. The engine below is what `enable_autograd()` puts there. For each marked call it
#
# 1. looks up the operation's rule by the operation's name in `RULES`: one table, the complete
#    list of what autograd knows how to differentiate;
# 2. runs the operation with recording **off**, so the value is module 02's bit for bit, and an
#    operation built from other operations (a layer's forward) records one node, not many;
# 3. calls the rule and `record`s the node.
#
# ```
#   t + u ─► @differentiable ─► engine.run("Tensor.__add__", Tensor.__add__, (t, u), {}):
#                                   out = Tensor.__add__(t, u)            # recording off
#                                   inputs, backward = add_rule(out, t, u)
#                                   return record(out, inputs, backward, "AddBackward")
# ```
#
# Everything else is plain Python that calls marked operations, and those record themselves:
# `Dense` computes `x @ W + b` with tensor operations, `Sequential` calls its layers, `flatten`
# calls `reshape`, and `matmul`, `.T` and `flatten()` of the Tensor call `__matmul__`,
# `transpose` and `reshape`. None of them needs a line here. Neither does a subclass that
# overrides `forward`: `super().forward(x) * 2` records the parent's node, then a `MulBackward`.
# And since rules are found by the operation's name, not its class, the `Conv2D` you import
# from your own `cnn_dev.py` gets the same rule as the package's.
#
# What the engine cannot follow is arithmetic on `.data` arrays: a layer whose `forward` works
# on arrays and wraps the result in a new `Tensor` cuts its parameters out of the graph, and the
# network would train every layer but that one. So module 04's `Layer.__call__` shows each
# layer's result to the engine, and `check_layer_output` refuses a floating result without a
# graph from a layer whose parameters require grad, with a `RuntimeError` that says what to do.
#
# `enable_autograd()` installs a fresh engine (a re-run notebook cell picks up your edited
# rules); `disable_autograd()` empties the slot: operations only compute again, and
# `backward()` is dormant, as module 02 wrote it.
#
# This is the **define-by-run** design of PyTorch: there is no separate graph-building step;
# the graph *is* the record of what your Python code happened to do, loops and ifs included.

# %%
#| export
RULES = {  # an operation's name (what @differentiable calls it) -> (its rule, its node's name)
    "Tensor.__add__": (add_rule, "AddBackward"),
    "Tensor.__radd__": (add_rule, "AddBackward"),
    "Tensor.__sub__": (sub_rule, "SubBackward"),
    "Tensor.__rsub__": (rsub_rule, "SubBackward"),
    "Tensor.__mul__": (mul_rule, "MulBackward"),
    "Tensor.__rmul__": (mul_rule, "MulBackward"),
    "Tensor.__truediv__": (truediv_rule, "DivBackward"),
    "Tensor.__rtruediv__": (rtruediv_rule, "DivBackward"),
    "Tensor.__pow__": (pow_rule, "PowBackward"),
    "Tensor.__neg__": (neg_rule, "NegBackward"),
    "Tensor.__matmul__": (matmul_rule, "MatMulBackward"),
    "Tensor.__rmatmul__": (rmatmul_rule, "MatMulBackward"),
    "Tensor.sum": (sum_rule, "SumBackward"),
    "Tensor.mean": (mean_rule, "MeanBackward"),
    "Tensor.max": (max_rule, "MaxBackward"),
    "Tensor.reshape": (reshape_rule, "ReshapeBackward"),
    "Tensor.transpose": (transpose_rule, "TransposeBackward"),
    "Tensor.__getitem__": (getitem_rule, "IndexBackward"),
    "ReLU.forward": (relu_rule, "ReLUBackward"),
    "LeakyReLU.forward": (leaky_relu_rule, "LeakyReLUBackward"),
    "Sigmoid.forward": (sigmoid_rule, "SigmoidBackward"),
    "Tanh.forward": (tanh_rule, "TanhBackward"),
    "Softmax.forward": (softmax_rule, "SoftmaxBackward"),
    "Conv2D.forward": (conv2d_rule, "Conv2DBackward"),
    "_Pool2D.forward": (pool2d_rule, "Pool2DBackward"),
}


class Autograd:
    """The engine in module 02's slot: it runs every ``@differentiable`` operation and records
    a graph node for it, runs ``Tensor.backward``, and checks what layers return."""

    def run(self, name, operation, args, kwargs):
        """``operation(*args, **kwargs)``, recorded with its rule ``RULES[name]``.

        Without a rule, or under ``no_grad()``, the operation just runs (with recording on,
        the marked operations inside it record themselves).
        """
        entry = RULES.get(name)
        if entry is None or not GRAD_MODE.enabled:
            return operation(*args, **kwargs)
        GRAD_MODE.enabled = False  # one node for this call, none for the operations inside it
        try:
            out = operation(*args, **kwargs)
        finally:
            GRAD_MODE.enabled = True
        if not isinstance(out, Tensor):
            return out
        rule, node_name = entry
        inputs, backward_fn = rule(out, *args, **kwargs)
        return record(out, inputs, backward_fn, node_name)

    def backward(self, tensor, gradient=None):
        """``tensor.backward(gradient)``: the backward pass of Step 4."""
        backward(tensor, gradient)

    def check_layer_output(self, layer, out):
        """``out``, what ``layer(...)`` returned (module 04's ``Layer.__call__`` asks).

        While recording, a floating result with no graph from a layer whose parameters require
        grad means its forward computed on arrays: those parameters would silently get no
        gradient, so that is a RuntimeError.
        """
        if (not GRAD_MODE.enabled or not isinstance(out, Tensor) or out.requires_grad
                or out.data.dtype.kind != "f" or not layer.parameters()):
            return out
        raise RuntimeError(
            f"{type(layer).__name__}.forward returned a tensor that autograd cannot trace back to "
            f"the layer's parameters, so they would get no gradient. Compute it with tensor "
            f"operations and layer calls (e.g. super().forward(x)), not on .data arrays."
        )


def enable_autograd():
    """Put a fresh engine in module 02's slot: from now on operations record. Safe to call again."""
    set_autograd(Autograd())


def disable_autograd():
    """Empty module 02's slot: operations only compute, and backward() is dormant again."""
    set_autograd(None)


def is_autograd_enabled():
    """True when an autograd engine is in module 02's slot."""
    return get_autograd() is not None


enable_autograd()

# %%
def test_unit_enable_autograd():
    unit_test("enable_autograd")
    x = Tensor([[1.0, -2.0], [3.0, 4.0]], requires_grad=True)
    w = Tensor([[0.5], [-1.0]], requires_grad=True)
    loss = ReLU()(x @ w).sum()
    assert loss.grad_fn.name == "SumBackward" and not loss.is_leaf and x.is_leaf
    loss.backward()
    # x @ w = [[2.5], [-2.5]]: only row 0 passes the ReLU
    np.testing.assert_array_equal(x.grad.data, [[0.5, -1.0], [0.0, 0.0]])
    np.testing.assert_array_equal(w.grad.data, [[1.0], [-2.0]])
    passed("x @ w -> ReLU -> sum gives the hand-computed gradients")

    class DoubledReLU(ReLU):
        def forward(self, x):
            return super().forward(x) * 2

    z = Tensor([-1.0, 3.0], requires_grad=True)
    DoubledReLU()(z).sum().backward()
    np.testing.assert_array_equal(z.grad.data, [0.0, 2.0])
    passed("a subclass that overrides forward records what it calls: ReLU, then * 2")

    enable_autograd()
    before = (x * 3 + 1).data.copy()
    disable_autograd()
    after = (x * 3 + 1)
    assert after.grad_fn is None and np.array_equal(before, after.data)
    enable_autograd()
    passed("enabling is idempotent, disabling restores module 02, values are identical")

    with no_grad():
        y = x * 2
    assert not y.requires_grad and y.grad_fn is None
    passed("no_grad() results hold no graph")
    progress("enable_autograd")


if __name__ == "__main__":
    test_unit_enable_autograd()

# %% [markdown]
# ## Step 8: Gradient checking
#
# ### The concept
#
# How do you know a rule is right? Compare it with the definition of a derivative. For a scalar
# function `f` and a tiny `ε`, the **central difference**
#
# ```
#   ∂f/∂xᵢ ≈ ( f(x + ε·eᵢ) - f(x - ε·eᵢ) ) / (2ε)          error O(ε²)
#
#        f │        ╱   slope of the chord through x-ε and x+ε
#          │      ●     ≈ slope of the tangent at x
#          │    ╱ ·
#          │  ●   ·
#          └──────┼───────
#              x-ε x x+ε
# ```
#
# is accurate to `O(ε²)`. In float64 with `ε = 1e-6` it agrees with a correct analytic gradient
# to about 7-9 digits; a wrong rule is off by far more. Float32 has only ~7 digits in total, so
# gradient checks always run in float64.
#
# **Cost**: two evaluations of `f` per input element: `2·n` forward passes for `n` numbers.
# That is why it checks rules on small tensors and never trains networks: for the milestone CNN
# (~30,000 parameters) one numerical gradient would take 60,000 forwards; backward takes ~2.
#
# `gradcheck` runs an operation, reduces its output with fixed random weights (so every output
# element matters, with a different weight), and compares `backward()` with the central
# differences for every listed tensor.

# %%
#| export
def numerical_gradient(f, x, eps=1e-6):
    """Central-difference gradient of a scalar function ``f()`` with respect to the array ``x``.

    ``f`` takes no arguments and reads ``x`` (which is changed in place and restored);
    returns an array of x's shape: (f(x + eps·eᵢ) - f(x - eps·eᵢ)) / (2·eps) at each i.

    TODO: Nudge each element up and down by eps and take the difference quotient.

    APPROACH:
    1. grad = np.zeros_like(x); flat = x.reshape(-1) (a view: x must be contiguous).
    2. For each i: keep old = flat[i]; set old + eps, call f; set old - eps, call f;
       restore old; grad.flat[i] = (f_plus - f_minus) / (2 * eps).

    EXAMPLE:
    >>> x = np.array([3.0])
    >>> numerical_gradient(lambda: float((x ** 2).sum()), x)
    array([6.])

    HINTS:
    - Always restore the element, or the next ones are measured at a different point.
    """
    ### BEGIN SOLUTION
    grad = np.zeros_like(x)
    flat = x.reshape(-1)
    assert np.shares_memory(flat, x), "numerical_gradient needs a contiguous array"
    for i in range(flat.size):
        old = flat[i]
        flat[i] = old + eps
        f_plus = float(f())
        flat[i] = old - eps
        f_minus = float(f())
        flat[i] = old
        grad.flat[i] = (f_plus - f_minus) / (2 * eps)
    return grad
    ### END SOLUTION


def gradcheck(fn, tensors, eps=1e-6, atol=1e-6, rtol=1e-5, seed=0):
    """Check ``backward()`` against central differences for every tensor in ``tensors``.

    ``fn()`` computes an output Tensor from the tensors (float64, requires_grad=True).
    Returns True, or raises AssertionError naming the tensor and the largest difference.
    """
    weights = np.random.default_rng(seed).normal(size=fn().shape)
    for t in tensors:
        t.grad = None
    fn().backward(weights)
    scalar = lambda: float((fn().data * weights).sum())
    for index, t in enumerate(tensors):
        with no_grad():
            expected = numerical_gradient(scalar, t.data, eps)
        got = np.zeros_like(t.data) if t.grad is None else t.grad.data
        if not np.allclose(got, expected, atol=atol, rtol=rtol):
            worst = np.max(np.abs(got - expected))
            raise AssertionError(
                f"gradient of tensor {index} (shape {t.shape}) differs from central differences "
                f"by up to {worst:.3g}:\nbackward():\n{got}\nnumerical:\n{expected}"
            )
    return True


# %%
def test_unit_gradcheck():
    unit_test("gradient checking")
    x = np.array([1.0, -2.0, 3.0])
    np.testing.assert_allclose(numerical_gradient(lambda: float((x ** 3).sum()), x), 3 * x ** 2, rtol=1e-8)
    assert x.tolist() == [1.0, -2.0, 3.0]
    passed("central differences match 3x² and leave x unchanged")

    rng = np.random.default_rng(1)
    a = Tensor(rng.normal(size=(3, 4)), dtype=np.float64, requires_grad=True)
    b = Tensor(rng.normal(size=(4,)), dtype=np.float64, requires_grad=True)
    assert gradcheck(lambda: Tanh()((a * b + a / (b * b + 1)) @ b), [a, b])
    passed("mul, div, add, matmul and Tanh agree with finite differences")

    wrong = Tensor([2.0], dtype=np.float64, requires_grad=True)
    try:
        gradcheck(lambda: record(Tensor(wrong.data ** 2, dtype=np.float64), (wrong,),
                                 lambda g: (g * wrong.data,), "WrongSquare"), [wrong])
    except AssertionError as error:
        assert "differs" in str(error)
        passed("a wrong rule (x instead of 2x) is caught")
    else:
        raise AssertionError("gradcheck should reject a wrong rule")
    progress("gradient checking")


if __name__ == "__main__":
    test_unit_gradcheck()

# %% [markdown]
# ## The package's API
#
# The rules, `RULES` and the engine are autograd's insides: only the engine calls them. So
# `__all__`, what `from tinytorch.core.autograd import *` and `help()` show a library user,
# names the graph, the backward pass, the array-level gradients and the checks; the rules stay
# importable by name (the tests call them) without being advertised.

# %%
#| export
__all__ = [
    "no_grad", "is_grad_enabled", "Node", "record", "unbroadcast", "matmul_grads",
    "topological_order", "backward", "col2im_add", "conv2d_backward", "max_pool2d_backward",
    "avg_pool2d_backward", "enable_autograd", "disable_autograd", "is_autograd_enabled",
    "numerical_gradient", "gradcheck",
]

# %% [markdown]
# ## Putting it together: one gradient-descent step by hand
#
# With autograd, training is three lines in a loop: compute the loss, call `backward()`, move
# each parameter a little against its gradient. Module 09 packs the last line into optimizers;
# here it is written out, to fit a line `y = 2x + 1` from four points.

# %%
if __name__ == "__main__":
    from tinytorch.core.layers import Dense
    from tinytorch.utils.feedback import info

    np.random.seed(0)
    line = Dense(1, 1)
    xs = Tensor([[0.0], [1.0], [2.0], [3.0]])
    ys = Tensor([[1.0], [3.0], [5.0], [7.0]])
    for step in range(61):
        loss = ((line(xs) - ys) ** 2).mean()
        line.weight.grad = line.bias.grad = None
        loss.backward()
        with no_grad():
            for p in line.parameters():
                p.data -= 0.1 * p.grad.data
        if step % 15 == 0:
            info(f"step {step:3d}: loss {loss.item():.5f}")
    info(f"learned y = {line.weight.data.item():.3f}·x + {line.bias.data.item():.3f}")

# %% [markdown]
# ## Summary
#
# * A **graph** of `Node`s is recorded while the forward runs (define-by-run), only where some
#   input requires grad, and never under `no_grad()`.
# * `backward()` walks it in reverse **topological order**, applying one **rule** per operation
#   and **adding** contributions; leaves **accumulate** `.grad` until zeroed.
# * Broadcasting is undone by **summing** (`unbroadcast`); reductions **copy back**; matmul's
#   rule is two matmuls; Conv2D's is two matmuls plus **col2im**, a scatter-add over the
#   `kH·kW` kernel offsets.
# * **Cost**: backward ≈ 2× the forward's FLOPs, and every intermediate activation stays in
#   memory until it runs.
# * **Gradient checking** with central differences in float64 is how every rule is verified.
#
# Next, module 09 turns gradients into updates (`SGD`, `Adam`), and module 10 wraps it all into
# a training loop.
