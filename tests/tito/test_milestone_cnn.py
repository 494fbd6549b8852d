"""`tito milestone cnn`: the plumbing on a quick run, the output line, pictures and exit codes."""

import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from tiny_course import flat

from tito.milestones import cnn_digits

from course_root import ROOT
LAST_LINE = re.compile(r"^test accuracy: (0\.\d{4}|1\.0000)$")


def test_quick_run_end_to_end(tmp_path):
    """One epoch per fold on 200 digits: progress, the folds, the final line, both PNGs, and
    exit 1 (below 0.98)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "NO_COLOR": "1", "TINYTORCH_OUTPUTS": str(tmp_path / "pics")}
    env.pop("OPENBLAS_NUM_THREADS", None)
    done = subprocess.run(
        [sys.executable, "-m", "tito", "milestone", "cnn", "--epochs", "1", "--limit", "200"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300,
    )
    lines = done.stdout.strip().splitlines()
    assert LAST_LINE.match(lines[-1]), done.stdout + done.stderr
    accuracy = float(lines[-1].split(": ")[1])
    assert "5-fold cross-validation" in done.stdout and "fold 1/5: 160 training and 40 test images" in lines
    assert any(line.startswith("epoch 1/1") and "5/5" in line and "val acc" in line for line in lines)
    fold_lines = [line for line in lines if re.match(r"fold \d/5: test accuracy 0\.\d{4} \(\d+/40\)", line)]
    assert len(fold_lines) == 5
    correct = sum(int(re.search(r"\((\d+)/40\)", line).group(1)) for line in fold_lines)
    assert f"cross-validated: {correct}/200 digits" in done.stdout
    assert accuracy == round(correct / 200, 4)
    assert "Learned first-layer filters" in done.stdout and "feature maps" in done.stdout
    assert done.returncode == 0  # a shortened run only has to finish
    assert accuracy < 0.98 and ("below the goal of 0.98, which is the full run's (without --limit, at least 60 "
                                "epochs).") in flat(done.stderr)
    if importlib.util.find_spec("matplotlib") is None:
        assert "matplotlib is not installed: terminal pictures only" in done.stdout
        return
    for name in ("cnn_filters.png", "cnn_feature_maps.png"):
        assert (tmp_path / "pics" / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize("accuracy,code", [(0.98, 0), (0.9861, 0), (0.9799, 1), (0.5, 1)])
def test_exit_code_follows_the_goal(tito, monkeypatch, accuracy, code):
    calls = {}

    def fake_run(**kwargs):
        calls.update(kwargs)
        return cnn_digits.Result(accuracy, 1.5)

    monkeypatch.setattr(cnn_digits, "run", fake_run)
    result = tito("milestone", "cnn", "--out", "somewhere", "--epochs", "80", "--seed", "7")
    assert result.exit_code == code
    assert result.output.strip().splitlines()[-1] == f"test accuracy: {accuracy:.4f}"
    assert calls["out_dir"] == "somewhere" and calls["epochs"] == 80 and calls["seed"] == 7


@pytest.mark.parametrize("options", [["--epochs", "3"], ["--limit", "300"], ["--epochs", "1", "--limit", "300"]])
def test_a_shortened_run_only_has_to_finish(tito, monkeypatch, options):
    monkeypatch.setattr(cnn_digits, "run", lambda **kwargs: cnn_digits.Result(0.3367, 1.0))
    result = tito("milestone", "cnn", *options)
    assert result.exit_code == 0
    assert result.output.strip().splitlines()[-1] == "test accuracy: 0.3367"
    assert "is below the goal of 0.98, which is the full run's" in flat(result.output)


def test_defaults_are_the_milestone_own(tito, monkeypatch):
    calls = {}
    monkeypatch.setattr(cnn_digits, "run", lambda **kw: calls.update(kw) or cnn_digits.Result(0.99, 1.0))
    assert tito("milestone", "cnn").exit_code == 0
    assert calls["out_dir"] is None and calls["limit"] is None  # the pictures go where visualize says
    assert "epochs" not in calls and "seed" not in calls  # run() uses EPOCHS and SEED


def test_unimplemented_student_code_is_a_clear_error(tito, monkeypatch, course):
    from tito.editions.strip import strip_solutions

    dev = course.dev("alpha")
    dev.write_text(strip_solutions(dev.read_text()).text)

    def stub(**kwargs):
        raise NotImplementedError("TODO: implement Scaler.__call__")

    monkeypatch.setattr(cnn_digits, "run", stub)
    result = tito("milestone", "cnn")
    assert result.exit_code == 1
    assert "not implemented yet: TODO: implement Scaler.__call__" in result.output
    assert ("Finish it in modules/source/01_alpha/alpha_dev.py; `tito test --module alpha` tests and "
            "exports it.") in result.output
    assert "Still to write: alpha (double, Scaler.__call__)." in flat(result.output)  # all of it, at once


def test_a_module_not_exported_yet_is_named_and_export_all_is_not_advised(tito, monkeypatch):
    """`tito export --all` would export every module's stubs; the hint names the module to finish."""
    import importlib

    real = importlib.import_module

    def missing_training(name, *args):
        if name == "tinytorch.core.training":
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return real(name, *args)

    monkeypatch.chdir(ROOT)
    monkeypatch.setattr(importlib, "import_module", missing_training)
    result = tito("milestone", "cnn")
    assert result.exit_code == 1
    assert "needs tinytorch module 'tinytorch.core.training', which cannot be imported" in result.output
    assert "It comes from module 10_training" in result.output and "tito test --module training" in result.output
    assert "export --all" not in result.output


def test_the_feature_map_png_names_its_panels_as_the_terminal_does(monkeypatch, tmp_path):
    pytest.importorskip("matplotlib")
    import io

    from rich.console import Console

    from tinytorch.utils import visualize

    figures = {}

    def keep(arrays, path, **kwargs):
        figures[Path(path).name] = visualize.png_figure(arrays, **kwargs)
        return path

    monkeypatch.setattr(visualize, "save_png", keep)
    np.random.seed(0)
    model = cnn_digits.build_model()
    image = np.random.rand(1, 8, 8)
    buffer = io.StringIO()
    cnn_digits.show_pictures(model, image, image, 7, tmp_path, Console(file=buffer, width=200, no_color=True))
    terminal = buffer.getvalue()
    maps = figures["cnn_feature_maps.png"]
    titles = [axes.get_title() for axes in maps.axes if axes.get_title()]
    assert titles == ["digit 7"] + [f"map {k}" for k in range(16)]
    assert all(f"map {k}" in terminal for k in range(16)) and "map 16" not in terminal
    assert len(maps.axes) == 2 * 17  # every panel has its colour bar
    filters = [axes.get_title() for axes in figures["cnn_filters.png"].axes if axes.get_title()]
    assert filters == [f"filter {k}" for k in range(16)] and "filter 15" in terminal


def test_unknown_milestone_is_a_usage_error(tito):
    result = tito("milestone", "rnn")
    assert result.exit_code == 2 and "'rnn' is not 'cnn'" in result.output


def test_the_network_is_the_lenet_of_the_issue():
    from tinytorch.core.networks import count_parameters
    from tinytorch.core.tensor import Tensor

    model = cnn_digits.build_model()
    assert [type(layer).__name__ for layer in model] == [
        "Conv2D", "ReLU", "MaxPool2D", "Conv2D", "ReLU", "MaxPool2D", "Flatten", "Dense", "ReLU", "Dense",
    ]
    # 16·9+16 + 32·16·9+32 + 128·64+64 + 64·10+10
    assert count_parameters(model) == 160 + 4640 + 8256 + 650
    assert model(Tensor(np.zeros((3, 1, 8, 8)))).shape == (3, 10)


def test_folds_are_stratified_and_test_every_digit_once():
    images, labels = cnn_digits.load()
    fold = cnn_digits.fold_of(labels)
    assert images.shape == (1797, 1, 8, 8) and fold.shape == (1797,)
    assert sorted(np.bincount(fold)) == [359, 359, 359, 360, 360]     # each digit in exactly one fold
    per_class = np.array([np.bincount(labels[fold == k], minlength=10) for k in range(5)])
    assert (per_class.max(axis=0) - per_class.min(axis=0)).max() <= 1  # every class's share, ±1
    assert np.array_equal(fold, cnn_digits.fold_of(labels, seed=0))
    assert not np.array_equal(fold, cnn_digits.fold_of(labels, seed=1))


def test_float64_networks_compute_in_float64():
    from tinytorch.core.tensor import Tensor
    from tinytorch.core.training import CrossEntropyLoss
    import tinytorch.core.autograd  # noqa: F401

    model = cnn_digits.convert(cnn_digits.build_model(), np.float64)
    images, labels = cnn_digits.load(limit=16)
    loss = CrossEntropyLoss()(model(Tensor(images)), labels)     # float32 images, cast on the way in
    loss.backward()
    assert loss.dtype == np.float64
    assert all(p.data.dtype == np.float64 and p.grad.dtype == np.float64 for p in model.parameters())
    assert cnn_digits.count_correct(model, images, labels, np.float64) == int(
        np.sum(model(Tensor(images, dtype=np.float64)).data.argmax(axis=1) == labels))


def test_run_pools_the_folds(tmp_path, monkeypatch):
    import io

    from rich.console import Console

    monkeypatch.setattr(cnn_digits, "show_pictures", lambda *args: [])    # the end-to-end run draws them
    result = cnn_digits.run(epochs=1, limit=100, out_dir=tmp_path, dtype=np.float64,
                            console=Console(file=io.StringIO(), width=100))
    assert [tested for _, tested in result.folds] == [20] * 5 and len(result.history) == 5
    assert result.accuracy == sum(correct for correct, _ in result.folds) / 100
    assert [len(history) for history in result.history] == [1] * 5


def test_result_passes_at_the_goal():
    assert cnn_digits.Result(cnn_digits.PASS_ACCURACY, 1.0).passed
    assert not cnn_digits.Result(0.9799, 1.0).passed


def test_standardize_uses_training_statistics_only():
    X_train = np.array([[0.0, 2.0], [4.0, 6.0]], dtype=np.float32)
    X_test = np.array([[3.0, 100.0]], dtype=np.float32)
    train, test = cnn_digits.standardize(X_train, X_test)
    assert train.mean() == pytest.approx(0.0) and train.std() == pytest.approx(1.0)
    np.testing.assert_allclose(test, (X_test - 3.0) / np.sqrt(5.0), rtol=1e-6)
