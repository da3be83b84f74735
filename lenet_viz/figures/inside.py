"""Plotly figures for the Draw and Inside pages, from plain arrays (no Streamlit, no torch).

Feature maps are drawn as images: row 0 at the top, square pixels, one colour scale per
figure so that maps of one layer can be compared. Values that are never negative (ReLU, max
pooling) use black -> white like MNIST; signed values (tanh, kernels) use blue (negative) ->
white (0) -> red (positive).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go
from PIL import Image, ImageDraw
from plotly.subplots import make_subplots

from lenet_viz.figures.replay import BACKGROUND, INK, colorize, label_font

NONNEGATIVE_SCALE = "gray"
SIGNED_SCALE = "RdBu_r"
HIGHLIGHT = "#ff7f0e"  # orange: the chosen C3 map and its inputs
CONNECTED = "#1f4e79"
UNCONNECTED = "#eef1f5"
EXTRA = "#d62728"  # red: a connection the paper's Table I does not have
FONT = dict(size=14)


def _color_range(values: np.ndarray) -> dict:
    """A shared colour range: symmetric around 0 for signed values, 0..max otherwise."""
    low, high = float(np.min(values)), float(np.max(values))
    if low < 0:
        bound = max(abs(low), abs(high), 1e-6)
        return dict(colorscale=SIGNED_SCALE, cmin=-bound, cmax=bound)
    return dict(colorscale=NONNEGATIVE_SCALE, cmin=0.0, cmax=max(high, 1e-6))


def image_grid_figure(
    images: np.ndarray | Sequence[np.ndarray],
    titles: Sequence[str],
    columns: int,
    *,
    cell_px: int = 110,
    highlight: Sequence[int] = (),
    color_range: dict | None = None,
    colorbar_title: str = "",
    show_colorbar: bool = True,
) -> go.Figure:
    """Images (n, h, w) in a grid of `columns`, with one shared colour scale.

    highlight: indices of images framed in orange.
    """
    stack = np.asarray(images, dtype=np.float32)
    count = len(stack)
    rows = max(1, -(-count // columns))
    fig = make_subplots(
        rows=rows,
        cols=columns,
        subplot_titles=list(titles),
        horizontal_spacing=0.02,
        vertical_spacing=0.12 / rows if rows > 1 else 0.02,
    )
    colors = color_range or _color_range(stack)
    for index, image in enumerate(stack):
        row, col = index // columns + 1, index % columns + 1
        fig.add_trace(
            go.Heatmap(
                z=image,
                coloraxis="coloraxis",
                hovertemplate=f"{titles[index]}<br>row %{{y}}, col %{{x}}: %{{z:.3f}}"
                "<extra></extra>",
            ),
            row=row,
            col=col,
        )
    for index in range(count):
        axis = "" if index == 0 else str(index + 1)
        fig.layout[f"yaxis{axis}"].update(
            autorange="reversed", scaleanchor=f"x{axis}", constrain="domain"
        )
        fig.layout[f"xaxis{axis}"].update(constrain="domain")
    fig.update_xaxes(showticklabels=False, ticks="", showgrid=False, zeroline=False)
    fig.update_yaxes(showticklabels=False, ticks="", showgrid=False, zeroline=False)
    for index in highlight:
        _frame_subplot(fig, index)
    fig.update_layout(
        coloraxis=dict(
            colorscale=colors["colorscale"],
            cmin=colors["cmin"],
            cmax=colors["cmax"],
            showscale=show_colorbar,
            colorbar=dict(title=colorbar_title, thickness=12, len=0.9),
        ),
        height=rows * cell_px + 40,
        margin=dict(l=10, r=10, t=30, b=10),
        font=FONT,
    )
    fig.update_annotations(font_size=13)
    return fig


def _frame_subplot(fig: go.Figure, index: int) -> None:
    axis = "" if index == 0 else str(index + 1)
    fig.add_shape(
        type="rect",
        xref=f"x{axis} domain",
        yref=f"y{axis} domain",
        x0=-0.04,
        x1=1.04,
        y0=-0.04,
        y1=1.04,
        line=dict(color=HIGHLIGHT, width=4),
    )


def feature_maps_figure(
    maps: np.ndarray,
    layer: str,
    columns: int,
    *,
    cell_px: int = 110,
    highlight: Sequence[int] = (),
) -> go.Figure:
    """One layer's maps (n, h, w), titled "C1 map 0", "C1 map 1", ..."""
    titles = [f"{layer} map {i}" for i in range(len(maps))]
    return image_grid_figure(
        maps,
        titles,
        columns,
        cell_px=cell_px,
        highlight=highlight,
        colorbar_title="activation",
    )


def map_images(maps: np.ndarray, size_px: int, signed: bool | None = None) -> list[np.ndarray]:
    """One layer's maps (n, h, w) as RGB pictures on one shared colour scale (black -> white,
    or blue -> white -> red when signed), each enlarged by whole pixels to about `size_px`.

    The Inside page shows them as images: a Plotly heatmap per map took most of the page's
    time to draw in the browser (benchmarks/browser_latency.py)."""
    stack = np.asarray(maps, dtype=np.float32)
    rgb = colorize(stack, signed)
    factor = max(1, size_px // max(stack.shape[1:]))
    return list(rgb.repeat(factor, axis=1).repeat(factor, axis=2))


LABEL_BAND = 24  # px under each map of a layer picture, for its number
TILE_GAP = 8  # px of white between two maps


def layer_picture(
    maps: np.ndarray, size_px: int, columns: int, signed: bool | None = None
) -> np.ndarray:
    """One layer's maps (n, h, w) as one RGB picture: `map_images` in a grid `columns` wide,
    each map's number (0, 1, ...) under it, as the connection table and the captions name it.

    One picture per layer, not one per map: a page of 51 map pictures spent 0.9 s of a
    browser's core loading and drawing them (issue 22, benchmarks/browser_latency.py)."""
    tiles = map_images(maps, size_px, signed)
    height, width = tiles[0].shape[:2]
    columns = max(1, min(columns, len(tiles)))
    rows = -(-len(tiles) // columns)
    canvas = Image.new(
        "RGB",
        (
            columns * width + (columns - 1) * TILE_GAP,
            rows * (height + LABEL_BAND) + (rows - 1) * TILE_GAP,
        ),
        BACKGROUND,
    )
    draw, font = ImageDraw.Draw(canvas), label_font(LABEL_BAND - 6)
    for index, picture in enumerate(tiles):
        row, column = divmod(index, columns)
        left, top = column * (width + TILE_GAP), row * (height + LABEL_BAND + TILE_GAP)
        canvas.paste(Image.fromarray(picture), (left, top))
        draw.text(
            (left + width / 2, top + height + 3), str(index), fill=INK, font=font, anchor="mt"
        )
    return np.asarray(canvas)


def vector_figure(
    values: np.ndarray,
    title: str,
    *,
    labels: Sequence[str] | None = None,
    highlight: int | None = None,
    height: int = 220,
    y_title: str = "activation",
) -> go.Figure:
    """A layer of single units (C5, F6, output) as bars, one per unit."""
    values = np.asarray(values, dtype=np.float32)
    x = list(labels) if labels is not None else list(range(len(values)))
    colors = [HIGHLIGHT if i == highlight else CONNECTED for i in range(len(values))]
    fig = go.Figure(
        go.Bar(
            x=x,
            y=values,
            marker_color=colors,
            hovertemplate="unit %{x}: %{y:.3f}<extra></extra>",
        )
    )
    fig.update_layout(
        title=dict(text=title, font_size=15),
        height=height,
        margin=dict(l=10, r=10, t=40, b=10),
        yaxis_title=y_title,
        bargap=0.15,
        font=FONT,
    )
    if labels is not None:
        fig.update_xaxes(type="category")
    return fig


def probabilities_figure(probabilities: np.ndarray, prediction: int | None) -> go.Figure:
    """The ten class probabilities as bars, the predicted digit in orange."""
    probabilities = np.asarray(probabilities, dtype=np.float32)
    colors = [HIGHLIGHT if d == prediction else CONNECTED for d in range(10)]
    fig = go.Figure(
        go.Bar(
            x=[str(d) for d in range(10)],
            y=probabilities,
            marker_color=colors,
            text=[f"{p:.0%}" if p >= 0.005 else "" for p in probabilities],
            textposition="outside",
            hovertemplate="digit %{x}: %{y:.1%}<extra></extra>",
        )
    )
    fig.update_layout(
        height=260,
        margin=dict(l=10, r=10, t=10, b=10),
        yaxis=dict(range=[0, 1.15], tickformat=".0%", title="probability"),
        xaxis=dict(type="category", title="digit"),
        font=FONT,
    )
    return fig


def rbf_codes_figure(bitmaps: np.ndarray, highlight: int | None = None) -> go.Figure:
    """The ten fixed 7x12 RBF codes (Fig. 3, p.9): +1 ink (black), -1 background (white)."""
    titles = [f"digit {d}" for d in range(len(bitmaps))]
    return image_grid_figure(
        -np.asarray(bitmaps),  # drawn dark on light, as in the paper's figure
        titles,
        len(bitmaps),
        cell_px=150,
        highlight=() if highlight is None else (highlight,),
        color_range=dict(colorscale=NONNEGATIVE_SCALE, cmin=-1.0, cmax=1.0),
        show_colorbar=False,
    )


def f6_against_code_figure(f6_bitmap: np.ndarray, code: np.ndarray, digit: int) -> go.Figure:
    """F6's 84 outputs laid out 7x12 next to the code of one digit: the RBF unit for that digit
    outputs the squared distance between the two (eq. 7, p.9)."""
    images = np.stack([-np.asarray(f6_bitmap), -np.asarray(code)])
    titles = ["F6 output (84 units as 7x12)", f"RBF code of digit {digit}"]
    bound = max(float(np.abs(images).max()), 1.0)
    return image_grid_figure(
        images,
        titles,
        2,
        cell_px=230,
        color_range=dict(colorscale=NONNEGATIVE_SCALE, cmin=-bound, cmax=bound),
        show_colorbar=False,
    )


def c3_breakdown_figure(
    s2_maps: np.ndarray,
    kernels: np.ndarray,
    contributions: np.ndarray,
    inputs: Sequence[int],
    c3_map: int,
    pre_activation: np.ndarray,
    output: np.ndarray,
) -> go.Figure:
    """How one C3 map is made. One column per S2 input: the S2 map (top), its 5x5 kernel
    (middle), and the map convolved with the kernel (bottom). The bottom row goes on with the
    sum of those plus the bias, then the C3 map after the activation (framed).

    Each row has its own colour scale, so that small contributions stay visible.
    """
    k = len(inputs)
    columns = k + 2
    blank = [""] * 2
    fig = make_subplots(
        rows=3,
        cols=columns,
        horizontal_spacing=0.015,
        vertical_spacing=0.09,
        subplot_titles=(
            [f"S2 map {i}" for i in inputs]
            + blank
            + [f"kernel {i}→{c3_map}" for i in inputs]
            + blank
            + [f"S2 map {i}<br>* kernel" for i in inputs]
            + ["= sum<br>+ bias", f"→ C3 map {c3_map}<br>(activation)"]
        ),
    )
    rows = [
        (s2_maps, "coloraxis", "S2 map"),
        (kernels, "coloraxis2", "weight"),
        (contributions, "coloraxis3", "contribution"),
    ]
    for row, (stack, axis, label) in enumerate(rows, start=1):
        for col in range(k):
            fig.add_trace(
                go.Heatmap(
                    z=stack[col],
                    coloraxis=axis,
                    hovertemplate=f"{label}: %{{z:.3f}}<extra></extra>",
                ),
                row=row,
                col=col + 1,
            )
    for col, (image, axis) in enumerate(
        ((pre_activation, "coloraxis4"), (output, "coloraxis5")), start=k + 1
    ):
        fig.add_trace(
            go.Heatmap(z=image, coloraxis=axis, hovertemplate="%{z:.3f}<extra></extra>"),
            row=3,
            col=col,
        )
    for index in range(3 * columns):
        axis = "" if index == 0 else str(index + 1)
        fig.layout[f"yaxis{axis}"].update(
            autorange="reversed", scaleanchor=f"x{axis}", constrain="domain"
        )
        fig.layout[f"xaxis{axis}"].update(constrain="domain")
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    _frame_subplot(fig, 3 * columns - 1)
    fig.update_layout(
        coloraxis=_coloraxis(s2_maps),
        coloraxis2=_coloraxis(kernels, signed=True),
        coloraxis3=_coloraxis(contributions, signed=True),
        coloraxis4=_coloraxis(pre_activation, signed=True),
        coloraxis5=_coloraxis(output),
        height=3 * 150 + 40,
        margin=dict(l=10, r=10, t=30, b=10),
        font=FONT,
    )
    fig.update_annotations(font_size=13)
    return fig


def _coloraxis(values: np.ndarray, signed: bool = False) -> dict:
    values = np.asarray(values)
    if signed:
        bound = max(float(np.abs(values).max()), 1e-6)
        colors = dict(colorscale=SIGNED_SCALE, cmin=-bound, cmax=bound)
    else:
        colors = _color_range(values)
    return dict(**colors, showscale=False)


def pixel_image(image: np.ndarray, size: int = 140) -> np.ndarray:
    """A 0..1 grey image as uint8, enlarged by whole pixels (no blur) to about `size` px."""
    values = np.clip(np.asarray(image, dtype=np.float32), 0.0, 1.0)
    factor = max(1, size // max(values.shape))
    enlarged = np.kron(values, np.ones((factor, factor), dtype=np.float32))
    return (enlarged * 255).round().astype(np.uint8)
