"""The statuses of a run and of the Trainer that drives runs: one enum for the library and the UI.

A `TrainingRun` goes ready -> running -> completed, stopped, diverged or error. A `Trainer` goes
idle -> queued (waiting for a slot) -> running <-> paused -> one of the finished statuses. Being a
`StrEnum`, a status compares equal to its text and is stored as text (in snapshots, checkpoints,
CSV files).
"""

from __future__ import annotations

from enum import StrEnum


class RunStatus(StrEnum):
    IDLE = "idle"  # a Trainer made but not started
    READY = "ready"  # a run that has not trained a batch yet
    QUEUED = "queued"  # waiting for a training slot
    RUNNING = "running"
    PAUSED = "paused"
    COMPLETED = "completed"
    STOPPED = "stopped"
    DIVERGED = "diverged"
    ERROR = "error"

    @property
    def finished(self) -> bool:
        return self in FINISHED_STATUSES

    @property
    def active(self) -> bool:
        return self in ACTIVE_STATUSES


ACTIVE_STATUSES = frozenset({RunStatus.QUEUED, RunStatus.RUNNING, RunStatus.PAUSED})
SLOT_STATUSES = frozenset({RunStatus.QUEUED, RunStatus.RUNNING})  # waiting for or holding a slot
FINISHED_STATUSES = frozenset(
    {RunStatus.COMPLETED, RunStatus.STOPPED, RunStatus.DIVERGED, RunStatus.ERROR}
)
