"""--augment: none, shift, the paper's distortions, and drawn stroke digits mixed in."""

from __future__ import annotations

import pytest
import torch

from lenet_viz.data.datasets import sample_digits, to_network_input
from lenet_viz.nets.config import ConfigError
from lenet_viz.training import augment
from lenet_viz.training.augment import AUGMENT_HELP, DRAWN_SHARE, augment_batch
from lenet_viz.training.config import AUGMENTS, TrainConfig


def batch(n: int = 32):
    digits = sample_digits()
    return to_network_input(digits.images[:n], "pad", "mnist"), digits.labels[:n]


def test_every_augment_is_described_and_accepted_by_the_config():
    assert set(AUGMENT_HELP) == set(AUGMENTS)
    for kind in AUGMENTS:
        TrainConfig(augment=kind).validate()
    with pytest.raises(ConfigError, match="unknown augment"):
        TrainConfig(augment="rotate").validate()


def test_paper_distorts_every_digit_differently_and_keeps_the_labels():
    x, y = batch()
    out, labels = augment_batch("paper", x, y, torch.Generator().manual_seed(0))
    assert out.shape == x.shape and torch.equal(labels, y)
    changed = (out - x).abs().flatten(1).amax(1)
    assert (changed > 0.1).float().mean() > 0.9
    again, _ = augment_batch("paper", x, y, torch.Generator().manual_seed(0))
    assert torch.equal(out, again)
    background = float(x[0, 0, 0, 0])
    assert torch.allclose(out[:, :, 0, :], torch.full_like(out[:, :, 0, :], background), atol=0.05)


def test_none_and_shift():
    x, y = batch()
    same, labels = augment_batch("none", x, y, torch.Generator().manual_seed(0))
    assert same is x and labels is y
    moved, _ = augment_batch("shift", x, y, torch.Generator().manual_seed(0))
    assert moved.shape == x.shape and not torch.equal(moved, x)


def test_drawn_replaces_a_share_of_the_batch_with_stroke_digits(monkeypatch):
    x, y = batch(40)
    pool_x = torch.full((5, 1, 32, 32), 7.0)  # recognisable stand-ins for the synthesized pool
    pool_y = torch.tensor([3, 3, 3, 3, 3])
    monkeypatch.setattr(augment, "drawn_pool", lambda resize, scaling: (pool_x, pool_y))
    monkeypatch.setattr(augment, "random_paper_distortion", lambda images, g, r: images)
    out, labels = augment_batch("drawn", x, y, torch.Generator().manual_seed(0))
    replaced = (out == 7.0).flatten(1).all(1)
    assert int(replaced.sum()) == round(DRAWN_SHARE * 40)
    assert (labels[replaced] == 3).all()
    assert torch.equal(labels[~replaced], y[~replaced])
    assert torch.equal(x, batch(40)[0])  # the caller's batch is left alone


def test_a_short_training_run_with_paper_distortions(tmp_path):
    from lenet_viz.training.runner import Trainer

    digits = sample_digits()
    config = TrainConfig(optimizer="adam", lr=3e-3, epochs=1, augment="paper", seed=0)
    trainer = Trainer(config, train=digits, test=digits).run_here()
    run = trainer.runs[0]
    assert run.status == "completed" and run.final["test_acc"] > 0.1


def test_non_digit_marks_are_pushed_towards_equal_probabilities(monkeypatch):
    from lenet_viz.nets.build import build_model
    from lenet_viz.nets.config import ModelConfig
    from lenet_viz.training.augment import NOT_A_DIGIT, loss_with_non_digits

    model = build_model(ModelConfig(arch="modern", activation="relu"), seed=0)
    x, y = batch(8)
    output = model(x)
    assert torch.equal(loss_with_non_digits(model, output, y), model.loss(output, y))
    marked = y.clone()
    marked[:2] = NOT_A_DIGIT
    flat = torch.zeros(8, 10)  # equal probabilities: the non-digit part of the loss is log 10
    flat[2:, :] = -100.0
    flat[torch.arange(2, 8), y[2:]] = 100.0  # the digits: right and sure, loss ~0
    loss = loss_with_non_digits(model, flat, marked)
    assert float(loss) == pytest.approx(2 / 8 * float(torch.log(torch.tensor(10.0))), rel=1e-4)
    sure = flat.clone()
    sure[:2, 0] = 50.0  # sure of a digit for a non-digit mark: a larger loss
    assert float(loss_with_non_digits(model, sure, marked)) > float(loss) + 1
