"""The board as a table: one row per run, with the settings that matter, as CSV for slides."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence

from lenet_viz.classroom.grid import sort_key

ALWAYS_SHOWN = ("activation", "lr")  # the class experiment's two usual settings


def varying_settings(runs: Sequence[dict]) -> list[str]:
    """The settings worth a column: activation and lr, and any other that differs between
    runs (sorted by name)."""
    values: dict[str, set] = {}
    for run in runs:
        for name, value in run["settings"].items():
            values.setdefault(name, set()).add(repr(value))
    varying = sorted(name for name, seen in values.items() if len(seen) > 1)
    return [*ALWAYS_SHOWN, *(name for name in varying if name not in ALWAYS_SHOWN)]


def setting_values(runs: Sequence[dict], name: str) -> list:
    """The distinct values one setting takes on the board, in order."""
    return sorted({run["settings"].get(name) for run in runs}, key=sort_key)


def run_rows(runs: Sequence[dict]) -> list[dict]:
    """One flat row per run: who, which settings, final accuracies (%), time."""
    columns = varying_settings(runs)
    rows = []
    for run in runs:
        row = {"run": run["id"], "student": run["student"], "name": run["name"]}
        row.update({name: run["settings"].get(name) for name in columns})
        row.update(
            train_accuracy=percent(run["train_accuracy"]),
            test_accuracy=percent(run["test_accuracy"]),
            seconds=round(run["duration_seconds"], 1),
            status=run["status"],
        )
        rows.append(row)
    return rows


def percent(value: float | None) -> float | None:
    return round(100 * value, 2) if value is not None else None


def csv_text(rows: Sequence[dict]) -> str:
    """The rows as CSV (a header from the first row's keys)."""
    if not rows:
        return ""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()
