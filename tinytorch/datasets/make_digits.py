"""Rebuild ``data/digits.npz`` from scikit-learn's copy of the UCI digits (maintainers only).

The shipped file was made offline, once, like this::

    pip download --no-deps -d /tmp/skl scikit-learn          # the wheel only; nothing installed
    unzip -j /tmp/skl/scikit_learn-*.whl sklearn/datasets/data/digits.csv.gz -d /tmp/skl
    python tinytorch/datasets/make_digits.py /tmp/skl/digits.csv.gz

``digits.csv.gz`` has one row per image: 64 pixel counts (0..16, row-major 8x8)
followed by the label (0..9). The result stores them as ``images`` uint8
(1797, 8, 8) and ``labels`` int64 (1797,) in a compressed ``.npz``: about 45 kB,
no scikit-learn and no network needed at run time.
"""

import sys
from pathlib import Path

import numpy as np

OUTPUT = Path(__file__).with_name("data") / "digits.npz"


def convert(csv_gz: Path, output: Path = OUTPUT) -> None:
    table = np.loadtxt(csv_gz, delimiter=",", dtype=np.int64)
    if table.shape != (1797, 65):
        raise ValueError(f"expected a (1797, 65) table in {csv_gz}, got {table.shape}")
    pixels, labels = table[:, :64], table[:, 64]
    if pixels.min() < 0 or pixels.max() > 16 or labels.min() < 0 or labels.max() > 9:
        raise ValueError(f"{csv_gz}: pixels must lie in 0..16 and labels in 0..9")
    images = pixels.astype(np.uint8).reshape(-1, 8, 8)
    np.savez_compressed(output, images=images, labels=labels.astype(np.int64))
    print(f"wrote {output} ({output.stat().st_size} bytes): {images.shape} images, "
          f"class counts {np.bincount(labels).tolist()}")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python tinytorch/datasets/make_digits.py path/to/digits.csv.gz")
    convert(Path(sys.argv[1]))
