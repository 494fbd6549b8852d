"""tito autograder gradescope: the zip Gradescope expects, with no reference solution in it, and
run as Gradescope runs it — unzipped into a temporary AUTOGRADER_ROOT, setup.sh once (offline:
PIP_NO_INDEX=1 and this environment's python3 first on PATH, where every requirement is already
installed, so pip only checks them), then run_autograder per submission. Where this machine
allows, that happens in a container like Gradescope's: root, with the uid-drop sandbox (no user
namespaces there), /root and /work emptied but for Python."""

import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest
from grade_attacks import SECRET, attack, container
from tiny_course import ALPHA_DEV, run_tito

from tito.editions.notebooks import notebook_json, to_notebook

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
    assert "Try it locally in a throwaway venv:" in proc.stdout and "never run it with your system's Python" in proc.stdout
    steps = [line.strip() for line in proc.stdout.splitlines() if line.startswith("  ")]
    assert steps[0] == 'AG=$(mktemp -d) && python3 -m venv "$AG/venv" && . "$AG/venv/bin/activate"'
    assert steps[1].startswith(f"python3 -m zipfile -e {dist / 'alpha-autograder.zip'} ") and "setup.sh" in steps[2]
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


@pytest.fixture(scope="module")
def root(bundle, tmp_path_factory) -> Path:
    """An AUTOGRADER_ROOT with the bundle unzipped into source/ and setup.sh run."""
    root = tmp_path_factory.mktemp("autograder")
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
    with tarfile.open(fileobj=io.BytesIO(members["grading.tar.gz"])) as tar:
        names = tar.getnames()
        contents = [tar.extractfile(m).read() for m in tar.getmembers() if m.isfile()]
    assert "expected/double.npz" in names and "template/tito/grading/gradescope.py" in names
    assert "template/modules/source/01_alpha/alpha_dev.py" not in names
    assert not [name for name in names if "__pycache__" in name]  # compiled while preparing: no use there
    for data in [*members.values(), *contents]:  # the solution's lines, anywhere, in any file
        assert SECRET.encode() not in data and b"scaled_by_the_stored_factor" not in data


def test_run_autograder_grades_a_solved_notebook_and_a_stub(root, tmp_path):
    """As root without user namespaces (a container like Gradescope's, uid-drop) where this
    machine can make one; otherwise with the sandbox found here. The stub also goes for the
    container's secrets: the seed, the expected results, the metadata, the results file."""
    env = dict(os.environ, AUTOGRADER_ROOT=str(root), PATH=f"{BIN}:{os.environ['PATH']}", NO_COLOR="1")
    env.pop("PYTHONPATH", None)
    prefix, backend = [], None
    if os.geteuid() == 0 and shutil.which("bwrap") and shutil.which("setpriv"):
        prefix, backend = container(tmp_path), "uid-drop"
        env["TITO_SANDBOX"] = "uid-drop"
    (root / "submission_metadata.json").write_text('{"users": [{"name": "Alice", "email": "alice@example.org"}]}')
    (root / "results").mkdir(exist_ok=True)
    (root / "results" / "results.json").write_text("{}")
    # the stub, with code that goes for the container's secrets when it is imported
    cases = [("alpha_dev.ipynb", notebook_json(to_notebook(ALPHA_DEV)), 6),
             ("alpha_dev.py", attack(RAID.format(root=str(root))), 0)]
    for name, text, score in cases:
        shutil.rmtree(root / "submission", ignore_errors=True)
        (root / "submission").mkdir()
        (root / "submission" / name).write_text(text)
        proc = subprocess.run([*prefix, "bash", str(root / "source" / "run_autograder")], env=env, cwd=root,
                              capture_output=True, text=True, timeout=300)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        result = json.loads((root / "results" / "results.json").read_text())
        assert result["score"] == score, result
        assert result["extra_data"]["sandbox"] == (backend or result["extra_data"]["sandbox"])
        raided = [t["output"] for t in result["tests"] if "ATTACK-REPORT" in t["output"]]
        if score == 0:
            assert "not implemented yet: double, Scaler.__call__" in result["output"]
            report = json.JSONDecoder().raw_decode(raided[0].split("ATTACK-REPORT ", 1)[1])[0]
            assert report == {"refused": ["source/grading/grading.json", "source/grading/expected/double.json",
                                          "source/grading.tar.gz", "submission_metadata.json",
                                          "results/results.json", "writing results.json"]}
        checks = [(t["name"], t["score"], t["max_score"]) for t in result["tests"] if "check" in t["tags"]]
        assert checks == [("double", 3 * bool(score), 3), ("scaler", 2 * bool(score), 2),
                          ("double_negative", bool(score), 1), ("numpy_is_provided", 0, 0)]
    assert (root.stat().st_mode & 0o777) == 0o700  # the expected results were out of the student's reach


def test_the_submission_is_the_modules_file_or_the_only_source(tmp_path):
    from tito.grading.gradescope import NotGraded, find_submission

    (tmp_path / "notes.txt").write_text("my answers are in the notebook")
    with pytest.raises(NotGraded, match=r"^Submit your alpha_dev.py \(or alpha_dev.ipynb\) for module alpha; this "
                                        r"submission has notes.txt.$"):
        find_submission(tmp_path, "alpha")
    (tmp_path / "work").mkdir()
    (tmp_path / "work" / "mine.py").write_text("x = 1")
    assert find_submission(tmp_path, "alpha") == tmp_path / "work" / "mine.py"
    (tmp_path / "other.ipynb").write_text("{}")
    with pytest.raises(NotGraded, match="this submission has notes.txt, other.ipynb, work/mine.py"):
        find_submission(tmp_path, "alpha")
    (tmp_path / "__MACOSX").mkdir()
    (tmp_path / "__MACOSX" / "alpha_dev.py").write_text("")
    (tmp_path / "alpha_dev.py").write_text("# mine")
    assert find_submission(tmp_path, "alpha") == tmp_path / "alpha_dev.py"


def test_a_linked_submission_is_refused_not_read(tmp_path):
    """Root reads the submission before the sandbox: a link must not hand it another file."""
    from tito.grading.gradescope import find_submission
    from tito.grading.submission import SubmissionError, read_bytes

    (tmp_path / "alpha_dev.py").symlink_to("/etc/shadow")
    linked = find_submission(tmp_path, "alpha")
    with pytest.raises(SubmissionError, match=r"^alpha_dev.py is a symbolic link; a submission is a file of its own$"):
        read_bytes(linked)


def test_two_module_files_in_one_submission_are_refused_not_guessed(tmp_path):
    """On Gradescope, file times are upload times: the newer of two files says nothing."""
    from tito.grading.gradescope import NotGraded, find_submission

    (tmp_path / "alpha_dev.py").write_text("# done")
    (tmp_path / "old").mkdir()
    (tmp_path / "old" / "alpha_dev.ipynb").write_text("{}")
    with pytest.raises(NotGraded, match=r"^Submit one file: this submission has alpha_dev.py, old/alpha_dev.ipynb, "
                                        r"and the autograder cannot tell which is your work.$"):
        find_submission(tmp_path, "alpha")
