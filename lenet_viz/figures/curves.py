"""Curves sources: what the curve figures draw, a whole `History` or a live view of a run.

The curve figures (`figures.training.iteration_figure`, `figures.comparison.overlay_figure`,
`small_multiples_figure`, `gradient_norm_figure`) draw from a curves source, which has:

- `count`: the iterations recorded;
- `layers()`: the layers with a non-zero gradient somewhere;
- `raw(metric)` and `smoothed(metric)`: each an (xs, ys) pair ready to draw, decimated.

Metrics are "loss", "accuracy" (in %) and "grad_norm:<layer>" (against the iteration).
`HistoryCurves` computes them from a whole `History`; `lenet_viz.figures.live.LiveRun` keeps the
same
curves up to date poll by poll, reading only the iterations added since the last poll. Each
curve trace has a `uid` ("<run>:<metric>:raw|smooth", `curve_uid`) by which a live view finds
the trace whose data it refreshes.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from lenet_viz.figures.smoothing import AUTO, MAX_PLOT_POINTS, decimate, percent, smoothed_curve
from lenet_viz.training.history import History

GRADIENT = "grad_norm:"  # metric names: "loss", "accuracy" (%), "grad_norm:<layer>"


def curve_uid(run: int, metric: str, kind: str) -> str:
    """The uid of a curve trace: run number, metric and "raw" or "smooth"."""
    return f"{run}:{metric}:{kind}"


def parse_curve_uid(uid: str) -> tuple[int, str, str]:
    """(run, metric, kind) of a `curve_uid`."""
    run, rest = uid.split(":", 1)
    metric, kind = rest.rsplit(":", 1)
    return int(run), metric, kind


def x_values(history: History, x: str) -> list:
    if x == "iteration":
        return history.iteration
    if x == "epoch":
        return history.epoch_float
    raise ValueError(f"x must be 'iteration' or 'epoch', got {x!r}")


def trained_layers(history: History) -> list[str]:
    """Layers with a non-zero gradient somewhere (the modern net's pooling layers have none)."""
    return [
        name
        for name, norms in history.grad_norm.items()
        if len(norms) and bool(np.any(np.nan_to_num(np.asarray(norms, dtype=float)) > 0))
    ]


class HistoryCurves:
    """The curves of a whole `History`, each computed from every value when asked for."""

    def __init__(
        self,
        history: History,
        x: str = "iteration",
        smoothing: float | None = AUTO,
        max_points: int = MAX_PLOT_POINTS,
    ):
        self.history, self.smoothing, self.max_points = history, smoothing, max_points
        self.xs = np.asarray(x_values(history, x))
        self.iterations = np.asarray(history.iteration)

    @property
    def count(self) -> int:
        return len(self.history.iteration)

    def _curve(self, metric: str) -> tuple[np.ndarray, Sequence[float]]:
        if metric == "loss":
            return self.xs, self.history.loss
        if metric == "accuracy":
            return self.xs, percent(self.history.accuracy)
        if metric.startswith(GRADIENT):
            return self.iterations, self.history.grad_norm[metric[len(GRADIENT) :]]
        raise ValueError(f"unknown metric {metric!r}")

    def raw(self, metric: str) -> tuple[np.ndarray, np.ndarray]:
        return decimate(*self._curve(metric), self.max_points)

    def smoothed(self, metric: str) -> tuple[np.ndarray, np.ndarray]:
        return smoothed_curve(*self._curve(metric), self.smoothing, self.max_points)

    def layers(self) -> list[str]:
        return trained_layers(self.history)


def curves_of(source, x: str, smoothing: float | None, max_points: int):
    """A curves source for `source`: a History's `HistoryCurves`, or the live source itself
    (which already knows its x axis and smoothing)."""
    if isinstance(source, History):
        return HistoryCurves(source, x, smoothing, max_points)
    return source
