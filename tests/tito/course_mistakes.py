"""The usual mistakes of each graded module, each a wrong version of one function or method of the
reference package: ``MISTAKES[module]()`` -> ``[(check, "function" or "Class.method", wrong), ...]``,
``check`` being the graded check that must tell it apart. ``test_course_checks.py`` runs every
one against its check on many seeds: a check that a wrong file passes on some seeds gives full
marks for it to everyone who draws such a seed (a Gradescope zip keeps one seed a whole term).

Each mistake is one the module text invites (its TODO, APPROACH and HINTS), written the way a
student would get it wrong; a method is replaced in a subclass of the reference class, so the
rest of the class stays right. Imports are inside the functions: importing the autograd module
switches autograd on for the Tensor of the whole process.
"""

import math

import numpy as np


def _floats(x):
    """The ndarray behind ``x``; integers become float32, as the activations do."""
    from tinytorch.core.tensor import Tensor

    data = np.asarray(x.data if isinstance(x, Tensor) else Tensor(x).data)
    return data if data.dtype.kind == "f" else data.astype(np.float32)


def _same_dtype(array, like):
    from tinytorch.core.tensor import Tensor

    return Tensor(array.astype(like.dtype, copy=False), dtype=like.dtype)


def setup():
    import os

    import tinytorch
    from tinytorch.core import setup

    def with_details(**changes):
        def personal_info():
            return {**setup.personal_info(), **changes}
        return personal_info

    def cpu_count_unchecked():                       # os.cpu_count() may be None: not 1 then
        return {**setup.system_info(), "cpu_count": os.cpu_count()}

    real = setup.system_info()                       # this machine's facts, typed in

    def typed_in(key):
        def system_info():
            return {**setup.system_info(), key: real[key]}
        system_info.__qualname__ = f"typed_in_{key}"
        return system_info

    return [("personal_info_values", "personal_info", with_details(version=tinytorch.__version__)),  # typed in
            ("personal_info_values", "personal_info", with_details(email="ada at example.org")),
            ("personal_info_values", "personal_info", with_details(institution="  ")),
            ("system_info_unknown_cpu_count", "system_info", cpu_count_unchecked)] + [
            ("system_info_values", "system_info", typed_in(key))
            for key in ("python_version", "platform", "architecture", "cpu_count", "numpy_version")]


def tensor():
    from tinytorch.core.tensor import Tensor

    def sub_reversed(self, other):                   # other - self
        return Tensor.__rsub__(self, other)

    def matmul_element_wise(self, other):            # * for @: right only for an outer product
        return Tensor.__mul__(self, other)

    def reshape_column_major(self, *shape):
        shape = shape[0] if len(shape) == 1 and isinstance(shape[0], tuple) else shape
        return Tensor(np.reshape(self.data, shape, order="F"), dtype=self.data.dtype)

    def mean_dividing_by_the_size(self, axis=None, keepdims=False):
        return self.sum(axis, keepdims) / self.data.size

    def transpose_of_the_last_two_axes(self, *axes):
        n = self.data.ndim
        return Tensor.transpose(self, *(axes or (*range(n - 2), n - 1, n - 2)))

    return [("arithmetic", "Tensor.__sub__", sub_reversed),
            ("matmul", "Tensor.__matmul__", matmul_element_wise),
            ("matmul_integers", "Tensor.__matmul__", matmul_element_wise),
            ("reshape", "Tensor.reshape", reshape_column_major),
            ("reductions", "Tensor.mean", mean_dividing_by_the_size),
            ("transpose", "Tensor.transpose", transpose_of_the_last_two_axes)]


def activations():
    def relu_in_float32(self, x):                    # np.maximum(x, 0.0) on an int tensor
        return _same_dtype(np.maximum(_floats(x), 0), np.zeros(0, np.float32))

    def leaky_relu_with_the_default_slope(self, x):
        data = _floats(x)
        return _same_dtype(np.where(data > 0, data, 0.01 * data), data)

    def leaky_relu_sloped_on_the_wrong_side(self, x):
        data = _floats(x)
        return _same_dtype(np.where(data > 0, self.negative_slope * data, data), data)

    def sigmoid_that_overflows(self, x):
        data = _floats(x)
        return _same_dtype(1 / (1 + np.exp(-data)), data)

    def sigmoid_in_float32(self, x):
        data = _floats(x).astype(np.float32)
        return _same_dtype(np.exp(np.minimum(data, 0)) / (1 + np.exp(-np.abs(data))), data)

    def tanh_from_exponentials(self, x):
        data = _floats(x)
        return _same_dtype((np.exp(data) - np.exp(-data)) / (np.exp(data) + np.exp(-data)), data)

    def softmax_with(shift, axis_of):
        def forward(self, x):
            data = _floats(x)
            axis = axis_of(self)
            e = np.exp(data - data.max(axis=axis, keepdims=True)) if shift else np.exp(data)
            return _same_dtype(e / e.sum(axis=axis, keepdims=True), data)
        return forward

    return [("relu", "ReLU.forward", relu_in_float32),
            ("relu_keeps_integers", "ReLU.forward", relu_in_float32),
            ("leaky_relu", "LeakyReLU.forward", leaky_relu_with_the_default_slope),
            ("leaky_relu", "LeakyReLU.forward", leaky_relu_sloped_on_the_wrong_side),
            ("sigmoid", "Sigmoid.forward", sigmoid_in_float32),
            ("sigmoid_large_inputs", "Sigmoid.forward", sigmoid_that_overflows),
            ("tanh", "Tanh.forward", tanh_from_exponentials),
            ("softmax", "Softmax.forward", softmax_with(True, lambda layer: None)),        # over the whole tensor
            ("softmax", "Softmax.forward", softmax_with(True, lambda layer: 0)),           # over the batch
            ("softmax_along_an_axis", "Softmax.forward", softmax_with(True, lambda layer: -1)),  # axis ignored
            ("softmax_along_an_axis", "Softmax.forward", softmax_with(True, lambda layer: None)),
            ("softmax_large_inputs", "Softmax.forward", softmax_with(False, lambda layer: layer.axis))]


def layers():
    from tinytorch.core import layers
    from tinytorch.core.tensor import Tensor

    def matmul_in_floats(a, b):                      # np.zeros((m, n)) for the result
        out = layers.matmul_naive(a, b)
        return Tensor(out.data.astype(float)) if isinstance(out, Tensor) else out.astype(float)

    def matmul_returning_an_ndarray(a, b):
        out = layers.matmul_naive(a, b)
        return np.asarray(getattr(out, "data", out))

    def forward_with(weight_of, bias):
        def forward(self, x):
            x = x if isinstance(x, Tensor) else Tensor(x)
            y = Tensor(x.data.astype(self.weight.dtype)) @ weight_of(self.weight)
            return y + self.bias if bias and self.bias is not None else y
        return forward

    def init_within(bound_of):
        def __init__(self, input_size, output_size, use_bias=True):
            layers.Dense.__init__(self, input_size, output_size, use_bias)
            bound = bound_of(input_size, output_size)
            for p in self.parameters():
                p.data[...] = np.random.uniform(-bound, bound, p.shape)
        return __init__

    def bias_assigned_first(self, input_size, output_size, use_bias=True):
        layers.Dense.__init__(self, input_size, output_size, use_bias)
        weight = self.__dict__.pop("weight")
        self.bias = self.__dict__.pop("bias")
        self.weight = weight

    return [("matmul_naive_integers", "matmul_naive", matmul_in_floats),
            ("matmul_naive_tensors", "matmul_naive", matmul_returning_an_ndarray),
            ("dense_init", "Dense.__init__", init_within(lambda n_in, n_out: 1 / math.sqrt(n_out))),
            ("dense_init", "Dense.__init__", init_within(lambda n_in, n_out: 1 / n_in)),
            ("dense_init", "Dense.__init__", init_within(lambda n_in, n_out: 1.0)),
            ("dense_parameters_in_order", "Dense.__init__", bias_assigned_first),
            ("dense_forward", "Dense.forward", forward_with(lambda w: w, bias=False)),
            ("dense_forward", "Dense.forward", forward_with(lambda w: Tensor(w.data.T), bias=True)),
            ("dense_forward_shapes", "Dense.forward", forward_with(lambda w: Tensor(w.data.T), bias=True))]


def networks():
    from tinytorch.core import networks

    def forward_in_reverse(self, x):
        for layer in reversed(self.layers):
            x = layer(x)
        return x

    def forward_without_chaining(self, x):           # out = layer(x) for each layer
        out = x
        for layer in self.layers:
            out = layer(x)
        return out

    def count_per_use(model):                        # a shared layer counted twice
        return int(sum(p.size for layer in getattr(model, "layers", [model]) for p in layer.parameters()))

    def count_weights_only(model):
        return int(sum(p.size for p in model.parameters() if p.ndim == 2))

    def activation_after_the_last_layer(input_size, hidden_sizes, output_size, activation=networks.ReLU,
                                        output_activation=None):
        return networks.create_mlp(input_size, hidden_sizes, output_size, activation, output_activation or activation)

    return [("sequential_forward", "Sequential.forward", forward_in_reverse),
            ("sequential_forward", "Sequential.forward", forward_without_chaining),
            ("count_parameters", "count_parameters", count_per_use),
            ("count_parameters", "count_parameters", count_weights_only),
            ("create_mlp", "create_mlp", activation_after_the_last_layer)]


def cnn():
    from tinytorch.core import cnn
    from tinytorch.core.tensor import Tensor

    def flipped(image, kernel):                      # convolution, not cross-correlation, vertically
        return cnn.conv2d_naive(image, np.flipud(np.asarray(getattr(kernel, "data", kernel))))

    def always_float64(image, kernel):               # np.zeros(...) without the inputs' dtype
        return cnn.conv2d_naive(np.asarray(getattr(image, "data", image), np.float64),
                                np.asarray(getattr(kernel, "data", kernel), np.float64))

    def transposed_reshape(x):                       # reshape(rest, N) for reshape(N, rest), the input checked
        shape = cnn.flatten(x).shape
        return Tensor(np.asarray(x.data).reshape(shape[::-1]))

    def im2col_batch_first(x, kernel_size, stride=1, padding=0, out=None):  # columns (n, i, j)
        cols = cnn.im2col(x, kernel_size, stride, padding, out=out)
        N = np.shape(x)[0]
        cols[...] = cols.reshape(cols.shape[0], -1, N).transpose(0, 2, 1).reshape(cols.shape)
        return cols

    def im2col_channels_last(x, kernel_size, stride=1, padding=0, out=None):  # rows (di, dj, c)
        cols = cnn.im2col(x, kernel_size, stride, padding, out=out)
        C = np.shape(x)[1]
        cols[...] = cols.reshape(C, cols.shape[0] // C, -1).transpose(1, 0, 2).reshape(cols.shape)
        return cols

    def forward_without_the_cast(self, x):          # APPROACH step 3 left out: the input's dtype wins
        data, unbatched = cnn._batched(x, "Conv2D")
        bias = None if self.bias is None else self.bias.data
        out = cnn.conv2d_forward(data, self.weight.data, bias, self.stride, self.padding)
        return cnn._wrap(out[0] if unbatched else out)

    def min_pool(x, kernel, stride=None, padding=0, return_argmax=False):
        found = cnn.max_pool2d_forward(-np.asarray(x), kernel, stride, padding, return_argmax=return_argmax)
        return (-found[0], found[1]) if return_argmax else -found

    def mean_over_rows_only(x, kernel, stride=None, padding=0):
        width = kernel[1] if isinstance(kernel, tuple) else kernel
        return cnn.avg_pool2d_forward(x, kernel, stride, padding) * width

    return [("conv2d_naive", "conv2d_naive", flipped),
            ("conv2d_naive_keeps_the_input_dtype", "conv2d_naive", always_float64),
            ("im2col", "im2col", im2col_batch_first), ("im2col", "im2col", im2col_channels_last),
            ("flatten", "flatten", transposed_reshape),
            ("conv2d_layer_forward_in_the_weights_dtype", "Conv2D.forward", forward_without_the_cast),
            ("max_pool2d", "max_pool2d_forward", min_pool), ("avg_pool2d", "avg_pool2d_forward", mean_over_rows_only)]


def dataloader():
    from tinytorch.core import dataloader

    def floor_count(self):                           # N // batch_size
        return len(self.dataset) // self.batch_size

    def dropping_the_last_batch(self):
        order = self.epoch_order()
        for start in range(0, len(order) - self.batch_size + 1, self.batch_size):
            yield self._fetch(order[start:start + self.batch_size])

    def order_with(permutation):
        def epoch_order(self):
            count = len(self.dataset)
            return permutation(self, count) if self.shuffle else np.arange(count)
        return epoch_order

    def split_rounding_down(X, y, test_size=0.2, seed=0, stratify=False):
        if isinstance(test_size, float):
            test_size = max(1, int(test_size * len(getattr(X, "data", X))))
        return dataloader.train_test_split(X, y, test_size, seed, stratify)

    def split_ignoring_stratify(X, y, test_size=0.2, seed=0, stratify=False):
        return dataloader.train_test_split(X, y, test_size, seed)

    return [("dataloader_len", "DataLoader.__len__", floor_count),
            ("dataloader_in_order", "DataLoader.__iter__", dropping_the_last_batch),
            ("dataloader_shuffled", "DataLoader.__iter__", dropping_the_last_batch),
            ("dataloader_collates_a_plain_dataset", "DataLoader.__iter__", dropping_the_last_batch),
            ("dataloader_over_a_tensor_dataset", "DataLoader.__iter__", dropping_the_last_batch),
            ("dataloader_shuffled", "DataLoader.epoch_order", order_with(lambda self, n: np.arange(n))),
            ("dataloader_shuffled", "DataLoader.epoch_order",        # the same order every epoch
             order_with(lambda self, n: np.random.default_rng(self.seed).permutation(n))),
            ("dataloader_shuffled", "DataLoader.epoch_order", order_with(lambda self, n: np.random.permutation(n))),
            ("train_test_split", "train_test_split", split_rounding_down),
            ("train_test_split_stratified", "train_test_split", split_ignoring_stratify)]


def autograd():
    from tinytorch.core import autograd
    from tinytorch.core.tensor import Tensor

    def unbroadcast_of_leading_axes_only(grad, shape):
        while grad.ndim > len(tuple(shape)):
            grad = grad.sum(axis=0)
        return grad

    def mul_rule_swapped(out, x, y):                 # x gets g·x, y gets g·y
        inputs, right = autograd.mul_rule(out, x, y)
        both = autograd.needs_grad(x) and autograd.needs_grad(y)
        return inputs, lambda g: tuple(reversed(right(g))) if both else right(g)

    def matmul_grads_without_transposes(g, a, b):    # g @ b and a @ g
        def t(m):
            return np.swapaxes(m, -1, -2) if m.ndim > 1 else m
        return autograd.matmul_grads(g, t(a), t(b))

    def relu_rule_passing_at_zero(out, layer, x):
        return (x,), lambda g: (g * (autograd._value(x) >= 0),)

    def order_visiting_shared_inputs_twice(root):
        order = []

        def visit(t):
            node = getattr(t, "_node", None)
            for x in node.inputs if node is not None else ():
                if autograd.needs_grad(x):
                    visit(x)
            order.append(t)
        visit(root)
        return order

    def backward_that(overwrites_grad, overwrites_paths):
        def backward(tensor, gradient=None):
            if not tensor.requires_grad:
                raise RuntimeError("backward() needs a tensor that requires grad")
            grads = {id(tensor): autograd._seed_gradient(tensor, gradient)}
            for t in reversed(autograd.topological_order(tensor)):
                g = grads.pop(id(t), None)
                node = getattr(t, "_node", None)
                if g is not None and node is None:
                    if overwrites_grad or t.grad is None:
                        t.grad = Tensor(g, dtype=t.data.dtype)
                    else:
                        t.grad.data += g
                elif g is not None:
                    for x, gx in zip(node.inputs, node.backward(g)):
                        if gx is not None and autograd.needs_grad(x):
                            add = id(x) in grads and not overwrites_paths
                            grads[id(x)] = grads[id(x)] + gx if add else gx
        return backward

    return [("unbroadcast", "unbroadcast", unbroadcast_of_leading_axes_only),
            ("mul_rule", "mul_rule", mul_rule_swapped),
            ("matmul_grads", "matmul_grads", matmul_grads_without_transposes),
            ("relu_rule", "relu_rule", relu_rule_passing_at_zero),
            ("topological_order", "topological_order", order_visiting_shared_inputs_twice),
            ("backward", "backward", backward_that(overwrites_grad=False, overwrites_paths=True)),
            ("backward_accumulates", "backward", backward_that(overwrites_grad=True, overwrites_paths=False))]


def optimizers():
    def sgd_step(update):
        def step(self):
            for i, p in enumerate(self.params):
                if p.grad is not None:
                    update(self, i, p, p.grad.data)
        return step

    def ignoring_momentum(self, i, p, g):
        p.data -= self.lr * (g + self.weight_decay * p.data)

    def velocity_as_an_average(self, i, p, g):       # v = m·v + (1 - m)·g
        v = self.velocities[i]
        v = self.velocities[i] = (1 - self.momentum) * g + (0 if v is None else self.momentum * v)
        p.data -= self.lr * v

    def decay_after_the_velocity(self, i, p, g):
        v = self.velocities[i]
        v = self.velocities[i] = np.array(g) if v is None else self.momentum * v + g
        p.data -= self.lr * (v + self.weight_decay * p.data)

    def decay_with_the_wrong_sign(self, i, p, g):
        p.data -= self.lr * (g - self.weight_decay * p.data)

    def a_new_array(self, i, p, g):                  # p.data = p.data - lr·g
        p.data = (p.data - self.lr * g).astype(p.data.dtype)

    def adam_step(variant):
        def step(self):
            b1, b2 = self.betas
            self.calls = getattr(self, "calls", 0) + 1
            for i, p in enumerate(self.params):
                if p.grad is None:
                    continue
                g = p.grad.data + self.weight_decay * p.data
                if self.m[i] is None:
                    self.m[i], self.v[i] = np.zeros_like(p.data), np.zeros_like(p.data)
                self.steps[i] += 1
                t = self.calls if variant == "one step count" else self.steps[i]
                self.m[i] = b1 * self.m[i] + (1 - b1) * g
                self.v[i] = b2 * self.v[i] + (1 - b2) * g * g
                m_hat, v_hat = self.m[i] / (1 - b1 ** t), self.v[i] / (1 - b2 ** t)
                if variant == "no bias correction":
                    m_hat, v_hat = self.m[i], self.v[i]
                if variant == "eps under the root":
                    p.data -= self.lr * m_hat / np.sqrt(v_hat + self.eps)
                else:
                    p.data -= self.lr * m_hat / (np.sqrt(v_hat) + self.eps)
        return step

    return [("sgd_momentum", "SGD.step", sgd_step(ignoring_momentum)),
            ("sgd_momentum", "SGD.step", sgd_step(velocity_as_an_average)),
            ("sgd_weight_decay", "SGD.step", sgd_step(decay_with_the_wrong_sign)),
            ("sgd_momentum_and_weight_decay", "SGD.step", sgd_step(decay_after_the_velocity)),
            ("steps_update_in_place", "SGD.step", sgd_step(a_new_array)),
            ("adam", "Adam.step", adam_step("no bias correction")),
            ("adam_with_its_options", "Adam.step", adam_step("eps under the root")),
            ("adam_counts_steps_per_parameter", "Adam.step", adam_step("one step count"))]


def training():
    from tinytorch.core import training

    def mse_reduced_by(reduce):
        def forward(self, prediction, target):
            diff = training._as_tensor(prediction) - training._as_tensor(target)
            return reduce(diff * diff)
        return forward

    def cross_entropy_summed(self, logits, targets):  # no division by N
        return training.CrossEntropyLoss.forward(self, logits, targets) * float(len(np.asarray(targets)))

    def accuracy_along_the_batch(logits, targets):
        z, t = (np.asarray(getattr(v, "data", v)) for v in (logits, targets))
        return float(np.mean(z.argmax(axis=0) == t))

    def step_without_zero_grad(self, X, y):
        output = self.model(X)
        loss = self.loss_fn(output, y)
        loss.backward()
        self.optimizer.step()
        return loss.item(), self.metric(output, y) if self.metric else None

    summed = mse_reduced_by(lambda squares: squares.sum())
    over_the_first_axis = mse_reduced_by(lambda squares: squares.mean(axis=0))
    return [("mse_loss", "MSELoss.forward", summed), ("mse_loss", "MSELoss.forward", over_the_first_axis),
            ("mse_loss_of_arrays", "MSELoss.forward", summed),
            ("cross_entropy", "CrossEntropyLoss.forward", cross_entropy_summed),
            ("cross_entropy_gradient", "CrossEntropyLoss.forward", cross_entropy_summed),
            ("accuracy", "accuracy", accuracy_along_the_batch),
            ("train_step", "Trainer.train_step", step_without_zero_grad),
            ("train_step_with_cross_entropy", "Trainer.train_step", step_without_zero_grad)]


MISTAKES = {"setup": setup, "tensor": tensor, "activations": activations, "layers": layers, "networks": networks,
            "cnn": cnn, "dataloader": dataloader, "autograd": autograd, "optimizers": optimizers, "training": training}
