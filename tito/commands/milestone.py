"""tito milestone: run a course milestone, e.g. train the CNN on handwritten digits."""

import os

# One BLAS thread: this network's products are small. Measured on a quiet 2-core machine (seed 0):
# 19.9 s wall and 19.8 s CPU on one thread, 18.9 s wall but 35.4 s CPU when two threads may run
# (they spin between the small products). One thread also makes the printed accuracy the same
# whatever the machine's load (a threaded product sums in another order). Set before NumPy is
# imported (tito imports it lazily); an explicit OPENBLAS_NUM_THREADS in the environment wins.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import click  # noqa: E402

from tito.errors import TitoError  # noqa: E402
from tito.milestones import MILESTONES  # noqa: E402


@click.command("milestone")
@click.argument("name", type=click.Choice(sorted(MILESTONES)), metavar="NAME")
@click.option("--epochs", type=click.IntRange(min=1), default=None,
              help="Training epochs (default: the milestone's own; cnn: 60).")
@click.option("--out", "out_dir", type=click.Path(file_okay=False), default=None,
              help="Folder for the PNG pictures [default: $TINYTORCH_OUTPUTS, else the course's outputs/].")
@click.option("--limit", type=click.IntRange(min=10), default=None,
              help="Use only the first N examples (a quick check; accuracy will be lower).")
@click.option("--seed", type=int, default=None, help="Random seed (default: the milestone's own).")
def command(name, epochs, out_dir, limit, seed):
    """Run a course milestone with your tinytorch.

    \b
    cnn: train a LeNet-style CNN on 1,797 handwritten 8×8 digits, tested by
         5-fold cross-validation (each digit is tested once, by the network
         that did not train on it); show the learned filters and feature maps
         (terminal; PNGs in --out), and print `test accuracy: 0.9xxx`.
         Exits 0 only at >= 0.98, the goal of the full run; a run
         shortened by --limit or fewer --epochs only has to finish.

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
        module = _module_with_stub(str(error))
        left = _stubs_left()
        raise TitoError(
            f"The milestone reached code that is not implemented yet: {error}",
            hint=(f"Finish it in {module.relative(module.dev_file)}; `tito test --module {module.name}` "
                  "tests and exports it." if module else
                  "Finish it; `tito test --module NAME` tests and exports the module that holds it.")
                 + (f"\nStill to write: {left}." if left else ""),
        ) from None
    console().print(f"trained and evaluated in {result.seconds:.1f} s")
    shortened = limit is not None or (epochs is not None and epochs < program.EPOCHS)
    if not result.passed:
        goal = f"The test accuracy {result.accuracy:.4f} is below the goal of {program.PASS_ACCURACY:.2f}"
        err_console().print(f"[yellow]{goal}" + (
            f", which is the full run's (without --limit, at least {program.EPOCHS} epochs)." if shortened
            else ".") + "[/]", highlight=False)
    click.echo(f"test accuracy: {result.accuracy:.4f}")
    if not result.passed and not shortened:
        raise SystemExit(1)


def _load(name):
    """The milestone's program module; a missing tinytorch module becomes a clear error."""
    import importlib

    try:
        program = importlib.import_module(MILESTONES[name])
        for needed in program.NEEDS:
            importlib.import_module(needed)
    except ImportError as error:
        module = _module_exporting(error.name or "")
        if module is not None:
            hint = (f"It comes from module {module.dirname}: finish it (and the modules before it; "
                    f"`tito status` shows where you are), then `tito test --module {module.name}` "
                    "tests and exports it.")
        else:
            hint = ("Finish the modules it builds on, in order, each with `tito test --module NAME` "
                    "(which tests and exports it); `tito status` shows where you are.")
        raise TitoError(
            f"The '{name}' milestone needs tinytorch module '{error.name}', which cannot be imported.",
            hint=hint,
        ) from None
    return program


def _module_exporting(dotted: str):
    """The course module whose export is ``dotted`` (e.g. tinytorch.core.training), or None.

    Only a module a student can make: `tito export --all` would export stubs too.
    """
    from tito.course import Course

    try:
        course = Course.here()
    except TitoError:
        return None
    return course.exporting_to(dotted)


def _stubs_left() -> str:
    """'dataloader (TensorDataset.__init__ and 8 more); optimizers (SGD.step, Adam.step)': every
    module's stubs, in order."""
    from tito.course import Course
    from tito.testing.runner import stubs_of

    try:
        modules = Course.here().in_prerequisite_order()
    except TitoError:
        return ""
    parts = []
    for module in modules:
        names = [name for name, _ in stubs_of(module)] if module.dev_file.exists() else []
        if names:
            shown = ", ".join(names) if len(names) <= 3 else f"{names[0]} and {len(names) - 1} more"
            parts.append(f"{module.name} ({shown})")
    return "; ".join(parts)


def _module_with_stub(message: str):
    """The course module whose source holds the stub that raised ``message``, or None."""
    from tito.course import Course
    from tito.format import stub_message, unimplemented

    try:
        course = Course.here()
    except TitoError:
        return None
    for module in course.modules:
        text = module.source() if module.dev_file.exists() else ""
        if any(stub_message(name) == message for name, _ in unimplemented(text)):
            return module
    return None


# What Ctrl-C keeps (said by tito.cli)
command.interrupted = (
    "nothing was recorded; only the pictures it said it saved were written."
)
