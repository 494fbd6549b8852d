"""Course discovery, prerequisite order and the problems a course's metadata can have."""

import os
import subprocess
import sys

import pytest
from tiny_course import flat, run_tito

from tito.course import Course, find_course_root
from tito.format import tinytorch_imports
from tito.errors import TitoError

from course_root import ROOT


def test_root_is_found_from_a_subfolder(course):
    deep = course.root / "modules" / "source" / "01_alpha"
    assert find_course_root(deep) == course.root
    result = run_tito(deep, "status", "--json", pythonpath=[ROOT])
    assert result.returncode == 0, result.stderr
    assert f'"root": "{course.root}"' in result.stdout


def test_outside_a_course_is_a_clear_error(tmp_path):
    result = run_tito(tmp_path, "status", pythonpath=[ROOT])
    assert result.returncode == 1
    assert "No TinyTorch course found" in result.stderr and "Traceback" not in result.stderr


def test_tito_root_is_the_fallback_outside_a_course(course, tmp_path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    result = run_tito(elsewhere, "info", "beta", "--json", pythonpath=[ROOT], TITO_ROOT=str(course.root))
    assert result.returncode == 0, result.stderr
    assert '"prerequisites": [\n    "alpha"\n  ]' in result.stdout


def test_prerequisite_order_takes_the_lowest_numbered_ready_module_first(course):
    course.write("modules/source/00_zeta/zeta_dev.py", "# %%\n#| default_exp core.zeta\n")
    course.write("modules/source/00_zeta/module.yaml", "prerequisites: [beta]\n")
    course.write("modules/source/03_gamma/gamma_dev.py", "# %%\n#| default_exp core.gamma\n")
    order = [m.name for m in Course(course.root).in_prerequisite_order()]
    # zeta (00) must wait for beta, and goes as soon as beta is done, before gamma (03)
    assert order == ["alpha", "beta", "zeta", "gamma"]


def test_prerequisite_cycle_is_named(course, tito):
    course.write("modules/source/01_alpha/module.yaml", "name: alpha\nprerequisites: [beta]\n")
    with pytest.raises(TitoError, match=r"cycle: (alpha -> beta -> alpha|beta -> alpha -> beta)"):
        Course(course.root).in_prerequisite_order()
    result = tito("test", "--all")
    assert result.exit_code == 1 and "form a cycle" in result.output


def test_unknown_prerequisite_is_named(course, tito):
    course.write("modules/source/02_beta/module.yaml", "name: beta\nprerequisites: [alpha, tensr]\n")
    result = tito("export", "--all")
    assert result.exit_code == 1
    assert "Module '02_beta' lists an unknown prerequisite 'tensr'" in result.output
    assert "modules/source/02_beta/module.yaml" in result.output


def test_two_module_folders_of_one_name_or_number_are_refused(course, tito):
    """Instructor audit: a release of reordered modules over last term's edition left 06_cnn and
    07_cnn side by side; every command silently took the first."""
    course.write("modules/source/03_alpha/module.yaml", "name: alpha\n")
    result = tito("status")
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert ("Two module folders have the same name: modules/source/01_alpha and modules/source/03_alpha; tito "
            "would not know which one is meant.") in flat(result.output)
    (course.root / "modules/source/03_alpha/module.yaml").rename(course.root / "modules/source/03_alpha/gone")
    (course.root / "modules/source/03_alpha").rename(course.root / "modules/source/02_gamma")
    with pytest.raises(TitoError, match=r"the same number: modules/source/02_beta and modules/source/02_gamma"):
        Course(course.root)


def test_invalid_module_yaml_is_a_clear_error(course, tito):
    course.write("modules/source/02_beta/module.yaml", "name: [unclosed\n")
    result = tito("status")
    assert result.exit_code == 1
    assert "02_beta/module.yaml is not valid YAML" in result.output
    assert "Traceback" not in result.output


def test_conftest_pins_tinytorch_to_the_course_root(course, tmp_path):
    for name in ("conftest.py", "course_root.py"):
        course.write(f"tests/{name}", (ROOT / "tests" / name).read_text())
    course.write("tests/01_alpha/test_alpha_where.py",
                 "import tinytorch\n\ndef test_where():\n    assert tinytorch.__file__\n")
    other = tmp_path / "other"
    (other / "tinytorch").mkdir(parents=True)
    (other / "tinytorch" / "__init__.py").write_text("")
    run = ("import sys, pytest; {setup}"
           "sys.exit(pytest.main(['-q', '-p', 'no:cacheprovider', 'tests/01_alpha/test_alpha_where.py']))")
    environment = {**os.environ, "PYTHONPATH": str(ROOT)}
    clean = subprocess.run([sys.executable, "-c", run.format(setup="")], cwd=course.root,
                           env=environment, capture_output=True, text=True, timeout=120)
    assert clean.returncode == 0, clean.stdout
    imported_elsewhere = f"sys.path.insert(0, {str(other)!r}); import tinytorch; "
    wrong = subprocess.run([sys.executable, "-c", run.format(setup=imported_elsewhere)], cwd=course.root,
                           env=environment, capture_output=True, text=True, timeout=120)
    assert wrong.returncode == 4
    assert f"but it comes from {other / 'tinytorch' / '__init__.py'}" in wrong.stdout + wrong.stderr


def test_two_modules_exporting_to_one_file_are_refused(course, tito):
    """Instructor audit: a new module 11 with `#| default_exp core.layers` and exports_to:
    tinytorch.core.layers, as 04_layers had, overwrote layers.py at each export, rc 0; `export
    --check` then said stale forever and doctor said all was ready."""
    course.write("modules/source/03_gamma/gamma_dev.py", "# %%\n#| default_exp core.alpha\n\n# %%\n#| export\nG = 1\n")
    course.write("modules/source/03_gamma/module.yaml", "name: gamma\nexports_to: tinytorch.core.alpha\n")
    result = tito("export", "--module", "gamma")
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert ("Two modules export to the same file: modules/source/01_alpha/module.yaml and "
            "modules/source/03_gamma/module.yaml both say exports_to: tinytorch.core.alpha, so each export would "
            "overwrite the other's tinytorch/core/alpha.py.") in flat(result.output)
    assert not course.generated("alpha").exists()
    # without exports_to, the source's default_exp alone is refused at export
    course.write("modules/source/03_gamma/module.yaml", "name: gamma\n")
    result = tito("export", "--module", "gamma")
    assert result.exit_code == 1 and not course.generated("alpha").exists()
    assert ("modules/source/03_gamma/gamma_dev.py says '#| default_exp core.alpha', the file module 01_alpha "
            "exports to") in flat(result.output)


@pytest.mark.parametrize("folder, meant", [("11_Embedding", "11_embedding"), ("11-embedding", "11_embedding"),
                                           ("1_embedding", "01_embedding"),
                                           ("11_embedding-layer", "11_embedding_layer")])
def test_a_module_folder_against_the_naming_rule_is_named(course, tito, folder, meant):
    """Instructor audit: modules/source/11_Embedding was ignored silently: `Unknown module 'embedding'`,
    and doctor counted the other modules, ok."""
    course.write(f"modules/source/{folder}/embedding_dev.py", "# %%\n#| default_exp core.embedding\n")
    course.write(f"modules/source/{folder}/module.yaml", "name: embedding\n")
    said = (f"a folder modules/source/{folder} is not a module: folders are named NN_name: two digits, an "
            f"underscore, then lowercase letters, digits and underscores (e.g. {meant})")
    result = tito("export", "--module", "embedding")
    assert result.exit_code == 2 and "Unknown module 'embedding'." in flat(result.output)
    assert said[0].upper() + said[1:] in flat(result.output)
    result = tito("doctor")
    assert said in flat(result.output) and "module folders" in flat(result.output).split("problem(s) found:")[1]
    assert Course(course.root).names() == ["alpha", "beta"]


def test_a_module_needing_one_numbered_after_it_is_a_doctor_note(course, tito):
    """Instructor audit: 11 needing 12 made the site and the release go 10 -> 12 -> 11, silently."""
    course.write("modules/source/01_alpha/module.yaml", "name: alpha\nprerequisites: [beta]\n")
    course.write("modules/source/02_beta/module.yaml", "name: beta\n")
    result = flat(tito("doctor").output)
    assert ("| module numbers | note | 01_alpha needs 02_beta, numbered after it: the site and the release list the "
            "modules in prerequisite order, out of their numbers' order") in result
    assert "module numbers" not in result.split("problem(s) found:")[-1]
    course.write("modules/source/01_alpha/module.yaml", "name: alpha\n")
    assert "module numbers" not in flat(tito("doctor").output)


def test_a_module_yaml_name_other_than_the_folders_is_refused(course, tito):
    """Instructor audit: `name: embeddings` in modules/source/11_embedding/module.yaml was ignored
    silently; as other module.yaml mistakes, it is refused, naming both."""
    course.write("modules/source/02_beta/module.yaml", "name: betta\nprerequisites: [alpha]\n")
    result = tito("status")
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert ("modules/source/02_beta/module.yaml says name: betta, but its folder 02_beta names the module 'beta' "
            "(as in `tito test --module beta`).") in flat(result.output)


def test_a_misnamed_source_or_tests_folder_is_named_beside_the_one_expected(course, tito):
    """A module's source and its tests folder are found by their names only: one named otherwise
    is pointed out, with the name tito reads, by tito test, tito export and tito doctor."""
    folder = course.root / "modules/source/01_alpha"
    (folder / "alpha_dev.py").rename(folder / "alfa_dev.py")
    said = ("modules/source/01_alpha/alpha_dev.py is missing. modules/source/01_alpha holds alfa_dev.py: tito reads "
            "a module's source by its name, alpha_dev.py; rename it.")
    for command in (("test", "--module", "alpha"), ("export", "--module", "alpha")):
        result = tito(*command)
        assert result.exit_code == 1 and said in flat(result.output), result.output
    (folder / "alfa_dev.py").rename(folder / "alpha_dev.py")
    (course.root / "tests/01_alpha").rename(course.root / "tests/1_alpha")
    result = tito("test", "--module", "alpha")
    assert result.exit_code == 1
    assert ("No tests ran: tests/01_alpha/ does not exist. tests holds 1_alpha: tito reads a module's tests by "
            "their folder's name, 01_alpha; rename it.") in flat(result.output)
    doctor = flat(tito("doctor").output)
    assert ("| module tests | PROBLEM | missing: tests/01_alpha/ (tests holds 1_alpha: tito reads a module's tests by "
            "their folder's name, 01_alpha; rename it)") in doctor, doctor
    (course.root / "tests/1_alpha").rename(course.root / "tests/01_alpha")
    assert "| module tests | ok | 2 modules" in flat(tito("doctor").output)


def test_a_missing_module_yaml_is_told_by_tito_test_and_export_as_doctor_tells_it(course, tito):
    """Without module.yaml a module still tests and exports, read as having no metadata: a warning
    says so, with the file doctor's `module files` row names, and how to get it back."""
    (course.root / "modules/source/01_alpha/module.yaml").unlink()
    said = ("Warning: modules/source/01_alpha/module.yaml is missing: tito tests and exports alpha without its "
            "title, prerequisites and graded checks. Get it back: from git, with `git checkout -- "
            "modules/source/01_alpha/module.yaml`.")
    for command in (("test", "--module", "alpha"), ("export", "--module", "alpha"), ("test", "--all")):
        result = tito(*command)
        assert result.exit_code == 0 and said in flat(result.output), (command, result.output)
    assert said not in flat(tito("test", "--module", "beta").output)
    doctor = flat(tito("doctor").output)
    assert "| module files | PROBLEM | missing: 01_alpha/module.yaml |" in doctor, doctor
    assert "Fix: Every modules/source/NN_name/ needs name_dev.py, module.yaml, README.md. |" in doctor


def test_only_imports_that_run_unguarded_count_as_needing_a_prerequisite():
    """Imports the grader would run: not those under `if TYPE_CHECKING:` or in a try that catches
    ImportError; every cell is read, even beside one that is not Python (a notebook's `x = !ls`)."""
    source = ("\ufeff# %%\nfrom typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from tinytorch.core.late import A\n"
              "try:\n    from tinytorch.core.maybe import B\nexcept ImportError:\n    B = None\n"
              "# %%\nx = !ls\n# %%\ndef f():\n    import tinytorch.core.inner\n"
              "from tinytorch.core import alpha\nfrom .near import c\n")
    assert tinytorch_imports(source) == [(13, "tinytorch.core.inner"), (14, "tinytorch.core"),
                                         (14, "tinytorch.core.alpha")]


def test_a_later_module_imported_is_told_as_a_cycle_not_as_a_prerequisite_to_add(course, tito):
    """alpha importing beta's export: beta needs alpha, so listing beta would make a cycle."""
    dev = course.dev("alpha")
    dev.write_text(dev.read_text() + "\n# %%\nfrom tinytorch.core.beta import quadruple\n")
    said = flat(tito("doctor").output)
    assert ("modules/source/01_alpha/alpha_dev.py:67 imports tinytorch.core.beta, module 02_beta's, which needs "
            "alpha itself: grading and a release build alpha without it. Import it only where it may be missing, in "
            "a try that catches ImportError.") in said, said


def test_a_test_file_importing_a_module_left_out_of_the_prerequisites_is_named(course, tito):
    """The grader runs the module's tests too (its feedback): their imports count as the source's."""
    course.write("modules/source/02_beta/module.yaml", "name: beta\nexports_to: tinytorch.core.beta\n")
    beta = course.dev("beta")
    beta.write_text(beta.read_text().replace("from tinytorch.core.alpha import double\n",
                                             "def double(x):\n    return 2 * x\n"))
    course.write("tests/02_beta/test_more.py", "from tinytorch.core.alpha import double\n")
    said = flat(tito("doctor").output)
    assert ("tests/02_beta/test_more.py:1 imports tinytorch.core.alpha, module 01_alpha's, which is not among "
            "beta's prerequisites: add alpha to prerequisites in modules/source/02_beta/module.yaml.") in said, said


def test_another_module_s_tests_folder_is_no_lookalike(course):
    """Only a folder named like this module (its number, or its whole name) is pointed out."""
    (course.root / "tests/01_alpha").rename(course.root / "tests/09_betalpha")
    (course.root / "tests/tito").mkdir()
    assert Course(course.root).get("alpha").misnamed_tests() == ""
    (course.root / "tests/01-Alpha").mkdir()
    assert Course(course.root).get("alpha").misnamed_tests() == (
        "tests holds 01-Alpha: tito reads a module's tests by their folder's name, 01_alpha; rename it.")


def test_doctor_names_a_misnamed_source_and_survives_a_broken_manifest(course, tito):
    folder = course.root / "modules/source/01_alpha"
    (folder / "alpha_dev.py").rename(folder / "alfa_dev.py")
    assert ("missing: 01_alpha/alpha_dev.py (modules/source/01_alpha holds alfa_dev.py: tito reads a module's source "
            "by its name, alpha_dev.py; rename it)") in flat(tito("doctor").output)
    (folder / "alfa_dev.py").rename(folder / "alpha_dev.py")
    for broken in ("[]", "{"):
        course.write(".tito/release/manifest.json", broken)
        said = flat(tito("doctor").output)
        assert ("| edition | note | .tito/release/manifest.json, the record of the release this edition is, cannot "
                "be read: get it back from git") in said, said
        assert ("Edition: .tito/release/manifest.json, the record of the release this edition is, cannot be read: "
                "get it back from git (tito module reset and notebook syncing read it)") in flat(tito("status").output)
    course.write(".tito/release/manifest.json", '{"modules": [{"name": "alpha"}], "released": 3}')
    assert "| edition | ok | a student edition, released at an unknown time by tito ?: no modules |" in flat(
        tito("doctor").output)
