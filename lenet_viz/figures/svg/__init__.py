"""A static Plotly figure drawn as an SVG string, for a page that needs no interaction with it.

Loading and starting Plotly.js costs a browser tab about a second on one core, and every chart
more on top (issue 22); a figure nobody zooms or clicks can be drawn by the page itself instead.
The Plotly figure function stays the one source of the figure: this module reads what it built.

Handled: the layout's rectangles (`add_shape(type="rect")`), its annotations (text with <b>,
<i> and <br>, and arrows in data coordinates), its title and axis titles, bar traces
(category or numeric x) with a zero line, y ticks and each bar's hover text as its tooltip,
one heatmap drawn as a picture (a PNG inside the SVG, pixels kept square when the y axis is
anchored to x; such an SVG is for an <img>, which shows pictures inside it, e.g. `st.image`),
and scatter traces (lines and markers, numeric x and y; dashes, faded lines) in a grid of
subplots: each trace in the area of its axes' domains (`make_subplots`), each axis over its
layout range or else its traces' data (one range for axes that share it, `matches`), linear
or log, with a few ticks and gridlines (`tickformat` applied where Python's `format` reads
it, e.g. ".0%"; powers of ten on a log axis), axis titles, subplot titles (annotations in
paper coordinates), the legend as one row at the top, each point's hover text as its tooltip
and a line's newest value as the line's. The live curves of a running run are drawn here too
(`ui.charts.live_chart`), each line ending in a dot at its newest point.
Anything else in a figure is left out, so only figures made of those belong here.

Line charts (only scatter traces) are drawn by `fluid` instead, as boxes of the page that fit
their column with their text at its own size; `figure_markup` picks one or the other.

The parts: `traces` reads the figure's dict, `frame` places its plot areas and axes, `marks`
writes text, numbers and ticks, `plots` draws each kind of trace and layout item.
"""

from __future__ import annotations

from xml.sax.saxutils import escape, quoteattr

import plotly.graph_objects as go

from lenet_viz.figures.svg.fluid import fits, fluid_figure
from lenet_viz.figures.svg.frame import Frame
from lenet_viz.figures.svg.marks import (
    DEFAULT_COLOR,
    DEFAULT_FONT_SIZE,
    FONT_FAMILY,
    WIDTH,
    text_lines,
)
from lenet_viz.figures.svg.plots import (
    annotation_marks,
    bar_marks,
    legend_marks,
    picture_mark,
    rect_mark,
    scatter_marks,
    subplot_axes,
)
from lenet_viz.figures.svg.traces import read_trace

__all__ = ["figure_markup", "figure_svg"]


def figure_markup(fig: go.Figure, *, alt: str, heads: bool = False, css: bool = True) -> str:
    """The figure as the page shows it: a line chart in boxes that fit their column, its
    text at its own size (`fluid`), when it is made of what those draw; else `figure_svg`.
    `css=False`: a line chart's rules are left to the page (`fluid.page_css`)."""
    spec = fig.to_dict()
    if fits(spec):
        return fluid_figure(spec, alt=alt, heads=heads, css=css)
    return figure_svg(fig, alt=alt, heads=heads)


def figure_svg(fig: go.Figure, *, alt: str, width: int = WIDTH, heads: bool = False) -> str:
    """`fig` as one line of SVG, scaled to its container's width, named `alt` for screen
    readers (role img, aria-label and a <title>). `heads`: a dot at the last point of every
    bold line (a live curve's newest value, visible from its first point on)."""
    spec = fig.to_dict()  # a PreparedFigure (figures.live) is only its dict
    layout = spec.get("layout") or {}
    data = [read_trace(trace) for trace in spec.get("data", ())]
    height = int(layout.get("height") or 450)
    frame = Frame(layout, width, height, data)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'width="100%" style="display: block" role="img" aria-label={quoteattr(alt)} '
        f'font-family="{FONT_FAMILY}" class="static-figure">',
        f"<title>{escape(alt)}</title>",
    ]
    font_size = (layout.get("font") or {}).get("size") or DEFAULT_FONT_SIZE
    for trace in data:
        if trace.get("type") == "bar":
            parts.extend(bar_marks(trace, frame, font_size, layout))
        elif trace.get("type") == "heatmap":
            parts.append(picture_mark(trace, frame))
    for subplot in frame.subplots.values():
        parts.extend(subplot_axes(subplot, font_size))
    for trace in data:
        if trace.get("type") == "scatter":
            subplot = frame.subplots[trace["xaxis"], trace["yaxis"]]
            parts.extend(scatter_marks(trace, subplot, heads))
    parts.extend(legend_marks(frame.legend, frame, font_size))
    for shape in layout.get("shapes", ()):
        if shape.get("type") == "rect":
            parts.append(rect_mark(shape, frame))
    for note in layout.get("annotations", ()):
        parts.extend(annotation_marks(note, frame, font_size))
    title = layout.get("title") or {}
    if title.get("text"):
        size = (title.get("font") or {}).get("size") or font_size + 2
        parts.append(text_lines([title["text"]], 10, 8, size, "start", "top", DEFAULT_COLOR))
    parts.append("</svg>")
    return "".join(parts)
