"""matmul_naive: the loop version of @, checked against NumPy on exact and random inputs."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from tinytorch.core.layers import matmul_naive
from tinytorch.core.tensor import Tensor

sizes = st.integers(min_value=0, max_value=6)


@st.composite
def matrix_pairs(draw, dtype, elements):
    m, k, n = draw(sizes), draw(sizes), draw(sizes)
    a = draw(arrays(dtype, (m, k), elements=elements))
    b = draw(arrays(dtype, (k, n), elements=elements))
    return a, b


def test_hand_computed_2x2():
    result = matmul_naive(np.array([[1, 2], [3, 4]]), np.array([[5, 6], [7, 8]]))
    assert isinstance(result, np.ndarray)
    assert result.tolist() == [[19, 22], [43, 50]]
    assert result.dtype == np.int64


def test_non_square_hand_computed():
    # (1, 3) @ (3, 2): [1*1 + 2*3 + 3*5, 1*2 + 2*4 + 3*6]
    result = matmul_naive([[1, 2, 3]], [[1, 2], [3, 4], [5, 6]])
    assert result.tolist() == [[22, 28]]


@settings(max_examples=60, deadline=None)
@given(matrix_pairs(np.int64, st.integers(-1000, 1000)))
def test_equals_numpy_exactly_on_integers(pair):
    a, b = pair
    result = matmul_naive(a, b)
    expected = a @ b
    assert result.shape == expected.shape
    assert result.dtype == expected.dtype
    assert np.array_equal(result, expected)


@settings(max_examples=60, deadline=None)
@given(matrix_pairs(np.float64, st.floats(-1e3, 1e3, allow_nan=False, allow_infinity=False)))
def test_equals_numpy_on_float64(pair):
    a, b = pair
    result = matmul_naive(a, b)
    assert result.dtype == np.float64
    np.testing.assert_allclose(result, a @ b, rtol=1e-12, atol=1e-9)


def test_tensors_in_tensor_out_float32():
    rng = np.random.default_rng(1)
    a = rng.standard_normal((4, 3)).astype(np.float32)
    b = rng.standard_normal((3, 5)).astype(np.float32)
    result = matmul_naive(Tensor(a), Tensor(b))
    assert isinstance(result, Tensor)
    assert result.shape == (4, 5) and result.dtype == np.float32
    np.testing.assert_allclose(result.data, a @ b, rtol=1e-5, atol=1e-6)


def test_one_tensor_is_enough_for_a_tensor_result():
    result = matmul_naive(Tensor([[1.0, 2.0]]), np.array([[3.0], [4.0]]))
    assert isinstance(result, Tensor)
    assert result.data.tolist() == [[11.0]]


def test_empty_inner_size_gives_zeros():
    result = matmul_naive(np.ones((2, 0)), np.ones((0, 3)))
    assert result.shape == (2, 3)
    assert np.array_equal(result, np.zeros((2, 3)))


def test_empty_rows():
    assert matmul_naive(np.ones((0, 3)), np.ones((3, 2))).shape == (0, 2)


def test_inputs_are_not_modified():
    a, b = np.array([[1.0, 2.0]]), np.array([[3.0], [4.0]])
    matmul_naive(a, b)
    assert a.tolist() == [[1.0, 2.0]] and b.tolist() == [[3.0], [4.0]]


def test_mismatched_inner_sizes_name_both_shapes():
    with pytest.raises(ValueError) as info:
        matmul_naive(np.ones((2, 3)), np.ones((4, 2)))
    message = str(info.value)
    assert "(2, 3)" in message and "(4, 2)" in message
    assert "columns (3)" in message and "rows (4)" in message


@pytest.mark.parametrize("a_shape, b_shape", [((3,), (3, 2)), ((2, 3), (3,)), ((1, 2, 3), (3, 2))])
def test_only_matrices_are_accepted(a_shape, b_shape):
    with pytest.raises(ValueError, match="2-D"):
        matmul_naive(np.ones(a_shape), np.ones(b_shape))
