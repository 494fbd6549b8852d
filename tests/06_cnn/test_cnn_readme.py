"""The module README's code runs as written.

* The "What You'll Build" snippets, with the `Tensor([[[[...]]]])` placeholders filled with data of
  the shape their comments state, print what their comments say.
* The "Manual Testing Examples" snippet runs literally in a fresh interpreter whose PYTHONPATH is
  what `source bin/activate-tinytorch.sh` sets: the course root and every modules/source/NN_name
  folder (so `from cnn_dev import ...` and `from activations_dev import ...` work).
"""

import os
import re
import subprocess
import sys

import numpy as np
import pytest

from tinytorch.core.activations import ReLU, Sigmoid
from tinytorch.core.cnn import Conv2D, Flatten, MaxPool2D
from tinytorch.core.layers import Dense
from tinytorch.core.networks import Sequential
from tinytorch.core.tensor import Tensor

from course_root import ROOT
README = ROOT / "modules" / "source" / "06_cnn" / "README.md"
PLACEHOLDER = "Tensor([[[[...]]]])"


def python_block(heading):
    """The first ```python block after a markdown heading of the README."""
    text = README.read_text(encoding="utf-8")
    start = text.index(heading + "\n")
    match = re.compile(r"```python\n(.*?)```", re.DOTALL).search(text, start)
    assert match, f"no python block after {heading!r}"
    return match.group(1)


def printed_comments(code):
    """For each `print(...)  # comment` line, the comment text (what the line should print)."""
    return [line.split("#", 1)[1].strip() for line in code.splitlines()
            if line.startswith("print(") and "#" in line]


def run_snippet(code, capsys):
    namespace = {"np": np, "Tensor": Tensor, "Conv2D": Conv2D, "MaxPool2D": MaxPool2D, "Flatten": Flatten,
                 "ReLU": ReLU, "Sigmoid": Sigmoid, "Dense": Dense, "Sequential": Sequential}
    exec(compile(code, str(README), "exec"), namespace)
    return namespace, capsys.readouterr().out.splitlines()


def test_core_convolution_snippet_prints_the_commented_shapes(capsys):
    code = python_block("### Core Convolution Implementation")
    assert code.count(PLACEHOLDER) == 1 and "# (batch, channels, height, width)" in code
    np.random.seed(0)
    namespace, lines = run_snippet(code.replace(PLACEHOLDER, "Tensor(np.random.rand(1, 3, 32, 32))"), capsys)
    expected = printed_comments(code)
    assert expected == ["(1, 3, 32, 32)", "(1, 16, 30, 30)"]
    assert lines == ["Input shape: (1, 3, 32, 32)", "Output shape: (1, 16, 30, 30)",
                     "Learned 16 different feature detectors"]
    assert namespace["feature_maps"].dtype == np.float32


@pytest.mark.parametrize("batch", [1, 8])
def test_complete_cnn_snippet_classifies_a_batch(capsys, batch):
    code = python_block("### Complete CNN Architecture")
    assert code.count(PLACEHOLDER) == 1 and "# Batch of images" in code
    np.random.seed(1)
    namespace, lines = run_snippet(code.replace(PLACEHOLDER, f"Tensor(np.random.rand({batch}, 3, 32, 32))"), capsys)
    predictions = namespace["predictions"]
    assert lines == []
    assert predictions.shape == (batch, 10)
    assert np.all((predictions.data > 0) & (predictions.data < 1))
    assert len(namespace["cnn"]) == 10


def activate_pythonpath():
    """PYTHONPATH as bin/activate-tinytorch.sh builds it: root, then every NN_name module folder."""
    folders = sorted(p for p in (ROOT / "modules" / "source").iterdir() if p.is_dir() and re.match(r"\d\d_", p.name))
    return os.pathsep.join([str(ROOT), *map(str, folders)])


def test_manual_testing_example_runs_literally(tmp_path):
    code = python_block("### Manual Testing Examples")
    assert "from cnn_dev import Conv2D, MaxPool2D, Flatten" in code
    script = tmp_path / "manual_example.py"
    script.write_text(code, encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["PYTHONPATH"] = activate_pythonpath()
    result = subprocess.run([sys.executable, str(script)], cwd=tmp_path, env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    # the example's own two lines, last: importing cnn_dev also runs what a student's scratch cells print
    assert result.stdout.splitlines()[-2:] == ["Input: (1, 1, 5, 5), Features: (1, 4, 3, 3)", "Final shape: (1, 4)"]


@pytest.mark.skipif(not (ROOT / "bin" / "activate-tinytorch.sh").exists()
                    or not (ROOT / ".venv" / "bin" / "python").exists(),
                    reason="needs bin/activate-tinytorch.sh and the course's .venv it activates")
def test_manual_testing_example_after_sourcing_the_activate_script(tmp_path):
    script = tmp_path / "manual_example.py"
    script.write_text(python_block("### Manual Testing Examples"), encoding="utf-8")
    command = f'source "{ROOT}/bin/activate-tinytorch.sh" >/dev/null && python "{script}"'
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    result = subprocess.run(["bash", "-c", command], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-2:] == ["Input: (1, 1, 5, 5), Features: (1, 4, 3, 3)", "Final shape: (1, 4)"]
