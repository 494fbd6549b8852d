"""The ``tito`` command line: a Click group whose commands load lazily.

Each command lives in its own file under ``tito/commands/`` and is imported only
when it runs, so ``tito --help`` stays fast.
"""

import errno
import importlib
import importlib.util
import sys

try:
    import click
except ModuleNotFoundError as missing:  # pragma: no cover - click is a declared dependency
    from tito.deps import exit_for_missing

    exit_for_missing(missing)

from tito import __version__

COMMANDS = {
    "export": "tito.commands.export",
    "test": "tito.commands.test",
    "status": "tito.commands.status",
    "info": "tito.commands.info",
    "doctor": "tito.commands.doctor",
    "milestone": "tito.commands.milestone",
    "release": "tito.commands.release",
    "notebooks": "tito.commands.notebooks",
    "lab": "tito.commands.lab",
    "module": "tito.commands.module",
    "grade": "tito.commands.grade",
    "gradebook": "tito.commands.gradebook",
    "autograder": "tito.commands.autograder",
    "book": "tito.commands.book",
}

def summary(name: str) -> str:
    """What ``tito --help`` says of command ``name``: the first paragraph of its ``command``'s
    docstring, which ``tito NAME --help`` opens with, read from its file without importing it (so
    that ``tito --help`` stays fast); '' when it has none."""
    import ast
    from pathlib import Path

    source = Path(importlib.util.find_spec(COMMANDS[name]).origin).read_text(encoding="utf-8")
    for node in ast.parse(source).body:
        if isinstance(node, ast.FunctionDef) and node.name == "command":
            return " ".join((ast.get_docstring(node) or "").split("\n\n")[0].split())
    return ""


class LazyGroup(click.Group):
    """A group that imports a command's file only when that command is used."""

    def list_commands(self, ctx):
        return [name for name in COMMANDS if importlib.util.find_spec(COMMANDS[name]) is not None]

    def get_command(self, ctx, name):
        path = COMMANDS.get(name)
        if path is None or importlib.util.find_spec(path) is None:
            return None
        return importlib.import_module(path).command

    def resolve_command(self, ctx, args):
        """As click's, with 'Did you mean ...?' for a mistyped command (click looks only at the
        commands already imported)."""
        name = click.utils.make_str(args[0])
        if not name.startswith("-") and self.get_command(ctx, name) is None and not ctx.resilient_parsing:
            raise click.exceptions.NoSuchCommand(name, possibilities=self.list_commands(ctx), ctx=ctx)
        return super().resolve_command(ctx, args)

    def invoke(self, ctx):
        """Ctrl-C ends any command with one sentence on what was stopped and what was kept, and
        exit code 130 (Click would say only 'Aborted!' and exit 1)."""
        try:
            return super().invoke(ctx)
        except KeyboardInterrupt:
            from tito.errors import TitoError

            name = ctx.invoked_subcommand
            if not name:  # while the command was being loaded: it had not started
                raise TitoError("Stopped by Ctrl-C before the command started; nothing was changed.",
                                exit_code=130) from None
            kept = getattr(self.get_command(ctx, name), "interrupted", None) or INTERRUPTED
            raise TitoError(f"Stopped by Ctrl-C: tito {name} ended early; {kept}", exit_code=130) from None

    def format_commands(self, ctx, formatter):
        rows = [(name, summary(name)) for name in self.list_commands(ctx)]
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)


# What Ctrl-C keeps, unless a command says more in its ``command.interrupted``: tito writes every
# file whole (a temporary file renamed into place), so each is as it was or complete.
INTERRUPTED = "every file it wrote is complete and every other is as it was; run it again to finish."


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="tito")
def cli():
    """tito: the TinyTorch course toolkit.

    \b
    Students:    edit modules/source/06_cnn/cnn_dev.py (or `tito lab cnn`), then `tito test --module cnn`
    Instructors: `tito test --all`, `tito release`, `tito grade`, `tito gradebook`
    Everything:  `tito status`; is this machine ready? `tito doctor`
    """


def main():
    from tito.console import tolerate_narrow_streams

    tolerate_narrow_streams()
    try:
        cli(prog_name="tito")
    except ModuleNotFoundError as missing:
        from tito.deps import exit_for_missing

        exit_for_missing(missing)
    except OSError as error:
        if error.errno not in UNWRITABLE:
            raise
        _unwritable(error)


UNWRITABLE = {errno.EACCES, errno.EPERM, errno.EROFS}


def _unwritable(error: OSError) -> None:
    """A file tito may not write (a read-only course, a shared folder): say so, no traceback."""
    from tito.errors import TitoError

    where = f" {error.filename}" if error.filename else ""
    TitoError(f"Cannot write{where}: {error.strerror or error}.",
              hint="Is the course folder read-only? `tito doctor` checks; `tito test` still tests a "
                   "read-only course, without recording the results.").show()
    sys.exit(1)
