"""Reloads and closed tabs in a real browser (issue #16): no lost runs, no stuck training slot.

The server of this module trains one run at a time (LENET_VIZ_MAX_RUNS=1), as a 2-core class
server does, so one student's run that kept its slot would make the next Start wait.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator

import pytest
from conftest import OUTPUT, free_port, launch_app, stop_app, wait_for_app
from playwright.sync_api import TimeoutError as PlaywrightTimeout

MEDIUM = "Medium: 10,000 images"  # a run that lasts well beyond each test's checks
FULL = "Full: 60,000 images"  # still training after a reload on a fast, idle machine
TINY = "Tiny: 500 images"
TALL = {"width": 1400, "height": 1300}
START_SECONDS = 10  # the bound: a Start after a reload or a closed tab
PROGRESS = "[data-testid=stProgress]"


@pytest.fixture(scope="module")
def one_slot_app(chromium_path, checkpoint_env, browser) -> Iterator[str]:
    port = free_port()
    env = {**checkpoint_env, "LENET_VIZ_MAX_RUNS": "1"}
    server = launch_app(port, env, OUTPUT / "browser-reload-server.log")
    url = f"http://127.0.0.1:{port}"
    try:
        warm = browser.new_context()
        page = warm.new_page()
        page.goto(url)
        wait_for_app(page)  # loads the libraries; app.py's navigation from now on
        warm.close()
        yield url
    finally:
        stop_app(server)


def choose(page, label: str, option: str) -> None:
    page.locator("[data-testid=stSelectbox]").filter(has_text=label).click()
    page.keyboard.type(option)
    page.keyboard.press("Enter")


def open_train(browser, url: str, size: str):
    context = browser.new_context(viewport=TALL)
    page = context.new_page()
    page.set_default_timeout(120_000)
    page.goto(f"{url}/train")
    wait_for_app(page)
    choose(page, "Run size", size)
    wait_for_app(page)
    return context, page


def selected(page, label: str) -> str:
    """What the selectbox labelled `label` shows (its text, or its input's value)."""
    box = page.locator("[data-testid=stSelectbox]").filter(has_text=label)
    inputs = box.locator("input")
    value = inputs.first.input_value() if inputs.count() else ""
    return f"{box.inner_text()} {value}"


def progress_text(page) -> str:
    bars = page.locator(PROGRESS)
    return bars.first.inner_text() if bars.count() else ""


def iteration_shown(page) -> int | None:
    """The iteration the live panel's progress line shows; None if it shows none."""
    match = re.search(r"iteration ([\d,]+)", progress_text(page))
    return int(match.group(1).replace(",", "")) if match else None


def wait_for_status(page, pattern: str, timeout_s: float = 120) -> float:
    """Wait until the live panel's progress line matches `pattern`; the seconds it took."""
    start = time.monotonic()
    regex = re.compile(pattern)
    while time.monotonic() - start < timeout_s:
        if regex.search(progress_text(page)):
            return time.monotonic() - start
        page.wait_for_timeout(200)
    raise AssertionError(f"no {pattern!r} in {timeout_s} s; the panel says {progress_text(page)!r}")


def start_and_time(page) -> tuple[float, bool]:
    """Press Start; (seconds from the page first showing the new run to it training, whether
    it was ever queued). Timed from the run's first appearance, not from the click: the click's
    own script run is the server's page latency (20 s under a load average of 26 on 2 cores),
    not the wait for a training slot this checks."""
    press(page, "Start")
    deadline = time.monotonic() + 120
    first_seen, queued = None, False
    while time.monotonic() < deadline:
        text = progress_text(page)
        if text and first_seen is None:
            first_seen = time.monotonic()
        queued |= text.startswith("Waiting")
        if re.match(r"^(Training|Finished)", text):
            return time.monotonic() - first_seen, queued
        page.wait_for_timeout(200)
    raise AssertionError(f"the run never trained; the panel says {progress_text(page)!r}")


def press(page, name: str) -> None:
    """Click the app's button `name` (not Streamlit's own "Stop" in the header while a script
    runs)."""
    page.get_by_test_id("stMainBlockContainer").get_by_role("button", name=name, exact=True).click()


def stop_run(page) -> None:
    """Stop the page's run. Stop is disabled once a run is over: a run read as training a
    moment ago may have finished since (a fresh-clone CI run saw it), and then it says so."""
    stop = page.get_by_test_id("stMainBlockContainer").get_by_role(
        "button", name="Stop", exact=True
    )
    try:
        stop.click(timeout=15_000)
    except PlaywrightTimeout:
        wait_for_status(page, r"^Finished", timeout_s=5)
        return
    wait_for_status(page, r"^(Stopped|Finished)")


def test_a_paused_run_then_f5_leaves_the_slot_free_and_the_run_reattached(one_slot_app, browser):
    first_context, first = open_train(browser, one_slot_app, MEDIUM)
    press(first, "Start")
    wait_for_status(first, r"^Training")
    press(first, "Pause")
    wait_for_status(first, r"^Paused")

    first.reload()  # F5
    wait_for_status(first, r"^Paused", timeout_s=60)  # the same run, reattached
    assert "Medium" in selected(first, "Run size")  # and its settings

    second_context, second = open_train(browser, one_slot_app, TINY)
    seconds, queued = start_and_time(second)
    assert not queued, "the paused run kept its training slot"
    assert seconds < START_SECONDS, f"the second session's run started after {seconds:.1f} s"
    second_context.close()
    stop_run(first)
    first_context.close()


def test_a_tab_closed_while_running_gives_its_slot_to_the_next_start(one_slot_app, browser):
    closed_context, closed = open_train(browser, one_slot_app, MEDIUM)
    press(closed, "Start")
    wait_for_status(closed, r"^Training")
    orphan_url = closed.url
    assert "runs=" in orphan_url
    closed_context.close()  # the tab is closed while the run trains

    second_context, second = open_train(browser, one_slot_app, TINY)
    seconds, _ = start_and_time(second)  # it may queue: the closed tab's run gives way
    assert seconds < START_SECONDS, f"the second session's run started after {seconds:.1f} s"
    second_context.close()

    # The closed tab's link, opened again, finds the run (it went on when the slot was free).
    again_context = browser.new_context(viewport=TALL)
    again = again_context.new_page()
    again.set_default_timeout(120_000)
    again.goto(orphan_url)
    wait_for_status(again, r"^(Training|Waiting|Finished|Paused)", timeout_s=60)
    if re.match(r"^(Training|Waiting|Paused)", progress_text(again)):
        stop_run(again)
    again_context.close()


def test_a_reload_while_running_reattaches_and_the_run_goes_on(one_slot_app, browser, wait_until):
    context, page = open_train(browser, one_slot_app, FULL)
    press(page, "Start")
    wait_for_status(page, r"^Training")
    page.reload()
    wait_for_status(page, r"^Training", timeout_s=60)
    before = iteration_shown(page)
    assert before is not None, progress_text(page)
    # the same run, still training, not a new empty page: its iteration goes on from `before`
    assert wait_until(lambda: (iteration_shown(page) or 0) > before, 60), progress_text(page)
    stop_run(page)
    context.close()
