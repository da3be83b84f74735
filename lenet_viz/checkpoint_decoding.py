"""Reading a checkpoint's bytes without trusting them (see `lenet_viz.checkpoints`).

Non-zip data is refused before it is unpickled; the pickle is read by PyTorch's weights-only
unpickler (tensors and plain values, never code); the payload's format, metadata and state
dict are checked against the net the metadata describes before any weight is loaded.
"""

from __future__ import annotations

import io
import re

import torch
from torch import nn

from lenet_viz.config import ARCHS, ModelConfig
from lenet_viz.model import LeNetBase, MaskedConv2d, build_model

FORMAT = "lenet_viz-checkpoint/1"
FORMAT_FAMILY = "lenet_viz-checkpoint/"
ZIP_MAGIC = b"PK\x03\x04"  # torch.save writes a zip archive; anything else is not ours


class CheckpointError(ValueError):
    """A checkpoint could not be saved or loaded; the message names the file and what to do."""


def decode(data: bytes, name: str) -> tuple[LeNetBase, dict]:
    """The model (eval mode) and metadata a checkpoint's bytes hold; CheckpointError if bad."""
    payload = _safe_torch_load(data, name)
    metadata, state = _checked_payload(payload, name)
    model = _build_from_metadata(metadata, name)
    _check_state_matches(model, state, name)
    model.load_state_dict(state, strict=True)
    _rezero_masked_weights(model)
    model.eval()
    return model, metadata


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
            "save models with lenet_viz.checkpoints.save_checkpoint"
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
