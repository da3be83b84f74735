"""A training run the paper's way: SDLM, one pattern per update, on the fast path.

`TrainingRun.steps()` hands a run over to `pattern_steps` when it trains the faithful net with
SDLM at batch size 1 (`uses_pattern_path`). Per pass, as LeCun et al. 1998 (p.10, Appendix C):

1. h_kk is re-estimated on HESSIAN_SAMPLES training patterns (`SDLM.estimate_hessian`), and
   the pass's step sizes eps_k = eta / (mu + h_kk) are recorded per layer (min, median, max);
2. every pattern of the shuffled training set makes one update (`PatternSDLM`), in ticks of
   PATTERNS_PER_TICK patterns: the history gets one record per tick (the mean loss and the
   accuracy over the tick's patterns), and pause, stop and snapshots act between ticks;
3. the pass ends with the test error and the error on the whole training set (Fig. 5 plots
   both), stored in the pass's record with the step sizes.

A run that already holds passes (a resumed run) skips them: the shuffles of the skipped passes
are drawn all the same, so a resumed run sees the same pattern order as an unbroken one.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import torch

from lenet_viz.sdlm import HESSIAN_SAMPLES, step_size_summary
from lenet_viz.sdlm_fast import PatternSDLM, supports_fast_path

if TYPE_CHECKING:
    from lenet_viz.run import TrainingRun

PATTERNS_PER_TICK = 250
# The shipped checkpoint of `train --preset paper` (checkpoints/README.md).
SDLM_CHECKPOINT_NAME = "lenet5_faithful_sdlm.pt"


def uses_pattern_path(run: TrainingRun) -> bool:
    """SDLM, one pattern per step, float32, on the faithful net with the paper's squashing."""
    cfg = run.config
    return (
        cfg.optimizer == "sdlm"
        and cfg.batch_size == 1
        and cfg.precision == "float32"
        and supports_fast_path(run.model)
    )


def pattern_steps(run: TrainingRun) -> Iterator[str]:
    """Train `run` one tick per next(); yields "batch" after a tick, "epoch" after a pass."""
    from lenet_viz.train import MAX_SHIFT, Diverged, evaluate, learning_rate, random_shift

    cfg = run.config
    run.status = "running"
    with run.lock:
        stepper = PatternSDLM(run.model)
    mu = run.optimizer.param_groups[0]["mu"]
    order_rng = torch.Generator().manual_seed(cfg.seed)  # the order TrainingRun.steps uses
    shift_rng = torch.Generator().manual_seed(cfg.seed + 1)
    n = len(run.train_labels)
    layer_params = [
        (name, [p for p in layer.parameters() if p.requires_grad])
        for name, layer in run.model.layers.items()
    ]
    passes_done = len(run.history.epochs)
    if not passes_done:
        run.replay.after_step(run)  # the initial weights (iteration 0), for the replay
    for epoch in range(cfg.epochs):
        order = torch.randperm(n, generator=order_rng)
        if epoch < passes_done:
            continue
        lr = learning_rate(cfg, run.iteration, run.iterations_per_epoch)
        with run.lock:  # Appendix C: h_kk re-estimated before each pass, fixed during it
            estimates = run.optimizer.estimate_hessian(
                run.model, run.train_inputs[:HESSIAN_SAMPLES], run.train_labels[:HESSIAN_SAMPLES]
            )
            stepper.set_curvature(estimates, mu)
        step_sizes = step_size_summary(run.model, estimates, lr, mu)
        losses_before = len(run.history.loss)
        for start in range(0, n, PATTERNS_PER_TICK):
            index = order[start : start + PATTERNS_PER_TICK]
            lr = learning_rate(cfg, run.iteration, run.iterations_per_epoch)
            x, y = run.train_inputs[index], run.train_labels[index]
            if cfg.augment == "shift":
                x = random_shift(x, MAX_SHIFT, shift_rng)
            with run.lock:
                run.guard.keep_weights()
                stepper.set_rate(lr)
                losses, penalties = stepper.train(x, y)
            loss = sum(losses) / len(losses)
            if run.guard.first_loss is None:
                run.guard.first_loss = losses[0]  # the yardstick: the very first pattern's loss
            try:
                run.guard.check(loss)
            except Diverged as what_happened:
                run._diverged(str(what_happened))
                return
            correct = (penalties.argmin(dim=1) == y).sum().item()
            norms = stepper.layer_grad_norms([params for _, params in layer_params])
            with run.lock:
                h = run.history
                run.iteration += len(y)
                run.images_seen += len(y)
                h.iteration.append(run.iteration)
                h.epoch_float.append(epoch + start / n)
                h.loss.append(loss)
                h.accuracy.append(correct / len(y))
                h.lr.append(lr)
                for (name, _), value in zip(layer_params, norms, strict=True):
                    h.grad_norm[name].append(value)
            run.replay.after_step(run)  # a snapshot if this tick ends at a scheduled iteration
            yield "batch"
        run._end_epoch(epoch + 1, losses_before)
        run.testing = True
        try:
            _, train_set_acc, _ = evaluate(run.model, run.train_inputs, run.train_labels)
        finally:
            run.testing = False
        with run.lock:
            run.history.epochs[-1].update(
                {"train_set_acc": train_set_acc, "pass_lr": lr, "step_sizes": step_sizes}
            )
        yield "epoch"
    run.status = "completed"
