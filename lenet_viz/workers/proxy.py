"""A Trainer whose runs train in another process: what the pages hold, with the same methods.

`RemoteTrainer` is a `lenet_viz.training.runner.Trainer`: the same controls (start, pause, resume,
step, stop, touch), statuses, queue (`RUN_SLOTS`, with its give-way rule) and registry of live
trainers, all in the server. Only the training moves: once the run has a slot, its thread
places the runs on a backend (a worker process of the pool, or a Ray actor) and asks it to
advance a short chunk at a time, checking the controls between chunks. Its `runs` are
`RemoteRun`s, read like `TrainingRun`s. When the run ends, everything it made (weights,
history, replay snapshots, final test) comes back to the server, and the worker lets go of it.

A worker that dies ends only its own runs, with "the training process stopped: ..."; the
slot is freed as for any other end.
"""

from __future__ import annotations

import contextlib
import copy
import os
import time

from lenet_viz.nets.model import LeNetBase
from lenet_viz.training.config import TrainConfig
from lenet_viz.training.history import History
from lenet_viz.training.loop import network_inputs
from lenet_viz.training.replay import WeightSnapshot
from lenet_viz.training.run import TrainingRun, full_evaluation
from lenet_viz.training.runner import Trainer, TrainerSnapshot
from lenet_viz.training.slots import RunSlots
from lenet_viz.workers.host import (
    CHUNK_SECONDS,
    snapshot_from_wire,
    weights_from_wire,
)
from lenet_viz.workers.pool import WorkerLost

STOPPED_PROCESS = "the training process stopped: {}"


class RemoteTrainer(Trainer):
    """A Trainer whose runs train on `backend` (anything with `host(configs, names, data_root)`:
    the worker pool, or Ray)."""

    def __init__(
        self,
        configs: TrainConfig | list[TrainConfig],
        *,
        backend,
        names: list[str] | None = None,
        slots: RunSlots | None = None,
    ):
        super().__init__(configs, names=names, slots=slots)
        self.backend = backend
        self.remote = None  # the backend's handle, once placed
        self._settled = False  # the results are back in this process
        self.runs = [RemoteRun(self, index, run) for index, run in enumerate(self.runs)]

    def hosted(self):
        """The handle while the runs live on the backend, else None."""
        remote = self.remote
        if remote is None or remote.lost is not None or self._settled:
            return None
        return remote

    # -- the loop, in the server: slots and controls here, batches there -------------------
    def _run(self) -> None:
        if not self._wait_for_turn():
            self._finish(stopped=True)
            return
        stopped = False
        try:
            configs = [run.config for run in self.runs]
            names = [run.name for run in self.runs]
            data_root = os.environ.get("LENET_VIZ_DATA")
            self.remote = self.backend.host(configs, names, data_root)
            self.remote.call("begin")
            self._started_at = time.perf_counter()
            while True:
                with self._cond:
                    # One batch when stepping, and first (what Start's settle waits for: the
                    # page drawn after the click shows the run under way, not a whole chunk on).
                    one = self._step_budget > 0 or not self._progressed
                if not self._may_continue():
                    stopped = True
                    break
                more = self.remote.call("advance", 1 if one else None, CHUNK_SECONDS)
                self._mark_progress()
                if not more:
                    break
        except WorkerLost as lost:
            self.fail(STOPPED_PROCESS.format(lost))
        except Exception as error:  # the training's own error, raised in the worker
            self.fail(f"training failed: {error}")
        finally:
            with self._cond:
                self._free_slot()
        self._finish(stopped)

    # -- controls: as a Trainer's, and the worker's chunk cut short --------------------------
    def pause(self, settle_seconds: float = 0.0) -> None:
        """As `Trainer.pause`, and the worker ends its chunk after the batch it is training:
        the run pauses a batch after the click, not up to a chunk (CHUNK_SECONDS) later."""
        with self._cond:
            self._paused = True  # before the chunk ends: the loop then goes no further
        self._cut_chunk_short()
        super().pause(settle_seconds)

    def stop(self) -> None:
        super().stop()
        self._cut_chunk_short()

    def _cut_chunk_short(self) -> None:
        remote = self.hosted()
        if remote is not None:
            # Best effort: without it the run pauses or stops at the chunk's end, and the loop
            # says how a lost worker ended (or the runs came back meanwhile: no handle left).
            with contextlib.suppress(WorkerLost, EOFError, OSError, AttributeError):
                remote.signal("cut_short")

    def fail(self, message: str) -> None:
        remote = self.hosted()
        if remote is not None:
            with contextlib.suppress(WorkerLost):  # a dead worker: its runs end here anyway
                remote.call("fail", message)
        super().fail(message)

    def _finish(self, stopped: bool) -> None:
        if self.remote is None:  # stopped before it trained: nothing left this process
            super()._finish(stopped)
            return
        remote = self.hosted()
        if remote is not None:
            try:
                results = remote.call("finish", stopped)
                for run, state in zip(self.runs, results["runs"], strict=True):
                    run.settle(state)
                self._train_seconds = results["train_seconds"]  # as the worker timed it
                self._settled = True
                remote.release()
            except WorkerLost as lost:
                self.fail(STOPPED_PROCESS.format(lost))
        self._conclude(stopped)

    # -- reads ----------------------------------------------------------------------------
    def snapshot(self, histories: bool = True) -> TrainerSnapshot:
        remote = self.hosted()
        if remote is None:
            return super().snapshot(histories)
        try:
            snapshot = remote.call("snapshot", histories)
        except WorkerLost:
            return super().snapshot(histories)
        snapshot.status, snapshot.message = self.status, self.message
        snapshot.queue_position = self.slots.position(self)
        if self.done:
            snapshot.eta_seconds = None
        return snapshot


def _run_field(name: str) -> property:
    """A field of a run: read from the worker while it trains there, else from this process."""

    def read(self: RemoteRun):
        state = self.remote_fields()
        return state[name] if state is not None else getattr(self.local, name)

    def write(self: RemoteRun, value) -> None:
        setattr(self.local, name, value)

    return property(read, write)


class RemoteRun:
    """One run of a RemoteTrainer, read like a `lenet_viz.training.run.TrainingRun`.

    `local` is the run as this process knows it: its config and a net of its shape before
    training, everything the run made once it has ended.
    """

    status = _run_field("status")
    message = _run_field("message")
    iteration = _run_field("iteration")
    total_iterations = _run_field("total_iterations")
    iterations_per_epoch = _run_field("iterations_per_epoch")
    images_seen = _run_field("images_seen")
    testing = _run_field("testing")
    final = _run_field("final")

    def __init__(self, trainer: RemoteTrainer, index: int, local: TrainingRun):
        self.trainer, self.index, self.local = trainer, index, local
        self.name, self.config = local.name, local.config
        self.replay = RemoteReplay(self)

    @property
    def model(self) -> LeNetBase:
        """The net as this process knows it: its shape (`.config`) always, its trained weights
        once the run has ended (`model_snapshot()` reads them at any time)."""
        return self.local.model

    def ask(self, method: str, *args):
        """`method` on the worker while the run trains there; None when it does not."""
        remote = self.trainer.hosted()
        if remote is None:
            return None
        try:
            return remote.call(method, self.index, *args)
        except WorkerLost:
            return None

    def remote_fields(self) -> dict | None:
        """The run's fields (RUN_FIELDS) as the worker has them now; None when not there."""
        return self.ask("run_state")

    # -- what a page reads ------------------------------------------------------------------
    def history_snapshot(self) -> History:
        history = self.ask("history_snapshot")
        return history if history is not None else self.local.history_snapshot()

    def history_since(self, start: int) -> History:
        history = self.ask("history_since", start)
        return history if history is not None else self.local.history_since(start)

    def model_snapshot(self) -> LeNetBase:
        weights = self.ask("weights")
        if weights is None:
            return self.local.model_snapshot()
        model = copy.deepcopy(self.local.model)
        model.load_state_dict(weights_from_wire(weights))
        return model.eval()

    def live_snapshot(self) -> WeightSnapshot:
        wire = self.ask("live_snapshot")
        return snapshot_from_wire(wire) if wire is not None else self.local.live_snapshot()

    def evaluate_full(self) -> dict:
        """As TrainingRun.evaluate_full, on this process's copy of the test set only."""
        config = self.config
        inputs, labels = network_inputs(
            config.dataset, self.local.model.config, False, config.test_limit
        )
        return full_evaluation(self.model_snapshot(), inputs, labels)

    # -- the end -------------------------------------------------------------------------------
    def finish(self, stopped: bool) -> None:
        """A run stopped before it trained: as a TrainingRun."""
        self.local.finish(stopped)

    def settle(self, state: dict) -> None:
        """Take in everything the run made (the worker's `HostedRuns.finish`)."""
        local = self.local
        with local.lock:
            local.model.load_state_dict(weights_from_wire(state["weights"]))
            local.history = state["history"]
            for name in ("status", "message", "iteration", "images_seen", "final"):
                setattr(local, name, state[name])
            local.iterations_per_epoch = state["iterations_per_epoch"]
            local.total_iterations = state["total_iterations"]
        self.replay.kept = tuple(snapshot_from_wire(s) for s in state["snapshots"])


class RemoteReplay:
    """A remote run's replay snapshots, read like a `lenet_viz.training.replay.SnapshotRecorder`."""

    def __init__(self, run: RemoteRun):
        self.run = run
        self.kept: tuple[WeightSnapshot, ...] = ()  # once the run has ended

    def snapshots(self) -> tuple[WeightSnapshot, ...]:
        wire = self.run.ask("replay_snapshots")
        return tuple(snapshot_from_wire(s) for s in wire) if wire is not None else self.kept

    def __len__(self) -> int:
        count = self.run.ask("replay_count")
        return count if count is not None else len(self.kept)
