"""Checkpoints: round trips, metadata, atomic and refused saves, and every file load refuses."""

from __future__ import annotations

import io
import os
import pickle
import re
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path

import pytest
import torch

import lenet_viz
from lenet_viz.checkpoints import store as checkpoints
from lenet_viz.checkpoints.format import FORMAT
from lenet_viz.checkpoints.store import (
    CheckpointError,
    checkpoint_bytes,
    checkpoint_metadata,
    default_checkpoint_path,
    list_checkpoints,
    load_checkpoint,
    load_checkpoint_bytes,
    sanitize_checkpoint_name,
    save_checkpoint,
)
from lenet_viz.nets.build import build_model
from lenet_viz.nets.config import ModelConfig
from lenet_viz.nets.model import MaskedConv2d

REPO = Path(__file__).resolve().parent.parent


def small_model(**config):
    return build_model(ModelConfig(**config), seed=0)


def sample_inputs() -> torch.Tensor:
    return torch.randn(4, 1, 32, 32, generator=torch.Generator().manual_seed(1))


def outputs(model) -> torch.Tensor:
    model.eval()
    with torch.no_grad():
        return model(sample_inputs())


def saved(tmp_path, name="net.pt", **config) -> Path:
    return save_checkpoint(small_model(**config), tmp_path / name)


def rewrite_payload(path: Path, change) -> None:
    """Load a saved checkpoint's dict, let `change` edit it, write it back (a tampered file)."""
    payload = torch.load(path, map_location="cpu", weights_only=True)
    change(payload)
    torch.save(payload, path)


class Payload:
    """Unpickling this runs a shell command: what a malicious checkpoint would carry."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


# ---------------------------------------------------------------- round trips


@pytest.mark.parametrize(
    "config",
    [
        {"arch": "modern", "activation": "relu"},
        {"arch": "modern", "activation": "tanh", "pooling": "avg", "resize": "scale"},
    ],
)
def test_round_trip_gives_identical_outputs(tmp_path, config):
    model = small_model(**config)
    path = save_checkpoint(model, tmp_path / "net.pt")
    loaded = load_checkpoint(path)
    assert loaded.path == path
    assert not loaded.model.training
    assert loaded.config.to_dict() == model.config.to_dict()
    assert torch.equal(outputs(loaded.model), outputs(model))


def test_round_trip_keeps_paper_c3_masked_weights_zero(tmp_path):
    model = small_model(arch="modern", c3="paper")
    loaded = load_checkpoint(save_checkpoint(model, tmp_path / "paper_c3.pt"))
    conv = loaded.model.c3_conv()
    assert isinstance(conv, MaskedConv2d)
    assert conv.table() == model.connection_table()
    assert torch.all(conv.weight[conv.mask.expand_as(conv.weight) == 0] == 0)
    assert torch.equal(outputs(loaded.model), outputs(model))


def test_round_trip_faithful(tmp_path):
    pytest.importorskip("lenet_viz.nets.faithful")
    model = small_model(arch="faithful")
    loaded = load_checkpoint(save_checkpoint(model, tmp_path / "faithful.pt"))
    assert loaded.config.arch == "faithful"
    assert torch.equal(outputs(loaded.model), outputs(model))
    for key, value in model.state_dict().items():  # buffers (mask, RBF codes) included
        assert torch.equal(loaded.model.state_dict()[key], value), key


def test_masked_weights_made_nonzero_in_file_are_zero_after_loading(tmp_path):
    path = saved(tmp_path, c3="paper")
    key = "layers.C3.0.weight"
    rewrite_payload(path, lambda p: p["state_dict"][key].fill_(0.5))
    conv = load_checkpoint(path).model.c3_conv()
    assert torch.all(conv.weight[conv.mask.expand_as(conv.weight) == 0] == 0)
    assert torch.all(conv.weight[conv.mask.expand_as(conv.weight) == 1] == 0.5)


def test_bytes_round_trip_for_download_and_upload():
    model = small_model()
    data = checkpoint_bytes(
        model, checkpoint_metadata(model, dataset="mnist", train_config=None, test_acc=0.5)
    )
    loaded = load_checkpoint_bytes(data, "upload.pt")
    assert loaded.path is None
    assert loaded.metadata["test_acc"] == 0.5
    assert torch.equal(outputs(loaded.model), outputs(model))


def test_checkpoint_loads_with_plain_weights_only_torch_load(tmp_path):
    payload = torch.load(saved(tmp_path), map_location="cpu", weights_only=True)
    assert payload["format"] == FORMAT
    assert set(payload) == {"format", "metadata", "state_dict"}
    assert all(isinstance(v, torch.Tensor) for v in payload["state_dict"].values())


# ---------------------------------------------------------------- metadata


def test_metadata_fields(tmp_path):
    model = small_model(arch="modern", activation="gelu", resize="scale")
    train_config = {"optimizer": "adam", "lr": 0.004, "epochs": 2, "betas": (0.9, 0.999)}
    metadata = checkpoint_metadata(
        model,
        dataset="fashion_mnist",
        train_config=train_config,
        test_acc=0.91,
        extra={"status": "done"},
    )
    loaded = load_checkpoint(save_checkpoint(model, tmp_path / "m.pt", metadata))
    meta = loaded.metadata
    assert meta["format"] == FORMAT
    assert (meta["arch"], meta["activation"], meta["dataset"]) == (
        "modern",
        "gelu",
        "fashion_mnist",
    )
    assert meta["preprocessing"] == {"resize": "scale", "input_scaling": "mnist"}
    assert meta["model"] == model.config.to_dict()
    assert meta["train_config"] == {**train_config, "betas": [0.9, 0.999]}
    assert meta["test_acc"] == 0.91
    assert meta["status"] == "done"
    assert meta["lenet_viz_version"] == lenet_viz.__version__
    created = datetime.fromisoformat(meta["created"])
    assert created.utcoffset() == timedelta(0)


def test_metadata_defaults_when_none_given(tmp_path):
    meta = load_checkpoint(saved(tmp_path)).metadata
    assert meta["arch"] == "modern" and meta["dataset"] is None and meta["test_acc"] is None


def test_metadata_refuses_values_that_are_not_plain_data(tmp_path):
    model = small_model()
    with pytest.raises(CheckpointError, match=r"train_config\.lr.*Tensor"):
        checkpoint_metadata(
            model, dataset="mnist", train_config={"lr": torch.tensor(0.1)}, test_acc=None
        )
    with pytest.raises(CheckpointError, match="notes"):
        save_checkpoint(model, tmp_path / "x.pt", {"notes": object()})
    assert not (tmp_path / "x.pt").exists()


def test_metadata_refuses_percent_accuracy_and_clashing_extra():
    model = small_model()
    with pytest.raises(ValueError, match="fraction"):
        checkpoint_metadata(model, dataset="mnist", train_config=None, test_acc=98.5)
    with pytest.raises(ValueError, match="arch"):
        checkpoint_metadata(
            model, dataset="mnist", train_config=None, test_acc=None, extra={"arch": "other"}
        )


def test_save_refuses_metadata_describing_another_model(tmp_path):
    faithful_like = {"arch": "faithful"}
    with pytest.raises(CheckpointError, match="arch='faithful'"):
        save_checkpoint(small_model(), tmp_path / "x.pt", faithful_like)


# ---------------------------------------------------------------- saving


def test_save_refuses_to_overwrite_unless_confirmed(tmp_path):
    path = saved(tmp_path)
    before = path.read_bytes()
    with pytest.raises(CheckpointError, match="already exists.*another name.*overwrit"):
        save_checkpoint(small_model(activation="tanh"), path)
    assert path.read_bytes() == before
    save_checkpoint(small_model(activation="tanh"), path, overwrite=True)
    assert load_checkpoint(path).config.activation == "tanh"
    assert [p.name for p in tmp_path.iterdir()] == ["net.pt"]  # no temp file left behind


def test_save_creates_missing_directories(tmp_path):
    path = saved(tmp_path, name="a/b/net.pt")
    assert load_checkpoint(path).path == path


KILL_DURING_SAVE = """
import os, signal, sys
from lenet_viz.checkpoints import store as checkpoints
from lenet_viz.nets.config import ModelConfig
from lenet_viz.nets.build import build_model

def write_half_then_die(handle, data):
    handle.write(data[: len(data) // 2])
    handle.flush()
    os.fsync(handle.fileno())
    os.kill(os.getpid(), signal.SIGKILL)

checkpoints._write_and_sync = write_half_then_die
model = build_model(ModelConfig(activation="tanh"), seed=1)
checkpoints.save_checkpoint(model, sys.argv[1], overwrite=True)
"""


def test_process_killed_during_save_leaves_old_file_whole(tmp_path):
    path = saved(tmp_path)
    before = path.read_bytes()
    child = subprocess.run(
        [sys.executable, "-c", KILL_DURING_SAVE, str(path)], cwd=REPO, capture_output=True
    )
    assert child.returncode == -9, child.stderr.decode()
    assert path.read_bytes() == before
    assert load_checkpoint(path).config.activation == "relu"
    leftovers = [p.name for p in tmp_path.iterdir() if p.name != "net.pt"]
    assert len(leftovers) == 1 and leftovers[0].startswith(".net.pt.")  # the half-written temp
    assert [entry["name"] for entry in list_checkpoints(tmp_path, include_failed=True)] == [
        "net.pt"
    ]


def test_save_under_a_regular_file_gives_checkpoint_error(tmp_path):
    blocker = tmp_path / "not_a_dir"
    blocker.write_text("a file where a directory should be")
    with pytest.raises(CheckpointError, match=r"cannot save checkpoint .*not_a_dir.*folder"):
        save_checkpoint(small_model(), blocker / "sub" / "net.pt")
    with pytest.raises(CheckpointError, match="cannot save checkpoint"):
        save_checkpoint(small_model(), blocker / "net.pt")


def test_save_into_unwritable_directory_gives_checkpoint_error(tmp_path, monkeypatch):
    # We run as root, so chmod does not stop writes: make creating the temp file fail instead.
    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(checkpoints.tempfile, "mkstemp", refuse)
    with pytest.raises(CheckpointError, match="Permission denied; choose a folder") as error:
        save_checkpoint(small_model(), tmp_path / "net.pt")
    assert not isinstance(error.value.__cause__, CheckpointError)
    assert list(tmp_path.iterdir()) == []


def test_failed_rename_removes_temp_file(tmp_path, monkeypatch):
    def refuse(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(checkpoints.os, "replace", refuse)
    with pytest.raises(CheckpointError, match="No space left"):
        save_checkpoint(small_model(), tmp_path / "net.pt", overwrite=True)
    assert list(tmp_path.iterdir()) == []


def test_save_to_a_directory_path_is_refused(tmp_path):
    with pytest.raises(CheckpointError, match="is a directory"):
        save_checkpoint(small_model(), tmp_path)


# ---------------------------------------------------------------- refused loads


def test_missing_file(tmp_path):
    with pytest.raises(CheckpointError, match=r"no checkpoint at .*nothing\.pt"):
        load_checkpoint(tmp_path / "nothing.pt")


@pytest.mark.parametrize("wrap_in_zip", [False, True], ids=["raw_pickle", "torch_zip"])
def test_pickle_with_a_payload_is_refused_and_never_runs(tmp_path, wrap_in_zip):
    marker = tmp_path / "payload_ran"
    path = tmp_path / "evil.pt"
    content = {"format": FORMAT, "metadata": Payload(marker), "state_dict": {}}
    if wrap_in_zip:
        torch.save(content, path)
    else:
        path.write_bytes(pickle.dumps(content))
    with pytest.raises(CheckpointError, match=r"evil\.pt") as error:
        load_checkpoint(path)
    assert not marker.exists()
    if wrap_in_zip:
        assert "could run code" in str(error.value) and "posix.system" in str(error.value)
        # The control: an unsafe load of the same file does run the payload.
        torch.load(path, weights_only=False)
        assert marker.exists()


def test_truncated_file(tmp_path):
    path = saved(tmp_path)
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(CheckpointError, match=r"net\.pt.*truncated or corrupt.*again"):
        load_checkpoint(path)


def test_random_bytes(tmp_path):
    path = tmp_path / "noise.pt"
    path.write_bytes(torch.randint(0, 256, (5000,), dtype=torch.uint8).numpy().tobytes())
    with pytest.raises(CheckpointError, match=r"noise\.pt.*not a PyTorch checkpoint"):
        load_checkpoint(path)


def test_random_bytes_behind_a_zip_header(tmp_path):
    path = tmp_path / "fake.pt"
    path.write_bytes(b"PK\x03\x04" + bytes(range(256)) * 8)
    with pytest.raises(CheckpointError, match=r"fake\.pt.*truncated or corrupt"):
        load_checkpoint(path)


def test_zero_bytes(tmp_path):
    path = tmp_path / "empty.pt"
    path.write_bytes(b"")
    with pytest.raises(CheckpointError, match=r"empty\.pt.*empty"):
        load_checkpoint(path)
    with pytest.raises(CheckpointError, match="upload.pt.*empty"):
        load_checkpoint_bytes(b"", "upload.pt")


def test_over_size_limit_refused_before_reading(tmp_path, monkeypatch):
    path = saved(tmp_path)

    def must_not_be_called(*args, **kwargs):
        raise AssertionError("the file was read although it is over the limit")

    monkeypatch.setattr(torch, "load", must_not_be_called)
    monkeypatch.setattr(checkpoints, "_read_file", must_not_be_called)
    with pytest.raises(CheckpointError, match=r"net\.pt.*over the .*limit"):
        load_checkpoint(path, max_bytes=1000)
    with pytest.raises(CheckpointError, match=r"big\.pt.*over the .*limit"):
        load_checkpoint_bytes(b"PK\x03\x04" + b"0" * 2000, "big.pt", max_bytes=1000)


def test_not_our_format(tmp_path):
    path = tmp_path / "bare.pt"
    torch.save(small_model().state_dict(), path)
    with pytest.raises(CheckpointError, match=r"bare\.pt.*not a lenet_viz checkpoint.*bare"):
        load_checkpoint(path)
    torch.save({"format": "someone-else/3", "metadata": {}, "state_dict": {}}, path)
    with pytest.raises(CheckpointError, match="unknown format 'someone-else/3'"):
        load_checkpoint(path)
    torch.save([1, 2, 3], path)
    with pytest.raises(CheckpointError, match="not a lenet_viz checkpoint"):
        load_checkpoint(path)


def test_newer_format_version_says_to_update(tmp_path):
    path = saved(tmp_path)
    rewrite_payload(path, lambda p: p.update(format="lenet_viz-checkpoint/2"))
    with pytest.raises(CheckpointError, match="update lenet_viz"):
        load_checkpoint(path)


def test_another_architecture_in_metadata(tmp_path):
    path = saved(tmp_path)

    def make_alexnet(payload):
        payload["metadata"]["arch"] = "alexnet"
        payload["metadata"]["model"]["arch"] = "alexnet"

    rewrite_payload(path, make_alexnet)
    with pytest.raises(CheckpointError, match=r"net\.pt.*unknown architecture 'alexnet'"):
        load_checkpoint(path)


def test_metadata_arch_disagreeing_with_model_description(tmp_path):
    path = saved(tmp_path)
    rewrite_payload(path, lambda p: p["metadata"].update(arch="resnet"))
    with pytest.raises(CheckpointError, match="unknown architecture 'resnet'"):
        load_checkpoint(path)


def test_missing_model_description(tmp_path):
    path = saved(tmp_path)
    rewrite_payload(path, lambda p: p["metadata"].pop("model"))
    with pytest.raises(CheckpointError, match="metadata .*missing or damaged"):
        load_checkpoint(path)


def test_missing_and_unexpected_keys(tmp_path):
    path = saved(tmp_path)

    def damage(payload):
        del payload["state_dict"]["layers.F6.0.weight"]
        payload["state_dict"]["layers.extra.weight"] = torch.zeros(3)

    rewrite_payload(path, damage)
    with pytest.raises(CheckpointError) as error:
        load_checkpoint(path)
    message = str(error.value)
    assert "net.pt" in message
    assert "missing keys: layers.F6.0.weight" in message
    assert "unexpected keys: layers.extra.weight" in message


def test_wrong_shapes(tmp_path):
    path = saved(tmp_path)
    rewrite_payload(
        path, lambda p: p["state_dict"].update({"layers.F6.0.weight": torch.zeros(84, 100)})
    )
    with pytest.raises(
        CheckpointError, match=r"wrong shapes: layers\.F6\.0\.weight 84x100 \(expected 84x120\)"
    ):
        load_checkpoint(path)


def test_changed_connection_mask_is_refused(tmp_path):
    path = saved(tmp_path, c3="paper")
    rewrite_payload(path, lambda p: p["state_dict"]["layers.C3.0.mask"].fill_(1.0))
    with pytest.raises(CheckpointError, match=r"masks differ.*layers\.C3\.0\.mask"):
        load_checkpoint(path)


def test_many_missing_keys_are_listed_briefly(tmp_path):
    path = saved(tmp_path)
    rewrite_payload(path, lambda p: p.update(state_dict={}))
    with pytest.raises(CheckpointError, match=r"missing keys: .* \(\+\d+ more\)"):
        load_checkpoint(path)


# ---------------------------------------------------------------- names


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("my model", "my_model.pt"),
        ("relu-run_2.pt", "relu-run_2.pt"),
        ("../x", "x.pt"),
        ("../../etc/passwd", "etc_passwd.pt"),
        ("/etc/passwd", "etc_passwd.pt"),
        ("a\\b", "a_b.pt"),
        ("..\\..\\windows", "windows.pt"),
        (".hidden", "hidden.pt"),
        ("-rf", "rf.pt"),
        ("café ñandú", "cafe_nandu.pt"),
        ("net\x00.pt", "net.pt"),
        ("a..b", "a.b.pt"),
    ],
)
def test_sanitize_checkpoint_name(name, expected):
    assert sanitize_checkpoint_name(name) == expected


@pytest.mark.parametrize("name", ["", "   ", "...", "../", "/", "模型", ".pt", "..\\.."])
def test_sanitize_refuses_names_with_nothing_usable(name):
    with pytest.raises(CheckpointError, match="no usable characters"):
        sanitize_checkpoint_name(name)


def test_sanitized_names_are_safe_and_short():
    nasty = ["../" * 50 + "x" * 500, "a/b/c", "C:\\Users\\x", "\u202eevil", "x" * 200 + ".pt"]
    for name in nasty:
        safe = sanitize_checkpoint_name(name)
        assert re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]*\.pt", safe), safe
        assert len(safe) <= checkpoints.MAX_NAME_LENGTH + 3
        assert Path(safe).name == safe and ".." not in safe


# ---------------------------------------------------------------- listing and defaults


def test_list_checkpoints_skips_corrupt_files(tmp_path):
    model = small_model(activation="tanh")
    metadata = checkpoint_metadata(model, dataset="mnist", train_config=None, test_acc=0.97)
    save_checkpoint(model, tmp_path / "b_tanh.pt", metadata)
    saved(tmp_path, name="a_relu.pt")
    (tmp_path / "broken.pt").write_bytes(b"not a checkpoint")
    (tmp_path / "notes.txt").write_text("ignored")
    (tmp_path / ".hidden.pt").write_bytes(b"ignored")

    entries = list_checkpoints(tmp_path)
    assert [e["name"] for e in entries] == ["a_relu.pt", "b_tanh.pt"]
    tanh = entries[1]
    assert tanh["path"] == str(tmp_path / "b_tanh.pt")
    assert (tanh["arch"], tanh["activation"], tanh["dataset"]) == ("modern", "tanh", "mnist")
    assert tanh["test_acc"] == 0.97 and tanh["created"] and tanh["error"] is None

    with_failed = list_checkpoints(tmp_path, include_failed=True)
    assert [e["name"] for e in with_failed] == ["a_relu.pt", "b_tanh.pt", "broken.pt"]
    assert "broken.pt" in with_failed[2]["error"] and with_failed[2]["arch"] is None


def test_list_checkpoints_of_missing_directory_is_empty(tmp_path):
    assert list_checkpoints(tmp_path / "nowhere") == []


def test_list_checkpoints_defaults_to_checkpoint_dir(tmp_path, monkeypatch):
    saved(tmp_path)
    monkeypatch.setattr(checkpoints, "CHECKPOINT_DIR", tmp_path)
    assert [e["name"] for e in list_checkpoints()] == ["net.pt"]


def test_default_checkpoint_path(tmp_path):
    with pytest.raises(CheckpointError, match=r"lenet5_modern_relu\.pt is missing; train it with"):
        default_checkpoint_path("modern", directory=tmp_path)
    with pytest.raises(CheckpointError, match="lenet5_faithful.pt is missing; train it with"):
        default_checkpoint_path("faithful", directory=tmp_path)
    with pytest.raises(CheckpointError, match="choose one of"):
        default_checkpoint_path("alexnet")
    path = saved(tmp_path, name="lenet5_modern_relu.pt")
    assert default_checkpoint_path(directory=tmp_path) == path


def test_checkpoint_dir_follows_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("LENET_VIZ_CHECKPOINTS", str(tmp_path))
    assert checkpoints.configured_checkpoint_dir() == tmp_path
    monkeypatch.delenv("LENET_VIZ_CHECKPOINTS")
    assert checkpoints.configured_checkpoint_dir() == REPO / "checkpoints"


def test_bytes_and_file_share_one_format(tmp_path):
    model = small_model()
    metadata = checkpoint_metadata(model, dataset="mnist", train_config=None, test_acc=None)
    data = checkpoint_bytes(model, metadata)
    path = save_checkpoint(model, tmp_path / "net.pt", metadata)
    from_file = torch.load(path, weights_only=True)
    from_bytes = torch.load(io.BytesIO(data), weights_only=True)
    assert from_file["metadata"] == from_bytes["metadata"]
    assert from_file["state_dict"].keys() == from_bytes["state_dict"].keys()
