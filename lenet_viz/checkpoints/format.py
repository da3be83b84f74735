"""What a checkpoint file holds, written (`checkpoint_bytes`) and read without trusting it
(`decode`). Saving, loading and listing the files is `lenet_viz.checkpoints.store`.

A checkpoint is `torch.save` of a plain dict:

    {"format": "lenet_viz-checkpoint/1",
     "metadata": {...},            # str/int/float/bool/None, lists and dicts of them only
     "state_dict": {name: tensor}, # the model's state dict, buffers (C3 masks) included
     "replay": {...}}              # optional: weight snapshots of the training run
                                   # (lenet_viz.training.replay.replay_payload; tensors and numbers)

Reading: non-zip data is refused before it is unpickled; the pickle is read by PyTorch's
weights-only unpickler (tensors and plain values, never code); the payload's format, metadata
and state dict are checked against the net the metadata describes before any weight is loaded.
"""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime

import torch
from torch import nn

import lenet_viz
from lenet_viz.nets.build import build_model
from lenet_viz.nets.config import ARCHS, ModelConfig
from lenet_viz.nets.model import LeNetBase, MaskedConv2d

FORMAT = "lenet_viz-checkpoint/1"
FORMAT_FAMILY = "lenet_viz-checkpoint/"
ZIP_MAGIC = b"PK\x03\x04"  # torch.save writes a zip archive; anything else is not ours


# Metadata keys that describe the model itself: always taken from the model being saved.
MODEL_DERIVED_KEYS = ("format", "arch", "activation", "preprocessing", "model")


class CheckpointError(ValueError):
    """A checkpoint could not be saved or loaded; the message names the file and what to do."""


# ---------------------------------------------------------------- metadata


def checkpoint_metadata(
    model: LeNetBase,
    *,
    dataset: str | None,
    train_config: dict | None,
    test_acc: float | None,
    extra: dict | None = None,
) -> dict:
    """The metadata stored with `model`: what it is, how to feed it, how it was trained.

    dataset: e.g. "mnist" or "fashion_mnist". train_config: the caller's training settings
    (epochs, optimizer, ...), stored as given. test_acc: a fraction in [0, 1].
    extra: more keys to store; they may not replace the keys built here.
    """
    if test_acc is not None:
        test_acc = float(test_acc)
        if not 0.0 <= test_acc <= 1.0:
            raise ValueError(f"test_acc is a fraction in [0, 1], got {test_acc}")
    metadata = {
        **_model_derived_metadata(model),
        "dataset": dataset,
        "train_config": _plain_value(dict(train_config), "train_config") if train_config else None,
        "test_acc": test_acc,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "lenet_viz_version": lenet_viz.__version__,
    }
    for key, value in (extra or {}).items():
        if key in metadata:
            raise ValueError(f"extra metadata key {key!r} would replace a built-in key; rename it")
        metadata[key] = _plain_value(value, key)
    return metadata


def _model_derived_metadata(model: LeNetBase) -> dict:
    config = model.config
    return {
        "format": FORMAT,
        "arch": config.arch,
        "activation": config.activation,
        "preprocessing": {"resize": config.resize, "input_scaling": config.input_scaling},
        "model": config.to_dict(),
    }


def _plain_value(value: object, where: str) -> object:
    """`value` as plain JSON-able data (tuples become lists), or CheckpointError naming `where`.

    Numbers are converted to exact built-in types (numpy's float64 is a float subclass that the
    weights-only unpickler would refuse to load).
    """
    if value is None:
        return None
    if isinstance(value, str):
        return str(value)
    if isinstance(value, bool):
        return bool(value)
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    if isinstance(value, list | tuple):
        return [_plain_value(item, f"{where}[{i}]") for i, item in enumerate(value)]
    if isinstance(value, dict):
        plain = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise CheckpointError(
                    f"checkpoint metadata {where} has a non-string key {key!r}; use string keys"
                )
            plain[str(key)] = _plain_value(item, f"{where}.{key}")
        return plain
    raise CheckpointError(
        f"checkpoint metadata {where} is a {type(value).__name__}; store only str, int, float, "
        "bool, None, lists and dicts (convert it, e.g. with float() or str())"
    )


def _merged_metadata(model: LeNetBase, metadata: dict | None) -> dict:
    """The caller's metadata completed with defaults; model-derived keys must agree with model."""
    defaults = checkpoint_metadata(model, dataset=None, train_config=None, test_acc=None)
    given = _plain_value(dict(metadata or {}), "metadata")
    for key in MODEL_DERIVED_KEYS:
        if key in given and given[key] != defaults[key]:
            raise CheckpointError(
                f"checkpoint metadata says {key}={given[key]!r} but the model has "
                f"{defaults[key]!r}; build the metadata with checkpoint_metadata(model, ...)"
            )
    return {**defaults, **given}


# ---------------------------------------------------------------- saving


def checkpoint_bytes(
    model: LeNetBase, metadata: dict | None = None, replay: dict | None = None
) -> bytes:
    """The checkpoint file's content for `model` (what `save_checkpoint` writes).

    replay: optional weight snapshots of the training run
    (`lenet_viz.training.replay.replay_payload`).
    """
    payload = {
        "format": FORMAT,
        "metadata": _merged_metadata(model, metadata),
        "state_dict": _plain_state_dict(model),
    }
    if replay is not None:
        payload["replay"] = replay
    buffer = io.BytesIO()
    torch.save(payload, buffer)
    return buffer.getvalue()


def _plain_state_dict(model: nn.Module) -> dict[str, torch.Tensor]:
    """The state dict (parameters and buffers, e.g. the C3 mask) as CPU tensors in a plain dict."""
    state = {}
    for key, value in model.state_dict().items():
        if not isinstance(value, torch.Tensor):
            raise CheckpointError(
                f"model state {key!r} is a {type(value).__name__}, not a tensor; "
                "a checkpoint holds tensors only"
            )
        state[key] = value.detach().cpu().clone()
    return state


# ---------------------------------------------------------------- reading


def decode(data: bytes, name: str) -> tuple[LeNetBase, dict]:
    """The model (eval mode) and metadata a checkpoint's bytes hold; CheckpointError if bad."""
    model, metadata, _ = decode_with_replay(data, name)
    return model, metadata


def decode_with_replay(data: bytes, name: str) -> tuple[LeNetBase, dict, dict | None]:
    """`decode`, plus the training snapshots the file carries (None without them; they are
    checked when replayed, by `lenet_viz.training.replay.snapshots_from_payload`)."""
    payload = _safe_torch_load(data, name)
    metadata, state = _checked_payload(payload, name)
    model = _build_from_metadata(metadata, name)
    _check_state_matches(model, state, name)
    model.load_state_dict(state, strict=True)
    _rezero_masked_weights(model)
    model.eval()
    replay = payload.get("replay")
    return model, metadata, replay if isinstance(replay, dict) else None


def _safe_torch_load(data: bytes, name: str) -> object:
    """Unpickle with PyTorch's weights-only unpickler: tensors and plain values, never code."""
    if not data.startswith(ZIP_MAGIC):
        raise CheckpointError(
            f"cannot load checkpoint {name}: it is not a PyTorch checkpoint file "
            "(not a zip archive) or it is corrupt; pick a .pt file saved by lenet_viz"
        )
    try:
        return torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
    except Exception as error:  # every failure becomes one clear message
        text = str(error)
        if "Weights only load failed" in text:
            found = re.search(r"GLOBAL ([\w.]+)", text)
            detail = f" ({found.group(1)})" if found else ""
            raise CheckpointError(
                f"refused to load checkpoint {name}: it holds Python objects{detail} besides "
                "tensors and plain values, which could run code when loaded; lenet_viz "
                "checkpoints never do. Only load checkpoints saved by lenet_viz"
            ) from error
        raise CheckpointError(
            f"cannot load checkpoint {name}: the file is truncated or corrupt "
            f"({type(error).__name__}); save or download it again"
        ) from error


def _checked_payload(payload: object, name: str) -> tuple[dict, dict]:
    """The metadata and state dict from an unpickled file, checked to be our format."""
    if not isinstance(payload, dict) or "format" not in payload:
        hint = ""
        if (
            isinstance(payload, dict)
            and payload
            and all(isinstance(v, torch.Tensor) for v in payload.values())
        ):
            hint = " (it looks like a bare state_dict without metadata)"
        raise CheckpointError(
            f"cannot load checkpoint {name}: it is not a lenet_viz checkpoint{hint}; "
            "save models with lenet_viz.checkpoints.store.save_checkpoint"
        )
    file_format = payload["format"]
    if file_format != FORMAT:
        if isinstance(file_format, str) and file_format.startswith(FORMAT_FAMILY):
            raise CheckpointError(
                f"cannot load checkpoint {name}: its format {file_format!r} is not the "
                f"{FORMAT!r} this version of lenet_viz reads; update lenet_viz or re-save it"
            )
        raise CheckpointError(
            f"cannot load checkpoint {name}: unknown format {file_format!r}; "
            "pick a checkpoint saved by lenet_viz"
        )
    metadata, state = payload.get("metadata"), payload.get("state_dict")
    if not isinstance(metadata, dict) or not isinstance(metadata.get("model"), dict):
        raise CheckpointError(
            f"cannot load checkpoint {name}: its metadata (the model description) is missing "
            "or damaged; save the model again"
        )
    if not isinstance(state, dict) or not all(
        isinstance(key, str) and isinstance(value, torch.Tensor) for key, value in state.items()
    ):
        raise CheckpointError(
            f"cannot load checkpoint {name}: its weights are missing or damaged; "
            "save the model again"
        )
    return metadata, state


def _build_from_metadata(metadata: dict, name: str) -> LeNetBase:
    model_fields = metadata["model"]
    arch = model_fields.get("arch")
    if arch not in ARCHS or metadata.get("arch", arch) != arch:
        shown = arch if arch not in ARCHS else metadata.get("arch")
        raise CheckpointError(
            f"cannot load checkpoint {name}: unknown architecture {shown!r}; this version of "
            f"lenet_viz builds {' and '.join(ARCHS)} nets only"
        )
    try:
        return build_model(ModelConfig.from_dict(model_fields))
    except ImportError as error:
        raise CheckpointError(
            f"cannot load checkpoint {name}: this install of lenet_viz cannot build the "
            f"{arch} net ({error}); update lenet_viz"
        ) from error
    except (ValueError, TypeError) as error:
        raise CheckpointError(
            f"cannot load checkpoint {name}: its model description does not fit this version "
            f"of lenet_viz ({error}); re-save it or update lenet_viz"
        ) from error


def _check_state_matches(model: nn.Module, state: dict[str, torch.Tensor], name: str) -> None:
    """Refuse weights that do not fit the net the metadata describes, listing what is off."""
    expected = model.state_dict()
    missing = [key for key in expected if key not in state]
    unexpected = [key for key in state if key not in expected]
    wrong_shapes = [
        f"{key} {_shape(state[key])} (expected {_shape(expected[key])})"
        for key in expected
        if key in state and state[key].shape != expected[key].shape
    ]
    # The C3 mask is fixed by the architecture (Table I, p.8); a different one is not this net.
    changed_masks = [
        key
        for key in expected
        if key.endswith(".mask")
        and key in state
        and state[key].shape == expected[key].shape
        and not torch.equal(state[key].to(expected[key].dtype), expected[key])
    ]
    problems = []
    if missing:
        problems.append(f"missing keys: {_brief(missing)}")
    if unexpected:
        problems.append(f"unexpected keys: {_brief(unexpected)}")
    if wrong_shapes:
        problems.append(f"wrong shapes: {_brief(wrong_shapes)}")
    if changed_masks:
        problems.append(f"connection masks differ from the architecture's: {_brief(changed_masks)}")
    if problems:
        arch = model.config.arch
        raise CheckpointError(
            f"cannot load checkpoint {name}: its weights do not fit the {arch} net its metadata "
            f"describes ({'; '.join(problems)}); the file was damaged or edited, save it again"
        )


def _shape(tensor: torch.Tensor) -> str:
    return "x".join(str(size) for size in tensor.shape) or "scalar"


def _brief(items: list[str], limit: int = 4) -> str:
    shown = ", ".join(items[:limit])
    return shown + (f" (+{len(items) - limit} more)" if len(items) > limit else "")


@torch.no_grad()
def _rezero_masked_weights(model: nn.Module) -> None:
    """Masked-out C3 weights are zero in every net we build; keep them so after loading."""
    for module in model.modules():
        if isinstance(module, MaskedConv2d):
            module.weight.mul_(module.mask)
