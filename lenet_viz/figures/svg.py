"""A static Plotly figure drawn as an SVG string, for a page that needs no interaction with it.

Loading and starting Plotly.js costs a browser tab about a second on one core, and every chart
more on top (issue 22); a figure nobody zooms or clicks can be drawn by the page itself instead.
The Plotly figure function stays the one source of the figure: this module reads what it built.

Handled: the layout's rectangles (`add_shape(type="rect")`), its annotations (text with <b>,
<i> and <br>, and arrows in data coordinates), its title and axis titles, bar traces
(category or numeric x) with a zero line, y ticks and each bar's hover text as its tooltip,
and one heatmap drawn as a picture (a PNG inside the SVG, pixels kept square when the y axis is
anchored to x; such an SVG is for an <img>, which shows pictures inside it, e.g. `st.image`).
Anything else in a figure is left out, so only figures made of those belong here.
"""

from __future__ import annotations

import base64
import io
import math
import re
from collections.abc import Sequence
from xml.sax.saxutils import escape, quoteattr

import numpy as np
import plotly.graph_objects as go
from PIL import Image

WIDTH = 1000  # the drawing's own width; the page scales it to the room it has
LINE_HEIGHT = 1.3  # of a text line, in font sizes
DEFAULT_FONT_SIZE = 12
DEFAULT_COLOR = "#2a3f5f"  # Plotly's text colour
GRID_COLOR = "#e5e5e5"
FONT_FAMILY = "sans-serif"


def figure_svg(fig: go.Figure, *, alt: str, width: int = WIDTH) -> str:
    """`fig` as one line of SVG, scaled to its container's width, named `alt` for screen
    readers (role img, aria-label and a <title>)."""
    layout = fig.layout.to_plotly_json()
    data = [_trace(trace) for trace in fig.data]
    height = int(layout.get("height") or 450)
    frame = _Frame(layout, width, height, data)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'width="100%" style="display: block" role="img" aria-label={quoteattr(alt)} '
        f'font-family="{FONT_FAMILY}" class="static-figure">',
        f"<title>{escape(alt)}</title>",
    ]
    font_size = (layout.get("font") or {}).get("size") or DEFAULT_FONT_SIZE
    for trace in data:
        if trace.get("type") == "bar":
            parts.extend(_bars(trace, frame, font_size, layout))
        elif trace.get("type") == "heatmap":
            parts.append(_picture(trace, frame))
    for shape in layout.get("shapes", ()):
        if shape.get("type") == "rect":
            parts.append(_rect(shape, frame))
    for note in layout.get("annotations", ()):
        parts.extend(_annotation(note, frame, font_size))
    title = layout.get("title") or {}
    if title.get("text"):
        size = (title.get("font") or {}).get("size") or font_size + 2
        parts.append(_text([title["text"]], 10, 8, size, "start", "top", DEFAULT_COLOR))
    parts.append("</svg>")
    return "".join(parts)


def _trace(trace) -> dict:
    """What is drawn of a trace, as plain values (a figure's JSON packs arrays as bytes)."""
    if trace.type == "heatmap":
        return {
            "type": "heatmap",
            "z": np.asarray(trace.z, dtype=np.float32),
            "colorscale": [(float(at), color) for at, color in trace.colorscale],
            "zmin": trace.zmin,
            "zmax": trace.zmax,
        }
    if trace.type != "bar":
        return {"type": trace.type}
    color = trace.marker.color
    return {
        "type": "bar",
        "x": [str(x) for x in trace.x] if trace.x is not None else [],
        "y": [float(y) for y in trace.y] if trace.y is not None else [],
        "marker": {"color": list(color) if isinstance(color, (list, tuple)) else color},
        "hovertemplate": trace.hovertemplate,
    }


class _Frame:
    """Data coordinates to the drawing's pixels: the plot area inside the margins, the axes'
    ranges from the layout (or from the bars)."""

    def __init__(self, layout: dict, width: int, height: int, data: list) -> None:
        margin = {"l": 80, "r": 80, "t": 100, "b": 80} | (layout.get("margin") or {})
        bars = [trace for trace in data if trace.get("type") == "bar"]
        self.categories: list | None = None
        if bars:
            margin["l"] += 46 + (18 if _axis_title(layout, "yaxis") else 0)  # y ticks, title
            margin["b"] += 22  # x tick labels
            margin["t"] = max(margin["t"], 36 if (layout.get("title") or {}).get("text") else 0)
        self.left, self.top = margin["l"], margin["t"]
        self.width = max(1.0, width - margin["l"] - margin["r"])
        self.height = max(1.0, height - margin["t"] - margin["b"])
        xaxis, yaxis = layout.get("xaxis") or {}, layout.get("yaxis") or {}
        self.x_range = xaxis.get("range") or [0, 1]
        self.y_range = yaxis.get("range") or [0, 1]
        pictures = [trace for trace in data if trace.get("type") == "heatmap"]
        if pictures:  # pixels centred on whole coordinates, row 0 at the top if reversed
            rows, columns = pictures[0]["z"].shape
            self.x_range = xaxis.get("range") or [-0.5, columns - 0.5]
            self.y_range = yaxis.get("range") or [-0.5, rows - 0.5]
            if yaxis.get("autorange") == "reversed":
                self.y_range = self.y_range[::-1]
            if yaxis.get("scaleanchor") == "x":  # square pixels: the plot area shrinks, centred
                x_span = abs(self.x_range[1] - self.x_range[0])
                y_span = abs(self.y_range[1] - self.y_range[0])
                scale = min(self.width / x_span, self.height / y_span)
                self.left += (self.width - scale * x_span) / 2
                self.top += (self.height - scale * y_span) / 2
                self.width, self.height = scale * x_span, scale * y_span
        if bars:
            xs = list(bars[0].get("x", ()))
            self.categories = [str(x) for x in xs]
            self.x_range = [-0.5, len(xs) - 0.5]
            if not yaxis.get("range"):
                ys = [float(y) for trace in bars for y in trace.get("y", ())]
                low, high = min([0.0, *ys]), max([0.0, *ys])
                pad = 0.05 * ((high - low) or 1.0)
                self.y_range = [low - pad if low < 0 else 0.0, high + pad if high > 0 else 0.0]

    def x(self, value: float) -> float:
        low, high = self.x_range
        return self.left + (float(value) - low) / (high - low) * self.width

    def y(self, value: float) -> float:
        low, high = self.y_range
        return self.top + (high - float(value)) / (high - low) * self.height


def _picture(trace: dict, frame: _Frame) -> str:
    """A heatmap as a PNG in the plot area: its colour scale applied, NaN transparent."""
    z = trace["z"]
    low = float(np.nanmin(z)) if trace["zmin"] is None else float(trace["zmin"])
    high = float(np.nanmax(z)) if trace["zmax"] is None else float(trace["zmax"])
    position = np.clip((np.nan_to_num(z, nan=low) - low) / ((high - low) or 1.0), 0.0, 1.0)
    stops = [at for at, _ in trace["colorscale"]]
    colors = np.array([_rgb(color) for _, color in trace["colorscale"]], dtype=np.float32)
    rgb = np.stack([np.interp(position, stops, colors[:, i]) for i in range(3)], axis=-1)
    alpha = np.where(np.isnan(z), 0, 255)[..., None]
    pixels = np.concatenate([rgb.round(), alpha], axis=-1).astype(np.uint8)
    png = io.BytesIO()
    Image.fromarray(pixels, "RGBA").save(png, format="PNG")
    data = base64.b64encode(png.getvalue()).decode("ascii")
    rows, columns = z.shape
    x0, x1 = sorted((frame.x(-0.5), frame.x(columns - 0.5)))
    y0, y1 = sorted((frame.y(-0.5), frame.y(rows - 0.5)))
    return (
        f'<image x="{_num(x0)}" y="{_num(y0)}" width="{_num(x1 - x0)}" height="{_num(y1 - y0)}" '
        f'preserveAspectRatio="none" image-rendering="pixelated" '
        f'href="data:image/png;base64,{data}"/>'
    )


def _rgb(color: str) -> tuple[int, int, int]:
    """A colour scale's colour ("#rrggbb" or "rgb(r, g, b)") as three numbers."""
    if color.startswith("#"):
        return tuple(int(color[i : i + 2], 16) for i in (1, 3, 5))
    return tuple(int(float(v)) for v in re.findall(r"[\d.]+", color)[:3])


def _axis_title(layout: dict, axis: str) -> str:
    return ((layout.get(axis) or {}).get("title") or {}).get("text") or ""


def _num(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


def _rect(shape: dict, frame: _Frame) -> str:
    x0, x1 = sorted((frame.x(shape["x0"]), frame.x(shape["x1"])))
    y0, y1 = sorted((frame.y(shape["y0"]), frame.y(shape["y1"])))
    line = shape.get("line") or {}
    return (
        f'<rect x="{_num(x0)}" y="{_num(y0)}" width="{_num(x1 - x0)}" height="{_num(y1 - y0)}" '
        f'fill="{shape.get("fillcolor", "none")}" fill-opacity="{shape.get("opacity", 1)}" '
        f'stroke="{line.get("color", "#444")}" stroke-width="{line.get("width", 1)}"/>'
    )


def _annotation(note: dict, frame: _Frame, font_size: float) -> list[str]:
    x, y = frame.x(note.get("x", 0)), frame.y(note.get("y", 0))
    parts = []
    if note.get("showarrow", True) and note.get("axref") == "x" and note.get("ayref") == "y":
        parts.append(_arrow(frame.x(note["ax"]), frame.y(note["ay"]), x, y, note))
    text = note.get("text") or ""
    if text:
        font = note.get("font") or {}
        anchor = {"left": "start", "right": "end"}.get(note.get("xanchor"), "middle")
        parts.append(
            _text(
                text.split("<br>"),
                x,
                y,
                font.get("size") or font_size,
                anchor,
                note.get("yanchor") or "middle",
                font.get("color") or DEFAULT_COLOR,
            )
        )
    return parts


def _arrow(x0: float, y0: float, x1: float, y1: float, note: dict) -> str:
    """A line from (x0, y0) to (x1, y1) ending in a triangle."""
    color, width = note.get("arrowcolor", "#444"), float(note.get("arrowwidth") or 1)
    angle = math.atan2(y1 - y0, x1 - x0)
    size = 4 * width
    back_x, back_y = x1 - size * math.cos(angle), y1 - size * math.sin(angle)
    side_x, side_y = size * 0.6 * -math.sin(angle), size * 0.6 * math.cos(angle)
    head = " ".join(
        f"{_num(px)},{_num(py)}"
        for px, py in (
            (x1, y1),
            (back_x + side_x, back_y + side_y),
            (back_x - side_x, back_y - side_y),
        )
    )
    return (
        f'<line x1="{_num(x0)}" y1="{_num(y0)}" x2="{_num(back_x)}" y2="{_num(back_y)}" '
        f'stroke="{color}" stroke-width="{_num(width)}"/>'
        f'<polygon points="{head}" fill="{color}"/>'
    )


MARKUP = re.compile(r"(</?[bi]>)")


def _spans(line: str) -> str:
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


def _text(
    lines: Sequence[str], x: float, y: float, size: float, anchor: str, vertical: str, color: str
) -> str:
    """Lines of text at (x, y): `anchor` start/middle/end, `vertical` top/middle/bottom of
    the block of lines."""
    step = LINE_HEIGHT * size
    block = step * len(lines)
    top = {"top": y, "bottom": y - block}.get(vertical, y - block / 2)
    first = top + 0.5 * step + 0.35 * size  # the first line's baseline, centred in its line
    spans = "".join(
        f'<tspan x="{_num(x)}" y="{_num(first + i * step)}">{_spans(line)}</tspan>'
        for i, line in enumerate(lines)
    )
    return f'<text font-size="{_num(size)}" fill="{color}" text-anchor="{anchor}">{spans}</text>'


def _nice_step(span: float, ticks: int = 5) -> float:
    raw = span / ticks if span > 0 else 1.0
    power = 10 ** math.floor(math.log10(raw))
    return next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw)


def _hover(template: str, x: str, y: float) -> str:
    """Plotly's hover template filled in for one bar (%{x}, %{y}, %{y:.3f}, %{y:.1%})."""

    def value(match: re.Match) -> str:
        name, spec = match.group(1), match.group(2)
        if name == "x":
            return x
        return format(y, spec[1:]) if spec else f"{y:g}"

    text = re.sub(r"%\{(x|y)(:[^}]*)?\}", value, template)
    return re.sub(r"<extra>.*?</extra>", "", text)


def _bars(trace: dict, frame: _Frame, font_size: float, layout: dict) -> list[str]:
    """Bars, their zero line, the y axis's ticks and title, and the x axis's labels."""
    parts = []
    low, high = frame.y_range
    step = _nice_step(high - low)
    tick = math.ceil(low / step) * step
    while tick <= high + 1e-9:
        y = frame.y(tick)
        parts.append(
            f'<line x1="{_num(frame.left)}" x2="{_num(frame.left + frame.width)}" '
            f'y1="{_num(y)}" y2="{_num(y)}" stroke="{GRID_COLOR}"/>'
        )
        label = f"{tick:.10g}" if abs(tick) > 1e-12 else "0"
        parts.append(_text([label], frame.left - 6, y, font_size - 2, "end", "middle", "#444"))
        tick += step
    y_title = _axis_title(layout, "yaxis")
    if y_title:
        middle = frame.top + frame.height / 2
        parts.append(
            f'<text font-size="{_num(font_size - 1)}" fill="#444" text-anchor="middle" '
            f'transform="translate({_num(frame.left - 56)},{_num(middle)}) rotate(-90)">'
            f"{_spans(y_title)}</text>"
        )
    xs = [str(x) for x in trace.get("x", ())]
    ys = [float(y) for y in trace.get("y", ())]
    colors = (trace.get("marker") or {}).get("color")
    gap = float(layout.get("bargap", 0.2))
    half = (1 - gap) / 2
    zero = frame.y(0.0)
    template = trace.get("hovertemplate") or "%{x}: %{y}"
    for i, (x, y) in enumerate(zip(xs, ys, strict=False)):
        color = colors[i] if isinstance(colors, (list, tuple)) else (colors or "#1f77b4")
        left, right = frame.x(i - half), frame.x(i + half)
        top, bottom = sorted((frame.y(y), zero))
        parts.append(
            f'<rect x="{_num(left)}" y="{_num(top)}" width="{_num(right - left)}" '
            f'height="{_num(max(bottom - top, 0.5))}" fill="{color}">'
            f"<title>{escape(_hover(template, x, y))}</title></rect>"
        )
    parts.append(
        f'<line x1="{_num(frame.left)}" x2="{_num(frame.left + frame.width)}" '
        f'y1="{_num(zero)}" y2="{_num(zero)}" stroke="#444"/>'
    )
    bottom = frame.top + frame.height + 4
    every = max(1, math.ceil(len(xs) / 25))  # at most 25 labels: 120 units show 0, 5, 10...
    if every > 1:
        every = int(_nice_step(len(xs), max(1, len(xs) // every)))
    for i, x in enumerate(xs):
        if i % every == 0:
            parts.append(_text([x], frame.x(i), bottom, font_size - 2, "middle", "top", "#444"))
    return parts
