"""A pass the paper's way: SDLM, one pattern per update, on the fast path.

`TrainingRun.steps()` trains the faithful net with SDLM at batch size 1 (`uses_pattern_path`)
through `train_one_pattern_epoch` instead of `loop.train_one_epoch`; both yield the same
`BatchResult`s, which the run records the same way. Per pass, as LeCun et al. 1998 (p.10,
Appendix C):

1. h_kk is re-estimated on HESSIAN_SAMPLES training patterns (`SDLM.estimate_hessian`), and
   the pass's step sizes eps_k = eta / (mu + h_kk) are recorded per layer (min, median, max);
2. every pattern of the shuffled training set makes one update (`PatternSDLM`), in ticks of
   PATTERNS_PER_TICK patterns: each tick is one `BatchResult` (the mean loss and the accuracy
   over the tick's patterns), and pause, stop and snapshots act between ticks;
3. the pass's record gets the error on the whole training set (Fig. 5 plots it beside the test
   error), the pass's rate and the step sizes (`pass_record`).

The batch order comes from the run's generators as in `train_one_epoch`, so a resumed run sees
the same pattern order as an unbroken one.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import torch

from lenet_viz.sdlm.fast import PatternSDLM, supports_fast_path
from lenet_viz.sdlm.optimizer import HESSIAN_SAMPLES, step_size_summary
from lenet_viz.training.augment import MAX_SHIFT, random_shift
from lenet_viz.training.config import TrainConfig
from lenet_viz.training.loop import BatchResult, DivergenceGuard, evaluate, learning_rate

PATTERNS_PER_TICK = 250
# The shipped checkpoint of `train --preset paper` (checkpoints/README.md).
SDLM_CHECKPOINT_NAME = "lenet5_faithful_sdlm.pt"


def uses_pattern_path(config: TrainConfig, model: torch.nn.Module) -> bool:
    """SDLM, one pattern per step, float32, on the faithful net with the paper's squashing."""
    return (
        config.optimizer == "sdlm"
        and config.batch_size == 1
        and config.precision == "float32"
        and supports_fast_path(model)
    )


def train_one_pattern_epoch(
    stepper: PatternSDLM,
    optimizer: torch.optim.Optimizer,
    inputs: torch.Tensor,
    labels: torch.Tensor,
    config: TrainConfig,
    epoch: int,
    *,
    generators: tuple[torch.Generator, torch.Generator],
    guard: DivergenceGuard,
    weights_lock: contextlib.AbstractContextManager,
    pass_info: dict,
) -> Iterator[BatchResult]:
    """One pass of one-pattern SDLM updates, a tick of PATTERNS_PER_TICK patterns per next().

    Raises Diverged when a tick's loss blows up. pass_info gets the pass's "step_sizes" and,
    as the pass goes, its "pass_lr" (for `pass_record`)."""
    model = stepper.model
    order_rng, shift_rng = generators
    n = len(labels)
    mu = optimizer.param_groups[0]["mu"]
    lr = learning_rate(config, epoch * n, n)
    with weights_lock:  # Appendix C: h_kk re-estimated before each pass, fixed during it
        estimates = optimizer.estimate_hessian(
            model, inputs[:HESSIAN_SAMPLES], labels[:HESSIAN_SAMPLES]
        )
        stepper.set_curvature(estimates, mu)
    pass_info["step_sizes"] = step_size_summary(model, estimates, lr, mu)
    layer_params = [
        [p for p in layer.parameters() if p.requires_grad] for layer in model.layers.values()
    ]
    order = torch.randperm(n, generator=order_rng)
    for start in range(0, n, PATTERNS_PER_TICK):
        index = order[start : start + PATTERNS_PER_TICK]
        lr = learning_rate(config, epoch * n + start, n)
        x, y = inputs[index], labels[index]
        if config.augment == "shift":
            x = random_shift(x, MAX_SHIFT, shift_rng)
        with weights_lock:
            guard.keep_weights()
            stepper.set_rate(lr)
            losses, penalties = stepper.train(x, y)
        loss = sum(losses) / len(losses)
        if guard.first_loss is None:
            guard.first_loss = losses[0]  # the yardstick: the very first pattern's loss
        guard.check(loss)
        pass_info["pass_lr"] = lr
        yield BatchResult(
            iteration=epoch * n + start + len(y),
            epoch=epoch + start / n,
            loss=loss,
            accuracy=(penalties.argmin(dim=1) == y).sum().item() / len(y),
            lr=lr,
            size=len(y),
            grad_norms=stepper.layer_grad_norms(layer_params),
        )


def pass_record(model: torch.nn.Module, inputs, labels, pass_info: dict) -> dict:
    """What a pass adds to its epoch record: the error on the whole training set after it
    (Fig. 5), its rate and its step sizes."""
    _, train_set_acc, _ = evaluate(model, inputs, labels)
    return {"train_set_acc": train_set_acc, **pass_info}
