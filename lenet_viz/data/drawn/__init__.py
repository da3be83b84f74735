"""Digits as people draw them: pen strokes on the Draw page's canvas, and photos of ink on paper.

MNIST is written with pens on paper by Census employees and students; people on the Draw page
write with a mouse, with a 14-24 px pen on a 280x280 canvas, in their own styles (a 1 with a
flag, a 7 with a crossbar, a closed 4...). This package makes such digits from stroke templates,
so the app's model can be measured, and trained, on drawings rather than on MNIST alone.

Two separate sets of templates, written by hand as point lists (x right, y down, a digit 1 unit
tall), stand for two groups of writers:

- `BENCHMARK_TEMPLATES`: only for measuring (`drawn_benchmark`, `make bench`, the tests);
- `TRAINING_TEMPLATES`: only for synthesizing training digits (`synthesized_training_digits`).

They cover the same styles (a model must know that a 1 may have a flag), but every point list
is different: no template, and no point of one, is shared between the two sets, and the random
variation is drawn from different seeds. A model trained on the training set has never seen a
benchmark stroke. `tests/test_drawn.py` checks that the two sets share no template.

Issue 24 adds writers in 19 styles the issue 10 templates lacked (typeset terminals, the
European 1 and 7, the slashed 0...), each style written by several writers in three parts that
never mix (`writers`: training, validation, test), each writer with a pen habit (a thin or
thick pen, small in a corner, strokes in another order, overshoot, gaps). The training writers
join `TRAINING_TEMPLATES` in synthesis; `writer_benchmark` draws the validation writers (to
choose models) or the test writers (to report). `tests/test_drawn_writers.py` keeps the parts
apart.

A template is drawn with random pen width, size, slant, turn, position and a hand's wobble
(`place_strokes`), then rendered either as the canvas returns it (`render_canvas`: RGBA, black
ink in the alpha channel on a transparent background, anti-aliased, the Draw page's pad's PNG
as the page reads it) or as a photo of ink on paper (`render_photo`: RGB, dark ink on light paper with
texture, uneven lighting and a little blur). Everything is seeded and deterministic.

Modules: `templates` (what a template is), `benchmark_writers` and `training_writers` (the two
sets of issue 10), `styles` and `writers` (issue 24's style families and writers), `render`
(placing and rendering strokes), `benchmark` (the benchmarks; a model's score on them is
`lenet_viz.explain.drawn_score`), `synthesis` (training digits and non-digits). Everything is
importable from here.
"""

from lenet_viz.data.drawn.benchmark import (
    BENCHMARK_CANVAS_PER_TEMPLATE,
    BENCHMARK_PHOTOS_PER_TEMPLATE,
    BENCHMARK_SEED,
    DrawnDigit,
    drawn_benchmark,
    drawn_digits,
    not_digit_drawings,
    writer_benchmark,
)
from lenet_viz.data.drawn.benchmark_writers import BENCHMARK_TEMPLATES, NOT_DIGIT_TEMPLATES
from lenet_viz.data.drawn.render import (
    CANVAS_SIZE,
    PEN_RANGE,
    Placement,
    place_strokes,
    render_canvas,
    render_photo,
    template_paths,
)
from lenet_viz.data.drawn.synthesis import (
    random_non_digit,
    synthesized_non_digits,
    synthesized_training_digits,
)
from lenet_viz.data.drawn.templates import Points, Template, arc, template
from lenet_viz.data.drawn.training_writers import TRAINING_TEMPLATES
from lenet_viz.data.drawn.writers import HANDS, PARTS, Hand, Writer, all_writers, writers

__all__ = [
    "BENCHMARK_CANVAS_PER_TEMPLATE",
    "BENCHMARK_PHOTOS_PER_TEMPLATE",
    "BENCHMARK_SEED",
    "BENCHMARK_TEMPLATES",
    "CANVAS_SIZE",
    "NOT_DIGIT_TEMPLATES",
    "PEN_RANGE",
    "TRAINING_TEMPLATES",
    "DrawnDigit",
    "HANDS",
    "Hand",
    "PARTS",
    "Writer",
    "all_writers",
    "writer_benchmark",
    "writers",
    "Placement",
    "Points",
    "Template",
    "arc",
    "drawn_benchmark",
    "drawn_digits",
    "not_digit_drawings",
    "place_strokes",
    "random_non_digit",
    "render_canvas",
    "render_photo",
    "synthesized_non_digits",
    "synthesized_training_digits",
    "template",
    "template_paths",
]
