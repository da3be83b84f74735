"""Training in worker processes (issue 21): what it costs the run, the server, the memory.

`python -m benchmarks.workers [--quick]` prints a table; `make bench` runs it as a section.
This process plays the web server, without a browser: it starts the runs as a page does
(`RemoteTrainer` on a pool of its own) and polls them as the live view does
(`LiveView.poll`: `snapshot(histories=False)`, then `history_since(k)`, every 0.5 s).

- throughput: the run's images/s (as the page shows it, measured by the worker) against the
  library's `Trainer.run_here()` in a process of the same niceness and torch threads;
- the server's CPU: this process's CPU time (every poll and the run's control thread) against
  the worker's, while the run trains; and one poll's CPU time, early and late in the run;
- memory: the RSS (and PSS: shared pages divided among the processes mapping them) of this
  process and of each worker while two runs of the whole training set train at once, with the
  training set mapped from one file (lenet_viz.data.shared_inputs);
- a worker killed with SIGKILL mid-run: how long until its run says so, and until the next run
  trains its first batch (with another worker idle, and as the only worker: the next run then
  waits for its replacement).

A shared machine's other work moves wall-clock figures; the CPU-time ones stay put.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import signal
import statistics
import time
from pathlib import Path

from lenet_viz.figures.live import LiveView
from lenet_viz.training.config import TrainConfig
from lenet_viz.training.runner import Trainer
from lenet_viz.training.slots import RunSlots
from lenet_viz.workers.pool import WORKER_NICENESS, WorkerPool
from lenet_viz.workers.proxy import RemoteTrainer

POLL_SECONDS = 0.5
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
FULL = {"train_limit": None, "epochs": 1}
QUICK = {"train_limit": 2_000, "epochs": 1}


def process_cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (all its threads)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def worker_cpu_seconds(pid: int, last: float) -> float:
    """The worker's CPU seconds now, or `last` if its process has ended."""
    try:
        return process_cpu_seconds(pid)
    except (FileNotFoundError, ProcessLookupError):
        return last


def memory_mb(pid: int) -> dict[str, float]:
    """RSS and PSS of a process, in MB (PSS shares each shared page among its mappers)."""
    values = {}
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
        name, _, rest = line.partition(":")
        if name in ("Rss", "Pss"):
            values[name.lower()] = int(rest.split()[0]) / 1024
    return values


def _library_run(config: TrainConfig, threads: int, results) -> None:
    import torch

    os.nice(WORKER_NICENESS)
    torch.set_num_threads(threads)
    started = process_cpu_seconds(os.getpid())
    trainer = Trainer(config, slots=RunSlots(1)).run_here()
    results.put(
        {
            "images_per_second": trainer.images_per_second,
            "cpu_seconds": process_cpu_seconds(os.getpid()) - started,
        }
    )


def library_alone(config: TrainConfig, threads: int) -> dict:
    """`Trainer.run_here()` in a fresh process at the workers' niceness and threads."""
    context = multiprocessing.get_context("spawn")
    results = context.Queue()
    process = context.Process(target=_library_run, args=(config, threads, results))
    process.start()
    measured = results.get()
    process.join()
    return measured


def watched_run(pool: WorkerPool, config: TrainConfig) -> dict:
    """One run in a worker, polled by a live view every 0.5 s until it ends."""
    trainer = RemoteTrainer(config, backend=pool, slots=RunSlots(1)).start()
    while trainer.remote is None or trainer.runs[0].iteration == 0:
        time.sleep(0.05)
    worker = trainer.remote.call("pid")  # a worker process, or a Ray actor's on this machine
    server_before, worker_before = process_cpu_seconds(os.getpid()), process_cpu_seconds(worker)
    view, polls = LiveView(trainer), []
    memory = {}
    worker_now = worker_before
    while not trainer.done:
        started = time.thread_time()
        view.poll(trainer)
        polls.append((time.thread_time() - started) * 1000)
        if len(polls) == 10:
            memory = {"server": memory_mb(os.getpid()), "worker": memory_mb(worker)}
        worker_now = worker_cpu_seconds(worker, worker_now)
        time.sleep(POLL_SECONDS)
    server_cpu = process_cpu_seconds(os.getpid()) - server_before
    # read again at the end; a Ray actor's process may be gone then: its last reading stands
    worker_cpu = worker_cpu_seconds(worker, worker_now) - worker_before
    tenth = max(1, len(polls) // 10)
    return {
        "status": trainer.status,
        "images_per_second": trainer.snapshot(histories=False).images_per_second,
        "server_cpu_seconds": server_cpu,
        "worker_cpu_seconds": worker_cpu,
        "server_share": server_cpu / (server_cpu + worker_cpu),
        "polls": len(polls),
        "poll_cpu_ms_first": statistics.median(polls[:tenth]),
        "poll_cpu_ms_last": statistics.median(polls[-tenth:]),
        "memory_one_run": memory,
    }


def two_runs_memory(pool: WorkerPool, config: TrainConfig) -> dict:
    """RSS and PSS of the server and of two workers, each training a run of `config`."""
    slots = RunSlots(2)
    trainers = [RemoteTrainer(config, backend=pool, slots=slots).start() for _ in range(2)]
    while any(t.remote is None or t.runs[0].iteration < 20 for t in trainers):
        time.sleep(0.1)
    measured = {"server": memory_mb(os.getpid())}
    for number, trainer in enumerate(trainers, 1):
        measured[f"worker {number}"] = memory_mb(trainer.remote.worker.pid)
    for trainer in trainers:
        trainer.stop()
        trainer.wait(60)
    return measured


def kill_recovery(pool: WorkerPool, config: TrainConfig) -> dict:
    """Kill a training worker: seconds until its run says so, and until the next run trains."""
    slots = RunSlots(pool.size)
    doomed = RemoteTrainer(config, backend=pool, slots=slots).start()
    while doomed.remote is None or doomed.runs[0].iteration == 0:
        time.sleep(0.05)
    killed = time.monotonic()
    os.kill(doomed.remote.worker.pid, signal.SIGKILL)
    doomed.wait(60)
    reported = time.monotonic() - killed
    after = RemoteTrainer(config, backend=pool, slots=slots).start()
    while after.runs[0].iteration == 0 and not after.done:
        time.sleep(0.05)
    trains = time.monotonic() - killed
    after.stop()
    after.wait(60)
    return {
        "status": doomed.status,
        "message": doomed.message,
        "reported_seconds": reported,
        "next_run_trains_seconds": trains,
    }


def measure(quick: bool = False, log=print) -> dict:
    config = TrainConfig.from_dict(QUICK if quick else FULL)
    pool = WorkerPool(2)
    try:
        log("workers: a watched run in a worker")
        watched = watched_run(pool, config)
        log("workers: the same run by the library alone")
        library = library_alone(config, pool.threads)
        log("workers: two runs at once, memory")
        memory = two_runs_memory(pool, config)
        log("workers: a worker killed mid-run")
        killed = kill_recovery(pool, config)
    finally:
        pool.shutdown()
    log("workers: the only worker killed mid-run")
    alone = WorkerPool(1)
    try:
        killed_alone = kill_recovery(alone, config)
    finally:
        alone.shutdown()
    return {
        "config": config.to_dict(),
        "watched": watched,
        "library": library,
        "ratio": watched["images_per_second"] / library["images_per_second"],
        "two_runs_memory": memory,
        "kill": killed,
        "kill_alone": killed_alone,
    }


def measure_ray(address: str, quick: bool = False, log=print) -> dict:
    """A watched run as a Ray actor on the cluster at `address` (a head on this machine, so
    that the actor's CPU time can be read), against the library alone with the actor's torch
    threads (Ray gives an actor of one CPU one thread)."""
    from lenet_viz.workers.ray_backend import RayBackend, cpus_per_run

    config = TrainConfig.from_dict(QUICK if quick else FULL)
    backend = RayBackend(address)
    try:
        log(f"workers: a watched run as a Ray actor ({address})")
        watched = watched_run(backend, config)
    finally:
        backend.shutdown()
    threads = max(1, int(cpus_per_run()))
    log("workers: the same run by the library alone")
    library = library_alone(config, threads)
    return {
        "config": config.to_dict(),
        "watched": watched,
        "library": library,
        "ratio": watched["images_per_second"] / library["images_per_second"],
    }


def ray_table(measured: dict) -> str:
    watched, library = measured["watched"], measured["library"]
    total = watched["server_cpu_seconds"] + watched["worker_cpu_seconds"]
    rows = [
        (
            "images/s as a Ray actor (watched) / library alone",
            f"{watched['images_per_second']:,.0f} / {library['images_per_second']:,.0f} "
            f"({measured['ratio']:.2f}x)",
        ),
        (
            "the server's share of the CPU time while the run trains",
            f"{watched['server_share']:.1%} ({watched['server_cpu_seconds']:.2f} s of "
            f"{total:.1f} s)",
        ),
        (
            "one poll's CPU in the server, first / last tenth of the run",
            f"{watched['poll_cpu_ms_first']:.2f} / {watched['poll_cpu_ms_last']:.2f} ms "
            f"({watched['polls']} polls)",
        ),
    ]
    return "\n".join(["| on Ray | value |", "|---|---|", *(f"| {a} | {b} |" for a, b in rows)])


def table(measured: dict) -> str:
    watched, library, kill = measured["watched"], measured["library"], measured["kill"]
    server, total = watched["server_cpu_seconds"], watched["server_cpu_seconds"]
    total += watched["worker_cpu_seconds"]
    rows = [
        (
            "images/s in a worker (watched) / library alone",
            f"{watched['images_per_second']:,.0f} / {library['images_per_second']:,.0f} "
            f"({measured['ratio']:.2f}x)",
        ),
        (
            "the server's share of the CPU time while the run trains",
            f"{watched['server_share']:.1%} ({server:.2f} s of {total:.1f} s)",
        ),
        (
            "one poll's CPU in the server, first / last tenth of the run",
            f"{watched['poll_cpu_ms_first']:.2f} / {watched['poll_cpu_ms_last']:.2f} ms "
            f"({watched['polls']} polls)",
        ),
    ]
    for name, memory in measured["two_runs_memory"].items():
        rows.append(
            (
                f"{name}: RSS / PSS, two runs training",
                f"{memory['rss']:.0f} / {memory['pss']:.0f} MB",
            )
        )
    for what, case in (("a worker", kill), ("the only worker", measured["kill_alone"])):
        rows.append(
            (
                f"{what} killed: its run says so / the next run trains",
                f"{case['reported_seconds']:.1f} s / {case['next_run_trains_seconds']:.1f} s",
            )
        )
    return "\n".join(["| what | value |", "|---|---|", *(f"| {a} | {b} |" for a, b in rows)])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2,000 images: checks that it works")
    parser.add_argument(
        "--ray",
        metavar="ADDRESS",
        help="measure a watched run on the Ray cluster at ADDRESS instead (a head on this "
        "machine, e.g. 127.0.0.1:6379 after `ray start --head --num-cpus=2`)",
    )
    args = parser.parse_args()
    if args.ray:
        print(ray_table(measure_ray(args.ray, args.quick)))
        return
    measured = measure(args.quick)
    print(table(measured))


if __name__ == "__main__":
    main()
