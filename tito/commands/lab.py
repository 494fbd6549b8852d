"""tito lab: open JupyterLab on a module's notebook, with this course's tinytorch importable."""

import importlib.util
import os
import sys

import click

from tito.console import say
from tito.course import Course
from tito.deps import JUPYTER_HINT
from tito.errors import TitoError


@click.command("lab")
@click.argument("name", required=False)
@click.option("--no-browser", is_flag=True, help="Do not open a browser (on a server; open the printed URL).")
@click.option("--port", type=click.IntRange(1, 65535), default=None,
              help="Port for JupyterLab (default: its own, 8888).")
def command(name, no_browser, port):
    """Open JupyterLab on module NAME's notebook, or on the course.

    The notebook modules/source/NN_name/name_dev.ipynb is written from name_dev.py when it
    is missing or when you edited the .py last. The notebook's kernel imports this course's
    tinytorch (the course root and every module folder are on PYTHONPATH), and `tito test`
    tests what you save there. Ctrl-C stops JupyterLab.

    \b
    Examples:
      tito lab cnn
      tito lab cnn --no-browser --port 8890     # on a server
    """
    course = Course.here()
    if importlib.util.find_spec("jupyterlab") is None:
        raise TitoError(f"JupyterLab is not installed for {sys.executable}.",
                        hint=JUPYTER_HINT)
    target = []
    if name:
        from tito.course_lock import one_run_at_a_time
        from tito.notebooks.sync import notebook_up_to_date, sync_and_say

        module = course.get(name)
        with one_run_at_a_time(course.root):  # let go before JupyterLab starts: it runs for hours
            sync_and_say(notebook_up_to_date, module)
        target = [module.relative(module.notebook)]
    # answer_yes: one Ctrl-C stops it, as said below (Jupyter would ask y/n and go on after 5 s)
    argv = [sys.executable, "-m", "jupyter", "lab", *target, f"--ServerApp.root_dir={course.root}",
            "--ServerApp.answer_yes=True"]
    if no_browser:
        argv.append("--no-browser")
    if hasattr(os, "geteuid") and os.geteuid() == 0:  # containers often run as root; Jupyter refuses it
        argv.append("--allow-root")
    if port:
        argv += [f"--ServerApp.port={port}", "--ServerApp.port_retries=0"]
    say(f"Starting JupyterLab in {course.root}" + (f" on {target[0]}" if target else "") + "; Ctrl-C stops it.")
    sys.stdout.flush()
    sys.stderr.flush()
    os.chdir(course.root)
    os.execve(sys.executable, argv, lab_environment(course))


def lab_environment(course) -> dict:
    """JupyterLab's environment, inherited by its kernels: this one, with the course root first
    on PYTHONPATH, then every module folder (as bin/activate-tinytorch.sh does), so `import
    tinytorch` is this course's and `from cnn_dev import Conv2D` works; this Python's folder first
    on PATH, so a cell's `!tito test` finds this tito without the activate script."""
    env = dict(os.environ)
    env["PYTHONPATH"] = course.pythonpath(env.get("PYTHONPATH", ""))
    env["PATH"] = os.pathsep.join(dict.fromkeys([os.path.dirname(sys.executable),
                                                 *env.get("PATH", os.defpath).split(os.pathsep)]))
    env["TITO_ROOT"] = str(course.root)
    return env
