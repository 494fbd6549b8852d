"""Property tests: ranges, normalisation and symmetry of the activations on random inputs."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from tinytorch.core.activations import LeakyReLU, ReLU, Sigmoid, Softmax, Tanh
from tinytorch.core.tensor import Tensor

wide = st.floats(-1e4, 1e4, allow_nan=False, width=32)
arrays = hnp.arrays(np.float32, hnp.array_shapes(min_dims=1, max_dims=3, max_side=6), elements=wide)


@settings(max_examples=80, deadline=None)
@given(arrays)
def test_softmax_rows_sum_to_one_and_lie_in_unit_interval(array):
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        out = Softmax()(Tensor(array)).data
    assert np.all((out >= 0) & (out <= 1))
    np.testing.assert_allclose(out.sum(axis=-1), 1.0, rtol=1e-5)
    # The largest score gets the largest probability.
    np.testing.assert_array_equal(np.take_along_axis(out, array.argmax(axis=-1)[..., None], -1)[..., 0],
                                  out.max(axis=-1))


@settings(max_examples=80, deadline=None)
@given(arrays, st.integers(0, 2))
def test_softmax_any_axis_sums_to_one(array, axis):
    axis = axis % array.ndim
    out = Softmax(axis=axis)(Tensor(array)).data
    np.testing.assert_allclose(out.sum(axis=axis), 1.0, rtol=1e-5)


@settings(max_examples=80, deadline=None)
@given(arrays)
def test_sigmoid_in_unit_interval_monotone_and_symmetric(array):
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        out = Sigmoid()(Tensor(array)).data
        mirrored = Sigmoid()(Tensor(-array)).data
    assert np.all((out >= 0) & (out <= 1))
    np.testing.assert_allclose(out + mirrored, 1.0, rtol=1e-6)
    order = np.argsort(array, axis=None, kind="stable")
    assert np.all(np.diff(out.ravel()[order]) >= 0)


@settings(max_examples=80, deadline=None)
@given(hnp.arrays(np.float64, st.integers(1, 20), elements=st.floats(-40, 40)))
def test_sigmoid_matches_reference_formula(array):
    out = Sigmoid()(Tensor(array, dtype=np.float64)).data
    np.testing.assert_allclose(out, 1 / (1 + np.exp(-array)), rtol=1e-13)


@settings(max_examples=80, deadline=None)
@given(arrays)
def test_tanh_in_range_and_odd(array):
    out = Tanh()(Tensor(array)).data
    assert np.all((out >= -1) & (out <= 1))
    np.testing.assert_array_equal(Tanh()(Tensor(-array)).data, -out)


@settings(max_examples=80, deadline=None)
@given(arrays, st.floats(0, 1))
def test_relus_match_numpy_reference(array, slope):
    np.testing.assert_array_equal(ReLU()(Tensor(array)).data, np.maximum(array, 0))
    expected = np.where(array > 0, array, np.float32(slope) * array)
    np.testing.assert_allclose(LeakyReLU(slope)(Tensor(array)).data, expected, rtol=1e-6)
