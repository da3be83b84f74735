"""The invariance explorer's distortions and the robustness curves (lenet_viz.explain.invariance,
lenet_viz.explain.robustness), each transform as the app and the CLI use it."""

from __future__ import annotations

import copy
import json

import numpy as np
import pytest
import torch

from lenet_viz import cli
from lenet_viz.checkpoints.store import (
    DEFAULT_CHECKPOINT_NAMES,
    REPO_CHECKPOINT_DIR,
    load_checkpoint,
)
from lenet_viz.data import transforms
from lenet_viz.data.datasets import sample_digits
from lenet_viz.explain.cache import PerModelCache, model_fingerprint
from lenet_viz.explain.invariance import Distortion, distort_digit, explore
from lenet_viz.explain.robustness import (
    DIRECTIONS,
    SWEEPS,
    cached_robustness_curves,
    distorted_batch,
    robustness_curves,
    sweep_examples,
)

MODERN = REPO_CHECKPOINT_DIR / DEFAULT_CHECKPOINT_NAMES["modern"]


@pytest.fixture(scope="module")
def modern():
    if not MODERN.is_file():
        pytest.skip("the shipped modern checkpoint is missing")
    return load_checkpoint(MODERN).model


def bar(rows=slice(12, 16), cols=slice(6, 22)) -> np.ndarray:
    """A horizontal bar, 4 px high and 16 px wide, in a 28x28 ink image."""
    image = np.zeros((28, 28), dtype=np.float32)
    image[rows, cols] = 1.0
    return image


def centre_of_mass(image: np.ndarray) -> np.ndarray:
    rows, cols = np.indices(image.shape)
    total = image.sum()
    return np.array([(rows * image).sum() / total, (cols * image).sum() / total])


def extent(image: np.ndarray, threshold: float = 0.5) -> tuple[int, int]:
    """(height, width) of the ink above `threshold`."""
    rows, cols = np.nonzero(image > threshold)
    return int(rows.max() - rows.min() + 1), int(cols.max() - cols.min() + 1)


# ------------------------------------------------------------------ the explorer's sliders


def test_the_default_distortion_changes_nothing():
    digit = sample_digits().images[0].numpy()
    assert Distortion().is_identity()
    np.testing.assert_allclose(distort_digit(digit, Distortion()), digit / 255.0, atol=1e-5)


def test_each_slider_does_what_its_label_says():
    image = bar()
    moved = distort_digit(image, Distortion(shift_x=3, shift_y=-2))
    np.testing.assert_allclose(centre_of_mass(moved) - centre_of_mass(image), [-2, 3], atol=1e-4)
    turned = distort_digit(image, Distortion(rotation=90))
    assert extent(turned) == (16, 4)  # the bar now stands upright
    assert extent(distort_digit(image, Distortion(scale=0.5))) == (2, 8)  # half as large
    assert extent(distort_digit(image, Distortion(scale=1.5))) == (6, 24)
    squeezed = distort_digit(image, Distortion(squeeze=0.5))  # 1.5x taller, 1.5x narrower
    assert extent(squeezed)[0] > 4 and extent(squeezed)[1] < 12
    thick = distort_digit(image, Distortion(stroke=1))
    assert extent(thick) == (6, 18)  # one pixel more on every side
    thin = distort_digit(image, Distortion(stroke=-1))
    assert extent(thin) == (2, 14)


def test_noise_is_the_same_for_one_seed_and_stays_in_the_ink_range():
    image = bar()
    first = distort_digit(image, Distortion(noise=0.4, noise_seed=3))
    again = distort_digit(image, Distortion(noise=0.4, noise_seed=3))
    other = distort_digit(image, Distortion(noise=0.4, noise_seed=4))
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, other)
    assert first.min() >= 0 and first.max() <= 1
    # On the background, clipped N(0, 0.4²) noise adds E[max(0, n)] = 0.4 / sqrt(2 pi) = 0.16.
    assert 0.12 < np.abs(first - image).mean() < 0.2


def test_explore_reads_the_distorted_digit(modern):
    digits = sample_digits()
    index = int(torch.nonzero(digits.labels == 4).flatten()[0])
    view = explore(modern, digits.images[index].numpy(), Distortion())
    assert view.inspection.prediction == 4
    assert view.inspection.layers["C1"].shape == (6, 28, 28)
    assert view.inspection.layers["C3"].shape == (16, 10, 10)
    turned = explore(modern, digits.images[index].numpy(), Distortion(rotation=180))
    assert not np.allclose(turned.distorted, view.distorted)
    assert not np.allclose(turned.inspection.layers["C1"], view.inspection.layers["C1"])


# ------------------------------------------------------------------ the sweeps


def test_every_sweep_leaves_the_digits_alone_at_its_neutral_strength():
    images = sample_digits().images[:8]
    for sweep in SWEEPS.values():
        assert sweep.neutral in sweep.strengths, sweep.name
        out = distorted_batch(images, sweep, sweep.neutral)
        np.testing.assert_allclose(out[:, 0], images.float() / 255.0, atol=1e-5, err_msg=sweep.name)


def test_the_sweeps_cover_the_ranges_the_issue_asks_for():
    assert SWEEPS["rotation"].strengths[0] == -60 and SWEEPS["rotation"].strengths[-1] == 60
    assert SWEEPS["shift"].strengths == tuple(float(s) for s in range(9))
    assert SWEEPS["scale"].strengths[0] == 0.5 and SWEEPS["scale"].strengths[-1] == 1.5
    assert set(SWEEPS) == {"rotation", "shift", "scale", "squeeze", "stroke", "noise"}


def test_the_shift_sweep_moves_each_digit_its_own_way():
    images = torch.from_numpy(np.stack([bar()] * 4))
    moved = distorted_batch(images, SWEEPS["shift"], 4.0)[:, 0].numpy()
    for i, (dx, dy) in enumerate(DIRECTIONS):
        delta = centre_of_mass(moved[i]) - centre_of_mass(images[i].numpy())
        np.testing.assert_allclose(delta, [4 * dy, 4 * dx], atol=1e-3)


def test_the_sweeps_use_the_shared_transforms():
    images = sample_digits().images[:6]
    ink = images.float()[:, None] / 255.0
    rotated = distorted_batch(images, SWEEPS["rotation"], 30.0)
    torch.testing.assert_close(rotated, transforms.affine(ink, rotation=30.0).clamp(0, 1))
    thick = distorted_batch(images, SWEEPS["stroke"], 1.5)
    torch.testing.assert_close(thick, transforms.stroke_width(ink, 1.5).clamp(0, 1))
    noisy = distorted_batch(images, SWEEPS["noise"], 0.5)
    torch.testing.assert_close(noisy, distorted_batch(images, SWEEPS["noise"], 0.5))


def test_sweep_examples_show_one_digit_at_every_strength():
    examples = sweep_examples(sample_digits().images[0].numpy())
    for name, images in examples.items():
        assert images.shape == (len(SWEEPS[name].strengths), 28, 28)


# ------------------------------------------------------------------ the curves


def test_curves_fall_away_from_the_undistorted_digits(modern):
    digits = sample_digits().first_per_class(5)
    result = robustness_curves(modern, digits, source="sample digits")
    assert result.digits == 50
    clean = result.clean_accuracy
    assert clean >= 0.9
    for name, curve in result.curves.items():
        sweep = SWEEPS[name]
        assert curve.strengths == list(sweep.strengths)
        assert all(0.0 <= a <= 1.0 for a in curve.accuracy)
        assert curve.accuracy_at(sweep.neutral) == clean, name  # the same digits, undistorted
    assert result.curves["rotation"].accuracy_at(60) < clean - 0.2
    assert result.curves["shift"].accuracy_at(8) < clean - 0.3
    assert result.curves["noise"].accuracy_at(1.0) < clean - 0.2
    assert json.loads(json.dumps(result.to_dict()))["curves"]["scale"]["strengths"][0] == 0.5
    with pytest.raises(ValueError, match="no point at 45"):
        result.curves["rotation"].accuracy_at(45)
    lines = result.text_lines()  # what the CLI prints without --json
    assert lines[0].startswith("accuracy on 50 digits (sample digits")
    assert len(lines) == 1 + 3 * len(SWEEPS)
    assert lines[1] == f"{SWEEPS['rotation'].label}:"


def test_the_cli_prints_the_numbers_the_app_shows(modern, capsys):
    shown = cached_robustness_curves(modern).to_dict()
    assert shown["digits"] in (1000, 200)
    assert cached_robustness_curves(modern) is cached_robustness_curves(modern)  # cached
    assert cli.main(["robustness", str(MODERN), "--json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed.pop("checkpoint") == str(MODERN)
    assert printed == shown


def test_the_cli_reports_a_missing_checkpoint(tmp_path, capsys):
    assert cli.main(["robustness", str(tmp_path / "nope.pt")]) == 2
    assert capsys.readouterr().err.startswith("error:")


# ------------------------------------------------------------------ the per-model cache


def test_a_model_with_other_weights_has_another_fingerprint(modern):
    other = copy.deepcopy(modern)
    assert model_fingerprint(other) == model_fingerprint(modern)
    with torch.no_grad():
        other.layers["F6"][0].bias[0] += 1e-3
    assert model_fingerprint(other) != model_fingerprint(modern)


def test_the_cache_computes_each_key_once_and_forgets_the_oldest():
    cache, calls = PerModelCache(max_entries=2), []

    def compute(key):
        calls.append(key)
        return key * 10

    assert cache.get_or_compute(1, lambda: compute(1)) == 10
    assert cache.get_or_compute(1, lambda: compute(1)) == 10
    cache.get_or_compute(2, lambda: compute(2))
    cache.get_or_compute(3, lambda: compute(3))
    assert calls == [1, 2, 3]
    assert 1 not in cache and 3 in cache


# ------------------------------------------------------------------ the README's figure script


def _figure_script():
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parent.parent / "scripts" / "robustness_figure.py"
    spec = importlib.util.spec_from_file_location("robustness_figure", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_figure_script_writes_the_readme_table_between_its_markers(tmp_path):
    script = _figure_script()
    assert script.TABLE_START in script.README.read_text()  # the shipped README has the markers
    readme = tmp_path / "README.md"
    readme.write_text(f"intro\n{script.TABLE_START}\n| old |\n{script.TABLE_END}\noutro\n")
    curves = {
        name: {"strengths": list(sweep.strengths), "accuracy": [0.5] * len(sweep.strengths)}
        for name, sweep in SWEEPS.items()
    }
    curves["rotation"]["accuracy"][list(SWEEPS["rotation"].strengths).index(20)] = 0.6
    results = {"net A": {"clean_accuracy": 0.9, "curves": curves}}
    table = script.markdown_table(results)
    assert table.splitlines()[:3] == ["| transform | net A |", "|---|---|", "| none | 90.0% |"]
    assert "| rotation -20 | 50.0% |" in table
    assert script.write_readme_table(table, readme)
    text = readme.read_text()
    assert text.startswith("intro\n") and text.endswith("outro\n")
    assert "| old |" not in text and "| rotation 20 | 60.0% |" in text
    readme.write_text("no markers")
    assert not script.write_readme_table(table, readme)
