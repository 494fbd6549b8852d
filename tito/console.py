"""Rich consoles shared by every command: colour on a terminal, plain text in CI logs or with NO_COLOR.

Plain text is never wrapped: people copy paths and commands out of logs, and a line broken at
column 100 copies as two. A table in plain text is as wide as its widest cell.
"""

import codecs
import os
import sys
from functools import lru_cache

# Wide enough that no line of plain output is ever wrapped.
PLAIN_WIDTH = 100_000

# What tito's own symbols become on a stream that cannot encode them (an ASCII locale: LC_ALL=C
# with PYTHONUTF8=0); any other such character is written as a backslash escape (\xe9, \U0001f52c).
# Those that sit in table cells keep their width (✓ is '+', ✅ 'ok'): Rich measured the cells
# with the symbol, and a longer fallback would push the table's borders out of line.
FALLBACKS = {"✓": "+", "✅": "ok", "✗": "x", "×": "x", "→": "->", "…": "...", "—": "--", "–": "-", "─": "-",
             "►": ">", "−": "-", "·": "*", "‘": "'", "’": "'", "“": '"', "”": '"'}
FALLBACK_ERRORS = "tito-fallback"


def _fallback(error: UnicodeError):
    if not isinstance(error, UnicodeEncodeError):
        raise error
    bad = error.object[error.start:error.end]
    if all("\udc80" <= c <= "\udcff" for c in bad):  # a path's bytes the locale could not decode
        bad = bytes(ord(c) - 0xDC00 for c in bad).decode("utf-8", "replace")
    return "".join(FALLBACKS.get(c) or c.encode("ascii", "backslashreplace").decode("ascii") for c in bad), error.end


codecs.register_error(FALLBACK_ERRORS, _fallback)


def _encodes(text: str, encoding: str | None) -> bool:
    """True when ``encoding`` can write ``text`` (an unknown encoding: assumed to)."""
    try:
        text.encode(encoding or "utf-8")
    except UnicodeEncodeError:
        return False
    except LookupError:
        return True
    return True


def tolerate_narrow_streams() -> None:
    """Let stdout and stderr write any text, whatever their encoding: a character the stream
    cannot encode is written as its ASCII fallback or escaped, never a UnicodeEncodeError.
    Called once, when the CLI starts."""
    for stream in (sys.stdout, sys.stderr):
        encoding = getattr(stream, "encoding", None)
        if encoding is not None and hasattr(stream, "reconfigure") and not _encodes("✓🔬", encoding):
            stream.reconfigure(errors=FALLBACK_ERRORS)


def plain_output(stream=None) -> bool:
    """True when output should be plain text: NO_COLOR is set or the stream is not a terminal."""
    stream = stream or sys.stdout
    return "NO_COLOR" in os.environ or not (hasattr(stream, "isatty") and stream.isatty())


# In the environment of a Jupyter kernel, and so of a cell's `!tito`: jupyter_client's launcher
# sets JPY_PARENT_PID (JupyterLab, Binder, nbclient), Colab's runtime COLAB_RELEASE_TAG.
COLAB_VARIABLE = "COLAB_RELEASE_TAG"
JUPYTER_KERNEL_VARIABLES = ("JPY_PARENT_PID", COLAB_VARIABLE)


def live_display(stream=None) -> bool:
    """True when a display redrawn in place (a spinner, a progress bar) can be shown: output is
    not plain, and not a Jupyter cell's ``!`` command. ipykernel runs those on a pseudo-terminal,
    but the notebook keeps every frame (it ignores the cursor moves that erase one), leaving a
    garbled line such as ``⠼ cnn: pytest ... done | pytest ...``: there, progress is told line
    by line, as in a log."""
    return not plain_output(stream) and not from_a_notebook()


def from_a_notebook() -> bool:
    """True when tito runs as a notebook cell's ``!`` command (Jupyter's kernel, or Colab's)."""
    return any(name in os.environ for name in JUPYTER_KERNEL_VARIABLES)


def in_colab() -> bool:
    """True in Colab's runtime (a notebook cell's ``!`` command, or its terminal)."""
    return COLAB_VARIABLE in os.environ


def _make(stderr: bool):
    from rich.console import Console

    stream = sys.stderr if stderr else sys.stdout
    if plain_output(stream):
        return Console(stderr=stderr, no_color=True, highlight=False, emoji=False, width=PLAIN_WIDTH,
                       force_terminal=False, color_system=None)
    # from a notebook cell's `!`, a progress bar drawn on this console (the Trainer's, in `tito
    # milestone cnn`) is printed once when it ends: the notebook keeps every redrawn frame
    return Console(stderr=stderr, highlight=False, force_interactive=False if from_a_notebook() else None)


@lru_cache(maxsize=None)
def console():
    """The console for normal output (stdout)."""
    return _make(stderr=False)


@lru_cache(maxsize=None)
def err_console():
    """The console for errors and warnings (stderr)."""
    return _make(stderr=True)


def spinner(out) -> str:
    """The name of the Rich spinner ``out`` can show: its braille dots, or ``-\\|/`` on a
    stream that cannot encode them (an ASCII locale would print each frame as ``\\u280b``)."""
    return "dots" if _encodes("⠋", out.encoding) else "line"


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
