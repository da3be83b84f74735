"""A stroke template: one way of writing one digit, as point lists (x right, y down, the digit
1 unit tall), in the order a pen draws them; `arc` and `template` write them shortly."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

Points = tuple[tuple[float, float], ...]


@dataclass(frozen=True)
class Template:
    """One way of writing one digit: its strokes, in the order a pen draws them."""

    label: int  # 0-9, or -1 for marks that are not a digit (scribbles, letters)
    style: str  # e.g. "1 with flag", "7 crossbar"
    strokes: tuple[Points, ...]
    source: str = "hand-written point list (issue 10)"  # where the template comes from


def arc(cx, cy, rx, ry, start, end, n=14) -> Points:
    """Points on an ellipse from angle `start` to `end` (degrees; 0 = right, 90 = down)."""
    angles = np.radians(np.linspace(start, end, n))
    return tuple((cx + rx * math.cos(a), cy + ry * math.sin(a)) for a in angles)


def template(label: int, style: str, *strokes: Sequence[tuple[float, float]]) -> Template:
    """A Template from point lists (any sequences of (x, y))."""
    return Template(label, style, tuple(tuple((float(x), float(y)) for x, y in s) for s in strokes))
