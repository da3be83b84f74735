"""Stroke-width normalisation: a drawing's strokes reach the net as wide as MNIST's."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageDraw

from lenet_viz.data import datasets as data
from lenet_viz.data.preprocess import (
    MNIST_STROKE_WIDTH,
    estimate_stroke_width,
    normalize_stroke_width,
    preprocess_digit,
)


def width_at_28(centered: np.ndarray) -> float:
    """The stroke width of a 28x28 digit, measured 10x enlarged (as MNIST_STROKE_WIDTH was)."""
    big = Image.fromarray(centered.astype(np.float32)).resize((280, 280), Image.Resampling.BILINEAR)
    return estimate_stroke_width(np.asarray(big)) / 10


def canvas_seven(pen: int, size: int) -> np.ndarray:
    """A 7 of height `size` drawn with a `pen`-wide stroke, as the canvas returns it (RGBA)."""
    image = Image.new("RGBA", (280, 280), (0, 0, 0, 0))
    top, left = 40, 60
    points = [(left, top), (left + size * 0.6, top), (left + size * 0.25, top + size)]
    ImageDraw.Draw(image).line(points, fill=(0, 0, 0, 255), width=pen, joint="curve")
    return np.asarray(image)


@pytest.mark.parametrize("width", [3, 8, 21])
def test_the_width_of_a_straight_bar_is_measured(width):
    ink = np.zeros((200, 200), dtype=np.float32)
    ink[20:180, 100 : 100 + width] = 1.0
    assert estimate_stroke_width(ink) == pytest.approx(width, rel=0.12)
    assert estimate_stroke_width(np.zeros((5, 5))) == 0.0


@pytest.mark.parametrize(("pen", "size"), [(24, 100), (14, 220), (20, 160), (6, 200)])
def test_thick_and_thin_pens_come_out_mnist_wide(pen, size):
    """A small 7 with a fat pen would be 5 px wide at 28x28 without the normalisation."""
    drawing = canvas_seven(pen, size)
    normalised = width_at_28(preprocess_digit(drawing).centered)
    assert normalised == pytest.approx(MNIST_STROKE_WIDTH, abs=0.5)
    if pen * 20 / size > 3.5:
        assert width_at_28(preprocess_digit(drawing, stroke_width=None).centered) > 3.0


def test_mnist_digits_keep_their_shape_and_their_median_width_is_the_target():
    samples = data.sample_digits()
    widths = [width_at_28(image.numpy() / 255.0) for image in samples.images[:200]]
    assert np.median(widths) == pytest.approx(MNIST_STROKE_WIDTH, abs=0.2)


def test_normalising_a_crop_keeps_it_whole_and_in_range():
    crop = np.zeros((120, 60), dtype=np.float32)
    crop[:, 20:45] = 1.0  # a 25 px wide "1" of height 120: far too thick
    thinner = normalize_stroke_width(crop)
    assert thinner.max() == pytest.approx(1.0) and thinner.min() >= 0.0
    assert thinner.shape[1] < crop.shape[1] and thinner.shape[0] <= crop.shape[0]
    thin = np.zeros((120, 60), dtype=np.float32)
    thin[:, 30:32] = 1.0  # 2 px wide: thickened
    assert normalize_stroke_width(thin).shape[1] > 2
    with pytest.raises(ValueError):
        normalize_stroke_width(crop, width=0)
