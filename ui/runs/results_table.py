"""Results of runs: the metrics of any number of runs as one CSV table."""

from __future__ import annotations

import csv
import io

from lenet_viz.training.config import TrainConfig
from lenet_viz.training.history import History

# The settings written beside every metrics row (a CSV of several runs says what each one was).
CSV_SETTINGS = (
    "arch", "activation", "pooling", "c3", "resize", "dataset", "optimizer", "lr", "momentum",
    "weight_decay", "batch_size", "epochs", "schedule", "augment", "seed", "train_limit",
    "test_limit",
)  # fmt: skip


def metrics_rows(runs: list[tuple[str, TrainConfig, History]]) -> list[list]:
    """One table for any number of runs: a row per iteration (the per-epoch numbers on an
    epoch's last iteration), each starting with its run's name and every setting of the run."""
    table: list[list] = []
    for name, config, history in runs:
        model = config.model
        values = {
            **config.to_dict(),
            **{k: getattr(model, k) for k in ("activation", "pooling", "c3")},
        }
        settings = [values.get(key) for key in CSV_SETTINGS]
        header, *rows = history.to_csv_rows()
        if not table:
            table.append(["run", *CSV_SETTINGS, *header])
        table.extend([name, *settings, *row] for row in rows)
    return table


def csv_text(rows: list[list]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)
    return buffer.getvalue()
