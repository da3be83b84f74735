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
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch

from lenet_viz.data import datasets as data
from lenet_viz.data import transforms
from lenet_viz.explain.cache import PerModelCache, model_fingerprint
from lenet_viz.explain.stored import store_key, stored_result
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

    @classmethod
    def from_dict(cls, stored: dict) -> RobustnessCurves:
        """The curves `to_dict` wrote (accuracies rounded to 4 decimals)."""
        curves = {
            name: Curve(name, list(curve["strengths"]), list(curve["accuracy"]))
            for name, curve in stored["curves"].items()
        }
        return cls(stored["digits"], stored["source"], curves)

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
    progress: Callable[[float], None] | None = None,
) -> RobustnessCurves:
    """Accuracy of `model` at every strength of every sweep (default: all of SWEEPS).

    progress: called with the share of the points done (0..1) after each one."""
    if digits is None:
        digits, source = robustness_digits()
    sweeps = SWEEPS if sweeps is None else sweeps
    labels = digits.labels
    # A channels_last copy (the caller's model is left as it is): oneDNN's convolutions and
    # pooling skip their layout reorders (benchmarks/RESULTS.md, channels_last).
    model = copy.deepcopy(model).to(memory_format=torch.channels_last)
    clean = accuracy(model, ink_batch(digits.images), labels)
    curves = {}
    points, done = sum(len(sweep.strengths) for sweep in sweeps.values()), 0
    for name, sweep in sweeps.items():
        accuracies = []
        for s in sweep.strengths:
            accuracies.append(
                clean  # every sweep's neutral strength leaves the digits as they are
                if s == sweep.neutral
                else accuracy(model, distorted_batch(digits.images, sweep, s), labels)
            )
            done += 1
            if progress is not None:
                progress(done / points)
        curves[name] = Curve(name, list(sweep.strengths), accuracies)
    return RobustnessCurves(len(labels), source, curves)


_CACHE = PerModelCache(max_entries=16)


def cached_robustness_curves(
    model: LeNetBase, progress: Callable[[float], None] | None = None
) -> RobustnessCurves:
    """`robustness_curves` on the default digits, computed once per model (weights and config);
    the shipped checkpoints' are read from disk (`lenet_viz.stored_explanations`)."""
    digits, source = robustness_digits()
    key = (model_fingerprint(model), source, len(digits))

    def compute() -> RobustnessCurves:
        stored = stored_result("robustness", store_key(*key))  # the shipped checkpoints
        if stored is not None:
            return RobustnessCurves.from_dict(stored)
        return robustness_curves(model, digits, source=source, progress=progress)

    return _CACHE.get_or_compute(key, compute)


@dataclass
class CurvesJob:
    """Robustness curves being computed on a thread of their own, so that a page can show
    its progress instead of waiting (issue 22)."""

    progress: float = 0.0  # share of the points done
    curves: RobustnessCurves | None = None
    error: str | None = None
    finished: threading.Event = field(default_factory=threading.Event)


_JOBS: dict[tuple, CurvesJob] = {}
MAX_JOBS = 16
_JOBS_LOCK = threading.Lock()


def curves_in_background(model: LeNetBase) -> CurvesJob:
    """The model's curves: a finished job when they are cached or stored, else the job (one
    per model, shared by every session) that computes them on its own thread."""
    digits, source = robustness_digits()
    key = (model_fingerprint(model), source, len(digits))
    with _JOBS_LOCK:
        job = _JOBS.get(key)
        if job is not None and (job.error is None or not job.finished.is_set()):
            return job
        job = _JOBS[key] = CurvesJob()
        for old in [k for k, j in _JOBS.items() if j.finished.is_set()][:-MAX_JOBS]:
            del _JOBS[old]  # the results stay in the per-model cache
    if key in _CACHE or stored_result("robustness", store_key(*key)) is not None:
        _finish(job, model)  # at once: nothing to compute
        return job
    work = copy.deepcopy(model)  # the caller's model may go on training
    threading.Thread(
        target=_finish, args=(job, work), name="robustness-curves", daemon=True
    ).start()
    return job


def _finish(job: CurvesJob, model: LeNetBase) -> None:
    def advance(share: float) -> None:
        job.progress = share

    try:
        job.curves = cached_robustness_curves(model, advance)
        job.progress = 1.0
    except Exception as error:  # shown on the page; the next visit tries again
        job.error = f"{type(error).__name__}: {error}"
    finally:
        job.finished.set()


def sweep_examples(image28, sweeps: dict[str, Sweep] | None = None) -> dict[str, np.ndarray]:
    """One digit at every strength of every sweep: {name: (strengths, 28, 28) float 0..1}.
    (A shifted example moves right, the first of DIRECTIONS.)"""
    image = torch.as_tensor(np.asarray(image28))[None]
    sweeps = SWEEPS if sweeps is None else sweeps
    return {
        name: torch.cat([distorted_batch(image, sweep, s) for s in sweep.strengths])[:, 0].numpy()
        for name, sweep in sweeps.items()
    }
