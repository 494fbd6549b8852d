"""Run a dev file's code cells and its inline ``test_unit_*`` tests in a fresh process.

``tito.testing.runner`` starts this file as a script::

    python inline_harness.py SPEC.json

SPEC names the dev file, the course root, the module folder, the code cells
(index, first line, code) and a RESULTS file. Every cell runs, in order, in one
``__main__`` namespace, so ``if __name__ == "__main__":`` blocks run as they do with
``python name_dev.py``. Each top-level call ``test_unit_x()`` (also inside a top-level
``if``) is rewritten to ``__tito_run_test__("test_unit_x", lambda: test_unit_x())``,
which runs it, records its outcome and carries on, so one failing test never hides
the next. An exception in any other statement is recorded as a cell error naming
the line, and the rest of that cell is skipped, as in a notebook. The dev file's
``assert`` statements are rewritten the way pytest rewrites a test module's, so a
failure says which values came.

Each test, and each top-level statement, runs under the time limits of ``tito/testing/limits.py``:
past them it fails with ``StillRunning`` saying where it was, and when the whole step's time
is out, no further cell runs. Ctrl-C records where the code was. ``display`` is a builtin, as
in Jupyter, where the cells were written.

Events are appended to RESULTS as JSON lines and flushed at once, so a crash still
leaves what ran before it. What a test is and what a stub says come from ``tito/format.py``,
the limits from ``tito/testing/limits.py``, each loaded by its path (the format one folder up,
the limits beside this file): the package ``tito`` is not imported, since the course root comes
first on ``sys.path``.
"""

import __future__
import ast
import builtins
import importlib.util
import io
import json
import linecache
import os
import sys
import time
import traceback
import types

RUNNER = "__tito_run_test__"


def _load(name, folder=os.path.dirname(__file__)):
    """FOLDER/NAME.py (default: beside this file) as a module of its own (it imports only the standard library)."""
    spec = importlib.util.spec_from_file_location(f"_tito_{name}", os.path.join(folder, f"{name}.py"))
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while it runs
    spec.loader.exec_module(module)
    return module


source_format = _load("format", os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # tito/format.py
limits = _load("limits")


def display(*objects, **options):
    """Jupyter's builtin ``display``: IPython's where it is installed, else a print (which is
    what IPython's does outside a notebook)."""
    try:
        from IPython.display import display as ipython_display
    except ImportError:
        print(*objects)
        return None
    return ipython_display(*objects, **options)


class _OutOfTime(Exception):
    """The step's time ran out: no further cell runs."""


class _Tee(io.TextIOBase):
    """Write to the real stream and keep a copy, to attach a test's output to its result."""

    def __init__(self, stream):
        self.stream = stream
        self.copy = io.StringIO()

    def write(self, text):
        self.copy.write(text)
        return self.stream.write(text)

    def flush(self):
        self.stream.flush()

    def isatty(self):
        return False

    @property
    def encoding(self):
        return getattr(self.stream, "encoding", "utf-8")


def _wrap(statement):
    """Turn ``test_unit_x(...)`` into ``__tito_run_test__("test_unit_x", lambda: test_unit_x(...))``."""
    if isinstance(statement, ast.Expr) and source_format.is_test_call(statement.value):
        no_args = ast.arguments(posonlyargs=[], args=[], vararg=None, kwonlyargs=[],
                                kw_defaults=[], kwarg=None, defaults=[])
        call = ast.Call(
            func=ast.Name(id=RUNNER, ctx=ast.Load()),
            args=[ast.Constant(statement.value.func.id), ast.Lambda(args=no_args, body=statement.value)],
            keywords=[],
        )
        wrapped = ast.Expr(value=call)
        ast.copy_location(wrapped, statement)
        return ast.fix_missing_locations(wrapped)
    if isinstance(statement, ast.If):
        statement.body = [_wrap(s) for s in statement.body]
        statement.orelse = [_wrap(s) for s in statement.orelse]
    return statement


def instrument(code: str, first_line: int, filename: str, rewrite=None) -> list:
    """The cell's top-level statements, test calls wrapped, line numbers those of the dev file.

    ``rewrite(module)`` (pytest's assertion rewriting, see ``assertion_rewriter``) makes a
    failing ``assert f(x) == 28`` say ``assert 27 == 28`` with ``where 27 = f(x)``, as pytest does.
    """
    tree = ast.parse(code, filename=filename)
    ast.increment_lineno(tree, max(first_line - 1, 0))
    tree.body = [_wrap(statement) for statement in tree.body]
    if rewrite is not None:
        rewrite(tree)
    return tree.body


def assertion_rewriter(filename: str):
    """pytest's assertion rewriting applied to the dev file's own code, or None without pytest."""
    try:
        from _pytest.assertion.rewrite import rewrite_asserts
        with open(filename, "rb") as handle:
            source = handle.read()
    except (ImportError, OSError):
        return None
    return lambda tree: rewrite_asserts(tree, source, filename)


def _where(exc, filename: str):
    """(file, line, function) of the innermost frame in the dev file, else the innermost frame."""
    frames = traceback.extract_tb(exc.__traceback__)
    inside = [f for f in frames if f.filename == filename] or frames
    if not inside:
        return filename, getattr(exc, "lineno", 0) or 0, ""
    frame = inside[-1]
    return frame.filename, frame.lineno, frame.name


def _chain(exc) -> list:
    """``exc``, then what it was raised from or while handling (``__cause__``, ``__context__``), each once."""
    found = []
    while exc is not None and all(exc is not seen for seen in found):
        found.append(exc)
        exc = exc.__cause__ or exc.__context__
    return found


def _stub_name(exc):
    """The qualified name of a student stub that raised NotImplementedError (itself, or as the
    cause of what was raised, e.g. summary's ValueError naming the layer), else None."""
    exc = next((link for link in _chain(exc) if isinstance(link, NotImplementedError)), None)
    if exc is None:
        return None
    match = source_format.STUB_MESSAGE.search(str(exc))
    if match:
        return match.group(1)
    tb = exc.__traceback__
    while tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    if tb is None:
        return None
    code = tb.tb_frame.f_code
    return getattr(code, "co_qualname", code.co_name)


def _format(exc) -> str:
    """The traceback without this harness's own frames (nor that of the time limit)."""
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename not in (__file__, limits.__file__)]
    lines = ["Traceback (most recent call last):\n"] if frames else []
    lines += traceback.format_list(frames)
    lines += traceback.format_exception_only(type(exc), exc)
    for cause in _chain(exc)[1:]:
        lines += ["caused by: ", *traceback.format_exception_only(type(cause), cause)]
    return "".join(lines)


def _describe(exc, filename: str) -> dict:
    file, line, function = _where(exc, filename)
    if isinstance(exc, limits.StillRunning):
        message = str(exc)
    elif str(exc):
        message = f"{type(exc).__name__}: {exc}"
    else:  # a bare `assert x == y` says nothing: show the line that failed
        source = linecache.getline(file, line).strip()
        message = f"{type(exc).__name__}: {source}" if source else type(exc).__name__
    return {
        "message": message,
        "file": file,
        "line": line,
        "function": function,
        "traceback": _format(exc),
        "not_implemented": _stub_name(exc),
    }


def _future_flags(statement) -> int:
    if not (isinstance(statement, ast.ImportFrom) and statement.module == "__future__"):
        return 0
    flags = 0
    for alias in statement.names:
        feature = getattr(__future__, alias.name, None)
        flags |= getattr(feature, "compiler_flag", 0)
    return flags


class Harness:
    def __init__(self, spec: dict):
        self.spec = spec
        self.filename = spec["dev_file"]
        self.results = open(spec["results"], "a", encoding="utf-8")
        self.ran = set()
        self.future_flags = 0  # `from __future__ import ...` holds for the statements after it
        self.rewrite = assertion_rewriter(self.filename)
        self.running = None  # the test running now
        self.limits = limits.Limits(self.where, open(spec["dump"], "w", encoding="utf-8") if spec.get("dump") else None)
        self.module = types.ModuleType("__main__")
        self.module.__dict__.update({
            "__file__": self.filename,
            "__builtins__": builtins,
            RUNNER: self.run_test,
        })

    def emit(self, event: dict) -> None:
        self.results.write(json.dumps(event) + "\n")
        self.results.flush()

    def uncalled(self) -> list:
        """test_unit_* functions of the dev file that no top-level call ran."""
        return [name for name, value in self.module.__dict__.items()
                if source_format.is_test_name(name) and name not in self.ran
                and getattr(getattr(value, "__code__", None), "co_filename", None) == self.filename]

    def where(self, frame) -> str:
        """'cnn_dev.py:1204 in avg_pool2d_forward': the innermost frame in the dev file."""
        found = limits.innermost(frame, lambda path: path == self.filename)
        return f"{os.path.basename(found[0])}:{found[1]} in {found[2]}" if found else ""

    def run_test(self, name, call) -> None:
        self.ran.add(name)
        self.running = name
        self.emit({"event": "start", "name": name})
        self.limits.arm()
        tee = _Tee(sys.stdout)
        real, sys.stdout = sys.stdout, tee
        started = time.perf_counter()
        outcome = {"event": "test", "name": name, "passed": True, "message": ""}
        try:
            call()
        except KeyboardInterrupt:
            raise
        except BaseException as exc:  # a test's sys.exit() is a failure too, not the end of the run
            outcome.update(passed=False, **_describe(exc, self.filename))
            out_of_time = getattr(exc, "whole_step", False)
        else:
            out_of_time = False
        finally:
            sys.stdout = real
        if out_of_time:
            self.limits.disarm()
        else:
            self.limits.arm()  # the rest of the statement that called the test has a clock of its own
        self.running = None
        outcome["seconds"] = round(time.perf_counter() - started, 4)
        outcome["output"] = tee.copy.getvalue()[-4000:]
        self.emit(outcome)
        if out_of_time:
            raise _OutOfTime

    def run_cell(self, cell: dict) -> None:
        try:
            statements = instrument(cell["code"], cell["line"], self.filename, self.rewrite)
        except SyntaxError as exc:
            line = (exc.lineno or 1) + max(cell["line"] - 1, 0)
            self.emit({"event": "cell_error", "cell": cell["index"], "line": line, "file": self.filename,
                       "message": f"SyntaxError: {exc.msg}", "traceback": "", "not_implemented": None})
            return
        for statement in statements:
            try:
                code = compile(ast.Module(body=[statement], type_ignores=[]), self.filename, "exec",
                               flags=self.future_flags, dont_inherit=True)
                self.future_flags |= _future_flags(statement)
                self.limits.arm()
                try:
                    exec(code, self.module.__dict__)
                finally:
                    self.limits.disarm()
            except (KeyboardInterrupt, _OutOfTime):
                raise
            except BaseException as exc:
                error = _describe(exc, self.filename)
                error.update(event="cell_error", cell=cell["index"], statement_line=statement.lineno)
                self.emit(error)
                if getattr(exc, "whole_step", False):
                    raise _OutOfTime from None
                return

    def run(self) -> int:
        sys.modules["__main__"] = self.module
        if not hasattr(builtins, "display"):
            builtins.display = display  # a builtin in Jupyter, where the cells were written
        try:
            for cell in self.spec["cells"]:
                self.run_cell(cell)
        except _OutOfTime:
            self.emit({"event": "out_of_time"})
            return 1
        except KeyboardInterrupt as exc:  # Ctrl-C: say where the code was
            self.limits.disarm()
            where = _describe(exc, self.filename)
            self.emit({"event": "interrupted", "name": self.running, "file": where["file"],
                       "line": where["line"], "function": where["function"]})
            return 130
        self.emit({"event": "done", "uncalled": self.uncalled()})
        self.results.close()
        return 0


def main(argv) -> int:
    with open(argv[1], encoding="utf-8") as handle:
        spec = json.load(handle)
    # Run like `python name_dev.py` would, but with the course root first so that
    # `import tinytorch` is always this course's package.
    sys.path[0:1] = [spec["root"], spec["module_folder"]]
    sys.argv = [spec["dev_file"]]
    return Harness(spec).run()


if __name__ == "__main__":
    sys.exit(main(sys.argv))
