"""One browser session (its own Chromium context, so its own Streamlit session): its record,
and the page actions and checks every role uses."""

from __future__ import annotations

import contextlib
import re
import time
from dataclasses import dataclass, field

from loadtest import OUTPUT, say

VIEWPORT = {"width": 1400, "height": 1300}  # room for the Run size list below the settings
ACTION_MS = 150_000  # any single wait in a page (a script run under load)
NAVIGATION_SECONDS = 45  # a sidebar click whose page title has not shown by then is repeated
CANVAS = "[data-testid=stBidiComponentIsolated] canvas.drawing-pad"

# Sidebar link -> the page's title (its h1).
PAGE_TITLES = {
    "Home": "LeNet-5 Explorer",
    "Train": "Train LeNet-5",
    "Compare": "Compare runs side by side",
    "Draw": "Draw a digit",
    "Inside LeNet-5": "Inside LeNet-5",
}

SCRIPT_STATE_JS = """() => document.querySelector('[data-testid="stApp"]')
    ?.getAttribute('data-test-script-state')"""
SCRIPT_IDLE_JS = """() => {
    const app = document.querySelector('[data-testid="stApp"]');
    return !!app && app.getAttribute('data-test-script-state') === 'notRunning';
}"""
# Every sign of an error a user could see on the page.
ERRORS_JS = """() => {
    const texts = (selector) => [...document.querySelectorAll(selector)]
        .map((element) => element.innerText.trim().slice(0, 300));
    const found = [];
    for (const text of texts('[data-testid="stException"]')) found.push('exception: ' + text);
    for (const text of texts('[data-testid="stAlertContentError"]')) found.push('error: ' + text);
    const body = document.body ? document.body.innerText : '';
    if (body.includes('Traceback')) found.push('a traceback on the page');
    if (body.includes('Connection error')) found.push('connection error');
    return found;
}"""


@dataclass
class Session:
    """One browser session (its own Chromium context, so its own Streamlit session)."""

    index: int
    role: str
    page: object = None  # playwright.async_api.Page
    label: str = ""
    saved_name: str | None = None  # the checkpoint file this session saved
    pages_visited: int = 0
    predictions: int = 0
    runs_trained: int = 0
    load_seconds: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    leaks: list[str] = field(default_factory=list)  # another session's runs or models seen
    status_reads: list[tuple[float, str | None]] = field(default_factory=list)
    queued_reads: list[tuple[int, int, int]] = field(default_factory=list)
    still_seconds: list[float] = field(default_factory=list)  # a running status unchanged
    closed: bool = False  # its tab was closed on purpose ("closetab")
    reattached: bool = False  # its page got its run back after F5 ("reload")
    page_errors: list[str] = field(default_factory=list)  # uncaught JavaScript errors
    clicks_repeated: int = 0  # sidebar clicks that had to be made twice (open_page)

    def fail(self, text: str) -> None:
        if self.page_errors:  # a page script that crashed explains a blank or stuck page
            text += f" (JavaScript errors on the page: {self.page_errors[-3:]})"
        self.errors.append(f"{self.label}: {text}")


async def new_session(browser, index: int, role: str, round_number: int) -> Session:
    context = await browser.new_context(viewport=VIEWPORT)
    page = await context.new_page()
    page.set_default_timeout(ACTION_MS)
    session = Session(index, role, page, label=f"round {round_number} session {index} ({role})")
    page.on("pageerror", lambda error: session.page_errors.append(str(error)[:200]))
    return session


async def wait_idle(page) -> None:
    """Until Streamlit is connected and no script run is going on."""
    await page.wait_for_function(SCRIPT_IDLE_JS, timeout=ACTION_MS)


async def check_page(session: Session, where: str) -> None:
    for problem in await session.page.evaluate(ERRORS_JS):
        session.fail(f"{where}: {problem}")


async def open_home(session: Session, url: str) -> None:
    start = time.perf_counter()
    await session.page.goto(url, timeout=ACTION_MS)
    await session.page.locator("h1").filter(has_text=PAGE_TITLES["Home"]).first.wait_for()
    await wait_idle(session.page)
    session.load_seconds.append(time.perf_counter() - start)
    session.pages_visited += 1
    await check_page(session, "Home")


async def open_page(session: Session, name: str) -> None:
    """Go to a page through the sidebar (a link click keeps the session; a new URL would not),
    timing it until the page's title is shown and its script run is over.

    A click that leaves the page where it was for NAVIGATION_SECONDS is clicked again, as a
    user would, and counted (`clicks_repeated`, in the table): under load, a late update from
    the Draw page's canvas can win over the click (Streamlit keeps the newer of two rerun
    requests), and the Draw page is drawn again instead of the one asked for.
    """
    from playwright.async_api import TimeoutError as PageTimeout

    page = session.page
    start = time.perf_counter()
    link = page.locator("[data-testid=stSidebarNav]").get_by_role("link", name=name)
    title = page.locator("h1").filter(has_text=PAGE_TITLES[name]).first
    await link.click()
    try:
        await title.wait_for(timeout=NAVIGATION_SECONDS * 1000)
    except PageTimeout:
        session.clicks_repeated += 1
        say(f"{session.label}: the click on {name} left the page where it was; clicking again")
        await link.click()
        await title.wait_for()
    if name == "Draw":
        await page.locator(CANVAS).wait_for()
    await wait_idle(page)
    session.load_seconds.append(time.perf_counter() - start)
    session.pages_visited += 1
    await check_page(session, name)


async def choose(page, label: str, option: str) -> None:
    """Pick `option` in the selectbox labelled `label`, by typing it (see screenshots.py)."""
    await page.locator("[data-testid=stSelectbox]").filter(has_text=label).first.click()
    await page.keyboard.type(option)
    await page.keyboard.press("Enter")
    await wait_idle(page)


async def picker_options(page) -> list[str]:
    """The labels the model picker offers (the list is in the page only while it is open)."""
    box = page.locator("[data-testid=stSelectbox]").filter(has_text="Model").first
    await box.click()
    options = page.get_by_role("option")
    await options.first.wait_for()
    labels = [text.strip() for text in await options.all_inner_texts()]
    await page.keyboard.press("Escape")
    await options.first.wait_for(state="detached")
    return labels


async def save_failure_screenshot(session: Session) -> None:
    """The page as it was when this session failed: test-output/loadtest-failures/*.png."""
    folder = OUTPUT / "loadtest-failures"
    folder.mkdir(parents=True, exist_ok=True)
    name = re.sub(r"[^a-z0-9]+", "_", session.label.lower()).strip("_") + ".png"
    with contextlib.suppress(Exception):
        await session.page.screenshot(path=str(folder / name), full_page=True, timeout=30_000)
