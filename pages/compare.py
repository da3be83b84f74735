"""Compare: 2-4 runs trained in lockstep from the same initial weights and batch order.

One Trainer holds every run (session_state["compare_trainer"]); it advances each run by one
batch per tick, so the curves grow together. All runs share the seed, the architecture and the
data, so they differ only in the per-run settings (activation, optimizer, lr, ...).
"""

from __future__ import annotations

import streamlit as st

from lenet_viz.training.status import ACTIVE_STATUSES
from ui.cached_data import dataset_ready, fetch_hint, training_warmed_up
from ui.compare.controls import (
    apply_link_setup,
    control_buttons,
    on_experiment,
    restore_settings,
    setup_link,
    trainer_now,
)
from ui.compare.live_area import live_area
from ui.compare.settings import (
    EXPERIMENTS,
    KEY,
    MAX_RUNS,
    NOTICE,
    SEEN_STATUS,
    SETTINGS_OPEN,
    experiment_label,
    experiment_notice,
    run_settings,
    set_defaults,
    shared_settings,
)
from ui.i18n import _
from ui.navigation import ensure_app_navigation
from ui.session_guard import ADOPTED
from ui.state import COMPARE_TRAINER, default, live_fragment, status_of

ensure_app_navigation()  # a deep link on a fresh server: rerun through app.py
training_warmed_up()  # a first worker starts now: the first Start need not wait for one
st.title(_("Compare runs side by side"))
st.markdown(
    _(
        "Every run starts from **the same initial weights** and sees **the same batches in the "
        "same order**: only the settings you change differ. They train in lockstep, one batch "
        "each in turn, so their curves grow together."
    )
)
trainer = trainer_now()
if trainer is not None and st.session_state.get(ADOPTED, {}).pop(COMPARE_TRAINER, None):
    restore_settings([run.config for run in trainer.runs])  # a reloaded page: its runs
seen_status = status_of(trainer)  # read once: the page, and how the panel polls
active = seen_status in ACTIVE_STATUSES
st.session_state[SEEN_STATUS] = seen_status
if not active:
    apply_link_setup()
set_defaults()

data_ok = dataset_ready(st.session_state[KEY + "dataset"])
st.markdown(_("**Experiments** (each sets up the runs and starts them):"))
for name in EXPERIMENTS:
    preset_column, text_column = st.columns([1.2, 2])
    preset_column.button(
        _(experiment_label(name)),
        key=f"compare_experiment_{name}",
        icon=":material/science:",
        on_click=on_experiment,
        args=(name,),
        disabled=active or not data_ok,
        type="primary" if name == "notebook" else "secondary",
        width="stretch",
    )
    text_column.caption(_(experiment_notice(name)))


def settings_panel(locked: bool) -> None:
    """The shared and per-run settings, and the link that opens them for anyone."""
    if locked:
        st.caption(_("Locked while the runs go on: Stop them to change the settings."))
    shared_settings(disabled=locked)
    run_columns = st.columns(MAX_RUNS, gap="medium")
    for index in range(int(st.session_state[KEY + "runs"])):
        with run_columns[index], st.container(border=True):
            run_settings(index, disabled=locked)
    st.caption(
        _(
            "A link that opens these settings for anyone (a class starts from the same place). "
            "Copy it here (right-click it) or from the address bar, which keeps it."
        )
    )
    # A link, not st.code: its copy button costs every visit the code highlighter's 1.5 MB of
    # script, even in a closed expander (issue 22). Its text is code: never translated.
    link = setup_link()
    st.markdown(f"[`{link}`]({link})")
    st.caption(
        _(
            "Or name an experiment: `/compare?preset=notebook`, `?preset=activations`, "
            "`?preset=learning-rates`."
        )
    )


# Drawn only while open (the settings keep their values: PERSIST). Start closes it, so the
# page drawn after Start or Pause is some 40 elements lighter for the browser (issue 22).
default(SETTINGS_OPEN, trainer is None)
settings_box = st.expander(_("Settings"), key=SETTINGS_OPEN, on_change="rerun")
if settings_box.open:
    with settings_box:
        settings_panel(locked=active)

if not data_ok:
    st.warning(fetch_hint(st.session_state[KEY + "dataset"]))
control_buttons(seen_status, data_ok)
notice = st.session_state.pop(NOTICE, None)
if notice:
    getattr(st, notice[0])(notice[1])
live_fragment(live_area, seen_status, COMPARE_TRAINER, SEEN_STATUS)  # curves, inside view
