"""tito test: run a module's inline tests, export it, run its pytest tests, record the result."""

import json
import re
import sys
from pathlib import Path

import click

from tito.console import (console, escape, from_a_notebook, in_colab, live_display, plain_output, say, spinner,
                           table, warn)
from tito.course import Course
from tito.errors import TitoError
from tito.files import write_atomically
from tito.notebooks.places import in_notebook
from tito.options import chosen_modules, json_report_option, module_choice
from tito.testing.cell_hints import unexported_versions
from tito.testing.outcomes import stubs_failed_on, tail
from tito.testing.runner import stubs_in_prerequisites

SHOWN_FAILURES = 3
GROUPED = 3  # this many failures with the same first line are told in one line


@click.command("test")
@module_choice
@click.option("--keep-going", is_flag=True, help="With --all: test every module even after a failure.")
@click.option("-k", "keyword", metavar="EXPR", help="Only pytest tests matching EXPR (passed to pytest -k).")
@click.option("-v", "--verbose", is_flag=True, help="Show pytest's own output and every inline test's output.")
@click.option("--full", is_flag=True, help="Also run the pytest tests marked slow (PyTorch comparisons, long "
              "property tests, drawing PNG pictures).")
@json_report_option("test", "Also write the results as JSON to this file (a file there is replaced only if it "
                    "is a report of tito test).")
def command(module_name, all_modules, keep_going, keyword, verbose, full, json_file):
    """Run a module's tests: inline tests, export, pytest; record the result.

    \b
    1. inline: run modules/source/NN_name/name_dev.py's test_unit_* functions
    2. export: write the module into the tinytorch package
    3. pytest: run tests/NN_name/ against this course's package (the tests
       marked slow only with --full or -k)
    The module passes only if every step passes and tests ran in 1 and 3.
    A name_dev.ipynb saved after name_dev.py is synced into it first (the .py is
    backed up in .tito/backups/); if both changed, tito stops and asks which to keep.
    A test still running after TITO_TEST_TIMEOUT_PER_TEST seconds (default 30)
    fails, saying at which line it was; a step stops after TITO_TEST_TIMEOUT (300).
    One run at a time tests a course: a second (another terminal, a notebook
    cell's `!tito test`) waits for the first to finish, saying which it waits for.

    \b
    Examples:
      tito test --module cnn
      tito test --module cnn -k pool -v
      tito test --all --keep-going
      tito test --module cnn --full
    """
    from tito.course_lock import one_run_at_a_time

    course = Course.here()
    modules = chosen_modules(course, module_name, all_modules, keep_going=keep_going)
    with one_run_at_a_time(course.root):  # another run's export must not land under these tests
        payload = _test(course, modules, all_modules, keep_going, keyword, verbose, full)
    if json_file:
        try:
            write_atomically(Path(json_file), json.dumps(payload, indent=2) + "\n")
        except OSError as exc:
            raise TitoError(f"Cannot write the results to {json_file}: {exc.strerror}.") from None
    if not payload["passed"]:
        sys.exit(1)


def _test(course, modules, all_modules, keep_going, keyword, verbose, full) -> dict:
    """Take each module's notebook edits, test, record and show: the JSON report's payload."""
    from tito.notebooks.sync import take_notebook_edits
    from tito.progress import ProgressStore

    store = ProgressStore(course.root)
    if not _read_only(course):
        for module in modules:
            try:
                take_notebook_edits(module)
                if not all_modules:
                    _say_which_save(module)
            except TitoError as error:
                if not all_modules:
                    raise
                warn(f"{module.dirname}: {error.message} Its notebook edits were not taken.")  # its test says more
    else:
        store = None
    if all_modules:
        results = _test_all(course, modules, store, keep_going, keyword, verbose, full)
        return {"passed": all(r.passed for r in results) and len(results) == len(modules),
                "modules": [r.to_json() for r in results]}
    return _test_one(course, modules[0], store, keyword, verbose, full).to_json()


def _read_only(course) -> bool:
    """Say once that a read-only course is tested as it is (and notebooks ahead are not taken)."""
    from tito.course import read_only_reason
    from tito.notebooks.sync import BOTH_CHANGED, NOTEBOOK_AHEAD, state

    reason = read_only_reason(course.root)
    if reason:
        ahead = [m.notebook.name for m in course.modules if state(m) in (NOTEBOOK_AHEAD, BOTH_CHANGED)]
        warn(f"This course is read-only ({reason} in {course.root}): tito tests it as it is, but cannot "
             "export, sync notebooks or record the results."
             + (f" Not tested: your newer {', '.join(ahead)}." if ahead else ""))
    return bool(reason)


def _say_which_save(module) -> None:
    """From a notebook cell (`!tito test`): which save of the notebook is tested — Jupyter saves
    by itself only every two minutes, and a student who just ran a cell expects that code; or, when
    the .py was edited after the notebook (``tito status``: notebook behind), that the .py is. Not
    in Colab, where the setup cell's hook has just saved the notebook into the clone (and said so)."""
    from datetime import datetime

    from tito.notebooks.sync import SOURCE_AHEAD, state

    if from_a_notebook() and not in_colab() and module.notebook.exists():
        saved = datetime.fromtimestamp(module.notebook.stat().st_mtime).strftime("%H:%M:%S")
        if state(module) == SOURCE_AHEAD:  # the .py was edited after the notebook: it is what runs
            say(f"Testing {module.dev_file.name}, edited after the notebook ({module.notebook.name} was saved at "
                f"{saved}): the .py's code is what runs.")
        else:
            say(f"Testing {module.notebook.name} as saved at {saved}: save it first (Ctrl-S) to test your "
                "latest edits.")


def _test_one(course, module, store, keyword, verbose, full):
    _warn_before_testing(course, module, store)
    out = console()
    if plain_output():
        out.print(f"== tito test {module.dirname} ==", markup=False)
    else:
        out.rule(f"tito test {module.dirname}")
    if not live_display():
        started = []

        def announce(steps):
            for name in steps:
                if name not in started:
                    started.append(name)
                    out.print(f"-- {name} ...")

        result = _run(module, keyword, verbose, full, on_step=announce)
    else:
        with out.status("", spinner=spinner(out)) as status:
            shown = Shown(lambda text: status.update(f"{module.name}: {text}"))
            result = _run(module, keyword, verbose, full, on_step=shown.steps, on_progress=shown.inline)
    _finish(store, result, verbose, keyword)
    return result


def _run(module, keyword, verbose, full, **progress):
    """Test one module; the inline step's lines are shown as soon as it ends, while pytest may
    still run: a stub's feedback in seconds, not after the whole module's."""
    from tito.testing.runner import run_module

    return run_module(module, keyword, verbose, full, on_inline=lambda step: _show_step(step, verbose), **progress)


def _finish(store, result, verbose, keyword) -> None:
    """Record (unless the course is read-only, or the source changed during the run) and show the
    rest of one module's result."""
    if store is not None and not result.mixed:
        store.record(result.module.name, result.progress_entry(keyword))
    show_result(result, verbose)


class Shown:
    """One status line for the steps running side by side: 'pytest ... | inline: test_x (3 done)'."""

    def __init__(self, show):
        self.show, self.running, self.progress = show, [], ""

    def steps(self, names) -> None:
        self.running = names
        self._update()

    def inline(self, text) -> None:
        self.progress = text
        self._update()

    def _update(self) -> None:
        parts = [f"inline: {self.progress}" if name == "inline" and self.progress else f"{name} ..."
                 for name in self.running]
        self.show(" | ".join(parts))


def _warn_before_testing(course, module, store, tell=warn) -> None:
    """What the student should know before ``module``'s result: its module.yaml missing, its
    prerequisites not passed yet."""
    from tito.progress import ProgressStore
    from tito.testing.runner import unmet_prerequisites

    if missing := module.missing_metadata():
        tell(missing)
    for message in unmet_prerequisites(course, module, store or ProgressStore(course.root)):
        tell(f"{message} Testing {module.name} anyway.")


def _test_all(course, modules, store, keep_going, keyword, verbose, full):
    out, results = console(), []
    if not live_display():
        for number, module in enumerate(modules, start=1):
            out.print(f"[{number}/{len(modules)}] {module.dirname}", markup=False)
            _warn_before_testing(course, module, store)
            result = _run(module, keyword, verbose, full)
            _finish(store, result, verbose, keyword)
            results.append(result)
            if not result.passed and not keep_going:
                break
    else:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
        with Progress(*columns, console=out) as bar:
            task = bar.add_task("modules", total=len(modules))
            for module in modules:
                bar.update(task, description=f"{module.dirname}")
                _warn_before_testing(course, module, store, tell=lambda text: bar.console.print(
                    f"[yellow]Warning:[/] {escape(text)}", highlight=False))
                shown = Shown(lambda text, m=module: bar.update(task, description=f"{m.dirname}: {text}"))
                result = _run(module, keyword, verbose, full, on_step=shown.steps, on_progress=shown.inline)
                _finish(store, result, verbose, keyword)
                results.append(result)
                bar.advance(task)
                if not result.passed and not keep_going:
                    break
    _show_overview(results, modules, keep_going)
    return results


def _show_overview(results, modules, keep_going):
    out = console()
    overview = table("Module", "Result", "Inline", "Pytest", title="tito test --all")
    for result in results:
        overview.add_row(result.module.dirname, _verdict(result.passed),
                         _count(result.step("inline")), _count(result.step("pytest")))
    skipped = modules[len(results):]
    for module in skipped:
        overview.add_row(module.dirname, "not run", "", "")
    out.print(overview)
    passed = sum(r.passed for r in results)
    out.print(f"{passed}/{len(modules)} modules passed.")
    if skipped and not keep_going:
        out.print(f"Stopped at the first failing module; {len(skipped)} not run (use --keep-going to run them).")


# --------------------------------------------------------------------------- rendering


def _verdict(ok: bool) -> str:
    if plain_output():
        return "PASS" if ok else "FAIL"
    return "[green]✓ pass[/]" if ok else "[red]✗ FAIL[/]"


def _count(step) -> str:
    if step is None or step.step == "export":
        return "-"
    return f"{step.passed_count}/{step.ran}"


def show_result(result, verbose=False) -> None:
    """Print one module's per-test lines (but the inline step's: ``_run`` showed them as soon as
    that step ended), failure details, stubs and summary table.

    A failure that only says a function is not implemented yet is told in one line (pytest's
    are counted per function); tracebacks are shown for the other failures, the first few.
    """
    out = console()
    for step in result.steps:
        if step.step != "inline":
            _show_step(step, verbose)
    missing = _missing_packages(result)
    failures = [(step, t) for step in result.steps for t in step.failures if not _stub_of(t)]
    if missing:
        say(f"Not exported yet: {', '.join(missing)}; the failures above follow from that. Finish "
            f"those modules first: `tito test --module {missing[0].rsplit('.', 1)[-1]}` tests and "
            "exports one (-v shows the tracebacks).")
        if not verbose:  # everything else follows from it
            failures = []
    for hint in [hint for step in result.steps for hint in step.hints]:
        say(f"Hint: {hint}")
    distinct = _one_per_first_line(failures)
    for step, test in distinct[:SHOWN_FAILURES]:
        _show_failure(step, test)
    if len(failures) > SHOWN_FAILURES:
        out.print(f"... and {len(failures) - min(len(distinct), SHOWN_FAILURES)} more failure(s); "
                  "the names are listed above.")
    _show_not_implemented(result)
    summary = table("Step", "Result", "Tests", "Note", title=f"{result.module.dirname}: {result.module.title}")
    for step in result.steps:
        summary.add_row(step.step, _verdict(step.ok), _count(step), _note(step))
    out.print(summary)
    if result.mixed:
        warn(result.mixed)
    word = "PASSED" if result.passed else "FAILED"
    style = "bold green" if result.passed else "bold red"
    out.print(f"[{style}]Module {result.module.name} {word}[/]")


MISSING_PACKAGE = re.compile(r"No module named '(tinytorch\.[\w.]+)'")


def _missing_packages(result) -> list:
    """The tinytorch modules the tests could not import (prerequisites not exported yet)."""
    names = [m for step in result.steps for t in step.failures for m in MISSING_PACKAGE.findall(t.message)]
    return list(dict.fromkeys(names))


def _stub_of(test) -> str:
    """The (first) function whose released stub made this test fail, or ''."""
    found = stubs_failed_on(test)
    return found[0] if found else ""


def _note(step) -> str:
    if not step.error:
        return step.note
    failed = step.failures
    if not failed:
        return step.error.splitlines()[0]
    stubbed = sum(1 for t in failed if _stub_of(t))
    on_stubs = "all" if stubbed == len(failed) else str(stubbed)
    return f"{len(failed)} failed" + (f", {on_stubs} of them on functions not implemented yet" if stubbed else "")


def _show_not_implemented(result) -> None:
    names = result.not_implemented
    if not names:
        return
    say(f"Not implemented yet ({len(names)}): {', '.join(names)}")
    module = result.module
    source = module.relative(module.dev_file)
    for name, stub_line, own_line in unexported_versions(module, result.stubs):
        say(f"  {name}: your version at {source}:{own_line}{in_notebook(module, own_line)} is in a cell without "
            "`#| export`, so the package "
            f"still has the stub (line {stub_line}): put your code in that exported cell, in place of its `raise`.")
    if result.stubs:
        name, line = result.stubs[0]
        say(f"  Next: {name} at {source}:{line}{in_notebook(module, line)}")
        return
    elsewhere = stubs_in_prerequisites(module, names)
    if elsewhere:
        prereq, name, line = elsewhere[0]
        say(f"  Next: {name} at {prereq.relative(prereq.dev_file)}:{line}, in module {prereq.name}, which "
            f"{module.name} builds on (tito test --module {prereq.name})")


def _show_step(step, verbose) -> None:
    """Inline tests one line each; pytest tests one line each with -v, else only the failures,
    with those that only hit a function not implemented yet counted per function. Without -v,
    failures that share their first line (GROUPED or more) are told in one line, inline too."""
    out = console()
    ok_mark, bad_mark = ("PASS", "FAIL") if plain_output() else ("[green]✓[/]", "[red]✗[/]")
    if step.step == "export":
        mark = ok_mark if step.ok else bad_mark
        out.print(f"{mark} export: {escape(step.note or step.error)}", highlight=False, soft_wrap=True)
        return
    every = verbose or step.step == "inline"
    stubbed = {} if every else _count_stubbed(step.failures)
    shown = [t for t in step.tests if every or (t.status == "failed" and not _stub_of(t))]
    counts = f"{step.passed_count}/{step.ran} passed" + (
        f", {step.skipped_count} skipped{_why_skipped(step)}" if step.skipped_count else "") + (
        f"; {step.left_out} marked slow not run (--full runs them)" if step.left_out else "")
    out.print(f"[bold]{step.step}[/] tests: {counts}" if step.tests else f"[bold]{step.step}[/] tests:",
              highlight=False)
    alike = {} if verbose else _failures_by_first_line(shown)  # inline too: a failed import fails the rest alike
    for test in shown:
        if test.skipped:
            say(f"  skip {test.name}  {test.message}")
            continue
        failure = "" if test.passed else _first_line(test)
        group = alike.get(failure, [])
        if len(group) >= GROUPED:
            if group[0] is test:  # told once, for all of them
                names = ", ".join(_named(t) for t in group[:3])
                names += f" and {len(group) - 3} more" if len(group) > 3 else ""
                out.print(f"  {bad_mark} {len(group)} failed with {escape(failure)}: {escape(names)}",
                          highlight=False, soft_wrap=True)
            continue
        mark = ok_mark if test.passed else bad_mark
        out.print(f"  {mark} {escape(_named(test))}{escape('  ' + failure if failure else '')}",
                  highlight=False, soft_wrap=True)
        if verbose and step.step == "inline" and test.output.strip():
            say(_indent(test.output.rstrip(), 6))
    if stubbed:
        listing = ", ".join(f"{name} ({count})" for name, count in stubbed.items())
        out.print(f"  {bad_mark} {sum(stubbed.values())} failed on functions not implemented yet: "
                  f"{escape(listing)}", highlight=False, soft_wrap=True)
    if verbose and step.step == "pytest" and step.output.strip():
        say(step.output.rstrip())
    if step.note:
        warn(f"{step.step}: {step.note}")
    if step.error and not step.failures:
        out.print(f"  {bad_mark} {escape(step.error)}", highlight=False, soft_wrap=True)
        if step.output.strip() and not verbose:
            say(_indent(tail(step.output, 15), 4))


def _named(test) -> str:
    """A test's name as its line shows it; a failed cell's with its place in the notebook, where a
    student finds it: 'the cell at line 57 (alpha_dev.ipynb: cell [4], line 2)'."""
    return f"{test.name} ({test.notebook_place})" if test.is_cell_failure and test.notebook_place else test.name


def _why_skipped(step) -> str:
    """' (PyTorch is not installed ...)' when most skipped tests say the same; '' otherwise."""
    from collections import Counter

    reasons = Counter(t.message.removeprefix("skipped: ").strip() for t in step.tests if t.skipped)
    reason, count = reasons.most_common(1)[0] if reasons else ("", 0)
    return escape(f" ({reason})") if reason and count * 2 > step.skipped_count else ""  # '.[bench]' is no markup


def _one_per_first_line(failures: list) -> list:
    """The (step, test) failures, only the first of those whose one-line summary is the same."""
    first = {}
    for step, test in failures:
        first.setdefault(_first_line(test), (step, test))
    return list(first.values())


def _failures_by_first_line(tests) -> dict:
    """First line of a failure -> the failed tests that share it, in order."""
    groups = {}
    for test in tests:
        if test.status == "failed":
            groups.setdefault(_first_line(test), []).append(test)
    return groups


def _count_stubbed(failures) -> dict:
    counts = {}
    for test in failures:
        name = _stub_of(test)
        if name:
            counts[name] = counts.get(name, 0) + 1
    return counts


def _first_line(test) -> str:
    """A failure in one line: 'not implemented yet: NAME' for a stub, else the message's first
    line, with the next one when the first only names the exception (np.testing's messages)."""
    name = _stub_of(test)
    if name and test.message.startswith("NotImplementedError"):
        return f"not implemented yet: {name}" + (" (the rest of this cell was skipped)"
                                                 if test.is_cell_failure else "")
    lines = [line.strip() for line in test.message.splitlines() if line.strip()]
    if len(lines) > 1 and lines[0].endswith(":"):
        return f"{lines[0]} {lines[1]}"
    return lines[0] if lines else ""


def _show_failure(step, test) -> None:
    """The message, where it happened (the traceback without what the message already says)
    and, for an inline test, what it printed before it failed."""
    out = console()
    where = f" at {test.location}" if test.location else ""
    header = f"--- {step.step} failure: {test.name}{where}"
    out.print(header if plain_output() else f"[red]{escape(header)}[/]", highlight=False, soft_wrap=True)
    say(_indent(test.message or "(no message)", 4))
    details = _short(test.details, test.message)
    if details:
        say(_indent(details, 4))
    if step.step == "inline" and test.output.strip():
        out.print("    output before the failure:", highlight=False)
        out.print(_indent(tail(test.output, 8), 6), markup=False, highlight=False)


def _short(details: str, message: str, lines: int = 10) -> str:
    """The last lines of a traceback that the message does not already say."""
    said = {line.strip() for line in message.splitlines() if line.strip()}
    kept = [line for line in details.rstrip().splitlines()
            if line.strip() and line.strip() not in said and line.lstrip("E ").strip() not in said]
    return "\n".join(kept[-lines:])


def _indent(text: str, width: int) -> str:
    pad = " " * width
    return "\n".join(pad + line for line in text.splitlines())

