"""Markdown as the site shows it: links that work from a page, headings demoted, plain text escaped.

Also where the site keeps what (``CHAPTERS``, ``ASSETS``): a link is rewritten to the place
its target takes in the site.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from tito.book.launch import Repository
from tito.course import Course

CHAPTERS = "chapters"
CHAPTER_SUFFIX = ".ipynb"  # a chapter is a notebook page; links name its source file
ASSETS = "_assets"
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".gif", ".svg", ".webp")

LINK = re.compile(r"(!?)\[([^\]\n]*)\]\(([^)\s]+)\)")
HEADING = re.compile(r"^(#{1,6})(\s)")
FENCE = re.compile(r"^\s*(`{3,}|~{3,})")


def markdown_text(text: str) -> str:
    """Plain text (e.g. a module.yaml description) safe inside Markdown, even a table cell: one
    line, with the characters Markdown would read as markup escaped ('__call__' stays __call__)."""
    return re.sub(r"([\\`*_\[\]<>|$])", r"\\\1", " ".join(text.split()))


def demote_headings(text: str, by: int) -> str:
    """Every Markdown heading ``by`` levels deeper (at most ######), code blocks untouched."""
    out, fence = [], None
    for line in text.splitlines():
        before = fence
        fence = fence_state(line, fence)
        if before is None and fence is None:
            line = HEADING.sub(lambda m: "#" * min(6, len(m.group(1)) + by) + m.group(2), line)
        out.append(line)
    return "\n".join(out)


def fence_state(line: str, fence: str | None) -> str | None:
    """The fence open after ``line``: None outside code, else its marker (``` or ~~~)."""
    match = FENCE.match(line)
    if not match:
        return fence
    marker = match.group(1)
    if fence is None:
        return marker
    return None if marker[0] == fence[0] and len(marker) >= len(fence) and not line.strip()[len(marker):] else fence


class LinkRewriter:
    """Relative links of a module's text, made to work on the site.

    A link to another module's README becomes a link to its chapter; an image next to the text
    is copied into the site; any other file of the course becomes a link to it on the repository.
    Web links and anchors are left alone, and so is anything inside code.
    """

    def __init__(self, course: Course, base: Path, repository: Repository, page_dir: str = "",
                 site: Path | None = None, assets: str = ""):
        self.course, self.base, self.repository = course, Path(base), repository
        self.page_dir = page_dir  # the page's folder in the site: "" or "chapters"
        self.site, self.assets = site, assets  # images go to site/assets/ (both given, or none)
        self.chapters = {m.folder.resolve(): m for m in course.modules}

    def rewrite(self, text: str) -> str:
        out, fence = [], None
        for line in text.splitlines():
            before = fence
            fence = fence_state(line, fence)
            inside = before is not None or fence is not None
            out.append(line if inside else self._rewrite_line(line))
        return "\n".join(out)

    def _rewrite_line(self, line: str) -> str:
        parts = re.split(r"(`+[^`]*`+)", line)  # leave inline code alone
        return "".join(p if p.startswith("`") else LINK.sub(self._link, p) for p in parts)

    def _link(self, match: re.Match) -> str:
        bang, text, target = match.groups()
        if re.match(r"^([a-z][a-z0-9+.-]*:|#|/)", target, re.IGNORECASE):
            return match.group(0)
        path, _, anchor = target.partition("#")
        resolved = (self.base / path).resolve()
        new = self._target(resolved, image=bool(bang))
        if new is None:
            return match.group(0)
        return f"{bang}[{text}]({new}{'#' + anchor if anchor and not new.startswith('http') else ''})"

    def _target(self, resolved: Path, image: bool) -> str | None:
        folder = resolved.parent if resolved.name.lower() == "readme.md" else resolved
        if folder in self.chapters:
            chapter = f"{CHAPTERS}/{self.chapters[folder].dirname}{CHAPTER_SUFFIX}"
            return _relative(chapter, self.page_dir)
        if image and self.site is not None and resolved.is_file() and resolved.suffix.lower() in IMAGE_SUFFIXES:
            site_path = f"{self.assets}/{resolved.name}"
            (self.site / site_path).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(resolved, self.site / site_path)
            return _relative(site_path, self.page_dir)
        try:
            inside = resolved.relative_to(self.course.root).as_posix()
        except ValueError:
            return None
        return self.repository.source(inside) if resolved.exists() else None


def _relative(site_path: str, page_dir: str) -> str:
    """A site path ('chapters/06_cnn.md') as seen from a page in ``page_dir``."""
    if page_dir and site_path.startswith(page_dir + "/"):
        return site_path[len(page_dir) + 1:]
    return ("../" * len([p for p in page_dir.split("/") if p])) + site_path
