"""Results of runs: the metrics of any number of runs as one CSV table."""

from __future__ import annotations

import csv
import io

from lenet_viz.training.config import SETTING_NAMES, TrainConfig, flat_settings
from lenet_viz.training.history import History

# The settings written beside every metrics row (a CSV of several runs says what each one was):
# every setting of a run, each once, the model's first.
CSV_SETTINGS = SETTING_NAMES
# History columns renamed beside the settings: the schedule's learning rate at each iteration
# is not the run's "lr" setting (one column each).
HISTORY_COLUMNS = {"lr": "lr_at_iteration"}


def metrics_rows(runs: list[tuple[str, TrainConfig, History]]) -> list[list]:
    """One table for any number of runs: a row per iteration (the per-epoch numbers on an
    epoch's last iteration), each starting with its run's name and every setting of the run."""
    table: list[list] = []
    for name, config, history in runs:
        values = flat_settings(config)
        settings = [values[key] for key in CSV_SETTINGS]
        header, *rows = history.to_csv_rows()
        if not table:
            table.append(["run", *CSV_SETTINGS, *(HISTORY_COLUMNS.get(h, h) for h in header)])
        table.extend([name, *settings, *row] for row in rows)
    return table


def csv_text(rows: list[list]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)
    return buffer.getvalue()
