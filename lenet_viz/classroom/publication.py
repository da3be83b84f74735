"""What a finished run puts on a class board, and the outbox that publishes it even through a
database outage."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable
from pathlib import Path

from lenet_viz.classroom.board import ClassBoard, ClassroomError, RunRecord, TooManyRuns
from lenet_viz.classroom.database import StorageUnavailable
from lenet_viz.classroom.outbox_file import OutboxFile, Pending
from lenet_viz.classroom.workspace import Workspace
from lenet_viz.training.config import TrainConfig
from lenet_viz.training.run import TrainingRun
from lenet_viz.training.runner import Trainer
from lenet_viz.training.status import RunStatus


def flat_settings(config: TrainConfig) -> dict:
    """A run's settings as one flat dict (the net's beside the training's), as the board and
    its grids group them: {"arch": ..., "activation": ..., "lr": ..., ...}."""
    settings = config.to_dict()
    model = settings.pop("model")
    return {**model, **settings}


def run_curves(run: TrainingRun) -> dict[str, dict[str, list[float]]]:
    """The curves a board overlays: the batch loss and accuracy by iteration, and the train and
    test accuracy at each epoch's end (the board thins each to 512 points)."""
    history = run.history_snapshot()
    epochs = history.epochs
    return {
        "loss": {"x": list(history.iteration), "y": list(history.loss)},
        "batch_accuracy": {"x": list(history.iteration), "y": list(history.accuracy)},
        "train_accuracy": {
            "x": [e["epoch"] for e in epochs],
            "y": [e["train_acc"] for e in epochs],
        },
        "test_accuracy": {
            "x": [e["epoch"] for e in epochs],
            "y": [e["test_acc"] for e in epochs],
        },
    }


def run_record(run: TrainingRun, run_uid: str, duration_seconds: float) -> RunRecord:
    """A finished run as the board stores it."""
    epochs = run.history_snapshot().epochs
    return RunRecord(
        run_uid=run_uid,
        name=run.name,
        settings=flat_settings(run.config),
        curves=run_curves(run),
        train_accuracy=epochs[-1]["train_acc"] if epochs else None,
        test_accuracy=(run.final or {}).get("test_acc"),
        duration_seconds=duration_seconds,
        status=run.status,
    )


class Outbox:
    """Finished runs on their way to a board. A run the database could not take (it is down,
    or the student's per-minute limit is reached) waits here and is retried every
    `retry_seconds` on a background thread until it is stored; publishing is idempotent, so a
    retry never stores a run twice. One per server process. With a `path` (the app's:
    `outbox_path` of the board's database) the waiting runs are also kept in that file: an
    Outbox made on it again, in a server restarted during an outage, reads them back and
    retries them. Without one they wait in memory only."""

    def __init__(
        self, board: ClassBoard, retry_seconds: float = 3.0, path: Path | None = None
    ) -> None:
        self.board = board
        self.retry_seconds = retry_seconds
        self.file = None if path is None else OutboxFile(path)
        self._waiting: list[Pending] = []
        self._trying: list[Pending] = []  # taken out by a flush that is going on
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        if self.file is not None:
            self._waiting = self.file.read()  # left by a server that stopped during an outage
            if self._waiting:
                self._start()

    def publish(self, code: str, identity: str, record: RunRecord) -> bool:
        """Publish now if the database takes it (True), else keep it to retry (False). Other
        refusals (class closed or full, not joined) raise ClassroomError: retrying won't help."""
        try:
            self.board.publish(code, identity, record)
            return True
        except (StorageUnavailable, TooManyRuns):
            pending = Pending(code, identity, record)
            with self._lock:
                self._keep_on_disk(add=[pending])
                self._waiting.append(pending)
                self._start()
            return False

    def waiting(self, code: str | None = None) -> int:
        """How many runs wait (for one class, or all)."""
        with self._lock:
            pending = self._waiting + self._trying
            return sum(1 for p in pending if code is None or p.code == code)

    def flush(self) -> int:
        """Try every waiting run once; how many are still waiting. A run the board refuses for
        good (its class was closed or deleted meanwhile) is dropped."""
        with self._lock:
            batch, self._waiting = self._waiting, []
            self._trying = batch
        kept, done = [], []
        for pending in batch:
            try:
                self.board.publish(pending.code, pending.identity, pending.record)
                done.append(pending.key)
            except (StorageUnavailable, TooManyRuns):
                kept.append(pending)
            except ValueError:
                done.append(pending.key)  # ClassroomError: closed, full or deleted; nothing more
        with self._lock:
            self._keep_on_disk(remove=done)
            self._waiting = kept + self._waiting
            self._trying = []
            return len(self._waiting)

    def _keep_on_disk(self, add=(), remove=()) -> None:
        """The file follows the waiting runs; a disk that fails leaves them in memory only."""
        if self.file is not None:
            with contextlib.suppress(OSError):
                self.file.update(add=add, remove=remove)

    def _start(self) -> None:
        if self._thread is None or not self._thread.is_alive():
            self._thread = threading.Thread(target=self._retry, name="class-outbox", daemon=True)
            self._thread.start()

    def _retry(self) -> None:
        while True:
            self._wake.wait(self.retry_seconds)
            self._wake.clear()
            if self.flush() == 0:
                with self._lock:
                    if not self._waiting:
                        self._thread = None
                        return


PUBLISHED_STATUSES = (
    RunStatus.COMPLETED,
    RunStatus.DIVERGED,
)  # a stopped run did not finish its experiment


def trainer_records(trainer: Trainer) -> list[RunRecord]:
    """The records of a finished trainer's runs that finished (completed, or diverged: a result
    the class experiment wants too); each run's uid is the trainer's id and its index."""
    duration = trainer.train_seconds
    return [
        run_record(run, f"{trainer.id}-{index}", duration)
        for index, run in enumerate(trainer.runs)
        if run.status in PUBLISHED_STATUSES
    ]


class PublishWhenDone:
    """Keeps a trainer's finished runs the moment it finishes, from its own thread, whatever
    page the student is on: in the browser's own history (`workspace`, if given) and, in a
    class (`code`), on the class board within its poll period. `wanted` is asked at that moment
    (the student's "publish my runs" toggle)."""

    def __init__(
        self,
        trainer: Trainer,
        outbox: Outbox,
        code: str | None,
        identity: str,
        wanted: Callable[[], bool] = lambda: True,
        workspace: Workspace | None = None,
    ) -> None:
        self.trainer, self.outbox, self.code, self.identity = trainer, outbox, code, identity
        self.wanted, self.workspace = wanted, workspace
        self.error: str | None = None  # why the board refused the runs, if it did
        self.published = 0
        self.thread = threading.Thread(target=self._wait, name="class-publish", daemon=True)
        self.thread.start()

    def _wait(self) -> None:
        self.trainer.wait()
        records = trainer_records(self.trainer)
        if self.workspace is not None:
            for record in records:
                with contextlib.suppress(StorageUnavailable):  # a history, best effort
                    self.workspace.record_run(self.identity, record)
        if self.code is None or not self.wanted():
            return
        for record in records:
            try:
                self.outbox.publish(self.code, self.identity, record)
                self.published += 1
            except ClassroomError as error:
                self.error = str(error)
