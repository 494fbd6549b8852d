"""Training speed: TinyTorch against PyTorch on the CPU, the same network and loop.

    .venv/bin/python benchmarks/bench_training.py                  # the whole table (own processes)
    .venv/bin/python benchmarks/bench_training.py --load idle --threads default
    .venv/bin/python benchmarks/bench_training.py --mode one-process [--threads 1]

Two cases:

* ``epoch``: one training epoch of the milestone CNN on the digits (1,437 training images,
  batch 32, 45 steps of forward, cross-entropy, backward and Adam);
* ``conv``: Conv2D forward + backward on a CIFAR batch (128, 3, 32, 32) through 32 filters
  5×5 (241 M MACs forward), the input requiring grad too.

Targets (ratio to PyTorch, default threads, idle): epoch ≤ 1.0×, conv ≤ 1.0×.

Both sides start from the same weights (drawn here with NumPy) and their gradients on the same
batch are checked to agree before any timing. The modes are those of ``bench_conv.py``: by
default each library in its own process at its own default threads, idle and with one core kept
busy, then one thread each (``_processes.py``); ``--mode one-process`` alternates both in this
process (``_timing.alternate``). The TinyTorch epoch uses the course's ``DataLoader``; the
PyTorch epoch slices preloaded tensors (PyTorch's fastest path).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

import _processes  # noqa: E402
from _timing import blas_info, require_exported, stops_where_not_ready  # noqa: E402

TARGETS = {("epoch", "idle"): 1.0, ("conv", "idle"): 1.0}
BATCH = 32
LR = 0.01
# The milestone CNN: (kind, in, out) per layer with parameters, in order.
LENET = [("conv", 1, 16), ("conv", 16, 32), ("dense", 128, 64), ("dense", 64, 10)]


def digits():
    """The milestone's training split: 1,437 images (N, 1, 8, 8) float32 and labels."""
    from tinytorch.core.dataloader import train_test_split
    from tinytorch.datasets import load_digits

    images, labels = load_digits()
    X_train, _, y_train, _ = train_test_split(images, labels, test_size=0.2, seed=0, stratify=True)
    return X_train, y_train


def lenet_weights(seed=0):
    """Initial weights of the milestone CNN, uniform in ±1/√fan-in: TinyTorch's layouts
    (conv (F, C, 3, 3); dense (in, out))."""
    rng = np.random.default_rng(seed)
    weights = []
    for kind, fan_in, fan_out in LENET:
        shape = (fan_out, fan_in, 3, 3) if kind == "conv" else (fan_in, fan_out)
        bound = 1 / np.sqrt(fan_in * (9 if kind == "conv" else 1))
        weights += [rng.uniform(-bound, bound, shape).astype(np.float32),
                    rng.uniform(-bound, bound, fan_out).astype(np.float32)]
    return weights


def tinytorch_lenet():
    """The milestone's own network (tito.milestones.cnn_digits.build_model), with lenet_weights()."""
    import tinytorch.core.autograd  # noqa: F401  (gradients for every layer)
    from tito.milestones.cnn_digits import build_model

    model = build_model()
    for parameter, value in zip(model.parameters(), lenet_weights()):
        parameter.data[...] = value
    return model


def torch_lenet(torch):
    nn = torch.nn
    model = nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(128, 64), nn.ReLU(), nn.Linear(64, 10),
    )
    with torch.no_grad():
        for parameter, value in zip(model.parameters(), lenet_weights()):
            parameter.copy_(torch.from_numpy(value.T if value.ndim == 2 else value))
    return model


def epoch_tinytorch():
    from tinytorch.core.dataloader import DataLoader, TensorDataset
    from tinytorch.core.optimizers import Adam
    from tinytorch.core.tensor import Tensor
    from tinytorch.core.training import CrossEntropyLoss

    X_train, y_train = digits()
    model, loss_fn = tinytorch_lenet(), CrossEntropyLoss()
    optimizer = Adam(model.parameters(), lr=LR)
    loader = DataLoader(TensorDataset(X_train, y_train), batch_size=BATCH, shuffle=True, seed=0)

    def run():
        for X, y in loader:
            loss = loss_fn(model(X), y)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        return loss.item()

    def gradients():
        loss_fn(model(Tensor(X_train[:BATCH])), y_train[:BATCH]).backward()
        grads = [p.grad.data for p in model.parameters()]
        optimizer.zero_grad()
        return grads

    return run, gradients


def epoch_torch():
    import torch

    X_train, y_train = digits()
    model = torch_lenet(torch)
    optimizer = torch.optim.Adam(model.parameters(), lr=LR)
    tX, ty = torch.from_numpy(X_train), torch.from_numpy(y_train)
    order = np.random.default_rng(0)

    def run():
        perm = torch.from_numpy(order.permutation(len(tX)))
        for start in range(0, len(tX), BATCH):
            index = perm[start:start + BATCH]
            loss = torch.nn.functional.cross_entropy(model(tX[index]), ty[index])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        return loss.item()

    def gradients():
        torch.nn.functional.cross_entropy(model(tX[:BATCH]), ty[:BATCH]).backward()
        grads = [p.grad.numpy().T.copy() if p.ndim == 2 else p.grad.numpy().copy() for p in model.parameters()]
        optimizer.zero_grad()
        return grads

    return run, gradients


def conv_data():
    rng = np.random.default_rng(0)
    bound = 1 / np.sqrt(3 * 5 * 5)
    weight = rng.uniform(-bound, bound, (32, 3, 5, 5)).astype(np.float32)
    bias = rng.uniform(-bound, bound, 32).astype(np.float32)
    x = rng.normal(size=(128, 3, 32, 32)).astype(np.float32)
    g = rng.normal(size=(128, 32, 28, 28)).astype(np.float32)
    return x, weight, bias, g


def conv_tinytorch():
    import tinytorch.core.autograd  # noqa: F401
    from tinytorch.core.cnn import Conv2D
    from tinytorch.core.tensor import Tensor

    x, weight, bias, g = conv_data()
    conv = Conv2D(3, 32, 5)
    conv.weight.data[...], conv.bias.data[...] = weight, bias
    tx = Tensor(x, requires_grad=True)

    def run():
        tx.grad = conv.weight.grad = conv.bias.grad = None
        conv(tx).backward(g)

    def gradients():
        run()
        return [tx.grad.data, conv.weight.grad.data, conv.bias.grad.data]

    return run, gradients


def conv_torch():
    import torch

    x, weight, bias, g = conv_data()
    conv = torch.nn.Conv2d(3, 32, 5)
    with torch.no_grad():
        conv.weight.copy_(torch.from_numpy(weight))
        conv.bias.copy_(torch.from_numpy(bias))
    tx, tg = torch.tensor(x, requires_grad=True), torch.from_numpy(g)

    def run():
        tx.grad = conv.weight.grad = conv.bias.grad = None
        conv(tx).backward(tg)

    def gradients():
        run()
        return [tx.grad.numpy(), conv.weight.grad.numpy(), conv.bias.grad.numpy()]

    return run, gradients


BUILDERS = {("epoch", "tinytorch"): epoch_tinytorch, ("epoch", "torch"): epoch_torch,
            ("conv", "tinytorch"): conv_tinytorch, ("conv", "torch"): conv_torch}
DESCRIPTIONS = {"epoch": "epoch (45 steps, batch 32)", "conv": "conv fwd + bwd (128, 3, 32, 32) → 32 × 5×5"}


def build(library: str, case: str):
    """``(run, gradients)`` for one case in one library."""
    return BUILDERS[case, library]()


def target(row: dict):
    return TARGETS.get((row["case"], row["load"])) if row["threads"] == "default" else None


@stops_where_not_ready
def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    _processes.add_arguments(parser, rounds=9, sample_ms=0.0)
    args = parser.parse_args(argv)
    require_exported("tensor", "cnn", "dataloader", "autograd", "optimizers", "training")
    if args.worker:
        _processes.serve(build, args.worker, int(args.threads) if args.threads else None)
        return 0
    rows = _processes.rows_for(args, __file__, build, ["epoch", "conv"], tolerance=(1e-3, 1e-4))
    print()
    print(_processes.table(rows, DESCRIPTIONS.get, target))
    blas = blas_info()
    print(f"numpy {blas['numpy']}, {blas['library']} kernel {blas['corename']}; "
          f"OPENBLAS_CORETYPE={blas['OPENBLAS_CORETYPE']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
