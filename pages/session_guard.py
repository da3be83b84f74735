"""Nothing silently half-lost: tell the user when a server restart ended their training runs.

Session state lives in the server's memory, so a restart loses every run in progress. The ids of
this session's trainers are kept in the page URL (`?runs=...`); the browser keeps the URL when it
reconnects to the restarted server, which then finds ids it does not know and says so. Saved
checkpoints are files, so they survive.
"""

import streamlit as st

from lenet_viz.runner import trainer_is_live

RUN_PARAM = "runs"
TRAINER_KEYS = ("train_trainer", "compare_trainer")
LOST_NOTICE = "lost_runs_notice"


def session_trainer_ids() -> list[str]:
    trainers = (st.session_state.get(key) for key in TRAINER_KEYS)
    return [trainer.id for trainer in trainers if trainer is not None]


def dismiss_lost_notice() -> None:
    st.session_state.pop(LOST_NOTICE, None)


def guard_runs_across_restarts() -> None:
    """Warn about runs the URL names but this server no longer has; keep the URL up to date."""
    mine = session_trainer_ids()
    named = [i for i in st.query_params.get(RUN_PARAM, "").split(",") if i]
    lost = [i for i in named if i not in mine and not trainer_is_live(i)]
    if lost:
        st.session_state[LOST_NOTICE] = len(lost)
    if mine:
        st.query_params[RUN_PARAM] = ",".join(mine)
    elif RUN_PARAM in st.query_params:
        del st.query_params[RUN_PARAM]
    count = st.session_state.get(LOST_NOTICE)
    if count:
        runs = "training run was" if count == 1 else f"{count} training runs were"
        st.warning(
            f"The server restarted, and your {runs} lost: its curves and any weights you had "
            "not saved are gone. Checkpoints you saved are files in `checkpoints/` and are "
            "intact. Start the run again on the Train or Compare page.",
            icon=":material/restart_alt:",
        )
        st.button("Got it", key="lost_runs_dismiss", on_click=dismiss_lost_notice)
