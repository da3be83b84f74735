"""Plotly figures of one training run: live curves, the confusion matrix, mistakes.

Every function is pure: it takes a `History` or plain data and returns a `go.Figure`, so it can
be tested without Streamlit and used from a notebook. Curves are smoothed and decimated with
`lenet_viz.figures.smoothing`; several runs side by side are `lenet_viz.figures.comparison`.
The curve figures also draw from a live curves source (`lenet_viz.figures.curves`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from lenet_viz.figures.curves import curve_uid, curves_of
from lenet_viz.figures.smoothing import AUTO, MAX_PLOT_POINTS
from lenet_viz.figures.style import FONT_SIZE, RUN_COLORS, style
from lenet_viz.training.history import History

DIGIT_CLASSES = tuple(str(d) for d in range(10))
FASHION_CLASSES = (
    "T-shirt",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Boot",
)


def class_names(dataset: str) -> tuple[str, ...]:
    """The 10 label names of a dataset ("mnist": digits, "fashion-mnist": clothes)."""
    return FASHION_CLASSES if dataset == "fashion-mnist" else DIGIT_CLASSES


def x_title(x: str) -> str:
    return "iteration (batches)" if x == "iteration" else "epoch"


def curve_traces(
    source,
    metric: str,
    *,
    run: int,
    name: str,
    color: str,
    show_raw: bool = True,
    legend: bool = True,
    dash: str = "solid",
) -> list[go.Scatter]:
    """A faint raw curve (every batch) under its bold smoothed curve, both decimated, of
    `metric` from a curves source (`lenet_viz.figures.curves`); `run` goes in the uids."""
    traces = []
    if show_raw:
        raw_x, raw_y = source.raw(metric)
        traces.append(
            go.Scatter(
                x=raw_x,
                y=raw_y,
                mode="lines",
                line=dict(color=color, width=1),
                opacity=0.3,
                name=f"{name} (each batch)",
                legendgroup=name,
                showlegend=False,
                hoverinfo="skip",
                uid=curve_uid(run, metric, "raw"),
            )
        )
    smooth_x, smooth_y = source.smoothed(metric)
    traces.append(
        go.Scatter(
            x=smooth_x,
            y=smooth_y,
            mode="lines",
            line=dict(color=color, width=3, dash=dash),
            name=name,
            legendgroup=name,
            showlegend=legend,
            hovertemplate="%{y:.3f}",
            uid=curve_uid(run, metric, "smooth"),
        )
    )
    return traces


def add_placed(fig: go.Figure, placed: list[tuple[go.Scatter, int, int]]) -> None:
    """Add (trace, row, col) triples in one call: much faster than one add_trace each."""
    if placed:
        traces, rows, cols = zip(*placed, strict=True)
        fig.add_traces(list(traces), rows=list(rows), cols=list(cols))


def empty_note(fig: go.Figure, text: str) -> go.Figure:
    fig.add_annotation(
        text=text,
        xref="paper",
        yref="paper",
        x=0.5,
        y=0.5,
        showarrow=False,
        font=dict(size=FONT_SIZE + 2, color="#666"),
    )
    return fig


# ------------------------------------------------------------------------- one run


def iteration_figure(
    history,
    *,
    smoothing: float | None = AUTO,
    max_points: int = MAX_PLOT_POINTS,
    color: str = RUN_COLORS[0],
    height: int = 360,
) -> go.Figure:
    """Loss and batch accuracy per iteration: faint raw values under a smoothed curve.

    `history`: a History, or a live curves source (`lenet_viz.figures.live.LiveRun`)."""
    fig = make_subplots(
        rows=1,
        cols=2,
        subplot_titles=("Loss per batch", "Accuracy per batch (%)"),
        horizontal_spacing=0.08,
    )
    placed = []
    source = curves_of(history, "iteration", smoothing, max_points)
    for col, metric in ((1, "loss"), (2, "accuracy")):
        for trace in curve_traces(
            source, metric, run=0, name=f"smoothed {metric}", color=color, legend=False
        ):
            placed.append((trace, 1, col))
        fig.update_xaxes(title_text=x_title("iteration"), row=1, col=col)
    add_placed(fig, placed)
    fig.update_yaxes(range=[0, 100], row=1, col=2)
    if not source.count:
        empty_note(fig, "The curves appear with the first batch.")
    return style(fig, height, legend=False)


def epoch_figure(
    history: History, *, total_epochs: int | None = None, height: int = 320
) -> go.Figure:
    """Loss and accuracy per epoch: train (mean over the epoch's batches) against test.

    With `total_epochs` the x axis spans the whole run from the start, so the points fill it.
    """
    fig = make_subplots(
        rows=1,
        cols=2,
        subplot_titles=("Loss per epoch", "Accuracy per epoch (%)"),
        horizontal_spacing=0.08,
    )
    epochs = [e["epoch"] for e in history.epochs]
    for col, key, scale in ((1, "loss", 1.0), (2, "acc", 100.0)):
        for split, color, dash in (
            ("train", RUN_COLORS[0], "solid"),
            ("test", RUN_COLORS[1], "dash"),
        ):
            fig.add_trace(
                go.Scatter(
                    x=epochs,
                    y=[scale * e[f"{split}_{key}"] for e in history.epochs],
                    mode="lines+markers",
                    marker=dict(size=10),
                    line=dict(color=color, width=3, dash=dash),
                    name=split,
                    legendgroup=split,
                    showlegend=col == 1,
                ),
                row=1,
                col=col,
            )
        fig.update_xaxes(title_text="epoch", dtick=1, row=1, col=col)
    last = max([total_epochs or 1, *epochs])
    fig.update_xaxes(range=[0.7, last + 0.3])
    fig.update_yaxes(range=[0, 100], row=1, col=2)
    fig.update_yaxes(range=epoch_loss_range(history), row=1, col=1)
    if not epochs:
        empty_note(fig, "Train and test points appear at the end of each epoch.")
    return style(fig, height)


def epoch_loss_range(history: History) -> list[float]:
    """The per-epoch loss axis from 0 to a little above the highest loss: autoscaled, a run
    stuck at chance (2.32 to 2.35) looked like wild overfitting; from 0 it is the flat line it
    is. Non-finite losses are left out."""
    values = [
        e[key]
        for e in history.epochs
        for key in ("train_loss", "test_loss")
        if e.get(key) is not None and math.isfinite(e[key])
    ]
    return [0.0, 1.15 * max(values) if values and max(values) > 0 else 1.0]


def confusion_figure(
    confusion: Sequence[Sequence[int]],
    names: Sequence[str] = DIGIT_CLASSES,
    *,
    height: int = 520,
) -> go.Figure:
    """confusion[true][predicted] as a heatmap with counts.

    The colour scale tops out at the largest off-diagonal count, so the mistakes stand out
    (the diagonal, the correct answers, is always the darkest).
    """
    counts = np.asarray(confusion, dtype=int)
    off_diagonal = counts - np.diag(np.diag(counts))
    top = max(1, int(off_diagonal.max()))
    fig = go.Figure(
        go.Heatmap(
            z=counts,
            x=list(names),
            y=list(names),
            zmin=0,
            zmax=top,
            colorscale="Blues",
            texttemplate="%{z}",
            textfont=dict(size=FONT_SIZE - 1),
            hovertemplate="true %{y}, predicted %{x}: %{z}<extra></extra>",
            colorbar=dict(title="count"),
        )
    )
    fig.update_xaxes(title_text="predicted", type="category", side="bottom")
    fig.update_yaxes(title_text="true", type="category", autorange="reversed")
    style(fig, height, legend=False)
    fig.update_layout(hovermode="closest", margin=dict(t=20))
    return fig


def misclassified_figure(
    images: np.ndarray,
    true: Sequence[int],
    predicted: Sequence[int],
    names: Sequence[str] = DIGIT_CLASSES,
    *,
    columns: int = 8,
    tile: int = 120,
) -> go.Figure:
    """A gallery of 28x28 images, each titled "true → predicted", ink dark on white."""
    images = np.asarray(images)
    count = len(images)
    if count == 0:
        return style(empty_note(go.Figure(), "No mistakes on this test set."), 160, legend=False)
    columns = max(1, min(columns, count))
    rows = math.ceil(count / columns)
    titles = [f"{names[t]} → {names[p]}" for t, p in zip(true, predicted, strict=True)]
    fig = make_subplots(
        rows=rows,
        cols=columns,
        subplot_titles=titles,
        horizontal_spacing=0.015,
        vertical_spacing=min(0.3 / rows, 0.08),
    )
    for i, image in enumerate(images):
        fig.add_trace(
            go.Heatmap(
                z=image,
                colorscale="gray_r",
                zmin=0,
                zmax=255,
                showscale=False,
                hoverinfo="skip",
            ),
            row=i // columns + 1,
            col=i % columns + 1,
        )
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False, autorange="reversed", scaleanchor="x", constrain="domain")
    for axis in range(2, count + 1):  # every tile square, not only the first
        fig.update_yaxes(scaleanchor=f"x{axis}", selector=dict(anchor=f"x{axis}"))
    style(fig, rows * tile + 40, legend=False)
    fig.update_layout(margin=dict(l=0, r=0, t=30, b=0), hovermode=False)
    return fig
