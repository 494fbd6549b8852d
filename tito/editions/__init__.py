"""Student editions: the course as students get it, without solutions.

``tito release`` writes one (``release.py``); each job has its own file:

* ``strip.py`` — a source's solution blocks become stubs, hidden tests vanish;
* ``notebooks.py`` — sources to notebooks with nbgrader metadata, and back;
* ``course_copy.py`` — what of a course is copied, for an edition and for a grading folder;
* ``build.py`` — an edition's tree: the copy, the stubbed sources, notebooks, manifest;
* ``student_files.py`` — the edition's own Makefile, README, .gitignore and Binder configuration;
* ``colab.py`` — the first cell of each module, which sets the course up when Colab opens it;
* ``release.py`` — the audited, atomic release into a folder, and the merge into an earlier one;
* ``reset.py`` — ``tito module reset``: a module back to its released stub.

An edition keeps a pristine copy of every released stub and a manifest under
``.tito/release/``; students' files that tito replaces are copied to ``.tito/backups/`` first.
"""

from __future__ import annotations

import json
import shutil
from datetime import datetime, timezone
from pathlib import Path

from tito.errors import TitoError

RELEASE_DIR = Path(".tito") / "release"
BACKUP_DIR = Path(".tito") / "backups"
MANIFEST = RELEASE_DIR / "manifest.json"


def released_stub(root: Path, module) -> Path:
    """Where the edition at ``root`` keeps ``module``'s source as it was released (the stub)."""
    return Path(root) / RELEASE_DIR / module.dirname / module.dev_file.name


def released_source(module) -> str | None:
    """The text of ``module``'s released stub in a student edition; None elsewhere (or unreadable)."""
    try:
        return released_stub(module.root, module).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None


def released_pair(module, edition: Path | None = None) -> dict:
    """The sha256 of ``module``'s .py and notebook as students received them: from the manifest of
    the ``edition`` folder (written by tito release), else as tito release writes them without
    ``--repository``."""
    import hashlib

    from tito.editions.notebooks import notebook_json, student_edition

    if edition is not None:
        entry = ((read_manifest(Path(edition)) or {}).get("modules") or {}).get(module.name) or {}
        if not (entry.get("sha256") and entry.get("notebook_sha256")):
            raise TitoError(f"{edition} is not a student edition holding module '{module.name}': its "
                            ".tito/release/manifest.json does not list it (written by tito release).")
        return {"py": entry["sha256"], "ipynb": entry["notebook_sha256"]}
    stripped, notebook = student_edition(module)
    return {"py": hashlib.sha256(stripped.text.encode("utf-8")).hexdigest(),
            "ipynb": hashlib.sha256(notebook_json(notebook).encode("utf-8")).hexdigest()}


def utc_stamp() -> str:
    """The time now, as backups are named: '20261130T071500123456Z'."""
    return datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")


def read_manifest(root: Path) -> dict | None:
    """The manifest of the edition at ``root``, or None (not an edition, or unreadable)."""
    path = root / MANIFEST
    if not path.exists():
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except ValueError:
        return None


def backup(root: Path, path: Path) -> Path:
    """Copy a student's file to ``.tito/backups/<name>.<UTC timestamp><suffix>`` and return the copy."""
    target = root / BACKUP_DIR / f"{path.stem}.{utc_stamp()}{path.suffix}"
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(path, target)
    return target
