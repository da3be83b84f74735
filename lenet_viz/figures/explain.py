"""Plotly figures for robustness curves, top digits per map and saliency (no Streamlit, no torch).

Many small digits are drawn as one mosaic (a single heatmap, NaN between the digits) rather than
one subplot each: a 16-map x 9-digit grid stays one trace and draws at once.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from lenet_viz.figures.inside import FONT, HIGHLIGHT
from lenet_viz.figures.style import RUN_COLORS

MODEL_COLORS = RUN_COLORS  # the models of the robustness curves, coloured as runs are
GAP = 2  # pixels of nothing between two digits of a mosaic
BLOCK_GAP = 10  # between two maps' blocks
INK_SCALE = [[0.0, "#000000"], [1.0, "#ffffff"]]
# Overlays: transparent where nothing happens, opaque colour where the map is strong.
DROP_SCALE = [
    [0.0, "rgba(255,140,0,0)"],
    [0.15, "rgba(255,140,0,0.25)"],
    [1.0, "rgba(255,40,0,0.9)"],
]
SIGNED_OVERLAY = [
    [0.0, "rgba(33,102,172,0.9)"],
    [0.4, "rgba(33,102,172,0.25)"],
    [0.5, "rgba(255,255,255,0)"],
    [0.6, "rgba(178,24,43,0.25)"],
    [1.0, "rgba(178,24,43,0.9)"],
]


# ------------------------------------------------------------------ robustness


def robustness_figure(
    curves_by_model: Mapping[str, dict],
    sweeps: Sequence[str] | None = None,
    columns: int = 3,
) -> go.Figure:
    """Accuracy against strength, one subplot per transform, one line per model.

    curves_by_model: {model label: RobustnessCurves.to_dict()}.
    """
    first = next(iter(curves_by_model.values()))
    names = list(sweeps or first["curves"])
    rows = -(-len(names) // columns)
    fig = make_subplots(
        rows=rows,
        cols=columns,
        subplot_titles=[first["curves"][n]["label"] for n in names],
        horizontal_spacing=0.06,
        vertical_spacing=0.16,
    )
    for m, (label, result) in enumerate(curves_by_model.items()):
        color = MODEL_COLORS[m % len(MODEL_COLORS)]
        for i, name in enumerate(names):
            curve = result["curves"][name]
            fig.add_trace(
                go.Scatter(
                    x=curve["strengths"],
                    y=curve["accuracy"],
                    mode="lines+markers",
                    name=label,
                    legendgroup=label,
                    showlegend=i == 0,
                    line=dict(color=color, width=2.5),
                    marker=dict(size=6),
                    hovertemplate=f"{label}<br>%{{x}}: %{{y:.1%}}<extra></extra>",
                ),
                row=i // columns + 1,
                col=i % columns + 1,
            )
    fig.update_yaxes(range=[0, 1.02], tickformat=".0%", gridcolor="#e5e5e5")
    fig.update_xaxes(gridcolor="#e5e5e5")
    for i in range(len(names)):
        if i % columns == 0:
            fig.update_yaxes(title_text="accuracy", row=i // columns + 1, col=1)
    fig.update_layout(
        height=300 * rows + 90,
        margin=dict(l=10, r=10, t=40, b=10),
        legend=dict(orientation="h", yanchor="bottom", y=1.06, x=0),
        plot_bgcolor="white",
        font=FONT,
    )
    fig.update_annotations(font_size=14)
    return fig


def robustness_table(curves_by_model: Mapping[str, dict], points: Mapping[str, Sequence[float]]):
    """Rows for a table: {transform at strength: {model label: accuracy}}."""
    rows = {}
    for name, strengths in points.items():
        for strength in strengths:
            row = {}
            for label, result in curves_by_model.items():
                curve = result["curves"][name]
                distances = np.abs(np.asarray(curve["strengths"]) - strength)
                if distances.min() > 1e-9:
                    raise ValueError(f"the {name} curve has no point at {strength:g}")
                row[label] = curve["accuracy"][int(np.argmin(distances))]
            rows[f"{name} {strength:g}"] = row
    return rows


# ------------------------------------------------------------------ mosaics


def mosaic(images: np.ndarray, columns: int, gap: int = GAP) -> np.ndarray:
    """Images (n, h, w) laid out `columns` wide, NaN in the gaps and empty cells."""
    n, h, w = images.shape
    rows = -(-n // columns)
    out = np.full((rows * (h + gap) - gap, columns * (w + gap) - gap), np.nan, dtype=np.float32)
    for i, image in enumerate(images):
        r, c = divmod(i, columns)
        out[r * (h + gap) : r * (h + gap) + h, c * (w + gap) : c * (w + gap) + w] = image
    return out


def _mosaic_figure(canvas: np.ndarray, height: int) -> go.Figure:
    fig = go.Figure(
        go.Heatmap(
            z=canvas,
            colorscale=INK_SCALE,
            zmin=0,
            zmax=1,
            showscale=False,
            hoverinfo="skip",
        )
    )
    fig.update_xaxes(visible=False, range=[-0.5, canvas.shape[1] - 0.5], constrain="domain")
    fig.update_yaxes(
        visible=False,
        autorange="reversed",
        scaleanchor="x",
        constrain="domain",
    )
    fig.update_layout(
        height=height,
        margin=dict(l=5, r=5, t=30, b=5),
        plot_bgcolor="white",
        font=FONT,
        dragmode=False,
    )
    return fig


def _box_shape(x0: float, y0: float, x1: float, y1: float) -> dict:
    return dict(
        type="rect",
        x0=x0 - 0.5,
        y0=y0 - 0.5,
        x1=x1 - 0.5,
        y1=y1 - 0.5,
        line=dict(color=HIGHLIGHT, width=2),
    )


def top_digits_figure(
    digits: np.ndarray,
    boxes: np.ndarray | None,
    titles: Sequence[str],
    blocks_per_row: int,
    block_side: int = 3,
    *,
    captions: Sequence[Sequence[str]] | None = None,
    px_per_block: int = 210,
) -> go.Figure:
    """Every map's top digits as a block of `block_side` x `block_side` digits.

    digits: (maps, k, 28, 28) 0..1; boxes: (maps, k, 4) (top, left, bottom, right) pixel edges of
    each digit's receptive field, outlined in orange (None: no outline); titles: one per map;
    captions: optional text under each digit (maps x k).
    """
    maps, k, side, _ = digits.shape
    cell_w, cell_h = side + GAP, side + (10 if captions else GAP)  # room for a caption
    block_w, block_h = block_side * cell_w - GAP, block_side * cell_h - GAP
    title_h = 14
    block_rows = -(-maps // blocks_per_row)
    canvas = np.full(
        (
            block_rows * (block_h + title_h + BLOCK_GAP) - BLOCK_GAP,
            blocks_per_row * (block_w + BLOCK_GAP) - BLOCK_GAP,
        ),
        np.nan,
        dtype=np.float32,
    )
    shapes, annotations = [], []
    for m in range(maps):
        br, bc = divmod(m, blocks_per_row)
        y0 = br * (block_h + title_h + BLOCK_GAP) + title_h
        x0 = bc * (block_w + BLOCK_GAP)
        annotations.append(
            dict(x=x0 + block_w / 2, y=y0 - 7, text=titles[m], showarrow=False, font=dict(size=13))
        )
        for j in range(k):
            r, c = divmod(j, block_side)
            top, left = y0 + r * cell_h, x0 + c * cell_w
            canvas[top : top + side, left : left + side] = digits[m, j]
            if boxes is not None:
                bt, bl, bb, b_right = boxes[m, j]
                shapes.append(_box_shape(left + bl, top + bt, left + b_right, top + bb))
            if captions:
                annotations.append(
                    dict(
                        x=left + side / 2,
                        y=top + side + 4,
                        text=captions[m][j],
                        showarrow=False,
                        font=dict(size=10, color="#555"),
                    )
                )
    aspect = canvas.shape[0] / canvas.shape[1]
    width_px = blocks_per_row * px_per_block
    fig = _mosaic_figure(canvas, height=int(width_px * aspect) + 40)
    fig.update_yaxes(range=[canvas.shape[0] - 0.5, -0.5], autorange=False)
    fig.update_layout(shapes=shapes, annotations=annotations)
    return fig


STRIP_CAPTION_SIZE = 13  # a strength on its digit, readable on a phone and a projector


def digit_strip_figure(
    rows: Sequence[tuple[str, np.ndarray, Sequence[str]]], height_per_row: int = 110
) -> go.Figure:
    """Rows of digits, each (title, images (n, 28, 28), captions): e.g. one digit at every
    strength of every transform."""
    columns = max(len(images) for _, images, _ in rows)
    side = rows[0][1].shape[-1]
    cell, row_height = side + GAP, side + 16
    canvas = np.full((len(rows) * row_height, columns * cell), np.nan, dtype=np.float32)
    annotations = []
    for r, (title, images, captions) in enumerate(rows):
        top = r * row_height + 12
        annotations.append(
            dict(
                x=0,
                y=top - 7,
                text=f"<b>{title}</b>",
                showarrow=False,
                xanchor="left",
                font=dict(size=14),
            )
        )
        for c, image in enumerate(images):
            canvas[top : top + side, c * cell : c * cell + side] = image
            annotations.append(
                dict(
                    x=c * cell + side - 1,
                    y=top + side - 3,
                    text=captions[c],
                    showarrow=False,
                    xanchor="right",
                    font=dict(size=STRIP_CAPTION_SIZE, color="#ffd27f"),
                )
            )
    fig = _mosaic_figure(canvas, height=len(rows) * height_per_row + 40)
    fig.update_layout(annotations=annotations)
    return fig


# ------------------------------------------------------------------ saliency


def saliency_figure(
    digit: np.ndarray,
    occlusion: np.ndarray,
    gradient: np.ndarray,
    occlusion_title: str,
    gradient_title: str,
    occlusion_unit: str = "drop",
) -> go.Figure:
    """The 28x28 digit twice, once under the occlusion map (orange: hiding this place lowers
    the answer's probability) and once under the input gradient (red: more ink here raises the
    answer's score, blue: lowers it)."""
    fig = make_subplots(
        rows=1, cols=2, subplot_titles=[occlusion_title, gradient_title], horizontal_spacing=0.08
    )
    drop_max = max(float(np.max(occlusion)), 1e-6)
    bound = max(float(np.abs(gradient).max()), 1e-12)
    for col, (overlay, axis) in enumerate(((occlusion, "coloraxis"), (gradient, "coloraxis2")), 1):
        fig.add_trace(
            go.Heatmap(
                z=digit, colorscale=INK_SCALE, zmin=0, zmax=1, showscale=False, hoverinfo="skip"
            ),
            row=1,
            col=col,
        )
        fig.add_trace(
            go.Heatmap(
                z=overlay,
                coloraxis=axis,
                hovertemplate="row %{y}, col %{x}: %{z:.3g}<extra></extra>",
            ),
            row=1,
            col=col,
        )
    for axis in ("", "2"):
        fig.layout[f"yaxis{axis}"].update(
            autorange="reversed", scaleanchor=f"x{axis}", constrain="domain"
        )
        fig.layout[f"xaxis{axis}"].update(constrain="domain")
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    fig.update_layout(
        coloraxis=dict(
            colorscale=DROP_SCALE,
            cmin=0,
            cmax=drop_max,
            colorbar=dict(title=occlusion_unit, x=0.45, thickness=12, len=0.8),
        ),
        coloraxis2=dict(
            colorscale=SIGNED_OVERLAY,
            cmin=-bound,
            cmax=bound,
            colorbar=dict(title="d score / d pixel", x=1.0, thickness=12, len=0.8),
        ),
        height=420,
        margin=dict(l=10, r=10, t=40, b=10),
        plot_bgcolor="black",
        font=FONT,
    )
    fig.update_annotations(font_size=14)
    return fig
