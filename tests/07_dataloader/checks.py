"""Graded checks of module 07 (dataloader): what `tito grade` gives points for.

Each check calls the student's exported `tinytorch.core.dataloader` (the `dataloader` argument) on
data drawn from `rng`, seeded from the grading run's secret seed, and returns plain data. The
grader runs the same check on the reference solution and compares the two outside the sandbox.
Which permutation a seed gives is the student's choice (the module asks only for a reproducible
one), so the checks of shuffling and splitting return what is determined: batch sizes, the
multiset of examples in an epoch or a part, rows still paired with their labels, and whether a
seed repeats and an epoch changes the order. The DataLoader checks load a small data set of
their own, so they measure the loader even when TensorDataset is not done. Points: `checks:` in
modules/source/07_dataloader/module.yaml. Format: modules/README.md, "Graded checks".
"""

import numpy as np

from tinytorch.core.tensor import Tensor
from tito.grading.data import refuses  # a valid input's value, then a refusal naming words drawn from the seed


def _examples(rng, low=8, high=40):
    """X (N, 2, 3) float64 whose first value encodes the row's index, y (N,) int64 labels 0..4."""
    count = int(rng.integers(low, high + 1))
    X = rng.standard_normal((count, 2, 3))
    X[:, 0, 0] = np.arange(count)
    return X, rng.integers(0, 5, count)


def _partial_batch_size(rng, count, low, high):
    """A batch size in [low, high] that does not divide ``count``: the epoch ends in a partial
    batch, so a loader that drops it (or counts N // batch_size batches) shows."""
    return int(rng.choice([size for size in range(low, high + 1) if count % size]))


def _described(t):
    data = np.array(getattr(t, "data", t))  # a copy: the check may change the batch afterwards
    return {"type": type(t).__name__, "data": data, "dtype": str(data.dtype)}


class _Examples:
    """A data set of the checks' own, example i being (X[i], y[i]): the Dataset contract only, so
    the loader must collate examples one by one."""

    def __init__(self, X, y):
        self.X, self.y = X.astype(np.float32), y

    def __len__(self):
        return len(self.X)

    def __getitem__(self, index):
        if not -len(self) <= index < len(self):
            raise IndexError(index)
        return Tensor(self.X[index]), Tensor(self.y[index])


class _Rows(_Examples):
    """The same with ``get_batch``, the Dataset contract's fast path: the DataLoader checks
    measure the loader even when the student's TensorDataset is not done."""

    def get_batch(self, indices):
        indices = np.asarray(indices)
        return Tensor(self.X[indices]), Tensor(self.y[indices])


def _epoch(loader):
    """One epoch as data: each batch's size, and all rows (X's index value) and labels in order."""
    batches = list(loader)
    return {"sizes": [len(y.data) for _, y in batches],
            "rows": np.concatenate([X.data[:, 0, 0] for X, _ in batches]).astype(np.int64),
            "labels": np.concatenate([y.data for _, y in batches]),
            "x_shapes": [list(X.shape[1:]) for X, _ in batches],
            "dtypes": sorted({str(X.data.dtype) for X, _ in batches} | {str(y.data.dtype) for _, y in batches})}


# --------------------------------------------------------------------------- TensorDataset


def check_tensor_dataset(dataloader, rng):
    """X and y stored as Tensors (float32, integer labels kept); len; (x, y) at i and at -i."""
    X, y = _examples(rng)
    ds = dataloader.TensorDataset(X, y)
    picks = [int(i) for i in rng.integers(-len(X), len(X), 4)]
    return {"X": _described(ds.X), "y": _described(ds.y), "len": len(ds), "len_type": type(len(ds)).__name__,
            "items": [[_described(x), _described(label)] for x, label in (ds[i] for i in picks)]}


def check_tensor_dataset_from_tensors(dataloader, rng):
    """Tensors are kept as Tensors; an integer index from NumPy works."""
    X, y = _examples(rng)
    ds = dataloader.TensorDataset(Tensor(X), Tensor(y))
    x, label = ds[np.int64(rng.integers(0, len(X)))]
    return {"X": _described(ds.X), "x": _described(x), "y": _described(label)}


def check_tensor_dataset_rejects_different_lengths(dataloader, rng):
    """The APPROACH: `_check_same_length` refuses X and y of different lengths (module.yaml: its words)."""
    X, labels = _examples(rng)
    y = labels[: -int(rng.integers(1, 4))]
    return refuses(lambda: _item(dataloader.TensorDataset(X, labels), len(X) - 1),
                   lambda: dataloader.TensorDataset(X, y), f"X has {len(X)}", f"y has {len(y)}")


def check_tensor_dataset_rejects_an_index_out_of_range(dataloader, rng):
    """The TODO: an index outside -N..N-1 raises IndexError, worded as the EXAMPLE (module.yaml)."""
    X, y = _examples(rng)
    index = len(X) + int(rng.integers(0, 3))
    return refuses(lambda: _item(dataloader.TensorDataset(X, y), index - 3 - len(X)),
                   lambda: dataloader.TensorDataset(X, y)[index], f"index {index}", f"of {len(X)} samples")


def _item(ds, index):
    """The data set's length and its example at ``index``, as data."""
    x, label = ds[index]
    return {"len": len(ds), "x": _described(x), "y": _described(label)}


### BEGIN HIDDEN TESTS
def check_tensor_dataset_iterates_by_index(dataloader, rng):
    """The APPROACH: `for x, y in dataset` stops at the IndexError, after N examples."""
    X, y = _examples(rng, 3, 9)
    return [int(label.data) for _, label in dataloader.TensorDataset(X, y)]
### END HIDDEN TESTS


def check_get_batch(dataloader, rng):
    """Rows at the indices (repeats allowed), in their order; a copy, not a view of the data set."""
    X, y = _examples(rng)
    ds = dataloader.TensorDataset(X, y)
    indices = rng.integers(0, len(X), int(rng.integers(1, 10)))
    Xb, yb = ds.get_batch(indices.tolist())
    result = {"X": _described(Xb), "y": _described(yb)}
    Xb.data[...] = -1
    result["data_set_unchanged"] = bool(np.array_equal(ds.X.data, X.astype(np.float32)))
    return result


# --------------------------------------------------------------------------- collate


def check_collate(dataloader, rng):
    """(x, y) pairs stacked into X (B, ...) and y (B,): arrays with int labels, and Tensors."""
    X, y = _examples(rng, 1, 8)
    arrays = dataloader.collate([(X[i], int(y[i])) for i in range(len(X))])
    tensors = dataloader.collate([(Tensor(X[i]), Tensor(y[i])) for i in range(len(X))])
    return {"arrays": [_described(t) for t in arrays], "tensors": [_described(t) for t in tensors]}


def check_collate_rejects_an_empty_list(dataloader, rng):
    """The APPROACH: an empty list is refused with a ValueError."""
    X, y = _examples(rng, 1, 8)
    return refuses(lambda: [_described(t) for t in dataloader.collate([(X[i], int(y[i])) for i in range(len(X))])],
                   lambda: dataloader.collate([]))


def check_collate_rejects_an_item_that_is_not_a_pair(dataloader, rng):
    """The APPROACH: an item that is not an (x, y) pair is refused with a ValueError."""
    X, y = _examples(rng, 2, 5)
    items = [(X[i], int(y[i])) for i in range(len(X))]
    position = int(rng.integers(0, len(items)))
    bad = [*items[:position], (X[0], 1, 2), *items[position + 1:]]
    return refuses(lambda: [_described(t) for t in dataloader.collate(items)],
                   lambda: dataloader.collate(bad), f"at position {position}")


# --------------------------------------------------------------------------- DataLoader


def check_dataloader_len(dataloader, rng):
    """ceil(N / batch_size) batches, the last partial one included, as an int."""
    cases = []
    for case in range(5):
        X, y = _examples(rng, 1, 30)
        if case == 0:
            batch = _partial_batch_size(rng, len(X), 2, 11)
        else:
            batch = int(rng.integers(1, 12)) if rng.random() < 0.7 else len(X)
        count = len(dataloader.DataLoader(_Rows(X, y), batch_size=batch))
        cases.append([count, type(count).__name__])
    return cases


def check_dataloader_in_order(dataloader, rng):
    """shuffle=False: examples 0..N-1 in batches of batch_size, the last one partial, every epoch."""
    X, y = _examples(rng)
    loader = dataloader.DataLoader(_Rows(X, y), batch_size=_partial_batch_size(rng, len(X), 2, 8))
    return {"first": _epoch(loader), "second": _epoch(loader)}


def check_dataloader_shuffled(dataloader, rng):
    """shuffle=True: each epoch every example once, rows with their labels, a new order per epoch,
    the same epochs again from the same seed."""
    X, y = _examples(rng, 20, 40)
    batch, seed = _partial_batch_size(rng, len(X), 2, 8), int(rng.integers(0, 2 ** 31))
    loader = dataloader.DataLoader(_Rows(X, y), batch_size=batch, shuffle=True, seed=seed)
    first, second = _epoch(loader), _epoch(loader)
    again = dataloader.DataLoader(_Rows(X, y), batch_size=batch, shuffle=True, seed=seed)
    replay = [_epoch(again), _epoch(again)]
    return {"sizes": first["sizes"], "rows_sorted": np.sort(first["rows"]), "second_sorted": np.sort(second["rows"]),
            "paired": bool(np.array_equal(y[first["rows"]], first["labels"])),
            "epochs_differ": not np.array_equal(first["rows"], second["rows"]),
            "seed_repeats": all(np.array_equal(a["rows"], b["rows"]) for a, b in zip(replay, [first, second]))}


def check_dataloader_epoch_order(dataloader, rng):
    """epoch_order(): 0..N-1 without shuffling; a permutation of them (int) with it."""
    X, y = _examples(rng)
    plain = dataloader.DataLoader(_Rows(X, y)).epoch_order()
    shuffled = dataloader.DataLoader(_Rows(X, y), shuffle=True, seed=int(rng.integers(0, 100))).epoch_order()
    return {"plain": np.asarray(plain), "shuffled_sorted": np.sort(shuffled),
            "integer": np.asarray(shuffled).dtype.kind in "iu"}


def check_dataloader_collates_a_plain_dataset(dataloader, rng):
    """A data set without get_batch is batched by collating its examples (given `_fetch`)."""
    X, y = _examples(rng, 3, 15)
    return _epoch(dataloader.DataLoader(_Examples(X, y), batch_size=_partial_batch_size(rng, len(X), 2, 5)))


def check_dataloader_over_a_tensor_dataset(dataloader, rng):
    """TensorDataset and DataLoader together: batches (B, 2, 3) float32 and (B,) int64."""
    X, y = _examples(rng)
    loader = dataloader.DataLoader(dataloader.TensorDataset(X, y), batch_size=_partial_batch_size(rng, len(X), 2, 8))
    return _epoch(loader)


# --------------------------------------------------------------------------- train_test_split


def _split(parts):
    """The four parts as data: types, sizes, the rows (X's index value) and labels of each."""
    X_train, X_test, y_train, y_test = parts
    data = [np.asarray(getattr(p, "data", p)) for p in parts]
    return {"types": [type(p).__name__ for p in parts], "sizes": [len(d) for d in data],
            "rows": np.sort(np.concatenate([data[0][:, 0, 0], data[1][:, 0, 0]])).astype(np.int64),
            "train_rows": data[0][:, 0, 0].astype(np.int64), "test_rows": data[1][:, 0, 0].astype(np.int64),
            "train_labels": data[2], "test_labels": data[3]}


def check_train_test_split(dataloader, rng):
    """ceil(test_size·N) test examples; every example in one part, with its label; the seed repeats."""
    X, y = _examples(rng, 10, 60)
    fraction, seed = float(rng.uniform(0.1, 0.5)), int(rng.integers(0, 1000))
    split = _split(dataloader.train_test_split(X, y, test_size=fraction, seed=seed))
    again = _split(dataloader.train_test_split(X, y, test_size=fraction, seed=seed))
    return {"types": split["types"], "sizes": split["sizes"], "rows": split["rows"],
            "paired": bool(np.array_equal(y[split["train_rows"]], split["train_labels"])
                           and np.array_equal(y[split["test_rows"]], split["test_labels"])),
            "seed_repeats": bool(np.array_equal(split["test_rows"], again["test_rows"])
                                 and np.array_equal(split["train_rows"], again["train_rows"]))}


def check_train_test_split_of_tensors_by_count(dataloader, rng):
    """Tensors in, Tensors out; a whole-number test_size is the test count."""
    X, y = _examples(rng, 10, 40)
    count = int(rng.integers(1, len(X)))
    split = _split(dataloader.train_test_split(Tensor(X), Tensor(y), test_size=count, seed=int(rng.integers(0, 99))))
    return {"types": split["types"], "sizes": split["sizes"], "rows": split["rows"]}


def check_train_test_split_stratified(dataloader, rng):
    """stratify=True keeps each class's share: classes of 10·k examples, m tenths of them for testing,
    for five seeds (one plain random split may happen to keep the shares)."""
    per_class = rng.integers(1, 4, 3) * 10
    y = np.repeat(np.arange(3), per_class)
    X = np.zeros((len(y), 2, 3))
    X[:, 0, 0] = np.arange(len(y))
    test_size = int(rng.integers(1, 5)) * len(y) // 10  # a whole number: no rounding in ceil(test_size·N)
    splits = [_split(dataloader.train_test_split(X, y, test_size=test_size, seed=int(seed), stratify=True))
              for seed in rng.choice(1000, 5, replace=False)]
    return [{"test_per_class": np.bincount(split["test_labels"], minlength=3),
             "train_per_class": np.bincount(split["train_labels"], minlength=3), "rows": split["rows"]}
            for split in splits]


### BEGIN HIDDEN TESTS
def check_train_test_split_rejects_a_fraction_of_one_or_more(dataloader, rng):
    """The APPROACH: `_test_count` refuses a test_size fraction outside (0, 1) (module.yaml: its words)."""
    X, y = _examples(rng)
    test_size = float(rng.uniform(1.0, 2.0))

    def valid():
        split = _split(dataloader.train_test_split(X, y, test_size=test_size / 4,  # under half: both parts keep one
                              seed=int(rng.integers(0, 99))))
        return {"sizes": split["sizes"], "rows": split["rows"]}
    return refuses(valid, lambda: dataloader.train_test_split(X, y, test_size=test_size), f"got {test_size}")
### END HIDDEN TESTS
