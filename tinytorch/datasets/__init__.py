"""Small data sets shipped with tinytorch, loaded from files inside the package (no network).

``load_digits()`` returns the UCI handwritten digits as NumPy arrays ready for a CNN;
see ``tinytorch/datasets/README.md`` for their origin and ``data/LICENSE-digits.txt``
for the licence (CC BY 4.0).
"""

from pathlib import Path

import numpy as np

DATA_DIR = Path(__file__).with_name("data")
DIGITS_FILE = DATA_DIR / "digits.npz"
DIGITS_MAX_PIXEL = 16  # each pixel counts the 'on' pixels of a 4x4 block

__all__ = ["load_digits"]


def load_digits():
    """The 1,797 UCI handwritten digits, as (images, labels) NumPy arrays.

    Returns:
        images: float32 (1797, 1, 8, 8), one grey channel, pixel counts 0..16 divided by 16,
            so values lie in [0, 1].
        labels: int64 (1797,), the digit 0..9 shown in each image.

    Each call returns fresh arrays, so changing them in place does not affect later calls.

    >>> images, labels = load_digits()
    >>> images.shape, labels.shape
    ((1797, 1, 8, 8), (1797,))
    """
    with np.load(DIGITS_FILE) as archive:
        raw_images, labels = archive["images"], archive["labels"]
    images = raw_images.astype(np.float32)[:, np.newaxis] / np.float32(DIGITS_MAX_PIXEL)
    return images, labels.astype(np.int64)
