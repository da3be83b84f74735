"""The server's CPU time per poll of the live panels, against the length of the run.

In-process, with no browser: a Trainer whose runs hold a synthetic history of N iterations
(loss, batch accuracy, learning rate, 7 gradient norms per iteration, an epoch every 1,875),
then polls, each after `new_per_poll` more iterations per run, as the Train page (one run:
iteration and epoch figures) and the Compare page (4 runs: overlay, gradient norms, small
multiples, summary) do it. A poll's CPU time (this thread's) covers reading the trainer,
building or refreshing the figures, and drawing each as the SVG the page sends while a run
goes on (`ui.charts.live_chart`: `lenet_viz.figures.svg`; a finished run's charts are sent
once, as Plotly JSON). "before" is the pages' first way: `Trainer.snapshot()` (a copy of every
history), every figure built again from the whole history and turned into the JSON that
`st.plotly_chart` sends (`return_figure_from_figure_or_data`, then `plotly.io.to_json`).
"""

from __future__ import annotations

import statistics
import time

import numpy as np

from lenet_viz.nets.config import ModelConfig
from lenet_viz.nets.model import LAYER_NAMES
from lenet_viz.training.config import TrainConfig
from lenet_viz.training.runner import Trainer
from lenet_viz.training.slots import RunSlots

ITERATIONS_PER_EPOCH = 1_875  # MNIST at batch 32
SIZES = (2_000, 20_000, 100_000)


def synthetic_trainer(runs: int, iterations: int, seed: int = 0) -> Trainer:
    """A Trainer (never started) whose runs look `iterations` batches into their training."""
    activations = ("sigmoid", "relu", "tanh", "gelu")[:runs]
    configs = [TrainConfig(model=ModelConfig(activation=a)) for a in activations]
    trainer = Trainer(configs, names=list(activations), slots=RunSlots(1))
    trainer.status = "running"
    for index, run in enumerate(trainer.runs):
        run.iterations_per_epoch = ITERATIONS_PER_EPOCH
        run.total_iterations = 10 * max(iterations, ITERATIONS_PER_EPOCH)
        run.status = "running"
        grow(run, iterations, np.random.default_rng(seed + index))
    return trainer


def grow(run, count: int, rng: np.random.Generator) -> None:
    """Append `count` made-up iterations to `run`'s history, as the training thread does."""
    start = run.iteration
    steps = np.arange(start + 1, start + count + 1)
    loss = 2.3 * np.exp(-steps / 3_000) + 0.1 + 0.2 * rng.random(count)
    accuracy = np.clip(1 - loss / 2.5 + 0.1 * rng.standard_normal(count), 0, 1)
    with run.lock:
        h = run.history
        h.iteration.extend(steps.tolist())
        h.epoch_float.extend((steps / ITERATIONS_PER_EPOCH).tolist())
        h.loss.extend(loss.tolist())
        h.accuracy.extend(accuracy.tolist())
        h.lr.extend([0.01] * count)
        for depth, name in enumerate(LAYER_NAMES):
            trained = name not in ("S2", "S4")
            norms = trained * 10.0 ** (depth - 7) * (1 + rng.random(count))
            h.grad_norm[name].extend(norms.tolist())
        first, last = start // ITERATIONS_PER_EPOCH + 1, (start + count) // ITERATIONS_PER_EPOCH
        for epoch in range(first, last + 1):
            h.epochs.append(
                {
                    "epoch": epoch,
                    "iteration": epoch * ITERATIONS_PER_EPOCH,
                    "train_loss": 0.3,
                    "train_acc": 0.9,
                    "test_loss": 0.3,
                    "test_acc": 0.9,
                }
            )
        run.iteration += count
        run.images_seen += 32 * count


def streamlit_json(figure) -> str:
    """What `st.plotly_chart` does with a figure before sending it."""
    import plotly.io
    import plotly.tools

    figure = plotly.tools.return_figure_from_figure_or_data(figure, validate_figure=True)
    return plotly.io.to_json(figure, validate=False)


# ----------------------------------------------------------------------------- one poll


def live_poll(page: str, view, trainer: Trainer) -> int:
    """One poll of a page through its LiveView; returns the bytes of the curves sent (drawn as
    the page draws a running run's: `figure_markup`)."""
    from lenet_viz.figures.svg import figure_markup

    snapshot = view.poll(trainer)
    if page == "train":
        figures = [view.iteration_figure(), view.epoch_figure(total_epochs=10)]
    else:
        figures = [
            view.overlay_figure(),
            view.gradient_norm_figure(),
            view.small_multiples_figure(),
        ]
        view.summary_rows(snapshot, [run.config.to_dict() for run in trainer.runs])
    return sum(len(figure_markup(figure, alt="", heads=True)) for figure in figures)


def before_poll(page: str, trainer: Trainer) -> int:
    """One poll the pages' previous way: whole histories copied, every figure built anew."""
    from lenet_viz.figures.comparison import (
        gradient_norm_figure,
        overlay_figure,
        small_multiples_figure,
        summary_rows,
    )
    from lenet_viz.figures.training import epoch_figure, iteration_figure

    snapshot = trainer.snapshot()
    if page == "train":
        history = snapshot.runs[0]["history"]
        figures = [iteration_figure(history), epoch_figure(history, total_epochs=10)]
    else:
        curves = [(run["name"], run["history"]) for run in snapshot.runs]
        figures = [
            overlay_figure(curves),
            gradient_norm_figure(curves),
            small_multiples_figure(curves),
        ]
        summary_rows(
            [
                {**entry, "config": run.config.to_dict()}
                for entry, run in zip(snapshot.runs, trainer.runs, strict=True)
            ]
        )
    return sum(len(streamlit_json(figure)) for figure in figures)


def cpu_ms(action, *args) -> tuple[float, object]:
    """This thread's CPU milliseconds for action(*args), and its result."""
    start = time.thread_time()
    result = action(*args)
    return 1000 * (time.thread_time() - start), result


# ----------------------------------------------------------------------------- the table


def measure_poll_cpu(
    sizes=SIZES,
    polls: int = 20,
    before_polls: int = 3,
    new_per_poll: int = 100,
    log=print,
) -> dict:
    """CPU ms per poll (median) of the Train page (1 run) and Compare (4 runs), at each size."""
    from lenet_viz.figures.live import LiveView

    results: dict = {"new_iterations_per_run_per_poll": new_per_poll, "pages": {}}
    for page, runs in (("train", 1), ("compare", 4)):
        by_size = {}
        for size in sizes:
            trainer = synthetic_trainer(runs, size)
            rng = np.random.default_rng(size)
            view = LiveView(trainer)
            first_ms, _ = cpu_ms(live_poll, page, view, trainer)  # reads all N
            live, sent = [], 0
            for _ in range(polls):
                for run in trainer.runs:
                    grow(run, new_per_poll, rng)
                ms, sent = cpu_ms(live_poll, page, view, trainer)
                live.append(ms)
            paused = [cpu_ms(live_poll, page, view, trainer)[0] for _ in range(3)]
            before = []
            for _ in range(before_polls):
                for run in trainer.runs:
                    grow(run, new_per_poll, rng)
                before.append(cpu_ms(before_poll, page, trainer)[0])
            entry = {
                "iterations": size,
                "live_ms_median": round(statistics.median(live), 2),
                "live_ms_max": round(max(live), 2),
                "paused_ms_median": round(statistics.median(paused), 2),
                "first_poll_ms": round(first_ms, 1),
                "before_ms_median": round(statistics.median(before), 1),
                "bytes_sent": sent,
            }
            log(f"  {page} ({runs} run{'s' * (runs > 1)}), {size:,} iterations: {entry}")
            by_size[str(size)] = entry
        live_values = [entry["live_ms_median"] for entry in by_size.values()]
        results["pages"][page] = {
            "runs": runs,
            "by_size": by_size,
            "growth": round(max(live_values) / min(live_values), 2),
            "worst_ms": max(live_values),
        }
    return results


def main() -> None:  # pragma: no cover - a manual run: python -m benchmarks.live_polls
    results = measure_poll_cpu()
    for page, entry in results["pages"].items():
        print(page, "growth", entry["growth"], "worst", entry["worst_ms"], "ms")


if __name__ == "__main__":
    main()
