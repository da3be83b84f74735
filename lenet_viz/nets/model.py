"""LeNet-5, the whole model in one readable file, plus the interface every LeNet-5 here shares.

Two architectures sit behind one interface (`LeNetBase`):

- "modern": the simplified net most tutorials (and the notebook this project grew from) use:
  C1 conv -> S2 pool -> C3 conv -> S4 pool -> C5 conv -> F6 linear -> output linear (logits),
  any activation from the registry, max or average pooling.
- "faithful": LeNet-5 as LeCun et al. published it in 1998 (see `faithful.py`).

Every net returns every layer's output from one forward pass (`forward_layers`) and describes
itself (`layer_summary`): output shapes, trainable parameters and connections are computed from
the modules, never typed in.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from lenet_viz.nets.activations import make_activation
from lenet_viz.nets.config import ModelConfig
from lenet_viz.nets.paper import table_i

LAYER_NAMES = ("C1", "S2", "C3", "S4", "C5", "F6", "output")
INPUT_SHAPE = (1, 32, 32)  # channels, height, width: the paper's 32x32 input plane (p.7)


@dataclass(frozen=True)
class LayerSummary:
    name: str
    output_shape: tuple[int, ...]  # per sample, e.g. (6, 28, 28)
    params: int  # trainable parameters (masked-out weights do not count)
    connections: int  # multiply-adds and additions the paper counts as connections

    def to_dict(self) -> dict:
        return {
            "name": self.name,
            "output_shape": list(self.output_shape),
            "params": self.params,
            "connections": self.connections,
        }


class MaskedConv2d(nn.Conv2d):
    """A convolution in which output map o sees input map i only where table[i][o] == 1.

    The masked weights are zeroed at construction and multiplied by the mask in every forward
    pass, so their gradient is zero and they stay exactly zero under SGD, momentum or Adam.
    They are not parameters in any count this library reports (LeCun et al. 1998, p.8: C3 has
    1,516 trainable parameters, not the 2,416 of a full 6->16 convolution).
    """

    def __init__(self, table: list[list[int]] | tuple, kernel_size: int = 5):
        in_maps, out_maps = len(table), len(table[0])
        super().__init__(in_maps, out_maps, kernel_size)
        mask = torch.tensor(table, dtype=torch.float32).t()  # (out, in)
        self.register_buffer("mask", mask[:, :, None, None].contiguous())
        with torch.no_grad():
            self.weight.mul_(self.mask)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.conv2d(x, self.weight * self.mask, self.bias)

    def connected_inputs(self) -> torch.Tensor:
        """For each output map, how many input maps it sees."""
        return self.mask[:, :, 0, 0].sum(dim=1)

    def num_effective_params(self) -> int:
        kernel = self.kernel_size[0] * self.kernel_size[1]
        weights = int(self.mask.sum().item()) * kernel
        return weights + (self.out_channels if self.bias is not None else 0)

    def connections(self, output_shape: torch.Size) -> int:
        kernel = self.kernel_size[0] * self.kernel_size[1]
        per_unit = self.connected_inputs() * kernel + (1 if self.bias is not None else 0)
        return int(per_unit.sum().item()) * output_shape[-1] * output_shape[-2]

    def table(self) -> list[list[int]]:
        return self.mask[:, :, 0, 0].t().int().tolist()


def make_c3(c3: str) -> nn.Conv2d:
    """C3: 16@5x5 over the S2 maps, fully connected ("full") or through Table I ("paper")."""
    if c3 == "paper":
        return MaskedConv2d(table_i())
    return nn.Conv2d(6, 16, 5)


def _leaf_connections(module: nn.Module, output_shape: torch.Size) -> int:
    """Connections of one leaf module for one sample, following the paper's way of counting."""
    if hasattr(module, "connections"):
        return module.connections(output_shape)
    units = output_shape[1:].numel()
    if isinstance(module, nn.Conv2d):
        fan_in = module.in_channels // module.groups * module.kernel_size[0] * module.kernel_size[1]
        return units * (fan_in + (module.bias is not None))
    if isinstance(module, nn.Linear):
        return units * (module.in_features + (module.bias is not None))
    if isinstance(module, nn.MaxPool2d | nn.AvgPool2d):
        k = module.kernel_size
        window = k * k if isinstance(k, int) else k[0] * k[1]
        return units * window
    return 0  # activations, flatten: no connections of their own


def _leaf_params(module: nn.Module) -> int:
    if hasattr(module, "num_effective_params"):
        return module.num_effective_params()
    return sum(p.numel() for p in module.parameters(recurse=False) if p.requires_grad)


class LeNetBase(nn.Module):
    """The interface every LeNet-5 here shares.

    Subclasses fill `self.layers`, an `nn.ModuleDict` keyed by LAYER_NAMES in order, and may
    override `loss`, `probabilities` and `init_weights`.
    """

    config: ModelConfig
    layers: nn.ModuleDict

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for layer in self.layers.values():
            x = layer(x)
        return x

    def forward_layers(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """Every layer's output (C1, S2, C3, S4, C5, F6, output) from one forward pass."""
        outputs = {}
        for name, layer in self.layers.items():
            x = layer(x)
            outputs[name] = x
        return outputs

    def loss(self, output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """Mean loss over the batch: cross-entropy on the logits."""
        return F.cross_entropy(output, target)

    def probabilities(self, output: torch.Tensor) -> torch.Tensor:
        return F.softmax(output, dim=1)

    def predict(self, output: torch.Tensor) -> torch.Tensor:
        """The predicted class of each sample (argmax of `probabilities`)."""
        return self.probabilities(output).argmax(dim=1)

    def connection_table(self) -> list[list[int]]:
        """The 6x16 S2 -> C3 0/1 matrix this net uses (all ones for a full C3)."""
        c3 = self.c3_conv()
        if isinstance(c3, MaskedConv2d):
            return c3.table()
        return [[1] * c3.out_channels for _ in range(c3.in_channels)]

    def c3_conv(self) -> nn.Conv2d:
        return next(m for m in self.layers["C3"].modules() if isinstance(m, nn.Conv2d))

    def num_params(self) -> int:
        return sum(s.params for s in self.layer_summary())

    @torch.no_grad()
    def layer_summary(self) -> list[LayerSummary]:
        """Output shape, trainable parameters and connections of each layer, from the modules."""
        shapes: dict[nn.Module, torch.Size] = {}
        hooks = [
            m.register_forward_hook(lambda mod, _inp, out: shapes.__setitem__(mod, out.shape))
            for m in self.modules()
            if not list(m.children())
        ]
        try:
            device = next(self.parameters()).device
            x = torch.zeros(1, *INPUT_SHAPE, device=device)
            was_training = self.training
            self.eval()
            outputs = self.forward_layers(x)
            self.train(was_training)
        finally:
            for hook in hooks:
                hook.remove()
        summary = []
        for name, layer in self.layers.items():
            leaves = [m for m in layer.modules() if not list(m.children())]
            params = sum(_leaf_params(m) for m in leaves)
            connections = sum(_leaf_connections(m, shapes[m]) for m in leaves if m in shapes)
            shape = tuple(outputs[name].shape[1:])
            summary.append(LayerSummary(name, shape, params, connections))
        return summary

    def info(self) -> dict:
        """The JSON form of `lenet-viz info`."""
        layers = self.layer_summary()
        return {
            "arch": self.config.arch,
            "layers": [layer.to_dict() for layer in layers],
            "total_params": sum(layer.params for layer in layers),
            "total_connections": sum(layer.connections for layer in layers),
            "connection_table": self.connection_table(),
        }


class ModernLeNet5(LeNetBase):
    """The simplified LeNet-5 (the notebook's): every map of S2 feeds every C3 map by default.

    Shapes per sample, input (1, 32, 32):
      C1 (6, 28, 28) -> S2 (6, 14, 14) -> C3 (16, 10, 10) -> S4 (16, 5, 5)
      -> C5 (120,) -> F6 (84,) -> output (10,) logits
    """

    def __init__(self, config: ModelConfig | None = None):
        super().__init__()
        self.config = config or ModelConfig()
        act = self.config.activation
        pool = nn.MaxPool2d if self.config.pooling == "max" else nn.AvgPool2d
        self.layers = nn.ModuleDict(
            {
                "C1": nn.Sequential(nn.Conv2d(1, 6, 5), make_activation(act)),  # (6, 28, 28)
                "S2": pool(2),  # (6, 14, 14)
                "C3": nn.Sequential(make_c3(self.config.c3), make_activation(act)),  # (16, 10, 10)
                "S4": pool(2),  # (16, 5, 5)
                "C5": nn.Sequential(nn.Conv2d(16, 120, 5), nn.Flatten(), make_activation(act)),
                "F6": nn.Sequential(nn.Linear(120, 84), make_activation(act)),  # (84,)
                "output": nn.Linear(84, 10),  # (10,) logits
            }
        )
        if self.config.init == "xavier":
            self.xavier_init()

    @torch.no_grad()
    def xavier_init(self) -> None:
        """Glorot and Bengio's (2010) uniform init of every weight, as d2l-zh's LeNet does
        (`nn.init.xavier_uniform_` on its Conv2d and Linear layers; biases keep PyTorch's).
        C5 is d2l-zh's Linear(400, 120): its fan-out is 120 units, not 120 x 5x5 as a
        convolution's would count, so its weight is initialised as that matrix."""
        for name, layer in self.layers.items():
            for module in layer.modules():
                if isinstance(module, nn.Conv2d | nn.Linear):
                    weight = module.weight
                    shaped = weight.view(weight.shape[0], -1) if name == "C5" else weight
                    nn.init.xavier_uniform_(shaped)
                    if isinstance(module, MaskedConv2d):
                        weight.mul_(module.mask)
