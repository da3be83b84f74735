"""The run controls the Train and Compare pages share, and their callbacks."""

from __future__ import annotations

import streamlit as st

from lenet_viz.training.status import ACTIVE_STATUSES, SLOT_STATUSES, RunStatus
from ui.i18n import _

# Start waits this long for the first batch, so the page drawn after the click shows the first
# points of the curves at once, not at its next poll (Trainer.settle; a queued run or a worker
# still starting is not waited for longer).
START_SETTLE_SECONDS = 0.5
# Pause waits this long for the run to pause, so the page drawn after the click says "Paused"
# (a run pauses between batches; in a worker too: the server cuts its chunk short).
PAUSE_SETTLE_SECONDS = 0.4


def _control(state_key: str, action: str) -> None:
    """A button callback: pause, resume or stop the trainer kept at `state_key`, if any."""
    if trainer := st.session_state.get(state_key):
        if action == "pause":
            trainer.pause(settle_seconds=PAUSE_SETTLE_SECONDS)
        else:
            getattr(trainer, action)()


def pause_resume_stop_buttons(row, state_key: str, status: str | None) -> None:
    """Pause, Resume and Stop for the trainer at `state_key`, enabled by the status the page
    was drawn with (None: no trainer)."""
    row.button(
        _("Pause"),
        icon=":material/pause:",
        on_click=_control,
        args=(state_key, "pause"),
        disabled=status not in SLOT_STATUSES,
    )
    row.button(
        _("Resume"),
        icon=":material/resume:",
        on_click=_control,
        args=(state_key, "resume"),
        disabled=status != RunStatus.PAUSED,
    )
    row.button(
        _("Stop"),
        icon=":material/stop:",
        on_click=_control,
        args=(state_key, "stop"),
        disabled=status not in ACTIVE_STATUSES,
    )
