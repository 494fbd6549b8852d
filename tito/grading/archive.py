"""A prepared folder as one archive: built once, named by its sha256, unpacked where it grades.

The dask executor ships it to every worker and the Gradescope bundle carries it, so nothing
assumes a shared file system. ``pack`` makes a gzipped tar of regular files and folders only,
sorted, with owners and times zeroed (the same folder always gives the same bytes).
``unpack`` checks the sha256 first and refuses any member that is not a plain file or folder
inside the destination.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import tarfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath


class BadArchive(ValueError):
    """An archive that is not what was packed."""


@dataclass(frozen=True)
class Archive:
    data: bytes
    sha256: str

    @classmethod
    def of(cls, data: bytes) -> "Archive":
        return cls(data, hashlib.sha256(data).hexdigest())


def _clean(info: tarfile.TarInfo) -> tarfile.TarInfo:
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    info.mtime = 0
    return info


def pack(folder: Path) -> Archive:
    """The folder's files (modes kept) as a deterministic .tar.gz; links are refused."""
    folder = Path(folder)
    buffer = io.BytesIO()
    with gzip.GzipFile(fileobj=buffer, mode="wb", mtime=0, compresslevel=6) as zipped:
        with tarfile.open(fileobj=zipped, mode="w", format=tarfile.PAX_FORMAT) as tar:
            for path in [folder, *sorted(folder.rglob("*"))]:
                if "__pycache__" in path.relative_to(folder).parts:  # compiled here; nothing it unpacks needs them
                    continue
                if path.is_symlink() or not (path.is_file() or path.is_dir()):
                    raise BadArchive(f"{path} is not a plain file or folder")
                tar.add(path, arcname=path.relative_to(folder).as_posix(), recursive=False, filter=_clean)
    return Archive.of(buffer.getvalue())


def unpack(archive: Archive, destination: Path) -> Path:
    """Extract into ``destination`` (an empty folder), after checking the archive's hash and members."""
    if hashlib.sha256(archive.data).hexdigest() != archive.sha256:
        raise BadArchive("the archive's bytes do not match its sha256")
    destination = Path(destination)
    destination.mkdir(mode=0o700)
    with tarfile.open(fileobj=io.BytesIO(archive.data), mode="r:gz") as tar:
        members = tar.getmembers()
        for member in members:
            parts = PurePosixPath(member.name).parts
            if not (member.isfile() or member.isdir()) or member.name.startswith("/") or ".." in parts:
                raise BadArchive(f"unexpected member {member.name[:80]!r}")
        if hasattr(tarfile, "fully_trusted_filter"):  # Python with extraction filters (3.9.17+, 3.11.4+)
            tar.extractall(destination, members, filter="fully_trusted")  # checked above; keeps the modes
        else:
            tar.extractall(destination, members)
    os.chmod(destination, 0o700)
    return destination
