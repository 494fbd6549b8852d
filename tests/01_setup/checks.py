"""Graded checks of module 01 (setup): what `tito grade` gives points for.

Each check calls the student's exported `tinytorch.core.setup` (the `setup` argument) and returns
plain data; the grader compares it, outside the sandbox, with the same check run on the reference
solution. Neither function takes an input, so the checks make the sources the docstrings name
(`tinytorch.__version__`, `sys.version_info`, `platform.system()`, `os.cpu_count()`, ...) report
values drawn from `rng` while they call the student's function, and return its raw result: the
answer changes with the secret seed, and only code that reads those sources gives it. The common
equivalents (`sys.version`, `platform.uname()`, `platform.python_version_tuple()`,
`np.version.version`) report the same, and every drawn value is one no real machine reports (a
Python 20.x, an OS and CPU of the past, thousands of CPUs), so reading an equivalent always passes
and typing in a real value always fails, whatever the seed; the draw never looks at the machine (a
Gradescope zip computes the reference's answers on the instructor's). module.yaml's `hint:` tells a
student who typed a value in why the expected one looks made up. A student's
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
_ABSENT = object()
VersionInfo = namedtuple("VersionInfo", "major minor micro releaselevel serial")


@contextmanager
def _replaced(*replacements, student=None):
    """Set each (object, attribute, value) for the duration of the block, then restore them. In the
    ``student`` module, a name bound to a replaced function or object (``from platform import
    system``, ``from sys import version_info``) is replaced too: how it was imported is not graded.
    Text is left alone (a version typed in may be the very same string object)."""
    if student is not None:
        replacements += tuple(_bound_in(student, replacements))
    saved = [(owner, name, getattr(owner, name, _ABSENT)) for owner, name, _ in replacements]
    try:
        for owner, name, value in replacements:
            setattr(owner, name, value)
        yield
    finally:
        for owner, name, value in reversed(saved):
            if value is _ABSENT:  # os.sysconf on Windows
                delattr(owner, name)
            else:
                setattr(owner, name, value)


def _bound_in(student, replacements):
    """(student, name, value) for each global of ``student`` holding what a replacement replaces."""
    for owner, attribute, value in replacements:
        original = getattr(owner, attribute, None)
        if owner is student or original is None or isinstance(original, str):
            continue
        for name, held in list(vars(student).items()):
            if held is original:
                yield student, name, value


# Systems and CPUs no grader runs on: a seeded platform never equals the real one.
PAST_SYSTEMS = ("Multics", "Plan9", "BeOS", "AmigaOS", "OS/2", "VMS", "TOPS-20", "CP/M")
PAST_MACHINES = ("pdp11", "vax", "m68k", "z80", "i8080", "6502", "ibm360", "cdc6600")


def _version(rng):
    """major.minor.micro with a major of 20 or more: no Python or NumPy has one."""
    return int(rng.integers(20, 100)), int(rng.integers(0, 40)), int(rng.integers(0, 40))


def _cpu_count(rng):
    """More logical CPUs than any grading machine has."""
    return int(rng.integers(1000, 100000))


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
    return {key: details[key] for key in PERSONAL_INFO_KEYS if key in details}


def check_system_info_keys(setup, rng):
    """A dict with exactly the six documented keys."""
    facts = setup.system_info()
    return {"type": type(facts).__name__, "keys": sorted(facts)}


def _seeded_machine(setup, rng):
    """Replacements making each source system_info()'s docstring names report a seeded fact."""
    major, minor, micro = _version(rng)
    python = f"{major}.{minor}.{micro}"
    system, machine = str(rng.choice(PAST_SYSTEMS)), str(rng.choice(PAST_MACHINES))
    cpus, pages = _cpu_count(rng), int(rng.integers(2**17, 2**27))  # 0.5 GB to 512 GB of 4 KiB pages
    memory = round(pages * 4096 / 1024**3, 2)
    numpy_version = "{}.{}.{}".format(*_version(rng))
    uname = platform.uname_result(system, "grader", "1.0", "#1", machine)
    uname.__dict__["processor"] = machine  # else reading it runs `uname -p` (a cached property)
    return [(sys, "version_info", VersionInfo(major, minor, micro, "final", 0)),
            (sys, "version", f"{python} (main, Jan  1 2099, 00:00:00) [seeded by the check]"),
            (platform, "python_version", lambda: python),
            (platform, "python_version_tuple", lambda: (str(major), str(minor), str(micro))),
            (platform, "system", lambda: system), (platform, "machine", lambda: machine),
            (platform, "uname", lambda: uname),
            (os, "cpu_count", lambda: cpus), (os, "sysconf", _sysconf(pages)),
            (setup, "_total_memory_gb", lambda: memory),
            (np, "__version__", numpy_version), (np.version, "version", numpy_version)]


def _sysconf(pages):
    """os.sysconf reporting ``pages`` pages of 4 KiB (what the given _total_memory_gb() reads)."""
    real = getattr(os, "sysconf", None)
    seeded = {"SC_PAGE_SIZE": 4096, "SC_PAGESIZE": 4096, "SC_PHYS_PAGES": pages}

    def sysconf(name):
        if name in seeded or real is None:
            return seeded[name]
        return real(name)
    return sysconf


def check_system_info_values(setup, rng):
    """Each fact from where the docstring says (each source reports a seeded value here)."""
    with _replaced(*_seeded_machine(setup, rng), student=setup):
        facts = setup.system_info()
    return {key: facts.get(key) for key in SYSTEM_INFO_KEYS}


### BEGIN HIDDEN TESTS
def check_system_info_unknown_cpu_count(setup, rng):
    """The APPROACH: os.cpu_count() may return None — report 1 then (and the count when known)."""
    counts = []
    for reported in (_cpu_count(rng), None):
        with _replaced((os, "cpu_count", lambda: reported), student=setup):
            counts.append(setup.system_info()["cpu_count"])
    return {"types": [type(count).__name__ for count in counts], "cpu_count": counts}
### END HIDDEN TESTS
