"""Beyond one machine: each trainer's runs as a Ray actor on a cluster (`LENET_VIZ_RAY_ADDRESS`).

Ray (https://docs.ray.io) runs actors, objects with methods, on any node of a cluster; the
server's `RemoteTrainer` calls the actor's methods as it calls a local worker's. The queue is
the cluster's capacity: a run asks for `LENET_VIZ_RAY_CPUS` CPUs (1 by default), and as many
runs train at once as the cluster has CPUs for; the others wait in the server's queue, which
the pages show as today.

Every node must hold the same checkout at the same path, with `make setup data` done (the
actors import `lenet_viz` from it and read the data next to it).
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from lenet_viz.training.config import TrainConfig
from lenet_viz.training.slots import RunSlots
from lenet_viz.workers.host import HostedRuns
from lenet_viz.workers.pool import WorkerLost

CHECKOUT = Path(__file__).resolve().parents[2]  # the folder holding lenet_viz/


def cpus_per_run() -> float:
    return float(os.environ.get("LENET_VIZ_RAY_CPUS", 1))


class RayBackend:
    """Connects to the cluster at `address` once; `host` starts one actor per trainer."""

    def __init__(self, address: str, cpus: float | None = None):
        import ray

        self.ray = ray
        self.cpus = cpus if cpus is not None else cpus_per_run()
        ray.init(
            address=address,
            ignore_reinit_error=True,
            logging_level=logging.WARNING,
            log_to_driver=False,
            runtime_env={"env_vars": {"PYTHONPATH": str(CHECKOUT)}},
        )
        self.actor = ray.remote(num_cpus=self.cpus, max_restarts=0)(HostedRuns)
        self.slots = RunSlots(self.capacity())

    def capacity(self) -> int:
        """How many runs the cluster trains at once."""
        return max(1, int(self.ray.cluster_resources().get("CPU", 1) // self.cpus))

    def host(
        self, configs: list[TrainConfig], names: list[str], data_root: str | None
    ) -> RayHandle:
        return RayHandle(self.ray, self.actor.remote(configs, names, data_root))

    def shutdown(self) -> None:
        self.ray.shutdown()


class RayHandle:
    """The server's handle on one trainer's actor: `call(method, *args)`, as a worker's."""

    def __init__(self, ray, actor):
        self.ray, self.actor = ray, actor
        self.lost: str | None = None

    def call(self, method: str, *args):
        if self.lost is not None:
            raise WorkerLost(self.lost)
        try:
            return self.ray.get(getattr(self.actor, method).remote(*args))
        except self.ray.exceptions.RayActorError as error:
            self.lost = f"its Ray actor died ({type(error).__name__}). Start the run again"
            raise WorkerLost(self.lost) from error
        except self.ray.exceptions.RayTaskError as error:  # the training's own error
            raise (error.cause or error) from None

    def signal(self, method: str, *args) -> None:
        """`method` without waiting for it: an actor runs its calls one at a time, so it runs
        after the `advance` under way (which then ends in its own time)."""
        if self.lost is not None:
            raise WorkerLost(self.lost)
        getattr(self.actor, method).remote(*args)

    def release(self) -> None:
        self.ray.kill(self.actor)
        self.lost = "released"
