"""What defines a LeNet-5 here: `ModelConfig`, its choices, and `check_choice`, the one check
of a setting picked from a list. A `ModelConfig` is checked when it is made; a bad setting raises
a `ConfigError` that says what to change."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import asdict, dataclass, fields

from lenet_viz.nets.activations import ACTIVATIONS

ARCHS = ("modern", "faithful")
POOLINGS = ("max", "avg")
C3_TABLES = ("full", "paper")
RESIZES = ("pad", "scale")
# The faithful net's initial weights: "appendix-a", uniform +-2.4/F_i as Appendix A (p.41)
# reads; "sqrt3", uniform +-sqrt(3/F_i) (variance 1/F_i), with which SDLM reproduces the
# paper's learning rates and result (see lenet_viz/sdlm/optimizer.py). F_i: the unit's fan-in.
INITS = ("appendix-a", "sqrt3")
# The modern net's: None, PyTorch's own; "xavier", Glorot and Bengio's (2010) uniform
# +-sqrt(6/(fan_in + fan_out)) on every weight, as d2l-zh's LeNet chapter initialises its net.
MODERN_INITS = ("xavier",)
# How pixels become inputs: "mnist", (x - mean) / std with MNIST's; "paper", background -0.1
# and ink 1.175 (p.7); "unit", the 0..1 pixels as they are (torchvision's ToTensor, d2l-zh's).
SCALINGS = ("mnist", "paper", "unit")


class ConfigError(ValueError):
    """A setting a learner chose that cannot work; the message says what to change."""


def check_choice(what: str, value: object, choices: Collection[str]) -> None:
    """Raise ConfigError unless `value` is one of `choices`, listing them."""
    if value not in choices:
        raise ConfigError(f"unknown {what} {value!r}; choose one of: {', '.join(choices)}")


@dataclass
class ModelConfig:
    """What defines a LeNet-5 here. `None` fields take the architecture's default."""

    arch: str = "modern"
    activation: str | None = None  # modern: relu; faithful: lecun_tanh (the paper's squashing)
    pooling: str | None = None  # modern: max or avg; faithful: always the paper's trainable "sub"
    c3: str | None = None  # "full" (6->16) or "paper" (Table I); modern: full, faithful: paper
    resize: str = "pad"  # 28x28 -> 32x32: "pad" 2 px (the paper) or "scale" (bilinear resize)
    rbf_j: float = 1.0  # the constant j of the faithful net's MAP loss (eq. 9, p.10)
    init: str | None = None  # faithful: one of INITS ("appendix-a"); modern: None or "xavier"
    # How pixels become inputs, one of SCALINGS; None takes the architecture's own (modern:
    # "mnist", faithful: "paper"). "pad" with "unit" is d2l-zh's C1, a 5x5 convolution with
    # padding 2 on the 28x28 input: the 2 blank pixels are zeros, as its padding (tested).
    scaling: str | None = None

    def __post_init__(self) -> None:
        check_choice("arch", self.arch, ARCHS)
        faithful = self.arch == "faithful"
        if self.activation is None:
            self.activation = "lecun_tanh" if faithful else "relu"
        if self.pooling is None:
            self.pooling = "sub" if faithful else "max"
        if self.c3 is None:
            self.c3 = "paper" if faithful else "full"
        check_choice("activation", self.activation, ACTIVATIONS)
        allowed_pooling = ("sub",) if faithful else POOLINGS
        if self.pooling not in allowed_pooling:
            raise ConfigError(
                f"pooling {self.pooling!r} does not fit arch {self.arch!r}; "
                f"choose one of: {', '.join(allowed_pooling)}"
            )
        check_choice("c3", self.c3, C3_TABLES)
        check_choice("resize", self.resize, RESIZES)
        if faithful and self.init is None:
            self.init = "appendix-a"
        if not faithful and self.init is not None and self.init not in MODERN_INITS:
            raise ConfigError(
                f"init {self.init!r} does not fit the modern net; leave init out (PyTorch's "
                f"own) or choose one of: {', '.join(MODERN_INITS)}; {', '.join(INITS)} are the "
                "faithful net's"
            )
        if faithful:
            check_choice("init", self.init, INITS)
        if self.scaling is None:
            self.scaling = "paper" if faithful else "mnist"
        check_choice("scaling", self.scaling, SCALINGS)

    @property
    def input_scaling(self) -> str:
        """How pixels become inputs: one of SCALINGS (what `to_network_input` takes)."""
        return self.scaling

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict) -> ModelConfig:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in values.items() if k in known})


MODEL_FIELDS = tuple(f.name for f in fields(ModelConfig))
