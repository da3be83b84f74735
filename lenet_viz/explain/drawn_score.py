"""How a model reads a set of drawn digits (`score_drawn`): accuracy per digit, style, medium
and pen habit, and its confusions, read exactly as the Draw page reads (lenet_viz.data.drawn makes
the digits)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from lenet_viz.data.drawn.benchmark import DrawnDigit
from lenet_viz.data.preprocess import prepare_for_model, preprocess_digit
from lenet_viz.explain.calibration import read_inputs


@dataclass
class DrawnScore:
    """How a model reads a set of drawn digits (`score_drawn`)."""

    labels: np.ndarray  # (N,)
    predicted: np.ndarray  # (N,)
    probabilities: np.ndarray  # (N, 10), calibrated (and test-time averaged) as read
    styles: list[str]
    media: list[str]
    habits: list[str] | None = None  # the writers' pen habits, where known

    @property
    def accuracy(self) -> float:
        return float((self.predicted == self.labels).mean())

    def accuracy_by(self, key: str) -> dict:
        """Accuracy per "digit", "style", "medium" or "habit": {value: (correct, total)}."""
        values = {
            "digit": self.labels.tolist(),
            "style": self.styles,
            "medium": self.media,
            "habit": self.habits or ["ordinary pen"] * len(self.styles),
        }[key]
        out: dict = {}
        for value, ok in zip(values, (self.predicted == self.labels).tolist(), strict=True):
            right, total = out.get(value, (0, 0))
            out[value] = (right + int(ok), total + 1)
        return dict(sorted(out.items()))

    def confusions(self) -> list[tuple[int, int, int]]:
        """(true, read as, count) for every mistake, the most frequent first."""
        pairs: dict[tuple[int, int], int] = {}
        for true, read in zip(self.labels.tolist(), self.predicted.tolist(), strict=True):
            if true != read:
                pairs[(true, read)] = pairs.get((true, read), 0) + 1
        return sorted(((t, r, n) for (t, r), n in pairs.items()), key=lambda row: (-row[2], row))


def score_drawn(
    model,
    digits: Sequence[DrawnDigit],
    temperature: float = 1.0,
    tta: bool = True,
    stroke_width: float | None = None,
) -> DrawnScore:
    """Read every drawn digit exactly as the Draw page does (`preprocess.prepare_for_model`,
    `calibration.read_inputs`). stroke_width: None is the default preprocessing; a number
    overrides the width strokes are normalised to (0 turns the normalisation off)."""
    config = model.config
    inputs = []
    for digit in digits:
        if stroke_width is None:
            prepared = prepare_for_model(digit.image, config)
        else:
            prepared = preprocess_digit(
                digit.image,
                resize=config.resize,
                scaling=config.input_scaling,
                stroke_width=stroke_width or None,
            )
        inputs.append(prepared.network_input)
    probabilities = read_inputs(model, torch.cat(inputs), temperature, tta).numpy()
    return DrawnScore(
        labels=np.array([d.label for d in digits]),
        predicted=probabilities.argmax(axis=1),
        probabilities=probabilities,
        styles=[d.style for d in digits],
        media=[d.medium for d in digits],
        habits=[d.habit for d in digits],
    )
