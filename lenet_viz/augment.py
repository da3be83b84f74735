"""Training-time augmentation: what `--augment` (and the Train page's setting) does to a batch.

- none: the digits as they are.
- shift: each digit moved by up to 2 px (`train.random_shift`).
- paper: each digit under its own random planar affine distortion, the paper's: translation,
  scaling, squeezing, horizontal shearing (LeCun et al. 1998, p.10; `transforms`).
- drawn: paper, and a quarter of every batch replaced by digits synthesized from pen strokes
  (`drawn.synthesized_training_digits`, the training templates only, through the Draw page's
  preprocessing), so the net also learns the styles people draw and MNIST rarely has: the 1
  with a flag, the 7 with a crossbar, the closed 4.
"""

from __future__ import annotations

from functools import lru_cache

import torch

from lenet_viz.data import to_network_input
from lenet_viz.transforms import DistortionRanges, random_paper_distortion

AUGMENT_HELP = {
    "none": "the training digits as they are",
    "shift": "each digit moved by up to 2 px",
    "paper": "the paper's random distortions: shift, scale, squeeze, shear (p.10)",
    "drawn": "paper, plus a quarter of every batch synthesized from pen strokes (for drawings)",
}
DRAWN_SHARE = 0.25  # of every batch, with augment="drawn"
DRAWN_POOL = 12_000  # synthesized digits made once per process (about a minute)
PAPER_RANGES = DistortionRanges()


@lru_cache(maxsize=4)
def drawn_pool(resize: str, scaling: str, count: int = DRAWN_POOL) -> tuple[torch.Tensor, ...]:
    """The synthesized stroke digits as network inputs (count, 1, 32, 32) and their labels."""
    from lenet_viz.drawn import synthesized_training_digits

    images, labels = synthesized_training_digits(count)
    inputs = to_network_input(torch.from_numpy(images), resize, scaling)
    return inputs, torch.from_numpy(labels)


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
        from lenet_viz.train import MAX_SHIFT, random_shift

        return random_shift(x, MAX_SHIFT, generator), y
    if kind not in ("paper", "drawn"):
        raise ValueError(f"unknown augment {kind!r}; choose one of: {', '.join(AUGMENT_HELP)}")
    if kind == "drawn":
        pool_x, pool_y = drawn_pool(resize, scaling)
        count = int(round(DRAWN_SHARE * len(y)))
        if count:
            picks = torch.randint(len(pool_y), (count,), generator=generator)
            slots = torch.randperm(len(y), generator=generator)[:count]
            x, y = x.clone(), y.clone()
            x[slots] = pool_x[picks].to(x.dtype)
            y[slots] = pool_y[picks]
    return random_paper_distortion(x, generator, PAPER_RANGES), y
