"""Files tito writes get the mode a plain open() would give them (0666 minus the umask), or keep
an existing file's mode; a student edition is a folder of 0777 minus the umask. (A temporary
file from tempfile.mkstemp is 0600 and a tempfile.mkdtemp folder 0700, whatever the umask,
which breaks courses shared by a group and JupyterHub set-ups.)"""

import os
import stat

import pytest

from tito.files import write_atomically
from tito.progress import ProgressStore


@pytest.fixture(params=[0o022, 0o002], ids=["umask022", "umask002"])
def umask(request):
    old = os.umask(request.param)
    yield request.param
    os.umask(old)


def mode(path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_what_tito_writes_honours_the_umask(course, tito, umask, tmp_path):
    file_mode, folder_mode = 0o666 & ~umask, 0o777 & ~umask
    assert tito("export", "--module", "alpha").exit_code == 0
    assert tito("notebooks", "--module", "alpha").exit_code == 0
    ProgressStore(course.root).record("alpha", {"passed": True})
    written = [course.generated("alpha"), course.root / "tinytorch/core/__init__.py",
               course.dev("alpha").with_suffix(".ipynb"), course.root / ".tito/notebooks.json",
               course.root / ".tito/progress.json"]
    assert {str(p.relative_to(course.root)): mode(p) for p in written} == {
        str(p.relative_to(course.root)): file_mode for p in written}
    out = tmp_path / "edition"
    assert tito("release", "--all", "--out", str(out)).exit_code == 0
    assert (mode(out), mode(out / "Makefile"), mode(out / ".tito/release/manifest.json")) == (
        folder_mode, file_mode, file_mode)


def test_a_file_written_again_keeps_its_mode(tmp_path, umask):
    path = tmp_path / "grade.json"
    write_atomically(path, "{}\n")
    assert mode(path) == 0o666 & ~umask
    path.chmod(0o640)
    write_atomically(path, '{"points": 3}\n')
    assert mode(path) == 0o640 and path.read_text() == '{"points": 3}\n'
    path.chmod(0o664)
    write_atomically(path, "{}\n")
    assert mode(path) == 0o664  # even bits the umask would take away
    assert sorted(p.name for p in tmp_path.iterdir()) == ["grade.json"]  # no temporary file left


def test_a_generated_file_keeps_its_mode_when_exported_again(course, tito):
    assert tito("export", "--module", "alpha").exit_code == 0
    generated = course.generated("alpha")
    generated.chmod(0o600)
    dev = course.dev("alpha")
    dev.write_text(dev.read_text().replace("LIMIT = 10", "LIMIT = 11"))
    assert tito("export", "--module", "alpha").exit_code == 0
    assert "LIMIT = 11" in generated.read_text() and mode(generated) == 0o600


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to make a file another user owns")
def test_a_file_another_user_owns_is_rewritten_ours_and_writable_by_no_one_else(tmp_path):
    """A student's 0666 (or setuid) file planted where the instructor writes a report: the report
    must not stay writable by the student."""
    planted = tmp_path / "report.json"
    planted.write_text("{}")
    os.chown(planted, 59117, 59117)
    os.chmod(planted, 0o4666)
    write_atomically(planted, "{\"score\": 4}")
    info = planted.stat()
    assert info.st_uid == 0 and stat.S_IMODE(info.st_mode) == 0o644


def test_a_link_is_replaced_with_a_file_of_the_default_mode_not_its_targets(tmp_path, umask):
    target = tmp_path / "target"
    target.write_text("x")
    os.chmod(target, 0o700)
    link = tmp_path / "report.json"
    link.symlink_to(target)
    write_atomically(link, "new")
    assert not link.is_symlink() and target.read_text() == "x"
    assert stat.S_IMODE(link.stat().st_mode) == 0o666 & ~umask


@pytest.mark.parametrize("mask", [0o077, 0o002])
def test_a_release_copies_files_with_the_umasks_modes(tmp_path, mask, monkeypatch):
    """Copied files (tito/, bin/, tests/...) get the modes written ones do: 0666 minus the umask,
    executables 0777 minus it (shutil.copy2 kept the source's 0644 and 0755)."""
    from click.testing import CliRunner

    from tiny_course import build_course

    from tito.cli import cli

    course = build_course(tmp_path / "course", tooling=True)
    (course.root / "tests" / "conftest.py").write_text("")
    os.chmod(course.root / "bin" / "tito", 0o755)
    os.chmod(course.root / "bin" / "activate-tinytorch.sh", 0o644)
    monkeypatch.chdir(course.root)
    old = os.umask(mask)
    try:
        result = CliRunner().invoke(cli, ["release", "--all", "--out", str(tmp_path / "edition")], prog_name="tito")
    finally:
        os.umask(old)
    assert result.exit_code == 0, result.output
    out = tmp_path / "edition"
    # bin/tito was 0755, the rest 0644
    executables = {out / "bin" / "tito", out / "binder" / "postBuild", out / "binder" / "start"}
    wrong = {str(p.relative_to(out)): oct(mode(p)) for p in [out, *out.rglob("*")]
             if mode(p) != (0o777 if p.is_dir() or p in executables else 0o666) & ~mask}
    assert wrong == {}
    assert (out / "tito" / "cli.py").is_file() and (out / "tests" / "conftest.py").is_file()
