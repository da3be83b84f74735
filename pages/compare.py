"""Compare: 2-4 runs trained in lockstep from the same initial weights and batch order.

One Trainer holds every run (session_state["compare_trainer"]); it advances each run by one
batch per tick, so the curves grow together. All runs share the seed, the architecture and the
data, so they differ only in the per-run settings (activation, optimizer, lr, ...).
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from lenet_viz.activations import ACTIVATIONS
from lenet_viz.data import DataError
from lenet_viz.figures.training import RUN_COLORS, short_run_names
from lenet_viz.model import C3_TABLES
from lenet_viz.train import MAX_EPOCHS, PRESETS, ConfigError, TrainConfig, Trainer
from pages.common import (
    ACTIVE_STATUSES,
    ARCH_DEFAULT_C3,
    BATCH_SIZES,
    COMPARE_TRAINER,
    DATASET_LABELS,
    PERSIST,
    RUN_SIZES,
    c3_label,
    dataset_ready,
    default,
    fetch_hint,
    learning_rate_input,
    live_fragment,
    live_view,
    new_trainer,
    pause_resume_stop_buttons,
    progress_panel,
    replace_trainer,
    status_of,
)
from pages.models_ui import ensure_app_navigation

KEY = "compare_opt_"
NOTICE = "compare_notice"
SEEN_STATUS = "compare_seen_status"
FIGURES = "compare_figures"  # the LiveView of the trainer: its figures, updated at each poll
MAX_RUNS = 4
NOTEBOOK_ACTIVATIONS = ("sigmoid", "relu")
RESIZE_LABELS = {"pad": "pad to 32x32 (the paper)", "scale": "scale to 32x32 (the notebook)"}
SHARED_DEFAULTS = {
    "runs": 2,
    "dataset": "mnist",
    "arch": "modern",
    "epochs": 1,
    "seed": 0,
    "resize": "pad",
    "size": "Medium: 10,000 images",
}
RUN_DEFAULTS = {"optimizer": "sgd", "momentum": 0.9, "batch_size": 64}
DEFAULT_ACTIVATIONS = ("sigmoid", "relu", "tanh", "gelu")


def run_key(index: int, name: str) -> str:
    return f"{KEY}run{index}_{name}"


def set_defaults() -> None:
    for name, value in SHARED_DEFAULTS.items():
        default(KEY + name, value)
    for index in range(MAX_RUNS):
        default(run_key(index, "activation"), DEFAULT_ACTIVATIONS[index])
        default(run_key(index, "lr_exact"), 0.01)
        default(run_key(index, "c3"), ARCH_DEFAULT_C3[st.session_state[KEY + "arch"]])
        for name, value in RUN_DEFAULTS.items():
            default(run_key(index, name), value)


def on_arch_change() -> None:
    """Every run starts from the new architecture's own C3 table."""
    for index in range(MAX_RUNS):
        st.session_state[run_key(index, "c3")] = ARCH_DEFAULT_C3[st.session_state[KEY + "arch"]]


def shared_settings(disabled: bool) -> None:
    columns = st.columns([1.2, 1, 1, 1, 1.3])
    columns[0].radio(
        "Dataset",
        list(DATASET_LABELS),
        key=KEY + "dataset",
        format_func=DATASET_LABELS.get,
        disabled=disabled,
        persist_state=PERSIST,
    )
    columns[1].radio(
        "Architecture",
        ["modern", "faithful"],
        key=KEY + "arch",
        on_change=on_arch_change,
        disabled=disabled,
        persist_state=PERSIST,
        help="Shared by every run, so that they all start from the same weights.",
    )
    columns[2].number_input(
        f"Epochs (1-{MAX_EPOCHS})",
        min_value=1,
        max_value=MAX_EPOCHS,
        step=1,
        key=KEY + "epochs",
        disabled=disabled,
        persist_state=PERSIST,
    )
    columns[2].number_input(
        "Seed",
        min_value=0,
        max_value=2**31 - 1,
        step=1,
        key=KEY + "seed",
        disabled=disabled,
        persist_state=PERSIST,
        help="One seed for all runs: the same initial weights and the same batch order.",
    )
    columns[3].radio(
        "Number of runs",
        list(range(2, MAX_RUNS + 1)),
        key=KEY + "runs",
        horizontal=True,
        disabled=disabled,
        persist_state=PERSIST,
    )
    columns[3].selectbox(
        "Run size",
        list(RUN_SIZES),
        key=KEY + "size",
        disabled=disabled,
        persist_state=PERSIST,
    )
    columns[4].radio(
        "28x28 digits to the 32x32 input",
        list(RESIZE_LABELS),
        key=KEY + "resize",
        format_func=RESIZE_LABELS.get,
        disabled=disabled,
        persist_state=PERSIST,
    )


def run_settings(index: int, disabled: bool) -> None:
    color = RUN_COLORS[index % len(RUN_COLORS)]
    st.markdown(
        f"<span style='color:{color};font-size:1.3em'>●</span> **Run {index + 1}**",
        unsafe_allow_html=True,
    )
    st.selectbox(
        "Activation",
        list(ACTIVATIONS),
        key=run_key(index, "activation"),
        disabled=disabled,
        persist_state=PERSIST,
    )
    st.selectbox(
        "Optimizer",
        ["sgd", "adam"],
        key=run_key(index, "optimizer"),
        disabled=disabled,
        persist_state=PERSIST,
    )
    learning_rate_input(run_key(index, "lr"), 0.01, disabled=disabled)
    st.slider(
        "Momentum (SGD)",
        0.0,
        0.99,
        step=0.01,
        key=run_key(index, "momentum"),
        disabled=disabled or st.session_state[run_key(index, "optimizer")] != "sgd",
        persist_state=PERSIST,
    )
    st.select_slider(
        "Batch size",
        BATCH_SIZES,
        key=run_key(index, "batch_size"),
        disabled=disabled,
        persist_state=PERSIST,
    )
    arch = st.session_state[KEY + "arch"]
    st.selectbox(
        "C3 connections",
        list(C3_TABLES),
        key=run_key(index, "c3"),
        format_func=lambda table: c3_label(arch, table),
        disabled=disabled,
        persist_state=PERSIST,
        help="All six S2 maps, or the paper's Table I: compare what the table does.",
    )


def current_configs() -> list[TrainConfig]:
    """One TrainConfig per run, from the widgets (not validated: Start reports what is wrong)."""
    state = st.session_state
    train_limit, test_limit = RUN_SIZES[state[KEY + "size"]]
    shared = dict(
        arch=state[KEY + "arch"],
        dataset=state[KEY + "dataset"],
        epochs=int(state[KEY + "epochs"]),
        seed=int(state[KEY + "seed"]),
        resize=state[KEY + "resize"],
        train_limit=train_limit,
        test_limit=test_limit,
    )
    return [
        TrainConfig(
            **shared,
            activation=state[run_key(i, "activation")],
            optimizer=state[run_key(i, "optimizer")],
            lr=float(state[run_key(i, "lr_exact")]),
            momentum=float(state[run_key(i, "momentum")]),
            batch_size=int(state[run_key(i, "batch_size")]),
            c3=state[run_key(i, "c3")],
        )
        for i in range(int(state[KEY + "runs"]))
    ]


# ----------------------------------------------------------------------------- controls


def trainer_now() -> Trainer | None:
    return st.session_state.get(COMPARE_TRAINER)


def on_start() -> None:
    configs = current_configs()
    try:
        trainer = new_trainer(configs, names=short_run_names([c.to_dict() for c in configs]))
    except (ConfigError, DataError) as error:
        st.session_state[NOTICE] = ("error", f"Cannot start: {error}")
        return
    replace_trainer(COMPARE_TRAINER, trainer)
    trainer.start()


def on_notebook_preset() -> None:
    """The notebook's experiment: sigmoid against ReLU with its recipe (PRESETS["seed"])."""
    recipe = PRESETS["seed"]
    state = st.session_state
    state[KEY + "runs"] = len(NOTEBOOK_ACTIVATIONS)
    state[KEY + "arch"] = "modern"
    state[KEY + "epochs"] = recipe["epochs"]
    state[KEY + "resize"] = recipe["resize"]
    for index, activation in enumerate(NOTEBOOK_ACTIVATIONS):
        state[run_key(index, "activation")] = activation
        state[run_key(index, "optimizer")] = recipe["optimizer"]
        state[run_key(index, "lr_exact")] = recipe["lr"]
        state[run_key(index, "lr_slider")] = recipe["lr"]
        state[run_key(index, "momentum")] = recipe["momentum"]
        state[run_key(index, "batch_size")] = recipe["batch_size"]
        state[run_key(index, "c3")] = ARCH_DEFAULT_C3["modern"]
    on_start()


def control_buttons(status: str | None, data_ok: bool) -> None:
    """The run buttons, enabled by the status the page was drawn with (None: no trainer)."""
    active = status in ACTIVE_STATUSES
    row = st.container(horizontal=True)
    row.button(
        "Start all runs",
        icon=":material/play_arrow:",
        type="primary",
        on_click=on_start,
        disabled=active or not data_ok,
    )
    pause_resume_stop_buttons(row, COMPARE_TRAINER, status)


# ----------------------------------------------------------------------------- live panel

SUMMARY_FORMATS = {
    "lr": "{:g}",
    "train loss (smoothed)": "{:.3f}",
    "train accuracy % (smoothed)": "{:.1f}",
    "test accuracy %": "{:.2f}",
    "C1 gradient norm (last 10%)": "{:.1e}",
}


def summary_table(rows: list[dict]) -> pd.DataFrame:
    """The summary as text, most telling columns first (a static table reads well projected)."""
    first = ["run", "test accuracy %", "train accuracy % (smoothed)", "train loss (smoothed)"]
    table = pd.DataFrame(rows)
    table = table[first + [c for c in table.columns if c not in first]]
    for column, template in SUMMARY_FORMATS.items():
        if column in table:
            table[column] = [
                "–" if value is None or pd.isna(value) else template.format(value)
                for value in table[column]
            ]
    return table.set_index("run")


def x_axis(trainer: Trainer) -> str:
    """Iterations, or epochs when the runs' batch sizes differ (their iterations do not align)."""
    same_batches = len({r.config.batch_size for r in trainer.runs}) == 1
    return "iteration" if same_batches else "epoch"


def live_panel() -> None:
    trainer = trainer_now()
    if trainer is None:
        st.info(
            "Press **The notebook's experiment** for sigmoid against ReLU, or set up your own "
            "runs above and press **Start all runs**. The curves of all runs grow together."
        )
        return
    view = live_view(FIGURES, trainer, x_axis(trainer))
    snapshot = view.poll(trainer)
    progress_panel(snapshot, COMPARE_TRAINER)
    for run in snapshot.runs:
        if run["status"] in ("diverged", "error"):
            st.error(f"**{run['name']}**: {run['message']}")
    st.subheader("Loss and accuracy, all runs")
    st.plotly_chart(view.overlay_figure(), key="compare_overlay_chart")
    st.subheader("Why sigmoid stalls: each layer's gradient norm")
    st.caption(
        "How strongly each layer is told to change, on a log scale. The error signal goes "
        "backwards from the output; every sigmoid multiplies it by at most 1/4, so with "
        "sigmoid the first layers (C1, C3) get gradients hundreds of times smaller than with "
        "ReLU, and barely learn."
    )
    st.plotly_chart(view.gradient_norm_figure(), key="compare_gradient_chart")
    st.subheader("Each run on its own")
    st.plotly_chart(view.small_multiples_figure(), key="compare_multiples_chart")
    st.subheader("Summary")
    rows = view.summary_rows(snapshot, [r.config.to_dict() for r in trainer.runs])
    st.table(summary_table(rows))
    if snapshot.status != st.session_state.get(SEEN_STATUS):
        st.rerun()


# ----------------------------------------------------------------------------- the page

ensure_app_navigation()  # a deep link on a fresh server: rerun through app.py
st.title("Compare runs side by side")
st.markdown(
    "Every run starts from **the same initial weights** and sees **the same batches in the "
    "same order**: only the settings you change differ. They train in lockstep, one batch "
    "each in turn, so their curves grow together."
)
trainer = trainer_now()
seen_status = status_of(trainer)  # read once: the page, and how the panel polls
active = seen_status in ACTIVE_STATUSES
st.session_state[SEEN_STATUS] = seen_status
set_defaults()

preset_column, text_column = st.columns([1.2, 2])
data_ok = dataset_ready(st.session_state[KEY + "dataset"])
preset_column.button(
    "The notebook's experiment: sigmoid vs ReLU",
    icon=":material/science:",
    on_click=on_notebook_preset,
    disabled=active or not data_ok,
    type="primary",
    width="stretch",
)
text_column.caption(
    "SGD, learning rate 0.01, momentum 0.5, batch 32, one epoch, as in the notebook this "
    "project grew from. Watch sigmoid stay stuck near 10 % (a guess) while ReLU climbs. "
    "It uses the run size chosen in the settings: Medium or Full shows it best (with fewer "
    "images, ReLU has no time to climb either)."
)

with st.expander("Settings", expanded=trainer is None):
    if active:
        st.caption("Locked while the runs go on: Stop them to change the settings.")
    shared_settings(disabled=active)
    run_columns = st.columns(MAX_RUNS, gap="medium")
    for index in range(int(st.session_state[KEY + "runs"])):
        with run_columns[index], st.container(border=True):
            run_settings(index, disabled=active)

if not data_ok:
    st.warning(fetch_hint(st.session_state[KEY + "dataset"]))
control_buttons(seen_status, data_ok)
notice = st.session_state.pop(NOTICE, None)
if notice:
    getattr(st, notice[0])(notice[1])
live_fragment(live_panel, seen_status)
