"""Options shared by several commands: choosing one module or all of them; the --json report file."""

import json
from pathlib import Path

import click

from tito.course import Course
from tito.errors import TitoError
from tito.files import MAX_REPORT_BYTES


def module_choice(func):
    """Add ``--module NAME`` and ``--all`` to a command."""
    func = click.option("--all", "all_modules", is_flag=True, help="Every module, in prerequisite order.")(func)
    return click.option("--module", "-m", "module_name", metavar="NAME",
                        help="A module, named as cnn, 06 or 06_cnn.")(func)


def chosen_modules(course: Course, module_name, all_modules, required=True, keep_going=False):
    """The modules a command works on, from --module or --all (``keep_going``: the command's
    --keep-going, which only --all can use)."""
    if module_name and all_modules:
        raise TitoError("Give either --module NAME or --all, not both.", exit_code=2)
    if keep_going and module_name:
        raise TitoError(f"--keep-going is for --all (go on to the next module after one fails); --module "
                        f"{module_name} names one module.", exit_code=2)
    if module_name:
        return [course.get(module_name)]
    if all_modules or not required:
        return course.in_prerequisite_order()
    raise TitoError("Say which module: --module NAME (e.g. --module cnn) or --all.", exit_code=2)


# Top-level keys that tell a JSON report tito wrote, per command: `tito test` (one module: steps;
# --all: modules) and `tito grade` (tito's format, Gradescope's and PrairieLearn's results all have
# score and tests).
REPORT_KEYS = {"test": ({"passed", "steps"}, {"passed", "modules"}), "grade": ({"score", "tests"},)}


def json_report_option(command: str, help: str):
    """``--json FILE``, checked before any work: its folder must exist, and a file already there is
    replaced only when it is a report of the same ``command`` (``report_in``)."""
    def target(ctx, param, path):
        if path is None:
            return None
        folder = path.absolute().parent
        if not folder.is_dir():
            raise TitoError(f"--json {path}: its folder {folder} does not exist.",
                            hint="Give a file in an existing folder (nothing has run).", exit_code=2)
        if (path.exists() or path.is_symlink()) and report_in(path, command) is None:
            raise TitoError(f"--json {path}: {path} exists and is not a JSON report of tito {command}, so it is not "
                            "replaced.", hint="Give another file name, or move that file away first (nothing has run).",
                            exit_code=2)
        return path

    return click.option("--json", "json_file", type=click.Path(dir_okay=False, path_type=Path), metavar="FILE",
                        callback=target, help=help)


def edition_option(func):
    """--edition DIR: the student edition submissions came from, so that of a student's .py and
    notebook the one still as released is not graded (tito.grading.submission.graded_of)."""
    return click.option(
        "--edition", type=click.Path(exists=True, file_okay=False, path_type=Path), metavar="DIR",
        help="The student edition the students received (tito release's --out): of a student's .py and notebook, "
             "the one still as released there is not graded. Default: the module as tito release writes it, "
             "with or without --repository (the URL in the Colab cell's REPOSITORY line never counts).")(func)


def report_in(path: Path, command: str) -> dict | None:
    """The JSON report of ``tito command`` a regular file holds, else None."""
    try:
        if path.is_symlink() or not path.is_file() or path.stat().st_size > MAX_REPORT_BYTES:
            return None
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError):
        return None
    return data if isinstance(data, dict) and any(keys <= data.keys() for keys in REPORT_KEYS[command]) else None


def grading_options(func):
    """``--module NAME`` (the module graded), ``--timeout S`` and ``--calibrate/--no-calibrate``,
    as ``tito grade`` and the learning platforms' bundles take them."""
    from tito.grading.sandbox import DEFAULT_TIMEOUT  # here: tito.grading is slow to import for other commands

    for option in reversed([
        click.option("--module", "-m", "module_name", required=True, metavar="NAME",
                     help="The module graded, e.g. cnn."),
        click.option("--timeout", default=DEFAULT_TIMEOUT, show_default=True, metavar="S",
                     type=click.FloatRange(min=0, min_open=True),
                     help="Seconds one submission may take, everything included; checks unfinished then score 0."),
        click.option("--calibrate/--no-calibrate", default=True, show_default=True,
                     help="Run the checks on the released stub first; a check it already passes earns 0."),
    ]):
        func = option(func)
    return func

