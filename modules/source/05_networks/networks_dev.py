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
# # Module 05: Networks
#
# A network is layers **composed**: the output of one is the input of the next,
# `y = f3(f2(f1(x)))`. In this module you build the container that does the composing, a factory
# for the classic multi-layer perceptron (MLP), and the tools that tell you what a model costs
# before you train it:
#
# 1. `Sequential([...])`: a layer made of layers, run in order;
# 2. `create_mlp(input_size, hidden_sizes, output_size)`: Dense → activation → Dense → ...;
# 3. `count_parameters(model)`: how many numbers training must learn;
# 4. `summary(model, input_shape)`: a table of every layer's output shape, parameters,
#    multiply-accumulates (MACs) and activation memory, with totals.
#
# ```
#   02 tensor ──► 03 activations ──► 04 layers ──► 05 networks ──► 06 cnn
#                                                  (you are here)
# ```
#
# Prerequisites: `tinytorch.core.tensor`, `tinytorch.core.activations`, `tinytorch.core.layers`
# (modules 02-04, exported).

# %%
#| default_exp core.networks

# %%
#| export
import numpy as np

from tinytorch.core.activations import ReLU
from tinytorch.core.layers import Dense, Layer
from tinytorch.core.tensor import Tensor

# %% [markdown]
# ## Step 1: `Sequential`, composition as a layer
#
# ### The concept
#
# ```
#    x (N, 4)                                                             y (N, 2)
#   ────────► ┌────────────┐ (N, 8) ┌────────┐ (N, 8) ┌────────────┐ ────────►
#             │ Dense(4, 8)│ ─────► │ ReLU() │ ─────► │ Dense(8, 2)│
#             └────────────┘        └────────┘        └────────────┘
#                W1, b1                                  W2, b2
#
#   Sequential([Dense(4, 8), ReLU(), Dense(8, 2)])(x)  ==  Dense2(ReLU(Dense1(x)))
# ```
#
# `Sequential` is itself a `Layer`: it has a `forward`, is called like a function, and its
# `parameters()` come for free from the base class of module 04, which walks the `self.layers`
# list and collects `[W1, b1, W2, b2]` in order. Because it is a layer, a `Sequential` can sit
# inside another `Sequential`. It also behaves like a list: `len(model)`, `model[0]`,
# `model[-1]`, `model[1:]` (a new `Sequential` sharing the same layers) and `for layer in model`.
#
# ### Why the activation between the dense layers matters
#
# Two dense layers with nothing between them are still *one* linear map:
#
# ```
#   (x @ W1 + b1) @ W2 + b2  =  x @ (W1 @ W2) + (b1 @ W2 + b2)  =  x @ W + b
# ```
#
# however many you stack. The nonlinearity (ReLU, Sigmoid, ...) between them is what lets depth
# express more than a single layer could; the demo after the unit test checks this numerically.
#
# ### The cost
#
# `Sequential` adds no parameters and no compute of its own: its cost is exactly the sum of its
# layers' costs, which is what `summary` (Step 4) adds up.

# %%
#| export
def _describe(layer):
    """A layer's own repr if its class defines one, else ``ClassName()``."""
    if type(layer).__repr__ is object.__repr__:
        return f"{type(layer).__name__}()"
    return repr(layer)


class Sequential(Layer):
    """Layers applied in order: ``Sequential([Dense(4, 8), ReLU(), Dense(8, 2)])``.

    A Layer itself: ``forward``/``__call__``, ``parameters()`` (every layer's, in order),
    ``macs(input_shape)``; and a list: ``len``, indexing (a slice gives a new Sequential sharing
    the layers), iteration and a readable repr.

    Args:
        layers (list or tuple of Layer): applied first to last. Default: none (the identity).

    Shape:
        Input: what the first layer takes, e.g. (N, 4) for ``Dense(4, 8)``.
        Output: what the last layer gives, e.g. (N, 2) for ``Dense(8, 2)``.
    """

    def __init__(self, layers=None):
        if layers is None:
            layers = []
        if not isinstance(layers, (list, tuple)):
            raise TypeError(
                "Sequential takes a list of layers, e.g. Sequential([Dense(4, 8), ReLU()]); "
                f"got {type(layers).__name__}"
            )
        for index, layer in enumerate(layers):
            if not callable(layer):
                raise TypeError(
                    f"Sequential layer {index} must be a layer (something callable), "
                    f"got {type(layer).__name__}: {layer!r}"
                )
        self.layers = list(layers)

    def forward(self, x):
        """Run x through every layer in order: the output of one is the input of the next.

        TODO: Apply self.layers one after the other and return the last output.

        APPROACH:
        1. Loop over self.layers.
        2. Replace x by layer(x) at each step.
        3. Return x (an empty Sequential returns its input unchanged).

        EXAMPLE:
        >>> model = Sequential([Dense(3, 4), ReLU(), Dense(4, 2)])
        >>> model(Tensor(np.ones((5, 3)))).shape
        (5, 2)

        HINTS:
        - Call layer(x), not layer.forward(x): __call__ is the one entry point every layer
          (and later the autograd module) agrees on.
        """
        ### BEGIN SOLUTION
        for layer in self.layers:
            x = layer(x)
        return x
        ### END SOLUTION

    def __len__(self):
        return len(self.layers)

    def __getitem__(self, index):
        if isinstance(index, slice):
            return Sequential(self.layers[index])
        return self.layers[index]

    def __iter__(self):
        return iter(self.layers)

    def macs(self, input_shape):
        """Total multiply-accumulates of one forward pass: the sum over the layers."""
        return sum(row["macs"] for row in summary(self, input_shape, show=False))

    def __repr__(self):
        if not self.layers:
            return "Sequential()"
        lines = [
            f"  ({index}): " + _describe(layer).replace("\n", "\n  ")
            for index, layer in enumerate(self.layers)
        ]
        return "Sequential(\n" + "\n".join(lines) + "\n)"


# %% [markdown]
# ### 🧪 Unit test: Sequential

# %%
from tinytorch.utils.feedback import info, passed, progress, unit_test


def test_unit_sequential():
    unit_test("Sequential")
    first, second = Dense(2, 2), Dense(2, 1)
    first.weight.data[:] = [[1, -1], [1, 1]]
    first.bias.data[:] = [0, -10]
    second.weight.data[:] = [[2], [3]]
    second.bias.data[:] = [0.5]
    model = Sequential([first, ReLU(), second])

    # x = [1, 2]: first -> [3, -7], ReLU -> [3, 0], second -> 3*2 + 0*3 + 0.5 = 6.5
    y = model(Tensor([[1.0, 2.0]]))
    assert y.shape == (1, 1) and y.data.tolist() == [[6.5]], y
    passed("Dense → ReLU → Dense matches the hand computation 6.5")

    assert len(model) == 3 and model[0] is first and model[-1] is second
    assert isinstance(model[1:], Sequential) and model[1:][1] is second
    passed("len, indexing and slicing behave like a list")

    expected = [first.weight, first.bias, second.weight, second.bias]
    assert [id(p) for p in model.parameters()] == [id(p) for p in expected]
    passed("parameters() = W1, b1, W2, b2, in order")

    assert repr(model).splitlines()[1] == "  (0): Dense(2, 2)"
    assert Sequential([])(Tensor([1.0])).data.tolist() == [1.0]
    passed("readable repr; an empty Sequential passes its input through")
    progress("Sequential")


if __name__ == "__main__":
    test_unit_sequential()

# %% [markdown]
# ### 📊 Stacking without activations collapses
#
# Two dense layers and the single dense layer `W = W1 @ W2`, `b = b1 @ W2 + b2` give the same
# outputs, to float32 rounding.

# %%
def show_linear_collapse(seed=0):
    """Compare Dense → Dense with the one Dense layer they are equivalent to."""
    np.random.seed(seed)
    first, second = Dense(5, 7), Dense(7, 3)
    merged = Dense(5, 3)
    merged.weight.data[:] = first.weight.data @ second.weight.data
    merged.bias.data[:] = first.bias.data @ second.weight.data + second.bias.data
    x = Tensor(np.random.standard_normal((4, 5)))
    stacked = Sequential([first, second])(x)
    gap = np.abs(stacked.data - merged(x).data).max()
    info(f"Dense(5, 7) → Dense(7, 3) versus one Dense(5, 3): largest difference {gap:.1e}")
    with_relu = Sequential([first, ReLU(), second])(x)
    info(f"with a ReLU between them the difference is {np.abs(with_relu.data - merged(x).data).max():.2f}")


if __name__ == "__main__":
    show_linear_collapse()

# %% [markdown]
# ## Step 2: `create_mlp`, the multi-layer perceptron
#
# An MLP alternates dense layers and activations. `create_mlp(784, [128, 64], 10)` builds the
# classic MNIST classifier:
#
# ```
#   input 784 ─► Dense(784, 128) ─► ReLU ─► Dense(128, 64) ─► ReLU ─► Dense(64, 10) ─► 10 scores
#                 100,480 params             8,256 params              650 params
# ```
#
# The widths list `[input_size, *hidden_sizes, output_size]` = `[784, 128, 64, 10]` gives one
# `Dense` per neighbouring pair, an activation after every dense layer **except the last**, and
# optionally an `output_activation` at the very end (e.g. `Sigmoid` for probabilities).
# `hidden_sizes=[]` gives a single `Dense(input_size, output_size)`: logistic-regression shape.
#
# `activation` is a class such as `ReLU` (each use gets its own instance) or an instance that is
# reused; `None` means no activation (and, per Step 1, a purely linear model).

# %%
#| export
def _make_activation(activation):
    """An activation layer from a class (instantiated) or an instance (reused); None stays None."""
    if activation is None:
        return None
    if isinstance(activation, type):
        return activation()
    if callable(activation):
        return activation
    raise TypeError(f"activation must be a layer class like ReLU or a layer, got {activation!r}")


def _check_widths(hidden_sizes):
    """Raise ValueError unless hidden_sizes is a list or tuple (of widths)."""
    if not isinstance(hidden_sizes, (list, tuple)):
        raise ValueError(
            f"hidden_sizes must be a list of layer widths like [128, 64] (or []), got {hidden_sizes!r}"
        )


def create_mlp(input_size, hidden_sizes, output_size, activation=ReLU, output_activation=None):
    """A Sequential MLP: Dense, activation, ..., Dense [, output_activation].

    (N, input_size) -> (N, output_size). For widths [input_size, *hidden_sizes, output_size]
    there is one Dense per neighbouring pair and an activation after each Dense but the last.

    TODO: Build the list of layers and wrap it in a Sequential.

    APPROACH:
    1. Validate with the given helper: _check_widths(hidden_sizes).
    2. sizes = [input_size, *hidden_sizes, output_size].
    3. For each neighbouring pair (fan_in, fan_out) of sizes: append Dense(fan_in, fan_out);
       unless it is the last pair, append _make_activation(activation) when that is not None.
    4. If output_activation is not None, append _make_activation(output_activation).
    5. Return Sequential(layers).

    EXAMPLE:
    >>> model = create_mlp(4, [8, 8], 2)
    >>> print(model)
    Sequential(
      (0): Dense(4, 8)
      (1): ReLU()
      (2): Dense(8, 8)
      (3): ReLU()
      (4): Dense(8, 2)
    )

    HINTS:
    - zip(sizes[:-1], sizes[1:]) walks the neighbouring pairs.
    - _make_activation(ReLU) makes a fresh ReLU() each time; _make_activation(None) is None.
    """
    ### BEGIN SOLUTION
    _check_widths(hidden_sizes)
    sizes = [input_size, *hidden_sizes, output_size]
    pairs = list(zip(sizes[:-1], sizes[1:]))
    layers = []
    for index, (fan_in, fan_out) in enumerate(pairs):
        layers.append(Dense(fan_in, fan_out))
        hidden_activation = _make_activation(activation) if index < len(pairs) - 1 else None
        if hidden_activation is not None:
            layers.append(hidden_activation)
    final = _make_activation(output_activation)
    if final is not None:
        layers.append(final)
    return Sequential(layers)
    ### END SOLUTION


# %% [markdown]
# ## Step 3: `count_parameters`
#
# Every weight and bias is a number training must learn and memory must hold. For an MLP with
# widths `n0, n1, ..., nL`:
#
# ```
#   parameters = Σ_i (n_i · n_{i+1} + n_{i+1})        (weights + biases of each Dense)
#
#   784-128-64-10:  784·128 + 128  =  100,480
#                 + 128·64  +  64  =    8,256
#                 +  64·10  +  10  =      650
#                                     ───────
#                                     109,386 parameters × 4 bytes = 427.3 KB (float32)
# ```
#
# Training needs more than that: a gradient of the same size, and an optimiser such as Adam two
# more buffers, so about 4 × 427 KB here. The first layer holds 92% of the parameters: in an MLP
# on images, the input layer dominates.

# %%
#| export
def count_parameters(model):
    """Total number of scalars in ``model.parameters()`` (shared tensors counted once).

    TODO: Add up the sizes of the model's parameter tensors.

    APPROACH:
    1. Loop over model.parameters().
    2. Add up each tensor's .size (its number of elements).
    3. Return the total as an int.

    EXAMPLE:
    >>> count_parameters(Dense(3, 2))      # 3*2 weights + 2 biases
    8

    HINTS:
    - parameters() already lists a tensor shared by two layers only once.
    """
    ### BEGIN SOLUTION
    return int(sum(param.size for param in model.parameters()))
    ### END SOLUTION


# %%
def test_unit_create_mlp_and_count():
    unit_test("create_mlp and count_parameters")
    model = create_mlp(4, [8, 6], 3)
    kinds = [type(layer).__name__ for layer in model]
    assert kinds == ["Dense", "ReLU", "Dense", "ReLU", "Dense"], kinds
    assert [(layer.input_size, layer.output_size) for layer in model[::2]] == [(4, 8), (8, 6), (6, 3)]
    passed("4 → [8, 6] → 3 gives Dense, ReLU, Dense, ReLU, Dense with the right widths")

    assert model(Tensor(np.zeros((5, 4)))).shape == (5, 3)
    passed("(5, 4) in, (5, 3) out")

    assert count_parameters(model) == (4 * 8 + 8) + (8 * 6 + 6) + (6 * 3 + 3) == 115
    assert count_parameters(create_mlp(784, [128, 64], 10)) == 109_386
    passed("count_parameters: 115 for 4-8-6-3, 109,386 for 784-128-64-10")

    single = create_mlp(3, [], 2)
    assert len(single) == 1 and count_parameters(single) == 8
    assert len(create_mlp(3, [4], 2, activation=None)) == 2
    passed("hidden_sizes=[] is one Dense; activation=None leaves only the Dense layers")
    progress("create_mlp, count_parameters")


if __name__ == "__main__":
    test_unit_create_mlp_and_count()

# %% [markdown]
# ## Step 4: `summary`, what a model costs
#
# Before training a model you want three numbers per layer, all from one forward pass on an input
# of the shape you will really use (batch dimension included):
#
# | column | meaning | for `Dense(in, out)` on `(N, in)` |
# | --- | --- | --- |
# | output shape | what the layer hands on | `(N, out)` |
# | params | numbers it learns | `in · out + out` |
# | MACs | multiply-accumulates of this forward pass, from `layer.macs(input_shape)` | `N · in · out` |
# | memory | bytes of its output, kept for the backward pass (activation memory) | `N · out · 4` |
#
# Layers without a `macs` method (the activations) count 0 MACs: their elementwise work is small
# next to a matmul. Module 06 gives `Conv2D` and the pooling layers a `macs` method, and `summary`
# picks it up without a change.
#
# For `create_mlp(784, [128, 64], 10)` on a batch of 32:
#
# ```
#   #  Layer            Output shape   Params        MACs   Memory
#   0  Dense(784, 128)  (32, 128)     100,480   3,211,264  16.0 KB
#   1  ReLU()           (32, 128)           0           0  16.0 KB
#   2  Dense(128, 64)   (32, 64)        8,256     262,144   8.0 KB
#   3  ReLU()           (32, 64)            0           0   8.0 KB
#   4  Dense(64, 10)    (32, 10)          650      20,480   1.2 KB
#      Total                          109,386   3,493,888  49.2 KB
# ```
#
# Two lessons hide in it. MACs ≈ batch × weights: every weight is used once per sample. And
# parameter memory (427 KB) is fixed, while activation memory (49 KB here) grows with the batch:
# at batch 1,024 it is 1.5 MB and overtakes the weights, which is why large batches run out of
# memory during training.
#
# `summary` walks the model's layers (a `Sequential`'s list, or the model itself if it is a single
# layer) on a zero tensor of `input_shape`, builds one dict per layer, prints them as a Rich table
# unless `show=False`, and returns the rows.

# %%
#| export
def _layers_of(model):
    """The layers summary reports: a Sequential's own list, or the model itself."""
    return list(model.layers) if isinstance(model, Sequential) else [model]


def _check_input_shape(input_shape):
    """The shape as a tuple of ints; ValueError for anything else."""
    shape = (input_shape,) if isinstance(input_shape, (int, np.integer)) else input_shape
    try:
        shape = tuple(shape)
    except TypeError:
        shape = None
    if not shape or not all(isinstance(d, (int, np.integer)) and d >= 0 for d in shape):
        raise ValueError(
            f"input_shape must be a tuple of sizes including the batch, e.g. (32, 784), "
            f"got {input_shape!r}"
        )
    return tuple(int(d) for d in shape)


def _forward_one(index, layer, x):
    """layer(x) as a Tensor; an error names the layer that raised it and the shape it got."""
    try:
        out = layer(x)
    except Exception as error:
        raise ValueError(
            f"summary: layer {index} ({_describe(layer)}) failed on input of shape "
            f"{tuple(x.shape)}: {error}"
        ) from error
    return out if isinstance(out, Tensor) else Tensor(out)


def _layer_params(layer):
    return count_parameters(layer) if callable(getattr(layer, "parameters", None)) else 0


def _layer_macs(layer, input_shape):
    return int(layer.macs(input_shape)) if callable(getattr(layer, "macs", None)) else 0


def _format_bytes(count):
    """1,536 -> '1.5 KB': binary units, as memory is counted."""
    for unit in ("B", "KB", "MB", "GB"):
        if count < 1024 or unit == "GB":
            return f"{count} B" if unit == "B" else f"{count:.1f} {unit}"
        count /= 1024


def _print_summary(model, input_shape, rows):
    """Print the rows as a Rich table with a totals line."""
    import sys

    from rich import box
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    plain = not getattr(sys.stdout, "isatty", lambda: False)()
    console = Console(highlight=False, width=100 if plain else None, no_color=plain)
    table = Table(
        title=escape(f"{type(model).__name__} on input {input_shape}"),
        box=box.ASCII if plain else box.SIMPLE_HEAD,
        show_footer=True,
    )
    has_parameters = callable(getattr(model, "parameters", None))
    param_bytes = sum(p.data.nbytes for p in model.parameters()) if has_parameters else 0
    totals = {key: sum(row[key] for row in rows) for key in ("params", "macs", "memory_bytes")}
    table.add_column("#", justify="right", footer="")
    table.add_column("Layer", footer="Total")
    table.add_column("Output shape", footer="")
    table.add_column("Params", justify="right", footer=f"{totals['params']:,}")
    table.add_column("MACs", justify="right", footer=f"{totals['macs']:,}")
    table.add_column("Memory", justify="right", footer=_format_bytes(totals["memory_bytes"]))
    for index, row in enumerate(rows):
        table.add_row(
            str(index), escape(row["layer"]), str(row["output_shape"]), f"{row['params']:,}",
            f"{row['macs']:,}", _format_bytes(row["memory_bytes"]),
        )
    console.print(table)
    console.print(
        f"Parameters: {totals['params']:,} ({_format_bytes(param_bytes)}) · "
        f"MACs: {totals['macs']:,} · activation memory: {_format_bytes(totals['memory_bytes'])}"
    )


# %%
#| export
def summary(model, input_shape, show=True):
    """Per-layer output shape, parameters, MACs and activation memory for an input shape.

    ``input_shape`` includes the batch, e.g. (32, 784) or (N, C, H, W). Returns one dict per
    layer, ``{"layer", "output_shape", "params", "macs", "memory_bytes"}``, and prints them as a
    Rich table with totals unless ``show=False``.

    TODO: Run a zero input through the layers one at a time and describe each.

    APPROACH:
    1. shape = _check_input_shape(input_shape); x = Tensor(np.zeros(shape, dtype=np.float32)).
    2. For index, layer in enumerate(_layers_of(model)):
       - remember the input shape, then x = _forward_one(index, layer, x);
       - append {"layer": _describe(layer), "output_shape": tuple(x.shape),
         "params": _layer_params(layer), "macs": _layer_macs(layer, input shape),
         "memory_bytes": x.size * x.data.dtype.itemsize}.
    3. If show: _print_summary(model, shape, rows).
    4. Return rows.

    EXAMPLE:
    >>> rows = summary(Sequential([Dense(4, 8), ReLU()]), (2, 4), show=False)
    >>> rows[0]
    {'layer': 'Dense(4, 8)', 'output_shape': (2, 8), 'params': 40, 'macs': 64, 'memory_bytes': 64}

    HINTS:
    - A layer's MACs depend on its *input* shape, its memory on its *output*.
    - Cast the numbers with int(...) so the rows hold plain Python ints.
    """
    ### BEGIN SOLUTION
    shape = _check_input_shape(input_shape)
    x = Tensor(np.zeros(shape, dtype=np.float32))
    rows = []
    for index, layer in enumerate(_layers_of(model)):
        layer_input_shape = tuple(x.shape)
        x = _forward_one(index, layer, x)
        rows.append({
            "layer": _describe(layer),
            "output_shape": tuple(int(d) for d in x.shape),
            "params": int(_layer_params(layer)),
            "macs": int(_layer_macs(layer, layer_input_shape)),
            "memory_bytes": int(x.size * x.data.dtype.itemsize),
        })
    if show:
        _print_summary(model, shape, rows)
    return rows
    ### END SOLUTION


# %%
def test_unit_summary():
    unit_test("summary")
    model = create_mlp(4, [8], 2)
    rows = summary(model, (3, 4), show=False)
    assert [row["output_shape"] for row in rows] == [(3, 8), (3, 8), (3, 2)]
    assert [row["params"] for row in rows] == [40, 0, 18]
    assert [row["macs"] for row in rows] == [3 * 4 * 8, 0, 3 * 8 * 2]
    assert [row["memory_bytes"] for row in rows] == [3 * 8 * 4, 3 * 8 * 4, 3 * 2 * 4]
    passed("4-8-2 MLP on (3, 4): params 40/0/18, MACs 96/0/48, memory 96/96/24 bytes")

    assert model.macs((3, 4)) == 144
    passed("Sequential.macs adds its layers' MACs: 144")

    try:
        summary(model, (3, 5), show=False)
    except ValueError as error:
        assert "layer 0" in str(error) and "(3, 5)" in str(error)
        passed("a wrong input shape names the layer that refused it")
    else:
        raise AssertionError("summary accepted an input of width 5 for Dense(4, 8)")
    progress("summary")


if __name__ == "__main__":
    test_unit_summary()

# %% [markdown]
# ### 📊 The MNIST MLP, costed
#
# Run the cell to print the table above for `create_mlp(784, [128, 64], 10)` on a batch of 32.

# %%
if __name__ == "__main__":
    summary(create_mlp(784, [128, 64], 10), (32, 784))

# %% [markdown]
# ## 🎯 What you built
#
# * `Sequential(layers)`: composition as a layer, with list behaviour and a readable repr.
# * `create_mlp(input_size, hidden_sizes, output_size, activation=ReLU, output_activation=None)`.
# * `count_parameters(model)`: the number of learned scalars.
# * `summary(model, input_shape, show=True)`: output shapes, parameters, MACs and activation
#   memory per layer, with totals; later layers only need a `macs` method to appear in it.
#
# ```bash
# tito export --module networks
# tito test --module networks
# ```
#
# Next, module 06 (CNN) adds layers that see images as images, and `summary` shows how much
# cheaper in parameters (and costlier in MACs) they are.
