"""Tensor arithmetic, broadcasting, matmul, reductions and shape operations."""

import numpy as np
import pytest

from tinytorch.core.tensor import Tensor

X = [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]


def values(t):
    assert isinstance(t, Tensor), f"expected a Tensor, got {type(t).__name__}"
    return t.data


# ------------------------------------------------------------------ arithmetic
def test_elementwise_ops_hand_computed():
    a, b = Tensor([1.0, 2.0, 4.0]), Tensor([2.0, 4.0, 8.0])
    np.testing.assert_array_equal(values(a + b), [3, 6, 12])
    np.testing.assert_array_equal(values(a - b), [-1, -2, -4])
    np.testing.assert_array_equal(values(a * b), [2, 8, 32])
    np.testing.assert_array_equal(values(a / b), [0.5, 0.5, 0.5])
    np.testing.assert_array_equal(values(a ** 2), [1, 4, 16])
    np.testing.assert_array_equal(values(a ** b), [1, 16, 65536])
    np.testing.assert_array_equal(values(-a), [-1, -2, -4])


def test_broadcast_row_vector_over_matrix():
    np.testing.assert_array_equal(values(Tensor(X) + Tensor([10.0, 20.0, 30.0])),
                                  [[11, 22, 33], [14, 25, 36]])


def test_broadcast_column_against_row():
    out = Tensor([[1], [2]]) * Tensor([1, 10, 100])
    assert out.shape == (2, 3)
    np.testing.assert_array_equal(values(out), [[1, 10, 100], [2, 20, 200]])


def test_incompatible_broadcast_raises_value_error():
    with pytest.raises(ValueError):
        Tensor(np.ones((2, 3))) + Tensor(np.ones(2))


def test_ops_with_lists_and_arrays():
    t = Tensor([1.0, 2.0])
    np.testing.assert_array_equal(values(t + [1, 1]), [2, 3])
    np.testing.assert_array_equal(values(t * np.array([3.0, 4.0])), [3, 8])


@pytest.mark.parametrize(
    "expression, expected",
    [
        (lambda t: 2 + t, [3, 4, 6]),
        (lambda t: 2 * t, [2, 4, 8]),
        (lambda t: 10 - t, [9, 8, 6]),
        (lambda t: 8 / t, [8, 4, 2]),
        (lambda t: np.array([1.0, 1.0, 1.0]) - t, [0, -1, -3]),
        (lambda t: np.array([2.0, 2.0, 2.0]) * t, [2, 4, 8]),
    ],
)
def test_reflected_operations(expression, expected):
    t = Tensor([1.0, 2.0, 4.0])
    out = expression(t)
    assert isinstance(out, Tensor)
    np.testing.assert_array_equal(out.data, expected)


def test_float32_is_kept_with_python_and_numpy_scalars():
    t = Tensor([1.0, 2.0])
    for out in (t + 1, t * 0.5, t / 3, t ** 2, 1 - t, t * np.float64(0.5), -t):
        assert out.dtype == np.float32


def test_integers_stay_integer_except_true_division():
    t = Tensor([3, 4])
    assert (t + 1).dtype.kind == "i" and (t * t).dtype.kind == "i" and (t - 1).dtype.kind == "i"
    assert (t / 2).dtype == np.float32
    np.testing.assert_array_equal(values(t / 2), [1.5, 2.0])
    assert (t + 0.5).dtype == np.float32


def test_float64_kept_only_when_an_input_is_float64():
    wide = Tensor([1.0, 2.0], dtype=np.float64)
    assert (wide + 1).dtype == np.float64
    assert (wide + Tensor([1.0, 1.0])).dtype == np.float64   # promotion, as in PyTorch
    assert wide.sum().dtype == np.float64
    assert (Tensor([1.0]) + np.ones(1)).dtype == np.float32  # an array operand follows Tensor rules


def test_ops_return_new_tensors():
    a = Tensor([1.0, 2.0])
    b = a + 0
    b.data[0] = 100.0
    assert a.data[0] == 1.0


# ------------------------------------------------------------------ matmul
def test_matmul_hand_computed():
    a = Tensor([[1, 2], [3, 4]])
    b = Tensor([[5, 6], [7, 8]])
    np.testing.assert_array_equal(values(a @ b), [[19, 22], [43, 50]])
    np.testing.assert_array_equal(values(a.matmul(b)), [[19, 22], [43, 50]])


def test_matmul_rectangular_matches_numpy():
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((3, 4)), rng.standard_normal((4, 5))
    out = Tensor(a) @ Tensor(b)
    assert out.shape == (3, 5) and out.dtype == np.float32
    np.testing.assert_allclose(out.data, a.astype(np.float32) @ b.astype(np.float32), rtol=1e-6)


def test_matmul_vector_and_batch_shapes():
    assert (Tensor(np.ones((2, 3))) @ Tensor(np.ones(3))).shape == (2,)
    assert (Tensor(np.ones(3)) @ Tensor(np.ones((3, 4)))).shape == (4,)
    assert (Tensor(np.ones((5, 2, 3))) @ Tensor(np.ones((3, 4)))).shape == (5, 2, 4)


def test_rmatmul_with_array():
    out = np.array([[1.0, 0.0], [0.0, 2.0]]) @ Tensor([[1.0], [3.0]])
    assert isinstance(out, Tensor)
    np.testing.assert_array_equal(out.data, [[1.0], [6.0]])


def test_matmul_mismatch_names_both_shapes():
    with pytest.raises(ValueError, match=r"\(2, 3\) @ \(4, 5\).*\(3\).*\(4\)"):
        Tensor(np.ones((2, 3))) @ Tensor(np.ones((4, 5)))


def test_matmul_of_scalar_is_value_error():
    with pytest.raises(ValueError, match="at least 1 axis"):
        Tensor(2.0) @ Tensor([1.0])


# ------------------------------------------------------------------ reductions
def test_sum_all_and_per_axis():
    t = Tensor([[1, 2, 3], [4, 5, 6]])
    assert t.sum().shape == () and t.sum().item() == 21
    np.testing.assert_array_equal(values(t.sum(axis=0)), [5, 7, 9])
    np.testing.assert_array_equal(values(t.sum(axis=1)), [6, 15])
    np.testing.assert_array_equal(values(t.sum(axis=-1)), [6, 15])
    np.testing.assert_array_equal(values(t.sum(axis=(0, 1))), 21)


def test_keepdims_keeps_reduced_axes():
    t = Tensor(np.ones((2, 3, 4)))
    assert t.sum(axis=1, keepdims=True).shape == (2, 1, 4)
    assert t.mean(axis=(0, 2), keepdims=True).shape == (1, 3, 1)
    assert t.max(keepdims=True).shape == (1, 1, 1)


def test_empty_axis_tuple_reduces_nothing():
    t = Tensor([[1, 2], [3, 4]])
    np.testing.assert_array_equal(values(t.sum(axis=())), [[1, 2], [3, 4]])


def test_sum_of_empty_tensor_is_zero():
    assert Tensor([]).sum().item() == 0.0
    np.testing.assert_array_equal(values(Tensor(np.zeros((0, 3))).sum(axis=0)), [0, 0, 0])


def test_mean_values_and_dtype():
    t = Tensor([[1, 2], [3, 5]])
    assert t.mean().item() == pytest.approx(2.75)
    np.testing.assert_array_equal(values(t.mean(axis=0)), [2.0, 3.5])
    assert t.mean().dtype == np.float32
    assert Tensor([1.0, 2.0], dtype=np.float64).mean().dtype == np.float64


def test_max_values():
    t = Tensor([[1, 9, 3], [7, 2, 8]])
    assert t.max().item() == 9
    np.testing.assert_array_equal(values(t.max(axis=0)), [7, 9, 8])
    np.testing.assert_array_equal(values(t.max(axis=1)), [9, 8])
    assert Tensor([-3.0, -1.0]).max().item() == -1.0


def test_max_of_empty_is_value_error():
    with pytest.raises(ValueError, match=r"empty tensor \(shape \(0,\)\)"):
        Tensor([]).max()


def test_axis_out_of_range_is_value_error():
    with pytest.raises(ValueError, match="axis 2"):
        Tensor([[1, 2]]).sum(axis=2)


# ------------------------------------------------------------------ shapes
def test_reshape_forms_and_minus_one():
    t = Tensor(np.arange(12))
    assert t.reshape(3, 4).shape == (3, 4)
    assert t.reshape((2, 6)).shape == (2, 6)
    assert t.reshape([4, 3]).shape == (4, 3)
    assert t.reshape(2, -1, 3).shape == (2, 2, 3)
    np.testing.assert_array_equal(values(t.reshape(3, 4))[1], [4, 5, 6, 7])


def test_reshape_mismatch_names_shapes():
    with pytest.raises(ValueError, match=r"shape \(6,\) \(6 elements\) into shape \(4, 2\)"):
        Tensor(np.arange(6)).reshape(4, 2)


def test_transpose_and_T():
    m = Tensor([[1, 2, 3], [4, 5, 6]])
    np.testing.assert_array_equal(values(m.T), [[1, 4], [2, 5], [3, 6]])
    np.testing.assert_array_equal(values(m.transpose()), values(m.T))
    np.testing.assert_array_equal(values(m.transpose(1, 0)), values(m.T))
    np.testing.assert_array_equal(values(m.transpose((1, 0))), values(m.T))


def test_transpose_permutation_matches_numpy():
    data = np.arange(24).reshape(2, 3, 4)
    for axes in [(0, 2, 1), (2, 0, 1), (-1, 0, 1)]:
        np.testing.assert_array_equal(values(Tensor(data).transpose(*axes)), data.transpose(axes))
    assert Tensor(np.zeros((2, 32, 32, 3))).transpose(0, 3, 1, 2).shape == (2, 3, 32, 32)


@pytest.mark.parametrize("axes", [(0, 1), (0, 0, 1), (0, 1, 3), (0, 1, 2, 3)])
def test_transpose_rejects_non_permutation(axes):
    with pytest.raises(ValueError, match=r"permutation of all 3 axes.*\(2, 3, 4\)"):
        Tensor(np.zeros((2, 3, 4))).transpose(*axes)


def test_flatten_is_row_major():
    np.testing.assert_array_equal(values(Tensor([[1, 2], [3, 4]]).flatten()), [1, 2, 3, 4])
    assert Tensor(5).flatten().shape == (1,)


def test_indexing_and_slicing():
    t = Tensor(np.arange(12).reshape(3, 4))
    np.testing.assert_array_equal(values(t[0]), [0, 1, 2, 3])
    np.testing.assert_array_equal(values(t[:, 1]), [1, 5, 9])
    np.testing.assert_array_equal(values(t[1:, ::2]), [[4, 6], [8, 10]])
    assert t[2, 3].item() == 11
    np.testing.assert_array_equal(values(t[Tensor([2, 0])]), [[8, 9, 10, 11], [0, 1, 2, 3]])
    np.testing.assert_array_equal(values(t[t.data > 9]), [10, 11])
    np.testing.assert_array_equal(values(t[Tensor([0, 2]), 1]), [1, 9])


def test_indexing_result_is_a_copy():
    t = Tensor([1.0, 2.0])
    row = t[0:1]
    row.data[0] = 50.0
    assert t.data[0] == 1.0


def test_index_out_of_range_is_index_error():
    with pytest.raises(IndexError):
        Tensor([1, 2])[5]
