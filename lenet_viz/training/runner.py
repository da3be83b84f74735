"""The driver of training runs: pausable, several runs in lockstep, on a background thread.

- `Trainer` drives one or more `TrainingRun`s (lenet_viz.training.run) on a background thread that
  never calls Streamlit. A UI or the CLI sends start, pause, resume, stop and step through
  thread-safe flags, and reads consistent snapshots (`TrainerSnapshot`) while the runs go on.
- `start_run` is what a page's Start button calls: check the settings and data, build, start.
- Trainers wait for a slot of the server's run queue (`lenet_viz.training.slots`); the live ones
  are registered by id (`trainer_is_live`).
"""

from __future__ import annotations

import os
import threading
import time
import uuid
import weakref
from collections.abc import Callable
from dataclasses import dataclass

from lenet_viz.data.datasets import Split, check_data
from lenet_viz.nets.config import ConfigError
from lenet_viz.nets.model import LeNetBase
from lenet_viz.training.config import TrainConfig
from lenet_viz.training.loop import warm_up_in_background
from lenet_viz.training.run import TrainingRun
from lenet_viz.training.slots import RUN_SLOTS, RunSlots
from lenet_viz.training.status import FINISHED_STATUSES, SLOT_STATUSES, RunStatus

# A run whose page has not been heard from (Trainer.touch) for this long, while a run whose page
# is open waits, gives its slot to that run and queues again: a closed tab must not block the
# class. Pages touch their trainers about once a second, so a live page stays far under it.
UNWATCHED_SECONDS = float(os.environ.get("LENET_VIZ_UNWATCHED_SECONDS", 6))

# The trainers alive in this process, by id. A page keeps its trainers' ids in the URL: after a
# server restart the ids are unknown here, so the page can tell the user the run was lost.
_LIVE_TRAINERS: weakref.WeakValueDictionary[str, Trainer] = weakref.WeakValueDictionary()


def trainer_is_live(trainer_id: str) -> bool:
    """Whether a trainer with this id exists in this server process."""
    return trainer_id in _LIVE_TRAINERS


@dataclass
class TrainerSnapshot:
    """What a UI needs to draw one poll, copied safely."""

    status: str
    message: str
    queue_position: int | None
    iteration: int
    total_iterations: int
    epoch: float
    images_per_second: float
    eta_seconds: float | None
    runs: list[dict]  # per run: name, status, message, iteration, history (a copy, or None)
    testing: bool = False  # a run is testing on the test set at the end of an epoch


class Trainer:
    """Drives one or more runs on a background thread, in lockstep, one batch per tick.

    Several runs built from the same seed start from the same weights (where shapes allow)
    and see the same batch order, so their curves grow together and differ only in what was
    chosen. Controls are thread-safe flags, honoured between batches:
    start, pause, resume, stop, and step (one batch while paused or before start).
    """

    def __init__(
        self,
        configs: TrainConfig | list[TrainConfig],
        *,
        train: Split | None = None,
        test: Split | None = None,
        models: list[LeNetBase | None] | None = None,
        names: list[str] | None = None,
        slots: RunSlots | None = None,
        on_event: Callable[[TrainingRun, str], None] | None = None,
    ):
        configs = [configs] if isinstance(configs, TrainConfig) else list(configs)
        if not configs:
            raise ConfigError("nothing to train: give at least one configuration")
        # torch.optim's first step imports slow machinery: the first trainer pays it on a thread
        # while its data loads, not in its first batch (loop.warm_up_optimizers).
        warm_up_in_background()
        models = models or [None] * len(configs)
        names = names or [None] * len(configs)
        self.runs = [
            TrainingRun(c, train=train, test=test, model=m, name=n)
            for c, m, n in zip(configs, models, names, strict=True)
        ]
        self.slots = slots if slots is not None else RUN_SLOTS
        self.id = uuid.uuid4().hex[:12]
        _LIVE_TRAINERS[self.id] = self
        self.on_event = on_event
        self.status = RunStatus.IDLE
        self.message = ""
        self._thread: threading.Thread | None = None
        self._cond = threading.Condition()
        self._paused = False
        self._stop = False
        self._step_budget = 0
        self._progressed = False  # the first batch has been trained (Start waits for it)
        self._started_at: float | None = None
        self._train_seconds = 0.0
        # Training slots: held only while training (see _wait_for_turn). `last_seen` is when a
        # page last showed this run (touch); None for runs no page watches (the CLI).
        self._holds_slot = False
        self._active: list = []  # (run, its steps()) of the runs still training
        self.last_seen: float | None = None
        self.notice = ""  # why the run is waiting, when it gave its slot away

    # -- controls ------------------------------------------------------------------------
    def start(self, paused: bool = False) -> Trainer:
        with self._cond:
            if self._thread is not None:
                return self
            self._paused = paused
            self.status = RunStatus.QUEUED
            self._thread = threading.Thread(target=self._run, name="lenet-trainer", daemon=True)
            self._thread.start()
        return self

    def pause(self, settle_seconds: float = 0.0) -> None:
        """Ask the run to pause after its current batch (in a worker too: RemoteTrainer.pause).
        With `settle_seconds`, wait up to that long until it has: a page that redraws right
        after the click then shows "Paused" at once, not at its next poll."""
        with self._cond:
            self._paused = True
            self._cond.notify_all()
            if settle_seconds > 0 and self._thread is not None:
                self._cond.wait_for(
                    lambda: self._step_budget or self.status not in SLOT_STATUSES,
                    timeout=settle_seconds,
                )

    def resume(self) -> None:
        with self._cond:
            self.notice = ""
            self._paused = False
            self._step_budget = 0
            self._cond.notify_all()

    def stop(self) -> None:
        with self._cond:
            self._stop = True
            self._cond.notify_all()

    def settle(self, seconds: float) -> bool:
        """Wait up to `seconds` for a started run to train its first batch (or to pause, end
        or fail): a page that redraws right after Start then shows the first points at once,
        not at its next poll. False if it had not (still queued, or a worker starting)."""
        with self._cond:
            return self._cond.wait_for(
                lambda: self._progressed or self.status not in SLOT_STATUSES, timeout=seconds
            )

    def _mark_progress(self) -> None:
        """Say the first batch is trained (wakes a `settle`)."""
        if not self._progressed:
            with self._cond:
                self._progressed = True
                self._cond.notify_all()

    def step(self, batches: int = 1) -> None:
        """Train `batches` batches, then stay paused (starts the thread paused if needed)."""
        if self._thread is None:
            self.start(paused=True)
        with self._cond:
            self._paused = True
            self._step_budget += batches
            self._cond.notify_all()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the thread ends; True if it has."""
        if self._thread is None:
            return True
        self._thread.join(timeout)
        return not self._thread.is_alive()

    def touch(self) -> None:
        """Say that a page showing this run is open (pages call it at every poll)."""
        self.last_seen = time.monotonic()

    @property
    def done(self) -> bool:
        return self.status in FINISHED_STATUSES

    def run_here(self) -> Trainer:
        """Train in the calling thread (the CLI), with the same controls and records."""
        with self._cond:
            self.status = RunStatus.QUEUED
            self._thread = threading.current_thread()
        self._run()
        return self

    # -- the loop --------------------------------------------------------------------------
    def _may_continue(self) -> bool:
        """Block while paused (unless a step is owed) or waiting for a slot; False once stop
        was asked."""
        if not self._wait_for_turn():
            return False
        with self._cond:
            if self._step_budget:
                self._step_budget -= 1
            return True

    # -- training slots: held only while training, given away when nobody watches ---------
    def _wait_for_turn(self) -> bool:
        """Wait until this run may train one more batch; False once stop was asked.

        A paused run holds no slot (a paused run, or a closed tab's paused run, must not make
        the class wait); a step while paused trains without one (one batch). Resume queues
        for a slot again. A run whose page is gone gives its slot to a waiting run whose page
        is open (`_should_give_way`), and queues again behind it.
        """
        while True:
            with self._cond:
                while self._paused and self._step_budget == 0 and not self._stop:
                    self._free_slot()
                    self.status = RunStatus.PAUSED
                    self._cond.notify_all()  # a pause(settle_seconds) waiting for this
                    self._cond.wait(timeout=0.5)
                if self._stop:
                    return False
                if self._step_budget:
                    self.status = RunStatus.RUNNING
                    return True
                if self._holds_slot and not self._should_give_way():
                    self.status = RunStatus.RUNNING
                    return True
                if self._holds_slot:
                    self._free_slot()
                    self.notice = (
                        "This run gave its training slot to a waiting run because its page "
                        "was not open; it goes on by itself when a slot frees up."
                    )
                self.status = RunStatus.QUEUED
            # Outside the lock: pause() and stop() must not wait for a slot.
            if self.slots.acquire(self, cancelled=self._leaves_queue):
                self._holds_slot = True

    def _leaves_queue(self) -> bool:
        return self._stop or (self._paused and self._step_budget == 0)

    def _free_slot(self) -> None:
        if self._holds_slot:
            self._holds_slot = False
            self.slots.release(self)

    def _should_give_way(self) -> bool:
        """True when a page watches this run no more while a run with a newer page waits.

        Relative to the waiter's page, not the clock: on a server so busy that every page
        polls late, nobody gives way. Runs no page ever touched (the CLI) never give way.
        """
        if self.last_seen is None:
            return False
        waiters = [owner for owner in self.slots.waiting() if owner is not self]
        if not waiters:
            return False
        now = time.monotonic()
        newest = max(getattr(owner, "last_seen", None) or now for owner in waiters)
        return newest - self.last_seen > UNWATCHED_SECONDS

    def _run(self) -> None:
        if not self._wait_for_turn():
            self._finish(stopped=True)
            return
        stopped = False
        try:
            self.begin()
            while True:
                if not self._may_continue():
                    stopped = True
                    break
                if not self.tick():
                    break
        except Exception as error:  # keep the weights and history; say what happened
            self.fail(f"training failed: {error}")
        finally:
            with self._cond:
                self._free_slot()
        self._finish(stopped)

    # -- one tick at a time: the thread above, or a worker process (lenet_viz.workers) ------
    def begin(self) -> None:
        """Load the runs' data and start their step generators."""
        for run in self.runs:
            run.load_data()
        self._active = [(run, run.steps()) for run in self.runs]
        self._started_at = time.perf_counter()

    def tick(self) -> bool:
        """One batch of each unfinished run, in lockstep; False once every run has ended."""
        tick = time.perf_counter()
        still = []
        for run, steps in self._active:
            event = next(steps, None)
            if event is None:
                continue
            still.append((run, steps))
            if self.on_event:
                self.on_event(run, event)
        self._train_seconds += time.perf_counter() - tick
        self._active = still
        self._mark_progress()
        return bool(still)

    def fail(self, message: str) -> None:
        """End in error with `message`; the runs that had not ended keep their weights and
        history and say the same."""
        self.status = RunStatus.ERROR
        self.message = message
        for run in self.runs:
            if run.status in (RunStatus.READY, RunStatus.RUNNING):  # not the runs that had ended
                run.status, run.message = RunStatus.ERROR, message

    def _finish(self, stopped: bool) -> None:
        for run in self.runs:
            run.finish(stopped)
        self._conclude(stopped)

    def _conclude(self, stopped: bool) -> None:
        """The trainer's status and message, from its runs' (unless it failed)."""
        if self.status == RunStatus.ERROR:
            return
        statuses = {run.status for run in self.runs}
        if stopped:
            self.status = RunStatus.STOPPED
        elif statuses == {RunStatus.DIVERGED}:
            self.status = RunStatus.DIVERGED
        else:
            self.status = RunStatus.COMPLETED
        messages = [f"{run.name}: {run.message}" for run in self.runs if run.message]
        self.message = "; ".join(messages) if len(self.runs) > 1 else self.runs[0].message

    # -- safe reads ------------------------------------------------------------------------
    @property
    def train_seconds(self) -> float:
        """Seconds spent training so far (waits in the queue and pauses not counted)."""
        return self._train_seconds

    @property
    def images_per_second(self) -> float:
        images = sum(run.images_seen for run in self.runs)
        return images / self._train_seconds if self._train_seconds > 0 else 0.0

    def snapshot(self, histories: bool = True) -> TrainerSnapshot:
        """Progress and, with `histories`, a copy of each run's whole history. A live view
        passes histories=False and reads only the new records (`TrainingRun.history_since`)."""
        lead = max(self.runs, key=lambda r: r.total_iterations)
        iteration, total = lead.iteration, lead.total_iterations
        ips = self.images_per_second
        remaining_images = sum(
            max(0, r.total_iterations - r.iteration) * r.config.batch_size
            for r in self.runs
            if r.status == RunStatus.RUNNING
        )
        eta = remaining_images / ips if ips > 0 and not self.done else None
        runs = [
            {
                "name": run.name,
                "status": run.status,
                "message": run.message,
                "iteration": run.iteration,
                "total_iterations": run.total_iterations,
                "history": run.history_snapshot() if histories else None,
                "final": dict(run.final),
            }
            for run in self.runs
        ]
        return TrainerSnapshot(
            status=self.status,
            message=self.message,
            queue_position=self.slots.position(self),
            iteration=iteration,
            total_iterations=total,
            epoch=iteration / lead.iterations_per_epoch if lead.iterations_per_epoch else 0.0,
            images_per_second=ips,
            eta_seconds=eta,
            runs=runs,
            testing=any(run.testing for run in self.runs),
        )


def start_run(
    configs: TrainConfig | list[TrainConfig],
    *,
    names: list[str] | None = None,
    paused: bool = False,
    slots: RunSlots | None = None,
) -> Trainer:
    """Check the settings and the data, then start a Trainer on its thread (paused: waiting for
    step() or resume()). What a Start button calls.

    Raises ConfigError or DataError (both say what to change) before anything starts. The runs
    read their dataset's first train_limit / test_limit digits (the first config's dataset).
    """
    return Trainer(checked(configs), names=names, slots=slots).start(paused=paused)


def checked(configs: TrainConfig | list[TrainConfig]) -> list[TrainConfig]:
    """The configs as a list, each validated, their dataset on disk (ConfigError, DataError)."""
    configs = [configs] if isinstance(configs, TrainConfig) else list(configs)
    for config in configs:
        config.validate()
    if configs:
        check_data(configs[0].dataset)
    return configs
