"""tito autograder: package a module's grading for a learning platform (Gradescope)."""

from pathlib import Path

import click

from tito.console import console
from tito.course import Course
from tito.grading.sandbox import DEFAULT_TIMEOUT


@click.group("autograder")
def command():
    """Package a module's grading for a learning platform.

    \b
    Example:
      tito autograder gradescope --module cnn --out dist/
    """


@command.command("gradescope")
@click.option("--module", "-m", "module_name", required=True, metavar="NAME", help="The module graded, e.g. cnn.")
@click.option("--out", "out", required=True, type=click.Path(file_okay=False, path_type=Path), metavar="DIR",
              help="Folder for NAME-autograder.zip (a previous one there is replaced).")
@click.option("--timeout", default=DEFAULT_TIMEOUT, show_default=True, metavar="S", type=click.FloatRange(min=0, min_open=True),
              help="Seconds one submission may take, everything included.")
@click.option("--calibrate/--no-calibrate", default=True, show_default=True,
              help="Run the checks on the released stub first; a check it already passes earns 0.")
def gradescope(module_name, out, timeout, calibrate):
    """Write a Gradescope autograder zip for a module, with no reference solution in it.

    The zip has setup.sh and run_autograder at its root (Gradescope's specification).
    The checks' expected results are computed here, now, with a secret seed drawn for this
    bundle; in the container, each submission runs in a sandbox (bubblewrap, or an
    unprivileged uid) and is compared with them. Upload it as the assignment's autograder.
    """
    from tito.grading.bundle import build_gradescope, bundle_path, try_locally

    course = Course.here()
    module = course.get(module_name)
    replaced = bundle_path(out, module.name).exists()
    target, names = build_gradescope(course, module, out, timeout=timeout, calibrate=calibrate)
    console().print(f"Wrote {target} ({target.stat().st_size // 1024} KB{', replaced the previous one' if replaced else ''}): "
                    f"{', '.join(names)}. No reference solution of '{module.name}' is in it.",
                    markup=False, highlight=False, soft_wrap=True)
    console().print(try_locally(target), markup=False, highlight=False, soft_wrap=True)
