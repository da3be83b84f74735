"""Start the app server and find the browser: the one copy tests/browser, the benchmarks, the
load test and the screenshots use.

    server = launch_app(free_port(), env={...}, log=Path("test-output/server.log"))
    try:
        browser = playwright.chromium.launch(**chromium_options())  # sync or async Playwright
        ...
    finally:
        stop_app(server)

Imports neither Playwright nor lenet_viz, so any script can use it before checking either.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"  # the app and every request stay on this machine
CHROMIUM = Path("/usr/bin/chromium")  # Debian's: Playwright cannot download its own here
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SERVER_START_SECONDS = 180  # importing torch on a busy shared machine can take a while


def free_port() -> int:
    """A TCP port of 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def url_of(port: int) -> str:
    return f"http://{HOST}:{port}"


def health_ok(url: str, timeout: float = 10.0) -> bool:
    """Whether the server at `url` answers its health check with "ok"."""
    try:
        with urllib.request.urlopen(f"{url}/_stcore/health", timeout=timeout) as response:
            return response.status == 200 and response.read().strip() == b"ok"
    except OSError:
        return False


def page_answers(url: str, timeout: float = 1.0) -> bool:
    """Whether `url` answers with HTTP 200."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status == 200
    except OSError:
        return False


def start_app(port: int, log: Path, env: dict[str, str] | None = None) -> subprocess.Popen:
    """`streamlit run app.py` on 127.0.0.1:port, its output in `log`; returns without waiting.

    env: added to this process's environment. The server leads its own process group, so
    that `stop_app` ends it with every process it started.
    """
    command = [
        sys.executable,
        *("-m", "streamlit", "run", "app.py"),
        "--server.headless=true",
        f"--server.port={port}",
        f"--server.address={HOST}",
        "--server.fileWatcherType=none",
        "--browser.gatherUsageStats=false",
    ]
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "w") as log_file:
        return subprocess.Popen(
            command,
            cwd=REPO,
            env={**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})},
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def wait_until_serving(
    server: subprocess.Popen, port: int, log: Path, timeout: float = SERVER_START_SECONDS
) -> None:
    """Return once the server's health check answers; raise RuntimeError (with the end of its
    log) if it exits first, or after `timeout` seconds."""
    url = url_of(port)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            tail = log.read_text(errors="replace")[-3000:]
            raise RuntimeError(f"the app server exited with code {server.returncode}:\n{tail}")
        if health_ok(url, timeout=2):
            return
        time.sleep(0.3)
    raise RuntimeError(f"the app did not answer at {url} within {timeout:.0f} s")


def launch_app(
    port: int, log: Path, env: dict[str, str] | None = None, timeout: float = SERVER_START_SECONDS
) -> subprocess.Popen:
    """`start_app`, then wait until it serves (stopping it if it never does)."""
    server = start_app(port, log, env)
    try:
        wait_until_serving(server, port, log, timeout)
    except BaseException:
        stop_app(server)
        raise
    return server


def stop_app(server: subprocess.Popen, timeout: float = 15) -> None:
    """End the server and the processes it started (its process group)."""
    with contextlib.suppress(ProcessLookupError):  # the whole group has already ended
        os.killpg(server.pid, signal.SIGTERM)
    try:
        server.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(server.pid, signal.SIGKILL)
        server.wait()


def chromium_problem() -> str | None:
    """Why the browser cannot run here (Chromium or Playwright missing), or None."""
    if not CHROMIUM.exists():
        return f"Debian's chromium is missing at {CHROMIUM}: install it with `make browser`"
    try:
        import playwright  # noqa: F401
    except ImportError:
        return "Playwright for Python is not installed: run `make setup`"
    return None


def chromium_options() -> dict:
    """Keyword arguments of Playwright's `chromium.launch` for Debian's headless Chromium."""
    return {"executable_path": str(CHROMIUM), "args": list(CHROMIUM_ARGS)}


# ----------------------------------------------------------------------------- page actions
# For sync Playwright pages (the benchmarks and the screenshots); `wait(page)` is the caller's
# own "until the script run is over".


def choose(page, label: str, option: str, wait) -> None:
    """Pick `option` in the selectbox labelled `label`, by typing it: a list opened near the
    bottom of the window can place its options where a click cannot reach them."""
    page.locator("[data-testid=stSelectbox]").filter(has_text=label).click()
    page.keyboard.type(option)
    page.keyboard.press("Enter")
    wait(page)


def set_number(page, label: str, value: int, wait) -> None:
    """Type `value` into the number input labelled `label`, and apply it."""
    field = page.get_by_role("spinbutton", name=label)
    field.fill(str(value))
    field.press("Enter")
    wait(page)
