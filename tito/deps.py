"""The Python packages tito and the course need, by import name and by pip name."""

import sys

REQUIRED = {  # import name -> pip name
    "numpy": "numpy",
    "click": "click",
    "rich": "rich",
    "jupytext": "jupytext",
    "pytest": "pytest",
    "yaml": "PyYAML",
    "threadpoolctl": "threadpoolctl",
}
FOR_TESTS = {"hypothesis": "hypothesis"}
OPTIONAL = {"matplotlib": "matplotlib"}
JUPYTER = {"jupyterlab": "jupyterlab", "ipykernel": "ipykernel", "nbclient": "nbclient"}  # `tito lab`, notebooks
JUPYTER_HINT = ("Run `make install` in the course folder (it installs the `jupyter` extra), "
                "or `pip install -e '.[jupyter]'`.")


def install_hint(pip_name: str) -> str:
    return (f"Install it with `make install` (or `pip install -e '.[dev]'` in the course folder), "
            f"or just `pip install {pip_name}`.")


def installed_version(module_name: str, pip_name: str) -> str | None:
    """The installed version of a package (by its import and pip names), "installed" when its
    metadata does not say, None when it cannot be imported."""
    import importlib.util
    from importlib.metadata import PackageNotFoundError, version

    if importlib.util.find_spec(module_name) is None:
        return None
    try:
        return version(pip_name)
    except PackageNotFoundError:
        return "installed"


def exit_for_missing(error: ModuleNotFoundError) -> None:
    """Turn a missing dependency into a clear message and exit 1; re-raise anything else."""
    top = (error.name or "").split(".")[0]
    known = {**REQUIRED, **FOR_TESTS, **OPTIONAL}
    if top not in known:
        raise error
    sys.stderr.write(f"Error: tito needs the Python package '{known[top]}', which is not installed "
                     f"for {sys.executable}.\n{install_hint(known[top])}\n")
    sys.exit(1)


# Imported under jupytext but never used by tito, each skipped (an ImportError where it is
# imported, which jupytext and jsonschema expect of optional parts). A process that imported one
# already keeps it.
SKIPPED_IMPORTS = (
    # jsonschema (under nbformat) builds an IRI grammar for about a second of CPU; nbformat's schema never checks IRIs
    "rfc3987_syntax",
    # Jupyter's contents managers, which bring tornado and jupyter_server: about 0.3 s of every command that reads
    # a module (JupyterLab, which uses them, runs in its own process)
    "jupytext.sync_contentsmanager", "jupytext.async_contentsmanager",
)


def skip_slow_optional_imports() -> None:
    """Let tito's processes skip ``SKIPPED_IMPORTS``."""
    for name in SKIPPED_IMPORTS:
        sys.modules.setdefault(name, None)


def load_jupytext():
    """jupytext, imported without the slow optional imports under it."""
    skip_slow_optional_imports()
    import jupytext

    return jupytext
