"""Plotly figures of a run trained the paper's way (SDLM), from its per-pass records.

A pass record is one entry of `History.epochs` (also stored as "passes" in a checkpoint's
metadata): "epoch", "test_acc", "train_acc" (the running accuracy during the pass) and, from
an SDLM run on the pattern path (`lenet_viz.training.pattern_steps`), "train_set_acc" (the whole
training
set after the pass) and "step_sizes" ({layer: [min, median, max] of eps_k}).

- `figure5_comparison`: training and test error per pass beside the paper's Figure 5
  (LeCun et al. 1998, p.10): test error 0.95% from about pass 10 on, training error 0.35%
  after 19 passes.
- `step_size_figure`: the effective learning rates eps_k = eta / (mu + h_kk) per layer, each
  pass's median with its min-max band, on a log scale.
"""

from __future__ import annotations

from collections.abc import Sequence

import plotly.graph_objects as go

from lenet_viz.figures.style import FONT_SIZE, LAYER_COLORS, room_for_the_toolbar

# p.10 and Fig. 5: "the test error rate stabilizes after around 10 passes through the training
# set at 0.95%. The error rate on the training set reaches 0.35% after 19 passes."
PAPER_TEST_ERROR = 0.95  # percent, from about pass 10 on
PAPER_TEST_STABLE_FROM = 10
PAPER_TRAIN_ERROR = 0.35  # percent, after pass 19
PAPER_TRAIN_PASS = 19
# p.10: "effective learning rates during the first pass varied between approximately 7e-5 and
# 0.016"
PAPER_FIRST_PASS_STEP_SIZES = (7e-5, 0.016)


def error_per_pass(passes: Sequence[dict]) -> dict[str, list]:
    """Percent errors per pass: "pass", "test", "train" (whole training set after the pass
    where recorded, else the running error during the pass) and "train_kind"."""
    whole = all("train_set_acc" in record for record in passes)
    key = "train_set_acc" if whole else "train_acc"
    return {
        "pass": [int(record["epoch"]) for record in passes],
        "test": [100.0 * (1.0 - record["test_acc"]) for record in passes],
        "train": [100.0 * (1.0 - record[key]) for record in passes],
        "train_kind": "training set after the pass" if whole else "running, during the pass",
    }


def figure5_comparison(passes: Sequence[dict], title: str = "This run") -> go.Figure:
    """Training and test error per pass, with the paper's Figure 5 results overlaid."""
    errors = error_per_pass(passes)
    fig = go.Figure()
    fig.add_scatter(
        x=errors["pass"],
        y=errors["test"],
        mode="lines+markers",
        name=f"{title}: test error",
        line={"color": "#D55E00", "width": 3},
    )
    fig.add_scatter(
        x=errors["pass"],
        y=errors["train"],
        mode="lines+markers",
        name=f"{title}: training error ({errors['train_kind']})",
        line={"color": "#0072B2", "width": 3},
    )
    last = max([PAPER_TRAIN_PASS + 1, *errors["pass"]])
    fig.add_scatter(
        x=[PAPER_TEST_STABLE_FROM, last],
        y=[PAPER_TEST_ERROR, PAPER_TEST_ERROR],
        mode="lines",
        name=f"paper: test error {PAPER_TEST_ERROR}% from about pass {PAPER_TEST_STABLE_FROM}",
        line={"color": "#D55E00", "dash": "dash", "width": 2},
    )
    fig.add_scatter(
        x=[PAPER_TRAIN_PASS],
        y=[PAPER_TRAIN_ERROR],
        mode="markers",
        name=f"paper: training error {PAPER_TRAIN_ERROR}% after pass {PAPER_TRAIN_PASS}",
        marker={"color": "#0072B2", "symbol": "star", "size": 16},
    )
    fig.update_layout(
        title="Error per pass, beside the paper's Figure 5",
        xaxis_title="pass through the 60,000 training digits",
        yaxis_title="error (%)",
        yaxis={"rangemode": "tozero"},
        font={"size": FONT_SIZE},
        legend={"orientation": "h", "y": -0.25},
        margin={"t": 30},
    )
    return room_for_the_toolbar(fig)


def step_size_figure(passes: Sequence[dict]) -> go.Figure:
    """eps_k per layer and pass: the median as a line, min to max as a band (log scale)."""
    recorded = [record for record in passes if record.get("step_sizes")]
    if not recorded:
        raise ValueError("these passes record no SDLM step sizes (train with --optimizer sdlm)")
    layers = list(recorded[0]["step_sizes"])
    fig = go.Figure()
    for layer in layers:
        x = [int(record["epoch"]) for record in recorded]
        low, median, high = zip(*(record["step_sizes"][layer] for record in recorded), strict=True)
        color = LAYER_COLORS.get(layer, "#777777")
        fig.add_scatter(
            x=x + x[::-1],
            y=list(high) + list(low)[::-1],
            fill="toself",
            fillcolor=color,
            opacity=0.18,
            line={"width": 0},
            hoverinfo="skip",
            showlegend=False,
            legendgroup=layer,
        )
        fig.add_scatter(
            x=x,
            y=list(median),
            mode="lines+markers",
            name=f"{layer} (median; band: min to max)",
            line={"color": color, "width": 3},
            legendgroup=layer,
            customdata=list(zip(low, high, strict=True)),
            hovertemplate=f"{layer} pass %{{x}}: median %{{y:.2g}}, "
            "min %{customdata[0]:.2g}, max %{customdata[1]:.2g}<extra></extra>",
        )
    low, high = PAPER_FIRST_PASS_STEP_SIZES
    fig.add_scatter(
        x=[1, 1],
        y=[low, high],
        mode="lines+markers",
        name=f"paper, pass 1: {low:g} to {high:g}",
        line={"color": "black", "width": 4},
        marker={"symbol": "line-ew-open", "size": 18},
    )
    fig.update_layout(
        title="Effective learning rates eps_k = eta / (mu + h_kk), per layer",
        xaxis_title="pass",
        yaxis_title="eps_k",
        yaxis_type="log",
        font={"size": FONT_SIZE},
        legend={"orientation": "h", "y": -0.25},
        margin={"t": 30},
    )
    return room_for_the_toolbar(fig)
