"""Why this answer (lenet_viz.explain.saliency): the occlusion map on a 7 whose crossbar decides,
checked
against the occluded digits themselves, and the input gradient against finite differences."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image, ImageDraw

from lenet_viz.checkpoints.store import (
    DEFAULT_CHECKPOINT_NAMES,
    REPO_CHECKPOINT_DIR,
    load_checkpoint,
)
from lenet_viz.data.preprocess import prepare_for_model
from lenet_viz.explain.inside import inspect_digit, network_input
from lenet_viz.explain.saliency import input_gradient, occluded, occlusion_map, patch_bounds
from lenet_viz.nets.build import build_model
from lenet_viz.nets.config import ModelConfig

ERASE = 0.0  # a square of background: the ink under it is hidden
CROSSBAR_SQUARE = 12  # wide enough to hide most of the bar, too small to hide the stem


@pytest.fixture(scope="module")
def modern():
    path = REPO_CHECKPOINT_DIR / DEFAULT_CHECKPOINT_NAMES["modern"]
    if not path.is_file():
        pytest.skip("the shipped modern checkpoint is missing")
    return load_checkpoint(path).model


def drawn(strokes) -> np.ndarray:
    """Strokes on a 280x280 canvas (as the Draw page gets them) -> the 28x28 MNIST-style digit."""
    canvas = Image.new("L", (280, 280), 0)
    pen = ImageDraw.Draw(canvas)
    for points in strokes:
        pen.line(points, fill=255, width=22)
    return prepare_for_model(np.asarray(canvas), ModelConfig()).centered


BAR = [(45, 20), (236, 20)]
STEM = [(236, 20), (170, 140), (118, 265)]


def reads(model, image28) -> tuple[int, float]:
    result = inspect_digit(model, network_input(image28, model.config))
    return result.prediction, float(result.probabilities.max())


def test_hiding_the_crossbar_of_a_7_is_what_hurts_most(modern):
    seven = drawn([BAR, STEM])
    # The crossbar decides: with it the net reads 7, the stem alone it reads as a 1.
    assert reads(modern, seven)[0] == 7
    assert reads(modern, drawn([STEM]))[0] == 1
    ink_rows = np.nonzero(seven.max(axis=1) > 0.3)[0]
    bar_rows = range(ink_rows.min() - CROSSBAR_SQUARE // 2, ink_rows.min() + 4)

    found = occlusion_map(modern, seven, patch=CROSSBAR_SQUARE, fill=ERASE)
    assert found.target == 7
    row, col = found.worst_place()
    assert row in bar_rows, f"the worst place is row {row}, not on the crossbar"
    assert found.probability_drop[row, col] > 0.3
    assert found.predictions[row, col] == 1  # the crossbar hidden, a 1 is left
    # Hiding the lower half of the stem instead costs far less.
    lower_stem = found.probability_drop[ink_rows.max() - 6 :, :]
    assert lower_stem.max() < found.probability_drop[row, col] / 2


def test_each_value_of_the_map_is_the_occluded_digit_read_again(modern):
    seven = drawn([BAR, STEM])
    found = occlusion_map(modern, seven, patch=6)
    base = inspect_digit(modern, network_input(seven, modern.config)).probabilities[7]
    for row, col in ((0, 0), (8, 14), (20, 15), (27, 27)):
        hidden = occluded(seven, row, col, patch=6)
        top, left, bottom, right = patch_bounds(row, col, 6)
        assert np.all(hidden[top:bottom, left:right] == found.fill)
        after = inspect_digit(modern, network_input(hidden, modern.config))
        drop = base - after.probabilities[7]
        assert found.probability_drop[row, col] == pytest.approx(drop, abs=1e-5)
        assert found.predictions[row, col] == after.prediction
    # Far from the ink, hiding background changes nothing (but float32 rounding: the same image
    # read in another batch can differ by a few 1e-6)
    assert abs(found.probability_drop[0, 0]) < 1e-5


def test_the_input_gradient_is_the_slope_of_the_score():
    model = build_model(ModelConfig(arch="faithful"), seed=0).eval()  # smooth: scaled tanh
    digit = drawn([BAR, STEM]).astype(np.float32)
    found = input_gradient(model, digit, target=7)
    assert found.gradient.shape == (28, 28)

    def score(image):
        with torch.no_grad():
            return -float(model(network_input(image, model.config))[0, 7])  # minus the penalty

    step = 1e-2
    for row, col in ((10, 10), (14, 16), (20, 12)):
        up, down = digit.copy(), digit.copy()
        up[row, col] += step
        down[row, col] -= step
        slope = (score(up) - score(down)) / (2 * step)
        assert found.gradient[row, col] == pytest.approx(slope, rel=0.05, abs=1e-3)


def test_a_square_larger_than_the_digit_is_refused(modern):
    with pytest.raises(ValueError, match="patch"):
        occlusion_map(modern, np.zeros((28, 28)), patch=40)
