"""Why this answer: which pixels of a 28x28 digit the prediction rests on.

- `occlusion_map` (Zeiler and Fergus 2014): a grey square is slid over the digit, centred on
  every pixel in turn, and the map records how much the predicted class's probability (and its
  score) drops with the square there. One batch of 784 occluded digits.
- `input_gradient` (Simonyan et al. 2014): the gradient of the predicted class's score with
  respect to every pixel of the 28x28 digit, through the model's own resize and input scaling:
  how fast the score changes when that pixel gets more ink.

The score is the logit for the modern net and minus the RBF penalty for the faithful net (its
softmax readout saturates: far from the decision it says 100% whatever is hidden, while the
penalty still moves).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from lenet_viz.data import datasets as data
from lenet_viz.explain.invariance import as_ink_image
from lenet_viz.nets.model import LeNetBase

SIDE = 28
DEFAULT_PATCH = 6
# The grey of the square, in ink units (0 background, 1 full ink). MNIST's mean pixel is the
# usual choice for occlusion: it adds no stroke the net could read, and it hides what is there.
MNIST_MEAN_GREY = data.MNIST_MEAN
MID_GREY = 0.5


def _scores(model: LeNetBase, output: torch.Tensor) -> torch.Tensor:
    """Larger is better for every class: logits, or minus the RBF penalties."""
    return -output if model.config.arch == "faithful" else output


def _inputs(model: LeNetBase, ink: torch.Tensor) -> torch.Tensor:
    return data.to_network_input(ink, model.config.resize, model.config.input_scaling)


@dataclass
class OcclusionMap:
    """probability_drop[r, c]: P(target) on the digit minus P(target) with the square centred
    on pixel (r, c); score_drop the same for the score. Positive = hiding that place hurts."""

    target: int
    probability: float  # P(target) on the whole digit
    probability_drop: np.ndarray  # (28, 28)
    score_drop: np.ndarray  # (28, 28)
    patch: int
    fill: float
    predictions: np.ndarray  # (28, 28) what the net reads with the square centred there

    def worst_place(self) -> tuple[int, int]:
        """The (row, col) centre where hiding hurts most (by probability, then score)."""
        key = self.probability_drop + 1e-6 * self.score_drop / (
            np.abs(self.score_drop).max() + 1e-12
        )
        row, col = np.unravel_index(int(np.argmax(key)), key.shape)
        return int(row), int(col)


def patch_bounds(row: int, col: int, patch: int) -> tuple[int, int, int, int]:
    """(top, left, bottom, right) of a square of side `patch` centred on (row, col), clipped
    to the digit; bottom and right exclusive."""
    top, left = row - patch // 2, col - patch // 2
    return max(0, top), max(0, left), min(SIDE, top + patch), min(SIDE, left + patch)


def occluded(
    image28, row: int, col: int, patch: int = DEFAULT_PATCH, fill: float = MNIST_MEAN_GREY
) -> np.ndarray:
    """The digit with the grey square centred on (row, col)."""
    image = as_ink_image(image28).numpy().copy()
    top, left, bottom, right = patch_bounds(row, col, patch)
    image[top:bottom, left:right] = fill
    return image


@torch.inference_mode()
def occlusion_map(
    model: LeNetBase,
    image28,
    target: int | None = None,
    patch: int = DEFAULT_PATCH,
    fill: float = MNIST_MEAN_GREY,
) -> OcclusionMap:
    """Slide a `patch` x `patch` square of grey `fill` over every pixel of the digit.

    target: the class whose probability is watched (default: the predicted one).
    """
    if not 1 <= patch <= SIDE:
        raise ValueError(f"the patch side must be 1 to {SIDE} pixels, got {patch}")
    image = as_ink_image(image28)
    was_training = model.training
    model.eval()
    try:
        base_output = model(_inputs(model, image[None, None]))
        base_probabilities = model.probabilities(base_output)[0]
        if target is None:
            target = int(base_probabilities.argmax())
        rows, cols = torch.meshgrid(torch.arange(SIDE), torch.arange(SIDE), indexing="ij")
        # mask[k] is 1 inside the square centred on pixel k (row-major).
        y = torch.arange(SIDE)
        tops = (rows.flatten() - patch // 2)[:, None]
        lefts = (cols.flatten() - patch // 2)[:, None]
        inside_rows = (y[None] >= tops) & (y[None] < tops + patch)  # (784, 28)
        inside_cols = (y[None] >= lefts) & (y[None] < lefts + patch)
        mask = (inside_rows[:, :, None] & inside_cols[:, None, :]).float()
        batch = image[None] * (1 - mask) + fill * mask  # (784, 28, 28)
        output = model(_inputs(model, batch[:, None]))
        probabilities = model.probabilities(output)
    finally:
        model.train(was_training)
    base_score = _scores(model, base_output)[0, target]
    score_drop = base_score - _scores(model, output)[:, target]
    probability_drop = base_probabilities[target] - probabilities[:, target]
    return OcclusionMap(
        target=target,
        probability=float(base_probabilities[target]),
        probability_drop=probability_drop.reshape(SIDE, SIDE).numpy(),
        score_drop=score_drop.reshape(SIDE, SIDE).numpy(),
        patch=patch,
        fill=fill,
        predictions=probabilities.argmax(dim=1).reshape(SIDE, SIDE).numpy(),
    )


@dataclass
class InputGradient:
    target: int
    gradient: np.ndarray  # (28, 28) d score / d pixel (ink units)


def input_gradient(model: LeNetBase, image28, target: int | None = None) -> InputGradient:
    """The gradient of the target class's score (default: the predicted class) with respect to
    every pixel of the 28x28 digit."""
    image = as_ink_image(image28)[None, None].clone().requires_grad_(True)
    was_training = model.training
    model.eval()
    try:
        with torch.enable_grad():
            output = model(_inputs(model, image))
            if target is None:
                target = int(model.probabilities(output.detach())[0].argmax())
            score = _scores(model, output)[0, target]
            (gradient,) = torch.autograd.grad(score, image)
    finally:
        model.train(was_training)
    return InputGradient(target, gradient[0, 0].numpy().copy())
