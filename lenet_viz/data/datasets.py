"""MNIST and Fashion-MNIST: read the raw IDX files, check them, hold each split in memory.

The training loop never runs a per-sample PIL transform: each split is read once into a uint8
tensor, and `to_network_input` turns a whole batch of 28x28 digits into 32x32 network inputs.

Files live where torchvision.datasets.MNIST / FashionMNIST read them:
``<root>/<Name>/raw/{train,t10k}-{images-idx3,labels-idx1}-ubyte`` (a ``.gz`` copy is read too).
Fetching them is `lenet_viz.data.fetch`; this module reads and checks them.
"""

from __future__ import annotations

import gzip
import os
import threading
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

MNIST_MEAN, MNIST_STD = 0.1307, 0.3081
# LeCun et al. 1998, p.7: "the values of the input pixels are normalized so that the background
# level (white) corresponds to a value of -0.1 and the foreground (black) corresponds to 1.175".
PAPER_BACKGROUND, PAPER_INK = -0.1, 1.175

# CLI name -> torchvision class name (also the folder name under the data root).
DATASETS = {"mnist": "MNIST", "fashion-mnist": "FashionMNIST"}
IMAGE_SIDE = 28
NUM_CLASSES = 10
SPLIT_SIZES = {True: 60_000, False: 10_000}
SPLIT_FILES = {
    True: ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    False: ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}
RAW_FILES = SPLIT_FILES[True] + SPLIT_FILES[False]

# IDX format (http://yann.lecun.com/exdb/mnist/): 2 zero bytes, a type byte (0x08 = uint8),
# the number of dimensions, then one big-endian int32 per dimension, then the data.
IDX_IMAGES_MAGIC = 2051  # 0x00000803: uint8, 3 dimensions (N, rows, cols)
IDX_LABELS_MAGIC = 2049  # 0x00000801: uint8, 1 dimension (N,)
EXPECTED_FILE_BYTES = {
    images: 16 + SPLIT_SIZES[train] * IMAGE_SIDE * IMAGE_SIDE
    for train, (images, _) in SPLIT_FILES.items()
} | {labels: 8 + SPLIT_SIZES[train] for train, (_, labels) in SPLIT_FILES.items()}


SAMPLE_DIGITS_PATH = Path(__file__).parent / "assets" / "sample_digits.npz"
SAMPLES_PER_CLASS = 20


class DataError(Exception):
    """A dataset problem the learner can fix; the message says what went wrong and what to do."""


@dataclass
class Split:
    """One split of a dataset, in memory: images uint8 (N, 28, 28), labels int64 (N,)."""

    images: torch.Tensor
    labels: torch.Tensor

    def __len__(self) -> int:
        return len(self.labels)

    def subset(self, n: int | None) -> Split:
        """The first n samples (all when n is None)."""
        if n is None or n >= len(self):
            return self
        return Split(self.images[:n], self.labels[:n])

    def select(self, indices: torch.Tensor | Sequence[int]) -> Split:
        """The samples at `indices`, in that order."""
        index = torch.as_tensor(indices, dtype=torch.long)
        return Split(self.images[index], self.labels[index])

    def first_per_class(self, n_per_class: int) -> Split:
        """The first n samples of each class (by index), grouped by class 0..9."""
        return self.select(first_indices_per_class(self.labels, n_per_class))


def first_indices_per_class(labels: torch.Tensor, n_per_class: int) -> torch.Tensor:
    """Indices of the first n samples of each class, class 0 first, ascending within a class."""
    labels = torch.as_tensor(labels)
    picks = [torch.nonzero(labels == c).flatten()[:n_per_class] for c in range(NUM_CLASSES)]
    return torch.cat(picks).long()


def to_network_input(
    images: torch.Tensor, resize: str = "pad", scaling: str = "mnist"
) -> torch.Tensor:
    """28x28 digits (uint8 0..255 or float 0..1, ink high) -> float32 (N, 1, 32, 32) inputs.

    resize: "pad" adds 2 blank pixels on each side, as the paper did (p.7); "scale" resizes
    bilinearly to 32x32, like the notebook's transforms.Scale(32).
    scaling: "mnist" subtracts the MNIST mean and divides by its std; "paper" maps background
    to -0.1 and ink to 1.175 (p.7); "unit" keeps the 0..1 pixels (d2l-zh's ToTensor).
    """
    x = images.float()
    if images.dtype == torch.uint8:
        x = x.div_(255.0)  # float() made a copy; in place saves a 245 MB allocation on 60,000
    if x.dim() == 2:
        x = x[None]
    x = x[:, None] if x.dim() == 3 else x
    if resize == "pad":
        x = F.pad(x, (2, 2, 2, 2))
    elif resize == "scale":
        x = F.interpolate(x, size=(32, 32), mode="bilinear", align_corners=False)
    else:
        raise ValueError(f"unknown resize {resize!r}; choose 'pad' or 'scale'")
    # pad and interpolate return a new tensor: scale it in place (same values, no new copies).
    if scaling == "mnist":
        return x.sub_(MNIST_MEAN).div_(MNIST_STD)
    if scaling == "paper":
        return x.mul_(PAPER_INK - PAPER_BACKGROUND).add_(PAPER_BACKGROUND)
    if scaling == "unit":
        return x
    raise ValueError(f"unknown scaling {scaling!r}; choose 'mnist', 'paper' or 'unit'")


# ----------------------------------------------------------------------------------- locations


def default_data_root() -> Path:
    """$LENET_VIZ_DATA if set, else <repo>/data (the repo is the folder holding lenet_viz/)."""
    from_env = os.environ.get("LENET_VIZ_DATA")
    if from_env:
        return Path(from_env).expanduser()
    return Path(__file__).resolve().parents[2] / "data"


def resolve_root(root: str | os.PathLike | None) -> Path:
    return Path(root if root is not None else default_data_root()).expanduser().resolve()


def class_name(dataset: str) -> str:
    try:
        return DATASETS[dataset]
    except KeyError:
        choices = ", ".join(DATASETS)
        raise DataError(f"unknown dataset {dataset!r}; choose one of: {choices}") from None


def raw_dir(dataset: str = "mnist", root: str | os.PathLike | None = None) -> Path:
    """The folder holding the four IDX files, as torchvision lays it out."""
    return resolve_root(root) / class_name(dataset) / "raw"


def shown_path(path: Path) -> str:
    """A path as a learner would type it: relative to the current folder when inside it."""
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def fetch_command(dataset: str) -> str:
    """The command that fetches `dataset`, as a learner types it (in backquotes)."""
    cli = f"`python -m lenet_viz fetch-data --dataset {dataset}`"
    return f"`make data` or {cli}" if dataset == "mnist" else cli


def _dataset_of(path: Path) -> str | None:
    """Which dataset a file belongs to, guessed from its folder (<root>/<Name>/raw/file)."""
    by_class = {name: key for key, name in DATASETS.items()}
    return by_class.get(path.parent.parent.name) if path.parent.name == "raw" else None


def _refetch_hint(path: Path) -> str:
    dataset = _dataset_of(path)
    command = f"python -m lenet_viz fetch-data --dataset {dataset or 'mnist|fashion-mnist'}"
    return f"Delete it and fetch it again with `{command}`."


def existing_file(folder: Path, name: str) -> Path | None:
    """folder/name, else folder/name.gz, else None."""
    for candidate in (folder / name, folder / f"{name}.gz"):
        if candidate.is_file():
            return candidate
    return None


# ---------------------------------------------------------------------------------- IDX reading


def read_idx(path: str | os.PathLike) -> torch.Tensor:
    """Read an IDX file (plain or .gz) into a uint8 tensor: images (N, rows, cols), labels (N,).

    Raises DataError, naming the file and saying to re-fetch it, if the file is missing,
    is not an IDX file, is truncated or is longer than its header declares.
    """
    path = Path(path)
    content = _read_bytes(path)
    where = shown_path(path)
    problem = None
    if len(content) < 4:
        problem = f"is truncated: only {len(content)} bytes, not even an IDX header"
    else:
        magic = int.from_bytes(content[:4], "big")
        if magic not in (IDX_IMAGES_MAGIC, IDX_LABELS_MAGIC):
            problem = (
                f"is not an IDX file: magic number {magic}, expected {IDX_IMAGES_MAGIC} "
                f"(images) or {IDX_LABELS_MAGIC} (labels)"
            )
    if problem is None:
        ndim = content[3]
        header_bytes = 4 + 4 * ndim
        if len(content) < header_bytes:
            problem = (
                f"is truncated: {len(content)} bytes, shorter than its {header_bytes}-byte header"
            )
    if problem is not None:
        raise DataError(f"{where} {problem}. {_refetch_hint(path)}")

    dims = [int.from_bytes(content[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim)]
    declared = int(np.prod(dims))
    actual = len(content) - header_bytes
    shape = " x ".join(str(d) for d in dims)
    if actual < declared:
        raise DataError(
            f"{where} is truncated: its header declares {shape} ({declared:,} bytes of data) "
            f"but only {actual:,} bytes follow. {_refetch_hint(path)}"
        )
    if actual > declared:
        raise DataError(
            f"{where} has the wrong size: its header declares {shape} ({declared:,} bytes of "
            f"data) but {actual:,} bytes follow. {_refetch_hint(path)}"
        )
    return torch.frombuffer(content, dtype=torch.uint8, offset=header_bytes).reshape(dims)


def _read_bytes(path: Path) -> bytearray:
    """The file's (decompressed) bytes, as a writable buffer torch.frombuffer can share."""
    try:
        if path.suffix == ".gz":
            with gzip.open(path, "rb") as f:
                return bytearray(f.read())
        return bytearray(path.read_bytes())
    except FileNotFoundError:
        raise DataError(f"{shown_path(path)} does not exist. {_refetch_hint(path)}") from None
    except (OSError, EOFError, zlib.error) as exc:  # gzip.BadGzipFile is an OSError
        raise DataError(
            f"{shown_path(path)} could not be read ({exc}). {_refetch_hint(path)}"
        ) from None


def read_split_files(folder: Path, train: bool) -> Split:
    """Read and check one split's two files from `folder` (which must hold them)."""
    images_name, labels_name = SPLIT_FILES[train]
    images_path = existing_file(folder, images_name) or folder / images_name
    labels_path = existing_file(folder, labels_name) or folder / labels_name
    images, labels = read_idx(images_path), read_idx(labels_path)
    expected = SPLIT_SIZES[train]
    hint = _refetch_hint(images_path)
    if tuple(images.shape) != (expected, IMAGE_SIDE, IMAGE_SIDE):
        shape = " x ".join(str(d) for d in images.shape)
        raise DataError(
            f"{shown_path(images_path)} holds {shape} images; expected {expected:,} images of "
            f"{IMAGE_SIDE}x{IMAGE_SIDE}. {hint}"
        )
    if labels.dim() != 1 or len(labels) != expected:
        shape = " x ".join(str(d) for d in labels.shape)
        raise DataError(
            f"{shown_path(labels_path)} holds {shape} labels; expected {expected:,}. "
            f"{_refetch_hint(labels_path)}"
        )
    if int(labels.max()) >= NUM_CLASSES:
        bad = int((labels >= NUM_CLASSES).sum())
        raise DataError(
            f"{shown_path(labels_path)} has {bad:,} labels outside 0-9 (largest "
            f"{int(labels.max())}). {_refetch_hint(labels_path)}"
        )
    return Split(images, labels.long())


# ------------------------------------------------------------------------------------ loading

_split_cache: dict[tuple[str, bool, Path], Split] = {}
_split_cache_lock = threading.Lock()


def data_available(dataset: str = "mnist", root: str | os.PathLike | None = None) -> bool:
    """True when all four files exist with the right sizes (cheap: reads no image data)."""
    folder = raw_dir(dataset, root)
    return all(_has_expected_size(existing_file(folder, name), name) for name in RAW_FILES)


def _has_expected_size(path: Path | None, name: str) -> bool:
    if path is None:
        return False
    if path.suffix != ".gz":
        return path.stat().st_size == EXPECTED_FILE_BYTES[name]
    # A gzip file ends with the uncompressed size modulo 2**32 (RFC 1952, ISIZE).
    try:
        with path.open("rb") as f:
            f.seek(-4, os.SEEK_END)
            return int.from_bytes(f.read(4), "little") == EXPECTED_FILE_BYTES[name]
    except OSError:
        return False


def load_split(
    dataset: str = "mnist", train: bool = True, root: str | os.PathLike | None = None
) -> Split:
    """The whole train (60,000) or test (10,000) split, read once per process and cached.

    Thread-safe: concurrent callers wait for the first read and share its result. Callers must
    not modify the returned tensors in place. Raises DataError if the files are missing or bad.
    """
    key = (dataset, bool(train), resolve_root(root))
    with _split_cache_lock:
        if key not in _split_cache:
            folder = raw_dir(dataset, key[2])
            missing = [n for n in SPLIT_FILES[bool(train)] if existing_file(folder, n) is None]
            if missing:
                raise DataError(
                    f"{DATASETS[dataset]} is not in {shown_path(folder)} yet (missing "
                    f"{', '.join(missing)}). Fetch it with {fetch_command(dataset)}."
                )
            _split_cache[key] = read_split_files(folder, bool(train))
        return _split_cache[key]


def clear_split_cache() -> None:
    """Forget every cached split (after the files on disk changed)."""
    with _split_cache_lock:
        _split_cache.clear()


def forget_dataset(dataset: str, root: str | os.PathLike | None = None) -> None:
    """Forget the cached splits of one dataset (after its files on disk changed)."""
    with _split_cache_lock:
        for train in (True, False):
            _split_cache.pop((dataset, train, resolve_root(root)), None)


def check_data(dataset: str = "mnist", root: str | os.PathLike | None = None) -> None:
    """Raise DataError, saying how to fetch it, unless the dataset's four files are in place."""
    if not data_available(dataset, root):
        raise DataError(
            f"{class_name(dataset)} is not downloaded yet (nothing usable in "
            f"{shown_path(raw_dir(dataset, root))}). Fetch it with {fetch_command(dataset)}."
        )


@lru_cache(maxsize=1)
def _load_sample_digits() -> tuple[Split, torch.Tensor]:
    try:
        with np.load(SAMPLE_DIGITS_PATH, allow_pickle=False) as npz:
            images, labels, indices = npz["images"], npz["labels"], npz["indices"]
    except (OSError, KeyError, ValueError) as exc:
        raise DataError(
            f"the sample digits {shown_path(SAMPLE_DIGITS_PATH)} could not be read ({exc}). "
            "Restore it from git, or rebuild it with `python scripts/make_sample_digits.py` "
            "once MNIST is fetched."
        ) from None
    split = Split(torch.from_numpy(images.astype(np.uint8)), torch.from_numpy(labels).long())
    return split, torch.from_numpy(indices).long()


def sample_digits() -> Split:
    """200 MNIST test digits kept in the repo (the first 20 of each class, grouped by class).

    Lets the Draw and Inside pages show real digits before MNIST is fetched. Their places in
    the MNIST test set are `sample_digit_indices()`.
    """
    return _load_sample_digits()[0]


def sample_digit_indices() -> torch.Tensor:
    """Index in the MNIST test set of each of `sample_digits()`, in the same order."""
    return _load_sample_digits()[1]
