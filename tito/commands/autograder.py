"""tito autograder: package a module's grading for a learning platform (Gradescope, PrairieLearn)."""

from pathlib import Path

import click

from tito.console import console
from tito.course import Course
from tito.options import edition_option, grading_options


@click.group("autograder")
def command():
    """Package a module's grading for Gradescope or PrairieLearn.

    No reference solution is in a bundle: the checks compare with results computed beforehand.

    \b
    Example:
      tito autograder gradescope --module cnn --out dist/
      tito autograder prairielearn --module cnn --out dist/ --image me/tito-cnn
    """


def bundle_options(func):
    """The options both platforms' bundles take."""
    func = click.option("--out", "out", required=True, type=click.Path(file_okay=False, path_type=Path), metavar="DIR",
                        help="Folder for the zip (a previous one there is replaced).")(edition_option(func))
    return grading_options(func)


@command.command("gradescope", short_help="A zip that grades a module on Gradescope.")
@bundle_options
def gradescope(module_name, out, timeout, calibrate, edition):
    """Write NAME-autograder.zip for Gradescope: setup.sh and run_autograder at its root.

    The checks' expected results are computed here, now, with a secret seed drawn for this
    bundle; in the container, each submission runs in a sandbox (bubblewrap, or an
    unprivileged uid) and is compared with them. Upload it as the assignment's autograder.
    """
    _write("gradescope", module_name, out, timeout, calibrate, edition)


@command.command("prairielearn", short_help="A zip that grades a module on PrairieLearn.")
@bundle_options
@click.option("--image", default="", metavar="NAME",
              help="The Docker image's name, as PrairieLearn pulls it (e.g. on Docker Hub). Default: tito-NAME-grader.")
def prairielearn(module_name, out, timeout, calibrate, edition, image):
    """Write NAME-prairielearn.zip for PrairieLearn's external grader: a Dockerfile, the
    entrypoint run_prairielearn, and info.json's externalGradingOptions.

    PrairieLearn grades with no network: build the image from the unzipped bundle and push it
    (its README.md says how); the job timeout in info.json is --timeout plus 30 s (at most 600).
    The same grading as the Gradescope zip: a seed drawn now, no reference solution inside.
    """
    _write("prairielearn", module_name, out, timeout, calibrate, edition, image)


def _write(platform, module_name, out, timeout, calibrate, edition, image=""):
    from tito.grading.bundle import build, bundle_path, try_locally

    course = Course.here()
    module = course.get(module_name)
    replaced = bundle_path(out, module.name, platform).exists()
    target, names = build(course, module, out, platform, timeout=timeout, calibrate=calibrate, edition=edition,
                          image=image)
    replacing = ", replaced the previous one" if replaced else ""
    console().print(f"Wrote {target} ({target.stat().st_size // 1024} KB{replacing}): "
                    f"{', '.join(names)}. No reference solution of '{module.name}' is in it.",
                    markup=False, highlight=False, soft_wrap=True)
    console().print(try_locally(target, platform), markup=False, highlight=False, soft_wrap=True)
