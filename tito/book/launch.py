"""Where a chapter's launch cards point: Binder, Colab and the source on the course's repository.

The repository is a GitHub one (Binder and Colab open notebooks from GitHub), named by
``Repository`` in ``pyproject.toml``'s ``[project.urls]`` unless the command line gives another,
e.g. the public repository of the student edition.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from tito.errors import TitoError
from tito.files import write_atomically

GITHUB_URL = re.compile(r"^https?://(?:www\.)?github\.com/([A-Za-z0-9_.-]+)/([A-Za-z0-9_.-]+?)(?:\.git)?/?$")
URL_KEYS = ("repository", "source", "source code", "code")


@dataclass(frozen=True)
class Repository:
    """A GitHub repository and branch, e.g. mlsysbook/TinyTorch at main."""

    owner: str
    name: str
    branch: str = "main"

    @classmethod
    def parse(cls, url: str, branch: str = "main") -> "Repository":
        match = GITHUB_URL.match(url.strip())
        if not match:
            raise TitoError(
                f"The course repository must be a GitHub URL like https://github.com/OWNER/NAME, got '{url}'.",
                hint="Binder and Colab open notebooks from GitHub. Give another with --repository URL.",
                exit_code=2)
        if not branch.strip() or any(c.isspace() for c in branch):
            raise TitoError(f"A branch name has no spaces and is not empty, got '{branch}'.", exit_code=2)
        return cls(match.group(1), match.group(2), branch)

    @property
    def url(self) -> str:
        return f"https://github.com/{self.owner}/{self.name}"

    def source(self, path: str) -> str:
        """The page of a file (or folder) of the repository, e.g. modules/source/06_cnn/cnn_dev.py."""
        return f"{self.url}/blob/{quote(self.branch)}/{quote(path)}"

    def binder(self, path: str) -> str:
        """BinderHub's link that opens ``path`` in JupyterLab (``?filepath=`` would open classic Notebook)."""
        return (f"https://mybinder.org/v2/gh/{self.owner}/{self.name}/{quote(self.branch)}"
                f"?labpath={quote(path)}")

    def colab(self, path: str) -> str:
        return (f"https://colab.research.google.com/github/{self.owner}/{self.name}/blob/"
                f"{quote(self.branch)}/{quote(path)}")


def declared_repository(root: Path) -> str | None:
    """The repository URL in ``pyproject.toml``'s ``[project.urls]`` (``Repository`` or ``Source``)."""
    from tito.course import read_pyproject

    urls = (read_pyproject(root).get("project") or {}).get("urls") or {}
    by_key = {str(key).strip().lower(): value for key, value in urls.items()}
    for key in URL_KEYS:
        if isinstance(by_key.get(key), str):
            return by_key[key]
    return None


def set_repository(root: Path, url: str) -> None:
    """Make ``url`` the repository ``pyproject.toml`` declares (a student edition names its own)."""
    Repository.parse(url)
    path = Path(root) / "pyproject.toml"
    text = path.read_text(encoding="utf-8")
    old = declared_repository(root)
    if old and text.count(f'"{old}"') == 1:
        text = text.replace(f'"{old}"', f'"{url}"')
    elif "[project.urls]\n" in text and not old:
        text = text.replace("[project.urls]\n", f'[project.urls]\nRepository = "{url}"\n', 1)
    elif "[project.urls]" not in text:
        text = text.rstrip("\n") + f'\n\n[project.urls]\nRepository = "{url}"\n'
    else:
        raise TitoError(f"Cannot set the repository in {path}: its [project.urls] names {old!r} in a way "
                        "tito does not rewrite.", hint=f'Set Repository = "{url}" there by hand.')
    write_atomically(path, text)


def solutions_warning(course, repository: Repository) -> str:
    """Why the launch cards should not open ``repository``, when it is this course's own and the
    course holds solutions (its notebooks exist only in a student edition); else ''."""
    from tito.format import BEGIN_SOLUTION_LINE

    declared = declared_repository(course.root)
    if not declared or not GITHUB_URL.match(declared.strip()) or Repository.parse(declared).url != repository.url:
        return ""
    if not any(BEGIN_SOLUTION_LINE.search(m.dev_file.read_text(encoding="utf-8", errors="replace"))
               for m in course.modules if m.dev_file.is_file()):
        return ""
    return (f"The launch cards open {repository.url}, this course's own repository (pyproject.toml): "
            "its modules hold the solutions, and its notebooks are written only into a student edition. "
            "For students, give the edition's repository: --repository URL.")


def course_repository(root: Path, url: str | None = None, branch: str = "main") -> Repository:
    """The repository the launch cards open: ``url`` when given, else the one pyproject.toml declares."""
    url = url or declared_repository(root)
    if not url:
        raise TitoError(
            "No course repository to point the launch cards at.",
            hint='Add Repository = "https://github.com/OWNER/NAME" under [project.urls] in '
                 "pyproject.toml, or pass --repository URL.",
            exit_code=2)
    return Repository.parse(url, branch)
