"""d2l-zh's LeNet as an option of the modern net: the same function as the book's code, its
Xavier init, and the recipe with its one-change variations (presets `d2l`, `d2l-*`)."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from lenet_viz.data.datasets import to_network_input
from lenet_viz.nets.build import build_model
from lenet_viz.nets.config import ConfigError, ModelConfig
from lenet_viz.training.config import D2L_VARIATIONS, PRESETS, TrainConfig, preset_config


def d2l_lenet() -> nn.Sequential:
    """The net of d2l-zh's LeNet chapter, as the book writes it (28x28 input, padding 2)."""
    return nn.Sequential(
        nn.Conv2d(1, 6, kernel_size=5, padding=2),
        nn.Sigmoid(),
        nn.AvgPool2d(kernel_size=2, stride=2),
        nn.Conv2d(6, 16, kernel_size=5),
        nn.Sigmoid(),
        nn.AvgPool2d(kernel_size=2, stride=2),
        nn.Flatten(),
        nn.Linear(16 * 5 * 5, 120),
        nn.Sigmoid(),
        nn.Linear(120, 84),
        nn.Sigmoid(),
        nn.Linear(84, 10),
    )


def test_the_d2l_net_computes_the_books_function_on_28x28_pixels():
    ours = build_model(preset_config("d2l").model, seed=0).eval()
    book = d2l_lenet().eval()
    convs = [m for m in ours.modules() if isinstance(m, nn.Conv2d)]
    linears = [m for m in ours.modules() if isinstance(m, nn.Linear)]
    with torch.no_grad():
        for theirs, mine in zip([book[0], book[3]], convs[:2], strict=True):
            theirs.weight.copy_(mine.weight)
            theirs.bias.copy_(mine.bias)
        c5 = convs[2]  # d2l-zh's Linear(400, 120) is a 5x5 convolution over the 5x5 S4 maps
        book[7].weight.copy_(c5.weight.reshape(120, -1))
        book[7].bias.copy_(c5.bias)
        for theirs, mine in zip([book[9], book[11]], linears, strict=True):
            theirs.weight.copy_(mine.weight)
            theirs.bias.copy_(mine.bias)
        pixels = torch.rand(8, 28, 28)  # ToTensor's 0..1, no normalisation
        expected = book(pixels[:, None])
        got = ours(to_network_input(pixels, "pad", "unit"))
    assert torch.allclose(got, expected, atol=1e-5)


def test_xavier_init_draws_each_weight_within_glorots_bound():
    model = build_model(ModelConfig(init="xavier"), seed=0)
    fans = {  # (fan_in, fan_out) as d2l-zh's layers count them
        "C1": (25, 150),
        "C3": (150, 400),
        "C5": (400, 120),  # a Linear(400, 120) in the book
        "F6": (120, 84),
        "output": (84, 10),
    }
    for name, (fan_in, fan_out) in fans.items():
        weight = next(m.weight for m in model.layers[name].modules() if hasattr(m, "weight"))
        bound = math.sqrt(6 / (fan_in + fan_out))
        assert weight.abs().max() <= bound
        assert weight.abs().max() > 0.9 * bound  # the whole range is used, not PyTorch's
    plain = build_model(ModelConfig(), seed=0)
    assert not torch.equal(plain.layers["C1"][0].weight, model.layers["C1"][0].weight)
    again = build_model(ModelConfig(init="xavier"), seed=0)
    assert torch.equal(again.layers["C5"][0].weight, model.layers["C5"][0].weight)


def test_a_faithful_init_on_the_modern_net_says_what_fits():
    with pytest.raises(ConfigError, match="xavier"):
        ModelConfig(arch="modern", init="sqrt3")
    with pytest.raises(ConfigError, match="scaling"):
        ModelConfig(scaling="raw")
    assert ModelConfig().scaling == "mnist" and ModelConfig(arch="faithful").scaling == "paper"
    # A checkpoint's settings from before the option: the architecture's own scaling.
    assert ModelConfig.from_dict({"arch": "faithful"}).input_scaling == "paper"


def test_each_d2l_variation_is_the_recipe_with_its_one_change():
    recipe = TrainConfig.from_dict(PRESETS["d2l"]).validate()
    for name, (change, _) in D2L_VARIATIONS.items():
        variation = preset_config(f"d2l-{name}").validate()
        changed = {
            key
            for key, value in variation.to_dict().items()
            if key != "model" and value != getattr(recipe, key)
        }
        changed |= {
            key
            for key, value in variation.model.to_dict().items()
            if value != getattr(recipe.model, key)
        }
        assert changed == set(change), name
