"""Plotly figures of training: live curves, results, comparisons and the architecture.

Every function is pure: it takes a `History` or plain data and returns a `go.Figure`, so it can
be tested without Streamlit and used from a notebook. Long runs are decimated before plotting
(`decimation_indices`): the browser gets at most `MAX_PLOT_POINTS` points per curve, so a live
update stays fast after tens of thousands of iterations, while smoothing uses every point.

The curve figures draw from a curves source: `HistoryCurves` (what they build from a History)
or `lenet_viz.live.LiveRun`, which keeps the same curves up to date poll by poll, reading only
the iterations added since the last poll. Each curve trace has a `uid`
("<run>:<metric>:raw|smooth", see `curve_uid`) by which a live view refreshes its data.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from lenet_viz.train import History

# Okabe-Ito: colour-blind-safe, and distinct on a classroom projector.
RUN_COLORS = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9")
LAYER_COLORS = {
    "C1": "#D55E00",
    "S2": "#E69F00",
    "C3": "#CC79A7",
    "S4": "#F0E442",
    "C5": "#009E73",
    "F6": "#56B4E9",
    "output": "#0072B2",
}
MAX_PLOT_POINTS = 1500
AUTO = None  # smoothing=AUTO picks the weight from the number of points (`auto_smoothing`)
FONT_SIZE = 15
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


# ------------------------------------------------------------------------- plain helpers


def decimation_indices(count: int, max_points: int = MAX_PLOT_POINTS) -> list[int]:
    """Indices of at most `max_points` evenly spaced points out of `count`, first and last kept."""
    if max_points < 2:
        raise ValueError(f"max_points must be at least 2 (first and last), got {max_points}")
    if count <= max_points:
        return list(range(count))
    return np.unique(np.linspace(0, count - 1, max_points).round().astype(int)).tolist()


def decimate(
    xs: Sequence, ys: Sequence, max_points: int = MAX_PLOT_POINTS
) -> tuple[np.ndarray, np.ndarray]:
    """(xs, ys) reduced to at most `max_points` points, the first and last always kept.

    Returns numpy arrays: Plotly takes them as they are, where it would check a list element
    by element (most of the cost of a live update).
    """
    if len(xs) != len(ys):
        raise ValueError(f"xs and ys differ in length: {len(xs)} != {len(ys)}")
    keep = np.asarray(decimation_indices(len(xs), max_points), dtype=int)
    return np.asarray(xs)[keep], np.asarray(ys, dtype=float)[keep]


def auto_smoothing(count: int, fraction: float = 0.05, longest: int = 50) -> float:
    """An EMA weight whose window is ~5% of the curve (at most 50 points, at least 1).

    A fixed weight either leaves a short run noisy or makes a long one lag behind the data.
    """
    window = min(longest, max(1.0, fraction * count))
    return 1.0 - 1.0 / window


def smooth(values: Sequence[float], weight: float | None = AUTO) -> list[float]:
    """Exponential moving average, debiased so that the first points are not pulled to zero.

    s_t = weight * s_(t-1) + (1 - weight) * v_t, divided by (1 - weight^t) as TensorBoard does.
    Non-finite values (a diverging loss) are skipped: the average keeps its last value.
    weight=AUTO (None) picks it from the number of values with `auto_smoothing`.
    """
    if weight is None:
        weight = auto_smoothing(len(values))
    if not 0 <= weight < 1:
        raise ValueError(f"smoothing weight must be in [0, 1), got {weight}")
    smoothed, average, steps = [], 0.0, 0
    for value in values:
        if math.isfinite(value):
            average = weight * average + (1 - weight) * value
            steps += 1
        smoothed.append(average / (1 - weight**steps) if steps else float("nan"))
    return smoothed


def smoothed_curve(
    xs: Sequence,
    values: Sequence[float],
    smoothing: float | None = AUTO,
    max_points: int = MAX_PLOT_POINTS,
) -> tuple[np.ndarray, np.ndarray]:
    """The smoothed curve at the decimated points, computed from every value.

    Short curves are smoothed point by point. Long ones are first averaged over the values
    between two kept points (one vectorised pass), then smoothed over those means with the
    per-point weight raised to the bucket size, so the cost of a poll stays bounded however
    long the run.
    """
    count = len(values)
    keep = np.asarray(decimation_indices(count, max_points), dtype=int)
    weight = auto_smoothing(count) if smoothing is None else smoothing
    if len(keep) == count:
        return np.asarray(xs), np.asarray(smooth(values, weight), dtype=float)
    array = np.asarray(values, dtype=float)
    finite = np.isfinite(array)
    starts = np.concatenate(([0], keep[:-1] + 1))
    sums = np.add.reduceat(np.where(finite, array, 0.0), starts)
    counts = np.add.reduceat(finite.astype(int), starts)
    means = np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)
    bucket = count / len(keep)
    return np.asarray(xs)[keep], np.asarray(smooth(means.tolist(), weight**bucket), dtype=float)


def percent(values: Sequence[float]) -> np.ndarray:
    return 100.0 * np.asarray(values, dtype=float)


GRADIENT = "grad_norm:"  # metric names: "loss", "accuracy" (%), "grad_norm:<layer>"


def curve_uid(run: int, metric: str, kind: str) -> str:
    """The uid of a curve trace: run number, metric and "raw" or "smooth"."""
    return f"{run}:{metric}:{kind}"


def parse_curve_uid(uid: str) -> tuple[int, str, str]:
    run, metric, kind = uid.split(":", 1)[0], *uid.split(":", 1)[1].rsplit(":", 1)
    return int(run), metric, kind


class HistoryCurves:
    """The curves of a whole `History`, each computed from every value when first asked for.

    A curves source has: `count` (iterations recorded), `layers()` (layers with a gradient),
    and `raw(metric)` / `smoothed(metric)`, each an (xs, ys) pair ready to draw.
    """

    def __init__(
        self,
        history: History,
        x: str = "iteration",
        smoothing: float | None = AUTO,
        max_points: int = MAX_PLOT_POINTS,
    ):
        self.history, self.smoothing, self.max_points = history, smoothing, max_points
        self.xs = np.asarray(_x_values(history, x))

    @property
    def count(self) -> int:
        return len(self.history.iteration)

    def values(self, metric: str) -> Sequence[float]:
        if metric == "loss":
            return self.history.loss
        if metric == "accuracy":
            return percent(self.history.accuracy)
        if metric.startswith(GRADIENT):
            return self.history.grad_norm[metric[len(GRADIENT) :]]
        raise ValueError(f"unknown metric {metric!r}")

    def raw(self, metric: str) -> tuple[np.ndarray, np.ndarray]:
        return decimate(self.xs, self.values(metric), self.max_points)

    def smoothed(self, metric: str) -> tuple[np.ndarray, np.ndarray]:
        return smoothed_curve(self.xs, self.values(metric), self.smoothing, self.max_points)

    def layers(self) -> list[str]:
        return trained_layers(self.history)


def curves_of(source, x: str, smoothing: float | None, max_points: int):
    """A curves source for `source`: a History's `HistoryCurves`, or the live source itself
    (which already knows its x axis and smoothing)."""
    if isinstance(source, History):
        return HistoryCurves(source, x, smoothing, max_points)
    return source


def _style(fig: go.Figure, height: int, legend: bool = True) -> go.Figure:
    fig.update_layout(
        height=height,
        margin=dict(l=10, r=10, t=50, b=10),
        font=dict(size=FONT_SIZE),
        legend=dict(orientation="h", yanchor="bottom", y=1.08, xanchor="right", x=1),
        showlegend=legend,
        hovermode="x unified",
        template="plotly_white",
    )
    fig.update_annotations(font_size=FONT_SIZE + 1)  # subplot titles
    return fig


def _x_values(history: History, x: str) -> list:
    if x == "iteration":
        return history.iteration
    if x == "epoch":
        return history.epoch_float
    raise ValueError(f"x must be 'iteration' or 'epoch', got {x!r}")


def _x_title(x: str) -> str:
    return "iteration (batches)" if x == "iteration" else "epoch"


def _curve_traces(
    source,
    metric: str,
    *,
    run: int,
    name: str,
    color: str,
    show_raw: bool = True,
    legend: bool = True,
) -> list[go.Scatter]:
    """A faint raw curve (every batch) under its bold smoothed curve, both decimated."""
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
            line=dict(color=color, width=3),
            name=name,
            legendgroup=name,
            showlegend=legend,
            hovertemplate="%{y:.3f}",
            uid=curve_uid(run, metric, "smooth"),
        )
    )
    return traces


def _add_placed(fig: go.Figure, placed: list[tuple[go.Scatter, int, int]]) -> None:
    """Add (trace, row, col) triples in one call: much faster than one add_trace each."""
    if placed:
        traces, rows, cols = zip(*placed, strict=True)
        fig.add_traces(list(traces), rows=list(rows), cols=list(cols))


def _empty_note(fig: go.Figure, text: str) -> go.Figure:
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

    `history`: a History, or a curves source such as `lenet_viz.live.LiveRun`."""
    fig = make_subplots(
        rows=1,
        cols=2,
        subplot_titles=("Loss per batch", "Accuracy per batch (%)"),
        horizontal_spacing=0.08,
    )
    placed = []
    source = curves_of(history, "iteration", smoothing, max_points)
    for col, metric in ((1, "loss"), (2, "accuracy")):
        for trace in _curve_traces(
            source, metric, run=0, name=f"smoothed {metric}", color=color, legend=False
        ):
            placed.append((trace, 1, col))
        fig.update_xaxes(title_text=_x_title("iteration"), row=1, col=col)
    _add_placed(fig, placed)
    fig.update_yaxes(range=[0, 100], row=1, col=2)
    if not source.count:
        _empty_note(fig, "The curves appear with the first batch.")
    return _style(fig, height, legend=False)


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
    if not epochs:
        _empty_note(fig, "Train and test points appear at the end of each epoch.")
    return _style(fig, height)


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
    _style(fig, height, legend=False)
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
        return _style(_empty_note(go.Figure(), "No mistakes on this test set."), 160, legend=False)
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
    _style(fig, rows * tile + 40, legend=False)
    fig.update_layout(margin=dict(l=0, r=0, t=30, b=0), hovermode=False)
    return fig


# ------------------------------------------------------------------------- several runs


def _run_traces(index, name, history, x, smoothing, max_points, legend):
    """(1, loss trace) and (2, accuracy trace) pairs of run number `index`, in its colour."""
    color = RUN_COLORS[index % len(RUN_COLORS)]
    source = curves_of(history, x, smoothing, max_points)
    for metric, name_of_metric in ((1, "loss"), (2, "accuracy")):
        for trace in _curve_traces(
            source,
            name_of_metric,
            run=index,
            name=name,
            color=color,
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
    _add_placed(fig, placed)
    for col in (1, 2):
        fig.update_xaxes(title_text=_x_title(x), row=1, col=col)
    fig.update_yaxes(range=[0, 100], row=1, col=2)
    if not any(curves_of(history, x, smoothing, max_points).count for _, history in runs):
        _empty_note(fig, "The curves appear with the first batch.")
    return _style(fig, height)


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
        fig.update_xaxes(title_text=_x_title(x), row=2, col=column)
    _add_placed(fig, placed)
    fig.update_yaxes(title_text="loss", row=1, col=1)
    fig.update_yaxes(title_text="accuracy (%)", range=[0, 100], row=2, col=1)
    return _style(fig, height, legend=False)


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
    columns = max(1, len(runs))
    fig = make_subplots(
        rows=1,
        cols=columns,
        shared_yaxes=True,
        subplot_titles=[name for name, _ in runs],
        horizontal_spacing=0.03,
    )
    shown: set[str] = set()
    placed = []
    for index, (_, history) in enumerate(runs):
        source = curves_of(history, "iteration", smoothing, max_points)
        for layer in source.layers():
            xs, ys = source.smoothed(GRADIENT + layer)
            trace = go.Scatter(
                x=xs,
                y=ys,
                mode="lines",
                line=dict(color=LAYER_COLORS.get(layer, "#444"), width=3),
                name=layer,
                legendgroup=layer,
                showlegend=layer not in shown,
                hovertemplate=f"{layer}: " + "%{y:.2e}<extra></extra>",
                uid=curve_uid(index, GRADIENT + layer, "smooth"),
            )
            placed.append((trace, 1, index + 1))
            shown.add(layer)
        fig.update_xaxes(title_text=_x_title("iteration"), row=1, col=index + 1)
    _add_placed(fig, placed)
    fig.update_yaxes(type="log", exponentformat="power")
    fig.update_yaxes(title_text="gradient norm (log)", row=1, col=1)
    if not shown:
        _empty_note(fig, "The gradient norms appear with the first batch.")
    return _style(fig, height)


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
        if key in config:
            row[key] = config[key]
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


# ------------------------------------------------------------------------- the architecture

LAYER_KINDS = {
    "modern": {
        "C1": "convolution 5x5",
        "S2": "pooling 2x2",
        "C3": "convolution 5x5",
        "S4": "pooling 2x2",
        "C5": "convolution 5x5",
        "F6": "full connection",
        "output": "full connection",
    },
    "faithful": {  # LeCun et al. 1998, Fig. 2 (p.7) and Section II-B
        "C1": "convolution 5x5",
        "S2": "subsampling 2x2",
        "C3": "convolution 5x5 (Table I)",
        "S4": "subsampling 2x2",
        "C5": "convolution 5x5",
        "F6": "full connection",
        "output": "Gaussian (RBF)",
    },
}


def _shape_text(shape: Sequence[int]) -> str:
    if len(shape) == 3:
        return f"{shape[0]}@{shape[1]}x{shape[2]}"
    return f"{shape[0]} units"


def architecture_figure(info: dict, *, height: int = 300) -> go.Figure:
    """LeNet-5 drawn left to right from `model.info()`: feature maps as stacked squares sized by
    their side, vectors as bars sized by their length, with shapes and parameter counts."""
    layers = [{"name": "input", "output_shape": [1, 32, 32], "params": 0}] + list(info["layers"])
    kinds = LAYER_KINDS.get(info.get("arch", "modern"), LAYER_KINDS["modern"])
    fig = go.Figure()
    gap = 1.0
    for index, layer in enumerate(layers):
        center = index * gap
        shape = layer["output_shape"]
        color = LAYER_COLORS.get(layer["name"], "#888888")
        if len(shape) == 3:
            top = _draw_maps(fig, center, shape, color)
        else:
            top = _draw_vector(fig, center, shape[0], color)
        kind = "32x32 pixels" if layer["name"] == "input" else kinds.get(layer["name"], "")
        fig.add_annotation(
            x=center,
            y=top + 0.12,
            text=f"<b>{layer['name']}</b><br>{_shape_text(shape)}",
            showarrow=False,
            yanchor="bottom",
            font=dict(size=FONT_SIZE),
        )
        params = f"{layer['params']:,} params" if layer["name"] != "input" else ""
        fig.add_annotation(
            x=center,
            y=-0.85,
            text=f"{kind}<br><i>{params}</i>",
            showarrow=False,
            yanchor="top",
            font=dict(size=FONT_SIZE - 2, color="#444"),
        )
        if index:
            fig.add_annotation(
                x=center - 0.36,
                y=0,
                ax=center - gap + 0.36,
                ay=0,
                xref="x",
                yref="y",
                axref="x",
                ayref="y",
                showarrow=True,
                arrowhead=3,
                arrowwidth=2,
                arrowcolor="#999",
                text="",
            )
    fig.update_xaxes(visible=False, range=[-0.6, (len(layers) - 1) * gap + 0.6])
    fig.update_yaxes(visible=False, range=[-1.6, 1.5])
    fig.update_layout(
        height=height,
        margin=dict(l=0, r=0, t=0, b=0),
        template="plotly_white",
        showlegend=False,
        dragmode=False,
    )
    return fig


def _draw_maps(fig: go.Figure, center: float, shape: Sequence[int], color: str) -> float:
    """A stack of up to 6 squares (side ∝ map side); returns the stack's top y."""
    maps, side = shape[0], 0.55 * shape[1] / 32 + 0.1
    shown = min(maps, 6)
    step = 0.05
    width = side + step * (shown - 1)
    left, bottom = center - width / 2, -side / 2 - step * (shown - 1) / 2
    for k in range(shown):
        x0, y0 = left + step * k, bottom + step * (shown - 1 - k)
        fig.add_shape(
            type="rect",
            x0=x0,
            y0=y0,
            x1=x0 + side,
            y1=y0 + side,
            line=dict(color="#333", width=1),
            fillcolor=color,
            opacity=0.85,
        )
    return bottom + step * (shown - 1) + side


def _draw_vector(fig: go.Figure, center: float, units: int, color: str) -> float:
    """A bar whose height grows with the number of units; returns its top y."""
    height = 0.25 + 1.25 * min(units, 120) / 120
    fig.add_shape(
        type="rect",
        x0=center - 0.07,
        y0=-height / 2,
        x1=center + 0.07,
        y1=height / 2,
        line=dict(color="#333", width=1),
        fillcolor=color,
        opacity=0.85,
    )
    return height / 2


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
        if key == "activation" or len({str(c.get(key)) for c in configs}) > 1
    ]
    names = [" · ".join(template.format(c.get(key)) for key, template in varying) for c in configs]
    if len(set(names)) < len(names):
        names = [f"#{i + 1} {name}" for i, name in enumerate(names)]
    return names
