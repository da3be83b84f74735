"""The drawn-digit benchmark (`drawn_benchmark`: the benchmark writers' templates, drawn on the
canvas and photographed, always the same digits), and issue 24's writers' benchmark
(`writer_benchmark`: the test or the validation writers, each in their own hand). How a model
reads them is `lenet_viz.explain.drawn_score`."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np

from lenet_viz.data.drawn.benchmark_writers import BENCHMARK_TEMPLATES, NOT_DIGIT_TEMPLATES
from lenet_viz.data.drawn.render import Placement, place_strokes, render_canvas, render_photo
from lenet_viz.data.drawn.templates import Template
from lenet_viz.data.drawn.writers import PARTS, place_by_writer, writers

BENCHMARK_SEED = 10_000  # the benchmark's fixed seed (training synthesis uses others)


@dataclass(frozen=True)
class DrawnDigit:
    """One drawn digit of the benchmark."""

    image: np.ndarray  # RGBA (canvas) or RGB (photo), uint8
    label: int
    style: str
    medium: str  # "canvas" or "photo"
    placement: Placement
    habit: str = "ordinary pen"  # the writer's pen habit (`writers.Hand`)
    writer: str = ""  # the writer's name, for the writers' benchmark


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


WRITER_CANVAS_PER_WRITER = 20
WRITER_PHOTOS_PER_WRITER = 5
WRITER_BENCHMARK_SEED = 24_000


def writer_benchmark(
    part: str = "test",
    canvas_per_writer: int = WRITER_CANVAS_PER_WRITER,
    photos_per_writer: int = WRITER_PHOTOS_PER_WRITER,
    seed: int = WRITER_BENCHMARK_SEED,
) -> list[DrawnDigit]:
    """The writers' benchmark of issue 24: every writer of one part ("test" to report,
    "validation" to choose models) drawing their digit `canvas_per_writer` times on the canvas
    and `photos_per_writer` times on paper, in their own hand. By default, for the test writers:
    19 styles x 3 writers x (20 + 5) = 1,425 digits, 75 per style."""
    out = []
    for index, writer in enumerate(writers(part)):
        for medium, count in (("canvas", canvas_per_writer), ("photo", photos_per_writer)):
            for k in range(count):
                rng = np.random.default_rng([seed, PARTS.index(part), index, k, medium == "photo"])
                paths, placement = place_by_writer(writer, rng)
                if medium == "canvas":
                    image = render_canvas(paths, placement.pen)
                else:
                    image = render_photo(paths, placement.pen, rng)
                drawn = writer.template
                out.append(
                    DrawnDigit(
                        image,
                        drawn.label,
                        drawn.style,
                        medium,
                        placement,
                        writer.hand.name,
                        writer.name,
                    )
                )
    return out


def not_digit_drawings(per_template: int = 5, seed: int = BENCHMARK_SEED + 1) -> list[DrawnDigit]:
    """Scribbles, letters and pairs of digits as drawn on the canvas (label -1)."""
    return list(drawn_digits(NOT_DIGIT_TEMPLATES, per_template, 0, seed))
