"""Plotly figures and tables of several runs side by side (the Compare page).

Each run is a `TrainerSnapshot.runs` entry (name, status, iteration, history, ...).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from lenet_viz.config import setting
from lenet_viz.figures.smoothing import AUTO, MAX_PLOT_POINTS, percent, smoothed_curve
from lenet_viz.figures.style import GRADIENT_LAYER_STYLE, RUN_COLORS, style
from lenet_viz.figures.training import add_placed, curve_traces, empty_note, x_title, x_values
from lenet_viz.history import History


def _run_traces(index, name, history, x, smoothing, max_points, legend):
    """(1, loss trace) and (2, accuracy trace) pairs of run number `index`, in its colour."""
    color = RUN_COLORS[index % len(RUN_COLORS)]
    xs = np.asarray(x_values(history, x))
    for metric, values in ((1, history.loss), (2, percent(history.accuracy))):
        for trace in curve_traces(
            xs,
            values,
            name=name,
            color=color,
            smoothing=smoothing,
            max_points=max_points,
            legend=legend and metric == 1,
        ):
            yield metric, trace


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
    if not any(history.iteration for _, history in runs):
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


def trained_layers(history: History) -> list[str]:
    """Layers with a non-zero gradient somewhere (the modern net's pooling layers have none)."""
    return [
        name
        for name, norms in history.grad_norm.items()
        if len(norms) and bool(np.any(np.nan_to_num(np.asarray(norms, dtype=float)) > 0))
    ]


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
        iterations = np.asarray(history.iteration)
        for layer in trained_layers(history):
            xs, ys = smoothed_curve(iterations, history.grad_norm[layer], smoothing, max_points)
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
        config = run.get("config") or {}
        test_acc = (run.get("final") or {}).get("test_acc")
        if test_acc is None and history.epochs:
            test_acc = history.epochs[-1]["test_acc"]
        row = {"run": run["name"]}
        for key in ("activation", "optimizer", "lr", "batch_size", "c3"):
            if setting(config, key) is not None:
                row[key] = setting(config, key)
        row.update(
            {
                "status": run["status"],
                "iterations": run["iteration"],
                "train loss (smoothed)": _last_smoothed(history.loss, smoothing),
                "train accuracy % (smoothed)": _percent_or_none(
                    _last_smoothed(history.accuracy, smoothing)
                ),
                "test accuracy %": None if test_acc is None else 100.0 * test_acc,
                "C1 gradient norm (last 10%)": _tail_mean(history.grad_norm.get("C1", [])),
            }
        )
        rows.append(row)
    return rows


def _last_smoothed(values: Sequence[float], smoothing: float | None) -> float | None:
    if not len(values):
        return None
    return float(smoothed_curve(range(len(values)), values, smoothing)[1][-1])


def _percent_or_none(value: float | None) -> float | None:
    return None if value is None else 100.0 * value


def _tail_mean(values: Sequence[float], fraction: float = 0.1) -> float | None:
    if not values:
        return None
    tail = values[-max(1, int(len(values) * fraction)) :]
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
