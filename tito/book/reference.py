"""The tito command reference, generated from Click's own help: every command and subcommand."""

from __future__ import annotations

from dataclasses import dataclass

import click

from tito.book.markdown import markdown_text

HELP_WIDTH = 80  # what a chapter's code block shows without scrolling


@dataclass
class CommandHelp:
    """One command's help as ``tito NAME --help`` prints it, e.g. path 'tito book build'."""

    path: str
    summary: str
    text: str


def command_help(group: click.Group | None = None, prog: str = "tito") -> list[CommandHelp]:
    """The help of ``group`` (default: tito's CLI) and of every command under it, depth first."""
    if group is None:
        from tito.cli import cli as group
    settings = {"terminal_width": HELP_WIDTH, "max_content_width": HELP_WIDTH, **group.context_settings}
    return list(_walk(group, click.Context(group, info_name=prog, **settings)))


def _walk(command: click.Command, ctx: click.Context):
    yield CommandHelp(ctx.command_path, command.get_short_help_str(limit=120), command.get_help(ctx))
    if isinstance(command, click.Group):
        for name in command.list_commands(ctx):
            sub = command.get_command(ctx, name)
            if sub is not None and not sub.hidden:
                yield from _walk(sub, click.Context(sub, info_name=name, parent=ctx, **sub.context_settings))


def reference_markdown(helps: list[CommandHelp]) -> str:
    """A MyST page: a table of contents, then each command's help verbatim."""
    lines = ["# Command reference", "",
             "Every `tito` command, with the help it prints for `--help` (generated from it when the "
             "site was built). A module is named as `cnn`, `06` or `06_cnn`.", "",
             "| command | what it does |", "| --- | --- |"]
    lines += [f"| [`{h.path}`](#{_anchor(h.path)}) | {markdown_text(h.summary)} |" for h in helps]
    for item in helps:
        lines += ["", f"({_anchor(item.path)})=", f"## `{item.path}`", "", "````text", item.text.rstrip(), "````"]
    return "\n".join(lines) + "\n"


def _anchor(path: str) -> str:
    return "cmd-" + path.replace(" ", "-")


