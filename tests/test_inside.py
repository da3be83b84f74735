"""lenet_viz.explain.inside: the C3 table arithmetic, table comparison, and per-layer
activations."""

import numpy as np
import pytest
import torch

from lenet_viz.data.datasets import sample_digits
from lenet_viz.explain import inside
from lenet_viz.nets.build import build_model
from lenet_viz.nets.config import ModelConfig
from lenet_viz.nets.paper import table_i

FULL = [[1] * 16 for _ in range(6)]


def test_table_i_arithmetic_is_the_papers_1516():
    arithmetic = inside.c3_arithmetic(table_i())
    assert arithmetic.total == 1516
    assert [(g.inputs, g.maps) for g in arithmetic.groups] == [(3, 6), (4, 9), (6, 1)]
    assert arithmetic.formula() == (
        "6 × (3·25+1) + 9 × (4·25+1) + 1 × (6·25+1) = 456 + 909 + 151 = 1,516"
    )


def test_full_table_arithmetic_is_2416():
    arithmetic = inside.c3_arithmetic(FULL)
    assert arithmetic.total == 2416
    assert arithmetic.formula() == "16 × (6·25+1) = 2,416"


def test_arithmetic_matches_the_models_own_parameter_count():
    for c3 in ("paper", "full"):
        model = build_model(ModelConfig(arch="modern", c3=c3), seed=0)
        c3_params = next(s.params for s in model.layer_summary() if s.name == "C3")
        assert inside.c3_arithmetic(model.connection_table()).total == c3_params


def test_c3_inputs_follow_table_i():
    assert inside.c3_inputs(table_i(), 0) == [0, 1, 2]
    assert inside.c3_inputs(table_i(), 4) == [0, 4, 5]  # contiguous, wrapping around
    assert inside.c3_inputs(table_i(), 6) == [0, 1, 2, 3]
    assert inside.c3_inputs(table_i(), 12) == [0, 1, 3, 4]  # non-contiguous
    assert inside.c3_inputs(table_i(), 15) == [0, 1, 2, 3, 4, 5]
    assert inside.c3_inputs(FULL, 3) == [0, 1, 2, 3, 4, 5]


@pytest.mark.parametrize("c3_map", [-1, 16])
def test_c3_inputs_rejects_a_map_that_does_not_exist(c3_map):
    with pytest.raises(ValueError, match="numbered 0 to 15"):
        inside.c3_inputs(table_i(), c3_map)


def test_check_table_rejects_bad_tables():
    with pytest.raises(ValueError, match="6 rows"):
        inside.check_table([[1] * 16] * 5)
    with pytest.raises(ValueError, match="only 0"):
        inside.check_table([[2] * 16] * 6)
    no_input = [row[:] for row in FULL]
    for row in no_input:
        row[7] = 0
    with pytest.raises(ValueError, match=r"C3 maps \[7\] see no S2 map"):
        inside.check_table(no_input)


def test_full_table_against_the_paper_has_36_extra_connections():
    comparison = inside.compare_tables(FULL)
    assert comparison.count("both") == 60  # 6*3 + 9*4 + 6: Table I's ones
    assert comparison.count("extra") == 36
    assert comparison.count("missing") == 0
    assert not comparison.identical
    assert comparison.cells[0][1] == "extra"  # S2 map 0 does not feed C3 map 1 in Table I
    assert inside.compare_tables(table_i()).identical


@pytest.fixture(scope="module")
def digit_seven():
    digits = sample_digits()
    index = int(torch.nonzero(digits.labels == 7)[0])
    return digits.images[index]


@pytest.mark.parametrize("arch", ["modern", "faithful"])
def test_inspect_digit_keeps_every_layer(arch, digit_seven):
    model = build_model(ModelConfig(arch=arch), seed=0)
    x = inside.network_input(digit_seven, model.config)
    result = inside.inspect_digit(model, x)
    shapes = {name: values.shape for name, values in result.layers.items()}
    assert shapes == {
        "C1": (6, 28, 28),
        "S2": (6, 14, 14),
        "C3": (16, 10, 10),
        "S4": (16, 5, 5),
        "C5": (120,),
        "F6": (84,),
        "output": (10,),
    }
    assert result.input.shape == (32, 32)
    assert result.probabilities.sum() == pytest.approx(1.0, abs=1e-5)
    assert result.prediction == int(result.probabilities.argmax())
    assert result.output_is_penalty == (arch == "faithful")
    if arch == "faithful":  # the prediction is the smallest RBF penalty (p.9)
        assert result.prediction == int(result.layers["output"].argmin())


def test_network_input_uses_the_models_scaling(digit_seven):
    paper = inside.network_input(digit_seven, ModelConfig(arch="faithful"))
    assert paper.shape == (1, 1, 32, 32)
    assert paper.min().item() == pytest.approx(-0.1)  # background (p.7), padding included
    assert paper.max().item() == pytest.approx(1.175)
    with pytest.raises(ValueError, match="28x28"):
        inside.network_input(np.zeros((32, 32)), ModelConfig())


@pytest.mark.parametrize("c3", ["paper", "full"])
def test_c3_map_is_the_sum_of_its_inputs_contributions(c3, digit_seven):
    model = build_model(ModelConfig(arch="faithful", c3=c3), seed=1)
    result = inside.inspect_digit(model, inside.network_input(digit_seven, model.config))
    opened = inside.c3_map_inputs(model, result, 4)
    expected_inputs = [0, 4, 5] if c3 == "paper" else [0, 1, 2, 3, 4, 5]
    assert opened.inputs == expected_inputs
    assert opened.s2_maps.shape == (len(expected_inputs), 14, 14)
    assert opened.kernels.shape == (len(expected_inputs), 5, 5)
    assert opened.contributions.shape == (len(expected_inputs), 10, 10)
    np.testing.assert_allclose(opened.s2_maps, result.layers["S2"][expected_inputs])
    # The C3 layer's own output is the activation of (sum of contributions + bias).
    activation = model.layers["C3"][1]
    rebuilt = activation(torch.from_numpy(opened.pre_activation)).numpy()
    np.testing.assert_allclose(rebuilt, opened.output, atol=1e-5)
    np.testing.assert_allclose(opened.output, result.layers["C3"][4])


def test_c1_kernels_are_the_conv_weights():
    model = build_model(ModelConfig(), seed=0)
    kernels = inside.c1_kernels(model)
    assert kernels.shape == (6, 5, 5)
    np.testing.assert_array_equal(kernels, model.layers["C1"][0].weight.detach()[:, 0].numpy())


def test_rbf_codes_as_bitmaps():
    bitmaps = inside.rbf_code_bitmaps()
    assert bitmaps.shape == (10, 12, 7)
    assert set(np.unique(bitmaps)) == {-1.0, 1.0}
    f6 = np.arange(84, dtype=np.float32)
    laid_out = inside.f6_bitmap(f6)
    assert laid_out.shape == (12, 7)
    assert laid_out[1, 0] == 7  # row-major, 7 wide
    with pytest.raises(ValueError, match="84"):
        inside.f6_bitmap(np.zeros(10))


# ------------------------------------------------------------------ the Inside figures


def test_pixel_image_enlarges_by_whole_pixels():
    from lenet_viz.figures.inside import pixel_image

    image = np.array([[0.0, 1.0], [0.5, 0.25]], dtype=np.float32)
    enlarged = pixel_image(image, size=10)
    assert enlarged.shape == (10, 10) and enlarged.dtype == np.uint8
    assert enlarged[0, 0] == 0 and enlarged[0, 9] == 255 and enlarged[9, 0] == 128
    assert (enlarged[:5, 5:] == 255).all()  # one pixel became a 5x5 block, no blur


def test_connection_table_figure_can_be_clicked_on_every_cell():
    from lenet_viz.figures.c3_table import connection_table_figure

    figure = connection_table_figure(table_i(), selected=12)
    heatmap, markers = figure.data
    levels = np.asarray(heatmap.z)
    # The chosen map's inputs are drawn apart (level 2); other connections are level 1.
    assert [int(i) for i in np.flatnonzero(levels[:, 12] == 2)] == [0, 1, 3, 4]
    assert (levels[:, :12] <= 1).all()
    # One invisible marker per cell carries the C3 map as x (heatmaps cannot be selected).
    assert len(markers.x) == 96
    assert sorted(set(int(x) for x in markers.x)) == list(range(16))


def test_c3_breakdown_figure_has_a_column_per_input_and_the_result():
    from lenet_viz.figures.inside import c3_breakdown_figure

    model = build_model(ModelConfig(arch="faithful"), seed=0)
    x = inside.network_input(sample_digits().images[0], model.config)
    opened = inside.c3_map_inputs(model, inside.inspect_digit(model, x), 15)
    figure = c3_breakdown_figure(
        opened.s2_maps,
        opened.kernels,
        opened.contributions,
        opened.inputs,
        15,
        opened.pre_activation,
        opened.output,
    )
    assert len(figure.data) == 3 * 6 + 2  # S2 map, kernel, contribution per input; sum; C3 map
    titles = [annotation.text for annotation in figure.layout.annotations]
    assert (
        "S2 map 5" in titles and "kernel 5→15" in titles and "→ C3 map 15<br>(activation)" in titles
    )


def test_a_layer_picture_holds_every_map_in_its_place_with_its_number():
    """The Inside page's picture of a layer: map i at row i // columns, column i % columns,
    enlarged by whole pixels on the layer's one colour scale (as `map_images` draws each), a
    white gap between maps and its number in the band under it."""
    from lenet_viz.figures.inside import LABEL_BAND, TILE_GAP, layer_picture, map_images

    rng = np.random.default_rng(0)
    maps = rng.random((16, 10, 10)).astype(np.float32)
    picture = layer_picture(maps, 120, 8)
    tiles = map_images(maps, 120)
    size = tiles[0].shape[0]
    assert size == 120 and picture.shape == (
        2 * (size + LABEL_BAND) + TILE_GAP,
        8 * size + 7 * TILE_GAP,
        3,
    )
    for index, tile in enumerate(tiles):
        row, column = divmod(index, 8)
        top, left = row * (size + LABEL_BAND + TILE_GAP), column * (size + TILE_GAP)
        assert np.array_equal(picture[top : top + size, left : left + size], tile)
        band = picture[top + size : top + size + LABEL_BAND, left : left + size]
        assert (band < 128).any()  # its number, dark on white
    assert (picture[:size, size : size + TILE_GAP] == 255).all()  # the gap between two maps
    kernels = layer_picture(rng.normal(size=(6, 5, 5)), 150, 6, signed=True)
    assert kernels.shape[1] == 6 * 150 + 5 * TILE_GAP  # one row: 5x5 kernels 30 times
