"""Milestone: train a LeNet-style CNN on the UCI handwritten digits with tinytorch alone.

The network of module 06, trained with modules 07-10:

    Conv2D(1, 16, 3, padding=1) → ReLU → MaxPool2D(2)        (1, 8, 8)  -> (16, 4, 4)
    Conv2D(16, 32, 3, padding=1) → ReLU → MaxPool2D(2)       (16, 4, 4) -> (32, 2, 2)
    Flatten → Dense(128, 64) → ReLU → Dense(64, 10)          128 -> 10 class scores

on 1,797 8×8 digits split 80/20 (stratified, fixed seed), standardised with the training set's
mean and standard deviation, with Adam (L2 weight decay) and a cosine learning-rate schedule. It then shows what the network learned: the first layer's 3×3 filters and the 16
feature maps they make of one test digit, as terminal heatmaps and (with matplotlib) PNG files.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

SEED = 0
EPOCHS = 60
BATCH_SIZE = 32
LEARNING_RATE = 0.01
WEIGHT_DECAY = 5e-4
TEST_SIZE = 0.2
PASS_ACCURACY = 0.98


@dataclass
class Result:
    """What a run produced: the test accuracy, the wall time, per-epoch history and files."""

    accuracy: float
    seconds: float
    history: list = field(default_factory=list)
    pictures: list = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return self.accuracy >= PASS_ACCURACY


def build_model():
    """The LeNet-style CNN: (N, 1, 8, 8) -> (N, 10) logits."""
    from tinytorch.core.activations import ReLU
    from tinytorch.core.cnn import Conv2D, Flatten, MaxPool2D
    from tinytorch.core.layers import Dense
    from tinytorch.core.networks import Sequential

    return Sequential([
        Conv2D(1, 16, 3, padding=1), ReLU(), MaxPool2D(2),
        Conv2D(16, 32, 3, padding=1), ReLU(), MaxPool2D(2),
        Flatten(), Dense(128, 64), ReLU(), Dense(64, 10),
    ])


def load_split(seed=SEED, limit=None):
    """The digits as (X_train, X_test, y_train, y_test) arrays; ``limit`` keeps the first N digits."""
    from tinytorch.core.dataloader import train_test_split
    from tinytorch.datasets import load_digits

    images, labels = load_digits()
    if limit is not None:
        images, labels = images[:limit], labels[:limit]
    return train_test_split(images, labels, test_size=TEST_SIZE, seed=seed, stratify=True)


def standardize(X_train, X_test):
    """Both sets shifted and scaled by the training set's mean and standard deviation (one number
    each: all pixels share a scale), so the network's inputs are centred at 0 with spread 1."""
    mean, std = float(X_train.mean()), float(X_train.std())
    return (X_train - mean) / std, (X_test - mean) / std


def train(model, X_train, y_train, X_test, y_test, epochs, seed, console):
    """Fit with Adam + cosine schedule, one progress bar per epoch; returns the Trainer."""
    from tinytorch.core.dataloader import DataLoader, TensorDataset
    from tinytorch.core.optimizers import Adam
    from tinytorch.core.training import CrossEntropyLoss, Trainer, cosine_schedule

    optimizer = Adam(model.parameters(), lr=LEARNING_RATE, weight_decay=WEIGHT_DECAY)
    trainer = Trainer(model, CrossEntropyLoss(), optimizer, console=console)
    train_loader = DataLoader(TensorDataset(X_train, y_train), batch_size=BATCH_SIZE,
                              shuffle=True, seed=seed)
    test_loader = DataLoader(TensorDataset(X_test, y_test), batch_size=256)
    trainer.fit(train_loader, epochs, val_loader=test_loader,
                lr_schedule=cosine_schedule(LEARNING_RATE, epochs))
    return trainer


def first_layer_views(model, image):
    """The first Conv2D's filters (16, 3, 3) and its ReLU feature maps of one image (16, 8, 8)."""
    from tinytorch.core.autograd import no_grad
    from tinytorch.core.tensor import Tensor

    conv, relu = model[0], model[1]
    with no_grad():
        maps = relu(conv(Tensor(image[np.newaxis]))).data[0]
    return conv.weight.data[:, 0], maps


def show_pictures(model, image, model_input, label, out_dir, console):
    """Terminal heatmaps always; PNG files in ``out_dir`` when matplotlib is installed.

    ``image`` is the digit as stored (pixels in [0, 1]); ``model_input`` what the network sees.
    """
    from tinytorch.utils.visualize import save_png, show_feature_maps, show_heatmap

    filters, maps = first_layer_views(model, model_input)
    show_heatmap(image[0], title=f"A test digit (label {label})", console=console)
    show_feature_maps(filters, title="Learned first-layer filters (3×3)", columns=8, console=console,
                      label="filter")
    show_feature_maps(maps, title="Its 16 feature maps after Conv2D → ReLU", columns=8, console=console)
    out_dir = Path(out_dir)
    saved = [  # panels named as in the terminal: filter 0-15, map 0-15
        save_png(filters, out_dir / "cnn_filters.png", title="Learned first-layer filters (3×3)",
                 columns=8, cmap="RdBu_r", label="filter"),
        save_png(np.concatenate([image, maps]), out_dir / "cnn_feature_maps.png",
                 title=f"Digit {label} and its {len(maps)} feature maps after Conv2D → ReLU", columns=6,
                 labels=[f"digit {label}"] + [f"map {k}" for k in range(len(maps))]),
    ]
    return [path for path in saved if path is not None]


def run(epochs=EPOCHS, out_dir="outputs", limit=None, seed=SEED, console=None):
    """Train, evaluate and picture the CNN; returns a ``Result``. Prints progress to ``console``."""
    from rich.console import Console

    from tinytorch.core.networks import count_parameters
    import tinytorch.core.autograd  # noqa: F401  (gradients for every layer)

    console = console or Console(highlight=False)
    start = time.perf_counter()
    X_train, X_test, y_train, y_test = load_split(seed, limit)
    inputs_train, inputs_test = standardize(X_train, X_test)
    np.random.seed(seed)  # the layers draw their initial weights from NumPy's global generator
    model = build_model()
    console.print(
        f"[bold]LeNet-style CNN on handwritten digits[/]: {len(X_train)} training and "
        f"{len(X_test)} test images of 8×8, {count_parameters(model):,} parameters, "
        f"{epochs} epochs of batch {BATCH_SIZE}, Adam lr {LEARNING_RATE} (cosine) "
        f"weight decay {WEIGHT_DECAY}, seed {seed}"
    )
    trainer = train(model, inputs_train, y_train, inputs_test, y_test, epochs, seed, console)
    accuracy = trainer.history[-1]["val_accuracy"]
    pictures = show_pictures(model, X_test[0], inputs_test[0], int(y_test[0]), out_dir, console)
    for path in pictures:
        console.print(f"saved {path}")
    if not pictures:
        console.print("matplotlib is not installed: terminal pictures only (pip install matplotlib for PNGs)")
    return Result(accuracy, time.perf_counter() - start, trainer.history, pictures)
