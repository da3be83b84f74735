"""The server's run queue: at most a few trainers train at once, the others wait their turn.

`RUN_SLOTS` is the queue every Trainer of this process shares (`LENET_VIZ_MAX_RUNS`, or one
run per two cores).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable


class RunSlots:
    """At most `capacity` trainers train at once on one server; the rest wait in a FIFO queue."""

    def __init__(self, capacity: int):
        self.capacity = max(1, capacity)
        self._cond = threading.Condition()
        self._running: list[object] = []
        self._queue: list[object] = []

    def acquire(self, owner: object, cancelled: Callable[[], bool] = lambda: False) -> bool:
        """Wait for a slot; False if `cancelled()` became true while waiting."""
        with self._cond:
            self._queue.append(owner)
            while not (self._queue[0] is owner and len(self._running) < self.capacity):
                if cancelled():
                    self._queue.remove(owner)
                    self._cond.notify_all()
                    return False
                self._cond.wait(timeout=0.1)
            self._queue.pop(0)
            self._running.append(owner)
            self._cond.notify_all()
            return True

    def release(self, owner: object) -> None:
        with self._cond:
            if owner in self._running:
                self._running.remove(owner)
            self._cond.notify_all()

    def position(self, owner: object) -> int | None:
        """1-based place in the queue, or None when not waiting."""
        with self._cond:
            return self._queue.index(owner) + 1 if owner in self._queue else None

    def counts(self) -> tuple[int, int]:
        with self._cond:
            return len(self._running), len(self._queue)

    def waiting(self) -> list[object]:
        """The owners waiting for a slot, first in line first (a copy)."""
        with self._cond:
            return list(self._queue)


def default_capacity() -> int:
    """LENET_VIZ_MAX_RUNS, or one run per two cores."""
    configured = os.environ.get("LENET_VIZ_MAX_RUNS")
    if configured:
        return max(1, int(configured))
    return max(1, (os.cpu_count() or 2) // 2)


RUN_SLOTS = RunSlots(default_capacity())
