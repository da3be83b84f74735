"""What defines a training run: `TrainConfig` (which holds a `ModelConfig`), the named recipes
(`PRESETS`) and a run's short label. `validate()`, which the runner calls before it trains, says
what to change in a `ConfigError` a learner can act on."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, fields

from lenet_viz.data.datasets import DATASETS
from lenet_viz.nets.config import MODEL_FIELDS, ConfigError, ModelConfig, check_choice
from lenet_viz.training.cpu import native_bfloat16

OPTIMIZERS = ("sgd", "adam", "sdlm")
SCHEDULES = ("constant", "onecycle", "paper", "paper-hold")
AUGMENTS = ("none", "shift", "paper", "drawn", "drawn+unsure")  # see lenet_viz.training.augment
PRECISIONS = ("float32", "bfloat16")
MAX_EPOCHS = 50
MAX_BATCH_SIZE = 4096


@dataclass
class TrainConfig:
    """Everything that defines a training run: the net (`model`) and how it is trained."""

    model: ModelConfig = field(default_factory=ModelConfig)
    dataset: str = "mnist"
    optimizer: str = "sgd"
    lr: float = 0.01
    momentum: float = 0.9
    weight_decay: float = 0.0
    batch_size: int = 64
    epochs: int = 1
    schedule: str = "constant"
    augment: str = "none"  # one of AUGMENTS; lenet_viz.training.augment says what each does
    # "bfloat16": the training forward pass under bfloat16 autocast (weights, gradients, the
    # optimizer and every evaluation stay float32); fast on CPUs with AVX512-BF16 or AMX.
    precision: str = "float32"
    seed: int = 0
    train_limit: int | None = None  # train on the first N digits only (quick demos, tests)
    test_limit: int | None = None

    def validate(self) -> TrainConfig:
        """Raise ConfigError with an actionable message for any setting that cannot work.
        (The model's settings were checked when its ModelConfig was made.)"""
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
        check_choice("optimizer", self.optimizer, OPTIMIZERS)
        check_choice("augment", self.augment, AUGMENTS)
        check_choice("precision", self.precision, PRECISIONS)
        check_choice("schedule", self.schedule, SCHEDULES)
        check_choice("dataset", self.dataset, DATASETS)
        for name in ("train_limit", "test_limit"):
            limit = getattr(self, name)
            if limit is not None and (not isinstance(limit, int) or limit < 1):
                raise ConfigError(f"{name} must be a positive whole number, got {limit!r}")
        return self

    def to_dict(self) -> dict:
        """Nested: {"model": {...}, "dataset": ..., ...} (what checkpoints keep)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict) -> TrainConfig:
        """A TrainConfig from `to_dict()`'s nested form, or from flat settings where the model's
        fields sit beside the others ({"arch": ..., "lr": ...}): the form of the presets, the
        CLI's flags, and of the checkpoints saved before the model was nested. Unknown keys
        are ignored (a newer file); model fields given at the top win over a nested "model"."""
        model = {**(values.get("model") or {})}
        model.update({k: v for k, v in values.items() if k in MODEL_FIELDS})
        known = {f.name for f in fields(cls)} - {"model"}
        rest = {k: v for k, v in values.items() if k in known}
        return cls(model=ModelConfig.from_dict(model), **rest)


TRAIN_FIELDS = tuple(f.name for f in fields(TrainConfig) if f.name != "model")
SETTING_NAMES = MODEL_FIELDS + TRAIN_FIELDS  # every setting of a run, each once


def flat_settings(config: TrainConfig) -> dict:
    """Every setting of a run in one flat dict, the model's beside the training's (a table of
    runs reads its columns from here: `to_dict()` nests the model's under "model")."""
    return {**config.model.to_dict(), **{name: getattr(config, name) for name in TRAIN_FIELDS}}


def batches_per_epoch(train_images: int, batch_size: int) -> int:
    """Iterations in one epoch: the last batch may be short (never dropped)."""
    return math.ceil(train_images / batch_size)


def setting(config: dict, name: str):
    """One setting of a `TrainConfig.to_dict()` (nested) or of flat settings; None if absent."""
    if name in config:
        return config[name]
    return (config.get("model") or {}).get(name)


D2L_RECIPE = dict(
    arch="modern",
    activation="sigmoid",
    pooling="avg",
    c3="full",
    resize="pad",
    scaling="unit",
    init="xavier",
    dataset="fashion-mnist",
    optimizer="sgd",
    lr=0.9,
    momentum=0.0,
    batch_size=256,
    epochs=10,
    schedule="constant",
)
# What d2l-zh's LeNet chapter reports after its 10 epochs (the README sets ours beside it).
D2L_PUBLISHED = {"train_loss": 0.469, "train_acc": 0.823, "test_acc": 0.779}
# d2l-zh's exercises on its LeNet as one-change variations: {name: (change, what it asks)}.
D2L_VARIATIONS = {
    "max-pool": (dict(pooling="max"), "max pooling instead of average pooling"),
    "relu": (dict(activation="relu", lr=0.1), "ReLU instead of sigmoid (at lr 0.1: see README)"),
    "mnist": (dict(dataset="mnist"), "the original MNIST instead of Fashion-MNIST"),
}

# Named recipes, as flat settings (model and training side by side; see benchmarks/RESULTS.md
# for what each measured). `seed` is the notebook this project grew from: batch 32, SGD lr
# 0.01, momentum 0.5, one epoch, 28x28 resized to 32x32 and normalized with the MNIST mean/std.
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
    # The quickest route to 99% test accuracy on a CPU (benchmarks/RESULTS.md).
    "fast": dict(
        arch="modern",
        activation="relu",
        optimizer="adam",
        lr=1.6e-2,
        batch_size=256,
        epochs=3,
        schedule="onecycle",
    ),
    "faithful-fast": dict(
        arch="faithful",
        optimizer="adam",
        lr=2e-3,
        batch_size=64,
        epochs=4,
        schedule="onecycle",
    ),
    # The 1998 recipe (p.10): SDLM with the paper's mu = 0.02 and its per-pass eta schedule
    # (passes 1-2, 3-5, 6-8, 9-12, 13 on), one pattern per step, 20 passes, no distortions.
    # Two departures, measured in lenet_viz/sdlm/optimizer.py: weights start uniform in
    # +-sqrt(3/F_i),
    # not +-2.4/F_i (from there the paper's rates diverge at once), and the rates are 0.35 of
    # the paper's (at its own rates the second pass blows up). Seed 1: 0.95% test error after 20
    # passes, as the paper; seed 0: 1.08% (README).
    "paper": dict(
        arch="faithful",
        init="sqrt3",
        optimizer="sdlm",
        lr=0.000175,
        batch_size=1,
        epochs=20,
        schedule="paper",
        seed=1,
    ),
    # d2l-zh's LeNet (Dive into Deep Learning, Chinese edition, 6.6): sigmoid, average pooling,
    # C1 a 5x5 convolution with padding 2 on the 28x28 input (pad + unit scaling), no RBF, every
    # weight Xavier-initialised; Fashion-MNIST, plain SGD at lr 0.9, batch 256, 10 epochs. Its
    # published result: loss 0.469, train acc 0.823, test acc 0.779 (README: what it reaches).
    "d2l": D2L_RECIPE,
    # Its exercises, one change each (D2L_VARIATIONS).
    **{f"d2l-{name}": {**D2L_RECIPE, **change} for name, (change, _) in D2L_VARIATIONS.items()},
}


# Presets that train in the CPU's fastest precision (`fastest_precision`).
NATIVE_PRECISION_PRESETS = ("fast",)


def preset_config(name: str, **overrides) -> TrainConfig:
    """The preset's config, with any explicitly given overrides (None means "not given")."""
    check_choice("preset", name, PRESETS)
    given = {k: v for k, v in overrides.items() if v is not None}
    if name in NATIVE_PRECISION_PRESETS:
        given.setdefault("precision", fastest_precision())
    return TrainConfig.from_dict({**PRESETS[name], **given})


def fastest_precision() -> str:
    """bfloat16 where the CPU computes it natively (then faster than float32), else float32.
    Asked when a preset is used, not at import: it reads /proc/cpuinfo."""
    return "bfloat16" if native_bfloat16() else "float32"


def describe(config: TrainConfig) -> str:
    """A short label for a run, e.g. "modern · relu · sgd · lr 0.01 · batch 32"; a C3 table,
    pooling or distortion other than the usual is named too ("modern · relu · C3 paper · ...").
    Parts as Compare names its runs, so that the pages translate both the same way."""
    model = config.model
    usual = ModelConfig(arch=model.arch)
    parts = [model.arch, model.activation]
    if model.c3 != usual.c3:
        parts.append(f"C3 {model.c3}")
    if model.pooling != usual.pooling:
        parts.append(f"{model.pooling} pooling")
    parts += [config.optimizer, f"lr {config.lr:g}", f"batch {config.batch_size}"]
    if config.augment != "none":
        parts.append(f"augment {config.augment}")
    return " · ".join(parts)
