"""What each map looks for (lenet_viz.explain.top_activations): the top-digit search against brute
force,
and receptive fields against the gradient of a unit."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from lenet_viz.checkpoints.store import (
    DEFAULT_CHECKPOINT_NAMES,
    REPO_CHECKPOINT_DIR,
    load_checkpoint,
)
from lenet_viz.data.datasets import sample_digits, to_network_input
from lenet_viz.explain.inside import inspect_digit
from lenet_viz.explain.top_activations import (
    cached_top_activations,
    field_in_digit,
    receptive_field,
    top_activations,
)
from lenet_viz.nets.build import build_model
from lenet_viz.nets.config import ModelConfig


@pytest.fixture(scope="module", params=["modern", "faithful"])
def model(request):
    path = REPO_CHECKPOINT_DIR / DEFAULT_CHECKPOINT_NAMES[request.param]
    if path.is_file():
        return load_checkpoint(path).model
    return build_model(ModelConfig(arch=request.param), seed=0).eval()


def brute_force(model, images, layer: str, k: int):
    """Every digit through `inspect_digit` one at a time; each map's digits sorted by its
    maximum (ties: lower index first), and where that maximum is."""
    scores, units = [], []
    for image in images:
        x = to_network_input(image[None], model.config.resize, model.config.input_scaling)
        output = inspect_digit(model, x).layers[layer]
        if output.ndim == 1:
            scores.append(output)
            continue
        flat = output.reshape(len(output), -1)
        scores.append(flat.max(axis=1))
        best = flat.argmax(axis=1)
        units.append(np.stack([best // output.shape[2], best % output.shape[2]], axis=1))
    scores = np.stack(scores)  # (N, maps)
    top = np.array(
        [
            sorted(range(len(images)), key=lambda i: (-scores[i, m], i))[:k]
            for m in range(scores.shape[1])
        ]
    )
    return top, scores, (np.stack(units) if units else None)


def test_the_top_digits_are_the_brute_force_ones(model):
    images = sample_digits().images[::5]  # 40 digits, 4 of each class
    found = top_activations(model, images, k=5, batch_size=7)  # batches that split the set
    assert found.digits == 40
    for layer in ("C1", "C3", "C5", "F6"):
        expected, scores, units = brute_force(model, images, layer, 5)
        top = found.layers[layer]
        np.testing.assert_array_equal(top.indices, expected, err_msg=layer)
        rows = np.arange(len(expected))[:, None]
        np.testing.assert_allclose(top.scores, scores[expected, rows], rtol=1e-5, atol=1e-6)
        assert np.all(np.diff(top.scores, axis=1) <= 0)  # most exciting first
        if units is None:
            assert top.units is None
        else:
            np.testing.assert_array_equal(top.units, units[expected, rows], err_msg=layer)


def test_the_search_covers_every_map_and_unit(model):
    found, digits = cached_top_activations(model)
    assert found.digits == len(digits)
    shapes = {name: top.indices.shape for name, top in found.layers.items()}
    assert shapes == {"C1": (6, 9), "C3": (16, 9), "C5": (120, 9), "F6": (84, 9)}
    assert cached_top_activations(model)[0] is found  # once per model


def test_receptive_fields_follow_the_kernels_and_strides(model):
    assert receptive_field(model, "C1", 0, 0) == (0, 0, 5, 5)
    assert receptive_field(model, "C1", 27, 3) == (27, 3, 32, 8)
    # C3: 5x5 of S2, each S2 unit 2x2 of C1, each C1 unit 5x5 of the input: 14x14.
    assert receptive_field(model, "C3", 0, 0) == (0, 0, 14, 14)
    assert receptive_field(model, "C3", 4, 9) == (8, 18, 22, 32)


def test_a_c3_units_receptive_field_is_where_its_gradient_lives():
    """In the faithful net every path is smooth (scaled tanh, summing subsampling), so the
    gradient of one C3 unit is non-zero exactly on the input pixels it sees."""
    model = build_model(ModelConfig(arch="faithful"), seed=1).eval()
    x = torch.randn(1, 1, 32, 32, requires_grad=True)
    for row, col in ((3, 4), (0, 9)):
        unit = model.forward_layers(x)["C3"][0, 5, row, col]
        (gradient,) = torch.autograd.grad(unit, x)
        rows, cols = np.nonzero(gradient[0, 0].numpy())
        support = (rows.min(), cols.min(), rows.max() + 1, cols.max() + 1)
        assert support == receptive_field(model, "C3", row, col)


def test_fields_are_drawn_on_the_28x28_digit():
    assert field_in_digit((10, 10, 24, 24), "pad") == (8.0, 8.0, 22.0, 22.0)
    assert field_in_digit((0, 0, 5, 5), "pad") == (0.0, 0.0, 3.0, 3.0)  # clipped to the digit
    assert field_in_digit((0, 0, 32, 32), "scale") == (0.0, 0.0, 28.0, 28.0)
