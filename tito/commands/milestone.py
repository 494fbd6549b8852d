"""tito milestone: run a course milestone, e.g. train the CNN on handwritten digits."""

import os

# One BLAS thread: this network's matrices are small, and on a 2-core machine OpenBLAS's
# threads cost more than they save (measured 2.7 s vs 0.2 s per epoch). Set before NumPy is
# imported (tito imports it lazily); an explicit OPENBLAS_NUM_THREADS in the environment wins.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import click  # noqa: E402

from tito.errors import TitoError  # noqa: E402


@click.command("milestone")
@click.argument("name", type=click.Choice(["cnn"]), metavar="NAME")
@click.option("--epochs", type=click.IntRange(min=1), default=None,
              help="Training epochs (default: the milestone's own; cnn: 60).")
@click.option("--out", "out_dir", type=click.Path(file_okay=False), default="outputs",
              show_default=True, help="Folder for the PNG pictures.")
@click.option("--limit", type=click.IntRange(min=10), default=None,
              help="Use only the first N examples (a quick check; accuracy will be lower).")
@click.option("--seed", type=int, default=None, help="Random seed (default: the milestone's own).")
def command(name, epochs, out_dir, limit, seed):
    """Run a course milestone with your tinytorch.

    \b
    cnn: train a LeNet-style CNN on 1,797 handwritten 8×8 digits (80/20 split),
         show its learned filters and feature maps (terminal; PNGs in --out),
         and print `test accuracy: 0.9xxx`. Exits 0 only at >= 0.98.

    \b
    Examples:
      tito milestone cnn
      tito milestone cnn --out pictures/
      tito milestone cnn --epochs 1 --limit 300     # a quick smoke run
    """
    from tito.console import console, err_console

    program = _load(name)
    kwargs = {"out_dir": out_dir, "limit": limit, "console": console()}
    if epochs is not None:
        kwargs["epochs"] = epochs
    if seed is not None:
        kwargs["seed"] = seed
    try:
        result = program.run(**kwargs)
    except NotImplementedError as error:
        raise TitoError(
            f"The milestone reached code that is not implemented yet: {error}",
            hint="Finish that module, then `tito export --all` and `tito test --all`.",
        ) from None
    console().print(f"trained and evaluated in {result.seconds:.1f} s")
    if not result.passed:
        err_console().print(
            f"[yellow]The test accuracy {result.accuracy:.4f} is below the goal of "
            f"{program.PASS_ACCURACY:.2f}.[/]", highlight=False)
    click.echo(f"test accuracy: {result.accuracy:.4f}")
    if not result.passed:
        raise SystemExit(1)


def _load(name):
    """The milestone's program module; a missing tinytorch module becomes a clear error."""
    import importlib

    from tito.milestones import MILESTONES

    try:
        program = importlib.import_module(MILESTONES[name])
        importlib.import_module("tinytorch.core.training")
        importlib.import_module("tinytorch.datasets")
    except ImportError as error:
        raise TitoError(
            f"The '{name}' milestone needs tinytorch module '{error.name}', which cannot be imported.",
            hint="Export every module first: tito export --all",
        ) from None
    return program
