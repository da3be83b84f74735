"""The invariance explorer: one digit moved, turned, scaled, squeezed, thickened or buried in
noise, and what the net then sees.

LeCun et al. 1998 (Fig. 13, p.17, and the LeNet-5 animations) showed the net reading digits
shifted, scaled, rotated, squeezed, with thick or thin strokes and in noise. `Distortion` is one
setting of all those sliders; it applies the shared transforms of `lenet_viz.data.transforms` to a
28x28 ink image (0 background, 1 ink), the same functions the robustness curves sweep and the
training distortions draw at random.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np
import torch

from lenet_viz.data import transforms
from lenet_viz.explain.calibration import Reading, read_digit
from lenet_viz.explain.inside import DigitInspection, inspect_digit, network_input
from lenet_viz.nets.model import LeNetBase


@dataclass(frozen=True)
class Distortion:
    """One position of every slider. The defaults change nothing.

    shift_x, shift_y: pixels right and down. rotation: degrees, anticlockwise on screen.
    scale: 1 keeps the size. squeeze: q > 0 makes the digit (1+q) times taller and narrower, q < 0
    wider and shorter (the paper's squeezing, p.10). stroke: pixels added to each side of every
    stroke (negative: thinner). noise: the standard deviation of Gaussian noise in ink units (1 is
    full ink). noise_seed: the noise pattern, so that one setting always gives the same picture.
    """

    shift_x: float = 0.0
    shift_y: float = 0.0
    rotation: float = 0.0
    scale: float = 1.0
    squeeze: float = 0.0
    stroke: float = 0.0
    noise: float = 0.0
    noise_seed: int = 0

    def is_identity(self) -> bool:
        return all(
            getattr(self, f.name) == f.default for f in fields(self) if f.name != "noise_seed"
        )

    def apply(self, images: torch.Tensor) -> torch.Tensor:
        """A batch (N, 1, H, W) of ink images in 0..1, distorted: the geometric transforms
        first (one resampling), then the stroke width (in the final picture's pixels), then the
        noise; the result is clipped to 0..1."""
        out = transforms.affine(
            images,
            rotation=self.rotation,
            scale=self.scale,
            squeeze=self.squeeze,
            shift_x=self.shift_x,
            shift_y=self.shift_y,
        )
        if self.stroke:
            out = transforms.stroke_width(out, self.stroke)
        if self.noise:
            generator = torch.Generator().manual_seed(self.noise_seed)
            out = transforms.gaussian_noise(out, self.noise, generator=generator)
        return out.clamp(0.0, 1.0)


def as_ink_image(image28) -> torch.Tensor:
    """A 28x28 digit (uint8 0..255 or float 0..1, ink high) as float32 0..1."""
    array = torch.as_tensor(np.asarray(image28))
    if array.shape != (28, 28):
        raise ValueError(f"expected a 28x28 digit, got shape {tuple(array.shape)}")
    if array.dtype == torch.uint8:
        return array.float() / 255.0
    array = array.float()
    return array / 255.0 if float(array.max()) > 1.0 else array


def distort_digit(image28, distortion: Distortion) -> np.ndarray:
    """The 28x28 digit under `distortion`, float32 0..1."""
    image = as_ink_image(image28)[None, None]
    return distortion.apply(image)[0, 0].numpy()


@dataclass
class InvarianceView:
    """The distorted digit and everything the net made of it."""

    original: np.ndarray  # (28, 28) float 0..1
    distorted: np.ndarray  # (28, 28) float 0..1
    inspection: DigitInspection  # every layer's output for the distorted digit
    # The Draw page's reading of the distorted digit (calibrated, "unsure" below the same
    # threshold); None for the faithful net, whose RBF penalties are not probabilities.
    reading: Reading | None = None


def explore(
    model: LeNetBase, image28, distortion: Distortion, temperature: float = 1.0
) -> InvarianceView:
    """Distort one digit and run it through `model`, keeping every layer's output."""
    original = as_ink_image(image28).numpy()
    distorted = distort_digit(original, distortion)
    inputs = network_input(distorted, model.config)
    inspection = inspect_digit(model, inputs)
    reading = None if inspection.output_is_penalty else read_digit(model, inputs, temperature)
    return InvarianceView(original, distorted, inspection, reading)
