"""Turn a module's literate source into its generated package file.

The source format (directives, markers, the generated header and cell markers) is
``tito.format``'s; this file reads a source with it and writes the package file:
``render`` builds the text, ``state_of`` compares it with the file on disk, ``export``
writes it.

The header's hash of the body tells a file that is merely *stale* (the source changed
since the last export) from one that was *edited by hand* (the body no longer matches
its own hash), which ``export`` refuses to overwrite without ``--force``.
"""

from __future__ import annotations

import ast
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

from tito import docstrings, format
from tito.course import Module
from tito.errors import TitoError
from tito.files import backup, read_json_object, write_atomically
from tito.format import SourceCell, code_cells
from tito.notebooks import syntax as notebook_syntax
from tito.notebooks.places import in_notebook


@dataclass
class Generated:
    """What a module's source produces now: the target path and the full file text."""

    module: Module
    target: Path
    text: str
    warnings: list[str] = field(default_factory=list)  # what the author should hear, e.g. a name defined twice
    kept: Path | None = None  # where export copied the hand-edited file it overwrote (in .tito/backups/)


def exported_code(cell: SourceCell) -> str:
    """The cell's code without its directive lines and without the solution marker lines."""
    kept = [raw for raw in cell.code.splitlines() if not format.is_directive(raw) and not format.is_marker(raw)]
    return "\n".join(kept).strip("\n")


def exported_cells(cells: list[SourceCell]) -> list[tuple[SourceCell, str]]:
    """(cell, its exported code) of the cells that put code into the package, numbered from 1
    in the generated file's cell markers."""
    found = [(cell, docstrings.for_package(exported_code(cell))) for cell in cells if cell.exported]
    return [(cell, code) for cell, code in found if code]


FIX_THE_SOURCE = "Fix the source and export again; the generated file was left as it was."


def _compile_in_place(module: Module, cell: SourceCell) -> None:
    """Compile a cell so that a syntax error names the dev file and its real line; Jupyter-only
    syntax (``!ls``, ``%timeit``), which the package cannot hold, is named as such."""
    jupyter_only = notebook_syntax.jupyter_only_lines(cell.code)
    if jupyter_only:
        offset, text = jupyter_only[0]
        line = cell.line + offset - 1
        raise TitoError(
            f"{module.relative(module.dev_file)}, line {line}{in_notebook(module, line)}: `{text.strip()}` is "
            "Jupyter-only syntax, in a cell marked `#| export`, and the package must be plain Python.",
            hint="Move that line to a cell without `#| export` (tito test skips it there), or delete it; "
                 "the generated file was left as it was.",
        )
    padding = "\n" * max(cell.line - 1, 0)
    try:
        compile(padding + cell.code, str(module.dev_file), "exec", dont_inherit=True)
    except SyntaxError as exc:
        line = exc.lineno or cell.line
        raise TitoError(f"{module.relative(module.dev_file)}, line {line}{in_notebook(module, line)}: {exc.msg}",
                        hint=FIX_THE_SOURCE) from None
    except (ValueError, RecursionError, MemoryError) as exc:  # a NUL byte (before Python 3.12), nesting too deep
        raise TitoError(f"{module.relative(module.dev_file)}, the cell at line {cell.line}"
                        f"{in_notebook(module, cell.line)} cannot be compiled ({type(exc).__name__}: {exc})",
                        hint=FIX_THE_SOURCE) from None


def _compile_as_exported(module: Module, cell: SourceCell) -> None:
    """The cell less its directive and marker lines, as the package holds it, must compile too: a
    line ending in a backslash before one of those lines, or a string running across one, makes
    the lines around it one, which they are not once it is gone."""
    try:
        compile(exported_code(cell), str(module.dev_file), "exec", dont_inherit=True)
    except (SyntaxError, ValueError, RecursionError, MemoryError) as exc:
        why = exc.msg if isinstance(exc, SyntaxError) else f"{type(exc).__name__}: {exc}"
        raise TitoError(
            f"{module.relative(module.dev_file)}, the cell at line {cell.line}{in_notebook(module, cell.line)} "
            f"compiles, but not without its `#|` and `### BEGIN/END SOLUTION` lines, which tito leaves out of the "
            f"package ({why}).",
            hint="Does a line ending in a backslash, or a string, run on into one of those lines? Keep them on "
                 "lines of their own; the generated file was left as it was.",
        ) from None


def _refuse_unknown_directives(module: Module, cells: list[SourceCell]) -> None:
    """A directive tito does not know (``#| exports``) is most often a typo that would leave its cell
    out of the package, or the whole module without a target: TitoError naming its line."""
    unknown = [found for cell in cells if cell.line for found in format.unknown_directives(cell)]
    if unknown:
        line, text = unknown[0]
        known = ", ".join(f"'#| {name}'" for name in format.DIRECTIVES)
        raise TitoError(f"{module.relative(module.dev_file)}, line {line}{in_notebook(module, line)}: '{text}' is "
                        f"not a directive tito knows; the directives are {known}.",
                        hint="Correct its spelling (or make it a plain comment, '# ...'); the generated file was "
                             "left as it was.")


def target_of(module: Module, cells: list[SourceCell]) -> Path:
    """tinytorch/core/cnn.py for a source whose cells say '#| default_exp core.cnn' (once)."""
    names = [c.directives[format.DEFAULT_EXP] for c in cells if format.DEFAULT_EXP in c.directives]
    where = module.relative(module.dev_file)
    if not names:
        raise TitoError(
            f"{where} has no '#| {format.DEFAULT_EXP}' line, so tito does not know where to export it"
            f"{_syntax_note(module)}.",
            hint=f"Add a code cell with a line like '#| {format.DEFAULT_EXP} core.cnn' near the top.",
        )
    if len(set(names)) > 1:
        raise TitoError(f"{where} names more than one '#| {format.DEFAULT_EXP}': {', '.join(names)}.")
    if not format.TARGET_NAME.match(names[0]):
        raise TitoError(f"{where}: '#| {format.DEFAULT_EXP} {names[0]}' is not a dotted module name like core.cnn.")
    declared = module.meta.get("exports_to")
    if not isinstance(declared, str):
        _refuse_anothers_target(module, names[0])
    elif declared != f"tinytorch.{names[0]}":
        yaml_name = module.relative(module.metadata_file)
        raise TitoError(f"{where} says '#| {format.DEFAULT_EXP} {names[0]}' (tinytorch.{names[0]}), but {yaml_name} "
                        f"says exports_to: {declared}: the tests import the latter, so they would test another file.",
                        hint="Make the two name the same module.")
    return module.root / "tinytorch" / format.module_file(names[0])


def _refuse_anothers_target(module: Module, name: str) -> None:
    """TitoError when a module without exports_to exports to the file another module's
    module.yaml names (two modules with both declared are refused by ``tito.course``)."""
    from tito.course import Course

    other = Course(module.root).exporting_to(f"tinytorch.{name}")
    if other is not None and other.name != module.name:
        raise TitoError(
            f"{module.relative(module.dev_file)} says '#| {format.DEFAULT_EXP} {name}', the file module "
            f"{other.dirname} exports to (its module.yaml says exports_to: tinytorch.{name}): each export "
            "would overwrite the other's.",
            hint=f"Give {module.dirname} its own target, e.g. '#| {format.DEFAULT_EXP} core.{module.name}' "
                 f"and exports_to: tinytorch.core.{module.name} in its module.yaml.")


def _syntax_note(module: Module) -> str:
    """', and line N is not valid Python (why)' when the whole source does not parse, else ''
    (a file cut short or not a module source at all usually has both faults)."""
    try:
        compile(module.source(), str(module.dev_file), "exec", dont_inherit=True)
    except SyntaxError as exc:
        return f", and line {exc.lineno} is not valid Python ({exc.msg})"
    except (ValueError, RecursionError, MemoryError):
        return ""
    return ""


def public_names(code: str) -> list[str]:
    """The module's public API: the list its code assigns to ``__all__``, if it does; else its
    top-level functions, classes and assignments not starting with '_', in order."""
    declared = declared_all(code)
    return declared if declared is not None else _public_top_level(code)


def _public_top_level(code: str) -> list[str]:
    """The code's top-level functions, classes and assignments not starting with '_', in order."""
    return [n for n in _top_level_names(code) if not n.startswith("_") and n != "__all__"]


def _top_level_names(code: str, imported: bool = False) -> list[str]:
    """Names the code's top level defines (with ``imported``, also the names it imports)."""
    names = []
    for node in ast.parse(code).body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.append(node.name)
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names.extend(t.id for t in targets if isinstance(t, ast.Name))
        elif imported and isinstance(node, (ast.Import, ast.ImportFrom)):
            names.extend((alias.asname or alias.name).split(".")[0] for alias in node.names)
    return list(dict.fromkeys(names))


def declared_all(code: str) -> list[str] | None:
    """The names a top-level ``__all__ = [...]`` of string literals lists, or None without one."""
    for node in ast.parse(code).body:
        if (isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "__all__" for t in node.targets)
                and isinstance(node.value, (ast.List, ast.Tuple))
                and all(isinstance(e, ast.Constant) and isinstance(e.value, str) for e in node.value.elts)):
            return [e.value for e in node.value.elts]
    return None


def _all_listing(module: Module, code: str) -> str:
    """The ``__all__`` the exporter appends: none when the source declares its own (each name
    must then be defined), else every public top-level name."""
    declared = declared_all(code)
    if declared is None:
        listing = "".join(f"    {name!r},\n" for name in _public_top_level(code))
        return "\n\n__all__ = [\n" + listing + "]\n"
    unknown = [name for name in declared if name not in _top_level_names(code, imported=True)]
    if unknown:
        raise TitoError(
            f"{module.relative(module.dev_file)}: __all__ names {', '.join(map(repr, unknown))}, "
            "which its exported cells do not define."
        )
    return ""


def _body_hash(body: str) -> str:
    return hashlib.sha256(body.encode("utf-8")).hexdigest()


def render(module: Module) -> Generated:
    """Build the generated file's text for a module (nothing is written)."""
    cells = code_cells(module.source())
    _refuse_unknown_directives(module, cells)
    target = target_of(module, cells)
    source = module.relative(module.dev_file)
    for cell in cells:
        if cell.exported:
            _compile_in_place(module, cell)
            _compile_as_exported(module, cell)
    chunks = [f"{format.cell_marker(source, number)}\n{code}\n"
              for number, (_, code) in enumerate(exported_cells(cells), start=1)]
    code = "\n\n".join(chunks)
    body = "\n" + code + _all_listing(module, code)
    text = format.generated_header(source, module.name, _body_hash(body)) + body
    try:
        compile(text, str(target), "exec", dont_inherit=True)
    except SyntaxError as exc:  # a cell that only compiles together with another
        raise TitoError(f"The export of {source} does not compile: {exc.msg} (line {exc.lineno}).") from None
    return Generated(module, target, text, _defined_twice(module, cells))


def _defined_twice(module: Module, cells: list[SourceCell]) -> list[str]:
    """A warning for each top-level function or class that two exported cells (or one twice) define:
    the package keeps the last, silently replacing the first."""
    first: dict[str, int] = {}
    warnings = []
    for cell in cells:
        if not cell.exported:
            continue
        for node in ast.parse(cell.code).body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                line = cell.line + node.lineno - 1
                if node.name in first:
                    where = module.relative(module.dev_file)
                    warnings.append(f"{where}: {node.name} is defined at line {first[node.name]} and again at line "
                                    f"{line}, both exported: the package keeps the one at line {line}.")
                first.setdefault(node.name, line)
    return warnings


def state_of(generated: Generated) -> str:
    """'fresh', 'stale', 'missing' or 'edited' (changed by hand since tito wrote it)."""
    if not generated.target.exists():
        return "missing"
    current = generated.target.read_text(encoding="utf-8")
    if current == generated.text:
        return "fresh"
    return "stale" if _untouched(current) else "edited"


def _untouched(text: str) -> bool:
    """True when a generated file's body still matches the hash tito wrote into its header."""
    found = format.split_generated(text)
    return found is not None and _body_hash(found[1]) == found[0]


def export_state(module: Module) -> tuple[str, str]:
    """('fresh' | 'stale' | 'missing' | 'edited' | 'error', the error's message or '').

    'fresh' is known without rendering when the generated file is the one recorded as rendered
    from these very inputs (``_recorded_fresh``): `tito status` then reads no source with jupytext."""
    inputs = _render_inputs(module)
    if _recorded_fresh(module, inputs):
        return "fresh", ""
    generated, state, error = rendered_state(module)
    if state == "fresh":
        _record_fresh(generated, inputs)
    return state, error


def rendered_state(module: Module) -> tuple[Generated | None, str, str]:
    """``export_state`` with what ``render`` made of the module (None when it could not)."""
    if not module.dev_file.exists():
        return None, "error", f"{module.relative(module.dev_file)} does not exist"
    try:
        generated = render(module)
    except TitoError as exc:
        return None, "error", exc.message
    return generated, state_of(generated), ""


# .tito/exports.json: for each module, the digest of what its render depends on (its source,
# its module.yaml, this tito's source, jupytext's version) and the sha256 of the file it made.
# Only a cache: a miss renders again; it cannot make a file other than tito's 'fresh'.
EXPORTS = Path(".tito") / "exports.json"


def _render_inputs(module: Module) -> str | None:
    """One digest of what ``render(module)`` depends on: its source, every module.yaml (another
    module may claim its target), this tito and jupytext; None when a part cannot be read. Taken
    before rendering, so that a source saved meanwhile makes the record miss, never lie."""
    from importlib.metadata import PackageNotFoundError, version

    from tito.files import digest_of, file_digests, tito_source

    metas = sorted(module.root.glob("modules/source/*/module.yaml"))
    try:
        parts = file_digests([module.dev_file, *metas], module.root)
        parts.update(tito=tito_source(), jupytext=version("jupytext"))
    except (OSError, PackageNotFoundError):
        return None
    return digest_of(parts)


def _recorded_fresh(module: Module, inputs: str | None) -> bool:
    """True when the module's generated file is the one recorded as rendered from ``inputs``,
    its render's inputs now (``_render_inputs``)."""
    if inputs is None:
        return False
    entry = read_json_object(module.root / EXPORTS).get(module.name)
    if not isinstance(entry, dict) or not isinstance(entry.get("target"), str):
        return False
    target = module.root / entry["target"]
    try:
        made = hashlib.sha256(target.read_bytes()).hexdigest()
    except OSError:
        return False
    return made == entry.get("text") and entry.get("inputs") == inputs


def _record_fresh(generated: Generated, inputs: str | None) -> None:
    """Record that ``generated``, rendered from ``inputs``, is on disk; nothing when it cannot be written."""
    module = generated.module
    # none when a part of the inputs could not be read, or in a course where tito keeps no records
    # yet (the site's build)
    if inputs is None or not (module.root / EXPORTS).parent.is_dir():
        return
    record = read_json_object(module.root / EXPORTS)
    entry = {"inputs": inputs, "target": module.relative(generated.target),
             "text": hashlib.sha256(generated.text.encode("utf-8")).hexdigest()}
    if record.get(module.name) == entry:
        return
    record[module.name] = entry
    try:
        write_atomically(module.root / EXPORTS, json.dumps(record, indent=2, sort_keys=True) + "\n")
    except OSError:  # a read-only course: status renders each time
        pass


def is_generated(path: Path) -> bool:
    """True for a file written by `tito export` (its header says so)."""
    try:
        with open(path, encoding="utf-8") as handle:
            return format.is_generated(handle.read(400))
    except (UnicodeDecodeError, OSError):
        return False


def _ensure_packages(root: Path, target: Path) -> None:
    """Every folder between tinytorch/ and the target needs an __init__.py to be importable."""
    folder = target.parent
    while folder != root and folder.name:
        init = folder / "__init__.py"
        if not init.exists():
            write_atomically(init, "")
        folder = folder.parent


def export(module: Module, force: bool = False) -> tuple[Generated, str]:
    """Write a module's generated file; returns it with its state before writing.

    A file edited by hand is refused unless ``force``, and then copied to ``.tito/backups/`` first
    (``generated.kept``); the old file is never touched on error.
    """
    inputs = _render_inputs(module)
    generated = render(module)
    state = state_of(generated)
    if state == "edited" and not force:
        rel = module.relative(generated.target)
        raise TitoError(
            f"{rel} was edited by hand since it was last exported; not overwriting it.",
            hint=(
                f"To keep the edit, move it into {module.relative(module.dev_file)} and export again.\n"
                f"To discard it, run: tito export --module {module.name} --force (a copy goes to .tito/backups/)"
            ),
        )
    if state != "fresh":
        _ensure_packages(module.root / "tinytorch", generated.target)
        if state == "edited":
            generated.kept = backup(module.root, generated.target)
        write_atomically(generated.target, generated.text)
    _record_fresh(generated, inputs)
    return generated, state


def export_modules(modules: list[Module], force: bool = False, keep_going: bool = False,
                   prepare=None, on_exported=None, on_failed=None) -> list[tuple[Module, TitoError]]:
    """Export ``modules`` in order.

    ``prepare(module)`` is called before each export (`tito export` and the site's build take the
    notebook's edits first; its TitoError counts as the module's), ``on_exported(module,
    generated, state_before)`` after it. Without
    ``keep_going`` the first module that cannot be exported raises its TitoError; with it,
    ``on_failed(module, error)`` is called, the others are still exported, and the failures come
    back as (module, error).
    """
    failed = []
    for module in modules:
        try:
            if prepare is not None:
                prepare(module)
            generated, before = export(module, force=force)
        except TitoError as error:
            if not keep_going:
                raise
            failed.append((module, error))
            if on_failed is not None:
                on_failed(module, error)
            continue
        if on_exported is not None:
            on_exported(module, generated, before)
    return failed
