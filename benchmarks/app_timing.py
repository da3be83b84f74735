"""App speed: cold start of `streamlit run app.py`, and one rerun of the Draw page (AppTest)."""

from __future__ import annotations

import base64
import io
import os
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
from PIL import Image

from benchmarks.inference import drawings

REPO = Path(__file__).resolve().parent.parent
APP = REPO / "app.py"
DRAW_PAGE = REPO / "pages" / "draw.py"
CANVAS_KEY = "draw_canvas_0"  # the Draw page's canvas key before any Clear
START_TIMEOUT = 60.0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1.0) as response:
            return response.status == 200
    except (urllib.error.URLError, OSError):
        return False


CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def measure_cold_start(with_browser: bool = True) -> dict:
    """Seconds from `streamlit run app.py` to the page and /_stcore/health both answering.

    With a browser (headless Chromium, launched before the clock starts), also the seconds to
    the first page a visitor sees: the home page's title rendered and the script run finished
    (the first run imports torch and the library, so it comes well after the HTTP answer).
    """
    browser_session = _open_browser() if with_browser else None
    port = free_port()
    command = [
        sys.executable,
        *("-m", "streamlit", "run", str(APP)),
        *("--server.headless", "true", "--server.port", str(port)),
        *("--browser.gatherUsageStats", "false"),
    ]
    base = f"http://127.0.0.1:{port}"
    started = time.perf_counter()
    process = subprocess.Popen(
        command,
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,  # its own process group, so that it and its children end with it
    )
    try:
        health_at = page_at = None
        while time.perf_counter() - started < START_TIMEOUT:
            if process.poll() is not None:
                error = process.stderr.read().decode(errors="replace").strip()[-500:]
                raise RuntimeError(f"streamlit exited with code {process.returncode}: {error}")
            now = time.perf_counter() - started
            if health_at is None and _answers(f"{base}/_stcore/health"):
                health_at = now
            if page_at is None and _answers(f"{base}/"):
                page_at = now
            if health_at is not None and page_at is not None:
                break
            time.sleep(0.05)
        else:
            raise RuntimeError(f"streamlit did not answer within {START_TIMEOUT:.0f} s")
        result = {
            "seconds": round(max(health_at, page_at), 2),
            "health_seconds": round(health_at, 2),
            "page_seconds": round(page_at, 2),
        }
        if browser_session is not None:
            try:
                result["first_render_seconds"] = round(
                    _first_render(browser_session, base) - started, 2
                )
            except Exception as error:  # the server timing above still stands
                result["first_render_seconds"] = None
                result["first_render_note"] = f"{type(error).__name__}: {error}"[:300]
        elif with_browser:
            result["first_render_seconds"] = None
            result["first_render_note"] = f"no browser: needs playwright and {CHROMIUM}"
    finally:
        _stop(process)
        if browser_session is not None:
            _close_browser(browser_session)
    return result


def _open_browser():
    """(playwright, browser) with Debian's Chromium, or None when either is missing."""
    if not CHROMIUM.exists():
        return None
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        return None
    playwright = sync_playwright().start()
    try:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
    except Exception:
        playwright.stop()
        return None
    return playwright, browser


def _first_render(session, base: str) -> float:
    """perf_counter() when the home page shows its title and its first script run has ended."""
    _, browser = session
    page = browser.new_page()
    page.goto(base + "/", timeout=START_TIMEOUT * 1000)
    page.get_by_role("heading", name="LeNet-5 Explorer").wait_for(timeout=START_TIMEOUT * 1000)
    page.wait_for_function(
        """() => {
            const app = document.querySelector('[data-testid="stApp"]');
            return app && app.getAttribute('data-test-script-state') === 'notRunning';
        }""",
        timeout=START_TIMEOUT * 1000,
    )
    rendered = time.perf_counter()
    page.close()
    return rendered


def _close_browser(session) -> None:
    playwright, browser = session
    browser.close()
    playwright.stop()


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def canvas_state(rgba: np.ndarray, strokes: int = 1) -> dict:
    """What the canvas component sends to Python: its Fabric.js objects and a PNG data URL."""
    buffer = io.BytesIO()
    Image.fromarray(rgba).save(buffer, format="PNG")
    url = "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")
    objects = [{"type": "path"} for _ in range(strokes)]
    return {"drawing": {"raw": {"objects": objects, "background": ""}, "data": url}}


def measure_draw_rerun(reruns: int = 5) -> dict:
    """AppTest: the Draw page's first run, then reruns that each read a new drawing."""
    if not DRAW_PAGE.is_file():
        return {"skipped": "pages/draw.py does not exist yet"}
    from streamlit.testing.v1 import AppTest

    app = AppTest.from_file(str(APP), default_timeout=60)
    started = time.perf_counter()
    app.switch_page("pages/draw.py")
    app.run()
    first = time.perf_counter() - started
    if app.exception:
        return {"skipped": f"the Draw page raised: {app.exception[0].value}"}
    canvases = drawings(reruns + 1)
    app.session_state[CANVAS_KEY] = canvas_state(canvases[0])
    app.run()  # warm-up: the first drawing loads the figure code
    seconds = []
    for rgba in canvases[1:]:
        app.session_state[CANVAS_KEY] = canvas_state(rgba)
        tick = time.perf_counter()
        app.run()
        seconds.append(time.perf_counter() - tick)
    if app.exception:
        return {"skipped": f"the Draw page raised: {app.exception[0].value}"}
    predicted = app.metric[0].value if app.metric else None
    return {
        "first_run_seconds": round(first, 3),
        "rerun_seconds_median": round(statistics.median(seconds), 3),
        "rerun_seconds_max": round(max(seconds), 3),
        "reruns": len(seconds),
        "shows_prediction": predicted is not None,
    }
