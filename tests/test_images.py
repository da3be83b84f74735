"""load_image: every kind of untrusted upload is either loaded correctly or refused clearly."""

from __future__ import annotations

import io
import struct
import zlib

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFile

from lenet_viz.data.images import ImageError, image_to_array, load_image


def encode(image: Image.Image, fmt: str = "PNG", **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **options)
    return buffer.getvalue()


def digit_one(size=(40, 60), mode="L", ink=255, background=0) -> Image.Image:
    """An asymmetric mark: a vertical bar plus a flag at its top-left."""
    image = Image.new(mode, size, background)
    draw = ImageDraw.Draw(image)
    draw.rectangle((18, 8, 25, 52), fill=ink)
    draw.rectangle((8, 8, 18, 16), fill=ink)
    return image


def noise_image(fmt: str = "PNG") -> bytes:
    """Pixel data that does not compress away, so cutting the file in half cuts the pixels."""
    noise = np.random.default_rng(0).integers(0, 256, (64, 64, 3), dtype=np.uint8)
    return encode(Image.fromarray(noise), fmt)


def png_with_declared_size(width: int, height: int) -> bytes:
    """A valid tiny PNG whose IHDR is patched to declare width x height (CRC fixed up)."""
    data = bytearray(encode(Image.new("L", (1, 1))))
    assert data[12:16] == b"IHDR"
    data[16:24] = struct.pack(">II", width, height)
    data[29:33] = struct.pack(">I", zlib.crc32(bytes(data[12:29])))
    return bytes(data)


@pytest.fixture
def decoding_forbidden(monkeypatch):
    """Fail the test if any pixel data is decoded."""

    def refuse(self, *args, **kwargs):
        raise AssertionError("pixels were decoded before the size check")

    monkeypatch.setattr(ImageFile.ImageFile, "load", refuse)


def test_bytes_that_are_not_an_image_are_refused():
    with pytest.raises(ImageError, match=r"notes\.txt: this is not an image"):
        load_image(b"Dear diary, today I trained LeNet-5.", name="notes.txt")


def test_truncated_png_is_refused():
    data = noise_image()
    with pytest.raises(ImageError, match=r"half\.png: .*truncated or corrupt"):
        load_image(data[: len(data) // 2], name="half.png")


def test_truncated_jpeg_is_refused():
    data = noise_image("JPEG")
    with pytest.raises(ImageError, match="truncated or corrupt"):
        load_image(data[: len(data) // 2], name="half.jpg")


def test_zero_byte_file_is_refused_naming_it(tmp_path):
    empty = tmp_path / "empty.png"
    empty.write_bytes(b"")
    with pytest.raises(ImageError, match=r"empty\.png: the file is empty \(0 bytes\)"):
        load_image(empty)
    with pytest.raises(ImageError, match="empty"):
        load_image(b"")


def test_missing_file_is_refused(tmp_path):
    with pytest.raises(ImageError, match="no such file"):
        load_image(tmp_path / "missing.png")


def test_oversized_file_is_refused_before_reading(tmp_path, monkeypatch):
    path = tmp_path / "big.png"
    path.write_bytes(noise_image())

    def no_reading(*args, **kwargs):
        raise AssertionError("the file was opened before its size was checked")

    monkeypatch.setattr("builtins.open", no_reading)
    with pytest.raises(ImageError, match=r"big\.png: the file is .* MB, more than"):
        load_image(path, max_bytes=1000)


def test_one_by_one_image_loads():
    image = load_image(encode(Image.new("L", (1, 1), 200)))

    assert image.size == (1, 1) and image.mode == "L"
    assert image_to_array(image).tolist() == [[200]]


def test_huge_declared_dimensions_are_refused_before_decoding(decoding_forbidden):
    # 100000 x 100000: Pillow itself calls this a decompression bomb, which must become ImageError.
    with pytest.raises(ImageError, match=r"bomb\.png: .*too many pixels"):
        load_image(png_with_declared_size(100_000, 100_000), name="bomb.png")


def test_dimensions_over_our_limit_are_refused_before_decoding(decoding_forbidden):
    # 6000 x 6000 = 36 MP: under Pillow's own limits, over load_image's 25 MP default.
    with pytest.raises(ImageError, match=r"6000x6000 = 36\.0 megapixels"):
        load_image(png_with_declared_size(6000, 6000), name="wide.png")


def test_a_custom_pixel_limit_applies():
    with pytest.raises(ImageError, match="megapixels"):
        load_image(encode(Image.new("L", (40, 30))), max_pixels=1000)
    assert load_image(encode(Image.new("L", (40, 25))), max_pixels=1000).size == (40, 25)


def test_animated_gif_gives_its_first_frame():
    first = digit_one(mode="L")
    second = Image.new("L", first.size, 255)
    data = encode(first, "GIF", save_all=True, append_images=[second], duration=100, loop=0)
    assert Image.open(io.BytesIO(data)).n_frames == 2

    image = load_image(data, name="anim.gif")

    pixels = image_to_array(image)
    expected = np.asarray(first)
    if pixels.ndim == 3:  # palette GIFs come back as RGBA
        pixels = pixels[:, :, 0]
    np.testing.assert_array_equal(pixels, expected)


def test_16_bit_grayscale_is_scaled_to_8_bit_not_clipped():
    values = np.full((60, 40), 1000, dtype=np.uint16)  # a dark-grey background
    values[8:52, 18:26] = 52428  # an 80 % bright stroke
    image16 = Image.fromarray(values)
    assert image16.mode.startswith("I;16")

    image = load_image(encode(image16), name="deep.png")

    assert image.mode == "L"
    pixels = image_to_array(image)
    assert pixels[30, 20] == round(52428 / 257) == 204
    assert pixels[0, 0] == round(1000 / 257) == 4


def test_palette_png_with_transparency_becomes_rgba_with_alpha():
    palette_image = Image.new("P", (40, 60), 0)
    palette_image.putpalette([255, 255, 255, 20, 20, 200] + [0, 0, 0] * 254)
    ImageDraw.Draw(palette_image).rectangle((18, 8, 25, 52), fill=1)

    image = load_image(encode(palette_image, transparency=0), name="palette.png")

    assert image.mode == "RGBA"
    pixels = image_to_array(image)
    assert pixels[0, 0, 3] == 0  # transparent background
    assert tuple(pixels[30, 20]) == (20, 20, 200, 255)


def test_cmyk_jpeg_becomes_rgb():
    cmyk = Image.new("CMYK", (40, 60), (0, 0, 0, 0))  # no ink: white paper
    ImageDraw.Draw(cmyk).rectangle((18, 8, 25, 52), fill=(0, 0, 0, 255))  # black stroke

    image = load_image(encode(cmyk, "JPEG", quality=95), name="print.jpg")

    assert image.mode == "RGBA"
    pixels = image_to_array(image).astype(int)
    assert pixels[0, 0, :3].min() > 230
    assert pixels[30, 21, :3].max() < 25
    assert (pixels[:, :, 3] == 255).all()


@pytest.mark.parametrize("orientation, stored_transpose", [(6, "ROTATE_90"), (8, "ROTATE_270")])
def test_exif_rotated_jpeg_comes_out_upright(orientation, stored_transpose):
    upright = digit_one(size=(40, 60))
    # The camera stores the pixels sideways and records how to turn them back (EXIF 0x0112).
    stored = upright.transpose(getattr(Image.Transpose, stored_transpose))
    exif = Image.Exif()
    exif[0x0112] = orientation
    data = encode(stored, "JPEG", quality=95, exif=exif.tobytes())

    image = load_image(data, name="photo.jpg")

    assert image.size == upright.size
    difference = np.abs(image_to_array(image).astype(int) - np.asarray(upright).astype(int))
    assert difference.mean() < 3 and difference.max() < 80


def test_grey_with_alpha_becomes_rgba_and_rgb_gets_opaque_alpha():
    la = Image.merge("LA", (Image.new("L", (4, 4), 10), digit_one(size=(4, 4))))
    assert load_image(encode(la)).mode == "RGBA"
    rgb = load_image(encode(Image.new("RGB", (4, 4), (1, 2, 3))))
    assert image_to_array(rgb)[0, 0].tolist() == [1, 2, 3, 255]


def test_load_from_path_and_file_object(tmp_path):
    data = encode(digit_one())
    path = tmp_path / "one.png"
    path.write_bytes(data)
    expected = np.asarray(digit_one())

    np.testing.assert_array_equal(image_to_array(load_image(path)), expected)
    np.testing.assert_array_equal(image_to_array(load_image(str(path))), expected)
    already_read = io.BytesIO(data)
    already_read.read()  # e.g. a Streamlit upload that was read once before
    np.testing.assert_array_equal(image_to_array(load_image(already_read)), expected)
