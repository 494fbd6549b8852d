"""Rich consoles shared by every command: colour on a terminal, plain text in CI logs or with NO_COLOR.

Plain text is never wrapped: people copy paths and commands out of logs, and a line broken at
column 100 copies as two. A table in plain text is as wide as its widest cell.
"""

import os
import sys
from functools import lru_cache

# Wide enough that no line of plain output is ever wrapped.
PLAIN_WIDTH = 100_000


def plain_output(stream=None) -> bool:
    """True when output should be plain text: NO_COLOR is set or the stream is not a terminal."""
    stream = stream or sys.stdout
    return "NO_COLOR" in os.environ or not (hasattr(stream, "isatty") and stream.isatty())


def _make(stderr: bool):
    from rich.console import Console

    stream = sys.stderr if stderr else sys.stdout
    if plain_output(stream):
        return Console(stderr=stderr, no_color=True, highlight=False, emoji=False, width=PLAIN_WIDTH,
                       force_terminal=False, color_system=None)
    return Console(stderr=stderr, highlight=False)


@lru_cache(maxsize=None)
def console():
    """The console for normal output (stdout)."""
    return _make(stderr=False)


@lru_cache(maxsize=None)
def err_console():
    """The console for errors and warnings (stderr)."""
    return _make(stderr=True)


def table(*columns: str, title: str = ""):
    """A Rich table that stays ASCII in plain mode so CI logs read well."""
    from rich import box
    from rich.table import Table

    style = box.ASCII if plain_output() else box.ROUNDED
    t = Table(title=title or None, box=style, title_justify="left")
    for name in columns:
        t.add_column(name)
    return t


def say(text: str) -> None:
    """Print ``text`` to stdout as it is: no markup, no highlighting, never wrapped."""
    console().print(text, highlight=False, markup=False, soft_wrap=True)


def escape(text: str) -> str:
    """``text`` with its Rich markup escaped, to print inside a markup string."""
    from rich.markup import escape as escape_markup

    return escape_markup(text)


def warn(message: str) -> None:
    err_console().print(f"[yellow]Warning:[/] {escape(message)}", highlight=False, soft_wrap=True)


def first_line(text: str, width: int) -> str:
    """The first non-blank line of ``text``, cut at a word boundary to at most ``width``
    characters with '…' when longer."""
    lines = (text or "").strip().splitlines()
    line = lines[0] if lines else ""
    if len(line) <= width:
        return line
    cut = line[: width - 1]
    space = cut.rfind(" ")
    if space > width // 2:  # a word boundary not too far back
        cut = cut[:space]
    return cut.rstrip(" ,;:(") + "…"


def counted(number: int, noun: str) -> str:
    """``"1 graded check"``, ``"3 graded checks"``: a count with its noun in the right number."""
    return f"{number} {noun}{'s' * (number != 1)}"
