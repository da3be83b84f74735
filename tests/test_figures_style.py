"""The run colours stay apart under colour-vision deficiency: simulated with Machado, Oliveira
and Fernandes (2009) at full severity, compared in CIELAB. And each run has its own dashes, for
what colour cannot do (in greyscale the blue and vermillion of runs 1 and 2 are close)."""

from __future__ import annotations

from itertools import combinations

import numpy as np
import pytest

from lenet_viz.figures.comparison import overlay_figure
from lenet_viz.figures.style import RUN_COLORS, RUN_DASHES
from lenet_viz.training.history import History

# Machado et al. 2009, Table 1, severity 1.0: linear RGB -> linear RGB as such a viewer sees it.
DEFICIENCIES = {
    "protanopia": [
        [0.152286, 1.052583, -0.204868],
        [0.114503, 0.786281, 0.099216],
        [-0.003882, -0.048116, 1.051998],
    ],
    "deuteranopia": [
        [0.367322, 0.860646, -0.227968],
        [0.280085, 0.672501, 0.047413],
        [-0.011820, 0.042940, 0.968881],
    ],
    "tritanopia": [
        [1.255528, -0.076749, -0.178779],
        [-0.078411, 0.930809, 0.147602],
        [0.004733, 0.691367, 0.303900],
    ],
}
MIN_DELTA_E = 15  # CIE76, between any two of Compare's runs; about 2.3 is just noticeable
MIN_DELTA_E_NOTEBOOK = 50  # runs 1 and 2: the notebook's sigmoid and ReLU
COMPARED_RUNS = 4  # Compare's runs


def linear_rgb(hex_color: str) -> np.ndarray:
    srgb = np.array([int(hex_color[i : i + 2], 16) for i in (1, 3, 5)]) / 255
    return np.where(srgb <= 0.04045, srgb / 12.92, ((srgb + 0.055) / 1.055) ** 2.4)


def lab(linear: np.ndarray) -> np.ndarray:
    """CIELAB (D65) of a linear RGB colour."""
    to_xyz = np.array(
        [[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722], [0.0193, 0.1192, 0.9505]]
    )
    xyz = to_xyz @ np.clip(linear, 0, 1) / np.array([0.95047, 1.0, 1.08883])
    f = np.where(xyz > (6 / 29) ** 3, np.cbrt(xyz), xyz / (3 * (6 / 29) ** 2) + 4 / 29)
    return np.array([116 * f[1] - 16, 500 * (f[0] - f[1]), 200 * (f[1] - f[2])])


def seen(hex_color: str, deficiency: str) -> np.ndarray:
    return lab(np.array(DEFICIENCIES[deficiency]) @ linear_rgb(hex_color))


@pytest.mark.parametrize("deficiency", DEFICIENCIES)
def test_the_compared_runs_colours_stay_apart(deficiency):
    sigmoid, relu = RUN_COLORS[:2]
    assert np.linalg.norm(seen(sigmoid, deficiency) - seen(relu, deficiency)) >= (
        MIN_DELTA_E_NOTEBOOK
    )
    for first, second in combinations(RUN_COLORS[:COMPARED_RUNS], 2):
        distance = np.linalg.norm(seen(first, deficiency) - seen(second, deficiency))
        assert distance >= MIN_DELTA_E, (first, second, deficiency, distance)


def test_sigmoid_and_relu_are_not_told_apart_by_colour_alone():
    history = History(loss=[2.3, 2.0, 1.5], accuracy=[0.1, 0.3, 0.5])
    history.iteration, history.epoch_float = [1, 2, 3], [0.1, 0.2, 0.3]
    figure = overlay_figure([("sigmoid", history), ("relu", history)])
    dashes = {trace.name: trace.line.dash for trace in figure.data if trace.showlegend}
    assert dashes == {"sigmoid": RUN_DASHES[0], "relu": RUN_DASHES[1]}
    assert RUN_DASHES[0] != RUN_DASHES[1]


def test_a_chart_is_named_by_its_titles_for_screen_readers():
    from ui.charts import chart_alt

    history = History(loss=[2.3, 2.0], accuracy=[0.1, 0.3])
    history.iteration, history.epoch_float = [1, 2], [0.1, 0.2]
    figure = overlay_figure([("relu", history)])
    assert chart_alt(figure) == "Loss (smoothed) · Batch accuracy (%, smoothed)"
    figure.update_layout(title_text="<b>Two</b> runs")
    assert chart_alt(figure) == "Two runs"


def test_the_small_labels_are_large_enough_to_read():
    """Issue 23: the Robustness strip's strengths and the live panel's probability labels were
    too small to read (10 px, and 13 px in a picture the page shrinks). Every text of the strip
    is 13 px or more; the bars' picture writes its labels at 17 px."""
    from lenet_viz.figures.explain import digit_strip_figure
    from lenet_viz.figures.replay import BAR_FONT_SIZE, BARS_SIZE

    digits = np.zeros((3, 28, 28), dtype=np.float32)
    strip = digit_strip_figure([("rotation", digits, ["-30°", "0°", "30°"])])
    assert min(note.font.size for note in strip.layout.annotations) >= 13
    assert BAR_FONT_SIZE >= 16 and BARS_SIZE[0] / 10 >= BAR_FONT_SIZE  # a digit fits its slot
