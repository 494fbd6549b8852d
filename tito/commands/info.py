"""tito info NAME: a module's metadata, prerequisites, export target and components."""

import json

import click

from tito.console import console, table
from tito.course import Course


@click.command("info")
@click.argument("name")
@click.option("--json", "as_json", is_flag=True, help="Print the information as JSON.")
def command(name, as_json):
    """Show a module's metadata, prerequisites and exports.

    NAME is a module, e.g. cnn, 06 or 06_cnn.
    """
    course = Course.here()
    module = course.get(name)
    facts = module_facts(course, module)
    if as_json:
        click.echo(json.dumps(facts, indent=2))
        return
    view = table("Field", "Value", title=f"{module.dirname}: {module.title}")
    for key, value in facts.items():
        if isinstance(value, list):
            value = ", ".join(str(v) for v in value) or "(none)"
        view.add_row(key.replace("_", " "), _lines(str(value)) if value not in (None, "") else "-")
    console().print(view)


def _lines(text: str, width: int = 100) -> str:
    """``text`` broken at spaces into lines of about ``width`` (a name or path is never split), so
    that the table stays narrow also where plain output is not wrapped (a pipe, a log)."""
    import textwrap

    return "\n".join(textwrap.wrap(text, width, break_long_words=False, break_on_hyphens=False)) or text


def module_facts(course, module) -> dict:
    """Everything tito knows about a module, as plain data."""
    from tito.exporter import rendered_state
    from tito.progress import ProgressStore, last_result, result_at

    meta = module.meta
    generated, state, error = rendered_state(module)
    last = ProgressStore(course.root).last(module.name)
    tests = sorted(p.name for p in module.tests_dir.glob("test_*.py")) if module.tests_dir.is_dir() else []
    return {
        "module": module.dirname,
        "title": module.title,
        "description": str(meta.get("description", "")).strip(),
        "difficulty": meta.get("difficulty"),
        "time_estimate": meta.get("time_estimate"),
        "prerequisites": module.prerequisites,
        "required_by": [m.name for m in course.modules if module.name in m.prerequisites],
        "exports_to": meta.get("exports_to"),
        "generated_file": module.relative(generated.target) if generated else _target(module),
        "exported_names": _exported_names(generated.text) if generated else [],
        "export_state": state + (f" ({error})" if error else ""),
        "components": [str(c) for c in (meta.get("components") or [])],
        "source": module.relative(module.dev_file),
        "tests": [f"{module.relative(module.tests_dir)}/{t}" for t in tests],
        "last_test": None if last is None else result_at(last_result(last, module), last.get("when", "?")),
    }


def _target(module):
    """The generated file's path from the source's cells, for a source that does not render."""
    from tito.errors import TitoError
    from tito.exporter import target_of
    from tito.format import code_cells

    try:
        return module.relative(target_of(module, code_cells(module.source())))
    except (TitoError, OSError):
        return None


def _exported_names(text: str) -> list:
    from tito.exporter import public_names

    try:
        return public_names(text)
    except SyntaxError:
        return []
