"""Plotly figures and tables of several runs side by side (the Compare page).

Each run is a `TrainerSnapshot.runs` entry (name, status, iteration, history, ...). The curve
figures take (name, History) pairs, or (name, live curves source) pairs (`figures.curves`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from lenet_viz.figures.curves import GRADIENT, curve_uid, curves_of
from lenet_viz.figures.curves import trained_layers as trained_layers  # it lived here
from lenet_viz.figures.smoothing import AUTO, MAX_PLOT_POINTS, smoothed_curve
from lenet_viz.figures.style import GRADIENT_LAYER_STYLE, RUN_COLORS, RUN_DASHES, style
from lenet_viz.figures.training import add_placed, curve_traces, empty_note, x_title
from lenet_viz.training.config import setting
from lenet_viz.training.history import History


def _run_traces(index, name, history, x, smoothing, max_points, legend):
    """(1, loss trace) and (2, accuracy trace) pairs of run number `index`, in its colour."""
    color = RUN_COLORS[index % len(RUN_COLORS)]
    dash = RUN_DASHES[index % len(RUN_DASHES)]
    source = curves_of(history, x, smoothing, max_points)
    for col, metric in ((1, "loss"), (2, "accuracy")):
        for trace in curve_traces(
            source,
            metric,
            run=index,
            name=name,
            color=color,
            legend=legend and col == 1,
            dash=dash,
        ):
            yield col, trace


def overlay_figure(
    runs: Sequence[tuple[str, History]],
    *,
    x: str = "iteration",
    smoothing: float | None = AUTO,
    max_points: int = MAX_PLOT_POINTS,
    height: int = 400,
) -> go.Figure:
    """Loss and accuracy of several runs on the same axes, one colour per run."""
    fig = make_subplots(
        rows=1,
        cols=2,
        subplot_titles=("Loss (smoothed)", "Batch accuracy (%, smoothed)"),
        horizontal_spacing=0.08,
    )
    placed = [
        (trace, 1, metric)
        for index, (name, history) in enumerate(runs)
        for metric, trace in _run_traces(index, name, history, x, smoothing, max_points, True)
    ]
    add_placed(fig, placed)
    for col in (1, 2):
        fig.update_xaxes(title_text=x_title(x), row=1, col=col)
    fig.update_yaxes(range=[0, 100], row=1, col=2)
    if not any(curves_of(history, x, smoothing, max_points).count for _, history in runs):
        empty_note(fig, "The curves appear with the first batch.")
    return style(fig, height)


def small_multiples_figure(
    runs: Sequence[tuple[str, History]],
    *,
    x: str = "iteration",
    smoothing: float | None = AUTO,
    max_points: int = MAX_PLOT_POINTS,
    height: int = 460,
) -> go.Figure:
    """One column per run (loss above, accuracy below), on shared axes to compare shapes."""
    columns = max(1, len(runs))
    fig = make_subplots(
        rows=2,
        cols=columns,
        shared_xaxes=True,
        shared_yaxes=True,
        subplot_titles=[name for name, _ in runs],
        horizontal_spacing=0.03,
        vertical_spacing=0.08,
    )
    placed = [
        (trace, metric, index + 1)
        for index, (name, history) in enumerate(runs)
        for metric, trace in _run_traces(index, name, history, x, smoothing, max_points, False)
    ]
    for column in range(1, len(runs) + 1):
        fig.update_xaxes(title_text=x_title(x), row=2, col=column)
    add_placed(fig, placed)
    fig.update_yaxes(title_text="loss", row=1, col=1)
    fig.update_yaxes(title_text="accuracy (%)", range=[0, 100], row=2, col=1)
    return style(fig, height, legend=False)


def gradient_norm_figure(
    runs: Sequence[tuple[str, History]],
    *,
    smoothing: float | None = AUTO,
    max_points: int = MAX_PLOT_POINTS,
    height: int = 420,
) -> go.Figure:
    """Each layer's gradient L2 norm over the iterations, one panel per run, log scale.

    With sigmoid the early layers (C1, C3) get gradients orders of magnitude smaller than the
    last layers: each sigmoid multiplies the backpropagated error by at most 1/4.
    """
    # Up to two panels in a row (four runs' titles ran together on one row), and layer colours
    # of their own (a sequential scale from the input side, with dashes), never the runs'.
    columns = min(2, max(1, len(runs)))
    rows = max(1, math.ceil(len(runs) / columns))
    fig = make_subplots(
        rows=rows,
        cols=columns,
        shared_yaxes=True,
        subplot_titles=[name for name, _ in runs],
        horizontal_spacing=0.06,
        vertical_spacing=0.22 if rows > 1 else 0.0,
    )
    shown: set[str] = set()
    placed = []
    for index, (_, history) in enumerate(runs):
        row, col = divmod(index, columns)
        source = curves_of(history, "iteration", smoothing, max_points)
        for layer in source.layers():
            xs, ys = source.smoothed(GRADIENT + layer)
            color, dash = GRADIENT_LAYER_STYLE.get(layer, ("#444444", "solid"))
            trace = go.Scatter(
                x=xs,
                y=ys,
                mode="lines",
                line=dict(color=color, width=3, dash=dash),
                name=layer,
                legendgroup=layer,
                showlegend=layer not in shown,
                hovertemplate=f"{layer}: " + "%{y:.2e}<extra></extra>",
                uid=curve_uid(index, GRADIENT + layer, "smooth"),
            )
            placed.append((trace, row + 1, col + 1))
            shown.add(layer)
        fig.update_xaxes(title_text=x_title("iteration"), row=row + 1, col=col + 1)
    add_placed(fig, placed)
    fig.update_yaxes(type="log", exponentformat="power")
    for row in range(rows):
        fig.update_yaxes(title_text="gradient norm (log)", row=row + 1, col=1)
    if not shown:
        empty_note(fig, "The gradient norms appear with the first batch.")
    return style(fig, height if rows == 1 else int(height * 1.7))


def summary_rows(runs: Sequence[dict], smoothing: float | None = AUTO) -> list[dict]:
    """One row of final numbers per run, for a table.

    Each run is a dict with name, status, iteration and history (a `TrainerSnapshot.runs`
    entry), and optionally final (test_acc) and config (a `TrainConfig.to_dict()`).
    """
    rows = []
    for run in runs:
        history: History = run["history"]
        rows.append(
            summary_row(
                run,
                history.epochs,
                loss=_last_smoothed(history.loss, smoothing),
                accuracy=_last_smoothed(history.accuracy, smoothing),
                c1_gradient=_tail_mean(history.grad_norm.get("C1", [])),
            )
        )
    return rows


def summary_row(
    run: dict,
    epochs: Sequence[dict],
    *,
    loss: float | None,
    accuracy: float | None,
    c1_gradient: float | None,
) -> dict:
    """The summary row of one run (see `summary_rows`), from its smoothed last loss and batch
    accuracy (0-1) and the mean C1 gradient norm over the last 10% of its iterations."""
    config = run.get("config") or {}
    test_acc = (run.get("final") or {}).get("test_acc")
    if test_acc is None and epochs:
        test_acc = epochs[-1]["test_acc"]
    row = {"run": run["name"]}
    for key in ("activation", "optimizer", "lr", "batch_size", "c3"):
        if setting(config, key) is not None:
            row[key] = setting(config, key)
    row.update(
        {
            "status": run["status"],
            "iterations": run["iteration"],
            "train loss (smoothed)": loss,
            "train accuracy % (smoothed)": _percent_or_none(accuracy),
            "test accuracy %": None if test_acc is None else 100.0 * test_acc,
            "C1 gradient norm (last 10%)": c1_gradient,
        }
    )
    return row


def _last_smoothed(values: Sequence[float], smoothing: float | None) -> float | None:
    if not len(values):
        return None
    return float(smoothed_curve(range(len(values)), values, smoothing)[1][-1])


def _percent_or_none(value: float | None) -> float | None:
    return None if value is None else 100.0 * value


TAIL_FRACTION = 0.1  # the summary's C1 gradient norm: the mean over the last 10% of iterations


def tail_length(count: int, fraction: float = TAIL_FRACTION) -> int:
    return max(1, int(count * fraction))


def _tail_mean(values: Sequence[float], fraction: float = TAIL_FRACTION) -> float | None:
    if not values:
        return None
    tail = values[-tail_length(len(values), fraction) :]
    return float(np.mean(tail))


# ------------------------------------------------------------------------- run names

NAME_FIELDS = (
    ("activation", "{}"),
    ("optimizer", "{}"),
    ("lr", "lr {:g}"),
    ("momentum", "momentum {:g}"),
    ("batch_size", "batch {}"),
    ("schedule", "{} schedule"),
    ("c3", "C3 {}"),
    ("pooling", "{} pooling"),
)


def short_run_names(configs: Sequence[dict]) -> list[str]:
    """Legend names that say what differs between runs, e.g. ["sigmoid", "relu"].

    Each config is a dict (`TrainConfig.to_dict()`); the activation is always named, other
    settings only when they differ between runs. Identical runs get "#1", "#2", ...
    """
    varying = [
        (key, template)
        for key, template in NAME_FIELDS
        if key == "activation" or len({str(setting(c, key)) for c in configs}) > 1
    ]
    names = [
        " · ".join(template.format(setting(c, key)) for key, template in varying) for c in configs
    ]
    if len(set(names)) < len(names):
        names = [f"#{i + 1} {name}" for i, name in enumerate(names)]
    return names
