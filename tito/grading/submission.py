"""Submissions: finding them (in a batch's folder, or one platform submission's), reading their
bytes, turning them into a module source.

The grader only finds files and reads their bytes (``read_bytes``). Decoding and parsing —
UTF-8 with or without a BOM, CRLF or LF, a ``.py`` source or an ``.ipynb`` notebook (nbformat 4,
or 3 upgraded) — happen inside the sandbox (``to_source``), under its limits, because a
crafted notebook can be slow to parse. Every failure is a ``SubmissionError`` whose message
says what was expected and what came.
"""

from __future__ import annotations

import ast
import json
import os
import re
import stat
from pathlib import Path

from tito import format
from tito.course import Module
from tito.deps import load_jupytext
from tito.errors import TitoError
from tito.grading.data import same_student, showable_name

SUFFIXES = (".py", ".ipynb")
ARCHIVES = (".zip", ".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tar.xz", ".7z", ".rar")  # a student's files packed
MAX_BYTES = 20 << 20  # a module source or notebook; the cnn notebook is about 0.1 MB
MAX_CELLS = 2000  # the cnn module has about 80
SUBMISSION_LIMIT = 200  # files of one platform submission looked at (hidden ones and folders not counted)
WALK_LIMIT = 20_000  # files of one platform submission walked past those, for the module's source


def archive_stem(name: str) -> str:
    """'kim' for an archive named 'kim.zip' or 'kim.tar.gz'; '' for a name that is no archive's."""
    lowered = name.lower()
    return next((name[:-len(end)] for end in ARCHIVES if lowered.endswith(end) and len(name) > len(end)), "")


class NotGraded(Exception):
    """Why a submission folder holds no one file to grade (shown to the student)."""


class SubmissionError(ValueError):
    """A submission that cannot be read as a module source; the message is the reason."""


NO_ONES = ("__MACOSX", "__pycache__")  # an archive's resource forks, Python's caches: no one's work


def no_ones(name: str) -> bool:
    """Whether a file or folder is skipped with no note: hidden (``.git/``, ``.DS_Store``) or NO_ONES."""
    return name.startswith(".") or name in NO_ONES


SHOWN_LEFT_OUT = 10  # names of files left out of one student's folder, at most


def find_submissions(folder: Path, module: Module, notes: list | None = None,
                     released: dict | None = None, clashes: dict | None = None) -> list[tuple[str, Path]]:
    """(student, file) pairs in a folder: ``alice.py`` / ``bob.ipynb`` (or ``alice_cnn_dev.py``:
    see ``student_name``) directly in it, or ``carol/<name>_dev.py`` (or .ipynb) in a folder per
    student, else that folder's only module source of any name (the rule of the platforms'
    autograders, ``find_submission``); of a student's two files, the one
    ``graded_of`` picks (``released``: the pair's hashes as handed out, see there). Suffixes are
    matched in any case (``ivy.PY``); hidden files, ``__MACOSX/`` and ``__pycache__/`` are skipped
    (any other ``__*`` is left out, with a note).

    No student is dropped in silence: a student's folder without a module source, an archive
    (``kim.zip``, when nothing else is kim's) and a symbolic link in a student's place are kept as
    they are, for ``read_bytes`` to refuse with the reason (a link could make the reference
    solution, or another student's file, this student's submission). ``notes``, when given, gets a
    line for each file left out (also inside a student's folder), each choice between two files and
    each source graded under another name than the module's. A student with files that are not one
    ``.py`` and ``.ipynb`` pair (``alice.py`` and ``alice_cnn_dev.py``: one may be a classmate's,
    planted with a later time) is not graded: ``clashes`` gets student -> those files, for the
    instructor to settle.
    """
    notes = [] if notes is None else notes
    candidates: dict[str, list[Path]] = {}
    without_source: dict[str, Path] = {}  # a student's folder with no module file, if nothing else is theirs
    archives: dict[str, list[Path]] = {}  # kim.zip: kim's row says to unpack it, if nothing else is kim's
    for path in sorted(Path(folder).iterdir()):
        if no_ones(path.name):
            continue
        is_source = path.suffix.lower() in SUFFIXES
        if path.name.startswith("__"):  # no student's name (__init__.py): said, as any file left out
            notes.append(f"left out, not a submission: {showable_name(path.name)}")
        elif path.is_symlink() and (is_source or path.is_dir()):
            candidates.setdefault(student_name(path.stem if is_source else path.name, module.name), []).append(path)
        elif path.is_file() and is_source:
            candidates.setdefault(student_name(path.stem, module.name), []).append(path)
        elif path.is_dir():
            inside = _sources_in(path, folder, module.name, notes, released)
            if inside:
                candidates.setdefault(student_name(path.name, module.name), []).extend(inside)
            else:
                without_source[student_name(path.name, module.name)] = path
        elif path.is_file() and archive_stem(path.name):
            archives.setdefault(student_name(archive_stem(path.name), module.name), []).append(path)
        else:
            notes.append(f"left out, not a submission: {showable_name(path.name)}")
    for student, path in without_source.items():
        candidates.setdefault(student, [path])
    for student, paths in archives.items():
        if student in candidates:
            notes.extend(f"left out, not a submission: {showable_name(path.name)}" for path in paths)
        else:
            candidates[student] = paths
    found, clashes = [], {} if clashes is None else clashes
    for name, paths in sorted(candidates.items()):  # by the names on disk: two may show alike
        student = showable_name(name)
        if len(paths) > 1 and not is_pair(paths):
            clashes[student] = [_relative(p, folder) for p in paths]
            continue
        chosen, why = graded_of(paths, released) if len(paths) > 1 else (paths[0], "")
        if len(paths) > 1:
            notes.append(f"{student}: {', '.join(_relative(p, folder) for p in paths)}; "
                         f"graded {_relative(chosen, folder)} ({why})")
        found.append((student, chosen))
    return found


def student_name(name: str, module: str) -> str:
    """The student a file or folder name gives: the name in NFC (a name typed on a Mac or unzipped
    from one may come decomposed, ``José`` as ``Jose`` + U+0301), without the module's own
    ``_<module>_dev`` ending (``alice_cnn_dev`` is ``alice``, as in every other module)."""
    name = same_student(name)
    ending = f"_{module}_dev"
    return name[:-len(ending)] if name.lower().endswith(ending) and len(name) > len(ending) else name


def student_of(submission: Path, module: str) -> str:
    """The student one submission's file names (alice_cnn_dev.py: alice), as a folder's batch names them."""
    return showable_name(student_name(Path(submission).stem, module))


def _sources_in(student: Path, folder: Path, module: str, notes: list, released: dict | None) -> list[Path]:
    """The module sources in a student's folder: ``<module>_dev.py``/``.ipynb``, else the one a
    platform's autograder would grade (its only source, whatever its name, said in ``notes``);
    [] when there is none. Every other file of the folder is named in ``notes``."""
    inside = [student / name for name in source_names(module) if (student / name).is_file()]
    if not inside:
        try:
            chosen, _ = find_submission(student, module, released)
        except NotGraded:
            return []
        inside = [chosen]
        if chosen.name not in source_names(module):
            notes.append(f"{showable_name(student.name)}: graded {_relative(chosen, folder)}, "
                         f"the only module source in {showable_name(student.name)}/ (not named {module}_dev.py)")
    _name_left_out(student, inside, folder, notes)
    return inside


def _name_left_out(student: Path, graded: list[Path], folder: Path, notes: list) -> None:
    """A note naming what else a student's folder holds (not what holds the graded files)."""
    holding = {p for path in graded for p in [path, *path.parents]}
    others = [p for p in sorted(student.iterdir()) if p not in holding and not no_ones(p.name)]
    if others:
        notes.append(left_out(f"{showable_name(student.name)}'s",
                              [_relative(p, folder) + ("/" if p.is_dir() else "") for p in others]))


def left_out(whose: str, names: list[str]) -> str:
    """The note naming the files of a submission that were not graded, as ``tito grade`` and the
    platforms say it: "left out of alice's submission: helper.py, notes/ and 3 more"."""
    more = f" and {len(names) - SHOWN_LEFT_OUT} more" if len(names) > SHOWN_LEFT_OUT else ""
    return f"left out of {whose} submission: {', '.join(names[:SHOWN_LEFT_OUT])}{more}"


def is_pair(paths: list[Path]) -> bool:
    """Whether a student's files are one module source as a .py and an .ipynb, of one name in one
    folder (``alice.py`` and ``alice.ipynb``; ``carol/cnn_dev.py`` and ``carol/cnn_dev.ipynb``)."""
    return (sorted(p.suffix.lower() for p in paths) == sorted(SUFFIXES)
            and len({p.with_suffix("") for p in paths}) == 1)


def source_names(module: str) -> tuple[str, ...]:
    """The names a submission of ``module`` has: ``cnn_dev.py``, ``cnn_dev.ipynb``."""
    return tuple(f"{module}_dev{suffix}" for suffix in SUFFIXES)


SAME_TIME = 2.0  # seconds: a zip keeps file times to 2 s, and a git checkout writes both files at once


def graded_of(paths: list[Path], released: dict | None = None) -> tuple[Path, str]:
    """Which of a student's two files (``name_dev.py`` and ``name_dev.ipynb``) is graded, and why
    in a few words. The rule of ``tito.notebooks.sync``, by digests and times only: comparing the
    two files' code would convert the student's notebook outside the sandbox, and when both hold
    the same code, either file is right. (A notebook's digest reads its JSON for its cells'
    sources: ``tito.editions.release_digest``.)

    1. ``released``, the pair as handed out (``tito.editions.released_pair``: each file's
       ``release_digest``s, the edition's own or those of any edition tito release writes, with or
       without a Colab cell): a file still as released is not the student's work (a URL put
       into the Colab cell's REPOSITORY line is not work either), so when only one of the two
       changed, that one is graded; when neither did, the ``.py``.
    2. Otherwise the newer; two files written within ``SAME_TIME`` of each other (a git
       checkout, an upload) tell nothing by their times, and the notebook is graded: students
       work mostly in Jupyter, and ``tito test`` writes a notebook's code into the ``.py``.
    """
    notebook = next((p for p in paths if p.suffix.lower() == ".ipynb"), paths[0])
    py = next((p for p in paths if p is not notebook), paths[-1])
    if released:
        changed = {path: _release_digest_of(path) not in released.get(key, ())
                   for path, key in ((py, "py"), (notebook, "ipynb"))}
        if changed[py] != changed[notebook]:
            chosen = py if changed[py] else notebook
            return chosen, "the other is as released"
        if not changed[py]:
            return py, "both are as released"
    py_time, notebook_time = py.lstat().st_mtime, notebook.lstat().st_mtime
    if abs(py_time - notebook_time) < SAME_TIME:
        return notebook, "both written at the same time: the notebook"
    return (py, "the newer") if py_time > notebook_time else (notebook, "the newer")


def _release_digest_of(path: Path) -> str:
    """A submission file's ``release_digest`` ('' when it cannot be read: never as released)."""
    from tito.editions import release_digest

    try:
        return release_digest(read_bytes(path), notebook=path.suffix.lower() == ".ipynb")
    except SubmissionError:
        return ""


def read_bytes(path: Path, module: str = "") -> bytes:
    """A submission file's bytes; SubmissionError for a wrong suffix, a huge or unreadable file,
    or a student's folder without a source of ``module``."""
    path = Path(path)
    if path.is_symlink():
        raise SubmissionError(f"{path.name} is a symbolic link; a submission is a file of its own")
    if path.is_dir():
        held = sorted(p.name for p in path.iterdir())[:10]
        wanted = " or ".join(source_names(module)) if module else "a module source"
        raise SubmissionError(f"{path.name}/ holds no {wanted}; it has "
                              + (", ".join(held) if held else "nothing"))
    if archive_stem(path.name):
        raise SubmissionError(f"{path.name} is an archive, which tito does not unpack: unpack it into a folder "
                              f"{archive_stem(path.name)}/ beside it and grade again")
    if path.suffix.lower() not in SUFFIXES:
        raise SubmissionError(f"{path.name}: a submission is a .py or .ipynb file, got "
                              f"'{path.suffix or 'no suffix'}'")
    try:
        with open(os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK), "rb") as handle:
            if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
                raise SubmissionError(f"{path.name} is not a regular file")
            data = handle.read(MAX_BYTES + 1)
    except OSError as exc:
        raise SubmissionError(f"{path.name} cannot be read: {exc.strerror}") from None
    if len(data) > MAX_BYTES:
        raise SubmissionError(f"{path.name} is larger than {MAX_BYTES >> 20} MB; a module source is far smaller")
    if not data.strip():
        raise SubmissionError(f"{path.name} is empty" + (f" (only {len(data)} bytes of white space)" if data else "")
                              + "; nothing was submitted in it")
    return data


# '#| default_exp core.cnn' on a line of its own: in a .py, or in a notebook's JSON (a line of a cell)
DECLARED_TARGET = re.compile(rb'(?:^|"|\\n)[ \t]*#\|[ \t]*default_exp[ \t]+'
                             rb'([a-z_][a-z0-9_]{0,50}(?:\.[a-z_][a-z0-9_]{0,50}){0,5})'
                             rb'(?=[ \t]*(?:\r?$|\\n|"))', re.MULTILINE)


def declared_target(data: bytes) -> str:
    """The export target a submission's text names ('core.cnn' for '#| default_exp core.cnn'), or ''
    when it names none or more than one. A plain scan of the bytes, outside the sandbox: only the
    words of a reason come from it, never a point."""
    names = set()
    for match in DECLARED_TARGET.finditer(data):
        names.add(match.group(1).decode("ascii"))
        if len(names) > 1:
            return ""
    return names.pop() if names else ""


# --------------------------------------------------------------------------- inside the sandbox


def to_source(data: bytes, name: str) -> str:
    """The percent-format module source a submission holds (a notebook is converted)."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SubmissionError(f"{name} is not UTF-8 text (byte 0x{data[exc.start]:02x} at position "
                              f"{exc.start})") from None
    text = text.replace("\r\n", "\n")
    if name.lower().endswith(".ipynb"):
        return _notebook_source(text, name)
    cells = len(format.CELL_START.findall(text))
    if cells > MAX_CELLS:
        raise SubmissionError(f"{name} has {cells} cells; a module source has at most {MAX_CELLS}")
    try:
        ast.parse(text)
    except SyntaxError:
        pass  # a syntax error is the export's to report, with its line
    except (ValueError, RecursionError, MemoryError) as exc:
        raise SubmissionError(f"{name} cannot be parsed as Python ({type(exc).__name__})") from None
    return text


def _notebook_source(text: str, name: str) -> str:
    from tito.notebooks.convert import from_notebook

    try:
        notebook = json.loads(text)
    except ValueError as exc:
        raise SubmissionError(f"{name} is not a readable notebook: not JSON ({exc})") from None
    except RecursionError:
        raise SubmissionError(f"{name} is not a readable notebook: nested too deeply") from None
    if not isinstance(notebook, dict):
        raise SubmissionError(f"{name} is not a readable notebook: expected a JSON object, got "
                              f"{type(notebook).__name__}")
    if notebook.get("nbformat") == 3:
        text = _upgraded(text, name)
        notebook = json.loads(text)
    _check_structure(notebook, name)
    try:
        return from_notebook(text, name)
    except TitoError as exc:
        raise SubmissionError(exc.message) from None
    except Exception as exc:  # jupytext and nbformat raise many kinds for a malformed file
        raise SubmissionError(f"{name} is not a readable notebook: {type(exc).__name__}: {exc}") from None


def _upgraded(text: str, name: str) -> str:
    """An nbformat 3 notebook as nbformat 4 JSON (what Jupyter does when it opens one)."""
    try:
        import nbformat

        return nbformat.writes(nbformat.reads(text, as_version=4))
    except ImportError:
        raise SubmissionError(f"{name} is an nbformat 3 notebook; save it with a current Jupyter "
                              "(nbformat 4)") from None
    except Exception as exc:
        raise SubmissionError(f"{name} is an nbformat 3 notebook that cannot be upgraded: "
                              f"{type(exc).__name__}: {exc}") from None


def _check_structure(notebook: dict, name: str) -> None:
    version = notebook.get("nbformat")
    if version != 4:
        raise SubmissionError(f"{name}: expected an nbformat 4 notebook, got nbformat {version!r}")
    if not isinstance(notebook.get("metadata", {}), dict):
        raise SubmissionError(f"{name}: the notebook's metadata must be a JSON object, got "
                              f"{type(notebook['metadata']).__name__}")
    cells = notebook.get("cells")
    if not isinstance(cells, list):
        raise SubmissionError(f"{name}: expected a list of cells, got {type(cells).__name__}")
    if len(cells) > MAX_CELLS:
        raise SubmissionError(f"{name} has {len(cells)} cells; a module notebook has at most {MAX_CELLS}")
    for number, cell in enumerate(cells, start=1):
        if not isinstance(cell, dict):
            raise SubmissionError(f"{name}: cell {number} is a {type(cell).__name__}, not a JSON object")
        if not isinstance(cell.get("metadata", {}), dict):
            raise SubmissionError(f"{name}: the metadata of cell {number} must be a JSON object, got "
                                  f"{type(cell['metadata']).__name__}")
        source = cell.get("source", "")
        if not (isinstance(source, str) or (isinstance(source, list) and all(isinstance(s, str) for s in source))):
            raise SubmissionError(f"{name}: the source of cell {number} must be text or a list of lines")


# --------------------------------------------------------------------------- the reference's tests


def test_cells(reference: str, where: str = "<source>") -> str:
    """Only the reference's test cells (defining ``test_unit_*``), as a percent-format source, as the
    student edition has them: hidden tests are for instructors only, and what a submission's tests
    run goes into its feedback (and the file into the sandbox, where its code can read it). ``where``
    names the source in a marker's error."""
    from tito.editions.strip import without_hidden_tests

    jupytext = load_jupytext()
    notebook = jupytext.reads(without_hidden_tests(reference, where)[0], fmt="py:percent")
    notebook.cells = [c for c in notebook.cells if c.cell_type == "code" and format.defined_tests(c.source)]
    return jupytext.writes(notebook, fmt="py:percent")


def restore_reference_tests(submission: str, reference: str) -> str:
    """The submission with every test cell replaced by the reference's cell defining the same tests.

    Reference test cells the submission lacks are appended at its end; a student's own extra
    tests stay. A test cell into which the student also put code of their own stays, followed
    by the reference's cell; a second copy of a reference test cell is left out. The tests are
    feedback: they carry no points.

    The text is edited in place, cell by cell, so that a line of the student's file keeps its
    number up to the first test cell they changed (tracebacks and syntax errors point at it).
    """
    ref_cells = [(set(format.defined_tests(c.code)), c.code) for c in format.code_cells(reference)]
    ref_cells = [(names, code) for names, code in ref_cells if names]
    offsets = _line_offsets(submission)
    used, edits = set(), []  # edits: (start, end, new text), in order
    for cell in format.code_cells(submission):
        names = format.tests_in(cell.code)
        match = next((i for i, (ref_names, _) in enumerate(ref_cells) if names & ref_names), None)
        if match is None:
            continue
        start = offsets[cell.line - 1] if 0 < cell.line <= len(offsets) else None
        span = (start, start + len(cell.code)) if start is not None else None
        if span is None or submission[span[0]:span[1]] != cell.code:
            continue  # not found where the parser put it: left as it is
        if match in used:
            new = "" if not format.defines_more_than_tests(cell.code) else cell.code
        else:
            used.add(match)
            reference_code = ref_cells[match][1]
            if format.defines_more_than_tests(cell.code) and cell.code != reference_code:
                new = f"{cell.code}\n\n# %%\n{reference_code}"
            else:
                new = reference_code
        if new != cell.code:
            edits.append((*span, new))
    restored = _apply(submission, edits)
    missing = [code for i, (_, code) in enumerate(ref_cells) if i not in used]
    return restored + "".join(f"\n\n# %%\n{code}\n" for code in missing)


def _line_offsets(text: str) -> list[int]:
    """The offset in ``text`` at which each line starts."""
    offsets, position = [], 0
    for line in text.splitlines(keepends=True):
        offsets.append(position)
        position += len(line)
    return offsets


def _apply(text: str, edits: list) -> str:
    """``text`` with each (start, end, new) of ``edits`` (in order, not overlapping) done."""
    pieces, position = [], 0
    for start, end, new in edits:
        pieces += [text[position:start], new]
        position = end
    return "".join(pieces) + text[position:]


def find_submission(folder: Path, module: str, released: dict | None = None) -> tuple[Path, str]:
    """The file to grade in a submission folder and the line that names it, with why when there
    was a choice (NotGraded when there is none, or no single one). ``released``: the pair as
    handed out (``tito.editions.released_pair``, kept in ``autograder.json``)."""
    files, capped = _submitted_files(folder, source_names(module))
    named = [p for p in files if p.name in source_names(module)]
    if is_pair(named):
        chosen, why = graded_of(named, released)  # the student's .py and notebook: tito grade's rule
        graded = f"Graded {_relative(chosen, folder)} of {', '.join(_relative(p, folder) for p in named)} ({why})"
        return chosen, _with_the_rest(graded, files, named, folder)
    if len(named) > 1:
        raise NotGraded(f"Submit one file: this submission has {', '.join(_relative(p, folder) for p in named)}, "
                        f"and the autograder cannot tell which is your work.")
    sources = named or [p for p in files if p.suffix.lower() in SUFFIXES]
    if len(sources) == 1:
        return sources[0], _with_the_rest(f"Graded {_relative(sources[0], folder)}", files, sources, folder)
    found = ", ".join(_relative(p, folder) for p in files[:10]) or "no files"
    more = f" (and more: only the first {SUBMISSION_LIMIT} files were looked at)" if capped else ""
    raise NotGraded(f"Submit your {module}_dev.py (or {module}_dev.ipynb) for module {module}; "
                    f"this submission has {found}{more}.")


def _with_the_rest(graded: str, files: list[Path], used: list[Path], folder: Path) -> str:
    """'Graded cnn_dev.py; left out of your submission: helper.py, notes.txt.' (the sentence ends there)."""
    rest = [_relative(p, folder) for p in files if p not in used]
    return f"{graded}; {left_out('your', rest)}." if rest else f"{graded}."


def _submitted_files(folder: Path, wanted=()) -> tuple[list[Path], bool]:
    """The files in ``folder`` a student meant to submit, in name order, and whether there were
    more: not hidden (``.git/``, ``.ipynb_checkpoints``) nor ``__MACOSX``-like, at most
    ``SUBMISSION_LIMIT``, and beyond those the files named in ``wanted`` (the module's source,
    in a whole fork with a folder of images before ``modules/``), of at most WALK_LIMIT looked at."""
    files, capped, seen = [], False, 0
    for parent, folders, names in os.walk(folder):
        folders[:] = sorted(f for f in folders if not f.startswith((".", "__")))
        for name in sorted(names):
            path = Path(parent) / name
            if name.startswith((".", "__")):  # a FIFO or a device is listed, and refused when read
                continue
            seen += 1
            if seen > WALK_LIMIT:
                return sorted(files), True
            if len(files) >= SUBMISSION_LIMIT and name not in wanted:
                capped = True
                continue
            files.append(path)
    return sorted(files), capped


def _relative(path: Path, folder: Path) -> str:
    return showable_name(str(path.relative_to(folder)))
