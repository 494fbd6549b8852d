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
# # Module 02: Tensor — the one data structure everything else stands on
#
# Every number a neural network touches — an image, a weight matrix, a batch of
# predictions, a gradient — lives in a **tensor**: an n-dimensional array of numbers
# of one type. In this module you build `Tensor`, TinyTorch's version of
# `torch.Tensor`. Every later module (activations, layers, convolutions, autograd,
# training) is written in terms of it, so its interface is fixed from day one.
#
# ## What you will build
#
# ```python
# from tinytorch.core.tensor import Tensor
#
# x = Tensor([[1, 2, 3], [4, 5, 6]])     # integers stay integers
# w = Tensor([[0.5], [1.0], [2.0]])      # floats are stored as float32
# y = x @ w + 1                          # matmul, then broadcasting
# print(y)                               # Tensor([[ 9.5], [20. ]], shape=(2, 1), dtype=float32)
# y.sum(), y.mean(axis=0), y.reshape(1, 2), y.T
# ```
#
# ## Learning objectives
#
# - Know what a tensor *is* in memory: one flat buffer, a shape and a dtype.
# - Build `Tensor` on top of a NumPy `ndarray`, with PyTorch's dtype rules.
# - Implement arithmetic with **broadcasting**, matrix multiplication, reductions
#   and shape operations — and know what each one costs.
# - Reject bad input early with errors that say what was expected.

# %%
#| default_exp core.tensor

# %%
#| export
import functools
import numbers

import numpy as np

from tinytorch.utils.threads import matmul

# %% [markdown]
# ## 1. What is a tensor?
#
# A tensor is a grid of numbers with a **rank** (number of axes, `ndim`) and a
# **shape** (the length of each axis):
#
# ```
# rank 0  scalar   5.0                         shape ()
# rank 1  vector   [1, 2, 3]                   shape (3,)
# rank 2  matrix   [[1, 2, 3],                 shape (2, 3)
#                   [4, 5, 6]]
# rank 3  image    3 channels × 32 × 32        shape (3, 32, 32)        (C, H, W)
# rank 4  batch    64 images                   shape (64, 3, 32, 32)    (N, C, H, W)
# ```
#
# The rank-4 layout `(N, C, H, W)` — batch, channels, height, width — is the one
# the CNN module uses for images.
#
# ### In memory: one flat buffer
#
# However many axes it has, a tensor is stored as **one contiguous block** of
# numbers; the shape only says how to read it:
#
# ```
# shape (2, 3), row-major ("C order"):
#
#   [[1, 2, 3],        memory:  | 1 | 2 | 3 | 4 | 5 | 6 |
#    [4, 5, 6]]                   row 0 ----   row 1 ----
#
# element [i, j] lives at offset i*3 + j   (the "strides" are (3, 1) elements)
# ```
#
# That is why `reshape` is nearly free (same buffer, new shape), and why the memory
# a tensor needs is simply
#
# ```
# bytes = size × itemsize        size = product of the shape
# ```
#
# | dtype   | itemsize | a (64, 3, 32, 32) batch |
# |---------|----------|-------------------------|
# | float64 | 8 bytes  | 1.57 MB                 |
# | float32 | 4 bytes  | 0.79 MB                 |
# | int64   | 8 bytes  | 1.57 MB                 |
#
# ### Why float32?
#
# Deep learning does not need 16 significant digits: float32 (about 7) is plenty
# for weights and gradients, takes half the memory of float64 and is about twice as
# fast on the same hardware (twice as many numbers per cache line and per SIMD
# instruction). So, like PyTorch, TinyTorch stores floating data as **float32**
# unless you ask for another dtype. Integer data (labels, indices) stays integer.
#
# ### Why wrap NumPy instead of using it directly?
#
# NumPy already gives us fast n-dimensional arrays. `Tensor` wraps one (`.data`)
# and adds what a deep-learning framework needs on top: PyTorch's dtype rules,
# clear errors, and — in module 08 — `requires_grad`, `.grad` and `backward()`.
# Those exist already now, dormant, so that the class a student writes here
# never changes its interface later.

# %% [markdown]
# ## 2. Turning Python data into an array
#
# `Tensor(data)` must accept a scalar, a (nested) list, a NumPy array or another
# `Tensor`. Three kinds of bad input deserve a clear message instead of NumPy's
# cryptic one:
#
# - **ragged lists** such as `[[1, 2], [3]]` — a tensor is a *rectangular* grid
#   (a `ValueError`: the right kind of data, in the wrong shape);
# - the **`...` placeholder** copied from documentation, e.g. `Tensor([[[[...]]]])`
#   in the CNN module's overview, which NumPy would happily turn into an array of
#   `Ellipsis` objects (a `ValueError` asking for numbers in its place);
# - **data that is not numbers**, such as `Tensor("text")`, `None` or a dict: a
#   `TypeError`, Python's error for a value of the wrong type, as in PyTorch.
#
# These helpers are given to you; read them, then build the class.

# %%
#| export
def _ellipsis_path(data, path=()):
    """Index path of the first literal `...` inside nested lists/tuples, or None."""
    if data is Ellipsis:
        return path
    if isinstance(data, (list, tuple)):
        for i, item in enumerate(data):
            found = _ellipsis_path(item, path + (i,))
            if found is not None:
                return found
    return None


def _ragged_detail(data, depth=0):
    """Describe the first place where nested lists have differing lengths, or None."""
    if not isinstance(data, (list, tuple)):
        return None
    sequences = [item for item in data if isinstance(item, (list, tuple, np.ndarray))]
    lengths = [len(item) for item in sequences]
    if sequences and (len(sequences) != len(data) or len(set(lengths)) > 1):
        shown = [len(item) if isinstance(item, (list, tuple, np.ndarray)) else "a number" for item in data]
        return f"at depth {depth + 1} the rows have lengths {shown}"
    for item in data:
        found = _ragged_detail(item, depth + 1)
        if found:
            return found
    return None


def _reject_placeholder(data):
    """ValueError if `data` holds a literal `...`, copied from docs like `Tensor([[[[...]]]])`."""
    where = _ellipsis_path(data)
    if where is not None:
        index = "".join(f"[{i}]" for i in where)
        raise ValueError(
            f"Tensor data contains the literal `...` placeholder (Ellipsis) at data{index}. "
            "Replace the `...` placeholder with numbers, e.g. "
            "Tensor(np.random.rand(1, 3, 32, 32)) for a (batch, channels, height, width) image."
        )


def _numeric_array(data):
    """`data` as an ndarray of numbers (bool, int, float or complex).

    ValueError for ragged lists and the `...` placeholder; TypeError for anything that is
    not numbers (strings, None, dicts, other objects).

    The nested lists are only walked in Python when NumPy could not make a numeric
    array of them, so good data pays nothing for the friendly messages.
    """
    try:
        array = np.asarray(data)
    except ValueError:
        _reject_placeholder(data)
        detail = _ragged_detail(data) or "the nested lists are not rectangular"
        raise ValueError(
            f"Tensor data must be rectangular (every row the same length), but {detail}."
        ) from None
    if array.dtype.kind not in "biufc":
        _reject_placeholder(data)
        raise TypeError(
            f"Tensor data must be numbers (bool, int or float), got {type(data).__name__} "
            f"holding {array.dtype} values."
        )
    return array


def _operand(other):
    """The ndarray (or plain Python number) behind the other operand of an operation.

    Python and NumPy scalars become plain Python numbers, which NumPy treats as
    "weak": `float32 tensor * 0.5` stays float32. Lists and arrays go through
    `Tensor(...)` so they follow the same dtype rules as every other tensor.
    """
    if isinstance(other, Tensor):
        return other.data
    if isinstance(other, (numbers.Number, np.generic)) and not isinstance(other, (str, bytes)):
        return other.item() if isinstance(other, np.generic) else other
    return Tensor(other).data


def _result(array, *inputs):
    """Wrap an op's ndarray result, PyTorch-style: float64 only if an input was float64.

    NumPy turns `int / int` or `int + 0.5` into float64; PyTorch gives its default
    float32 there, and keeps float64 only when an operand already was float64.
    """
    wide = any(isinstance(x, np.ndarray) and x.dtype == np.float64 for x in inputs)
    array = np.asarray(array)
    return Tensor(array, dtype=np.float64 if wide and array.dtype == np.float64 else None)


# %% [markdown]
# ## 3. The `Tensor` class
#
# The class below is one cell (Python needs a class in one piece), so here is the
# tour of what you will implement in it, in order.
#
# ### 3.1 Construction and the dtype rule
#
# ```
# Tensor(5)                    -> int64    ()        integer stays integer
# Tensor([1.5, 2.0])           -> float32  (2,)      floats default to float32
# Tensor(np.zeros(3))          -> float32  (3,)      float64 array -> float32
# Tensor([1, 2], dtype=np.float64) -> float64        an explicit dtype is kept
# Tensor(other_tensor)         -> a copy, same dtype
# ```
#
# An array or list on the other side of an operation follows the same rule (the given
# `_operand` makes it a `Tensor`): `t * np.array([0.1])` rounds the array to float32 first,
# even when `t` is float64. For float64 precision throughout, make both operands float64
# tensors: `t * Tensor(array, dtype=np.float64)`. (PyTorch would keep the array's float64.)
#
# The constructor **copies** the data (as `torch.tensor` does), so changing the list
# or array you passed in never changes the tensor behind your back. `.data` is the
# tensor's own ndarray and may be changed in place (optimizers do
# `param.data -= lr * param.grad`).
#
# ### 3.2 Arithmetic and broadcasting
#
# `+ - * / **` work element by element. When shapes differ, NumPy **broadcasts**:
# align the shapes from the right; each pair of sizes must be equal or one of them
# 1, and a size-1 (or missing) axis is stretched — without copying — to match:
#
# ```
#   x      (2, 3)   [[1, 2, 3],        b  (3,)  [10, 20, 30]
#                    [4, 5, 6]]
#
#   x + b  (2, 3)   [[11, 22, 33],     b is reused for every row:
#                    [14, 25, 36]]     (3,) -> (1, 3) -> (2, 3)
#
#   (2, 3) + (2,)   -> error: 3 vs 2, neither is 1
# ```
#
# This is exactly how a layer adds its bias to a whole batch: `(N, out) + (out,)`.
# Cost: one pass over the output — `size` FLOPs, reading both inputs and writing
# one new array.
#
# Reflected forms make `2 * t` and `1 - t` work: Python first tries
# `int.__mul__(2, t)`, which gives up, and then calls `t.__rmul__(2)`.
#
# ### 3.3 Matrix multiplication
#
# `a @ b` for `a` of shape `(M, K)` and `b` of shape `(K, N)` gives `(M, N)`:
#
# ```
#            b (K×N)
#           ┌─────┐
#           │  │  │     out[i, j] = Σ_k a[i, k] · b[k, j]
#           │  ▼  │
# a (M×K) ┌─┴─────┤
#  ── i ─►│  ●    │   one dot product of length K per output element
#         └───────┘
# ```
#
# Cost: `M·N·K` multiply-accumulates (MACs) = `2·M·N·K` FLOPs, for only
# `M·K + K·N + M·N` numbers of memory — matmul does a lot of work per byte, which
# is why hardware (and the layers and convolutions of later modules) are built
# around it. The inner sizes must agree; we say so clearly when they do not.
#
# ### 3.4 Reductions: `sum`, `mean`, `max`
#
# A reduction collapses one or more axes. `axis=None` reduces everything to a
# scalar; `keepdims=True` keeps the reduced axes with size 1 so the result still
# broadcasts against the input (handy for `x - x.max(axis=1, keepdims=True)`):
#
# ```
# x = [[1, 2, 3],        x.sum()                -> 21                 shape ()
#      [4, 5, 6]]        x.sum(axis=0)          -> [5, 7, 9]          shape (3,)
#                        x.sum(axis=1)          -> [6, 15]            shape (2,)
#                        x.sum(1, keepdims=True)-> [[6], [15]]        shape (2, 1)
# ```
#
# Cost: one pass over the input, `size` FLOPs.
#
# ### 3.5 Shape operations: `reshape`, `transpose` / `T`, `flatten`, indexing
#
# `reshape` reinterprets the same numbers with a new shape (the size must match;
# one axis may be `-1`, "whatever is left"). `transpose(*axes)` permutes the axes
# the way NumPy does: no arguments reverses them, otherwise give a full
# permutation, e.g. `(N, H, W, C) -> (N, C, H, W)` is `transpose(0, 3, 1, 2)`.
# (Note: PyTorch's `transpose(d0, d1)` *swaps two* axes; for that use the full
# permutation here.) `T` reverses the axes; `flatten()` gives a 1-D tensor.
# In NumPy these are *views* — no numbers move, O(1). Our `Tensor` copies every
# result into its own array (one pass over the data, like any element-wise op), so
# a result never shares memory with its input; PyTorch keeps views, an
# optimisation we skip to keep the class simple and safe.
#
# ### 3.6 Dormant autograd, and the one place it plugs in
#
# `requires_grad`, `grad` and `backward()` are part of the interface now, with the
# graph's `grad_fn`, `is_leaf` and `detach()`. Until module 08 (autograd) is
# imported, `backward()` explains that instead of doing something half-right.
#
# Module 08 needs every operation to write down what it did, so that `backward()`
# can walk back through it. The Tensor does not know how, and does not need to:
# each primitive operation carries the decorator `@differentiable` (given below),
# which only calls the operation — until module 08 installs its engine with
# `set_autograd(...)`. From then on the decorator hands every call to the engine,
# which computes exactly the same value and records a graph node with the
# operation's gradient rule, found by the operation's name:
#
# ```
#   t + u ──► @differentiable ──► no engine (modules 02-07):  Tensor.__add__(t, u)
#                             └─► engine (module 08 imported): engine.run("Tensor.__add__", ...)
#                                     = Tensor.__add__(t, u), plus a node "AddBackward"
# ```
#
# The activations (module 03) and Conv2D and pooling (module 06) mark their
# `forward` the same way. The slot `_autograd` is the only place autograd plugs
# in: nothing of this class is replaced later, so a subclass, or a layer class
# you import from your own `*_dev.py`, records its gradients like any other.
#
# Cost: one extra Python call per operation (about 0.1 µs) — nothing next to the
# array work of even a small tensor.

# %%
#| export
_autograd = None  # module 08's engine once set_autograd() installed it; None until then


def set_autograd(engine):
    """Install module 08's autograd engine (None removes it); returns the one installed before.

    The engine has ``run(name, operation, args, kwargs)``, called for every ``@differentiable``
    operation, and ``backward(tensor, gradient)``, called by ``Tensor.backward``.
    """
    global _autograd
    previous, _autograd = _autograd, engine
    return previous


def get_autograd():
    """The installed autograd engine, or None (before module 08 is imported)."""
    return _autograd


def differentiable(operation):
    """Mark ``operation`` (a Tensor method or a layer's ``forward``) as one step autograd records.

    Without an engine, calling it just calls ``operation``. With one, the engine runs it under
    its qualified name, e.g. ``"Tensor.__add__"`` or ``"Conv2D.forward"``: the name module 08
    files its gradient rule under.
    """
    name = operation.__qualname__

    @functools.wraps(operation)
    def run(*args, **kwargs):
        if _autograd is None:
            return operation(*args, **kwargs)
        return _autograd.run(name, operation, args, kwargs)
    return run


# %%
#| export
class Tensor:
    """An n-dimensional array of numbers of one dtype, TinyTorch's `torch.Tensor`.

    Args:
        data: a number, a (nested) list, a NumPy array or a Tensor.
        dtype: NumPy dtype to store; default: float32 for floating data, the data's
            own dtype otherwise (integers stay integers, bools stay bools).
        requires_grad: whether autograd (module 08) should track this tensor.

    Operations are plain methods that compute one ndarray and wrap it with
    `Tensor(...)`. The primitive ones, marked `@differentiable`, are `__add__
    __radd__ __sub__ __rsub__ __mul__ __rmul__ __truediv__ __rtruediv__ __pow__
    __neg__ __matmul__ __rmatmul__ sum mean max reshape transpose __getitem__`;
    `matmul`, `T` and `flatten` call `__matmul__`, `transpose` and `reshape`.
    """

    # Makes `ndarray + Tensor` call Tensor.__radd__ instead of NumPy treating the
    # Tensor as an opaque object.
    __array_ufunc__ = None

    def __init__(self, data, dtype=None, requires_grad=False):
        """Store `data` as an ndarray in `self.data`.

        TODO: Convert `data` to a NumPy array with the right dtype and set up the
        (dormant) autograd attributes.

        APPROACH:
        1. If `data` is a Tensor, copy its `.data` (keep its dtype unless `dtype` is given).
        2. Otherwise get a validated array with `_numeric_array(data)`; if no dtype was
           given and the array is floating (`array.dtype.kind == "f"`), use float32.
        3. Copy into the final array: `np.array(array, dtype=dtype)`.
        4. Only floating tensors may require gradients; otherwise raise
           `ValueError(f"Only floating-point tensors can require gradients, got dtype
           {self.data.dtype}; pass dtype=np.float32 or float data.")`.
        5. Set `self.data`, `self.requires_grad`, and `self.grad = None`.

        EXAMPLE:
        >>> Tensor([1.5, 2]).dtype
        dtype('float32')
        >>> Tensor([1, 2]).dtype
        dtype('int64')
        >>> Tensor("text")
        Traceback (most recent call last):
        TypeError: Tensor data must be numbers (bool, int or float), got str holding <U4 values.

        HINTS:
        - `np.array(x, dtype=None)` copies and keeps x's dtype.
        - `np.dtype(dtype).kind` is "f" for floating types.
        """
        ### BEGIN SOLUTION
        if isinstance(data, Tensor):
            array = data.data
        else:
            array = _numeric_array(data)
            if dtype is None and array.dtype.kind == "f":
                dtype = np.float32
        self.data = np.array(array, dtype=dtype)
        if requires_grad and self.data.dtype.kind not in "fc":
            raise ValueError(
                f"Only floating-point tensors can require gradients, got dtype {self.data.dtype}; "
                "pass dtype=np.float32 or float data."
            )
        self.requires_grad = bool(requires_grad)
        self.grad = None
        ### END SOLUTION

    @classmethod
    def from_numpy(cls, array):
        """A Tensor that shares ``array``'s memory instead of copying it, like ``torch.from_numpy``.

        ``Tensor(array)`` copies, which is right when the caller may keep changing ``array``.
        A layer's freshly computed result belongs to nobody else, and skipping the copy saves
        a full pass over it (12.8 MB for a CIFAR batch through 32 filters). The dtype is kept.

        >>> a = np.zeros(3, dtype=np.float32)
        >>> t = Tensor.from_numpy(a); a[0] = 5.0; float(t.data[0])
        5.0
        """
        if not isinstance(array, np.ndarray):
            raise TypeError(f"Tensor.from_numpy expects a numpy.ndarray, got {type(array).__name__}.")
        tensor = cls.__new__(cls)
        tensor.data = array
        tensor.requires_grad = False
        tensor.grad = None
        return tensor

    # ----------------------------------------------------------------- properties
    @property
    def shape(self):
        """The length of each axis, e.g. (2, 3)."""
        return self.data.shape

    @property
    def size(self):
        """The number of elements: the product of the shape (1 for a scalar)."""
        return self.data.size

    @property
    def ndim(self):
        """The number of axes (the rank): 0 for a scalar, 2 for a matrix."""
        return self.data.ndim

    @property
    def dtype(self):
        """The NumPy dtype of the elements, e.g. dtype('float32')."""
        return self.data.dtype

    def numpy(self):
        """The underlying ndarray (shared, not copied, as in PyTorch)."""
        return self.data

    def item(self):
        """The value of a one-element tensor as a Python number."""
        if self.data.size != 1:
            raise ValueError(f"item() needs a tensor with exactly one element, got shape {self.shape}.")
        return self.data.item()

    def __array__(self, dtype=None, copy=None):
        # Lets np.asarray(t) (shares .data) and np.array(t) (copies) work on Tensors.
        if copy:
            return np.array(self.data, dtype=dtype)
        return np.asarray(self.data, dtype=dtype)

    def __len__(self):
        if self.data.ndim == 0:
            raise TypeError("len() of a 0-d tensor (a scalar) is not defined.")
        return len(self.data)

    def __repr__(self):
        body = np.array2string(self.data, separator=", ", prefix="Tensor(")
        grad = ", requires_grad=True" if self.requires_grad else ""
        return f"Tensor({body}, shape={self.shape}, dtype={self.dtype}{grad})"

    # ----------------------------------------------------------------- arithmetic
    @differentiable
    def __add__(self, other):
        """Element-wise `self + other` with broadcasting: shapes (A) + (B) -> broadcast(A, B).

        TODO: Add the two operands' arrays and wrap the result.

        APPROACH:
        1. `other = _operand(other)` gives the ndarray (or number) behind `other`.
        2. Let NumPy add and broadcast: `self.data + other`.
        3. Wrap with `_result(array, self.data, other)` (keeps PyTorch's dtype rules).

        EXAMPLE:
        >>> Tensor([[1, 2], [3, 4]]) + Tensor([10, 20])
        Tensor([[11, 22],
                [13, 24]], shape=(2, 2), dtype=int64)

        HINTS:
        - Every binary operation below follows the same three lines.
        """
        ### BEGIN SOLUTION
        other = _operand(other)
        return _result(self.data + other, self.data, other)
        ### END SOLUTION

    @differentiable
    def __radd__(self, other):
        """`other + self` when `other` is not a Tensor (e.g. `1 + t`)."""
        other = _operand(other)
        return _result(other + self.data, self.data, other)

    @differentiable
    def __sub__(self, other):
        """Element-wise `self - other` with broadcasting.

        TODO: Subtract, exactly like `__add__`.

        APPROACH:
        1. `other = _operand(other)`.
        2. Return `_result(self.data - other, self.data, other)`.

        EXAMPLE:
        >>> Tensor([5.0, 7.0]) - 2
        Tensor([3., 5.], shape=(2,), dtype=float32)

        HINTS:
        - Order matters: self first.
        """
        ### BEGIN SOLUTION
        other = _operand(other)
        return _result(self.data - other, self.data, other)
        ### END SOLUTION

    @differentiable
    def __rsub__(self, other):
        """`other - self` (e.g. `1 - t`)."""
        other = _operand(other)
        return _result(other - self.data, self.data, other)

    @differentiable
    def __mul__(self, other):
        """Element-wise `self * other` with broadcasting (not matrix multiplication).

        TODO: Multiply element by element, like `__add__`.

        APPROACH:
        1. `other = _operand(other)`.
        2. Return `_result(self.data * other, self.data, other)`.

        EXAMPLE:
        >>> Tensor([1.0, 2.0, 3.0]) * Tensor([2.0, 2.0, 2.0])
        Tensor([2., 4., 6.], shape=(3,), dtype=float32)

        HINTS:
        - `*` is element-wise; `@` is the matrix product.
        """
        ### BEGIN SOLUTION
        other = _operand(other)
        return _result(self.data * other, self.data, other)
        ### END SOLUTION

    @differentiable
    def __rmul__(self, other):
        """`other * self` (e.g. `2 * t`)."""
        other = _operand(other)
        return _result(other * self.data, self.data, other)

    @differentiable
    def __truediv__(self, other):
        """Element-wise true division `self / other`; integer tensors give float32.

        TODO: Divide element by element, like `__add__`.

        APPROACH:
        1. `other = _operand(other)`.
        2. Return `_result(self.data / other, self.data, other)`.

        EXAMPLE:
        >>> Tensor([1, 2]) / 2
        Tensor([0.5, 1. ], shape=(2,), dtype=float32)

        HINTS:
        - NumPy's `/` of integers is float64; `_result` turns that into float32.
        """
        ### BEGIN SOLUTION
        other = _operand(other)
        return _result(self.data / other, self.data, other)
        ### END SOLUTION

    @differentiable
    def __rtruediv__(self, other):
        """`other / self` (e.g. `1 / t`)."""
        other = _operand(other)
        return _result(other / self.data, self.data, other)

    @differentiable
    def __pow__(self, exponent):
        """Element-wise power `self ** exponent` (a number or a broadcastable tensor)."""
        exponent = _operand(exponent)
        return _result(self.data ** exponent, self.data, exponent)

    @differentiable
    def __neg__(self):
        """Element-wise `-self`."""
        return _result(-self.data, self.data)

    # ------------------------------------------------------------- matrix product
    @differentiable
    def __matmul__(self, other):
        """Matrix product `self @ other`: (M, K) @ (K, N) -> (M, N), with NumPy's batch rules.

        TODO: Check the shapes, then multiply with NumPy.

        APPROACH:
        1. `other = _operand_array(other)`: `Tensor(other).data` if it is not a Tensor,
           else `other.data`.
        2. Call the given `_check_matmul(self.shape, other.shape)`: it raises ValueError,
           naming both shapes, when one is a scalar (0-d: not a matrix) or the inner sizes
           differ (`self.shape[-1]` and `other.shape[-2]`, or `other.shape[0]` when other
           is 1-D).
        3. Return `_result(matmul(self.data, other), self.data, other)`.

        EXAMPLE:
        >>> Tensor([[1, 2], [3, 4]]) @ Tensor([[5], [6]])
        Tensor([[17],
                [39]], shape=(2, 1), dtype=int64)

        HINTS:
        - `_operand_array` and `_check_matmul` are below the class; `_check_matmul` gives
          the messages the tests check ("matmul needs tensors with at least 1 axis, got
          shapes () and (5,); ..." and "matmul shape mismatch: (2, 3) @ (4, 5) needs ...").
        - `matmul(a, b)` (from `tinytorch.utils.threads`) is NumPy's `a @ b`, run on one
          thread when the product is small or the machine is busy (module 06 measures why).
        """
        ### BEGIN SOLUTION
        other = _operand_array(other)
        _check_matmul(self.shape, other.shape)
        return _result(matmul(self.data, other), self.data, other)
        ### END SOLUTION

    @differentiable
    def __rmatmul__(self, other):
        """`other @ self` when `other` is an array or list."""
        left = _operand_array(other)
        _check_matmul(left.shape, self.shape)
        return _result(matmul(left, self.data), self.data, left)

    def matmul(self, other):
        """Same as `self @ other`."""
        return self.__matmul__(other)

    # ----------------------------------------------------------------- reductions
    @differentiable
    def sum(self, axis=None, keepdims=False):
        """Sum over `axis` (None: all; an int or a tuple of ints; () reduces nothing).

        (2, 3).sum(axis=1) -> (2,);  with keepdims=True -> (2, 1).

        TODO: Reduce with NumPy and wrap the result.

        APPROACH:
        1. `self.data.sum(axis=axis, keepdims=keepdims)`.
        2. Wrap with `_result(..., self.data)`.

        EXAMPLE:
        >>> Tensor([[1, 2, 3], [4, 5, 6]]).sum(axis=0)
        Tensor([5, 7, 9], shape=(3,), dtype=int64)

        HINTS:
        - A full reduction gives a NumPy scalar; `_result` makes it a 0-d tensor.
        """
        ### BEGIN SOLUTION
        return _result(self.data.sum(axis=axis, keepdims=keepdims), self.data)
        ### END SOLUTION

    @differentiable
    def mean(self, axis=None, keepdims=False):
        """Arithmetic mean over `axis`; integer tensors give float32. Shapes as in `sum`.

        TODO: Average with NumPy and wrap the result.

        APPROACH:
        1. `self.data.mean(axis=axis, keepdims=keepdims)`.
        2. Wrap with `_result(..., self.data)`.

        EXAMPLE:
        >>> Tensor([[1, 2], [3, 4]]).mean(axis=1)
        Tensor([1.5, 3.5], shape=(2,), dtype=float32)

        HINTS:
        - mean = sum / count along the reduced axes.
        """
        ### BEGIN SOLUTION
        return _result(self.data.mean(axis=axis, keepdims=keepdims), self.data)
        ### END SOLUTION

    @differentiable
    def max(self, axis=None, keepdims=False):
        """Largest element over `axis`. Shapes as in `sum`; an empty tensor has no max.

        TODO: Take the maximum with NumPy and wrap the result.

        APPROACH:
        1. An empty tensor (size 0) has no maximum: raise
           `ValueError(f"max() of an empty tensor (shape {self.shape}) is undefined.")`.
        2. `self.data.max(axis=axis, keepdims=keepdims)`, wrapped with `_result`.

        EXAMPLE:
        >>> Tensor([[1, 5], [7, 2]]).max(axis=1)
        Tensor([5, 7], shape=(2,), dtype=int64)

        HINTS:
        - `keepdims=True` is what numerically stable softmax needs.
        """
        ### BEGIN SOLUTION
        if self.data.size == 0:
            raise ValueError(f"max() of an empty tensor (shape {self.shape}) is undefined.")
        return _result(self.data.max(axis=axis, keepdims=keepdims), self.data)
        ### END SOLUTION

    # ----------------------------------------------------------- shape operations
    @differentiable
    def reshape(self, *shape):
        """The same elements with a new shape: `reshape(2, 3)` or `reshape((2, 3))`; one -1 allowed.

        TODO: Check that the sizes match, then reshape with NumPy.

        APPROACH:
        1. Accept both `reshape(2, 3)` and `reshape((2, 3))`.
        2. `np.reshape` raises a cryptic error on a size mismatch: catch it and raise
           `ValueError(f"Cannot reshape a tensor of shape {self.shape} ({self.size} elements)
           into shape {tuple(shape)}.")`.
        3. Wrap the result with `_result`.

        EXAMPLE:
        >>> Tensor([1, 2, 3, 4, 5, 6]).reshape(2, -1).shape
        (2, 3)

        HINTS:
        - `len(shape) == 1 and isinstance(shape[0], (tuple, list))` detects the tuple form.
        """
        ### BEGIN SOLUTION
        if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
            shape = tuple(shape[0])
        try:
            array = self.data.reshape(shape)
        except ValueError:
            raise ValueError(
                f"Cannot reshape a tensor of shape {self.shape} ({self.size} elements) "
                f"into shape {tuple(shape)}."
            ) from None
        return _result(array, self.data)
        ### END SOLUTION

    @differentiable
    def transpose(self, *axes):
        """Permute the axes (NumPy style): no axes reverses them; else a full permutation.

        (N, H, W, C).transpose(0, 3, 1, 2) -> (N, C, H, W);  (M, N).transpose() -> (N, M).

        TODO: Check the permutation, then transpose with NumPy.

        APPROACH:
        1. Accept both `transpose(1, 0)` and `transpose((1, 0))`.
        2. With axes given, they must be a permutation of range(ndim) (negative axes
           allowed); otherwise raise `ValueError(f"transpose needs a permutation of all
           {ndim} axes of a tensor of shape {self.shape} (e.g. {tuple(reversed(range(ndim)))}),
           got {axes}.")`.
        3. `self.data.transpose(axes or None)`, wrapped with `_result`.

        EXAMPLE:
        >>> Tensor([[1, 2, 3], [4, 5, 6]]).transpose().shape
        (3, 2)

        HINTS:
        - `sorted(a % ndim for a in axes) == list(range(ndim))` checks a permutation.
        """
        ### BEGIN SOLUTION
        if len(axes) == 1 and isinstance(axes[0], (tuple, list)):
            axes = tuple(axes[0])
        ndim = self.data.ndim
        if axes and (
            len(axes) != ndim
            or not all(isinstance(a, (int, np.integer)) and -ndim <= a < ndim for a in axes)
            or sorted(a % ndim for a in axes) != list(range(ndim))
        ):
            raise ValueError(
                f"transpose needs a permutation of all {ndim} axes of a tensor of shape "
                f"{self.shape} (e.g. {tuple(reversed(range(ndim)))}), got {axes}."
            )
        return _result(self.data.transpose(axes or None), self.data)
        ### END SOLUTION

    @property
    def T(self):
        """The tensor with its axes reversed: (M, N) -> (N, M)."""
        return self.transpose()

    def flatten(self):
        """All elements in one axis, row-major: (d0, d1, ...) -> (d0*d1*...,)."""
        return self.reshape(-1)

    @differentiable
    def __getitem__(self, key):
        """NumPy indexing and slicing: `t[0]`, `t[:, 1:3]`, `t[mask]`, `t[index_tensor]`."""
        if isinstance(key, Tensor):
            key = key.data
        elif isinstance(key, tuple):
            key = tuple(k.data if isinstance(k, Tensor) else k for k in key)
        return _result(self.data[key], self.data)

    # ----------------------------------------------------------- dormant autograd
    def backward(self, gradient=None):
        """Fill ``.grad`` of every tensor this one was computed from (autograd, module 08).

        Call it on a scalar loss, or pass ``gradient`` of this tensor's shape; gradients
        add up in ``.grad`` until you reset them.
        """
        if _autograd is None:
            raise RuntimeError(
                "backward() needs autograd, which arrives in module 08 (autograd). "
                "After completing it, `import tinytorch.core.autograd` brings backward() to life."
            )
        _autograd.backward(self, gradient)

    @property
    def grad_fn(self):
        """The graph node of the operation that produced this tensor (module 08); None for a leaf."""
        return getattr(self, "_node", None)

    @property
    def is_leaf(self):
        """True for a tensor that no recorded operation produced: inputs and parameters."""
        return self.grad_fn is None

    def detach(self):
        """A new tensor with the same values, cut off from the graph (requires_grad=False)."""
        return Tensor(self.data, dtype=self.data.dtype)


def _operand_array(other):
    """The ndarray behind a matmul operand (numbers are not allowed there)."""
    return other.data if isinstance(other, Tensor) else Tensor(other).data


def _check_matmul(a_shape, b_shape):
    """ValueError unless `a @ b` is defined: no scalars, and inner sizes agree."""
    if len(a_shape) == 0 or len(b_shape) == 0:
        raise ValueError(
            f"matmul needs tensors with at least 1 axis, got shapes {a_shape} and {b_shape}; "
            "use * to multiply by a scalar."
        )
    inner_b = b_shape[0] if len(b_shape) == 1 else b_shape[-2]
    if a_shape[-1] != inner_b:
        raise ValueError(
            f"matmul shape mismatch: {a_shape} @ {b_shape} needs the last size of the first "
            f"({a_shape[-1]}) to equal the {'first' if len(b_shape) == 1 else 'second-to-last'} "
            f"size of the second ({inner_b})."
        )


# %% [markdown]
# ## 4. Test what you built
#
# Each test below checks one part against values worked out by hand. Run the cell
# after finishing the matching part of the class.

# %%
from tinytorch.utils.feedback import passed, progress, unit_test


def test_unit_tensor_creation():
    unit_test("Tensor creation and dtypes")
    t = Tensor([[1, 2, 3], [4, 5, 6]])
    assert t.shape == (2, 3) and t.size == 6 and t.ndim == 2
    assert t.dtype.kind == "i", "integer data must stay integer"
    assert Tensor([1.5, 2.0]).dtype == np.float32
    assert Tensor(np.zeros(3)).dtype == np.float32, "float64 arrays become float32"
    assert Tensor([1, 2], dtype=np.float64).dtype == np.float64, "an explicit dtype is kept"
    assert Tensor(3.0).shape == () and Tensor(3.0).item() == 3.0
    passed("Shapes, sizes and dtypes follow PyTorch's rules")

    source = np.array([1.0, 2.0], dtype=np.float32)
    t = Tensor(source)
    source[0] = 99.0
    assert t.data[0] == 1.0, "the constructor must copy its data"
    t.data[1] = 7.0
    assert t.numpy()[1] == 7.0
    passed("Data is copied in, and .data is writable in place")

    for bad in ([[1, 2], [3]], [[[[...]]]]):
        try:
            Tensor(bad)
        except ValueError as error:
            assert "rectangular" in str(error) or "placeholder" in str(error)
        else:
            raise AssertionError(f"Tensor({bad!r}) should raise ValueError")
    for bad in ("text", ["a", "b"], None):
        try:
            Tensor(bad)
        except TypeError as error:
            assert "must be numbers" in str(error)
        else:
            raise AssertionError(f"Tensor({bad!r}) should raise TypeError (not numbers)")
    passed("Ragged lists and `...` placeholders raise ValueError; strings raise TypeError")
    progress("Tensor creation")


if __name__ == "__main__":
    test_unit_tensor_creation()


# %%
def test_unit_tensor_arithmetic():
    unit_test("Tensor arithmetic and broadcasting")
    x = Tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    b = Tensor([10.0, 20.0, 30.0])
    np.testing.assert_array_equal((x + b).data, [[11, 22, 33], [14, 25, 36]])
    np.testing.assert_array_equal((x - 1).data, [[0, 1, 2], [3, 4, 5]])
    np.testing.assert_array_equal((x * b).data, [[10, 40, 90], [40, 100, 180]])
    np.testing.assert_array_equal((x / 2).data, [[0.5, 1, 1.5], [2, 2.5, 3]])
    np.testing.assert_array_equal((x ** 2).data, [[1, 4, 9], [16, 25, 36]])
    np.testing.assert_array_equal((-x).data, -x.data)
    passed("+ - * / ** and unary - broadcast like NumPy")
    np.testing.assert_array_equal((2 * x).data, (x * 2).data)
    np.testing.assert_array_equal((1 - x).data, [[0, -1, -2], [-3, -4, -5]])
    np.testing.assert_array_equal((6 / Tensor([1.0, 2.0, 3.0])).data, [6, 3, 2])
    passed("Reflected forms: 2 * t, 1 - t, 6 / t")
    assert (x + 1).dtype == np.float32 and (x * 0.5).dtype == np.float32
    assert (Tensor([1, 2]) / 2).dtype == np.float32, "int / int gives float32, as in PyTorch"
    assert (Tensor([1, 2]) + 1).dtype.kind == "i"
    passed("Results keep float32 (and integers stay integers)")
    progress("Tensor arithmetic")


if __name__ == "__main__":
    test_unit_tensor_arithmetic()


# %%
def test_unit_tensor_matmul():
    unit_test("Matrix multiplication")
    a = Tensor([[1, 2], [3, 4]])
    b = Tensor([[5, 6], [7, 8]])
    np.testing.assert_array_equal((a @ b).data, [[19, 22], [43, 50]])
    np.testing.assert_array_equal(a.matmul(b).data, [[19, 22], [43, 50]])
    passed("[[1,2],[3,4]] @ [[5,6],[7,8]] = [[19,22],[43,50]]")
    try:
        Tensor(np.ones((2, 3))) @ Tensor(np.ones((4, 5)))
    except ValueError as error:
        assert "(2, 3)" in str(error) and "(4, 5)" in str(error)
    else:
        raise AssertionError("(2, 3) @ (4, 5) should raise ValueError")
    passed("A shape mismatch names both shapes")
    progress("Tensor matmul")


if __name__ == "__main__":
    test_unit_tensor_matmul()


# %%
def test_unit_tensor_reductions():
    unit_test("sum, mean, max")
    x = Tensor([[1, 2, 3], [4, 5, 6]])
    assert x.sum().item() == 21
    np.testing.assert_array_equal(x.sum(axis=0).data, [5, 7, 9])
    assert x.sum(axis=1, keepdims=True).shape == (2, 1)
    np.testing.assert_array_equal(x.mean(axis=1).data, [2.0, 5.0])
    assert x.mean().dtype == np.float32
    np.testing.assert_array_equal(x.max(axis=0).data, [4, 5, 6])
    assert x.max().item() == 6
    passed("Full and per-axis reductions, keepdims")
    progress("Tensor reductions")


if __name__ == "__main__":
    test_unit_tensor_reductions()


# %%
def test_unit_tensor_shapes():
    unit_test("reshape, transpose, T, flatten, indexing")
    x = Tensor(np.arange(6))
    assert x.reshape(2, 3).shape == (2, 3) and x.reshape((3, -1)).shape == (3, 2)
    m = x.reshape(2, 3)
    np.testing.assert_array_equal(m.T.data, [[0, 3], [1, 4], [2, 5]])
    assert Tensor(np.zeros((2, 3, 4, 5))).transpose(0, 3, 1, 2).shape == (2, 5, 3, 4)
    np.testing.assert_array_equal(m.flatten().data, [0, 1, 2, 3, 4, 5])
    np.testing.assert_array_equal(m[1].data, [3, 4, 5])
    np.testing.assert_array_equal(m[:, 1:].data, [[1, 2], [4, 5]])
    try:
        x.reshape(4, 2)
    except ValueError as error:
        assert "(6,)" in str(error) and "(4, 2)" in str(error)
    else:
        raise AssertionError("reshape of 6 elements into (4, 2) should raise ValueError")
    passed("Shape operations keep the row-major order and check sizes")
    progress("Tensor shapes")


if __name__ == "__main__":
    test_unit_tensor_shapes()


# %%
def test_unit_tensor_dormant_autograd():
    unit_test("requires_grad, grad and backward() before autograd")
    w = Tensor([1.0, 2.0], requires_grad=True)
    assert w.requires_grad is True and w.grad is None
    assert "requires_grad=True" in repr(w)
    assert w.grad_fn is None and w.is_leaf and not w.detach().requires_grad
    try:
        w.sum().backward()
    except RuntimeError as error:
        assert "module 08" in str(error)
    else:
        raise AssertionError("backward() must raise until autograd is imported")
    passed("backward() explains that autograd arrives in module 08")
    progress("Tensor autograd placeholders")


if __name__ == "__main__":
    test_unit_tensor_dormant_autograd()

# %% [markdown]
# ## 5. Systems view: what do these operations cost?
#
# Run the cell below: it measures memory and time for a few operations on a batch
# the size the CNN module uses. Notice that
#
# - memory is exactly `size × itemsize` — float32 halves it;
# - element-wise ops and reductions are *memory-bound*: about one FLOP per number
#   read, so their time tracks the bytes moved;
# - matmul does `2·M·N·K` FLOPs on `M·K + K·N` inputs — far more work per byte,
#   which is why it runs at a much higher FLOP rate;
# - `reshape` costs one copy of the data here (NumPy alone would make it a free view).

# %%
def analyze_tensor_costs():
    import time

    from tinytorch.utils.feedback import info

    def median_ms(fn, repeats=5):
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            fn()
            times.append(time.perf_counter() - start)
        return 1000 * sorted(times)[len(times) // 2]

    batch = Tensor(np.random.rand(64, 3, 32, 32))
    info(f"batch {batch.shape}: {batch.size:,} elements × {batch.dtype.itemsize} B = "
         f"{batch.size * batch.dtype.itemsize / 1e6:.2f} MB as {batch.dtype}")
    a, b = Tensor(np.random.rand(256, 256)), Tensor(np.random.rand(256, 256))
    add_ms, matmul_ms = median_ms(lambda: a + b), median_ms(lambda: a @ b)
    info(f"256×256 add:    {add_ms:.3f} ms for {256 * 256:,} FLOPs")
    info(f"256×256 matmul: {matmul_ms:.3f} ms for {2 * 256 ** 3:,} FLOPs "
         f"({2 * 256 ** 3 / max(matmul_ms, 1e-6) / 1e6:.1f} GFLOP/s)")
    info(f"reshape of the batch: {median_ms(lambda: batch.reshape(64, -1)):.3f} ms (one copy into a new Tensor)")


if __name__ == "__main__":
    analyze_tensor_costs()

# %% [markdown]
# ## Summary
#
# You built `Tensor`:
#
# | part | API |
# |---|---|
# | construction | `Tensor(data, dtype=None, requires_grad=False)`, float32 by default for floats |
# | attributes | `.data .shape .size .ndim .dtype .numpy() .item()`, `repr` |
# | arithmetic | `+ - * / **`, unary `-`, reflected forms, NumPy broadcasting |
# | linear algebra | `@`, `matmul` |
# | reductions | `sum`, `mean`, `max` with `axis` and `keepdims` |
# | shapes | `reshape`, `transpose`, `T`, `flatten`, indexing |
# | autograd (dormant until module 08) | `requires_grad`, `grad`, `backward()`, `grad_fn`, `is_leaf`, `detach()` |
#
# Next, module 03 (activations) uses these operations to build the non-linear
# functions that make neural networks more than one big matrix multiply:
#
# ```bash
# tito test --module tensor && tito export --module tensor
# ```
