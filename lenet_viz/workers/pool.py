"""The embedded pool: training worker processes on this machine, started when first needed.

Each worker is a process of its own (multiprocessing's "spawn": a fresh interpreter, nothing
inherited from the server's threads) at a lower CPU priority than the web server, serving its
`HostedRuns` through a `multiprocessing.managers` server on a private socket. The pool holds
`LENET_VIZ_MAX_RUNS` workers at most (the size of the run queue), each with its share of the
cores for torch. A worker that dies (killed, out of memory, a crash in a native op) takes only
the runs it hosts: their calls raise `WorkerLost` saying how it ended, and a new worker takes
its place.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import signal
import threading
from multiprocessing.connection import Connection
from multiprocessing.managers import BaseManager

from lenet_viz.training.config import TrainConfig
from lenet_viz.workers.host import HostedRuns

# Workers run at this niceness (0 is the server's): a page's request comes before a batch.
WORKER_NICENESS = int(os.environ.get("LENET_VIZ_WORKER_NICENESS", 10))
START_TIMEOUT_SECONDS = 120  # importing torch in a fresh process on a busy machine


class WorkerLost(RuntimeError):
    """The process (or Ray actor) that trained a run is gone; the text says how it ended."""


class WorkerManager(BaseManager):
    """Serves `HostedRuns` objects in a worker, and creates proxies of them in the server."""


WorkerManager.register("HostedRuns", HostedRuns)


def serve(lifeline: Connection, authkey: bytes, threads: int) -> None:
    """A worker process: lower priority, its share of the cores, serving until the server goes."""
    import torch

    os.nice(WORKER_NICENESS)
    torch.set_num_threads(threads)
    server = WorkerManager(authkey=authkey).get_server()
    lifeline.send(server.address)
    threading.Thread(target=_exit_with_server, args=(lifeline,), daemon=True).start()
    threading.Thread(target=get_ready, name="worker-get-ready", daemon=True).start()
    server.serve_forever()


def get_ready() -> None:
    """While the worker waits for its first run: torch's optimizer machinery, and MNIST's
    network inputs opened in this process as the nets read them (the modern net padded, or
    resized as in the notebook; the 1998 net), which a first run would otherwise wait for: a
    second for the whole split, a tenth of one for a Medium run's digits (issue 22: Start
    shows the first points at once). Only those the machine shares: where the data folder is
    read-only, each would be a copy of 286 MB in every worker. Nothing to read is not an error
    here."""
    from lenet_viz.data.datasets import DataError
    from lenet_viz.data.shared_inputs import shareable
    from lenet_viz.nets.config import ModelConfig
    from lenet_viz.training.loop import cached_inputs, warm_up_optimizers

    warm_up_optimizers()
    for model in (ModelConfig(), ModelConfig(resize="scale"), ModelConfig(arch="faithful")):
        for train in (True, False):
            preprocessing = ("mnist", train, model.resize, model.input_scaling)
            if shareable(*preprocessing):
                with contextlib.suppress(DataError):
                    cached_inputs(*preprocessing)


def _exit_with_server(lifeline: Connection) -> None:
    """End this worker when the server's end of the pipe closes (the server exited or died)."""
    try:
        while True:
            lifeline.recv()
    except (EOFError, OSError):
        os._exit(0)


def how_it_ended(exitcode: int | None) -> str:
    """What a learner reads after "the training process stopped: "."""
    if exitcode is None:
        return "it stopped answering"
    if exitcode < 0:
        name = signal.Signals(-exitcode).name
        if name == "SIGKILL":
            return (
                "it was killed (SIGKILL; on a full machine the out-of-memory killer does this). "
                "Start the run again, or choose a smaller run size"
            )
        return f"it ended on signal {name}. Start the run again"
    return f"it exited with code {exitcode}. Start the run again"


class Worker:
    """One worker process and the manager connection to it."""

    def __init__(self, threads: int):
        context = multiprocessing.get_context("spawn")
        here, there = context.Pipe()
        authkey = os.urandom(32)
        self.process = context.Process(
            target=serve, args=(there, authkey, threads), name="lenet-worker", daemon=True
        )
        self.process.start()
        there.close()
        try:
            if not here.poll(START_TIMEOUT_SECONDS):
                raise WorkerLost(f"a new one did not start in {START_TIMEOUT_SECONDS} s")
            address = here.recv()
        except (EOFError, OSError) as error:
            raise WorkerLost(f"a new one failed to start: {self.ended()}") from error
        except WorkerLost:
            self.process.kill()
            raise
        self._lifeline = here  # kept open: the worker exits when it closes
        self.manager = WorkerManager(address=address, authkey=authkey)
        self.manager.connect()
        self.hosted = 0  # trainers placed here and not yet released

    @property
    def pid(self) -> int | None:
        return self.process.pid

    @property
    def alive(self) -> bool:
        return self.process.is_alive()

    def still_alive(self, grace_seconds: float = 2.0) -> bool:
        """Whether the process lives on after its connection failed. A killed process closes
        its sockets a moment before its parent can see it has ended: wait for that moment."""
        self.process.join(timeout=grace_seconds)
        return self.process.is_alive()

    def ended(self) -> str:
        """How the process ended (waits a moment for the exit status of a dying one)."""
        self.process.join(timeout=2)
        return how_it_ended(self.process.exitcode)

    def stop(self) -> None:
        self.process.kill()
        self.process.join(timeout=5)


class WorkerHandle:
    """The server's handle on one trainer's runs in a worker: `call(method, *args)`."""

    def __init__(self, pool: WorkerPool, worker: Worker, runs):
        self.pool, self.worker, self.runs = pool, worker, runs
        self.lost: str | None = None  # how the worker ended, once it has

    def call(self, method: str, *args):
        if self.lost is not None:
            raise WorkerLost(self.lost)
        try:
            return getattr(self.runs, method)(*args)
        except (EOFError, OSError) as error:
            if self.worker.still_alive():  # an error of the training itself, raised there
                raise
            self.lost = self.worker.ended()
            self.pool.replace(self.worker)
            raise WorkerLost(self.lost) from error

    def signal(self, method: str, *args) -> None:
        """`method`, called from another thread than the one waiting in `advance`: the
        worker serves each thread's connection on a thread of its own, so it runs at once."""
        self.call(method, *args)

    def release(self) -> None:
        """The trainer has taken what it needs: the worker forgets its runs."""
        self.runs = None
        self.pool.released(self.worker)


def torch_threads() -> int:
    """The threads torch may use in this process: the server's own setting, which follows
    OMP_NUM_THREADS and the cores this process may run on (taskset, a container's limit).
    Not `os.cpu_count()`: two threads on one allowed core trained 2.6x slower (each waits
    for the other at every operation)."""
    import torch

    return torch.get_num_threads()


class WorkerPool:
    """At most `size` worker processes, started when a run first needs one."""

    def __init__(self, size: int):
        self.size = max(1, size)
        self.threads = max(1, torch_threads() // self.size)
        self._cond = threading.Condition()
        self._workers: list[Worker] = []
        self._starting = 0  # workers being started (outside the lock)

    def host(
        self, configs: list[TrainConfig], names: list[str], data_root: str | None
    ) -> WorkerHandle:
        """Place a trainer's runs on the least busy worker (starting one if the pool has room)."""
        worker = self._least_busy()
        try:
            runs = worker.manager.HostedRuns(configs, names, data_root)
        except (EOFError, OSError) as error:
            self.released(worker)
            raise WorkerLost(worker.ended()) from error
        return WorkerHandle(self, worker, runs)

    def _least_busy(self) -> Worker:
        """An idle worker, else a new one if the pool has room, else the least busy one (or
        the one being started, when none is left); counted as hosting one more trainer."""
        with self._cond:
            while True:
                self._workers = [w for w in self._workers if w.alive]
                idle = [w for w in self._workers if w.hosted == 0]
                if idle:
                    chosen = idle[0]
                elif len(self._workers) + self._starting < self.size:
                    chosen = self._start_one_locked()
                elif self._workers:
                    chosen = min(self._workers, key=lambda w: w.hosted)
                else:
                    self._cond.wait(timeout=1.0)  # the replacement of a dead worker is starting
                    continue
                chosen.hosted += 1
                return chosen

    def _start_one_locked(self) -> Worker:
        """Start a worker, letting go of the lock meanwhile (other runs go on being placed)."""
        self._starting += 1
        self._cond.release()
        try:
            worker = Worker(self.threads)
        finally:
            self._cond.acquire()
            self._starting -= 1
        self._workers.append(worker)
        self._cond.notify_all()
        return worker

    def warm(self) -> None:
        """Start a first worker in the background, if none runs or is starting: the first
        Start then does not wait the 2-3 s a new process takes to import torch."""
        with self._cond:
            if self._workers or self._starting:
                return
        threading.Thread(target=self._replace, name="lenet-worker-start", daemon=True).start()

    def released(self, worker: Worker) -> None:
        with self._cond:
            worker.hosted = max(0, worker.hosted - 1)

    def replace(self, dead: Worker) -> None:
        """Drop a dead worker and start its successor in the background."""
        with self._cond:
            if dead not in self._workers:
                return
            self._workers.remove(dead)
        threading.Thread(target=self._replace, name="lenet-worker-start", daemon=True).start()

    def _replace(self) -> None:
        with self._cond:
            if len(self._workers) + self._starting < self.size:
                with contextlib.suppress(WorkerLost):  # the next run that needs one tries again
                    self._start_one_locked()

    def pids(self) -> list[int]:
        """The process ids of the live workers (for tests and measurements)."""
        with self._cond:
            return [w.pid for w in self._workers if w.alive and w.pid is not None]

    def shutdown(self) -> None:
        with self._cond:
            workers, self._workers = self._workers, []
        for worker in workers:
            worker.stop()
