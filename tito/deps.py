"""The Python packages tito and the course need, by import name and by pip name."""

import sys

REQUIRED = {  # import name -> pip name
    "numpy": "numpy",
    "click": "click",
    "rich": "rich",
    "jupytext": "jupytext",
    "pytest": "pytest",
    "yaml": "PyYAML",
}
FOR_TESTS = {"hypothesis": "hypothesis"}
OPTIONAL = {"matplotlib": "matplotlib"}


def install_hint(pip_name: str) -> str:
    return (f"Install it with `make install` (or `pip install -e '.[dev]'` in the course folder), "
            f"or just `pip install {pip_name}`.")


def exit_for_missing(error: ModuleNotFoundError) -> None:
    """Turn a missing dependency into a clear message and exit 1; re-raise anything else."""
    top = (error.name or "").split(".")[0]
    known = {**REQUIRED, **FOR_TESTS, **OPTIONAL}
    if top not in known:
        raise error
    sys.stderr.write(f"Error: tito needs the Python package '{known[top]}', which is not installed "
                     f"for {sys.executable}.\n{install_hint(known[top])}\n")
    sys.exit(1)


def skip_slow_optional_imports() -> None:
    """jsonschema (under nbformat, under jupytext) imports rfc3987_syntax when it is installed,
    which builds a grammar for about a second of CPU; nbformat's schema never checks IRIs, so
    tito's processes skip it. A process that imported it already keeps it."""
    sys.modules.setdefault("rfc3987_syntax", None)


def load_jupytext():
    """jupytext, imported without the slow optional imports under it."""
    skip_slow_optional_imports()
    import jupytext

    return jupytext
