"""Each module README's code runs as written: every ```python block of modules/source/NN_name/README.md.

A block runs in a fresh namespace, with the course root and every module folder importable, as
after `source bin/activate-tinytorch.sh` (so `from layers_dev import ...` would work). The cnn
README's blocks are tests/06_cnn/test_cnn_readme.py's: it fills the course page's
`Tensor([[[[...]]]])` placeholders and checks what the blocks print. Ids name the module:
``python -m pytest tests/ -k layers`` runs the layers README's blocks with the module's tests.
"""

import re

import numpy as np
import pytest

from course_root import ROOT

SOURCES = ROOT / "modules" / "source"
PYTHON_BLOCK = re.compile(r"^```python\n(.*?)^```", re.DOTALL | re.MULTILINE)
CNN_README = SOURCES / "06_cnn" / "README.md"


def module_readmes() -> list:
    """Every module's README.md but the cnn one's."""
    return sorted(set(SOURCES.glob("[0-9][0-9]_*/README.md")) - {CNN_README})


def readme_blocks() -> list:
    """A pytest param (readme, code), id 'name-number', of every python block of those READMEs."""
    blocks = []
    for readme in module_readmes():
        name = readme.parent.name.split("_", 1)[1]
        for number, code in enumerate(PYTHON_BLOCK.findall(readme.read_text(encoding="utf-8")), 1):
            blocks.append(pytest.param(readme, code, id=f"{name}-{number}"))
    return blocks


def test_every_module_readme_shows_code():
    assert {param.values[0] for param in readme_blocks()} == set(module_readmes())


@pytest.mark.parametrize(("readme", "code"), readme_blocks())
def test_readme_block_runs_as_written(readme, code, monkeypatch):
    for folder in sorted(SOURCES.glob("[0-9][0-9]_*")):
        monkeypatch.syspath_prepend(str(folder))
    np.random.seed(0)
    exec(compile(code, str(readme), "exec"), {"__name__": "__readme__"})
