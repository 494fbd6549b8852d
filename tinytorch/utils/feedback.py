"""Friendly feedback printed by the inline ``test_unit_*`` functions of every module.

One small helper so that every module's tests speak with the same voice::

    unit_test("Conv2D implementation")   # 🔬 Unit Test: Conv2D implementation...
    passed("Output shapes match")        # ✅ Output shapes match
    progress("Conv2D")                   # 📈 Progress: Conv2D ✓

Output goes through Rich, which prints plain text when ``NO_COLOR`` is set or
stdout is not a terminal, so logs stay readable. In Jupyter, Rich shows coloured HTML, even
under ``NO_COLOR``: there ``NO_COLOR`` makes it print plain text, as in a terminal (the course
website's executed notebooks are built so).
"""

import os
from functools import lru_cache

from rich.markup import escape


@lru_cache(maxsize=1)
def _console():
    from rich.console import Console

    return Console(highlight=False, force_jupyter=False if os.environ.get("NO_COLOR") else None)


def unit_test(title: str) -> None:
    """Announce a unit test: ``🔬 Unit Test: <title>...``."""
    _console().print(f"[bold cyan]🔬 Unit Test: {escape(title)}...[/]")


def passed(message: str) -> None:
    """Report one check that passed: ``✅ <message>``."""
    _console().print(f"[green]✅ {escape(message)}[/]")


def progress(component: str) -> None:
    """Mark a component as done: ``📈 Progress: <component> ✓``."""
    _console().print(f"[bold magenta]📈 Progress: {escape(component)} ✓[/]")


def info(message: str, icon: str = "📊") -> None:
    """Print an explanatory line, e.g. ``📊 Visualizing convolution operation...``."""
    _console().print(f"{icon} {escape(message)}")
