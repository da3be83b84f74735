"""Every page passes axe-core's WCAG 2.1 A and AA rules with no critical or serious violation,
in English and in Chinese (`?lang=`); Start, Pause, Resume, Stop and Clear work from the keyboard.

axe-core is the npm package `make axe` installs into tools/node_modules (pinned in
tools/package.json); Playwright injects it into the served page and runs it there.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.browser.conftest import wait_for_app
from tests.browser.test_i18n_browser import a_class_with_runs, open_every_expander
from ui.navigation import PAGE_FILES

REPO = Path(__file__).resolve().parents[2]
AXE = REPO / "tools" / "node_modules" / "axe-core" / "axe.min.js"
WCAG_21_A_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
BLOCKING = ("critical", "serious")
FIRST_RUN_MS = 180_000  # a page's first run on a busy shared machine (Robustness computes curves)
# Every page of the app's navigation, by its URL path (each page's path is its PAGE_FILES name).
PAGES = {name: "" if name == "home" else name for name in PAGE_FILES}
LANGUAGES = ("en", "zh")

RUN_AXE = """async (tags) => {
    const results = await axe.run(document, {runOnly: {type: 'tag', values: tags}});
    return results.violations.map((v) => ({
        id: v.id, impact: v.impact, help: v.help,
        nodes: v.nodes.slice(0, 5).map((n) => n.target.join(' ') + ' | ' + n.failureSummary),
    }));
}"""
# Plotly draws its charts after the script run; axe should see them drawn.
CHARTS_SETTLED = """() => [...document.querySelectorAll('.js-plotly-plot')]
    .every((plot) => plot.querySelector('.main-svg'))"""


@pytest.fixture(scope="module")
def axe_source() -> str:
    if not AXE.is_file():
        pytest.skip(f"axe-core is not installed ({AXE.relative_to(REPO)}): run `make axe`")
    return str(AXE)


def blocking_violations(page, axe_source: str) -> list[dict]:
    page.add_script_tag(path=axe_source)
    violations = page.evaluate(RUN_AXE, WCAG_21_A_AA)
    return [v for v in violations if v["impact"] in BLOCKING]


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_page_passes_wcag_21_a_and_aa(app_url, browser, axe_source, lang):
    """Every page in one tab per language (one server; a page per test would cost minutes)."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, locale=lang)
    failures = {}
    try:
        page = context.new_page()
        page.set_default_timeout(90_000)
        for name, path in PAGES.items():
            page.goto(f"{app_url}/{path}?lang={lang}")
            wait_for_app(page, FIRST_RUN_MS)
            page.wait_for_function(CHARTS_SETTLED)
            found = blocking_violations(page, axe_source)
            if found:
                failures[name] = found
    finally:
        context.close()
    assert not failures, json.dumps(failures, indent=1, ensure_ascii=False)


@pytest.mark.parametrize("lang", LANGUAGES)
def test_a_class_board_with_runs_passes_wcag_21_a_and_aa(
    app_url, app_database, page, axe_source, lang
):
    """The board as its teacher sees it, with runs, the grid and every panel opened."""
    new = a_class_with_runs(app_database)
    page.goto(f"{app_url}/classroom?class={new.code}&teacher={new.teacher_token}&lang={lang}")
    wait_for_app(page, FIRST_RUN_MS)
    page.locator(".js-plotly-plot").first.wait_for()
    open_every_expander(page)
    page.wait_for_function(CHARTS_SETTLED)
    found = blocking_violations(page, axe_source)
    assert not found, json.dumps(found, indent=1, ensure_ascii=False)


# ------------------------------------------------------------------ the keyboard

CANVAS = "[data-testid=stBidiComponentIsolated] canvas.drawing-pad"


def page_button(page, name: str):
    """The page's button `name` (not the header's Stop, Streamlit's own while a script runs)."""
    return page.get_by_test_id("stMainBlockContainer").get_by_role("button", name=name, exact=True)


def press_with_keyboard(page, name: str) -> None:
    """Focus the button as Tab would (it must be in the tab order) and press Enter on it."""
    button = page_button(page, name)
    button.wait_for()
    page.wait_for_function("(b) => !b.disabled", arg=button.element_handle())
    assert button.evaluate("(b) => b.tabIndex") >= 0, f"{name} is not in the tab order"
    button.focus()
    assert button.evaluate("(b) => b === document.activeElement")
    page.keyboard.press("Enter")


def enabled(page, name: str) -> bool:
    return page_button(page, name).is_enabled()


def test_start_pause_resume_stop_and_clear_work_from_the_keyboard(app_url, page, wait_for_app):
    page.goto(f"{app_url}/train")
    wait_for_app(page, FIRST_RUN_MS)
    press_with_keyboard(page, "Start")
    page.wait_for_function(
        "() => [...document.querySelectorAll('button')].some("
        "(b) => b.innerText.trim().endsWith('Pause') && !b.disabled)"
    )
    press_with_keyboard(page, "Pause")
    page_button(page, "Resume").and_(page.locator("button:enabled")).wait_for()
    press_with_keyboard(page, "Resume")
    page_button(page, "Pause").and_(page.locator("button:enabled")).wait_for()
    press_with_keyboard(page, "Stop")
    page_button(page, "Start").and_(page.locator("button:enabled")).wait_for()
    wait_for_app(page)
    assert not enabled(page, "Pause") and not enabled(page, "Stop")

    page.goto(f"{app_url}/draw")
    wait_for_app(page)
    canvas = page.locator(CANVAS)
    box = canvas.bounding_box()
    page.mouse.move(box["x"] + 140, box["y"] + 40)
    page.mouse.down()
    page.mouse.move(box["x"] + 140, box["y"] + 240, steps=10)
    page.mouse.up()
    metric = page.locator("[data-testid=stMetric]").filter(has_text="Prediction")
    metric.wait_for()
    press_with_keyboard(page, "Clear")
    metric.wait_for(state="detached")
