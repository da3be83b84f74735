"""Robustness curves: accuracy on 1,000 test digits against the strength of each transform.

The digits are the first 100 of each class in MNIST's test set (the 200 sample digits shipped in
lenet_viz/assets when MNIST is not downloaded). Every transform is one of
`lenet_viz.data.transforms`,
applied to the 28x28 ink images before the model's own resize and input scaling, so the curves
measure exactly what the invariance explorer shows for one digit. Everything is deterministic
(the noise has a fixed seed per strength): the app and `lenet-viz robustness` print the same
numbers.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch

from lenet_viz.data import datasets as data
from lenet_viz.data import transforms
from lenet_viz.explain.cache import PerModelCache, model_fingerprint
from lenet_viz.nets.model import LeNetBase

DIGITS_PER_CLASS = 100  # 1,000 test digits in all
BATCH_SIZE = 1_000
NOISE_SEED = 1998


def _steps(start: float, stop: float, step: float) -> tuple[float, ...]:
    count = int(round((stop - start) / step)) + 1
    return tuple(round(start + i * step, 6) for i in range(count))


# Shifted digits move by the same distance in one of four directions, digit i towards
# DIRECTIONS[i % 4], so that a curve does not favour one side.
DIRECTIONS = ((1.0, 0.0), (0.0, 1.0), (-1.0, 0.0), (0.0, -1.0))  # right, down, left, up


def _shift(images: torch.Tensor, pixels: float) -> torch.Tensor:
    n = images.shape[0]
    directions = torch.tensor(DIRECTIONS, dtype=torch.float64)[torch.arange(n) % 4]
    return transforms.affine(
        images, shift_x=directions[:, 0] * pixels, shift_y=directions[:, 1] * pixels
    )


def _noise(images: torch.Tensor, std: float) -> torch.Tensor:
    generator = torch.Generator().manual_seed(NOISE_SEED)
    return transforms.gaussian_noise(images, std, generator=generator)


@dataclass(frozen=True)
class Sweep:
    """One transform and the strengths its curve visits."""

    name: str
    label: str  # the x axis title
    strengths: tuple[float, ...]
    neutral: float  # the strength that leaves the digit as it is
    apply: Callable[[torch.Tensor, float], torch.Tensor] = field(repr=False, compare=False)
    note: str = ""


SWEEPS: dict[str, Sweep] = {
    sweep.name: sweep
    for sweep in (
        Sweep(
            "rotation",
            "rotation (degrees, anticlockwise)",
            _steps(-60, 60, 10),
            0.0,
            lambda x, s: transforms.affine(x, rotation=s),
        ),
        Sweep(
            "shift",
            "shift (pixels)",
            _steps(0, 8, 1),
            0.0,
            _shift,
            "each digit moved right, down, left or up in turn",
        ),
        Sweep(
            "scale",
            "scale (x size)",
            _steps(0.5, 1.5, 0.1),
            1.0,
            lambda x, s: transforms.affine(x, scale=s),
        ),
        Sweep(
            "squeeze",
            "squeeze (taller and narrower > 0)",
            _steps(-0.4, 0.4, 0.1),
            0.0,
            lambda x, s: transforms.affine(x, squeeze=s),
        ),
        Sweep(
            "stroke",
            "stroke width (pixels added per side)",
            _steps(-1, 3, 0.5),
            0.0,
            transforms.stroke_width,
            "grey dilation (thicker) or erosion (thinner)",
        ),
        Sweep(
            "noise",
            "Gaussian noise (std, 1 = full ink)",
            _steps(0, 1, 0.1),
            0.0,
            _noise,
            "clipped to 0..1",
        ),
    )
}


def ink_batch(images28: torch.Tensor) -> torch.Tensor:
    """(N, 28, 28) uint8 or 0..1 digits as a float batch (N, 1, 28, 28) in 0..1."""
    x = images28.float()
    if images28.dtype == torch.uint8:
        x = x / 255.0
    return x[:, None] if x.dim() == 3 else x


def distorted_batch(images28: torch.Tensor, sweep: Sweep, strength: float) -> torch.Tensor:
    """(N, 28, 28) uint8 or 0..1 digits under one sweep's strength, as (N, 1, 28, 28) 0..1."""
    return sweep.apply(ink_batch(images28), float(strength)).clamp(0.0, 1.0)


@dataclass
class Curve:
    sweep: str
    strengths: list[float]
    accuracy: list[float]

    def accuracy_at(self, strength: float) -> float:
        """The accuracy at one of the curve's strengths (a ValueError for any other)."""
        distances = np.abs(np.asarray(self.strengths) - strength)
        index = int(np.argmin(distances))
        if distances[index] > 1e-9:
            raise ValueError(f"the {self.sweep} curve has no point at {strength:g}")
        return self.accuracy[index]


@dataclass
class RobustnessCurves:
    """One model's curves over the same digits."""

    digits: int
    source: str  # "MNIST test set" or "sample digits"
    curves: dict[str, Curve]

    @property
    def clean_accuracy(self) -> float:
        """Accuracy on the undistorted digits (each curve's neutral point)."""
        sweep = SWEEPS["rotation"]
        return self.curves["rotation"].accuracy_at(sweep.neutral)

    def to_dict(self) -> dict:
        return {
            "digits": self.digits,
            "source": self.source,
            "clean_accuracy": round(self.clean_accuracy, 4),
            "curves": {
                name: {
                    "label": SWEEPS[name].label,
                    "strengths": curve.strengths,
                    "accuracy": [round(a, 4) for a in curve.accuracy],
                }
                for name, curve in self.curves.items()
            },
        }

    def text_lines(self) -> list[str]:
        """The numbers as the CLI prints them: each curve's strengths over its accuracies."""
        lines = [
            f"accuracy on {self.digits:,} digits ({self.source}, the first "
            f"{self.digits // 10} of each class); undistorted {self.clean_accuracy:.1%}"
        ]
        for name, curve in self.curves.items():
            lines.append(f"{SWEEPS[name].label}:")
            lines.append("  " + "  ".join(f"{s:>6g}" for s in curve.strengths))
            lines.append("  " + "  ".join(f"{a:>6.1%}" for a in curve.accuracy))
        return lines


def robustness_digits(per_class: int = DIGITS_PER_CLASS) -> tuple[data.Split, str]:
    """The first `per_class` test digits of each class, and where they come from."""
    if data.data_available("mnist"):
        try:
            test = data.load_split("mnist", train=False)
            return test.first_per_class(per_class), "MNIST test set"
        except data.DataError:
            pass
    return data.sample_digits().first_per_class(per_class), "sample digits"


@torch.inference_mode()
def accuracy(model: LeNetBase, images: torch.Tensor, labels: torch.Tensor) -> float:
    """Share of (N, 1, 28, 28) ink images that `model` reads right."""
    was_training = model.training
    model.eval()
    try:
        correct = 0
        for start in range(0, len(labels), BATCH_SIZE):
            batch = images[start : start + BATCH_SIZE]
            inputs = data.to_network_input(batch, model.config.resize, model.config.input_scaling)
            inputs = inputs.contiguous(memory_format=torch.channels_last)
            predicted = model.predict(model(inputs))
            correct += int((predicted == labels[start : start + BATCH_SIZE]).sum())
    finally:
        model.train(was_training)
    return correct / max(1, len(labels))


def robustness_curves(
    model: LeNetBase,
    digits: data.Split | None = None,
    sweeps: dict[str, Sweep] | None = None,
    source: str = "given digits",
) -> RobustnessCurves:
    """Accuracy of `model` at every strength of every sweep (default: all of SWEEPS)."""
    if digits is None:
        digits, source = robustness_digits()
    sweeps = SWEEPS if sweeps is None else sweeps
    labels = digits.labels
    # A channels_last copy (the caller's model is left as it is): oneDNN's convolutions and
    # pooling skip their layout reorders (benchmarks/RESULTS.md, channels_last).
    model = copy.deepcopy(model).to(memory_format=torch.channels_last)
    clean = accuracy(model, ink_batch(digits.images), labels)
    curves = {}
    for name, sweep in sweeps.items():
        accuracies = [
            clean  # every sweep's neutral strength leaves the digits as they are
            if s == sweep.neutral
            else accuracy(model, distorted_batch(digits.images, sweep, s), labels)
            for s in sweep.strengths
        ]
        curves[name] = Curve(name, list(sweep.strengths), accuracies)
    return RobustnessCurves(len(labels), source, curves)


_CACHE = PerModelCache(max_entries=16)


def cached_robustness_curves(model: LeNetBase) -> RobustnessCurves:
    """`robustness_curves` on the default digits, computed once per model (weights and config)."""
    digits, source = robustness_digits()
    key = (model_fingerprint(model), source, len(digits))
    return _CACHE.get_or_compute(key, lambda: robustness_curves(model, digits, source=source))


def sweep_examples(image28, sweeps: dict[str, Sweep] | None = None) -> dict[str, np.ndarray]:
    """One digit at every strength of every sweep: {name: (strengths, 28, 28) float 0..1}.
    (A shifted example moves right, the first of DIRECTIONS.)"""
    image = torch.as_tensor(np.asarray(image28))[None]
    sweeps = SWEEPS if sweeps is None else sweeps
    return {
        name: torch.cat([distorted_batch(image, sweep, s) for s in sweep.strengths])[:, 0].numpy()
        for name, sweep in sweeps.items()
    }
