"""tito book: build the course website from the modules, and preview it locally."""

import sys
from pathlib import Path

import click

from tito.console import console, warn
from tito.course import Course


@click.group("book")
def command():
    """Build the course website, or preview it.

    The site has an index with the module table, one chapter per module (its README,
    Binder / Colab / source launch cards, the student notebook read-only, previous /
    next links), the milestones, the command reference, and search. It builds offline.

    \b
    Examples:
      tito book build
      tito book build --repository https://github.com/ME/course-student --out public/
      tito book serve
    """


@command.command("build")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Folder for the HTML site [default: _site in the course folder]. A site built "
                   "there before is replaced; any other non-empty folder is refused.")
@click.option("--repository", "repository_url", metavar="URL", default=None,
              help="GitHub repository the launch cards open, e.g. your student edition's "
                   "[default: Repository in pyproject.toml's [project.urls]].")
@click.option("--branch", default="main", show_default=True, help="Branch of that repository.")
@click.option("--execute", is_flag=True,
              help="Export every module into tinytorch/ (as `tito export --all --keep-going`), then run "
                   "each student notebook while building and show its outputs (slow; unwritten "
                   "functions show their NotImplementedError). Default: rendered, not run.")
@click.option("--jobs", "-j", type=click.IntRange(min=1), default=1, show_default=True,
              help="Parallel Sphinx processes (worth it only for a course of many modules).")
def build(out_dir, repository_url, branch, execute, jobs):
    """Build the course website: static HTML, offline.

    Sphinx + MyST-NB + sphinx-book-theme + sphinx-design. Chapters are written to
    chapters/NN_name.html in prerequisite order. Open _site/index.html in a browser, or preview it
    with `tito book serve`.
    """
    from tito.book.build import DEFAULT_OUT, build_site
    from tito.book.launch import course_repository, solutions_warning

    course = Course.here()
    repository = course_repository(course.root, repository_url, branch)
    out = out_dir if out_dir is not None else course.root / DEFAULT_OUT
    result = build_site(course, out, repository, execute=execute, jobs=jobs)
    if result.exported:
        console().print(result.exported, soft_wrap=True)
    for line in [solutions_warning(course, repository), *result.warnings]:
        if line:
            warn(line)
    console().print(f"[green]✓[/] Built {len(result.pages)} pages from {len(course.modules)} modules "
                    f"in {result.seconds:.1f} s: {result.out / 'index.html'}", soft_wrap=True)
    console().print("Preview it: tito book serve" + (f" --out {out_dir}" if out_dir is not None else ""))


@command.command("serve")
@click.option("--port", "-p", type=click.IntRange(min=0, max=65535), default=8000, show_default=True,
              help="Port on 127.0.0.1 (0 picks a free one).")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="The built site [default: _site in the course folder].")
def serve(port, out_dir):
    """Preview the built site on http://127.0.0.1:PORT/ (Ctrl+C stops)."""
    from tito.book.build import DEFAULT_OUT
    from tito.book.serve import make_server, url_of

    site = out_dir if out_dir is not None else Course.here().root / DEFAULT_OUT
    server = make_server(site, port)
    console().print(f"Serving {site} at {url_of(server)} (Ctrl+C to stop)", soft_wrap=True)
    sys.stdout.flush()
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        console().print("Stopped.")
    finally:
        server.server_close()
