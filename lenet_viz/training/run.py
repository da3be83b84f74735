"""One training run: a model, its optimizer, its data and its `History`.

`run.steps()` trains one batch per `next()` with `lenet_viz.training.loop.train_one_epoch` and tests
at each epoch's end, so that a driver (`lenet_viz.training.runner.Trainer`) can advance several runs
in lockstep and pause between batches. Reads from other threads go through `run.lock`.
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Callable, Iterator

import torch

from lenet_viz.data.datasets import Split, to_network_input
from lenet_viz.nets.build import build_model
from lenet_viz.nets.model import LAYER_NAMES, LeNetBase
from lenet_viz.sdlm.fast import PatternSDLM
from lenet_viz.training.config import TrainConfig, batches_per_epoch, describe
from lenet_viz.training.history import History
from lenet_viz.training.loop import (
    BatchResult,
    Diverged,
    DivergenceGuard,
    confusion_matrix,
    evaluate,
    make_optimizer,
    network_inputs,
    train_one_epoch,
)
from lenet_viz.training.pattern_steps import pass_record, train_one_pattern_epoch, uses_pattern_path
from lenet_viz.training.replay import SnapshotRecorder, WeightSnapshot, live_snapshot
from lenet_viz.training.status import RunStatus


class TrainingRun:
    """One model, its optimizer, its data and its history. `steps()` trains one batch per next()."""

    def __init__(
        self,
        config: TrainConfig,
        *,
        train: Split | None = None,
        test: Split | None = None,
        model: LeNetBase | None = None,
        name: str | None = None,
    ):
        self.config = config.validate()
        self.name = name or describe(config)
        self.model = model if model is not None else build_model(config.model, config.seed)
        # channels_last (before the optimizer sees the weights): oneDNN's convolutions and max
        # pooling then skip their layout reorders (faster on CPU, benchmarks/RESULTS.md); the
        # same model and weights.
        self.model.to(memory_format=torch.channels_last).train()
        self._train_split, self._test_split = train, test
        self.optimizer = make_optimizer(config, self.model)
        self.guard = DivergenceGuard(self.model)
        self.history = History(grad_norm={name: [] for name in LAYER_NAMES})
        self.status = RunStatus.READY
        self.message = ""
        self.testing = False  # True during the end-of-epoch test, when iterations stand still
        self.iteration = 0
        self.images_seen = 0
        self.iterations_per_epoch = 0
        self.total_iterations = 0
        self.final: dict = {}
        self.lock = threading.Lock()  # held while weights or history change
        self.replay = (
            SnapshotRecorder()
        )  # weight snapshots for the replay (lenet_viz.training.replay)

    # -- data --------------------------------------------------------------------------
    def load_data(self) -> None:
        """Read the splits and turn them into network inputs once (a no-op when done).

        Without given splits, the dataset's first train_limit / test_limit digits."""
        if hasattr(self, "train_inputs"):
            return
        cfg = self.config
        self.train_inputs, self.train_labels = self._inputs(self._train_split, True)
        self.test_inputs, self.test_labels = self._inputs(self._test_split, False)
        self.iterations_per_epoch = batches_per_epoch(len(self.train_labels), cfg.batch_size)
        self.total_iterations = self.iterations_per_epoch * cfg.epochs

    def _inputs(self, split: Split | None, train: bool) -> tuple[torch.Tensor, torch.Tensor]:
        limit = self.config.train_limit if train else self.config.test_limit
        model = self.model.config  # the net being trained reads its inputs its own way
        if split is None:
            return network_inputs(self.config.dataset, model, train, limit)
        split = split.subset(limit)
        return to_network_input(split.images, model.resize, model.input_scaling), split.labels

    def restore_passes(self, passes: list[dict]) -> None:
        """Continue a run whose first len(passes) epochs are done (their records, as the
        history's `epochs` holds them): `steps()` starts at the next epoch, with the batch
        order an unbroken run would have. The model must hold the weights after those epochs."""
        self.load_data()
        self.history.epochs = [dict(record) for record in passes]
        self.iteration = len(passes) * self.iterations_per_epoch

    # -- the whole run -------------------------------------------------------------------
    def steps(self) -> Iterator[str]:
        """Train the whole run, one batch per next(); yields "batch" or "epoch".

        Every run takes this one path: an epoch is a generator of `BatchResult`s, from
        `loop.train_one_epoch`, or, for the paper's one-pattern SDLM, from
        `pattern_steps.train_one_pattern_epoch` (a tick of patterns per result)."""
        self.load_data()
        cfg = self.config
        self.status = RunStatus.RUNNING
        self.replay.after_step(self)  # the initial weights (iteration 0), if not resumed
        # seeded once per run: the same seed gives the same batch order and shifts
        generators = (
            torch.Generator().manual_seed(cfg.seed),
            torch.Generator().manual_seed(cfg.seed + 1),
        )
        epochs = self._epoch_source(generators)
        for epoch in range(cfg.epochs):
            if epoch < len(self.history.epochs):  # resumed: this pass is done (same shuffles)
                torch.randperm(len(self.train_labels), generator=generators[0])
                continue
            losses_before = len(self.history.loss)
            try:
                for result in epochs(epoch):
                    self._record(result)
                    # the generator waits between two steps here: the weights are whole
                    self.replay.after_step(self)
                    yield "batch"
            except Diverged as what_happened:
                self._diverged(str(what_happened))
                return
            self._end_epoch(epoch + 1, losses_before)
            yield "epoch"
        self.status = RunStatus.COMPLETED

    def _epoch_source(self, generators) -> Callable[[int], Iterator[BatchResult]]:
        """epoch -> that epoch's trained batches, on the path this run's settings take."""
        common = dict(generators=generators, guard=self.guard, weights_lock=self.lock)
        data = (self.train_inputs, self.train_labels)
        if not uses_pattern_path(self.config, self.model):
            return lambda epoch: train_one_epoch(
                self.model, self.optimizer, *data, self.config, epoch, **common
            )
        with self.lock:
            stepper = PatternSDLM(self.model)
        self._pass_info: dict = {}
        return lambda epoch: train_one_pattern_epoch(
            stepper, self.optimizer, *data, self.config, epoch, pass_info=self._pass_info, **common
        )

    def _record(self, result: BatchResult) -> None:
        with self.lock:
            h = self.history
            self.iteration = result.iteration
            self.images_seen += result.size
            h.iteration.append(result.iteration)
            h.epoch_float.append(result.epoch)
            h.loss.append(result.loss)
            h.accuracy.append(result.accuracy)
            h.lr.append(result.lr)
            for name, value in zip(self.model.layers, result.grad_norms, strict=True):
                h.grad_norm[name].append(value)

    def _diverged(self, what_happened: str) -> None:
        """Stop with the last finite weights: the ones before the step that broke them."""
        with self.lock:
            self.guard.restore_if_broken()
            self.status = RunStatus.DIVERGED
            self.message = (
                f"diverged at iteration {self.iteration + 1}: {what_happened}. "
                "The last finite weights and the history are kept; try a smaller learning rate."
            )

    def _end_epoch(self, epoch: int, first_index: int) -> None:
        h = self.history
        train_loss = sum(h.loss[first_index:]) / max(1, len(h.loss) - first_index)
        train_acc = sum(h.accuracy[first_index:]) / max(1, len(h.accuracy) - first_index)
        self.testing = True
        try:
            test_loss, test_acc, _ = evaluate(self.model, self.test_inputs, self.test_labels)
            extra = {}
            if hasattr(self, "_pass_info"):  # the paper's SDLM pass: Fig. 5's training error
                extra = pass_record(
                    self.model, self.train_inputs, self.train_labels, self._pass_info
                )
        finally:
            self.testing = False
        with self.lock:
            h.epochs.append(
                {
                    "epoch": epoch,
                    "iteration": self.iteration,
                    "train_loss": train_loss,
                    "train_acc": train_acc,
                    "test_loss": test_loss,
                    "test_acc": test_acc,
                    **extra,
                }
            )

    def finish(self, stopped: bool) -> None:
        """Final numbers: the last epoch's test accuracy, or a fresh evaluation after a stop."""
        if stopped and self.status == RunStatus.RUNNING:
            self.status = RunStatus.STOPPED
            self.message = f"stopped at iteration {self.iteration}"
        needs_eval = (
            not self.history.epochs or self.history.epochs[-1]["iteration"] != self.iteration
        )
        if needs_eval and hasattr(self, "test_inputs"):
            with self.lock:
                test_loss, test_acc, _ = evaluate(self.model, self.test_inputs, self.test_labels)
        elif self.history.epochs:
            test_loss, test_acc = (
                self.history.epochs[-1]["test_loss"],
                self.history.epochs[-1]["test_acc"],
            )
        else:
            test_loss = test_acc = None
        self.final = {"test_loss": test_loss, "test_acc": test_acc}
        self.replay.at_end(self)  # the weights the run ends with

    # -- safe reads while the run goes on ----------------------------------------------
    def history_snapshot(self) -> History:
        with self.lock:
            return self.history.copy()

    def history_since(self, start: int) -> History:
        """`History.since(start)` under the lock: the records a live view has not read yet."""
        with self.lock:
            return self.history.since(start)

    def model_snapshot(self) -> LeNetBase:
        """A copy of the model with consistent weights (never mid-update), in eval mode."""
        with self.lock:
            model = copy.deepcopy(self.model)
        return model.eval()

    def evaluate_full(self) -> dict:
        """Test accuracy, predictions and confusion matrix of the current weights."""
        self.load_data()
        return full_evaluation(self.model_snapshot(), self.test_inputs, self.test_labels)

    def live_snapshot(self) -> WeightSnapshot:
        """The weights right now, for the live replay (`replay.live_snapshot`)."""
        return live_snapshot(self)


def full_evaluation(model: LeNetBase, inputs: torch.Tensor, labels: torch.Tensor) -> dict:
    """Test loss and accuracy, predictions and confusion matrix of `model` on a test set."""
    loss, acc, predicted = evaluate(model, inputs, labels)
    return {
        "test_loss": loss,
        "test_acc": acc,
        "predicted": predicted,
        "labels": labels,
        "confusion": confusion_matrix(labels, predicted),
    }
