"""On the real data: the notebook's experiment, and the shipped checkpoint reading real digits."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw

from lenet_viz.checkpoints.store import default_checkpoint_path, load_checkpoint
from lenet_viz.training.pattern_steps import SDLM_CHECKPOINT_NAME as SDLM_CHECKPOINT

REPO = Path(__file__).resolve().parents[1]


def cli_json(*args):
    result = subprocess.run(
        [sys.executable, "-m", "lenet_viz", *args, "--json"],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=600,
        env=dict(os.environ),
    )
    lines = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    return result.returncode, lines, result.stderr


@pytest.mark.slow
@pytest.mark.parametrize("activation", ["sigmoid", "relu"])
def test_the_seed_preset_shows_sigmoid_stuck_and_relu_learning(activation):
    code, lines, err = cli_json("train", "--preset", "seed", "--activation", activation)
    assert code == 0, err
    final = lines[-1]
    assert final["status"] == "completed" and final["epochs"] == 1
    if activation == "sigmoid":
        assert final["test_acc"] <= 0.20  # the notebook got 10.6%
    else:
        assert final["test_acc"] >= 0.95  # one epoch of ReLU; the notebook got 88.3% (train)


def test_the_shipped_checkpoint_passes_99_percent():
    code, lines, err = cli_json("evaluate")
    assert code == 0, err
    assert lines[0]["checkpoint"] == str(default_checkpoint_path("modern"))
    assert lines[0]["n"] == 10_000 and lines[0]["test_acc"] >= 0.99


def test_the_shipped_faithful_checkpoint_beats_the_papers_error():
    code, lines, err = cli_json("models")
    assert code == 0, err
    faithful = [line for line in lines if line["arch"] == "faithful"]
    path = str(default_checkpoint_path("faithful"))
    assert path in [line["path"] for line in faithful]
    code, lines, err = cli_json("evaluate", "--checkpoint", path)
    assert code == 0, err
    assert lines[0]["n"] == 10_000
    assert lines[0]["test_acc"] >= 0.9905  # the paper: 0.95% test error


def test_the_shipped_sdlm_checkpoint_was_trained_the_papers_way_and_reaches_99_percent():
    """`--preset paper`: SDLM, one pattern per step, no distortions (checkpoints/README.md)."""
    code, lines, err = cli_json("models")
    assert code == 0, err
    path = str(REPO / "checkpoints" / SDLM_CHECKPOINT)
    listed = [line for line in lines if line["path"] == path]
    assert len(listed) == 1 and listed[0]["arch"] == "faithful"
    loaded = load_checkpoint(path)  # weights-only
    config = loaded.metadata["train_config"]
    assert (config["optimizer"], config["batch_size"], config["augment"]) == ("sdlm", 1, "none")
    passes = loaded.metadata["passes"]
    assert [p["epoch"] for p in passes] == list(range(1, len(passes) + 1))
    assert all(set(p["step_sizes"]) == {"C1", "S2", "C3", "S4", "C5", "F6"} for p in passes)
    code, lines, err = cli_json("evaluate", "--checkpoint", path)
    assert code == 0, err
    assert lines[0]["n"] == 10_000
    assert lines[0]["test_acc"] >= 0.990  # 0.95% error, as the paper
    assert lines[0]["test_acc"] == pytest.approx(passes[-1]["test_acc"], abs=1e-6)


@pytest.mark.slow
def test_the_faithful_fast_preset_passes_95_percent_after_one_epoch():
    code, lines, err = cli_json("train", "--preset", "faithful-fast", "--epochs", "1")
    assert code == 0, err
    final = lines[-1]
    assert final["status"] == "completed" and final["epochs"] == 1
    assert final["test_acc"] >= 0.95


def thick_digit_canvas(strokes, offset):
    """A transparent 280x280 canvas, ink in the alpha channel, as the Draw page's pad gives."""
    canvas = Image.new("RGBA", (280, 280), (0, 0, 0, 0))
    draw = ImageDraw.Draw(canvas)
    dx, dy = offset
    for stroke in strokes:
        points = [(x + dx, y + dy) for x, y in stroke]
        draw.line(points, fill=(255, 255, 255, 255), width=20, joint="curve")
    return canvas


# Small thick-stroke digits, drawn away from the centre as people do.
DRAWN = {
    1: ([[(60, 20), (60, 130)]], (150, 120)),
    7: ([[(10, 10), (90, 10), (40, 120)]], (10, 130)),
    0: ([[(40, 10), (10, 40), (10, 100), (40, 130), (70, 100), (70, 40), (40, 10)]], (170, 10)),
    4: ([[(50, 10), (10, 80), (80, 80)], [(60, 40), (60, 130)]], (20, 20)),
}


def test_predict_reads_mnist_pngs_and_off_centre_drawings(tmp_path):
    from lenet_viz.data.datasets import sample_digits

    samples = sample_digits()
    files, expected = [], []
    for index in range(0, 200, 7):
        file = tmp_path / f"mnist_{index}.png"
        Image.fromarray(samples.images[index].numpy()).save(file)
        files.append(file)
        expected.append(int(samples.labels[index]))
    for digit, (strokes, offset) in DRAWN.items():
        file = tmp_path / f"drawn_{digit}.png"
        thick_digit_canvas(strokes, offset).save(file)
        files.append(file)
        expected.append(digit)
    # A dark-on-light photo-like image as well.
    inverted = 255 - np.asarray(Image.open(files[0]).resize((140, 140)))
    Image.fromarray(inverted).save(tmp_path / "dark_on_light.png")
    files.append(tmp_path / "dark_on_light.png")
    expected.append(expected[0])

    code, lines, err = cli_json("predict", *map(str, files))
    assert code == 0, err
    predicted = [line["digit"] for line in lines]
    assert predicted == expected
