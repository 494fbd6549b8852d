"""The Sphinx source tree of the course website, written from the modules into a folder.

::

    conf.py                    Sphinx + MyST-NB + sphinx-book-theme + sphinx-design, offline
    favicon.svg                the site's icon
    _static/, _templates/      the site's own CSS, JavaScript (tito/book/static/) and page layout
                               (tito/book/templates/): accessibility
    index.md                   what the course is, how to start, the module table (module.yaml)
    chapters/NN_name.ipynb     one per module, in prerequisite order: README, launch cards,
                               the student notebook (read-only), previous / next
    notebooks/name_dev.ipynb   the student notebooks offered for download (not pages)
    milestones.md              the programs behind `tito milestone`
    commands.md                the command reference, from Click's help

A chapter's notebook is the student's: the release transform's stubs, never the solutions.
"""

from __future__ import annotations

import ast
import importlib.util
import re
from pathlib import Path

from tito.book.launch import Repository
from tito.book.markdown import (ASSETS, CHAPTER_SUFFIX, CHAPTERS, LinkRewriter, demote_headings, fence_state,
                                 markdown_text)
from tito import format
from tito.course import Course, Module
from tito.editions.student_files import START_SECTIONS as EDITION_START_SECTIONS
from tito.errors import TitoError
from tito.files import copy_tree

NOTEBOOKS = "notebooks"  # downloads, excluded from the pages
NOTEBOOK_HEADING = "## 📓 The notebook you start from"
# Sections of the README shown on the index under "How to start": the instructor's course README's,
# then a student edition's (its README is written by tito.editions.student_files).
START_SECTIONS = ("On a fresh machine", "The student loop", *EDITION_START_SECTIONS)

# The site's icon (a browser asks for one on every page; without it the preview logs a 404).
FAVICON = "favicon.svg"
FAVICON_SVG = ('<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32">'
               '<rect width="32" height="32" rx="6" fill="#ee4c2c"/>'
               '<path d="M8 8h16v4h-6v13h-4V12H8z" fill="#fff"/></svg>\n')

# module.yaml's difficulty runs from 1 to this.
HARDEST = 4

# The site's own files, copied into the source tree: tito/book/static/ (CSS, JavaScript) into
# _static/ (html_static_path), tito/book/templates/ (the page layout) into _templates/.
HERE = Path(__file__).resolve().parent
STATIC_DIR, TEMPLATES_DIR = "_static", "_templates"
SITE_FOLDERS = {HERE / "static": STATIC_DIR, HERE / "templates": TEMPLATES_DIR}
SITE_CSS, SITE_JS = "tito-book.css", "tito-book.js"

FRONT_MATTER = re.compile(r"\A---\n.*?\n---\n+", re.DOTALL)
TRAILING_NAV = re.compile(r"(\n-{3,}\s*)?\n[^\n]*←[^\n]*→\s*\Z")


def write_source_tree(course: Course, target: Path, repository: Repository, execute: bool = False) -> list[str]:
    """Write the whole Sphinx source tree of ``course`` into the empty folder ``target``.

    Returns the problems met (a module whose notebook could not be made); the tree is complete anyway.
    """
    from tito.book.reference import command_help, reference_markdown

    modules, problems = course.in_prerequisite_order(), []
    target = Path(target)
    (target / CHAPTERS).mkdir(parents=True)
    (target / NOTEBOOKS).mkdir()
    title = course_title(course)
    _write(target / "conf.py", conf_py(title, repository, execute))
    _write(target / FAVICON, FAVICON_SVG)
    write_site_files(target)
    _write(target / "index.md", index_markdown(course, modules, title, repository))
    for position, module in enumerate(modules):
        previous = modules[position - 1] if position > 0 else None
        following = modules[position + 1] if position + 1 < len(modules) else None
        problems.append(write_chapter(course, module, target, repository, previous, following, execute))
    _write(target / "milestones.md", milestones_markdown(course))
    _write(target / "commands.md", reference_markdown(command_help()))
    return [problem for problem in problems if problem]


def _write(path: Path, text: str) -> None:
    path.write_text(text, encoding="utf-8")


def write_site_files(target: Path) -> None:
    """The site's own CSS, JavaScript and layout into the source tree ``target`` (SITE_FOLDERS)."""
    for ours, folder in SITE_FOLDERS.items():
        copy_tree(ours, target / folder)


# --------------------------------------------------------------------------- conf.py


def conf_py(title: str, repository: Repository, execute: bool) -> str:
    """Sphinx's configuration: nothing in it reaches the network (no intersphinx, no CDN)."""
    settings = {
        "project": title,
        "html_title": title,
        "extensions": ["myst_nb", "sphinx_design", "sphinx.ext.githubpages"],
        "exclude_patterns": [f"{NOTEBOOKS}/**", "_build", "**.ipynb_checkpoints"],
        "html_theme": "sphinx_book_theme",
        "html_theme_options": {
            "repository_url": repository.url,
            "repository_branch": repository.branch,
            "use_repository_button": True,
            "use_download_button": False,
            "home_page_in_toc": True,
            "show_toc_level": 2,
            "footer_content_items": ["extra-footer.html"],
            # pydata-sphinx-theme >= 0.20 adds a header bar holding only a second search box; the
            # sidebar has one (executablebooks/sphinx-book-theme#986)
            "navbar_persistent": [],
            "show_prev_next": False,  # each chapter ends with its own previous / next links
            "extra_footer": "<p>Built with <code>tito book build</code> from the course's modules.</p>",
        },
        "html_favicon": FAVICON,
        "templates_path": [TEMPLATES_DIR],
        "html_static_path": [STATIC_DIR],
        "html_css_files": [SITE_CSS],
        "html_js_files": [SITE_JS],
        "html_copy_source": False,
        "html_show_sourcelink": False,
        "html_last_updated_fmt": None,
        "myst_heading_anchors": 3,
        # A fence without a language (a diagram, H' = ⌊…⌋) is text; ```python fences and notebook
        # cells name theirs.
        "highlight_language": "text",
        "myst_enable_extensions": ["colon_fence"],
        # Rendered, not run, unless --execute: then a stub's NotImplementedError is an output.
        "nb_execution_mode": "force" if execute else "off",
        "nb_execution_allow_errors": True,
        "nb_execution_raise_on_error": False,
        "nb_execution_timeout": 300,
        "nb_merge_streams": True,
        # READMEs label terminal output as python; Pygments falls back to plain text, which is right.
        "suppress_warnings": ["misc.highlighting_failure"],
    }
    lines = ['"""Generated by `tito book build`; edit the course, not this file."""', ""]
    lines += [f"{key} = {value!r}" for key, value in settings.items()]
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- index


def course_title(course: Course) -> str:
    """The course README's first heading ('TinyTorch'), else the course folder's name."""
    readme = course.root / "README.md"
    if readme.is_file():
        for line in readme.read_text(encoding="utf-8").splitlines():
            if line.startswith("# "):
                return line[2:].strip()
    return course.root.name


def index_markdown(course: Course, modules: list[Module], title: str, repository: Repository) -> str:
    intro, sections = _readme_parts(course.root / "README.md")
    links = LinkRewriter(course, course.root, repository)
    lines = [f"# {title}", "", links.rewrite(intro) or "A course built with tito.", "",
             "## How to start", ""]
    started = [f"### {name}\n\n{links.rewrite(sections[name])}" for name in START_SECTIONS if name in sections]
    lines += started or [
        "```bash\nmake install\nsource bin/activate-tinytorch.sh\ntito status\n```"]
    lines += ["", "Each chapter below opens its module in Binder or Colab, links its source, and shows "
              "the notebook you start from. More: the [milestones](milestones.md), the "
              "[command reference](commands.md), and the search box.", "",
              "## Modules", "", "In the order to take them (every module comes after the modules it needs):", "",
              module_table(modules), "", _toctree("Modules", [f"{CHAPTERS}/{m.dirname}" for m in modules]), "",
              _toctree("Course", ["milestones", "commands"])]
    return "\n".join(lines) + "\n"


def _readme_parts(readme: Path) -> tuple[str, dict[str, str]]:
    """The README's text before its first '## ' heading (its H1 dropped) and its sections by title."""
    if not readme.is_file():
        return "", {}
    intro, sections, current, fence = [], {}, None, None
    for line in readme.read_text(encoding="utf-8").splitlines():
        fence = fence_state(line, fence)
        if fence is None and line.startswith("## "):
            current = line[3:].strip()
            sections[current] = []
        elif current is not None:
            sections[current].append(line)
        elif not line.startswith("# "):
            intro.append(line)
    return "\n".join(intro).strip(), {name: "\n".join(body).strip() for name, body in sections.items()}


def module_table(modules: list[Module]) -> str:
    """The module table from module.yaml: number, title, description, prerequisites, difficulty, time."""
    by_name = {m.name: m for m in modules}
    rows = ["| # | module | what you build | needs | difficulty | time |",
            "| --- | --- | --- | --- | --- | --- |"]
    for module in modules:
        needs = ", ".join(f"[{p}]({CHAPTERS}/{by_name[p].dirname}{CHAPTER_SUFFIX})" if p in by_name else p
                          for p in module.prerequisites) or "—"
        rows.append(" | ".join([
            f"| {module.number}", f"[{markdown_text(module.title)}]({CHAPTERS}/{module.dirname}{CHAPTER_SUFFIX})",
            markdown_text(str(module.meta.get("description") or "").strip()), needs,
            difficulty_stars(module.meta.get("difficulty")),
            markdown_text(str(module.meta.get("time_estimate") or "—")) + " |"]))
    return "\n".join(rows)


def difficulty_stars(value) -> str:
    """3 -> '⭐⭐⭐ 3/4' (the number too: without an emoji font the stars are boxes); a word stays
    a word; nothing -> '—'."""
    if isinstance(value, int) and 0 < value <= HARDEST:
        return f"{'⭐' * value} {value}/{HARDEST}"
    return markdown_text(str(value)) if value not in (None, "") else "—"


def _toctree(caption: str, entries: list[str]) -> str:
    return "\n".join(["```{toctree}", ":hidden:", ":maxdepth: 1", f":caption: {caption}", "", *entries, "```"])


# --------------------------------------------------------------------------- chapters


def write_chapter(course: Course, module: Module, target: Path, repository: Repository,
                  previous: Module | None, following: Module | None, execute: bool = False) -> str | None:
    """chapters/NN_name.ipynb, a notebook page: README, launch cards, the student notebook, neighbours.

    Returns None, or the problem that kept the student notebook out (e.g. unbalanced solution
    markers): the chapter is written anyway, saying so, and the other chapters are not held up.
    """
    import nbformat
    from nbformat.v4 import new_markdown_cell, new_notebook

    links = LinkRewriter(course, module.folder, repository, page_dir=CHAPTERS,
                         site=target, assets=f"{CHAPTERS}/{ASSETS}/{module.dirname}")
    cells = [new_markdown_cell(readme_markdown(module, links)), new_markdown_cell(launch_cards(module, repository))]
    problem = None
    try:
        cells += notebook_cells(module, target, links, execute)
    except TitoError as exc:
        problem = exc.message
    except OSError as exc:
        problem = f"{module.relative(module.dev_file)} cannot be read: {exc.strerror or exc}"
    if problem:
        cells.append(new_markdown_cell(
            f"{NOTEBOOK_HEADING}\n\n```{{admonition}} This notebook could not be rendered\n"
            f":class: warning\n{markdown_text(problem)}\n```\n"))
    cells.append(new_markdown_cell(neighbour_links(previous, following)))
    for index, cell in enumerate(cells):
        cell["id"] = f"{module.name}-chapter-{index:03d}"
    chapter = new_notebook(cells=cells, metadata={
        "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
        "language_info": {"name": "python", "pygments_lexer": "ipython3"}})
    nbformat.write(chapter, str(target / CHAPTERS / f"{module.dirname}{CHAPTER_SUFFIX}"))
    return problem


def notebook_cells(module: Module, target: Path, links: LinkRewriter, execute: bool) -> list:
    """The chapter's notebook part: an introduction with a download link, then the student
    notebook's cells, headings demoted below the introduction's, no outputs.

    When the site is executed, a hidden first cell sets IPython's tracebacks to one line: the
    notebook runs against this course's (solved) tinytorch, and a traceback's source context
    would show its lines.
    """
    import nbformat
    from nbformat.v4 import new_code_cell, new_markdown_cell

    from tito.editions.notebooks import student_notebook
    from tito.notebooks.convert import notebook_json

    student = student_notebook(module)
    download = target / NOTEBOOKS / module.notebook.name
    _write(download, notebook_json(student))
    cells = [new_markdown_cell(notebook_intro(module, f"../{NOTEBOOKS}/{download.name}"))]
    if execute:
        cells.append(new_code_cell("%xmode Minimal", metadata={"tags": ["remove-cell"]}))
    for cell in student.cells:
        cell = nbformat.from_dict(dict(cell))
        if cell.cell_type == "markdown":
            cell.source = demote_headings(links.rewrite(cell.source), by=2)
        elif cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
        cells.append(cell)
    return cells


def readme_markdown(module: Module, links: LinkRewriter) -> str:
    """The module's README as the chapter's opening: front matter and its own previous / next line
    dropped (the chapter has its own), relative links fixed, and under the title a badge line from
    module.yaml (replacing a difficulty line the README has there), so every chapter opens alike.
    Without a README: the title and description from module.yaml."""
    readme = module.folder / "README.md"
    text = readme.read_text(encoding="utf-8") if readme.is_file() else ""
    text = TRAILING_NAV.sub("", FRONT_MATTER.sub("", text)).rstrip()
    lines = links.rewrite(text).splitlines()
    title_at = next((i for i, line in enumerate(lines) if line.startswith("# ")), None)
    if title_at is None:
        lines = [f"# Module {module.number}: {module.title}", "",
                 str(module.meta.get("description") or "").strip(), *lines]
        title_at = 0
    after = next((i for i in range(title_at + 1, len(lines)) if lines[i].strip()), None)
    if after is not None and "⭐" in lines[after]:  # the README's own difficulty line: ours replaces it
        del lines[title_at + 1:after + 1]
    lines[title_at + 1:title_at + 1] = ["", badge_line(module, links)]
    return "\n".join(lines) + "\n"


def badge_line(module: Module, links: LinkRewriter) -> str:
    """'**⭐⭐⭐ 3/4** · ⏱️ 6-8 hours · needs Tensor, … · exports `tinytorch.core.cnn`', with chapter links."""
    by_name = {m.name: m for m in links.course.modules}
    parts = []
    if module.meta.get("difficulty") not in (None, ""):
        parts.append(f"**{difficulty_stars(module.meta['difficulty'])}**")
    if module.meta.get("time_estimate"):
        parts.append(f"⏱️ {markdown_text(str(module.meta['time_estimate']))}")
    needs = [f"[{by_name[p].title}]({by_name[p].dirname}{CHAPTER_SUFFIX})" if p in by_name else p
             for p in module.prerequisites]
    parts.append("needs " + ", ".join(needs) if needs else "no prerequisites")
    if module.meta.get("exports_to"):
        parts.append(f"exports `{module.meta['exports_to']}`")
    return " · ".join(parts)


def launch_cards(module: Module, repository: Repository) -> str:
    """Three sphinx-design cards, as on the original site: Binder, Colab, the source on GitHub.

    Each card is one link; a screen reader reads its ``:link-alt:`` ('Launch Binder: Module 06 CNN
    notebook'), not the URL.
    """
    from tito.editions import is_student_edition

    rel = module.folder.relative_to(module.root).as_posix()
    notebook, source = f"{rel}/{module.notebook.name}", f"{rel}/{module.dev_file.name}"
    edition = is_student_edition(module.root)
    code = "the functions you write, as stubs" if edition else "the reference implementation"
    fork_help = "how to start says how" if edition else "the student edition's README says how"
    named = f"Module {module.number} {module.title}"
    cards = [
        ("🚀 Launch Binder", f"Launch Binder: {named} notebook", repository.binder(notebook),
         "Run this module interactively in your browser, in JupyterLab. No installation required!"),
        ("⚡ Open in Colab", f"Open in Colab: {named} notebook", repository.colab(notebook), _colab_text(module)),
        ("📖 View Source", f"View Source on GitHub: {named}, {module.dev_file.name}", repository.source(source),
         f"Read the module's source on GitHub: its explanations, {code}, and its inline tests."),
    ]
    lines = ["Choose your preferred way to engage with this module:", "", "````{grid} 1 2 3 3", ""]
    for title, alt, url, text in cards:
        lines += [f"```{{grid-item-card}} {title}", f":link: {url}", f":link-alt: {alt}",
                  ":class-header: bg-light", "", text, "```", ""]
    lines += ["````", "", "```{admonition} 💾 Save Your Progress", ":class: tip",
              "**Binder and Colab sessions are temporary!** Download your notebook when done, or switch "
              "to local development for persistent work: see [how to start](../index.md#how-to-start). "
              "Both run the repository as it is on GitHub, with your modules exported: to run your own "
              "work, commit and push it to your fork and open the same module there "
              f"({fork_help}).", "```"]
    return "\n".join(lines) + "\n"


def _colab_text(module: Module) -> str:
    """What the Colab card's notebook does there: in an edition, as its module's source says (a
    first cell that fetches the course only when released with ``--repository``); a course's own
    site opens a student edition's notebooks, which are released so."""
    from tito.editions import is_student_edition
    from tito.editions.colab import fetches_the_course

    if not is_student_edition(module.root) or fetches_the_course(module):
        return ("Run this module in Google Colab, nothing to install: its first cell fetches the course "
                "repository.")
    return ("Read this module's notebook in Google Colab. This edition was released without its repository "
            "(`tito release --repository URL`), so its notebooks cannot fetch the course there and their "
            "imports of tinytorch fail: run it on Binder or locally.")


def notebook_intro(module: Module, download: str) -> str:
    return (f"{NOTEBOOK_HEADING}\n\n"
            f"This is `{module.notebook.name}` as you receive it, read-only: every function you write "
            f"is a stub that raises `NotImplementedError`, with its TODO / APPROACH / EXAMPLE / HINTS. "
            f"Run it with a launch button above, locally with `tito lab {module.name}` (JupyterLab on "
            f"this notebook), or {{download}}`download it <{download}>`.\n")


def neighbour_links(previous: Module | None, following: Module | None) -> str:
    """'← Previous Module' and 'Next Module →' links; after the last module comes the milestones page."""
    parts = []
    if previous is not None:
        parts.append(f"[← Previous Module: {previous.number} {previous.title}]({previous.dirname}{CHAPTER_SUFFIX})")
    if following is not None:
        parts.append(f"[Next Module: {following.number} {following.title} →]({following.dirname}{CHAPTER_SUFFIX})")
    else:
        parts.append("[Next: the milestones →](../milestones.md)")
    return "---\n\n" + " · ".join(parts) + "\n"


# --------------------------------------------------------------------------- milestones


def milestones_markdown(course: Course) -> str:
    """One section per milestone program: its docstring, how to run it, the modules it uses."""
    from tito.milestones import MILESTONES

    by_name = {m.name: m for m in course.modules}
    lines = ["# Milestones", "",
             "A milestone is a complete program built only from your modules. Run it with "
             "`tito milestone NAME` once the modules it uses pass `tito test`.", ""]
    for name, dotted in MILESTONES.items():
        path = Path(importlib.util.find_spec(dotted).origin)
        doc = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8"))) or name
        headline, _, body = doc.partition("\n")
        used = [by_name[n] for n in _core_imports(path) if n in by_name]
        lines += [f"## {headline.strip().rstrip('.')}", "", docstring_markdown(body.strip()), "",
                  "```bash", f"tito milestone {name}", "```", ""]
        if used:
            links = (f"[{m.number} {m.title}]({CHAPTERS}/{m.dirname}{CHAPTER_SUFFIX})"
                     for m in course.in_prerequisite_order(used))
            lines += ["It uses the modules " + ", ".join(links) + ".", ""]
    return "\n".join(lines) + "\n"


def _core_imports(path: Path) -> list[str]:
    """The tinytorch.core modules a program imports, e.g. ['cnn', 'layers']."""
    imported = format.tinytorch_imports(path.read_text(encoding="utf-8"))
    return sorted({name.split(".")[2] for _, name in imported if name.startswith("tinytorch.core.")})


def docstring_markdown(text: str) -> str:
    """A docstring's paragraphs as Markdown; its indented blocks (diagrams, code) as text blocks."""
    out, block = [], []

    def flush():
        while block and not block[-1].strip():
            block.pop()
        if block:
            out.extend(["```text", *[b[4:] if b.startswith("    ") else b for b in block], "```", ""])
            block.clear()

    for line in text.splitlines():
        if line.startswith("    ") or (block and not line.strip()):
            block.append(line)
        else:
            flush()
            out.append(line.replace("::", ":") if line.rstrip().endswith("::") else line)
    flush()
    return "\n".join(out).strip()
