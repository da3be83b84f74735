"""The Train page's run controls: Start, Step, Pause, Resume, Stop, and the earlier runs a new run
files away.
"""

from __future__ import annotations

import streamlit as st

from lenet_viz.data.datasets import DataError
from lenet_viz.nets.config import ConfigError
from lenet_viz.training.runner import Trainer
from lenet_viz.training.status import ACTIVE_STATUSES, SLOT_STATUSES
from lenet_viz.workers.launch import start_run
from ui.i18n import _
from ui.library_text import library_text
from ui.runs.controls import START_SETTLE_SECONDS, pause_resume_stop_buttons
from ui.runs.settings import set_learning_rate
from ui.state import TRAIN_TRAINER, is_active, replace_trainer
from ui.train.settings import (
    CONFIRM_DISCARD,
    HISTORY,
    HISTORY_SIZE,
    KEY,
    NOTICE,
    PENDING_OVERWRITE,
    RESULTS,
    SAVE_NOTICE,
    SAVED_RUNS,
    current_config,
)


def trainer_now() -> Trainer | None:
    return st.session_state.get(TRAIN_TRAINER)


def history() -> list[Trainer]:
    return st.session_state.setdefault(HISTORY, [])


def is_saved(trainer: Trainer) -> bool:
    return trainer.id in st.session_state.get(SAVED_RUNS, set())


def mark_saved(trainer: Trainer) -> None:
    st.session_state.setdefault(SAVED_RUNS, set()).add(trainer.id)


def would_drop() -> Trainer | None:
    """The unsaved run a new run would push out of the history, if any."""
    current, earlier = trainer_now(), history()
    if current is None or current.runs[0].iteration == 0 or is_active(current):
        return None
    if len(earlier) < HISTORY_SIZE:
        return None
    oldest = earlier[-1]
    return None if is_saved(oldest) else oldest


def keep_in_history(trainer: Trainer | None) -> None:
    """File the current run among the earlier ones (newest first, at most HISTORY_SIZE)."""
    if trainer is None or trainer.runs[0].iteration == 0:
        return
    earlier = [t for t in history() if t is not trainer]
    earlier.insert(0, trainer)
    del earlier[HISTORY_SIZE:]
    st.session_state[HISTORY] = earlier


def begin_run(paused: bool) -> Trainer | None:
    """Build a Trainer from the settings and keep it; say why if the settings cannot work.
    The run it replaces goes to the session's history."""
    try:
        trainer = start_run(current_config(), paused=paused)
    except (ConfigError, DataError) as error:
        st.session_state[NOTICE] = ("error", _("Cannot start: {error}").format(error=error))
        return None
    previous = trainer_now()
    replace_trainer(TRAIN_TRAINER, trainer)
    if previous is not None and previous.done:
        keep_in_history(previous)
    for key in (RESULTS, SAVE_NOTICE, PENDING_OVERWRITE, CONFIRM_DISCARD):
        st.session_state.pop(key, None)
    return trainer


def on_start(confirmed: bool = False) -> None:
    if not confirmed and would_drop() is not None:
        st.session_state[CONFIRM_DISCARD] = "start"
        return
    if trainer := begin_run(paused=False):
        trainer.settle(START_SETTLE_SECONDS)


def on_step(confirmed: bool = False) -> None:
    """One batch: of the paused run, or of a new run that then waits paused."""
    trainer = trainer_now()
    if not is_active(trainer):
        if not confirmed and would_drop() is not None:
            st.session_state[CONFIRM_DISCARD] = "step"
            return
        trainer = begin_run(paused=True)
    if trainer is not None:
        trainer.step()


def cancel_discard() -> None:
    st.session_state.pop(CONFIRM_DISCARD, None)


def confirm_discard_panel() -> None:
    """Ask before a new run pushes an unsaved model out of the history."""
    action = st.session_state.get(CONFIRM_DISCARD)
    dropped = would_drop()
    if action is None or dropped is None:
        st.session_state.pop(CONFIRM_DISCARD, None)
        return
    run = dropped.runs[0]
    accuracy = run.final.get("test_acc")
    score = (
        _(", {accuracy} % test accuracy").format(accuracy=f"{100 * accuracy:.1f}")
        if accuracy is not None
        else ""
    )
    st.warning(
        _(
            "A new run drops the oldest of your last {count} runs, **{name}**{score}, and its "
            "model was never saved. Save it first (Earlier runs → Show, then Save), or drop it."
        ).format(count=HISTORY_SIZE, name=library_text(run.name), score=score),
        icon=":material/delete_forever:",
    )
    yes, no = st.columns(2)
    handler = on_start if action == "start" else on_step
    yes.button(
        _("Drop it and start") if action == "start" else _("Drop it and step"),
        on_click=handler,
        kwargs={"confirmed": True},
        type="primary",
    )
    no.button(_("Cancel"), key="train_discard_cancel", on_click=cancel_discard)


def retry_with(change: dict) -> None:
    """A callback: the failed run's settings with one change, started at once."""
    if "lr" in change:
        set_learning_rate(KEY + "lr", change["lr"])
    for name in ("activation", "epochs"):
        if name in change:
            st.session_state[KEY + name] = change[name]
    on_start()


def control_buttons(status: str | None, data_ok: bool) -> None:
    """The run buttons, enabled by the status the page was drawn with (None: no trainer)."""
    active = status in ACTIVE_STATUSES
    row = st.container(horizontal=True)
    row.button(
        _("Start"),
        icon=":material/play_arrow:",
        type="primary",
        on_click=on_start,
        disabled=active or not data_ok,
        help=_("Train a new net with the settings chosen."),
    )
    pause_resume_stop_buttons(row, TRAIN_TRAINER, status)
    row.button(
        _("Step one batch"),
        icon=":material/skip_next:",
        on_click=on_step,
        disabled=not data_ok or status in SLOT_STATUSES,
        help=_("Train exactly one batch, then wait. Starts a new run if none is paused."),
    )
