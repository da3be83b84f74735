"""The shipped checkpoints' robustness curves and top digits kept on disk
(checkpoints/explanations.json) are what a fresh computation gives, and are the ones served."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from lenet_viz.checkpoints.store import (
    DEFAULT_CHECKPOINT_NAMES,
    REPO_CHECKPOINT_DIR,
    load_checkpoint,
)
from lenet_viz.explain.cache import model_fingerprint
from lenet_viz.explain.robustness import (
    SWEEPS,
    RobustnessCurves,
    cached_robustness_curves,
    robustness_curves,
    robustness_digits,
)
from lenet_viz.explain.stored import STORE, store_key, stored_result, write_results
from lenet_viz.explain.top_activations import TopActivations, search_digits, top_activations

REWRITE = "run `python scripts/store_explanations.py` after changing a shipped checkpoint"
# A few points of a few curves: enough to catch a stale file, quick to compute.
POINTS = {"rotation": (-30.0, 0.0, 20.0), "noise": (0.6,), "stroke": (2.0,)}


def shipped_models():
    found = []
    for arch, name in DEFAULT_CHECKPOINT_NAMES.items():
        path = REPO_CHECKPOINT_DIR / name
        if path.is_file():
            found.append(pytest.param(path, id=arch))
    return found


@pytest.fixture(params=shipped_models())
def shipped(request):
    return load_checkpoint(request.param).model


def mnist_digits(pick):
    digits, source = pick()
    if source != "MNIST test set":
        pytest.skip("the stored results are for MNIST's test digits (run `make data`)")
    return digits, source


def test_stored_curves_match_a_fresh_computation(shipped):
    digits, source = mnist_digits(robustness_digits)
    stored = stored_result("robustness", store_key(model_fingerprint(shipped), source, len(digits)))
    assert stored is not None, f"no stored curves for this checkpoint: {REWRITE}"
    few = {
        name: dataclasses.replace(SWEEPS[name], strengths=strengths)
        for name, strengths in POINTS.items()
    }
    fresh = robustness_curves(shipped, digits, sweeps=few, source=source)
    kept = RobustnessCurves.from_dict(stored)
    for name, strengths in POINTS.items():
        for strength in strengths:
            assert kept.curves[name].accuracy_at(strength) == pytest.approx(
                fresh.curves[name].accuracy_at(strength), abs=1e-4
            ), f"{name} at {strength}: {REWRITE}"
    assert kept.clean_accuracy == pytest.approx(fresh.clean_accuracy, abs=1e-4)


def test_stored_top_digits_match_a_fresh_search(shipped):
    digits, source = mnist_digits(search_digits)
    key = store_key(model_fingerprint(shipped), source, len(digits))
    stored = stored_result("top_digits", key)
    assert stored is not None, f"no stored top digits for this checkpoint: {REWRITE}"
    kept = TopActivations.from_dict(stored)
    fresh = top_activations(shipped, digits.images, layers=("C1", "C5"), source=source)
    for layer in ("C1", "C5"):
        np.testing.assert_array_equal(kept.layers[layer].indices, fresh.layers[layer].indices)
        np.testing.assert_allclose(kept.layers[layer].scores, fresh.layers[layer].scores, atol=1e-4)
    np.testing.assert_array_equal(kept.layers["C1"].units, fresh.layers["C1"].units)
    assert kept.layers["C5"].units is None


def test_the_app_serves_the_stored_curves(shipped):
    digits, source = mnist_digits(robustness_digits)
    stored = stored_result("robustness", store_key(model_fingerprint(shipped), source, len(digits)))
    assert cached_robustness_curves(shipped).to_dict() == stored


def test_a_model_not_in_the_store_is_looked_up_by_its_weights(tmp_path):
    path = tmp_path / "explanations.json"
    write_results({"robustness": {store_key("abc", "MNIST test set", 1000): {"x": 1}}}, path)
    assert stored_result("robustness", store_key("abc", "MNIST test set", 1000), path) == {"x": 1}
    assert stored_result("robustness", store_key("abd", "MNIST test set", 1000), path) is None
    assert stored_result("top_digits", store_key("abc", "MNIST test set", 1000), path) is None
    assert STORE.name == "explanations.json"
