"""The training loop, as plain functions: read it top to bottom.

    optimizer = make_optimizer(config, model)
    for epoch in range(config.epochs):
        for result in train_one_epoch(model, optimizer, inputs, labels, config, epoch, ...):
            ...  # one batch trained: its loss, accuracy, learning rate, gradient norms
        test_loss, test_acc, predicted = evaluate(model, test_inputs, test_labels)

`train_one_epoch` trains one batch per `next()`, so a driver can interleave several runs and
pause between batches: that driver, with its records and thread, is `lenet_viz.training.runner`.
"""

from __future__ import annotations

import atexit
import contextlib
import math
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache

import torch

from lenet_viz.data.datasets import load_split, to_network_input
from lenet_viz.data.shared_inputs import mapped_inputs
from lenet_viz.nets.config import ModelConfig
from lenet_viz.nets.faithful import PAPER_LAST_DROP, paper_lr
from lenet_viz.nets.model import LeNetBase
from lenet_viz.sdlm.optimizer import SDLM
from lenet_viz.training.augment import augment_batch, loss_with_non_digits
from lenet_viz.training.config import TrainConfig

# A loss this many times its first value (at least 1) means the run blew up, even while it is
# still finite: ReLU at SGD lr 10 reaches 1e5x within 4 batches, then its dead units sit at
# chance for ever. Adam's worst early spikes at lr 0.1 stay under 1,000x.
DIVERGENCE_FACTOR = 1e4
# Larger evaluation batches spill C1's maps out of the L2 cache (benchmarks/RESULTS.md).
EVAL_BATCH = 512
HESSIAN_SAMPLES = 500  # SDLM's estimate of the second derivatives, before each pass


# ----------------------------------------------------------------------------------- data


_whole_splits: dict[tuple[str, bool, str, str], torch.Tensor] = {}
_whole_splits_lock = threading.Lock()


def cached_inputs(dataset: str, train: bool, resize: str, scaling: str) -> torch.Tensor:
    """A whole split as 32x32 network inputs, converted once per machine and preprocessing
    (a file every process maps: lenet_viz.data.shared_inputs), opened once per process."""
    key = (dataset, train, resize, scaling)
    with _whole_splits_lock:
        if key not in _whole_splits:
            split = load_split(dataset, train=train)
            _whole_splits[key] = mapped_inputs(split, dataset, train, resize, scaling)
        return _whole_splits[key]


def network_inputs(
    dataset: str, model: ModelConfig, train: bool, limit: int | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """(inputs, labels) of the first `limit` digits of a split (all when None), as the `model`
    reads them. The whole split is converted once per machine and shared. A limited run takes
    the first digits of it once this process has it open (a training worker opens MNIST's at
    start: lenet_viz.workers.pool.get_ready), else converts only its own digits: a Tiny run
    need not wait for 60,000 (issue 22: Start shows the first points at once)."""
    split = load_split(dataset, train=train)
    resize, scaling = model.resize, model.input_scaling
    whole_open = (dataset, train, resize, scaling) in _whole_splits
    if limit is None or limit >= len(split) or whole_open:
        inputs = cached_inputs(dataset, train, resize, scaling)
        return inputs[:limit], split.labels[:limit]
    split = split.subset(limit)
    return to_network_input(split.images, resize, scaling), split.labels


# ----------------------------------------------------------------------- optimizer and rate


def make_optimizer(config: TrainConfig, model: LeNetBase) -> torch.optim.Optimizer:
    """Adam or SGD with torch's fused CPU kernels (one kernel per tensor instead of about ten
    small ops), or the paper's SDLM (lenet_viz.sdlm.optimizer)."""
    params = [p for p in model.parameters() if p.requires_grad]
    if config.optimizer == "adam":
        return torch.optim.Adam(params, lr=config.lr, weight_decay=config.weight_decay, fused=True)
    if config.optimizer == "sdlm":
        return SDLM(params, lr=config.lr)
    return torch.optim.SGD(
        params,
        lr=config.lr,
        momentum=config.momentum,
        weight_decay=config.weight_decay,
        fused=True,
    )


def warm_up_optimizers() -> None:
    """Take one step of each fused optimizer on a throw-away tensor.

    torch.optim's first step imports machinery it needs (a tenth of `train --preset fast`,
    benchmarks/RESULTS.md); done once per process, at start-up, no run pays it.
    """
    weight = torch.zeros(1, requires_grad=True)
    weight.grad = torch.zeros(1)
    torch.optim.Adam([weight], lr=0.1, fused=True).step()
    torch.optim.SGD([weight], lr=0.1, momentum=0.9, fused=True).step()


@lru_cache(maxsize=1)
def warm_up_in_background() -> threading.Thread:
    """`warm_up_optimizers` on a daemon thread, while the caller reads its data.

    Started once per process, by the first `Trainer`, so it runs while that trainer's data
    loads. A process that ends at once (a CLI error, such as missing data) waits for it at exit:
    a daemon thread still inside torch when Python shuts down aborts the process (SIGABRT).
    """
    thread = threading.Thread(target=warm_up_optimizers, name="optimizer-warm-up", daemon=True)
    thread.start()
    atexit.register(thread.join, 30)
    return thread


def learning_rate(config: TrainConfig, iteration: int, iterations_per_epoch: int) -> float:
    """The learning rate at a 0-based iteration.

    onecycle: linear warm-up from lr/25 to lr over the first 25% of the run, then cosine
    annealing to lr/1e4 (Smith's one-cycle policy, as torch's OneCycleLR by default).
    paper: the per-pass global rates of LeCun et al. 1998, p.10, scaled by lr/0.0005.
    paper-hold: the same without its last drop: from pass 13 on, the rate of passes 9-12.
    """
    if config.schedule == "constant":
        return config.lr
    if config.schedule in ("paper", "paper-hold"):
        epoch = iteration // iterations_per_epoch
        if config.schedule == "paper-hold":
            epoch = min(epoch, PAPER_LAST_DROP - 1)
        return paper_lr(epoch) * config.lr / 0.0005
    total = max(1, config.epochs * iterations_per_epoch)
    warm = max(1, int(0.25 * total))
    start, low = config.lr / 25, config.lr / 1e4
    if iteration < warm:
        return start + (config.lr - start) * iteration / warm
    progress = min(1.0, (iteration - warm) / max(1, total - warm))
    return low + (config.lr - low) * 0.5 * (1 + math.cos(math.pi * progress))


# ------------------------------------------------------------------------------ divergence


class Diverged(Exception):
    """The loss blew up; the message says how."""


class DivergenceGuard:
    """Watches the loss of one run, and keeps the weights before each step so that a run that
    blew up can fall back to its last finite weights."""

    def __init__(self, model: LeNetBase):
        self.params = list(model.parameters())
        self.first_loss: float | None = None  # the yardstick of DIVERGENCE_FACTOR
        self.backup: list[torch.Tensor] = []

    def check(self, loss: float) -> None:
        """Raise Diverged when the loss is not finite, or DIVERGENCE_FACTOR times its first."""
        if self.first_loss is None:
            self.first_loss = loss
        if not math.isfinite(loss):
            raise Diverged(f"the loss became {loss}")
        if loss > DIVERGENCE_FACTOR * max(1.0, self.first_loss):
            raise Diverged(
                f"the loss reached {loss:.3g}, over {DIVERGENCE_FACTOR:,.0f} times its "
                f"first value ({self.first_loss:.3g})"
            )

    @torch.no_grad()
    def keep_weights(self) -> None:
        """Copy the weights before a step."""
        if not self.backup:
            self.backup = [p.clone() for p in self.params]
            return
        for saved, p in zip(self.backup, self.params, strict=True):
            saved.copy_(p)

    @torch.no_grad()
    def restore_if_broken(self) -> None:
        """Put back the weights kept before the last step, if that step made any non-finite."""
        broken = any(not torch.isfinite(p).all() for p in self.params)
        if broken and self.backup:
            for p, saved in zip(self.params, self.backup, strict=True):
                p.copy_(saved)


# ------------------------------------------------------------------------------- the loop


@dataclass
class BatchResult:
    """One trained batch."""

    iteration: int  # 1-based, counted over the whole run
    epoch: float  # fractional: 1.5 is half-way through the second epoch
    loss: float
    accuracy: float
    lr: float
    size: int
    grad_norms: list[float]  # per layer, in model.layers order


def layer_grad_norms(model: LeNetBase) -> list[float]:
    """Each layer's gradient L2 norm: the square root of the sum of its tensors' squared norms
    (a layer without parameters, e.g. max pooling, has 0)."""
    per_layer = [
        [p.grad for p in layer.parameters() if p.grad is not None]
        for layer in model.layers.values()
    ]
    grads = [g for layer in per_layer for g in layer]
    if not grads:
        return [0.0] * len(per_layer)
    squares = torch.stack([torch.linalg.vector_norm(g) for g in grads]).square_().tolist()
    norms, start = [], 0
    for layer in per_layer:
        norms.append(math.sqrt(sum(squares[start : start + len(layer)])))
        start += len(layer)
    return norms


def train_one_epoch(
    model: LeNetBase,
    optimizer: torch.optim.Optimizer,
    inputs: torch.Tensor,
    labels: torch.Tensor,
    config: TrainConfig,
    epoch: int,
    *,
    generators: tuple[torch.Generator, torch.Generator],
    guard: DivergenceGuard | None = None,
    weights_lock: contextlib.AbstractContextManager | None = None,
) -> Iterator[BatchResult]:
    """Train one pass over (inputs, labels) in a shuffled order, one batch per next().

    generators: (batch order, shifts); seeded once per run, they give one seed the same
    batches. The learning rate follows `learning_rate` from the iteration epoch * batches.
    Raises Diverged (before that batch's step) when the loss blows up. weights_lock is held
    while the optimizer changes the weights, so another thread can copy them consistently.
    """
    order_rng, shift_rng = generators
    guard = guard or DivergenceGuard(model)
    weights_lock = weights_lock or contextlib.nullcontext()
    bfloat16 = config.precision == "bfloat16"
    n = len(labels)
    batches = math.ceil(n / config.batch_size)
    model.train()
    if hasattr(optimizer, "estimate_hessian"):  # SDLM, Appendix C: before each pass
        with weights_lock:
            optimizer.estimate_hessian(model, inputs[:HESSIAN_SAMPLES], labels[:HESSIAN_SAMPLES])
    order = torch.randperm(n, generator=order_rng)
    preprocessing = (model.config.resize, model.config.input_scaling)  # for drawn digits
    for batch in range(batches):
        index = order[batch * config.batch_size : (batch + 1) * config.batch_size]
        x, y = inputs[index], labels[index]
        if config.augment != "none":  # lenet_viz.training.augment: shift, the paper's, drawn digits
            x, y = augment_batch(config.augment, x, y, shift_rng, *preprocessing)
        iteration = epoch * batches + batch
        lr = learning_rate(config, iteration, batches)
        for group in optimizer.param_groups:
            group["lr"] = lr

        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bfloat16):
            output = model(x)
        output = output.float()  # the loss and the records in float32
        loss = loss_with_non_digits(model, output, y)  # model.loss unless augment marks some
        loss_value = loss.item()
        guard.check(loss_value)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        grad_norms = layer_grad_norms(model)
        correct = (model.predict(output.detach()) == y).sum().item()
        with weights_lock:
            guard.keep_weights()
            optimizer.step()

        yield BatchResult(
            iteration=iteration + 1,
            epoch=epoch + batch / batches,
            loss=loss_value,
            accuracy=correct / len(y),
            lr=lr,
            size=len(y),
            grad_norms=grad_norms,
        )


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
