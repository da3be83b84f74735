"""The package installs as a user installs it: the wheel holds every subpackage and data file,
declares every third-party package the library imports, and its `lenet-viz` command works from
a fresh virtual environment outside the checkout (info, predict on a shipped checkpoint, replay).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import venv
import zipfile
from email.parser import Parser
from pathlib import Path

import grimp
import numpy as np
import pytest
from PIL import Image

REPO = Path(__file__).resolve().parent.parent
SHIPPED = REPO / "checkpoints" / "lenet5_modern_relu.pt"
# The distribution that provides each top-level module the library imports.
DISTRIBUTION_OF = {"PIL": "pillow"}

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    source = tmp_path_factory.mktemp("source")  # the build writes build/ beside its sources
    for name in ("pyproject.toml", "README.md", "lenet_viz"):
        copy = shutil.copytree if (REPO / name).is_dir() else shutil.copy
        copy(REPO / name, source / name)
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation"]
        + ["-w", str(out), str(source)],
        check=True,
        timeout=300,
    )
    (found,) = out.glob("lenet_viz-*.whl")
    return found


@pytest.fixture(scope="module")
def installed(wheel, tmp_path_factory) -> Path:
    """A fresh venv with the wheel installed; its dependencies come from this environment's
    site-packages (a path in a .pth file: the checkout itself is not on its path)."""
    env_dir = tmp_path_factory.mktemp("venv")
    venv.create(env_dir, with_pip=False)
    purelib = Path(
        sysconfig.get_path("purelib", vars={"base": str(env_dir), "platbase": str(env_dir)})
    )
    (purelib / "dependencies.pth").write_text(sysconfig.get_path("purelib") + "\n")
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(env_dir / "bin" / "python"), "install"]
        + ["-q", "--no-deps", "--no-index", str(wheel)],
        check=True,
        timeout=300,
    )
    return env_dir


def lenet_viz_cli(env_dir: Path, cwd: Path, *args: str, **env: str) -> subprocess.CompletedProcess:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("LENET_VIZ")}
    environment.pop("PYTHONPATH", None)
    environment.update(env)
    return subprocess.run(
        [str(env_dir / "bin" / "lenet-viz"), *args],
        cwd=cwd,
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_the_wheel_holds_every_subpackage_and_data_file(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    packages = {p.parent.relative_to(REPO) for p in (REPO / "lenet_viz").rglob("__init__.py")}
    for package in packages:
        assert f"{package.as_posix()}/__init__.py" in names
    for data in (
        "nets/paper_tables/table1_s2_to_c3.txt",
        "data/assets/sample_digits.npz",
        "classroom/migrations/env.py",  # a wheel install migrates the class board's database
        "classroom/migrations/script.py.mako",
        "classroom/migrations/versions/0001_class_board.py",
    ):
        assert f"lenet_viz/{data}" in names


def test_the_wheel_declares_every_package_the_library_imports(wheel):
    metadata = next(n for n in zipfile.ZipFile(wheel).namelist() if n.endswith("METADATA"))
    text = zipfile.ZipFile(wheel).read(metadata).decode()
    declared = {
        r.split(";")[0].split()[0].lower() for r in Parser().parsestr(text).get_all("Requires-Dist")
    }
    graph = grimp.build_graph("lenet_viz", include_external_packages=True)
    external = {m for m in graph.modules if m.split(".")[0] != "lenet_viz" and "." not in m}
    third_party = {m for m in external if m not in sys.stdlib_module_names}
    assert {DISTRIBUTION_OF.get(m, m).lower() for m in third_party} <= declared


def test_the_installed_command_runs_outside_the_checkout(installed, tmp_path):
    info = lenet_viz_cli(installed, tmp_path, "info", "--json", "--arch", "faithful")
    assert info.returncode == 0, info.stderr
    assert json.loads(info.stdout)["layers"][2]["name"] == "C3"

    three = np.zeros((28, 28), np.uint8)
    three[5:8, 8:20] = three[12:15, 10:20] = three[20:23, 8:20] = 255
    three[5:23, 17:20] = 255
    Image.fromarray(three).save(tmp_path / "three.png")
    predict = lenet_viz_cli(
        installed, tmp_path, "predict", "three.png", "--checkpoint", str(SHIPPED), "--json"
    )
    assert predict.returncode == 0, predict.stderr
    assert json.loads(predict.stdout.splitlines()[0])["digit"] == 3

    # replay needs a run's snapshots: a tiny run on the MNIST files the user points it to
    data = {"LENET_VIZ_DATA": str(REPO / "data")}
    tiny = ("--train-limit", "256", "--test-limit", "64", "--batch-size", "32")
    train = lenet_viz_cli(installed, tmp_path, "train", *tiny, "--save", "tiny.pt", **data)
    assert train.returncode == 0, train.stderr
    replay = lenet_viz_cli(installed, tmp_path, "replay", "tiny.pt", "--out", "replay.png", **data)
    assert replay.returncode == 0, replay.stderr
    assert Image.open(tmp_path / "replay.png").size[0] > 100
