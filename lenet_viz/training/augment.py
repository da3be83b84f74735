"""Training-time augmentation: what `--augment` (and the Train page's setting) does to a batch.

- none: the digits as they are.
- shift: each digit moved by up to 2 px (`random_shift`).
- paper: each digit under its own random planar affine distortion, the paper's: translation,
  scaling, squeezing, horizontal shearing (LeCun et al. 1998, p.10; `transforms`).
- drawn: paper, and a quarter of every batch replaced by digits synthesized from pen strokes
  (`drawn.synthesized_training_digits`, the training templates only, through the Draw page's
  preprocessing), so the net also learns the styles people draw and MNIST rarely has: the 1
  with a flag, the 7 with a crossbar, the closed 4.
- drawn+unsure: drawn, and 1 in 16 of every batch a synthesized mark that is not one digit
  (random scribbles, two digits side by side: `drawn.synthesized_non_digits`) labelled
  NOT_A_DIGIT, whose loss asks for equal probabilities on all ten digits: "outlier exposure"
  (Hendrycks, Mazeika and Dietterich 2019), so the net learns to be unsure of such marks.
"""

from __future__ import annotations

from functools import lru_cache

import torch
import torch.nn.functional as F

from lenet_viz.data.datasets import to_network_input
from lenet_viz.data.drawn import synthesized_non_digits, synthesized_training_digits
from lenet_viz.data.transforms import DistortionRanges, random_paper_distortion

MAX_SHIFT = 2  # pixels, for augment="shift"


def random_shift(x: torch.Tensor, max_shift: int, generator: torch.Generator) -> torch.Tensor:
    """Move each image of a batch (N, 1, H, W) by its own random whole-pixel offset.

    The border is background in every input here (2 px of padding around the 28x28 digit), so
    it is repeated into the space the shift opens. A mild form of the random distortions with
    which LeCun et al. 1998 (p.11) brought LeNet-5's test error from 0.95% to 0.8%.
    """
    n, _, h, w = x.shape
    padded = F.pad(x, (max_shift,) * 4, mode="replicate")
    dy, dx = torch.randint(0, 2 * max_shift + 1, (2, n, 1), generator=generator)
    rows = (dy + torch.arange(h))[:, :, None]  # (N, H, 1)
    cols = (dx + torch.arange(w))[:, None, :]  # (N, 1, W)
    return padded[torch.arange(n)[:, None, None], 0, rows, cols][:, None]


AUGMENT_HELP = {
    "none": "the training digits as they are",
    "shift": "each digit moved by up to 2 px",
    "paper": "the paper's random distortions: shift, scale, squeeze, shear (p.10)",
    "drawn": "paper, plus a quarter of every batch synthesized from pen strokes (for drawings)",
    "drawn+unsure": "drawn, plus scribbles and digit pairs the net learns to be unsure of",
}
NOT_A_DIGIT = -1  # the label of a non-digit mark (drawn+unsure); its target is uniform
NON_DIGIT_SHARE = 1 / 16
NON_DIGIT_POOL = 3_000
DRAWN_SHARE = 0.25  # of every batch, with augment="drawn"
DRAWN_POOL = 12_000  # synthesized digits made once per process (about a minute)
PAPER_RANGES = DistortionRanges()


@lru_cache(maxsize=4)
def drawn_pool(resize: str, scaling: str, count: int = DRAWN_POOL) -> tuple[torch.Tensor, ...]:
    """The synthesized stroke digits as network inputs (count, 1, 32, 32) and their labels."""
    images, labels = synthesized_training_digits(count)
    inputs = to_network_input(torch.from_numpy(images), resize, scaling)
    return inputs, torch.from_numpy(labels)


@lru_cache(maxsize=4)
def non_digit_pool(resize: str, scaling: str, count: int = NON_DIGIT_POOL) -> torch.Tensor:
    """The synthesized non-digit marks as network inputs (count, 1, 32, 32)."""
    return to_network_input(torch.from_numpy(synthesized_non_digits(count)), resize, scaling)


def loss_with_non_digits(model, output: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """The model's own loss on the digits, plus, for NOT_A_DIGIT marks, the cross-entropy
    against equal probabilities on all ten digits (outlier exposure), weighted by their share
    of the batch. Just the model's loss when the batch holds no such marks."""
    marks = y == NOT_A_DIGIT
    if not bool(marks.any()):
        return model.loss(output, y)
    digits = ~marks
    loss = model.loss(output[digits], y[digits]) * digits.float().mean()
    log_probs = torch.log(model.probabilities(output[marks]).clamp_min(1e-12))
    return loss - log_probs.mean(dim=1).sum() / len(y)


def augment_batch(
    kind: str,
    x: torch.Tensor,
    y: torch.Tensor,
    generator: torch.Generator,
    resize: str = "pad",
    scaling: str = "mnist",
) -> tuple[torch.Tensor, torch.Tensor]:
    """The batch (N, 1, 32, 32) network inputs and labels, augmented as `kind` says."""
    if kind == "none":
        return x, y
    if kind == "shift":
        return random_shift(x, MAX_SHIFT, generator), y
    if kind not in ("paper", "drawn", "drawn+unsure"):
        raise ValueError(f"unknown augment {kind!r}; choose one of: {', '.join(AUGMENT_HELP)}")
    if kind in ("drawn", "drawn+unsure"):
        pool_x, pool_y = drawn_pool(resize, scaling)
        count = int(round(DRAWN_SHARE * len(y)))
        others = int(round(NON_DIGIT_SHARE * len(y))) if kind == "drawn+unsure" else 0
        if count + others:
            slots = torch.randperm(len(y), generator=generator)[: count + others]
            picks = torch.randint(len(pool_y), (count,), generator=generator)
            x, y = x.clone(), y.clone()
            x[slots[:count]] = pool_x[picks].to(x.dtype)
            y[slots[:count]] = pool_y[picks]
            if others:
                marks = non_digit_pool(resize, scaling)
                chosen = torch.randint(len(marks), (others,), generator=generator)
                x[slots[count:]] = marks[chosen].to(x.dtype)
                y[slots[count:]] = NOT_A_DIGIT
    return random_paper_distortion(x, generator, PAPER_RANGES), y
