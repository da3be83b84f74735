"""What each of Compare's one-click experiments shows at each run size: the numbers behind the
smallest size each experiment runs at (`min_size` in ui's EXPERIMENTS).

`python scripts/experiment_sizes.py [SIZE...]` (default: Quick and Medium) trains every
experiment's runs as its button does, in this process (one torch thread, as a server's run), and
prints each run's test accuracy and the seconds.

An experiment shows its lesson when its runs end apart: the notebook's sigmoid near chance
while its ReLU has learned.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import torch  # noqa: E402

from lenet_viz.training.runner import Trainer  # noqa: E402
from lenet_viz.training.slots import RunSlots  # noqa: E402
from ui.compare.settings import EXPERIMENTS, experiment_configs  # noqa: E402

DEFAULT_SIZES = ("Quick: 2,000 images", "Medium: 10,000 images")


def measure(name: str, size: str) -> tuple[list[tuple[str, float]], float]:
    """Each run's (activation and lr, test accuracy) and the seconds the lockstep took."""
    configs = experiment_configs(name, size)
    start = time.perf_counter()
    trainer = Trainer(configs, slots=RunSlots(1)).run_here()
    seconds = time.perf_counter() - start
    runs = [
        (f"{run.config.model.activation} lr={run.config.lr:g}", run.final["test_acc"])
        for run in trainer.runs
    ]
    return runs, seconds


def main(sizes: list[str]) -> None:
    torch.set_num_threads(1)
    print("| experiment | size (its smallest marked *) | test accuracy per run | seconds |")
    print("|---|---|---|---:|")
    for name, experiment in EXPERIMENTS.items():
        for size in sizes:
            runs, seconds = measure(name, size)
            own = " *" if size == experiment["min_size"] else ""
            accuracies = ", ".join(f"{label}: {100 * acc:.1f} %" for label, acc in runs)
            print(f"| {name} | {size}{own} | {accuracies} | {seconds:.0f} |", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:] or list(DEFAULT_SIZES))
