"""Helpers shared by the pages: session keys, cached data, the training controls and live panel.

Pages import them as `from pages.common import ...` (app.py's folder is on sys.path).
Everything here is UI glue; the logic lives in `lenet_viz`.
"""

from __future__ import annotations

import csv
import io
import math
import time
import weakref
from collections.abc import Callable

import streamlit as st

from lenet_viz.data import DATASETS, DataError, Split, data_available, load_split
from lenet_viz.live import LiveView
from lenet_viz.model import ModelConfig, build_model
from lenet_viz.train import RUN_SLOTS, TrainConfig, Trainer, TrainerSnapshot

# Session-state keys of the app contract (see notes/CONTEXT.md).
TRAIN_TRAINER = "train_trainer"
COMPARE_TRAINER = "compare_trainer"
SAVED_MODELS = "saved_models"
DIGIT = "digit"

# Widgets created with persist_state=PERSIST keep their values when the user visits another page
# and comes back (by default Streamlit forgets the state of widgets a page did not draw).
PERSIST = "session"

PAGE_FILES = {
    "home": "pages/home.py",
    "train": "pages/train.py",
    "compare": "pages/compare.py",
    "draw": "pages/draw.py",
    "inside": "pages/inside.py",
}
ACTIVE_STATUSES = ("queued", "running", "paused")
FINISHED_STATUSES = ("completed", "stopped", "diverged", "error")  # Trainer.done
POLL_SECONDS = 0.8  # the live panel's refresh period: "updated at least once a second"
UPDATED_PREFIX = "Last update: "  # the live panel's clock, read by the load test

# Learning rates on the log-scale slider; the exact entry accepts any other value.
LR_CHOICES = (
    1e-5, 2e-5, 5e-5, 1e-4, 2e-4, 5e-4, 1e-3, 2e-3, 5e-3, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0
)  # fmt: skip
BATCH_SIZES = (1, 8, 16, 32, 64, 128, 256, 512, 1024)
DATASET_LABELS = {"mnist": "MNIST digits", "fashion-mnist": "Fashion-MNIST clothes"}
# Quick runs for a classroom: (training images, test images). None means the whole split.
RUN_SIZES = {
    "Tiny: 500 images": (500, 250),
    "Quick: 2,000 images": (2_000, 1_000),
    "Medium: 10,000 images": (10_000, 2_000),
    "Full: 60,000 images": (None, None),
}


def default(key: str, value) -> None:
    """Give a widget its initial value through session state (once), never through `value=`."""
    if key not in st.session_state:
        st.session_state[key] = value


C3_LABELS = {"full": "Full", "paper": "Paper's Table I"}
POOLING_LABELS = {"max": "max", "avg": "average"}
ARCH_DEFAULT_C3 = {arch: ModelConfig(arch=arch).c3 for arch in ("modern", "faithful")}


@st.cache_resource
def c3_parameters(arch: str, c3: str) -> int:
    """C3's trainable parameters in this net with this table, counted from the modules."""
    model = build_model(ModelConfig(arch=arch, c3=c3))
    return next(layer.params for layer in model.layer_summary() if layer.name == "C3")


def c3_label(arch: str, c3: str) -> str:
    """E.g. "Paper's Table I (1,516 parameters)": the count moves with the table."""
    return f"{C3_LABELS[c3]} ({c3_parameters(arch, c3):,} parameters)"


def page_links() -> None:
    """A link to every page, with what it is for."""
    st.page_link(PAGE_FILES["home"], label="Home: what LeNet-5 is", icon=":material/home:")
    st.page_link(
        PAGE_FILES["train"], label="Train: watch the net learn, live", icon=":material/monitoring:"
    )
    st.page_link(
        PAGE_FILES["compare"],
        label="Compare: runs side by side (sigmoid vs ReLU)",
        icon=":material/compare_arrows:",
    )
    st.page_link(
        PAGE_FILES["draw"], label="Draw: write a digit, see the prediction", icon=":material/draw:"
    )
    st.page_link(
        PAGE_FILES["inside"],
        label="Inside LeNet-5: what every layer sees",
        icon=":material/biotech:",
    )


# ----------------------------------------------------------------------------- cached data


@st.cache_resource(show_spinner=False)
def model_info(arch: str) -> dict:
    """`model.info()` of a freshly built net: layers, shapes, params, connections."""
    return build_model(ModelConfig(arch=arch)).info()


def dataset_ready(dataset: str) -> bool:
    return data_available(dataset)


def fetch_hint(dataset: str) -> str:
    command = f"python -m lenet_viz fetch-data --dataset {dataset}"
    make = "`make data` or " if dataset == "mnist" else ""
    return (
        f"{DATASET_LABELS.get(dataset, dataset)} is not downloaded yet, so training is off. "
        f"In a terminal in the project folder, run {make}`{command}`, then reload this page."
    )


@st.cache_resource(show_spinner=False)
def test_split(dataset: str) -> Split:
    """The whole test split (images for the misclassified gallery)."""
    return load_split(dataset, train=False)


def data_splits(train_limit: int | None, test_limit: int | None, dataset: str):
    """(train, test) Splits for a limited run, or (None, None) to use the shared full tensors.

    A limited run converts only its own images, instead of the whole 60,000 once per process.
    """
    if train_limit is None and test_limit is None:
        return None, None
    train = load_split(dataset, train=True).subset(train_limit)
    test = load_split(dataset, train=False).subset(test_limit)
    return train, test


def new_trainer(configs: list[TrainConfig], names: list[str] | None = None) -> Trainer:
    """A Trainer for `configs` (validated; not started). Raises ConfigError or DataError.

    All configs share the first one's dataset and run size (the Compare page's runs do).
    """
    for config in configs:
        config.validate()
    first = configs[0]
    if not data_available(first.dataset):
        raise DataError(fetch_hint(first.dataset))
    train, test = data_splits(first.train_limit, first.test_limit, first.dataset)
    return Trainer(configs, train=train, test=test, names=names)


class StopWhenSessionEnds:
    """Kept in session_state next to a trainer; stops the trainer when the session is dropped.

    When a tab is closed or reloaded, Streamlit forgets the session and its state, and nobody
    can reach that run any more; a paused run would even keep its training slot for good,
    making everyone else's runs wait. Freeing this object (with the state) stops the run.
    """

    def __init__(self, trainer) -> None:
        self._finalizer = weakref.finalize(self, trainer.stop)


def replace_trainer(state_key: str, trainer: Trainer) -> None:
    """Keep `trainer` in the session under `state_key`, stopping the one it replaces."""
    previous = st.session_state.get(state_key)
    if previous is not None and previous is not trainer and not previous.done:
        previous.stop()
    st.session_state[state_key] = trainer
    st.session_state[f"{state_key}_stopper"] = StopWhenSessionEnds(trainer)


def is_active(trainer: Trainer | None) -> bool:
    """True while the trainer is queued, training or paused (not before start, not at the end)."""
    return trainer is not None and trainer.status in ACTIVE_STATUSES


def status_of(trainer: Trainer | None) -> str | None:
    """The trainer's status, read once (None without a trainer): a page draws with one value."""
    return trainer.status if trainer is not None else None


def poll_period(status: str | None) -> float | None:
    """How often the live panel polls a trainer last seen with `status`: every POLL_SECONDS
    until the run is over (idle after "Step", queued, running, paused), else never.

    The page reads the status once and uses it both for this and as the "seen" status the
    panel compares with: a panel drawn for an unfinished run therefore always polls, and a
    poll that sees another status reruns the page (which then decides again).
    """
    return POLL_SECONDS if status is not None and status not in FINISHED_STATUSES else None


def live_view(state_key: str, trainer: Trainer, x: str = "iteration") -> LiveView:
    """The session's LiveView of `trainer` (kept at `state_key`, replaced for a new trainer):
    each poll reads only the iterations added since the last one."""
    view = st.session_state.get(state_key)
    if not isinstance(view, LiveView) or not view.follows(trainer, x):
        view = LiveView(trainer, x=x)
        st.session_state[state_key] = view
    return view


def live_fragment(body: Callable[[], None], status: str | None) -> None:
    """Draw `body` as a fragment that reruns every poll_period(status) seconds."""
    st.fragment(body, run_every=poll_period(status))()


# ----------------------------------------------------------------------------- controls


def nearest_lr_choice(value: float) -> float:
    """The slider position closest to `value` on a log scale (the smallest for lr <= 0)."""
    if not isinstance(value, int | float) or not math.isfinite(value) or value <= 0:
        return LR_CHOICES[0]
    return min(LR_CHOICES, key=lambda choice: abs(math.log10(choice) - math.log10(value)))


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
        "Learning rate (log scale)",
        options=LR_CHOICES,
        key=slider_key,
        on_change=from_slider,
        format_func=lambda v: f"{v:g}",
        disabled=disabled,
        persist_state=PERSIST,
        help="How big a step the optimizer takes. Too small: slow. Too large: the loss explodes.",
    )
    st.number_input(
        "Learning rate, exact",
        key=exact_key,
        step=0.001,
        format="%g",
        on_change=from_exact,
        disabled=disabled,
        persist_state=PERSIST,
        help="Type any value; the slider above follows. It must be positive.",
    )
    return float(st.session_state[exact_key])


# ----------------------------------------------------------------------------- live panel


def format_duration(seconds: float | None) -> str:
    if seconds is None or not math.isfinite(seconds):
        return "–"
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {seconds:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


STATUS_TEXT = {
    "idle": "not started",
    "queued": "waiting for a free training slot",
    "running": "training",
    "paused": "paused",
    "completed": "finished",
    "stopped": "stopped",
    "diverged": "diverged",
    "error": "failed",
}


OTHER_PAGE = {
    TRAIN_TRAINER: ("Compare", COMPARE_TRAINER),
    COMPARE_TRAINER: ("Train", TRAIN_TRAINER),
}


def progress_panel(snapshot: TrainerSnapshot, state_key: str) -> None:
    """Progress bar, status, queue position, ETA and images/s of the trainer at `state_key`."""
    fraction = snapshot.iteration / snapshot.total_iterations if snapshot.total_iterations else 0
    status = STATUS_TEXT.get(snapshot.status, snapshot.status)
    testing = " · testing on the test digits…" if snapshot.testing else ""
    st.progress(
        min(1.0, fraction),
        text=f"**{status.capitalize()}** · iteration {snapshot.iteration:,} of "
        f"{snapshot.total_iterations:,} · epoch {snapshot.epoch:.2f}{testing}",
    )
    if snapshot.status == "queued":
        running, waiting = RUN_SLOTS.counts()
        place = snapshot.queue_position or 1
        st.info(
            f"Queued: position {place} of {waiting} waiting. The server trains "
            f"{RUN_SLOTS.capacity} run(s) at a time ({running} busy now); yours starts "
            "by itself when a slot frees up. Stop cancels it.",
            icon=":material/hourglass_top:",
        )
        page, other_key = OTHER_PAGE[state_key]
        if is_active(st.session_state.get(other_key)):
            st.warning(
                f"Your own run on the {page} page is still going or paused, and holds a "
                f"training slot. Stop it there if you want this one to start now."
            )
    columns = st.columns(3)
    columns[0].metric("Iteration", f"{snapshot.iteration:,}")
    columns[1].metric("Images / s", f"{snapshot.images_per_second:,.0f}")
    columns[2].metric("Time left (ETA)", format_duration(snapshot.eta_seconds))
    if snapshot.status not in FINISHED_STATUSES:
        # Changes at every poll: the page is alive even while the run sits on one iteration
        # (an end-of-epoch test, or a busy server).
        st.caption(f"{UPDATED_PREFIX}{time.strftime('%H:%M:%S')}")


def _control(state_key: str, action: str) -> None:
    """A button callback: pause, resume or stop the trainer kept at `state_key`, if any."""
    if trainer := st.session_state.get(state_key):
        getattr(trainer, action)()


def pause_resume_stop_buttons(row, state_key: str, status: str | None) -> None:
    """Pause, Resume and Stop for the trainer at `state_key`, enabled by the status the page
    was drawn with (None: no trainer)."""
    row.button(
        "Pause",
        icon=":material/pause:",
        on_click=_control,
        args=(state_key, "pause"),
        disabled=status not in ("running", "queued"),
    )
    row.button(
        "Resume",
        icon=":material/resume:",
        on_click=_control,
        args=(state_key, "resume"),
        disabled=status != "paused",
    )
    row.button(
        "Stop",
        icon=":material/stop:",
        on_click=_control,
        args=(state_key, "stop"),
        disabled=status not in ACTIVE_STATUSES,
    )


def csv_text(rows: list[list]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)
    return buffer.getvalue()


def dataset_options() -> list[str]:
    return list(DATASETS)
