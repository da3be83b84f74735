"""The planar distortions shared by training, the robustness curves and the invariance explorer."""

import pytest
import torch

from lenet_viz.data import transforms as T


def bar(horizontal: bool = True, side: int = 28) -> torch.Tensor:
    """A 1-px wide bar through the centre, (1, 1, side, side), ink 1 on background 0."""
    image = torch.zeros(1, 1, side, side)
    if horizontal:
        image[0, 0, side // 2, 6 : side - 6] = 1.0
    else:
        image[0, 0, 6 : side - 6, side // 2] = 1.0
    return image


def centre_of_mass(image: torch.Tensor) -> tuple[float, float]:
    """(x, y) of the ink's centre of mass."""
    ink = image[0, 0]
    ys, xs = torch.meshgrid(torch.arange(ink.shape[0]), torch.arange(ink.shape[1]), indexing="ij")
    total = ink.sum()
    return float((xs * ink).sum() / total), float((ys * ink).sum() / total)


def extent(image: torch.Tensor, axis: int) -> int:
    """How many rows (axis 0) or columns (axis 1) hold ink above 0.3."""
    return int((image[0, 0] > 0.3).any(dim=1 - axis).sum())


def test_identity_changes_nothing():
    image = torch.rand(3, 1, 28, 28)
    assert torch.allclose(T.affine(image), image, atol=1e-5)
    assert torch.equal(T.stroke_width(image, 0.0), image)


def test_shift_moves_the_centre_of_mass_by_whole_pixels():
    image = bar()
    x0, y0 = centre_of_mass(image)
    moved = T.affine(image, shift_x=3.0, shift_y=-2.0)
    x1, y1 = centre_of_mass(moved)
    assert x1 - x0 == pytest.approx(3.0, abs=1e-4)
    assert y1 - y0 == pytest.approx(-2.0, abs=1e-4)


def test_rotation_by_90_degrees_turns_a_horizontal_bar_vertical():
    turned = T.affine(bar(horizontal=True), rotation=90.0)
    assert torch.allclose(turned, bar(horizontal=False), atol=1e-4)


def test_rotation_is_anticlockwise_on_screen():
    image = torch.zeros(1, 1, 28, 28)
    image[0, 0, 14, 20] = 1.0  # a dot right of the centre
    turned = T.affine(image, rotation=90.0)
    x, y = centre_of_mass(turned)
    assert y < 14 - 4 and abs(x - 14) < 1  # anticlockwise on screen: right -> up


def test_scale_and_squeeze_change_the_extent():
    image = bar(horizontal=True)  # 16 px wide
    assert extent(T.affine(image, scale=1.5), axis=1) in (23, 24, 25)
    assert extent(T.affine(image, scale=0.5), axis=1) in (7, 8, 9)
    squeezed = T.affine(bar(horizontal=True), squeeze=1.0)  # twice taller, half as wide
    assert extent(squeezed, axis=1) in (7, 8, 9)
    stretched = T.affine(bar(horizontal=False), squeeze=1.0)
    assert extent(stretched, axis=0) >= 27


def test_positive_shear_slants_the_top_to_the_right():
    slanted = T.affine(bar(horizontal=False), shear=0.5)
    top_x = float(slanted[0, 0, 7].argmax())
    bottom_x = float(slanted[0, 0, 20].argmax())
    assert top_x > bottom_x + 4


def test_per_image_strengths_apply_to_their_own_image():
    images = bar().repeat(2, 1, 1, 1)
    moved = T.affine(images, shift_x=torch.tensor([0.0, 4.0]))
    assert torch.allclose(moved[0], images[0], atol=1e-5)
    expected_x = centre_of_mass(images[:1])[0] + 4
    assert centre_of_mass(moved[1:])[0] == pytest.approx(expected_x, abs=1e-4)


def test_stroke_width_thickens_thins_and_blends():
    image = torch.zeros(1, 1, 28, 28)
    image[0, 0, 10:18, 10:18] = 1.0  # an 8x8 block
    assert float(T.stroke_width(image, 1.0).sum()) == 100.0  # 10x10
    assert float(T.stroke_width(image, -1.0).sum()) == 36.0  # 6x6
    half = float(T.stroke_width(image, 0.5).sum())
    assert half == pytest.approx((64 + 100) / 2)
    assert float(T.stroke_width(bar(), -1.0).sum()) == 0.0  # a 1-px stroke vanishes


def test_noise_is_reproducible_and_clipped():
    image = torch.zeros(2, 1, 28, 28)
    a = T.gaussian_noise(image, 0.3, torch.Generator().manual_seed(0))
    b = T.gaussian_noise(image, 0.3, torch.Generator().manual_seed(0))
    assert torch.equal(a, b)
    assert float(a.min()) >= 0.0 and float(a.max()) <= 1.0
    assert 0.05 < float(a.mean()) < 0.2


def test_random_paper_distortion_keeps_shape_and_ink_and_varies_per_image():
    images = bar().repeat(4, 1, 1, 1)
    out = T.random_paper_distortion(images, torch.Generator().manual_seed(1))
    assert out.shape == images.shape
    assert not torch.allclose(out[0], out[1])
    for image in out:  # mild distortions keep roughly the same amount of ink
        assert 0.7 < float(image.sum()) / float(images[0].sum()) < 1.4


def test_bad_input_says_what_is_wrong():
    with pytest.raises(ValueError, match="float batch"):
        T.affine(torch.zeros(28, 28))
    with pytest.raises(ValueError, match="one per image"):
        T.affine(torch.zeros(2, 1, 28, 28), rotation=torch.zeros(3))
    with pytest.raises(ValueError, match="scale must be above 0"):
        T.affine(torch.zeros(1, 1, 28, 28), scale=0.0)
