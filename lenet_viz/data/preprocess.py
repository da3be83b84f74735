"""Make a canvas drawing or an uploaded photo look like an MNIST digit (shared by app and CLI).

A naive resize of a 280x280 drawing to 28x28 gives a digit of the wrong size in the wrong place,
and the network misreads many real drawings. MNIST itself was made like this (LeCun et al. 1998,
p.7, and the MNIST page): the NIST digit was size-normalized to fit a 20x20 box keeping its aspect
ratio, with anti-aliasing, then placed in a 28x28 field so that its centre of mass sits at the
centre. `preprocess_digit` repeats those steps:

    ink map -> crop to the ink -> strokes made MNIST-wide (`normalize_stroke_width`) ->
    longer side to 20 px (Lanczos) -> 28x28, centre of mass at (14, 14) -> the model's 32x32
    input (`data.to_network_input`, the exact training transform).

The stroke-width step is ours, not MNIST's: a small digit drawn with a thick canvas pen would
otherwise reach the net with strokes 4-5 px wide, twice MNIST's, and be misread.

All intermediate images are float32 in 0..1 with ink = 1 (white on black, like MNIST).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch
from PIL import Image

from lenet_viz.data import datasets as data
from lenet_viz.data.images import image_to_array
from lenet_viz.nets.config import ModelConfig

MNIST_SIZE = 28
MNIST_BOX = 20  # the size-normalization box of MNIST
# MNIST's centre of mass, in pixel-index coordinates (row, column). Measured on the 10,000 test
# digits: mean 13.99, 14.01 (std 0.29).
MNIST_CENTRE = 14.0
# MNIST's median stroke width, in pixels of the 28x28 field, by `estimate_stroke_width` on the
# 10,000 test digits upsampled 10x (quartiles 1.57 and 2.19): the width drawings are given.
MNIST_STROKE_WIDTH = 1.85
# Below this longer side (px) a crop is enlarged before its strokes are thinned or thickened,
# so that one pixel of dilation is a small step of stroke width.
_MIN_WIDTH_RESOLUTION = 100
DEFAULT_THRESHOLD = 0.1
MIN_INK_PIXELS = 4
# A mark whose longer side is under this fraction of the picture's longer side is a speck (a
# single tap on the canvas, a dust spot), not a digit.
MIN_EXTENT_FRACTION = 0.1
# Below this contrast between the ink and the background there is nothing to read.
_MIN_CONTRAST = 1e-3
# ITU-R 601-2 luma, the weights Pillow uses for RGB -> L.
_LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float32)


@dataclass
class DigitPreprocessing:
    """Every step of turning one picture into a network input, for display and for the model.

    blank: nothing to classify (reason says why, for the learner); network_input is then None.
    ink: the whole picture as an ink map (H, W); cropped: the ink's bounding box; scaled20: the
    crop, its strokes made MNIST-wide (unless turned off), with its longer side at 20 px;
    centered: 28x28 with the centre of mass at (14, 14).
    bbox: (top, left, bottom, right) of the crop in the picture, bottom/right exclusive.
    """

    blank: bool
    reason: str
    ink: np.ndarray
    cropped: np.ndarray
    scaled20: np.ndarray
    centered: np.ndarray
    network_input: torch.Tensor | None
    input32: np.ndarray = field(repr=False)
    bbox: tuple[int, int, int, int] | None = None

    def steps(self) -> dict[str, np.ndarray]:
        """The images to show, in order, all float 0..1 with ink = 1 (the last is un-normalized)."""
        return {
            "raw": self.ink,
            "cropped": self.cropped,
            "28x28 centred": self.centered,
            "32x32 input": self.input32,
        }


def to_float_array(image: Image.Image | np.ndarray) -> np.ndarray:
    """A PIL image or an array (HxW, HxWx1..4; uint8, uint16, bool or float) -> float32 0..1.

    Float arrays are taken as 0..1, unless their maximum is above 1, then as 0..255.
    """
    if isinstance(image, Image.Image):
        image = image_to_array(image)
    array = np.asarray(image)
    if array.ndim == 3 and array.shape[2] == 1:
        array = array[:, :, 0]
    if array.ndim not in (2, 3) or (array.ndim == 3 and array.shape[2] not in (2, 3, 4)):
        raise ValueError(
            f"expected an image array of shape (H, W), (H, W, 3) or (H, W, 4), got {array.shape}"
        )
    if array.shape[0] == 0 or array.shape[1] == 0:
        raise ValueError(f"the image is empty (shape {array.shape})")
    if array.dtype == np.uint8:
        return array.astype(np.float32) * np.float32(1 / 255)
    if array.dtype == np.uint16:
        return array.astype(np.float32) * np.float32(1 / 65535)
    if array.dtype == np.bool_ or array.dtype.kind in "iuf":
        values = array.astype(np.float32)
        if values.size and float(values.max()) > 1.0:
            values *= np.float32(1 / 255)
        return np.clip(values, 0.0, 1.0)
    raise ValueError(f"expected a numeric image array, got dtype {array.dtype}")


def ink_map(array: Image.Image | np.ndarray) -> np.ndarray:
    """Where the ink is: float32 (H, W) in 0..1, ink = 1, background = 0.

    With an alpha channel that varies (the Draw page's pad gives RGBA strokes on a
    transparent background) the alpha channel is the ink. Otherwise the luminance is, inverted
    when the picture is dark-on-light; which one is decided by the background, taken as the
    median of the border pixels. The background level is then subtracted and the range rescaled,
    so a grey paper background becomes 0 and full-contrast ink 1.
    """
    values = to_float_array(array)
    if values.ndim == 2:
        return _subtract_background(values, ink_is_bright=None)
    channels = values.shape[2]
    if channels in (2, 4):
        alpha = values[:, :, -1]
        if float(alpha.max()) < 1 / 255:  # fully transparent: nothing visible at all
            return np.zeros(alpha.shape, dtype=np.float32)
        if float(alpha.max() - alpha.min()) > 0.05:
            return _subtract_background(alpha, ink_is_bright=True)
    luminance = values[:, :, 0] if channels <= 2 else values[:, :, :3] @ _LUMA
    return _subtract_background(luminance, ink_is_bright=None)


def _border(values: np.ndarray) -> np.ndarray:
    return np.concatenate([values[0], values[-1], values[1:-1, 0], values[1:-1, -1]])


def _subtract_background(values: np.ndarray, ink_is_bright: bool | None) -> np.ndarray:
    background = float(np.median(_border(values)))
    if ink_is_bright is None:
        ink_is_bright = background <= 0.5
    if not ink_is_bright:
        values, background = 1.0 - values, 1.0 - background
    span = 1.0 - background
    if span < _MIN_CONTRAST:
        return np.zeros(values.shape, dtype=np.float32)
    ink = (values - np.float32(background)) * np.float32(1.0 / span)
    return np.clip(ink, 0.0, 1.0, out=ink).astype(np.float32, copy=False)


def preprocess_digit(
    image: Image.Image | np.ndarray,
    resize: str = "pad",
    scaling: str = "mnist",
    threshold: float = DEFAULT_THRESHOLD,
    stroke_width: float | None = MNIST_STROKE_WIDTH,
) -> DigitPreprocessing:
    """Turn a drawing or photo of one digit into the MNIST layout and the network's input.

    image: a PIL image or an array (HxW, HxWx3, HxWx4; uint8 0..255 or float 0..1), either
    polarity. resize/scaling: as in `data.to_network_input` (use `prepare_for_model` to take them
    from a ModelConfig). threshold: ink level (0..1) below which a pixel counts as background;
    such pixels are also set to 0 so faint photo noise does not reach the network.
    stroke_width: the width (px of the 28x28 field) the strokes are thinned or thickened to
    (`normalize_stroke_width`); None keeps the drawing's own width.
    """
    if not 0.0 < threshold < 1.0:
        raise ValueError(f"threshold must be between 0 and 1, got {threshold}")
    ink = ink_map(image)
    mask = ink >= threshold
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    if rows.size == 0:
        return _blank(ink, ink, "no ink found: draw a digit (or upload a picture of one)")
    bbox = (int(rows[0]), int(cols[0]), int(rows[-1]) + 1, int(cols[-1]) + 1)
    top, left, bottom, right = bbox
    cropped = np.where(mask[top:bottom, left:right], ink[top:bottom, left:right], 0.0)
    cropped = cropped.astype(np.float32)
    if _is_speck(mask, bbox):
        reason = (
            f"only a speck of ink ({bottom - top}x{right - left} px in a "
            f"{ink.shape[0]}x{ink.shape[1]} picture): draw a whole digit, larger"
        )
        return _blank(ink, cropped, reason, bbox)
    # Full contrast before scaling (a faint pencil stroke becomes full ink), and again after it,
    # in case strokes thinner than a pixel at 20 px came out grey: MNIST strokes reach 255.
    cropped *= np.float32(1.0 / float(cropped.max()))
    # The strokes made MNIST-wide; `cropped` stays the ink's bounding box (the page's step 2).
    stroked = cropped if stroke_width is None else normalize_stroke_width(cropped, stroke_width)
    scaled20 = _scale_longer_side(stroked, MNIST_BOX)
    centered = _place_by_centre_of_mass(scaled20)
    peak = float(centered.max())
    if peak <= 0.0:
        return _blank(ink, cropped, "the ink vanished when scaled down to 20 px", bbox)
    centered *= np.float32(1.0 / peak)
    network_input = data.to_network_input(torch.from_numpy(centered)[None], resize, scaling)
    return DigitPreprocessing(
        blank=False,
        reason="",
        ink=ink,
        cropped=cropped,
        scaled20=scaled20,
        centered=centered,
        network_input=network_input,
        input32=_unnormalize(network_input, scaling),
        bbox=bbox,
    )


def prepare_for_model(
    image: Image.Image | np.ndarray, model_config: ModelConfig
) -> DigitPreprocessing:
    """`preprocess_digit` with the resize and input scaling the model was trained with."""
    return preprocess_digit(image, resize=model_config.resize, scaling=model_config.input_scaling)


def estimate_stroke_width(ink: np.ndarray, level: float = 0.5) -> float:
    """The mean stroke width (px) of the ink at `level`: area / length of the strokes.

    One 3x3 erosion takes one pixel off each side of every stroke, about 2 x length pixels in
    all, so width = area / length = 2 x area / (area - area after one erosion). Close for
    long strokes; the ends of short, fat ones make it a little low. 0 when there is no ink.
    """
    mask = ink >= level
    area = int(np.count_nonzero(mask))
    if area == 0:
        return 0.0
    eroded = _erode(mask.astype(np.float32), 1, square=True) > 0.5
    removed = area - int(np.count_nonzero(eroded))
    return 2.0 * area / max(removed, 1)


def normalize_stroke_width(cropped: np.ndarray, width: float = MNIST_STROKE_WIDTH) -> np.ndarray:
    """The cropped ink with its strokes thinned or thickened so that, once its longer side is
    scaled to 20 px, they are `width` px wide (MNIST's own width by default).

    Grey erosion or dilation by r px with an octagon (alternate 3x3 squares and crosses, close to
    a disk) changes the width by 2r and the longer side by 2r, so r solves
    (w - 2r) / (L - 2r) = width / 20 for the measured width w and longer side L. The result is
    cropped to its ink again.
    """
    if not 0.0 < width < MNIST_BOX / 2:
        raise ValueError(f"stroke width must be between 0 and {MNIST_BOX // 2} px, got {width}")
    longer = max(cropped.shape)
    if longer < _MIN_WIDTH_RESOLUTION:
        factor = _MIN_WIDTH_RESOLUTION / longer
        size = (max(1, round(cropped.shape[1] * factor)), max(1, round(cropped.shape[0] * factor)))
        image = Image.fromarray(cropped).resize(size, Image.Resampling.BILINEAR)
        cropped = np.clip(np.asarray(image, dtype=np.float32), 0.0, 1.0)
        longer = max(cropped.shape)
    measured = estimate_stroke_width(cropped)
    if measured <= 0.0:
        return cropped
    radius = (measured * MNIST_BOX - width * longer) / (2 * (MNIST_BOX - width))
    # Never thin a stroke below 1 px (it would break apart).
    radius = min(radius, (measured - 1.0) / 2)
    steps = int(round(abs(radius)))
    if steps == 0:
        return cropped
    # Too thick: erode. Too thin: dilate (minus the erosion of minus the ink), with room to grow.
    thicken = radius < 0
    changed = -_erode(-np.pad(cropped, steps + 1), steps) if thicken else _erode(cropped, steps)
    rows = np.flatnonzero(changed.max(axis=1) > 0)
    cols = np.flatnonzero(changed.max(axis=0) > 0)
    if rows.size == 0:
        return cropped
    return changed[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1].astype(np.float32)


def _erode(values: np.ndarray, steps: int, square: bool = False) -> np.ndarray:
    """`steps` grey erosions (minimum over a neighbourhood), alternating a 3x3 square and a
    3x3 cross so that they add up to an octagon, or all squares. Outside the image is 0."""
    out = values
    for step in range(steps):
        padded = np.pad(out, 1)
        h, w = out.shape
        shifts = [(1, 0), (0, 1), (1, 2), (2, 1)]
        if square or step % 2 == 0:
            shifts += [(0, 0), (0, 2), (2, 0), (2, 2)]
        result = out.copy()
        for dy, dx in shifts:
            np.minimum(result, padded[dy : dy + h, dx : dx + w], out=result)
        out = result
    return out


def _is_speck(mask: np.ndarray, bbox: tuple[int, int, int, int]) -> bool:
    """A few pixels, or a mark far smaller than the picture (one tap on the canvas is an 18 px
    dot: plenty of pixels, but no digit)."""
    top, left, bottom, right = bbox
    extent = max(bottom - top, right - left)
    too_few = int(np.count_nonzero(mask)) < MIN_INK_PIXELS
    return too_few or extent < MIN_EXTENT_FRACTION * max(mask.shape)


def _blank(
    ink: np.ndarray,
    cropped: np.ndarray,
    reason: str,
    bbox: tuple[int, int, int, int] | None = None,
) -> DigitPreprocessing:
    return DigitPreprocessing(
        blank=True,
        reason=reason,
        ink=ink,
        cropped=cropped,
        scaled20=np.zeros((MNIST_BOX, MNIST_BOX), dtype=np.float32),
        centered=np.zeros((MNIST_SIZE, MNIST_SIZE), dtype=np.float32),
        network_input=None,
        input32=np.zeros((32, 32), dtype=np.float32),
        bbox=bbox,
    )


def _scale_longer_side(cropped: np.ndarray, size: int) -> np.ndarray:
    """Resize keeping the aspect ratio so the longer side is `size`, with Lanczos antialiasing."""
    height, width = cropped.shape
    scale = size / max(height, width)
    new_height = max(1, min(size, round(height * scale)))
    new_width = max(1, min(size, round(width * scale)))
    resized = Image.fromarray(cropped).resize((new_width, new_height), Image.Resampling.LANCZOS)
    # Lanczos rings slightly below 0 and above 1 next to sharp edges.
    return np.clip(np.asarray(resized, dtype=np.float32), 0.0, 1.0)


def _place_by_centre_of_mass(box: np.ndarray) -> np.ndarray:
    """Paste the box into 28x28 so its centre of mass lands on (14, 14), to the nearest pixel.

    The box is kept whole inside the field (an extreme centre of mass would otherwise push
    ink off the edge), as MNIST's 20 px box always fits.
    """
    height, width = box.shape
    total = float(box.sum())
    if total > 0:
        com_row = float(box.sum(axis=1) @ np.arange(height)) / total
        com_col = float(box.sum(axis=0) @ np.arange(width)) / total
    else:
        com_row, com_col = (height - 1) / 2, (width - 1) / 2
    top = min(max(round(MNIST_CENTRE - com_row), 0), MNIST_SIZE - height)
    left = min(max(round(MNIST_CENTRE - com_col), 0), MNIST_SIZE - width)
    field_ = np.zeros((MNIST_SIZE, MNIST_SIZE), dtype=np.float32)
    field_[top : top + height, left : left + width] = box
    return field_


def _unnormalize(network_input: torch.Tensor, scaling: str) -> np.ndarray:
    """The 32x32 input back in 0..1 (ink = 1), for display."""
    x = network_input[0, 0].numpy()
    if scaling == "mnist":
        pixels = x * data.MNIST_STD + data.MNIST_MEAN
    else:
        pixels = (x - data.PAPER_BACKGROUND) / (data.PAPER_INK - data.PAPER_BACKGROUND)
    return np.clip(pixels, 0.0, 1.0).astype(np.float32)
