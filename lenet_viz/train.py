"""The training engine: plain train/evaluate functions and a `Trainer` on a background thread.

- `TrainConfig` says everything about a run; `PRESETS` name the recipes (`seed` is the notebook's).
- `TrainingRun` is one model, its optimizer and its history; `run.steps()` is a generator that
  trains one batch per `next()`, so several runs can advance in lockstep.
- `Trainer` drives one or more runs on a background thread that never calls Streamlit. A UI
  or the CLI sends start, pause, resume, stop and step through thread-safe flags, and reads
  consistent snapshots of the history and weights while the run goes on.
- `RunSlots` bounds how many trainers train at once on one server; the others wait in a queue.
"""

from __future__ import annotations

import copy
import math
import os
import threading
import time
import uuid
import weakref
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field, fields, replace
from functools import lru_cache

import torch
import torch.nn.functional as F

from lenet_viz.data import Split, load_split, to_network_input
from lenet_viz.model import LAYER_NAMES, LeNetBase, ModelConfig, build_model

OPTIMIZERS = ("sgd", "adam", "sdlm")
SCHEDULES = ("constant", "onecycle", "paper")
AUGMENTS = ("none", "shift")
PRECISIONS = ("float32", "bfloat16")
MAX_SHIFT = 2  # pixels, for augment="shift"
# A loss this many times its first value (at least 1) means the run blew up, even while it is
# still finite: ReLU at SGD lr 10 reaches 1e5x within 4 batches, then its dead units sit at
# chance for ever. Adam's worst early spikes at lr 0.1 stay under 1,000x.
DIVERGENCE_FACTOR = 1e4
MAX_EPOCHS = 50
MAX_BATCH_SIZE = 4096
EVAL_BATCH = 512  # larger batches spill C1's maps out of the L2 cache: 1.7x slower at 2000


class ConfigError(ValueError):
    """A training setting a learner chose that cannot work; the message says what to change."""


@dataclass
class TrainConfig:
    """Everything that defines a training run."""

    arch: str = "modern"
    activation: str | None = None
    pooling: str | None = None
    c3: str | None = None
    resize: str = "pad"
    rbf_j: float = 1.0
    dataset: str = "mnist"
    optimizer: str = "sgd"
    lr: float = 0.01
    momentum: float = 0.9
    weight_decay: float = 0.0
    batch_size: int = 64
    epochs: int = 1
    schedule: str = "constant"
    augment: str = "none"  # "shift": move each training digit by up to MAX_SHIFT px
    # "bfloat16": the training forward pass under bfloat16 autocast (weights, gradients, the
    # optimizer and every evaluation stay float32); fast on CPUs with AVX512-BF16 or AMX.
    precision: str = "float32"
    seed: int = 0
    train_limit: int | None = None  # train on the first N digits only (quick demos, tests)
    test_limit: int | None = None

    def model_config(self) -> ModelConfig:
        return ModelConfig(
            arch=self.arch,
            activation=self.activation,
            pooling=self.pooling,
            c3=self.c3,
            resize=self.resize,
            rbf_j=self.rbf_j,
        )

    def validate(self) -> TrainConfig:
        """Raise ConfigError with an actionable message for any setting that cannot work."""
        lr = self.lr
        if not isinstance(lr, int | float) or not math.isfinite(lr) or lr <= 0:
            raise ConfigError(f"learning rate must be a positive finite number, got {lr!r}")
        if not isinstance(self.batch_size, int) or not 1 <= self.batch_size <= MAX_BATCH_SIZE:
            raise ConfigError(
                f"batch size must be a whole number from 1 to {MAX_BATCH_SIZE}, "
                f"got {self.batch_size!r}"
            )
        if not isinstance(self.epochs, int) or not 1 <= self.epochs <= MAX_EPOCHS:
            raise ConfigError(
                f"epochs must be a whole number from 1 to {MAX_EPOCHS}, got {self.epochs!r}"
            )
        if not math.isfinite(self.momentum) or not 0 <= self.momentum < 1:
            raise ConfigError(f"momentum must be in [0, 1), got {self.momentum!r}")
        if not math.isfinite(self.weight_decay) or self.weight_decay < 0:
            raise ConfigError(f"weight decay must be >= 0, got {self.weight_decay!r}")
        if self.optimizer not in OPTIMIZERS:
            raise ConfigError(
                f"unknown optimizer {self.optimizer!r}; choose one of: {', '.join(OPTIMIZERS)}"
            )
        if self.augment not in AUGMENTS:
            raise ConfigError(
                f"unknown augment {self.augment!r}; choose one of: {', '.join(AUGMENTS)}"
            )
        if self.precision not in PRECISIONS:
            raise ConfigError(
                f"unknown precision {self.precision!r}; choose one of: {', '.join(PRECISIONS)}"
            )
        if self.schedule not in SCHEDULES:
            raise ConfigError(
                f"unknown schedule {self.schedule!r}; choose one of: {', '.join(SCHEDULES)}"
            )
        for name in ("train_limit", "test_limit"):
            limit = getattr(self, name)
            if limit is not None and (not isinstance(limit, int) or limit < 1):
                raise ConfigError(f"{name} must be a positive whole number, got {limit!r}")
        try:
            self.model_config()
        except ValueError as error:
            raise ConfigError(str(error)) from None
        from lenet_viz.data import DATASETS

        if self.dataset not in DATASETS:
            raise ConfigError(
                f"unknown dataset {self.dataset!r}; choose one of: {', '.join(DATASETS)}"
            )
        return self

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict) -> TrainConfig:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in values.items() if k in known})


@lru_cache(maxsize=1)
def native_bfloat16() -> bool:
    """True when the CPU computes bfloat16 natively (AVX512-BF16 or AMX, read from Linux's
    /proc/cpuinfo). Only then is bfloat16 autocast faster than float32."""
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            flags = next((line for line in cpuinfo if line.startswith("flags")), "").split()
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


# Named recipes. `seed` is the notebook this project grew from: batch 32, SGD lr 0.01,
# momentum 0.5, one epoch, 28x28 resized to 32x32 and normalized with the MNIST mean/std.
PRESETS: dict[str, dict] = {
    "seed": dict(
        optimizer="sgd",
        lr=0.01,
        momentum=0.5,
        batch_size=32,
        epochs=1,
        resize="scale",
        schedule="constant",
    ),
    # 99.0% test accuracy in 12 s on 2 CPU cores, everything included. Three epochs at batch
    # 256, one-cycle peak 1.6e-2: 99.05-99.25% over seeds 0-9 (mean 99.14%); two epochs reach
    # only 98.9-99.1%. bfloat16 where the CPU has it: 1.2x faster, the same accuracy. See
    # benchmarks/RESULTS.md.
    "fast": dict(
        arch="modern",
        activation="relu",
        optimizer="adam",
        lr=1.6e-2,
        batch_size=256,
        epochs=3,
        schedule="onecycle",
        precision="bfloat16" if native_bfloat16() else "float32",
    ),
    "faithful-fast": dict(
        arch="faithful",
        optimizer="adam",
        lr=2e-3,
        batch_size=64,
        epochs=4,
        schedule="onecycle",
    ),
    # The 1998 recipe (p.10): SDLM, one pattern per step, 20 passes, the paper's per-pass
    # schedule scaled by lr / 0.0005. The one difference: lr is one tenth of the paper's 0.0005,
    # because the paper's rates diverge within a few patterns here (see lenet_viz/sdlm.py).
    "paper": dict(
        arch="faithful",
        optimizer="sdlm",
        lr=0.00005,
        batch_size=1,
        epochs=20,
        schedule="paper",
    ),
}


def preset_config(name: str, **overrides) -> TrainConfig:
    """The preset's config, with any explicitly given overrides (None means "not given")."""
    if name not in PRESETS:
        raise ConfigError(f"unknown preset {name!r}; choose one of: {', '.join(PRESETS)}")
    values = {**PRESETS[name], **{k: v for k, v in overrides.items() if v is not None}}
    return TrainConfig(**values)


def learning_rate(config: TrainConfig, iteration: int, iterations_per_epoch: int) -> float:
    """The learning rate at a 0-based iteration.

    onecycle: linear warm-up from lr/25 to lr over the first 25% of the run, then cosine
    annealing to lr/1e4 (Smith's one-cycle policy, as torch's OneCycleLR by default).
    paper: the per-pass global rates of LeCun et al. 1998, p.10, scaled by lr/0.0005.
    """
    if config.schedule == "constant":
        return config.lr
    if config.schedule == "paper":
        from lenet_viz.faithful import paper_lr

        return paper_lr(iteration // iterations_per_epoch) * config.lr / 0.0005
    total = max(1, config.epochs * iterations_per_epoch)
    warm = max(1, int(0.25 * total))
    start, low = config.lr / 25, config.lr / 1e4
    if iteration < warm:
        return start + (config.lr - start) * iteration / warm
    progress = min(1.0, (iteration - warm) / max(1, total - warm))
    return low + (config.lr - low) * 0.5 * (1 + math.cos(math.pi * progress))


def make_optimizer(config: TrainConfig, model: LeNetBase):
    """Adam and SGD run torch's fused CPU kernels (one kernel per tensor instead of about ten
    small ops: 3x faster steps on LeNet-5's small tensors), through `FusedAdam`/`FusedSGD`."""
    params = [p for p in model.parameters() if p.requires_grad]
    if config.optimizer == "adam":
        return FusedAdam(params, lr=config.lr, weight_decay=config.weight_decay)
    if config.optimizer == "sdlm":
        from lenet_viz.sdlm import SDLM

        return SDLM(params, lr=config.lr)
    return FusedSGD(
        params, lr=config.lr, momentum=config.momentum, weight_decay=config.weight_decay
    )


class _FusedOptimizer:
    """The part of the torch.optim interface the Trainer uses: one param group (its "lr" is set
    before each step), zero_grad() and step().

    Why not torch.optim itself: its first step imports torch._dynamo, 1.2 s of the 12 s that
    `train --preset fast` may take on 2 cores (benchmarks/RESULTS.md). The update is the same
    fused kernel torch.optim.Adam/SGD(fused=True) call, with the same arguments: bit for bit
    the same weights.
    """

    def __init__(self, params, **group):
        self.params = list(params)
        self.param_groups = [{"params": self.params, **group}]

    def zero_grad(self, set_to_none: bool = True) -> None:
        for p in self.params:
            if set_to_none:
                p.grad = None
            elif p.grad is not None:
                p.grad.detach_().zero_()

    def _live(self) -> list[int]:
        """Indices of the parameters that have a gradient (the others are skipped, as torch)."""
        return [i for i, p in enumerate(self.params) if p.grad is not None]


class FusedAdam(_FusedOptimizer):
    def __init__(self, params, lr: float, weight_decay: float = 0.0, betas=(0.9, 0.999), eps=1e-8):
        super().__init__(params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay)
        like = [torch.zeros_like(p, memory_format=torch.preserve_format) for p in self.params]
        self.exp_avgs, self.exp_avg_sqs = like, [torch.zeros_like(t) for t in like]
        self.steps = [torch.zeros((), dtype=torch.float32) for _ in self.params]

    @torch.no_grad()
    def step(self) -> None:
        live = self._live()
        if not live:
            return
        group = self.param_groups[0]
        steps = [self.steps[i] for i in live]
        torch._foreach_add_(steps, 1)
        torch._fused_adam_(
            [self.params[i] for i in live],
            [self.params[i].grad for i in live],
            [self.exp_avgs[i] for i in live],
            [self.exp_avg_sqs[i] for i in live],
            [],  # max_exp_avg_sqs: no amsgrad
            steps,
            amsgrad=False,
            lr=group["lr"],
            beta1=group["betas"][0],
            beta2=group["betas"][1],
            weight_decay=group["weight_decay"],
            eps=group["eps"],
            maximize=False,
            grad_scale=None,
            found_inf=None,
        )


class FusedSGD(_FusedOptimizer):
    def __init__(self, params, lr: float, momentum: float = 0.0, weight_decay: float = 0.0):
        super().__init__(params, lr=lr, momentum=momentum, weight_decay=weight_decay)
        self.momentum_buffers: list[torch.Tensor | None] = [None] * len(self.params)

    @torch.no_grad()
    def step(self) -> None:
        live = self._live()
        if not live:
            return
        group = self.param_groups[0]
        momentum = group["momentum"]
        grads = [self.params[i].grad for i in live]
        first = momentum != 0 and all(self.momentum_buffers[i] is None for i in live)
        if first:  # torch starts each buffer as the first gradient (the kernel fills it)
            for i, grad in zip(live, grads, strict=True):
                self.momentum_buffers[i] = torch.empty_like(grad)
        torch._fused_sgd_(
            [self.params[i] for i in live],
            grads,
            [] if momentum == 0 else [self.momentum_buffers[i] for i in live],
            weight_decay=group["weight_decay"],
            momentum=momentum,
            lr=group["lr"],
            dampening=0.0,
            nesterov=False,
            maximize=False,
            is_first_step=first,
            grad_scale=None,
            found_inf=None,
        )


@lru_cache(maxsize=8)
def cached_inputs(dataset: str, train: bool, resize: str, scaling: str) -> torch.Tensor:
    """A whole split as 32x32 network inputs, computed once per process and preprocessing."""
    return to_network_input(load_split(dataset, train=train).images, resize, scaling)


def random_shift(x: torch.Tensor, max_shift: int, generator: torch.Generator) -> torch.Tensor:
    """Move each image of a batch (N, 1, H, W) by its own random whole-pixel offset.

    The border is background in every input here (2 px of padding around the 28x28 digit), so
    it is repeated into the space the shift opens. A mild form of the random distortions with
    which LeCun et al. 1998 (p.11) brought LeNet-5's test error from 0.95% to 0.8%.
    """
    n, _, h, w = x.shape
    padded = F.pad(x, (max_shift,) * 4, mode="replicate")
    dy, dx = torch.randint(0, 2 * max_shift + 1, (2, n, 1), generator=generator)
    rows = (dy + torch.arange(h))[:, :, None]  # (N, H, 1)
    cols = (dx + torch.arange(w))[:, None, :]  # (N, 1, W)
    return padded[torch.arange(n)[:, None, None], 0, rows, cols][:, None]


@torch.inference_mode()
def evaluate(
    model: LeNetBase, inputs: torch.Tensor, labels: torch.Tensor, batch: int = EVAL_BATCH
) -> tuple[float, float, torch.Tensor]:
    """Mean loss, accuracy and predictions of `model` on in-memory inputs."""
    was_training = model.training
    model.eval()
    total_loss, predictions = 0.0, []
    for start in range(0, len(labels), batch):
        x, y = inputs[start : start + batch], labels[start : start + batch]
        output = model(x)
        total_loss += model.loss(output, y).item() * len(y)
        predictions.append(model.predict(output))
    model.train(was_training)
    predicted = torch.cat(predictions)
    accuracy = (predicted == labels).float().mean().item()
    return total_loss / len(labels), accuracy, predicted


def confusion_matrix(labels: torch.Tensor, predicted: torch.Tensor, classes: int = 10):
    """confusion[true][predicted] counts, as nested lists."""
    index = labels * classes + predicted
    counts = torch.bincount(index, minlength=classes * classes)
    return counts.reshape(classes, classes).tolist()


@dataclass
class History:
    """What a run records. Per iteration: loss, batch accuracy, learning rate, and the gradient
    L2 norm of each layer. Per epoch: train loss/accuracy (the mean over the epoch's batches,
    as the notebook reported) and test loss/accuracy on the whole test set."""

    iteration: list[int] = field(default_factory=list)
    epoch_float: list[float] = field(default_factory=list)
    loss: list[float] = field(default_factory=list)
    accuracy: list[float] = field(default_factory=list)
    lr: list[float] = field(default_factory=list)
    grad_norm: dict[str, list[float]] = field(default_factory=dict)
    epochs: list[dict] = field(default_factory=list)

    def copy(self) -> History:
        return History(
            list(self.iteration),
            list(self.epoch_float),
            list(self.loss),
            list(self.accuracy),
            list(self.lr),
            {k: list(v) for k, v in self.grad_norm.items()},
            [dict(e) for e in self.epochs],
        )

    def since(self, start: int) -> History:
        """The per-iteration records from index `start` on, and every epoch: a reader that has
        the first `start` records copies only the new ones (a live view's poll)."""
        return History(
            self.iteration[start:],
            self.epoch_float[start:],
            self.loss[start:],
            self.accuracy[start:],
            self.lr[start:],
            {k: v[start:] for k, v in self.grad_norm.items()},
            [dict(e) for e in self.epochs],
        )

    def to_csv_rows(self) -> list[list]:
        """One row per iteration, with the epoch metrics on the epoch's last iteration."""
        layers = list(self.grad_norm)
        header = ["iteration", "epoch", "loss", "batch_accuracy", "lr"]
        header += [f"grad_norm_{name}" for name in layers]
        header += ["train_loss", "train_acc", "test_loss", "test_acc"]
        by_last_iteration = {e["iteration"]: e for e in self.epochs}
        rows = [header]
        for i, it in enumerate(self.iteration):
            epoch = by_last_iteration.get(it, {})
            row = [it, round(self.epoch_float[i], 5), self.loss[i], self.accuracy[i], self.lr[i]]
            row += [self.grad_norm[name][i] for name in layers]
            row += [epoch.get(k, "") for k in ("train_loss", "train_acc", "test_loss", "test_acc")]
            rows.append(row)
        return rows


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
        self.model = model if model is not None else build_model(config.model_config(), config.seed)
        # channels_last (before the optimizer sees the weights): oneDNN's convolutions and max
        # pooling then skip their layout reorders; 1.2-1.6x faster training and evaluation on
        # CPU, the same model and weights (benchmarks/RESULTS.md).
        self.model.to(memory_format=torch.channels_last).train()
        self._train_split, self._test_split = train, test
        self.optimizer = make_optimizer(config, self.model)
        self.history = History(grad_norm={name: [] for name in LAYER_NAMES})
        self.status = "ready"  # ready, running, completed, stopped, diverged, error
        self.message = ""
        self.testing = False  # True during the end-of-epoch test, when iterations stand still
        self._first_loss: float | None = None  # the yardstick of DIVERGENCE_FACTOR
        self.iteration = 0
        self.images_seen = 0
        self.iterations_per_epoch = 0
        self.total_iterations = 0
        self.final: dict = {}
        self.lock = threading.Lock()  # held while weights or history change
        self._layer_params = [
            (name, [p for p in layer.parameters() if p.requires_grad])
            for name, layer in self.model.layers.items()
        ]
        self._params = list(self.model.parameters())  # the order _backup follows
        self._backup: list[torch.Tensor] = []

    # -- data --------------------------------------------------------------------------
    def load_data(self) -> None:
        """Read the splits and turn them into network inputs once (a no-op when done)."""
        if hasattr(self, "train_inputs"):
            return
        cfg, resize, scaling = (
            self.config,
            self.model.config.resize,
            self.model.config.input_scaling,
        )

        def inputs(split: Split | None, train: bool, limit: int | None):
            if split is None:  # the shared in-memory dataset, preprocessed once per process
                labels = load_split(cfg.dataset, train=train).labels
                x = cached_inputs(cfg.dataset, train, resize, scaling)
            else:
                labels, x = split.labels, to_network_input(split.images, resize, scaling)
            return x[:limit], labels[:limit]

        self.train_inputs, self.train_labels = inputs(self._train_split, True, cfg.train_limit)
        self.test_inputs, self.test_labels = inputs(self._test_split, False, cfg.test_limit)
        self.iterations_per_epoch = math.ceil(len(self.train_labels) / cfg.batch_size)
        self.total_iterations = self.iterations_per_epoch * cfg.epochs

    # -- one batch -----------------------------------------------------------------------
    def _train_batch(self, x: torch.Tensor, y: torch.Tensor, epoch: int, lr: float) -> bool:
        """Train on one batch and record it. Returns False when the run diverged: the loss is
        not finite, or DIVERGENCE_FACTOR times its first value."""
        model = self.model
        for group in self.optimizer.param_groups:
            group["lr"] = lr
        bfloat16 = self.config.precision == "bfloat16"
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bfloat16):
            output = model(x)
        output = output.float()  # the loss and the records in float32
        loss = model.loss(output, y)
        loss_value = loss.item()
        if self._first_loss is None:
            self._first_loss = loss_value
        if not math.isfinite(loss_value):
            self._diverged(f"the loss became {loss_value}")
            return False
        if loss_value > DIVERGENCE_FACTOR * max(1.0, self._first_loss):
            self._diverged(
                f"the loss reached {loss_value:.3g}, over {DIVERGENCE_FACTOR:,.0f} times its "
                f"first value ({self._first_loss:.3g})"
            )
            return False
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        norms = self._layer_grad_norms()
        correct = (model.predict(output.detach()) == y).sum().item()
        with self.lock:
            self._keep_backup()
            self.optimizer.step()
            h = self.history
            self.iteration += 1
            self.images_seen += len(y)
            h.iteration.append(self.iteration)
            h.epoch_float.append(epoch + self._batch_in_epoch / self.iterations_per_epoch)
            h.loss.append(loss_value)
            h.accuracy.append(correct / len(y))
            h.lr.append(lr)
            for (name, _), value in zip(self._layer_params, norms, strict=True):
                h.grad_norm[name].append(value)
        return True

    def _layer_grad_norms(self) -> list[float]:
        """Each layer's gradient L2 norm: one fused norm over every gradient tensor, then per
        layer the square root of the sum of its tensors' squared norms (one op, one sync)."""
        grads = [p.grad for _, params in self._layer_params for p in params]
        squares = torch.stack(torch._foreach_norm(grads)).square_().tolist() if grads else []
        norms, start = [], 0
        for _, params in self._layer_params:
            norms.append(math.sqrt(sum(squares[start : start + len(params)])))
            start += len(params)
        return norms

    def _keep_backup(self) -> None:
        """Copy the weights before the step, so that a divergence can fall back to them."""
        with torch.no_grad():
            if not self._backup:
                self._backup = [p.clone() for p in self._params]
            else:
                torch._foreach_copy_(self._backup, self._params)

    def _diverged(self, what_happened: str) -> None:
        """Stop with the last finite weights: the ones before the step that broke them."""
        with self.lock, torch.no_grad():
            broken = any(not torch.isfinite(p).all() for p in self.model.parameters())
            if broken and self._backup:
                for p, saved in zip(self.model.parameters(), self._backup, strict=True):
                    p.copy_(saved)
            self.status = "diverged"
            self.message = (
                f"diverged at iteration {self.iteration + 1}: {what_happened}. "
                "The last finite weights and the history are kept; try a smaller learning rate."
            )

    # -- the whole run -------------------------------------------------------------------
    def steps(self) -> Iterator[str]:
        """Train the whole run, one batch per next(); yields "batch" or "epoch"."""
        self.load_data()
        cfg = self.config
        self.status = "running"
        order_rng = torch.Generator().manual_seed(cfg.seed)  # same seed -> same batch order
        shift_rng = torch.Generator().manual_seed(cfg.seed + 1)
        n = len(self.train_labels)
        for epoch in range(cfg.epochs):
            if hasattr(self.optimizer, "estimate_hessian"):  # SDLM, Appendix C: before each pass
                with self.lock:
                    self.optimizer.estimate_hessian(
                        self.model, self.train_inputs[:500], self.train_labels[:500]
                    )
            order = torch.randperm(n, generator=order_rng)
            losses_before = len(self.history.loss)
            for self._batch_in_epoch, start in enumerate(range(0, n, cfg.batch_size)):
                index = order[start : start + cfg.batch_size]
                lr = learning_rate(cfg, self.iteration, self.iterations_per_epoch)
                x = self.train_inputs[index]
                if cfg.augment == "shift":
                    x = random_shift(x, MAX_SHIFT, shift_rng)
                if not self._train_batch(x, self.train_labels[index], epoch, lr):
                    return
                yield "batch"
            self._end_epoch(epoch + 1, losses_before)
            yield "epoch"
        self.status = "completed"

    def _end_epoch(self, epoch: int, first_index: int) -> None:
        h = self.history
        train_loss = sum(h.loss[first_index:]) / max(1, len(h.loss) - first_index)
        train_acc = sum(h.accuracy[first_index:]) / max(1, len(h.accuracy) - first_index)
        self.testing = True
        try:
            test_loss, test_acc, _ = evaluate(self.model, self.test_inputs, self.test_labels)
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
                }
            )

    def finish(self, stopped: bool) -> None:
        """Final numbers: the last epoch's test accuracy, or a fresh evaluation after a stop."""
        if stopped and self.status == "running":
            self.status = "stopped"
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
        model = self.model_snapshot()
        loss, acc, predicted = evaluate(model, self.test_inputs, self.test_labels)
        return {
            "test_loss": loss,
            "test_acc": acc,
            "predicted": predicted,
            "labels": self.test_labels,
            "confusion": confusion_matrix(self.test_labels, predicted),
        }


def describe(config: TrainConfig) -> str:
    """A short label for a run, e.g. "modern relu sgd lr=0.01 bs=32"; a C3 table or pooling
    other than the architecture's own is named too ("modern relu C3=paper ...")."""
    model = config.model_config()
    usual = ModelConfig(arch=model.arch)
    changed = "".join(
        f" {name}={getattr(model, field)}"
        for name, field in (("C3", "c3"), ("pool", "pooling"))
        if getattr(model, field) != getattr(usual, field)
    )
    return (
        f"{model.arch} {model.activation}{changed} {config.optimizer} lr={config.lr:g} "
        f"bs={config.batch_size}"
    )


class RunSlots:
    """At most `capacity` trainers train at once on one server; the rest wait in a FIFO queue."""

    def __init__(self, capacity: int):
        self.capacity = max(1, capacity)
        self._cond = threading.Condition()
        self._running: list[object] = []
        self._queue: list[object] = []

    def acquire(self, owner: object, cancelled: Callable[[], bool] = lambda: False) -> bool:
        """Wait for a slot; False if `cancelled()` became true while waiting."""
        with self._cond:
            self._queue.append(owner)
            while not (self._queue[0] is owner and len(self._running) < self.capacity):
                if cancelled():
                    self._queue.remove(owner)
                    self._cond.notify_all()
                    return False
                self._cond.wait(timeout=0.1)
            self._queue.pop(0)
            self._running.append(owner)
            self._cond.notify_all()
            return True

    def release(self, owner: object) -> None:
        with self._cond:
            if owner in self._running:
                self._running.remove(owner)
            self._cond.notify_all()

    def position(self, owner: object) -> int | None:
        """1-based place in the queue, or None when not waiting."""
        with self._cond:
            return self._queue.index(owner) + 1 if owner in self._queue else None

    def counts(self) -> tuple[int, int]:
        with self._cond:
            return len(self._running), len(self._queue)


def default_capacity() -> int:
    """LENET_VIZ_MAX_RUNS, or one run per two cores."""
    configured = os.environ.get("LENET_VIZ_MAX_RUNS")
    if configured:
        return max(1, int(configured))
    return max(1, (os.cpu_count() or 2) // 2)


RUN_SLOTS = RunSlots(default_capacity())

# The trainers alive in this process, by id. A page keeps its trainers' ids in the URL: after a
# server restart the ids are unknown here, so the page can tell the user the run was lost.
_LIVE_TRAINERS: weakref.WeakValueDictionary[str, Trainer] = weakref.WeakValueDictionary()


def trainer_is_live(trainer_id: str) -> bool:
    """Whether a trainer with this id exists in this server process."""
    return trainer_id in _LIVE_TRAINERS


@dataclass
class TrainerSnapshot:
    """What a UI needs to draw one poll, copied safely."""

    status: str
    message: str
    queue_position: int | None
    iteration: int
    total_iterations: int
    epoch: float
    images_per_second: float
    eta_seconds: float | None
    runs: list[dict]  # per run: name, status, message, iteration, history (a copy, or None)
    testing: bool = False  # a run is testing on the test set at the end of an epoch


class Trainer:
    """Drives one or more runs on a background thread, in lockstep, one batch per tick.

    Several runs built from the same seed start from the same weights (where shapes allow)
    and see the same batch order, so their curves grow together and differ only in what was
    chosen. Controls are thread-safe flags, honoured between batches:
    start, pause, resume, stop, and step (one batch while paused or before start).
    """

    def __init__(
        self,
        configs: TrainConfig | list[TrainConfig],
        *,
        train: Split | None = None,
        test: Split | None = None,
        models: list[LeNetBase | None] | None = None,
        names: list[str] | None = None,
        slots: RunSlots | None = None,
        on_event: Callable[[TrainingRun, str], None] | None = None,
    ):
        configs = [configs] if isinstance(configs, TrainConfig) else list(configs)
        if not configs:
            raise ConfigError("nothing to train: give at least one configuration")
        models = models or [None] * len(configs)
        names = names or [None] * len(configs)
        self.runs = [
            TrainingRun(c, train=train, test=test, model=m, name=n)
            for c, m, n in zip(configs, models, names, strict=True)
        ]
        self.slots = slots if slots is not None else RUN_SLOTS
        self.id = uuid.uuid4().hex[:12]
        _LIVE_TRAINERS[self.id] = self
        self.on_event = on_event
        self.status = "idle"  # idle, queued, running, paused, completed, stopped, diverged, error
        self.message = ""
        self._thread: threading.Thread | None = None
        self._cond = threading.Condition()
        self._paused = False
        self._stop = False
        self._step_budget = 0
        self._started_at: float | None = None
        self._train_seconds = 0.0

    # -- controls ------------------------------------------------------------------------
    def start(self, paused: bool = False) -> Trainer:
        with self._cond:
            if self._thread is not None:
                return self
            self._paused = paused
            self.status = "queued"
            self._thread = threading.Thread(target=self._run, name="lenet-trainer", daemon=True)
            self._thread.start()
        return self

    def pause(self) -> None:
        with self._cond:
            self._paused = True
            self._cond.notify_all()

    def resume(self) -> None:
        with self._cond:
            self._paused = False
            self._step_budget = 0
            self._cond.notify_all()

    def stop(self) -> None:
        with self._cond:
            self._stop = True
            self._cond.notify_all()

    def step(self, batches: int = 1) -> None:
        """Train `batches` batches, then stay paused (starts the thread paused if needed)."""
        if self._thread is None:
            self.start(paused=True)
        with self._cond:
            self._paused = True
            self._step_budget += batches
            self._cond.notify_all()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the thread ends; True if it has."""
        if self._thread is None:
            return True
        self._thread.join(timeout)
        return not self._thread.is_alive()

    @property
    def done(self) -> bool:
        return self.status in ("completed", "stopped", "diverged", "error")

    def run_here(self) -> Trainer:
        """Train in the calling thread (the CLI), with the same controls and records."""
        with self._cond:
            self.status = "queued"
            self._thread = threading.current_thread()
        self._run()
        return self

    # -- the loop --------------------------------------------------------------------------
    def _may_continue(self) -> bool:
        """Block while paused (unless a step is owed); False once stop was asked."""
        with self._cond:
            while self._paused and self._step_budget == 0 and not self._stop:
                self.status = "paused"
                self._cond.wait(timeout=0.5)
            if self._stop:
                return False
            if self._step_budget:
                self._step_budget -= 1
            self.status = "running"
            return True

    def _run(self) -> None:
        if not self.slots.acquire(self, cancelled=lambda: self._stop):
            self._finish(stopped=True)
            return
        stopped = False
        try:
            for run in self.runs:
                run.load_data()
            active = [(run, run.steps()) for run in self.runs]
            self._started_at = time.perf_counter()
            while active:
                if not self._may_continue():
                    stopped = True
                    break
                tick = time.perf_counter()
                still = []
                for run, steps in active:
                    event = next(steps, None)
                    if event is None:
                        continue
                    still.append((run, steps))
                    if self.on_event:
                        self.on_event(run, event)
                self._train_seconds += time.perf_counter() - tick
                active = still
        except Exception as error:  # keep the weights and history; say what happened
            self.status = "error"
            self.message = f"training failed: {error}"
            for run in self.runs:
                if run.status in ("ready", "running"):  # not the runs that had ended
                    run.status, run.message = "error", self.message
        finally:
            self.slots.release(self)
        self._finish(stopped)

    def _finish(self, stopped: bool) -> None:
        for run in self.runs:
            run.finish(stopped)
        if self.status == "error":
            return
        statuses = {run.status for run in self.runs}
        if stopped:
            self.status = "stopped"
        elif statuses == {"diverged"}:
            self.status = "diverged"
        else:
            self.status = "completed"
        messages = [f"{run.name}: {run.message}" for run in self.runs if run.message]
        self.message = "; ".join(messages) if len(self.runs) > 1 else self.runs[0].message

    # -- safe reads ------------------------------------------------------------------------
    @property
    def images_per_second(self) -> float:
        images = sum(run.images_seen for run in self.runs)
        return images / self._train_seconds if self._train_seconds > 0 else 0.0

    def snapshot(self, histories: bool = True) -> TrainerSnapshot:
        """Progress and, with `histories`, a copy of each run's whole history. A live view
        passes histories=False and reads only the new records (`TrainingRun.history_since`)."""
        lead = max(self.runs, key=lambda r: r.total_iterations)
        iteration, total = lead.iteration, lead.total_iterations
        ips = self.images_per_second
        remaining_images = sum(
            max(0, r.total_iterations - r.iteration) * r.config.batch_size
            for r in self.runs
            if r.status == "running"
        )
        eta = remaining_images / ips if ips > 0 and not self.done else None
        runs = [
            {
                "name": run.name,
                "status": run.status,
                "message": run.message,
                "iteration": run.iteration,
                "total_iterations": run.total_iterations,
                "history": run.history_snapshot() if histories else None,
                "final": dict(run.final),
            }
            for run in self.runs
        ]
        return TrainerSnapshot(
            status=self.status,
            message=self.message,
            queue_position=self.slots.position(self),
            iteration=iteration,
            total_iterations=total,
            epoch=iteration / lead.iterations_per_epoch if lead.iterations_per_epoch else 0.0,
            images_per_second=ips,
            eta_seconds=eta,
            runs=runs,
            testing=any(run.testing for run in self.runs),
        )


def with_overrides(config: TrainConfig, **changes) -> TrainConfig:
    """A copy of `config` with the given fields changed (None values ignored)."""
    return replace(config, **{k: v for k, v in changes.items() if v is not None})
