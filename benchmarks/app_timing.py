"""App speed: cold start of `streamlit run app.py`, and one rerun of the Draw page (AppTest)."""

from __future__ import annotations

import base64
import io
import statistics
import time
from pathlib import Path

import numpy as np
from PIL import Image

from benchmarks.inference import drawings
from devtools.app_server import (
    chromium_options,
    chromium_problem,
    free_port,
    health_ok,
    page_answers,
    start_app,
    stop_app,
    url_of,
)

REPO = Path(__file__).resolve().parent.parent
APP = REPO / "app.py"
DRAW_PAGE = REPO / "pages" / "draw.py"
CANVAS_KEY = "draw_canvas_0"  # the Draw page's canvas key before any Clear
START_TIMEOUT = 60.0
SERVER_LOG = REPO / "test-output" / "bench-app-server.log"


def measure_cold_start(with_browser: bool = True) -> dict:
    """Seconds from `streamlit run app.py` to the page and /_stcore/health both answering.

    With a browser (headless Chromium, launched before the clock starts), also the seconds to
    the first page a visitor sees: the home page's title rendered and the script run finished
    (the first run imports torch and the library, so it comes well after the HTTP answer).
    """
    browser_session = _open_browser() if with_browser else None
    port = free_port()
    base = url_of(port)
    started = time.perf_counter()
    process = start_app(port, SERVER_LOG)
    try:
        health_at = page_at = None
        while time.perf_counter() - started < START_TIMEOUT:
            if process.poll() is not None:
                error = SERVER_LOG.read_text(errors="replace").strip()[-500:]
                raise RuntimeError(f"streamlit exited with code {process.returncode}: {error}")
            now = time.perf_counter() - started
            if health_at is None and health_ok(base, timeout=1.0):
                health_at = now
            if page_at is None and page_answers(f"{base}/"):
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
            result["first_render_note"] = f"no browser: {chromium_problem()}"
    finally:
        stop_app(process)
        if browser_session is not None:
            _close_browser(browser_session)
    return result


def _open_browser():
    """(playwright, browser) with Debian's Chromium, or None when either is missing."""
    if chromium_problem():
        return None
    from playwright.sync_api import sync_playwright

    playwright = sync_playwright().start()
    try:
        browser = playwright.chromium.launch(**chromium_options())
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


def canvas_state(rgba: np.ndarray, strokes: int = 1) -> dict:
    """What the drawing pad sends to Python: its strokes (stand-ins) and a PNG data URL."""
    buffer = io.BytesIO()
    Image.fromarray(rgba).save(buffer, format="PNG")
    url = "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")
    lines = [[[40.0 + 10 * i, 20.0], [40.0 + 10 * i, 260.0]] for i in range(strokes)]
    return {"drawing": {"strokes": lines, "image": url}}


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
