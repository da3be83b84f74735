"""The training-settings widgets the Train and Compare pages share, and their choices."""

from __future__ import annotations

import math

import streamlit as st

from lenet_viz.nets.activations import ACTIVATIONS
from lenet_viz.nets.build import build_model
from lenet_viz.nets.config import C3_TABLES, ModelConfig
from lenet_viz.training.config import MAX_EPOCHS
from ui.cached_data import DATASET_LABELS
from ui.i18n import N_, _
from ui.state import PERSIST, default

# Learning rates on the log-scale slider; the exact entry accepts any other value.
LR_CHOICES = (
    1e-5, 2e-5, 5e-5, 1e-4, 2e-4, 5e-4, 1e-3, 2e-3, 5e-3, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0
)  # fmt: skip
BATCH_SIZES = (1, 8, 16, 32, 64, 128, 256, 512, 1024)
# Quick runs for a classroom: (training images, test images). None means the whole split.
RUN_SIZES = {  # the labels are the widget's values, shown through format_func=_
    N_("Tiny: 500 images"): (500, 250),
    N_("Quick: 2,000 images"): (2_000, 1_000),
    N_("Medium: 10,000 images"): (10_000, 2_000),
    N_("Full: 60,000 images"): (None, None),
}

C3_LABELS = {"full": N_("Full"), "paper": N_("Paper's Table I")}
POOLING_LABELS = {"max": N_("max"), "avg": N_("average")}
ARCH_DEFAULT_C3 = {arch: ModelConfig(arch=arch).c3 for arch in ("modern", "faithful")}


@st.cache_resource(show_spinner=False)
def c3_parameters(arch: str, c3: str) -> int:
    """C3's trainable parameters in this net with this table, counted from the modules."""
    model = build_model(ModelConfig(arch=arch, c3=c3))
    return next(layer.params for layer in model.layer_summary() if layer.name == "C3")


def c3_label(arch: str, c3: str) -> str:
    """E.g. "Paper's Table I (1,516 parameters)": the count moves with the table."""
    return _("{table} ({count} parameters)").format(
        table=_(C3_LABELS[c3]), count=f"{c3_parameters(arch, c3):,}"
    )


def nearest_lr_choice(value: float) -> float:
    """The slider position closest to `value` on a log scale (the smallest for lr <= 0)."""
    if not isinstance(value, int | float) or not math.isfinite(value) or value <= 0:
        return LR_CHOICES[0]
    return min(LR_CHOICES, key=lambda choice: abs(math.log10(choice) - math.log10(value)))


def set_learning_rate(key: str, value: float) -> None:
    """Set the learning rate of `learning_rate_input(key, ...)` (its exact entry and slider)."""
    st.session_state[f"{key}_exact"] = float(value)
    st.session_state[f"{key}_slider"] = nearest_lr_choice(value)


def run_size_label(train_limit: int | None, test_limit: int | None) -> str | None:
    """The RUN_SIZES label of these limits (None if no size matches)."""
    return next((k for k, v in RUN_SIZES.items() if v == (train_limit, test_limit)), None)


def learning_rate_input(key: str, initial: float, disabled: bool = False) -> float:
    """A log-scale slider plus an exact number entry for one learning rate.

    The exact entry (session_state[f"{key}_exact"]) is the one source of truth: moving the
    slider writes its value there, and typing a value moves the slider to the nearest choice.
    """
    exact_key, slider_key = f"{key}_exact", f"{key}_slider"
    default(exact_key, float(initial))
    default(slider_key, nearest_lr_choice(st.session_state[exact_key]))

    def from_slider() -> None:
        st.session_state[exact_key] = float(st.session_state[slider_key])

    def from_exact() -> None:
        st.session_state[slider_key] = nearest_lr_choice(st.session_state[exact_key])

    st.select_slider(
        _("Learning rate (log scale)"),
        options=LR_CHOICES,
        key=slider_key,
        on_change=from_slider,
        format_func=lambda v: f"{v:g}",
        disabled=disabled,
        persist_state=PERSIST,
        help=_(
            "How big a step the optimizer takes. Too small: slow. Too large: the loss explodes."
        ),
    )
    st.number_input(
        _("Learning rate, exact"),
        key=exact_key,
        step=0.001,
        format="%g",
        on_change=from_exact,
        disabled=disabled,
        persist_state=PERSIST,
        help=_("Type any value; the slider above follows. It must be positive."),
    )
    return float(st.session_state[exact_key])


# ----------------------------------------------------------------------------- widgets
# Each draws one setting into `where` (the page, or a column), keyed by the page's `key`: the
# Train page draws one of each, the Compare page the shared ones once and the others per run.


def dataset_radio(key: str, disabled: bool, horizontal: bool = False, where=st) -> None:
    where.radio(
        _("Dataset"),
        list(DATASET_LABELS),
        key=key,
        format_func=lambda dataset: _(DATASET_LABELS[dataset]),
        horizontal=horizontal,
        disabled=disabled,
        persist_state=PERSIST,
    )


def epochs_input(key: str, disabled: bool, help: str | None = None, where=st) -> None:
    where.number_input(
        _("Epochs (1-{max_epochs})").format(max_epochs=MAX_EPOCHS),
        min_value=1,
        max_value=MAX_EPOCHS,
        step=1,
        key=key,
        disabled=disabled,
        persist_state=PERSIST,
        help=help,
    )


def seed_input(key: str, disabled: bool, help: str, where=st) -> None:
    where.number_input(
        _("Seed"),
        min_value=0,
        max_value=2**31 - 1,
        step=1,
        key=key,
        disabled=disabled,
        persist_state=PERSIST,
        help=help,
    )


def run_size_select(key: str, disabled: bool, help: str | None = None, where=st) -> None:
    where.selectbox(
        _("Run size"),
        list(RUN_SIZES),
        key=key,
        format_func=_,
        disabled=disabled,
        persist_state=PERSIST,
        help=help,
    )


def activation_select(key: str, disabled: bool, help: str | None = None) -> None:
    st.selectbox(
        _("Activation"),
        list(ACTIVATIONS),
        key=key,
        disabled=disabled,
        persist_state=PERSIST,
        help=help,
    )


def optimizer_select(key: str, choices: list[str], disabled: bool, format_func=str) -> None:
    st.selectbox(
        _("Optimizer"),
        choices,
        key=key,
        format_func=format_func,
        disabled=disabled,
        persist_state=PERSIST,
    )


def momentum_slider(key: str, optimizer: str, disabled: bool, help: str | None = None) -> None:
    """SGD's momentum, off unless `optimizer` (the run's chosen optimizer) is SGD."""
    st.slider(
        _("Momentum (SGD)"),
        0.0,
        0.99,
        step=0.01,
        key=key,
        disabled=disabled or optimizer != "sgd",
        persist_state=PERSIST,
        help=help,
    )


def batch_size_slider(key: str, disabled: bool, help: str | None = None) -> None:
    st.select_slider(
        _("Batch size"), BATCH_SIZES, key=key, disabled=disabled, persist_state=PERSIST, help=help
    )


def c3_select(key: str, arch: str, disabled: bool, help: str) -> None:
    """The S2->C3 connection table, each labelled with C3's parameter count in this net."""
    st.selectbox(
        _("C3 connections"),
        list(C3_TABLES),
        key=key,
        format_func=lambda table: c3_label(arch, table),
        disabled=disabled,
        persist_state=PERSIST,
        help=help,
    )
