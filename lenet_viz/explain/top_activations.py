"""What each map looks for: the test digits that excite it most.

A digit's score for a C1 or C3 map is the map's strongest unit on that digit (the maximum over
the map); the 9 digits with the highest scores are the map's top digits, each shown with the
receptive field of that strongest unit: the patch of the input the unit sees (5x5 for C1, 14x14
for C3, computed from the layers' kernels and strides). C5 and F6 units are single numbers per
digit: their top digits are those with the largest values. Computed in one pass over the 10,000
test digits (the 200 sample digits when MNIST is not downloaded) and cached per model.

Ties are broken by the lower digit index, so the result never depends on the batch size.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from lenet_viz.data import datasets as data
from lenet_viz.explain.cache import PerModelCache, model_fingerprint
from lenet_viz.nets.model import LAYER_NAMES, LeNetBase

MAP_LAYERS = ("C1", "C3")
UNIT_LAYERS = ("C5", "F6")
TOP_K = 9
BATCH_SIZE = 500
INPUT_SIDE = 32


@dataclass
class TopDigits:
    """One layer's top digits: for every map (or unit), the k digits that excite it most."""

    layer: str
    indices: np.ndarray  # (maps, k) digit indices, the most exciting first
    scores: np.ndarray  # (maps, k) the map's strongest activation on that digit
    units: np.ndarray | None  # (maps, k, 2) (row, col) of that strongest unit; None for C5, F6

    @property
    def count(self) -> int:
        return len(self.indices)


@dataclass
class TopActivations:
    layers: dict[str, TopDigits]
    digits: int  # how many digits were searched
    source: str  # "MNIST test set" or "sample digits"


def _scores(outputs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
    """(N, maps) strongest activation per map, and (N, maps, 2) where it is (None for vectors)."""
    if outputs.dim() == 2:
        return outputs, None
    n, maps, height, width = outputs.shape
    values, flat = outputs.reshape(n, maps, height * width).max(dim=2)
    return values, torch.stack([flat // width, flat % width], dim=-1)


def _top_k(scores: np.ndarray, k: int) -> np.ndarray:
    """(maps, k) digit indices with the largest scores per column of (N, maps), ties to the
    lower index."""
    order = np.lexsort((np.arange(len(scores))[:, None].repeat(scores.shape[1], 1), -scores), 0)
    return order[:k].T


@torch.inference_mode()
def top_activations(
    model: LeNetBase,
    images28: torch.Tensor,
    k: int = TOP_K,
    layers: tuple[str, ...] = MAP_LAYERS + UNIT_LAYERS,
    batch_size: int = BATCH_SIZE,
    source: str = "given digits",
) -> TopActivations:
    """The top `k` of `images28` (N, 28, 28) for every map or unit of `layers`."""
    was_training = model.training
    model.eval()
    scores: dict[str, list[torch.Tensor]] = {name: [] for name in layers}
    units: dict[str, list[torch.Tensor]] = {name: [] for name in layers}
    try:
        for start in range(0, len(images28), batch_size):
            batch = images28[start : start + batch_size]
            inputs = data.to_network_input(batch, model.config.resize, model.config.input_scaling)
            outputs = model.forward_layers(inputs)
            for name in layers:
                values, where = _scores(outputs[name])
                scores[name].append(values.float())
                if where is not None:
                    units[name].append(where)
    finally:
        model.train(was_training)
    result = {}
    for name in layers:
        all_scores = torch.cat(scores[name]).numpy()
        best = _top_k(all_scores, min(k, len(all_scores)))
        rows = np.arange(best.shape[0])[:, None]
        found = torch.cat(units[name]).numpy() if units[name] else None
        result[name] = TopDigits(
            layer=name,
            indices=best,
            scores=all_scores[best, rows],
            units=None if found is None else found[best, rows],
        )
    return TopActivations(result, len(images28), source)


def search_digits() -> tuple[data.Split, str]:
    """MNIST's 10,000 test digits, or the 200 shipped sample digits without them."""
    if data.data_available("mnist"):
        try:
            return data.load_split("mnist", train=False), "MNIST test set"
        except data.DataError:
            pass
    return data.sample_digits(), "sample digits"


_CACHE = PerModelCache(max_entries=8)


def cached_top_activations(model: LeNetBase) -> tuple[TopActivations, data.Split]:
    """`top_activations` over `search_digits()`, computed once per model; with the digits."""
    digits, source = search_digits()
    key = (model_fingerprint(model), source, len(digits))
    found = _CACHE.get_or_compute(key, lambda: top_activations(model, digits.images, source=source))
    return found, digits


# ------------------------------------------------------------------ receptive fields


def _geometry(module: nn.Module) -> tuple[int, int, int] | None:
    """(kernel, stride, padding) of a module that looks at a window of its input, else None."""
    if isinstance(module, nn.Conv2d | nn.MaxPool2d | nn.AvgPool2d):
        kernel, stride, padding = module.kernel_size, module.stride, module.padding
        first = [v[0] if isinstance(v, tuple) else v for v in (kernel, stride, padding)]
        return first[0], first[1] or first[0], first[2]
    window = getattr(module, "window", None)  # the faithful net's trainable subsampling
    if isinstance(window, int):
        return window, window, 0
    return None


def layer_geometry(model: LeNetBase, layer: str) -> list[tuple[int, int, int]]:
    """(kernel, stride, padding) of every windowed module from the input up to `layer`."""
    if layer not in LAYER_NAMES:
        raise ValueError(f"unknown layer {layer!r}; choose one of: {', '.join(LAYER_NAMES)}")
    steps = []
    for name, block in model.layers.items():
        steps += [g for m in block.modules() if (g := _geometry(m)) is not None]
        if name == layer:
            return steps
    raise ValueError(f"the model has no layer {layer!r}")


def receptive_field(model: LeNetBase, layer: str, row: int, col: int) -> tuple[int, int, int, int]:
    """The input pixels unit (row, col) of a map of `layer` sees: (top, left, bottom, right) in
    the 32x32 network input, bottom and right exclusive, clipped to the input."""
    top, bottom, left, right = row, row, col, col  # inclusive ranges, walked back to the input
    for kernel, stride, padding in reversed(layer_geometry(model, layer)):
        top, bottom = top * stride - padding, bottom * stride - padding + kernel - 1
        left, right = left * stride - padding, right * stride - padding + kernel - 1
    return (
        max(0, top),
        max(0, left),
        min(INPUT_SIDE, bottom + 1),
        min(INPUT_SIDE, right + 1),
    )


def field_in_digit(
    box: tuple[int, int, int, int], resize: str
) -> tuple[float, float, float, float]:
    """A box of the 32x32 input in the 28x28 digit's pixel edges (0..28), for drawing: "pad"
    added 2 px on each side, "scale" stretched 28 to 32."""
    top, left, bottom, right = box
    if resize == "pad":
        edges = [v - 2 for v in (top, left, bottom, right)]
    elif resize == "scale":
        edges = [v * 28 / 32 for v in (top, left, bottom, right)]
    else:
        raise ValueError(f"unknown resize {resize!r}; choose 'pad' or 'scale'")
    return tuple(float(min(28.0, max(0.0, v))) for v in edges)
