"""The live "inside the net" panel: its cost per poll, early in a run and late in a long one.

At every poll the panel copies each run's weights (under the run's lock), loads them into a
scratch net, runs the chosen digit through it, draws the kernels, the C1/C3 maps and
the probability bars as PNGs (ui/runs/replay_panel.py; a poll that finds the run at the iteration
it drew last reuses those). None of it reads more than one entry of the run's history, so the
cost must not grow with the run: measured at iteration 100 and at iteration 100,000.
"""

from __future__ import annotations

import statistics
import time

import torch

from lenet_viz.data.datasets import sample_digits
from lenet_viz.figures.replay import png_bytes, view_images
from lenet_viz.training.config import TrainConfig
from lenet_viz.training.replay import capture, digit_input, inside_at, live_snapshot, scratch_model
from lenet_viz.training.run import TrainingRun


def _run_at(iteration: int) -> TrainingRun:
    """A run whose history says it has trained `iteration` batches (the weights are fresh)."""
    run = TrainingRun(TrainConfig(batch_size=32, epochs=1))
    run.iteration = iteration
    run.iterations_per_epoch = 1875
    run.history.loss = [2.3 - 1e-5 * i for i in range(iteration)]
    run.history.iteration = list(range(1, iteration + 1))
    return run


def _one_poll(runs: list[TrainingRun], models: list, image) -> None:
    """What a poll does when every run has moved: nothing is found in the cache."""
    for run, model in zip(runs, models, strict=True):
        with torch.no_grad():  # a step happened: the weights are new
            next(run.model.parameters()).add_(1e-4)
        view = inside_at(live_snapshot(run), model, digit_input(image, model.config))
        [png_bytes(picture) for picture in view_images(view).values()]


def measure_live_poll(polls: int = 30, iterations=(100, 100_000), runs=(1, 4)) -> dict:
    """Median milliseconds of one poll, per number of runs and iteration reached.

    The iterations' polls are interleaved (one of each in turn), so that a load that comes
    and goes on a shared machine inflates them alike and their ratio stays meaningful.
    """
    image = sample_digits().images[0]
    by_case = {}
    for count in runs:
        cases = {}
        for iteration in iterations:
            trainers = [_run_at(iteration) for _ in range(count)]
            models = [scratch_model(run.model.config) for run in trainers]
            _one_poll(trainers, models, image)  # warm up
            cases[iteration] = (trainers, models, [])
        for _ in range(polls):
            for trainers, models, times in cases.values():
                started = time.perf_counter()
                _one_poll(trainers, models, image)
                times.append(time.perf_counter() - started)
        for iteration, (_, _, times) in cases.items():
            by_case[f"{count} run(s), iteration {iteration:,}"] = {
                "runs": count,
                "iteration": iteration,
                "median_ms": round(1000 * statistics.median(times), 2),
                "p95_ms": round(1000 * sorted(times)[int(0.95 * (len(times) - 1))], 2),
            }
    model = _run_at(1).model
    started = time.perf_counter()
    for _ in range(polls):
        capture(model, 1)
    capture_ms = 1000 * (time.perf_counter() - started) / polls
    return {"polls": polls, "by_case": by_case, "capture_ms": round(capture_ms, 3)}
