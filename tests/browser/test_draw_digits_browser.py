"""Every digit, in two styles each, and one digit of every style of issue 24, drawn with mouse
strokes on the Draw page: all read right.

The strokes are the drawn-digit benchmark's own templates (`lenet_viz.data.drawn`), two styles per
digit (a 1 with and without a flag, a 7 with and without a crossbar, a closed and an open 4, a 9
with a straight and a curved tail, a 2 with and without a loop...), and the first test writer of
each of issue 24's styles (a 6 with a ball or a curled top, a slashed 0, a European 1...), in
that writer's stroke order and direction, drawn plainly at a size a person would, with the
page's own 20 px pen. Each drawing starts on a fresh page.
"""

from __future__ import annotations

import re

import pytest

from lenet_viz.data.drawn import BENCHMARK_TEMPLATES, template_paths, writers
from lenet_viz.data.drawn.styles import STYLE_FAMILIES

pytestmark = pytest.mark.browser

CANVAS = "[data-testid=stBidiComponentIsolated] canvas.drawing-pad"
STYLES_PER_DIGIT = 2
RUN_SECONDS = 90  # one script run on a busy machine (as conftest.py)


def two_styles_of_every_digit():
    picked = []
    for digit in range(10):
        picked += [t for t in BENCHMARK_TEMPLATES if t.label == digit][:STYLES_PER_DIGIT]
    return picked


def one_test_writer_of_every_style():
    test_writers = writers("test")
    return [next(w for w in test_writers if w.template.style == s) for s in STYLE_FAMILIES]


def draw_template(page, canvas, template, height: float, centre, slant: float) -> None:
    box = canvas.bounding_box()
    for path in template_paths(template, height=height, centre=centre, slant=slant):
        x0, y0 = path[0]
        page.mouse.move(box["x"] + x0, box["y"] + y0)
        page.mouse.down()
        for x, y in path[1:]:
            page.mouse.move(box["x"] + x, box["y"] + y, steps=2)
        page.mouse.up()


@pytest.mark.parametrize(
    "template",
    two_styles_of_every_digit(),
    ids=lambda t: t.style.replace(" ", "_").replace(",", ""),
)
def test_a_drawn_digit_is_read_right(page, app_url, wait_for_app, template):
    draw_and_expect_it_read_right(page, app_url, wait_for_app, template)


@pytest.mark.parametrize(
    "writer",
    one_test_writer_of_every_style(),
    ids=lambda w: w.template.style.replace(" ", "_").replace(",", ""),
)
def test_a_digit_in_each_new_style_is_read_right(page, app_url, wait_for_app, writer):
    draw_and_expect_it_read_right(page, app_url, wait_for_app, writer.template)


def draw_and_expect_it_read_right(page, app_url, wait_for_app, template) -> None:
    from playwright.sync_api import expect

    page.goto(f"{app_url}/draw")
    wait_for_app(page)
    canvas = page.locator(CANVAS)
    canvas.wait_for()
    # Alternate a large upright digit and a smaller, slanted one off-centre.
    large = template.label % 2 == 0
    height, centre, slant = (200, (140, 140), 0.0) if large else (150, (120, 150), 0.2)
    draw_template(page, canvas, template, height, centre, slant)
    wait_for_app(page)
    metric = page.locator("[data-testid=stMetric]").filter(has_text="Prediction")
    value = metric.locator("[data-testid=stMetricValue]")
    expect(value).to_have_text(str(template.label), timeout=RUN_SECONDS * 1000)
    expect(metric).to_contain_text(re.compile(r"\d+% sure"))  # sure, not "unsure"
