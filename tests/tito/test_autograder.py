"""tito autograder gradescope / prairielearn: the zips the platforms expect, with no reference
solution in them, and run as the platforms run them — unzipped into a temporary AUTOGRADER_ROOT, setup.sh once (offline:
PIP_NO_INDEX=1 and this environment's python3 first on PATH, where every requirement is already
installed, so pip only checks them), then run_autograder per submission. Where this machine
allows, that happens in a container like Gradescope's: root, with the uid-drop sandbox (no user
namespaces there), /root and /work emptied but for Python."""

import hashlib
import io
import itertools
import json
import os
import shutil
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest
from grade_attacks import ONE_OFF, SECRET, STUB, attack, attack_submissions, container
from tiny_course import ALPHA_DEV, flat, run_tito

from tito.grading.sandbox import detect
from tito.notebooks.convert import notebook_json, to_notebook

NAMES = ["setup.sh", "run_autograder", "requirements.txt", "grading.tar.gz", "grading.tar.gz.sha256",
         "autograder.json", "README.md"]
BIN = str(Path(sys.executable).parent)  # python3 of this environment: setup.sh and run_autograder use PATH's
# a submission that goes for the container's secrets: the seed, the expected results, the archive,
# the students' metadata, and the results file Gradescope reads
RAID = """
for path in ("source/grading/grading.json", "source/grading/expected/double.json", "source/grading.tar.gz",
             "submission_metadata.json", "results/results.json"):
    try:
        open({root!r} + "/" + path, "rb").read(1)
        _note("read", path)
    except OSError:
        _note("refused", path)
try:
    with open({root!r} + "/results/results.json", "w") as forged:
        forged.write('{{"score": 100, "tests": []}}')
    _note("written", "results.json")
except OSError:
    _note("refused", "writing results.json")
"""


@pytest.fixture(scope="module")
def bundle(instructor_course, tmp_path_factory) -> Path:
    dist = tmp_path_factory.mktemp("dist")
    proc = run_tito(instructor_course, "autograder", "gradescope", "--module", "alpha", "--out", str(dist),
                    "--timeout", "30")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert f"Wrote {dist / 'alpha-autograder.zip'}" in proc.stdout
    assert "No reference solution of 'alpha' is in it." in proc.stdout
    # trying it locally goes through a throwaway venv: setup.sh pip-installs into the python3 on PATH
    assert "Try it locally in a throwaway venv:" in proc.stdout
    assert "never run it with your system's Python" in proc.stdout
    steps = [line.strip() for line in proc.stdout.splitlines() if line.startswith("  ")]
    # the venv outside $AG, which run_autograder makes root's only: under uid-drop its user could not import numpy
    assert steps[0] == ('VENV=$(mktemp -d) && chmod 755 "$VENV" && python3 -m venv "$VENV/venv" '
                        '&& . "$VENV/venv/bin/activate"')
    assert not [step for step in steps if '"$AG/venv' in step]
    assert steps[1].startswith(f"AG=$(mktemp -d) && python3 -m zipfile -e {dist / 'alpha-autograder.zip'} ")
    assert "setup.sh" in steps[2]
    assert "/usr/bin/python3 works, a pyenv Python under /root (a private folder) does not." in proc.stdout
    # red team 36: under uid-drop a submission tried locally read the course's solution and this zip
    assert "That user can also read every file others can on this machine (your course, this zip): try " \
           "untrusted files in" in flat(proc.stdout)
    return dist / "alpha-autograder.zip"


def test_a_student_edition_is_refused_with_graders_own_words(course, tito, tmp_path):
    from tiny_course import flat

    from tito.editions import MANIFEST

    course.write(str(MANIFEST), "{}")
    for args in (("autograder", "gradescope", "--out", str(tmp_path / "dist")), ("grade", str(course.dev("alpha")))):
        result = tito(*args, "--module", "alpha")
        assert result.exit_code == 1
        assert (f"Error: {course.root} is a student edition (written by tito release): it holds no solutions to grade "
                "against. Grade from the instructor's course") in flat(result.output)
    assert not (tmp_path / "dist").exists()


def installed(bundle: Path, root: Path) -> Path:
    """``root`` with the bundle unzipped into source/ and setup.sh run (offline, this Python)."""
    with zipfile.ZipFile(bundle) as archive:
        archive.extractall(root / "source")
        for info in archive.infolist():  # unzip keeps the Unix modes; zipfile does not
            os.chmod(root / "source" / info.filename, info.external_attr >> 16 & 0o777)
    env = dict(os.environ, AUTOGRADER_ROOT=str(root), PIP_NO_INDEX="1", PATH=f"{BIN}:{os.environ['PATH']}")
    setup = subprocess.run(["bash", str(root / "source" / "setup.sh")], env=env, capture_output=True, text=True,
                           timeout=300)
    assert setup.returncode == 0, setup.stdout + setup.stderr
    assert "tito autograder ready: Python 3." in setup.stdout
    return root


@pytest.fixture(scope="module")
def root(bundle, tmp_path_factory) -> Path:
    """An AUTOGRADER_ROOT with the Gradescope bundle installed."""
    return installed(bundle, tmp_path_factory.mktemp("autograder"))


def as_container(tmp_path) -> tuple[list[str], str | None]:
    """The command prefix and sandbox of a container like the platforms' (root, no user
    namespaces: uid-drop) where this machine can make one; else none, and the sandbox found here."""
    if os.geteuid() == 0 and shutil.which("bwrap") and shutil.which("setpriv"):
        return container(tmp_path), "uid-drop"
    return [], None


def no_solution_in(members: dict) -> None:
    """Neither the zip's files nor those in its grading.tar.gz hold a line of alpha's solution."""
    with tarfile.open(fileobj=io.BytesIO(members["grading.tar.gz"])) as tar:
        names = tar.getnames()
        contents = [tar.extractfile(m).read() for m in tar.getmembers() if m.isfile()]
    assert "expected/double.npz" in names and "template/tito/grading/hosted.py" in names
    assert "template/modules/source/01_alpha/alpha_dev.py" not in names
    assert not [name for name in names if "__pycache__" in name]  # compiled while preparing: no use there
    for data in [*members.values(), *contents]:  # the solution's lines, anywhere, in any file
        assert SECRET.encode() not in data and b"scaled_by_the_stored_factor" not in data


def test_a_file_that_is_no_bundle_is_never_replaced(bundle, instructor_course, tmp_path):
    """Instructor walkthrough 35: a file of the bundle's name that tito did not write (not a zip, or
    a zip without its autograder.json) was replaced, with only ', replaced the previous one' said.
    It is kept now, the command refused before anything is prepared; an earlier bundle is replaced."""
    from tito.grading.bundle import refuse_to_replace_what_is_no_bundle

    refuse_to_replace_what_is_no_bundle(bundle)  # tito's own: replaced by the next build
    other_zip = io.BytesIO()
    with zipfile.ZipFile(other_zip, "w") as archive:
        archive.writestr("notes.txt", "mine")
    for name, data in (("junk", b"my notes"), ("other zip", other_zip.getvalue())):
        dist = tmp_path / name
        dist.mkdir()
        (dist / "alpha-autograder.zip").write_bytes(data)
        proc = run_tito(instructor_course, "autograder", "gradescope", "--module", "alpha", "--out", str(dist))
        assert proc.returncode == 1 and flat(proc.stderr) == (
            f"Error: {dist / 'alpha-autograder.zip'} is there and is not a bundle tito wrote; nothing was written. "
            "Move it away, or give another folder with --out DIR."), proc.stdout + proc.stderr
        assert (dist / "alpha-autograder.zip").read_bytes() == data and len(list(dist.iterdir())) == 1


def test_the_zip_has_gradescopes_two_scripts_at_its_root_and_no_solution(bundle, instructor_course):
    from tito.course import Course
    from tito.grading.bundle import requirements

    with zipfile.ZipFile(bundle) as archive:
        assert archive.namelist() == NAMES
        members = {name: archive.read(name) for name in NAMES}
        modes = {info.filename: info.external_attr >> 16 & 0o777 for info in archive.infolist()}
    assert (modes["setup.sh"], modes["run_autograder"]) == (0o755, 0o755)
    assert all(members[script].startswith(b"#!/usr/bin/env bash\n") for script in ("setup.sh", "run_autograder"))
    assert members["requirements.txt"].decode().split() == requirements(Course(instructor_course))
    assert "hypothesis>=6.0" in requirements(Course(instructor_course))  # the feedback tests' property tests
    digest = hashlib.sha256(members["grading.tar.gz"]).hexdigest()
    assert members["grading.tar.gz.sha256"].decode() == f"{digest}  grading.tar.gz\n"
    assert json.loads(members["autograder.json"])["sha256"] == digest
    no_solution_in(members)


def test_run_autograder_grades_a_solved_notebook_a_stub_and_a_fork(root, instructor_course, tmp_path):
    """As root without user namespaces (a container like Gradescope's, uid-drop) where this
    machine can make one; otherwise with the sandbox found here. The stub also goes for the
    container's secrets: the seed, the expected results, the metadata, the results file."""
    env = dict(os.environ, AUTOGRADER_ROOT=str(root), PATH=f"{BIN}:{os.environ['PATH']}", NO_COLOR="1")
    env.pop("PYTHONPATH", None)
    prefix, backend = as_container(tmp_path)
    if backend:
        env["TITO_SANDBOX"] = backend
    (root / "submission_metadata.json").write_text('{"users": [{"name": "Alice", "email": "alice@example.org"}]}')
    (root / "results").mkdir(exist_ok=True)
    (root / "results" / "results.json").write_text("{}")
    # the stub, with code that goes for the container's secrets when it is imported; a fork of an
    # edition released with --repository (both files, written by one checkout), solved in the .py,
    # the notebook as released but for the fork's URL in its Colab cell
    fork = released_pair_with(instructor_course, py=ALPHA_DEV, repository=EDITION_URL)
    fork["alpha_dev.ipynb"] = fork["alpha_dev.ipynb"].replace(EDITION_URL, FORK_URL)
    cases = [({"alpha_dev.ipynb": notebook_json(to_notebook(ALPHA_DEV))}, 6, "Graded alpha_dev.ipynb."),
             ({"alpha_dev.py": attack(RAID.format(root=str(root)))}, 0, "Graded alpha_dev.py."),
             (fork, 6, "Graded alpha_dev.py of alpha_dev.ipynb, alpha_dev.py (the other is as released).")]
    for files, score, graded in cases:
        shutil.rmtree(root / "submission", ignore_errors=True)
        (root / "submission").mkdir()
        for name, text in files.items():
            (root / "submission" / name).write_text(text)
            os.utime(root / "submission" / name, (1_800_000_000, 1_800_000_000))
        proc = subprocess.run([*prefix, "bash", str(root / "source" / "run_autograder")], env=env, cwd=root,
                              capture_output=True, text=True, timeout=300)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        result = json.loads((root / "results" / "results.json").read_text())
        assert result["score"] == score, result
        assert result["extra_data"]["sandbox"] == (backend or detect()[0].name)
        raided = [t["output"] for t in result["tests"] if "ATTACK-REPORT" in t["output"]]
        if score == 0:
            assert "not implemented yet: double, Scaler.__call__" in result["output"]
            report = json.JSONDecoder().raw_decode(raided[0].split("ATTACK-REPORT ", 1)[1])[0]
            assert report == {"refused": ["source/grading/grading.json", "source/grading/expected/double.json",
                                          "source/grading.tar.gz", "submission_metadata.json",
                                          "results/results.json", "writing results.json"]}
        assert result["output"].splitlines()[-1] == graded
        checks = [(t["name"], t["score"], t["max_score"]) for t in result["tests"] if "check" in t["tags"]]
        assert checks == [("double", 3 * bool(score), 3), ("scaler", 2 * bool(score), 2),
                          ("double_negative", bool(score), 1), ("numpy_is_provided", 0, 0)]
    assert (root.stat().st_mode & 0o777) == 0o700  # the expected results were out of the student's reach


EDITION_URL = "https://github.com/uni/tinytorch-student"  # tito release --repository
FORK_URL = "https://github.com/uma/tinytorch-fork"  # what the Colab cell tells a student in a fork to put there


def released_pair_with(course_root: Path, py: str | None = None, notebook: str | None = None,
                       repository: str | None = None) -> dict:
    """alpha_dev.py and alpha_dev.ipynb as tito release hands them out (with ``repository``: with
    their Colab cell), but for the one given."""
    from tito.course import Course
    from tito.editions.notebooks import student_edition

    stripped, released = student_edition(Course(course_root).get("alpha"), repository)
    return {"alpha_dev.py": py or stripped.text, "alpha_dev.ipynb": notebook or notebook_json(released)}


def test_the_submission_is_the_modules_file_or_the_only_source(tmp_path):
    from tito.grading.submission import NotGraded, find_submission

    (tmp_path / "notes.txt").write_text("my answers are in the notebook")
    with pytest.raises(NotGraded, match=r"^Submit your alpha_dev.py \(or alpha_dev.ipynb\) for module alpha; this "
                                        r"submission has notes.txt.$"):
        find_submission(tmp_path, "alpha")
    (tmp_path / "work").mkdir()
    (tmp_path / "work" / "mine.py").write_text("x = 1")
    # what else was submitted is said on the platforms as tito grade says it (it was graded silently)
    assert find_submission(tmp_path, "alpha") == (tmp_path / "work" / "mine.py",
                                                  "Graded work/mine.py; left out of your submission: notes.txt.")
    (tmp_path / "other.ipynb").write_text("{}")
    with pytest.raises(NotGraded, match="this submission has notes.txt, other.ipynb, work/mine.py"):
        find_submission(tmp_path, "alpha")
    (tmp_path / "__MACOSX").mkdir()
    (tmp_path / "__MACOSX" / "alpha_dev.py").write_text("")
    (tmp_path / "alpha_dev.py").write_text("# mine")
    assert find_submission(tmp_path, "alpha") == (tmp_path / "alpha_dev.py", "Graded alpha_dev.py; left out of your "
                                                  "submission: notes.txt, other.ipynb, work/mine.py.")


def test_the_modules_file_is_found_in_a_whole_fork_past_the_files_listed(tmp_path):
    """Red team 36b: a student's whole fork, with 250 images in a folder before modules/, scored 0:
    only the first 200 files were looked at, the module's file among them or not."""
    from tito.grading.submission import find_submission

    (tmp_path / "data").mkdir()
    for n in range(250):
        (tmp_path / "data" / f"img{n:03}.png").write_bytes(b"png")
    dev = tmp_path / "modules" / "source" / "01_alpha" / "alpha_dev.py"
    dev.parent.mkdir(parents=True)
    dev.write_text("x = 1")
    graded, note = find_submission(tmp_path, "alpha")
    assert graded == dev
    assert note.startswith("Graded modules/source/01_alpha/alpha_dev.py; left out of your submission: data/img000.png")


def test_a_file_name_cannot_print_a_line_of_its_own_in_the_platforms_result(tmp_path):
    """Red team 36: a submission named "odd\\n\\x1b[31mname.py" had its escape sequence shown escaped
    but its newline kept, a line of its own in the result; it is named as tito grade names it."""
    from tito.grading.submission import find_submission

    odd = tmp_path / "odd\n\x1b[31mname.py"
    odd.write_text("x = 1")
    assert find_submission(tmp_path, "alpha") == (odd, "Graded odd\\x0a\\x1b[31mname.py.")


def test_a_linked_submission_is_refused_not_read(tmp_path):
    """Root reads the submission before the sandbox: a link must not hand it another file."""
    from tito.grading.submission import SubmissionError, find_submission, read_bytes

    (tmp_path / "alpha_dev.py").symlink_to("/etc/shadow")
    linked, _ = find_submission(tmp_path, "alpha")
    with pytest.raises(SubmissionError, match=r"^alpha_dev.py is a symbolic link; a submission is a file of its own$"):
        read_bytes(linked)


def test_a_fifo_named_as_the_module_is_told_as_no_regular_file(tmp_path):
    """Red team 36b: a FIFO named alpha_dev.py was said as 'this submission has no files'."""
    from tito.grading.submission import SubmissionError, find_submission, read_bytes

    os.mkfifo(tmp_path / "alpha_dev.py")
    fifo, note = find_submission(tmp_path, "alpha")
    assert (fifo, note) == (tmp_path / "alpha_dev.py", "Graded alpha_dev.py.")
    with pytest.raises(SubmissionError, match=r"^alpha_dev.py is not a regular file$"):
        read_bytes(fifo)


def test_two_module_files_in_one_submission_are_refused_not_guessed(tmp_path):
    """On Gradescope, file times are upload times: the newer of two files says nothing."""
    from tito.grading.submission import NotGraded, find_submission

    (tmp_path / "alpha_dev.py").write_text("# done")
    (tmp_path / "old").mkdir()
    (tmp_path / "old" / "alpha_dev.ipynb").write_text("{}")
    with pytest.raises(NotGraded, match=r"^Submit one file: this submission has alpha_dev.py, old/alpha_dev.ipynb, "
                                        r"and the autograder cannot tell which is your work.$"):
        find_submission(tmp_path, "alpha")


def test_both_module_files_in_one_folder_are_graded_as_tito_grade_grades_them(instructor_course, tmp_path):
    """A fork of the edition has both files, written at once by the checkout: a file left as
    released is never the one graded; without that, the newer; at the same time, the notebook."""
    from tito.course import Course
    from tito.editions import released_pair
    from tito.grading.submission import find_submission, graded_of

    solved_notebook, solved_py = notebook_json(to_notebook(ALPHA_DEV)), ALPHA_DEV
    released = released_pair(Course(instructor_course).get("alpha"))  # what tito grade and the bundle use

    def submitted(files: dict, times=(1_800_000_000, 1_800_000_000)) -> Path:
        folder = tmp_path / f"s{len(list(tmp_path.iterdir()))}"
        folder.mkdir()
        for (name, text), when in zip(files.items(), times):
            (folder / name).write_text(text)
            os.utime(folder / name, (when, when))
        return folder

    fork = submitted(released_pair_with(instructor_course, notebook=solved_notebook))
    assert find_submission(fork, "alpha", released) == (fork / "alpha_dev.ipynb", "Graded alpha_dev.ipynb of "
                                                        "alpha_dev.ipynb, alpha_dev.py (the other is as released).")
    fork = submitted(released_pair_with(instructor_course, py=solved_py))
    assert graded_of(sorted(fork.iterdir()), released) == (fork / "alpha_dev.py", "the other is as released")
    untouched = submitted(released_pair_with(instructor_course))
    assert graded_of(sorted(untouched.iterdir()), released) == (untouched / "alpha_dev.py", "both are as released")
    edited_both = submitted({"alpha_dev.py": solved_py + "\n", "alpha_dev.ipynb": solved_notebook})
    assert graded_of(sorted(edited_both.iterdir()), released) == (edited_both / "alpha_dev.ipynb",
                                                                   "both written at the same time: the notebook")
    # without the released pair (tito grade), by time alone
    assert graded_of(sorted(fork.iterdir())) == (fork / "alpha_dev.ipynb",
                                                 "both written at the same time: the notebook")
    later_py = submitted({"alpha_dev.py": solved_py, "alpha_dev.ipynb": solved_notebook},
                         times=(1_800_000_010, 1_800_000_000))
    assert graded_of(sorted(later_py.iterdir())) == (later_py / "alpha_dev.py", "the newer")


def test_a_file_of_an_edition_with_its_colab_cell_is_as_released_whatever_url_its_repository_line_holds(
        instructor_course, tmp_path):
    """tito release --repository starts both files with a Colab cell, which tells a student in a
    fork to put the fork's URL into its REPOSITORY line: neither the cell nor that URL is the
    student's work, by default and with --edition; a changed line of code is, on that line too."""
    from tito.course import Course
    from tito.editions import released_pair
    from tito.editions.build import build_edition
    from tito.grading.submission import graded_of

    course = Course(instructor_course)
    module = course.get("alpha")
    build_edition(course, [module], tmp_path / "edition", EDITION_URL)  # what tito release --repository writes
    edition = {name: (tmp_path / "edition" / module.dev_file.relative_to(course.root).with_name(name)).read_text()
               for name in ("alpha_dev.py", "alpha_dev.ipynb")}
    assert edition == released_pair_with(instructor_course, repository=EDITION_URL)
    py, notebook = edition["alpha_dev.py"], edition["alpha_dev.ipynb"]
    in_fork = notebook.replace(EDITION_URL, FORK_URL)
    single_quoted = notebook.replace(f'\\"{EDITION_URL}\\"', f"'{FORK_URL}'")
    code_on_its_line = in_fork.replace(f'{FORK_URL}\\"', f'{FORK_URL}\\"; import os')
    code_changed = in_fork.replace("_helper = 1", "_helper = 2")
    run = json.loads(in_fork)  # run and saved in Jupyter: outputs, counts, metadata, its own JSON layout
    run["metadata"]["language_info"] = {"name": "python", "version": "3.11.7"}
    for count, cell in enumerate(c for c in run["cells"] if c["cell_type"] == "code"):
        cell.update(execution_count=count + 1, outputs=[{"output_type": "stream", "name": "stdout", "text": ["ok\n"]}])
        cell["source"] = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
    run_in_jupyter = json.dumps(run, indent=1, ensure_ascii=False) + "\n"
    assert len({notebook, in_fork, single_quoted, code_on_its_line, code_changed, run_in_jupyter}) == 6

    def graded(released: dict, py_text: str, notebook_text: str, newline: str = "\n") -> tuple[str, str]:
        folder = tmp_path / f"s{len(list(tmp_path.iterdir()))}"
        folder.mkdir()
        for name, text in (("alpha_dev.py", py_text), ("alpha_dev.ipynb", notebook_text)):
            (folder / name).write_bytes(text.replace("\n", newline).encode())
            os.utime(folder / name, (1_800_000_000, 1_800_000_000))  # one checkout
        chosen, why = graded_of(sorted(folder.iterdir()), released)
        return chosen.name, why

    py_graded = ("alpha_dev.py", "the other is as released")
    notebook_graded = ("alpha_dev.ipynb", "the other is as released")
    both_changed = ("alpha_dev.ipynb", "both written at the same time: the notebook")
    for released in (released_pair(module), released_pair(module, tmp_path / "edition")):
        assert graded(released, ALPHA_DEV, notebook) == py_graded
        assert graded(released, ALPHA_DEV, in_fork) == py_graded
        assert graded(released, ALPHA_DEV, single_quoted) == py_graded
        assert graded(released, ALPHA_DEV, in_fork, newline="\r\n") == py_graded  # a checkout on Windows
        assert graded(released, py.replace(EDITION_URL, FORK_URL),
                      notebook_json(to_notebook(ALPHA_DEV))) == notebook_graded
        assert graded(released, ALPHA_DEV, run_in_jupyter) == py_graded  # running it is not work (audit)
        assert graded(released, ALPHA_DEV, code_changed) == both_changed
        assert graded(released, ALPHA_DEV, json.dumps(json.loads(code_changed), indent=1)) == both_changed
        assert graded(released, ALPHA_DEV, code_on_its_line) == both_changed


def test_a_notebook_too_large_to_read_for_its_cells_counts_by_its_bytes():
    """A 19 MB notebook of empty objects took 0.5 GB to read for its cells outside the sandbox (red
    team 13): past MAX_NOTEBOOK_PARSED a notebook's digest is of its bytes, never parsed."""
    import hashlib

    from tito.editions import MAX_NOTEBOOK_PARSED, release_digest

    huge = b'{"cells": [' + b"{}," * (MAX_NOTEBOOK_PARSED // 3) + b"0]}"
    assert release_digest(huge, notebook=True) == hashlib.sha256(huge).hexdigest()
    small = b'{"cells": [{"cell_type": "code", "source": ["x = 1\\n"], "outputs": [1]}]}'
    assert release_digest(small, notebook=True) == release_digest(
        b'{"cells": [{"cell_type": "code", "source": "x = 1\\n"}], "metadata": {}}', notebook=True)


def test_hidden_files_do_not_use_up_the_files_looked_at_and_a_cap_is_said(tmp_path):
    from tito.grading.submission import SUBMISSION_LIMIT, NotGraded, find_submission

    git = tmp_path / "fork" / ".git" / "objects"
    git.mkdir(parents=True)
    for n in range(SUBMISSION_LIMIT + 50):  # a clone's .git sorts before the module's folder
        (git / f"{n:03d}").write_text("")
    (tmp_path / "fork" / "modules").mkdir()
    (tmp_path / "fork" / "modules" / "alpha_dev.py").write_text("# mine")
    assert find_submission(tmp_path / "fork", "alpha") == (tmp_path / "fork" / "modules" / "alpha_dev.py",
                                                           "Graded modules/alpha_dev.py.")
    notes = tmp_path / "notes"  # no module source among them, nor past them
    notes.mkdir()
    for n in range(SUBMISSION_LIMIT + 1):
        (notes / f"a{n:03d}.txt").write_text("")
    with pytest.raises(NotGraded, match=rf"this submission has a000.txt, .*, a009.txt \(and more: only the first "
                                        rf"{SUBMISSION_LIMIT} files were looked at\)\.$"):
        find_submission(notes, "alpha")


def test_a_grader_that_cannot_grade_writes_no_result_and_exits_1(root, monkeypatch, capsys):
    """No sandbox, or a bug of tito's: no results.json (a stale one is removed), exit 1 and the
    reason on stdout, so that the platform shows a failed run, not a 0 the student did not earn."""
    import tito.grading.sandbox
    import tito.grading.workspace
    from tito.grading.hosted import main

    results = root / "results" / "results.json"
    shutil.rmtree(root / "submission", ignore_errors=True)
    (root / "submission").mkdir()
    (root / "submission" / "alpha_dev.py").write_text(ALPHA_DEV)
    results.parent.mkdir(exist_ok=True)
    results.write_text('{"score": 0}')
    with monkeypatch.context() as patch:
        patch.setattr(tito.grading.sandbox, "detect",
                      lambda choice: (None, ["bubblewrap: no bwrap", "uid-drop: not root"]))
        assert main(["hosted", "gradescope", str(root)]) == 1
    assert not results.exists()
    assert capsys.readouterr().out == (
        "tito autograder: not graded, no result written: no sandbox can run the submission here (bubblewrap: no bwrap; "
        "uid-drop: not root). The grader failed, not the submission: fix the autograder (see its README.md) and "
        "grade this submission again.\n")

    for choice in ("bogus", "none"):  # a typo, or no sandbox at all: a platform grades unattended
        with monkeypatch.context() as patch:
            patch.setenv("TITO_SANDBOX", choice)
            assert main(["hosted", "gradescope", str(root)]) == 1
        assert capsys.readouterr().out.startswith("tito autograder: not graded, no result written: TITO_SANDBOX must "
                                                  f"be auto, bubblewrap or uid-drop, got '{choice}'.")

    def broken(folder):
        raise KeyError("checks")

    with monkeypatch.context() as patch:
        patch.setattr(tito.grading.workspace.Prepared, "load", broken)
        assert main(["hosted", "gradescope", str(root)]) == 1
    out = capsys.readouterr().out
    assert out.startswith("Traceback") and "KeyError: 'checks'" in out and not results.exists()
    assert out.endswith("tito autograder: not graded, no result written: the grader failed (the traceback above), "
                        "not the submission; grade it again once fixed.\n")


def submitted(root: Path, text: str) -> None:
    """``text`` as the one file of the Gradescope submission in ``root``."""
    shutil.rmtree(root / "submission", ignore_errors=True)
    (root / "submission").mkdir()
    (root / "submission" / "alpha_dev.py").write_text(text)


def test_a_grading_the_kernel_killed_out_of_memory_in_its_container_is_final_and_counted(
        root, instructor_course, monkeypatch, capsys):
    """The container grades one submission alone: a grading the OOM killer ends there is the
    submission's doing. Red team 35: written as the grader's failure (no result, exit 1), it let a
    submission make its attempt uncounted at will (a child allocating until the container's limit,
    then a SIGKILL of its own). (The count of OOM kills grows here by a patch; the SIGKILL of the
    sandbox's first process is real, sent by the submission.)"""
    import tito.grading.sandbox
    from tito.grading.hosted import main

    kills = itertools.count()
    monkeypatch.setattr(tito.grading.sandbox, "oom_kills", lambda: next(kills))
    submitted(root, attack_submissions(instructor_course, ("kill_entry",))["kill_entry.py"])
    assert main(["hosted", "gradescope", str(root)]) == 0
    result = json.loads((root / "results" / "results.json").read_text())
    assert result["score"] == 0
    assert result["output"].splitlines()[1].startswith(
        "the machine ran out of memory and the kernel killed the grading in the autograder's container, where it ran "
        "alone: this grade is final (if honest work is killed so, give the container more memory and grade it "
        "again)"), result["output"]
    assert capsys.readouterr().out.startswith("gradescope: score 0: Module alpha: 0/5 points")


def test_a_submission_that_fills_its_containers_disk_is_final_unless_the_disk_was_nearly_full(
        root, monkeypatch, capsys):
    """Red team 35: files it unlinked but kept open filled the disk, and a grading stopped so was the
    grader's failure (no result, exit 1): an uncounted attempt at will. Alone in its container, after
    starting with room to spare, the submission filled it itself: a final, counted grade. A disk
    nearly full from the start is still the grader's failure."""
    from tito.grading import sandbox
    from tito.grading.hosted import main

    monkeypatch.setattr(sandbox, "disk_running_low", lambda folder: "the grader's disk had only 1 MB free while it ran")
    submitted(root, ALPHA_DEV)
    monkeypatch.setattr(sandbox, "disk_free", lambda folder: sandbox.FILLED_ITSELF)
    assert main(["hosted", "gradescope", str(root)]) == 0
    result = json.loads((root / "results" / "results.json").read_text())
    assert result["score"] == 0 and result["output"].splitlines()[1].startswith(
        f"it filled the grader's disk itself ({sandbox.FILLED_ITSELF >> 20} MB were free when it started, with no "
        "other grading beside it): this grade is final; stopped by the grader: the grader's disk had only 1 MB "
        "free"), result["output"]
    capsys.readouterr()
    monkeypatch.setattr(sandbox, "disk_free", lambda folder: 100 << 20)
    assert main(["hosted", "gradescope", str(root)]) == 1
    assert not (root / "results" / "results.json").exists()
    assert capsys.readouterr().out.startswith("tito autograder: not graded, no result written: stopped by the "
                                              "grader: the grader's disk had only 1 MB free")


@pytest.fixture(scope="module")
def pl_bundle(instructor_course, tmp_path_factory) -> Path:
    dist = tmp_path_factory.mktemp("pl-dist")
    proc = run_tito(instructor_course, "autograder", "prairielearn", "--module", "alpha", "--out", str(dist),
                    "--timeout", "30", "--image", "me/tito-alpha")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert f"Wrote {dist / 'alpha-prairielearn.zip'}" in proc.stdout
    assert 'PRAIRIELEARN_GRADE="$AG/grade" bash "$AG/source/run_prairielearn"' in proc.stdout
    return dist / "alpha-prairielearn.zip"


def test_the_prairielearn_zip_builds_an_image_and_names_it_in_info_json(pl_bundle, instructor_course):
    from tito.course import Course
    from tito.grading.bundle import python_floor

    with zipfile.ZipFile(pl_bundle) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    assert list(members) == ["setup.sh", "run_prairielearn", "Dockerfile", "info.json", *NAMES[2:]]
    # the job's timeout leaves tito's own 30 s room to start and write the result; the entrypoint is in the image
    assert json.loads(members["info.json"]) == {"externalGradingOptions": {
        "enabled": True, "image": "me/tito-alpha", "entrypoint": "/autograder/source/run_prairielearn", "timeout": 60}}
    dockerfile = members["Dockerfile"].decode()
    assert f"FROM python:{sys.version_info.major}.{sys.version_info.minor}-slim\n" in dockerfile
    assert "COPY . /autograder/source\n" in dockerfile and "bash /autograder/source/setup.sh" in dockerfile
    requires, floor = python_floor(Course(instructor_course))
    assert f"sys.exit(sys.version_info < {floor})" in members["setup.sh"].decode()
    readme = members["README.md"].decode()
    assert "docker build -t me/tito-alpha . && docker push me/tito-alpha" in readme
    assert 'The hidden check shows as one test, "hidden checks", with its points only' in readme
    assert "from the course's module `alpha`: 4 graded checks," in readme
    assert '<pl-file-upload optional-file-names="alpha_dev.py, alpha_dev.ipynb">' in readme  # file-names: both required
    no_solution_in(members)


def prairielearn_errors(path: Path) -> list[str]:
    """What in a results.json breaks PrairieLearn's specification (externalGrading.md, "Grading results")."""
    errors = [] if path.stat().st_size <= 1_000_000 else ["over 1 MB"]
    result = json.loads(path.read_text())
    if not isinstance(result.get("gradable", True), bool):
        errors.append("gradable is not a boolean")
    if result.get("gradable", True):
        if not (isinstance(result.get("score"), float) and 0.0 <= result["score"] <= 1.0):
            errors.append(f"score {result.get('score')!r} not in [0, 1]")
        maximum = sum(t["max_points"] for t in result["tests"])
        if maximum and result["score"] != pytest.approx(sum(t["points"] for t in result["tests"]) / maximum):
            errors.append("score is not the tests' points over their maximum")
    elif not (result["format_errors"] and all(isinstance(e, str) for e in result["format_errors"])):
        errors.append("not gradable without format_errors")
    for test in result.get("tests", []):
        if set(test) != {"name", "description", "points", "max_points", "message", "output"}:
            errors.append(f"test fields {sorted(test)}")
        elif not (all(isinstance(test[k], str) for k in ("name", "description", "message", "output"))
                  and 0 <= test["points"] <= test["max_points"]):
            errors.append(f"test {test['name']!r}")
    return errors


def test_run_prairielearn_grades_a_correct_a_stub_and_a_broken_submission(pl_bundle, tmp_path):
    """PrairieLearn's layout in a temporary folder: the bundle installed where the Dockerfile puts
    it, /grade with student/, data/ and no results/ (PrairieLearn does not make it)."""
    root = installed(pl_bundle, tmp_path / "autograder")
    grade = tmp_path / "grade"
    env = dict(os.environ, AUTOGRADER_ROOT=str(root), PRAIRIELEARN_GRADE=str(grade), NO_COLOR="1",
               PATH=f"{BIN}:{os.environ['PATH']}")
    env.pop("PYTHONPATH", None)
    prefix, backend = as_container(tmp_path)
    if backend:
        env["TITO_SANDBOX"] = backend
    cases = {"correct": ({"alpha_dev.py": ALPHA_DEV}, 1.0), "stub": ({"alpha_dev.py": STUB}, 0.0),
             "one off": ({"alpha_dev.py": ONE_OFF}, 0.0),
             "broken": ({"alpha_dev.py": "def double(x:\n"}, None),
             "nothing": ({"notes.txt": "see the notebook"}, None),
             "extras": ({"alpha_dev.py": ALPHA_DEV, "helper.py": "x = 1\n", "notes.txt": "mine"}, 1.0)}
    results = {}
    for label, (files, _) in cases.items():
        shutil.rmtree(grade, ignore_errors=True)
        (grade / "student").mkdir(parents=True)
        os.chmod(grade, 0o755)  # as PrairieLearn's folder comes
        (grade / "data").mkdir()
        (grade / "data" / "data.json").write_text("{}")
        for name, text in files.items():
            (grade / "student" / name).write_text(text)
        proc = subprocess.run([*prefix, "bash", str(root / "source" / "run_prairielearn")], env=env, cwd=tmp_path,
                              capture_output=True, text=True, timeout=300)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert prairielearn_errors(grade / "results" / "results.json") == [], label
        results[label] = json.loads((grade / "results" / "results.json").read_text())
        score = cases[label][1]  # the instructor's log line said 'score 0.0' of an attempt not counted
        said = f"prairielearn: score {'not gradable' if score is None else score}: "
        assert proc.stdout.splitlines()[-1].startswith(said), proc.stdout
        assert (grade.stat().st_mode & 0o777) == 0o755  # 0700 while it graded, given back once the result was written
    for label, (_, score) in cases.items():
        assert results[label].get("score") == score if score is not None else results[label]["gradable"] is False
    digest = hashlib.sha256((root / "source" / "grading.tar.gz").read_bytes()).hexdigest()
    assert results["correct"]["grading"] == digest  # which bundle, hence which seed, graded it
    assert results["correct"]["message"].splitlines()[-1] == "Graded alpha_dev.py."
    assert results["extras"]["message"].splitlines()[-1] == (
        "Graded alpha_dev.py; left out of your submission: helper.py, notes.txt.")
    assert "Graded" not in results["broken"]["message"]  # nothing was graded: the attempt is not counted

    checks = [(t["name"], t["points"], t["max_points"]) for t in results["stub"]["tests"][:4]]
    assert checks == [("double", 0, 3), ("scaler", 0, 2), ("numpy_is_provided", 0, 0), ("hidden checks", 0, 1)]
    assert "double_negative" not in json.dumps(results["stub"])
    said = results["one off"]["tests"][0]["message"]  # neither where nor what: no oracle
    assert said == "not the expected answer (its values differ); got an array of shape (5,) and dtype float64"
    assert "line 1 is not valid Python" in results["broken"]["format_errors"][0]
    assert not results["broken"]["format_errors"][0].endswith("scores 0")  # the attempt is not counted at all
    assert ".)" not in results["broken"]["format_errors"][0]
    assert results["nothing"]["format_errors"] == [
        "Submit your alpha_dev.py (or alpha_dev.ipynb) for module alpha; this submission has notes.txt."]


def test_a_prairielearn_job_timeout_over_600_seconds_is_refused(instructor_course, tmp_path):
    proc = run_tito(instructor_course, "autograder", "prairielearn", "--module", "alpha", "--out", str(tmp_path / "d"),
                    "--timeout", "580")
    assert proc.returncode == 1
    assert ("PrairieLearn stops a grading job after 600 s at most, and tito needs 30 s beyond its --timeout: give "
            "--timeout 570 or less, not 580.") in " ".join(proc.stdout.split() + proc.stderr.split())
    assert not (tmp_path / "d").exists()


def test_setup_stops_the_image_build_on_a_python_older_than_the_course_allows(root, instructor_course, tmp_path):
    from tito.course import Course
    from tito.grading.bundle import python_floor

    requires, floor = python_floor(Course(instructor_course))  # read from pyproject.toml, never written twice
    old = tmp_path / "bin" / "python3"
    old.parent.mkdir()
    old.write_text(f'#!/bin/sh\n[ "$1" = --version ] && echo "Python {floor[0]}.{floor[1] - 1}.9" && exit 0\n'
                   f'exec {sys.executable} -c "import sys; sys.exit(({floor[0]}, {floor[1] - 1}) < {floor})"\n')
    old.chmod(0o755)
    env = dict(os.environ, AUTOGRADER_ROOT=str(root), PATH=f"{old.parent}:{os.environ['PATH']}")
    proc = subprocess.run(["bash", str(root / "source" / "setup.sh")], env=env, capture_output=True, text=True)
    assert proc.returncode == 1 and proc.stdout == ""
    assert proc.stderr == (f"tito autograder: the course needs Python {requires} (its pyproject.toml), and python3 "
                           f"here is Python {floor[0]}.{floor[1] - 1}.9. Pick a base image with a newer Python.\n")


def test_prairielearn_results_stay_under_one_megabyte():
    from tito.grading.formats import PRAIRIELEARN_MAX_BYTES, prairielearn
    from tito.grading.report import Grade, TestScore

    tests = [TestScore(f"check_{n}", False, 1, "x" * 40_000) for n in range(40)]
    result = prairielearn(Grade("alpha", "a.py", "a", tests))
    size = len(json.dumps(result, indent=2, ensure_ascii=False).encode())
    assert 500_000 < size <= PRAIRIELEARN_MAX_BYTES
    assert {t["message"] for t in result["tests"]} == {"x" * 20_000 + " [cut: the results file is limited to 1 MB]"}


def test_prairielearn_results_stay_under_one_megabyte_whatever_the_feedback_tests_are_named():
    """A submission names its own inline tests: 800 of them, each named by 300 emoji, made a
    1.1 MB results file that PrairieLearn refuses (red team 11). The feedback tests that do not
    fit go, last first, and one line says how many; every check stays."""
    from tito.grading.formats import PRAIRIELEARN_MAX_BYTES, prairielearn
    from tito.grading.report import INLINE, Grade, TestScore

    checks = [TestScore(f"check_{n}", n % 2 == 0, 1, "") for n in range(10)]
    feedback = [TestScore("\U0001F600" * 300 + str(n), False, 0, "", kind=INLINE) for n in range(800)]
    result = prairielearn(Grade("alpha", "a.py", "a", checks + feedback))
    size = len(json.dumps(result, indent=2, ensure_ascii=False).encode())
    assert 900_000 < size <= PRAIRIELEARN_MAX_BYTES
    names = [t["name"] for t in result["tests"]]
    assert names[:10] == [f"check_{n}" for n in range(10)] and result["score"] == 0.5
    shown = len(names) - 11
    assert names[10:-1] == ["feedback: " + "\U0001F600" * 300 + str(n) for n in range(shown)] and 500 < shown < 800
    assert result["tests"][-1]["message"] == (f"{800 - shown} feedback tests not shown: "
                                              "the results file is limited to 1 MB")
