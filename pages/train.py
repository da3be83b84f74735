"""Train: choose the settings, start a run, watch the curves grow live, keep the model.

The Trainer lives in session_state["train_trainer"] and trains on its own thread, so the run
goes on while the user visits other pages. A fragment polls its snapshot every POLL_SECONDS;
the buttons only send start/pause/resume/stop/step through callbacks.
"""

from __future__ import annotations

import streamlit as st

from lenet_viz.training.status import ACTIVE_STATUSES, FINISHED_STATUSES
from ui.cached_data import dataset_ready, fetch_hint, training_warmed_up
from ui.class_board.kept_runs import earlier_visits_section
from ui.class_board.train_part import preload_assignment
from ui.i18n import _
from ui.layout import last_column_first_below
from ui.navigation import ensure_app_navigation
from ui.session_guard import ADOPTED
from ui.state import TRAIN_TRAINER, live_fragment, status_of
from ui.train.controls import confirm_discard_panel, control_buttons, trainer_now
from ui.train.live_area import live_area
from ui.train.results import history_section, results_section
from ui.train.settings import (
    KEY,
    NOTICE,
    SEEN_STATUS,
    apply_link_preset,
    restore_settings,
    settings,
)

LAYOUT = "train_layout"  # the settings and live columns' container
STACKED_BELOW_PX = 640  # Streamlit stacks columns in a window narrower than this

ensure_app_navigation()  # a deep link on a fresh server: rerun through app.py
training_warmed_up()  # a first worker starts now: the first Start need not wait for one
st.title(_("Train LeNet-5"))
trainer = trainer_now()
if trainer is not None and st.session_state.get(ADOPTED, {}).pop(TRAIN_TRAINER, None):
    restore_settings(trainer.runs[0].config)  # a reloaded page: its run and its settings
seen_status = status_of(trainer)  # read once: the page, and how the panel polls
active = seen_status in ACTIVE_STATUSES
st.session_state[SEEN_STATUS] = seen_status
if not active:
    apply_link_preset()
    preload_assignment()  # a student's cell of the class's assignments grid

# On a phone (columns stacked) Start and the curves come first, the twenty settings below them.
last_column_first_below(LAYOUT, STACKED_BELOW_PX)
settings_column, live_column = st.container(key=LAYOUT).columns([1, 2.4], gap="large")
with settings_column, st.container(border=True):
    st.subheader(_("Settings"))
    if active:
        st.caption(_("Locked while a run is going on: Stop it to change them."))
    settings(disabled=active)
data_ok = dataset_ready(st.session_state[KEY + "dataset"])

with live_column:
    if not data_ok:
        st.warning(fetch_hint(st.session_state[KEY + "dataset"]))
    control_buttons(seen_status, data_ok)
    confirm_discard_panel()
    notice = st.session_state.pop(NOTICE, None)
    if notice:
        getattr(st, notice[0])(notice[1])
    live_fragment(live_area, seen_status, TRAIN_TRAINER, SEEN_STATUS)  # curves, inside view

if trainer is not None and seen_status in FINISHED_STATUSES:
    results_section(trainer)
history_section(active)
earlier_visits_section(active)  # kept for this browser: reloads, other tabs, restarts
