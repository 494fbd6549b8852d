"""train_test_split: sizes, disjointness, pairing, reproducibility, stratification, bad input."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tinytorch.core.dataloader import DataLoader, TensorDataset, train_test_split
from tinytorch.core.tensor import Tensor
from tinytorch.datasets import load_digits


def numbered(count):
    """X row i = [2i, 2i+1] and y_i = i, so every row tells which example it is."""
    return np.arange(2 * count).reshape(count, 2), np.arange(count)


def ids(X_part):
    return (np.asarray(X_part)[:, 0] // 2).tolist()


class TestSizes:
    @pytest.mark.parametrize(
        "count, test_size, n_test",
        [(10, 0.2, 2), (10, 0.25, 3), (10, 0.01, 1), (1797, 0.2, 360), (7, 0.5, 4), (10, 3, 3), (10, 9, 9)],
    )
    def test_test_part_has_ceil_of_the_fraction_or_the_count(self, count, test_size, n_test):
        X, y = numbered(count)
        X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=test_size)
        assert len(X_test) == len(y_test) == n_test
        assert len(X_train) == len(y_train) == count - n_test

    @given(count=st.integers(2, 300), fraction=st.floats(0.01, 0.99), seed=st.integers(0, 1000))
    @settings(max_examples=80, deadline=None)
    def test_every_example_lands_in_exactly_one_part(self, count, fraction, seed):
        n_test = math.ceil(fraction * count)
        if not 1 <= n_test <= count - 1:
            return
        X, y = numbered(count)
        X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=fraction, seed=seed)
        assert len(X_test) == n_test
        assert sorted(ids(X_train) + ids(X_test)) == list(range(count))
        assert ids(X_train) == y_train.tolist() and ids(X_test) == y_test.tolist()


class TestReproducibility:
    def test_same_seed_same_split(self):
        X, y = numbered(40)
        first = train_test_split(X, y, test_size=0.3, seed=11)
        second = train_test_split(X, y, test_size=0.3, seed=11)
        for a, b in zip(first, second):
            np.testing.assert_array_equal(a, b)

    def test_default_seed_is_zero(self):
        X, y = numbered(40)
        np.testing.assert_array_equal(train_test_split(X, y)[1], train_test_split(X, y, seed=0)[1])

    def test_different_seeds_differ_and_both_parts_are_shuffled(self):
        X, y = numbered(40)
        tests = {tuple(ids(train_test_split(X, y, seed=s)[1])) for s in range(5)}
        assert len(tests) == 5
        X_train = train_test_split(X, y, seed=0)[0]
        assert ids(X_train) != sorted(ids(X_train)), "the training part comes in random order"


class TestTypes:
    def test_arrays_in_arrays_out_with_dtypes_kept(self):
        X = np.random.default_rng(0).random((10, 3))
        y = np.arange(10)
        parts = train_test_split(X, y)
        assert all(isinstance(part, np.ndarray) for part in parts)
        assert parts[0].dtype == np.float64 and parts[3].dtype == y.dtype

    def test_tensors_in_tensors_out(self):
        X, y = numbered(10)
        parts = train_test_split(Tensor(X.astype(np.float32)), Tensor(y))
        assert all(isinstance(part, Tensor) for part in parts)
        X_train, X_test, y_train, y_test = parts
        assert X_train.shape == (8, 2) and y_test.shape == (2,)
        np.testing.assert_array_equal(X_test.data[:, 0] // 2, y_test.data)

    def test_lists_become_arrays(self):
        X_train, X_test, y_train, y_test = train_test_split([[i] for i in range(5)], list(range(5)), test_size=1)
        assert isinstance(X_test, np.ndarray) and X_test.shape == (1, 1)
        assert X_test[0, 0] == y_test[0]


class TestStratify:
    def test_each_class_keeps_its_share(self):
        labels = np.repeat(np.arange(4), [10, 20, 30, 40])
        X = np.arange(100)[:, None]
        _, X_test, _, y_test = train_test_split(X, labels, test_size=0.2, stratify=True)
        assert np.bincount(y_test).tolist() == [2, 4, 6, 8]
        np.testing.assert_array_equal(labels[X_test[:, 0]], y_test)

    def test_leftovers_go_to_the_largest_remainders(self):
        labels = np.repeat(np.arange(3), [5, 3, 2])  # shares of 4 test: 2.0, 1.2, 0.8
        _, _, _, y_test = train_test_split(np.zeros((10, 1)), labels, test_size=4, stratify=True)
        assert np.bincount(y_test, minlength=3).tolist() == [2, 1, 1]

    @given(
        labels=st.lists(st.integers(0, 5), min_size=4, max_size=120),
        fraction=st.floats(0.05, 0.95),
        seed=st.integers(0, 100),
    )
    @settings(max_examples=80, deadline=None)
    def test_sizes_are_exact_and_each_class_gets_floor_or_ceil_of_its_share(self, labels, fraction, seed):
        labels = np.array(labels)
        count = len(labels)
        n_test = math.ceil(fraction * count)
        if not 1 <= n_test <= count - 1:
            return
        X = np.arange(count)[:, None]
        X_train, X_test, y_train, y_test = train_test_split(X, labels, test_size=fraction, seed=seed, stratify=True)
        assert len(y_test) == n_test
        assert sorted(X_train[:, 0].tolist() + X_test[:, 0].tolist()) == list(range(count))
        np.testing.assert_array_equal(labels[X_test[:, 0]], y_test)
        classes, sizes = np.unique(labels, return_counts=True)
        for label, size in zip(classes, sizes):
            share = size * n_test / count
            assert math.floor(share) <= np.sum(y_test == label) <= math.ceil(share)

    def test_digits_split_used_by_the_milestone(self):
        images, labels = load_digits()
        X_train, X_test, y_train, y_test = train_test_split(images, labels, test_size=0.2, seed=0, stratify=True)
        assert (len(X_train), len(X_test)) == (1437, 360)
        test_counts = np.bincount(y_test, minlength=10)
        assert test_counts.sum() == 360 and test_counts.min() >= 34 and test_counts.max() <= 37
        loader = DataLoader(TensorDataset(X_train, y_train), batch_size=32, shuffle=True, seed=0)
        assert len(loader) == 45
        assert [X.shape[0] for X, _ in loader][-1] == 29


class TestBadInput:
    def test_mismatched_lengths_name_both(self):
        with pytest.raises(ValueError, match=r"X has 10 \(shape \(10, 2\)\), y has 9 \(shape \(9,\)\)"):
            train_test_split(np.zeros((10, 2)), np.zeros(9))

    @pytest.mark.parametrize("test_size", [0.0, 1.0, 1.5, -0.2])
    def test_fraction_must_lie_between_0_and_1(self, test_size):
        with pytest.raises(ValueError, match=f"strictly between 0 and 1, got {test_size}"):
            train_test_split(*numbered(10), test_size=test_size)

    @pytest.mark.parametrize("test_size, n_test, n_train", [(0, 0, 10), (10, 10, 0), (-1, -1, 11)])
    def test_both_parts_need_an_example(self, test_size, n_test, n_train):
        with pytest.raises(ValueError, match=f"gives {n_test} test and {n_train} training examples out of 10"):
            train_test_split(*numbered(10), test_size=test_size)

    def test_one_example_cannot_be_split(self):
        with pytest.raises(ValueError, match="gives 1 test and 0 training examples out of 1"):
            train_test_split(np.zeros((1, 2)), np.zeros(1), test_size=0.5)

    @pytest.mark.parametrize("test_size", ["0.2", True, None])
    def test_test_size_must_be_a_number(self, test_size):
        with pytest.raises(ValueError,
                           match=f"test_size must be a fraction in \\(0, 1\\) or a whole number, got {test_size!r}"):
            train_test_split(*numbered(10), test_size=test_size)
