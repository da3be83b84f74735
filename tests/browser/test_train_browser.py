"""Home, Train and Compare in a real browser: start runs with the mouse, see the Plotly curves.

Uses the fixtures of conftest.py (the served app, Chromium, screenshots). Train uses the
"Quick" size (2,000 training digits); Compare the "Medium" one (10,000), the least with which
the notebook's experiment shows ReLU climbing while sigmoid stays stuck.
"""

from __future__ import annotations

from conftest import TEST_ACCURACIES  # shared with scripts/screenshots.py

QUICK = "Quick: 2,000 images"
MEDIUM = "Medium: 10,000 images"  # enough batches for ReLU to climb while sigmoid stays stuck
TALL = {"width": 1400, "height": 1300}  # room for the selectbox's list below the settings
RUN_MS = 600_000  # a run on a loaded shared machine (seconds on a quiet one)

# True when some chart on the page has drawn a curve of at least `points` points: while the
# run goes on, an SVG line (ui.charts.live_chart) of that many points; once it has ended, a
# Plotly chart (the figures send numpy arrays, typed arrays in the JSON, so read Plotly's
# decoded `_fullData`).
CURVES_DRAWN = """(points) => [...document.querySelectorAll('.static-figure polyline')].some(
    (line) => line.getAttribute('points').trim().split(/\\s+/).length >= points)
    || [...document.querySelectorAll('.js-plotly-plot')].some(
    (plot) => (plot._fullData || []).some((trace) => trace.x && trace.x.length >= points))"""


def choose(page, label: str, option: str) -> None:
    """Pick `option` in the selectbox labelled `label`, by typing it: a list opened near the
    bottom of the window can place its options where a click cannot reach them."""
    page.locator("[data-testid=stSelectbox]").filter(has_text=label).click()
    page.keyboard.type(option)
    page.keyboard.press("Enter")


def sidebar_pages(page) -> str:
    return page.locator("[data-testid=stSidebarNav]").inner_text()


def test_home_shows_the_architecture(app_url, page, wait_for_app, screenshot):
    page.goto(app_url)
    wait_for_app(page)
    page.get_by_text("The architecture").wait_for()
    page.locator(".st-key-home_diagram_modern svg[role=img]").wait_for()  # the diagram, as SVG
    nav = sidebar_pages(page)
    titles = ("Home", "Train", "Compare", "Draw", "Inside LeNet-5", "Robustness", "Class board")
    for title in titles:
        assert title in nav
    assert "common" not in nav  # app.py's navigation, not the pages/ folder listing
    links = page.locator("[data-testid=stPageLink]")
    links.nth(len(titles) - 1).wait_for()  # drawn by the run after the first, on a fresh server
    assert links.count() == len(titles)  # a link to each
    screenshot(page, "home.png")


def test_train_start_shows_live_curves_that_survive_a_page_visit(
    app_url, page, wait_for_app, screenshot
):
    page.set_viewport_size(TALL)
    page.goto(f"{app_url}/train")
    wait_for_app(page)
    choose(page, "Run size", QUICK)
    wait_for_app(page)
    page.get_by_role("button", name="Start").click()

    page.wait_for_function(CURVES_DRAWN, arg=3, timeout=RUN_MS)  # curves grow while training
    page.get_by_text("Iteration", exact=True).wait_for()

    # The run goes on while the user looks at another page, and is still there on return.
    page.locator("[data-testid=stSidebarNav]").get_by_role("link", name="Home").click()
    page.get_by_text("The architecture").wait_for()
    page.locator("[data-testid=stSidebarNav]").get_by_role("link", name="Train").click()
    page.wait_for_function(CURVES_DRAWN, arg=3)

    page.get_by_role("heading", name="Results").wait_for(timeout=RUN_MS)
    page.get_by_text("Confusion matrix").wait_for()
    page.get_by_role("button", name="Save", exact=True).wait_for()
    wait_for_app(page)
    screenshot(page, "train.png")


def test_compare_notebook_preset_grows_two_runs_together(app_url, page, wait_for_app, screenshot):
    page.set_viewport_size(TALL)
    page.goto(f"{app_url}/compare")
    wait_for_app(page)
    choose(page, "Run size", MEDIUM)
    wait_for_app(page)
    page.get_by_role("button", name="The notebook's experiment").click()

    page.wait_for_function(CURVES_DRAWN, arg=3, timeout=RUN_MS)
    page.get_by_text("Why sigmoid stalls").wait_for()
    # The summary's first column (test accuracy) is filled in once both runs have finished.
    accuracy = page.wait_for_function(TEST_ACCURACIES, timeout=RUN_MS).json_value()
    assert set(accuracy) == {"sigmoid", "relu"}
    assert accuracy["relu"] > accuracy["sigmoid"] + 30  # the notebook's point, in the table
    wait_for_app(page)
    legend = page.locator(".js-plotly-plot .legend").first.text_content()
    assert "sigmoid" in legend and "relu" in legend
    screenshot(page, "compare.png")
