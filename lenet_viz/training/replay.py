"""Watch a run learn from the inside: weight snapshots during training, and what each one shows.

- `snapshot_schedule` says when a run keeps a copy of its weights: before the first step, at
  about LOG_SNAPSHOTS log-spaced iterations (dense at the start, where C1's kernels change the
  most) and at every epoch end.
- `SnapshotRecorder` keeps them. A training run (`lenet_viz.training.run.TrainingRun`) calls it
before
  its first step and after each step has been recorded, while its batch generator waits
  between two steps, and copies under the run's lock: a snapshot never holds weights in the
  middle of an update.
- `live_snapshot` copies a run's weights as they are now, for a live view that needs no
  schedule; `inside_at` turns any snapshot into what the pages and the CLI draw: C1's six
  kernels, one digit's C1 and C3 maps, and the prediction for it.
- `kernel_change` and `kernel_smoothness` put a number on "noise-like" against "structured".
- `replay_payload` / `snapshots_from_payload` carry the snapshots in a checkpoint file, as
  plain tensors and numbers (it still loads with `torch.load(weights_only=True)`).

Memory is bounded: a snapshot holds the trainable parameters in float16, 2 bytes each:
123,412 bytes for the modern net (61,706 parameters), 121,800 for the faithful one (60,900;
its fixed buffers, the C3 mask and the RBF codes, come from the model config). A run keeps at
most LOG_SNAPSHOTS + 1 + epochs of them (`max_snapshots`): a one-epoch modern run 31 (3.8 MB),
the longest run the app allows (MAX_EPOCHS = 50 epochs) 81 (10.0 MB). `snapshot_bytes`
computes the size for any net.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from lenet_viz.explain.inside import c1_kernels, inspect_digit, network_input
from lenet_viz.nets.build import build_model
from lenet_viz.nets.config import ModelConfig
from lenet_viz.nets.model import LeNetBase

LOG_SNAPSHOTS = 30  # log-spaced snapshots per run, besides iteration 0 and the epoch ends
STORED_DTYPE = torch.float16  # halves the memory; kernels and maps look the same
FLOAT16_MAX = 60_000.0  # a tensor with larger values (a diverging run) is kept in float32
REPLAY_FORMAT = "lenet_viz-replay/1"
MAX_CURVE_POINTS = 1500  # the loss curve a checkpoint carries for a replay's marker


class ReplayError(ValueError):
    """Snapshots that cannot be read or used; the message says what to do."""


# ------------------------------------------------------------------ when to keep the weights


def snapshot_schedule(
    total_iterations: int, iterations_per_epoch: int, count: int = LOG_SNAPSHOTS
) -> tuple[int, ...]:
    """The iterations after which a run keeps its weights, ascending.

    0 (the initial weights), `count` distinct log-spaced iterations from 1 to the last (every
    iteration of a shorter run), every epoch end and the last iteration.
    """
    if total_iterations <= 0:
        return (0,)
    count = max(1, min(count, total_iterations))
    points, spaced = count, set()
    while len(spaced) < count:  # rounding merges the first log-spaced points: ask for more
        spaced = set(np.rint(np.geomspace(1, total_iterations, points)).astype(int).tolist())
        points += 1
    ends = range(iterations_per_epoch, total_iterations + 1, iterations_per_epoch)
    return tuple(sorted({0, total_iterations, *spaced, *(ends if iterations_per_epoch else ())}))


def max_snapshots(epochs: int, count: int = LOG_SNAPSHOTS) -> int:
    """The most snapshots a run of `epochs` epochs keeps: iteration 0, the log-spaced ones and
    the epoch ends (the last iteration is both), and the last weights of a run stopped between
    two scheduled iterations (which then never reaches the last one)."""
    return 1 + count + epochs


def snapshot_bytes(model: LeNetBase) -> int:
    """Bytes of one snapshot of `model`: its trainable parameters in STORED_DTYPE."""
    size = torch.empty((), dtype=STORED_DTYPE).element_size()
    return sum(p.numel() for p in model.parameters() if p.requires_grad) * size


# ------------------------------------------------------------------ one snapshot


@dataclass(frozen=True)
class WeightSnapshot:
    """A net's trainable parameters after `iteration` steps (0: the initial weights)."""

    iteration: int
    epoch: float  # iterations / iterations per epoch
    loss: float | None  # the training loss recorded at that iteration (None at 0)
    parameters: dict[str, torch.Tensor]  # name -> copy (float16, or float32 if too large)

    @property
    def nbytes(self) -> int:
        return sum(t.numel() * t.element_size() for t in self.parameters.values())


def _stored(tensor: torch.Tensor) -> torch.Tensor:
    values = tensor.detach()
    if values.is_floating_point() and values.abs().max() <= FLOAT16_MAX:
        return values.to(STORED_DTYPE, memory_format=torch.contiguous_format).clone()
    return values.to(torch.float32, memory_format=torch.contiguous_format).clone()


@torch.no_grad()
def capture(
    model: LeNetBase, iteration: int, epoch: float = 0.0, loss: float | None = None
) -> WeightSnapshot:
    """A snapshot of `model`'s trainable parameters. The caller makes sure that no step
    changes them meanwhile (the run's lock)."""
    parameters = {name: _stored(p) for name, p in model.named_parameters() if p.requires_grad}
    return WeightSnapshot(int(iteration), float(epoch), loss, parameters)


def _epoch_of(run, iteration: int) -> float:
    per_epoch = run.iterations_per_epoch
    return iteration / per_epoch if per_epoch else 0.0


def _loss_now(run) -> float | None:
    losses = run.history.loss
    return float(losses[run.iteration - 1]) if 0 < run.iteration <= len(losses) else None


def live_snapshot(run) -> WeightSnapshot:
    """The weights of a training run right now, copied under its lock (between two steps).

    `run` is a TrainingRun (lenet_viz.training.run): model, lock, iteration, iterations_per_epoch,
    history. The cost does not depend on how long the run has trained.
    """
    with run.lock:
        return capture(run.model, run.iteration, _epoch_of(run, run.iteration), _loss_now(run))


# ------------------------------------------------------------------ the recorder


class SnapshotRecorder:
    """The snapshots of one training run, kept at `snapshot_schedule`'s iterations.

    The run calls `after_step(run)` before its first step (iteration 0) and after each step
    it has recorded, between two steps (the weights are then those after `run.iteration`
    steps), and `at_end(run)` when it ends, for its last weights. Readers on other threads
    call `snapshots()`, which returns the ones kept so far.
    """

    def __init__(self, count: int = LOG_SNAPSHOTS):
        self.count = count
        self._lock = threading.Lock()
        self._snapshots: list[WeightSnapshot] = []
        self._schedule: frozenset[int] | None = None

    def after_step(self, run) -> None:
        """Keep the weights if `run.iteration` is a scheduled one (copied under the run's lock)."""
        if self._schedule is None:  # the run knows its length once its data is loaded
            self._schedule = frozenset(
                snapshot_schedule(run.total_iterations, run.iterations_per_epoch, self.count)
            )
        if run.iteration in self._schedule:
            with run.lock:
                self._keep(run, replace=False)

    def at_end(self, run) -> None:
        """Keep the weights the run ends with (stopped, diverged: the last finite ones, which
        replace a snapshot of the same iteration taken before the guard restored them)."""
        with run.lock:
            self._keep(run, replace=True)

    def _keep(self, run, replace: bool) -> None:
        with self._lock:
            last = self._snapshots[-1] if self._snapshots else None
        if last is not None and last.iteration == run.iteration and not replace:
            return
        snapshot = capture(run.model, run.iteration, _epoch_of(run, run.iteration), _loss_now(run))
        with self._lock:
            if self._snapshots and self._snapshots[-1].iteration == snapshot.iteration:
                self._snapshots[-1] = snapshot
            else:
                self._snapshots.append(snapshot)

    def snapshots(self) -> tuple[WeightSnapshot, ...]:
        with self._lock:
            return tuple(self._snapshots)

    def __len__(self) -> int:
        with self._lock:
            return len(self._snapshots)

    def schedule(self) -> tuple[int, ...]:
        """The planned iterations (empty before the run's first step)."""
        return tuple(sorted(self._schedule or ()))

    @property
    def nbytes(self) -> int:
        return sum(s.nbytes for s in self.snapshots())


# ------------------------------------------------------------------ what a snapshot shows


@dataclass(frozen=True)
class InsideView:
    """What one snapshot shows for one digit."""

    iteration: int
    epoch: float
    loss: float | None
    kernels: np.ndarray  # (6, 5, 5): C1's kernels
    c1: np.ndarray  # (6, 28, 28): the digit's C1 maps
    c3: np.ndarray  # (16, 10, 10): the digit's C3 maps
    probabilities: np.ndarray  # (10,)
    prediction: int
    output_is_penalty: bool  # the faithful net: its outputs are RBF penalties


def scratch_model(config: ModelConfig) -> LeNetBase:
    """A net of this config to load snapshots into (never the one that trains)."""
    return build_model(config).eval()


@torch.no_grad()
def load_snapshot(model: LeNetBase, snapshot: WeightSnapshot) -> LeNetBase:
    """Copy the snapshot's weights into `model` (a scratch model), in float32."""
    parameters = dict(model.named_parameters())
    missing = [name for name in parameters if name not in snapshot.parameters]
    if missing or len(parameters) != len(snapshot.parameters):
        raise ReplayError(
            f"the snapshot at iteration {snapshot.iteration} does not fit this net "
            f"(missing {missing[:3]}); replay it with the model config it was taken from"
        )
    for name, parameter in parameters.items():
        saved = snapshot.parameters[name]
        if saved.shape != parameter.shape:
            raise ReplayError(
                f"the snapshot's {name} has shape {tuple(saved.shape)}, the net's "
                f"{tuple(parameter.shape)}; replay it with the model config it was taken from"
            )
        parameter.copy_(saved)
    return model


def digit_input(image28, config: ModelConfig) -> torch.Tensor:
    """A 28x28 digit as the (1, 1, 32, 32) input of a net of this config."""
    return network_input(image28, config)


def inside_at(snapshot: WeightSnapshot, model: LeNetBase, x: torch.Tensor) -> InsideView:
    """The kernels, the C1 and C3 maps of input `x` and its prediction at `snapshot`.

    `model` is a scratch net of the snapshot's config (`scratch_model`); its weights are
    replaced by the snapshot's.
    """
    load_snapshot(model, snapshot)
    seen = inspect_digit(model, x)
    return InsideView(
        iteration=snapshot.iteration,
        epoch=snapshot.epoch,
        loss=snapshot.loss,
        kernels=c1_kernels(model),
        c1=seen.layers["C1"],
        c3=seen.layers["C3"],
        probabilities=seen.probabilities,
        prediction=seen.prediction,
        output_is_penalty=seen.output_is_penalty,
    )


def kernels_at(snapshot: WeightSnapshot) -> np.ndarray:
    """C1's kernels (6, 5, 5) in a snapshot, as float32, without building a net."""
    name = next(n for n in snapshot.parameters if n.startswith("layers.C1") and "weight" in n)
    return snapshot.parameters[name].float()[:, 0].numpy()


# ------------------------------------------------------------------ noise or structure


def kernel_change(kernels: np.ndarray, initial: np.ndarray) -> float:
    """How far the kernels moved from their initial values: ||k - k0|| / ||k0||."""
    kernels, initial = np.asarray(kernels, np.float64), np.asarray(initial, np.float64)
    return float(np.linalg.norm(kernels - initial) / max(np.linalg.norm(initial), 1e-12))


def kernel_smoothness(kernels: np.ndarray) -> float:
    """The mean correlation of each kernel weight with its right and lower neighbour.

    Random initial weights score about 0 (noise: neighbours are unrelated); a stroke or edge
    detector, whose weights change smoothly across the 5x5 window, scores well above 0.
    """
    k = np.asarray(kernels, np.float64)
    k = k - k.mean(axis=(1, 2), keepdims=True)
    here = np.concatenate([k[:, :, :-1].reshape(len(k), -1), k[:, :-1].reshape(len(k), -1)], 1)
    there = np.concatenate([k[:, :, 1:].reshape(len(k), -1), k[:, 1:].reshape(len(k), -1)], 1)
    scale = np.sqrt((here**2).sum(1) * (there**2).sum(1))
    return float(np.mean((here * there).sum(1) / np.maximum(scale, 1e-12)))


# ------------------------------------------------------------------ one slider for several runs


def aligned_stops(runs: Sequence[Sequence[WeightSnapshot]]) -> list[tuple[int, ...]]:
    """The stops of one slider that moves every run together.

    The stops are the snapshots of the run with the most of them; at each stop, every run shows
    its last snapshot at or before the same point of training (in epochs, so that runs of
    different batch sizes line up). Returns, per stop, one snapshot index per run.
    """
    if not runs or not any(runs):
        return []
    lead = max(range(len(runs)), key=lambda i: len(runs[i]))
    stops = []
    for snapshot in runs[lead]:
        indices = []
        for snapshots in runs:
            epochs = [s.epoch for s in snapshots]
            at = int(np.searchsorted(epochs, snapshot.epoch + 1e-9, side="right")) - 1
            indices.append(max(0, min(at, len(snapshots) - 1)))
        stops.append(tuple(indices))
    return stops


# ------------------------------------------------------------------ in a checkpoint


def replay_payload(
    snapshots: Sequence[WeightSnapshot],
    iterations: Sequence[int] = (),
    losses: Sequence[float] = (),
) -> dict:
    """The snapshots (and optionally the loss curve, decimated) as plain data for a checkpoint:
    tensors, ints, floats, strings, lists and dicts only."""
    curve_i, curve_l = _decimated(list(iterations), list(losses))
    return {
        "format": REPLAY_FORMAT,
        "iterations": [s.iteration for s in snapshots],
        "epochs": [s.epoch for s in snapshots],
        "losses": [s.loss if s.loss is None else float(s.loss) for s in snapshots],
        "parameters": [dict(s.parameters) for s in snapshots],
        "curve": {
            "iteration": torch.tensor(curve_i, dtype=torch.int64),
            "loss": torch.tensor(curve_l, dtype=torch.float32),
        },
    }


def _decimated(xs: list, ys: list) -> tuple[list, list]:
    if len(xs) != len(ys):
        raise ValueError(f"iterations and losses differ in length: {len(xs)} != {len(ys)}")
    if len(xs) <= MAX_CURVE_POINTS:
        return xs, ys
    keep = np.unique(np.linspace(0, len(xs) - 1, MAX_CURVE_POINTS).round().astype(int))
    return [xs[i] for i in keep], [ys[i] for i in keep]


@dataclass(frozen=True)
class Replay:
    """A run's snapshots and its loss curve, as a checkpoint carries them."""

    snapshots: tuple[WeightSnapshot, ...]
    curve_iterations: np.ndarray
    curve_losses: np.ndarray


def snapshots_from_payload(payload: object, name: str = "the checkpoint") -> Replay:
    """The `Replay` stored by `replay_payload`; ReplayError if it is missing or damaged."""
    if payload is None:
        raise ReplayError(
            f"{name} has no training snapshots to replay; train and save a model with "
            "`lenet-viz train ... --save FILE` (it keeps them), or save it from the Train page"
        )
    try:
        if payload["format"] != REPLAY_FORMAT:
            raise ReplayError(
                f"{name} holds snapshots in format {payload['format']!r}, not {REPLAY_FORMAT!r}; "
                "update lenet_viz or train the model again"
            )
        iterations, epochs, losses = payload["iterations"], payload["epochs"], payload["losses"]
        parameters = payload["parameters"]
        if not (len(iterations) == len(epochs) == len(losses) == len(parameters)) or not parameters:
            raise KeyError("lengths")
        snapshots = tuple(
            WeightSnapshot(int(i), float(e), None if loss is None else float(loss), dict(p))
            for i, e, loss, p in zip(iterations, epochs, losses, parameters, strict=True)
        )
        if not all(isinstance(t, torch.Tensor) for s in snapshots for t in s.parameters.values()):
            raise KeyError("tensors")
        curve = payload.get("curve") or {}
        curve_i = np.asarray(curve.get("iteration", torch.zeros(0)).numpy(), dtype=np.int64)
        curve_l = np.asarray(curve.get("loss", torch.zeros(0)).numpy(), dtype=np.float32)
    except ReplayError:
        raise
    except (KeyError, TypeError, ValueError, AttributeError) as error:
        raise ReplayError(
            f"the training snapshots in {name} are damaged ({type(error).__name__}); "
            "save the model again"
        ) from None
    if list(s.iteration for s in snapshots) != sorted(s.iteration for s in snapshots):
        raise ReplayError(f"the training snapshots in {name} are out of order; save it again")
    return Replay(snapshots, curve_i, curve_l)
