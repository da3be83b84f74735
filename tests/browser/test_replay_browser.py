"""The replay in a real browser: after the notebook's experiment on Compare, moving the slider
with the keyboard takes both runs' kernels, maps, predictions and the loss-curve marker back to
the initial weights (ui/runs/replay_panel.py)."""

from __future__ import annotations

TINY = "Tiny: 500 images"  # 16 batches per run: every iteration is a snapshot
TALL = {"width": 1400, "height": 2600}
RUN_MS = 600_000
PANEL = ".st-key-compare_inside_panel"

# The x of the replay's marker (the loss chart's dotted vertical line).
MARKER_X = """(panel) => {
    const plot = document.querySelector(panel + ' .js-plotly-plot');
    return plot && plot._fullLayout && plot._fullLayout.shapes.length
        ? plot._fullLayout.shapes[0].x0 : null;
}"""
KERNEL_SOURCES = """(panel) => [...document.querySelectorAll(panel + ' img')].map((i) => i.src)"""


def choose(page, label: str, option: str) -> None:
    page.locator("[data-testid=stSelectbox]").filter(has_text=label).click()
    page.keyboard.type(option)
    page.keyboard.press("Enter")


def test_the_replay_slider_moves_both_runs_back_to_the_start(
    app_url, page, wait_for_app, screenshot
):
    page.set_viewport_size(TALL)
    page.goto(f"{app_url}/compare?preset=notebook")  # its settings, at a size quick for a test
    wait_for_app(page)
    choose(page, "Run size", TINY)
    wait_for_app(page)
    page.get_by_role("button", name="Start all runs").click()
    panel = page.locator(PANEL)
    panel.get_by_text("Inside the net while it learns").wait_for(timeout=RUN_MS)

    thumb = page.locator(".st-key-compare_replay_stop input[type=range]")
    thumb.wait_for(state="attached", timeout=RUN_MS)  # once both runs have finished
    wait_for_app(page)
    panel.locator(".js-plotly-plot").scroll_into_view_if_needed()
    text = panel.inner_text()
    assert "sigmoid · iteration 16 · epoch 1.00" in text
    assert "relu · iteration 16 · epoch 1.00" in text
    page.wait_for_function(f"(panel) => ({MARKER_X})(panel) === 16", arg=PANEL)
    pictures_at_end = page.evaluate(KERNEL_SOURCES, PANEL)

    thumb.focus()
    page.keyboard.press("Home")  # the first snapshot: the initial weights
    page.wait_for_function(
        "(panel) => document.querySelector(panel).innerText.includes('iteration 0 ·')",
        arg=PANEL,
    )
    wait_for_app(page)
    text = panel.inner_text()
    assert "sigmoid · iteration 0 · epoch 0.00" in text
    assert "relu · iteration 0 · epoch 0.00" in text  # one slider moves both runs
    assert "iteration 0 (epoch 0.00)" in text  # the slider's own label
    page.wait_for_function(f"(panel) => ({MARKER_X})(panel) === 0", arg=PANEL)
    assert page.evaluate(KERNEL_SOURCES, PANEL) != pictures_at_end  # new pictures

    page.keyboard.press("ArrowRight")  # one snapshot further
    page.wait_for_function(
        "(panel) => document.querySelector(panel).innerText.includes('iteration 1 ·')",
        arg=PANEL,
    )
    wait_for_app(page)
    screenshot(page, "replay-slider.png")
