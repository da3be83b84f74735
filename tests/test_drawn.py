"""The drawn-digit benchmark and the stroke digits for training: what they draw, how, and apart."""

from __future__ import annotations

import numpy as np
import pytest

from lenet_viz.data.drawn import (
    BENCHMARK_TEMPLATES,
    CANVAS_SIZE,
    NOT_DIGIT_TEMPLATES,
    PEN_RANGE,
    TRAINING_TEMPLATES,
    drawn_benchmark,
    not_digit_drawings,
    place_strokes,
    render_canvas,
    render_photo,
    synthesized_training_digits,
)
from lenet_viz.data.preprocess import preprocess_digit
from lenet_viz.explain.drawn_score import DrawnScore


def test_benchmark_and_training_templates_share_no_stroke():
    """Evaluation writers are kept out of training: every stroke of every benchmark template
    is a point list of its own, found nowhere in the training templates."""
    bench_strokes = {s for t in BENCHMARK_TEMPLATES for s in t.strokes}
    train_strokes = {s for t in TRAINING_TEMPLATES for s in t.strokes}
    assert not bench_strokes & train_strokes


def test_every_digit_and_the_styles_people_use_are_covered():
    for templates in (BENCHMARK_TEMPLATES, TRAINING_TEMPLATES):
        assert {t.label for t in templates} == set(range(10))
        assert all(sum(t.label == d for t in templates) >= 2 for d in range(10))
    styles = {t.style for t in BENCHMARK_TEMPLATES}
    for style in (
        "1 stick",
        "1 with flag",
        "1 with flag and base",
        "7 plain",
        "7 with crossbar",
        "4 open",
        "4 closed",
        "9 straight tail",
        "9 curved tail",
        "2 plain",
        "2 with loop",
    ):
        assert style in styles
    assert all(t.label == -1 for t in NOT_DIGIT_TEMPLATES)


def test_the_benchmark_is_deterministic_and_mixes_canvas_and_photos():
    first = drawn_benchmark(canvas_per_template=1, photos_per_template=1)
    again = drawn_benchmark(canvas_per_template=1, photos_per_template=1)
    assert len(first) == 2 * len(BENCHMARK_TEMPLATES)
    for a, b in zip(first, again, strict=True):
        assert a.label == b.label and a.style == b.style and a.medium == b.medium
        np.testing.assert_array_equal(a.image, b.image)
    assert {d.medium for d in first} == {"canvas", "photo"}
    other = drawn_benchmark(canvas_per_template=1, photos_per_template=0, seed=5)
    assert not np.array_equal(other[0].image, first[0].image)


def test_a_canvas_drawing_looks_like_what_the_canvas_returns():
    digit = drawn_benchmark(canvas_per_template=1, photos_per_template=0)[0]
    image = digit.image
    assert image.shape == (CANVAS_SIZE, CANVAS_SIZE, 4) and image.dtype == np.uint8
    assert not image[:, :, :3].any()  # black ink
    alpha = image[:, :, 3]
    assert alpha.max() == 255 and alpha.min() == 0
    assert len(np.unique(alpha)) >= 8  # anti-aliased edges (3x3 supersampling)
    assert PEN_RANGE[0] <= digit.placement.pen <= PEN_RANGE[1]


def test_a_photo_is_dark_ink_on_light_uneven_paper():
    digit = drawn_benchmark(canvas_per_template=0, photos_per_template=1)[0]
    image = digit.image.astype(float)
    assert image.shape == (CANVAS_SIZE, CANVAS_SIZE, 3)
    grey = image.mean(axis=2)
    assert np.median(grey) > 150 and grey.min() < 100
    background = grey[grey > np.percentile(grey, 60)]
    assert background.std() > 0.5  # grain and lighting, not a flat white


def test_placement_varies_pen_size_and_position_within_the_canvas():
    rng = np.random.default_rng(0)
    placements = [place_strokes(BENCHMARK_TEMPLATES[4], rng)[1] for _ in range(200)]
    pens = [p.pen for p in placements]
    heights = [p.height for p in placements]
    xs = [p.centre[0] for p in placements]
    assert PEN_RANGE[0] <= min(pens) and max(pens) <= PEN_RANGE[1]
    assert max(pens) - min(pens) > 8
    assert min(heights) < 0.45 * CANVAS_SIZE and max(heights) > 0.75 * CANVAS_SIZE
    assert min(xs) < 0.35 * CANVAS_SIZE and max(xs) > 0.65 * CANVAS_SIZE  # off-centre
    paths, placement = place_strokes(BENCHMARK_TEMPLATES[4], np.random.default_rng(1))
    every = np.vstack(paths)
    assert every.min() >= placement.pen / 2 and every.max() <= CANVAS_SIZE - placement.pen / 2


def test_every_drawing_preprocesses_to_a_digit():
    for digit in drawn_benchmark(canvas_per_template=1, photos_per_template=1):
        prepared = preprocess_digit(digit.image)
        assert not prepared.blank, digit.style
        assert prepared.centered.max() == pytest.approx(1.0)


def test_renderers_work_at_other_sizes():
    rng = np.random.default_rng(3)
    paths, placement = place_strokes(TRAINING_TEMPLATES[0], rng, size=140)
    assert render_canvas(paths, placement.pen, size=140).shape == (140, 140, 4)
    assert render_photo(paths, placement.pen, rng, size=140).shape == (140, 140, 3)


def test_synthesized_training_digits_are_mnist_laid_out_and_labelled():
    images, labels = synthesized_training_digits(40, seed=123)
    assert images.shape == (40, 28, 28) and images.dtype == np.float32
    assert set(labels.tolist()) <= set(range(10)) and len(set(labels.tolist())) > 5
    assert (images.reshape(40, -1).max(axis=1) == 1.0).all()
    again, _ = synthesized_training_digits(40, seed=123)
    np.testing.assert_array_equal(images, again)


def test_not_digits_are_scribbles_letters_and_pairs():
    drawings = not_digit_drawings(per_template=1)
    assert len(drawings) == len(NOT_DIGIT_TEMPLATES)
    assert {d.label for d in drawings} == {-1}


def test_a_score_counts_per_digit_style_and_confusions():
    score = DrawnScore(
        labels=np.array([1, 1, 7, 7]),
        predicted=np.array([1, 7, 7, 7]),
        probabilities=np.eye(10)[[1, 7, 7, 7]],
        styles=["1 stick", "1 with flag", "7 plain", "7 plain"],
        media=["canvas", "photo", "canvas", "canvas"],
    )
    assert score.accuracy == 0.75
    assert score.accuracy_by("digit") == {1: (1, 2), 7: (2, 2)}
    assert score.accuracy_by("style")["1 with flag"] == (0, 1)
    assert score.accuracy_by("medium") == {"canvas": (3, 3), "photo": (0, 1)}
    assert score.confusions() == [(1, 7, 1)]
