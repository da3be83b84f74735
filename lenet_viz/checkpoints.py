"""Checkpoints: one file per trained LeNet-5, holding its weights and what it is.

A checkpoint is `torch.save` of a plain dict, so it loads with `torch.load(weights_only=True)`:

    {"format": "lenet_viz-checkpoint/1",
     "metadata": {...},            # str/int/float/bool/None, lists and dicts of them only
     "state_dict": {name: tensor}, # the model's state dict, buffers (C3 masks) included
     "replay": {...}}              # optional: weight snapshots of the training run
                                   # (lenet_viz.replay.replay_payload; tensors and numbers)

The metadata says how to rebuild the net (`model`, a `ModelConfig.to_dict()`), how to feed it
(`preprocessing`), what it was trained on and how well it did. See `checkpoint_metadata`.

Loading never runs code from the file: files that are too large are refused before they are
read, non-zip files are refused before they are unpickled, and the pickle inside is read by
PyTorch's weights-only unpickler, which refuses anything but tensors and plain values. Every
failure is one `CheckpointError` that names the file and says what to do.
"""

from __future__ import annotations

import io
import os
import re
import tempfile
import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO

import torch
from torch import nn

import lenet_viz
from lenet_viz.model import ARCHS, LeNetBase, MaskedConv2d, ModelConfig, build_model

FORMAT = "lenet_viz-checkpoint/1"
FORMAT_FAMILY = "lenet_viz-checkpoint/"
REPO_CHECKPOINT_DIR = Path(__file__).resolve().parent.parent / "checkpoints"


def configured_checkpoint_dir() -> Path:
    """The checkpoint folder: $LENET_VIZ_CHECKPOINTS if set, else <repo>/checkpoints."""
    return Path(os.environ.get("LENET_VIZ_CHECKPOINTS") or REPO_CHECKPOINT_DIR)


CHECKPOINT_DIR = configured_checkpoint_dir()
# A LeNet-5 checkpoint is about 250 KB; anything near this limit is not one of ours.
MAX_CHECKPOINT_BYTES = 20 * 1024 * 1024
MAX_NAME_LENGTH = 64  # characters before ".pt"
CHECKPOINT_SUFFIX = ".pt"
DEFAULT_CHECKPOINT_NAMES = {
    "modern": "lenet5_modern_relu.pt",
    "faithful": "lenet5_faithful.pt",
}
DEFAULT_CHECKPOINT_PRESETS = {"modern": "fast", "faithful": "faithful-fast"}  # lenet_viz.train
# Metadata keys that describe the model itself: always taken from the model being saved.
MODEL_DERIVED_KEYS = ("format", "arch", "activation", "preprocessing", "model")
ZIP_MAGIC = b"PK\x03\x04"  # torch.save writes a zip archive; anything else is not ours


class CheckpointError(ValueError):
    """A checkpoint could not be saved or loaded; the message names the file and what to do."""


@dataclass
class LoadedCheckpoint:
    model: LeNetBase  # in eval mode, on the CPU
    metadata: dict
    path: Path | None  # None when loaded from bytes (an upload)
    replay: dict | None = None  # the training snapshots, if saved (lenet_viz.replay)

    @property
    def config(self) -> ModelConfig:
        return self.model.config


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

    replay: optional weight snapshots of the training run (`lenet_viz.replay.replay_payload`).
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


def save_checkpoint(
    model: LeNetBase,
    path: str | os.PathLike,
    metadata: dict | None = None,
    overwrite: bool = False,
    replay: dict | None = None,
) -> Path:
    """Write `model` and `metadata` to `path` atomically; return the path.

    The file appears whole or not at all: the content goes to a temporary file in the same
    directory, is flushed to disk, then renamed over `path`. A missing directory is created.
    An existing file is replaced only with overwrite=True.
    """
    path = Path(path)
    data = checkpoint_bytes(model, metadata, replay)
    _atomic_write(path, data, overwrite)
    return path


def _atomic_write(path: Path, data: bytes, overwrite: bool) -> None:
    directory = path.parent
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise _unwritable(path, error) from error
    if path.is_dir():
        raise CheckpointError(
            f"cannot save checkpoint {path}: it is a directory; give a file name ending in .pt"
        )
    if not overwrite and path.exists():
        raise _name_taken(path)
    try:
        fd, temp_name = tempfile.mkstemp(dir=directory, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as error:
        raise _unwritable(path, error) from error
    temp_path = Path(temp_name)
    try:
        with os.fdopen(fd, "wb") as handle:
            os.fchmod(handle.fileno(), 0o644)  # mkstemp makes 0o600 files
            _write_and_sync(handle, data)
        if overwrite:
            os.replace(temp_path, path)
        else:
            _publish_without_overwrite(temp_path, path)
        _fsync_directory(directory)
    except OSError as error:
        raise _unwritable(path, error) from error
    finally:
        temp_path.unlink(missing_ok=True)


def _write_and_sync(handle: BinaryIO, data: bytes) -> None:
    handle.write(data)
    handle.flush()
    os.fsync(handle.fileno())


def _publish_without_overwrite(temp_path: Path, path: Path) -> None:
    """Give the written file its name unless the name is taken, even by a concurrent save.

    A hard link fails if the name exists, atomically; where links are not supported, fall back
    to a check then a rename.
    """
    try:
        os.link(temp_path, path)
    except FileExistsError:
        raise _name_taken(path) from None
    except OSError:
        if path.exists():
            raise _name_taken(path) from None
        os.replace(temp_path, path)


def _fsync_directory(directory: Path) -> None:
    """Make the rename itself durable (best effort: not every platform can open a directory)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _name_taken(path: Path) -> CheckpointError:
    return CheckpointError(
        f"a checkpoint named {path.name} already exists in {path.parent}; "
        "pick another name, or confirm that it should be overwritten (overwrite=True)"
    )


def _unwritable(path: Path, error: OSError) -> CheckpointError:
    reason = error.strerror or str(error)
    return CheckpointError(
        f"cannot save checkpoint {path}: {reason}; choose a folder you can write to "
        "(or set LENET_VIZ_CHECKPOINTS to one)"
    )


# ---------------------------------------------------------------- loading


def load_checkpoint(
    path: str | os.PathLike, max_bytes: int = MAX_CHECKPOINT_BYTES
) -> LoadedCheckpoint:
    """Load a checkpoint file into a model in eval mode; refuse anything that is not ours."""
    path = Path(path)
    if not path.exists():
        raise CheckpointError(f"no checkpoint at {path}; check the path, or save one there first")
    if not path.is_file():
        raise CheckpointError(f"cannot load checkpoint {path}: it is not a file; pick a .pt file")
    _check_size(os.path.getsize(path), max_bytes, str(path))  # before reading a single byte
    try:
        data = _read_file(path, max_bytes)
    except OSError as error:
        reason = error.strerror or str(error)
        raise CheckpointError(
            f"cannot read checkpoint {path}: {reason}; check that the file is readable"
        ) from error
    _check_size(len(data), max_bytes, str(path))  # the file may have grown since
    model, metadata, replay = _decode(data, str(path))
    return LoadedCheckpoint(model=model, metadata=metadata, path=path, replay=replay)


def load_checkpoint_bytes(
    data: bytes, name: str, max_bytes: int = MAX_CHECKPOINT_BYTES
) -> LoadedCheckpoint:
    """Load a checkpoint from its content (an upload); `name` is used in error messages."""
    _check_size(len(data), max_bytes, name)
    model, metadata, replay = _decode(bytes(data), name)
    return LoadedCheckpoint(model=model, metadata=metadata, path=None, replay=replay)


def _read_file(path: Path, max_bytes: int) -> bytes:
    with open(path, "rb") as handle:
        return handle.read(max_bytes + 1)


def _check_size(size: int, max_bytes: int, name: str) -> None:
    if size == 0:
        raise CheckpointError(
            f"cannot load checkpoint {name}: the file is empty (0 bytes); "
            "it was not saved completely, save or download it again"
        )
    if size > max_bytes:
        raise CheckpointError(
            f"refused to load checkpoint {name}: it is {_megabytes(size)}, over the "
            f"{_megabytes(max_bytes)} limit (a LeNet-5 checkpoint is about 0.25 MB); "
            "pick a checkpoint saved by lenet_viz"
        )


def _megabytes(size: int) -> str:
    return f"{size / 1024 / 1024:.2f} MB"


def _decode(data: bytes, name: str) -> tuple[LeNetBase, dict, dict | None]:
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


# ---------------------------------------------------------------- names and listing


def sanitize_checkpoint_name(name: str) -> str:
    """A user-chosen name -> a safe file name ending in ".pt", e.g. "My net!" -> "My_net.pt".

    Keeps only ASCII letters, digits, ".", "_" and "-" (accents are dropped: "café" -> "cafe"),
    so there are no path separators; strips leading dots and dashes (no hidden files, no
    "../"); limits the length to MAX_NAME_LENGTH characters before ".pt".
    """
    if not isinstance(name, str):
        raise CheckpointError(f"a checkpoint name is text, got {type(name).__name__}")
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", ascii_name)
    safe = re.sub(r"\.{2,}", ".", safe)
    safe = safe.rstrip("._-")
    if safe.lower().endswith(CHECKPOINT_SUFFIX):
        safe = safe[: -len(CHECKPOINT_SUFFIX)]
    safe = safe.strip("._-")
    safe = safe[:MAX_NAME_LENGTH].rstrip("._-")
    if not safe:
        raise CheckpointError(
            f"the checkpoint name {name!r} has no usable characters; "
            "use letters, digits, '.', '_' or '-'"
        )
    return safe + CHECKPOINT_SUFFIX


def list_checkpoints(
    directory: str | os.PathLike | None = None, *, include_failed: bool = False
) -> list[dict]:
    """One dict per checkpoint file (*.pt) in `directory` (default CHECKPOINT_DIR), by name.

    Each dict: path, name, arch, activation, pooling, c3, dataset, test_acc, created,
    lenet_viz_version, size_bytes and error (None). Files that fail to load are skipped, or
    with include_failed=True listed with their `error` message and the other fields None.
    Hidden files (such as the temporary file of an interrupted save) are never listed.
    A missing directory has no checkpoints.
    """
    directory = Path(CHECKPOINT_DIR if directory is None else directory)
    if not directory.exists():
        return []
    if not directory.is_dir():
        raise CheckpointError(
            f"cannot list checkpoints in {directory}: it is not a directory; pick a folder"
        )
    entries = []
    for path in sorted(directory.iterdir(), key=lambda p: p.name):
        if path.name.startswith(".") or path.suffix != CHECKPOINT_SUFFIX or not path.is_file():
            continue
        try:
            entries.append(_listing_entry(path, load_checkpoint(path)))
        except CheckpointError as error:
            if include_failed:
                entries.append(_failed_entry(path, str(error)))
    return entries


def _listing_entry(path: Path, loaded: LoadedCheckpoint) -> dict:
    metadata, config = loaded.metadata, loaded.config
    return {
        "path": str(path),
        "name": path.name,
        "arch": config.arch,
        "activation": config.activation,
        "pooling": config.pooling,
        "c3": config.c3,
        "dataset": metadata.get("dataset"),
        "test_acc": metadata.get("test_acc"),
        "created": metadata.get("created"),
        "lenet_viz_version": metadata.get("lenet_viz_version"),
        "size_bytes": path.stat().st_size,
        "error": None,
    }


def _failed_entry(path: Path, error: str) -> dict:
    fields = ("arch", "activation", "pooling", "c3", "dataset", "test_acc", "created")
    entry = {"path": str(path), "name": path.name, **dict.fromkeys(fields)}
    entry.update({"lenet_viz_version": None, "size_bytes": path.stat().st_size, "error": error})
    return entry


def default_checkpoint_path(
    arch: str = "modern", directory: str | os.PathLike | None = None
) -> Path:
    """The shipped checkpoint for `arch` (in CHECKPOINT_DIR unless `directory` is given).

    Raises CheckpointError if the file is not there yet, saying how to make it.
    """
    if arch not in DEFAULT_CHECKPOINT_NAMES:
        raise CheckpointError(
            f"no default checkpoint for arch {arch!r}; choose one of: "
            f"{', '.join(DEFAULT_CHECKPOINT_NAMES)}"
        )
    path = Path(CHECKPOINT_DIR if directory is None else directory) / DEFAULT_CHECKPOINT_NAMES[arch]
    if not path.is_file():
        raise CheckpointError(
            f"the default {arch} checkpoint {path} is missing; train it with "
            f"`python -m lenet_viz train --preset {DEFAULT_CHECKPOINT_PRESETS[arch]} "
            f"--save {path}`"
        )
    return path
