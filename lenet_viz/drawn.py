"""Digits as people draw them: pen strokes on the Draw page's canvas, and photos of ink on paper.

MNIST is written with pens on paper by Census employees and students; people on the Draw page
write with a mouse, with a 14-24 px pen on a 280x280 canvas, in their own styles (a 1 with a
flag, a 7 with a crossbar, a closed 4...). This module makes such digits from stroke templates,
so the app's model can be measured, and trained, on drawings rather than on MNIST alone.

Two separate sets of templates, written by hand as point lists (x right, y down, a digit 1 unit
tall), stand for two groups of writers:

- `BENCHMARK_TEMPLATES`: only for measuring (`drawn_benchmark`, `make bench`, the tests);
- `TRAINING_TEMPLATES`: only for synthesizing training digits (`synthesized_training_digits`).

They cover the same styles (a model must know that a 1 may have a flag), but every point list
is different: no template, and no point of one, is shared between the two sets, and the random
variation is drawn from different seeds. A model trained on the training set has never seen a
benchmark stroke. `tests/test_drawn.py` checks that the two sets share no template.

A template is drawn with random pen width, size, slant, turn, position and a hand's wobble
(`place_strokes`), then rendered either as the canvas returns it (`render_canvas`: RGBA, black
ink in the alpha channel on a transparent background, anti-aliased, streamlit-drawable-canvas's
`image_data`) or as a photo of ink on paper (`render_photo`: RGB, dark ink on light paper with
texture, uneven lighting and a little blur). Everything is seeded and deterministic.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

CANVAS_SIZE = 280  # the Draw page's canvas
PEN_RANGE = (14.0, 24.0)  # canvas pen widths people use, px
BENCHMARK_SEED = 10_000  # the benchmark's fixed seed (training synthesis uses others)

Points = tuple[tuple[float, float], ...]


@dataclass(frozen=True)
class Template:
    """One way of writing one digit: its strokes, in the order a pen draws them."""

    label: int  # 0-9, or -1 for marks that are not a digit (scribbles, letters)
    style: str  # e.g. "1 with flag", "7 crossbar"
    strokes: tuple[Points, ...]


def _arc(cx, cy, rx, ry, start, end, n=14) -> Points:
    """Points on an ellipse from angle `start` to `end` (degrees; 0 = right, 90 = down)."""
    angles = np.radians(np.linspace(start, end, n))
    return tuple((cx + rx * math.cos(a), cy + ry * math.sin(a)) for a in angles)


def _t(label: int, style: str, *strokes: Sequence[tuple[float, float]]) -> Template:
    return Template(label, style, tuple(tuple((float(x), float(y)) for x, y in s) for s in strokes))


# ----------------------------------------------------------------------- benchmark writers
# Evaluation only. Never used to make training data.
BENCHMARK_TEMPLATES: tuple[Template, ...] = (
    _t(0, "0 oval", _arc(0.32, 0.5, 0.3, 0.5, -90, 275)),
    _t(0, "0 narrow, overlapping", _arc(0.22, 0.5, 0.2, 0.5, -80, 300, 16)),
    _t(0, "0 round", _arc(0.42, 0.5, 0.42, 0.5, -100, 262)),
    _t(1, "1 stick", ((0.3, 0.0), (0.28, 1.0))),
    _t(1, "1 with flag", ((0.05, 0.22), (0.32, 0.0), (0.32, 1.0))),
    _t(1, "1 with small flag", ((0.15, 0.1), (0.3, 0.0), (0.29, 1.0))),
    _t(
        1,
        "1 with flag and base",
        ((0.08, 0.2), (0.35, 0.0), (0.35, 1.0)),
        ((0.05, 1.0), (0.65, 1.0)),
    ),
    _t(
        2,
        "2 plain",
        (
            (0.04, 0.22),
            (0.18, 0.04),
            (0.38, 0.0),
            (0.55, 0.1),
            (0.58, 0.3),
            (0.45, 0.55),
            (0.02, 1.0),
            (0.62, 0.99),
        ),
    ),
    _t(
        2,
        "2 with loop",
        (
            (0.05, 0.25),
            (0.2, 0.03),
            (0.42, 0.0),
            (0.58, 0.15),
            (0.52, 0.42),
            (0.25, 0.75),
            (0.08, 0.93),
            (0.14, 1.0),
            (0.26, 0.96),
            (0.22, 0.86),
            (0.1, 0.88),
            (0.25, 0.98),
            (0.62, 0.97),
        ),
    ),
    _t(
        2,
        "2 curvy base",
        (
            (0.02, 0.2),
            (0.22, 0.0),
            (0.5, 0.04),
            (0.56, 0.28),
            (0.35, 0.6),
            (0.05, 0.96),
            (0.3, 0.9),
            (0.5, 0.97),
            (0.66, 0.92),
        ),
    ),
    _t(
        3,
        "3 round",
        (
            (0.05, 0.12),
            (0.25, 0.0),
            (0.48, 0.04),
            (0.55, 0.22),
            (0.28, 0.46),
            (0.52, 0.58),
            (0.6, 0.8),
            (0.42, 0.98),
            (0.16, 1.0),
            (0.0, 0.88),
        ),
    ),
    _t(
        3,
        "3 flat top",
        (
            (0.04, 0.0),
            (0.56, 0.0),
            (0.26, 0.4),
            (0.5, 0.47),
            (0.62, 0.72),
            (0.46, 0.95),
            (0.2, 1.0),
            (0.0, 0.88),
        ),
    ),
    _t(4, "4 closed", ((0.42, 0.0), (0.0, 0.66), (0.62, 0.66)), ((0.42, 0.0), (0.42, 1.0))),
    _t(4, "4 open", ((0.1, 0.0), (0.03, 0.6), (0.62, 0.6)), ((0.46, 0.08), (0.46, 1.0))),
    _t(
        4,
        "4 open, short stem",
        ((0.08, 0.0), (0.02, 0.58), (0.55, 0.58)),
        ((0.45, 0.25), (0.45, 1.0)),
    ),
    _t(
        5,
        "5 one stroke",
        (
            (0.55, 0.0),
            (0.12, 0.0),
            (0.08, 0.42),
            (0.3, 0.36),
            (0.52, 0.45),
            (0.6, 0.68),
            (0.5, 0.92),
            (0.28, 1.0),
            (0.03, 0.9),
        ),
    ),
    _t(
        5,
        "5 flag last",
        (
            (0.12, 0.0),
            (0.08, 0.44),
            (0.35, 0.38),
            (0.56, 0.52),
            (0.58, 0.78),
            (0.42, 0.97),
            (0.18, 0.99),
            (0.02, 0.86),
        ),
        ((0.12, 0.0), (0.6, 0.0)),
    ),
    _t(
        6,
        "6 curved",
        (
            (0.5, 0.02),
            (0.3, 0.15),
            (0.12, 0.4),
            (0.05, 0.7),
            (0.15, 0.95),
            (0.35, 1.0),
            (0.52, 0.88),
            (0.55, 0.68),
            (0.4, 0.55),
            (0.2, 0.57),
            (0.08, 0.7),
        ),
    ),
    _t(
        6,
        "6 straight stem",
        (
            (0.45, 0.0),
            (0.1, 0.62),
            (0.08, 0.82),
            (0.22, 1.0),
            (0.45, 0.97),
            (0.55, 0.8),
            (0.45, 0.6),
            (0.22, 0.6),
            (0.1, 0.72),
        ),
    ),
    _t(7, "7 plain", ((0.02, 0.02), (0.6, 0.02), (0.22, 1.0))),
    _t(7, "7 with crossbar", ((0.02, 0.02), (0.62, 0.0), (0.25, 1.0)), ((0.15, 0.52), (0.56, 0.5))),
    _t(7, "7 curved stem", ((0.0, 0.05), (0.6, 0.0), (0.42, 0.35), (0.3, 0.7), (0.28, 1.0))),
    _t(
        8,
        "8 one stroke",
        (
            (0.52, 0.1),
            (0.3, 0.0),
            (0.08, 0.1),
            (0.12, 0.3),
            (0.3, 0.45),
            (0.5, 0.6),
            (0.55, 0.85),
            (0.3, 1.0),
            (0.05, 0.85),
            (0.1, 0.6),
            (0.3, 0.45),
            (0.48, 0.3),
            (0.52, 0.1),
        ),
    ),
    _t(
        8,
        "8 two loops",
        _arc(0.3, 0.24, 0.22, 0.24, -90, 272),
        _arc(0.3, 0.73, 0.28, 0.27, -90, 272),
    ),
    _t(
        9,
        "9 straight tail",
        (
            (0.55, 0.2),
            (0.4, 0.02),
            (0.15, 0.05),
            (0.05, 0.25),
            (0.2, 0.42),
            (0.45, 0.38),
            (0.55, 0.2),
            (0.55, 1.0),
        ),
    ),
    _t(
        9,
        "9 curved tail",
        (
            (0.55, 0.18),
            (0.38, 0.0),
            (0.12, 0.06),
            (0.06, 0.28),
            (0.24, 0.42),
            (0.5, 0.35),
            (0.56, 0.2),
            (0.55, 0.6),
            (0.46, 0.9),
            (0.2, 1.0),
        ),
    ),
)

# ----------------------------------------------------------------------- training writers
# Training synthesis only: other point lists for the same styles, never used for measuring.
TRAINING_TEMPLATES: tuple[Template, ...] = (
    _t(0, "0 oval", _arc(0.3, 0.5, 0.28, 0.49, -95, 268, 15)),
    _t(
        0,
        "0 leaning",
        (
            (0.4, 0.02),
            (0.15, 0.1),
            (0.03, 0.45),
            (0.1, 0.88),
            (0.3, 1.0),
            (0.52, 0.82),
            (0.58, 0.4),
            (0.5, 0.08),
            (0.35, 0.0),
        ),
    ),
    _t(1, "1 stick", ((0.25, 0.02), (0.27, 0.98))),
    _t(1, "1 with flag", ((0.0, 0.28), (0.3, 0.02), (0.3, 0.99))),
    _t(1, "1 with short flag", ((0.12, 0.14), (0.28, 0.01), (0.27, 0.98))),
    _t(
        1,
        "1 with flag and base",
        ((0.05, 0.26), (0.3, 0.0), (0.31, 0.98)),
        ((0.0, 0.98), (0.6, 0.99)),
    ),
    _t(
        2,
        "2 plain",
        (
            (0.0, 0.26),
            (0.12, 0.06),
            (0.34, 0.0),
            (0.52, 0.08),
            (0.56, 0.28),
            (0.38, 0.6),
            (0.0, 0.98),
            (0.58, 1.0),
        ),
    ),
    _t(
        2,
        "2 with loop",
        (
            (0.02, 0.2),
            (0.25, 0.0),
            (0.5, 0.05),
            (0.55, 0.3),
            (0.3, 0.66),
            (0.1, 0.88),
            (0.16, 0.99),
            (0.3, 0.94),
            (0.2, 0.83),
            (0.06, 0.9),
            (0.3, 1.0),
            (0.6, 0.98),
        ),
    ),
    _t(
        3,
        "3 round",
        (
            (0.02, 0.15),
            (0.22, 0.01),
            (0.46, 0.02),
            (0.56, 0.2),
            (0.4, 0.4),
            (0.25, 0.48),
            (0.5, 0.55),
            (0.62, 0.78),
            (0.45, 0.97),
            (0.15, 0.98),
            (0.02, 0.85),
        ),
    ),
    _t(
        3,
        "3 flat top",
        (
            (0.06, 0.02),
            (0.54, 0.0),
            (0.3, 0.38),
            (0.52, 0.45),
            (0.6, 0.7),
            (0.5, 0.92),
            (0.25, 1.0),
            (0.04, 0.92),
        ),
    ),
    _t(4, "4 closed", ((0.45, 0.02), (0.02, 0.7), (0.6, 0.7)), ((0.45, 0.02), (0.44, 0.99))),
    _t(4, "4 open", ((0.06, 0.01), (0.0, 0.62), (0.6, 0.64)), ((0.42, 0.04), (0.44, 0.99))),
    _t(
        5,
        "5 one stroke",
        (
            (0.58, 0.02),
            (0.14, 0.02),
            (0.06, 0.45),
            (0.28, 0.38),
            (0.5, 0.44),
            (0.62, 0.66),
            (0.55, 0.9),
            (0.3, 1.0),
            (0.0, 0.92),
        ),
    ),
    _t(
        5,
        "5 flag last",
        (
            (0.15, 0.02),
            (0.1, 0.4),
            (0.4, 0.4),
            (0.58, 0.58),
            (0.55, 0.85),
            (0.38, 0.99),
            (0.05, 0.9),
        ),
        ((0.15, 0.02), (0.58, 0.03)),
    ),
    _t(
        6,
        "6 curved",
        (
            (0.55, 0.0),
            (0.25, 0.2),
            (0.08, 0.5),
            (0.06, 0.8),
            (0.22, 0.99),
            (0.45, 0.96),
            (0.56, 0.76),
            (0.45, 0.58),
            (0.22, 0.56),
            (0.07, 0.74),
        ),
    ),
    _t(
        6,
        "6 straight stem",
        (
            (0.4, 0.0),
            (0.05, 0.66),
            (0.12, 0.95),
            (0.35, 1.0),
            (0.55, 0.86),
            (0.5, 0.64),
            (0.28, 0.58),
            (0.08, 0.7),
        ),
    ),
    _t(7, "7 plain", ((0.0, 0.0), (0.58, 0.04), (0.25, 0.99))),
    _t(7, "7 with crossbar", ((0.0, 0.04), (0.6, 0.02), (0.28, 0.99)), ((0.12, 0.48), (0.5, 0.5))),
    _t(7, "7 curved stem", ((0.02, 0.0), (0.58, 0.02), (0.4, 0.4), (0.32, 0.72), (0.33, 0.99))),
    _t(
        8,
        "8 one stroke",
        (
            (0.5, 0.08),
            (0.28, 0.0),
            (0.06, 0.12),
            (0.14, 0.34),
            (0.46, 0.56),
            (0.58, 0.82),
            (0.32, 1.0),
            (0.04, 0.86),
            (0.14, 0.58),
            (0.44, 0.36),
            (0.54, 0.16),
            (0.5, 0.08),
        ),
    ),
    _t(
        8,
        "8 two loops",
        _arc(0.32, 0.26, 0.24, 0.26, -80, 285, 13),
        _arc(0.31, 0.74, 0.3, 0.26, -100, 265, 13),
    ),
    _t(
        9,
        "9 straight tail",
        (
            (0.58, 0.22),
            (0.45, 0.02),
            (0.18, 0.02),
            (0.04, 0.22),
            (0.16, 0.45),
            (0.45, 0.42),
            (0.58, 0.22),
            (0.56, 0.99),
        ),
    ),
    _t(
        9,
        "9 curved tail",
        (
            (0.56, 0.2),
            (0.4, 0.02),
            (0.1, 0.04),
            (0.02, 0.25),
            (0.2, 0.44),
            (0.48, 0.38),
            (0.56, 0.22),
            (0.58, 0.65),
            (0.5, 0.88),
            (0.28, 1.0),
        ),
    ),
)

# Marks that are not one digit: the Draw page must say it is unsure about these.
NOT_DIGIT_TEMPLATES: tuple[Template, ...] = (
    _t(
        -1,
        "scribble",
        (
            (0.0, 0.1),
            (0.8, 0.2),
            (0.05, 0.4),
            (0.9, 0.5),
            (0.1, 0.7),
            (0.85, 0.9),
            (0.0, 1.0),
            (0.5, 0.0),
            (0.3, 1.0),
        ),
    ),
    _t(-1, "letter A", ((0.0, 1.0), (0.35, 0.0), (0.7, 1.0)), ((0.15, 0.6), (0.55, 0.6))),
    _t(-1, "letter M", ((0.0, 1.0), (0.05, 0.0), (0.4, 0.6), (0.75, 0.0), (0.8, 1.0))),
    _t(-1, "letter K", ((0.05, 0.0), (0.05, 1.0)), ((0.6, 0.0), (0.06, 0.55), (0.65, 1.0))),
    _t(-1, "letter W", ((0.0, 0.0), (0.2, 1.0), (0.45, 0.35), (0.7, 1.0), (0.9, 0.0))),
    _t(-1, "letter X", ((0.0, 0.0), (0.7, 1.0)), ((0.7, 0.0), (0.0, 1.0))),
    _t(
        -1,
        "two digits 12",
        ((0.0, 0.2), (0.2, 0.0), (0.2, 1.0)),
        ((0.45, 0.25), (0.6, 0.02), (0.85, 0.05), (0.95, 0.3), (0.45, 1.0), (1.05, 1.0)),
    ),
    _t(
        -1,
        "two digits 70",
        ((0.0, 0.0), (0.5, 0.0), (0.2, 1.0)),
        _arc(0.95, 0.5, 0.28, 0.5, -90, 275),
    ),
)


# ----------------------------------------------------------------------- placing strokes


@dataclass(frozen=True)
class Placement:
    """How one drawing of a template came out: the pen and where the digit sits."""

    pen: float  # stroke width, px on the 280x280 canvas
    height: float  # digit height, px
    slant: float  # horizontal shear (positive: top to the right)
    rotation: float  # degrees
    centre: tuple[float, float]  # (x, y), px


def _smooth(points: np.ndarray, per_segment: int = 8) -> np.ndarray:
    """A Catmull-Rom curve through the points, as a pen (and Fabric.js's freedraw) makes them."""
    if len(points) < 3:
        steps = np.linspace(0, 1, per_segment * max(1, len(points) - 1) + 1)[:, None]
        return points[0] + steps * (points[-1] - points[0]) if len(points) == 2 else points
    padded = np.vstack([points[0], points, points[-1]])
    out = []
    t = np.linspace(0, 1, per_segment, endpoint=False)[:, None]
    for i in range(1, len(padded) - 2):
        p0, p1, p2, p3 = padded[i - 1], padded[i], padded[i + 1], padded[i + 2]
        out.append(
            0.5
            * (
                2 * p1
                + (p2 - p0) * t
                + (2 * p0 - 5 * p1 + 4 * p2 - p3) * t**2
                + (3 * p1 - p0 - 3 * p2 + p3) * t**3
            )
        )
    out.append(points[-1:])
    return np.vstack(out)


def place_strokes(
    template: Template, rng: np.random.Generator, size: int = CANVAS_SIZE
) -> tuple[list[np.ndarray], Placement]:
    """The template's strokes as pixel paths on a size x size canvas, drawn as a hand would:
    a random pen width (14-24 px on 280), height (35-85% of the canvas), aspect, slant, turn,
    position (anywhere the digit fits: often off-centre) and a small wobble of every point."""
    scale = size / CANVAS_SIZE
    pen = float(rng.uniform(*PEN_RANGE)) * scale
    height = float(rng.uniform(0.35, 0.85)) * size
    aspect = float(rng.uniform(0.8, 1.25))
    slant = float(rng.uniform(-0.15, 0.35))
    rotation = float(rng.uniform(-10, 10))
    wobble = float(rng.uniform(0.0, 0.02))
    all_points = np.vstack([np.asarray(s) for s in template.strokes])
    middle = (all_points.min(axis=0) + all_points.max(axis=0)) / 2
    angle = math.radians(rotation)
    turn = np.array([[math.cos(angle), -math.sin(angle)], [math.sin(angle), math.cos(angle)]])
    shear = np.array([[1.0, -slant], [0.0, 1.0]])
    matrix = turn @ shear @ np.diag([height * aspect, height])
    paths = []
    for stroke in template.strokes:
        points = np.asarray(stroke) - middle
        points = points + rng.normal(0.0, wobble, points.shape)
        paths.append(_smooth(points) @ matrix.T)
    every = np.vstack(paths)
    low, high = every.min(axis=0), every.max(axis=0)
    margin = pen / 2 + 2
    free_low = margin - low
    free_high = size - margin - high
    centre = np.array([rng.uniform(free_low[i], max(free_low[i], free_high[i])) for i in range(2)])
    paths = [path + centre for path in paths]
    return paths, Placement(pen, height, slant, rotation, (float(centre[0]), float(centre[1])))


def template_paths(
    template: Template,
    height: float = 200.0,
    centre: tuple[float, float] = (CANVAS_SIZE / 2, CANVAS_SIZE / 2),
    slant: float = 0.0,
    per_segment: int = 4,
) -> list[np.ndarray]:
    """The template drawn plainly (no randomness): its smoothed strokes as pixel paths, for a
    mouse to follow in the browser test."""
    all_points = np.vstack([np.asarray(s) for s in template.strokes])
    middle = (all_points.min(axis=0) + all_points.max(axis=0)) / 2
    matrix = np.array([[1.0, -slant], [0.0, 1.0]]) * height
    return [
        _smooth(np.asarray(s) - middle, per_segment) @ matrix.T + np.asarray(centre)
        for s in template.strokes
    ]


def _draw_paths(paths: list[np.ndarray], pen: float, size: int, supersample: int) -> Image.Image:
    """Round-capped, round-joined strokes: an "L" image, ink 255, anti-aliased by supersampling."""
    big = size * supersample
    image = Image.new("L", (big, big), 0)
    draw = ImageDraw.Draw(image)
    width = pen * supersample
    radius = width / 2
    for path in paths:
        points = [(float(x) * supersample, float(y) * supersample) for x, y in path]
        if len(points) > 1:
            draw.line(points, fill=255, width=max(1, round(width)))
        for x, y in points:  # round caps and joints between the line's segments
            draw.ellipse((x - radius, y - radius, x + radius, y + radius), fill=255)
    if supersample > 1:
        image = image.resize((size, size), Image.Resampling.BOX)
    return image


def render_canvas(
    paths: list[np.ndarray], pen: float, size: int = CANVAS_SIZE, supersample: int = 3
) -> np.ndarray:
    """What streamlit-drawable-canvas returns for these strokes: (size, size, 4) uint8 RGBA,
    black ink (#000000) whose coverage is the alpha channel, on a transparent background."""
    alpha = np.asarray(_draw_paths(paths, pen, size, supersample))
    rgba = np.zeros((size, size, 4), dtype=np.uint8)
    rgba[:, :, 3] = alpha
    return rgba


def render_photo(
    paths: list[np.ndarray], pen: float, rng: np.random.Generator, size: int = CANVAS_SIZE
) -> np.ndarray:
    """A photo of the strokes written in ink on paper: (size, size, 3) uint8 RGB, dark ink on
    light, slightly tinted paper with grain, lighting that falls off across the picture, and a
    little blur (focus). The pen is a real pen: thinner than the canvas's."""
    ink = np.asarray(_draw_paths(paths, pen * float(rng.uniform(0.45, 0.8)), size, 3))
    ink = ink.astype(np.float32) / 255
    paper = float(rng.uniform(0.78, 0.95))
    ink_level = float(rng.uniform(0.05, 0.3))
    rows, cols = np.mgrid[0:size, 0:size].astype(np.float32) / size
    direction = rng.uniform(-1, 1, 2)
    lighting = 1.0 + float(rng.uniform(0.02, 0.06)) * (direction[0] * rows + direction[1] * cols)
    grain = rng.normal(0.0, 1.0, (size // 2, size // 2)).astype(np.float32)
    grain = np.asarray(Image.fromarray(grain).resize((size, size), Image.Resampling.BILINEAR))
    grey = (paper * (1 - ink) + ink_level * ink) * lighting + 0.012 * grain
    blurred = Image.fromarray(np.clip(grey * 255, 0, 255).astype(np.uint8))
    blurred = blurred.filter(ImageFilter.GaussianBlur(float(rng.uniform(0.3, 1.2))))
    tint = np.array([1.0, float(rng.uniform(0.97, 1.0)), float(rng.uniform(0.9, 1.0))])
    rgb = np.asarray(blurred, dtype=np.float32)[:, :, None] * tint
    return np.clip(rgb, 0, 255).astype(np.uint8)


# ----------------------------------------------------------------------- the benchmark


@dataclass(frozen=True)
class DrawnDigit:
    """One drawn digit of the benchmark."""

    image: np.ndarray  # RGBA (canvas) or RGB (photo), uint8
    label: int
    style: str
    medium: str  # "canvas" or "photo"
    placement: Placement


BENCHMARK_CANVAS_PER_TEMPLATE = 40
BENCHMARK_PHOTOS_PER_TEMPLATE = 12


def drawn_digits(
    templates: Sequence[Template],
    canvas_per_template: int,
    photos_per_template: int,
    seed: int,
) -> Iterator[DrawnDigit]:
    """Every template drawn `canvas_per_template` times on the canvas and photographed
    `photos_per_template` times on paper, each with its own seeded random hand."""
    for index, template in enumerate(templates):
        for medium, count in (("canvas", canvas_per_template), ("photo", photos_per_template)):
            for k in range(count):
                rng = np.random.default_rng([seed, index, k, medium == "photo"])
                paths, placement = place_strokes(template, rng)
                if medium == "canvas":
                    image = render_canvas(paths, placement.pen)
                else:
                    image = render_photo(paths, placement.pen, rng)
                yield DrawnDigit(image, template.label, template.style, medium, placement)


def drawn_benchmark(
    canvas_per_template: int = BENCHMARK_CANVAS_PER_TEMPLATE,
    photos_per_template: int = BENCHMARK_PHOTOS_PER_TEMPLATE,
    seed: int = BENCHMARK_SEED,
) -> list[DrawnDigit]:
    """The drawn-digit benchmark: `BENCHMARK_TEMPLATES` only, always the same digits for the
    same arguments (by default 26 templates x (40 canvas + 12 photos) = 1,352 digits)."""
    return list(drawn_digits(BENCHMARK_TEMPLATES, canvas_per_template, photos_per_template, seed))


def not_digit_drawings(per_template: int = 5, seed: int = BENCHMARK_SEED + 1) -> list[DrawnDigit]:
    """Scribbles, letters and pairs of digits as drawn on the canvas (label -1)."""
    return list(drawn_digits(NOT_DIGIT_TEMPLATES, per_template, 0, seed))


@lru_cache(maxsize=2)
def synthesized_training_digits(count: int, seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """`count` digits drawn from `TRAINING_TEMPLATES` only (never the benchmark's), through
    the Draw page's own preprocessing: (count, 28, 28) float32 0..1 MNIST-layout images and
    their int64 labels. A quarter are photos. Seeded; cached per process."""
    from lenet_viz.preprocess import preprocess_digit

    rng = np.random.default_rng([seed, 7])
    images = np.zeros((count, 28, 28), dtype=np.float32)
    labels = np.zeros(count, dtype=np.int64)
    for i in range(count):
        template = TRAINING_TEMPLATES[int(rng.integers(len(TRAINING_TEMPLATES)))]
        paths, placement = place_strokes(template, rng, size=140)
        if rng.random() < 0.25:
            image = render_photo(paths, placement.pen, rng, size=140)
        else:
            image = render_canvas(paths, placement.pen, size=140, supersample=2)
        digit = preprocess_digit(image)
        if not digit.blank:
            images[i] = digit.centered
        labels[i] = template.label
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
    from lenet_viz.preprocess import preprocess_digit

    rng = np.random.default_rng([seed, 11])
    images = np.zeros((count, 28, 28), dtype=np.float32)
    for i in range(count):
        paths, placement = place_strokes(random_non_digit(rng), rng, size=140)
        digit = preprocess_digit(render_canvas(paths, placement.pen, size=140, supersample=2))
        if not digit.blank:
            images[i] = digit.centered
    return images


# ----------------------------------------------------------------------- measuring a model


@dataclass
class DrawnScore:
    """How a model reads a set of drawn digits (`score_drawn`)."""

    labels: np.ndarray  # (N,)
    predicted: np.ndarray  # (N,)
    probabilities: np.ndarray  # (N, 10), calibrated (and test-time averaged) as read
    styles: list[str]
    media: list[str]

    @property
    def accuracy(self) -> float:
        return float((self.predicted == self.labels).mean())

    def accuracy_by(self, key: str) -> dict:
        """Accuracy per "digit", "style" or "medium": {value: (correct, total)}."""
        values = {"digit": self.labels.tolist(), "style": self.styles, "medium": self.media}[key]
        out: dict = {}
        for value, ok in zip(values, (self.predicted == self.labels).tolist(), strict=True):
            right, total = out.get(value, (0, 0))
            out[value] = (right + int(ok), total + 1)
        return dict(sorted(out.items()))

    def confusions(self) -> list[tuple[int, int, int]]:
        """(true, read as, count) for every mistake, the most frequent first."""
        pairs: dict[tuple[int, int], int] = {}
        for true, read in zip(self.labels.tolist(), self.predicted.tolist(), strict=True):
            if true != read:
                pairs[(true, read)] = pairs.get((true, read), 0) + 1
        return sorted(((t, r, n) for (t, r), n in pairs.items()), key=lambda row: (-row[2], row))


def score_drawn(
    model,
    digits: Sequence[DrawnDigit],
    temperature: float = 1.0,
    tta: bool = True,
    stroke_width: float | None = None,
) -> DrawnScore:
    """Read every drawn digit exactly as the Draw page does (`preprocess.prepare_for_model`,
    `calibration.read_inputs`). stroke_width: None is the default preprocessing; a number
    overrides the width strokes are normalised to (0 turns the normalisation off)."""
    import torch

    from lenet_viz.calibration import read_inputs
    from lenet_viz.preprocess import prepare_for_model, preprocess_digit

    config = model.config
    inputs = []
    for digit in digits:
        if stroke_width is None:
            prepared = prepare_for_model(digit.image, config)
        else:
            prepared = preprocess_digit(
                digit.image,
                resize=config.resize,
                scaling=config.input_scaling,
                stroke_width=stroke_width or None,
            )
        inputs.append(prepared.network_input)
    probabilities = read_inputs(model, torch.cat(inputs), temperature, tta).numpy()
    return DrawnScore(
        labels=np.array([d.label for d in digits]),
        predicted=probabilities.argmax(axis=1),
        probabilities=probabilities,
        styles=[d.style for d in digits],
        media=[d.medium for d in digits],
    )
