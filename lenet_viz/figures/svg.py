"""A static Plotly figure drawn as an SVG string, for a page that needs no interaction with it.

Loading and starting Plotly.js costs a browser tab about a second on one core, and every chart
more on top (issue 22); a figure nobody zooms or clicks can be drawn by the page itself instead.
The Plotly figure function stays the one source of the figure: this module reads what it built.

Handled: the layout's rectangles (`add_shape(type="rect")`), its annotations (text with <b>,
<i> and <br>, and arrows in data coordinates), its title and axis titles, bar traces
(category or numeric x) with a zero line, y ticks and each bar's hover text as its tooltip,
one heatmap drawn as a picture (a PNG inside the SVG, pixels kept square when the y axis is
anchored to x; such an SVG is for an <img>, which shows pictures inside it, e.g. `st.image`),
and scatter traces (lines and markers, numeric x and y) in a grid of subplots: each trace in
the area of its axes' domains (`make_subplots`), each axis over its layout range or else its
traces' data, with a few ticks and gridlines (`tickformat` applied where Python's `format`
reads it, e.g. ".0%"), axis titles, subplot titles (annotations in paper coordinates), the
legend as one row at the top and each point's hover text as its tooltip.
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


def figure_svg(fig: go.Figure, *, alt: str, width: int = WIDTH, heads: bool = False) -> str:
    """`fig` as one line of SVG, scaled to its container's width, named `alt` for screen
    readers (role img, aria-label and a <title>). `heads`: a dot at the last point of every
    bold line (a live curve's newest value, visible from its first point on)."""
    spec = fig.to_dict()  # a PreparedFigure (figures.live) is only its dict
    layout = spec.get("layout") or {}
    data = [_trace(trace) for trace in spec.get("data", ())]
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
    for subplot in frame.subplots.values():
        parts.extend(_subplot_axes(subplot, font_size))
    for trace in data:
        if trace.get("type") == "scatter":
            subplot = frame.subplots[trace["xaxis"], trace["yaxis"]]
            parts.extend(_scatter(trace, subplot, heads))
    parts.extend(_legend(frame.legend, frame, font_size))
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


def _values(data) -> np.ndarray:
    """A trace's array as numpy: a list, or Plotly's typed array ({dtype, bdata[, shape]}),
    as `to_dict()` writes numpy arrays."""
    if isinstance(data, dict) and "bdata" in data:
        values = np.frombuffer(base64.b64decode(data["bdata"]), dtype=np.dtype(data["dtype"]))
        if data.get("shape"):
            values = values.reshape([int(n) for n in str(data["shape"]).split(",")])
        return values
    return np.asarray(data if data is not None else [])


def _trace(trace: dict) -> dict:
    """What is drawn of a trace (from the figure's dict), as plain values."""
    kind = trace.get("type", "scatter")
    if kind == "heatmap":
        return {
            "type": "heatmap",
            "z": _values(trace.get("z")).astype(np.float32),
            "colorscale": [(float(at), color) for at, color in trace["colorscale"]],
            "zmin": trace.get("zmin"),
            "zmax": trace.get("zmax"),
        }
    if kind == "scatter":
        return _scatter_trace(trace)
    if kind != "bar":
        return {"type": kind}
    color = (trace.get("marker") or {}).get("color")
    return {
        "type": "bar",
        "x": [str(x) for x in _values(trace.get("x")).tolist()],
        "y": [float(y) for y in _values(trace.get("y")).tolist()],
        "marker": {"color": list(color) if isinstance(color, (list, tuple)) else color},
        "hovertemplate": trace.get("hovertemplate"),
    }


PLOTLY_COLORS = ("#636efa", "#EF553B", "#00cc96", "#ab63fa", "#FFA15A", "#19d3f3", "#FF6692")
LEGEND_ROW = 26  # the legend's row above the plots
DASHES = {"dot": (1, 2), "dash": (4, 2), "longdash": (7, 2), "dashdot": (4, 2, 1, 2)}
DASHES["longdashdot"] = (7, 2, 1, 2)  # Plotly's patterns, in line widths


def _scatter_trace(trace: dict) -> dict:
    """A scatter trace's points (x and y as float arrays, NaN for gaps) and looks."""

    def floats(values) -> np.ndarray:
        return np.array(_values(values), dtype=np.float64)  # None -> NaN

    y = floats(trace.get("y"))
    x = floats(trace.get("x")) if trace.get("x") is not None else np.arange(len(y), dtype=float)
    line, marker = trace.get("line") or {}, trace.get("marker") or {}
    return {
        "type": "scatter",
        "x": x,
        "y": y,
        "xaxis": trace.get("xaxis") or "x",
        "yaxis": trace.get("yaxis") or "y",
        "mode": trace.get("mode") or ("lines+markers" if len(y) < 20 else "lines"),
        "name": trace.get("name") or "",
        "showlegend": trace.get("showlegend"),
        "color": line.get("color") or _single(marker.get("color")),
        "line_width": line.get("width") if line.get("width") is not None else 2,
        "dash": line.get("dash") or "solid",
        "opacity": trace.get("opacity"),
        "marker_size": _single(marker.get("size")) or 6,
        "hovertemplate": trace.get("hovertemplate"),
        "hover": trace.get("hoverinfo") != "skip",
    }


def _single(value):
    """A marker property that is one value, or None where it is one per point."""
    return None if isinstance(value, (list, tuple, np.ndarray)) else value


def _axis_name(reference: str, letter: str) -> str:
    """A trace's axis reference ("x", "x2") as its layout key ("xaxis", "xaxis2")."""
    return f"{letter}axis{reference[1:]}"


class _Subplot:
    """One pair of axes: their pixel area (from their domains), ranges and layouts. A log
    axis (`type: "log"`) places log10 of its values, as Plotly does (its range is in those)."""

    def __init__(
        self, frame: _Frame, xaxis: dict, yaxis: dict, xs: np.ndarray, ys: np.ndarray
    ) -> None:
        x_domain, y_domain = xaxis.get("domain") or [0, 1], yaxis.get("domain") or [0, 1]
        self.left, right = frame.paper_x(x_domain[0]), frame.paper_x(x_domain[1])
        self.top, bottom = frame.paper_y(y_domain[1]), frame.paper_y(y_domain[0])
        self.width, self.height = max(1.0, right - self.left), max(1.0, bottom - self.top)
        self.xaxis, self.yaxis = xaxis, yaxis
        self.x_log, self.y_log = xaxis.get("type") == "log", yaxis.get("type") == "log"
        self.x_range = _axis_range(xaxis, _placed(xs, self.x_log), 0.04)
        self.y_range = _axis_range(yaxis, _placed(ys, self.y_log), 0.06)

    def x(self, value):
        """The pixel x of a value, or of an array of them."""
        low, high = self.x_range
        return self.left + (_placed(value, self.x_log) - low) / (high - low) * self.width

    def y(self, value):
        low, high = self.y_range
        return self.top + (high - _placed(value, self.y_log)) / (high - low) * self.height


def _placed(value, log: bool):
    """Where a value (or an array) sits on its axis: itself, or log10 of it on a log axis
    (NaN where <= 0)."""
    values = np.asarray(value, dtype=np.float64)
    if log:
        with np.errstate(divide="ignore", invalid="ignore"):
            values = np.where(values > 0, np.log10(np.where(values > 0, values, 1.0)), np.nan)
    return float(values) if values.ndim == 0 else values


def _axis_range(axis: dict, values, pad: float) -> list[float]:
    """The axis's layout range, else its data's, padded a little (as Plotly's autorange)."""
    if axis.get("range") and None not in axis["range"]:
        return [float(v) for v in axis["range"]]
    values = np.asarray(values, dtype=np.float64)
    finite = values[np.isfinite(values)]
    if not finite.size:
        return [0.0, 1.0]
    low, high = float(finite.min()), float(finite.max())
    if high == low:
        return [low - 1, high + 1]
    extra = pad * (high - low)
    return [low - extra, high + extra]


class _Frame:
    """Data coordinates to the drawing's pixels: the plot area inside the margins, the axes'
    ranges from the layout (or from the bars), and scatter traces' subplots in it."""

    def __init__(self, layout: dict, width: int, height: int, data: list) -> None:
        margin = {"l": 80, "r": 80, "t": 100, "b": 80} | (layout.get("margin") or {})
        bars = [trace for trace in data if trace.get("type") == "bar"]
        lines = [trace for trace in data if trace.get("type") == "scatter"]
        self.categories: list | None = None
        self.legend = _legend_entries(layout, lines)
        if bars:
            margin["l"] += 46 + (18 if _axis_title(layout, "yaxis") else 0)  # y ticks, title
            margin["b"] += 22  # x tick labels
            margin["t"] = max(margin["t"], 36 if (layout.get("title") or {}).get("text") else 0)
        if lines:
            y_titled = any(_axis_title(layout, _axis_name(t["yaxis"], "y")) for t in lines)
            x_titled = any(_axis_title(layout, _axis_name(t["xaxis"], "x")) for t in lines)
            margin["l"] += 40 + (20 if y_titled else 0)  # y ticks, title
            margin["b"] += 20 + (20 if x_titled else 0)  # x ticks, title
        # The legend's row at the top, under the title; the plots (and their titles) below it.
        self.legend_y = 4 + (32 if (layout.get("title") or {}).get("text") else 0)
        if lines and self.legend:
            notes = 6 + LINE_HEIGHT * _notes_size(layout) if _has_top_notes(layout) else 0
            margin["t"] = max(margin["t"], self.legend_y + LEGEND_ROW + notes)
        self.left, self.top = margin["l"], margin["t"]
        self.width = max(1.0, width - margin["l"] - margin["r"])
        self.height = max(1.0, height - margin["t"] - margin["b"])
        self.paper = (self.left, self.top, self.width, self.height)  # before any shrinking
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
        self.subplots: dict[tuple[str, str], _Subplot] = {}
        for trace in lines:
            key = (trace["xaxis"], trace["yaxis"])
            if key not in self.subplots:
                xaxis = layout.get(_axis_name(key[0], "x")) or {}
                yaxis = layout.get(_axis_name(key[1], "y")) or {}
                xs = _matched_values(layout, lines, "x", key[0])
                ys = _matched_values(layout, lines, "y", key[1])
                self.subplots[key] = _Subplot(self, xaxis, yaxis, xs, ys)
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

    def paper_x(self, value: float) -> float:
        """Paper coordinates (0 to 1 across the area inside the margins) to pixels."""
        left, _top, width, _height = self.paper
        return left + float(value) * width

    def paper_y(self, value: float) -> float:
        _left, top, _width, height = self.paper
        return top + (1 - float(value)) * height


def _matched_values(layout: dict, lines: list[dict], letter: str, reference: str) -> list:
    """The values of every trace on axis `reference` ("x2") or on an axis it shares its range
    with (`matches`, as make_subplots' shared axes): shared axes get one range."""

    def root(name: str) -> str:
        return (layout.get(_axis_name(name, letter)) or {}).get("matches") or name

    group = root(reference)
    shared = [t[letter] for t in lines if root(t[letter + "axis"]) == group]
    return np.concatenate(shared) if shared else np.zeros(0)


def _has_top_notes(layout: dict) -> bool:
    """Whether annotations sit on the plots' top edge (subplot titles), under the legend."""
    return any(
        note.get("yref") == "paper" and float(note.get("y", 0)) >= 1 and note.get("text")
        for note in layout.get("annotations", ())
    )


def _notes_size(layout: dict) -> float:
    """The largest font size of the annotations (subplot titles)."""
    font = (layout.get("font") or {}).get("size") or DEFAULT_FONT_SIZE
    return max(
        [((note.get("font") or {}).get("size") or font) for note in layout.get("annotations", ())]
        or [font]
    )


def _legend_entries(layout: dict, lines: list[dict]) -> list[tuple[str, str, str]]:
    """(name, colour, dash) of each scatter trace shown in the legend: Plotly shows one when the
    trace asks for it, or by default when there is more than one trace."""
    if layout.get("showlegend") is False:
        return []
    colorway = (
        layout.get("colorway")
        or (((layout.get("template") or {}).get("layout")) or {}).get("colorway")
        or PLOTLY_COLORS
    )
    entries = []
    for i, trace in enumerate(lines):
        trace.setdefault("shown_color", trace.get("color") or colorway[i % len(colorway)])
        shown = trace["showlegend"] if trace["showlegend"] is not None else len(lines) > 1
        if shown and trace["name"]:
            entries.append((trace["name"], trace["shown_color"], trace.get("dash") or "solid"))
    return entries


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
    """An annotation at data coordinates, or paper ones (xref/yref "paper": subplot titles)."""
    x_paper, y_paper = note.get("xref") == "paper", note.get("yref") == "paper"
    x = (frame.paper_x if x_paper else frame.x)(note.get("x", 0))
    y = (frame.paper_y if y_paper else frame.y)(note.get("y", 0))
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


def _bars(trace: dict, frame: _Frame, font_size: float, layout: dict) -> list[str]:
    """Bars, their zero line, the y axis's ticks and title, and the x axis's labels."""
    parts = []
    right = frame.left + frame.width
    for tick in _ticks(*sorted(frame.y_range)):
        y = frame.y(tick)
        parts.append(_line(frame.left, y, right, y, GRID_COLOR))
        label = _tick_label(tick, None)
        parts.append(_text([label], frame.left - 6, y, font_size - 2, "end", "middle", "#444"))
    y_title = _axis_title(layout, "yaxis")
    if y_title:
        parts.append(_y_title(y_title, frame.left - 56, frame.top + frame.height / 2, font_size))
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
    parts.append(_line(frame.left, zero, right, zero, "#444"))
    bottom = frame.top + frame.height + 4
    every = max(1, math.ceil(len(xs) / 25))  # at most 25 labels: 120 units show 0, 5, 10...
    if every > 1:
        every = int(_nice_step(len(xs), max(1, len(xs) // every)))
    for i, x in enumerate(xs):
        if i % every == 0:
            parts.append(_text([x], frame.x(i), bottom, font_size - 2, "middle", "top", "#444"))
    return parts


def _ticks(low: float, high: float, count: int = 5) -> list[float]:
    """A few round values from `low` to `high`."""
    step = _nice_step(high - low, count)
    first = math.ceil(low / step - 1e-9)
    last = math.floor(high / step + 1e-9)
    return [round(i * step, 12) + 0.0 for i in range(first, last + 1)]  # no -0


def _tick_label(value: float, tickformat: str | None) -> str:
    """A tick's label: its axis's `tickformat` where Python's `format` reads it the same
    (".0%", ".2f", ",d"...), else the plain number."""
    if tickformat:
        try:
            return format(value, tickformat)
        except ValueError:
            pass
    return f"{value:.10g}" if abs(value) > 1e-12 else "0"


def _line(x1: float, y1: float, x2: float, y2: float, color: str) -> str:
    return (
        f'<line x1="{_num(x1)}" y1="{_num(y1)}" x2="{_num(x2)}" y2="{_num(y2)}" stroke="{color}"/>'
    )


def _y_title(text: str, x: float, middle: float, font_size: float) -> str:
    """A y axis's title, turned to read upwards, centred on `middle`."""
    return (
        f'<text font-size="{_num(font_size - 1)}" fill="#444" text-anchor="middle" '
        f'transform="translate({_num(x)},{_num(middle)}) rotate(-90)">{_spans(text)}</text>'
    )


def _subplot_axes(subplot: _Subplot, font_size: float) -> list[str]:
    """A subplot's gridlines, tick labels (not on an axis that hides them: a shared axis) and
    axis titles."""
    parts = []
    right, bottom = subplot.left + subplot.width, subplot.top + subplot.height
    grid = subplot.yaxis.get("gridcolor") or GRID_COLOR
    for tick, label in _axis_ticks(subplot.yaxis, subplot.y_range, subplot.y_log):
        y = subplot.y(tick)
        parts.append(_line(subplot.left, y, right, y, grid))
        if subplot.yaxis.get("showticklabels", True):
            parts.append(
                _text([label], subplot.left - 6, y, font_size - 2, "end", "middle", "#444")
            )
    grid = subplot.xaxis.get("gridcolor") or GRID_COLOR
    for tick, label in _axis_ticks(subplot.xaxis, subplot.x_range, subplot.x_log):
        x = subplot.x(tick)
        parts.append(_line(x, subplot.top, x, bottom, grid))
        if subplot.xaxis.get("showticklabels", True):
            parts.append(_text([label], x, bottom + 4, font_size - 2, "middle", "top", "#444"))
    y_title = ((subplot.yaxis.get("title") or {}).get("text")) or ""
    if y_title:
        middle = subplot.top + subplot.height / 2
        parts.append(_y_title(y_title, subplot.left - 48, middle, font_size))
    x_title = ((subplot.xaxis.get("title") or {}).get("text")) or ""
    if x_title:
        middle = subplot.left + subplot.width / 2
        parts.append(_text([x_title], middle, bottom + 22, font_size - 1, "middle", "top", "#444"))
    return parts


SUPERSCRIPT = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")


def _axis_ticks(axis: dict, placed_range: list[float], log: bool) -> list[tuple[float, str]]:
    """(value, label) of an axis's ticks: a few round values, or on a log axis each power of
    ten in range, labelled 10\u207b\u00b3 (Plotly's `exponentformat="power"`)."""
    if not log:
        return [(t, _tick_label(t, axis.get("tickformat"))) for t in _ticks(*sorted(placed_range))]
    low, high = sorted(placed_range)
    powers = range(math.ceil(low - 1e-9), math.floor(high + 1e-9) + 1)
    step = max(1, math.ceil(len(powers) / 6))  # at most about six labels
    return [(10.0**p, "10" + str(p).translate(SUPERSCRIPT)) for p in powers[::step]]


def _scatter(trace: dict, subplot: _Subplot, heads: bool = False) -> list[str]:
    """A trace's line (one polyline per run of points without a gap) and its markers, each
    marker's tooltip its hover text. A line's own tooltip is its name and last value; with
    `heads`, a bold line (width >= 2) ends in a dot."""
    parts = []
    color = trace.get("shown_color") or trace.get("color") or PLOTLY_COLORS[0]
    shown = np.isfinite(subplot.x(trace["x"])) & np.isfinite(subplot.y(trace["y"]))
    points = list(zip(trace["x"][shown].tolist(), trace["y"][shown].tolist(), strict=True))
    template = trace.get("hovertemplate") or "%{x}, %{y}"
    width = float(trace["line_width"])
    opacity = trace.get("opacity")
    faded = f' stroke-opacity="{opacity:g}"' if opacity is not None and opacity < 1 else ""
    if "lines" in trace["mode"]:
        dashed = _dashes(trace.get("dash") or "solid", width)
        tip = ""
        if trace.get("hover") and points:
            x, y = points[-1]
            text = _hover(template, f"{x:g}", y)
            named = f"{trace['name']}: {text}" if trace["name"] else text
            tip = f"<title>{escape(named)}</title>"
        for run in _runs(trace, subplot):
            parts.append(
                f'<polyline points="{run}" fill="none" stroke="{color}" '
                f'stroke-width="{_num(width)}" stroke-linejoin="round"{dashed}{faded}>'
                f"{tip}</polyline>"
            )
        if heads and width >= 2 and points:
            x, y = points[-1]
            parts.append(
                f'<circle class="curve-head" cx="{_num(subplot.x(x))}" cy="{_num(subplot.y(y))}" '
                f'r="{_num(width + 1)}" fill="{color}"/>'
            )
    radius = float(trace["marker_size"]) / 2
    if "markers" in trace["mode"]:
        for x, y in points:
            tip = escape(_hover(template, f"{x:g}", y))
            parts.append(
                f'<circle cx="{_num(subplot.x(x))}" cy="{_num(subplot.y(y))}" '
                f'r="{_num(radius)}" fill="{color}"><title>{tip}</title></circle>'
            )
    return parts


def _dashes(dash: str, width: float) -> str:
    """The stroke-dasharray attribute of Plotly's line `dash` at `width` ("" for solid)."""
    pattern = DASHES.get(dash)
    return f' stroke-dasharray="{" ".join(_num(d * width) for d in pattern)}"' if pattern else ""


def _runs(trace: dict, subplot: _Subplot) -> list[str]:
    """The line's points in whole drawing units ("x,y x,y ..."), split where a point is
    missing (NaN, or <= 0 on a log axis): each run is one polyline. Whole units of a
    1000-wide drawing are finer than the screen's pixels; numpy keeps a long live curve cheap
    at every poll."""
    px, py = subplot.x(trace["x"]), subplot.y(trace["y"])
    shown = np.isfinite(px) & np.isfinite(py)
    if not shown.any():
        return []
    xs, ys = (
        np.rint(np.where(shown, px, 0)).astype(int),
        np.rint(np.where(shown, py, 0)).astype(int),
    )
    edges = np.flatnonzero(np.diff(np.concatenate(([False], shown, [False])).astype(np.int8)))
    return [
        " ".join(map("{},{}".format, xs[start:end].tolist(), ys[start:end].tolist()))
        for start, end in zip(edges[::2], edges[1::2], strict=True)
    ]


def _legend(entries: list[tuple[str, str, str]], frame: _Frame, font_size: float) -> list[str]:
    """One row at the top: a short line in each trace's colour and dashes, then its name."""
    if not entries:
        return []
    parts, x, middle = ['<g class="legend">'], frame.paper[0], frame.legend_y + LEGEND_ROW / 2
    for name, color, dash in entries:
        parts.append(
            f'<line x1="{_num(x)}" x2="{_num(x + 24)}" y1="{_num(middle)}" y2="{_num(middle)}" '
            f'stroke="{color}" stroke-width="3"{_dashes(dash, 3)}/>'
            f'<circle cx="{_num(x + 12)}" cy="{_num(middle)}" r="3" fill="{color}"/>'
        )
        parts.append(_text([name], x + 30, middle, font_size, "start", "middle", DEFAULT_COLOR))
        x += 30 + 0.6 * font_size * len(_plain_length(name)) + 24
    parts.append("</g>")
    return parts


def _plain_length(text: str) -> str:
    """Text without its markup, wide characters (CJK) counted twice, for its width."""
    plain = re.sub(r"</?[a-z]+>", "", text)
    return "".join(ch * (2 if ord(ch) > 0x2E80 else 1) for ch in plain)
