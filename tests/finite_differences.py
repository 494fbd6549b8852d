"""Gradients by central differences, computed by the tests themselves.

A student's backward passes are checked against these, never against the student's own
``numerical_gradient`` (module 08), which could be wrong in the same way. ``gradcheck`` is the
package's (provided code, not the student's), run with these differences in place of the
student's. Importable from every test folder, as ``course_root`` is.
"""

import numpy as np


def central_differences(f, x, eps=1e-6):
    """d f() / d x, of x's shape, for a scalar ``f()`` that reads the float array ``x``:
    (f(x + eps·eᵢ) − f(x − eps·eᵢ)) / (2·eps) for each element i."""
    grad = np.zeros(x.shape)
    for index in np.ndindex(x.shape):
        grad[index] = (_nudged(f, x, index, eps) - _nudged(f, x, index, -eps)) / (2 * eps)
    return grad


def _nudged(f, x, index, step):
    """``f()`` with ``x[index]`` moved by ``step``; x is as it was afterwards."""
    old = x[index]
    x[index] = old + step
    try:
        return float(f())
    finally:
        x[index] = old


def gradcheck(fn, tensors, **tolerances):
    """``tinytorch.core.autograd.gradcheck(fn, tensors)``, its finite differences taken by
    ``central_differences``: True, or AssertionError naming the tensor whose gradient differs."""
    from tinytorch.core import autograd

    students = autograd.numerical_gradient
    autograd.numerical_gradient = central_differences
    try:
        return autograd.gradcheck(fn, tensors, **tolerances)
    finally:
        autograd.numerical_gradient = students
