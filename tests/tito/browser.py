"""A real headless Chromium for the website tests, with no network at all.

``chromium()`` finds the browser (or skips the test); ``DevTools`` drives one page of it over the
DevTools protocol on a pipe (``--remote-debugging-pipe``: JSON messages ending in a NUL byte, read
by the browser on its file descriptor 3 and written on 4), so a test can press keys and read
computed styles. No tests here; the test files import it.
"""

import fcntl
import json
import os
import select
import shutil
import subprocess
import sys
import tempfile
import time

import pytest

FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--host-resolver-rules=MAP * ~NOTFOUND")
# Starts the browser with the pipe ends given as arguments on the descriptors it talks on, 3 and 4.
ON_3_AND_4 = ("import os, sys\n"
              "for fd, on in zip(map(int, sys.argv[1:3]), (3, 4)):\n"
              "    os.dup2(fd, on)\n"
              "    os.close(fd)\n"
              "os.execv(sys.argv[3], sys.argv[3:])\n")
KEYS = {"Tab": 9, "Enter": 13, "Escape": 27}


def chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if not found:
        pytest.skip("Debian's chromium is not installed (.ci/system-packages installs it when run as root)")
    return found


def _above_4(fd: int) -> int:
    """``fd`` moved to a descriptor above 4, so that putting one on 3 or 4 cannot overwrite the other."""
    moved = fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 5)
    os.close(fd)
    return moved


def _is_load(event: dict, loader: str) -> bool:
    """Whether ``event`` is the load event of the navigation ``loader`` (not of the blank page before)."""
    params = event.get("params", {})
    return (event.get("method") == "Page.lifecycleEvent" and params.get("name") == "load"
            and params.get("loaderId") == loader)


READ_SECONDS = 60  # a page that never answers fails its test rather than hang the suite


class DevTools:
    """One browser tab: ``open(url)``, ``js(expression)`` -> its value, ``press(key)``, ``resize(w, h)``.

    Use it as a context manager; the browser and its profile are gone afterwards.
    """

    def __init__(self, width: int = 1280, height: int = 900):
        browser = chromium()  # skips the test before anything is made
        # ignore_cleanup_errors: a helper process of Chromium may still write into it as it goes
        self.profile = tempfile.TemporaryDirectory(ignore_cleanup_errors=True)
        to_browser, self._send = os.pipe()
        self._receive, from_browser = os.pipe()
        to_browser, from_browser = (_above_4(fd) for fd in (to_browser, from_browser))
        self.process = subprocess.Popen(
            [sys.executable, "-c", ON_3_AND_4, str(to_browser), str(from_browser), browser, *FLAGS,
             "--remote-debugging-pipe", f"--user-data-dir={self.profile.name}", f"--window-size={width},{height}"],
            pass_fds=(to_browser, from_browser), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        os.close(to_browser)
        os.close(from_browser)
        self._buffer, self._next_id, self.events = b"", 0, []
        try:
            target = self.call("Target.createTarget", url="about:blank")["targetId"]
            self.session = self.call("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]
            self.call("Page.enable")
            self.call("Page.setLifecycleEventsEnabled", enabled=True)
            self.resize(width, height)
        except BaseException:  # no __exit__ will come: leave no browser behind
            self.close()
            raise

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self) -> None:
        os.close(self._send)
        os.close(self._receive)
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.profile.cleanup()

    def call(self, method: str, **params):
        """Send one command and wait for its answer (events met meanwhile are kept in ``events``)."""
        self._next_id += 1
        message = {"id": self._next_id, "method": method, "params": params}
        if getattr(self, "session", None):
            message["sessionId"] = self.session
        os.write(self._send, json.dumps(message).encode() + b"\0")
        while True:
            answer = self._read()
            if answer.get("id") == self._next_id:
                assert "error" not in answer, f"{method}: {answer['error']}"
                return answer.get("result", {})
            self.events.append(answer)

    def _read(self) -> dict:
        deadline = time.monotonic() + READ_SECONDS
        while b"\0" not in self._buffer:
            ready, _, _ = select.select([self._receive], [], [], max(0.0, deadline - time.monotonic()))
            assert ready, f"Chromium said nothing for {READ_SECONDS} s"
            chunk = os.read(self._receive, 1 << 16)
            assert chunk, "Chromium closed its DevTools pipe"
            self._buffer += chunk
        message, self._buffer = self._buffer.split(b"\0", 1)
        return json.loads(message)

    def open(self, url: str) -> None:
        """Load ``url`` and wait for its load event (its styles applied, the theme's scripts run)."""
        loader = self.call("Page.navigate", url=url)["loaderId"]
        while not any(_is_load(event, loader) for event in self.events):
            self.events.append(self._read())
        self.events.clear()

    def js(self, expression: str):
        """The value of a JavaScript expression in the page (a promise is awaited)."""
        result = self.call("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
        assert "exceptionDetails" not in result, result["exceptionDetails"]
        return result["result"].get("value")

    def press(self, key: str) -> None:
        """Press and release a key, as a keyboard does (Enter on a button clicks it)."""
        code = KEYS[key]
        text = {"Enter": "\r"}.get(key, "")
        self.call("Input.dispatchKeyEvent", type="keyDown", key=key, code=key, windowsVirtualKeyCode=code, text=text)
        self.call("Input.dispatchKeyEvent", type="keyUp", key=key, code=key, windowsVirtualKeyCode=code)

    def resize(self, width: int, height: int) -> None:
        self.call("Emulation.setDeviceMetricsOverride", width=width, height=height, deviceScaleFactor=1, mobile=False)
