"""The training set converted once per machine: a file every process maps (issue 21)."""

import numpy as np
import pytest
import torch

from lenet_viz.data.datasets import load_split, to_network_input
from lenet_viz.data.shared_inputs import cache_path, mapped_inputs


@pytest.fixture
def digits(monkeypatch, tmp_path):
    split = load_split("mnist", train=True).subset(300)
    monkeypatch.setenv("LENET_VIZ_DATA", str(tmp_path))  # the cache goes to tmp_path/cache
    return split


def test_the_inputs_come_from_a_file_and_equal_a_fresh_conversion(digits):
    inputs = mapped_inputs(digits, "mnist", True, "pad", "mnist")
    assert torch.equal(inputs, to_network_input(digits.images, "pad", "mnist"))
    path = cache_path("mnist", True, "pad", "mnist")
    assert path.stat().st_size == 300 * 32 * 32 * 4
    written = path.stat().st_mtime_ns
    again = mapped_inputs(digits, "mnist", True, "pad", "mnist")  # another process: the file
    assert torch.equal(again, inputs)
    assert path.stat().st_mtime_ns == written  # opened, not written again
    assert list(path.parent.iterdir()) == [path]  # no partial file left behind


def test_a_file_that_does_not_hold_the_same_conversion_is_rebuilt(digits):
    path = cache_path("mnist", True, "pad", "paper")
    path.parent.mkdir(parents=True)
    np.zeros((300, 1, 32, 32), dtype=np.float32).tofile(path)  # the right size, stale values
    inputs = mapped_inputs(digits, "mnist", True, "pad", "paper")
    assert torch.equal(inputs, to_network_input(digits.images, "pad", "paper"))


def test_training_never_writes_to_the_shared_file(digits):
    inputs = mapped_inputs(digits, "mnist", True, "pad", "mnist")
    inputs[0].fill_(7.0)  # copy-on-write: this process's page only
    mapped = np.fromfile(cache_path("mnist", True, "pad", "mnist"), dtype=np.float32)
    assert not np.any(mapped[: 32 * 32] == 7.0)
