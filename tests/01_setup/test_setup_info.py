"""Module 01: personal_info() and system_info() return complete, correct dictionaries, read from
the sources their docstrings name (the tests make those report made-up values: typed-in values fail)."""

import os
import platform
import sys
from collections import namedtuple

import numpy as np
import pytest

import tinytorch
from tinytorch.core import setup
from tinytorch.core.setup import EMAIL_PATTERN, PERSONAL_INFO_KEYS, personal_info, system_info


def test_personal_info_has_exactly_the_documented_keys():
    details = personal_info()
    assert isinstance(details, dict) and sorted(details) == sorted(PERSONAL_INFO_KEYS)  # any order
    assert PERSONAL_INFO_KEYS == ("developer", "email", "institution", "system_name", "version")


def test_personal_info_values_are_non_empty_strings():
    for key, value in personal_info().items():
        assert isinstance(value, str) and value.strip(), f"{key} is {value!r}"


def test_personal_info_email_is_valid_and_version_is_the_package_version():
    details = personal_info()
    assert EMAIL_PATTERN.fullmatch(details["email"]), f"{details['email']!r} is not a valid e-mail address"
    assert details["version"] == tinytorch.__version__


def test_personal_info_reads_the_package_version(monkeypatch):
    monkeypatch.setattr(tinytorch, "__version__", "21.4.7")
    version = personal_info()["version"]
    assert version == "21.4.7", f"read tinytorch.__version__ (here made to say '21.4.7'), got {version!r}"


@pytest.mark.parametrize("email", ["ada@example.org", "a.b+c@uni.edu.au"])
def test_email_pattern_accepts_addresses(email):
    assert EMAIL_PATTERN.fullmatch(email)


@pytest.mark.parametrize("email", ["", "ada", "ada@", "@example.org", "ada@example", "a da@x.org", "a@b@c.org",
                                   "jane@uni.edu.", "a@b..c", "a@.b.c", "ada@example.org\n"])
def test_email_pattern_rejects_non_addresses(email):
    assert not EMAIL_PATTERN.fullmatch(email)


def test_personal_info_returns_a_fresh_dict():
    first = personal_info()
    first["developer"] = "changed"
    assert personal_info()["developer"] != "changed"


def test_system_info_keys():
    assert set(system_info()) == {
        "python_version", "platform", "architecture", "cpu_count", "memory_gb", "numpy_version",
    }


def test_system_info_matches_the_standard_library():
    facts = system_info()
    assert facts["python_version"] == "%d.%d.%d" % sys.version_info[:3]
    assert facts["platform"] == platform.system()
    assert facts["architecture"] == platform.machine()
    assert facts["cpu_count"] == (os.cpu_count() or 1)
    assert facts["numpy_version"] == np.__version__


def test_system_info_memory_is_positive_or_unknown():
    memory = system_info()["memory_gb"]
    assert memory is None or (isinstance(memory, float) and memory > 0)


def test_cpu_count_falls_back_to_one(monkeypatch):
    monkeypatch.setattr(setup.os, "cpu_count", lambda: None)
    assert system_info()["cpu_count"] == 1


def test_memory_unknown_when_sysconf_is_missing(monkeypatch):
    def missing(name):
        raise ValueError(f"unrecognized configuration name: {name}")

    monkeypatch.setattr(setup.os, "sysconf", missing)
    assert system_info()["memory_gb"] is None


def test_memory_is_page_size_times_pages(monkeypatch):
    sizes = {"SC_PAGE_SIZE": 4096, "SC_PHYS_PAGES": 2 * 1024**3 // 4096}
    monkeypatch.setattr(setup.os, "sysconf", sizes.__getitem__)
    assert system_info()["memory_gb"] == 2.0


def _reports(monkeypatch, owner, name, value):
    """Make ``owner.name`` report ``value``, also where setup bound it (``from platform import system``)."""
    original = getattr(owner, name)
    monkeypatch.setattr(owner, name, value)
    for bound, held in list(vars(setup).items()):
        if held is original and not isinstance(original, str):
            monkeypatch.setattr(setup, bound, value)


def test_system_info_reads_its_sources_each_time(monkeypatch):
    """APPROACH step 5: every value read from its source when system_info() runs, never typed in."""
    version = namedtuple("version_info", "major minor micro releaselevel serial")(23, 1, 4, "final", 0)
    for owner, name, value in [
            (sys, "version_info", version), (sys, "version", "23.1.4 (made up)"),
            (platform, "python_version", lambda: "23.1.4"),
            (platform, "python_version_tuple", lambda: ("23", "1", "4")),
            (platform, "system", lambda: "Multics"), (platform, "machine", lambda: "pdp11"),
            (platform, "uname", lambda: platform.uname_result("Multics", "node", "1", "#1", "pdp11")),
            (os, "cpu_count", lambda: 4099), (setup, "_total_memory_gb", lambda: 12.5),
            (np, "__version__", "31.0.2"), (np.version, "version", "31.0.2")]:
        _reports(monkeypatch, owner, name, value)
    reported = {"python_version": "23.1.4", "platform": "Multics", "architecture": "pdp11", "cpu_count": 4099,
                "memory_gb": 12.5, "numpy_version": "31.0.2"}
    facts = system_info()
    typed_in = [f"{key}: got {facts.get(key)!r}, its source said {value!r}"
                for key, value in reported.items() if facts.get(key) != value]
    assert not typed_in, "read each value from its source, don't type it in: " + "; ".join(typed_in)
