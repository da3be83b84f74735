"""Text, numbers and ticks as SVG: lines of text with Plotly's markup (<b>, <i>, <br>),
round tick values and their labels, hover texts."""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from xml.sax.saxutils import escape

WIDTH = 1000  # the drawing's own width; the page scales it to the room it has


LINE_HEIGHT = 1.3  # of a text line, in font sizes


DEFAULT_FONT_SIZE = 12


DEFAULT_COLOR = "#2a3f5f"  # Plotly's text colour


GRID_COLOR = "#e5e5e5"


FONT_FAMILY = "sans-serif"


def num(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


MARKUP = re.compile(r"(</?[bi]>)")


def marked_up(line: str) -> str:
    """One line of Plotly's text markup as escaped SVG text with bold and italic tspans."""
    out, bold, italic = [], False, False
    for piece in MARKUP.split(line):
        if piece in ("<b>", "</b>"):
            bold = piece == "<b>"
        elif piece in ("<i>", "</i>"):
            italic = piece == "<i>"
        elif piece:
            style = ' font-weight="bold"' if bold else ""
            style += ' font-style="italic"' if italic else ""
            text = escape(re.sub(r"</?(sub|sup)>", "", piece))
            out.append(f"<tspan{style}>{text}</tspan>" if style else text)
    return "".join(out)


def text_lines(
    lines: Sequence[str], x: float, y: float, size: float, anchor: str, vertical: str, color: str
) -> str:
    """Lines of text at (x, y): `anchor` start/middle/end, `vertical` top/middle/bottom of
    the block of lines."""
    step = LINE_HEIGHT * size
    block = step * len(lines)
    top = {"top": y, "bottom": y - block}.get(vertical, y - block / 2)
    first = top + 0.5 * step + 0.35 * size  # the first line's baseline, centred in its line
    spans = "".join(
        f'<tspan x="{num(x)}" y="{num(first + i * step)}">{marked_up(line)}</tspan>'
        for i, line in enumerate(lines)
    )
    return f'<text font-size="{num(size)}" fill="{color}" text-anchor="{anchor}">{spans}</text>'


def nice_step(span: float, ticks: int = 5) -> float:
    raw = span / ticks if span > 0 else 1.0
    power = 10 ** math.floor(math.log10(raw))
    return next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw)


def hover_text(template: str, x: str, y: float) -> str:
    """Plotly's hover template filled in for one bar or point (%{x}, %{y}, %{y:.3f}, %{y:.1%}),
    its line breaks as new lines (a tooltip shows them) and its other markup left out."""

    def value(match: re.Match) -> str:
        name, spec = match.group(1), match.group(2)
        if name == "x":
            return x
        return format(y, spec[1:]) if spec else f"{y:g}"

    text = re.sub(r"%\{(x|y)(:[^}]*)?\}", value, template)
    text = re.sub(r"<extra>.*?</extra>", "", text).replace("<br>", "\n")
    return re.sub(r"</?(b|i|sub|sup)>", "", text)


def line_tip(name: str, text: str) -> str:
    """A line's tooltip: its name, then its newest point's hover text (which may name it
    already: "C1: 1.00e-04", not "C1: C1: 1.00e-04")."""
    return text if not name or text.startswith(f"{name}:") else f"{name}: {text}"


def round_ticks(low: float, high: float, count: int = 5) -> list[float]:
    """A few round values from `low` to `high`."""
    step = nice_step(high - low, count)
    first = math.ceil(low / step - 1e-9)
    last = math.floor(high / step + 1e-9)
    return [round(i * step, 12) + 0.0 for i in range(first, last + 1)]  # no -0


def tick_label(value: float, tickformat: str | None) -> str:
    """A tick's label: its axis's `tickformat` where Python's `format` reads it the same
    (".0%", ".2f", ",d"...), else the plain number."""
    if tickformat:
        try:
            return format(value, tickformat)
        except ValueError:
            pass
    return f"{value:.10g}" if abs(value) > 1e-12 else "0"


def line_mark(x1: float, y1: float, x2: float, y2: float, color: str) -> str:
    return f'<line x1="{num(x1)}" y1="{num(y1)}" x2="{num(x2)}" y2="{num(y2)}" stroke="{color}"/>'


def y_title_mark(text: str, x: float, middle: float, font_size: float) -> str:
    """A y axis's title, turned to read upwards, centred on `middle`."""
    return (
        f'<text font-size="{num(font_size - 1)}" fill="#444" text-anchor="middle" '
        f'transform="translate({num(x)},{num(middle)}) rotate(-90)">{marked_up(text)}</text>'
    )


SUPERSCRIPT = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")


def axis_ticks(axis: dict, placed_range: list[float], log: bool) -> list[tuple[float, str]]:
    """(value, label) of an axis's ticks: a few round values, or on a log axis each power of
    ten in range, labelled 10⁻³ (Plotly's `exponentformat="power"`)."""
    if not log:
        return [
            (t, tick_label(t, axis.get("tickformat"))) for t in round_ticks(*sorted(placed_range))
        ]
    low, high = sorted(placed_range)
    powers = range(math.ceil(low - 1e-9), math.floor(high + 1e-9) + 1)
    step = max(1, math.ceil(len(powers) / 6))  # at most about six labels
    return [(10.0**p, "10" + str(p).translate(SUPERSCRIPT)) for p in powers[::step]]


def plain_length(text: str) -> str:
    """Text without its markup, wide characters (CJK) counted twice, for its width."""
    plain = re.sub(r"</?[a-z]+>", "", text)
    return "".join(ch * (2 if ord(ch) > 0x2E80 else 1) for ch in plain)
