# %% [markdown]
# # Module 07: DataLoader — feeding the network
#
# Module 06 gave you `Conv2D`, pooling and `Flatten`: a CNN that can *look* at an image.
# Its filters are still random. To learn them (modules 08–10) the training loop must see
# thousands of labelled examples, over and over, in a sensible order and in sensible chunks.
# This module builds the plumbing that does that:
#
# ```
#   files on disk          Dataset                DataLoader                 training loop
#  ┌──────────────┐   ┌──────────────────┐   ┌────────────────────┐   ┌────────────────────┐
#  │ digits.npz   │──►│ len(ds) == 1797  │──►│ epoch order        │──►│ for X, y in loader:│
#  │ 1797 × 8×8   │   │ ds[i] -> (x, y)  │   │ [812, 3, 1555, …]  │   │   logits = model(X)│
#  └──────────────┘   └──────────────────┘   │ cut into batches   │   │   loss, backward,  │
#                                            │ X: (32, 1, 8, 8)   │   │   step             │
#                                            │ y: (32,)           │   └────────────────────┘
#                                            └────────────────────┘
# ```
#
# You will build:
#
# 1. `Dataset` — the two-method contract every data source follows: `len(ds)` and `ds[i]`.
# 2. `TensorDataset(X, y)` — a data set held in memory as two arrays.
# 3. `collate(items)` — stacking single examples into one batch.
# 4. `DataLoader(dataset, batch_size=32, shuffle=False, seed=None)` — epochs of batches.
# 5. `train_test_split(X, y, test_size=0.2, seed=0, stratify=False)` — keeping some data unseen.
#
# And you will *measure* why a batch should be cut out of an array with one fancy-indexing
# call rather than assembled one example at a time in a Python loop.
#
# **The data.** `tinytorch.datasets.load_digits()` ships the UCI handwritten digits
# (Alpaydin & Kaynak 1998, CC BY 4.0): 1,797 grey 8×8 images of the digits 0–9 written by
# 13 people. It is small enough to train a CNN on in seconds and real enough that the
# network has to generalise to handwriting it has never seen.

# %%
#| default_exp core.dataloader

# %%
#| export
import math
import operator

import numpy as np

from tinytorch.core.tensor import Tensor

# %% [markdown]
# ## Step 0: look at the data
#
# `load_digits()` returns NumPy arrays, already shaped the way a CNN wants them:
#
# ```
#   images  float32 (1797, 1, 8, 8)   N images, 1 grey channel, 8 rows, 8 columns, values in [0, 1]
#   labels  int64   (1797,)           the digit each image shows, 0..9
# ```
#
# Each pixel was made by counting the black pixels of a 4×4 block of a 32×32 scan, so the raw
# values are 0..16; the loader divides by 16. The whole data set is
# 1797 × 64 × 4 bytes ≈ 460 kB as float32 — it fits in memory many times over, which is why
# a `TensorDataset` that simply holds the arrays is the right tool here. (ImageNet's 1.2 M
# images of 3×224×224 would need ~720 GB as float32: real loaders read files lazily in
# `__getitem__`, which is exactly what the `Dataset` contract allows.)

# %%
from tinytorch.datasets import load_digits

SHADES = " .:-=+*#%@"


def digit_as_text(image):
    """An (8, 8) image with values in [0, 1] drawn with characters, darkest = '@'."""
    levels = np.minimum((np.asarray(image) * len(SHADES)).astype(int), len(SHADES) - 1)
    return "\n".join("".join(SHADES[v] * 2 for v in row) for row in levels)


if __name__ == "__main__":
    digit_images, digit_labels = load_digits()
    print(f"images {digit_images.shape} {digit_images.dtype}, labels {digit_labels.shape} {digit_labels.dtype}")
    print(f"examples per digit: {np.bincount(digit_labels).tolist()}")
    for index in (0, 1, 2):
        print(f"\nlabel {digit_labels[index]}:")
        print(digit_as_text(digit_images[index, 0]))

# %% [markdown]
# ## Step 1: the `Dataset` contract
#
# A training loop should not care whether examples come from an array in memory, a folder of
# PNG files or a database. So every data source speaks the same two-word language
# (PyTorch's `torch.utils.data.Dataset` is the same idea):
#
# ```
#   len(dataset)   -> how many examples there are
#   dataset[i]     -> the i-th example, as a pair (x, y)
# ```
#
# Everything else — order, batching, splitting — is built on top of those two calls, once.

# %%
#| export
class Dataset:
    """Base class of every data set: a sized collection of (x, y) examples.

    Subclasses implement ``__len__`` (the number of examples) and ``__getitem__(i)``
    (the i-th example as a pair ``(x, y)``). A subclass that can hand out a whole batch
    at once may also define ``get_batch(indices) -> (X, y)``; ``DataLoader`` then uses it
    instead of fetching examples one by one.
    """

    def __len__(self):
        raise NotImplementedError(f"{type(self).__name__} must define __len__")

    def __getitem__(self, index):
        raise NotImplementedError(f"{type(self).__name__} must define __getitem__")

    def __repr__(self):
        return f"{type(self).__name__}(len={len(self)})"


# %% [markdown]
# ## Step 2: `TensorDataset` — examples held in memory
#
# When the data fits in memory (the digits do, easily) a data set is just two arrays that
# share their first axis, the *sample axis*:
#
# ```
#   X: (N, 1, 8, 8)      y: (N,)
#   ┌───────────┐        ┌───┐
#   │ image 0   │  ◄──►  │ 0 │      dataset[i] == (X[i], y[i])
#   │ image 1   │  ◄──►  │ 1 │
#   │   ...     │        │...│
#   │ image N-1 │  ◄──►  │ 8 │
#   └───────────┘        └───┘
# ```
#
# The one thing that can go wrong is that the two arrays disagree about N — a classic bug
# after filtering one array and forgetting the other. Catch it at construction, with a
# message that names both lengths, rather than much later as a confusing shape error.
#
# Two small helpers are given: `_as_tensor` turns an array (or nested list) into a `Tensor`
# and leaves a `Tensor` alone; `_check_same_length` raises the `ValueError`.

# %%
#| export
def _data(value):
    """The ndarray behind a Tensor, or the value itself as an ndarray."""
    return value.data if isinstance(value, Tensor) else np.asarray(value)


def _as_tensor(value):
    """``value`` as a Tensor: a Tensor is kept as it is, anything else is wrapped."""
    return value if isinstance(value, Tensor) else Tensor(value)


def _sample_count(value, name):
    """The length of the first (sample) axis; ValueError for a scalar, named ``name``."""
    shape = np.shape(_data(value))
    if len(shape) == 0:
        raise ValueError(f"{name} must have a sample axis (at least 1 dimension), got a scalar")
    return shape[0]


def _check_same_length(X, y):
    """Raise ValueError unless X and y hold the same number of samples (their first axis)."""
    x_count, y_count = _sample_count(X, "X"), _sample_count(y, "y")
    if x_count != y_count:
        raise ValueError(
            f"X and y must hold the same number of samples: X has {x_count} "
            f"(shape {np.shape(_data(X))}), y has {y_count} (shape {np.shape(_data(y))})"
        )


# %%
#| export
class TensorDataset(Dataset):
    """A data set held in memory: ``dataset[i] == (X[i], y[i])``.

    Args:
        X: inputs, Tensor or array-like of shape (N, ...), e.g. images (N, C, H, W).
        y: targets, Tensor or array-like of shape (N, ...), e.g. class labels (N,).

    Both are stored as Tensors (``.X``, ``.y``); floating data becomes float32, integer
    labels stay integer.
    """

    def __init__(self, X, y):
        """Store X and y as Tensors after checking they hold the same number of samples.

        TODO: Convert both inputs to Tensors and check their lengths agree.

        APPROACH:
        1. Check the lengths first with ``_check_same_length(X, y)`` (it raises the ValueError).
        2. Store ``self.X = _as_tensor(X)`` and ``self.y = _as_tensor(y)``.

        EXAMPLE:
        >>> ds = TensorDataset(np.zeros((5, 2)), np.arange(5))
        >>> ds.X.shape, ds.y.shape
        ((5, 2), (5,))
        >>> TensorDataset(np.zeros((5, 2)), np.arange(4))
        Traceback (most recent call last):
        ValueError: X and y must hold the same number of samples: X has 5 (shape (5, 2)), y has 4 (shape (4,))

        HINTS:
        - A Tensor's ndarray is ``.data``; ``len`` of the data set is its first axis.
        """
        ### BEGIN SOLUTION
        _check_same_length(X, y)
        self.X = _as_tensor(X)
        self.y = _as_tensor(y)
        ### END SOLUTION

    def __len__(self):
        """The number of samples N (the first axis of X).

        TODO: Return the size of the sample axis.

        APPROACH:
        1. ``self.X.shape[0]``.

        EXAMPLE:
        >>> len(TensorDataset(np.zeros((5, 2)), np.arange(5)))
        5

        HINTS:
        - Must be a plain Python int.
        """
        ### BEGIN SOLUTION
        return int(self.X.shape[0])
        ### END SOLUTION

    def __getitem__(self, index):
        """The example at ``index`` as ``(Tensor x, Tensor y)``: X (N, ...) -> x (...).

        TODO: Return sample ``index`` of X and of y, each wrapped in a Tensor.

        APPROACH:
        1. Turn ``index`` into an int with ``operator.index`` (rejects 1.5 and slices).
        2. Allow negative indices like a list; outside ``-N..N-1`` raise
           ``IndexError(f"index {index} is out of range for a data set of {N} samples")``
           (``for x, y in dataset`` relies on that IndexError to stop).
        3. Return ``Tensor(self.X.data[index]), Tensor(self.y.data[index])``.

        EXAMPLE:
        >>> ds = TensorDataset(np.array([[1., 2.], [3., 4.]]), np.array([7, 9]))
        >>> x, y = ds[1]
        >>> x, y
        (Tensor([3., 4.], shape=(2,), dtype=float32), Tensor(9, shape=(), dtype=int64))
        >>> ds[2]
        Traceback (most recent call last):
        IndexError: index 2 is out of range for a data set of 2 samples

        HINTS:
        - ``self.X.data[i]`` is a view; ``Tensor(...)`` wraps it (float data stays float32).
        """
        ### BEGIN SOLUTION
        index = operator.index(index)
        count = len(self)
        if not -count <= index < count:
            raise IndexError(f"index {index} is out of range for a data set of {count} samples")
        return Tensor(self.X.data[index]), Tensor(self.y.data[index])
        ### END SOLUTION

    def get_batch(self, indices):
        """The samples at ``indices`` in one step: indices (B,) -> (X (B, ...), y (B,...)).

        TODO: Cut the batch out of both arrays with one fancy-indexing call each.

        APPROACH:
        1. ``indices = np.asarray(indices, dtype=np.int64)``.
        2. Return ``Tensor(self.X.data[indices]), Tensor(self.y.data[indices])``.

        EXAMPLE:
        >>> ds = TensorDataset(np.arange(10.0).reshape(5, 2), np.arange(5))
        >>> X, y = ds.get_batch([4, 0])
        >>> X
        Tensor([[8., 9.],
                [0., 1.]], shape=(2, 2), dtype=float32)
        >>> y
        Tensor([4, 0], shape=(2,), dtype=int64)

        HINTS:
        - NumPy indexing with an integer array copies the selected rows in C, in order;
          no Python loop, no ``np.stack``.
        - The copy matters: changing a batch in place must not change the data set.
        """
        ### BEGIN SOLUTION
        indices = np.asarray(indices, dtype=np.int64)
        return Tensor(self.X.data[indices]), Tensor(self.y.data[indices])
        ### END SOLUTION

    def __repr__(self):
        return f"TensorDataset(X={self.X.shape}, y={self.y.shape})"


# %%
from tinytorch.utils.feedback import passed, progress, unit_test


def test_unit_tensor_dataset():
    unit_test("TensorDataset")
    X = np.arange(12, dtype=np.float64).reshape(6, 2)
    y = np.array([0, 1, 2, 0, 1, 2])
    ds = TensorDataset(X, y)
    assert len(ds) == 6
    x3, y3 = ds[3]
    assert isinstance(x3, Tensor) and isinstance(y3, Tensor)
    np.testing.assert_array_equal(x3.data, [6.0, 7.0])
    assert y3.data == 0
    assert ds.X.dtype == np.float32, "float inputs are stored as float32"
    np.testing.assert_array_equal(ds[-1][0].data, [10.0, 11.0])
    passed("len(ds) and indexing give the i-th (x, y) pair, negative indices work")

    Xb, yb = ds.get_batch([5, 0, 2])
    np.testing.assert_array_equal(Xb.data, X[[5, 0, 2]])
    np.testing.assert_array_equal(yb.data, [2, 0, 2])
    passed("get_batch cuts a whole batch out with one indexing call")

    try:
        TensorDataset(X, y[:5])
    except ValueError as error:
        assert "6" in str(error) and "5" in str(error), error
    else:
        raise AssertionError("mismatched lengths must raise ValueError")
    try:
        ds[6]
    except IndexError:
        pass
    else:
        raise AssertionError("ds[6] of a 6-sample data set must raise IndexError")
    passed("mismatched X / y and out-of-range indices are refused clearly")
    progress("TensorDataset")


if __name__ == "__main__":
    test_unit_tensor_dataset()

# %% [markdown]
# ## Step 3: why batches?
#
# Training could update the weights after every single example (pure *stochastic* gradient
# descent) or after the whole data set (*full-batch* gradient descent). Mini-batches of
# 16–256 sit in between, and win on three counts:
#
# * **Speed.** One forward pass on a (32, 1, 8, 8) batch is one big matrix product /
#   convolution instead of 32 small ones: the Python overhead per call (microseconds) is paid
#   once, and NumPy's BLAS kernels run at full speed on large operands.
# * **Gradient quality.** The gradient of a batch is an average of B per-example gradients:
#   its noise shrinks like 1/√B, stable enough to follow, yet noisy enough to shake the
#   weights out of poor spots. Full-batch is smooth but takes one step per epoch.
# * **Memory is bounded.** Activations are stored for the backward pass *per example in the
#   batch*, so memory grows with B, not with N — a data set far larger than RAM still trains.
#
# **What a batch costs in memory** (input only, float32 = 4 bytes per value):
#
# | data | batch shape | values | bytes |
# | --- | --- | --- | --- |
# | digits | (32, 1, 8, 8) | 2,048 | 8 kB |
# | CIFAR-10 | (128, 3, 32, 32) | 393,216 | 1.5 MB |
# | ImageNet | (256, 3, 224, 224) | 38,535,168 | 154 MB |
#
# The activations inside the network usually dwarf the input: the milestone CNN's first
# `Conv2D(1, 16, 3, padding=1)` turns each 8 kB digits batch into 32 × 16 × 8 × 8 × 4 B =
# 128 kB, kept until backward. That is why batch size is the first knob to turn down when a
# GPU runs out of memory.
#
# ### Collating: from examples to a batch
#
# A generic `Dataset` only knows how to give *one* example. To form a batch, fetch B examples
# and stack them along a new first axis:
#
# ```
#   [(x0, y0), (x1, y1), (x2, y2)]           x_i: (1, 8, 8)   y_i: ()
#                │ collate
#                ▼
#   X = stack(x0, x1, x2): (3, 1, 8, 8)      y = stack(y0, y1, y2): (3,)
# ```

# %%
#| export
def collate(items):
    """Stack a list of B examples ``(x, y)`` into one batch ``(X (B, ...), y (B, ...))``.

    Each ``x`` (and each ``y``) may be a Tensor, an ndarray or a number; all ``x`` must have the
    same shape, and so must all ``y``.

    TODO: Stack the inputs and the targets of the examples along a new first axis.

    APPROACH:
    1. Refuse an empty list with ``ValueError("collate needs at least one (x, y) example, got
       an empty list")``, and any item that is not a tuple or list of two with
       ``ValueError(f"collate expects (x, y) pairs, got {type(item).__name__} at position
       {position}")``.
    2. ``X = np.stack([_data(x) for x, _ in items])``, the same for the targets.
    3. Return ``Tensor(X), Tensor(y)``.

    EXAMPLE:
    >>> X, y = collate([(np.array([1., 2.]), 0), (np.array([3., 4.]), 1)])
    >>> X
    Tensor([[1., 2.],
            [3., 4.]], shape=(2, 2), dtype=float32)
    >>> y
    Tensor([0, 1], shape=(2,), dtype=int64)

    HINTS:
    - ``_data(value)`` gives the ndarray behind a Tensor (or turns a number into an array).
    - ``np.stack`` raises a ValueError by itself when the shapes differ.
    """
    ### BEGIN SOLUTION
    if len(items) == 0:
        raise ValueError("collate needs at least one (x, y) example, got an empty list")
    for position, item in enumerate(items):
        if not isinstance(item, (tuple, list)) or len(item) != 2:
            raise ValueError(
                f"collate expects (x, y) pairs, got {type(item).__name__} at position {position}"
            )
    inputs = np.stack([_data(x) for x, _ in items])
    targets = np.stack([_data(y) for _, y in items])
    return Tensor(inputs), Tensor(targets)
    ### END SOLUTION


# %%
def test_unit_collate():
    unit_test("collate")
    items = [(np.full((1, 2, 2), float(i)), i % 2) for i in range(3)]
    X, y = collate(items)
    assert X.shape == (3, 1, 2, 2) and y.shape == (3,)
    np.testing.assert_array_equal(X.data[:, 0, 0, 0], [0.0, 1.0, 2.0])
    np.testing.assert_array_equal(y.data, [0, 1, 0])
    passed("examples are stacked along a new first axis, in order")
    X, y = collate([(Tensor([1.0, 2.0]), Tensor(3)), (Tensor([4.0, 5.0]), Tensor(6))])
    np.testing.assert_array_equal(X.data, [[1.0, 2.0], [4.0, 5.0]])
    np.testing.assert_array_equal(y.data, [3, 6])
    passed("Tensor examples work too")
    for bad in ([], [(1.0, 2.0, 3.0)]):
        try:
            collate(bad)
        except ValueError:
            pass
        else:
            raise AssertionError(f"collate({bad!r}) must raise ValueError")
    passed("an empty list or a non-pair is refused")
    progress("collate")


if __name__ == "__main__":
    test_unit_collate()

# %% [markdown]
# ## Step 4: the `DataLoader`
#
# The loader turns a data set into *epochs*. One epoch = one pass over every example, cut
# into `ceil(N / batch_size)` batches; the last batch keeps whatever is left over (it is
# *partial*, not dropped — dropping it would silently skip examples every epoch):
#
# ```
#   N = 10, batch_size = 4, shuffle=False
#
#   epoch order:  0 1 2 3 | 4 5 6 7 | 8 9
#                 batch 0   batch 1   batch 2 (partial: 2 examples)     len(loader) == 3
# ```
#
# ### Why shuffle?
#
# Data files are often sorted — by class, by date, by who collected them. Fed in that order,
# the network sees a run of nothing but zeros, then nothing but ones, … Each batch's gradient
# then pulls towards "everything is a 0", then towards "everything is a 1": the weights
# chase the latest class instead of learning all of them. Shuffling makes every batch a small
# random sample of the whole data set, so its gradient is an unbiased estimate of the full
# gradient. And a *new* order each epoch means the network never sees the same batches twice,
# which is a little extra noise that helps it generalise.
#
# ```
#   sorted:    [0 0 0 0] [0 0 1 1] [1 1 1 1] ...    batch gradients point in different directions
#   shuffled:  [7 2 0 9] [4 1 1 6] [3 8 5 0] ...    each batch looks like the whole data set
# ```
#
# ### Reproducible randomness
#
# "Random" must not mean "unrepeatable": a bug you cannot reproduce is a bug you cannot fix.
# The loader owns **one** `np.random.default_rng(seed)` Generator, created once. Each epoch
# draws the next permutation from it, so
#
# * epochs differ from each other (the generator moves on), and
# * two loaders built with the same seed produce exactly the same sequence of epochs.
#
# (Re-seeding at the start of every epoch would be a bug: every epoch would repeat the same
# order.) With `seed=None` the generator is seeded from the operating system.
#
# ### Fetching a batch: loop or fancy indexing?
#
# A generic `Dataset` is asked for each example separately and the results are collated. A
# data set that defines `get_batch(indices)` — `TensorDataset` does — hands over the whole
# batch with one NumPy indexing call. Step 5 measures the difference.

# %%
#| export
class DataLoader:
    """Iterate over a data set in batches: each epoch yields ``(X, y)`` Tensor pairs.

    Args:
        dataset: a ``Dataset`` (anything with ``len(dataset)`` and ``dataset[i] -> (x, y)``).
        batch_size: examples per batch (int >= 1). The last batch of an epoch holds the
            remaining ``N % batch_size`` examples when N is not a multiple (it is kept).
        shuffle: False -> examples in order 0..N-1 every epoch; True -> a new random
            permutation every epoch.
        seed: seeds the loader's single random generator, so a given seed reproduces the whole
            sequence of epochs; None -> unpredictable. Ignored when ``shuffle`` is False.

    Shapes: for a ``TensorDataset`` of X (N, C, H, W) and y (N,), each batch is
    X (B, C, H, W) and y (B,) with B = batch_size (smaller for the last batch).

    >>> from tinytorch.datasets import load_digits
    >>> images, labels = load_digits()      # (1797, 1, 8, 8) and (1797,)
    >>> loader = DataLoader(TensorDataset(images, labels), batch_size=32, shuffle=True, seed=0)
    >>> len(loader)                         # ceil(1797 / 32)
    57
    >>> [X.shape for X, y in loader][-2:]   # one epoch: 56 full batches, then the 5 left over
    [(32, 1, 8, 8), (5, 1, 8, 8)]
    """

    def __init__(self, dataset, batch_size=32, shuffle=False, seed=None):
        if not (hasattr(dataset, "__len__") and hasattr(dataset, "__getitem__")):
            raise ValueError(
                f"dataset must support len() and indexing like a Dataset, got {type(dataset).__name__}"
            )
        if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
            raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
        self.dataset = dataset
        self.batch_size = int(batch_size)
        self.shuffle = bool(shuffle)
        self.seed = seed
        try:
            self._rng = np.random.default_rng(seed)
        except (TypeError, ValueError):
            raise ValueError(f"seed must be None or a non-negative integer, got {seed!r}") from None

    def __len__(self):
        """The number of batches per epoch: ceil(N / batch_size).

        TODO: Count the batches, the last partial one included.

        APPROACH:
        1. N = ``len(self.dataset)``; return ``ceil(N / batch_size)`` as an int.

        EXAMPLE:
        >>> len(DataLoader(TensorDataset(np.zeros((10, 1)), np.zeros(10)), batch_size=4))
        3

        HINTS:
        - ``math.ceil`` or integer arithmetic ``(N + B - 1) // B``; an empty data set has 0.
        """
        ### BEGIN SOLUTION
        return math.ceil(len(self.dataset) / self.batch_size)
        ### END SOLUTION

    def epoch_order(self):
        """The order in which the next epoch visits the examples: int64 array (N,).

        TODO: Return 0..N-1 in order, or a fresh permutation when shuffling.

        APPROACH:
        1. Without shuffle: ``np.arange(N)``.
        2. With shuffle: ``self._rng.permutation(N)`` — the loader's one generator, so each
           call gives the next, different, permutation.

        EXAMPLE:
        >>> ds_of_5 = TensorDataset(np.zeros((5, 1)), np.arange(5))
        >>> DataLoader(ds_of_5, shuffle=False).epoch_order()
        array([0, 1, 2, 3, 4])
        >>> sorted(DataLoader(ds_of_5, shuffle=True, seed=0).epoch_order().tolist())   # a permutation
        [0, 1, 2, 3, 4]

        HINTS:
        - Never create a new Generator here: re-seeding would repeat the same order each epoch.
        """
        ### BEGIN SOLUTION
        count = len(self.dataset)
        if self.shuffle:
            return self._rng.permutation(count)
        return np.arange(count)
        ### END SOLUTION

    def __iter__(self):
        """One epoch: yield ``(X, y)`` batches, B = batch_size examples each, the last one partial.

        TODO: Walk through ``epoch_order()`` in steps of ``batch_size`` and yield each batch.

        APPROACH:
        1. ``order = self.epoch_order()`` (once per epoch, so each epoch gets its own order).
        2. For ``start`` in ``range(0, N, batch_size)``: ``indices = order[start:start + B]``.
        3. ``yield self._fetch(indices)``.

        EXAMPLE:
        >>> ds = TensorDataset(np.arange(5.0)[:, None], np.arange(5))
        >>> [y.data.tolist() for _, y in DataLoader(ds, batch_size=2)]
        [[0, 1], [2, 3], [4]]

        HINTS:
        - Slicing past the end of an array just stops at the end: the last slice is the
          partial batch, no special case needed.
        - Write this method as a generator (``yield``).
        """
        ### BEGIN SOLUTION
        order = self.epoch_order()
        for start in range(0, len(order), self.batch_size):
            yield self._fetch(order[start:start + self.batch_size])
        ### END SOLUTION

    def _fetch(self, indices):
        """The batch at ``indices``: one ``get_batch`` call when the data set has it, else collate."""
        get_batch = getattr(self.dataset, "get_batch", None)
        if get_batch is not None:
            return get_batch(indices)
        return collate([self.dataset[int(i)] for i in indices])

    def __repr__(self):
        return (
            f"DataLoader({self.dataset!r}, batch_size={self.batch_size}, "
            f"shuffle={self.shuffle}, seed={self.seed!r})"
        )


# %%
def test_unit_dataloader():
    unit_test("DataLoader")
    X = np.arange(20, dtype=np.float32).reshape(10, 2)
    y = np.arange(10)
    loader = DataLoader(TensorDataset(X, y), batch_size=4)
    assert len(loader) == 3
    batches = list(loader)
    assert [b[0].shape for b in batches] == [(4, 2), (4, 2), (2, 2)]
    np.testing.assert_array_equal(batches[2][0].data, X[8:])
    np.testing.assert_array_equal(np.concatenate([b[1].data for b in batches]), y)
    passed("10 examples in batches of 4 -> 4 + 4 + 2, in order, last batch kept")

    shuffled = DataLoader(TensorDataset(X, y), batch_size=3, shuffle=True, seed=42)
    epoch1 = np.concatenate([yb.data for _, yb in shuffled])
    epoch2 = np.concatenate([yb.data for _, yb in shuffled])
    assert sorted(epoch1.tolist()) == list(range(10)) and sorted(epoch2.tolist()) == list(range(10))
    assert not np.array_equal(epoch1, epoch2), "each epoch should have its own order"
    again = DataLoader(TensorDataset(X, y), batch_size=3, shuffle=True, seed=42)
    np.testing.assert_array_equal(np.concatenate([yb.data for _, yb in again]), epoch1)
    passed("shuffling visits every example once per epoch; same seed, same epochs")

    class Squares(Dataset):
        def __len__(self):
            return 5

        def __getitem__(self, i):
            return np.array([i, i * i], dtype=np.float32), i

    X_sq, y_sq = next(iter(DataLoader(Squares(), batch_size=5)))
    np.testing.assert_array_equal(X_sq.data[:, 1], [0, 1, 4, 9, 16])
    np.testing.assert_array_equal(y_sq.data, [0, 1, 2, 3, 4])
    passed("a plain Dataset is batched by collating its examples")
    progress("DataLoader")


if __name__ == "__main__":
    test_unit_dataloader()

# %% [markdown]
# ## Step 5: what a Python loop per example costs
#
# Both ways of fetching a batch produce the same arrays. The difference is *who loops*:
#
# ```
#   per example (collate):                     fancy indexing (get_batch):
#   for i in indices:          B × Python      X.data[indices]         1 call, the loop
#       x, y = ds[i]             calls, each   └── C loop copying B    runs in C
#       wrap in Tensor           allocating        rows of 64 floats
#   np.stack(B small arrays)     small objects
# ```
#
# Every trip through the Python loop costs a few microseconds of interpreter work (a method
# call, an index check, two Tensor objects, a list entry) no matter how small the example is;
# the copy itself — 256 bytes for a digit — takes nanoseconds. So for small examples the loop
# version is all overhead, and the vectorised version is **tens of times faster** for a batch of
# 256 digits. A whole shuffled epoch in batches of 32 gains less (with small batches the fixed
# cost of each batch — slicing, two Tensors — weighs in too). Small next to the network's
# own work on digits, but the loader runs every epoch, and with bigger data sets the same
# per-item overhead is why real loaders read whole batches at once and prepare them in
# background worker processes.
#
# Run the cell to see the numbers on your machine (they vary from run to run; the medians of
# several repeats are quoted, and only the ratio is worth comparing between machines).

# %%
from tinytorch.utils.timing import median_seconds


if __name__ == "__main__":
    digits = TensorDataset(*load_digits())
    batch_indices = np.random.default_rng(0).permutation(len(digits))[:256]
    per_item = median_seconds(lambda: collate([digits[int(i)] for i in batch_indices]))
    vectorised = median_seconds(lambda: digits.get_batch(batch_indices))
    print(f"batch of 256 digits: per-example loop {per_item * 1e6:8.1f} µs")
    print(f"                     fancy indexing   {vectorised * 1e6:8.1f} µs")
    print(f"                     ratio            {per_item / vectorised:8.1f}×")

    class OneByOne(Dataset):
        """The same digits, but without get_batch: the loader must fetch and collate each example."""

        def __len__(self):
            return len(digits)

        def __getitem__(self, index):
            return digits[index]

    fast_epoch = DataLoader(digits, batch_size=32, shuffle=True, seed=0)
    slow_epoch = DataLoader(OneByOne(), batch_size=32, shuffle=True, seed=0)
    fast, slow = median_seconds(lambda: list(fast_epoch)), median_seconds(lambda: list(slow_epoch))
    print(f"one shuffled digits epoch ({len(fast_epoch)} batches): get_batch {fast * 1e3:.2f} ms, "
          f"one by one {slow * 1e3:.2f} ms ({slow / fast:.0f}×)")

# %% [markdown]
# ## Step 6: `train_test_split` — keep some data unseen
#
# A network that scores 100% on the images it trained on may simply have memorised them. The
# only honest measure is accuracy on examples it never saw while training. So before training,
# set aside a *test* part and do not touch it until the end:
#
# ```
#   1797 digits ──► shuffle with seed ──► ┌──────────── 1437 train ────────────┬─ 360 test ─┐
#                                         └─ DataLoader(shuffle=True) → fit    └─ evaluate  ┘
# ```
#
# Choices made here (the same as scikit-learn's `train_test_split`):
#
# * `test_size` is a fraction in (0, 1) — the test part gets `ceil(test_size × N)` examples —
#   or a whole number of test examples. Both parts must end up non-empty.
# * The split is random but reproducible: `seed=0` by default, so every run of the course gets
#   the same split and the milestone's accuracy is comparable between runs.
# * It returns `X_train, X_test, y_train, y_test`, Tensors if X / y were Tensors, else ndarrays.
# * `stratify=False` by default. With `stratify=True` each class is split separately, so the
#   test part holds the same class proportions as the whole (with small data sets a plain random
#   split can under-represent a class by chance). The test size stays exactly
#   `ceil(test_size × N)`: each class gets its proportional share rounded down, and the few
#   examples left over go to the classes with the largest remainders.

# %%
#| export
def _test_count(test_size, count):
    """How many of ``count`` examples go to the test part; ValueError unless both parts are non-empty."""
    if isinstance(test_size, bool) or not isinstance(test_size, (int, float, np.integer, np.floating)):
        raise ValueError(f"test_size must be a fraction in (0, 1) or a whole number, got {test_size!r}")
    if isinstance(test_size, (float, np.floating)):
        if not 0.0 < test_size < 1.0:
            raise ValueError(f"test_size as a fraction must lie strictly between 0 and 1, got {test_size}")
        n_test = math.ceil(test_size * count)
    else:
        n_test = int(test_size)
    if not 1 <= n_test <= count - 1:
        raise ValueError(
            f"test_size={test_size!r} gives {n_test} test and {count - n_test} training examples "
            f"out of {count}; both parts need at least one"
        )
    return n_test


def _take(value, indices):
    """Rows ``indices`` of value, as a Tensor if value is a Tensor, else as an ndarray."""
    if isinstance(value, Tensor):
        return Tensor(value.data[indices])
    return np.asarray(value)[indices]


def _stratified_test_indices(labels, n_test, rng):
    """n_test indices drawn class by class in proportion to each class's size (largest remainder)."""
    classes, members = np.unique(labels, return_inverse=True)
    sizes = np.bincount(members)
    shares = sizes * n_test / len(labels)
    per_class = np.floor(shares).astype(np.int64)
    leftover = n_test - int(per_class.sum())
    per_class[np.argsort(-(shares - per_class), kind="stable")[:leftover]] += 1
    chosen = [
        rng.permutation(np.flatnonzero(members == c))[:k] for c, k in enumerate(per_class)
    ]
    return rng.permutation(np.concatenate(chosen))


# %%
#| export
def train_test_split(X, y, test_size=0.2, seed=0, stratify=False):
    """Split X (N, ...) and y (N, ...) into a random training part and a test part.

    Returns ``X_train, X_test, y_train, y_test`` (Tensors when the inputs are Tensors, else
    ndarrays), with ``n_test = ceil(test_size * N)`` test examples for a fraction, or
    ``test_size`` of them for a whole number; every example lands in exactly one part.
    ``seed`` makes the split reproducible; ``stratify=True`` keeps each class's share of y
    (1-D class labels) the same in both parts.

    TODO: Draw a random permutation with the seed; the first n_test examples form the test part.

    APPROACH:
    1. ``_check_same_length(X, y)``; ``n_test = _test_count(test_size, N)``.
    2. ``rng = np.random.default_rng(seed)``.
    3. Test indices: ``rng.permutation(N)[:n_test]`` — or, when stratifying,
       ``_stratified_test_indices(labels, n_test, rng)``.
    4. Training indices: every other index, in random order (``rng.permutation`` of
       ``np.setdiff1d(np.arange(N), test)``).
    5. Return ``_take(X, train), _take(X, test), _take(y, train), _take(y, test)``.

    EXAMPLE:
    >>> X_train, X_test, y_train, y_test = train_test_split(np.arange(10)[:, None], np.arange(10))
    >>> len(X_train), len(X_test)
    (8, 2)

    HINTS:
    - ``_data(y)`` gives the labels as an ndarray, whether y is a Tensor or not.
    """
    ### BEGIN SOLUTION
    _check_same_length(X, y)
    count = _sample_count(X, "X")
    n_test = _test_count(test_size, count)
    rng = np.random.default_rng(seed)
    if stratify:
        test = _stratified_test_indices(_data(y), n_test, rng)
    else:
        test = rng.permutation(count)[:n_test]
    train = rng.permutation(np.setdiff1d(np.arange(count), test))
    return _take(X, train), _take(X, test), _take(y, train), _take(y, test)
    ### END SOLUTION


# %%
def test_unit_train_test_split():
    unit_test("train_test_split")
    X = np.arange(50).reshape(25, 2)
    y = np.arange(25) % 5
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2, seed=0)
    assert len(X_train) == 20 and len(X_test) == 5
    rows = sorted(X_train[:, 0].tolist() + X_test[:, 0].tolist())
    assert rows == X[:, 0].tolist(), "every example in exactly one part"
    np.testing.assert_array_equal(y_train, X_train[:, 0] // 2 % 5)
    passed("sizes 20 / 5, disjoint, and X rows stay paired with their labels")
    again = train_test_split(X, y, test_size=0.2, seed=0)
    np.testing.assert_array_equal(again[1], X_test)
    passed("the same seed gives the same split")
    _, _, _, y_test = train_test_split(X, y, test_size=10, seed=3, stratify=True)
    assert np.bincount(y_test).tolist() == [2, 2, 2, 2, 2]
    passed("stratify=True keeps the class proportions")
    progress("train_test_split")


if __name__ == "__main__":
    test_unit_train_test_split()

# %% [markdown]
# ## Step 7: the whole pipeline on real digits
#
# This is exactly what the training milestone (module 10) will do before its first epoch:

# %%
def test_unit_digits_pipeline():
    unit_test("digits pipeline")
    images, labels = load_digits()
    X_train, X_test, y_train, y_test = train_test_split(images, labels, test_size=0.2, seed=0)
    assert (len(X_train), len(X_test)) == (1437, 360)
    train_loader = DataLoader(TensorDataset(X_train, y_train), batch_size=32, shuffle=True, seed=0)
    assert len(train_loader) == 45  # ceil(1437 / 32): 44 full batches + one of 29
    shapes = [X.shape for X, _ in train_loader]
    assert shapes[0] == (32, 1, 8, 8) and shapes[-1] == (29, 1, 8, 8)
    X, y = next(iter(train_loader))
    assert X.dtype == np.float32 and y.dtype == np.int64
    passed(f"1437 training digits -> {len(train_loader)} batches of (32, 1, 8, 8), last one 29")
    assert X.data.nbytes == 32 * 1 * 8 * 8 * 4 == 8192
    passed(f"one input batch holds {X.data.nbytes:,} bytes (32 × 64 float32 values)")
    progress("digits pipeline")


if __name__ == "__main__":
    test_unit_digits_pipeline()

# %% [markdown]
# ## Summary
#
# * A **Dataset** is two methods, `len` and `[i]`; everything else is built on them once.
# * A **DataLoader** walks an epoch order in steps of `batch_size`; the last, partial batch
#   is kept; `len(loader) == ceil(N / batch_size)`.
# * **Shuffle** every epoch, from **one** seeded Generator: unbiased batch gradients, yet the
#   whole run is reproducible.
# * **Batch memory** grows with the batch size, not the data set size; activations inside the
#   network cost far more than the input batch.
# * **Vectorise**: a batch cut out with one fancy-indexing call is tens of times faster than
#   a Python loop over examples, because per-item interpreter overhead dwarfs the copy.
# * **Hold out** a test split before training, reproducibly, and touch it only to evaluate.
#
# Next, module 08 (autograd) makes `backward()` work, so that these batches can finally teach
# the CNN's filters something.
