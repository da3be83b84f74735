"""A whole split as network inputs, converted once per machine and mapped by every process.

The server's training workers (lenet_viz.workers) would each hold their own float32 copy of
the training set (60,000 x 32 x 32 x 4 bytes = 245 MB). Instead the first process to need it
writes it to a file next to the data (`<data>/cache/`), and every process maps that file
copy-on-write: the operating system's page cache holds one copy, shared by all of them.

The file is checked, not trusted: its size must fit the split, and its first digits must equal
a fresh conversion of the same digits (so a change in the preprocessing rebuilds it). Where the
data folder is read-only, the split is converted in memory as before.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch

from lenet_viz.data.datasets import Split, default_data_root, to_network_input

CHECKED_DIGITS = 64  # compared with a fresh conversion each time the file is opened
INPUT_SHAPE = (1, 32, 32)


def cache_path(dataset: str, train: bool, resize: str, scaling: str) -> Path:
    split = "train" if train else "test"
    return default_data_root() / "cache" / f"{dataset}-{split}-{resize}-{scaling}.float32"


def shareable(dataset: str, train: bool, resize: str, scaling: str) -> bool:
    """True when `mapped_inputs` would map a shared file (it is there, or it can be written),
    not keep a copy of the whole split in this process."""
    path = cache_path(dataset, train, resize, scaling)
    if path.exists():
        return True
    folder = next((p for p in (path.parent, *path.parent.parents) if p.exists()), None)
    return folder is not None and os.access(folder, os.W_OK)


def mapped_inputs(
    split: Split, dataset: str, train: bool, resize: str, scaling: str
) -> torch.Tensor:
    """`to_network_input(split.images, resize, scaling)`, from the machine's shared file."""
    path = cache_path(dataset, train, resize, scaling)
    shape = (len(split), *INPUT_SHAPE)
    head = to_network_input(split.images[:CHECKED_DIGITS], resize, scaling)
    mapped = _open(path, shape, head)
    if mapped is None:
        try:
            _write(path, to_network_input(split.images, resize, scaling))
        except OSError:  # a read-only data folder: this process keeps its own copy
            return to_network_input(split.images, resize, scaling)
        mapped = _open(path, shape, head)
    return torch.from_numpy(mapped)


def _open(path: Path, shape: tuple[int, ...], head: torch.Tensor) -> np.ndarray | None:
    """The mapped file if it holds what a fresh conversion would, else None."""
    expected = int(np.prod(shape)) * np.dtype(np.float32).itemsize
    try:
        if path.stat().st_size != expected:
            return None
    except OSError:
        return None
    # "c": copy-on-write; pages stay shared unless written (training only reads them)
    mapped = np.memmap(path, dtype=np.float32, mode="c", shape=shape)
    if not np.array_equal(mapped[: len(head)], head.numpy()):
        return None
    return mapped


def _write(path: Path, inputs: torch.Tensor) -> None:
    """Write the file whole, then rename it into place (readers never see half of it)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f"{path.name}.{os.getpid()}.partial")
    try:
        inputs.contiguous().numpy().tofile(partial)
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)
