"""The record of each module's last test run: ``<course root>/.tito/progress.json``.

Several ``tito test`` runs may finish at the same moment (two terminals, ``make -j``),
so every read-modify-write happens under an exclusive ``fcntl.flock`` on a separate
lock file, and the new content is written to a temporary file that is then renamed
over the old one: a reader sees either the old file or the new one, never half.

A file that is not valid JSON (or not the expected shape) is moved aside to
``progress.json.corrupt-<timestamp>`` with a warning, and the record starts fresh.

Shape::

    {"version": 1,
     "modules": {"cnn": {"passed": true, "when": "2026-11-25T07:50:01+00:00",
                         "inline": [5, 5], "pytest": [12, 12], "not_implemented": [],
                         "tests": "<sha256 of tests/06_cnn when they ran>",
                         "source": "<sha256 of cnn_dev.py when it was tested>"}}}

``tests`` and ``source`` let ``tito status`` tell a pass of tests changed since (an instructor's
fix pulled mid-term), or of a source edited since, from a current one.
"""

from __future__ import annotations

import json
import os
from datetime import datetime, timezone
from pathlib import Path

from tito.files import exclusive_lock, utc_stamp, write_atomically

VERSION = 1


def _empty() -> dict:
    return {"version": VERSION, "modules": {}}


def now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


class ProgressStore:
    """Read and update ``.tito/progress.json`` of one course root."""

    def __init__(self, root: Path, warn=None):
        self.folder = Path(root) / ".tito"
        self.path = self.folder / "progress.json"
        self.lock_path = self.folder / "progress.lock"
        self._warn = warn

    def _locked(self):
        return exclusive_lock(self.lock_path)

    def load(self) -> dict:
        """The whole record; a corrupt file is moved aside (with a warning) and an empty record returned."""
        if not self.path.exists():
            return _empty()
        try:
            with self._locked():
                return self._read_unlocked()
        except OSError:  # a read-only course: no lock to take, no bad file to move aside
            return self._read_as_is()

    def _read_as_is(self) -> dict:
        try:
            text = self.path.read_text(encoding="utf-8")
        except OSError:
            return _empty()
        return json.loads(text) if problem_with(text) is None else _empty()

    def _read_unlocked(self) -> dict:
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return _empty()
        problem = problem_with(text)
        if problem is None:
            return json.loads(text)
        kept = self._move_aside()
        self._say(
            f"{self.path} was not valid ({problem}); kept a copy as {kept.name} and started a fresh record."
        )
        return _empty()

    def _move_aside(self) -> Path:
        kept = self.path.with_name(f"{self.path.name}.corrupt-{utc_stamp()}")
        os.replace(self.path, kept)
        return kept

    def _say(self, message: str) -> None:
        if self._warn is not None:
            self._warn(message)
        else:
            from tito.console import warn

            warn(message)

    def record(self, module_name: str, entry: dict) -> dict:
        """Store ``entry`` (plus a 'when' stamp if it has none) as the module's last result."""
        entry = {"when": now_iso(), **entry}
        with self._locked():
            data = self._read_unlocked()
            data["modules"][module_name] = entry
            write_atomically(self.path, json.dumps(data, indent=2, sort_keys=True) + "\n")
        return entry

    def forget(self, module_name: str) -> None:
        """Drop the module's last result (its source was reset: that result was of other code)."""
        with self._locked():
            data = self._read_unlocked()
            if data["modules"].pop(module_name, None) is not None:
                write_atomically(self.path, json.dumps(data, indent=2, sort_keys=True) + "\n")

    def last(self, module_name: str) -> dict | None:
        """The module's last recorded result, or None if it was never tested."""
        return self.load()["modules"].get(module_name)


def problem_with(text: str) -> str | None:
    """Why ``text`` is not a valid progress record, or None when it is."""
    try:
        data = json.loads(text)
    except ValueError as exc:
        return f"not JSON: {exc}"
    if not isinstance(data, dict) or not isinstance(data.get("modules"), dict):
        return "expected an object with a 'modules' mapping"
    for name, entry in data["modules"].items():
        if not isinstance(entry, dict) or not isinstance(entry.get("passed"), bool):
            return f"module '{name}' has no boolean 'passed'"
    return None


def _edited_in_notebook(notebook: str) -> bool:
    """Whether a pair's state (``tito.notebooks.sync.state``) says the notebook holds code the .py does not."""
    from tito.notebooks.sync import BOTH_CHANGED, NOTEBOOK_AHEAD

    return notebook in (NOTEBOOK_AHEAD, BOTH_CHANGED)


def source_digest(module) -> str:
    """One sha256 of the module's source file ('' when it cannot be read)."""
    from tito.files import digest_of, file_digests

    try:
        return digest_of(file_digests([module.dev_file], module.root))
    except OSError:
        return ""


def tests_digest(module) -> str:
    """One sha256 of the module's test files (their paths and bytes; '' without any)."""
    from tito.files import digest_of, file_digests

    files = module.test_files()
    return digest_of(file_digests(files, module.tests_dir)) if files else ""


NEVER, FAILED, PASSED = "never", "failed", "passed"
TESTS_CHANGED, SOURCE_CHANGED = "passed, tests changed since", "passed, source changed since"


def result_at(result: str, when: str) -> str:
    """A ``last_result`` with the time of that run: 'passed at 2026-11-30T12:57:03', 'passed at
    2026-11-30T12:57:03, source changed since' (the time is the pass's, not the change's)."""
    head, comma, rest = result.partition(", ")
    return f"{head} at {when}{comma}{rest}"


def last_result(last: dict | None, module, notebook: str | None = None) -> str:
    """What a module's last recorded run (``ProgressStore.last``) says of it now: 'never',
    'failed', 'passed', 'passed -k EXPR' for a run limited to some pytest tests, 'passed, source
    changed since' when the module's source was edited after that pass, in the ``.py`` or in its
    notebook (a notebook ahead of the ``.py``, or both changed, holds other code than the pass's),
    or 'passed, tests changed since' when its tests were (a fix pulled mid-term). Only 'passed' is
    a pass of the module as it stands. ``notebook``: the pair's state
    (``tito.notebooks.sync.state``) where the caller has worked it out already."""
    if last is None:
        return NEVER
    if not last.get("passed"):
        return FAILED
    if last.get("source") and last["source"] != source_digest(module):
        return SOURCE_CHANGED
    if notebook is None:
        from tito.notebooks.sync import state

        notebook = state(module)
    if _edited_in_notebook(notebook):
        return SOURCE_CHANGED
    if last.get("tests") and last["tests"] != tests_digest(module):
        return TESTS_CHANGED
    return f"{PASSED} -k {last['keyword']}" if last.get("keyword") else PASSED
