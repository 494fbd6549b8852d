"""The one exception type for a user's mistake: printed as a clear message, never a traceback."""

import click


class TitoError(click.ClickException):
    """A problem the user can fix. ``hint`` says how; ``exit_code`` is 1 unless told otherwise."""

    def __init__(self, message: str, hint: str = "", exit_code: int = 1):
        super().__init__(message)
        self.hint = hint
        self.exit_code = exit_code

    def show(self, file=None) -> None:
        from tito.console import err_console

        console = err_console()
        from rich.markup import escape

        console.print(f"[bold red]Error:[/] {escape(self.message)}", highlight=False, soft_wrap=True)
        if self.hint:
            console.print(self.hint, highlight=False, markup=False, soft_wrap=True)


class UnknownModuleError(TitoError):
    def __init__(self, message: str, hint: str = ""):
        super().__init__(message, hint, exit_code=2)
