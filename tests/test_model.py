"""The modern LeNet-5: shapes, counts computed from the modules, activations, seeding."""

import pytest
import torch

from lenet_viz.nets.activations import ACTIVATIONS, LeCunTanh
from lenet_viz.nets.build import build_model
from lenet_viz.nets.config import ModelConfig
from lenet_viz.nets.model import LAYER_NAMES, MaskedConv2d
from lenet_viz.nets.paper import table_i

MODERN_LAYERS = {
    # name: (output shape, params, connections)
    "C1": ((6, 28, 28), 156, 122_304),
    "S2": ((6, 14, 14), 0, 4_704),
    "C3": ((16, 10, 10), 2_416, 241_600),
    "S4": ((16, 5, 5), 0, 1_600),
    "C5": ((120,), 48_120, 48_120),
    "F6": ((84,), 10_164, 10_164),
    "output": ((10,), 850, 850),
}


def test_modern_layer_summary_matches_the_notebook_net():
    summary = build_model(ModelConfig()).layer_summary()
    assert [s.name for s in summary] == list(LAYER_NAMES)
    for layer in summary:
        assert (layer.output_shape, layer.params, layer.connections) == MODERN_LAYERS[layer.name]
    model = build_model(ModelConfig())
    assert model.num_params() == 61_706
    assert model.num_params() == sum(p.numel() for p in model.parameters())


def test_forward_layers_returns_every_layer_from_one_pass():
    model = build_model(ModelConfig(), seed=0)
    x = torch.randn(3, 1, 32, 32)
    outputs = model.forward_layers(x)
    assert list(outputs) == list(LAYER_NAMES)
    for name, tensor in outputs.items():
        assert tuple(tensor.shape) == (3, *MODERN_LAYERS[name][0])
    assert torch.allclose(outputs["output"], model(x))


@pytest.mark.parametrize("activation", list(ACTIVATIONS))
@pytest.mark.parametrize("pooling", ["max", "avg"])
def test_every_activation_and_pooling_trains(activation, pooling):
    model = build_model(ModelConfig(activation=activation, pooling=pooling), seed=1)
    x, y = torch.randn(8, 1, 32, 32), torch.randint(0, 10, (8,))
    loss = model.loss(model(x), y)
    loss.backward()
    assert torch.isfinite(loss)
    assert all(p.grad is not None for p in model.parameters())
    probs = model.probabilities(model(x))
    assert torch.allclose(probs.sum(dim=1), torch.ones(8))


def test_lecun_tanh_is_the_papers_squashing_function():
    f = LeCunTanh()
    values = f(torch.tensor([1.0, -1.0, 0.0]))
    assert torch.allclose(values, torch.tensor([1.0, -1.0, 0.0]), atol=1e-4)
    assert f(torch.tensor(100.0)).item() == pytest.approx(1.7159)


def test_paper_table_on_the_modern_net_counts_only_connected_weights():
    model = build_model(ModelConfig(c3="paper"), seed=0)
    c3 = {s.name: s for s in model.layer_summary()}["C3"]
    assert c3.params == 1_516
    assert c3.connections == 151_600
    assert model.connection_table() == [list(row) for row in table_i()]
    assert build_model(ModelConfig()).connection_table() == [[1] * 16 for _ in range(6)]


def test_masked_weights_stay_zero_under_optimizers():
    model = build_model(ModelConfig(c3="paper"), seed=0)
    conv = model.c3_conv()
    assert isinstance(conv, MaskedConv2d)
    masked = conv.mask.expand_as(conv.weight) == 0
    for optimizer in (
        torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9),
        torch.optim.Adam(model.parameters(), lr=0.01, weight_decay=1e-3),
    ):
        for _ in range(3):
            x, y = torch.randn(16, 1, 32, 32), torch.randint(0, 10, (16,))
            optimizer.zero_grad()
            model.loss(model(x), y).backward()
            optimizer.step()
    assert torch.count_nonzero(conv.weight[masked]) == 0
    assert torch.count_nonzero(conv.weight[~masked]) > 0


def test_same_seed_gives_same_initial_weights_whatever_the_activation():
    a = build_model(ModelConfig(activation="sigmoid"), seed=7).state_dict()
    b = build_model(ModelConfig(activation="relu", pooling="avg"), seed=7).state_dict()
    c = build_model(ModelConfig(activation="relu"), seed=8).state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert not all(torch.equal(a[k], c[k]) for k in a)


@pytest.mark.parametrize(
    "values, message",
    [
        ({"arch": "resnet"}, "unknown arch"),
        ({"activation": "swish2"}, "unknown activation"),
        ({"pooling": "median"}, "pooling"),
        ({"arch": "faithful", "pooling": "max"}, "does not fit"),
        ({"c3": "half"}, "unknown c3"),
        ({"resize": "crop"}, "unknown resize"),
    ],
)
def test_bad_model_settings_say_what_to_choose(values, message):
    with pytest.raises(ValueError, match=message):
        ModelConfig(**values)
