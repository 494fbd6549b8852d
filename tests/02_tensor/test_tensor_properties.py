"""Property tests: Tensor operations agree with NumPy on random shapes and values."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from tinytorch.core.tensor import Tensor

finite = st.floats(-1e3, 1e3, allow_nan=False, width=32)


@settings(max_examples=60, deadline=None)
@given(hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=4, max_side=4), st.data())
def test_broadcasting_add_equals_numpy(shapes, data):
    a = data.draw(hnp.arrays(np.float32, shapes.input_shapes[0], elements=finite))
    b = data.draw(hnp.arrays(np.float32, shapes.input_shapes[1], elements=finite))
    out = Tensor(a) + Tensor(b)
    assert out.shape == shapes.result_shape
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out.data, a + b)


@settings(max_examples=60, deadline=None)
@given(hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=1, max_dims=3, max_side=4), st.data())
def test_broadcasting_mul_sub_equal_numpy(shapes, data):
    a = data.draw(hnp.arrays(np.float32, shapes.input_shapes[0], elements=finite))
    b = data.draw(hnp.arrays(np.float32, shapes.input_shapes[1], elements=finite))
    np.testing.assert_array_equal((Tensor(a) * Tensor(b)).data, a * b)
    np.testing.assert_array_equal((Tensor(a) - b).data, a - b)


@settings(max_examples=60, deadline=None)
@given(hnp.arrays(np.int64, hnp.array_shapes(min_dims=1, max_dims=4, max_side=5),
                  elements=st.integers(-100, 100)), st.data())
def test_reductions_equal_numpy(array, data):
    axis = data.draw(st.none() | st.integers(-array.ndim, array.ndim - 1))
    keepdims = data.draw(st.booleans())
    t = Tensor(array)
    np.testing.assert_array_equal(t.sum(axis=axis, keepdims=keepdims).data,
                                  array.sum(axis=axis, keepdims=keepdims))
    np.testing.assert_array_equal(t.max(axis=axis, keepdims=keepdims).data,
                                  array.max(axis=axis, keepdims=keepdims))
    np.testing.assert_allclose(t.mean(axis=axis, keepdims=keepdims).data,
                               array.mean(axis=axis, keepdims=keepdims), rtol=1e-6)


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 5), st.integers(1, 5), st.integers(1, 5), st.data())
def test_matmul_equals_numpy(m, k, n, data):
    ints = st.integers(-9, 9)
    a = data.draw(hnp.arrays(np.int64, (m, k), elements=ints))
    b = data.draw(hnp.arrays(np.int64, (k, n), elements=ints))
    np.testing.assert_array_equal((Tensor(a) @ Tensor(b)).data, a @ b)


@settings(max_examples=40, deadline=None)
@given(hnp.arrays(np.int64, hnp.array_shapes(min_dims=1, max_dims=4, max_side=4),
                  elements=st.integers(-5, 5)))
def test_reshape_flatten_roundtrip(array):
    t = Tensor(array)
    flat = t.flatten()
    assert flat.shape == (array.size,)
    np.testing.assert_array_equal(flat.reshape(*array.shape).data, array)
    np.testing.assert_array_equal(t.T.T.data, array)
