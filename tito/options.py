"""Options shared by several commands: choosing one module or all of them."""

import click

from tito.course import Course
from tito.errors import TitoError


def module_choice(func):
    """Add ``--module NAME`` and ``--all`` to a command."""
    func = click.option("--all", "all_modules", is_flag=True, help="Every module, in prerequisite order.")(func)
    return click.option("--module", "-m", "module_name", metavar="NAME",
                        help="A module, named as cnn, 06 or 06_cnn.")(func)


def chosen_modules(course: Course, module_name, all_modules, required=True):
    """The modules a command works on, from --module or --all."""
    if module_name and all_modules:
        raise TitoError("Give either --module NAME or --all, not both.", exit_code=2)
    if module_name:
        return [course.get(module_name)]
    if all_modules or not required:
        return course.in_prerequisite_order()
    raise TitoError("Say which module: --module NAME (e.g. --module cnn) or --all.", exit_code=2)
