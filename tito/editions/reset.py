"""``tito module reset``: a student's module back to the stub it was released with."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from tito.course import Course, Module
from tito.editions import is_student_edition, released_stub
from tito.errors import TitoError
from tito.files import backup, write_atomically
from tito.notebooks.convert import notebook_json, to_notebook


@dataclass
class ResetResult:
    module: Module
    restored: Path
    backups: list[Path]
    changed: bool
    notebook_rewritten: bool = False  # the notebook was written again too (one open in Jupyter is now stale)


def reset_module(course: Course, module: Module) -> ResetResult:
    """Put a student's module source (and notebook, if any) back to the released stub.

    The student's current files are copied to ``.tito/backups`` first; nothing is lost. The
    module's last test result is forgotten: it was of the work put aside.
    """
    pristine = released_stub(course.root, module)
    if not pristine.exists():
        hint = ("This course has no released copy of it: `tito module reset` works in a student edition "
                "written by `tito release`.")
        if not is_student_edition(course.root):
            hint += " Here are the instructor's sources; resetting them would erase the solutions."
        raise TitoError(f"No released stub of module '{module.name}' at {module.relative(pristine)}.", hint=hint)
    stub = pristine.read_text(encoding="utf-8")
    backups = []
    # bytes, not text: a source saved in another encoding is what a reset is for
    current = module.dev_file.read_bytes() if module.dev_file.exists() else None
    changed = current != stub.encode("utf-8")
    if current is not None and changed:
        backups.append(backup(course.root, module.dev_file))
    fresh = notebook_json(to_notebook(stub, module)) if module.notebook.exists() else None
    notebook_changed = fresh is not None and module.notebook.read_bytes() != fresh.encode("utf-8")
    if notebook_changed:
        backups.append(backup(course.root, module.notebook))
    write_atomically(module.dev_file, stub)
    if notebook_changed:
        try:
            write_atomically(module.notebook, fresh)
        except BaseException:  # both files or neither: the notebook would otherwise look newer than the stub
            if current is not None:
                write_atomically(module.dev_file, current)
            raise
    if fresh is not None:
        from tito.notebooks.sync import record

        record(module, stub, fresh)
    if changed or backups:
        from tito.progress import ProgressStore

        ProgressStore(course.root).forget(module.name)  # its last test result was of the work just put aside
    return ResetResult(module, module.dev_file, backups, changed or bool(backups), notebook_changed)
