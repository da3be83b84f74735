"""Every screen a class uses, from a projector to a phone: 1920, 1280, 1024 (projector), 820
(tablet) and 390 px (phone) wide, with the sidebar open and closed.

- Draw: the whole 280-px canvas is visible and drawable (each corner of it is the canvas, not
  something over it or a clipped column), and after a stroke the prediction is in view (on a
  phone: drawn with touch events, in both languages).
- Train: Start is on the first screen, not below the twenty settings.
- Every page: nothing wider than the window (a table scrolls inside its own frame instead).

One tab per width walks the pages; the phone's sidebar, an overlay that covers the page when open,
is checked open (it fits, every page link in view) and the page behind it closed.
- No chart's toolbar covers a title or a legend on a phone (Train's live curves after a run).
"""

from __future__ import annotations

import pytest

from tests.browser.conftest import wait_for_app
from ui.navigation import PAGE_FILES

FIRST_RUN_MS = 300_000  # a page's first run on a busy shared machine (load 20-30 seen)
WIDTHS = (1920, 1280, 1024, 820, 390)
PHONE = 390
HEIGHTS = {PHONE: 844}  # an iPhone 12-15's CSS pixels; the others 800 high
PAGES = tuple("" if name == "home" else name for name in PAGE_FILES)  # every page's URL path
CANVAS = "[data-testid=stBidiComponentIsolated] canvas.drawing-pad"
SIZE_LABEL, START, RESULTS = (
    {"en": "Run size", "zh": "训练规模"},
    {"en": "Start", "zh": "开始"},
    {
        "en": "Results",
        "zh": "结果",
    },
)

# The page's width beyond the window: >0 means something sticks out (clipped or scrolls away).
OVERFLOW = """() => {
    const main = document.querySelector('[data-testid=stMain]');
    return Math.max(0, main.scrollWidth - main.clientWidth);
}"""
# Is each corner of the canvas (2 px in) the canvas itself, inside the window?
CANVAS_CORNERS_SHOWN = """(canvas) => {
    const box = canvas.getBoundingClientRect();
    const inside = (x, y) => x >= 0 && y >= 0 && x < innerWidth && y < innerHeight;
    const root = canvas.getRootNode();
    return [[box.left + 2, box.top + 2], [box.right - 2, box.top + 2],
            [box.left + 2, box.bottom - 2], [box.right - 2, box.bottom - 2]]
        .every(([x, y]) => inside(x, y) && root.elementFromPoint(x, y) === canvas);
}"""
# The prediction in the window: the metric, or its one line above the canvas.
PREDICTION_IN_VIEW = """() => [...document.querySelectorAll(
        '[data-testid=stMetric], .st-key-draw_compact [data-testid=stMarkdown]')]
    .filter((e) => e.offsetParent !== null && e.innerText.trim())
    .some((e) => { const b = e.getBoundingClientRect();
                   return b.top >= 0 && b.bottom <= innerHeight && b.height > 0; })"""
# Pairs of the Home diagram's labels whose boxes meet (its visible tab's); null until it is drawn.
DIAGRAM_LABELS_MEETING = """() => {
    const plot = [...document.querySelectorAll('[class*=st-key-home_diagram] svg')]
        .find((p) => p.checkVisibility());
    if (!plot || !plot.querySelector('text')) return null;
    const boxes = [...plot.querySelectorAll('text')]
        .filter((t) => t.textContent.trim()).map((t) => [t.textContent, t.getBoundingClientRect()]);
    const meet = (a, b) => a.left < b.right && b.left < a.right
        && a.top < b.bottom && b.top < a.bottom;
    const pairs = [];
    boxes.forEach(([ta, a], i) => boxes.slice(i + 1).forEach(([tb, b]) => {
        if (meet(a, b)) pairs.push([ta, tb]);
    }));
    return pairs;
}"""


def open_tab(browser, width: int, lang: str = "en"):
    context = browser.new_context(
        viewport={"width": width, "height": HEIGHTS.get(width, 800)},
        has_touch=width == PHONE,
        is_mobile=width == PHONE,
        locale=lang,
    )
    page = context.new_page()
    page.set_default_timeout(FIRST_RUN_MS)
    return context, page


# For each chart showing its toolbar (the pointer is on it): the title, subplot title or legend
# entry the toolbar covers, if any.
TOOLBAR_OVER_TEXT = """() => {
    const meet = (a, b) => a.left < b.right && b.left < a.right
        && a.top < b.bottom && b.top < a.bottom;
    const covered = [];
    for (const plot of document.querySelectorAll('.js-plotly-plot')) {
        const bar = plot.querySelector('.modebar');
        const box = bar && bar.getBoundingClientRect();
        if (!box || !box.width) continue;
        for (const text of plot.querySelectorAll('.gtitle, .annotation-text, .legend .traces')) {
            if (meet(box, text.getBoundingClientRect())) covered.push(text.textContent);
        }
    }
    return covered;
}"""
# The phone's open sidebar: wider than the window, or a page link not in view.
SIDEBAR_PROBLEMS = """() => {
    const bar = document.querySelector('[data-testid=stSidebarContent]');
    const problems = [];
    if (bar.scrollWidth > bar.clientWidth + 1) problems.push('sidebar scrolls sideways');
    if (bar.getBoundingClientRect().right > innerWidth + 1) problems.push('sidebar clipped');
    for (const link of document.querySelectorAll('[data-testid=stSidebarNavLink]')) {
        const b = link.getBoundingClientRect();
        const x = b.left + b.width / 2, y = b.top + b.height / 2;
        if (!(b.right <= innerWidth && b.bottom <= innerHeight && link.contains(
                document.elementFromPoint(x, y)))) problems.push('hidden: ' + link.innerText);
    }
    return problems;
}"""


def toolbars_over_text(page) -> list[str]:
    """Point at every chart of the page in turn (its toolbar shows) and collect what it covers."""
    covered = []
    for plot in page.locator(".js-plotly-plot").all():
        if not plot.is_visible():  # in a tab not chosen
            continue
        plot.scroll_into_view_if_needed()
        plot.hover()
        page.wait_for_timeout(300)
        covered += page.evaluate(TOOLBAR_OVER_TEXT)
    return covered


def set_sidebar(page, state: str) -> None:
    sidebar = page.locator("[data-testid=stSidebar]")
    is_open = (
        sidebar.get_attribute("aria-expanded") != "false"
        and sidebar.bounding_box()["width"] > 0
        and sidebar.bounding_box()["x"] >= 0
    )
    if state == "closed" and is_open:
        page.locator("[data-testid=stSidebarCollapseButton] button").click(force=True)
    elif state == "open" and not is_open:
        page.locator("[data-testid=stExpandSidebarButton]").click()
    else:
        return  # already so: nothing slides
    page.wait_for_timeout(600)  # the slide


def open_page(page, app_url: str, path: str, lang: str = "en") -> None:
    page.goto(f"{app_url}/{path}?lang={lang}")
    wait_for_app(page, FIRST_RUN_MS)


def stroke(page, canvas, touch: bool) -> None:
    """A vertical stroke down the middle of the canvas: a 1. On a phone, with a finger: touch
    input through the DevTools protocol, as a touchscreen gives it (the browser makes the
    pointer events, and would scroll the page instead if the pad let it)."""
    box = canvas.bounding_box()
    x, top, bottom = box["x"] + box["width"] / 2, box["y"] + 40, box["y"] + box["height"] - 40
    if not touch:
        page.mouse.move(x, top)
        page.mouse.down()
        page.mouse.move(x, bottom, steps=12)
        page.mouse.up()
        return
    devtools = page.context.new_cdp_session(page)
    for i in range(13):
        kind = "touchStart" if i == 0 else "touchMove"
        point = {"x": x, "y": top + (bottom - top) * i / 12}
        devtools.send("Input.dispatchTouchEvent", {"type": kind, "touchPoints": [point]})
    devtools.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})
    devtools.detach()
    assert canvas.bounding_box()["y"] == box["y"], "the finger scrolled the page"


def check_draw(page) -> None:
    """The whole canvas shown and drawable; after a stroke, the prediction in view."""
    canvas = page.locator(CANVAS)
    canvas.scroll_into_view_if_needed()
    assert canvas.bounding_box()["width"] == pytest.approx(280, abs=1)
    assert canvas.evaluate(CANVAS_CORNERS_SHOWN), "part of the canvas is hidden"
    stroke(page, canvas, touch=page.viewport_size["width"] == PHONE)
    page.wait_for_function(PREDICTION_IN_VIEW)
    page.get_by_role("button", name="Clear", exact=True).click()
    wait_for_app(page)


def check_phone_sidebar(page) -> None:
    """On a phone the open sidebar covers the page: it fits the window, and every page link in
    it is in view and takes a tap."""
    assert page.evaluate(SIDEBAR_PROBLEMS) == []


def check_start(page) -> None:
    """Start on the first screen, above the settings (not below twenty of them)."""
    start = page.get_by_role("button", name="Start", exact=True).bounding_box()
    assert start["y"] + start["height"] <= page.viewport_size["height"], "Start below the fold"


@pytest.mark.parametrize("width", WIDTHS)
def test_every_page_fits_this_screen_with_the_sidebar_open_and_closed(app_url, browser, width):
    """Each page at this width (sidebar open, or closed on the phone) is no wider than the
    window and the Home diagram's labels are apart; Train's Start and Draw's canvas and
    prediction are checked with the sidebar open, then closed."""
    context, page = open_tab(browser, width)
    states = ("closed",) if width == PHONE else ("open", "closed")
    try:
        overflowing = {}
        for path in PAGES:
            open_page(page, app_url, path)
            set_sidebar(page, states[0])
            if excess := page.evaluate(OVERFLOW):
                overflowing[path or "home"] = excess
            if not path:
                meeting = page.wait_for_function(DIAGRAM_LABELS_MEETING).json_value()
                assert meeting == []
        assert not overflowing, f"wider than the window by (px): {overflowing}"
        for path, check in (("train", check_start), ("draw", check_draw)):
            open_page(page, app_url, path)
            if width == PHONE:
                set_sidebar(page, "open")
                check_phone_sidebar(page)
            for state in states:
                set_sidebar(page, state)
                check(page)
    finally:
        context.close()


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_no_chart_toolbar_covers_a_title_or_legend_on_a_phone(app_url, browser, lang):
    """The charts' toolbar (Plotly's, shown while the pointer is on a chart) keeps to a strip
    of its own: on Train's live curves after a Tiny run, Home's diagram and Draw's chart."""
    context, page = open_tab(browser, PHONE, lang)
    try:
        open_page(page, app_url, "train", lang)
        size = {"en": "Tiny", "zh": "极小"}[lang]
        page.locator("[data-testid=stSelectbox]").filter(has_text=SIZE_LABEL[lang]).click()
        page.keyboard.type(size)
        page.keyboard.press("Enter")
        wait_for_app(page)
        page.get_by_role("button", name=START[lang], exact=True).click()
        page.get_by_role("heading", name=RESULTS[lang]).wait_for(timeout=FIRST_RUN_MS)
        covered = {"train": toolbars_over_text(page)}
        open_page(page, app_url, "", lang)
        page.wait_for_function(DIAGRAM_LABELS_MEETING)
        covered["home"] = toolbars_over_text(page)
        open_page(page, app_url, "draw", lang)
        stroke(page, page.locator(CANVAS), touch=True)
        page.wait_for_function(PREDICTION_IN_VIEW)
        covered["draw"] = toolbars_over_text(page)
        assert covered == {"train": [], "home": [], "draw": []}
    finally:
        context.close()


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_a_phone_draws_with_touch_and_sees_the_prediction(app_url, browser, lang):
    context, page = open_tab(browser, PHONE, lang)
    try:
        open_page(page, app_url, "draw", lang)
        canvas = page.locator(CANVAS)
        canvas.scroll_into_view_if_needed()
        stroke(page, canvas, touch=True)
        page.wait_for_function(PREDICTION_IN_VIEW)
        assert canvas.evaluate(CANVAS_CORNERS_SHOWN)  # and the canvas is still all there
    finally:
        context.close()
