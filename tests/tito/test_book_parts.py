"""The parts of `tito book` on a small course: launch links, link rewriting, refusals, a build that
runs its notebooks in a real kernel and a rebuild over it, and serve without a site."""

import html
import os
import re
from pathlib import Path

import pytest

from browser import DevTools
from tiny_course import flat, run_tito
from tito.book.launch import Repository, course_repository, declared_repository, set_repository, solutions_warning
from tito.course import Course
from tito.book.markdown import demote_headings, markdown_text
from tito.errors import TitoError

from course_root import ROOT
URL = "https://github.com/mlsysbook/TinyTorch"

ALPHA_README = """\
# Module 01: Alpha

⭐ Easy | ⏱️ 5 minutes

Next comes [beta](../02_beta/README.md); its tests are in
[the test file](../../../tests/01_alpha/test_alpha_ops.py). ![a picture](picture.png)
Inline code stays as written: `[beta](../02_beta/README.md)`.

```python
# A comment, not a heading
```

---

← Previous: none · Next: [Beta](../02_beta/README.md) →
"""
# A cell printing as every module's inline tests do (tinytorch.utils.feedback, in Rich's colours).
FEEDBACK_CELL = """
# %%
from tinytorch.utils.feedback import passed, unit_test
unit_test("double")
passed("double(3) is 6")
"""
PNG = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000"
                    "1f15c4890000000d49444154789c6360000002000100e5270de40000000049454e44ae426082")


def test_launch_urls_are_the_original_sites():
    repository = Repository.parse(URL + ".git/")
    notebook = "modules/source/06_cnn/cnn_dev.ipynb"
    assert repository.binder(notebook) == f"https://mybinder.org/v2/gh/mlsysbook/TinyTorch/main?labpath={notebook}"
    assert repository.colab(notebook) == f"https://colab.research.google.com/github/mlsysbook/TinyTorch/blob/main/{notebook}"
    assert Repository.parse(URL, "fall-2025").source("a b.py") == f"{URL}/blob/fall-2025/a%20b.py"
    assert declared_repository(ROOT) == URL


@pytest.mark.parametrize("url", ["https://gitlab.com/me/course", "github.com/me", "https://github.com/me"])
def test_a_repository_that_is_not_on_github_is_refused(url):
    with pytest.raises(TitoError) as error:
        Repository.parse(url)
    assert f"must be a GitHub URL like https://github.com/OWNER/NAME, got '{url}'" in error.value.message


def test_without_a_repository_the_build_says_where_to_declare_it(course, tito):
    with pytest.raises(TitoError) as error:
        course_repository(course.root)
    assert "[project.urls]" in error.value.hint
    result = tito("book", "build")
    assert result.exit_code == 2
    assert "No course repository to point the launch cards at." in result.output
    assert not (course.root / "_site").exists()


@pytest.mark.parametrize("before", [f'[project]\nname = "x"\n\n[project.urls]\nRepository = "{URL}"\nDocs = "d"\n',
                                    '[project]\nname = "x"\n\n[project.urls]\nDocs = "d"\n',
                                    '[project]\nname = "x"\n'])
def test_an_edition_names_its_own_repository(tmp_path, before):
    (tmp_path / "pyproject.toml").write_text(before)
    set_repository(tmp_path, "https://github.com/me/student")
    assert declared_repository(tmp_path) == "https://github.com/me/student"
    assert 'name = "x"' in (tmp_path / "pyproject.toml").read_text()
    with pytest.raises(TitoError):
        set_repository(tmp_path, "https://gitlab.com/me/student")


def test_cards_that_would_open_the_instructors_own_repository_are_warned_of():
    course = Course(ROOT)  # it holds the solutions
    warning = solutions_warning(course, Repository.parse(URL + ".git"))
    assert warning.startswith(f"The launch cards open {URL}, this course's own repository")
    assert warning.endswith("--repository URL.")
    assert solutions_warning(course, Repository.parse("https://github.com/me/student")) == ""


def test_the_colab_card_says_what_the_editions_notebooks_do_there(course, tito, tmp_path):
    """Student audit: in an edition released without --repository, whose notebooks have no cell to
    fetch the course (its README says they "cannot fetch the course in Colab"), the Colab card
    said "its first cell fetches the course repository"."""
    from tito.book.pages import launch_cards

    fetching = "nothing to install: its first cell fetches the course repository."
    course.write("pyproject.toml", '[project]\nname = "tiny"\n')  # where an edition records its repository
    for name, args in (("plain", ()), ("named", ("--repository", "https://github.com/me/student"))):
        assert tito("release", "--all", "--out", str(tmp_path / name), *args).exit_code == 0
    plain = flat(launch_cards(Course(tmp_path / "plain").get("alpha"), Repository.parse(URL)))
    assert fetching not in plain
    assert ("This edition was released without its repository (`tito release --repository URL`), so its "
            "notebooks cannot fetch the course there and their imports of tinytorch fail: run it on Binder "
            "or locally.") in plain
    assert fetching in flat(launch_cards(Course(tmp_path / "named").get("alpha"), Repository.parse(URL)))


def test_markdown_text_escapes_markup():
    assert markdown_text("the __call__ | a*b\n  [x]") == r"the \_\_call\_\_ \| a\*b \[x\]"


def test_headings_are_demoted_but_code_is_not():
    text = "# Title\n\n```python\n# comment\n```\n\n## Step\n###### Deep"
    assert demote_headings(text, by=2) == "### Title\n\n```python\n# comment\n```\n\n#### Step\n###### Deep"


def test_a_folder_of_other_files_is_never_written_over(course, tito, tmp_path):
    theirs = tmp_path / "notes"
    theirs.mkdir()
    (theirs / "keep.txt").write_text("mine")
    for out in (str(theirs), str(course.root), "modules"):
        result = tito("book", "build", "--out", out, "--repository", URL)
        assert result.exit_code == 2, result.output
    assert (theirs / "keep.txt").read_text() == "mine"
    assert sorted(p.name for p in theirs.iterdir()) == ["keep.txt"]


def test_serve_without_a_site_says_to_build_it(course, tito):
    result = tito("book", "serve", "--out", "nothing-here")
    assert result.exit_code == 1
    assert "No site at nothing-here (no index.html there)." in result.output
    assert "tito book build --out nothing-here" in result.output


def text_of(page: str) -> str:
    """What a reader sees of an HTML page, with straight quotes and single spaces."""
    text = html.unescape(re.sub(r"<[^>]+>", "", page)).replace("\u2018", "'").replace("\u2019", "'")
    return flat(text)


def output_labels(page: Path) -> dict:
    """The label before the first cell output of ``page`` in a real Chromium, in the light and the
    dark colour mode: its text, colour, and the colour of the background it stands on."""
    with DevTools() as browser:
        browser.open(page.as_uri())
        return {mode: browser.js(f"""(() => {{
            document.documentElement.dataset.theme = "{mode}";
            const output = document.querySelector(".cell_output"), label = getComputedStyle(output, "::before");
            let behind = output;
            while (behind && ["transparent", "rgba(0, 0, 0, 0)"].includes(getComputedStyle(behind).backgroundColor)) {{
                behind = behind.parentElement;
            }}
            return {{content: label.content, color: label.color,
                     background: behind ? getComputedStyle(behind).backgroundColor : "rgb(255, 255, 255)"}};
        }})()""") for mode in ("light", "dark")}


def contrast(color: str, background: str) -> float:
    """WCAG 2 contrast ratio of two CSS rgb() colours."""
    def luminance(css):
        channels = [int(c) / 255 for c in re.findall(r"\d+", css)[:3]]
        r, g, b = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
        return 0.2126 * r + 0.7152 * g + 0.0722 * b
    lighter, darker = sorted((luminance(color), luminance(background)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


def build(course, *args, no_color=True):
    """`tito book build` on ``course``; ``no_color=False`` leaves NO_COLOR out of its environment."""
    return run_tito(course.root, "book", "build", "--repository", URL, "--jobs", "1", *args, pythonpath=[ROOT],
                    timeout=300, NO_COLOR="1" if no_color else None)


def test_build_runs_notebooks_with_execute_and_a_rebuild_replaces_the_site(course):
    course.write("modules/source/01_alpha/README.md", ALPHA_README)
    (course.root / "modules/source/01_alpha/picture.png").write_bytes(PNG)
    alpha_dev = course.dev("alpha")
    alpha_dev.write_text(alpha_dev.read_text() + FEEDBACK_CELL)
    before = sorted(p.name for p in course.root.iterdir())
    executed = build(course, "--execute", no_color=False)  # the build gives its kernels NO_COLOR
    assert executed.returncode == 0, executed.stdout + executed.stderr
    site = course.root / "_site"
    alpha = (site / "chapters/01_alpha.html").read_text()
    # a real kernel ran the student notebook: the stub's error is the output, in one line
    assert "NotImplementedError: TODO: implement Scaler.__call__" in text_of(alpha)
    # the inline tests' feedback as plain text (NO_COLOR): Rich's colours failed contrast in dark mode
    assert "🔬 Unit Test: double... ✅ double(3) is 6" in text_of(alpha)
    assert 'style="color' not in alpha and "ansi-" not in alpha
    for mode, label in output_labels(site / "chapters/01_alpha.html").items():  # each output says it is one
        assert label["content"] == '"Output"', (mode, label)
        assert contrast(label["color"], label["background"]) >= 4.5, (mode, label)
    assert "doubled_value_of_the_input" not in alpha and "scaled_by_the_stored_factor" not in alpha
    # links: another module's README -> its chapter; a course file -> the repository; an image -> copied
    assert 'href="02_beta.html"' in alpha
    assert f'href="{URL}/blob/main/tests/01_alpha/test_alpha_ops.py"' in alpha
    image = re.search(r'<img alt="a picture" src="([^"]+)"', alpha).group(1)
    assert (site / "chapters" / image).read_bytes() == PNG
    assert "[beta](../02_beta/README.md)" in alpha.replace("<span class=\"pre\">", "").replace("</span>", "")
    # the README's own difficulty line and previous / next line gave way to the chapter's
    assert "5 minutes" not in alpha and "← Previous: none" not in alpha
    assert "Next Module: 02 Beta →" in alpha
    assert "### BEGIN" not in alpha
    mask = os.umask(0)
    os.umask(mask)
    assert site.stat().st_mode & 0o777 == 0o777 & ~mask

    # one broken module: the site is still rebuilt, and says what is wrong where
    beta = course.dev("beta")
    beta.write_text(beta.read_text().replace("    ### END SOLUTION\n", ""))
    rebuilt = build(course)
    assert rebuilt.returncode == 0, rebuilt.stdout + rebuilt.stderr
    assert "Built 7 pages from 2 modules" in rebuilt.stdout
    problem = ("modules/source/02_beta/beta_dev.py, line 13: '### BEGIN SOLUTION' is never closed with "
               "'### END SOLUTION'.")
    assert f"Warning: {problem}" in flat(rebuilt.stderr)
    assert f"This notebook could not be rendered {problem}" in text_of((site / "chapters/02_beta.html").read_text())
    assert "cell_output" in alpha and "cell_output" not in (site / "chapters/01_alpha.html").read_text()
    assert sorted(p.name for p in course.root.iterdir()) == sorted(before + ["_site"])  # nothing else written
