"""The course website built from the real modules: `tito book build`, once per test session.

Every internal link and image resolves, nothing is fetched from the network, the cnn chapter
carries its text, launch links and neighbours, no solution line is anywhere in the site, search
works, `tito book serve` answers, and a real headless Chromium renders the cnn chapter and shows
where keyboard focus is.
"""

import html
import json
import os
import re
import subprocess
import sys
import tempfile
import urllib.error
import urllib.request
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
from tiny_course import flat

from browser import FLAGS, DevTools, chromium
from tito.course import Course
from tito.editions.strip import strip_solutions

from course_root import ROOT
COURSE = Course(ROOT)
CNN = "chapters/06_cnn.html"
# The launch cards of the original course page (course-page-cnn.md), Binder's opening JupyterLab
# (?labpath=, what the edition's binder/ sets up) where the original opened classic Notebook (?filepath=).
CNN_LAUNCH = {
    "https://mybinder.org/v2/gh/mlsysbook/TinyTorch/main?labpath=modules/source/06_cnn/cnn_dev.ipynb",
    "https://colab.research.google.com/github/mlsysbook/TinyTorch/blob/main/modules/source/06_cnn/cnn_dev.ipynb",
    "https://github.com/mlsysbook/TinyTorch/blob/main/modules/source/06_cnn/cnn_dev.py",
}
# Solution lines shorter than this ("})", "g = v") are not evidence of anything.
SOLUTION_MIN_CHARS = 10


def tito_process(*args, cwd=ROOT, **popen):
    environment = {**os.environ, "NO_COLOR": "1", "PYTHONPATH": str(ROOT)}
    environment.pop("TITO_ROOT", None)
    return [sys.executable, "-m", "tito", *args], dict(cwd=cwd, env=environment, text=True, **popen)


@pytest.fixture(scope="session")
def built(tmp_path_factory):
    """(site folder, the build's CompletedProcess): the real course's site, built once."""
    out = tmp_path_factory.mktemp("book") / "site"
    command, options = tito_process("book", "build", "--out", str(out))
    result = subprocess.run(command, capture_output=True, timeout=300, **options)
    assert result.returncode == 0, result.stdout + result.stderr
    return out, result


@pytest.fixture(scope="session")
def site(built):
    return built[0]


class Page(HTMLParser):
    """An HTML page's links (a, link), sources (img, script), element ids, title and text."""

    def __init__(self, text: str):
        super().__init__(convert_charrefs=True)
        self.links, self.sources, self.ids, self.texts = [], [], set(), []
        self.title, self._in_title = "", False
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if attrs.get("id"):
            self.ids.add(attrs["id"])
        if tag in ("a", "link") and attrs.get("href") is not None:
            self.links.append((tag, attrs.get("rel") or "", attrs["href"]))
        if tag in ("img", "script", "iframe", "source") and attrs.get("src"):
            self.sources.append(attrs["src"])
        self._in_title = tag == "title"

    def handle_endtag(self, tag):
        self._in_title = False

    def handle_data(self, data):
        self.texts.append(data)
        if self._in_title:
            self.title += data

    @property
    def text(self) -> str:
        return "".join(self.texts)


def pages(site: Path) -> dict[str, Page]:
    return {p.relative_to(site).as_posix(): Page(p.read_text(encoding="utf-8"))
            for p in site.rglob("*.html") if not p.relative_to(site).parts[0].startswith("_")}


@pytest.fixture(scope="session")
def parsed(site):
    return pages(site)


def plain(text: str) -> str:
    """Text with its whitespace collapsed and Sphinx's typographic quotes made straight again."""
    return " ".join(text.replace("\u2019", "'").replace("\u2018", "'").split())


def is_remote(url: str) -> bool:
    return bool(re.match(r"^[a-z][a-z0-9+.-]*:", url, re.IGNORECASE)) and not url.startswith("file:")


def test_build_reports_every_page_and_no_warning(built, parsed):
    out, result = built
    expected = {"index.html", "search.html", "genindex.html", "milestones.html", "commands.html",
                *(f"chapters/{m.dirname}.html" for m in COURSE.modules)}
    assert set(parsed) == expected
    assert f"Built {len(expected)} pages from {len(COURSE.modules)} modules in " in result.stdout
    # this course holds the solutions: the one warning says so (students' cards belong on an edition)
    assert flat(result.stderr) == (
        "Warning: The launch cards open https://github.com/mlsysbook/TinyTorch, this course's own repository "
        "(pyproject.toml): its modules hold the solutions, and its notebooks are written only into a student "
        "edition. For students, give the edition's repository: --repository URL."), result.stderr
    marker = json.loads((out / ".tito-book").read_text())
    assert marker["modules"] == [m.dirname for m in COURSE.in_prerequisite_order()]
    assert (out / ".nojekyll").is_file()  # GitHub Pages serves the _static/ folder too


def test_chapters_come_in_prerequisite_order(site, parsed):
    index = parsed["index.html"]
    order = []
    for _, _, href in index.links:
        if href.startswith("chapters/") and href not in order:
            order.append(href)
    assert order == [f"chapters/{m.dirname}.html" for m in COURSE.in_prerequisite_order()]
    table = plain(parsed["index.html"].text)
    for module in COURSE.modules:  # the module table, from module.yaml
        assert plain(str(module.meta["description"])) in table
        assert str(module.meta["time_estimate"]) in table
        # the difficulty as a number too: without an emoji font the stars are boxes
        assert f"{'⭐' * module.meta['difficulty']} {module.meta['difficulty']}/4" in table
    assert "⭐⭐⭐ 3/4 · ⏱️ 6-8 hours · needs" in plain(parsed[CNN].text)


def test_every_internal_link_and_image_resolves_and_nothing_is_remote(site, parsed):
    checked = 0
    for name, page in parsed.items():
        here = (site / name).parent
        for source in page.sources:
            assert not is_remote(source), f"{name} loads {source} from the network"
        for tag, rel, href in page.links:
            if tag == "link" and "stylesheet" in rel:
                assert not is_remote(href), f"{name} loads the stylesheet {href} from the network"
        targets = page.sources + [href for _, _, href in page.links]
        for target in targets:
            if is_remote(target) or target.startswith(("mailto:", "javascript:", "data:")):
                continue
            parts = urlsplit(target)
            path = (here / unquote(parts.path)).resolve() if parts.path else site / name
            assert path.exists(), f"{name}: {target} -> {path} does not exist"
            if path.is_dir():
                assert (path / "index.html").is_file(), f"{name}: {target} is a folder without index.html"
            if parts.fragment and path.suffix == ".html":
                target_page = parsed.get(path.relative_to(site).as_posix()) or Page(path.read_text())
                assert unquote(parts.fragment) in target_page.ids, f"{name}: no anchor for {target}"
            checked += 1
    assert checked > 500


def test_cnn_chapter_text_launch_links_and_neighbours(site, parsed):
    page = parsed[CNN]
    text = plain(page.text)
    assert page.title == "Module 06: CNN — TinyTorch"
    assert parsed["index.html"].title == "TinyTorch"  # the home page's heading is the site's name: once
    for words in ("Build → Use → Analyze", "Implement the core building block of modern computer vision",
                  "tito test --module cnn", "Choose your preferred way to engage with this module"):
        assert words in text
    hrefs = {href for _, _, href in page.links}
    assert CNN_LAUNCH <= hrefs
    for title in ("Launch Binder", "Open in Colab", "View Source"):
        assert title in text
    # each card's link says where it goes (a screen reader reads it), not its URL
    cards = dict(re.findall(r'<a class="sd-stretched-link[^"]*" href="([^"]+)"><span>(.*?)</span></a>',
                            (site / CNN).read_text()))
    assert set(cards) == CNN_LAUNCH
    assert {urlsplit(url).hostname: label for url, label in cards.items()} == {
        "mybinder.org": "Launch Binder: Module 06 CNN notebook",
        "colab.research.google.com": "Open in Colab: Module 06 CNN notebook",
        "github.com": "View Source on GitHub: Module 06 CNN, cnn_dev.py"}
    assert "nothing to install: its first cell fetches the course repository" in text  # the edition's Colab cell
    assert "its explanations, the reference implementation, and its inline tests" in text  # not a student edition
    assert "locally with tito lab cnn (JupyterLab on this notebook)" in text
    assert "commit and push it to your fork" in text
    links = {href: label for href, label in re.findall(r'<a class="reference internal" href="([^"#]+)"[^>]*>(.*?)</a>',
                                                        (site / CNN).read_text(), re.DOTALL)}
    assert "Previous Module: 05 Networks" in re.sub(r"<[^>]+>", "", links["05_networks.html"])
    assert "Next Module: 07 DataLoader" in re.sub(r"<[^>]+>", "", links["07_dataloader.html"])
    # the student notebook, read-only: stubs where the solutions were
    assert 'raise NotImplementedError("TODO: implement conv2d_naive")' in page.text
    assert "The notebook you start from" in text


def test_diagrams_are_plain_text_and_code_is_highlighted(site):
    """A fence without a language (the cnn diagrams: H' = ⌊…⌋) is text, not half-highlighted Python;
    notebook cells and ```python fences are still highlighted."""
    blocks = re.findall(r'<div class="highlight-(\w+) notranslate"><div class="highlight"><pre>(.*?)</pre>',
                        (site / CNN).read_text(), re.DOTALL)
    diagrams = [body for language, body in blocks if language != "ipython3" and (
                "H' = ⌊(H + 2p − kH) / s⌋ + 1" in html.unescape(body)
                or "output (N, F, H', W')" in html.unescape(body))]
    assert len(diagrams) == 2
    assert all("<span class=" not in diagram.replace("<span></span>", "") for diagram in diagrams)
    languages = {language for language, body in blocks if re.search(r'<span class="kn?">(def|import)</span>', body)}
    assert {"ipython3", "python"} <= languages



@pytest.mark.parametrize("diagram, words", [
    ("W @ cols = [-4 -4 -4 -4]", "each of the four 2×2 windows of the 3×3 image becomes one column of cols"),
    ("next pixel of a window", "4 bytes (one float32) to the next image"),
    ("MaxPool2D(2)", "Max pooling keeps the largest, 5, 2, 2 and 9 ([[5, 2], [2, 9]]); average pooling keeps "
                     "the mean, 3.25, 1.0, 0.75 and 8.0 ([[3.25, 1.0], [0.75, 8.0]])"),
])
def test_a_diagram_of_the_cnn_chapter_is_told_in_words_after_it(site, diagram, words):
    """A reader who cannot see a diagram's 2-D layout (a screen reader reads it line by line) reads
    what it shows in the paragraph that follows it."""
    page = (site / CNN).read_text()
    drawn = next(match.end() for match in re.finditer(r"<pre>(.*?)</pre>", page, re.DOTALL)
                 if diagram in html.unescape(match.group(1)))
    following = re.search(r"<p>(.*?)</p>", page[drawn:], re.DOTALL).group(1)
    assert words in plain(html.unescape(re.sub(r"<[^>]+>", "", following)))

def test_one_search_box_one_previous_next_bar_and_an_icon(site, parsed):
    for name in (CNN, "index.html"):
        page = (site / name).read_text()
        # pydata-sphinx-theme 0.20 (Python 3.11+) names it id="pst-header"; 0.15 (on 3.10) only by class
        header = re.search(r'<header [^>]*\bbd-header\b[^>]*>(.*?)</header>', page, re.DOTALL).group(1)
        assert header.strip() == ""  # the theme's header bar held only a second search box
        assert "prev-next-area" not in page  # the chapter's own previous / next links are the one bar
        assert ("link", "icon", "_static/favicon.svg") in {(t, r, h.lstrip("./")) for t, r, h in parsed[name].links}


def site_lines(site: Path) -> dict[str, set[str]]:
    """Every file of the site as the set of its stripped lines: HTML as the text a reader sees
    (code highlighting removed), notebooks as their cells' sources, anything else as it is."""
    found = {}
    for path in site.rglob("*"):
        if not path.is_file():
            continue
        text = path.read_text(encoding="utf-8", errors="replace")
        if path.suffix == ".html":
            text = Page(text).text
        elif path.suffix == ".ipynb":
            text = "\n".join("".join(cell["source"]) for cell in json.loads(text)["cells"])
        found[path.relative_to(site).as_posix()] = {line.strip() for line in text.splitlines()}
    return found


def test_no_solution_line_anywhere_in_the_site(site):
    solutions, public, stubs = set(), set(), set()
    for module in COURSE.modules:
        stripped = strip_solutions(module.dev_file.read_text(encoding="utf-8"))
        solutions.update(line for line in stripped.solution_lines if len(line) >= SOLUTION_MIN_CHARS)
        public.update(line.strip() for line in stripped.text.splitlines())  # what students see anyway
        stubs.update(line.strip() for line in stripped.text.splitlines() if "TODO: implement" in line)
    solutions -= public
    assert len(solutions) > 300
    lines = site_lines(site)
    everything = set().union(*lines.values())
    assert stubs <= everything  # the search sees code as rendered: every stub is found
    leaks = {name: sorted(found & solutions) for name, found in lines.items() if found & solutions}
    assert leaks == {}
    assert "### BEGIN SOLUTION" not in everything and "### END SOLUTION" not in everything


def test_the_student_notebook_downloads(site, parsed):
    href = next(h for _, _, h in parsed[CNN].links if h.endswith("cnn_dev.ipynb") and not is_remote(h))
    notebook = json.loads(((site / CNN).parent / href).read_text())
    code = "\n".join("".join(c["source"]) for c in notebook["cells"] if c["cell_type"] == "code")
    assert 'raise NotImplementedError("TODO: implement Conv2D.forward")' in code
    assert notebook["metadata"]["kernelspec"]["name"] == "python3"


def test_the_command_reference_is_clicks_help(parsed):
    from click.testing import CliRunner

    from tito.cli import cli

    text = parsed["commands.html"].text
    for path in (["book", "build"], ["module", "reset"], ["test"]):
        shown = CliRunner().invoke(cli, [*path, "--help"], prog_name="tito", terminal_width=80).output
        usage = shown.splitlines()[0]
        assert usage in text
        options = [line.strip() for line in shown.splitlines() if line.strip().startswith("-")]
        assert options and all(option in text for option in options)


def browse(url: str, extra=()) -> str:
    """The DOM after a headless Chromium loaded ``url`` and ran its scripts, with no network at all."""
    with tempfile.TemporaryDirectory(ignore_cleanup_errors=True) as profile:  # Chromium's helpers may still write
        result = subprocess.run(
            [chromium(), *FLAGS, f"--user-data-dir={profile}", "--virtual-time-budget=5000", *extra,
             "--dump-dom", url],
            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0 and "<html" in result.stdout, result.stderr[-2000:]
    return result.stdout


def test_chromium_renders_the_cnn_chapter(site):
    dom = Page(browse((site / CNN).as_uri()))
    assert dom.title.startswith("Module 06: CNN")
    hrefs = {href for _, _, href in dom.links}
    assert CNN_LAUNCH <= hrefs
    assert {"05_networks.html", "07_dataloader.html"} <= hrefs
    assert "Module 06: CNN" in dom.text and "Launch Binder" in dom.text


def test_search_finds_the_cnn_chapter_in_a_browser(site):
    dom = browse((site / "search.html").as_uri() + "?q=im2col")
    results = re.search(r'<ul[^>]*class="search"[^>]*>(.*?)</ul>', dom, re.DOTALL)
    assert results, "no search results list in the page"
    first = re.search(r'href="([^"]+)"', results.group(1)).group(1)
    assert first.split("?")[0] == CNN


def test_serve_answers_on_a_port(site):
    command, options = tito_process("book", "serve", "--port", "0", "--out", str(site))
    server = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, **options)
    try:
        line = server.stdout.readline()
        url = re.search(r"http://127\.0\.0\.1:\d+/", line)
        if url is None:
            server.kill()
            pytest.fail(f"no URL in {line!r}; stderr: {server.communicate()[1]}")
        with urllib.request.urlopen(url.group(0) + CNN, timeout=30) as response:
            assert response.status == 200
            assert "<title>Module 06: CNN" in response.read().decode()
        with pytest.raises(urllib.error.HTTPError) as missing:
            urllib.request.urlopen(url.group(0) + "chapters/99_none.html", timeout=30)
        assert missing.value.code == 404
    finally:
        server.terminate()
        server.wait(timeout=30)


@pytest.fixture(scope="module")
def devtools():
    with DevTools() as browser:
        yield browser


def focus_ring(devtools, selector: str, ringed: str = "el") -> dict:
    """Keyboard focus on the first ``selector`` (after a Tab, so focus shows as it does for a keyboard
    user): whether it shows (:focus-visible), and the computed outline of ``ringed`` (a JavaScript
    expression of ``el``) beside the theme's accent colour."""
    devtools.press("Tab")
    return devtools.js(f"""(() => {{
        const el = document.querySelector({json.dumps(selector)});
        el.focus();
        const ring = getComputedStyle({ringed}), probe = document.createElement("i");
        probe.style.color = "var(--pst-color-accent)";
        document.body.append(probe);
        const accent = getComputedStyle(probe).color;
        probe.remove();
        return {{focused: document.activeElement === el && el.matches(":focus-visible"), accent,
                 outline: [ring.outlineStyle, ring.outlineWidth, ring.outlineColor]}};
    }})()""")


def test_a_launch_card_reached_by_keyboard_shows_a_ring(site, devtools):
    """sphinx-design rings the stretched link's ::after, which the theme's overflow: hidden clips:
    the card itself carries the ring."""
    devtools.open((site / CNN).as_uri())
    for position in (1, 2, 3):
        ring = focus_ring(devtools, f".sd-col:nth-child({position}) .sd-stretched-link", "el.closest('.sd-card')")
        assert ring["focused"]
        assert ring["outline"] == ["solid", "3px", ring["accent"]]



@pytest.mark.parametrize("button", [".primary-toggle", ".btn-source-repository-button"])
def test_the_header_buttons_reached_by_keyboard_show_a_ring(site, devtools, button):
    devtools.open((site / CNN).as_uri())
    ring = focus_ring(devtools, f".bd-header-article {button}")
    assert ring["focused"]
    assert ring["outline"] == ["solid", "3px", ring["accent"]]


def keyboard_state(devtools) -> dict:
    return devtools.js("""(() => {
        const toggle = document.querySelector(".primary-toggle");
        return {focus: document.activeElement === toggle ? "☰" : document.activeElement.tagName,
                expanded: toggle.getAttribute("aria-expanded"),
                hidden: document.getElementById("pst-primary-sidebar").classList.contains("pst-sidebar-hidden"),
                dialog: document.getElementById("pst-primary-sidebar-modal").open};
    })()""")


def test_the_sidebar_toggle_keeps_keyboard_focus_and_says_whether_the_sidebar_is_open(site, devtools):
    """The theme blurs ☰ on a click; Enter on it keeps focus there. aria-expanded follows the
    sidebar: hidden by a class on a wide window, a modal dialog on a narrow one."""
    devtools.open((site / CNN).as_uri())
    focus_ring(devtools, ".primary-toggle")
    assert keyboard_state(devtools) == {"focus": "☰", "expanded": "true", "hidden": False, "dialog": False}
    devtools.press("Enter")
    assert keyboard_state(devtools) == {"focus": "☰", "expanded": "false", "hidden": True, "dialog": False}
    devtools.press("Enter")
    assert keyboard_state(devtools) == {"focus": "☰", "expanded": "true", "hidden": False, "dialog": False}
    devtools.resize(800, 900)
    try:
        devtools.open((site / CNN).as_uri())
        focus_ring(devtools, ".primary-toggle")
        assert keyboard_state(devtools)["expanded"] == "false"
        devtools.press("Enter")
        assert keyboard_state(devtools)["expanded"] == "true" and keyboard_state(devtools)["dialog"]
        devtools.press("Escape")  # the dialog gives focus back to ☰
        assert keyboard_state(devtools) == {"focus": "☰", "expanded": "false", "hidden": False, "dialog": False}
    finally:
        devtools.resize(1280, 900)


def test_the_colour_mode_menu_keeps_keyboard_focus(site, devtools):
    devtools.open((site / CNN).as_uri())
    focus_ring(devtools, ".theme-switch-button")
    devtools.press("Enter")
    assert devtools.js("[document.activeElement.matches('.theme-switch-button'), "
                       "document.activeElement.getAttribute('aria-expanded')]") == [True, "true"]
    devtools.press("Escape")


def test_the_github_button_says_it_opens_a_new_tab(site, devtools):
    devtools.open((site / CNN).as_uri())
    document = devtools.call("DOM.getDocument")["root"]["nodeId"]
    button = devtools.call("DOM.querySelector", nodeId=document, selector=".btn-source-repository-button")["nodeId"]
    node = devtools.call("Accessibility.getPartialAXTree", nodeId=button, fetchRelatives=False)["nodes"][0]
    assert (node["role"]["value"], node["name"]["value"]) == ("link", "Source repository (opens in a new tab)")
