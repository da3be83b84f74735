"""The Home page's picture of LeNet-5: every layer as a block, with its shape and parameters."""

from __future__ import annotations

from collections.abc import Sequence

import plotly.graph_objects as go

from lenet_viz.figures.style import FONT_SIZE, LAYER_COLORS

LAYER_KINDS = {
    "modern": {
        "C1": "convolution 5x5",
        "S2": "pooling 2x2",
        "C3": "convolution 5x5",
        "S4": "pooling 2x2",
        "C5": "convolution 5x5",
        "F6": "full connection",
        "output": "full connection",
    },
    "faithful": {  # LeCun et al. 1998, Fig. 2 (p.7) and Section II-B
        "C1": "convolution 5x5",
        "S2": "subsampling 2x2",
        "C3": "convolution 5x5 (Table I)",
        "S4": "subsampling 2x2",
        "C5": "convolution 5x5",
        "F6": "full connection",
        "output": "Gaussian (RBF)",
    },
}


def _shape_text(shape: Sequence[int]) -> str:
    if len(shape) == 3:
        return f"{shape[0]}@{shape[1]}x{shape[2]}"
    return f"{shape[0]} units"


def architecture_figure(info: dict, *, height: int = 340) -> go.Figure:
    """LeNet-5 drawn left to right from `model.info()`: feature maps as stacked squares sized by
    their side, vectors as bars sized by their length, with shapes and parameter counts."""
    layers = [{"name": "input", "output_shape": [1, 32, 32], "params": 0}] + list(info["layers"])
    kinds = LAYER_KINDS.get(info.get("arch", "modern"), LAYER_KINDS["modern"])
    # Collected, then set at once: Plotly checks the whole list again at each add_shape.
    shapes: list[dict] = []
    notes: list[dict] = []
    gap = 1.0
    for index, layer in enumerate(layers):
        center = index * gap
        shape = layer["output_shape"]
        color = LAYER_COLORS.get(layer["name"], "#888888")
        if len(shape) == 3:
            top = _draw_maps(shapes, center, shape, color)
        else:
            top = _draw_vector(shapes, center, shape[0], color)
        kind = "32x32 pixels" if layer["name"] == "input" else kinds.get(layer["name"], "")
        notes.append(
            dict(
                x=center,
                y=top + 0.12,
                text=f"<b>{layer['name']}</b><br>{_shape_text(shape)}",
                showarrow=False,
                yanchor="bottom",
                font=dict(size=FONT_SIZE),
            )
        )
        params = f"{layer['params']:,} params" if layer["name"] != "input" else ""
        notes.append(  # every other layer's lower: neighbours' labels never meet
            dict(
                x=center,
                y=-0.85 - 0.45 * (index % 2),
                text=f"{kind}<br><i>{params}</i>",
                showarrow=False,
                yanchor="top",
                font=dict(size=FONT_SIZE - 2, color="#444"),
            )
        )
        if index:
            notes.append(
                dict(
                    x=center - 0.36,
                    y=0,
                    ax=center - gap + 0.36,
                    ay=0,
                    xref="x",
                    yref="y",
                    axref="x",
                    ayref="y",
                    showarrow=True,
                    arrowhead=3,
                    arrowwidth=2,
                    arrowcolor="#999",
                    text="",
                )
            )
    fig = go.Figure(layout=dict(shapes=shapes, annotations=notes))
    fig.update_xaxes(visible=False, range=[-0.6, (len(layers) - 1) * gap + 0.6])
    fig.update_yaxes(visible=False, range=[-2.05, 1.5])
    fig.update_layout(
        height=height,
        margin=dict(l=0, r=0, t=0, b=0),
        template="plotly_white",
        showlegend=False,
        dragmode=False,
    )
    return fig


def _draw_maps(shapes: list[dict], center: float, shape: Sequence[int], color: str) -> float:
    """A stack of up to 6 squares (side ∝ map side); returns the stack's top y."""
    maps, side = shape[0], 0.55 * shape[1] / 32 + 0.1
    shown = min(maps, 6)
    step = 0.05
    width = side + step * (shown - 1)
    left, bottom = center - width / 2, -side / 2 - step * (shown - 1) / 2
    for k in range(shown):
        x0, y0 = left + step * k, bottom + step * (shown - 1 - k)
        shapes.append(
            dict(
                type="rect",
                x0=x0,
                y0=y0,
                x1=x0 + side,
                y1=y0 + side,
                line=dict(color="#333", width=1),
                fillcolor=color,
                opacity=0.85,
            )
        )
    return bottom + step * (shown - 1) + side


def _draw_vector(shapes: list[dict], center: float, units: int, color: str) -> float:
    """A bar whose height grows with the number of units; returns its top y."""
    height = 0.25 + 1.25 * min(units, 120) / 120
    shapes.append(
        dict(
            type="rect",
            x0=center - 0.07,
            y0=-height / 2,
            x1=center + 0.07,
            y1=height / 2,
            line=dict(color="#333", width=1),
            fillcolor=color,
            opacity=0.85,
        )
    )
    return height / 2
