"""DataLoader: exact batches, the partial last batch, per-epoch shuffling with a seed, bad input."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tinytorch.core.dataloader import DataLoader, Dataset, TensorDataset
from tinytorch.core.tensor import Tensor


def numbered(count, features=2):
    """X row i = [i*features, ..., i*features + features-1], y_i = i: a batch reveals its indices."""
    X = np.arange(count * features, dtype=np.float32).reshape(count, features)
    return TensorDataset(X, np.arange(count))


def epoch_labels(loader):
    return [yb.data.tolist() for _, yb in loader]


class OneByOne(Dataset):
    """A plain Dataset (no get_batch) over the same arrays, to exercise the collate path."""

    def __init__(self, dataset):
        self.inner = dataset
        self.calls = 0

    def __len__(self):
        return len(self.inner)

    def __getitem__(self, index):
        self.calls += 1
        return self.inner[index]


class TestBatches:
    def test_exact_batches_in_order_with_the_partial_last_batch_kept(self):
        ds = numbered(10)
        batches = list(DataLoader(ds, batch_size=4))
        assert [X.shape for X, _ in batches] == [(4, 2), (4, 2), (2, 2)]
        assert [y.data.tolist() for _, y in batches] == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]
        np.testing.assert_array_equal(batches[2][0].data, [[16.0, 17.0], [18.0, 19.0]])

    def test_batches_are_tensors_with_the_data_set_dtypes(self):
        X, y = next(iter(DataLoader(numbered(5), batch_size=5)))
        assert isinstance(X, Tensor) and isinstance(y, Tensor)
        assert X.dtype == np.float32 and y.dtype == np.int64

    def test_default_batch_size_is_32(self):
        loader = DataLoader(numbered(100))
        assert loader.batch_size == 32 and loader.shuffle is False
        assert [len(y.data) for _, y in loader] == [32, 32, 32, 4]

    def test_batch_larger_than_the_data_set_gives_one_batch(self):
        loader = DataLoader(numbered(3), batch_size=64)
        assert len(loader) == 1
        assert epoch_labels(loader) == [[0, 1, 2]]

    def test_empty_data_set_has_no_batches(self):
        loader = DataLoader(TensorDataset(np.zeros((0, 2)), np.zeros(0)), batch_size=4)
        assert len(loader) == 0
        assert list(loader) == []

    @given(count=st.integers(0, 200), batch_size=st.integers(1, 70))
    @settings(max_examples=60, deadline=None)
    def test_len_is_ceil_and_batches_tile_the_data_in_order(self, count, batch_size):
        loader = DataLoader(numbered(count), batch_size=batch_size)
        sizes = [len(y.data) for _, y in loader]
        assert len(loader) == len(sizes) == math.ceil(count / batch_size)
        assert all(size == batch_size for size in sizes[:-1])
        assert sum(sizes) == count
        assert sum(epoch_labels(loader), []) == list(range(count))

    def test_every_epoch_without_shuffle_is_the_same(self):
        loader = DataLoader(numbered(7), batch_size=3, shuffle=False, seed=5)
        assert epoch_labels(loader) == epoch_labels(loader) == [[0, 1, 2], [3, 4, 5], [6]]

    def test_images_batch_to_n_c_h_w(self):
        images = np.random.default_rng(1).random((70, 1, 8, 8)).astype(np.float32)
        loader = DataLoader(TensorDataset(images, np.arange(70) % 10), batch_size=32)
        X_last, y_last = list(loader)[-1]
        assert X_last.shape == (6, 1, 8, 8) and y_last.shape == (6,)
        np.testing.assert_array_equal(X_last.data, images[64:])

    def test_changing_a_batch_does_not_change_the_data_set(self):
        ds = numbered(4)
        for X, y in DataLoader(ds, batch_size=2):
            X.data[:] = -1
            y.data[:] = -1
        np.testing.assert_array_equal(ds.y.data, [0, 1, 2, 3])
        assert ds.X.data.min() == 0.0


class TestVectorisedAndGenericPaths:
    def test_tensor_dataset_batches_without_per_item_calls(self, monkeypatch):
        ds = numbered(10)

        def no_items(index):
            raise AssertionError("TensorDataset batches must use get_batch, not ds[i]")

        monkeypatch.setattr(TensorDataset, "__getitem__", lambda self, index: no_items(index))
        assert epoch_labels(DataLoader(ds, batch_size=4, shuffle=True, seed=0))

    def test_plain_dataset_is_collated_item_by_item_with_the_same_result(self):
        fast = DataLoader(numbered(11), batch_size=4, shuffle=True, seed=3)
        generic = OneByOne(numbered(11))
        slow = DataLoader(generic, batch_size=4, shuffle=True, seed=3)
        fast_batches, slow_batches = list(fast), list(slow)
        assert len(fast_batches) == len(slow_batches) == 3
        for (X_fast, y_fast), (X_slow, y_slow) in zip(fast_batches, slow_batches):
            np.testing.assert_array_equal(X_fast.data, X_slow.data)
            np.testing.assert_array_equal(y_fast.data, y_slow.data)
        assert generic.calls == 11

    def test_any_object_with_len_and_getitem_works(self):
        pairs = [(np.array([float(i)]), i) for i in range(5)]
        assert epoch_labels(DataLoader(pairs, batch_size=2)) == [[0, 1], [2, 3], [4]]


class TestShuffle:
    def test_epochs_follow_one_generator_seeded_once(self):
        loader = DataLoader(numbered(20), batch_size=6, shuffle=True, seed=7)
        rng = np.random.default_rng(7)
        for _ in range(3):
            expected = rng.permutation(20).tolist()
            assert sum(epoch_labels(loader), []) == expected

    @given(count=st.integers(1, 120), batch_size=st.integers(1, 40), seed=st.integers(0, 2**32 - 1))
    @settings(max_examples=60, deadline=None)
    def test_every_index_exactly_once_per_epoch(self, count, batch_size, seed):
        loader = DataLoader(numbered(count), batch_size=batch_size, shuffle=True, seed=seed)
        for _ in range(2):
            seen = sum(epoch_labels(loader), [])
            assert sorted(seen) == list(range(count))

    def test_rows_stay_paired_with_their_labels(self):
        for X, y in DataLoader(numbered(30, features=3), batch_size=7, shuffle=True, seed=1):
            np.testing.assert_array_equal(X.data[:, 0], y.data * 3)

    def test_same_seed_same_sequence_of_epochs(self):
        first = DataLoader(numbered(50), batch_size=8, shuffle=True, seed=123)
        second = DataLoader(numbered(50), batch_size=8, shuffle=True, seed=123)
        for _ in range(3):
            assert epoch_labels(first) == epoch_labels(second)

    def test_each_epoch_has_a_new_order(self):
        loader = DataLoader(numbered(50), batch_size=8, shuffle=True, seed=0)
        epochs = [sum(epoch_labels(loader), []) for _ in range(3)]
        assert epochs[0] != epochs[1] != epochs[2] != epochs[0]
        assert epochs[0] != list(range(50))

    def test_different_seeds_give_different_orders(self):
        orders = {
            tuple(sum(epoch_labels(DataLoader(numbered(50), batch_size=50, shuffle=True, seed=s)), []))
            for s in range(5)
        }
        assert len(orders) == 5

    def test_epoch_order(self):
        assert DataLoader(numbered(5)).epoch_order().tolist() == [0, 1, 2, 3, 4]
        order = DataLoader(numbered(5), shuffle=True, seed=2).epoch_order()
        assert order.tolist() == np.random.default_rng(2).permutation(5).tolist()


class TestBadInput:
    @pytest.mark.parametrize("batch_size", [0, -3, 2.5, True, "4", None])
    def test_batch_size_must_be_a_positive_integer(self, batch_size):
        with pytest.raises(ValueError, match=f"batch_size must be a positive integer, got {batch_size!r}"):
            DataLoader(numbered(4), batch_size=batch_size)

    def test_numpy_integer_batch_size_is_fine(self):
        assert len(DataLoader(numbered(10), batch_size=np.int64(4))) == 3

    @pytest.mark.parametrize("dataset", [5, None, object()])
    def test_dataset_must_have_len_and_getitem(self, dataset):
        with pytest.raises(ValueError, match="dataset must support len\\(\\) and indexing.*got"):
            DataLoader(dataset)

    @pytest.mark.parametrize("seed", ["a", -1, 2.5])
    def test_seed_must_be_none_or_a_non_negative_integer(self, seed):
        with pytest.raises(ValueError, match=f"seed must be None or a non-negative integer, got {seed!r}"):
            DataLoader(numbered(4), seed=seed)

    def test_repr_shows_the_settings(self):
        loader = DataLoader(numbered(3), batch_size=2, shuffle=True, seed=9)
        assert repr(loader) == (
            "DataLoader(TensorDataset(X=(3, 2), y=(3,)), batch_size=2, shuffle=True, seed=9)"
        )
