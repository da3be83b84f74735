"""Say when a run failed: a run that ends near chance is not a success, whatever its status.

`diagnose(config, history, test_acc)` returns None for a run that learned, else a `Diagnosis`:
what happened, the likely cause (the learning rate, saturating activations, too few batches),
and one change to try, which a page can offer as a one-click retry.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from lenet_viz.training.config import TrainConfig
from lenet_viz.training.history import History

CHANCE = 0.1  # ten classes, in MNIST and in Fashion-MNIST
NEAR_CHANCE = 0.2  # a test accuracy under this after a whole run is a failure
# Under this C1 gradient norm (mean of the last tenth of the run) the first layer barely learns:
# sigmoid nets stuck at chance sit around 1e-5..1e-4, learning ReLU nets around 1e-2..1.
VANISHING_GRADIENT = 1e-3
FEW_BATCHES = 100  # a run this short may end near chance without anything being wrong
SATURATING = ("sigmoid", "tanh", "lecun_tanh")
# At or under these learning rates the weights hardly move in a classroom run: the tiny rate is
# named first, before any other cause (sigmoid at SGD lr 0.0001 was blamed on sigmoid alone).
# Adam scales its steps by the gradients' size, so it still learns at 1e-4.
TINY_LR = {"sgd": 1e-4, "adam": 1e-5, "sdlm": 1e-6}


@dataclass
class Diagnosis:
    headline: str  # what happened, with the number
    cause: str  # the likely cause, in a learner's words
    # One change to try: {"lr": 0.001} or {"activation": "relu"} or {"epochs": 3}.
    change: dict
    change_label: str  # e.g. "Try lr ÷ 10 (0.001)"


def _mean(values: list[float]) -> float:
    finite = [v for v in values if math.isfinite(v)]
    return sum(finite) / len(finite) if finite else math.nan


def loss_went_up(history: History) -> bool:
    """The loss rose, blew up or stopped being a number: the steps overshoot."""
    loss = history.loss
    if not loss:
        return False
    if any(not math.isfinite(v) for v in loss):
        return True
    tenth = max(1, len(loss) // 10)
    first, last = _mean(loss[:tenth]), _mean(loss[-tenth:])
    return last > 1.05 * first or max(loss) > 10 * max(first, 1e-12)


def tiny_lr_cause(config: TrainConfig) -> str:
    """The tiny learning rate, and what makes it worse with a saturating activation."""
    cause = f"The learning rate ({config.lr:g}) is so low that the weights hardly move."
    activation = config.model.activation
    if activation in SATURATING:
        cause += (
            f" With {activation}, whose small slope shrinks the gradients on their way back, "
            "they move even less."
        )
    return cause


def higher_lr(config: TrainConfig) -> tuple[dict, str]:
    """The change to try for a tiny learning rate, and its button label."""
    return {"lr": config.lr * 10}, f"Try lr × 10 ({config.lr * 10:g})"


def diagnose(config: TrainConfig, history: History, test_acc: float | None) -> Diagnosis | None:
    """Why a run that ended near chance failed, or None if it did not end near chance."""
    if test_acc is None or test_acc >= NEAR_CHANCE:
        return None
    headline = (
        f"This run failed: {100 * test_acc:.1f} % test accuracy is about what guessing gets "
        f"({100 * CHANCE:.0f} %)."
    )
    lower = {"lr": config.lr / 10}
    lower_label = f"Try lr ÷ 10 ({config.lr / 10:g})"
    activation = config.model.activation
    c1 = history.grad_norm.get("C1") or []
    c1_tail = _mean(c1[-max(1, len(c1) // 10) :]) if c1 else math.nan
    if loss_went_up(history):
        cause = (
            f"The learning rate ({config.lr:g}) is too high: the loss went up instead of down, "
            "so every step overshoots."
        )
        return Diagnosis(headline, cause, lower, lower_label)
    if activation == "relu" and config.lr >= 0.1:
        cause = (
            f"The learning rate ({config.lr:g}) is too high: the first big steps pushed the "
            "ReLUs to output 0 for every image (dead ReLUs); they no longer learn, and the net "
            "guesses."
        )
        return Diagnosis(headline, cause, lower, lower_label)
    if config.lr >= 0.5:
        cause = f"The learning rate ({config.lr:g}) is too high for this net."
        return Diagnosis(headline, cause, lower, lower_label)
    if config.lr <= TINY_LR.get(config.optimizer, TINY_LR["sgd"]):
        return Diagnosis(headline, tiny_lr_cause(config), *higher_lr(config))
    if activation in SATURATING and math.isfinite(c1_tail) and c1_tail < VANISHING_GRADIENT:
        cause = (
            f"Saturation: {activation} squashes its input, and its slope is small, so the "
            "error signal shrinks at every layer on its way back; the first layers get "
            f"gradients of about {c1_tail:.0e} and barely learn. ReLU does not shrink it."
        )
        return Diagnosis(headline, cause, {"activation": "relu"}, "Try ReLU")
    if len(history.loss) < FEW_BATCHES:
        cause = (
            f"Only {len(history.loss)} batches: too few to learn much yet. Train longer (more "
            "epochs), or on more images (a bigger run size)."
        )
        epochs = min(config.epochs * 3, 50)
        return Diagnosis(headline, cause, {"epochs": epochs}, f"Try {epochs} epochs")
    cause = "The learning rate is the usual cause: a smaller one often gets it going."
    return Diagnosis(headline, cause, lower, lower_label)
