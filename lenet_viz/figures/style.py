"""The look every training figure shares: colours, font size, layout."""

from __future__ import annotations

import plotly.graph_objects as go

# Okabe-Ito: colour-blind-safe, and distinct on a classroom projector. Runs 1 and 2 (the
# notebook's sigmoid and ReLU) are blue and vermillion, never red and green: they stay far
# apart under protanopia, deuteranopia and tritanopia (tests/test_figures_style.py simulates
# them), though not in greyscale, where the dashes below tell them apart.
RUN_COLORS = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9")
# And each run's own line pattern, so that no run is told apart by colour alone.
RUN_DASHES = ("solid", "dash", "dot", "dashdot", "longdash", "longdashdot")
# The gradient-norm chart's layers: a dark-to-light scale from the input to the output, plus
# dashes, so that no layer looks like a run (RUN_COLORS) in the charts beside it.
GRADIENT_LAYER_STYLE = {
    "C1": ("#1b0c41", "solid"),
    "S2": ("#4a0c6b", "dot"),
    "C3": ("#781c6d", "dash"),
    "S4": ("#a52c60", "dot"),
    "C5": ("#cf4446", "dashdot"),
    "F6": ("#ed6925", "longdash"),
    "output": ("#a88f00", "solid"),
}
LAYER_COLORS = {
    "C1": "#D55E00",
    "S2": "#E69F00",
    "C3": "#CC79A7",
    "S4": "#F0E442",
    "C5": "#009E73",
    "F6": "#56B4E9",
    "output": "#0072B2",
}
FONT_SIZE = 15
# A strip at the top of every chart kept free for the chart's toolbar (Plotly's download button,
# drawn over the chart's top right corner when the pointer is on it): the title, subplot titles
# and legend start below it, so the toolbar never covers them, even on a phone.
TOOLBAR_ROOM = 32
TITLE_ROOM = 26
PLOTLY_DEFAULT_HEIGHT = 450


def style(fig: go.Figure, height: int, legend: bool = True) -> go.Figure:
    """The shared look: the toolbar's strip on top, then the title (if any) on a line of its own
    at the left, then the legend at the right above the plot."""
    fig.update_layout(
        height=height,
        margin=dict(l=10, r=10, t=50, b=10),
        font=dict(size=FONT_SIZE),
        legend=dict(orientation="h", yanchor="bottom", y=1.08, xanchor="right", x=1),
        showlegend=legend,
        hovermode="x unified",
        template="plotly_white",
    )
    fig.update_annotations(font_size=FONT_SIZE + 1)  # subplot titles
    return room_for_the_toolbar(fig)


def room_for_the_toolbar(fig: go.Figure) -> go.Figure:
    """Add the toolbar's strip above everything the figure has on top, and put its title (if
    any) on a line of its own under the strip, at the left."""
    room = TOOLBAR_ROOM + (TITLE_ROOM if fig.layout.title.text else 0)
    fig.update_layout(
        height=(fig.layout.height or PLOTLY_DEFAULT_HEIGHT) + room,
        margin_t=(fig.layout.margin.t if fig.layout.margin.t is not None else 100) + room,
    )
    if fig.layout.title.text:
        fig.update_layout(
            title=dict(
                x=0, xanchor="left", yref="container", y=1, yanchor="top", pad_t=TOOLBAR_ROOM + 6
            )
        )
    return fig
