"""preprocess_digit: canvas drawings and photos come out laid out like MNIST digits."""

from __future__ import annotations

import io

import numpy as np
import pytest
import torch
from PIL import Image, ImageDraw

from lenet_viz.data import datasets as data
from lenet_viz.data.images import load_image
from lenet_viz.data.preprocess import (
    MNIST_STROKE_WIDTH,
    ink_map,
    prepare_for_model,
    preprocess_digit,
)
from lenet_viz.nets.config import ModelConfig

CANVAS = 280
SEVEN_NEAR_CORNER = [(20, 20), (110, 20), (60, 120)]  # a "7" in the top-left corner
ONE_NEAR_CORNER = [(230, 150), (250, 265)]  # a slanted "1" in the bottom-right corner


def draw_strokes(points, mode="L", ink=255, background=0, width=18) -> Image.Image:
    """A 280x280 canvas with one polyline, not anti-aliased (so polarity flips are exact)."""
    image = Image.new(mode, (CANVAS, CANVAS), background)
    ImageDraw.Draw(image).line(points, fill=ink, width=width, joint="curve")
    return image


def canvas_rgba(points, stroke_rgb=(255, 255, 255)) -> np.ndarray:
    """What the Draw page's pad returns: RGBA, transparent background, ink in alpha."""
    image = draw_strokes(points, "RGBA", (*stroke_rgb, 255), (0, 0, 0, 0))
    return np.asarray(image)


def centre_of_mass(image: np.ndarray) -> tuple[float, float]:
    total = image.sum()
    rows, cols = np.arange(image.shape[0]), np.arange(image.shape[1])
    return float(image.sum(1) @ rows / total), float(image.sum(0) @ cols / total)


def ink_extent(image: np.ndarray, level: float = 0.05) -> tuple[int, int]:
    rows = np.flatnonzero((image > level).any(1))
    cols = np.flatnonzero((image > level).any(0))
    return int(rows[-1] - rows[0] + 1), int(cols[-1] - cols[0] + 1)


def real_mnist_digits(per_class: int) -> np.ndarray:
    """Real MNIST test digits, uint8 (10 * per_class, 28, 28), from the samples kept in the repo."""
    samples = data.sample_digits()
    picks = [np.flatnonzero(samples.labels.numpy() == label)[:per_class] for label in range(10)]
    return samples.images.numpy()[np.concatenate(picks)]


@pytest.mark.parametrize("points", [SEVEN_NEAR_CORNER, ONE_NEAR_CORNER], ids=["seven", "one"])
def test_off_centre_stroke_is_centred_and_scaled_to_20_px(points):
    result = preprocess_digit(canvas_rgba(points))

    assert not result.blank
    row, col = centre_of_mass(result.centered)
    assert abs(row - 14) <= 1 and abs(col - 14) <= 1
    assert max(result.scaled20.shape) == 20
    assert max(ink_extent(result.centered)) in (19, 20)
    assert result.centered.max() == pytest.approx(1.0)


def test_thin_tall_digit_keeps_its_aspect_ratio():
    line = canvas_rgba([(140, 20), (140, 260)])  # a vertical "1"
    result = preprocess_digit(line, stroke_width=None)  # the drawing's own stroke width

    height, width = result.scaled20.shape
    assert height == 20
    assert width == round(20 * 18 / 258)  # an 18 px stroke over a 258 px tall line
    # By default the stroke is first made MNIST-wide (about 2 px at 28x28): still one column
    # or two, never wider than MNIST's own 1s.
    height, width = preprocess_digit(line).scaled20.shape
    assert height == 20 and 1 <= width <= 2


def test_blank_canvas_is_blank_and_never_classified():
    result = preprocess_digit(np.zeros((CANVAS, CANVAS, 4), dtype=np.uint8))

    assert result.blank
    assert result.network_input is None
    assert "no ink" in result.reason
    assert not result.centered.any()


def test_a_single_dot_is_blank():
    canvas = Image.new("RGBA", (CANVAS, CANVAS), (0, 0, 0, 0))
    ImageDraw.Draw(canvas).ellipse((100, 100, 118, 118), fill=(255, 255, 255, 255))

    result = preprocess_digit(np.asarray(canvas))

    assert result.blank
    assert result.network_input is None
    assert "speck" in result.reason
    assert result.bbox == (100, 100, 119, 119)


def test_dark_on_light_gives_the_same_digit_as_light_on_dark():
    light_on_dark = draw_strokes(SEVEN_NEAR_CORNER, "L", 255, 0)
    dark_on_light = draw_strokes(SEVEN_NEAR_CORNER, "RGB", (0, 0, 0), (255, 255, 255))

    expected = preprocess_digit(light_on_dark).centered
    np.testing.assert_allclose(preprocess_digit(dark_on_light).centered, expected, atol=1e-6)
    assert centre_of_mass(expected) == pytest.approx((14, 14), abs=1)


def test_alpha_ink_matches_luminance_ink():
    # Black strokes on a transparent black background: only the alpha channel shows the digit.
    alpha_ink = canvas_rgba(SEVEN_NEAR_CORNER, stroke_rgb=(0, 0, 0))
    luminance_ink = np.asarray(draw_strokes(SEVEN_NEAR_CORNER, "L", 255, 0))

    np.testing.assert_array_equal(ink_map(alpha_ink), ink_map(luminance_ink))
    np.testing.assert_allclose(
        preprocess_digit(alpha_ink).centered, preprocess_digit(luminance_ink).centered, atol=1e-6
    )


def test_grey_photo_background_becomes_zero_and_faint_ink_full():
    photo = draw_strokes(SEVEN_NEAR_CORNER, "L", ink=25, background=150)  # pencil on grey paper
    clean = draw_strokes(SEVEN_NEAR_CORNER, "L", ink=255, background=0)

    ink = ink_map(photo)
    assert ink[0, 0] == 0.0 and ink[-1, -1] == 0.0
    assert ink.max() == pytest.approx((150 - 25) / 150, abs=1e-6)
    np.testing.assert_allclose(
        preprocess_digit(photo).centered, preprocess_digit(clean).centered, atol=1e-5
    )


def test_pil_uint8_and_float_inputs_agree():
    image = draw_strokes(SEVEN_NEAR_CORNER, "L", 255, 0)
    as_uint8 = np.asarray(image)
    expected = preprocess_digit(as_uint8).centered

    np.testing.assert_allclose(preprocess_digit(image).centered, expected, atol=1e-6)
    float_input = as_uint8.astype(np.float32) / 255
    np.testing.assert_allclose(preprocess_digit(float_input).centered, expected, atol=1e-5)
    rgb = np.repeat(as_uint8[:, :, None], 3, axis=2)
    np.testing.assert_allclose(preprocess_digit(rgb).centered, expected, atol=1e-5)


def best_correlation_within_one_pixel(image: np.ndarray, reference: np.ndarray) -> float:
    """Correlation after the best shift by at most 1 px: the centring shift is whole pixels, so
    a centre of mass that sits near x.5 may round the other way than it did for MNIST."""
    return max(
        np.corrcoef(np.roll(image, (dy, dx), axis=(0, 1)).ravel(), reference.ravel())[0, 1]
        for dy in (-1, 0, 1)
        for dx in (-1, 0, 1)
    )


@pytest.mark.parametrize(
    "stroke_width, lowest, median",
    [
        (None, 0.85, 0.95),  # the layout alone: crop, 20 px box, centre of mass
        # The default also makes every stroke MNIST's median width: a digit written thicker or
        # thinner than that changes on purpose, so it matches its original a little less.
        (MNIST_STROKE_WIDTH, 0.8, 0.93),
    ],
)
def test_upscaled_mnist_digits_come_back_close_to_the_original(stroke_width, lowest, median):
    correlations = []
    for index, digit in enumerate(real_mnist_digits(per_class=5)):
        big = Image.fromarray(digit).resize((CANVAS, CANVAS), Image.Resampling.BILINEAR)

        result = preprocess_digit(big, stroke_width=stroke_width)

        assert centre_of_mass(result.centered) == pytest.approx((14, 14), abs=0.5), index
        correlation = best_correlation_within_one_pixel(result.centered, digit / 255)
        assert correlation > lowest, f"MNIST test digit {index}: correlation {correlation:.3f}"
        correlations.append(correlation)
    assert np.median(correlations) > median


@pytest.mark.parametrize("resize", ["pad", "scale"])
@pytest.mark.parametrize("scaling", ["mnist", "paper"])
def test_network_input_is_the_training_transform_of_the_centred_digit(resize, scaling):
    result = preprocess_digit(canvas_rgba(SEVEN_NEAR_CORNER), resize=resize, scaling=scaling)

    expected = data.to_network_input(torch.from_numpy(result.centered)[None], resize, scaling)
    assert result.network_input.shape == (1, 1, 32, 32)
    assert result.network_input.dtype == torch.float32
    torch.testing.assert_close(result.network_input, expected)
    unscaled = data.to_network_input(torch.from_numpy(result.centered)[None], resize, "paper")
    input32 = (unscaled[0, 0] - data.PAPER_BACKGROUND) / (data.PAPER_INK - data.PAPER_BACKGROUND)
    np.testing.assert_allclose(result.steps()["32x32 input"], input32.numpy(), atol=1e-5)


def test_prepare_for_model_uses_the_model_resize_and_scaling():
    canvas = canvas_rgba(SEVEN_NEAR_CORNER)
    config = ModelConfig(arch="faithful", resize="scale")

    result = prepare_for_model(canvas, config)

    expected = preprocess_digit(canvas, resize="scale", scaling="paper").network_input
    torch.testing.assert_close(result.network_input, expected)
    assert result.network_input.min().item() == pytest.approx(data.PAPER_BACKGROUND)


def test_steps_are_ordered_with_their_shapes():
    for canvas in (canvas_rgba(SEVEN_NEAR_CORNER), np.zeros((CANVAS, CANVAS, 4), np.uint8)):
        steps = preprocess_digit(canvas).steps()

        assert list(steps) == ["raw", "cropped", "28x28 centred", "32x32 input"]
        assert steps["raw"].shape == (CANVAS, CANVAS)
        assert steps["28x28 centred"].shape == (28, 28)
        assert steps["32x32 input"].shape == (32, 32)
        for image in steps.values():
            assert image.dtype == np.float32
            assert image.min() >= 0.0 and image.max() <= 1.0


def test_cropped_step_is_the_ink_bounding_box():
    canvas = canvas_rgba(SEVEN_NEAR_CORNER)
    result = preprocess_digit(canvas)

    top, left, bottom, right = result.bbox
    assert result.steps()["cropped"].shape == (bottom - top, right - left)
    ink_rows = np.flatnonzero(canvas[:, :, 3].any(axis=1))
    ink_cols = np.flatnonzero(canvas[:, :, 3].any(axis=0))
    assert (top, bottom) == (ink_rows[0], ink_rows[-1] + 1)
    assert (left, right) == (ink_cols[0], ink_cols[-1] + 1)


def test_bad_inputs_are_refused_with_a_clear_message():
    with pytest.raises(ValueError, match="shape"):
        preprocess_digit(np.zeros((10, 10, 5), dtype=np.uint8))
    with pytest.raises(ValueError, match="threshold"):
        preprocess_digit(np.zeros((10, 10), dtype=np.uint8), threshold=0)


def test_uploaded_dark_on_light_jpeg_matches_the_canvas_drawing():
    photo = draw_strokes(SEVEN_NEAR_CORNER, "RGB", (30, 30, 30), (235, 230, 220))  # ink on paper
    buffer = io.BytesIO()
    photo.save(buffer, "JPEG", quality=90)

    uploaded = preprocess_digit(load_image(buffer.getvalue(), name="seven.jpg"))
    drawn = preprocess_digit(canvas_rgba(SEVEN_NEAR_CORNER))

    assert not uploaded.blank
    correlation = np.corrcoef(uploaded.centered.ravel(), drawn.centered.ravel())[0, 1]
    assert correlation > 0.98
