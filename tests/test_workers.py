"""Runs in worker processes (issue 21): the pages' methods through the proxy, Compare's lockstep
in one worker, and a worker killed with SIGKILL mid-run ending only its own run.

Real processes, real MNIST digits, a pool of this test module's own.
"""

import os
import signal
import threading
import time
from pathlib import Path

import pytest
import torch

from lenet_viz.data import datasets, shared_inputs
from lenet_viz.data.datasets import clear_split_cache, data_available
from lenet_viz.nets.config import ModelConfig
from lenet_viz.training import loop
from lenet_viz.training.config import TrainConfig
from lenet_viz.training.runner import trainer_is_live
from lenet_viz.training.slots import RunSlots
from lenet_viz.workers import proxy
from lenet_viz.workers.host import HostedRuns
from lenet_viz.workers.pool import WorkerPool, get_ready
from lenet_viz.workers.proxy import RemoteTrainer


@pytest.fixture(scope="module")
def pool():
    workers = WorkerPool(2)
    yield workers
    workers.shutdown()


def small(**changes) -> TrainConfig:
    values = {"train_limit": 512, "test_limit": 256, "batch_size": 32, "lr": 0.05, **changes}
    return TrainConfig.from_dict(values)


def wait_until(predicate, timeout=60.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False


def test_a_compare_experiment_trains_in_lockstep_in_one_worker_and_comes_back_whole(pool):
    configs = [small(), small(activation="relu")]
    slots = RunSlots(2)
    trainer = RemoteTrainer(configs, backend=pool, names=["tanh", "relu"], slots=slots).start()
    assert trainer_is_live(trainer.id)  # a reloaded page finds it, as a thread's
    assert trainer.wait(120), trainer.status
    assert trainer.status == "completed", trainer.message
    assert slots.counts() == (0, 0)

    first, second = trainer.runs
    assert [run.status for run in trainer.runs] == ["completed", "completed"]
    assert first.iteration == second.iteration == first.total_iterations == 16
    # the same seed, the same initial weights: both start from one net
    start_a, start_b = first.replay.snapshots()[0], second.replay.snapshots()[0]
    assert start_a.iteration == start_b.iteration == 0
    for name, weights in start_a.parameters.items():
        assert torch.equal(weights, start_b.parameters[name])
    # everything the run made is back in the server: history, weights, snapshots, final test
    history = first.history_snapshot()
    assert len(history.loss) == 16 and history.epochs[-1]["iteration"] == 16
    assert first.replay.snapshots()[-1].iteration == 16
    evaluation = first.evaluate_full()
    assert evaluation["test_acc"] == pytest.approx(first.final["test_acc"])
    model = first.model_snapshot()
    ended = first.replay.snapshots()[-1].parameters
    for name, weights in model.named_parameters():
        assert torch.allclose(weights.detach(), ended[name].float(), atol=1e-2)
    snapshot = trainer.snapshot()
    assert snapshot.status == "completed" and snapshot.images_per_second > 0
    assert trainer.train_seconds > 0  # what the class board publishes as the run's duration
    assert trainer.remote.runs is None  # the worker let go of them


def test_the_controls_reach_the_worker_step_pause_resume_stop(pool):
    trainer = RemoteTrainer(small(epochs=20), backend=pool, slots=RunSlots(1))
    trainer.step(3)
    assert wait_until(lambda: trainer.runs[0].iteration == 3 and trainer.status == "paused")
    time.sleep(0.5)
    assert trainer.runs[0].iteration == 3  # paused: no more batches

    since = trainer.runs[0].history_since(1)  # what a live view's poll reads
    assert len(since.loss) == 2 and len(trainer.runs[0].history_snapshot().loss) == 3
    assert trainer.runs[0].live_snapshot().iteration == 3

    trainer.resume()
    assert wait_until(lambda: trainer.runs[0].iteration > 10)
    trainer.pause(settle_seconds=30)  # returns once paused: the page's next draw says so
    assert trainer.status == "paused"
    paused_at = trainer.runs[0].iteration
    time.sleep(0.5)
    assert trainer.runs[0].iteration == paused_at
    trainer.stop()
    assert trainer.wait(60)
    assert trainer.status == "stopped"
    assert trainer.runs[0].status == "stopped"
    assert trainer.runs[0].iteration == paused_at  # its weights and history came back
    assert len(trainer.runs[0].history_snapshot().loss) == paused_at


def test_a_cut_ends_the_chunk_under_way_after_its_batch_and_else_the_next_after_one():
    """HostedRuns in this process: `cut_short` from another thread ends a long `advance`."""
    # 256 batches an epoch: the cuts land inside the first, where every tick trains a batch (at
    # an epoch's end a tick runs the test instead: 16-batch epochs made the count flaky).
    config = small(train_limit=8192, epochs=50)
    hosted = HostedRuns([config], ["run"], os.environ.get("LENET_VIZ_DATA"))
    hosted.begin()
    assert hosted.advance(1)
    run = hosted.trainer.runs[0]
    assert run.iteration == 1

    answers = []
    chunk = threading.Thread(target=lambda: answers.append(hosted.advance(None, 600.0)))
    chunk.start()
    assert wait_until(lambda: run.iteration > 3)
    hosted.cut_short()
    chunk.join(60)  # the 600-s chunk ended with the batch under way
    assert not chunk.is_alive() and answers == [True]
    assert run.status == "running" and run.iteration < run.total_iterations
    cut_at = run.iteration
    assert hosted.advance(3) and run.iteration == cut_at + 3  # the cut was taken: not again
    ended_at = run.iteration

    assert ended_at + 1 < run.iterations_per_epoch  # still inside the first epoch
    hosted.cut_short()  # between chunks: the next one trains one batch
    assert hosted.advance(None, 600.0)
    assert run.iteration == ended_at + 1
    hosted.finish(stopped=True)


def test_pause_and_stop_land_within_a_chunk_in_the_worker(pool, monkeypatch):
    """With chunks far longer than the wait, Pause still lands: the worker's chunk is cut."""
    monkeypatch.setattr(proxy, "CHUNK_SECONDS", 600.0)
    trainer = RemoteTrainer(small(train_limit=20000, epochs=20), backend=pool, slots=RunSlots(1))
    trainer.start()
    assert trainer.settle(60)  # the first batch (one batch), then a 600-s chunk under way
    assert wait_until(lambda: trainer.runs[0].iteration > 3)
    trainer.pause(settle_seconds=30)
    assert trainer.status == "paused"  # not at the chunk's end, 600 s on
    paused_at = trainer.runs[0].iteration
    assert 3 < paused_at < trainer.runs[0].total_iterations
    time.sleep(0.3)
    assert trainer.runs[0].iteration == paused_at

    trainer.resume()
    assert wait_until(lambda: trainer.runs[0].iteration > paused_at + 3)
    trainer.stop()  # within the next 600-s chunk too
    assert trainer.wait(60)
    assert trainer.status == "stopped" and trainer.runs[0].status == "stopped"
    assert trainer.runs[0].iteration < trainer.runs[0].total_iterations


def test_a_worker_killed_mid_run_ends_only_its_run_and_is_replaced(pool):
    slots = RunSlots(2)
    long_run = small(train_limit=4096, epochs=50)
    doomed = RemoteTrainer(long_run, backend=pool, slots=slots).start()
    other = RemoteTrainer(long_run, backend=pool, slots=slots).start()
    assert wait_until(lambda: doomed.runs[0].iteration > 0 and other.runs[0].iteration > 0)
    assert doomed.remote.worker is not other.remote.worker  # each on a worker of its own

    os.kill(doomed.remote.worker.pid, signal.SIGKILL)
    assert doomed.wait(30)
    assert doomed.status == "error"
    assert doomed.message.startswith("the training process stopped: it was killed (SIGKILL")
    assert doomed.runs[0].status == "error"
    assert doomed.snapshot().status == "error"  # a page's poll still answers
    assert slots.counts() == (1, 0)  # its slot is free; the other run still holds its own

    going = other.runs[0].iteration
    assert wait_until(lambda: other.runs[0].iteration > going)  # the other run goes on
    assert other.status == "running"

    started = time.monotonic()  # the next Start trains, on the replacement worker
    after = RemoteTrainer(small(epochs=20), backend=pool, slots=slots).start()
    assert wait_until(lambda: after.runs[0].iteration > 0, timeout=15)
    print(f"the next run trained {time.monotonic() - started:.1f} s after the kill")
    assert wait_until(lambda: len(pool.pids()) == 2)  # the dead worker's successor is up
    assert doomed.remote.worker.pid not in pool.pids()
    for trainer in (other, after):
        trainer.stop()
        assert trainer.wait(60) and trainer.status == "stopped"
    assert slots.counts() == (0, 0)


def test_settle_returns_once_the_first_batches_are_trained(pool):
    """What Start waits for (Trainer.settle), so the page drawn after the click has points."""
    trainer = RemoteTrainer(small(epochs=20), backend=pool, slots=RunSlots(1)).start()
    assert trainer.settle(60)
    assert trainer.status == "running" and trainer.runs[0].iteration > 0
    assert len(trainer.runs[0].history_since(0).loss) > 0
    trainer.stop()
    assert trainer.wait(60)


def test_a_warm_pool_starts_its_first_worker_in_the_background():
    fresh = WorkerPool(1)
    try:
        assert fresh.pids() == []
        fresh.warm()  # returns at once; the process starts on a thread
        assert wait_until(lambda: len(fresh.pids()) == 1)
        fresh.warm()  # one is there: no second
        time.sleep(0.5)
        assert len(fresh.pids()) == 1
    finally:
        fresh.shutdown()


@pytest.mark.skipif(not data_available("mnist"), reason="MNIST is not fetched (run `make data`)")
def test_a_worker_reads_mnist_while_it_waits_for_its_first_run(monkeypatch):
    """What a new worker does before any run (pool.get_ready): the first run, and so the
    first Start, then reads no file and converts no digit, whichever net and resizing."""
    clear_split_cache()
    get_ready()

    def no_reading(*args):
        raise AssertionError("the split was read again")

    def no_converting(*args):
        raise AssertionError("a run converted its digits")

    monkeypatch.setattr(datasets, "read_split_files", no_reading)
    monkeypatch.setattr(loop, "to_network_input", no_converting)
    assert len(datasets.load_split("mnist", True).labels) == 60_000
    assert len(datasets.load_split("mnist", False).labels) == 10_000
    for model in (ModelConfig(), ModelConfig(resize="scale"), ModelConfig(arch="faithful")):
        for train, limit in ((True, 10_000), (False, 2_000)):
            inputs, labels = loop.network_inputs("mnist", model, train, limit)
            assert inputs.shape == (limit, 1, 32, 32) and len(labels) == limit


def test_a_worker_keeps_no_copy_of_a_split_it_cannot_share(monkeypatch):
    """Where the data folder is read-only, a whole split would be a private copy of 286 MB in
    every worker: get_ready leaves it to the runs that need it."""
    monkeypatch.setattr(shared_inputs.os, "access", lambda path, mode: False)
    monkeypatch.setattr(shared_inputs, "cache_path", lambda *a: Path("/nowhere/cache/x"))
    monkeypatch.setattr(loop, "_whole_splits", {})
    get_ready()
    assert loop._whole_splits == {}


def test_a_worker_gets_no_more_torch_threads_than_the_server_may_use():
    """A server limited to one core (taskset, a container) or one thread (OMP_NUM_THREADS)
    gives its workers as many: two threads on one core each wait for the other."""
    assert WorkerPool(1).threads == torch.get_num_threads()
    assert WorkerPool(2).threads == max(1, torch.get_num_threads() // 2)
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        assert WorkerPool(1).threads == 1
    finally:
        torch.set_num_threads(before)
