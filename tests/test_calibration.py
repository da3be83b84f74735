"""Honest confidence: temperature scaling, the calibration error, and "unsure" readings."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from lenet_viz.explain.calibration import (
    UNSURE_BELOW,
    calibrate,
    calibrated,
    expected_calibration_error,
    fit_temperature,
    log_probabilities,
    read_digit,
    reading_from_probabilities,
    temperature_of,
)
from lenet_viz.nets.build import build_model
from lenet_viz.nets.config import ModelConfig


def overconfident_logits(n: int = 4000, true_temperature: float = 2.5, seed: int = 0):
    """Logits whose labels are drawn from softmax(logits / T): the right temperature is T."""
    generator = torch.Generator().manual_seed(seed)
    logits = torch.randn(n, 10, generator=generator) * 6
    labels = torch.multinomial(
        torch.softmax(logits / true_temperature, 1), 1, generator=generator
    ).squeeze(1)
    return logits, labels


def test_fit_temperature_recovers_the_temperature_the_labels_were_drawn_with():
    logits, labels = overconfident_logits()
    assert fit_temperature(logits, labels) == pytest.approx(2.5, rel=0.08)
    calm, calm_labels = overconfident_logits(true_temperature=0.5, seed=1)
    assert fit_temperature(calm, calm_labels) == pytest.approx(0.5, rel=0.08)


def test_temperature_scaling_lowers_the_calibration_error_and_keeps_the_prediction():
    logits, labels = overconfident_logits()
    before = torch.softmax(logits, 1)
    temperature = fit_temperature(logits, labels)
    after = calibrated(torch.log_softmax(logits, 1), temperature)
    assert (
        expected_calibration_error(after, labels) < expected_calibration_error(before, labels) / 3
    )
    assert torch.equal(after.argmax(1), before.argmax(1))
    assert torch.allclose(after.sum(1), torch.ones(len(labels)), atol=1e-6)


def test_expected_calibration_error_of_simple_cases():
    # Always 100% sure and always right: no error. Always 100% sure, right half the time: 50%.
    sure = np.eye(10)[[0, 1, 2, 3]]
    assert expected_calibration_error(sure, [0, 1, 2, 3]) == pytest.approx(0.0)
    assert expected_calibration_error(sure, [0, 1, 5, 5]) == pytest.approx(0.5)
    # 60% sure and right 3 times in 5: no error.
    probs = np.full((5, 10), 0.4 / 9)
    probs[:, 0] = 0.6
    assert expected_calibration_error(probs, [0, 0, 0, 1, 2]) == pytest.approx(0.0, abs=1e-9)
    with pytest.raises(ValueError):
        expected_calibration_error(probs, [0, 1])


def test_a_reading_is_unsure_below_the_threshold_and_names_the_runner_up():
    probs = np.zeros(10)
    probs[[1, 7]] = 0.55, 0.45
    reading = reading_from_probabilities(probs)
    assert reading.unsure and reading.prediction == 1 and reading.runner_up == 7
    assert reading.summary() == "unsure: 1 (55%) or 7 (45%)"
    probs[[1, 7]] = 0.97, 0.03
    clear = reading_from_probabilities(probs)
    assert not clear.unsure and clear.summary() == "1, 97% sure"
    assert 0.5 < UNSURE_BELOW < 0.95


def test_temperature_of_reads_the_metadata_and_defaults_to_one():
    assert temperature_of({"temperature": 1.7}) == 1.7
    for metadata in (None, {}, {"temperature": -1}, {"temperature": "hot"}):
        assert temperature_of(metadata) == 1.0


def test_read_digit_averages_shifted_copies_and_applies_the_temperature():
    model = build_model(ModelConfig(arch="modern", activation="relu"), seed=0).eval()
    x = torch.randn(1, 1, 32, 32)
    plain = read_digit(model, x, temperature=1.0, tta=False)
    with torch.no_grad():
        expected = model.probabilities(model(x))[0].numpy()
    np.testing.assert_allclose(plain.probabilities, expected, rtol=1e-4, atol=1e-6)
    hot = read_digit(model, x, temperature=50.0, tta=True)
    assert hot.probabilities.max() < 0.2  # a high temperature flattens the probabilities
    averaged = torch.exp(log_probabilities(model, x, tta=True))
    assert torch.allclose(averaged.sum(1), torch.ones(1), atol=1e-5)


def test_calibrate_fits_a_temperature_and_reports_the_error_before_and_after():
    model = build_model(ModelConfig(arch="modern", activation="relu"), seed=0).eval()
    generator = torch.Generator().manual_seed(0)
    inputs = torch.randn(64, 1, 32, 32, generator=generator)
    labels = torch.randint(0, 10, (64,), generator=generator)
    found = calibrate(model, inputs, labels)
    assert found["temperature"] > 0
    assert set(found["calibration"]) == {"held_out_digits", "ece_before", "ece_after"}
    assert found["calibration"]["held_out_digits"] == 64
