"""`tito lab`: a real JupyterLab on a free port, whose kernels import the course's tinytorch."""

import asyncio
import json
import os
import pty
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path

import pytest

pytest.importorskip("jupyterlab")
websocket = pytest.importorskip("tornado.websocket")

from course_root import ROOT
from tiny_course import HANG_SECONDS

TOKEN = "tito-lab-test"


def tito_lab_environment(**changes) -> dict:
    """This environment, without what a test step sets (the lab's kernels must not inherit it),
    with this repository's tito on PYTHONPATH, plain output and ``changes``."""
    inherited = {name: value for name, value in os.environ.items() if name not in ("PY_COLORS", "MPLBACKEND")}
    return {**inherited, "PYTHONPATH": str(ROOT), "NO_COLOR": "1", **changes}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def api(port, path, method="GET", body=None):
    request = urllib.request.Request(f"http://127.0.0.1:{port}/api/{path}", method=method,
                                     data=None if body is None else json.dumps(body).encode(),
                                     headers={"Authorization": f"token {TOKEN}"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read() or b"null")


def wait_for(port, server, seconds=HANG_SECONDS):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise AssertionError(f"tito lab exited with {server.returncode}:\n{server.stdout.read()}")
        try:
            return api(port, "status")
        except OSError:
            time.sleep(0.2)
    raise AssertionError("JupyterLab did not answer in time")


def run_in_kernel(port, kernel_id, code, seconds=HANG_SECONDS) -> str:
    """Execute ``code`` in a kernel of the server, over its websocket; returns what it printed."""
    async def go():
        url = f"ws://127.0.0.1:{port}/api/kernels/{kernel_id}/channels?token={TOKEN}"
        connection = await websocket.websocket_connect(url)
        msg_id = uuid.uuid4().hex
        await connection.write_message(json.dumps({
            "header": {"msg_id": msg_id, "username": "test", "session": uuid.uuid4().hex, "msg_type": "execute_request",
                       "version": "5.3"},
            "parent_header": {}, "metadata": {}, "channel": "shell",
            "content": {"code": code, "silent": False, "store_history": False, "user_expressions": {},
                        "allow_stdin": False, "stop_on_error": True}}))
        printed = []
        while True:
            message = json.loads(await connection.read_message())
            if message.get("parent_header", {}).get("msg_id") != msg_id:
                continue
            kind = message["header"]["msg_type"]
            if kind == "stream":
                printed.append(message["content"]["text"])
            elif kind == "error":
                printed.append(f"{message['content']['ename']}: {message['content']['evalue']}")
            elif kind == "status" and message["content"]["execution_state"] == "idle":
                connection.close()
                return "".join(printed)

    # asyncio.run, not tornado's IOLoop.current().run_sync (deprecated by tornado 6.2 outside a
    # running loop): with no loop set, that calls asyncio.get_event_loop(), a DeprecationWarning
    # on Python 3.12 and 3.13 (a RuntimeError from 3.14).
    return asyncio.run(asyncio.wait_for(go(), seconds))


@pytest.mark.filterwarnings("error:There is no current event loop:DeprecationWarning")
def test_lab_serves_the_module_notebook_and_its_kernel_imports_this_course(course, tmp_path):
    dev = course.dev("alpha")
    notebook = dev.with_suffix(".ipynb")
    assert not notebook.exists()
    port = free_port()
    # PATH without this Python's folder, as after `make lab` with no activate script (where a cell's
    # `!tito test` would say "tito: not found")
    env = tito_lab_environment(JUPYTER_TOKEN=TOKEN, PATH="/usr/bin:/bin", JUPYTER_RUNTIME_DIR=str(tmp_path / "runtime"),
                          JUPYTER_CONFIG_DIR=str(tmp_path / "config"),
                          JUPYTERLAB_WORKSPACES_DIR=str(tmp_path / "workspaces"))
    terminal, its_side = pty.openpty()  # a terminal, where Jupyter would ask "Shutdown this server (y/[n])?"
    server = subprocess.Popen([sys.executable, "-m", "tito", "lab", "alpha", "--no-browser", "--port", str(port)],
                              cwd=course.root / "tests", env=env, stdin=its_side, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True)
    os.close(its_side)
    try:
        wait_for(port, server)
        assert notebook.exists()  # written from the source, since it was missing
        listed = api(port, "contents/modules/source/01_alpha")
        assert "alpha_dev.ipynb" in [item["name"] for item in listed["content"]]
        kernel = api(port, "kernels", "POST", {"name": "python3"})
        printed = run_in_kernel(port, kernel["id"], (
            "import os, shutil, tinytorch, alpha_dev\n"
            "print(tinytorch.__file__)\nprint(alpha_dev.double(21))\nprint(os.environ['TITO_ROOT'])\n"
            "print(shutil.which('tito'))\nprint('TITO_TEST_STARTED' in os.environ)\n"
            "print(os.environ.get('PY_COLORS'), os.environ.get('MPLBACKEND') == 'Agg')"))
        assert printed.splitlines() == [str(course.root / "tinytorch" / "__init__.py"), "42", str(course.root),
                                        str(Path(sys.executable).parent / "tito"), "False",
                                        "None False"]  # a test step's settings are not a kernel's
    finally:
        server.send_signal(signal.SIGINT)  # once, as "Ctrl-C stops it" says
        try:
            stopped = server.wait(timeout=HANG_SECONDS) is not None  # one asking y/n would wait for ever
        except subprocess.TimeoutExpired:
            stopped = False
            server.kill()
            server.wait()
        os.close(terminal)
    assert stopped, "one Ctrl-C did not stop JupyterLab"
    assert "Starting JupyterLab in" in server.stdout.read()


def test_lab_without_jupyterlab_says_how_to_install_it(course):
    code = "import sys; sys.modules['jupyterlab'] = None; from tito.cli import main; main()"
    done = subprocess.run([sys.executable, "-c", code, "lab", "alpha"], cwd=course.root, env=tito_lab_environment(),
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    assert "JupyterLab is not installed" in done.stderr and "make install" in done.stderr
