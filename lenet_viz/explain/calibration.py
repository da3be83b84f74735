"""Honest confidence: calibrated probabilities, their calibration error, and "unsure" readings.

A net trained to minimise cross-entropy on MNIST says "98% sure" far more often than it is right
98% of the time, most of all on inputs unlike its training digits (a scribble, a letter). Two
remedies, both measured in `make bench`:

- Temperature scaling (Guo et al. 2017, "On calibration of modern neural networks"): the
  logits are divided by one number T, fitted to minimise the negative log-likelihood on
  held-out digits the net was not trained on (never the test set). T > 1 softens the
  probabilities; the prediction never changes.
- The expected calibration error (ECE) says how far the stated confidence is from the
  accuracy: the digits are binned by confidence, and the gaps |accuracy - confidence| of the
  bins are averaged, weighted by how many digits each holds.

`read_digit` is what the Draw page and `predict` show: the calibrated probabilities averaged
over a few shifted copies of the input (test-time averaging), the prediction, the runner-up, and
whether the net is unsure (its calibrated confidence below `UNSURE_BELOW`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from lenet_viz.data.datasets import load_split, to_network_input
from lenet_viz.data.drawn import synthesized_training_digits
from lenet_viz.data.transforms import affine
from lenet_viz.nets.model import LeNetBase

UNSURE_BELOW = 0.75  # calibrated confidence under which the Draw page says it is unsure
ECE_BINS = 15
# Test-time averaging: the input itself and four copies moved by one pixel (MNIST's centring
# by centre of mass is uncertain by about that much).
TTA_SHIFTS = ((0.0, 0.0), (1.0, 0.0), (-1.0, 0.0), (0.0, 1.0), (0.0, -1.0))
TEMPERATURE_KEY = "temperature"  # in a checkpoint's metadata


def expected_calibration_error(
    probabilities: np.ndarray | torch.Tensor, labels, bins: int = ECE_BINS
) -> float:
    """ECE of (N, classes) probabilities against N labels, over `bins` equal-width bins of the
    top probability: sum over bins of (share of digits) x |accuracy - mean confidence|."""
    probs = torch.as_tensor(probabilities, dtype=torch.float64)
    labels = torch.as_tensor(labels)
    if probs.dim() != 2 or len(probs) != len(labels):
        raise ValueError("expected (N, classes) probabilities and N labels")
    if len(labels) == 0:
        raise ValueError("no digits to measure the calibration on")
    confidence, predicted = probs.max(dim=1)
    correct = (predicted == labels).double()
    edges = torch.linspace(0, 1, bins + 1, dtype=torch.float64)
    which = torch.bucketize(confidence, edges[1:-1], right=True)
    error = 0.0
    for b in range(bins):
        inside = which == b
        if inside.any():
            gap = correct[inside].mean() - confidence[inside].mean()
            error += float(inside.double().mean() * gap.abs())
    return error


def fit_temperature(logits: torch.Tensor, labels: torch.Tensor) -> float:
    """The temperature T minimising the negative log-likelihood of softmax(logits / T).

    The NLL is convex in 1/T, so a golden-section search over log T in [1/20, 20] finds it
    (no learning rate to tune, deterministic)."""
    logits = torch.as_tensor(logits, dtype=torch.float64)
    labels = torch.as_tensor(labels)
    if logits.dim() != 2 or len(logits) != len(labels) or len(labels) == 0:
        raise ValueError("expected (N, classes) logits and N labels, N > 0")

    def nll(log_t: float) -> float:
        return float(torch.nn.functional.cross_entropy(logits / math.exp(log_t), labels))

    low, high = math.log(1 / 20), math.log(20)
    ratio = (math.sqrt(5) - 1) / 2
    a, b = high - ratio * (high - low), low + ratio * (high - low)
    fa, fb = nll(a), nll(b)
    for _ in range(60):
        if fa < fb:
            high, b, fb = b, a, fa
            a = high - ratio * (high - low)
            fa = nll(a)
        else:
            low, a, fa = a, b, fb
            b = low + ratio * (high - low)
            fb = nll(b)
    return math.exp((low + high) / 2)


def temperature_of(metadata: dict | None) -> float:
    """The temperature stored in a checkpoint's metadata; 1.0 (uncalibrated) when absent."""
    value = (metadata or {}).get(TEMPERATURE_KEY)
    if isinstance(value, int | float) and math.isfinite(value) and value > 0:
        return float(value)
    return 1.0


@torch.inference_mode()
def log_probabilities(model: LeNetBase, inputs: torch.Tensor, tta: bool = False) -> torch.Tensor:
    """(N, 10) log-probabilities of the net's own readout (softmax of the modern net's logits;
    softmax of minus the faithful net's RBF penalties). Dividing them by T and taking the
    softmax again is temperature scaling. With tta, the log of the probabilities averaged over
    the input and its one-pixel shifts (`TTA_SHIFTS`)."""
    if not tta:
        return torch.log(model.probabilities(model(inputs)).clamp_min(1e-12))
    total = torch.zeros(len(inputs), 10)
    for dx, dy in TTA_SHIFTS:
        moved = affine(inputs, shift_x=dx, shift_y=dy) if (dx or dy) else inputs
        total += model.probabilities(model(moved))
    return torch.log((total / len(TTA_SHIFTS)).clamp_min(1e-12))


def calibrated(log_probs: torch.Tensor, temperature: float) -> torch.Tensor:
    """softmax(log_probs / T): the calibrated probabilities."""
    return torch.softmax(torch.as_tensor(log_probs) / temperature, dim=-1)


@dataclass(frozen=True)
class Reading:
    """What the net makes of one digit, in calibrated terms."""

    probabilities: np.ndarray  # (10,), calibrated, sum 1
    prediction: int
    confidence: float  # the prediction's calibrated probability
    runner_up: int
    runner_up_probability: float
    unsure: bool  # confidence below UNSURE_BELOW: say so, and show the runner-up

    def summary(self) -> str:
        """One line for a learner: "7, 96% sure" or "unsure: 1 (52%) or 7 (40%)"."""
        if self.unsure:
            return (
                f"unsure: {self.prediction} ({self.confidence:.0%}) or {self.runner_up} "
                f"({self.runner_up_probability:.0%})"
            )
        return f"{self.prediction}, {self.confidence:.0%} sure"


def reading_from_probabilities(probabilities, unsure_below: float = UNSURE_BELOW) -> Reading:
    probs = np.asarray(probabilities, dtype=np.float64)
    order = np.argsort(-probs, kind="stable")
    first, second = int(order[0]), int(order[1])
    return Reading(
        probabilities=probs.astype(np.float32),
        prediction=first,
        confidence=float(probs[first]),
        runner_up=second,
        runner_up_probability=float(probs[second]),
        unsure=bool(probs[first] < unsure_below),
    )


def read_inputs(
    model: LeNetBase, inputs: torch.Tensor, temperature: float = 1.0, tta: bool = True
) -> torch.Tensor:
    """(N, 10) calibrated (and test-time averaged) probabilities of N network inputs."""
    return calibrated(log_probabilities(model, inputs, tta=tta), temperature)


def read_digit(
    model: LeNetBase,
    network_input: torch.Tensor,
    temperature: float = 1.0,
    tta: bool = True,
    unsure_below: float = UNSURE_BELOW,
) -> Reading:
    """The Draw page's and `predict`'s reading of one preprocessed digit (1, 1, 32, 32)."""
    probs = read_inputs(model, network_input, temperature, tta)[0]
    return reading_from_probabilities(probs.numpy(), unsure_below)


# ------------------------------------------------------------------ fitting a checkpoint's T

HELD_OUT_DRAWINGS = 2_000
HELD_OUT_DRAWING_SEED = 2  # training synthesis uses seed 1; the benchmark its own templates


def held_out_inputs(model: LeNetBase, first_held_out: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Digits the net was not trained on, to fit its temperature: MNIST's training digits from
    index `first_held_out` on (train with --train-limit to keep them out), plus drawings
    synthesized from the *training* templates with a seed training did not use. Never the
    MNIST test set, never the drawn-digit benchmark."""
    resize, scaling = model.config.resize, model.config.input_scaling
    train = load_split("mnist", train=True)
    if not 0 < first_held_out < len(train.labels):
        raise ValueError(
            f"no held-out MNIST digits after index {first_held_out}: train the net with "
            "--train-limit (e.g. 55000) to keep the last digits for calibration"
        )
    mnist = to_network_input(train.images[first_held_out:], resize, scaling)
    images, labels = synthesized_training_digits(HELD_OUT_DRAWINGS, seed=HELD_OUT_DRAWING_SEED)
    drawn = to_network_input(torch.from_numpy(images), resize, scaling)
    return torch.cat([mnist, drawn]), torch.cat(
        [train.labels[first_held_out:], torch.from_numpy(labels)]
    )


def calibrate(model: LeNetBase, inputs: torch.Tensor, labels: torch.Tensor) -> dict:
    """Fit T on the (test-time averaged) readings of held-out digits; ECE before and after."""
    log_probs = log_probabilities(model, inputs, tta=True)
    temperature = fit_temperature(log_probs, labels)
    plain = torch.exp(log_probabilities(model, inputs, tta=False))
    return {
        TEMPERATURE_KEY: temperature,
        "calibration": {
            "held_out_digits": len(labels),
            "ece_before": expected_calibration_error(plain, labels),
            "ece_after": expected_calibration_error(calibrated(log_probs, temperature), labels),
        },
    }
