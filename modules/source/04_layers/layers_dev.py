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
# # Module 04: Layers
#
# A neural network is a stack of *layers*. Each layer takes a tensor in, computes a tensor out,
# and may own *parameters*: tensors that training will adjust. The most common layer of all is
# the **dense** (fully connected) layer, `y = x @ W + b`, and at its heart sits one operation:
# **matrix multiplication**.
#
# In this module you build, from the bottom up:
#
# 1. `matmul_naive(a, b)`: matrix multiplication with your own loops, so you *see* the
#    multiply-accumulate that every dense and convolutional layer is made of, and measure why
#    nobody ships it;
# 2. `Layer`: the small base class every layer of TinyTorch derives from (`forward`, `__call__`,
#    `parameters()`, `macs()`);
# 3. `Dense(input_size, output_size)`: the fully connected layer, with PyTorch's default
#    initialisation and a clear error when an input has the wrong width.
#
# ```
#   02 tensor ──► 03 activations ──► 04 layers ──► 05 networks ──► 06 cnn
#                                     (you are here)
# ```
#
# Prerequisite: `tinytorch.core.tensor` (module 02), exported with `tito export --module tensor`.

# %%
#| default_exp core.layers

# %%
#| export
import math

import numpy as np

from tinytorch.core.tensor import Tensor, get_autograd

# %% [markdown]
# ## Step 1: Matrix multiplication with loops
#
# ### The concept
#
# For `A` of shape `(M, K)` and `B` of shape `(K, N)`, the product `C = A @ B` has shape
# `(M, N)`, and each entry is a dot product of one **row of A** with one **column of B**:
#
# ```
#             A  (M × K)                 B  (K × N)                C  (M × N)
#         ┌─────────────────┐        ┌───┬───┬───┐            ┌───┬───┬───┐
#         │                 │        │   │ b │   │            │   │   │   │
#   row i │ a   a   a   a   │   @    │   │ b │   │     =      │   │ c │   │  row i
#         │                 │        │   │ b │   │            │   │   │   │
#         └─────────────────┘        │   │ b │   │            └───┴───┴───┘
#                                    └───┴───┴───┘                  col j
#                                        col j
#
#            C[i, j] = A[i, 0]·B[0, j] + A[i, 1]·B[1, j] + ... + A[i, K-1]·B[K-1, j]
# ```
#
# One `total += a * b` step is a **multiply-accumulate (MAC)**: the unit in which the cost of
# neural networks is counted.
#
# ### The cost
#
# * **Compute**: `M · N` outputs, each a sum of `K` products → **`M · N · K` MACs**
#   (`2 · M · N · K` FLOPs, one multiply and one add each).
# * **Memory**: the output holds `M · N` numbers (4 bytes each in float32); the inputs are read
#   many times: each row of `A` once per column of `B`.
#
# A batch of 64 MNIST images through a `784 → 128` layer is `64 · 784 · 128 ≈ 6.4 million` MACs.
#
# ### Why loops in Python are slow
#
# Every `total += a[i, p] * b[p, j]` in Python runs several bytecodes, looks up two NumPy scalars,
# boxes the result as a new Python object and checks types: several hundred ns per MAC or more
# (the cell below prints yours).
# NumPy's `@` calls a BLAS library written in C and assembly that keeps blocks of both matrices
# in the CPU cache, uses SIMD instructions that do 8-16 multiply-adds at once, and uses every
# core: well under 1 ns per MAC. You will write the loops once, to understand them, measure the
# gap, and then use `@` everywhere after.

# %%
#| export
def _as_array(x):
    """The ndarray behind a Tensor, array or nested list (Tensors are not copied)."""
    return x.data if isinstance(x, Tensor) else np.asarray(x)


def _check_matmul_shapes(a_shape, b_shape):
    """Raise ValueError unless (M, K) @ (K, N): both 2-D with matching inner sizes."""
    if len(a_shape) != 2 or len(b_shape) != 2:
        raise ValueError(
            f"matmul_naive expects two 2-D matrices (M, K) and (K, N), "
            f"got shapes {tuple(a_shape)} and {tuple(b_shape)}"
        )
    if a_shape[1] != b_shape[0]:
        raise ValueError(
            f"matmul_naive: inner sizes differ: a is {tuple(a_shape)} and b is {tuple(b_shape)}; "
            f"a's columns ({a_shape[1]}) must equal b's rows ({b_shape[0]})"
        )


# %%
#| export
def matmul_naive(a, b):
    """Matrix product with explicit loops: (M, K) @ (K, N) -> (M, N), equal to ``a @ b``.

    Accepts NumPy arrays, nested lists or Tensors. Returns a Tensor if either input is a Tensor,
    otherwise an ndarray; the result dtype is NumPy's, e.g. int @ int stays int.

    TODO: Compute every C[i, j] as the sum over p of a[i, p] * b[p, j], with Python loops.

    APPROACH:
    1. Get plain arrays with the given helper: a_data = _as_array(a), b_data = _as_array(b).
    2. Validate with the given helper: _check_matmul_shapes(a_data.shape, b_data.shape).
    3. Read M, K from a_data.shape and N from b_data.shape[1]; make the output
       np.zeros((M, N), dtype=np.result_type(a_data, b_data)).
    4. Three nested loops over i (rows of a), j (columns of b), p (the shared size K):
       accumulate a_data[i, p] * b_data[p, j] into a running total, then store it in out[i, j].
    5. Return Tensor(out, dtype=out.dtype) if a or b was a Tensor, else out.

    EXAMPLE:
    >>> matmul_naive(np.array([[1, 2], [3, 4]]), np.array([[5, 6], [7, 8]]))
    array([[19, 22],
           [43, 50]])

    HINTS:
    - 19 = 1*5 + 2*7: row 0 of a times column 0 of b.
    - Start the running total at 0 *inside* the j loop, once per output entry.
    - No np.dot or @ inside: the point is to see every multiply-accumulate.
    """
    ### BEGIN SOLUTION
    a_data, b_data = _as_array(a), _as_array(b)
    _check_matmul_shapes(a_data.shape, b_data.shape)
    m, k = a_data.shape
    n = b_data.shape[1]
    out = np.zeros((m, n), dtype=np.result_type(a_data, b_data))
    for i in range(m):
        for j in range(n):
            total = 0
            for p in range(k):
                total += a_data[i, p] * b_data[p, j]
            out[i, j] = total
    if isinstance(a, Tensor) or isinstance(b, Tensor):
        return Tensor(out, dtype=out.dtype)
    return out
    ### END SOLUTION


# %% [markdown]
# ### 🧪 Unit test: matmul_naive
#
# The hand-computed 2×2 example, a non-square product checked against NumPy, Tensors in and out,
# and the error a student sees for mismatched shapes.

# %%
from tinytorch.utils.feedback import info, passed, progress, unit_test


def test_unit_matmul_naive():
    unit_test("matmul_naive")
    a = np.array([[1, 2], [3, 4]])
    b = np.array([[5, 6], [7, 8]])
    result = matmul_naive(a, b)
    assert isinstance(result, np.ndarray)
    assert result.tolist() == [[19, 22], [43, 50]], result
    passed("2×2 product matches the hand computation [[19, 22], [43, 50]]")

    rng = np.random.default_rng(0)
    x, w = rng.standard_normal((3, 5)), rng.standard_normal((5, 4))
    assert np.allclose(matmul_naive(x, w), x @ w)
    passed("(3, 5) @ (5, 4) equals NumPy's @")

    t = matmul_naive(Tensor([[1.0, 2.0]]), Tensor([[3.0], [4.0]]))
    assert isinstance(t, Tensor) and t.shape == (1, 1) and t.data[0, 0] == 11.0
    passed("Tensors in, Tensor out")

    try:
        matmul_naive(np.ones((2, 3)), np.ones((4, 2)))
    except ValueError as error:
        assert "(2, 3)" in str(error) and "(4, 2)" in str(error)
        passed(f"Mismatched shapes are refused: {error}")
    else:
        raise AssertionError("matmul_naive accepted (2, 3) @ (4, 2)")
    progress("matmul_naive")


if __name__ == "__main__":
    test_unit_matmul_naive()

# %% [markdown]
# ### 📊 Measure it: loops versus `@`
#
# Run the cell below. It multiplies two 64×64 float32 matrices (262,144 MACs) both ways and
# prints the time per MAC. Expect a gap of three to four orders of magnitude: this is why every
# layer from here on uses `@` (and why module 06 turns convolution into one big matmul).

# %%
def compare_matmul_speed(size=64, repeats=3):
    """Print the median time of matmul_naive and of NumPy's @ on (size, size) float32 matrices."""
    from tinytorch.utils.timing import median_seconds

    rng = np.random.default_rng(0)
    a = rng.standard_normal((size, size)).astype(np.float32)
    b = rng.standard_normal((size, size)).astype(np.float32)

    loops = median_seconds(lambda: matmul_naive(a, b), repeats)
    blas = median_seconds(lambda: np.matmul(a, b), repeats)
    macs = size ** 3
    info(f"{size}×{size} @ {size}×{size} = {macs:,} MACs")
    info(f"matmul_naive: {loops * 1e3:9.2f} ms  ({loops / macs * 1e9:8.2f} ns per MAC)", icon="🐢")
    info(f"numpy @     : {blas * 1e3:9.4f} ms  ({blas / macs * 1e9:8.4f} ns per MAC)", icon="🚀")
    info(f"@ is about {loops / blas:,.0f}× faster here", icon="📈")


if __name__ == "__main__":
    compare_matmul_speed()

# %% [markdown]
# ## Step 2: The `Layer` base class
#
# Every layer in TinyTorch (`Dense` here, `Conv2D` and the pooling layers in module 06) shares
# one small interface, modelled on PyTorch's `nn.Module`:
#
# | member | what it does |
# | --- | --- |
# | `forward(x)` | the computation; each layer overrides it |
# | `layer(x)` | `__call__`: calls `forward`, so a layer works like a function (autograd, once on, checks the result) |
# | `parameters()` | the tensors training will update, in the order they were defined |
# | `macs(input_shape)` | multiply-accumulates of one forward pass on an input of that shape |
#
# `parameters()` finds parameters by *looking at the layer's attributes*: a layer stores
# `self.weight = Tensor(..., requires_grad=True)` and never has to register it anywhere.
#
# ```
#   Sequential ── layers: [Dense, ReLU, Dense]
#                          │            │
#                          ├ weight ✓   ├ weight ✓      parameters() = [W1, b1, W2, b2]
#                          └ bias   ✓   └ bias   ✓
# ```
#
# The rule: every attribute that is a `Tensor` with `requires_grad=True` is a parameter; every
# attribute that is itself a layer (or a list of layers) contributes its own parameters; attributes
# are visited in the order they were first assigned, and a tensor shared by two layers is listed
# once. Anything with a `parameters()` method counts as a layer here, so the activations of
# module 03 (which own no parameters) sit in the same lists.
#
# Attributes whose name starts with `_` are private and never searched. A layer that keeps its
# last input for the backward pass (`self._input = x`) must not have that tensor mistaken for a
# parameter, and once autograd is on (module 08), that input may well have `requires_grad=True`.
#
# Once autograd is on, `__call__` also shows the result to autograd's engine (module 02's
# `get_autograd()`), which refuses a result it cannot trace back to the layer's parameters: a
# `forward` that computes on `.data` arrays would otherwise leave them without gradients, and
# the network would train everything but that layer, silently.
#
# This class is given: read it, because modules 05 to 08 build on exactly this behaviour.

# %%
#| export
class Layer:
    """Base class of all TinyTorch layers: ``forward``, ``__call__``, ``parameters()``, ``macs()``.

    Subclasses set their parameters as attributes (Tensors with ``requires_grad=True``) and
    override ``forward``; they may override ``macs`` to report their compute cost.
    """

    def forward(self, x):
        """The layer's computation, Tensor in, Tensor out; every subclass overrides it."""
        raise NotImplementedError(f"{type(self).__name__} must implement forward(x)")

    def __call__(self, *args, **kwargs):
        out = self.forward(*args, **kwargs)
        engine = get_autograd()  # None until module 08 (autograd) is imported
        return out if engine is None else engine.check_layer_output(self, out)

    def parameters(self):
        """Trainable tensors of this layer and its sub-layers, in definition order, each once.

        Private attributes (names starting with ``_``, e.g. a cached input) are skipped.
        """
        found, seen = [], set()
        for name, value in vars(self).items():
            if name.startswith("_"):
                continue
            for param in _parameters_in(value):
                if id(param) not in seen:
                    seen.add(id(param))
                    found.append(param)
        return found

    def macs(self, input_shape):
        """Multiply-accumulates of one forward pass on an input of ``input_shape`` (base: 0)."""
        return 0

    def __repr__(self):
        return f"{type(self).__name__}()"


def _parameters_in(value):
    """The parameters an attribute value holds: itself, a sub-layer's, or those of a list's items."""
    if isinstance(value, Tensor):
        return [value] if value.requires_grad else []
    if isinstance(value, (list, tuple)):
        return [param for item in value for param in _parameters_in(item)]
    if isinstance(value, Layer) or callable(getattr(value, "parameters", None)):
        return list(value.parameters())
    return []


# %%
def test_unit_layer_base():
    unit_test("Layer base class")

    class Scale(Layer):
        def __init__(self):
            self.factor = Tensor([2.0], requires_grad=True)
            self.constant = Tensor([1.0])              # requires_grad=False: not a parameter
            self._cache = Tensor([0.0], requires_grad=True)  # private: not a parameter

        def forward(self, x):
            return x * self.factor

    class Pair(Layer):
        def __init__(self):
            self.first = Scale()
            self.rest = [Scale(), Scale()]

    scale = Scale()
    assert scale(Tensor([3.0])).data.tolist() == [6.0]
    passed("layer(x) calls forward(x)")

    assert scale.parameters() == [scale.factor]
    passed("parameters() lists public Tensors with requires_grad=True, and only those")

    pair = Pair()
    expected = [pair.first.factor, pair.rest[0].factor, pair.rest[1].factor]
    assert [id(p) for p in pair.parameters()] == [id(p) for p in expected]
    passed("sub-layers and lists of layers contribute, in definition order")

    try:
        Layer()(Tensor([1.0]))
    except NotImplementedError:
        passed("the bare base class refuses to forward")
    else:
        raise AssertionError("Layer().forward should raise NotImplementedError")
    assert Layer().macs((2, 3)) == 0
    progress("Layer")


if __name__ == "__main__":
    test_unit_layer_base()

# %% [markdown]
# ## Step 3: The dense layer, `y = x @ W + b`
#
# ### The concept
#
# A dense layer connects **every** input feature to **every** output feature. With a batch of
# `N` samples of `in` features each, `x` has shape `(N, in)`; the weight `W` has shape
# `(in, out)` and the bias `b` shape `(out,)`:
#
# ```
#     x  (N × in)          W  (in × out)            b (out,)        y  (N × out)
#   ┌─────────────┐      ┌──────────────┐
#   │ sample 0    │      │              │        ┌──────────┐    ┌──────────┐
#   │ sample 1    │  @   │  w[p, j]:    │   +    │ b0 .. bj │ =  │          │
#   │   ...       │      │  input p →   │        └──────────┘    │          │
#   │ sample N-1  │      │  output j    │      (added to every   │          │
#   └─────────────┘      └──────────────┘       row: broadcast)  └──────────┘
#
#   input features          connections            one per            output features
#    x0 x1 x2 x3  ──────────  every xp to  ──────────  output  ────────  y0 y1 y2
#                             every yj
# ```
#
# We store `W` as `(in, out)` so the forward pass reads like the maths, `x @ W`. (PyTorch's
# `nn.Linear` stores the transpose, `(out, in)`, and computes `x @ W.T`; the numbers are the same.)
# A single sample of shape `(in,)` works too: `(in,) @ (in, out)` gives `(out,)`.
#
# ### The cost
#
# * **Parameters**: `in · out` weights + `out` biases. `Dense(784, 128)` has
#   `784 · 128 + 128 = 100,480` parameters = **392.5 KB** in float32 (4 bytes each).
# * **Compute**: `N · in · out` MACs for a batch of `N`, plus `N · out` additions for the bias
#   (not counted as MACs). `Dense(784, 128)` costs 100,352 MACs per image.
# * **Activation memory**: the output holds `N · out` numbers.
#
# A dense layer's parameter count grows with the *product* of its widths. Feeding a 224×224 RGB
# image (150,528 numbers) to a dense layer of 1,000 units would need 150 million parameters
# (574 MB in float32): the reason module 06 introduces convolution.
#
# ### Why the initialisation bound is 1/√in
#
# Each output is a sum of `in` products, `y_j = Σ_p x_p · W[p, j]`. If inputs and weights are
# independent with zero mean, the variances add up:
#
# ```
#     Var(y_j) = in · Var(W) · Var(x)
# ```
#
# A uniform distribution on `[-a, a]` has variance `a² / 3`. With `a = 1/√in`,
# `Var(W) = 1 / (3 · in)`, so `Var(y) = Var(x) / 3`: **the output's scale no longer depends on
# the layer's width.** With a fixed `a = 1` instead, `Var(y) = in/3 · Var(x)`: a 784-wide layer
# multiplies the standard deviation by about 16, and a few such layers overflow or saturate every
# activation. `U(-1/√in, 1/√in)` for both weight and bias is exactly PyTorch's `nn.Linear`
# default (its `kaiming_uniform_(a=√5)` works out to this bound).
#
# ### Dtypes
#
# Parameters are float32, like PyTorch's default. An input of another dtype (NumPy's default
# float64, or integers) is **cast to the weight's dtype** — float32 — before the multiplication,
# so the output is float32 (unless the input requires grad: a cast would cut it out of the graph
# of module 08, so it keeps its dtype and the product is in the wider one). PyTorch would refuse
# a float64 input to a float32 layer with a dtype-mismatch error; we accept it because NumPy
# hands out float64 arrays by default and the cast loses nothing a float32 layer could use.
# Convert the parameters themselves (as `model.double()` does in PyTorch:
# `p.data = p.data.astype(np.float64)` for each parameter) and the whole layer computes in
# float64.

# %%
#| export
def _check_size(name, value):
    """Raise ValueError unless ``value`` is a positive int (bools are refused too)."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")


def _check_features(layer, shape, expected):
    """Raise ValueError unless ``shape`` is (..., expected): one sample or a batch of samples."""
    if len(shape) == 0 or shape[-1] != expected:
        raise ValueError(
            f"{layer} expected input of shape (N, {expected}) or ({expected},), "
            f"got shape {tuple(shape)}"
        )


# %%
#| export
class Dense(Layer):
    """Fully connected layer ``y = x @ W + b`` (``torch.nn.Linear``, its weight transposed).

    Args:
        input_size (int): the features of each input sample.
        output_size (int): the features of each output sample.
        use_bias (bool): add a learned bias. Default: True.

    Shape:
        Input: (..., input_size): one sample (input_size,), a batch (N, input_size), or more
        leading dimensions.
        Output: (..., output_size).

    Attributes:
        weight (Tensor): (input_size, output_size), float32, requires_grad=True, drawn from
            U(−1/√input_size, 1/√input_size) as in PyTorch.
        bias (Tensor or None): (output_size,), drawn likewise; None when ``use_bias=False``.
    """

    def __init__(self, input_size, output_size, use_bias=True):
        """Create the weight (input_size, output_size) and, if use_bias, the bias (output_size,).

        TODO: Validate the sizes and draw weight and bias uniformly from ±1/sqrt(input_size).

        APPROACH:
        1. Validate with the given helper: _check_size("input_size", input_size), same for
           output_size.
        2. Store self.input_size, self.output_size, self.use_bias.
        3. bound = 1 / math.sqrt(input_size).
        4. self.weight = Tensor(np.random.uniform(-bound, bound, (input_size, output_size))
           .astype(np.float32), requires_grad=True).
        5. self.bias = the same with shape (output_size,) if use_bias, else None.

        EXAMPLE:
        >>> layer = Dense(4, 3)
        >>> layer.weight.shape, layer.bias.shape
        ((4, 3), (3,))
        >>> bool(abs(layer.weight.data).max() <= 0.5)   # 1 / sqrt(4)
        True

        HINTS:
        - Draw from np.random so that np.random.seed(...) makes a layer reproducible.
        - Assign weight before bias: parameters() lists attributes in assignment order.
        """
        ### BEGIN SOLUTION
        _check_size("input_size", input_size)
        _check_size("output_size", output_size)
        self.input_size = int(input_size)
        self.output_size = int(output_size)
        self.use_bias = bool(use_bias)
        bound = 1.0 / math.sqrt(self.input_size)
        weight = np.random.uniform(-bound, bound, (self.input_size, self.output_size))
        self.weight = Tensor(weight.astype(np.float32), requires_grad=True)
        if self.use_bias:
            bias = np.random.uniform(-bound, bound, (self.output_size,))
            self.bias = Tensor(bias.astype(np.float32), requires_grad=True)
        else:
            self.bias = None
        ### END SOLUTION

    def forward(self, x):
        """y = x @ W + b: (N, input_size) -> (N, output_size), or (input_size,) -> (output_size,).

        TODO: Check the input width, give the input the weight's dtype, multiply, add the bias.

        APPROACH:
        1. If x is not a Tensor (an array or a list), wrap it: x = Tensor(x).
        2. Validate with the given helper: _check_features("Dense", x.shape, self.input_size).
        3. If x.data.dtype is not the weight's (float32 by default) and x does not require grad,
           x = Tensor(x.data.astype(self.weight.dtype), dtype=self.weight.dtype). (A new Tensor
           would cut an x that requires grad out of the graph; such an x keeps its dtype, and @
           computes in the wider one.)
        4. y = x @ self.weight, then y = y + self.bias unless the bias is None.

        EXAMPLE:
        >>> layer = Dense(2, 1)
        >>> layer.weight.data[:] = [[2.0], [3.0]]; layer.bias.data[:] = [1.0]
        >>> layer(Tensor([[1.0, 1.0]])).data           # 1*2 + 1*3 + 1
        array([[6.]], dtype=float32)

        HINTS:
        - Use the Tensor operations (@ and +), not NumPy on .data: module 08 (autograd) makes
          exactly those operations differentiable, so your layer learns without any change.
        - The bias of shape (out,) broadcasts over the batch rows by itself.
        """
        ### BEGIN SOLUTION
        if not isinstance(x, Tensor):
            x = Tensor(x)
        _check_features("Dense", x.shape, self.input_size)
        if x.data.dtype != self.weight.dtype and not x.requires_grad:
            x = Tensor(x.data.astype(self.weight.dtype), dtype=self.weight.dtype)
        y = x @ self.weight
        if self.bias is not None:
            y = y + self.bias
        return y
        ### END SOLUTION

    def macs(self, input_shape):
        """N · input_size · output_size for an input (N, input_size); the bias adds are not MACs.

        Any leading dimensions count as the batch: (input_size,) is one sample.
        """
        _check_features("Dense", tuple(input_shape), self.input_size)
        samples = math.prod(input_shape[:-1])
        return int(samples * self.input_size * self.output_size)

    def __repr__(self):
        bias = "" if self.use_bias else ", use_bias=False"
        return f"Dense({self.input_size}, {self.output_size}{bias})"


# %% [markdown]
# ### 🧪 Unit test: Dense
#
# With weights set by hand the output can be computed on paper:
#
# ```
#   x = [[1, 2]]      W = [[1, 2, 3],      b = [0.5, -0.5, 1]
#                          [4, 5, 6]]
#
#   y = [[1·1 + 2·4 + 0.5,  1·2 + 2·5 - 0.5,  1·3 + 2·6 + 1]] = [[9.5, 11.5, 16.0]]
# ```

# %%
def test_unit_dense():
    unit_test("Dense layer")
    layer = Dense(2, 3)
    assert layer.weight.shape == (2, 3) and layer.bias.shape == (3,)
    assert layer.weight.requires_grad and layer.bias.requires_grad
    passed("weight (2, 3) and bias (3,) are trainable")

    layer.weight.data[:] = [[1, 2, 3], [4, 5, 6]]
    layer.bias.data[:] = [0.5, -0.5, 1]
    y = layer(Tensor([[1.0, 2.0]]))
    assert y.shape == (1, 3) and y.data.tolist() == [[9.5, 11.5, 16.0]], y
    passed("y = x @ W + b matches the hand computation [[9.5, 11.5, 16.0]]")

    single = layer(Tensor([1.0, 2.0]))
    assert single.shape == (3,) and single.data.tolist() == [9.5, 11.5, 16.0]
    passed("one sample (2,) gives (3,)")

    as_float64 = layer(np.array([[1.0, 2.0]]))
    assert as_float64.data.dtype == np.float32 and as_float64.data.tolist() == [[9.5, 11.5, 16.0]]
    passed("a float64 array is cast to float32")

    wide = Dense(100, 10)
    bound = 1 / math.sqrt(100)
    assert np.abs(wide.weight.data).max() <= bound and np.abs(wide.bias.data).max() <= bound
    assert wide.weight.data.dtype == np.float32
    passed(f"Dense(100, 10) starts inside ±1/sqrt(100) = ±{bound}")

    assert Dense(3, 2, use_bias=False).bias is None
    assert [p.shape for p in layer.parameters()] == [(2, 3), (3,)]
    assert layer.macs((5, 2)) == 5 * 2 * 3
    passed("use_bias=False works, parameters() is weight then bias, macs = N·in·out")

    try:
        layer(Tensor([[1.0, 2.0, 3.0]]))
    except ValueError as error:
        assert "(N, 2)" in str(error) and "(1, 3)" in str(error)
        passed(f"Wrong width is refused: {error}")
    else:
        raise AssertionError("Dense(2, 3) accepted an input of width 3")
    progress("Dense")


if __name__ == "__main__":
    test_unit_dense()

# %% [markdown]
# ### 📊 See the initialisation at work
#
# Push a batch of unit-variance inputs through five `512 → 512` layers (no activation, to isolate
# the effect) and watch the standard deviation: with the 1/√in bound it shrinks by √3 per layer
# (the `Var(y) = Var(x) / 3` above: slow, and training adjusts it), with a bound of 1 it explodes
# by √(512/3) ≈ 13 per layer, 370,000× after five. Deep ReLU networks often use He
# initialisation, bound √(6/in), which keeps the scale exactly once ReLU halves the variance.

# %%
def compare_initialisations(width=512, depth=5, seed=0):
    """Print the output std after each of ``depth`` Dense layers, default init versus U(-1, 1)."""
    np.random.seed(seed)
    x = Tensor(np.random.standard_normal((64, width)))
    layers = [Dense(width, width) for _ in range(depth)]
    default, unit = x, x
    for index, layer in enumerate(layers, start=1):
        default = layer(default)
        scaled = Tensor(np.random.uniform(-1, 1, (width, width)).astype(np.float32))
        unit = unit @ scaled
        info(f"after layer {index}: std {default.data.std():8.4f} (±1/√in)   "
             f"{unit.data.std():14.1f} (±1)")


if __name__ == "__main__":
    compare_initialisations()

# %% [markdown]
# ## 🎯 What you built
#
# * `matmul_naive(a, b)`: the multiply-accumulate loop nest, `M · N · K` MACs, and a measured
#   reason to hand that loop to BLAS through `@`.
# * `Layer`: `forward`, `__call__`, `parameters()` and `macs()`; every later layer inherits them.
# * `Dense(input_size, output_size, use_bias=True)`: `y = x @ W + b`, PyTorch's default
#   initialisation, float32 throughout, and an error that says which shape it wanted.
#
# Export it and run the tests:
#
# ```bash
# tito export --module layers
# tito test --module layers
# ```
#
# Next, module 05 (networks) stacks layers into models and counts what they cost.
