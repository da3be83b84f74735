"""What a worker process (or a Ray actor) holds for one trainer of the server: its runs.

The server's `RemoteTrainer` (lenet_viz.workers.proxy) keeps the queue, the controls and the
statuses; it asks the worker to `advance` a short chunk at a time and reads the progress with the
methods a page uses. The runs train here exactly as in the server's thread (`Trainer.begin` and
`Trainer.tick`: several runs in lockstep, one batch each per tick).

What crosses the process boundary is plain Python and numpy: torch would send its tensors as
shared-memory handles, which outlive neither a killed worker nor a Ray node.
"""

from __future__ import annotations

import os
import threading
import time

import numpy as np
import torch

from lenet_viz.training.config import TrainConfig
from lenet_viz.training.replay import WeightSnapshot
from lenet_viz.training.runner import Trainer
from lenet_viz.training.slots import RunSlots

# How long one `advance` trains before the server may pause, stop or give the slot away: about
# 10 calls a second (each well under a millisecond). A Pause or Stop does not wait for it: the
# server cuts the chunk short (`cut_short`), so it ends after the batch being trained.
CHUNK_SECONDS = 0.1

# The fields of a run a page reads one at a time (run.status, run.iteration, ...).
RUN_FIELDS = (
    "status",
    "message",
    "iteration",
    "total_iterations",
    "iterations_per_epoch",
    "images_seen",
    "testing",
    "final",
)


def weights_to_wire(state: dict[str, torch.Tensor]) -> dict[str, np.ndarray]:
    return {name: tensor.detach().contiguous().numpy().copy() for name, tensor in state.items()}


def weights_from_wire(state: dict[str, np.ndarray]) -> dict[str, torch.Tensor]:
    return {name: torch.tensor(array) for name, array in state.items()}


def snapshot_to_wire(snapshot: WeightSnapshot) -> tuple:
    return (snapshot.iteration, snapshot.epoch, snapshot.loss, weights_to_wire(snapshot.parameters))


def snapshot_from_wire(wire: tuple) -> WeightSnapshot:
    iteration, epoch, loss, parameters = wire
    return WeightSnapshot(iteration, epoch, loss, weights_from_wire(parameters))


class HostedRuns:
    """The runs of one server trainer, trained on request, read by index."""

    def __init__(self, configs: list[TrainConfig], names: list[str], data_root: str | None):
        """`data_root`: the server's LENET_VIZ_DATA (None: unset), so that the runs read the
        files the server checked, even when it was set after this process started."""
        if data_root is None:
            os.environ.pop("LENET_VIZ_DATA", None)
        else:
            os.environ["LENET_VIZ_DATA"] = data_root
        # Its own one-slot queue, never waited on: the server's queue decided that it trains.
        self.trainer = Trainer(configs, names=names, slots=RunSlots(1))
        self._cut = threading.Event()  # set by `cut_short`, taken by the chunk it ends

    # -- training ----------------------------------------------------------------------------
    def begin(self) -> None:
        self.trainer.begin()

    def advance(self, batches: int | None = None, seconds: float = CHUNK_SECONDS) -> bool:
        """Train `batches` ticks, or for about `seconds` when None, or until `cut_short`;
        False once every run ended."""
        deadline = time.monotonic() + seconds
        done = 0
        while self.trainer.tick():
            done += 1
            if self._cut.is_set():
                self._cut.clear()
                return True
            if done >= batches if batches is not None else time.monotonic() >= deadline:
                return True
        return False

    def cut_short(self) -> None:
        """End the chunk being trained after its current batch (the server's Pause or Stop,
        called beside the running `advance`). Between chunks, it ends the next one after its
        first batch: a batch, not a chunk, is what a control waits for."""
        self._cut.set()

    def fail(self, message: str) -> None:
        self.trainer.fail(message)

    def finish(self, stopped: bool) -> dict:
        """End the runs (their final test) and hand everything they made to the server."""
        for run in self.trainer.runs:
            run.finish(stopped)
        return {
            "train_seconds": self.trainer.train_seconds,
            "runs": [self._whole_run(index) for index in range(len(self.trainer.runs))],
        }

    def _whole_run(self, index: int) -> dict:
        run = self.trainer.runs[index]
        return {
            **self.run_state(index),
            "history": run.history_snapshot(),
            "weights": self.weights(index),
            "snapshots": self.replay_snapshots(index),
        }

    # -- reads, as a page makes them ------------------------------------------------------
    def snapshot(self, histories: bool = True):
        return self.trainer.snapshot(histories)

    def run_state(self, index: int) -> dict:
        run = self.trainer.runs[index]
        state = {name: getattr(run, name) for name in RUN_FIELDS}
        state["final"] = dict(state["final"])
        return state

    def history_snapshot(self, index: int):
        return self.trainer.runs[index].history_snapshot()

    def history_since(self, index: int, start: int):
        return self.trainer.runs[index].history_since(start)

    def weights(self, index: int) -> dict[str, np.ndarray]:
        """The run's weights now, consistent (between two steps)."""
        return weights_to_wire(self.trainer.runs[index].model_snapshot().state_dict())

    def live_snapshot(self, index: int) -> tuple:
        return snapshot_to_wire(self.trainer.runs[index].live_snapshot())

    def replay_snapshots(self, index: int) -> list[tuple]:
        return [snapshot_to_wire(s) for s in self.trainer.runs[index].replay.snapshots()]

    def pid(self) -> int:
        """The process the runs train in."""
        return os.getpid()

    def replay_count(self, index: int) -> int:
        return len(self.trainer.runs[index].replay)
