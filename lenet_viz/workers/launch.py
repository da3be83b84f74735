"""What a page's Start button calls: `start_run`, on the backend this server was set up with.

- `LENET_VIZ_RAY_ADDRESS` set (for example `127.0.0.1:6379` after `ray start --head`): each
  trainer's runs are a Ray actor on that cluster, and the queue is the cluster's capacity.
- `LENET_VIZ_WORKERS=0`: the runs train on a thread inside the server, as the CLI's do.
- otherwise (the default, no setup): worker processes on this machine, `LENET_VIZ_MAX_RUNS`
  of them at most, started with the first run.
"""

from __future__ import annotations

import os
import threading

from lenet_viz.training.config import TrainConfig
from lenet_viz.training.loop import warm_up_in_background
from lenet_viz.training.runner import Trainer, checked
from lenet_viz.training.slots import RUN_SLOTS, RunSlots
from lenet_viz.workers.pool import WorkerPool
from lenet_viz.workers.proxy import RemoteTrainer

_backend_lock = threading.Lock()
_backend = None


def in_server_threads() -> bool:
    """True when LENET_VIZ_WORKERS=0 asks for training on the server's own threads."""
    return os.environ.get("LENET_VIZ_WORKERS", "1").strip() == "0"


def ray_address() -> str:
    """LENET_VIZ_RAY_ADDRESS, or "" when the runs train on this machine."""
    return os.environ.get("LENET_VIZ_RAY_ADDRESS", "").strip()


def backend():
    """This server's backend, made on first use: the Ray cluster, or the worker pool."""
    global _backend
    with _backend_lock:
        if _backend is None:
            address = ray_address()
            if address:
                from lenet_viz.workers.ray_backend import RayBackend

                _backend = RayBackend(address)
            else:
                _backend = WorkerPool(RUN_SLOTS.capacity)
        return _backend


def warm_up() -> None:
    """Get ready for a first Start without making anyone wait: torch's optimizer machinery
    imported on a thread, and the worker pool's first process started (nothing for Ray or the
    server's own threads). A page that can start runs calls it when it is opened."""
    warm_up_in_background()
    if not in_server_threads() and not ray_address():  # connecting to Ray waits: not here
        backend().warm()


def backend_slots() -> RunSlots:
    """The queue runs wait in: the cluster's (Ray), else this server's `RUN_SLOTS`."""
    return getattr(backend(), "slots", RUN_SLOTS)


def start_run(
    configs: TrainConfig | list[TrainConfig],
    *,
    names: list[str] | None = None,
    paused: bool = False,
    slots: RunSlots | None = None,
) -> Trainer:
    """Check the settings and the data, then start a trainer whose runs train in a worker (or
    on the server's thread, or on Ray: see the module's doc). Runs given together train in
    lockstep in one worker: the same initial weights, the same batches.

    Raises ConfigError or DataError (both say what to change) before anything starts.
    """
    configs = checked(configs)
    if in_server_threads():
        return Trainer(configs, names=names, slots=slots).start(paused=paused)
    queue = slots if slots is not None else backend_slots()
    return RemoteTrainer(configs, backend=backend(), names=names, slots=queue).start(paused=paused)
