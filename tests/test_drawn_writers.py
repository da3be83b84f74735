"""Issue 24's writers: three parts that never mix, every style and pen habit in each, and the
writers' benchmark that reports per style."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from lenet_viz.data.drawn import (
    BENCHMARK_TEMPLATES,
    CANVAS_SIZE,
    HANDS,
    PARTS,
    TRAINING_TEMPLATES,
    all_writers,
    writer_benchmark,
    writers,
)
from lenet_viz.data.drawn.styles import STYLE_FAMILIES
from lenet_viz.data.drawn.writers import habit_strokes
from lenet_viz.data.preprocess import preprocess_digit

# Closer than this (a mean distance between two templates' strokes, in digit heights) is a
# near-duplicate: about 2 px on a 200 px digit, under the issue 10 benchmark's own distance
# from its training templates (0.0084 for its closest pair, "2 plain").
NEAR_DUPLICATE = 0.008


def stroke_cloud(template, step: float = 0.02) -> np.ndarray:
    """Points every `step` along the template's strokes, in digit heights from its corner:
    what the strokes cover, whatever their order and direction."""
    pieces = []
    for stroke in template.strokes:
        points = np.asarray(stroke)
        for a, b in itertools.pairwise(points):
            count = max(1, int(np.hypot(*(b - a)) / step))
            pieces.append(a + np.linspace(0, 1, count, endpoint=False)[:, None] * (b - a))
        pieces.append(points[-1:])
    cloud = np.vstack(pieces)
    low = cloud.min(axis=0)
    return (cloud - low) / (cloud[:, 1].max() - low[1])


def stroke_distance(a: np.ndarray, b: np.ndarray) -> float:
    """How far apart two templates' strokes are: the larger of the two mean distances from a
    point of one to the nearest point of the other (a symmetric Chamfer distance)."""
    gaps = np.linalg.norm(a[:, None, :] - b[None, :, :], axis=2)
    return float(max(gaps.min(axis=1).mean(), gaps.min(axis=0).mean()))


def role_templates() -> dict[str, list]:
    """Every template by the role it plays: training (issue 10's training templates and the
    training writers), validation, test (the issue 10 benchmark and the test writers)."""
    return {
        "training": list(TRAINING_TEMPLATES) + [w.template for w in writers("training")],
        "validation": [w.template for w in writers("validation")],
        "test": list(BENCHMARK_TEMPLATES) + [w.template for w in writers("test")],
    }


def test_each_writer_is_in_one_part_only():
    names = [w.name for w in all_writers()]
    assert len(names) == len(set(names))
    for part in PARTS:
        assert {w.part for w in writers(part)} == {part}
    assert sum(len(writers(part)) for part in PARTS) == len(all_writers())
    with pytest.raises(ValueError, match="unknown part"):
        writers("tuning")


def test_the_parts_share_no_template_and_no_stroke():
    roles = role_templates()
    for first, second in itertools.combinations(PARTS, 2):
        strokes = {s for t in roles[first] for s in t.strokes}
        assert not strokes & {s for t in roles[second] for s in t.strokes}, (first, second)


def test_no_template_of_one_part_is_a_near_duplicate_of_another_parts():
    roles = role_templates()
    clouds = {part: [(t, stroke_cloud(t)) for t in roles[part]] for part in PARTS}
    closest = (np.inf, None)
    for first, second in itertools.combinations(PARTS, 2):
        for (a, cloud_a), (b, cloud_b) in itertools.product(clouds[first], clouds[second]):
            if a.label == b.label:
                distance = stroke_distance(cloud_a, cloud_b)
                closest = min(closest, (distance, f"{a.style} / {b.style}"), key=lambda c: c[0])
    assert closest[0] >= NEAR_DUPLICATE, closest


def test_every_style_and_every_pen_habit_is_in_every_part():
    for part in PARTS:
        assert {w.template.style for w in writers(part)} == set(STYLE_FAMILIES)
        assert {w.hand.name for w in writers(part)} == {h.name for h in HANDS}
        for style in STYLE_FAMILIES:
            assert sum(w.template.style == style for w in writers(part)) >= 2, (part, style)


def test_every_template_records_its_style_and_source():
    for writer in all_writers():
        label, _ = STYLE_FAMILIES[writer.template.style]
        assert writer.template.label == label
        assert "STYLE_FAMILIES" in writer.template.source and "issue 24" in writer.template.source
    for template in TRAINING_TEMPLATES + BENCHMARK_TEMPLATES:
        assert template.source and template.style


def test_the_issues_styles_are_covered():
    for style in (
        "6 ball top",
        "6 curled top",
        "9 ball tail",
        "1 base serif",
        "4 open top",
        "7 beak serif",
        "1 European",
        "7 European",
        "2 with loop",
        "2 without loop",
        "3 flat top",
        "5 flag joined",
        "5 flag separate",
        "8 two loops",
        "8 one crossing stroke",
        "0 slashed",
        "0 dotted",
    ):
        assert style in STYLE_FAMILIES


def test_pen_habits_change_the_strokes_as_named():
    strokes = (((0.0, 0.0), (0.0, 1.0)), ((0.0, 0.5), (0.5, 0.5)))
    by_name = {h.name: h for h in HANDS}
    reversed_ = habit_strokes(strokes, by_name["other stroke order and direction"])
    assert reversed_ == (((0.5, 0.5), (0.0, 0.5)), ((0.0, 1.0), (0.0, 0.0)))
    longer = habit_strokes(strokes, by_name["overshooting stroke ends"])
    assert longer[0][0][1] < 0.0 and longer[0][-1][1] > 1.0
    shorter = habit_strokes(strokes, by_name["gaps where strokes meet"])
    assert shorter[1][0][0] > 0.0 and shorter[1][-1][0] < 0.5


def test_the_writers_benchmark_draws_each_writer_in_their_hand():
    digits = writer_benchmark("test", canvas_per_writer=1, photos_per_writer=0)
    assert len(digits) == len(writers("test"))
    by_habit = {}
    for digit, writer in zip(digits, writers("test"), strict=True):
        assert (digit.writer, digit.habit, digit.style) == (
            writer.name,
            writer.hand.name,
            writer.template.style,
        )
        assert not preprocess_digit(digit.image).blank, writer.name
        by_habit.setdefault(digit.habit, []).append(digit.placement)
    assert max(p.pen for p in by_habit["thin pen"]) <= 9.0
    assert min(p.pen for p in by_habit["thick pen"]) >= 27.0
    for placement in by_habit["small in a corner"]:
        assert placement.height <= 0.32 * CANVAS_SIZE
        x, y = placement.centre
        assert min(x, CANVAS_SIZE - x) < 0.25 * CANVAS_SIZE
        assert min(y, CANVAS_SIZE - y) < 0.25 * CANVAS_SIZE
    again = writer_benchmark("test", canvas_per_writer=1, photos_per_writer=0)
    np.testing.assert_array_equal(digits[5].image, again[5].image)
