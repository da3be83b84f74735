"""`build_model`: the net a `ModelConfig` describes, the modern one or the 1998 one."""

from __future__ import annotations

import torch

from lenet_viz.nets.config import ModelConfig
from lenet_viz.nets.faithful import FaithfulLeNet5
from lenet_viz.nets.model import LeNetBase, ModernLeNet5


def build_model(config: ModelConfig | None = None, seed: int | None = None) -> LeNetBase:
    """Build the net `config` describes; with `seed`, its initial weights depend on the seed only.

    Nets of the same shapes built with the same seed start from the same weights, whatever their
    activation or pooling, so that runs compared side by side differ only in what was chosen.
    """
    config = config or ModelConfig()
    with torch.random.fork_rng(devices=[]):
        if seed is not None:
            torch.manual_seed(seed)
        if config.arch == "faithful":
            return FaithfulLeNet5(config)
        return ModernLeNet5(config)
