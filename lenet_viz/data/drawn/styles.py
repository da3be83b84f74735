"""The styles of issue 24: digits as type designers and people outside MNIST write them.

Each style is a family of stroke templates: a function of a random generator that writes one
digit in that style, with that writer's own proportions (how wide, where the bar sits, how big
the ball or the curl is). A writer (`writers`) is one draw of one family with a seed of its
own, so the same style comes out as several different hands, and no two writers share a point.

The typeset styles follow the terminals of printed digits: a ball terminal ends the top of a 6
and the tail of a 9 in many serif faces (Bodoni, Didot), a curled ("hooked") top ends the 6 of
others; a 1 with a base serif and a 7 with a beak serif are typeset forms too. The rest are
handwriting conventions: the European 1 (a long upstroke) and 7 (a crossbar), the 2 with and
without a loop, the flat-topped 3, the 5 with its flag joined or lifted, the 8 as two loops or
one crossing stroke, the 0 with a slash or a dot.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from lenet_viz.data.drawn.templates import Points, arc

Strokes = list[Points]


def _u(rng: np.random.Generator, low: float, high: float) -> float:
    return float(rng.uniform(low, high))


def _ball(cx: float, cy: float, radius: float) -> Points:
    """A ball terminal as a pen makes one: a small tight spiral that the pen fills in."""
    turns = np.linspace(0, 4 * np.pi, 24)
    radii = np.linspace(radius, radius * 0.2, 24)
    pairs = zip(radii, turns, strict=True)
    return tuple((cx + r * float(np.cos(t)), cy + r * float(np.sin(t))) for r, t in pairs)


def zero_slashed(rng) -> Strokes:
    rx, ry = _u(rng, 0.22, 0.32), _u(rng, 0.46, 0.5)
    start = _u(rng, -110, -70)
    out = _u(rng, 0.95, 1.25)  # how far the slash reaches past the oval
    oval = arc(0.35, 0.5, rx, ry, start, start + _u(rng, 355, 375), 16)
    slash = ((0.35 - rx * out, 0.5 + ry * out * 0.85), (0.35 + rx * out, 0.5 - ry * out * 0.85))
    return [oval, slash]


def zero_dotted(rng) -> Strokes:
    rx, ry = _u(rng, 0.22, 0.32), _u(rng, 0.46, 0.5)
    start = _u(rng, -110, -70)
    oval = arc(0.35, 0.5, rx, ry, start, start + _u(rng, 355, 375), 16)
    dot = arc(0.35 + _u(rng, -0.03, 0.03), 0.5 + _u(rng, -0.05, 0.05), 0.02, 0.02, 0, 360, 8)
    return [oval, dot]


def one_base_serif(rng) -> Strokes:
    x = _u(rng, 0.3, 0.36)
    flag = ((x - _u(rng, 0.14, 0.26), _u(rng, 0.1, 0.24)), (x, 0.0), (x, 1.0))
    half = _u(rng, 0.16, 0.28)
    return [flag, ((x - half, 1.0), (x + half * _u(rng, 0.85, 1.15), 1.0))]


def one_european(rng) -> Strokes:
    x = _u(rng, 0.38, 0.46)
    return [((x - _u(rng, 0.32, 0.42), _u(rng, 0.3, 0.5)), (x, 0.0), (x - _u(rng, 0.0, 0.04), 1.0))]


def two_plain(rng) -> Strokes:
    w = _u(rng, 0.52, 0.64)
    return [
        (
            (0.03, _u(rng, 0.16, 0.28)),
            (w * 0.3, 0.02),
            (w * 0.62, 0.0),
            (w * 0.92, _u(rng, 0.12, 0.2)),
            (w * 0.9, _u(rng, 0.3, 0.38)),
            (w * 0.55, _u(rng, 0.58, 0.66)),
            (0.02, 1.0),
            (w * _u(rng, 0.95, 1.08), _u(rng, 0.97, 1.0)),
        )
    ]


def two_loop(rng) -> Strokes:
    w = _u(rng, 0.52, 0.62)
    loop = _u(rng, 0.08, 0.14)  # size of the loop at the foot
    return [
        (
            (0.04, _u(rng, 0.18, 0.28)),
            (w * 0.35, 0.0),
            (w * 0.85, 0.06),
            (w * 0.95, 0.3),
            (w * 0.45, 0.7),
            (0.1, 1.0 - loop),
            (0.06, 0.98),
            (0.12 + loop, 1.0),
            (0.14 + loop, 0.96 - loop),
            (0.1, 0.9 - loop * 0.4),
            (0.18, 1.0),
            (w * 1.02, _u(rng, 0.96, 1.0)),
        )
    ]


def three_flat_top(rng) -> Strokes:
    w = _u(rng, 0.52, 0.62)
    waist = _u(rng, 0.36, 0.46)
    return [
        (
            (0.03, 0.0),
            (w, _u(rng, 0.0, 0.03)),
            (w * 0.4, waist),
            (w * 0.9, waist + 0.08),
            (w * 1.05, waist + 0.3),
            (w * 0.8, 0.94),
            (w * 0.35, 1.0),
            (0.0, _u(rng, 0.82, 0.9)),
        )
    ]


def four_open_top(rng) -> Strokes:
    bar = _u(rng, 0.56, 0.68)
    lean = _u(rng, 0.0, 0.1)
    stem_x = _u(rng, 0.4, 0.5)
    left = ((0.04 + lean, 0.0), (0.02, bar), (_u(rng, 0.58, 0.68), bar))
    return [left, ((stem_x, _u(rng, 0.0, 0.3)), (stem_x + _u(rng, -0.03, 0.03), 1.0))]


def four_closed_serif(rng) -> Strokes:
    bar = _u(rng, 0.64, 0.72)
    stem_x = _u(rng, 0.42, 0.5)
    foot = _u(rng, 0.1, 0.16)
    return [
        ((stem_x, 0.0), (0.0, bar), (_u(rng, 0.6, 0.7), bar)),
        ((stem_x, 0.0), (stem_x, 1.0)),
        ((stem_x - foot, 1.0), (stem_x + foot, 1.0)),
    ]


def five_flag_joined(rng) -> Strokes:
    w = _u(rng, 0.55, 0.64)
    neck = _u(rng, 0.38, 0.46)
    return [
        (
            (w, 0.0),
            (0.12, _u(rng, 0.0, 0.03)),
            (0.08, neck),
            (w * 0.5, neck - 0.05),
            (w * 0.95, neck + 0.1),
            (w * 1.02, 0.72),
            (w * 0.8, 0.94),
            (w * 0.4, 1.0),
            (0.0, _u(rng, 0.86, 0.94)),
        )
    ]


def five_flag_separate(rng) -> Strokes:
    w = _u(rng, 0.55, 0.64)
    neck = _u(rng, 0.38, 0.46)
    body = (
        (0.12, 0.0),
        (0.08, neck),
        (w * 0.55, neck - 0.04),
        (w, neck + 0.14),
        (w * 0.96, 0.8),
        (w * 0.6, 0.99),
        (0.0, _u(rng, 0.86, 0.94)),
    )
    lift = _u(rng, 0.0, 0.05)  # a flag lifted off the stem, or touching it
    return [body, ((0.12 + lift, _u(rng, 0.0, 0.02)), (w * _u(rng, 0.95, 1.1), 0.0))]


def _six_body(rng, top: tuple[float, float]) -> Points:
    bowl = _u(rng, 0.42, 0.52)  # where the bowl's top sits
    return (
        top,
        (0.26, 0.16),
        (0.1, 0.4),
        (0.05, 0.7),
        (0.16, 0.95),
        (0.34, 1.0),
        (0.52, 0.9),
        (0.56, 0.72),
        (0.44, bowl + 0.04),
        (0.24, bowl),
        (0.08, bowl + 0.2),
    )


def six_ball_top(rng) -> Strokes:
    top = (_u(rng, 0.44, 0.52), _u(rng, 0.04, 0.08))
    return [_six_body(rng, top), _ball(top[0], top[1], _u(rng, 0.03, 0.07))]


def six_curled_top(rng) -> Strokes:
    top = (_u(rng, 0.46, 0.54), _u(rng, 0.03, 0.06))
    curl = _u(rng, 0.06, 0.14)
    # the stroke starts below the top's right end and hooks over it, opening downwards
    hook = ((top[0] + curl * 0.8, top[1] + curl * 1.3), (top[0] + curl * 0.6, top[1] - 0.01))
    return [hook + _six_body(rng, (top[0] - curl * 0.2, top[1]))]


def seven_serif(rng) -> Strokes:
    beak = _u(rng, 0.1, 0.2)
    w = _u(rng, 0.55, 0.65)
    return [((0.0, beak), (0.0, 0.0), (w, 0.0), (_u(rng, 0.18, 0.3), 1.0))]


def seven_european(rng) -> Strokes:
    w = _u(rng, 0.55, 0.65)
    foot = _u(rng, 0.18, 0.3)
    bar_y = _u(rng, 0.45, 0.55)
    bar_x = foot + (w - foot) * (1 - bar_y)
    half = _u(rng, 0.14, 0.22)
    return [
        ((0.0, _u(rng, 0.0, 0.06)), (w, 0.0), (foot, 1.0)),
        ((bar_x - half, bar_y), (bar_x + half, bar_y + _u(rng, -0.03, 0.03))),
    ]


def eight_two_loops(rng) -> Strokes:
    waist = _u(rng, 0.44, 0.52)
    top_r, bottom_r = _u(rng, 0.18, 0.24), _u(rng, 0.24, 0.3)
    return [
        arc(0.3, waist / 2, top_r, waist / 2, -90, 272, 13),
        arc(0.3, (1 + waist) / 2, bottom_r, (1 - waist) / 2, -90, 272, 13),
    ]


def eight_crossing(rng) -> Strokes:
    waist = _u(rng, 0.42, 0.52)
    w = _u(rng, 0.5, 0.6)
    return [
        (
            (w * 0.95, 0.12),
            (w * 0.55, 0.0),
            (w * 0.1, 0.1),
            (w * 0.15, waist * 0.6),
            (w * 0.5, waist),
            (w, waist + 0.2),
            (w * 0.9, 0.9),
            (w * 0.5, 1.0),
            (w * 0.05, 0.88),
            (w * 0.05, waist + 0.2),
            (w * 0.5, waist),
            (w * 0.9, waist * 0.5),
            (w * _u(rng, 0.95, 1.1), _u(rng, 0.06, 0.14)),
        )
    ]


def nine_ball_tail(rng) -> Strokes:
    bowl = _u(rng, 0.38, 0.46)
    tail = (_u(rng, 0.06, 0.16), _u(rng, 0.92, 0.96))
    loop = (
        (0.55, 0.2),
        (0.4, 0.0),
        (0.12, 0.04),
        (0.04, bowl * 0.55),
        (0.2, bowl),
        (0.46, bowl - 0.04),
        (0.56, 0.22),
        (0.56, 0.62),
        (0.44, 0.9),
        tail,
    )
    return [loop, _ball(tail[0], tail[1], _u(rng, 0.03, 0.07))]


def nine_curled_tail(rng) -> Strokes:
    bowl = _u(rng, 0.38, 0.46)
    curl = _u(rng, 0.06, 0.1)
    return [
        (
            (0.56, 0.22),
            (0.42, 0.0),
            (0.12, 0.04),
            (0.04, bowl * 0.55),
            (0.22, bowl),
            (0.5, bowl - 0.06),
            (0.58, 0.3),
            (0.56, 0.7),
            (0.42, 0.96),
            (0.2, 1.0),
            (0.1 - curl * 0.3, 1.0 - curl),
            (0.16, 1.0 - curl * 1.6),
        )
    ]


STYLE_FAMILIES: dict[str, tuple[int, Callable[[np.random.Generator], Strokes]]] = {
    "0 slashed": (0, zero_slashed),
    "0 dotted": (0, zero_dotted),
    "1 base serif": (1, one_base_serif),
    "1 European": (1, one_european),
    "2 without loop": (2, two_plain),
    "2 with loop": (2, two_loop),
    "3 flat top": (3, three_flat_top),
    "4 open top": (4, four_open_top),
    "4 closed, foot serif": (4, four_closed_serif),
    "5 flag joined": (5, five_flag_joined),
    "5 flag separate": (5, five_flag_separate),
    "6 ball top": (6, six_ball_top),
    "6 curled top": (6, six_curled_top),
    "7 beak serif": (7, seven_serif),
    "7 European": (7, seven_european),
    "8 two loops": (8, eight_two_loops),
    "8 one crossing stroke": (8, eight_crossing),
    "9 ball tail": (9, nine_ball_tail),
    "9 curled tail": (9, nine_curled_tail),
}
