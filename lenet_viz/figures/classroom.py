"""The class board's pictures: every run's curve overlaid (coloured by a setting), the pooled
experiment as a grid, and both in one PNG for slides (drawn with Pillow, no browser needed)."""

from __future__ import annotations

import io
from collections.abc import Sequence

import plotly.graph_objects as go
from PIL import Image, ImageDraw, ImageFont
from plotly.subplots import make_subplots

from lenet_viz.classroom.grid import PooledGrid, sort_key
from lenet_viz.figures.style import RUN_COLORS, style

CURVES = {
    "test_accuracy": ("Test accuracy at each epoch's end", "epoch"),
    "train_accuracy": ("Train accuracy at each epoch's end", "epoch"),
    "loss": ("Training loss", "iteration"),
    "batch_accuracy": ("Batch accuracy", "iteration"),
}


def value_colors(runs: Sequence[dict], colour_by: str) -> dict:
    """One colour per value of the setting (in the values' order)."""
    values = sorted({run["settings"].get(colour_by) for run in runs}, key=sort_key)
    return {value: RUN_COLORS[i % len(RUN_COLORS)] for i, value in enumerate(values)}


def label(name: str, value) -> str:
    return f"{name} = {value}"


def curves_figure(runs: Sequence[dict], curve: str, colour_by: str) -> go.Figure:
    """Every run's `curve` on one chart, coloured by its value of `colour_by` (one legend entry
    per value)."""
    title, x_title = CURVES[curve]
    colors = value_colors(runs, colour_by)
    fig = go.Figure()
    shown: set = set()
    for run in runs:
        points = run["curves"].get(curve) or {"x": [], "y": []}
        value = run["settings"].get(colour_by)
        fig.add_trace(
            go.Scattergl(
                x=points["x"],
                y=points["y"],
                mode="lines+markers" if len(points["x"]) < 30 else "lines",
                line=dict(color=colors[value], width=2),
                opacity=0.8,
                name=label(colour_by, value),
                legendgroup=str(value),
                showlegend=value not in shown,
                hovertext=f"{run['student']}: {run['name']}",
            )
        )
        shown.add(value)
    fig.update_layout(title=title, xaxis_title=x_title)
    return style(fig, height=420)


def cell_text(grid: PooledGrid, row, column) -> str:
    cell = grid.cell(row, column)
    if cell is None:
        return ""
    return f"{100 * cell.mean:.1f}% ± {100 * cell.spread:.1f} (n={cell.count})"


def pooled_figure(grid: PooledGrid) -> go.Figure:
    """The pooled experiment: rows x columns, each cell the runs' mean final test accuracy
    (colour), with its spread and count written in."""
    z = [
        [
            100 * cell.mean if (cell := grid.cell(r, c)) is not None else None
            for c in grid.column_values
        ]
        for r in grid.row_values
    ]
    text = [[cell_text(grid, r, c) for c in grid.column_values] for r in grid.row_values]
    fig = go.Figure(
        go.Heatmap(
            z=z,
            x=[str(c) for c in grid.column_values],
            y=[str(r) for r in grid.row_values],
            text=text,
            texttemplate="%{text}",
            colorscale="Blues",
            colorbar=dict(title="test %"),
            hoverongaps=False,
        )
    )
    fig.update_layout(
        title="The pooled experiment: final test accuracy, mean ± spread",
        xaxis_title=grid.columns,
        yaxis_title=grid.rows,
        xaxis_type="category",
        yaxis_type="category",
    )
    return style(fig, height=140 + 70 * max(1, len(grid.row_values)), legend=False)


# ------------------------------------------------------------------ a browser's kept runs

KEPT_CURVES = (
    # (stored curve, subplot title, x axis, scale of the stored values)
    ("test_accuracy", "Test accuracy per epoch (%)", "epoch", 100.0),
    ("loss", "Loss per batch", "iteration (batches)", 1.0),
)


def kept_run_label(number: int, run: dict) -> str:
    """How a kept run is named in its chart, its table and its picker: "#2 relu · SGD · lr 0.1"
    (numbered from 1, newest first, as the browser's runs are listed)."""
    return f"#{number} {run['name']}"


def kept_curves(run: dict) -> dict[str, tuple[list[float], list[float]]]:
    """A stored run's curves as the kept runs' chart draws them: {curve: (x, y)}, the test
    accuracy in percent; a curve the run did not store is empty."""
    curves = run.get("curves") or {}
    drawn = {}
    for name, _title, _x_title, scale in KEPT_CURVES:
        points = curves.get(name) or {}
        x, y = list(points.get("x") or []), list(points.get("y") or [])
        drawn[name] = (x[: len(y)], [scale * value for value in y[: len(x)]])
    return drawn


def kept_runs_figure(runs: Sequence[dict]) -> go.Figure:
    """A browser's kept runs (as `Workspace.runs` gives them, newest first), each run's test
    accuracy at every epoch's end and its batch loss side by side, one colour per run."""
    fig = make_subplots(
        rows=1,
        cols=len(KEPT_CURVES),
        subplot_titles=[title for _name, title, _x, _scale in KEPT_CURVES],
        horizontal_spacing=0.1,
    )
    for index, run in enumerate(runs):
        color = RUN_COLORS[index % len(RUN_COLORS)]
        name = kept_run_label(index + 1, run)
        for column, (x, y) in enumerate(kept_curves(run).values(), start=1):
            fig.add_trace(
                go.Scatter(
                    x=x,
                    y=y,
                    mode="lines+markers" if len(x) < 30 else "lines",
                    line=dict(color=color, width=2),
                    name=name,
                    legendgroup=name,
                    showlegend=column == 1,
                ),
                row=1,
                col=column,
            )
    for column, (_name, _title, x_title, _scale) in enumerate(KEPT_CURVES, start=1):
        fig.update_xaxes(title_text=x_title, row=1, col=column)
    return style(fig, height=380)


# ------------------------------------------------------------------ the PNG for slides

WIDTH, MARGIN = 1400, 40
INK, GRID_LINE, BACKGROUND = (30, 30, 30), (200, 200, 200), (255, 255, 255)


def font(size: int) -> ImageFont.ImageFont:
    return ImageFont.load_default(size=size)


def board_png(
    title: str, runs: Sequence[dict], grid: PooledGrid | None, curve: str, colour_by: str
) -> bytes:
    """The board on one picture: its title, the curves, and the pooled grid (if any)."""
    chart_height = 520
    grid_height = 0 if grid is None else 90 + 60 * (len(grid.row_values) + 1)
    image = Image.new("RGB", (WIDTH, 90 + chart_height + grid_height + MARGIN), BACKGROUND)
    draw = ImageDraw.Draw(image)
    draw.text((MARGIN, 25), f"{title}: {len(runs)} runs", fill=INK, font=font(34))
    draw_curves(draw, (MARGIN, 90, WIDTH - MARGIN, 90 + chart_height), runs, curve, colour_by)
    if grid is not None:
        draw_grid(draw, 90 + chart_height + 30, grid)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def hex_rgb(color: str) -> tuple[int, int, int]:
    return tuple(int(color[i : i + 2], 16) for i in (1, 3, 5))


def draw_curves(draw: ImageDraw.ImageDraw, box, runs, curve: str, colour_by: str) -> None:
    left, top, right, bottom = box
    plot = (left + 70, top + 40, right - 260, bottom - 50)
    title, x_title = CURVES[curve]
    draw.text((left, top), title, fill=INK, font=font(24))
    xs = [x for run in runs for x in (run["curves"].get(curve) or {}).get("x", [])]
    ys = [y for run in runs for y in (run["curves"].get(curve) or {}).get("y", [])]
    draw.rectangle(plot, outline=GRID_LINE)
    if not xs:
        draw.text((plot[0] + 20, plot[1] + 20), "no curves yet", fill=INK, font=font(20))
        return
    x_low, x_high = min(xs), max(xs) if max(xs) > min(xs) else min(xs) + 1
    y_low, y_high = min(ys), max(ys) if max(ys) > min(ys) else min(ys) + 1

    def at(x: float, y: float) -> tuple[float, float]:
        return (
            plot[0] + (x - x_low) / (x_high - x_low) * (plot[2] - plot[0]),
            plot[3] - (y - y_low) / (y_high - y_low) * (plot[3] - plot[1]),
        )

    for fraction in (0, 0.5, 1):
        y = y_low + fraction * (y_high - y_low)
        draw.text((left, at(x_low, y)[1] - 10), f"{y:.3g}", fill=INK, font=font(16))
    draw.text((plot[0], plot[3] + 10), f"{x_low:g}", fill=INK, font=font(16))
    draw.text((plot[2] - 60, plot[3] + 10), f"{x_high:g} {x_title}", fill=INK, font=font(16))
    colors = value_colors(runs, colour_by)
    for run in runs:
        points = run["curves"].get(curve) or {"x": [], "y": []}
        line = [at(x, y) for x, y in zip(points["x"], points["y"], strict=True)]
        color = hex_rgb(colors[run["settings"].get(colour_by)])
        if len(line) > 1:
            draw.line(line, fill=color, width=3)
        for x, y in line if len(line) < 30 else []:
            draw.ellipse((x - 4, y - 4, x + 4, y + 4), fill=color)
    for i, (value, color) in enumerate(colors.items()):
        y = plot[1] + 30 * i
        draw.rectangle((plot[2] + 20, y + 4, plot[2] + 40, y + 20), fill=hex_rgb(color))
        draw.text((plot[2] + 50, y), label(colour_by, value), fill=INK, font=font(18))


def draw_grid(draw: ImageDraw.ImageDraw, top: int, grid: PooledGrid) -> None:
    draw.text(
        (MARGIN, top),
        f"Pooled: final test accuracy by {grid.rows} (rows) and {grid.columns} (columns)",
        fill=INK,
        font=font(24),
    )
    columns = len(grid.column_values) + 1
    cell_width = (WIDTH - 2 * MARGIN) / columns
    y = top + 50
    header = [f"{grid.rows} \\ {grid.columns}", *map(str, grid.column_values)]
    rows = [header] + [
        [str(r), *(cell_text(grid, r, c) for c in grid.column_values)] for r in grid.row_values
    ]
    for row in rows:
        for i, text in enumerate(row):
            x = MARGIN + i * cell_width
            draw.rectangle((x, y, x + cell_width, y + 60), outline=GRID_LINE)
            draw.text((x + 10, y + 18), text, fill=INK, font=font(20))
        y += 60
