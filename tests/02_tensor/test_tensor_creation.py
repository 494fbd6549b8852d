"""Tensor construction: accepted inputs, PyTorch's dtype rules, copying and bad input."""

import re
import subprocess
import sys

import numpy as np
import pytest

from tinytorch.core.tensor import Tensor


def test_scalar_is_zero_dimensional():
    t = Tensor(5)
    assert t.shape == () and t.ndim == 0 and t.size == 1
    assert t.item() == 5


def test_nested_list_shape_size_ndim():
    t = Tensor([[1, 2, 3], [4, 5, 6]])
    assert t.shape == (2, 3)
    assert t.size == 6
    assert t.ndim == 2
    np.testing.assert_array_equal(t.data, [[1, 2, 3], [4, 5, 6]])


def test_one_element_list():
    t = Tensor([7.5])
    assert t.shape == (1,) and t.item() == 7.5


@pytest.mark.parametrize(
    "data, expected",
    [
        ([1.5, 2.0], np.float32),
        (2.5, np.float32),
        (np.zeros(3), np.float32),                    # float64 array -> float32
        (np.zeros(3, dtype=np.float16), np.float32),
        ([1, 2, 3], np.int64),                        # integers stay integer
        (np.array([1, 2], dtype=np.int32), np.int32),
        (np.array([1, 2], dtype=np.uint8), np.uint8),
        ([True, False], np.bool_),
        ([], np.float32),                             # empty defaults to float, as in PyTorch
    ],
)
def test_default_dtype_rules(data, expected):
    assert Tensor(data).dtype == expected


@pytest.mark.parametrize("dtype", [np.float64, np.float16, np.int32, "float64", float])
def test_explicit_dtype_is_kept(dtype):
    assert Tensor([1, 2], dtype=dtype).dtype == np.dtype(dtype)


def test_explicit_dtype_converts_values():
    t = Tensor([1.7, -2.2], dtype=np.int64)
    np.testing.assert_array_equal(t.data, [1, -2])


def test_from_tensor_copies_and_keeps_dtype():
    original = Tensor([1.0, 2.0], dtype=np.float64)
    copy = Tensor(original)
    assert copy.dtype == np.float64
    copy.data[0] = 10.0
    assert original.data[0] == 1.0


def test_from_tensor_with_dtype_converts():
    assert Tensor(Tensor([1, 2]), dtype=np.float32).dtype == np.float32


def test_constructor_copies_the_array():
    source = np.array([1.0, 2.0], dtype=np.float32)
    t = Tensor(source)
    source[0] = 99.0
    assert t.data[0] == 1.0


def test_data_is_writable_in_place_and_numpy_shares_it():
    t = Tensor([1.0, 2.0, 3.0])
    t.data -= 1.0
    np.testing.assert_array_equal(t.numpy(), [0.0, 1.0, 2.0])
    t.numpy()[0] = 5.0
    assert t.data[0] == 5.0


def test_ragged_list_is_a_value_error_naming_lengths():
    with pytest.raises(ValueError, match=r"rectangular.*lengths \[2, 1\]"):
        Tensor([[1, 2], [3]])


def test_deeply_ragged_list_is_a_value_error():
    with pytest.raises(ValueError, match="rectangular"):
        Tensor([[[1, 2], [3, 4]], [[5, 6], [7]]])


def test_mixed_number_and_list_is_ragged():
    with pytest.raises(ValueError, match="rectangular"):
        Tensor([[1, 2], 3])


def test_ellipsis_placeholder_from_the_course_text():
    with pytest.raises(ValueError, match=r"Replace the `\.\.\.` placeholder with numbers") as info:
        Tensor([[[[...]]]])
    assert "data[0][0][0][0]" in str(info.value)


def test_bare_ellipsis_placeholder():
    with pytest.raises(ValueError, match="placeholder"):
        Tensor(...)


def test_ellipsis_among_numbers():
    with pytest.raises(ValueError, match=r"data\[1\]\[0\]"):
        Tensor([[1, 2], [..., 4]])


@pytest.mark.parametrize("bad", ["text", ["a", "b"], None, [1, None], {"a": 1}])
def test_non_numeric_data_is_a_type_error(bad):
    with pytest.raises(TypeError, match="must be numbers") as error:
        Tensor(bad)
    assert not isinstance(error.value, ValueError)


def test_text_names_what_came():
    with pytest.raises(TypeError, match=r"must be numbers \(bool, int or float\), got str holding <U4"):
        Tensor("text")


def test_requires_grad_and_grad_start_dormant():
    t = Tensor([1.0, 2.0], requires_grad=True)
    assert t.requires_grad is True
    assert t.grad is None
    assert Tensor([1.0]).requires_grad is False


def test_integer_tensor_cannot_require_grad():
    with pytest.raises(ValueError, match="floating-point.*int64"):
        Tensor([1, 2], requires_grad=True)


def test_backward_before_autograd_explains_module_08():
    # A fresh interpreter: another test in this session may have imported autograd already.
    code = (
        "from tinytorch.core.tensor import Tensor\n"
        "total = Tensor([1.0, 2.0], requires_grad=True).sum()\n"  # a stub's NotImplementedError is not caught
        "try:\n"
        "    total.backward()\n"
        "except RuntimeError as error:\n"
        "    print(error)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert re.search(r"autograd.*module 08", done.stdout), done.stdout


def test_repr_shows_values_shape_dtype():
    text = repr(Tensor([[1, 2], [3, 4]]))
    assert text.startswith("Tensor([[1, 2],")
    assert "shape=(2, 2)" in text and "dtype=int64" in text
    assert "requires_grad" not in text
    assert repr(Tensor(1.5, requires_grad=True)) == "Tensor(1.5, shape=(), dtype=float32, requires_grad=True)"


def test_item_requires_one_element():
    assert Tensor([[3]]).item() == 3
    with pytest.raises(ValueError, match=r"exactly one element.*\(2,\)"):
        Tensor([1, 2]).item()


def test_len_and_asarray():
    t = Tensor([[1, 2], [3, 4], [5, 6]])
    assert len(t) == 3
    np.testing.assert_array_equal(np.asarray(t), t.data)
    with pytest.raises(TypeError, match="0-d"):
        len(Tensor(1))


def test_numpy_array_of_a_tensor_copies_and_asarray_shares():
    t = Tensor([1.0, 2.0])
    copied = np.array(t)
    copied[0] = 9.0
    assert t.data[0] == 1.0
    shared = np.asarray(t)
    shared[1] = 7.0
    assert t.data[1] == 7.0
    assert np.array(t, dtype=np.float64).dtype == np.float64


def test_from_numpy_shares_memory_and_keeps_dtype():
    array = np.arange(6, dtype=np.float64).reshape(2, 3)
    tensor = Tensor.from_numpy(array)
    array[0, 0] = 42.0
    assert tensor.data[0, 0] == 42.0 and tensor.data is array
    assert tensor.dtype == np.float64 and tensor.shape == (2, 3)
    assert tensor.requires_grad is False and tensor.grad is None


def test_from_numpy_refuses_a_list():
    with pytest.raises(TypeError, match="expects a numpy.ndarray, got list"):
        Tensor.from_numpy([1.0, 2.0])
