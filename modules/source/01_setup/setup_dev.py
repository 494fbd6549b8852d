# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Module 01: Setup — the workflow you will use in every module
#
# Welcome to TinyTorch! Over this course you build a small deep-learning
# framework — tensors, layers, convolutions, autograd, training — one module at a
# time, and every piece you write becomes part of the importable `tinytorch`
# package. This first module is deliberately small: two functions. Its real
# subject is the **workflow** that every later module repeats.
#
# ## Learning objectives
#
# - Know where a module's source lives and where its code ends up.
# - Run the loop **edit → `tito test` → `tito export` → import** once, end to end.
# - Write your first functions with a solution block and an inline test.
# - Read your machine's resources — the budget every later module spends.

# %%
#| default_exp core.setup

# %%
#| export
import os
import platform
import re
import sys

import numpy as np

import tinytorch

# %% [markdown]
# ## 1. How a module becomes part of `tinytorch`
#
# ```
#  modules/source/01_setup/setup_dev.py          you edit this (a script that is
#  ┌──────────────────────────────────┐          also a notebook: `# %%` cells)
#  │ # %% [markdown]   explanations    │
#  │ # %%  #| export   code  ──────────┼──┐       only `#| export` cells travel
#  │ # %%  test_unit_* inline tests    │  │
#  └──────────────────────────────────┘  │
#        │ tito test --module setup       │ tito export --module setup
#        ▼                                ▼
#  🔬 / ✅ inline test output     tinytorch/core/setup.py   (generated: never edit)
#  pytest tests/01_setup/                 │
#                                         ▼
#                        from tinytorch.core.setup import personal_info
# ```
#
# 1. **Edit** the `*_dev.py` file: read the text, replace each solution block with
#    your own code. The functions tell you what to do in their docstrings:
#    `TODO` (the task), `APPROACH` (steps), `EXAMPLE`, `HINTS`.
# 2. **Test**: `tito test --module setup` runs this file's inline tests
#    (`test_unit_*`) and the module's pytest tests, and tells you which pass.
#    You can also run the file directly: `python modules/source/01_setup/setup_dev.py`.
# 3. **Export**: `tito export --module setup` copies the `#| export` cells into
#    `tinytorch/core/setup.py`. That file is *generated*: edit the source, export again.
# 4. **Import**: later modules and your own scripts use the package:
#    `from tinytorch.core.setup import system_info`.
#
# Why export to a package instead of importing the notebook? Because a framework
# is code that *other code* imports: module 06's convolution imports module 02's
# `Tensor`, and a package is the form in which that works — the same way you
# `import torch`.

# %% [markdown]
# ## 2. Your first function: who built this copy of TinyTorch?
#
# `personal_info()` returns a dictionary describing you. It is the simplest
# possible function, which makes it a good place to see the solution-block format:
# in the student edition the lines between `### BEGIN SOLUTION` and
# `### END SOLUTION` are replaced by `raise NotImplementedError(...)`, and
# `tito test` reports the function as "Not implemented yet" until you write it.

# %%
#| export
PERSONAL_INFO_KEYS = ("developer", "email", "institution", "system_name", "version")

# name@domain.tld: no spaces, one @, and a domain of dot-separated non-empty parts (graded by the
# same pattern, with fullmatch: the whole string must be the address)
EMAIL_PATTERN = re.compile(r"[^@\s]+@[^@\s.]+(\.[^@\s.]+)+")


def personal_info():
    """Describe the person building this copy of TinyTorch.

    Returns:
        dict with exactly the keys of PERSONAL_INFO_KEYS, every value a non-empty string:
        "developer" (your name), "email" (a valid address), "institution",
        "system_name" (a name for your TinyTorch, e.g. "Ada's TinyTorch") and
        "version" (tinytorch.__version__).

    TODO: Return a dictionary with your own details.

    APPROACH:
    1. Build a dict literal with the five keys.
    2. Use your own name, e-mail and institution.
    3. Read `tinytorch.__version__` for "version" when the function runs; don't type the
       version in (the tests change `tinytorch.__version__` and expect yours to follow).

    EXAMPLE:
    >>> sorted(personal_info())
    ['developer', 'email', 'institution', 'system_name', 'version']

    HINTS:
    - The e-mail must look like name@domain.tld, the whole string (the test checks it with
      EMAIL_PATTERN.fullmatch, and so does grading).
    - No empty strings: the test checks every value.
    """
    ### BEGIN SOLUTION
    return {
        "developer": "TinyTorch Instructor",
        "email": "instructor@tinytorch.dev",
        "institution": "TinyTorch Course",
        "system_name": "TinyTorch Reference",
        "version": tinytorch.__version__,
    }
    ### END SOLUTION

# %%
from tinytorch.utils.feedback import info, passed, progress, unit_test


def test_unit_personal_info():
    unit_test("personal_info")
    details = personal_info()
    assert isinstance(details, dict), f"personal_info() must return a dict, got {type(details).__name__}"
    assert set(details) == set(PERSONAL_INFO_KEYS), f"expected keys {PERSONAL_INFO_KEYS}, got {tuple(details)}"
    passed("All five keys are present")
    for key, value in details.items():
        assert isinstance(value, str) and value.strip(), f"{key!r} must be a non-empty string, got {value!r}"
    assert EMAIL_PATTERN.fullmatch(details["email"]), f"{details['email']!r} is not a valid e-mail address"
    assert details["version"] == tinytorch.__version__
    passed(f"Hello, {details['developer']} — welcome to {details['system_name']}")
    progress("personal_info")


if __name__ == "__main__":
    test_unit_personal_info()

# %% [markdown]
# ## 3. Knowing your machine: the budget you will spend
#
# Every later module spends two resources: **memory** (tensors must fit in RAM)
# and **compute** (cores × time). A quick sense of scale:
#
# ```
# one float32 number                         4 bytes
# a 28×28 grey image                     3,136 bytes  (784 numbers)
# a batch of 64 RGB 32×32 images          0.79 MB      (64·3·32·32 numbers)
# Dense(784, 128) weights                 0.40 MB      (100,352 numbers)
# 8 GB of RAM                       ~2 billion float32 numbers
# ```
#
# and for compute: one core of a laptop does on the order of 1–10 billion
# floating-point operations per second (GFLOP/s) through NumPy, so a matrix
# product of two 1000×1000 matrices (2 billion FLOPs) takes roughly a second or
# less. `system_info()` collects the facts these estimates start from.
#
# ```
#            ┌──────────── your machine ────────────┐
#  Python ── │ cores: cpu_count     RAM: memory_gb   │ ── NumPy (BLAS does the FLOPs)
#            └───────────────────────────────────────┘
# ```

# %%
#| export
def _total_memory_gb():
    """Physical memory in GB, or None where the OS does not tell (e.g. Windows without sysconf)."""
    try:
        return round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 1024**3, 2)
    except (AttributeError, ValueError, OSError):
        return None


def system_info():
    """Describe the machine and Python that run TinyTorch.

    Returns:
        dict with
        "python_version": "3.11.4" style string (from sys.version_info),
        "platform": the OS name from platform.system(), e.g. "Linux",
        "architecture": the CPU architecture from platform.machine(), e.g. "x86_64",
        "cpu_count": number of logical CPUs (int, from os.cpu_count(); 1 if unknown),
        "memory_gb": physical memory in GB (float) or None if unknown,
        "numpy_version": np.__version__.

    TODO: Collect the facts from the standard library and NumPy.

    APPROACH:
    1. Format `sys.version_info` as "major.minor.micro".
    2. Use `platform.system()` and `platform.machine()`.
    3. Use `os.cpu_count()`, which may return None — report 1 then.
    4. Use the given `_total_memory_gb()` for memory.
    5. Read every value from its source each time the function runs; never type one in
       (not even your own machine's): the tests make these sources report other values
       and expect your dict to follow them.

    EXAMPLE:
    >>> system_info()["cpu_count"] >= 1
    True

    HINTS:
    - `"{}.{}.{}".format(*sys.version_info[:3])` formats the version.
    """
    ### BEGIN SOLUTION
    return {
        "python_version": "{}.{}.{}".format(*sys.version_info[:3]),
        "platform": platform.system(),
        "architecture": platform.machine(),
        "cpu_count": os.cpu_count() or 1,
        "memory_gb": _total_memory_gb(),
        "numpy_version": np.__version__,
    }
    ### END SOLUTION

# %%
def test_unit_system_info():
    unit_test("system_info")
    facts = system_info()
    expected_keys = {"python_version", "platform", "architecture", "cpu_count", "memory_gb", "numpy_version"}
    assert set(facts) == expected_keys, f"expected keys {sorted(expected_keys)}, got {sorted(facts)}"
    assert facts["python_version"] == "{}.{}.{}".format(*sys.version_info[:3])
    assert isinstance(facts["cpu_count"], int) and facts["cpu_count"] >= 1
    assert facts["memory_gb"] is None or facts["memory_gb"] > 0
    passed(f"Python {facts['python_version']} on {facts['platform']} {facts['architecture']}, "
           f"{facts['cpu_count']} CPUs, {facts['memory_gb']} GB")
    progress("system_info")


if __name__ == "__main__":
    test_unit_system_info()

# %% [markdown]
# ## 4. Systems view: what fits on this machine?
#
# Run the cell: it turns the memory number into the scale of data you can hold.

# %%
def analyze_budget():
    facts = system_info()
    if facts["memory_gb"] is None:
        info("Your OS does not report its memory; skipping the estimate.")
        return
    numbers = facts["memory_gb"] * 1024**3 / 4
    batch = 64 * 3 * 32 * 32
    info(f"{facts['memory_gb']} GB holds about {numbers / 1e9:.1f} billion float32 numbers")
    info(f"that is ~{numbers / batch:,.0f} batches of 64 RGB 32×32 images — in practice far "
         "fewer, since activations, gradients and the OS share it")


if __name__ == "__main__":
    analyze_budget()

# %% [markdown]
# ## Summary and next step
#
# You used the full loop once:
#
# ```bash
# tito test --module setup       # inline tests + tests/01_setup
# tito export --module setup     # writes tinytorch/core/setup.py
# python -c "from tinytorch.core.setup import personal_info; print(personal_info())"
# ```
#
# Public API: `personal_info() -> dict`, `system_info() -> dict`.
# Next, module 02 builds `Tensor`, the data structure everything else stands on.
