"""From a line of a generated file back to the line of the module source it came from.

A generated file holds each exported cell's code after a cell marker naming the source and
the cell's number among the exported cells (``tito.format.cell_marker``). The marker carries
no line number, so a text edit in the source leaves the generated file as it is; the line is
found by content instead: the generated cell's lines are matched against the source cell's
(they are the same lines, less directives and solution markers), and a generated line maps to
the source line it equals.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from pathlib import Path

from tito import format


def source_of(root: Path, location: str, reads: Reads | None = None) -> str:
    """For 'tinytorch/core/cnn.py:120' in a generated file, 'modules/source/06_cnn/cnn_dev.py:345'.

    '' when the location is not in a generated cell, or its line is no longer in the source.
    ``reads`` keeps the files read for other locations of the same run (see ``add_sources``).
    """
    path, _, number = location.rpartition(":")
    if not path.endswith(".py") or not number.isdigit():
        return ""
    reads = reads if reads is not None else Reads()
    lines = reads.lines(Path(path) if Path(path).is_absolute() else root / path)
    if lines is None:
        return ""
    wanted = int(number) - 1
    found = _enclosing_cell(lines, wanted)
    if found is None:
        return ""
    marker_at, source, cell_number = found
    cell_lines = lines[marker_at + 1:_cell_end(lines, marker_at)]
    while cell_lines and not cell_lines[-1].strip():  # the blank lines between cells
        cell_lines.pop()
    origin = _source_lines(reads.exported_cells(root / source), cell_number)
    index = wanted - marker_at - 1
    if origin is None or index >= len(cell_lines):
        return ""
    numbers, texts = zip(*origin) if origin else ((), ())
    matched = _matching_line(cell_lines, list(texts), index)
    return "" if matched is None else f"{source}:{numbers[matched]}"


@dataclass
class Reads:
    """The generated files and module sources read so far, each read (and parsed) once: a run
    with dozens of failures maps them all against the same few files."""

    generated: dict[Path, list[str] | None] = field(default_factory=dict)
    sources: dict[Path, list | None] = field(default_factory=dict)

    def lines(self, path: Path) -> list[str] | None:
        """A generated file's lines; None when it cannot be read."""
        if path not in self.generated:
            try:
                self.generated[path] = path.read_text(encoding="utf-8").splitlines()
            except (OSError, UnicodeDecodeError):
                self.generated[path] = None
        return self.generated[path]

    def exported_cells(self, source: Path) -> list | None:
        """A module source's exported cells (``tito.exporter.exported_cells``); None when it
        cannot be read."""
        from tito.exporter import exported_cells

        if source not in self.sources:
            try:
                self.sources[source] = exported_cells(format.read_cells(source))
            except Exception:  # noqa: BLE001 - a source that cannot be read maps nothing
                self.sources[source] = None
        return self.sources[source]


def _enclosing_cell(lines: list[str], wanted: int) -> tuple[int, str, int] | None:
    """(index of the cell marker above line ``wanted``, source, exported cell number)."""
    for at in range(min(wanted, len(lines) - 1), -1, -1):
        parsed = format.parse_cell_marker(lines[at])
        if parsed:
            return (at, *parsed)
    return None


def _cell_end(lines: list[str], marker_at: int) -> int:
    """Index of the line after a generated cell (the next marker, or the closing __all__)."""
    for at in range(marker_at + 1, len(lines)):
        if format.parse_cell_marker(lines[at]) or lines[at].startswith("__all__ = ["):
            return at
    return len(lines)


def _source_lines(cells: list | None, number: int) -> list[tuple[int, str]] | None:
    """(line number, text) of the lines the ``number``-th of a source's exported ``cells`` puts
    into the package: its code less directives and markers, as ``tito.exporter.exported_code``."""
    if cells is None or not 1 <= number <= len(cells):
        return None
    cell = cells[number - 1][0]
    kept = [(cell.line + offset, text) for offset, text in enumerate(cell.code.splitlines())
            if not format.is_directive(text) and not format.is_marker(text)]
    return kept


def _matching_line(generated: list[str], source: list[str], index: int) -> int | None:
    """The index in ``source`` of the line that ``generated[index]`` is, matched by content."""
    matcher = difflib.SequenceMatcher(None, generated, source, autojunk=False)
    for start, source_start, size in matcher.get_matching_blocks():
        if start <= index < start + size:
            return source_start + index - start
    return None


def add_sources(root: Path, step) -> None:
    """Append ' (source: modules/source/...:L)' to each failure located in a generated file."""
    reads = Reads()
    for test in step.failures:
        origin = source_of(root, test.location, reads) if test.location else ""
        if origin:
            test.location += f" (source: {origin})"
