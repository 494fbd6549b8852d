"""Dataset, TensorDataset and collate: exact contents, dtypes, copies and bad input."""

import numpy as np
import pytest

from tinytorch.core.dataloader import Dataset, TensorDataset, collate
from tinytorch.core.tensor import Tensor


def make_dataset(count=6):
    X = np.arange(count * 2, dtype=np.float64).reshape(count, 2)
    y = np.arange(count) % 3
    return X, y, TensorDataset(X, y)


class TestDatasetBase:
    def test_len_and_getitem_must_be_defined_by_subclasses(self):
        class Empty(Dataset):
            pass

        with pytest.raises(NotImplementedError, match="Empty must define __len__"):
            len(Empty())
        with pytest.raises(NotImplementedError, match="Empty must define __getitem__"):
            Empty()[0]

    def test_a_subclass_only_needs_len_and_getitem(self):
        class Squares(Dataset):
            def __len__(self):
                return 3

            def __getitem__(self, index):
                if index >= 3:
                    raise IndexError(index)
                return index, index * index

        assert len(Squares()) == 3
        assert list(Squares()) == [(0, 0), (1, 1), (2, 4)]
        assert repr(Squares()) == "Squares(len=3)"


class TestTensorDataset:
    def test_stores_tensors_float32_and_integer_labels(self):
        X, y, ds = make_dataset()
        assert isinstance(ds.X, Tensor) and isinstance(ds.y, Tensor)
        assert ds.X.dtype == np.float32
        assert np.issubdtype(ds.y.dtype, np.integer)
        np.testing.assert_array_equal(ds.X.data, X.astype(np.float32))
        np.testing.assert_array_equal(ds.y.data, y)

    def test_accepts_tensors_and_lists(self):
        X = Tensor(np.ones((3, 2), dtype=np.float32))
        ds = TensorDataset(X, [0, 1, 2])
        assert ds.X is X
        np.testing.assert_array_equal(ds.y.data, [0, 1, 2])

    def test_len_is_the_sample_axis(self):
        assert len(make_dataset(6)[2]) == 6
        assert isinstance(len(make_dataset(6)[2]), int)
        assert len(TensorDataset(np.zeros((4, 1, 8, 8)), np.zeros(4))) == 4

    def test_getitem_returns_the_ith_pair_as_tensors(self):
        X, y, ds = make_dataset()
        for index in range(6):
            x_i, y_i = ds[index]
            assert isinstance(x_i, Tensor) and isinstance(y_i, Tensor)
            np.testing.assert_array_equal(x_i.data, X[index])
            assert y_i.data == y[index]
        assert ds[np.int64(2)][1].data == 2

    def test_negative_indices_count_from_the_end(self):
        X, _, ds = make_dataset()
        np.testing.assert_array_equal(ds[-1][0].data, X[5])
        np.testing.assert_array_equal(ds[-6][0].data, X[0])

    @pytest.mark.parametrize("index", [6, 100, -7])
    def test_index_out_of_range_names_the_length(self, index):
        _, _, ds = make_dataset()
        with pytest.raises(IndexError, match=f"index {index} is out of range for a data set of 6 samples"):
            ds[index]

    @pytest.mark.parametrize("index", [1.5, slice(0, 2), "0"])
    def test_non_integer_index_is_refused(self, index):
        _, _, ds = make_dataset()
        with pytest.raises(TypeError):
            ds[index]

    def test_iterating_stops_at_the_end(self):
        _, y, ds = make_dataset()
        assert [int(label.data) for _, label in ds] == y.tolist()

    def test_images_keep_their_shape(self):
        images = np.random.default_rng(0).random((5, 1, 8, 8))
        ds = TensorDataset(images, np.arange(5))
        assert ds[3][0].shape == (1, 8, 8)
        np.testing.assert_allclose(ds[3][0].data, images[3], rtol=1e-6)

    def test_mismatched_lengths_name_both(self):
        with pytest.raises(ValueError, match=r"X has 5 \(shape \(5, 2\)\), y has 4 \(shape \(4,\)\)"):
            TensorDataset(np.zeros((5, 2)), np.zeros(4))
        with pytest.raises(ValueError, match="same number of samples"):
            TensorDataset(Tensor(np.zeros((3, 1))), Tensor(np.zeros(7)))

    @pytest.mark.parametrize("X, y, name", [(3.0, [1.0], "X"), ([1.0], 2, "y")])
    def test_scalars_have_no_sample_axis(self, X, y, name):
        with pytest.raises(ValueError, match=f"{name} must have a sample axis"):
            TensorDataset(X, y)

    def test_get_batch_indexes_both_arrays_in_the_given_order(self):
        X, y, ds = make_dataset()
        Xb, yb = ds.get_batch(np.array([4, 0, 4, 2]))
        np.testing.assert_array_equal(Xb.data, X[[4, 0, 4, 2]])
        np.testing.assert_array_equal(yb.data, y[[4, 0, 4, 2]])
        assert Xb.dtype == np.float32

    def test_get_batch_returns_a_copy(self):
        X, _, ds = make_dataset()
        Xb, yb = ds.get_batch([0, 1])
        Xb.data[:] = -1
        yb.data[:] = -1
        np.testing.assert_array_equal(ds.X.data, X.astype(np.float32))
        assert ds.y.data.min() == 0

    def test_repr_shows_shapes(self):
        assert repr(make_dataset()[2]) == "TensorDataset(X=(6, 2), y=(6,))"


class TestCollate:
    def test_stacks_arrays_and_numbers_in_order(self):
        items = [(np.full((1, 2, 2), float(i)), i) for i in range(4)]
        X, y = collate(items)
        assert isinstance(X, Tensor) and isinstance(y, Tensor)
        assert X.shape == (4, 1, 2, 2) and y.shape == (4,)
        np.testing.assert_array_equal(X.data, np.stack([x for x, _ in items]))
        np.testing.assert_array_equal(y.data, [0, 1, 2, 3])
        assert X.dtype == np.float32 and np.issubdtype(y.dtype, np.integer)

    def test_stacks_tensors(self):
        X, y = collate([(Tensor([1.0, 2.0]), Tensor([1.0])), (Tensor([3.0, 4.0]), Tensor([0.0]))])
        np.testing.assert_array_equal(X.data, [[1.0, 2.0], [3.0, 4.0]])
        np.testing.assert_array_equal(y.data, [[1.0], [0.0]])

    def test_matches_get_batch(self):
        _, _, ds = make_dataset()
        indices = [5, 1, 3]
        X_loop, y_loop = collate([ds[i] for i in indices])
        X_fast, y_fast = ds.get_batch(indices)
        np.testing.assert_array_equal(X_loop.data, X_fast.data)
        np.testing.assert_array_equal(y_loop.data, y_fast.data)

    def test_empty_list_is_refused(self):
        with pytest.raises(ValueError, match="at least one .* got an empty list"):
            collate([])

    def test_items_must_be_pairs(self):
        with pytest.raises(ValueError, match="expects \\(x, y\\) pairs, got tuple at position 1"):
            collate([(1.0, 2.0), (1.0, 2.0, 3.0)])
        with pytest.raises(ValueError, match="got float at position 0"):
            collate([1.0])

    def test_examples_of_different_shapes_are_refused(self):
        with pytest.raises(ValueError):
            collate([(np.zeros(2), 0), (np.zeros(3), 1)])
