"""The S2 -> C3 connection table as figures: a net's own table, and tables side by side
(LeCun et al. 1998, Table I, p.8)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go

from lenet_viz.figures.inside import CONNECTED, EXTRA, FONT, HIGHLIGHT, UNCONNECTED


def connection_table_figure(table, selected: int | None = None) -> go.Figure:
    """The 6x16 S2 -> C3 table (rows: S2 maps, columns: C3 maps), "X" where connected as in
    the paper's Table I. The selected C3 map's column is framed and its inputs are orange.

    Heatmap cells cannot be selected in Streamlit (only points can), so an invisible marker
    sits on every cell: clicking a cell selects its marker, whose x is the C3 map.
    """
    array = np.asarray(table, dtype=int)
    level = array.astype(float)  # 0 unconnected, 1 connected, 2 an input of the selected map
    if selected is not None:
        level[:, selected] *= 2
    scale = [
        [0.0, UNCONNECTED],
        [0.33, UNCONNECTED],
        [0.34, CONNECTED],
        [0.66, CONNECTED],
        [0.67, HIGHLIGHT],
        [1.0, HIGHLIGHT],
    ]
    fig = go.Figure(
        go.Heatmap(
            z=level,
            x=list(range(array.shape[1])),
            y=list(range(array.shape[0])),
            text=np.where(array == 1, "X", ""),
            texttemplate="%{text}",
            textfont=dict(size=16, color="white"),
            colorscale=scale,
            zmin=0,
            zmax=2,
            showscale=False,
            xgap=2,
            ygap=2,
            hoverinfo="skip",
        )
    )
    rows, columns = np.indices(array.shape)
    invisible = dict(marker=dict(opacity=0))
    fig.add_trace(
        go.Scatter(
            x=columns.ravel(),
            y=rows.ravel(),
            mode="markers",
            marker=dict(size=30, symbol="square", color="rgba(0,0,0,0)"),
            selected=invisible,
            unselected=invisible,
            customdata=np.where(array.ravel() == 1, "feeds", "does not feed"),
            hovertemplate="S2 map %{y} %{customdata} C3 map %{x}<extra>click to open</extra>",
            showlegend=False,
        )
    )
    if selected is not None:
        fig.add_shape(
            type="rect",
            x0=selected - 0.5,
            x1=selected + 0.5,
            y0=-0.5,
            y1=array.shape[0] - 0.5,
            line=dict(color=HIGHLIGHT, width=3),
        )
    fig.update_layout(
        height=300,
        margin=dict(l=10, r=10, t=10, b=10),
        xaxis=dict(
            title="C3 map",
            tickmode="linear",
            dtick=1,
            side="top",
            range=[-0.5, array.shape[1] - 0.5],  # the cells exactly: markers add no margin
            fixedrange=True,
            showgrid=False,
        ),
        yaxis=dict(
            title="S2 map",
            tickmode="linear",
            dtick=1,
            range=[array.shape[0] - 0.5, -0.5],  # S2 map 0 on top
            fixedrange=True,
            showgrid=False,
            zeroline=False,
        ),
        font=FONT,
        dragmode=False,
    )
    return fig


def table_comparison_figure(cells: Sequence[Sequence[str]], title: str) -> go.Figure:
    """A net's table against the paper's: "X" both, red "+" only in the net (an extra
    connection), "-" only in the paper, blank in neither."""
    codes = {"neither": 0, "both": 1, "extra": 2, "missing": 3}
    marks = {"neither": "", "both": "X", "extra": "+", "missing": "−"}
    level = np.array([[codes[c] for c in row] for row in cells], dtype=float)
    text = [[marks[c] for c in row] for row in cells]
    scale = [
        [0.0, UNCONNECTED],
        [0.24, UNCONNECTED],
        [0.25, CONNECTED],
        [0.49, CONNECTED],
        [0.5, EXTRA],
        [0.74, EXTRA],
        [0.75, "#999999"],
        [1.0, "#999999"],
    ]
    fig = go.Figure(
        go.Heatmap(
            z=level,
            text=text,
            texttemplate="%{text}",
            textfont=dict(size=15, color="white"),
            colorscale=scale,
            zmin=0,
            zmax=3,
            showscale=False,
            xgap=2,
            ygap=2,
            hoverinfo="skip",
        )
    )
    fig.update_layout(
        title=dict(text=title, font_size=15),
        height=270,
        margin=dict(l=10, r=10, t=40, b=10),
        xaxis=dict(tickmode="linear", dtick=1, fixedrange=True),
        yaxis=dict(tickmode="linear", dtick=1, autorange="reversed", fixedrange=True),
        font=FONT,
    )
    return fig
