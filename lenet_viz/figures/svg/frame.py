"""Where things go: the plot area inside the margins, each pair of axes' pixel area and
range (linear or log; shared ranges), and the legend's entries."""

from __future__ import annotations

import numpy as np

from lenet_viz.figures.svg.marks import DEFAULT_FONT_SIZE, LINE_HEIGHT
from lenet_viz.figures.svg.traces import PLOTLY_COLORS

LEGEND_ROW = 26  # the legend's row above the plots


def axis_key(reference: str, letter: str) -> str:
    """A trace's axis reference ("x", "x2") as its layout key ("xaxis", "xaxis2")."""
    return f"{letter}axis{reference[1:]}"


class Subplot:
    """One pair of axes: their pixel area (from their domains), ranges and layouts. A log
    axis (`type: "log"`) places log10 of its values, as Plotly does (its range is in those)."""

    def __init__(
        self, frame: Frame, xaxis: dict, yaxis: dict, xs: np.ndarray, ys: np.ndarray
    ) -> None:
        x_domain, y_domain = xaxis.get("domain") or [0, 1], yaxis.get("domain") or [0, 1]
        self.left, right = frame.paper_x(x_domain[0]), frame.paper_x(x_domain[1])
        self.top, bottom = frame.paper_y(y_domain[1]), frame.paper_y(y_domain[0])
        self.width, self.height = max(1.0, right - self.left), max(1.0, bottom - self.top)
        self.xaxis, self.yaxis = xaxis, yaxis
        self.x_log, self.y_log = xaxis.get("type") == "log", yaxis.get("type") == "log"
        self.x_range = axis_range(xaxis, placed(xs, self.x_log), 0.04)
        self.y_range = axis_range(yaxis, placed(ys, self.y_log), 0.06)

    def x(self, value):
        """The pixel x of a value, or of an array of them."""
        low, high = self.x_range
        return self.left + (placed(value, self.x_log) - low) / (high - low) * self.width

    def y(self, value):
        low, high = self.y_range
        return self.top + (high - placed(value, self.y_log)) / (high - low) * self.height


def placed(value, log: bool):
    """Where a value (or an array) sits on its axis: itself, or log10 of it on a log axis
    (NaN where <= 0)."""
    values = np.asarray(value, dtype=np.float64)
    if log:
        with np.errstate(divide="ignore", invalid="ignore"):
            values = np.where(values > 0, np.log10(np.where(values > 0, values, 1.0)), np.nan)
    return float(values) if values.ndim == 0 else values


def axis_range(axis: dict, values, pad: float) -> list[float]:
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


class Frame:
    """Data coordinates to the drawing's pixels: the plot area inside the margins, the axes'
    ranges from the layout (or from the bars), and scatter traces' subplots in it."""

    def __init__(self, layout: dict, width: int, height: int, data: list) -> None:
        margin = {"l": 80, "r": 80, "t": 100, "b": 80} | (layout.get("margin") or {})
        bars = [trace for trace in data if trace.get("type") == "bar"]
        lines = [trace for trace in data if trace.get("type") == "scatter"]
        self.categories: list | None = None
        self.legend = legend_entries(layout, lines)
        if bars:
            margin["l"] += 46 + (18 if axis_title(layout, "yaxis") else 0)  # y ticks, title
            margin["b"] += 22  # x tick labels
            margin["t"] = max(margin["t"], 36 if (layout.get("title") or {}).get("text") else 0)
        if lines:
            y_titled = any(axis_title(layout, axis_key(t["yaxis"], "y")) for t in lines)
            x_titled = any(axis_title(layout, axis_key(t["xaxis"], "x")) for t in lines)
            margin["l"] += 40 + (20 if y_titled else 0)  # y ticks, title
            margin["b"] += 20 + (20 if x_titled else 0)  # x ticks, title
        # The legend's row at the top, under the title; the plots (and their titles) below it.
        self.legend_y = 4 + (32 if (layout.get("title") or {}).get("text") else 0)
        if lines and self.legend:
            notes = 6 + LINE_HEIGHT * notes_size(layout) if has_top_notes(layout) else 0
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
        self.subplots: dict[tuple[str, str], Subplot] = {}
        for trace in lines:
            key = (trace["xaxis"], trace["yaxis"])
            if key not in self.subplots:
                xaxis = layout.get(axis_key(key[0], "x")) or {}
                yaxis = layout.get(axis_key(key[1], "y")) or {}
                xs = matched_values(layout, lines, "x", key[0])
                ys = matched_values(layout, lines, "y", key[1])
                self.subplots[key] = Subplot(self, xaxis, yaxis, xs, ys)
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


def matched_values(layout: dict, lines: list[dict], letter: str, reference: str) -> list:
    """The values of every trace on axis `reference` ("x2") or on an axis it shares its range
    with (`matches`, as make_subplots' shared axes): shared axes get one range."""

    def root(name: str) -> str:
        return (layout.get(axis_key(name, letter)) or {}).get("matches") or name

    group = root(reference)
    shared = [t[letter] for t in lines if root(t[letter + "axis"]) == group]
    return np.concatenate(shared) if shared else np.zeros(0)


def has_top_notes(layout: dict) -> bool:
    """Whether annotations sit on the plots' top edge (subplot titles), under the legend."""
    return any(
        note.get("yref") == "paper" and float(note.get("y", 0)) >= 1 and note.get("text")
        for note in layout.get("annotations", ())
    )


def notes_size(layout: dict) -> float:
    """The largest font size of the annotations (subplot titles)."""
    font = (layout.get("font") or {}).get("size") or DEFAULT_FONT_SIZE
    return max(
        [((note.get("font") or {}).get("size") or font) for note in layout.get("annotations", ())]
        or [font]
    )


def legend_entries(layout: dict, lines: list[dict]) -> list[tuple[str, str, str]]:
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


def axis_title(layout: dict, axis: str) -> str:
    return ((layout.get(axis) or {}).get("title") or {}).get("text") or ""
