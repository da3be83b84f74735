"""Stroke digits (and marks that are not digits) for training, made from the training writers
only (the issue 10 training templates and issue 24's training writers), through the Draw page's
own preprocessing (`augment` mixes them into batches)."""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from lenet_viz.data.drawn.render import Placement, place_strokes, render_canvas, render_photo
from lenet_viz.data.drawn.templates import Template
from lenet_viz.data.drawn.training_writers import TRAINING_TEMPLATES
from lenet_viz.data.drawn.writers import place_by_writer, writers
from lenet_viz.data.preprocess import preprocess_digit

WRITERS_SHARE = 0.6  # of the synthesized digits, from issue 24's training writers


def random_training_drawing(rng: np.random.Generator, size: int) -> tuple[list, Placement, int]:
    """One training drawing: the pixel paths, their placement and the digit. From issue 24's
    training writers (`writers("training")`, each in their own hand) with probability
    WRITERS_SHARE, else from `TRAINING_TEMPLATES` in an ordinary hand; never from the
    validation or test writers, nor the benchmark's templates."""
    if rng.random() < WRITERS_SHARE:
        training = writers("training")
        writer = training[int(rng.integers(len(training)))]
        paths, placement = place_by_writer(writer, rng, size)
        return paths, placement, writer.template.label
    template = TRAINING_TEMPLATES[int(rng.integers(len(TRAINING_TEMPLATES)))]
    paths, placement = place_strokes(template, rng, size)
    return paths, placement, template.label


@lru_cache(maxsize=2)
def synthesized_training_digits(count: int, seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """`count` digits drawn by the training writers only (`random_training_drawing`), through
    the Draw page's own preprocessing: (count, 28, 28) float32 0..1 MNIST-layout images and
    their int64 labels. A quarter are photos. Seeded; cached per process."""
    rng = np.random.default_rng([seed, 7])
    images = np.zeros((count, 28, 28), dtype=np.float32)
    labels = np.zeros(count, dtype=np.int64)
    for i in range(count):
        paths, placement, label = random_training_drawing(rng, size=140)
        if rng.random() < 0.25:
            image = render_photo(paths, placement.pen, rng, size=140)
        else:
            image = render_canvas(paths, placement.pen, size=140, supersample=2)
        digit = preprocess_digit(image)
        if not digit.blank:
            images[i] = digit.centered
        labels[i] = label
    return images, labels


def random_non_digit(rng: np.random.Generator) -> Template:
    """A mark that is not one digit, for training the net to be unsure (outlier exposure):
    a random scribble of 1-3 strokes through random points, or two training-template digits
    side by side. Made from random numbers and the *training* templates only; the benchmark's
    non-digits (`NOT_DIGIT_TEMPLATES`: letters, a scribble, pairs) are never trained on."""
    if rng.random() < 0.5:
        first, second = (
            TRAINING_TEMPLATES[int(i)] for i in rng.integers(len(TRAINING_TEMPLATES), size=2)
        )
        gap = float(rng.uniform(0.1, 0.3))
        right = max(x for s in first.strokes for x, _ in s) + gap
        moved = tuple(tuple((x + right, y) for x, y in s) for s in second.strokes)
        return Template(-1, "two training digits", first.strokes + moved)
    while True:  # a scribble that spans both ways (a lone slanted line would be a 1)
        strokes = []
        for _ in range(int(rng.integers(1, 4))):
            count = int(rng.integers(4, 10))
            points = rng.uniform(0, 1, (count, 2)) * np.array([rng.uniform(0.5, 1.2), 1.0])
            strokes.append(tuple((float(x), float(y)) for x, y in points))
        every = np.vstack(strokes)
        if (every.max(axis=0) - every.min(axis=0)).min() >= 0.5:
            return Template(-1, "random scribble", tuple(strokes))


@lru_cache(maxsize=2)
def synthesized_non_digits(count: int, seed: int = 3) -> np.ndarray:
    """`count` random non-digits (`random_non_digit`) through the Draw page's preprocessing:
    (count, 28, 28) float32 MNIST-layout images. Seeded; cached per process."""
    rng = np.random.default_rng([seed, 11])
    images = np.zeros((count, 28, 28), dtype=np.float32)
    for i in range(count):
        paths, placement = place_strokes(random_non_digit(rng), rng, size=140)
        digit = preprocess_digit(render_canvas(paths, placement.pen, size=140, supersample=2))
        if not digit.blank:
            images[i] = digit.centered
    return images
