"""Graded checks of module 01 (setup): what `tito grade` gives points for.

Each check calls the student's exported `tinytorch.core.setup` (the `setup` argument) and returns
plain data; the grader compares it, outside the sandbox, with the same check run on the reference
solution. Neither function takes an input, so the checks make the sources the docstrings name
(`tinytorch.__version__`, `sys.version_info`, `platform.system()`, `os.cpu_count()`, ...) report
values drawn from `rng` while they call the student's function, and return its raw result: the
answer changes with the secret seed, and only code that reads those sources gives it. A student's
own details are judged outside by `match:` in module.yaml (a non-empty string, an e-mail address).
Points: `checks:` in modules/source/01_setup/module.yaml. Format: modules/README.md, "Graded checks".
"""

import os
import platform
import sys
from collections import namedtuple
from contextlib import contextmanager

import numpy as np

import tinytorch

PERSONAL_INFO_KEYS = ("developer", "email", "institution", "system_name", "version")
SYSTEM_INFO_KEYS = ("python_version", "platform", "architecture", "cpu_count", "memory_gb", "numpy_version")
VersionInfo = namedtuple("VersionInfo", "major minor micro releaselevel serial")


@contextmanager
def _replaced(*replacements, student=None):
    """Set each (object, attribute, value) for the duration of the block, then restore them. In the
    ``student`` module, a name bound to a replaced function or object (``from platform import
    system``, ``from sys import version_info``) is replaced too: how it was imported is not graded.
    Text is left alone (a version typed in may be the very same string object)."""
    if student is not None:
        replacements += tuple(_bound_in(student, replacements))
    saved = [(owner, name, getattr(owner, name)) for owner, name, _ in replacements]
    try:
        for owner, name, value in replacements:
            setattr(owner, name, value)
        yield
    finally:
        for owner, name, value in reversed(saved):
            setattr(owner, name, value)


def _bound_in(student, replacements):
    """(student, name, value) for each global of ``student`` holding what a replacement replaces."""
    for owner, attribute, value in replacements:
        original = getattr(owner, attribute)
        if owner is student or isinstance(original, str):
            continue
        for name, held in list(vars(student).items()):
            if held is original:
                yield student, name, value


def _version(rng):
    return tuple(int(v) for v in rng.integers(0, 40, 3))


def check_personal_info_keys(setup, rng):
    """A dict with exactly the five documented keys."""
    details = setup.personal_info()
    return {"type": type(details).__name__, "keys": sorted(details)}


def check_personal_info_values(setup, rng):
    """Every value a non-empty string (module.yaml's match:), a valid e-mail address, "version"
    tinytorch.__version__ (here a seeded one)."""
    version = "{}.{}.{}".format(*_version(rng))
    with _replaced((tinytorch, "__version__", version)):
        details = setup.personal_info()
    return {key: details.get(key) for key in PERSONAL_INFO_KEYS}


def check_system_info_keys(setup, rng):
    """A dict with exactly the six documented keys."""
    facts = setup.system_info()
    return {"type": type(facts).__name__, "keys": sorted(facts)}


def _seeded_machine(setup, rng):
    """Replacements making each source system_info()'s docstring names report a seeded fact."""
    major, minor, micro = _version(rng)
    system = str(rng.choice(["Linux", "Darwin", "Windows", "FreeBSD"]))
    machine = str(rng.choice(["x86_64", "arm64", "aarch64", "riscv64", "AMD64"]))
    cpus, memory = int(rng.integers(2, 257)), round(float(rng.uniform(0.5, 512.0)), 2)
    numpy_version = "{}.{}.{}".format(*_version(rng))
    return [(sys, "version_info", VersionInfo(major, minor, micro, "final", 0)),
            (platform, "python_version", lambda: f"{major}.{minor}.{micro}"),
            (platform, "system", lambda: system), (platform, "machine", lambda: machine),
            (os, "cpu_count", lambda: cpus), (setup, "_total_memory_gb", lambda: memory),
            (np, "__version__", numpy_version)]


def check_system_info_values(setup, rng):
    """Each fact from where the docstring says (each source reports a seeded value here)."""
    with _replaced(*_seeded_machine(setup, rng), student=setup):
        facts = setup.system_info()
    return {key: facts.get(key) for key in SYSTEM_INFO_KEYS}


### BEGIN HIDDEN TESTS
def check_system_info_unknown_cpu_count(setup, rng):
    """The APPROACH: os.cpu_count() may return None — report 1 then (and the count when known)."""
    counts = []
    for reported in (int(rng.integers(2, 257)), None):
        with _replaced((os, "cpu_count", lambda: reported), student=setup):
            counts.append(setup.system_info()["cpu_count"])
    return {"types": [type(count).__name__ for count in counts], "cpu_count": counts}
### END HIDDEN TESTS
