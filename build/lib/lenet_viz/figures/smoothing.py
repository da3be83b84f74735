"""Curves made readable: EMA smoothing and decimation to at most `MAX_PLOT_POINTS` points.

Long runs are decimated before plotting: the browser gets at most `MAX_PLOT_POINTS` points per
curve, so a live update stays fast after tens of thousands of iterations, while smoothing uses
every point.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

MAX_PLOT_POINTS = 1500
AUTO = None  # smoothing=AUTO picks the weight from the number of points (`auto_smoothing`)


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
