"""Which of a module's two files did the student edit last: ``name_dev.py`` or ``name_dev.ipynb``?

A student edits a module as text (``name_dev.py``) or as a notebook (``name_dev.ipynb``, e.g. in
``tito lab``). tito tests, exports and grades the ``.py``, so the notebook's edits must reach it
first. This file is the one rule every command uses:

* Each time tito brings the two files in step it records the sha256 of both in
  ``.tito/notebooks.json``; before the first time, the pair a release wrote
  (``.tito/release/manifest.json``) is the record.
* Against that record a module's notebook is **in step** (neither changed, or both hold the same
  code), **ahead** of the ``.py`` (only the notebook changed), **behind** it (only the ``.py``
  changed) or **both changed**. Without any record, the newer of two differing files is ahead.
  These words are this file's: ``tito status`` shows them, in its table and its JSON.
* ``source_up_to_date`` (``tito test`` and ``tito export``, through ``take_notebook_edits``)
  writes an ahead notebook's code into the ``.py``, after copying the ``.py`` to
  ``.tito/backups/``; ``notebook_up_to_date`` (``tito lab``) does the converse. Both change
  nothing and raise ``TitoError`` when both files changed: only the student can say which to
  keep, and ``tito notebooks`` (keep the ``.py``) or
  ``tito notebooks --sync`` (keep the notebook) does it, backing up the other.
* A file an editor (or Jupyter's autosave) saves while tito writes over it makes both changed
  too: every such write (``_replace``: the syncs, ``tito notebooks`` both ways, ``tito lab``'s
  notebook) checks the file against the text judged before the backup and again just before the
  rename over it, and replaces nothing if it changed.

Two files "hold the same code" when the notebook converts back to exactly the ``.py``
(``tito.notebooks.convert.from_notebook``): running a notebook changes its outputs, not its code.
``last_edited`` applies the same rule to a pair outside a course (a submission to grade).
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from tito.course import Module
from tito.errors import TitoError
from tito.editions import MANIFEST
from tito.files import backup, exclusive_lock, read_json_object, write_atomically
from tito.notebooks.convert import from_notebook, jupytext_header, notebook_json, to_notebook

RECORD = Path(".tito") / "notebooks.json"

IN_STEP, NOTEBOOK_AHEAD, SOURCE_AHEAD, BOTH_CHANGED, NO_NOTEBOOK = (
    "in step", "ahead", "behind", "both changed", "no notebook")


@dataclass
class Pair:
    """A .py and its notebook as they are now, and what the record says they were."""

    py_path: Path
    notebook_path: Path
    where: str  # the notebook as named in messages
    py: str
    notebook: str
    recorded: dict | None

    @property
    def py_changed(self) -> bool:
        return _changed(self.py, self.recorded, "py")

    @property
    def notebook_changed(self) -> bool:
        return _changed(self.notebook, self.recorded, "ipynb")

    @cached_property
    def notebook_as_source(self) -> str:
        """The notebook converted to a percent-format source (once: it is the slow part)."""
        return from_notebook(self.notebook, self.where, jupytext_header(self.py))

    def same_code(self) -> bool:
        return self.notebook_as_source == self.py


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _changed(text: str, recorded: dict | None, key: str) -> bool:
    """True when a record exists and ``text`` no longer has the hash it records under ``key``."""
    return recorded is not None and _sha(text) != recorded.get(key)


def _recorded(module: Module) -> dict | None:
    """The hashes of the last sync, else those of the release, else None."""
    entry = (read_json_object(module.root / RECORD).get("modules") or {}).get(module.name)
    if isinstance(entry, dict):
        return entry
    released = (read_json_object(module.root / MANIFEST).get("modules") or {}).get(module.name) or {}
    if released.get("sha256") and released.get("notebook_sha256"):
        return {"py": released["sha256"], "ipynb": released["notebook_sha256"]}
    return None


def record(module: Module, py: str, notebook: str) -> None:
    """Remember the pair as in step: the texts tito read and wrote (``py``, ``notebook``), not the
    files as they are after, so a notebook saved again since it was read reads as ahead."""
    path = module.root / RECORD
    data = read_json_object(path)
    modules = data.get("modules") if isinstance(data.get("modules"), dict) else {}
    modules[module.name] = {"py": _sha(py), "ipynb": _sha(notebook)}
    write_atomically(path, json.dumps({"version": 1, "modules": modules}, indent=2, sort_keys=True) + "\n")


def _pair(module: Module) -> Pair | None:
    if not module.notebook.exists() or not module.dev_file.exists():
        return None
    return Pair(module.dev_file, module.notebook, module.relative(module.notebook),
                module.source(), _read_notebook(module),
                _recorded(module))


def _read_notebook(module: Module, attempts: int = 5, pause: float = 0.2) -> str:
    """The notebook's text. Jupyter saves a notebook by writing into the file itself, so a read
    may find it empty or cut short: one that is not whole JSON (or not UTF-8) is read again,
    ``attempts`` times ``pause`` seconds apart, before its text goes on to be called broken."""
    import time

    for _ in range(attempts - 1):
        try:
            text = module.notebook_text()
            json.loads(text)
            return text
        except (TitoError, ValueError):
            time.sleep(pause)
    return module.notebook_text()


def last_edited(py_path: Path, notebook_path: Path, released: dict | None = None) -> str:
    """The same rule for a .py and a notebook outside a course, e.g. one student's submission:
    IN_STEP, NOTEBOOK_AHEAD, SOURCE_AHEAD or BOTH_CHANGED.

    ``released`` is the pair as handed out, ``{"py": sha256, "ipynb": sha256}`` (the
    ``sha256`` and ``notebook_sha256`` of the module in the edition's manifest); without
    it, the newer of two differing files is ahead. Raises TitoError for an unreadable notebook.
    """
    pair = Pair(Path(py_path), Path(notebook_path), Path(notebook_path).name,
                Path(py_path).read_text(encoding="utf-8"), Path(notebook_path).read_text(encoding="utf-8"),
                released)
    return _judge(pair)


def _judge(pair: Pair) -> str:
    """IN_STEP, NOTEBOOK_AHEAD, SOURCE_AHEAD or BOTH_CHANGED (reading the notebook only when needed)."""
    if pair.recorded is not None:
        py_changed, notebook_changed = pair.py_changed, pair.notebook_changed
        if not py_changed and not notebook_changed:
            return IN_STEP
        if py_changed and not notebook_changed:
            return SOURCE_AHEAD
        if pair.same_code():
            return IN_STEP
        return BOTH_CHANGED if py_changed else NOTEBOOK_AHEAD
    if pair.same_code():
        return IN_STEP
    newer = pair.notebook_path.stat().st_mtime > pair.py_path.stat().st_mtime
    return NOTEBOOK_AHEAD if newer else SOURCE_AHEAD


def state(module: Module) -> str:
    """Where the module's two files stand (for ``tito status``), changing neither file.

    A pair found in step whose files both moved since the record (``git checkout`` of both)
    is recorded again, as ``tito test`` would: otherwise the next edit of one of them would
    read as both changed. A notebook that cannot be read is reported as 'unreadable notebook',
    a source that cannot be read (not UTF-8) as 'unreadable source' (its export state says why).
    """
    try:
        pair = _pair(module)
    except TitoError:
        try:
            module.source()
        except TitoError:
            return "unreadable source"
        return "unreadable notebook"
    if pair is None:
        return NO_NOTEBOOK
    try:
        verdict = _judge(pair)
    except TitoError:
        return "unreadable notebook"
    if verdict == IN_STEP:
        _remember(module, pair)
    return verdict


def _conflict(module: Module) -> TitoError:
    py, notebook = module.relative(module.dev_file), module.notebook.name
    return TitoError(
        f"Both {py} and {notebook} changed since tito last synced them; tito will not guess which to keep.",
        hint=(f"Keep the notebook's version: tito notebooks --module {module.name} --sync\n"
              f"Keep the .py's version:      tito notebooks --module {module.name}\n"
              "Either way the other file is first copied to .tito/backups/."),
    )


def source_up_to_date(module: Module) -> str:
    """Bring the ``.py`` up to the notebook when the student edited the notebook last.

    Returns one line saying what was done ('' when nothing was). Raises TitoError when both
    files changed since the last sync, or for a notebook that cannot be read. Two runs side
    by side sync once: a sync judges the pair again under a lock, so the second finds it in step.
    """
    pair = _pair(module)
    if pair is None or _judge(pair) != NOTEBOOK_AHEAD:
        return _source_up_to_date(module, pair)
    with _syncing(module):
        return _source_up_to_date(module, _pair(module))


def _syncing(module: Module):
    """One sync at a time in a course (the lock file sits beside the record); no lock in a course
    whose folder cannot be written, where the sync stops at its first write, saying so."""
    import contextlib

    lock = (module.root / RECORD).with_suffix(".lock")
    return exclusive_lock(lock) if os.access(module.root, os.W_OK) else contextlib.nullcontext()


def _source_up_to_date(module: Module, pair: Pair | None) -> str:
    if pair is None:
        return ""
    verdict = _judge(pair)
    if verdict == BOTH_CHANGED:
        raise _conflict(module)
    if verdict == IN_STEP:
        _remember(module, pair)
        return ""
    if verdict == SOURCE_AHEAD:
        return ""
    saved = _replace(module, module.dev_file, pair.py, pair.notebook_as_source, back_up=True)
    record(module, pair.notebook_as_source, pair.notebook)
    return (f"Synced {module.relative(module.notebook)} -> {module.dev_file.name} (you edited the notebook "
            f"last; the previous {module.dev_file.name} is in {module.relative(saved)}).")


def _replace(module: Module, path: Path, judged: str | None, text: str, back_up: bool) -> Path | None:
    """Write ``text`` over a student's ``path`` (the ``.py`` or the notebook), which held ``judged``
    when tito read it to decide (None: missing or unreadable), copying it to ``.tito/backups/``
    first when ``back_up``: the copy, or None. An editor's save of ``path`` since it was read is
    never replaced: ``_refuse_if_saved_since`` is checked before the backup and again just before
    the rename over it, and then removes the backup (nothing was replaced)."""
    _refuse_if_saved_since(module, path, judged)
    saved = backup(module.root, path) if back_up else None
    try:
        write_atomically(path, text, before_replace=lambda: _refuse_if_saved_since(module, path, judged))
    except TitoError:
        if saved is not None:
            saved.unlink(missing_ok=True)  # nothing was replaced: the file still holds the student's newest save
        raise
    return saved


def _refuse_if_saved_since(module: Module, path: Path, judged: str | None) -> None:
    """The ``_conflict`` TitoError when ``path`` no longer holds ``judged``, the text tito judged
    (``_text_now``): an editor saved it meanwhile, so both files changed."""
    if _text_now(module, path) != judged:
        raise _conflict(module)


def _text_now(module: Module, path: Path) -> str | None:
    """The text of a module's file; None when it is missing or not UTF-8."""
    try:
        return module.read_text(path)
    except TitoError:
        return None


def notebook_up_to_date(module: Module) -> str:
    """Write the notebook from the ``.py`` when it is missing or the ``.py`` was edited last.

    Returns one line saying what was done ('' when nothing was); raises TitoError when both changed.
    """
    pair = _pair(module)
    if pair is None:
        write_notebook(module)
        return f"Wrote {module.relative(module.notebook)} from {module.dev_file.name}."
    verdict = _judge(pair)
    if verdict == BOTH_CHANGED:
        raise _conflict(module)
    if verdict != SOURCE_AHEAD:
        _remember(module, pair)
        return ""
    write_notebook(module)
    return (f"Updated {module.relative(module.notebook)} from {module.dev_file.name}, "
            "which you edited last.")


def take_notebook_edits(module: Module) -> None:
    """Before a module is tested or exported: a notebook the student edited after its ``.py`` is
    synced into it first (``source_up_to_date``), and tito says so."""
    sync_and_say(source_up_to_date, module)


def sync_and_say(sync, module: Module) -> None:
    """Run ``source_up_to_date`` or ``notebook_up_to_date`` on ``module`` and print what it did."""
    from tito.console import say, warn

    said = sync(module)
    if said:
        say(said)
    own = " and ".join(path.name for path in (module.notebook, module.dev_file) if path.exists())
    for copy in newer_copies(module):
        warn(f"{module.relative(copy)} was saved after {own}, but tito only reads {module.notebook.name} and "
             f"{module.dev_file.name}: if your work is in it, rename it to {module.notebook.name}.")


def newer_copies(module: Module) -> list[Path]:
    """Every other notebook of the module's folder saved after both of its files: Jupyter's
    'cnn_dev-Copy1.ipynb', a browser's 'cnn_dev (1).ipynb', the notebook renamed in JupyterLab,
    or a scratch notebook (the warning says "if your work is in it")."""
    own = [path for path in (module.dev_file, module.notebook) if path.exists()]
    latest = max((path.stat().st_mtime for path in own), default=float("-inf"))
    return sorted(path for path in module.dev_file.parent.glob("*.ipynb")
                  if path.name != module.notebook.name and path.stat().st_mtime > latest)


def _remember(module: Module, pair: Pair) -> None:
    """Record an in-step pair whose hashes moved (e.g. a notebook run for its outputs), if we may."""
    if pair.recorded is None or pair.py_changed or pair.notebook_changed:
        try:
            record(module, pair.py, pair.notebook)
        except OSError:  # a read-only course: nothing to remember it in, and nothing lost
            pass


# --------------------------------------------------------------------------- tito notebooks


def overwrite_blocker(module: Module, sync: bool, chosen: bool) -> str:
    """Why ``tito notebooks`` must not replace the file it writes (the notebook; with ``sync`` the
    ``.py``), or '' when it may: that file holds the newer edits. When both changed, naming the one
    module (``chosen``) is how the student picks a side; converting many modules never picks one."""
    verdict = state(module)
    py, notebook = module.dev_file.name, module.notebook.name
    if verdict == (SOURCE_AHEAD if sync else NOTEBOOK_AHEAD):
        newer, older = (py, notebook) if sync else (notebook, py)
        return f"{newer} holds edits newer than {older}, which would replace them"
    if verdict == BOTH_CHANGED and not chosen:
        return f"both {py} and {notebook} changed since they were last synced"
    return ""


def notebook_is_current(module: Module) -> bool:
    """True when writing the notebook from the source would change nothing but its outputs and
    execution counts (each cell's type, source, nbgrader metadata and tags as they would be):
    writing it then would only wipe what the student's runs left in it."""
    try:
        current = json.loads(module.notebook.read_text(encoding="utf-8"))["cells"]
        fresh = json.loads(notebook_json(to_notebook(module.source(), module)))["cells"]
        return [_cell_key(cell) for cell in current] == [_cell_key(cell) for cell in fresh]
    except (OSError, ValueError, KeyError, TypeError, AttributeError, TitoError):
        return False


def _cell_key(cell: dict) -> tuple:
    source = cell["source"] if isinstance(cell["source"], str) else "".join(cell["source"])
    metadata = cell.get("metadata") or {}
    return cell["cell_type"], source, json.dumps(metadata.get("nbgrader"), sort_keys=True), metadata.get("tags")


def write_notebook(module: Module) -> tuple[Path, Path | None]:
    """Write ``name_dev.ipynb`` from the module's source, atomically: (notebook, backup or None).

    A notebook holding edits the source does not have is backed up before it is replaced.
    """
    text = module.source()
    judged = _text_now(module, module.notebook)
    fresh = notebook_json(to_notebook(text, module))
    own_edits = _holds_own_edits(module, module.notebook, judged, than=module.dev_file, new_text=fresh, key="ipynb")
    saved = _replace(module, module.notebook, judged, fresh, back_up=own_edits)
    record(module, text, fresh)
    return module.notebook, saved


def sync_notebook(module: Module) -> tuple[Path, Path | None]:
    """Write the module's source from its notebook, atomically: (source, backup or None).

    A source holding edits the notebook does not have is backed up before it is replaced.
    """
    if not module.notebook.exists():
        raise TitoError(f"{module.relative(module.notebook)} does not exist.",
                        hint=f"Create it first: tito notebooks --module {module.name}")
    judged = module.source() if module.dev_file.exists() else None
    notebook = _read_notebook(module)
    text = from_notebook(notebook, module.relative(module.notebook), jupytext_header(judged) if judged else "")
    own_edits = _holds_own_edits(module, module.dev_file, judged, than=module.notebook, new_text=text, key="py")
    saved = _replace(module, module.dev_file, judged, text, back_up=own_edits)
    record(module, text, notebook)
    return module.dev_file, saved


def _holds_own_edits(module: Module, path: Path, judged: str | None, than: Path, new_text: str, key: str) -> bool:
    """Whether ``path``, holding ``judged`` (None: unreadable), is to be backed up before it is
    overwritten with ``new_text``: it holds edits of its own, having changed since the last sync
    (without a record: being newer than ``than``), and differs from ``new_text``."""
    if not path.exists() or not than.exists() or judged == new_text:
        return False
    if judged is None:
        return True  # not UTF-8: what it holds cannot be told, so it is kept
    recorded = _recorded(module)
    if recorded is not None:
        return _changed(judged, recorded, key)
    return path.stat().st_mtime > than.stat().st_mtime
