"""Load untrusted image files (app uploads, `lenet-viz predict`) safely into a predictable form.

Every failure is an `ImageError` whose message says what is wrong with which file and what to do.
Decoding is guarded in this order: size on disk, a readable header, the declared pixel count
(checked BEFORE any pixel is decoded, so a decompression bomb costs nothing), then a full decode
(which catches truncated files, since Pillow decodes lazily).

`load_image` always returns mode "L" or "RGBA":
- "L" (8-bit grey) for images without colour or transparency: 1-bit, 8-bit, 16-bit and 32-bit
  grey (16/32-bit are rescaled to 0..255, not clipped);
- "RGBA" for everything else: RGB, RGBA, LA, palette (its transparency becomes alpha), CMYK,
  YCbCr, and grey images that declare a transparent colour.
"""

from __future__ import annotations

import contextlib
import io
import os
import warnings
from pathlib import Path
from typing import BinaryIO

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

DEFAULT_MAX_PIXELS = 25_000_000
DEFAULT_MAX_BYTES = 20 * 1024 * 1024
_HINT = "Use a PNG or JPEG picture of a single digit."
_GREY_MODES = {"1", "L", "I", "F"}  # plus every "I;16*" variant, see _is_grey


class ImageError(ValueError):
    """An image file could not be used; the message names the file and says what to do."""


def load_image(
    source: bytes | str | Path | BinaryIO,
    name: str | None = None,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> Image.Image:
    """Read an image from a path, raw bytes or a binary file object; return it in mode L or RGBA.

    name: how to call the file in error messages (defaults to the path, or the file object's
    `.name`, e.g. a Streamlit UploadedFile). Animated images give their first frame; EXIF
    orientation is applied so photos come out upright.
    """
    label = _label(source, name)
    data = _read_bytes(source, label, max_bytes)
    image = _open_header(data, label)
    _check_pixel_count(image, label, max_pixels)
    _decode(image, label)
    with contextlib.suppress(Exception):  # a broken EXIF block must not spoil a good picture
        image = ImageOps.exif_transpose(image)
    return normalize_mode(image, label)


def image_to_array(image: Image.Image) -> np.ndarray:
    """uint8 array: (H, W) for a grey image, (H, W, 4) for anything else (RGBA)."""
    return np.asarray(normalize_mode(image), dtype=np.uint8)


def normalize_mode(image: Image.Image, label: str = "the image") -> Image.Image:
    """A new image in mode "L" (no colour, no transparency) or "RGBA" (everything else)."""
    if _is_grey(image.mode) and "transparency" not in image.info:
        if image.mode == "L":
            return image.copy()
        if image.mode == "1":
            return image.convert("L")
        return Image.fromarray(_wide_grey_to_uint8(np.asarray(image)), mode="L")
    try:
        if image.mode in ("RGBA", "LA", "PA", "La", "RGBa") or "transparency" in image.info:
            return image.convert("RGBA")
        return image.convert("RGB").convert("RGBA")
    except (ValueError, OSError) as error:
        raise ImageError(
            f"{label}: its colour mode {image.mode!r} is not supported ({error}). {_HINT}"
        ) from error


def _is_grey(mode: str) -> bool:
    return mode in _GREY_MODES or mode.startswith("I;16")


def _wide_grey_to_uint8(values: np.ndarray) -> np.ndarray:
    """16-bit, 32-bit or float grey -> 0..255, scaling the value range instead of clipping it.

    16-bit data (0..65535) maps exactly like 8-bit PNG readers do (divide by 257); floats in 0..1
    are multiplied by 255; anything else is stretched from its own minimum to its maximum.
    """
    is_float = values.dtype.kind == "f"
    values = values.astype(np.float64)
    low, high = float(values.min()), float(values.max())
    if is_float and low >= 0.0 and high <= 1.0:
        scaled = values * 255.0
    elif not is_float and low >= 0.0 and high <= 65535.0:
        scaled = values / 257.0
    elif high > low:
        scaled = (values - low) * (255.0 / (high - low))
    else:
        scaled = np.zeros_like(values)
    return np.clip(np.rint(scaled), 0, 255).astype(np.uint8)


def _label(source: object, name: str | None) -> str:
    if name:
        return str(name)
    if isinstance(source, str | Path):
        return str(source)
    if isinstance(getattr(source, "name", None), str):
        return source.name
    return "the image"


def _too_big(label: str, size: int, max_bytes: int) -> ImageError:
    return ImageError(
        f"{label}: the file is {size / 1e6:.1f} MB, more than the {max_bytes / 1e6:.1f} MB "
        f"allowed. Crop it or save it smaller. {_HINT}"
    )


def _read_bytes(source: bytes | str | Path | BinaryIO, label: str, max_bytes: int) -> bytes:
    """The file's bytes, refusing empty and oversized files (before reading them when possible)."""
    if isinstance(source, bytes | bytearray | memoryview):
        data = bytes(source)
    elif isinstance(source, str | Path):
        data = _read_path(Path(source), label, max_bytes)
    elif hasattr(source, "read"):
        declared = getattr(source, "size", None)
        if isinstance(declared, int) and declared > max_bytes:
            raise _too_big(label, declared, max_bytes)
        # getvalue() (BytesIO, Streamlit's UploadedFile) works even after the file was read once.
        data = source.getvalue() if hasattr(source, "getvalue") else source.read(max_bytes + 1)
    else:
        raise TypeError(f"load_image expects bytes, a path or a file object, not {type(source)}")
    if len(data) == 0:
        raise ImageError(f"{label}: the file is empty (0 bytes). {_HINT}")
    if len(data) > max_bytes:
        raise _too_big(label, len(data), max_bytes)
    return data


def _read_path(path: Path, label: str, max_bytes: int) -> bytes:
    try:
        size = os.stat(path).st_size
    except FileNotFoundError:
        raise ImageError(f"{label}: no such file. Check the path.") from None
    except OSError as error:
        raise ImageError(f"{label}: cannot read it ({error.strerror}).") from error
    if path.is_dir():
        raise ImageError(f"{label}: this is a folder, not an image file. {_HINT}")
    if size > max_bytes:
        raise _too_big(label, size, max_bytes)
    try:
        with open(path, "rb") as file:
            return file.read(max_bytes + 1)
    except OSError as error:
        raise ImageError(f"{label}: cannot read it ({error.strerror}).") from error


def _bomb_error(label: str, error: Exception) -> ImageError:
    return ImageError(
        f"{label}: the image declares far too many pixels to be decoded safely ({error}). "
        f"Resize it to a few megapixels. {_HINT}"
    )


def _open_header(data: bytes, label: str) -> Image.Image:
    """Parse the header only (Pillow decodes lazily); Pillow's own bomb warning becomes an error."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
        raise _bomb_error(label, error) from error
    except UnidentifiedImageError as error:
        raise ImageError(
            f"{label}: this is not an image file Pillow can read ({len(data)} bytes). {_HINT}"
        ) from error
    except Exception as error:  # any header parser failure on untrusted bytes
        raise ImageError(f"{label}: the image header is damaged ({error}). {_HINT}") from error
    return image


def _check_pixel_count(image: Image.Image, label: str, max_pixels: int) -> None:
    width, height = image.size
    if width <= 0 or height <= 0:
        raise ImageError(f"{label}: the image declares no pixels ({width}x{height}). {_HINT}")
    if width * height > max_pixels:
        raise ImageError(
            f"{label}: the image is {width}x{height} = {width * height / 1e6:.1f} megapixels, "
            f"more than the {max_pixels / 1e6:.1f} allowed. Resize it and try again."
        )


def _decode(image: Image.Image, label: str) -> None:
    """Decode the first frame fully, so a truncated or corrupt file fails here, not later."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image.seek(0)
            image.load()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
        raise _bomb_error(label, error) from error
    except Exception as error:  # decoders raise many types on corrupt input
        raise ImageError(
            f"{label}: the image data is truncated or corrupt ({error}). "
            f"Save or export it again. {_HINT}"
        ) from error
