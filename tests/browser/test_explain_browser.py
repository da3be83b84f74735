"""The views of issue 14 in Chromium: the invariance explorer driven by a real slider, saliency,
what each map looks for, and the Robustness page with two models side by side."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.browser

CHARTS_DRAWN = """(count) => [...document.querySelectorAll('.js-plotly-plot')]
    .filter((plot) => plot._fullLayout).length >= count"""


# The first visit computes what is then cached per model (robustness curves of two nets, the
# top digits over 10,000 test digits): seconds on a quiet machine, minutes on a busy one.
COMPUTE_MS = 600_000


def metric_values(page) -> list[str]:
    return page.locator("[data-testid=stMetricValue]").all_inner_texts()


def choose_radio(page, key: str, option: str) -> None:
    """Click the option of the radio with widget key `key` (its label, as a user would)."""
    label = page.locator(f".st-key-{key} label").filter(has_text=option).first
    label.click()
    page.locator(f".st-key-{key} input[type=radio]:checked").wait_for(state="attached")


def open_inside_view(page, app_url, wait_for_app, view: str, shows: str):
    """Open a view of the Inside page and wait (as long as a first computation takes) for
    the text `shows`."""
    from playwright.sync_api import expect

    page.goto(f"{app_url}/inside")
    wait_for_app(page)
    choose_radio(page, "inside_view", view)
    expect(page.get_by_text(shows).first).to_be_visible(timeout=COMPUTE_MS)
    wait_for_app(page, timeout_ms=COMPUTE_MS)


def test_the_invariance_explorer_follows_a_slider(page, app_url, wait_for_app, screenshot):
    from playwright.sync_api import expect

    open_inside_view(
        page, app_url, wait_for_app, "Move, turn, thicken (invariance)", "still read it?"
    )
    page.wait_for_function(CHARTS_DRAWN, arg=3)
    distorted_before = page.locator("[data-testid=stImage] img").nth(2).get_attribute("src")
    # Streamlit's slider is an <input type=range> named by its label: the keyboard moves it.
    thumb = page.get_by_role("slider", name="Rotation (degrees, anticlockwise)")
    thumb.focus()
    for _ in range(9):  # 9 steps of 5 degrees
        thumb.press("ArrowRight")
    expect(thumb).to_have_value("45")
    # The explorer reruns and shows the turned digit.
    page.wait_for_function(
        "(before) => document.querySelectorAll('[data-testid=stImage] img')[2]?.src !== before",
        arg=distorted_before,
        timeout=COMPUTE_MS,
    )
    wait_for_app(page)
    assert len(metric_values(page)) == 2  # the page's prediction and the explorer's
    screenshot(page, "invariance.png")


def test_saliency_and_top_digits_are_drawn(page, app_url, wait_for_app, screenshot):
    from playwright.sync_api import expect

    open_inside_view(
        page, app_url, wait_for_app, "Why this answer? (saliency)", "With the square centred on"
    )
    page.wait_for_function(CHARTS_DRAWN, arg=1)
    screenshot(page, "saliency.png")

    choose_radio(page, "inside_view", "What each map looks for")
    expect(page.get_by_text("that excite it most")).to_be_visible(timeout=COMPUTE_MS)
    wait_for_app(page, timeout_ms=COMPUTE_MS)
    page.wait_for_function(CHARTS_DRAWN, arg=1)
    choose_radio(page, "inside_top_layer", "C3")
    expect(page.get_by_text("14x14 patch of the input")).to_be_visible(timeout=COMPUTE_MS)
    wait_for_app(page)
    screenshot(page, "top_digits.png")


def test_the_robustness_page_draws_two_models(page, app_url, wait_for_app, screenshot):
    from playwright.sync_api import expect

    page.goto(f"{app_url}/robustness")
    wait_for_app(page, timeout_ms=COMPUTE_MS)
    expect(page.get_by_role("heading", name="How robust is it?")).to_be_visible()
    # The curves drawn as SVG and the example digits as a picture: no Plotly.js (issue 22).
    curves = page.locator(".st-key-robustness_curves .static-figure[role=img]")
    expect(curves).to_be_visible()
    expect(page.locator(".st-key-robustness_examples img")).to_be_visible()
    legend = curves.locator(".legend .ff-key").all_text_contents()
    assert legend == ["Shipped: modern LeNet-5 (ReLU)", "Shipped: faithful LeNet-5 (1998)"]
    assert curves.locator("polyline").count() == 2 * 6  # a line per model and transform
    assert page.locator("[data-testid=stPlotlyChart]").count() == 0
    screenshot(page, "robustness.png")
