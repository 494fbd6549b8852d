"""A local preview of the built site: the standard library's HTTP server on 127.0.0.1."""

from __future__ import annotations

import functools
import http.server
from pathlib import Path

from tito.errors import TitoError


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    """Serves files; logs only failed requests (a 404 is worth seeing, 200s are noise)."""

    def log_request(self, code="-", size="-"):
        if isinstance(code, int) and code >= 400 or str(code).startswith(("4", "5")):
            super().log_request(code, size)


def make_server(site: Path, port: int) -> http.server.ThreadingHTTPServer:
    """A server of ``site`` on 127.0.0.1:``port`` (0: any free port), not yet serving."""
    site = Path(site)
    if not (site / "index.html").is_file():
        raise TitoError(f"No site at {site} (no index.html there).",
                        hint="Build it first: tito book build" + (f" --out {site}" if site.name != "_site" else ""))
    handler = functools.partial(QuietHandler, directory=str(site))
    try:
        return http.server.ThreadingHTTPServer(("127.0.0.1", port), handler)
    except OSError as exc:
        raise TitoError(f"Cannot serve on 127.0.0.1:{port}: {exc.strerror or exc}.",
                        hint="Choose another port with --port N (0 picks a free one).") from None


def url_of(server: http.server.HTTPServer) -> str:
    host, port = server.server_address[:2]
    return f"http://{host}:{port}/"
