"""The Inside page's "What each map looks for" view: the test digits that excite each C1 and C3
map most (each with its strongest unit's receptive field outlined), and the top digits of any
C5 or F6 unit. The search runs once per model over the test set
(`lenet_viz.explain.top_activations`).
"""

from __future__ import annotations

import numpy as np
import streamlit as st

from lenet_viz.explain.top_activations import (
    MAP_LAYERS,
    UNIT_LAYERS,
    cached_top_activations,
    field_in_digit,
    receptive_field,
)
from lenet_viz.figures import explain as figures
from lenet_viz.nets.model import LeNetBase
from ui.charts import chart
from ui.i18n import N_, _

LAYER = "inside_top_layer"
UNIT = "inside_top_unit"
PLAIN = {"displayModeBar": False}
BLOCKS_PER_ROW = {"C1": 3, "C3": 4}
LAYER_NOTES = {
    "C1": N_("Each C1 unit sees a 5x5 patch of the input (outlined)."),
    "C3": N_(
        "Each C3 unit sees a 5x5 window of S2 maps, which is a 14x14 patch of the input "
        "(outlined): C3 finds larger parts of strokes."
    ),
    "C5": N_("Each C5 unit sees the whole digit."),
    "F6": N_("Each F6 unit sees the whole digit, through C5."),
}


def _as_unit(images) -> np.ndarray:
    array = np.asarray(images, dtype=np.float32)
    return array / 255.0 if array.max() > 1.0 else array


def map_boxes(model: LeNetBase, layer: str, units: np.ndarray) -> np.ndarray:
    """(maps, k, 4) receptive fields of the strongest units, in the 28x28 digit's pixels."""
    boxes = np.zeros(units.shape[:2] + (4,), dtype=np.float32)
    for m, row in enumerate(units):
        for j, (r, c) in enumerate(row):
            box = receptive_field(model, layer, int(r), int(c))
            boxes[m, j] = field_in_digit(box, model.config.resize)
    return boxes


def show_top_digits(model: LeNetBase) -> None:
    st.header(_("What each map looks for"))
    with st.spinner(_("Running every test digit through the net, once for this model…")):
        found, digits = cached_top_activations(model)
    where = (
        _("the {count} MNIST test digits").format(count=f"{found.digits:,}")
        if found.source == "MNIST test set"
        else _(
            "the {count} sample digits shipped with the app (run `make data` for all 10,000 "
            "test digits)"
        ).format(count=found.digits)
    )
    st.markdown(
        _(
            "For every map, the 9 digits among {where} that excite it most: a digit's score is "
            "the map's strongest unit on it. The orange box on each digit is the part of it that "
            "unit sees."
        ).format(where=where)
    )
    layer = st.radio(_("Layer"), MAP_LAYERS + UNIT_LAYERS, key=LAYER, horizontal=True)
    st.caption(_(LAYER_NOTES[layer]))
    top = found.layers[layer]
    labels = digits.labels.numpy()
    if layer in MAP_LAYERS:
        images = _as_unit(digits.images.numpy()[top.indices])  # (maps, 9, 28, 28)
        captions = [[f"{labels[i]}" for i in row] for row in top.indices]
        titles = [_("{layer} map {index}").format(layer=layer, index=m) for m in range(top.count)]
        chart(
            st,
            figures.top_digits_figure(
                images,
                map_boxes(model, layer, top.units),
                titles,
                BLOCKS_PER_ROW[layer],
                captions=captions,
            ),
            key=f"inside_top_{layer}",
            config=PLAIN,
        )
        st.caption(_("Under each digit: its label. The most exciting digit is at the top left."))
        return
    unit = st.number_input(
        _("{layer} unit (0 to {last})").format(layer=layer, last=top.count - 1),
        min_value=0,
        max_value=top.count - 1,
        value=0,
        step=1,
        key=f"{UNIT}_{layer}",
    )
    row = top.indices[unit]
    images = _as_unit(digits.images.numpy()[row])[None]
    captions = [
        [
            _("#{index}: {label} ({value})").format(index=i, label=labels[i], value=f"{s:.2f}")
            for i, s in zip(row, top.scores[unit], strict=True)
        ]
    ]
    chart(
        st,
        figures.top_digits_figure(
            images,
            None,
            [_("{layer} unit {unit}").format(layer=layer, unit=unit)],
            1,
            block_side=9,
            captions=captions,
            px_per_block=900,
        ),
        key="inside_top_unit",
        config=PLAIN,
    )
    counts = np.bincount(labels[row], minlength=10)
    common = int(counts.argmax())
    st.caption(
        _(
            "Under each digit: its test-set number, label and the unit's value. {count} of the "
            "9 are {digit}s."
        ).format(count=counts[common], digit=common)
    )
