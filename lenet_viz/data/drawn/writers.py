"""Writers of issue 24, in three parts that never mix: training, validation and test.

A writer writes one style (`styles.STYLE_FAMILIES`) in a hand of their own: the template is
that style's family drawn with the writer's own seed (their proportions), and the writer has a
pen habit (`Hand`): an ordinary pen, a very thin or very thick one, digits small in a corner,
strokes drawn in another order and direction, strokes that overshoot where they meet, or
leave gaps. Every style has writers in all three parts, and every hand appears in each part:

- training writers: only for synthesizing training digits (`synthesis`);
- validation writers: only for choosing models and settings;
- test writers: only for reporting (`writer_benchmark("test")`, `make bench`).

A writer's seed decides their template; the parts use disjoint seeds, so no template, and no
writer, is shared. `tests/test_drawn_writers.py` checks that, and that no two templates of
different parts are near-duplicates.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import lru_cache

import numpy as np

from lenet_viz.data.drawn.render import (
    CANVAS_SIZE,
    HEIGHT_RANGE,
    PEN_RANGE,
    Placement,
    place_strokes,
)
from lenet_viz.data.drawn.styles import STYLE_FAMILIES
from lenet_viz.data.drawn.templates import Points, Template

PARTS = ("training", "validation", "test")
WRITERS_PER_STYLE = {"training": 6, "validation": 2, "test": 3}
PART_SEED = {"training": 24_100, "validation": 24_200, "test": 24_300}
WRITER_SHAPE_SPREAD = 0.015  # how far a writer's points sit from another's, digit heights


@dataclass(frozen=True)
class Hand:
    """A writer's pen habit."""

    name: str
    pen_range: tuple[float, float] = PEN_RANGE  # px on the 280 px canvas
    height_range: tuple[float, float] = HEIGHT_RANGE  # share of the canvas
    in_corner: bool = False  # the digit pushed into a corner of the canvas
    reversed_strokes: bool = False  # strokes in reverse order, each drawn backwards
    stroke_ends: float = 0.0  # >0: each stroke overshoots by this much; <0: stops short


HANDS: tuple[Hand, ...] = (
    Hand("ordinary pen"),
    Hand("thin pen", pen_range=(5.0, 9.0)),
    Hand("thick pen", pen_range=(27.0, 34.0)),
    Hand("small in a corner", height_range=(0.2, 0.32), in_corner=True),
    Hand("other stroke order and direction", reversed_strokes=True),
    Hand("overshooting stroke ends", stroke_ends=0.06),
    Hand("gaps where strokes meet", stroke_ends=-0.04),
)


@dataclass(frozen=True)
class Writer:
    """One writer: one style in one hand, in one part of the split."""

    name: str  # unique over every part, e.g. "test 2 of 6 ball top"
    part: str  # "training", "validation" or "test"
    hand: Hand
    template: Template


def _moved_end(points: np.ndarray, amount: float) -> np.ndarray:
    """The stroke with its last point moved along its last segment: on (amount > 0) or back."""
    if len(points) < 2 or amount == 0:
        return points
    step = points[-1] - points[-2]
    length = float(np.hypot(*step))
    if length == 0:
        return points
    amount = max(amount, -0.6 * length)  # never past the previous point
    out = points.copy()
    out[-1] = points[-1] + step / length * amount
    return out


def habit_strokes(strokes: tuple[Points, ...], hand: Hand) -> tuple[Points, ...]:
    """The strokes as this hand draws them: ends overshot or cut short, order reversed."""
    out = []
    for stroke in strokes:
        points = np.asarray(stroke, dtype=float)
        if hand.stroke_ends and len(points) >= 2:
            points = _moved_end(points, hand.stroke_ends)
            points = _moved_end(points[::-1], hand.stroke_ends)[::-1]
        out.append(tuple((float(x), float(y)) for x, y in points))
    if hand.reversed_strokes:
        out = [s[::-1] for s in out[::-1]]
    return tuple(out)


def writer_proportions(strokes: list[Points], rng: np.random.Generator) -> tuple[Points, ...]:
    """The style's strokes in one writer's proportions: wider or narrower, the middle of the
    digit higher or lower, and every point a little off where another writer puts it (the
    writer's own shape, kept in every digit they draw; `place_strokes` adds each drawing's
    wobble on top)."""
    width = float(rng.uniform(0.85, 1.2))
    middle = float(rng.uniform(-0.15, 0.15))
    out = []
    for stroke in strokes:
        points = np.asarray(stroke, dtype=float)
        x, y = points[:, 0] * width, points[:, 1] + middle * points[:, 1] * (1 - points[:, 1])
        off = rng.normal(0.0, WRITER_SHAPE_SPREAD, points.shape)
        out.append(tuple((float(a), float(b)) for a, b in np.column_stack([x, y]) + off))
    return tuple(out)


def _make_writer(style: str, part: str, index: int) -> Writer:
    label, family = STYLE_FAMILIES[style]
    style_number = list(STYLE_FAMILIES).index(style)
    rng = np.random.default_rng([PART_SEED[part], style_number, index])
    hand = HANDS[(index + style_number + PARTS.index(part)) % len(HANDS)]
    strokes = writer_proportions(family(rng), rng)
    source = (
        f"styles.STYLE_FAMILIES[{style!r}] drawn with seed "
        f"({PART_SEED[part]}, {style_number}, {index}) (issue 24)"
    )
    template = Template(label, style, habit_strokes(strokes, hand), source)
    return Writer(f"{part} {index + 1} of {style}", part, hand, template)


@lru_cache(maxsize=1)
def all_writers() -> tuple[Writer, ...]:
    """Every writer of every part: per style, 6 training, 2 validation and 3 test writers."""
    return tuple(
        _make_writer(style, part, index)
        for part in PARTS
        for style in STYLE_FAMILIES
        for index in range(WRITERS_PER_STYLE[part])
    )


def writers(part: str) -> tuple[Writer, ...]:
    """The writers of one part: "training", "validation" or "test"."""
    if part not in PARTS:
        raise ValueError(f"unknown part {part!r}; choose one of: {', '.join(PARTS)}")
    return tuple(w for w in all_writers() if w.part == part)


def place_by_writer(
    writer: Writer, rng: np.random.Generator, size: int = CANVAS_SIZE
) -> tuple[list[np.ndarray], Placement]:
    """The writer's template as pixel paths on a size x size canvas, in their hand (pen width,
    height, a corner), and how it was placed."""
    hand = writer.hand
    paths, placement = place_strokes(
        writer.template, rng, size, pen_range=hand.pen_range, height_range=hand.height_range
    )
    if hand.in_corner:
        every = np.vstack(paths)
        low, high = every.min(axis=0), every.max(axis=0)
        margin = placement.pen / 2 + 2
        corner = rng.integers(0, 2, size=2)
        target = np.where(corner == 0, margin - low, size - margin - high)
        paths = [path + target for path in paths]
        centre = tuple(float(c) for c in (low + high) / 2 + target)
        placement = replace(placement, centre=centre)
    return paths, placement
