"""The command line: `python -m lenet_viz <command>` or `lenet-viz <command>`.

One module per command group: fetch-data and info in `lenet_viz.cli.data`, train in
`lenet_viz.cli.train`, evaluate, predict, calibrate, models and robustness in
`lenet_viz.cli.models`, replay in `lenet_viz.cli.replay`, class (the class board) in
`lenet_viz.cli.classroom`; what they share in `lenet_viz.cli.common`.
Errors are one line on stderr that starts with "error:", exit code 2, no traceback. A diverged
run and an unreadable image exit 1.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

from lenet_viz.cli.common import EXIT_OK, EXIT_USAGE, CLIError, Parser


def build_parser() -> argparse.ArgumentParser:
    from lenet_viz.cli.classroom import add_class_commands
    from lenet_viz.cli.data import add_data_commands
    from lenet_viz.cli.models import add_model_commands
    from lenet_viz.cli.replay import add_replay_command
    from lenet_viz.cli.train import add_train_command

    parser = Parser(
        prog="lenet-viz", description="LeNet-5 Explorer: train, evaluate and inspect LeNet-5."
    )
    sub = parser.add_subparsers(dest="command", required=True)
    add_data_commands(sub)
    add_train_command(sub)
    add_model_commands(sub)
    add_replay_command(sub)
    add_class_commands(sub)
    return parser


def other_runnable_tasks(samples: int = 10, interval: float = 0.002) -> float | None:
    """How many other tasks want a CPU right now (Linux: /proc/stat procs_running, which counts
    this process too, averaged over a few samples); None where that cannot be read."""
    counts = []
    for _ in range(samples):
        try:
            with open("/proc/stat") as stat:
                line = next(row for row in stat if row.startswith("procs_running"))
        except (OSError, StopIteration):
            return None
        counts.append(int(line.split()[1]) - 1)
        time.sleep(interval)
    return sum(counts) / len(counts)


def set_openmp_wait_policy() -> str | None:
    """Before torch loads OpenMP, choose how its idle threads wait (unless OMP_WAIT_POLICY is set).

    OpenMP threads spin while they wait for work by default. On free cores that is the fastest;
    when other processes keep the cores busy, spinning threads take them from the thread doing
    the work and training runs many times slower (benchmarks/RESULTS.md). So: spin on an idle
    machine, sleep on a busy one. Returns the policy set, if any.
    """
    if "OMP_WAIT_POLICY" in os.environ:
        return None
    others = other_runnable_tasks()
    if others is None or others < 0.5:
        return None
    os.environ["OMP_WAIT_POLICY"] = "PASSIVE"
    return "PASSIVE"


def main(argv: list[str] | None = None) -> int:
    set_openmp_wait_policy()
    from lenet_viz.checkpoints.store import CheckpointError
    from lenet_viz.data.datasets import DataError
    from lenet_viz.data.images import ImageError
    from lenet_viz.nets.config import ConfigError

    parser = build_parser()
    args = parser.parse_args(argv)  # argparse prints "error: ..." and exits 2 on a bad flag
    try:
        return args.func(args)
    except (CLIError, ConfigError, DataError, CheckpointError, ImageError, ValueError) as error:
        lines = [line.strip() for line in str(error).splitlines() if line.strip()]
        print("error: " + " | ".join(lines), file=sys.stderr)
        return EXIT_USAGE
    except BrokenPipeError:  # e.g. piped into `head`: not an error of the user's
        sys.stderr.close()
        return EXIT_OK
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return EXIT_USAGE
