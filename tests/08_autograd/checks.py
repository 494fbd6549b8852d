"""Graded checks of module 08 (autograd): what `tito grade` gives points for.

Each check calls the student's exported `tinytorch.core.autograd` (the `autograd` argument; its
import switches autograd on for the prerequisites' Tensor and layers) on inputs drawn from `rng`,
seeded from the grading run's secret seed, and returns gradients as plain data. The grader runs
the same check on the reference solution and compares the two outside the sandbox, so a forward
pass that is right earns nothing unless the gradients are right too.

Three kinds of checks: the rules and helpers the module asks for, called directly (unbroadcast,
mul_rule, matmul_grads, sum_rule, relu_rule, conv2d_backward, max_pool2d_backward,
numerical_gradient); the backward pass on graphs built with `record` and hand-written local
derivatives, so it is measured apart from the rules; and gradients of whole expressions and
layers through `.backward()`. Gradients are float64 where the layers allow it. Points: `checks:`
in modules/source/08_autograd/module.yaml. Format: modules/README.md, "Graded checks".
"""

import numpy as np

from tinytorch.core.activations import LeakyReLU, ReLU, Sigmoid, Softmax, Tanh
from tinytorch.core.cnn import AvgPool2D, Conv2D, Flatten, MaxPool2D
from tinytorch.core.layers import Dense
from tinytorch.core.tensor import Tensor
from tito.grading.data import refuses  # a valid input's value, then a refusal naming words drawn from the seed


def _shape(rng, low, high, n):
    return tuple(int(v) for v in rng.integers(low, high + 1, n))


def _leaf(values):
    """A float64 tensor that requires grad."""
    return Tensor(values, dtype=np.float64, requires_grad=True)


def _grad(t):
    return None if t.grad is None else np.array(t.grad.data)


def _broadcast_shapes(rng, kind=None):
    """A result shape and an operand shape that broadcasts to it: kind 0 (), 1 trailing axes,
    2 size-1 axes, 3 leading and size-1 axes (random if not given). Kinds 2 and 3 turn at least
    one axis of size 2 or more into 1, so that summing leading axes alone is not enough."""
    kind = int(rng.integers(0, 4)) if kind is None else kind
    full = _shape(rng, 1 if kind < 2 else 2, 4, int(rng.integers(1, 4)))
    if kind == 0:
        return full, ()
    if kind == 1:
        return full, full[int(rng.integers(0, len(full))):]
    ones = rng.random(len(full)) < 0.5
    ones[int(rng.integers(0, len(full)))] = True
    operand = tuple(1 if one else size for one, size in zip(ones, full))
    return (full if kind == 2 else (int(rng.integers(2, 4)), *full)), operand


# --------------------------------------------------------------------------- the rules, called directly


def check_unbroadcast(autograd, rng):
    """A gradient summed back to the operand's shape: leading axes, size-1 axes, a scalar, as is."""
    cases = []
    for kind in (0, 1, 2, 3, None):
        full, operand = _broadcast_shapes(rng, kind)
        cases.append(np.asarray(autograd.unbroadcast(rng.standard_normal(full), operand)))
    same = rng.standard_normal(_shape(rng, 1, 4, 2))
    cases.append(np.asarray(autograd.unbroadcast(same, same.shape)))
    return cases


def check_mul_rule(autograd, rng):
    """x gets g·y and y gets g·x, summed back to each one's shape; None for what needs no gradient."""
    full, operand = _broadcast_shapes(rng)
    x, y = _leaf(rng.standard_normal(full)), _leaf(rng.standard_normal(operand))
    g = rng.standard_normal(full)
    both = autograd.mul_rule(None, x, y)[1](g)
    only_x = autograd.mul_rule(None, x, Tensor(rng.standard_normal(operand), dtype=np.float64))[1](g)
    with_number = autograd.mul_rule(None, x, float(rng.uniform(1, 3)))[1](g)
    return {"both": list(both), "only_x": list(only_x), "with_a_number": list(with_number)}


def check_matmul_grads(autograd, rng):
    """(g @ bᵀ, aᵀ @ g) for (M, K) @ (K, N) and for a batch (B, M, K) @ (K, N); K >= 2, so that
    the operands are never both 1×1 (where a missing transpose does not show)."""
    M, K, N, B = _shape(rng, 1, 5, 4)
    K += K == 1
    a, b = rng.standard_normal((M, K)), rng.standard_normal((K, N))
    batch = rng.standard_normal((B, M, K))
    return {"matrices": list(autograd.matmul_grads(rng.standard_normal((M, N)), a, b)),
            "batch": list(autograd.matmul_grads(rng.standard_normal((B, M, N)), batch, b))}


def check_matmul_grads_of_vectors(autograd, rng):
    """The APPROACH: a 1-D operand is a row (left) or a column (right); vector · vector is a scalar."""
    M, K, N = _shape(rng, 1, 5, 3)
    a, b = rng.standard_normal((M, K)), rng.standard_normal((K, N))
    v, w = rng.standard_normal(K), rng.standard_normal(K)
    return {"matrix_vector": list(autograd.matmul_grads(rng.standard_normal(M), a, v)),
            "vector_matrix": list(autograd.matmul_grads(rng.standard_normal(N), v, b)),
            "vector_vector": list(autograd.matmul_grads(np.array(rng.standard_normal()), v, w))}


def check_sum_rule(autograd, rng):
    """g copied back along the summed axes: all, one, a negative one, a tuple, with keepdims."""
    x = _leaf(rng.standard_normal(_shape(rng, 1, 4, 3)))
    cases = []
    for axis, keepdims in ((None, False), (0, False), (-1, False), ((0, 2), False), (1, True), (None, True)):
        g = rng.standard_normal(np.shape(x.data.sum(axis=axis, keepdims=keepdims)))
        cases.append(np.array(autograd.sum_rule(None, x, axis=axis, keepdims=keepdims)[1](g)[0]))
    return cases


def check_relu_rule(autograd, rng):
    """g where x > 0, 0 elsewhere (0 at exactly 0 too: at least one x is 0)."""
    values = rng.standard_normal(_shape(rng, 1, 5, 2))
    values[rng.random(values.shape) < 0.2] = 0.0
    values.flat[int(rng.integers(0, values.size))] = 0.0
    g = rng.standard_normal(values.shape)
    return list(autograd.relu_rule(None, ReLU(), _leaf(values))[1](g))


# --------------------------------------------------------------------------- the backward pass, on hand-built graphs


def _graph(autograd, rng):
    """A random graph of ``record``ed nodes with hand-written local derivatives.

    Returns the scalar root, the leaves that require grad, a constant leaf, and every tensor by
    name. Nodes add, multiply (possibly a tensor by itself) or take the sine of earlier tensors,
    mostly of the latest; the last one squares its input, so that the root always reaches some
    tensor along two paths; one node is left out of the root's graph.
    """
    record = autograd.record
    size = int(rng.integers(1, 4))
    # values of magnitude 0.5 to 1.5: products of values near 0 would leave gradients within atol
    leaves = [_leaf(rng.choice([-1.0, 1.0], size) * rng.uniform(0.5, 1.5, size))
              for _ in range(int(rng.integers(2, 4)))]
    constant = Tensor(rng.standard_normal(size), dtype=np.float64)
    named = {f"leaf{i}": t for i, t in enumerate(leaves)}
    pool = list(leaves)
    for index in range(int(rng.integers(3, 7))):
        kind = int(rng.integers(0, 3))
        a = pool[-1] if rng.random() < 0.6 else pool[int(rng.integers(0, len(pool)))]
        b = pool[int(rng.integers(0, len(pool)))] if rng.random() < 0.8 else constant
        if kind == 0:
            node = record(Tensor(a.data + b.data, dtype=np.float64), (a, b), lambda g: (g, g), "Add")
        elif kind == 1:
            node = record(Tensor(a.data * b.data, dtype=np.float64), (a, b),
                          lambda g, a=a, b=b: (g * b.data, g * a.data), "Mul")
        else:
            node = record(Tensor(np.sin(a.data), dtype=np.float64), (a,), lambda g, a=a: (g * np.cos(a.data),), "Sin")
        named[f"node{index}"] = node
        pool.append(node)
    a = pool[-1]
    last = named[f"node{len(named) - len(leaves)}"] = record(
        Tensor(a.data * a.data, dtype=np.float64), (a, a), lambda g: (g * a.data, g * a.data), "Mul")
    unused = record(Tensor(last.data * 2, dtype=np.float64), (last,), lambda g: (2 * g,), "Unused")
    root = record(Tensor(last.data.sum(), dtype=np.float64), (last,), lambda g: (np.full(last.shape, g),), "Sum")
    named["root"] = root
    return root, leaves, constant, named, unused


def check_topological_order(autograd, rng):
    """Every tensor the root depends on that requires grad, once each, inputs before results, root last."""
    root, _, constant, named, unused = _graph(autograd, rng)
    order = autograd.topological_order(root)
    names = {id(t): name for name, t in named.items()}
    position = {id(t): i for i, t in enumerate(order)}
    inputs_first = all(position.get(id(x), len(order)) < position[id(t)] for t in order
                       for x in getattr(getattr(t, "_node", None), "inputs", ()) if x.requires_grad)
    return {"members": sorted(names.get(id(t), "?") for t in order), "count": len(order),
            "root_last": bool(order) and order[-1] is root, "inputs_first": inputs_first,
            "without_unneeded": all(t is not constant and t is not unused for t in order)}


def check_backward(autograd, rng):
    """Each leaf's .grad: the chain rule along every path, added up; nothing for the constant."""
    root, leaves, constant, _, _ = _graph(autograd, rng)
    autograd.backward(root)
    return {"leaves": [_grad(t) for t in leaves], "constant": _grad(constant)}


def check_backward_accumulates(autograd, rng):
    """A second backward() adds to .grad, also through another graph sharing the leaves."""
    root, leaves, _, _, _ = _graph(autograd, rng)
    autograd.backward(root)
    first = [_grad(t) for t in leaves]
    autograd.backward(root)
    other = autograd.record(Tensor(leaves[0].data.sum() * 3, dtype=np.float64), (leaves[0],),
                            lambda g: (np.full(leaves[0].shape, 3 * g),), "Sum")
    autograd.backward(other)
    return {"first": first, "after": [_grad(t) for t in leaves]}


def check_backward_with_a_gradient(autograd, rng):
    """A non-scalar output with ``gradient`` of its shape: the seed of the chain rule."""
    x = _leaf(rng.standard_normal(_shape(rng, 1, 4, 2)))
    out = autograd.record(Tensor(x.data ** 3, dtype=np.float64), (x,), lambda g: (3 * g * x.data ** 2,), "Cube")
    autograd.backward(out, rng.standard_normal(x.shape))
    return _grad(x)


def check_backward_rejects_a_non_scalar_without_gradient(autograd, rng):
    """The APPROACH: `_seed_gradient` refuses a non-scalar output without gradient (module.yaml: its words)."""
    x = _leaf(rng.standard_normal(int(rng.integers(2, 10))))
    out = autograd.record(Tensor(x.data * 2, dtype=np.float64), (x,), lambda g: (2 * g,), "Double")
    gradient = rng.standard_normal(x.shape)

    def valid():
        autograd.backward(out, gradient)
        return _grad(x)
    return refuses(valid, lambda: autograd.backward(out), f"got shape {x.shape}")


def check_backward_rejects_a_tensor_without_a_graph(autograd, rng):
    """The APPROACH: a tensor that does not require grad raises RuntimeError with the text it gives
    (module.yaml: its words, which also tell it from the stub's NotImplementedError, a RuntimeError)."""
    x = _leaf(float(rng.standard_normal()))

    def valid():
        squared = Tensor(x.data ** 2, dtype=np.float64)
        autograd.backward(autograd.record(squared, (x,), lambda g: (2 * g * x.data,), "Square"))
        return _grad(x)
    return refuses(valid, lambda: autograd.backward(Tensor(float(rng.standard_normal()), dtype=np.float64)))


# --------------------------------------------------------------------------- gradients through .backward()


def check_tensor_operation_gradients(autograd, rng):
    """+ - * / ** @, sum, mean, max, reshape, transpose and indexing, with broadcasting, in one loss."""
    M, K, N = _shape(rng, 2, 4, 3)
    a, b, c = _leaf(rng.standard_normal((M, K))), _leaf(rng.standard_normal(K)), _leaf(rng.standard_normal((K, N)))
    d = Tensor(rng.standard_normal((M, 1)), dtype=np.float64)
    y = (a * b + a / (b * b + 1) - d) @ c
    z = (y ** 2).mean(axis=0) - y.max(axis=0) + (2 - y).sum(axis=0) / 3
    picked = z.reshape(1, N).T[[0, N - 1, 0]]
    loss = z.sum() + picked.sum() * 0.5 + (1 / (c * c + 1)).sum()
    loss.backward()
    return {"loss": loss.data, "a": _grad(a), "b": _grad(b), "c": _grad(c)}


def check_activation_gradients(autograd, rng):
    """ReLU, LeakyReLU, Sigmoid, Tanh and Softmax, each seeded with a random upstream gradient."""
    grads = {}
    for name, layer in (("relu", ReLU()), ("leaky_relu", LeakyReLU(float(rng.uniform(0.05, 0.3)))),
                        ("sigmoid", Sigmoid()), ("tanh", Tanh()), ("softmax", Softmax(axis=int(rng.integers(0, 2))))):
        x = _leaf(rng.standard_normal(_shape(rng, 2, 5, 2)) * 2)
        out = layer(x)
        out.backward(rng.standard_normal(out.shape))
        grads[name] = _grad(x)
    return grads


def check_conv_network_gradients(autograd, rng):
    """Conv2D → ReLU → MaxPool2D → AvgPool2D → Flatten → Dense with set weights: every gradient."""
    N, C, F = _shape(rng, 1, 3, 3)
    kernel, stride, padding = _shape(rng, 1, 3, 2), _shape(rng, 1, 2, 2), _shape(rng, 0, 1, 2)
    conv = Conv2D(C, F, kernel_size=kernel, stride=stride, padding=padding)
    conv.weight.data[...] = rng.standard_normal(conv.weight.shape)
    conv.bias.data[...] = rng.standard_normal(F)
    size = [(s + 2 * p - k) // st + 1 for s, p, k, st in zip((12, 13), padding, kernel, stride)]
    pooled = [(s - 2) // 1 + 1 for s in size]
    dense = Dense(F * (pooled[0] // 2) * (pooled[1] // 2), int(rng.integers(1, 4)))
    dense.weight.data[...] = rng.standard_normal(dense.weight.shape)
    dense.bias.data[...] = rng.standard_normal(dense.bias.shape)
    x = Tensor(rng.standard_normal((N, C, 12, 13)), requires_grad=True)
    layers = [conv, ReLU(), MaxPool2D(2, stride=1), AvgPool2D(2), Flatten(), dense]
    out = x
    for layer in layers:
        out = layer(out)
    out.backward(rng.standard_normal(out.shape).astype(np.float32))
    return {"x": _grad(x), "conv_weight": _grad(conv.weight), "conv_bias": _grad(conv.bias),
            "dense_weight": _grad(dense.weight), "dense_bias": _grad(dense.bias)}


### BEGIN HIDDEN TESTS
def check_mlp_gradients(autograd, rng):
    """Dense → Tanh → Dense → Softmax with set weights, a mean squared error: every gradient."""
    n_in, hidden, n_out = _shape(rng, 1, 6, 3)
    first, second = Dense(n_in, hidden), Dense(hidden, n_out)
    for layer in (first, second):
        layer.weight.data[...] = rng.standard_normal(layer.weight.shape)
        layer.bias.data[...] = rng.standard_normal(layer.bias.shape)
    x = Tensor(rng.standard_normal((int(rng.integers(1, 6)), n_in)), requires_grad=True)
    target = Tensor(rng.random((x.shape[0], n_out)))
    loss = ((Softmax()(second(Tanh()(first(x)))) - target) ** 2).mean()
    loss.backward()
    return {"loss": loss.data, "x": _grad(x),
            "parameters": [_grad(p) for p in first.parameters() + second.parameters()]}
### END HIDDEN TESTS


# --------------------------------------------------------------------------- convolution and pooling backward


def _conv_case(rng):
    N, C, F = _shape(rng, 1, 3, 3)
    kernel, stride, padding = _shape(rng, 1, 4, 2), _shape(rng, 1, 3, 2), _shape(rng, 0, 2, 2)
    H, W = (int(k + rng.integers(0, 6)) for k in kernel)
    x, weight = rng.standard_normal((N, C, H, W)), rng.standard_normal((F, C, *kernel))
    out = [(s + 2 * p - k) // st + 1 for s, p, k, st in zip((H, W), padding, kernel, stride)]
    return rng.standard_normal((N, F, *out)), x, weight, stride, padding


def check_conv2d_backward(autograd, rng):
    """grad_x (N, C, H, W), grad_weight (F, C, kH, kW) and grad_bias (F,), strides and paddings."""
    grad_out, x, weight, stride, padding = _conv_case(rng)
    return list(autograd.conv2d_backward(grad_out, x, weight, stride, padding))


def check_conv2d_backward_with_int_sizes(autograd, rng):
    """stride and padding as single ints, and their defaults (1 and 0)."""
    N, C, F = _shape(rng, 1, 3, 3)
    k, stride, padding = int(rng.integers(1, 4)), int(rng.integers(1, 3)), int(rng.integers(0, 2))
    H = k + int(rng.integers(0, 5))
    x, weight = rng.standard_normal((N, C, H, H)), rng.standard_normal((F, C, k, k))
    size = (H + 2 * padding - k) // stride + 1
    return {"ints": list(autograd.conv2d_backward(rng.standard_normal((N, F, size, size)), x, weight, stride, padding)),
            "defaults": list(autograd.conv2d_backward(rng.standard_normal((N, F, H - k + 1, H - k + 1)), x, weight))}


def check_conv2d_backward_with_same_padding(autograd, rng):
    """padding "same" (as in the forward, stride 1): uneven sides for an even kernel."""
    N, C, F = _shape(rng, 1, 3, 3)
    kernel = _shape(rng, 1, 4, 2)
    x = rng.standard_normal((N, C, int(kernel[0] + rng.integers(0, 4)), int(kernel[1] + rng.integers(0, 4))))
    weight = rng.standard_normal((F, C, *kernel))
    return list(autograd.conv2d_backward(rng.standard_normal((N, F, *x.shape[2:])), x, weight, 1, "same"))


### BEGIN HIDDEN TESTS
def check_conv2d_backward_without_the_input_gradient(autograd, rng):
    """need_input_grad=False: (None, grad_weight, grad_bias)."""
    grad_out, x, weight, stride, padding = _conv_case(rng)
    return list(autograd.conv2d_backward(grad_out, x, weight, stride, padding, need_input_grad=False))
### END HIDDEN TESTS


def check_max_pool2d_backward(autograd, rng):
    """Each window's g to its maximum, added up where windows overlap (stride < kernel), padding."""
    kernel = _shape(rng, 2, 4, 2)
    stride = tuple(int(rng.integers(1, k + 1)) for k in kernel)
    padding = tuple(int(rng.integers(0, k // 2 + 1)) for k in kernel)
    H, W = (int(k + rng.integers(0, 6)) for k in kernel)
    x = rng.standard_normal((int(rng.integers(1, 3)), int(rng.integers(1, 4)), H, W))
    out = [(s + 2 * p - k) // st + 1 for s, p, k, st in zip((H, W), padding, kernel, stride)]
    grad_out = rng.standard_normal((*x.shape[:2], *out))
    return {"default_stride": autograd.max_pool2d_backward(
                rng.standard_normal((*x.shape[:2], H // kernel[0], W // kernel[1])), x, kernel),
            "strided_padded": autograd.max_pool2d_backward(grad_out, x, kernel, stride, padding)}


# --------------------------------------------------------------------------- gradient checking


def check_numerical_gradient(autograd, rng):
    """Central differences of a smooth function of x, and x as it was afterwards."""
    x = rng.standard_normal(_shape(rng, 1, 4, 2))
    w = rng.standard_normal(x.shape)
    grad = autograd.numerical_gradient(lambda: float(np.sum(np.sin(x) * w) + np.sum(x ** 3) / 10), x)
    return {"grad": np.asarray(grad), "x_afterwards": np.array(x)}
