"""Graded checks of module 01 (setup): what `tito grade` gives points for.

Each check calls the student's exported `tinytorch.core.setup` (the `setup` argument) and returns
plain data; the grader compares it, outside the sandbox, with the same check run on the reference
solution. Neither function takes an input, so the checks return what the docstrings promise about
the values (the keys, the types, agreement with the standard library of the process that runs
them), never the values themselves: a student's name and this machine's facts are not answers.
Points: `checks:` in modules/source/01_setup/module.yaml. Format: modules/README.md, "Graded checks".
"""

import os
import platform
import re
import sys

import numpy as np

import tinytorch

ADDRESS = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")  # name@domain.tld, as the HINTS say


def check_personal_info_keys(setup, rng):
    """A dict with exactly the five documented keys."""
    details = setup.personal_info()
    return {"type": type(details).__name__, "keys": sorted(details)}


def check_personal_info_values(setup, rng):
    """Every value a non-empty string, a valid e-mail address, "version" the package's."""
    details = setup.personal_info()
    return {"non_empty_strings": all(isinstance(v, str) and bool(v.strip()) for v in details.values()),
            "email_is_an_address": bool(ADDRESS.match(str(details.get("email", "")))),
            "version_is_the_package_version": details.get("version") == tinytorch.__version__}


def check_system_info_keys(setup, rng):
    """A dict with exactly the six documented keys."""
    facts = setup.system_info()
    return {"type": type(facts).__name__, "keys": sorted(facts)}


def check_system_info_values(setup, rng):
    """Each fact from where the docstring says, in the type it says."""
    facts = setup.system_info()
    memory = facts.get("memory_gb")
    return {"python_version": facts.get("python_version") == "{}.{}.{}".format(*sys.version_info[:3]),
            "platform": facts.get("platform") == platform.system(),
            "architecture": facts.get("architecture") == platform.machine(),
            "cpu_count": type(facts.get("cpu_count")) is int and facts["cpu_count"] == (os.cpu_count() or 1),
            "memory_gb": memory == setup._total_memory_gb() and (memory is None or isinstance(memory, float)),
            "numpy_version": facts.get("numpy_version") == np.__version__}


### BEGIN HIDDEN TESTS
def check_system_info_unknown_cpu_count(setup, rng):
    """The APPROACH: os.cpu_count() may return None — report 1 then."""
    original = os.cpu_count
    os.cpu_count = lambda: None
    try:
        count = setup.system_info()["cpu_count"]
    finally:
        os.cpu_count = original
    return {"type": type(count).__name__, "cpu_count": count}
### END HIDDEN TESTS
