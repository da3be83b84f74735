"""LeNet-5 as LeCun, Bottou, Bengio and Haffner published it in 1998.

"Gradient-Based Learning Applied to Document Recognition", Proc. IEEE 86(11); page numbers are
the 46-page preprint's. What makes this net differ from the simplified "modern" one:

- S2 and S4 are *trainable* subsampling layers (p.7): each unit adds the four inputs of its 2x2
  window, multiplies the sum by a coefficient and adds a bias (one coefficient and one bias per
  map), then squashes the result.
- C3 sees only the S2 maps Table I (p.8) gives it: 1,516 parameters instead of 2,416.
- Every layer up to F6 squashes with f(a) = 1.7159 tanh(2a/3) (p.8 and Appendix A, p.41).
- The output layer is ten Euclidean RBF units with *fixed* parameters, the 7x12 bitmaps of
  Fig. 3 (p.9): y_i = sum_j (x_j - w_ij)^2 (eq. 7). y_i is a penalty: the prediction is the
  smallest one.
- The loss is the MAP criterion of eq. 9 (p.10), not cross-entropy on logits.
- Weights start uniform in (-2.4/F_i, +2.4/F_i), F_i the unit's fan-in (Appendix A, p.41);
  `ModelConfig(init="sqrt3")` starts them in (-sqrt(3/F_i), +sqrt(3/F_i)) instead, the start
  from which SDLM at the paper's rates reproduces its result (see `lenet_viz/sdlm/optimizer.py`).

Counts (p.7-8): 60,000 trainable parameters and 340,908 connections in all.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from lenet_viz.nets.activations import make_activation
from lenet_viz.nets.config import ModelConfig
from lenet_viz.nets.model import LeNetBase, MaskedConv2d, make_c3
from lenet_viz.nets.paper import rbf_codes

# Appendix A (p.41): weights uniform in (-INIT_SCALE / F_i, +INIT_SCALE / F_i).
INIT_SCALE = 2.4

# p.10: "eta" for passes 1-2, 3-5, 6-8, 9-12, and 13 on (20 passes in all).
_PAPER_SCHEDULE = ((2, 0.0005), (5, 0.0002), (8, 0.0001), (12, 0.00005))
_PAPER_FINAL_LR = 0.00001
PAPER_LAST_DROP = 12  # the 0-based pass of the schedule's last drop (pass 13), 5x


def paper_lr(epoch_index: int) -> float:
    """The global rate eta of pass `epoch_index` (0-based: 0 is the first pass), p.10.

    0.0005 for passes 1-2, 0.0002 for 3-5, 0.0001 for 6-8, 0.00005 for 9-12, 0.00001 after.
    """
    if epoch_index < 0:
        raise ValueError(f"epoch_index must be 0 or more (0 is the first pass), not {epoch_index}")
    for last_pass, rate in _PAPER_SCHEDULE:
        if epoch_index < last_pass:
            return rate
    return _PAPER_FINAL_LR


class TrainableSubsampling(nn.Module):
    """S2 / S4 (p.7): per map, (sum of each non-overlapping 2x2 window) x coefficient + bias.

    "The four inputs to a unit in S2 are added, then multiplied by a trainable coefficient, and
    added to a trainable bias. The result is passed through a sigmoidal function." The squashing
    is a separate module after this one, so that the user can swap it like every other one.
    """

    window = 2

    def __init__(self, maps: int):
        super().__init__()
        self.maps = maps
        self.coefficient = nn.Parameter(torch.ones(maps))
        self.bias = nn.Parameter(torch.zeros(maps))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        window_sum = F.avg_pool2d(x, self.window) * (self.window * self.window)
        return window_sum * self.coefficient[:, None, None] + self.bias[:, None, None]

    def fan_in(self) -> int:
        """Inputs of one unit (the bias excluded): 4, as Appendix A counts them."""
        return self.window * self.window

    def connections(self, output_shape: torch.Size) -> int:
        """Four inputs and a bias per unit: 14x14x6x5 = 5,880 for S2, 5x5x16x5 = 2,000 for S4."""
        units = output_shape[1:].numel()
        return units * (self.fan_in() + 1)

    def extra_repr(self) -> str:
        return f"maps={self.maps}, window={self.window}x{self.window}"


class RBFOutput(nn.Module):
    """Ten Euclidean RBF units (eq. 7, p.9): y_i = sum_j (x_j - w_ij)^2.

    w is fixed to the 7x12 bitmaps of Fig. 3 (+1 ink, -1 background) and held in a buffer, so it
    has no trainable parameter. Each y_i is a penalty: how far F6's 84 outputs lie from the
    stylized picture of digit i.
    """

    def __init__(self):
        super().__init__()
        self.register_buffer("codes", torch.tensor(rbf_codes(), dtype=torch.float32))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        difference = x[:, None, :] - self.codes[None, :, :]  # (N, 10, 84)
        return difference.pow(2).sum(dim=2)

    def connections(self, output_shape: torch.Size) -> int:
        """One connection from each of the 84 F6 units to each of the 10 RBF units: 840."""
        return self.codes.numel()

    def num_effective_params(self) -> int:
        return 0


class FaithfulLeNet5(LeNetBase):
    """LeNet-5 of LeCun et al. 1998 (pp.6-9). Outputs are RBF penalties: smaller is better.

    Shapes per sample, input (1, 32, 32) with background -0.1 and ink 1.175 (p.7):
      C1 (6, 28, 28) -> S2 (6, 14, 14) -> C3 (16, 10, 10) -> S4 (16, 5, 5)
      -> C5 (120,) -> F6 (84,) -> output (10,) RBF penalties
    """

    def __init__(self, config: ModelConfig | None = None):
        super().__init__()
        self.config = config or ModelConfig(arch="faithful")
        act = self.config.activation
        self.layers = nn.ModuleDict(
            {
                "C1": nn.Sequential(nn.Conv2d(1, 6, 5), make_activation(act)),
                "S2": nn.Sequential(TrainableSubsampling(6), make_activation(act)),
                "C3": nn.Sequential(make_c3(self.config.c3), make_activation(act)),
                "S4": nn.Sequential(TrainableSubsampling(16), make_activation(act)),
                # C5 is a convolution whose 5x5 kernel covers all of S4's 5x5 maps (p.8).
                "C5": nn.Sequential(nn.Conv2d(16, 120, 5), nn.Flatten(), make_activation(act)),
                "F6": nn.Sequential(nn.Linear(120, 84), make_activation(act)),
                "output": RBFOutput(),
            }
        )
        self.init_weights()

    @torch.no_grad()
    def init_weights(self) -> None:
        """Appendix A (p.41): every weight and bias uniform in (-2.4/F_i, +2.4/F_i).

        F_i is the number of inputs of the unit the connection goes to: 25 for C1, 4 for the
        subsampling units, 75, 100 or 150 for a C3 map (its connected S2 maps only, Table I),
        400 for C5, 120 for F6. Masked C3 weights are set back to exactly zero.
        With `config.init == "sqrt3"` the limit is sqrt(3/F_i) instead (same random draws).
        """
        limit_of = init_limit(self.config.init)
        for module in self.modules():
            if isinstance(module, TrainableSubsampling):
                limit = limit_of(torch.tensor(float(module.fan_in()))).item()
                module.coefficient.uniform_(-limit, limit)
                module.bias.uniform_(-limit, limit)
            elif isinstance(module, nn.Conv2d | nn.Linear):
                limits = limit_of(unit_fan_in(module))  # one limit per output unit
                shape = (-1,) + (1,) * (module.weight.dim() - 1)
                module.weight.uniform_(-1, 1).mul_(limits.reshape(shape))
                module.bias.uniform_(-1, 1).mul_(limits)
                if isinstance(module, MaskedConv2d):
                    module.weight.mul_(module.mask)

    def loss(self, output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """The MAP criterion, eq. 9 (p.10), averaged over the batch.

        E = y_correct + log(e^-j + sum_i e^-y_i). The first term alone is the maximum
        likelihood criterion of eq. 8: it only pulls the correct unit's penalty down. The
        second makes the criterion discriminative: it pushes the wrong classes' penalties up,
        and e^-j stops pushing a penalty that is already much larger than j. The paper does not
        give j; it is `config.rbf_j`. Computed with logsumexp, so large penalties cannot
        underflow.
        """
        correct = output.gather(1, target[:, None]).squeeze(1)
        constant = output.new_full((output.shape[0], 1), -float(self.config.rbf_j))
        competition = torch.logsumexp(torch.cat([constant, -output], dim=1), dim=1)
        return (correct + competition).mean()

    def probabilities(self, output: torch.Tensor) -> torch.Tensor:
        """softmax(-y): a readout of the RBF penalties for display, not part of the paper.

        The paper's prediction is the class of the smallest penalty (argmin y, p.9); softmax(-y)
        is largest exactly there, so `predict` (argmax of this) gives the paper's prediction.
        The values themselves are the posterior the MAP loss implies without its e^-j "rubbish"
        class (eq. 9) and are only as calibrated as that.
        """
        return F.softmax(-output, dim=1)


def init_limit(init: str):
    """F_i -> the half-width of the uniform initial weights: 2.4/F_i (Appendix A) or sqrt(3/F_i)."""
    if init == "sqrt3":
        return lambda fan_in: (3.0 / fan_in).sqrt()
    return lambda fan_in: INIT_SCALE / fan_in


def unit_fan_in(module: nn.Conv2d | nn.Linear) -> torch.Tensor:
    """The number of inputs of each output unit (bias excluded), one value per output map/unit.

    For a Table I C3 that counts only the connected S2 maps: 75, 100 or 150 (Appendix A).
    """
    if isinstance(module, nn.Linear):
        return torch.full((module.out_features,), float(module.in_features))
    kernel = module.kernel_size[0] * module.kernel_size[1]
    if isinstance(module, MaskedConv2d):
        return module.connected_inputs() * kernel
    inputs = module.in_channels // module.groups
    return torch.full((module.out_channels,), float(inputs * kernel))
