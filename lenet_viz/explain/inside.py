"""What the Inside page shows, computed without Streamlit: activations, C3 inputs, C3 arithmetic.

- `inspect_digit` runs one digit through a net (`forward_layers`) and keeps every layer's output
  as numpy arrays, with the prediction.
- `c3_map_inputs` opens up one C3 map: which S2 maps feed it (the connection table), the 5x5
  kernel applied to each, what each contributes, and the map that results.
- `c3_arithmetic` turns a 6x16 S2 -> C3 table into its parameter count, written out the way the
  paper does (LeCun et al. 1998, p.8): 6 x (3x25+1) + 9 x (4x25+1) + 1 x (6x25+1) = 1,516.
- `compare_tables` sets a net's table against the paper's Table I.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from lenet_viz.data import datasets as data
from lenet_viz.nets.config import ModelConfig
from lenet_viz.nets.model import LAYER_NAMES, LeNetBase
from lenet_viz.nets.paper import RBF_BITMAP_SHAPE, rbf_codes, table_i

S2_MAPS, C3_MAPS = 6, 16
C3_KERNEL_SIZE = 5


# ------------------------------------------------------------------ the S2 -> C3 table


def check_table(table) -> np.ndarray:
    """The table as a 6x16 int array of 0/1; a clear ValueError if it is not one."""
    array = np.asarray(table)
    if array.shape != (S2_MAPS, C3_MAPS):
        raise ValueError(
            f"an S2 -> C3 connection table has {S2_MAPS} rows (S2 maps) and {C3_MAPS} columns "
            f"(C3 maps), got shape {array.shape}"
        )
    if not np.isin(array, (0, 1)).all():
        raise ValueError("an S2 -> C3 connection table holds only 0 (not connected) and 1")
    unconnected = [int(m) for m in np.flatnonzero(array.sum(axis=0) == 0)]
    if unconnected:
        raise ValueError(f"C3 maps {unconnected} see no S2 map; every C3 map needs an input")
    return array.astype(int)


def c3_inputs(table, c3_map: int) -> list[int]:
    """The S2 maps that feed C3 map `c3_map` (0-15), in order."""
    array = check_table(table)
    if not 0 <= c3_map < C3_MAPS:
        raise ValueError(f"C3 maps are numbered 0 to {C3_MAPS - 1}, got {c3_map}")
    return [int(i) for i in np.flatnonzero(array[:, c3_map])]


@dataclass(frozen=True)
class C3Group:
    """The C3 maps that see the same number of S2 maps, and the parameters they hold."""

    inputs: int  # S2 maps each of these C3 maps sees
    maps: int  # how many C3 maps see that many
    kernel_area: int = C3_KERNEL_SIZE * C3_KERNEL_SIZE

    @property
    def params_per_map(self) -> int:
        """One 5x5 kernel per connected S2 map, plus one bias."""
        return self.inputs * self.kernel_area + 1

    @property
    def params(self) -> int:
        return self.maps * self.params_per_map

    def term(self) -> str:
        return f"{self.maps} × ({self.inputs}·{self.kernel_area}+1)"


@dataclass(frozen=True)
class C3Arithmetic:
    groups: tuple[C3Group, ...]  # by number of inputs, fewest first

    @property
    def total(self) -> int:
        return sum(group.params for group in self.groups)

    def formula(self) -> str:
        """E.g. "6 × (3·25+1) + 9 × (4·25+1) + 1 × (6·25+1) = 456 + 909 + 151 = 1,516"."""
        terms = " + ".join(group.term() for group in self.groups)
        if len(self.groups) == 1:
            return f"{terms} = {self.total:,}"
        partials = " + ".join(f"{group.params:,}" for group in self.groups)
        return f"{terms} = {partials} = {self.total:,}"


def c3_arithmetic(table, kernel_size: int = C3_KERNEL_SIZE) -> C3Arithmetic:
    """C3's trainable parameters from the table: C3 maps grouped by how many S2 maps they see."""
    counts = Counter(int(n) for n in check_table(table).sum(axis=0))
    area = kernel_size * kernel_size
    return C3Arithmetic(tuple(C3Group(n, counts[n], area) for n in sorted(counts)))


@dataclass(frozen=True)
class TableComparison:
    """A net's table cell by cell against a reference (the paper's Table I).

    cells: 6x16 of "both" (connected in both), "extra" (only in the net), "missing" (only in
    the reference) or "neither".
    """

    cells: tuple[tuple[str, ...], ...]

    def count(self, kind: str) -> int:
        return sum(row.count(kind) for row in self.cells)

    @property
    def identical(self) -> bool:
        return self.count("extra") == 0 and self.count("missing") == 0


def compare_tables(table, reference=None) -> TableComparison:
    """Compare `table` with `reference` (default: Table I, LeCun et al. 1998, p.8)."""
    net = check_table(table)
    ref = check_table(table_i() if reference is None else reference)
    names = {(1, 1): "both", (1, 0): "extra", (0, 1): "missing", (0, 0): "neither"}
    cells = tuple(
        tuple(names[(int(a), int(b))] for a, b in zip(net_row, ref_row, strict=True))
        for net_row, ref_row in zip(net, ref, strict=True)
    )
    return TableComparison(cells)


# ------------------------------------------------------------------ one digit through the net


def network_input(image28, config: ModelConfig) -> torch.Tensor:
    """A 28x28 digit (uint8 0..255 or float 0..1, ink high) -> the (1, 1, 32, 32) input of a net
    with this config: its own resize and input scaling, exactly as it was trained."""
    image = torch.as_tensor(np.asarray(image28))
    if image.shape != (28, 28):
        raise ValueError(f"expected a 28x28 digit, got shape {tuple(image.shape)}")
    return data.to_network_input(image[None], config.resize, config.input_scaling)


@dataclass
class DigitInspection:
    """Every layer's output for one digit, as numpy arrays without the batch dimension.

    layers: C1 (6, 28, 28), S2 (6, 14, 14), C3 (16, 10, 10), S4 (16, 5, 5), C5 (120,),
    F6 (84,), output (10,): logits (modern) or RBF penalties (faithful, smaller is better).
    """

    input: np.ndarray  # (32, 32), the network input as the net sees it (normalized)
    layers: dict[str, np.ndarray]
    probabilities: np.ndarray  # (10,)
    prediction: int
    output_is_penalty: bool  # True for the faithful net's RBF output


@torch.no_grad()
def inspect_digit(model: LeNetBase, x: torch.Tensor) -> DigitInspection:
    """Run one network input (1, 1, 32, 32) through `model` and keep what every layer saw."""
    if tuple(x.shape) != (1, 1, 32, 32):
        raise ValueError(
            f"expected one network input of shape (1, 1, 32, 32), got {tuple(x.shape)}"
        )
    was_training = model.training
    model.eval()
    try:
        outputs = model.forward_layers(x)
    finally:
        model.train(was_training)
    probabilities = model.probabilities(outputs["output"])[0]
    return DigitInspection(
        input=x[0, 0].numpy().copy(),
        layers={name: outputs[name][0].numpy().copy() for name in LAYER_NAMES},
        probabilities=probabilities.numpy().copy(),
        prediction=int(probabilities.argmax()),
        output_is_penalty=model.config.arch == "faithful",
    )


def c1_kernels(model: LeNetBase) -> np.ndarray:
    """C1's six 5x5 kernels, (6, 5, 5)."""
    conv = next(m for m in model.layers["C1"].modules() if isinstance(m, torch.nn.Conv2d))
    return conv.weight.detach()[:, 0].numpy().copy()


@dataclass
class C3MapInputs:
    """How one C3 map is made: the sum over its S2 inputs of (S2 map * kernel), plus a bias,
    then the activation. All arrays are for one digit."""

    c3_map: int
    inputs: list[int]  # the S2 maps it sees (the connection table's column)
    s2_maps: np.ndarray  # (k, 14, 14)
    kernels: np.ndarray  # (k, 5, 5)
    contributions: np.ndarray  # (k, 10, 10): each S2 map convolved with its kernel
    bias: float
    pre_activation: np.ndarray  # (10, 10): sum of contributions + bias
    output: np.ndarray  # (10, 10): the C3 map after the activation


@torch.no_grad()
def c3_map_inputs(model: LeNetBase, inspection: DigitInspection, c3_map: int) -> C3MapInputs:
    inputs = c3_inputs(model.connection_table(), c3_map)
    conv = model.c3_conv()
    weight = conv.weight.detach()
    if hasattr(conv, "mask"):
        weight = weight * conv.mask
    s2 = torch.from_numpy(inspection.layers["S2"])
    kernels = weight[c3_map, inputs]  # (k, 5, 5)
    # Each S2 map convolved with its own kernel: a grouped convolution, one group per input.
    contributions = F.conv2d(s2[inputs][None], kernels[:, None], groups=len(inputs))[0]
    bias = float(conv.bias[c3_map]) if conv.bias is not None else 0.0
    return C3MapInputs(
        c3_map=c3_map,
        inputs=inputs,
        s2_maps=s2[inputs].numpy().copy(),
        kernels=kernels.numpy().copy(),
        contributions=contributions.numpy().copy(),
        bias=bias,
        pre_activation=(contributions.sum(dim=0) + bias).numpy(),
        output=inspection.layers["C3"][c3_map].copy(),
    )


# ------------------------------------------------------------------ the faithful net's output


def rbf_code_bitmaps() -> np.ndarray:
    """The ten RBF codes of Fig. 3 (p.9) as (10, 12, 7) bitmaps, +1 = ink, -1 = background."""
    return np.asarray(rbf_codes(), dtype=np.float32).reshape(10, *RBF_BITMAP_SHAPE)


def f6_bitmap(f6: np.ndarray) -> np.ndarray:
    """F6's 84 outputs laid out like an RBF code (12 high x 7 wide, row-major), so they can be
    set next to the code each RBF unit compares them with (eq. 7, p.9)."""
    values = np.asarray(f6, dtype=np.float32)
    if values.shape != (84,):
        raise ValueError(f"F6 has 84 outputs, got shape {values.shape}")
    return values.reshape(RBF_BITMAP_SHAPE)
