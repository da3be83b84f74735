"""The live progress panel of a run: progress bar, status, queue position, ETA, images/s."""

from __future__ import annotations

import math
import time
from collections.abc import Callable

import streamlit as st

from lenet_viz.figures.live import LiveView
from lenet_viz.training.runner import Trainer, TrainerSnapshot
from lenet_viz.training.slots import RUN_SLOTS
from lenet_viz.training.status import FINISHED_STATUSES, SLOT_STATUSES, RunStatus
from ui.i18n import N_, _, current_language
from ui.library_text import figure_localizer
from ui.state import COMPARE_TRAINER, TRAIN_TRAINER, live_view

UPDATED_PREFIX = N_("Last update: ")  # the live panel's clock, read by the load test


def format_duration(seconds: float | None) -> str:
    if seconds is None or not math.isfinite(seconds):
        return "–"
    seconds = int(round(seconds))
    if seconds < 60:
        return _("{seconds} s").format(seconds=seconds)
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return _("{minutes} min {seconds} s").format(minutes=minutes, seconds=f"{seconds:02d}")
    hours, minutes = divmod(minutes, 60)
    return _("{hours} h {minutes} min").format(hours=hours, minutes=f"{minutes:02d}")


STATUS_TEXT = {
    RunStatus.IDLE: N_("not started"),
    RunStatus.QUEUED: N_("waiting for a free training slot"),
    RunStatus.RUNNING: N_("training"),
    RunStatus.PAUSED: N_("paused"),
    RunStatus.COMPLETED: N_("finished"),
    RunStatus.STOPPED: N_("stopped"),
    RunStatus.DIVERGED: N_("diverged"),
    RunStatus.ERROR: N_("failed"),
}


OTHER_PAGE = {
    TRAIN_TRAINER: (N_("Compare"), COMPARE_TRAINER),
    COMPARE_TRAINER: (N_("Train"), TRAIN_TRAINER),
}


def progress_panel(snapshot: TrainerSnapshot, state_key: str, notice: str = "") -> None:
    """Progress bar, status, queue position, ETA and images/s of the trainer at `state_key`."""
    fraction = snapshot.iteration / snapshot.total_iterations if snapshot.total_iterations else 0
    status = _(STATUS_TEXT[snapshot.status]) if snapshot.status in STATUS_TEXT else snapshot.status
    testing = _(" · testing on the test digits…") if snapshot.testing else ""
    st.progress(
        min(1.0, fraction),
        text=_("**{status}** · iteration {iteration} of {total} · epoch {epoch}{testing}").format(
            status=status.capitalize(),
            iteration=f"{snapshot.iteration:,}",
            total=f"{snapshot.total_iterations:,}",
            epoch=f"{snapshot.epoch:.2f}",
            testing=testing,
        ),
    )
    if snapshot.status == RunStatus.QUEUED:
        trainer = st.session_state.get(state_key)
        slots = trainer.slots if trainer is not None else RUN_SLOTS  # this server's, or Ray's
        running, waiting = slots.counts()
        place = snapshot.queue_position or 1
        waiting = max(waiting, place)  # the two reads are not atomic: never "1 of 0"
        if notice:
            st.info(notice, icon=":material/tab_close:")
        st.info(
            f"Queued: position {place} of {waiting} waiting. The server trains "
            f"{slots.capacity} run(s) at a time ({running} busy now); yours starts "
            "by itself when a slot frees up. Stop cancels it.",
            icon=":material/hourglass_top:",
        )
        page, other_key = OTHER_PAGE[state_key]
        other = st.session_state.get(other_key)
        if other is not None and other.status in SLOT_STATUSES:
            st.warning(
                _(
                    "Your own run on the {page} page is still going, and holds a training slot. "
                    "Pause or stop it there if you want this one to start now."
                ).format(page=_(page))
            )
    elif snapshot.status == RunStatus.PAUSED:
        st.caption(_("Paused runs hold no training slot: Resume queues this one again."))
    columns = st.columns(3)
    columns[0].metric(_("Iteration"), f"{snapshot.iteration:,}")
    columns[1].metric(_("Images / s"), f"{snapshot.images_per_second:,.0f}")
    eta = snapshot.eta_seconds if snapshot.status == RunStatus.RUNNING else None
    columns[2].metric(_("Time left (ETA)"), format_duration(eta))
    if snapshot.status not in FINISHED_STATUSES:
        # Changes at every poll: the page is alive even while the run sits on one iteration
        # (an end-of-epoch test, or a busy server).
        # The clock's colons as HTML entities: "12:34:56" reads as an emoji code (":34:") to
        # Streamlit's markdown, which then loads its emoji table (258 kB of script) in the
        # tab, holding back the page drawn after Start (issue 22). Shown as "12:34:56".
        clock = time.strftime("%H:%M:%S").replace(":", "&#58;")
        st.caption(_(UPDATED_PREFIX) + clock, unsafe_allow_html=True)


def idle_panel(hint: str, curves_svg: str) -> None:
    """Before any run: what to do, a progress bar at zero and the empty curves, drawn where and
    as the run's will be. The page drawn after Start then needs no code the tab has not loaded
    yet, so the first points show at once (issue 22)."""
    st.info(hint)
    st.progress(0.0, text=_("**Not started**"))
    columns = st.columns(3)
    columns[0].metric(_("Iteration"), "0")
    columns[1].metric(_("Images / s"), "–")
    columns[2].metric(_("Time left (ETA)"), "–")
    st.markdown(curves_svg, unsafe_allow_html=True)


def chart_config(name: str) -> dict:
    """Plotly's own toolbar, whose camera button downloads the chart as a PNG named after it."""
    return {"toImageButtonOptions": {"format": "png", "filename": f"lenet5_{name}", "scale": 2}}


def poll_trainer(
    state_key: str,
    figures_key: str,
    hint: str,
    empty_curves: Callable[[str], str],
    x: Callable[[Trainer], str] = lambda trainer: "iteration",
) -> tuple[Trainer, LiveView, TrainerSnapshot] | None:
    """One poll of the trainer at `state_key`: the trainer, its LiveView (kept at `figures_key`,
    its x axis `x(trainer)`) and a fresh snapshot. Without a trainer, `hint` says what to do
    above `idle_panel`'s empty curves (`empty_curves(language)`: their SVG)."""
    trainer = st.session_state.get(state_key)
    if trainer is None:
        idle_panel(hint, empty_curves(current_language()))
        return None
    trainer.touch()  # this page is open: its runs keep their training slot
    view = live_view(figures_key, trainer, x(trainer), prepare=figure_localizer())
    return trainer, view, view.poll(trainer)
