"""The CLI: exit codes, one-line errors and the JSON each command prints."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from lenet_viz.cli import main
from lenet_viz.nets.paper import table_i

REPO = Path(__file__).resolve().parents[1]


def run_cli(*args, env=None):
    """Run `python -m lenet_viz` as a user would; returns (exit code, stdout lines, stderr)."""
    result = subprocess.run(
        [sys.executable, "-m", "lenet_viz", *args],
        capture_output=True,
        text=True,
        cwd=REPO,
        env={**os.environ, **(env or {})},
        timeout=300,
    )
    return result.returncode, result.stdout.splitlines(), result.stderr


def json_lines(lines):
    return [json.loads(line) for line in lines if line.startswith("{")]


def test_info_json_for_the_modern_net(capsys):
    assert main(["info", "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert set(info) == {"arch", "layers", "total_params", "total_connections", "connection_table"}
    assert info["arch"] == "modern"
    assert info["total_params"] == 61_706
    assert [layer["name"] for layer in info["layers"]] == [
        "C1",
        "S2",
        "C3",
        "S4",
        "C5",
        "F6",
        "output",
    ]
    assert info["layers"][0] == {
        "name": "C1",
        "output_shape": [6, 28, 28],
        "params": 156,
        "connections": 122_304,
    }
    assert info["connection_table"] == [[1] * 16 for _ in range(6)]


def test_info_json_for_the_faithful_net_gives_the_papers_numbers(capsys):
    assert main(["info", "--arch", "faithful", "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    params = [layer["params"] for layer in info["layers"]]
    connections = [layer["connections"] for layer in info["layers"]]
    assert params == [156, 12, 1_516, 32, 48_120, 10_164, 0]
    assert connections == [122_304, 5_880, 151_600, 2_000, 48_120, 10_164, 840]
    assert (info["total_params"], info["total_connections"]) == (60_000, 340_908)
    assert info["connection_table"] == [list(row) for row in table_i()]


def test_info_table_text_and_the_c3_switch(capsys):
    assert main(["info", "--c3", "paper"]) == 0
    out = capsys.readouterr().out
    assert "1,516" in out and "60,806" in out
    assert main(["info", "--arch", "faithful", "--c3", "full", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["total_params"] == 60_900


@pytest.mark.parametrize(
    "args, fragment",
    [
        (["train", "--lr", "0"], "learning rate"),
        (["train", "--lr", "nan"], "learning rate"),
        (["train", "--batch-size", "0"], "batch size"),
        (["train", "--epochs", "0"], "epochs"),
        (["train", "--activation", "swish9"], "invalid choice"),
        (["train", "--lr", "fast"], "not a number"),
        (["evaluate", "--checkpoint", "/nonexistent/model.pt"], "model.pt"),
        (["frobnicate"], "invalid choice"),
    ],
)
def test_errors_are_one_line_with_exit_code_2(args, fragment, capsys):
    try:
        code = main(args)
    except SystemExit as exit_:  # argparse refuses bad flags itself
        code = exit_.code
    err = capsys.readouterr().err
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:")
    assert fragment in lines[0]
    assert "Traceback" not in err


def test_missing_data_is_a_clear_error(tmp_path):
    code, out, err = run_cli("train", "--epochs", "1", env={"LENET_VIZ_DATA": str(tmp_path)})
    assert code == 2
    assert err.startswith("error:") and "fetch-data" in err and "Traceback" not in err


@pytest.fixture(scope="module")
def tiny_checkpoint(tmp_path_factory):
    """A model trained on 2,000 digits through the CLI, saved with --save."""
    path = tmp_path_factory.mktemp("ckpt") / "tiny.pt"
    code, out, err = run_cli(
        "train",
        "--optimizer",
        "adam",
        "--lr",
        "0.003",
        "--batch-size",
        "64",
        "--train-limit",
        "2000",
        "--test-limit",
        "1000",
        "--save",
        str(path),
        "--json",
    )
    assert code == 0, err
    return path, json_lines(out)


def test_train_json_prints_epochs_then_a_final_line(tiny_checkpoint):
    path, lines = tiny_checkpoint
    epochs, final = lines[:-1], lines[-1]
    assert [e["epoch"] for e in epochs] == [1]
    assert {"train_loss", "train_acc", "test_loss", "test_acc"} <= set(epochs[0])
    assert set(final) >= {"status", "test_acc", "epochs", "seconds", "images_per_second", "saved"}
    assert final["status"] == "completed" and final["epochs"] == 1
    assert 0.5 < final["test_acc"] <= 1 and final["saved"] == str(path)


def test_train_text_prints_progress_every_100_iterations():
    code, out, err = run_cli(
        "train", "--batch-size", "8", "--train-limit", "1600", "--test-limit", "200"
    )
    assert code == 0, err
    progress = [line for line in out if line.startswith("epoch 1 iteration")]
    assert [line.split()[3] for line in progress] == ["100/200", "200/200"]
    assert any(line.startswith("== epoch 1:") for line in out)


def test_a_diverging_run_exits_1_with_status_diverged():
    code, out, err = run_cli(
        "train", "--lr", "1e6", "--train-limit", "2000", "--test-limit", "200", "--json"
    )
    final = json_lines(out)[-1]
    assert code == 1
    assert final["status"] == "diverged"
    assert "diverged at iteration" in final["message"]


def test_relu_at_lr_10_diverges_and_exits_1():
    code, out, err = run_cli(
        "train", "--activation", "relu", "--lr", "10", "--train-limit", "2000",
        "--test-limit", "200", "--json",
    )  # fmt: skip
    final = json_lines(out)[-1]
    assert code == 1
    assert final["status"] == "diverged"
    assert "diverged at iteration" in final["message"]


def test_evaluate_json(tiny_checkpoint, capsys):
    path, lines = tiny_checkpoint
    assert main(["evaluate", "--checkpoint", str(path), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert set(result) == {"checkpoint", "test_acc", "n", "per_class", "confusion"}
    assert result["n"] == 10_000
    assert sum(map(sum, result["confusion"])) == 10_000
    assert len(result["per_class"]) == 10
    diagonal = sum(result["confusion"][i][i] for i in range(10))
    assert result["test_acc"] == pytest.approx(diagonal / 10_000)


def test_predict_answers_good_images_and_reports_bad_ones(tiny_checkpoint, tmp_path, capsys):
    from lenet_viz.data.datasets import sample_digits

    path, _ = tiny_checkpoint
    samples = sample_digits()
    files = []
    for i in (0, 45, 100):  # MNIST test digits saved as 28x28 PNG, light on dark
        file = tmp_path / f"digit_{i}.png"
        Image.fromarray(samples.images[i].numpy()).save(file)
        files.append(str(file))
    broken = tmp_path / "notes.png"
    broken.write_bytes(b"this is not a picture")
    blank = tmp_path / "blank.png"
    Image.fromarray(np.zeros((280, 280, 4), np.uint8), "RGBA").save(blank)
    code = main(["predict", "--checkpoint", str(path), *files, str(broken), str(blank), "--json"])
    results = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert code == 1
    assert [r["file"] for r in results] == [*files, str(broken), str(blank)]
    for result in results[:3]:
        assert set(result) == {"file", "digit", "probs", "unsure", "runner_up"}
        assert result["runner_up"] != result["digit"]
        assert len(result["probs"]) == 10 and sum(result["probs"]) == pytest.approx(1, abs=1e-4)
    assert "error" in results[3] and "not an image" in results[3]["error"]
    assert "error" in results[4]


def test_models_lists_checkpoints(tiny_checkpoint, capsys):
    path, _ = tiny_checkpoint
    assert main(["models", "--dir", str(path.parent), "--json"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert rows == [
        {
            "path": str(path),
            "arch": "modern",
            "activation": "relu",
            "dataset": "mnist",
            "test_acc": rows[0]["test_acc"],
        }
    ]
    assert 0.5 < rows[0]["test_acc"] <= 1


def test_the_console_script_is_installed():
    script = Path(sys.executable).with_name("lenet-viz")
    result = subprocess.run([script, "info"], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0 and "61,706" in result.stdout


def test_calibrate_stores_a_temperature_that_predict_then_uses(
    tiny_checkpoint, tmp_path, capsys, monkeypatch
):
    from lenet_viz.checkpoints.store import load_checkpoint
    from lenet_viz.data.datasets import sample_digits
    from lenet_viz.explain import calibration

    monkeypatch.setattr(calibration, "HELD_OUT_DRAWINGS", 20)  # a quick fit
    path, _ = tiny_checkpoint
    calibrated_path = tmp_path / "calibrated.pt"
    code = main(["calibrate", "--checkpoint", str(path), "--save", str(calibrated_path), "--json"])
    result = json.loads(capsys.readouterr().out)
    assert code == 0
    # The tiny net trained on the first 2,000 digits: the other 58,000 are held out, + 20 drawn.
    assert result["held_out_from"] == 2000 and result["held_out_digits"] == 58_020
    assert result["temperature"] > 0 and 0 <= result["ece_after"] <= result["ece_before"] + 1e-3
    metadata = load_checkpoint(calibrated_path).metadata
    assert metadata["temperature"] == result["temperature"]
    assert metadata["test_acc"] == load_checkpoint(path).metadata["test_acc"]
    # predict reads with it: the probabilities differ from the uncalibrated checkpoint's.
    image = tmp_path / "digit.png"
    Image.fromarray(sample_digits().images[0].numpy()).save(image)
    main(["predict", "--checkpoint", str(path), str(image), "--json"])
    main(["predict", "--checkpoint", str(calibrated_path), str(image), "--json"])
    plain, scaled = (json.loads(line) for line in capsys.readouterr().out.splitlines())
    assert plain["digit"] == scaled["digit"] and plain["probs"] != scaled["probs"]


def test_calibrate_refuses_a_net_trained_on_every_digit(tmp_path):
    from lenet_viz.checkpoints.store import checkpoint_metadata, save_checkpoint
    from lenet_viz.nets.build import build_model
    from lenet_viz.nets.config import ModelConfig

    model = build_model(ModelConfig(arch="modern"), seed=0)
    path = save_checkpoint(
        model,
        tmp_path / "all.pt",
        checkpoint_metadata(model, dataset="mnist", train_config=None, test_acc=None),
    )
    code, _, err = run_cli("calibrate", "--checkpoint", str(path))
    assert code == 2 and "--train-limit" in err
