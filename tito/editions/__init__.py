"""Student editions: the course as students get it, without solutions.

``tito release`` writes one (``release.py``); each job has its own file:

* ``strip.py`` — a source's solution blocks become stubs, hidden tests vanish;
* ``notebooks.py`` — the notebooks' nbgrader metadata (points), and a module as a student receives it
  (the conversion itself: ``tito.notebooks.convert``);
* ``course_copy.py`` — what of a course is copied, for an edition and for a grading folder;
* ``build.py`` — an edition's tree: the copy, the stubbed sources, notebooks, manifest;
* ``student_files.py`` — the edition's own Makefile, README, .gitignore and Binder configuration;
* ``colab.py`` — the first cell of each module, which sets the course up when Colab opens it;
* ``release.py`` — the audited, atomic release into a folder, and the merge into an earlier one;
* ``reset.py`` — ``tito module reset``: a module back to its released stub.

An edition keeps a pristine copy of every released stub and a manifest under
``.tito/release/``; students' files that tito replaces are copied to ``.tito/backups/`` first
(``tito.files.backup``). The instructor's course keeps ``modules/released.json``: the digests of
every module file any release handed out, so that grading knows a stub from an earlier release
(before a fix mid-term) as released, not as a student's work.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from tito.errors import TitoError

RELEASE_DIR = Path(".tito") / "release"
MANIFEST = RELEASE_DIR / "manifest.json"
RELEASED = Path("modules") / "released.json"  # in the instructor's course: every module file ever released


def released_stub(root: Path, module) -> Path:
    """Where the edition at ``root`` keeps ``module``'s source as it was released (the stub)."""
    return Path(root) / RELEASE_DIR / module.dirname / module.dev_file.name


def released_source(module) -> str | None:
    """The text of ``module``'s released stub in a student edition; None elsewhere (or unreadable)."""
    try:
        return released_stub(module.root, module).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None


def release_digest(data: bytes, notebook: bool = False) -> str:
    """The sha256 by which a module file is known as released: of its bytes with a leading BOM
    dropped, CRLF as LF (a checkout on Windows) and the Colab cell's REPOSITORY value blanked
    (``colab.without_repository``: the edition's repository, or the fork's URL a student put
    there). A ``notebook`` counts by its cells' types and sources only (``_cells_of``): running or
    saving it in Jupyter (outputs, execution counts, metadata, ids) is not work either."""
    from tito.editions.colab import without_repository

    data = data.removeprefix(b"\xef\xbb\xbf").replace(b"\r\n", b"\n")
    return hashlib.sha256(without_repository(_cells_of(data) if notebook else data)).hexdigest()


MAX_NOTEBOOK_PARSED = 4 << 20  # bytes of a notebook read for its cells (cnn's is about 0.1 MB): a 19 MB one
# of empty objects took 0.5 GB in the grader's process


def _cells_of(data: bytes) -> bytes:
    """A notebook's cells as canonical JSON, ``[[cell_type, source], ...]``, or ``data`` itself when
    it is no nbformat-4 notebook or larger than MAX_NOTEBOOK_PARSED. The standard library's JSON
    parser reads it; any error means the bytes count as they are (never as released by accident)."""
    if len(data) > MAX_NOTEBOOK_PARSED:  # its bytes then (a released notebook is far smaller)
        return data
    try:
        cells = json.loads(data)["cells"]
        canonical = [[cell["cell_type"], (cell["source"] if isinstance(cell["source"], str)
                                          else "".join(cell["source"])).replace("\r\n", "\n")] for cell in cells]
    except (ValueError, KeyError, TypeError, AttributeError, RecursionError):
        return data
    return json.dumps(canonical, ensure_ascii=False).encode("utf-8", "surrogatepass")


def released_pair(module, edition: Path | None = None) -> dict:
    """The ``release_digest``s of ``module``'s .py and notebook as students received them
    (``{"py": [digest, ...], "ipynb": [...]}``, JSON-ready): from the ``edition`` folder that tito
    release wrote, else as tito release writes them, both without ``--repository`` and with it
    (whatever the URL: the Colab cell's REPOSITORY value does not count).

    The module's files of earlier releases count too (``RELEASED``): a pair a student forked
    before a fix mid-term has the old stub beside their work."""
    from tito.editions.notebooks import student_edition
    from tito.notebooks.convert import notebook_json

    earlier = _released_before(module.root).get(module.name, {})
    pair: dict[str, set] = {key: set(earlier.get(key, ())) for key in ("py", "ipynb")}
    if edition is not None:
        for key, digests in _edition_pair(module, Path(edition)).items():
            pair[key].update(digests)
    else:
        for repository in (None, "https://github.com/OWNER/COURSE"):  # any URL: release_digest blanks it
            stripped, notebook = student_edition(module, repository)
            pair["py"].add(release_digest(stripped.text.encode("utf-8")))
            pair["ipynb"].add(release_digest(notebook_json(notebook).encode("utf-8"), notebook=True))
    return {key: sorted(digests) for key, digests in pair.items()}


def check_release_record(course_root: Path) -> None:
    """TitoError now, before a release is built, when the course's ``RELEASED`` cannot be read."""
    _released_before(course_root)


def remember_release(course_root: Path, modules) -> Path:
    """Add the ``released_pair`` of each of ``modules`` (as released now) to the course's
    ``RELEASED`` record, atomically; returns its path. OSError when it cannot be written."""
    from tito.files import write_atomically

    record = _released_before(course_root)
    for module in modules:
        record[module.name] = released_pair(module)  # the earlier releases' digests and today's
    path = Path(course_root) / RELEASED
    write_atomically(path, json.dumps(dict(sorted(record.items())), indent=1) + "\n")
    return path


def _released_before(course_root: Path) -> dict:
    """module -> {"py": [digest, ...], "ipynb": [...]} from the course's ``RELEASED`` ({} without it;
    an unreadable one is a TitoError: grading would take an old stub for a student's work)."""
    path = Path(course_root) / RELEASED
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        raise TitoError(f"{path} cannot be read ({exc}).",
                        hint="Restore it from git (tito release writes it).") from None
    if not (isinstance(record, dict) and all(map(_is_released_pair, record.values()))):
        raise TitoError(f"{path} is not the record tito release writes.", hint="Restore it from git.")
    return record


def _is_released_pair(pair) -> bool:
    """True for ``{"py": [digest, ...], "ipynb": [...]}`` (either list may be missing)."""
    lists = [pair.get(key, []) for key in ("py", "ipynb")] if isinstance(pair, dict) else [None]
    return all(isinstance(digests, list) and all(isinstance(d, str) for d in digests) for digests in lists)


def _edition_pair(module, edition: Path) -> dict:
    """``released_pair`` from the edition at ``edition``: its manifest names the files' sha256;
    the files themselves, while they still have it (the .py also in the pristine copy), give
    the digest. A file changed since is known by the manifest's sha256 alone, which is its
    digest unless it has a Colab cell or CRLF line ends."""
    entry = ((read_manifest(edition) or {}).get("modules") or {}).get(module.name) or {}
    if not (entry.get("sha256") and entry.get("notebook_sha256")):
        raise TitoError(f"{edition} is not a student edition holding module '{module.name}': its "
                        ".tito/release/manifest.json does not list it (written by tito release).")
    source = edition / module.dev_file.relative_to(module.root)
    places = {"py": [source, released_stub(edition, module)], "ipynb": [source.with_suffix(".ipynb")]}
    pair = {}
    for key, sha256 in (("py", entry["sha256"]), ("ipynb", entry["notebook_sha256"])):
        found = (_bytes_with_sha256(path, sha256) for path in places[key])
        data = next((data for data in found if data is not None), None)
        pair[key] = [release_digest(data, notebook=key == "ipynb") if data is not None else sha256]
    return pair


def _bytes_with_sha256(path: Path, sha256: str) -> bytes | None:
    """The bytes of the file at ``path`` when they have that sha256; else None."""
    try:
        data = path.read_bytes()
    except OSError:
        return None
    return data if hashlib.sha256(data).hexdigest() == sha256 else None


def is_student_edition(root: Path) -> bool:
    """True when ``root`` is an edition ``tito release`` wrote (its manifest is there)."""
    return read_manifest(root) is not None


def read_manifest(root: Path) -> dict | None:
    """The manifest of the edition at ``root``, or None (not an edition, or unreadable: not a
    JSON object)."""
    path = root / MANIFEST
    if not path.exists():
        return None
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return manifest if isinstance(manifest, dict) else None


def which_edition(root: Path) -> tuple[str, bool]:
    """Which course ``root`` is, in one line, and whether that could be told: a student edition and
    which release (its manifest's time and tito version, what a TA asks first), ('a student edition,
    released 2026-11-30 21:12 UTC by tito 0.1.0: setup, tensor', True); the instructor's course
    with the solutions; or (False) that the manifest cannot be read. `tito doctor` and `tito
    status` show it."""
    from datetime import datetime

    manifest = read_manifest(root)
    if manifest is None and (root / MANIFEST).exists():
        return (f"{MANIFEST}, the record of the release this edition is, cannot be read: get it back from git "
                "(tito module reset and notebook syncing read it)", False)
    if manifest is None:
        return "the instructor's course, with the solutions (`tito release` writes a student edition)", True
    try:
        released = datetime.fromisoformat(str(manifest.get("released"))).strftime("%Y-%m-%d %H:%M UTC")
    except ValueError:
        released = "at an unknown time"
    listed = manifest.get("modules")
    modules = ", ".join(listed) if isinstance(listed, dict) and listed else "no modules"
    return f"a student edition, released {released} by tito {manifest.get('tito_version', '?')}: {modules}", True
