"""Seconds per pass of the paper's training (SDLM, one pattern per update), old path vs new.

`python -m benchmarks.sdlm_pass [--patterns N] [--rounds R]` trains `--preset paper` on N
training digits through `TrainingRun.steps()` twice per round, alternating: once on the
pattern path (`lenet_viz.training.pattern_steps`, the hand-written step of `lenet_viz.sdlm.fast`),
once on
the general path every other optimizer takes (autograd, `SDLM.step`, per-batch records). It
prints CPU seconds and wall seconds per pattern and per 60,000-pattern pass, and their ratio.
CPU time (this process's) is what to compare on a shared machine; wall time is what a user
waits. One thread, as the paper's sequential updates allow nothing else.
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")

import torch  # noqa: E402

import lenet_viz.training.run as run_module  # noqa: E402
from lenet_viz.training.config import preset_config  # noqa: E402

PASS = 60_000


def time_run(patterns: int, fast: bool) -> tuple[float, float]:
    """(CPU seconds, wall seconds) of training `patterns` digits, data loading excluded."""
    config = preset_config("paper", epochs=1, train_limit=patterns, test_limit=1)
    original = run_module.uses_pattern_path
    if not fast:
        run_module.uses_pattern_path = lambda config, model: False
    try:
        run = run_module.TrainingRun(config)
        run.load_data()
        steps = run.steps()
        cpu, wall = time.process_time(), time.perf_counter()
        for event in steps:
            if event == "epoch":
                break
        return time.process_time() - cpu, time.perf_counter() - wall
    finally:
        run_module.uses_pattern_path = original


def measure(patterns: int, rounds: int) -> dict[str, tuple[float, float]]:
    torch.set_num_threads(1)
    totals = {"general path (autograd)": [0.0, 0.0], "pattern path (sdlm_fast)": [0.0, 0.0]}
    for _ in range(rounds):
        for name, fast in (("general path (autograd)", False), ("pattern path (sdlm_fast)", True)):
            cpu, wall = time_run(patterns, fast)
            totals[name][0] += cpu / (patterns * rounds)
            totals[name][1] += wall / (patterns * rounds)
    return {name: (cpu, wall) for name, (cpu, wall) in totals.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patterns", type=int, default=3000)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    results = measure(args.patterns, args.rounds)
    print(f"{args.patterns} patterns x {args.rounds} rounds; one pass = {PASS:,} patterns")
    print("| path | CPU ms/pattern | CPU s/pass | wall ms/pattern | wall s/pass |")
    print("|---|---:|---:|---:|---:|")
    for name, (cpu, wall) in results.items():
        cells = (f"{cpu * 1e3:.2f}", f"{cpu * PASS:.0f}", f"{wall * 1e3:.2f}", f"{wall * PASS:.0f}")
        print(f"| {name} | " + " | ".join(cells) + " |")
    (old_cpu, old_wall), (new_cpu, new_wall) = results.values()
    print(f"speed-up: {old_cpu / new_cpu:.1f}x CPU, {old_wall / new_wall:.1f}x wall")
    print("(the pass's end: testing on 10,000 digits and the 60,000 training digits, not timed)")


if __name__ == "__main__":
    main()
