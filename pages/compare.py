"""Compare: 2-4 runs trained in lockstep from the same initial weights and batch order.

One Trainer holds every run (session_state["compare_trainer"]); it advances each run by one
batch per tick, so the curves grow together. All runs share the seed, the architecture and the
data, so they differ only in the per-run settings (activation, optimizer, lr, ...).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable

import pandas as pd
import streamlit as st

from lenet_viz.activations import ACTIVATIONS
from lenet_viz.config import C3_TABLES, MAX_EPOCHS, PRESETS, ConfigError, ModelConfig, TrainConfig
from lenet_viz.data import DataError
from lenet_viz.diagnose import diagnose
from lenet_viz.figures.comparison import short_run_names
from lenet_viz.figures.style import RUN_COLORS
from lenet_viz.runner import Trainer, start_run
from ui.data import DATASET_LABELS, dataset_ready, fetch_hint
from ui.live_panel import progress_panel
from ui.navigation import ensure_app_navigation
from ui.replay_panel import inside_panel
from ui.results import CSV_SETTINGS, csv_text, metrics_rows
from ui.run_controls import pause_resume_stop_buttons
from ui.session_guard import ADOPTED
from ui.state import (
    ACTIVE_STATUSES,
    COMPARE_TRAINER,
    PERSIST,
    default,
    live_fragment,
    live_view,
    replace_trainer,
    status_of,
)
from ui.training_settings import (
    ARCH_DEFAULT_C3,
    BATCH_SIZES,
    RUN_SIZES,
    c3_label,
    learning_rate_input,
    run_size_label,
    set_learning_rate,
)

KEY = "compare_opt_"
NOTICE = "compare_notice"
SEEN_STATUS = "compare_seen_status"
FIGURES = "compare_figures"  # the LiveView of the trainer: its figures, updated at each poll
DIAGNOSES = "compare_diagnoses"  # {(trainer id, run index, status): diagnose(...)} of ended runs
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
RUN_FIELDS = ("activation", "optimizer", "lr", "momentum", "batch_size", "c3")  # per run
RUNS_SHOWN = "compare_runs_shown"  # how many runs the settings had at the last page run
SETTINGS_ARCH = "compare_settings_arch"  # the architecture the per-run settings belong to
ARCH_MEMORY = "compare_arch_memory"  # {arch: every run's settings}, kept across switches
SETUP_PARAM = "setup"  # a shared setup in the URL (see setup_link)
PRESET_PARAM = "preset"
# Named experiments: runs (activation, lr), the recipe they share, and what to notice.
SEED = PRESETS["seed"]
EXPERIMENTS = {
    "notebook": dict(
        label="The notebook's experiment: sigmoid vs ReLU",
        runs=[("sigmoid", SEED["lr"]), ("relu", SEED["lr"])],
        recipe=SEED,
        notice="SGD, learning rate 0.01, momentum 0.5, batch 32, one epoch, as in the notebook "
        "this project grew from. Notice sigmoid stuck near 10 % (a guess) while ReLU climbs; "
        "the gradient-norm chart shows why: sigmoid's first layers get gradients hundreds of "
        "times smaller. Medium or Full size shows it best.",
    ),
    "activations": dict(
        label="Four activations, one recipe",
        runs=[(a, SEED["lr"]) for a in DEFAULT_ACTIVATIONS],
        recipe=SEED,
        notice="sigmoid, ReLU, tanh and GELU with the notebook's recipe. Notice that tanh (centred "
        "on 0) learns where sigmoid does not, and that ReLU and GELU are close.",
    ),
    "learning-rates": dict(
        label="ReLU at three learning rates",
        runs=[("relu", 0.01), ("relu", 0.1), ("relu", 1.0)],
        recipe=dict(optimizer="sgd", momentum=0.9, batch_size=64, epochs=1, resize="pad"),
        notice="The same ReLU net at lr 0.01, 0.1 and 1. Notice lr 1: the first steps are so "
        "big that the ReLUs die (they output 0 for every image) and the loss sits at 2.30, "
        "chance, for good. Too high is worse than too low.",
    ),
}


def run_key(index: int, name: str) -> str:
    return f"{KEY}run{index}_{name}"


def set_defaults() -> None:
    for name, value in SHARED_DEFAULTS.items():
        default(KEY + name, value)
    default(SETTINGS_ARCH, st.session_state[KEY + "arch"])
    default(RUNS_SHOWN, int(st.session_state[KEY + "runs"]))
    for index in range(MAX_RUNS):
        default(run_key(index, "activation"), DEFAULT_ACTIVATIONS[index])
        default(run_key(index, "lr_exact"), 0.01)
        default(run_key(index, "c3"), ARCH_DEFAULT_C3[st.session_state[KEY + "arch"]])
        for name, value in RUN_DEFAULTS.items():
            default(run_key(index, name), value)


def run_values(index: int) -> dict:
    state = st.session_state
    return {
        name: float(state[run_key(index, "lr_exact")])
        if name == "lr"
        else state[run_key(index, name)]
        for name in RUN_FIELDS
    }


def set_run_values(index: int, values: dict) -> None:
    for name, value in values.items():
        if name == "lr":
            set_learning_rate(run_key(index, "lr"), value)
        else:
            st.session_state[run_key(index, name)] = value


def arch_run_defaults(arch: str, index: int) -> dict:
    """Per-run settings that learn on this net: SGD lr 0.01 momentum 0.9 on the modern net;
    the faithful net's fast recipe (Adam, lr 0.002, batch 64) on the faithful one, whose RBF
    loss climbs under SGD at lr 0.01 with momentum 0.9."""
    model = ModelConfig(arch=arch)
    values = {**RUN_DEFAULTS, "lr": 0.01, "c3": model.c3, "activation": DEFAULT_ACTIVATIONS[index]}
    if arch == "faithful":
        recipe = PRESETS["faithful-fast"]
        values.update({k: recipe[k] for k in ("optimizer", "lr", "batch_size")})
        values["activation"] = (model.activation, "tanh", "relu", "sigmoid")[index]
    return values


def on_arch_change() -> None:
    """Each net keeps its own per-run settings: the ones left are remembered, and the net
    chosen gets back the user's earlier choices for it, or its own defaults that learn."""
    state = st.session_state
    arch = state[KEY + "arch"]
    left = state.get(SETTINGS_ARCH) or ("faithful" if arch == "modern" else "modern")
    memory = state.setdefault(ARCH_MEMORY, {})
    if left != arch:
        memory[left] = [run_values(i) for i in range(MAX_RUNS)]
    for index in range(MAX_RUNS):
        remembered = memory.get(arch)
        set_run_values(index, remembered[index] if remembered else arch_run_defaults(arch, index))
    state[SETTINGS_ARCH] = arch


def on_runs_change() -> None:
    """A run added starts as a copy of run 1 (all but its activation): a fair comparison
    changes one thing. (Runs 3 and 4 used to keep their own momentum and batch size.)"""
    state = st.session_state
    before, now = state.get(RUNS_SHOWN, SHARED_DEFAULTS["runs"]), int(state[KEY + "runs"])
    first = run_values(0)
    for index in range(before, now):
        set_run_values(index, {k: v for k, v in first.items() if k != "activation"})
    state[RUNS_SHOWN] = now


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
        on_change=on_runs_change,
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
        dataset=state[KEY + "dataset"],
        epochs=int(state[KEY + "epochs"]),
        seed=int(state[KEY + "seed"]),
        train_limit=train_limit,
        test_limit=test_limit,
    )
    return [
        TrainConfig(
            **shared,
            model=ModelConfig(
                arch=state[KEY + "arch"],
                activation=state[run_key(i, "activation")],
                c3=state[run_key(i, "c3")],
                resize=state[KEY + "resize"],
            ),
            optimizer=state[run_key(i, "optimizer")],
            lr=float(state[run_key(i, "lr_exact")]),
            momentum=float(state[run_key(i, "momentum")]),
            batch_size=int(state[run_key(i, "batch_size")]),
        )
        for i in range(int(state[KEY + "runs"]))
    ]


# ----------------------------------------------------------------------------- controls


def trainer_now() -> Trainer | None:
    return st.session_state.get(COMPARE_TRAINER)


def on_start() -> None:
    try:
        configs = current_configs()
        names = short_run_names([c.to_dict() for c in configs])
        trainer = start_run(configs, names=names)
    except (ConfigError, DataError) as error:
        st.session_state[NOTICE] = ("error", f"Cannot start: {error}")
        return
    replace_trainer(COMPARE_TRAINER, trainer)


def apply_experiment(name: str) -> None:
    """The named experiment's settings: every run (also those not shown) gets its recipe."""
    experiment = EXPERIMENTS[name]
    recipe, runs = experiment["recipe"], experiment["runs"]
    state = st.session_state
    state[KEY + "runs"] = state[RUNS_SHOWN] = len(runs)
    state[KEY + "arch"] = state[SETTINGS_ARCH] = "modern"
    state[KEY + "epochs"] = recipe["epochs"]
    state[KEY + "resize"] = recipe["resize"]
    for index in range(MAX_RUNS):
        activation, lr = runs[min(index, len(runs) - 1)]
        set_run_values(
            index,
            {
                "activation": activation if index < len(runs) else DEFAULT_ACTIVATIONS[index],
                "optimizer": recipe["optimizer"],
                "lr": lr,
                "momentum": recipe["momentum"],
                "batch_size": recipe["batch_size"],
                "c3": ARCH_DEFAULT_C3["modern"],
            },
        )


def on_experiment(name: str) -> None:
    """A preset button: its settings, then Start."""
    apply_experiment(name)
    st.session_state["compare_experiment"] = name
    on_start()


def restore_settings(configs: list[TrainConfig]) -> None:
    """Show these runs' settings (a reattached run, a shared link)."""
    state = st.session_state
    first = configs[0]
    state[KEY + "runs"] = state[RUNS_SHOWN] = len(configs)
    state[KEY + "arch"] = state[SETTINGS_ARCH] = first.model.arch
    state[KEY + "dataset"] = first.dataset
    state[KEY + "epochs"] = first.epochs
    state[KEY + "seed"] = first.seed
    state[KEY + "resize"] = first.model.resize
    size = run_size_label(first.train_limit, first.test_limit)
    if size:
        state[KEY + "size"] = size
    for index, config in enumerate(configs):
        model = config.model
        set_run_values(
            index,
            {
                "activation": model.activation,
                "optimizer": config.optimizer,
                "lr": config.lr,
                "momentum": config.momentum,
                "batch_size": config.batch_size,
                "c3": model.c3,
            },
        )


def setup_link() -> str:
    """The current setup as URL query parameters: `?setup=...` opens it for a whole class."""
    configs = [c.to_dict() for c in current_configs()]
    text = json.dumps(configs, separators=(",", ":"))
    token = base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")
    return f"{SETUP_PARAM}={token}"


def apply_link_setup() -> None:
    """Open the setup or the named experiment a link gives (once; the URL then drops it)."""
    params = st.query_params
    if PRESET_PARAM in params:
        name = params[PRESET_PARAM]
        del params[PRESET_PARAM]
        if name in EXPERIMENTS:
            apply_experiment(name)
            st.session_state["compare_experiment"] = name
            st.session_state[NOTICE] = (
                "info",
                f"Set up from the link: **{EXPERIMENTS[name]['label']}**. "
                "Press **Start all runs**.",
            )
        else:
            st.session_state[NOTICE] = (
                "warning",
                f"The link names an unknown experiment {name!r}; choose one of: "
                f"{', '.join(EXPERIMENTS)}.",
            )
    if SETUP_PARAM in params:
        token = params[SETUP_PARAM]
        del params[SETUP_PARAM]
        try:
            text = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
            configs = [TrainConfig.from_dict(values).validate() for values in json.loads(text)]
            if not 2 <= len(configs) <= MAX_RUNS:
                raise ValueError(f"{len(configs)} runs")
            restore_settings(configs)
        except (ValueError, TypeError, KeyError, AttributeError, ConfigError) as error:
            st.session_state[NOTICE] = (
                "warning",
                f"The link's setup could not be read ({error}); the settings are unchanged.",
            )
            return
        st.session_state[NOTICE] = (
            "info",
            "Set up from the link. Press **Start all runs**.",
        )


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
    "momentum": "{:g}",
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


def with_differing_settings(rows: list[dict], configs: list[TrainConfig]) -> list[dict]:
    """Add every setting that differs between the runs (momentum included) to the summary."""
    values = []
    for config in configs:
        model = config.model
        values.append({**config.to_dict(), "activation": model.activation, "c3": model.c3})
    differing = [key for key in CSV_SETTINGS if len({str(v.get(key)) for v in values}) > 1]
    return [
        {**row, **{key: v.get(key) for key in differing if key not in row}}
        for row, v in zip(rows, values, strict=True)
    ]


def chart_config(name: str) -> dict:
    """Plotly's own toolbar, whose camera button downloads the chart as a PNG named after it."""
    return {"toImageButtonOptions": {"format": "png", "filename": f"lenet5_{name}", "scale": 2}}


def diagnosis_of(trainer: Trainer, index: int):
    """`diagnose` of a finished run, computed once per run and status (it reads the run's
    whole history, which a poll must not copy)."""
    run = trainer.runs[index]
    key = (trainer.id, index, run.status)
    cached = st.session_state.get(DIAGNOSES)
    if cached is None or key not in cached:
        cached = {k: v for k, v in (cached or {}).items() if k[0] == trainer.id}
        cached[key] = diagnose(run.config, run.history_snapshot(), run.final.get("test_acc"))
        st.session_state[DIAGNOSES] = cached
    return cached[key]


def metrics_csv(trainer: Trainer) -> Callable[[], str]:
    """Every run's metrics and settings as CSV text, made when the button is clicked (a poll
    does not copy the runs' whole histories)."""
    runs = [(run.name, run.config, run) for run in trainer.runs]
    return lambda: csv_text(
        metrics_rows([(name, config, run.history_snapshot()) for name, config, run in runs])
    )


def live_panel() -> None:
    trainer = trainer_now()
    if trainer is None:
        st.info(
            "Press **The notebook's experiment** for sigmoid against ReLU, or set up your own "
            "runs above and press **Start all runs**. The curves of all runs grow together."
        )
        return
    trainer.touch()  # this page is open: the runs keep their training slot
    view = live_view(FIGURES, trainer, x_axis(trainer))
    snapshot = view.poll(trainer)
    progress_panel(snapshot, COMPARE_TRAINER, notice=trainer.notice)
    for index, run in enumerate(snapshot.runs):
        if run["status"] in ("diverged", "error"):
            st.error(f"**{run['name']}**: {run['message']}")
        if run["status"] in ("completed", "stopped", "diverged"):
            failed = diagnosis_of(trainer, index)
            if failed is not None:
                st.warning(
                    f"**{run['name']}**: {failed.headline} {failed.cause} "
                    f"({failed.change_label.replace('Try', 'try')} for this run.)",
                    icon=":material/error:",
                )
    st.subheader("Loss and accuracy, all runs")
    st.plotly_chart(
        view.overlay_figure(), key="compare_overlay_chart", config=chart_config("compare_curves")
    )
    st.subheader("Why sigmoid stalls: each layer's gradient norm")
    st.caption(
        "How strongly each layer is told to change, on a log scale. The error signal goes "
        "backwards from the output; every sigmoid multiplies it by at most 1/4, so with "
        "sigmoid the first layers (C1, C3) get gradients hundreds of times smaller than with "
        "ReLU, and barely learn."
    )
    st.plotly_chart(
        view.gradient_norm_figure(),
        key="compare_gradient_chart",
        config=chart_config("compare_gradient_norms"),
    )
    st.subheader("Each run on its own")
    st.plotly_chart(
        view.small_multiples_figure(),
        key="compare_multiples_chart",
        config=chart_config("compare_each_run"),
    )
    st.subheader("Summary")
    configs = [r.config for r in trainer.runs]
    rows = view.summary_rows(snapshot, [c.to_dict() for c in configs])
    st.table(summary_table(with_differing_settings(rows, configs)))
    st.download_button(
        "Download every run's metrics and settings (.csv)",
        icon=":material/download:",
        data=metrics_csv(trainer),
        file_name="lenet5_compare_runs.csv",
        mime="text/csv",
        on_click="ignore",
        key="compare_csv_download",
        help="One row per iteration of each run, with the run's name and all its settings.",
    )
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
if trainer is not None and st.session_state.get(ADOPTED, {}).pop(COMPARE_TRAINER, None):
    restore_settings([run.config for run in trainer.runs])  # a reloaded page: its runs
seen_status = status_of(trainer)  # read once: the page, and how the panel polls
active = seen_status in ACTIVE_STATUSES
st.session_state[SEEN_STATUS] = seen_status
if not active:
    apply_link_setup()
set_defaults()

data_ok = dataset_ready(st.session_state[KEY + "dataset"])
st.markdown("**Experiments** (each sets up the runs and starts them):")
for name, experiment in EXPERIMENTS.items():
    preset_column, text_column = st.columns([1.2, 2])
    preset_column.button(
        experiment["label"],
        key=f"compare_experiment_{name}",
        icon=":material/science:",
        on_click=on_experiment,
        args=(name,),
        disabled=active or not data_ok,
        type="primary" if name == "notebook" else "secondary",
        width="stretch",
    )
    text_column.caption(experiment["notice"])

with st.expander("Settings", expanded=trainer is None):
    if active:
        st.caption("Locked while the runs go on: Stop them to change the settings.")
    shared_settings(disabled=active)
    run_columns = st.columns(MAX_RUNS, gap="medium")
    for index in range(int(st.session_state[KEY + "runs"])):
        with run_columns[index], st.container(border=True):
            run_settings(index, disabled=active)
    st.caption(
        "A link that opens these settings for anyone (a class starts from the same place): "
        "add this to the page's address, after `/compare?`"
    )
    st.code(setup_link(), language=None, wrap_lines=True)
    st.caption(
        "Or name an experiment: `/compare?preset=notebook`, `?preset=activations`, "
        "`?preset=learning-rates`."
    )

if not data_ok:
    st.warning(fetch_hint(st.session_state[KEY + "dataset"]))
control_buttons(seen_status, data_ok)
notice = st.session_state.pop(NOTICE, None)
if notice:
    getattr(st, notice[0])(notice[1])
live_fragment(live_panel, seen_status)
inside_panel(COMPARE_TRAINER, seen_status, "compare")  # kernels, maps, prediction; replay
