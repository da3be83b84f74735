"""Helpers shared by the pages: session keys, cached data, the training controls and live panel.

Pages import them as `from pages.common import ...` (app.py's folder is on sys.path).
Everything here is UI glue; the logic lives in `lenet_viz`.
"""

from __future__ import annotations

import collections
import csv
import io
import itertools
import math
import time
import weakref
from collections.abc import Callable

import streamlit as st

from lenet_viz.config import ModelConfig, TrainConfig
from lenet_viz.data import Split, data_available, load_split
from lenet_viz.history import History
from lenet_viz.live import LiveView
from lenet_viz.model import build_model
from lenet_viz.run_slots import RUN_SLOTS
from lenet_viz.runner import Trainer, TrainerSnapshot

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
    "robustness": "pages/robustness.py",
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
    st.page_link(
        PAGE_FILES["robustness"],
        label="Robustness: accuracy on rotated, shifted, noisy digits",
        icon=":material/shield:",
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


# Every trainer a page made in this process: by id (a reloaded page finds its run through the
# `?runs=` ids in its URL), and the session-state key and owner token it lives under.
_TRAINERS_BY_ID: weakref.WeakValueDictionary[str, Trainer] = weakref.WeakValueDictionary()
_OWNERS: weakref.WeakKeyDictionary[Trainer, tuple[str, int]] = weakref.WeakKeyDictionary()
_OWNER_TOKENS = itertools.count(1)
# Ids of runs stopped because their session ended (bounded), so a late reload can say so.
ENDED_WITH_SESSION: collections.deque[str] = collections.deque(maxlen=1000)


def _stop_unless_adopted(trainer: Trainer, token: int) -> None:
    """Stop `trainer` if the session that owned it with `token` still does (not adopted)."""
    owner = _OWNERS.get(trainer)
    if owner is not None and owner[1] == token and not trainer.done:
        ENDED_WITH_SESSION.append(trainer.id)
        trainer.stop()


class StopWhenSessionEnds:
    """Kept in session_state next to a trainer; stops the trainer when the session is dropped.

    When a tab is closed or reloaded, Streamlit keeps the old session for its reconnect window
    (`server.disconnectedSessionTTL`, 2 minutes), then forgets it; this object goes with the
    state, and its finalizer stops the run. That can be minutes later (the session store drops
    expired sessions only when it is next used), so the slot itself is guarded by the Trainer:
    a paused run holds none, and a run no page touches gives way to a waiting one. A page
    reloaded in time adopts the run instead (`adopt_trainer`): then this stopper does nothing.
    """

    def __init__(self, trainer: Trainer, state_key: str) -> None:
        token = next(_OWNER_TOKENS)
        _TRAINERS_BY_ID[trainer.id] = trainer
        _OWNERS[trainer] = (state_key, token)
        self._finalizer = weakref.finalize(self, _stop_unless_adopted, trainer, token)


def trainer_by_id(trainer_id: str) -> tuple[Trainer, str] | None:
    """The live trainer a page made with this id, and the session-state key it lives under."""
    trainer = _TRAINERS_BY_ID.get(trainer_id)
    owner = _OWNERS.get(trainer) if trainer is not None else None
    return (trainer, owner[0]) if owner is not None else None


def replace_trainer(state_key: str, trainer: Trainer) -> None:
    """Keep `trainer` in the session under `state_key`, stopping the one it replaces."""
    previous = st.session_state.get(state_key)
    if previous is not None and previous is not trainer and not previous.done:
        previous.stop()
    st.session_state[state_key] = trainer
    st.session_state[f"{state_key}_stopper"] = StopWhenSessionEnds(trainer, state_key)
    trainer.touch()


def adopt_trainer(state_key: str, trainer: Trainer) -> None:
    """Take over a run of a session that is gone (a reloaded page): this session owns it now,
    and the old session's stopper leaves it alone."""
    st.session_state[state_key] = trainer
    st.session_state[f"{state_key}_stopper"] = StopWhenSessionEnds(trainer, state_key)
    trainer.touch()


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


def progress_panel(snapshot: TrainerSnapshot, state_key: str, notice: str = "") -> None:
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
        waiting = max(waiting, place)  # the two reads are not atomic: never "1 of 0"
        if notice:
            st.info(notice, icon=":material/tab_close:")
        st.info(
            f"Queued: position {place} of {waiting} waiting. The server trains "
            f"{RUN_SLOTS.capacity} run(s) at a time ({running} busy now); yours starts "
            "by itself when a slot frees up. Stop cancels it.",
            icon=":material/hourglass_top:",
        )
        page, other_key = OTHER_PAGE[state_key]
        other = st.session_state.get(other_key)
        if other is not None and other.status in ("queued", "running"):
            st.warning(
                f"Your own run on the {page} page is still going, and holds a training slot. "
                "Pause or stop it there if you want this one to start now."
            )
    elif snapshot.status == "paused":
        st.caption("Paused runs hold no training slot: Resume queues this one again.")
    columns = st.columns(3)
    columns[0].metric("Iteration", f"{snapshot.iteration:,}")
    columns[1].metric("Images / s", f"{snapshot.images_per_second:,.0f}")
    eta = snapshot.eta_seconds if snapshot.status == "running" else None
    columns[2].metric("Time left (ETA)", format_duration(eta))
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


# The settings written beside every metrics row (a CSV of several runs says what each one was).
CSV_SETTINGS = (
    "arch", "activation", "pooling", "c3", "resize", "dataset", "optimizer", "lr", "momentum",
    "weight_decay", "batch_size", "epochs", "schedule", "augment", "seed", "train_limit",
    "test_limit",
)  # fmt: skip


def metrics_rows(runs: list[tuple[str, TrainConfig, History]]) -> list[list]:
    """One table for any number of runs: a row per iteration (the per-epoch numbers on an
    epoch's last iteration), each starting with its run's name and every setting of the run."""
    table: list[list] = []
    for name, config, history in runs:
        model = config.model
        values = {
            **config.to_dict(),
            **{k: getattr(model, k) for k in ("activation", "pooling", "c3")},
        }
        settings = [values.get(key) for key in CSV_SETTINGS]
        header, *rows = history.to_csv_rows()
        if not table:
            table.append(["run", *CSV_SETTINGS, *header])
        table.extend([name, *settings, *row] for row in rows)
    return table


def csv_text(rows: list[list]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)
    return buffer.getvalue()
