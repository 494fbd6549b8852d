"""Training speed: TinyTorch against PyTorch on the CPU, the same network and loop in one run.

    .venv/bin/python benchmarks/bench_training.py [--rounds 9] [--threads N] [--no-torch]

Two cases from issue 5:

* ``epoch``: one training epoch of the milestone CNN on the digits (1,437 training images,
  batch 32, 45 steps of forward, cross-entropy, backward and Adam), target ≤ 3× PyTorch;
* ``conv``: Conv2D forward + backward on a CIFAR batch (128, 3, 32, 32) through 32 filters
  5×5 (241 M MACs forward), the input requiring grad too, target ≤ 2× PyTorch.

Both sides start from the same weights and see the same batches; the gradients are checked to
agree before any timing. Times are medians of alternating runs in this one process (see
``_timing.py``); the machine is shared and noisy, so only ratios from one run mean much.

Both libraries run at their default thread counts (2 here) unless ``--threads N`` sets both to N
(OpenBLAS through ``set_blas_threads``, torch through ``torch.set_num_threads``): comparing at
equal thread counts keeps the ratio about the kernels, not about who got more cores. The
TinyTorch epoch uses the course's ``DataLoader``; the PyTorch epoch slices preloaded tensors
(PyTorch's fastest path).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

from _timing import alternate, blas_info, format_seconds, load_torch, medians, set_blas_threads  # noqa: E402

import tinytorch.core.autograd  # noqa: E402,F401
from tinytorch.core.activations import ReLU  # noqa: E402
from tinytorch.core.cnn import Conv2D, Flatten, MaxPool2D  # noqa: E402
from tinytorch.core.dataloader import DataLoader, TensorDataset, train_test_split  # noqa: E402
from tinytorch.core.layers import Dense  # noqa: E402
from tinytorch.core.networks import Sequential  # noqa: E402
from tinytorch.core.optimizers import Adam  # noqa: E402
from tinytorch.core.tensor import Tensor  # noqa: E402
from tinytorch.core.training import CrossEntropyLoss  # noqa: E402
from tinytorch.datasets import load_digits  # noqa: E402

TARGETS = {"epoch": 3.0, "conv": 2.0}
BATCH = 32
LR = 0.01


# ------------------------------------------------------------------ the milestone epoch
def lenet():
    return Sequential([
        Conv2D(1, 16, 3, padding=1), ReLU(), MaxPool2D(2),
        Conv2D(16, 32, 3, padding=1), ReLU(), MaxPool2D(2),
        Flatten(), Dense(128, 64), ReLU(), Dense(64, 10),
    ])


def torch_lenet(torch, ours):
    """The same network in PyTorch with the same weights (Linear stores (out, in))."""
    nn = torch.nn
    model = nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(128, 64), nn.ReLU(), nn.Linear(64, 10),
    )
    with torch.no_grad():
        for p, tp in zip(ours.parameters(), model.parameters()):
            tp.copy_(torch.tensor(p.data.T if p.ndim == 2 else p.data))
    return model


def epoch_case(torch):
    """Epoch functions for both libraries, after checking one step's gradients agree."""
    images, labels = load_digits()
    X_train, _, y_train, _ = train_test_split(images, labels, test_size=0.2, seed=0, stratify=True)
    np.random.seed(0)
    model = lenet()
    loss_fn = CrossEntropyLoss()
    optimizer = Adam(model.parameters(), lr=LR)
    loader = DataLoader(TensorDataset(X_train, y_train), batch_size=BATCH, shuffle=True, seed=0)

    def ours():
        for X, y in loader:
            loss = loss_fn(model(X), y)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        return loss.item()

    candidates = {"tinytorch": ours}
    if torch is not None:
        theirs_model = torch_lenet(torch, model)
        check_gradients(torch, model, theirs_model, X_train[:BATCH], y_train[:BATCH])
        theirs_opt = torch.optim.Adam(theirs_model.parameters(), lr=LR)
        tX, ty = torch.tensor(X_train), torch.tensor(y_train)
        order = np.random.default_rng(0)

        def theirs():
            perm = torch.from_numpy(order.permutation(len(tX)))
            for start in range(0, len(tX), BATCH):
                index = perm[start:start + BATCH]
                loss = torch.nn.functional.cross_entropy(theirs_model(tX[index]), ty[index])
                theirs_opt.zero_grad()
                loss.backward()
                theirs_opt.step()
            return loss.item()

        candidates["torch"] = theirs
    return candidates


def check_gradients(torch, ours, theirs, X, y):
    loss = CrossEntropyLoss()(ours(Tensor(X)), y)
    loss.backward()
    torch.nn.functional.cross_entropy(theirs(torch.tensor(X)), torch.tensor(y)).backward()
    for p, tp in zip(ours.parameters(), theirs.parameters()):
        expected = tp.grad.numpy().T if p.ndim == 2 else tp.grad.numpy()
        np.testing.assert_allclose(p.grad.data, expected, rtol=1e-3, atol=1e-5)
        p.grad, tp.grad = None, None


# ------------------------------------------------------------------ Conv2D forward + backward
def conv_case(torch):
    rng = np.random.default_rng(0)
    np.random.seed(0)
    conv = Conv2D(3, 32, 5)
    x = Tensor(rng.normal(size=(128, 3, 32, 32)).astype(np.float32), requires_grad=True)
    g = rng.normal(size=(128, 32, 28, 28)).astype(np.float32)

    def ours():
        x.grad = conv.weight.grad = conv.bias.grad = None
        conv(x).backward(g)

    candidates = {"tinytorch": ours}
    if torch is not None:
        tconv = torch.nn.Conv2d(3, 32, 5)
        with torch.no_grad():
            tconv.weight.copy_(torch.tensor(conv.weight.data))
            tconv.bias.copy_(torch.tensor(conv.bias.data))
        tx = torch.tensor(x.data, requires_grad=True)
        tg = torch.tensor(g)

        def theirs():
            tx.grad = tconv.weight.grad = tconv.bias.grad = None
            tconv(tx).backward(tg)

        ours()
        theirs()
        np.testing.assert_allclose(x.grad.data, tx.grad.numpy(), rtol=1e-3, atol=1e-3)
        np.testing.assert_allclose(conv.weight.grad.data, tconv.weight.grad.numpy(), rtol=1e-3, atol=1e-2)
        candidates["torch"] = theirs
    return candidates


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=9, help="alternating samples per candidate")
    parser.add_argument("--no-torch", action="store_true", help="time TinyTorch alone")
    parser.add_argument("--threads", type=int, default=None,
                        help="threads for both OpenBLAS and torch (default: theirs)")
    args = parser.parse_args(argv)
    torch = load_torch(args.no_torch)
    if args.threads:
        set_blas_threads(args.threads)
        if torch is not None:
            torch.set_num_threads(args.threads)

    blas = blas_info()
    print(f"numpy {blas['numpy']}, OpenBLAS core {blas['corename']}, threads {blas['threads']}"
          + (f"; torch {torch.__version__}, threads {torch.get_num_threads()}" if torch else "; torch: not used"))
    print(f"{'case':<6} {'tinytorch':>11} {'torch':>11} {'ratio':>7} {'target':>7}")
    for name, build in (("epoch", epoch_case), ("conv", conv_case)):
        times = medians(alternate(build(torch), rounds=args.rounds, warmup=1, min_seconds=0.0))
        ours = times["tinytorch"]
        if "torch" in times:
            ratio = ours / times["torch"]
            verdict = "ok" if ratio <= TARGETS[name] else "MISSED"
            print(f"{name:<6} {format_seconds(ours):>11} {format_seconds(times['torch']):>11} "
                  f"{ratio:>6.2f}× {'≤' + format(TARGETS[name], 'g') + '×':>7} {verdict}")
        else:
            print(f"{name:<6} {format_seconds(ours):>11} {'-':>11}")


if __name__ == "__main__":
    main()
