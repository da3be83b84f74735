"""The Train page's live panel: progress and curves of the run, redrawn at every poll."""

from __future__ import annotations

import streamlit as st

from lenet_viz.training.status import RunStatus
from ui.charts import chart
from ui.i18n import _
from ui.library_text import library_text
from ui.runs.live_panel import chart_config, poll_trainer, progress_panel
from ui.runs.replay_panel import inside_panel
from ui.state import TRAIN_TRAINER
from ui.train.sdlm_panel import sdlm_panel_for_run
from ui.train.settings import FAITHFUL_LOSS_NOTE, FIGURES


def live_area() -> None:
    """What the Train page's polling fragment draws: the curves, then the inside view."""
    live_panel()
    inside_panel(TRAIN_TRAINER, "train")  # kernels, maps, prediction; replay


def live_panel() -> None:
    """Progress and curves, redrawn every POLL_SECONDS while a run is active."""
    polled = poll_trainer(
        TRAIN_TRAINER,
        FIGURES,
        _(
            "Choose the settings and press **Start**. The curves appear here and grow with "
            "every batch; the run goes on if you visit another page."
        ),
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
    chart(st, view.iteration_figure(), key="train_iteration_chart", config=chart_config("curves"))
    epochs = trainer.runs[0].config.epochs
    chart(
        st,
        view.epoch_figure(total_epochs=epochs),
        key="train_epoch_chart",
        config=chart_config("per_epoch"),
    )
    if trainer.runs[0].config.model.arch == "faithful":
        st.caption(_(FAITHFUL_LOSS_NOTE))
    sdlm_panel_for_run(trainer.runs[0].config, view.runs[0].epochs, key="train_sdlm")
