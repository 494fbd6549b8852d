"""The shipped UCI digits: shapes, dtypes, range, class counts, and that it needs no network."""

import gzip
import socket
from pathlib import Path

import numpy as np
import pytest

import tinytorch
from tinytorch.datasets import DIGITS_FILE, load_digits

CLASS_COUNTS = [178, 182, 177, 183, 181, 182, 181, 179, 174, 180]
# The first image of the set, a zero, as pixel counts 0..16 (first row of sklearn's digits.csv.gz).
FIRST_IMAGE = np.array([
    [0, 0, 5, 13, 9, 1, 0, 0],
    [0, 0, 13, 15, 10, 15, 5, 0],
    [0, 3, 15, 2, 0, 11, 8, 0],
    [0, 4, 12, 0, 0, 8, 8, 0],
    [0, 5, 8, 0, 0, 9, 8, 0],
    [0, 4, 11, 0, 1, 12, 7, 0],
    [0, 2, 14, 5, 10, 12, 0, 0],
    [0, 0, 6, 13, 10, 0, 0, 0],
])


@pytest.fixture(scope="module")
def digits():
    return load_digits()


def test_shapes_and_dtypes(digits):
    images, labels = digits
    assert images.shape == (1797, 1, 8, 8)
    assert images.dtype == np.float32
    assert labels.shape == (1797,)
    assert labels.dtype == np.int64


def test_pixels_are_counts_over_16_in_unit_range(digits):
    images, _ = digits
    assert images.min() == 0.0 and images.max() == 1.0
    counts = images * 16
    np.testing.assert_array_equal(counts, np.round(counts))  # exactly k/16, nothing else
    assert len(np.unique(counts)) == 17


def test_class_counts(digits):
    _, labels = digits
    assert np.bincount(labels, minlength=10).tolist() == CLASS_COUNTS
    assert labels.min() == 0 and labels.max() == 9


def test_first_images_and_labels(digits):
    images, labels = digits
    np.testing.assert_array_equal(images[0, 0], FIRST_IMAGE / 16)
    assert labels[:10].tolist() == list(range(10))


def test_each_call_returns_fresh_arrays():
    images, labels = load_digits()
    images[:] = -1
    labels[:] = -1
    again_images, again_labels = load_digits()
    assert again_images.min() == 0.0
    assert again_labels.min() == 0


def test_loads_without_network(monkeypatch):
    def no_network(*args, **kwargs):
        raise AssertionError("load_digits tried to open a network connection")

    monkeypatch.setattr(socket, "socket", no_network)
    monkeypatch.setattr(socket, "create_connection", no_network)
    images, _ = load_digits()
    assert images.shape[0] == 1797


def test_data_file_and_licence_ship_inside_the_package():
    package = Path(tinytorch.__file__).parent
    assert DIGITS_FILE.parent == package / "datasets" / "data"
    assert DIGITS_FILE.stat().st_size < 100_000
    licence = (DIGITS_FILE.parent / "LICENSE-digits.txt").read_text(encoding="utf-8")
    for needed in ("Alpaydin", "Kaynak", "10.24432/C50P49", "CC BY 4.0"):
        assert needed in licence


def test_conversion_script_reproduces_the_arrays(tmp_path, digits):
    """make_digits.py turns the original CSV layout into exactly the shipped arrays."""
    from tinytorch.datasets.make_digits import convert

    images, labels = digits
    counts = np.round(images[:, 0] * 16).astype(np.int64).reshape(len(labels), 64)
    rows = np.column_stack([counts, labels])
    csv_gz = tmp_path / "digits.csv.gz"
    with gzip.open(csv_gz, "wt") as handle:
        np.savetxt(handle, rows, fmt="%d", delimiter=",")
    output = tmp_path / "digits.npz"
    convert(csv_gz, output)
    with np.load(output) as rebuilt, np.load(DIGITS_FILE) as shipped:
        for key in ("images", "labels"):
            np.testing.assert_array_equal(rebuilt[key], shipped[key])
            assert rebuilt[key].dtype == shipped[key].dtype


def test_conversion_script_rejects_a_wrong_table(tmp_path):
    from tinytorch.datasets.make_digits import convert

    csv_gz = tmp_path / "bad.csv.gz"
    with gzip.open(csv_gz, "wt") as handle:
        np.savetxt(handle, np.zeros((3, 65)), fmt="%d", delimiter=",")
    with pytest.raises(ValueError, match=r"expected a \(1797, 65\) table.*got \(3, 65\)"):
        convert(csv_gz, tmp_path / "out.npz")
