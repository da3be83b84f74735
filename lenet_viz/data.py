"""MNIST and Fashion-MNIST: fetch the raw IDX files, check them, hold each split in memory.

The training loop never runs a per-sample PIL transform: each split is read once into a uint8
tensor, and `to_network_input` turns a whole batch of 28x28 digits into 32x32 network inputs.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

MNIST_MEAN, MNIST_STD = 0.1307, 0.3081
# LeCun et al. 1998, p.7: "the values of the input pixels are normalized so that the background
# level (white) corresponds to a value of -0.1 and the foreground (black) corresponds to 1.175".
PAPER_BACKGROUND, PAPER_INK = -0.1, 1.175


@dataclass
class Split:
    """One split of a dataset, in memory: images uint8 (N, 28, 28), labels int64 (N,)."""

    images: torch.Tensor
    labels: torch.Tensor

    def __len__(self) -> int:
        return len(self.labels)

    def subset(self, n: int | None) -> Split:
        """The first n samples (all when n is None)."""
        if n is None or n >= len(self):
            return self
        return Split(self.images[:n], self.labels[:n])


def to_network_input(
    images: torch.Tensor, resize: str = "pad", scaling: str = "mnist"
) -> torch.Tensor:
    """28x28 digits (uint8 0..255 or float 0..1, ink high) -> float32 (N, 1, 32, 32) inputs.

    resize: "pad" adds 2 blank pixels on each side, as the paper did (p.7); "scale" resizes
    bilinearly to 32x32, like the notebook's transforms.Scale(32).
    scaling: "mnist" subtracts the MNIST mean and divides by its std; "paper" maps background
    to -0.1 and ink to 1.175 (p.7).
    """
    x = images.float()
    if images.dtype == torch.uint8:
        x = x / 255.0
    if x.dim() == 2:
        x = x[None]
    x = x[:, None] if x.dim() == 3 else x
    if resize == "pad":
        x = F.pad(x, (2, 2, 2, 2))
    elif resize == "scale":
        x = F.interpolate(x, size=(32, 32), mode="bilinear", align_corners=False)
    else:
        raise ValueError(f"unknown resize {resize!r}; choose 'pad' or 'scale'")
    if scaling == "mnist":
        return (x - MNIST_MEAN) / MNIST_STD
    if scaling == "paper":
        return PAPER_BACKGROUND + (PAPER_INK - PAPER_BACKGROUND) * x
    raise ValueError(f"unknown scaling {scaling!r}; choose 'mnist' or 'paper'")
