"""Runs on a Ray cluster (issue 21): a real local Ray head (the pinned version), started with
`ray start --head` as a teacher would, and a Compare experiment trained through it.

The head gets 2 CPUs, a 100 MB object store and ports of its own, so that it neither loads this
machine nor meets another cluster on it; it is stopped, with every process it started, at the end.
"""

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
import torch

from lenet_viz.training.config import TrainConfig
from lenet_viz.training.runner import trainer_is_live
from lenet_viz.workers.proxy import RemoteTrainer
from lenet_viz.workers.ray_backend import RayBackend

HEAD_START_SECONDS = 120


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def ray_head_command(port: int, temp_dir: str) -> list[str]:
    ports = (
        "dashboard-agent-listen-port",
        "dashboard-agent-grpc-port",
        "runtime-env-agent-port",
        "metrics-export-port",
        "node-manager-port",
        "object-manager-port",
    )
    return [
        str(Path(sys.executable).with_name("ray")),
        "start",
        "--head",
        f"--port={port}",
        "--num-cpus=2",
        "--object-store-memory=100000000",
        "--include-dashboard=false",
        "--disable-usage-stats",
        f"--temp-dir={temp_dir}",
        *(f"--{name}={free_port()}" for name in ports),
        "--block",
    ]


@pytest.fixture(scope="module")
def ray_address():
    """A local Ray head for this module: its address, stopped with its processes afterwards."""
    port = free_port()
    temp_dir = tempfile.mkdtemp(prefix="ray", dir="/tmp")  # short: Ray's socket paths
    log_path = Path(temp_dir) / "head.log"
    with open(log_path, "w") as log:
        head = subprocess.Popen(
            ray_head_command(port, temp_dir),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + HEAD_START_SECONDS
        while "Ray runtime started" not in log_path.read_text():
            assert head.poll() is None, log_path.read_text()
            assert time.monotonic() < deadline, "the Ray head did not start"
            time.sleep(0.5)
        yield f"127.0.0.1:{port}"
    finally:
        head.send_signal(signal.SIGTERM)  # `ray start --block` stops what it started
        try:
            head.wait(60)
        finally:
            with contextlib.suppress(ProcessLookupError):  # anything it left behind
                os.killpg(head.pid, signal.SIGKILL)
            shutil.rmtree(temp_dir, ignore_errors=True)


@pytest.fixture(scope="module")
def cluster(ray_address):
    backend = RayBackend(ray_address)
    yield backend
    backend.shutdown()


def test_the_queue_is_the_clusters_capacity(cluster):
    assert cluster.capacity() == 2  # 2 CPUs, one per run
    assert cluster.slots.capacity == 2


def test_a_compare_experiment_trains_on_ray_in_lockstep_and_comes_back_whole(cluster):
    config = {"train_limit": 512, "test_limit": 256, "batch_size": 32, "lr": 0.05}
    adam = {**config, "optimizer": "adam"}
    configs = [TrainConfig.from_dict(config), TrainConfig.from_dict(adam)]
    trainer = RemoteTrainer(configs, backend=cluster, names=["sgd", "adam"], slots=cluster.slots)
    trainer.start()
    assert trainer_is_live(trainer.id)
    deadline = time.monotonic() + 120
    while trainer.runs[0].iteration == 0 and time.monotonic() < deadline:
        time.sleep(0.1)
    polled = trainer.snapshot(histories=False)  # a page's poll, answered by the actor
    assert polled.status in ("running", "completed") and polled.total_iterations == 16
    assert trainer.remote.call("pid") != os.getpid()  # trained in an actor's process

    assert trainer.wait(120) and trainer.status == "completed", trainer.message
    sgd, adam = trainer.runs
    assert sgd.iteration == adam.iteration == 16  # lockstep: the same batches
    for name, weights in sgd.replay.snapshots()[0].parameters.items():  # the same start
        assert torch.equal(weights, adam.replay.snapshots()[0].parameters[name])
    assert len(sgd.history_snapshot().loss) == 16
    assert sgd.final["test_acc"] == pytest.approx(sgd.evaluate_full()["test_acc"])
    assert cluster.slots.counts() == (0, 0)
