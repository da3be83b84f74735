"""Planar distortions of digit images: one set of functions for training, robustness and the app.

Every function takes a batch (N, 1, H, W) of float images whose border is background (ink
images in [0, 1] with 0 background, or 32x32 network inputs, whose 2-px padding is
background) and returns a new batch of the same shape. A strength is a float (the same for the
whole batch) or a tensor of shape (N,) (one per image), so the same code applies one slider's
value in the app, sweeps a strength over 1,000 test digits, and draws random distortions per
image during training.

LeCun et al. 1998, p.10: "The distortions were combinations of the following planar affine
transformations: horizontal and vertical translations, scaling, squeezing (simultaneous
horizontal compression and vertical elongation, or the reverse), and horizontal shearing."
`affine` does all of these (plus rotation, for the robustness curves); `random_paper_distortion`
draws them at random for training.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F

Strength = float | torch.Tensor


def _per_image(value: Strength, n: int) -> torch.Tensor:
    """A strength as a float64 tensor (N,): a float is repeated, a tensor must have N values."""
    values = torch.as_tensor(value, dtype=torch.float64)
    if values.dim() == 0:
        return values.expand(n)
    if values.shape != (n,):
        shape = tuple(values.shape)
        raise ValueError(f"expected one value or {n} values (one per image), got {shape}")
    return values


def _check_batch(images: torch.Tensor) -> None:
    if images.dim() != 4 or images.shape[1] != 1 or not images.is_floating_point():
        got = f"{images.dtype} {tuple(images.shape)}"
        raise ValueError(f"expected a float batch (N, 1, H, W), got {got}")


def affine_matrices(
    n: int,
    rotation: Strength = 0.0,
    scale: Strength = 1.0,
    squeeze: Strength = 0.0,
    shear: Strength = 0.0,
) -> torch.Tensor:
    """(N, 2, 2) matrices mapping a point of the digit (x right, y down) to where it moves.

    rotation: degrees, positive turns the digit anticlockwise as seen on screen.
    scale: 1 keeps the size; 1.5 makes the digit half as large again.
    squeeze: 0 keeps the aspect; q > 0 makes it (1 + q) times taller and (1 + q) times narrower,
        q < 0 the reverse (the paper's squeezing, area kept).
    shear: horizontal shear x' = x - shear * y, so a positive shear slants the top to the right
        (y points down), as a right-handed writer's slant.
    """
    angle = _per_image(rotation, n) * (math.pi / 180.0)
    size = _per_image(scale, n)
    stretch = 1.0 + _per_image(squeeze, n)
    if bool((size <= 0).any()) or bool((stretch <= 0).any()):
        raise ValueError("scale must be above 0 and squeeze above -1")
    slant = _per_image(shear, n)
    cos, sin = torch.cos(angle), torch.sin(angle)
    # With y pointing down, an anticlockwise turn on screen is [[cos, sin], [-sin, cos]].
    rotate = torch.stack([torch.stack([cos, sin], -1), torch.stack([-sin, cos], -1)], -2)
    zeros, ones = torch.zeros(n, dtype=torch.float64), torch.ones(n, dtype=torch.float64)
    shear_rows = [torch.stack([ones, -slant], -1), torch.stack([zeros, ones], -1)]
    shear_matrix = torch.stack(shear_rows, -2)
    resize = torch.diag_embed(torch.stack([size / stretch, size * stretch], -1))
    return rotate @ shear_matrix @ resize


def affine(
    images: torch.Tensor,
    rotation: Strength = 0.0,
    scale: Strength = 1.0,
    squeeze: Strength = 0.0,
    shear: Strength = 0.0,
    shift_x: Strength = 0.0,
    shift_y: Strength = 0.0,
) -> torch.Tensor:
    """Each image turned, scaled, squeezed and sheared about its centre, then moved by
    (shift_x, shift_y) pixels (right and down). Bilinear; what comes in from outside the image
    repeats the border, i.e. background. See `affine_matrices` for the parameters."""
    _check_batch(images)
    n, _, h, w = images.shape
    forward = affine_matrices(n, rotation, scale, squeeze, shear)
    # grid_sample asks, for every output pixel, where to read in the input: the inverse map.
    # Normalised coordinates run from -1 to 1 across the image; a pixel is 2/w wide.
    inverse = torch.linalg.inv(forward)
    aspect = torch.tensor([[1.0, h / w], [w / h, 1.0]], dtype=torch.float64)  # pixel -> [-1, 1]
    inverse = inverse * aspect
    shift = torch.stack([_per_image(shift_x, n) * 2 / w, _per_image(shift_y, n) * 2 / h], -1)
    theta = torch.cat([inverse, -(inverse @ shift[..., None])], -1).to(images.dtype)
    grid = F.affine_grid(theta, list(images.shape), align_corners=False)
    return F.grid_sample(images, grid, mode="bilinear", padding_mode="border", align_corners=False)


def _dilate(images: torch.Tensor, steps: int, thicken: bool) -> torch.Tensor:
    """`steps` 3x3 grey dilations (thicken) or erosions (thin), every step kept: (K+1, N, ...)."""
    out = [images]
    x = images
    for _ in range(steps):
        x = F.max_pool2d(x, 3, stride=1, padding=1) if thicken else -F.max_pool2d(-x, 3, 1, 1)
        out.append(x)
    return torch.stack(out)


def stroke_width(images: torch.Tensor, pixels: Strength) -> torch.Tensor:
    """Strokes made `pixels` wider on each side (negative: thinner), by grey dilation or erosion.

    Whole pixels are 3x3 dilation (erosion) steps; a fraction blends the two nearest steps, so
    the width changes smoothly with a slider. Erosion treats the minimum of the image as
    background; a stroke thinner than twice the amount disappears, as a real thin pen's would.
    """
    _check_batch(images)
    n = images.shape[0]
    amount = _per_image(pixels, n).to(images.dtype)
    reach = int(math.ceil(float(amount.abs().max()))) if n else 0
    if reach == 0:
        return images.clone()
    thick = _dilate(images, reach, thicken=True)
    thin = _dilate(images, reach, thicken=False)
    steps = torch.where(amount[None, :, None, None, None] >= 0, thick, thin)  # (K+1, N, 1, H, W)
    size = amount.abs()
    low = size.floor().long().clamp(max=reach)
    high = (low + 1).clamp(max=reach)
    frac = (size - low).view(n, 1, 1, 1)
    index = torch.arange(n)
    return steps[low, index] * (1 - frac) + steps[high, index] * frac


def gaussian_noise(
    images: torch.Tensor,
    std: Strength,
    generator: torch.Generator | None = None,
    clamp: tuple[float, float] | None = (0.0, 1.0),
) -> torch.Tensor:
    """Add N(0, std²) noise to every pixel (std in the images' own units: 0.3 is 30% of full
    ink for ink images), then clip to `clamp` (None keeps the raw sum)."""
    _check_batch(images)
    sigma = _per_image(std, images.shape[0]).to(images.dtype).view(-1, 1, 1, 1)
    noise = torch.randn(images.shape, generator=generator, dtype=images.dtype)
    noisy = images + sigma * noise
    return noisy.clamp(*clamp) if clamp is not None else noisy


@dataclass(frozen=True)
class DistortionRanges:
    """How far `random_paper_distortion` may go; every value is drawn uniformly in ±range.

    The paper (p.10) names the kinds of distortion but not their sizes; these are mild enough
    that every digit stays readable (a 2-px shift is what MNIST's centring leaves uncertain).
    """

    shift: float = 2.0  # pixels, x and y drawn apart
    scale: float = 0.10  # scale in 1 ± 0.10
    squeeze: float = 0.15
    shear: float = 0.30
    rotation: float = 0.0  # degrees; the paper lists no rotation (shearing gives the slant)


def random_paper_distortion(
    images: torch.Tensor,
    generator: torch.Generator,
    ranges: DistortionRanges = DistortionRanges(),
) -> torch.Tensor:
    """Each image under its own random planar affine distortion (LeCun et al. 1998, p.10)."""
    _check_batch(images)
    n = images.shape[0]

    def draw(spread: float) -> torch.Tensor:
        return (torch.rand(n, generator=generator, dtype=torch.float64) * 2 - 1) * spread

    return affine(
        images,
        rotation=draw(ranges.rotation),
        scale=1.0 + draw(ranges.scale),
        squeeze=draw(ranges.squeeze),
        shear=draw(ranges.shear),
        shift_x=draw(ranges.shift),
        shift_y=draw(ranges.shift),
    )
