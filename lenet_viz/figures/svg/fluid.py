"""Line charts that fit their column: text at its true size at any width, as Plotly's.

`figure_svg` scales one drawing to its column, text and all: a 1000-unit chart shown 340 px
wide (the Train page's live column in a 1024-px window, or a phone) had 5-px tick labels.
Here each subplot is a box of the page, laid out by CSS: a grid of subplots that becomes one
column when the figure is narrower than about 220 px per subplot (a CSS container query, so
no script), each plot's lines an SVG stretched to the box (`preserveAspectRatio="none"`,
strokes kept at their width by `vector-effect`) and every text (ticks, titles, legend,
notes) HTML placed over it in percents of the box. The legend wraps like text.

Handled: scatter traces (lines, markers, dashes, faded lines, a line's newest value as its
tooltip, each marker's hover text as its own) on the subplots of `make_subplots` (shared axes
and their hidden tick labels, shown again when the subplots stack; log axes), subplot titles
and other annotations in paper coordinates, axis titles, the title and the legend.
`fits` says whether a figure holds only those; `figure_markup` (the package's) picks this or
`figure_svg`.
"""

from __future__ import annotations

import re
from xml.sax.saxutils import escape, quoteattr

import numpy as np

from lenet_viz.figures.svg.frame import Frame, Subplot
from lenet_viz.figures.svg.marks import GRID_COLOR, axis_ticks, hover_text, line_tip
from lenet_viz.figures.svg.plots import dash_attribute, point_runs
from lenet_viz.figures.svg.traces import PLOTLY_COLORS, read_trace

SVG_NAMESPACE = "http://www.w3.org/2000/svg"
UNITS = 1000  # each plot's own drawing is 1000 x 1000 units, stretched to its box
CELL_MIN_WIDTH = 220  # px: below this per subplot, the subplots stack into one column
STACKED_ASPECT = "16 / 9"  # a stacked plot's width to height

# One rule set for every fluid figure (a page may repeat it: the rules are the same). A class
# `ff-cN` names the figure's number of columns, so that its own container query stacks it.
STYLE = (
    ".fluid-figure{container-type:inline-size;color:#444;font-size:13px;line-height:1.25;"
    "margin:0 0 1rem}"
    ".ff-title{font-size:16px;font-weight:600;color:#2a3f5f;margin:0 0 4px}"
    ".ff-legend{display:flex;flex-wrap:wrap;justify-content:flex-end;gap:2px 16px;"
    "font-size:14px;color:#2a3f5f;margin:0 0 4px}"
    ".ff-key{display:inline-flex;align-items:center;gap:6px;white-space:nowrap}"
    ".ff-body{position:relative}"
    ".ff-grid{display:grid;column-gap:10px;row-gap:6px}"
    ".ff-cell{min-width:0;padding-left:46px}"
    ".ff-cell.ff-ytitled{padding-left:64px}"
    ".ff-cell.ff-noy{padding-left:6px}"
    ".ff-sub{font-size:15px;color:#2a3f5f;text-align:center;margin:4px 0 6px;"
    "overflow-wrap:anywhere}"
    ".ff-plot{position:relative;margin-bottom:20px}"
    ".ff-nox .ff-plot{margin-bottom:4px}"
    ".ff-plot svg{position:absolute;inset:0;width:100%;height:100%;overflow:hidden}"
    ".ff-yt,.ff-xt{position:absolute;white-space:nowrap}"
    ".ff-yt{right:100%;margin-right:5px;transform:translateY(-50%)}"
    ".ff-xt{top:100%;margin-top:3px;transform:translateX(-50%)}"
    ".ff-ytitle{position:absolute;right:100%;top:0;bottom:0;margin-right:46px;"
    "writing-mode:vertical-rl;transform:rotate(180deg);text-align:center;font-size:14px}"
    ".ff-xtitle{text-align:center;font-size:14px;margin:0 0 4px}"
    ".ff-hidden{display:none}"
    ".ff-dot{position:absolute;border-radius:50%;transform:translate(-50%,-50%)}"
    ".ff-note{position:absolute;z-index:1;transform:translate(-50%,-50%);text-align:center;"
    "font-size:15px;color:#666;pointer-events:none}"
)


def stacking_rule(columns: int) -> str:
    """The container query that puts a `columns`-wide grid of subplots in one column, each
    plot as high as its width allows, with the tick labels of shared axes shown again. Its
    rules are `!important`: a page repeats STYLE for each figure, after this one's."""
    narrow = CELL_MIN_WIDTH * columns
    rules = {
        ".ff-grid": "grid-template-columns:minmax(0,1fr)",
        ".ff-cell": "grid-row:auto;grid-column:auto",
        ".ff-cell.ff-noy": "padding-left:46px",
        ".ff-cell.ff-ytitled": "padding-left:64px",
        ".ff-nox .ff-plot": "margin-bottom:20px",
        ".ff-hidden": "display:block",
        ".ff-plot": f"height:auto;aspect-ratio:{STACKED_ASPECT}",
        ".ff-note": "position:static;transform:none;margin:0 0 4px",
    }
    body = "".join(
        f".ff-c{columns} {selector}{{"
        + ";".join(f"{declaration}!important" for declaration in declarations.split(";"))
        + "}"
        for selector, declarations in rules.items()
    )
    return f"@container (max-width:{narrow}px){{{body}}}"


def page_css(most_columns: int = 6) -> str:
    """Every fluid figure's rules, for a page to add once (`fluid_figure(..., css=False)`):
    a <style> in each figure is a new style sheet at each redraw, and the browser then styles
    the whole page again."""
    return STYLE + "".join(stacking_rule(columns) for columns in range(1, most_columns + 1))


def fits(spec: dict) -> bool:
    """Whether a figure's dict holds only what this module draws: scatter traces, and
    annotations in paper coordinates (subplot titles, notes), no shapes or images."""
    layout = spec.get("layout") or {}
    if not spec.get("data") or layout.get("shapes") or layout.get("images"):
        return False
    if any(trace.get("type", "scatter") != "scatter" for trace in spec["data"]):
        return False
    return all(
        note.get("xref") == "paper" and note.get("yref") == "paper"
        for note in layout.get("annotations", ())
    )


def fluid_figure(spec: dict, *, alt: str, heads: bool = False, css: bool = True) -> str:
    """The figure (its dict; see `fits`) as one line of HTML and SVG, named `alt` for screen
    readers. `heads`: a dot at the last point of every bold line (a live curve's newest
    value, visible from its first point on). `css`: with its rules in a <style>, else the
    page has `page_css()`."""
    layout = spec.get("layout") or {}
    data = [read_trace(trace) for trace in spec["data"]]
    height = int(layout.get("height") or 450)
    frame = Frame(layout, UNITS, height, data)  # the subplots' ranges; the legend's entries
    titles, notes = subplot_titles(layout, frame.subplots)
    cells = grid_cells(frame.subplots, by_column=len(titles) < len(frame.subplots))
    columns = max(column for _, _, column in cells.values())
    margin = {"t": 100, "b": 80} | (layout.get("margin") or {})
    plotted = max(120, height - margin["t"] - margin["b"])
    parts = [
        f'<div class="static-figure fluid-figure ff-c{columns}" role="img" '
        f"aria-label={quoteattr(alt)}>"
    ]
    if css:
        parts.append(f"<style>{STYLE}{stacking_rule(columns)}</style>")
    title = (layout.get("title") or {}).get("text")
    if title:
        parts.append(f'<div class="ff-title ff-t">{html_text(title)}</div>')
    parts.append(legend_html(frame.legend))
    parts.append('<div class="ff-body">')
    for text, x, y in notes:  # over the plots; above them once they stack
        parts.append(
            f'<div class="ff-note ff-t" style="left:{pct(x)};top:{pct(1 - y)}">'
            f"{html_text(text)}</div>"
        )
    parts.append(
        f'<div class="ff-grid" style="grid-template-columns:repeat({columns},minmax(0,1fr))">'
    )
    for key in sorted(cells, key=lambda key: cells[key][0]):
        subplot = frame.subplots[key]
        traces = [t for t in data if (t["xaxis"], t["yaxis"]) == key]
        _, row, column = cells[key]
        y_domain = subplot.yaxis.get("domain") or [0, 1]
        plot_height = round(plotted * (y_domain[1] - y_domain[0])) - 60  # less titles, ticks
        parts.append(
            cell_html(subplot, traces, titles.get(key), (row, column), max(90, plot_height), heads)
        )
    parts.append("</div></div></div>")
    return "".join(parts)


def grid_cells(
    subplots: dict[tuple[str, str], Subplot], by_column: bool
) -> dict[tuple, tuple[int, int, int]]:
    """Each subplot's (order, row, column) in the grid its domains make (rows from the top).
    The order is the page's when the grid stacks: row by row, or `by_column` (small
    multiples, whose titles name the columns: each run's column stays together)."""
    lefts = sorted({round(s.left, 3) for s in subplots.values()})
    tops = sorted({round(s.top, 3) for s in subplots.values()})
    placed = {
        key: (tops.index(round(s.top, 3)) + 1, lefts.index(round(s.left, 3)) + 1)
        for key, s in subplots.items()
    }
    order = sorted(placed, key=lambda key: placed[key][::-1] if by_column else placed[key])
    return {key: (order.index(key), *placed[key]) for key in placed}


def subplot_titles(layout: dict, subplots: dict) -> tuple[dict, list]:
    """The annotations that are subplot titles (centred on a subplot, on its top edge), by
    subplot, and the others as (text, paper x, paper y)."""
    titles, notes = {}, []
    for note in layout.get("annotations", ()):
        text = note.get("text")
        if not text:
            continue
        x, y = float(note.get("x", 0.5)), float(note.get("y", 0.5))
        for key, subplot in subplots.items():
            x_domain = subplot.xaxis.get("domain") or [0, 1]
            y_domain = subplot.yaxis.get("domain") or [0, 1]
            centred = abs((x_domain[0] + x_domain[1]) / 2 - x) < 0.01
            if centred and abs(y_domain[1] - y) < 0.01 and key not in titles:
                titles[key] = text
                break
        else:
            notes.append((text, x, y))
    return titles, notes


def cell_html(
    subplot: Subplot,
    traces: list[dict],
    title: str | None,
    place: tuple[int, int],
    plot_height: int,
    heads: bool,
) -> str:
    """One subplot: its title, the plot box (lines, dots, tick labels, y title) and x title."""
    y_labels = subplot.yaxis.get("showticklabels", True)
    x_labels = subplot.xaxis.get("showticklabels", True)
    y_title = (subplot.yaxis.get("title") or {}).get("text") or ""
    x_title = (subplot.xaxis.get("title") or {}).get("text") or ""
    classes = "ff-cell" + (" ff-ytitled" if y_title else "") + ("" if y_labels else " ff-noy")
    classes += "" if x_labels else " ff-nox"
    row, column = place
    parts = [f'<div class="{classes}" style="grid-row:{row};grid-column:{column}">']
    if title:
        parts.append(f'<div class="ff-sub ff-t">{html_text(title)}</div>')
    parts.append(f'<div class="ff-plot" style="height:{plot_height}px">')
    parts.append(plot_svg(subplot, traces))
    parts.extend(tick_labels(subplot, y_labels, x_labels))
    if heads:
        parts.extend(head_dots(subplot, traces))
    parts.extend(marker_dots(subplot, traces))
    if y_title:
        parts.append(f'<div class="ff-ytitle ff-t">{html_text(y_title)}</div>')
    parts.append("</div>")
    if x_title:
        parts.append(f'<div class="ff-xtitle ff-t">{html_text(x_title)}</div>')
    parts.append("</div>")
    return "".join(parts)


def plot_svg(subplot: Subplot, traces: list[dict]) -> str:
    """The gridlines and the lines, in the plot's 1000 x 1000 units stretched to its box."""
    parts = [
        f'<svg xmlns="{SVG_NAMESPACE}" viewBox="0 0 {UNITS} {UNITS}" preserveAspectRatio="none" '
        'aria-hidden="true">'
    ]
    grid = []
    for tick, _ in axis_ticks(subplot.yaxis, subplot.y_range, subplot.y_log):
        grid.append(f"M0 {units_y(subplot, tick):.0f}H{UNITS}")
    for tick, _ in axis_ticks(subplot.xaxis, subplot.x_range, subplot.x_log):
        grid.append(f"M{units_x(subplot, tick):.0f} 0V{UNITS}")
    if grid:
        color = subplot.yaxis.get("gridcolor") or GRID_COLOR
        parts.append(
            f'<path d="{"".join(grid)}" stroke="{color}" fill="none" '
            'vector-effect="non-scaling-stroke"/>'
        )
    for trace in traces:
        if "lines" in trace["mode"]:
            parts.extend(line_marks(trace, subplot))
    parts.append("</svg>")
    return "".join(parts)


def line_marks(trace: dict, subplot: Subplot) -> list[str]:
    """A trace's line: one polyline per run of points without a gap, its tooltip the trace's
    name and newest value."""
    color = trace_color(trace)
    width = float(trace["line_width"])
    opacity = trace.get("opacity")
    faded = f' stroke-opacity="{opacity:g}"' if opacity is not None and opacity < 1 else ""
    tip = ""
    newest = last_point(trace, subplot)
    if trace.get("hover") and newest is not None:
        text = hover_text(trace.get("hovertemplate") or "%{x}, %{y}", f"{newest[0]:g}", newest[1])
        named = line_tip(trace["name"], text)
        tip = f"<title>{escape(named)}</title>"
    return [
        f'<polyline points="{run}" fill="none" stroke="{color}" stroke-width="{width:g}" '
        f'stroke-linejoin="round" vector-effect="non-scaling-stroke"'
        f"{dash_attribute(trace.get('dash') or 'solid', width)}{faded}>{tip}</polyline>"
        for run in point_runs(units_x(subplot, trace["x"]), units_y(subplot, trace["y"]))
    ]


def tick_labels(subplot: Subplot, y_shown: bool, x_shown: bool) -> list[str]:
    """The axes' tick labels over the plot's edges; a shared axis's hidden ones are drawn
    hidden, for when the subplots stack."""
    parts = []
    hidden = "" if y_shown else " ff-hidden"
    for tick, label in axis_ticks(subplot.yaxis, subplot.y_range, subplot.y_log):
        top = units_y(subplot, tick) / UNITS
        parts.append(
            f'<span class="ff-yt ff-t{hidden}" style="top:{pct(top)}">{escape(label)}</span>'
        )
    hidden = "" if x_shown else " ff-hidden"
    for tick, label in axis_ticks(subplot.xaxis, subplot.x_range, subplot.x_log):
        left = units_x(subplot, tick) / UNITS
        parts.append(
            f'<span class="ff-xt ff-t{hidden}" style="left:{pct(left)}">{escape(label)}</span>'
        )
    return parts


def head_dots(subplot: Subplot, traces: list[dict]) -> list[str]:
    """A dot at the newest point of each bold line (width >= 2)."""
    parts = []
    for trace in traces:
        newest = last_point(trace, subplot)
        width = float(trace["line_width"])
        if "lines" in trace["mode"] and width >= 2 and newest is not None:
            parts.append(
                dot_html(subplot, *newest, 2 * width + 2, trace_color(trace), "", "curve-head")
            )
    return parts


def marker_dots(subplot: Subplot, traces: list[dict]) -> list[str]:
    """Each marker as a dot with its hover text as its tooltip."""
    parts = []
    for trace in traces:
        if "markers" not in trace["mode"]:
            continue
        template = trace.get("hovertemplate") or "%{x}, %{y}"
        for x, y in visible_points(trace, subplot):
            tip = hover_text(template, f"{x:g}", y)
            parts.append(
                dot_html(subplot, x, y, float(trace["marker_size"]), trace_color(trace), tip)
            )
    return parts


def dot_html(
    subplot: Subplot, x: float, y: float, size: float, color: str, tip: str, kind: str = "marker"
) -> str:
    title = f" title={quoteattr(tip)}" if tip else ""
    return (
        f'<span class="ff-dot {kind}"{title} style="left:{pct(units_x(subplot, x) / UNITS)};'
        f"top:{pct(units_y(subplot, y) / UNITS)};width:{size:g}px;height:{size:g}px;"
        f'background:{color}"></span>'
    )


def visible_points(trace: dict, subplot: Subplot) -> list[tuple[float, float]]:
    shown = np.isfinite(subplot.x(trace["x"])) & np.isfinite(subplot.y(trace["y"]))
    return list(zip(trace["x"][shown].tolist(), trace["y"][shown].tolist(), strict=True))


def last_point(trace: dict, subplot: Subplot) -> tuple[float, float] | None:
    shown = np.flatnonzero(np.isfinite(subplot.x(trace["x"])) & np.isfinite(subplot.y(trace["y"])))
    if not shown.size:
        return None
    return float(trace["x"][shown[-1]]), float(trace["y"][shown[-1]])


def units_x(subplot: Subplot, value):
    """Where a value (or an array) sits across the plot, 0 to 1000."""
    return (subplot.x(value) - subplot.left) / subplot.width * UNITS


def units_y(subplot: Subplot, value):
    """Where a value (or an array) sits down the plot, 0 (top) to 1000."""
    return (subplot.y(value) - subplot.top) / subplot.height * UNITS


def trace_color(trace: dict) -> str:
    return trace.get("shown_color") or trace.get("color") or PLOTLY_COLORS[0]


def legend_html(entries: list[tuple[str, str, str]]) -> str:
    """The legend, a row that wraps: a short line in each trace's colour and dashes, its name."""
    if not entries:
        return ""
    keys = "".join(
        f'<span class="ff-key ff-t"><svg xmlns="{SVG_NAMESPACE}" width="26" height="10" '
        'aria-hidden="true">'
        f'<line x1="1" x2="25" y1="5" y2="5" stroke="{color}" stroke-width="3"'
        f"{dash_attribute(dash, 3)}/></svg>{html_text(name)}</span>"
        for name, color, dash in entries
    )
    return f'<div class="ff-legend legend">{keys}</div>'


KEPT_MARKUP = re.compile(r"(<br\s*/?>|</?(?:b|i|sub|sup)>)")  # Plotly's, kept as HTML


def html_text(text: str) -> str:
    """Plotly's text markup as escaped HTML: <b>, <i>, <sub> and <sup> kept, <br> a line break."""
    out = []
    for piece in KEPT_MARKUP.split(text):
        if not piece:
            continue
        if KEPT_MARKUP.fullmatch(piece):
            out.append("<br/>" if piece.startswith("<br") else piece)
        else:
            out.append(escape(piece))
    return "".join(out)


def pct(fraction: float) -> str:
    return f"{100 * fraction:.2f}".rstrip("0").rstrip(".") + "%"
