"""Hypothesis strategies shared by the CNN tests."""

import numpy as np
from hypothesis import strategies as st


@st.composite
def pool_cases(draw):
    """A random pooling geometry and a float32 input it fits: (x (2, 3, H, W), kernel, stride, padding).

    Padding stays within half the kernel (PyTorch's rule) and the padded input holds a window.
    """
    kernel = (draw(st.integers(1, 4)), draw(st.integers(1, 4)))
    stride = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    padding = (draw(st.integers(0, kernel[0] // 2)), draw(st.integers(0, kernel[1] // 2)))
    H = draw(st.integers(max(1, kernel[0] - 2 * padding[0]), 9))
    W = draw(st.integers(max(1, kernel[1] - 2 * padding[1]), 9))
    seed = draw(st.integers(0, 2**31 - 1))
    x = np.random.default_rng(seed).standard_normal((2, 3, H, W)).astype(np.float32)
    return x, kernel, stride, padding
