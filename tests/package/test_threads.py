"""tinytorch.utils.threads (hand-written, not a module students write): the one place that
decides how many threads a matrix product uses (module 06, "Threads: when a second core pays")."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest
from threadpoolctl import threadpool_info

from tinytorch.utils import threads

from course_root import ROOT


@pytest.fixture
def policy(monkeypatch):
    """The automatic policy with a BLAS ceiling of 4 threads and a controllable load."""
    monkeypatch.setattr(threads, "_fixed_threads", None)
    monkeypatch.setattr(threads, "_blas", {"libraries": [], "ceiling": 4})
    free = {"cores": 4}
    monkeypatch.setattr(threads, "free_cores", lambda: free["cores"])
    return free


def test_small_and_skinny_products_take_one_thread(policy):
    assert threads.threads_for(32, 128, 64) == 1                 # 262,144 MACs
    assert threads.threads_for(10, 2048, 4096) == 1              # skinny: 10 rows
    assert threads.threads_for(4096, 2048, 8) == 1               # skinny: 8 columns
    assert threads.threads_for(512, 512, 512) == 4


def test_a_busy_machine_gets_only_its_free_cores(policy):
    policy["cores"] = 1
    assert threads.threads_for(512, 512, 512) == 1
    policy["cores"] = 0                                          # never fewer than one
    assert threads.threads_for(512, 512, 512) == 1
    policy["cores"] = 8                                          # never more than BLAS started with
    assert threads.threads_for(512, 512, 512) == 4


def test_set_num_threads_overrides_the_policy(policy):
    threads.set_num_threads(3)
    assert threads.get_num_threads() == 3 and threads.threads_for(2, 2, 2) == 3
    threads.set_num_threads("auto")
    assert threads.get_num_threads() is None and threads.threads_for(2, 2, 2) == 1
    with pytest.raises(ValueError, match="positive number of threads or 'auto', got 0"):
        threads.set_num_threads(0)


ENVIRONMENT_VALUES = [("2", "2"), ("auto", "None"), ("", "None"), (" 1 ", "1")]
READ_ON_IMPORT = """\
import importlib, json, os, sys
seen = {}
for value in json.loads(sys.argv[1]):
    os.environ["TINYTORCH_NUM_THREADS"] = value
    sys.modules.pop("tinytorch.utils.threads", None)
    seen[value] = str(importlib.import_module("tinytorch.utils.threads").get_num_threads())
print(json.dumps(seen))
"""


@pytest.fixture(scope="module")
def read_on_import():
    """{TINYTORCH_NUM_THREADS value: get_num_threads() after a fresh import}, in one new process."""
    values = json.dumps([value for value, _ in ENVIRONMENT_VALUES])
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-c", READ_ON_IMPORT, values], env=env, capture_output=True, text=True,
                          cwd=ROOT)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


@pytest.mark.parametrize("value, expected", ENVIRONMENT_VALUES)
def test_the_environment_variable_is_read_on_import(read_on_import, value, expected):
    assert read_on_import[value] == expected


def test_a_bad_environment_variable_names_itself():
    with pytest.raises(ValueError,
                       match=r"TINYTORCH_NUM_THREADS must be a positive number of threads or 'auto', got 'two'"):
        threads._parse("two", "TINYTORCH_NUM_THREADS")


def _blas_threads_now():
    try:
        return [lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas"]
    except UnicodeError:  # an ASCII locale and NumPy under a non-ASCII path: nothing to control
        pytest.skip("threadpoolctl cannot read the BLAS library's path in this locale (LC_ALL=C.UTF-8 fixes it)")


def test_blas_threads_sets_and_restores_the_library(monkeypatch):
    before = _blas_threads_now()
    monkeypatch.setattr(threads, "_fixed_threads", 1)
    with threads.blas_threads(512, 512, 512) as count:
        assert count == 1 and _blas_threads_now() == [1] * len(before)
    assert _blas_threads_now() == before


@pytest.mark.parametrize("a_shape, b_shape", [((3, 4), (4, 5)), ((4,), (4, 2)), ((3, 4), (4,)), ((2, 3, 4), (4, 5))])
def test_matmul_is_numpys_matmul(a_shape, b_shape):
    rng = np.random.default_rng(0)
    for dtype in (np.float32, np.float64):
        a, b = rng.standard_normal(a_shape).astype(dtype), rng.standard_normal(b_shape).astype(dtype)
        result = threads.matmul(a, b)
        assert result.dtype == dtype
        np.testing.assert_array_equal(result, a @ b)


def test_free_cores_counts_what_other_processes_used(monkeypatch):
    """Two CPUs; between two readings 0.5 s apart all CPUs were busy for 0.6 s, 0.1 s of it ours."""
    readings = iter([(100.0, 10.0, 7.0), (100.5, 10.6, 7.1), (101.0, 11.1, 7.1), (101.5, 11.2, 7.1)])
    clock = {}

    def tick():
        clock["now"], clock["busy"], clock["own"] = next(readings)

    monkeypatch.setattr(threads, "_load", {"stamp": None, "busy": None, "own": None, "free": None})
    monkeypatch.setattr(threads.time, "monotonic", lambda: clock["now"])
    monkeypatch.setattr(threads.time, "process_time", lambda: clock["own"])
    monkeypatch.setattr(threads, "_busy_seconds", lambda: clock["busy"])
    monkeypatch.setattr(threads.os, "cpu_count", lambda: 2)
    tick()
    assert threads.free_cores() == 1                             # first reading: no window yet
    tick()
    assert threads.free_cores() == 1                             # others: 0.5 s in 0.5 s = one core
    tick()
    assert threads.free_cores() == 1                             # others: a whole core again
    tick()
    assert threads.free_cores() == 2                             # others: 0.1 s in 0.5 s, 20 %


def test_without_proc_stat_products_run_on_one_thread(monkeypatch):
    monkeypatch.setattr(threads, "_load", {"stamp": None, "busy": None, "own": None, "free": None})
    monkeypatch.setattr(threads, "_busy_seconds", lambda: None)
    monkeypatch.setattr(threads, "LOAD_INTERVAL", 0.0)
    assert [threads.free_cores() for _ in range(3)] == [1, 1, 1]


def test_a_container_quota_caps_the_cores(monkeypatch):
    monkeypatch.setattr(threads, "_cgroup_quota", lambda: 1.5)
    assert threads.usable_cores() == min(2, len(os.sched_getaffinity(0)))
    monkeypatch.setattr(threads, "_cgroup_quota", lambda: None)
    assert threads.usable_cores() == len(os.sched_getaffinity(0))


def test_products_stay_right_when_threadpoolctl_cannot_read_the_library_paths(monkeypatch):
    """An ASCII locale and a course under a non-ASCII path: threadpoolctl fails with
    UnicodeEncodeError; products run without thread control, and say so once."""
    import threadpoolctl

    def unreadable(*args, **kwargs):
        raise UnicodeEncodeError("ascii", "/tmp/\xc9t\xe9", 5, 6, "ordinal not in range(128)")

    monkeypatch.setattr(threadpoolctl, "ThreadpoolController", unreadable)
    monkeypatch.setattr(threads, "_fixed_threads", None)
    monkeypatch.setattr(threads, "_blas", {"libraries": None, "ceiling": 1})
    a, b = np.random.default_rng(0).random((256, 128)), np.random.default_rng(1).random((128, 256))
    with pytest.warns(RuntimeWarning, match="cannot set the BLAS thread count .*LC_ALL=C.UTF-8"):
        with threads.blas_threads(256, 128, 256):
            product = a @ b
    np.testing.assert_array_equal(product, np.matmul(a, b))
    assert threads._blas["libraries"] == []
