"""Train: the runs this browser finished in earlier visits (a reload, another tab, before a
server restart), kept in the database under its identity: their stored curves on one chart,
their settings and final accuracies, and a button that puts a kept run's settings into Train's
settings (as Show does for this session's earlier runs)."""

from __future__ import annotations

import streamlit as st

from lenet_viz.classroom import StorageUnavailable
from lenet_viz.classroom.tables import percent
from lenet_viz.classroom.workspace import kept_run_config
from lenet_viz.figures.classroom import kept_run_label, kept_runs_figure
from ui.charts import chart
from ui.class_board.membership import browser_identity
from ui.class_board.resources import workspace
from ui.i18n import _
from ui.library_text import library_text
from ui.state import TRAINER_KEYS
from ui.train.settings import NOTICE, restore_settings

KEPT_PICK = "kept_run_pick"  # the kept run whose settings Load puts on Train (its run_uid)


def this_sessions_run_ids() -> set[str]:
    return {
        st.session_state[key].id for key in TRAINER_KEYS if st.session_state.get(key) is not None
    }


def earlier_visits() -> list[dict]:
    """This browser's kept runs but this session's own (those are on the page already)."""
    try:
        runs = workspace().runs(browser_identity())
    except StorageUnavailable:
        return []  # a database that is down only hides them for a while
    mine = this_sessions_run_ids()
    return [run for run in runs if run["run_uid"].split("-")[0] not in mine]


def load_kept_settings(run: dict, label: str) -> None:
    """A callback: the kept run's settings into Train's settings (before they are drawn)."""
    config = kept_run_config(run)
    if config is None:
        st.session_state[NOTICE] = (
            "warning",
            _("The settings of {run} cannot be loaded: this version no longer has them.").format(
                run=label
            ),
        )
        return
    restore_settings(config)
    st.session_state[NOTICE] = (
        "info",
        _("The settings of {run} are in Settings: Start trains it again.").format(run=label),
    )


def earlier_visits_section(active: bool) -> None:
    """The kept runs: their curves, a table, and loading one's settings (not while a run is
    going on: the settings are locked then)."""
    earlier = earlier_visits()
    if not earlier:
        return
    title = _("Your runs from earlier visits ({count}, kept for this browser)")
    with st.expander(title.format(count=len(earlier))):
        chart(st, kept_runs_figure(earlier), key="kept_runs_chart")
        labels = {
            run["run_uid"]: library_text(kept_run_label(number, run))
            for number, run in enumerate(earlier, start=1)
        }
        st.dataframe(
            [
                {
                    _("run"): labels[run["run_uid"]],
                    _("finished"): run["finished_at"][:16].replace("T", " "),
                    _("train accuracy %"): percent(run["train_accuracy"]),
                    _("test accuracy %"): percent(run["test_accuracy"]),
                    _("seconds"): round(run["duration_seconds"], 1),
                    _("status"): library_text(run["status"]),
                }
                for run in earlier
            ],
            hide_index=True,
        )
        by_uid = {run["run_uid"]: run for run in earlier}
        if st.session_state.get(KEPT_PICK) not in by_uid:
            st.session_state.pop(KEPT_PICK, None)
        row = st.container(horizontal=True, vertical_alignment="bottom")
        picked = row.selectbox(
            _("Kept run"), list(by_uid), format_func=labels.get, key=KEPT_PICK, disabled=active
        )
        row.button(
            _("Load its settings"),
            key="kept_run_load",
            on_click=load_kept_settings,
            args=(by_uid[picked], labels[picked]),
            disabled=active,
            help=_("Puts this run's settings into Settings, to train it again or change one."),
        )
