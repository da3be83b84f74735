"""The Compare page's settings: what all runs share, what each run sets, and their TrainConfigs."""

from __future__ import annotations

import streamlit as st

from lenet_viz.figures.style import RUN_COLORS
from lenet_viz.nets.config import ModelConfig
from lenet_viz.training.config import PRESETS, TrainConfig
from ui.i18n import N_, _
from ui.library_text import library_text
from ui.runs import settings as widgets
from ui.runs.settings import ARCH_DEFAULT_C3, RUN_SIZES
from ui.state import PERSIST, default

KEY = "compare_opt_"
NOTICE = "compare_notice"
SEEN_STATUS = "compare_seen_status"
FIGURES = "compare_figures"  # the LiveView of the trainer: its figures, updated at each poll
DIAGNOSES = "compare_diagnoses"  # {(trainer id, run index, status): diagnose(...)} of ended runs
MAX_RUNS = 4
NOTEBOOK_ACTIVATIONS = ("sigmoid", "relu")
RESIZE_LABELS = {
    "pad": N_("pad to 32x32 (the paper)"),
    "scale": N_("scale to 32x32 (the notebook)"),
}
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
SETTINGS_OPEN = "compare_settings_open"  # the Settings expander: open or closed
SETTINGS_ARCH = "compare_settings_arch"  # the architecture the per-run settings belong to
ARCH_MEMORY = "compare_arch_memory"  # {arch: every run's settings}, kept across switches
SETUP_PARAM = "setup"  # a shared setup in the URL (see setup_link)
SETUP_WRITTEN = "compare_setup_written"  # the setup token this page last put in the URL
PRESET_PARAM = "preset"
# Named experiments: runs (activation, lr), the recipe they share, the smallest run size that
# shows the lesson (a smaller one chosen is raised to it; measured by
# scripts/experiment_sizes.py: at Quick, the notebook's sigmoid and ReLU both end near chance,
# 9.9 % and 15.1 %, at Medium 11.7 % and 80.2 %), and what to notice.
SEED = PRESETS["seed"]
EXPERIMENTS = {
    "notebook": dict(
        label=N_("The notebook's experiment: sigmoid vs ReLU"),
        runs=[("sigmoid", SEED["lr"]), ("relu", SEED["lr"])],
        recipe=SEED,
        min_size="Medium: 10,000 images",
        notice=N_(
            "SGD, learning rate 0.01, momentum 0.5, batch 32, one epoch, as in the notebook "
            "this project grew from. Notice sigmoid stuck near 10 % (a guess) while ReLU climbs; "
            "the gradient-norm chart shows why: sigmoid's first layers get gradients hundreds "
            "of times smaller. It runs at the Medium size or larger: at Quick, ReLU has not "
            "learned yet either."
        ),
    ),
    "activations": dict(
        label=N_("Four activations, one recipe"),
        runs=[(a, SEED["lr"]) for a in DEFAULT_ACTIVATIONS],
        recipe=SEED,
        min_size="Medium: 10,000 images",
        notice=N_(
            "sigmoid, ReLU, tanh and GELU with the notebook's recipe. Notice that tanh (centred "
            "on 0) learns where sigmoid does not, and that ReLU and GELU are close."
        ),
    ),
    "learning-rates": dict(
        label=N_("ReLU at three learning rates"),
        runs=[("relu", 0.01), ("relu", 0.1), ("relu", 1.0)],
        recipe=dict(optimizer="sgd", momentum=0.9, batch_size=64, epochs=1, resize="pad"),
        min_size="Medium: 10,000 images",
        notice=N_(
            "The same ReLU net at lr 0.01, 0.1 and 1. Notice lr 1: the first steps are so "
            "big that the ReLUs die (they output 0 for every image) and the loss sits at 2.30, "
            "chance, for good. Too high is worse than too low."
        ),
    ),
}


def experiment_size(name: str, chosen: str) -> str:
    """The run size an experiment runs at: the one chosen, or its smallest that shows its
    lesson if the one chosen is smaller (RUN_SIZES go from small to large)."""
    sizes = list(RUN_SIZES)
    smallest = EXPERIMENTS[name]["min_size"]
    return max(chosen, smallest, key=sizes.index)


def experiment_configs(name: str, size: str) -> list[TrainConfig]:
    """The runs of a named experiment at this run size, as its button sets them (on the
    modern net, with the page's default dataset and seed)."""
    experiment = EXPERIMENTS[name]
    recipe = experiment["recipe"]
    train_limit, test_limit = RUN_SIZES[size]
    return [
        TrainConfig(
            model=ModelConfig(arch="modern", activation=activation, resize=recipe["resize"]),
            dataset=SHARED_DEFAULTS["dataset"],
            optimizer=recipe["optimizer"],
            lr=lr,
            momentum=recipe["momentum"],
            batch_size=recipe["batch_size"],
            epochs=recipe["epochs"],
            seed=SHARED_DEFAULTS["seed"],
            train_limit=train_limit,
            test_limit=test_limit,
        )
        for activation, lr in experiment["runs"]
    ]


def experiment_label(name: str) -> str:
    """The experiment's button label, in English (the catalog's key: `_()` shows it)."""
    return EXPERIMENTS[name]["label"]


def experiment_notice(name: str) -> str:
    """What to notice in the experiment, in English (`_()` shows it)."""
    return EXPERIMENTS[name]["notice"]


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
            widgets.set_learning_rate(run_key(index, "lr"), value)
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
    widgets.dataset_radio(KEY + "dataset", disabled, where=columns[0])
    columns[1].radio(
        _("Architecture"),
        ["modern", "faithful"],
        key=KEY + "arch",
        format_func=library_text,
        on_change=on_arch_change,
        disabled=disabled,
        persist_state=PERSIST,
        help=_("Shared by every run, so that they all start from the same weights."),
    )
    widgets.epochs_input(KEY + "epochs", disabled, where=columns[2])
    widgets.seed_input(
        KEY + "seed",
        disabled,
        _("One seed for all runs: the same initial weights and the same batch order."),
        where=columns[2],
    )
    columns[3].radio(
        _("Number of runs"),
        list(range(2, MAX_RUNS + 1)),
        key=KEY + "runs",
        on_change=on_runs_change,
        horizontal=True,
        disabled=disabled,
        persist_state=PERSIST,
    )
    widgets.run_size_select(KEY + "size", disabled, where=columns[3])
    columns[4].radio(
        _("28x28 digits to the 32x32 input"),
        list(RESIZE_LABELS),
        key=KEY + "resize",
        format_func=lambda resize: _(RESIZE_LABELS[resize]),
        disabled=disabled,
        persist_state=PERSIST,
    )


def run_settings(index: int, disabled: bool) -> None:
    color = RUN_COLORS[index % len(RUN_COLORS)]
    st.markdown(
        f"<span style='color:{color};font-size:1.3em'>●</span> **"
        + _("Run {number}").format(number=index + 1)
        + "**",
        unsafe_allow_html=True,
    )
    widgets.activation_select(run_key(index, "activation"), disabled)
    widgets.optimizer_select(run_key(index, "optimizer"), ["sgd", "adam"], disabled)
    widgets.learning_rate_input(run_key(index, "lr"), 0.01, disabled=disabled)
    optimizer = st.session_state[run_key(index, "optimizer")]
    widgets.momentum_slider(run_key(index, "momentum"), optimizer, disabled)
    widgets.batch_size_slider(run_key(index, "batch_size"), disabled)
    widgets.c3_select(
        run_key(index, "c3"),
        st.session_state[KEY + "arch"],
        disabled,
        _("All six S2 maps, or the paper's Table I: compare what the table does."),
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
