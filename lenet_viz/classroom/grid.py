"""The board's arithmetic, without a database: curves thinned to a bounded number of points,
and the pooled experiment (runs grouped by two settings, mean and spread of the final test
accuracy per cell)."""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

MAX_CURVE_POINTS = 512


def bounded_curve(
    x: Sequence[float], y: Sequence[float], limit: int = MAX_CURVE_POINTS
) -> dict[str, list[float]]:
    """At most `limit` evenly spaced points of the curve, always with its first and last; points
    whose value is not a finite number are dropped (JSON and the databases refuse NaN)."""
    points = [(float(a), float(b)) for a, b in zip(x, y, strict=True) if math.isfinite(b)]
    if len(points) > limit:
        last = len(points) - 1
        indices = sorted({round(i * last / (limit - 1)) for i in range(limit)})
        points = [points[i] for i in indices]
    return {"x": [a for a, _ in points], "y": [b for _, b in points]}


@dataclass(frozen=True)
class Cell:
    """One cell of the pooled experiment: how many runs, and their final test accuracy's mean
    and standard deviation (0 for a single run)."""

    count: int
    mean: float
    spread: float


@dataclass(frozen=True)
class PooledGrid:
    """Final test accuracy pooled by two settings: `cells[(row value, column value)]`."""

    rows: str
    columns: str
    row_values: list
    column_values: list
    cells: dict[tuple, Cell]

    def cell(self, row_value, column_value) -> Cell | None:
        return self.cells.get((row_value, column_value))


def sort_key(value) -> tuple:
    """Numbers in numeric order, then everything else by its text (None last)."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return (0, value, "")
    return (1 if value is not None else 2, 0, str(value))


def pooled_grid(runs: Iterable[dict], rows: str, columns: str) -> PooledGrid:
    """Group runs (dicts with "settings" and "test_accuracy") by two settings."""
    groups: dict[tuple, list[float]] = {}
    for run in runs:
        accuracy = run.get("test_accuracy")
        if accuracy is None:
            continue
        settings = run["settings"]
        groups.setdefault((settings.get(rows), settings.get(columns)), []).append(accuracy)
    cells = {
        key: Cell(
            count=len(values),
            mean=statistics.fmean(values),
            spread=statistics.stdev(values) if len(values) > 1 else 0.0,
        )
        for key, values in groups.items()
    }
    return PooledGrid(
        rows=rows,
        columns=columns,
        row_values=sorted({r for r, _ in groups}, key=sort_key),
        column_values=sorted({c for _, c in groups}, key=sort_key),
        cells=cells,
    )


def assignment_cells(rows: str, row_values: Sequence, columns: str, column_values: Sequence):
    """The assignments grid in the order students get it: row by row, each cell's settings."""
    return [{rows: r, columns: c} for r in row_values for c in column_values]
