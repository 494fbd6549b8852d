"""Plain data across the sandbox wall: what a check returns, written inside, read back outside.

A check's result is one *record*: ``{"value": V}`` or ``{"raised": {"type", "mro", "message"}}``
(and ``"names"``, the words a check asked the message to name: ``naming``); a refusal made with
``refuses`` also holds ``"accepted": V``, the function's value on a valid input.
``V`` is plain data only — None, bool, int, float, str, lists/tuples, dicts with str keys,
NumPy scalars and arrays of booleans, integers or floats. It is stored as two files:

* ``NAME.json``: the structure, with each array replaced by ``{"$array": "a3"}`` and each dict
  by ``{"$dict": {...}}``;
* ``NAME.npz``: the arrays, uncompressed (``np.savez``), one ``a3.npy`` member each.

``write_record`` runs in the sandbox, so nothing it writes is trusted. ``read_record`` runs in
the grader and refuses anything that is not exactly that: a symbolic link, a file too large, a
zip member that is compressed, unexpectedly named or declares more bytes than allowed (checked
before anything is loaded), an array of another dtype; arrays load with ``allow_pickle=False``.
"""

from __future__ import annotations

import io
import json
import os
import re
import stat
import unicodedata
from pathlib import Path

MAX_JSON_BYTES = 1 << 20  # one record's structure
MAX_ARRAY_BYTES = 64 << 20  # all arrays of one record together
MAX_DEPTH = 32
MAX_MEMBERS = 1024  # arrays in one record's archive (each a zip member the grader must look at)
MAX_MESSAGE = 2000  # characters of an exception message kept
ARRAY_KINDS = "biuf"  # bool, int, unsigned, float
NAMES = "tito_names"  # the attribute ``naming`` gives an exception: the words its message must name
ACCEPTED = "tito_accepted"  # the attribute ``refuses`` gives it: (the value on a valid input,)
MAX_NAMES = 20
IMPORT_RECORD = "_import"  # probe.py's record of importing the module under test: a value, or what it raised
MEMBER = re.compile(r"^a(\d{1,6})\.npy$")
MAX_MEMBER_NAME = 64  # bytes of a member's name in the directory (a123456.npy: 11)
MAX_JSON_DEPTH = 64  # any JSON from the sandbox: a record (MAX_DEPTH and its wrapping) or status.json
# what text from the sandbox may not hold as it is: control characters but newline and tab (a
# terminal would run escape sequences), direction overrides (they reorder what is shown) and lone
# surrogates (JSON can spell them; no file or terminal can encode them)
UNSHOWABLE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")
# in a name, also: controls (a line break, a tab), format characters (zero-width ones), line and
# paragraph separators
INVISIBLE = {"Cc", "Cf", "Zl", "Zp"}


class NotPlainData(TypeError):
    """A check returned something that is not plain data (e.g. a Tensor object)."""


class UnreadableRecord(ValueError):
    """A record written in the sandbox that the grader refuses to read."""


# --------------------------------------------------------------------------- writing (sandbox side)


def raised(exc: BaseException) -> dict:
    """The record of a check that raised ``exc``: its type, the names it inherits, its message, and
    the words a check asked its message to name (``naming``)."""
    kind = type(exc)
    record = {"type": kind.__name__, "mro": [k.__name__ for k in kind.__mro__], "message": str(exc)[:MAX_MESSAGE]}
    names = getattr(exc, NAMES, None)
    if isinstance(names, list) and all(type(n) is str for n in names):
        record["names"] = names
    accepted = getattr(exc, ACCEPTED, None)
    if type(accepted) is tuple and len(accepted) == 1:
        return {"raised": record, "accepted": accepted[0]}
    return {"raised": record}


def naming(call, *words):
    """``call()``; an exception it raises must name each of ``words`` (their ``str``), e.g. the
    seeded shapes a refusal is about: a check's way to ask for words drawn from its seed, which
    the student cannot know in advance. The grader takes the words from the reference's record,
    made outside the sandbox, never from the student's."""
    try:
        return call()
    except Exception as exc:
        _mark(exc, NAMES, [str(word) for word in words])
        raise


def refuses(valid, call, *words):
    """What a ``..._rejects_...`` check returns: ``valid()``, the function on a valid input drawn
    from the seed, then ``call()``, the same function on a bad one, which must raise naming each
    of ``words`` (``naming``). The value of ``valid()`` joins the refusal's record (``accepted``)
    and is judged as any value: a function that refuses everything earns nothing. If ``call()``
    returns, its value is the record (the check fails: nothing was refused)."""
    accepted = valid()
    try:
        return naming(call, *words)
    except Exception as exc:
        _mark(exc, ACCEPTED, (accepted,))
        raise


def _mark(exc: BaseException, attribute: str, value) -> None:
    try:
        setattr(exc, attribute, value)
    except (AttributeError, TypeError):  # an exception that takes no attributes carries nothing
        pass


def encode(value, arrays: dict, depth: int = 0):
    """``value`` as JSON-able structure; arrays are moved into ``arrays`` (name -> ndarray)."""
    import numpy as np

    if depth > MAX_DEPTH:
        raise NotPlainData(f"nested more than {MAX_DEPTH} levels deep")
    if value is None or type(value) in (bool, str):
        return value
    if type(value) is int:
        return value
    if type(value) is float:
        return value
    if isinstance(value, np.generic) and value.dtype.kind in ARRAY_KINDS:
        return value.item()
    if type(value) is np.ndarray:
        if value.dtype.kind not in ARRAY_KINDS:
            raise NotPlainData(f"an array of dtype {value.dtype} (only bool, int and float arrays are data)")
        name = f"a{len(arrays)}"
        arrays[name] = value
        return {"$array": name}
    if type(value) in (list, tuple):
        return [encode(item, arrays, depth + 1) for item in value]
    if type(value) is dict:
        if not all(type(key) is str for key in value):
            raise NotPlainData("a dict whose keys are not all strings")
        return {"$dict": {key: encode(item, arrays, depth + 1) for key, item in value.items()}}
    raise NotPlainData(f"an object of type {type(value).__name__}")


def write_record(folder: Path, name: str, record: dict) -> None:
    """Write ``NAME.npz`` (if it has arrays) then ``NAME.json``: the JSON appears last, whole."""
    import numpy as np

    arrays: dict = {}
    for key in ("value", "accepted"):
        if key in record:
            try:
                record = {**record, key: encode(record[key], arrays)}
            except NotPlainData as exc:
                record, arrays = {**{k: v for k, v in record.items() if k != key}, "unplain": str(exc)}, {}
    if arrays:
        with open(folder / f".{name}.npz.tmp", "wb") as handle:
            np.savez(handle, **arrays)
        os.replace(folder / f".{name}.npz.tmp", folder / f"{name}.npz")
    text = json.dumps(record, allow_nan=True)
    (folder / f".{name}.json.tmp").write_text(text, encoding="utf-8")
    os.replace(folder / f".{name}.json.tmp", folder / f"{name}.json")


# --------------------------------------------------------------------------- reading (grader side)


def read_untrusted(path: Path, limit: int, below: Path | None = None) -> bytes | None:
    """The bytes of a regular file written in the sandbox, or None when it does not exist.

    Never follows a symbolic link, never blocks on a FIFO, refuses a hard link and a file
    larger than ``limit`` bytes (UnreadableRecord). ``below`` is a folder of the grader's above
    ``path``: no folder between the two may be a link either (the sandbox could have replaced
    its ``checks`` folder by a link to the expected results).
    """
    path = Path(path)
    folder = _folder(below, path.parent) if below is not None else None
    if folder == -1:
        return None
    try:
        fd = os.open(path.name if folder is not None else path,
                     os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0), dir_fd=folder)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise UnreadableRecord(f"{path.name} cannot be opened ({exc.strerror})") from None
    finally:
        if folder is not None:
            os.close(folder)
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise UnreadableRecord(f"{path.name} is not a regular file")
        if info.st_nlink != 1:
            raise UnreadableRecord(f"{path.name} is a hard link")
        if info.st_size > limit:
            raise UnreadableRecord(f"{path.name} holds {info.st_size} bytes, more than the {limit} allowed")
        chunks, total = [], 0
        while True:
            chunk = os.read(fd, 1 << 20)
            if not chunk:
                return b"".join(chunks)
            total += len(chunk)
            if total > limit:
                raise UnreadableRecord(f"{path.name} grew past the {limit} bytes allowed")
            chunks.append(chunk)
    finally:
        os.close(fd)


def _folder(anchor: Path, folder: Path) -> int:
    """A descriptor of ``folder``, reached from ``anchor`` without following a link (-1: absent)."""
    fd = os.open(anchor, os.O_RDONLY | os.O_DIRECTORY | getattr(os, "O_CLOEXEC", 0))
    try:
        for part in Path(folder).relative_to(anchor).parts:
            inner = os.open(part, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0),
                            dir_fd=fd)
            os.close(fd)
            fd = inner
    except FileNotFoundError:
        os.close(fd)
        return -1
    except OSError:
        os.close(fd)
        raise UnreadableRecord(f"{Path(folder).relative_to(anchor)} is not a folder of the sandbox's "
                               "own (a symbolic link?)") from None
    return fd


def read_json(path: Path, limit: int = MAX_JSON_BYTES, below: Path | None = None):
    """A JSON document written in the sandbox (None when absent), its text made showable
    (``showable``); UnreadableRecord if malformed or nested deeper than MAX_JSON_DEPTH.
    ``below``: as for ``read_untrusted``."""
    raw = read_untrusted(path, limit, below)
    if raw is None:
        return None
    try:
        document = json.loads(raw.decode("utf-8"))
    except (ValueError, RecursionError) as exc:
        raise UnreadableRecord(f"{path.name} is not valid JSON ({type(exc).__name__})") from None
    return _showable_json(document, path.name)


def showable(text: str) -> str:
    """``text`` from the sandbox, safe to store, encode and print: each character UNSHOWABLE
    matches is written as its escape (``\\x1b``, ``\\u202e``, ``\\ud800``)."""
    return UNSHOWABLE.sub(_escape, text)


def same_student(name: str) -> str:
    """A student's name as every part of grading compares it: in NFC (a name typed on a Mac, or
    unzipped from one, may come decomposed: ``José`` as ``Jose`` + U+0301)."""
    return unicodedata.normalize("NFC", name)


def showable_name(name: str) -> str:
    """A student's name (a file name) made safe to show on one line, as ``showable`` does, and
    also with line breaks, tabs and invisible characters escaped (``alice\\u200b`` is not
    ``alice``), and every space but a plain one between two other characters (``bob\\x20``,
    ``bob\\xa0`` and ``bob\\u3000`` are not ``bob``): no name can print a line of its own or pass
    for another."""
    shown = showable(name)
    last = len(shown) - 1
    return "".join(_escape_char(char) if _hidden_in_name(char, 0 < index < last) else char
                   for index, char in enumerate(shown))


def _hidden_in_name(char: str, inner: bool) -> bool:
    """Whether ``char`` would not show in a name: invisible, or a space other than a plain inner one."""
    category = unicodedata.category(char)
    return category in INVISIBLE or (category == "Zs" and not (char == " " and inner))


def _escape(found: re.Match) -> str:
    return _escape_char(found.group())


def _escape_char(char: str) -> str:
    code = ord(char)
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"


def _showable_json(value, name: str, depth: int = 0):
    if depth > MAX_JSON_DEPTH:
        raise UnreadableRecord(f"{name} is nested more than {MAX_JSON_DEPTH} levels deep")
    if type(value) is str:
        return showable(value)
    if type(value) is list:
        return [_showable_json(item, name, depth + 1) for item in value]
    if type(value) is dict:
        return {showable(key): _showable_json(item, name, depth + 1) for key, item in value.items()}
    return value


def _load_arrays(raw: bytes) -> dict:
    import zipfile

    import numpy as np

    _check_directory(raw)
    try:
        archive = zipfile.ZipFile(io.BytesIO(raw))
        members = archive.infolist()
    except (zipfile.BadZipFile, ValueError, OSError) as exc:
        raise UnreadableRecord(f"the arrays are not an npz archive ({exc})") from None
    declared = 0
    for member in members:
        if not MEMBER.match(member.filename):
            raise UnreadableRecord(f"unexpected member {member.filename[:60]!r} in the arrays")
        if member.compress_type != zipfile.ZIP_STORED:
            raise UnreadableRecord("a compressed member in the arrays (they are written uncompressed)")
        declared += member.file_size
        if declared > MAX_ARRAY_BYTES:
            raise UnreadableRecord(f"the arrays declare more than {MAX_ARRAY_BYTES} bytes")
    arrays = {}
    try:
        with np.load(io.BytesIO(raw), allow_pickle=False) as npz:
            for name in npz.files:
                array = npz[name]
                if array.dtype.kind not in ARRAY_KINDS:
                    raise UnreadableRecord(f"an array of dtype {array.dtype}")
                arrays[name] = array
    except UnreadableRecord:
        raise
    except Exception as exc:  # any malformed .npy header or truncated data
        raise UnreadableRecord(f"the arrays cannot be loaded ({type(exc).__name__}: {exc})") from None
    return arrays


def _check_directory(raw: bytes) -> None:
    """Refuse, before zipfile parses it, an archive that is not laid out as np.savez writes one:
    at most MAX_MEMBERS entries, each a short name with no extra field or comment, and no zip64
    records. zipfile trusts what an archive says: it took the grader minutes and hundreds of MB,
    outside any deadline, for 279,000 empty members, for a directory longer than its end record
    says, for a zip64 end record that overrules it, and for 64 KB extra fields it decodes slowly."""
    import struct

    end = raw.rfind(b"PK\x05\x06", max(0, len(raw) - (1 << 16) - 22))
    if end < 0 or end + 22 > len(raw):
        raise UnreadableRecord("the arrays are not an npz archive (no end record)")
    if end >= 20 and raw[end - 20:end - 16] == b"PK\x06\x07":  # where zipfile looks for a zip64 locator
        raise UnreadableRecord("the arrays are a zip64 archive (np.savez writes none)")
    members, size = struct.unpack("<HI", raw[end + 10:end + 16])
    if members > MAX_MEMBERS:  # 0xFFFF (zip64) included
        raise UnreadableRecord(f"the arrays hold {members} members, more than the {MAX_MEMBERS} allowed")
    if size > end:
        raise UnreadableRecord("the arrays are not an npz archive (its directory is larger than the file)")
    position, found = end - size, 0  # where zipfile starts reading the directory
    while position < end:
        if raw[position:position + 4] != b"PK\x01\x02" or position + 46 > end:
            raise UnreadableRecord("the arrays are not an npz archive (a broken directory entry)")
        name, extra, comment = struct.unpack("<HHH", raw[position + 28:position + 34])
        if name > MAX_MEMBER_NAME or extra or comment:
            raise UnreadableRecord("the arrays' directory has an entry np.savez does not write "
                                   f"(name of {name} bytes, extra field of {extra}, comment of {comment})")
        found += 1
        if found > members:
            raise UnreadableRecord(f"the arrays' directory holds more members than the {members} it declares")
        position += 46 + name


def decode(structure, arrays: dict, depth: int = 0):
    """The value a structure describes, arrays put back; UnreadableRecord for anything else."""
    if depth > MAX_DEPTH:
        raise UnreadableRecord(f"nested more than {MAX_DEPTH} levels deep")
    if structure is None or type(structure) in (bool, int, float, str):
        return structure
    if type(structure) is list:
        return [decode(item, arrays, depth + 1) for item in structure]
    if type(structure) is dict and set(structure) == {"$array"} and structure["$array"] in arrays:
        return arrays[structure["$array"]]
    if type(structure) is dict and set(structure) == {"$dict"} and type(structure["$dict"]) is dict:
        return {str(k): decode(v, arrays, depth + 1) for k, v in structure["$dict"].items()}
    raise UnreadableRecord(f"unexpected data {str(structure)[:60]!r}")


def read_record(folder: Path, name: str, below: Path | None = None) -> dict | None:
    """The record of one check written in ``folder`` (None when it was never written).

    The result is ``{"value": V}``, ``{"raised": {...}}`` or ``{"unplain": reason}``, or a
    refusal with the value on a valid input, ``{"raised": {...}, "accepted": V}`` (``refuses``;
    ``{"raised": {...}, "unplain": reason}`` when that value was not plain data);
    UnreadableRecord when the files are anything else. ``below``: as for ``read_untrusted``.
    """
    record = read_json(folder / f"{name}.json", below=below)
    if record is None:
        return None
    if type(record) is not dict or set(record) not in RECORD_SHAPES:
        raise UnreadableRecord("the record is not one of value / raised / unplain")
    result = {}
    if "raised" in record:
        result["raised"] = _raised_info(record["raised"])
    if "unplain" in record:
        result["unplain"] = str(record["unplain"])[:MAX_MESSAGE]
    data = [key for key in ("value", "accepted") if key in record]
    if data:
        raw = read_untrusted(folder / f"{name}.npz", MAX_ARRAY_BYTES + (1 << 20), below)
        arrays = _load_arrays(raw) if raw is not None else {}
        result[data[0]] = decode(record[data[0]], arrays)
    return result


RECORD_SHAPES = ({"value"}, {"unplain"}, {"raised"}, {"raised", "accepted"}, {"raised", "unplain"})


def _raised_info(info) -> dict:
    """The description of a raised exception, each part cut to its limit."""
    if type(info) is not dict or not all(type(info.get(k)) is str for k in ("type", "message")):
        raise UnreadableRecord("the raised exception is not described by type and message")
    mro = info.get("mro")
    mro = [str(m)[:100] for m in mro[:50]] if type(mro) is list else [info["type"]]
    error = {"type": info["type"][:100], "mro": mro, "message": info["message"][:MAX_MESSAGE]}
    if type(info.get("names")) is list:
        error["names"] = [str(n)[:200] for n in info["names"][:MAX_NAMES]]
    return error
