"""Training speed: three pipelines side by side, and the time to 99% test accuracy.

The three pipelines train the same modern ReLU LeNet-5 with Adam on the same number of digits,
then test it on 1/6 as many test digits, the proportion of a real MNIST epoch (10,000 test /
60,000 train), as a training loop does at the end of each epoch; so evaluation weighs on each
as much as in a real run. Only what surrounds the forward/backward pass differs:

- notebook: torchvision's MNIST dataset with a per-sample PIL transform
  (Resize(32), ToTensor, Normalize) and a DataLoader (num_workers=0, shuffle=True), as the
  notebook this project grew from, and its test loop (a DataLoader of 1,000 digits a batch);
- bare: the whole split preloaded as 32x32 tensors (`lenet_viz.training.loop.cached_inputs`), a
  shuffled index per epoch, forward, loss, backward, step, then `lenet_viz.training.loop.evaluate`.
  Nothing else. It uses the same optimizer (`lenet_viz.training.loop.make_optimizer`) and memory
  format as the Trainer, so that the ratio Trainer/bare is the cost of the Trainer's records
  and controls alone;
- trainer: `lenet_viz.training.runner.Trainer(...).run_here()` with all its records on
(per-iteration
  loss, batch accuracy, learning rate and per-layer gradient norms, the weight backup for the
  divergence fallback, the one-cycle schedule, the pause/stop checks, the end-of-epoch test
  evaluation and its record).

The pipelines run interleaved (A, B, C, A, B, C, ...) so that a burst of load from another
process hits all of them alike; each reports the median, and the ratios are the medians of
the ratios of neighbouring measurements. Each measurement also records the process CPU time:
images per CPU-second barely move when other processes take the cores, so the CPU-time ratio
is a cross-check of the wall-clock ratio on a busy machine.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import torch

from lenet_viz.data.datasets import load_split
from lenet_viz.nets.build import build_model
from lenet_viz.nets.config import ModelConfig
from lenet_viz.training.config import TrainConfig
from lenet_viz.training.loop import cached_inputs, evaluate, make_optimizer
from lenet_viz.training.runner import Trainer
from lenet_viz.training.slots import RunSlots

REPO = Path(__file__).resolve().parent.parent
BATCH_SIZES = (32, 128, 256)
PIPELINES = ("notebook", "bare", "trainer")
ADAM_LR = 1e-3
TEST_PER_TRAIN = 10_000 / 60_000
TARGET_ACCURACY = 0.99


def _train_tensors(n_images: int) -> tuple[torch.Tensor, torch.Tensor]:
    inputs = cached_inputs("mnist", True, "pad", "mnist")
    return inputs[:n_images], load_split("mnist", train=True).labels[:n_images]


def eval_digits_for(n_images: int) -> int:
    """How many test digits go with `n_images` training digits in a real MNIST epoch."""
    return max(1, round(n_images * TEST_PER_TRAIN))


def _test_tensors(n_images: int) -> tuple[torch.Tensor, torch.Tensor]:
    n_test = eval_digits_for(n_images)
    inputs = cached_inputs("mnist", False, "pad", "mnist")
    return inputs[:n_test], load_split("mnist", train=False).labels[:n_test]


class Clock:
    """Wall-clock and process CPU seconds between start() and stop()."""

    def start(self) -> Clock:
        self.wall, self.cpu = time.perf_counter(), time.process_time()
        return self

    def stop(self) -> tuple[float, float]:
        return time.perf_counter() - self.wall, time.process_time() - self.cpu


def time_bare(batch_size: int, n_images: int, seed: int = 0) -> tuple[float, float]:
    """(wall, CPU) seconds for a bare PyTorch loop to train on `n_images` preloaded digits."""
    x_all, y_all = _train_tensors(n_images)
    model = build_model(ModelConfig(arch="modern", activation="relu"), seed)
    model.to(memory_format=torch.channels_last).train()  # as TrainingRun does
    optimizer = make_optimizer(trainer_config(batch_size, n_images, seed), model)
    order = torch.randperm(n_images, generator=torch.Generator().manual_seed(seed))
    clock = Clock().start()
    for start in range(0, n_images, batch_size):
        index = order[start : start + batch_size]
        loss = model.loss(model(x_all[index]), y_all[index])
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
    evaluate(model, *_test_tensors(n_images))
    return clock.stop()


def trainer_config(batch_size: int, n_images: int, seed: int = 0) -> TrainConfig:
    return TrainConfig(
        model=ModelConfig(arch="modern", activation="relu"),
        optimizer="adam",
        lr=ADAM_LR,
        schedule="onecycle",
        batch_size=batch_size,
        epochs=1,
        seed=seed,
        train_limit=n_images,
        test_limit=eval_digits_for(n_images),
    )


def time_trainer(batch_size: int, n_images: int, seed: int = 0) -> tuple[float, float]:
    """(wall, CPU) seconds for the Trainer (all records on) to train one epoch of `n_images`."""
    trainer = Trainer(trainer_config(batch_size, n_images, seed), slots=RunSlots(1))
    clock = Clock().start()
    trainer.run_here()
    seconds = clock.stop()
    run = trainer.runs[0]
    if run.status != "completed" or run.images_seen != n_images:
        raise RuntimeError(f"the Trainer did not finish its run: {run.status} {run.message}")
    return seconds


class NotebookPipeline:
    """The notebook's data path: torchvision MNIST, a per-sample PIL transform, a DataLoader."""

    def __init__(self, root: Path = REPO / "data"):
        from torchvision import datasets, transforms  # slow to import: only here

        transform = transforms.Compose(
            [
                transforms.Resize(32),
                transforms.ToTensor(),
                transforms.Normalize((0.1307,), (0.3081,)),
            ]
        )
        self.dataset = datasets.MNIST(root=str(root), train=True, transform=transform)
        self.test_dataset = datasets.MNIST(root=str(root), train=False, transform=transform)

    def time(self, batch_size: int, n_images: int, seed: int = 0) -> tuple[float, float]:
        """(wall, CPU) seconds to train on the first `n_images` digits the DataLoader yields."""
        model = build_model(ModelConfig(arch="modern", activation="relu", resize="scale"), seed)
        model.train()
        optimizer = torch.optim.Adam(model.parameters(), lr=ADAM_LR)
        generator = torch.Generator().manual_seed(seed)
        loader = torch.utils.data.DataLoader(
            self.dataset, batch_size=batch_size, shuffle=True, num_workers=0, generator=generator
        )
        clock = Clock().start()
        seen = 0
        for x, y in loader:
            loss = model.loss(model(x), y)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            seen += len(y)
            if seen >= n_images:
                break
        self._test(model, eval_digits_for(n_images))
        return clock.stop()

    @torch.no_grad()
    def _test(self, model, n_test: int) -> None:
        """The notebook's test loop over the first `n_test` test digits: loss and accuracy."""
        model.eval()
        batch = min(1000, n_test)
        loader = torch.utils.data.DataLoader(self.test_dataset, batch_size=batch, shuffle=False)
        total_loss, correct, seen = 0.0, 0, 0
        for x, y in loader:
            x, y = x[: n_test - seen], y[: n_test - seen]
            output = model(x)
            total_loss += model.loss(output, y).item() * len(y)
            correct += (output.argmax(1) == y).sum().item()
            seen += len(y)
            if seen >= n_test:
                break
        model.train()


def _ratios(numerators: list[float], denominators: list[float]) -> float:
    """Median of the ratios of neighbouring measurements (robust to slow drifts in load)."""
    return statistics.median(a / b for a, b in zip(numerators, denominators, strict=True))


def measure_throughput(
    batch_sizes=BATCH_SIZES,
    n_images: int = 4_096,
    notebook_images: int = 2_048,
    repeats: int = 15,
    notebook_repeats: int = 3,
    log=print,
) -> dict:
    """Images per second (wall and CPU) of each pipeline at each batch size, and the ratios."""
    notebook = NotebookPipeline()
    results = {}
    for batch_size in batch_sizes:
        timers = {
            "notebook": lambda bs=batch_size: (notebook_images, notebook.time(bs, notebook_images)),
            "bare": lambda bs=batch_size: (n_images, time_bare(bs, n_images)),
            "trainer": lambda bs=batch_size: (n_images, time_trainer(bs, n_images)),
        }
        # One warm-up round: the first passes build oneDNN primitives and touch the data.
        for name in ("bare", "trainer"):
            timers[name]()
        wall: dict[str, list[float]] = {name: [] for name in PIPELINES}
        cpu: dict[str, list[float]] = {name: [] for name in PIPELINES}
        for repeat in range(repeats):
            for name in PIPELINES:
                if name == "notebook" and repeat >= notebook_repeats:
                    continue
                images, (wall_seconds, cpu_seconds) = timers[name]()
                wall[name].append(images / wall_seconds)
                cpu[name].append(images / cpu_seconds)
        results[batch_size] = _summary(wall, cpu)
        entry = results[batch_size]
        log(
            f"  batch {batch_size}: "
            + ", ".join(f"{k} {v:,.0f}/s" for k, v in entry["images_per_second"].items())
            + f", trainer/bare {entry['trainer_over_bare']:.3f} (CPU time: "
            f"{entry['trainer_over_bare_cpu']:.3f})"
        )
    return {
        "n_images": n_images,
        "notebook_images": notebook_images,
        "repeats": repeats,
        "threads": torch.get_num_threads(),
        "by_batch": results,
    }


def _summary(wall: dict[str, list[float]], cpu: dict[str, list[float]]) -> dict:
    paired = min(len(wall["notebook"]), len(wall["trainer"]))
    return {
        "images_per_second": {k: round(statistics.median(v), 1) for k, v in wall.items()},
        "images_per_cpu_second": {k: round(statistics.median(v), 1) for k, v in cpu.items()},
        "samples": {k: [round(v, 1) for v in values] for k, values in wall.items()},
        "trainer_over_bare": round(_ratios(wall["trainer"], wall["bare"]), 3),
        "trainer_over_bare_cpu": round(_ratios(cpu["trainer"], cpu["bare"]), 3),
        "trainer_over_notebook": round(
            _ratios(wall["trainer"][:paired], wall["notebook"][:paired]), 2
        ),
    }


def time_to_accuracy(
    extra_args: tuple[str, ...] = (), seed: int | None = None, env: dict | None = None
) -> dict:
    """`python -m lenet_viz train --preset fast --json` as a subprocess, timed from the start of
    the command to its last line: Python start, imports, data load, training and evaluation."""
    command = [sys.executable, "-m", "lenet_viz", "train", "--preset", "fast", "--json"]
    if seed is not None:
        command += ["--seed", str(seed)]
    command += list(extra_args)
    started = time.perf_counter()
    process = subprocess.Popen(
        command, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    lines, last_line_at = [], None
    for line in process.stdout:
        if line.strip():
            lines.append(line.strip())
            last_line_at = time.perf_counter()
    stderr = process.stderr.read()
    process.wait()
    if process.returncode != 0 or not lines:
        raise RuntimeError(f"`{' '.join(command[1:])}` failed: {stderr.strip()[-500:]}")
    events = [json.loads(line) for line in lines]
    final = events[-1]
    epochs = [e for e in events if e.get("event") == "epoch"]
    reached = next((e["epoch"] for e in epochs if e["test_acc"] >= TARGET_ACCURACY), None)
    return {
        "command": " ".join(["python"] + command[1:]),
        "wall_seconds": round(last_line_at - started, 2),
        "reported_seconds": final.get("seconds"),
        "test_acc": final.get("test_acc"),
        "epochs": final.get("epochs"),
        "epoch_reaching_target": reached,
        "test_acc_by_epoch": [round(e["test_acc"], 4) for e in epochs],
        "images_per_second": final.get("images_per_second"),
        "omp_wait_policy_given": (env if env is not None else os.environ).get("OMP_WAIT_POLICY"),
    }
