"""The Train page's live panel: progress and curves of the run, redrawn at every poll."""

from __future__ import annotations

import streamlit as st

from lenet_viz.figures.training import iteration_figure
from lenet_viz.training.history import History
from lenet_viz.training.status import FINISHED_STATUSES, RunStatus
from ui.charts import live_chart, static_chart_svg
from ui.i18n import _
from ui.library_text import library_text
from ui.runs.live_panel import chart_config, poll_trainer, progress_panel
from ui.runs.replay_panel import inside_panel
from ui.state import TRAIN_TRAINER
from ui.train.sdlm_panel import sdlm_panel_for_run
from ui.train.settings import FAITHFUL_LOSS_NOTE, FIGURES
from ui.train.settings import KEY as SETTINGS_KEY


def live_area() -> None:
    """What the Train page's polling fragment draws: the curves, then the inside view."""
    live_panel()
    # kernels, maps, prediction; replay
    inside_panel(TRAIN_TRAINER, "train", st.session_state[SETTINGS_KEY + "dataset"])


@st.cache_data(show_spinner=False)
def empty_curves(language: str) -> str:
    """The loss and accuracy axes with no run yet, as SVG (built once per language)."""
    return static_chart_svg(iteration_figure(History()))


def live_panel() -> None:
    """Progress and curves, redrawn every POLL_SECONDS while a run is active."""
    polled = poll_trainer(
        TRAIN_TRAINER,
        FIGURES,
        _(
            "Choose the settings and press **Start**. The curves appear here and grow with "
            "every batch; the run goes on if you visit another page."
        ),
        empty_curves,
    )
    if polled is None:
        return
    trainer, view, snapshot = polled
    run = snapshot.runs[0]
    st.markdown(_("**Run:** {name}").format(name=library_text(run["name"])))
    progress_panel(snapshot, TRAIN_TRAINER, notice=trainer.notice)
    if run["status"] == RunStatus.DIVERGED:
        st.error(
            _("The run {message}").format(message=library_text(run["message"])),
            icon=":material/warning:",
        )
    elif run["status"] == RunStatus.ERROR:
        st.error(library_text(run["message"]))
    running = snapshot.status not in FINISHED_STATUSES
    live_chart(
        st,
        view.iteration_figure(),
        running=running,
        key="train_iteration_chart",
        config=chart_config("curves"),
    )
    live_chart(
        st,
        view.epoch_figure(total_epochs=trainer.runs[0].config.epochs),
        running=running,
        key="train_epoch_chart",
        config=chart_config("per_epoch"),
    )
    if trainer.runs[0].config.model.arch == "faithful":
        st.caption(_(FAITHFUL_LOSS_NOTE))
    sdlm_panel_for_run(trainer.runs[0].config, view.runs[0].epochs, key="train_sdlm")
