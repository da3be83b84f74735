"""Each kind of trace and layout item drawn in its frame: bars, a heatmap as a picture,
lines and markers, axes, the legend, rectangles and annotations."""

from __future__ import annotations

import base64
import io
import math
import re
from xml.sax.saxutils import escape

import numpy as np
from PIL import Image

from lenet_viz.figures.svg.frame import LEGEND_ROW, Frame, Subplot, axis_title
from lenet_viz.figures.svg.marks import (
    DEFAULT_COLOR,
    GRID_COLOR,
    axis_ticks,
    hover_text,
    line_mark,
    line_tip,
    nice_step,
    num,
    plain_length,
    round_ticks,
    text_lines,
    tick_label,
    y_title_mark,
)
from lenet_viz.figures.svg.traces import PLOTLY_COLORS

DASHES = {"dot": (1, 2), "dash": (4, 2), "longdash": (7, 2), "dashdot": (4, 2, 1, 2)}

DASHES["longdashdot"] = (7, 2, 1, 2)  # Plotly's patterns, in line widths


def rect_mark(shape: dict, frame: Frame) -> str:
    x0, x1 = sorted((frame.x(shape["x0"]), frame.x(shape["x1"])))
    y0, y1 = sorted((frame.y(shape["y0"]), frame.y(shape["y1"])))
    line = shape.get("line") or {}
    return (
        f'<rect x="{num(x0)}" y="{num(y0)}" width="{num(x1 - x0)}" height="{num(y1 - y0)}" '
        f'fill="{shape.get("fillcolor", "none")}" fill-opacity="{shape.get("opacity", 1)}" '
        f'stroke="{line.get("color", "#444")}" stroke-width="{line.get("width", 1)}"/>'
    )


def annotation_marks(note: dict, frame: Frame, font_size: float) -> list[str]:
    """An annotation at data coordinates, or paper ones (xref/yref "paper": subplot titles)."""
    x_paper, y_paper = note.get("xref") == "paper", note.get("yref") == "paper"
    x = (frame.paper_x if x_paper else frame.x)(note.get("x", 0))
    y = (frame.paper_y if y_paper else frame.y)(note.get("y", 0))
    parts = []
    if note.get("showarrow", True) and note.get("axref") == "x" and note.get("ayref") == "y":
        parts.append(arrow_mark(frame.x(note["ax"]), frame.y(note["ay"]), x, y, note))
    text = note.get("text") or ""
    if text:
        font = note.get("font") or {}
        anchor = {"left": "start", "right": "end"}.get(note.get("xanchor"), "middle")
        parts.append(
            text_lines(
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


def arrow_mark(x0: float, y0: float, x1: float, y1: float, note: dict) -> str:
    """A line from (x0, y0) to (x1, y1) ending in a triangle."""
    color, width = note.get("arrowcolor", "#444"), float(note.get("arrowwidth") or 1)
    angle = math.atan2(y1 - y0, x1 - x0)
    size = 4 * width
    back_x, back_y = x1 - size * math.cos(angle), y1 - size * math.sin(angle)
    side_x, side_y = size * 0.6 * -math.sin(angle), size * 0.6 * math.cos(angle)
    head = " ".join(
        f"{num(px)},{num(py)}"
        for px, py in (
            (x1, y1),
            (back_x + side_x, back_y + side_y),
            (back_x - side_x, back_y - side_y),
        )
    )
    return (
        f'<line x1="{num(x0)}" y1="{num(y0)}" x2="{num(back_x)}" y2="{num(back_y)}" '
        f'stroke="{color}" stroke-width="{num(width)}"/>'
        f'<polygon points="{head}" fill="{color}"/>'
    )


def picture_mark(trace: dict, frame: Frame) -> str:
    """A heatmap as a PNG in the plot area: its colour scale applied, NaN transparent."""
    z = trace["z"]
    low = float(np.nanmin(z)) if trace["zmin"] is None else float(trace["zmin"])
    high = float(np.nanmax(z)) if trace["zmax"] is None else float(trace["zmax"])
    position = np.clip((np.nan_to_num(z, nan=low) - low) / ((high - low) or 1.0), 0.0, 1.0)
    stops = [at for at, _ in trace["colorscale"]]
    colors = np.array([rgb_of(color) for _, color in trace["colorscale"]], dtype=np.float32)
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
        f'<image x="{num(x0)}" y="{num(y0)}" width="{num(x1 - x0)}" height="{num(y1 - y0)}" '
        f'preserveAspectRatio="none" image-rendering="pixelated" '
        f'href="data:image/png;base64,{data}"/>'
    )


def rgb_of(color: str) -> tuple[int, int, int]:
    """A colour scale's colour ("#rrggbb" or "rgb(r, g, b)") as three numbers."""
    if color.startswith("#"):
        return tuple(int(color[i : i + 2], 16) for i in (1, 3, 5))
    return tuple(int(float(v)) for v in re.findall(r"[\d.]+", color)[:3])


def bar_marks(trace: dict, frame: Frame, font_size: float, layout: dict) -> list[str]:
    """Bars, their zero line, the y axis's ticks and title, and the x axis's labels."""
    parts = []
    right = frame.left + frame.width
    for tick in round_ticks(*sorted(frame.y_range)):
        y = frame.y(tick)
        parts.append(line_mark(frame.left, y, right, y, GRID_COLOR))
        label = tick_label(tick, None)
        parts.append(text_lines([label], frame.left - 6, y, font_size - 2, "end", "middle", "#444"))
    y_title = axis_title(layout, "yaxis")
    if y_title:
        parts.append(
            y_title_mark(y_title, frame.left - 56, frame.top + frame.height / 2, font_size)
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
            f'<rect x="{num(left)}" y="{num(top)}" width="{num(right - left)}" '
            f'height="{num(max(bottom - top, 0.5))}" fill="{color}">'
            f"<title>{escape(hover_text(template, x, y))}</title></rect>"
        )
    parts.append(line_mark(frame.left, zero, right, zero, "#444"))
    bottom = frame.top + frame.height + 4
    every = max(1, math.ceil(len(xs) / 25))  # at most 25 labels: 120 units show 0, 5, 10...
    if every > 1:
        every = int(nice_step(len(xs), max(1, len(xs) // every)))
    for i, x in enumerate(xs):
        if i % every == 0:
            parts.append(
                text_lines([x], frame.x(i), bottom, font_size - 2, "middle", "top", "#444")
            )
    return parts


def subplot_axes(subplot: Subplot, font_size: float) -> list[str]:
    """A subplot's gridlines, tick labels (not on an axis that hides them: a shared axis) and
    axis titles."""
    parts = []
    right, bottom = subplot.left + subplot.width, subplot.top + subplot.height
    grid = subplot.yaxis.get("gridcolor") or GRID_COLOR
    for tick, label in axis_ticks(subplot.yaxis, subplot.y_range, subplot.y_log):
        y = subplot.y(tick)
        parts.append(line_mark(subplot.left, y, right, y, grid))
        if subplot.yaxis.get("showticklabels", True):
            parts.append(
                text_lines([label], subplot.left - 6, y, font_size - 2, "end", "middle", "#444")
            )
    grid = subplot.xaxis.get("gridcolor") or GRID_COLOR
    for tick, label in axis_ticks(subplot.xaxis, subplot.x_range, subplot.x_log):
        x = subplot.x(tick)
        parts.append(line_mark(x, subplot.top, x, bottom, grid))
        if subplot.xaxis.get("showticklabels", True):
            parts.append(text_lines([label], x, bottom + 4, font_size - 2, "middle", "top", "#444"))
    y_title = ((subplot.yaxis.get("title") or {}).get("text")) or ""
    if y_title:
        middle = subplot.top + subplot.height / 2
        parts.append(y_title_mark(y_title, subplot.left - 48, middle, font_size))
    x_title = ((subplot.xaxis.get("title") or {}).get("text")) or ""
    if x_title:
        middle = subplot.left + subplot.width / 2
        parts.append(
            text_lines([x_title], middle, bottom + 22, font_size - 1, "middle", "top", "#444")
        )
    return parts


def scatter_marks(trace: dict, subplot: Subplot, heads: bool = False) -> list[str]:
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
        dashed = dash_attribute(trace.get("dash") or "solid", width)
        tip = ""
        if trace.get("hover") and points:
            x, y = points[-1]
            text = hover_text(template, f"{x:g}", y)
            named = line_tip(trace["name"], text)
            tip = f"<title>{escape(named)}</title>"
        for run in line_runs(trace, subplot):
            parts.append(
                f'<polyline points="{run}" fill="none" stroke="{color}" '
                f'stroke-width="{num(width)}" stroke-linejoin="round"{dashed}{faded}>'
                f"{tip}</polyline>"
            )
        if heads and width >= 2 and points:
            x, y = points[-1]
            parts.append(
                f'<circle class="curve-head" cx="{num(subplot.x(x))}" cy="{num(subplot.y(y))}" '
                f'r="{num(width + 1)}" fill="{color}"/>'
            )
    radius = float(trace["marker_size"]) / 2
    if "markers" in trace["mode"]:
        for x, y in points:
            tip = escape(hover_text(template, f"{x:g}", y))
            parts.append(
                f'<circle cx="{num(subplot.x(x))}" cy="{num(subplot.y(y))}" '
                f'r="{num(radius)}" fill="{color}"><title>{tip}</title></circle>'
            )
    return parts


def dash_attribute(dash: str, width: float) -> str:
    """The stroke-dasharray attribute of Plotly's line `dash` at `width` ("" for solid)."""
    pattern = DASHES.get(dash)
    return f' stroke-dasharray="{" ".join(num(d * width) for d in pattern)}"' if pattern else ""


def line_runs(trace: dict, subplot: Subplot) -> list[str]:
    """The line's points in whole drawing units ("x,y x,y ..."), split where a point is
    missing (NaN, or <= 0 on a log axis): each run is one polyline."""
    return point_runs(subplot.x(trace["x"]), subplot.y(trace["y"]))


def point_runs(px: np.ndarray, py: np.ndarray) -> list[str]:
    """Points in whole drawing units ("x,y x,y ..."), one string per run of finite points.
    Whole units of a 1000-wide drawing are finer than the screen's pixels; numpy keeps a long
    live curve cheap at every poll."""
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


def legend_marks(entries: list[tuple[str, str, str]], frame: Frame, font_size: float) -> list[str]:
    """One row at the top: a short line in each trace's colour and dashes, then its name."""
    if not entries:
        return []
    parts, x, middle = ['<g class="legend">'], frame.paper[0], frame.legend_y + LEGEND_ROW / 2
    for name, color, dash in entries:
        parts.append(
            f'<line x1="{num(x)}" x2="{num(x + 24)}" y1="{num(middle)}" y2="{num(middle)}" '
            f'stroke="{color}" stroke-width="3"{dash_attribute(dash, 3)}/>'
            f'<circle cx="{num(x + 12)}" cy="{num(middle)}" r="3" fill="{color}"/>'
        )
        parts.append(
            text_lines([name], x + 30, middle, font_size, "start", "middle", DEFAULT_COLOR)
        )
        x += 30 + 0.6 * font_size * len(plain_length(name)) + 24
    parts.append("</g>")
    return parts
