"""Checkpoints: one file per trained LeNet-5, holding its weights and what it is. This module
saves, loads and lists the files; what a file holds is `lenet_viz.checkpoints.format`.

The metadata says how to rebuild the net (`model`, a `ModelConfig.to_dict()`), how to feed it
(`preprocessing`), what it was trained on and how well it did. See `checkpoint_metadata`.

Loading never runs code from the file: files that are too large are refused before they are
read, non-zip files are refused before they are unpickled, and the pickle inside is read by
PyTorch's weights-only unpickler, which refuses anything but tensors and plain values. Every
failure is one `CheckpointError` that names the file and says what to do.
"""

from __future__ import annotations

import os
import re
import tempfile
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from lenet_viz.checkpoints.format import CheckpointError, checkpoint_bytes, decode_with_replay
from lenet_viz.checkpoints.format import checkpoint_metadata as checkpoint_metadata  # re-exported
from lenet_viz.nets.config import ModelConfig
from lenet_viz.nets.model import LeNetBase

REPO_CHECKPOINT_DIR = Path(__file__).resolve().parents[2] / "checkpoints"


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
DEFAULT_CHECKPOINT_PRESETS = {
    "modern": "fast",
    "faithful": "faithful-fast",
}  # lenet_viz.training.config


@dataclass
class LoadedCheckpoint:
    model: LeNetBase  # in eval mode, on the CPU
    metadata: dict
    path: Path | None  # None when loaded from bytes (an upload)
    replay: dict | None = None  # the training snapshots, if saved (lenet_viz.training.replay)

    @property
    def config(self) -> ModelConfig:
        return self.model.config


# ---------------------------------------------------------------- saving


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
    model, metadata, replay = decode_with_replay(data, str(path))
    return LoadedCheckpoint(model=model, metadata=metadata, path=path, replay=replay)


def load_checkpoint_bytes(
    data: bytes, name: str, max_bytes: int = MAX_CHECKPOINT_BYTES
) -> LoadedCheckpoint:
    """Load a checkpoint from its content (an upload); `name` is used in error messages."""
    _check_size(len(data), max_bytes, name)
    model, metadata, replay = decode_with_replay(bytes(data), name)
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
