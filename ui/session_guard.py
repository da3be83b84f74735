"""Nothing silently half-lost: a reloaded page finds its run again, and a lost run is reported.

The ids of this session's trainers are kept in the page URL (`?runs=...`); a reload (F5) or a
reconnect keeps the URL. Then:
- a run this server still has, whose page is gone, is adopted by the new session: the run goes
  on (or stays paused) and the page shows it again, with its settings (`adopt_named_runs`);
- a run the server no longer has was lost: the server restarted, or the run was stopped after
  its page had been closed for Streamlit's reconnect window. The page says which.
Saved checkpoints are files, so they survive.

While this session has a run going on, a small fragment touches its trainers every
HEARTBEAT_SECONDS on every page: a run whose page was closed stops being touched, and gives
its training slot to a waiting run (lenet_viz.training.loop.UNWATCHED_SECONDS).
"""

import time

import streamlit as st

from lenet_viz.training.runner import trainer_is_live
from ui.i18n import _, language_param, ngettext
from ui.library_text import library_text
from ui.state import (
    ENDED_WITH_SESSION,
    LANGUAGE,
    SAVED_MODELS,
    TRAINER_KEYS,
    adopt_trainer,
    trainer_by_id,
)

RUN_PARAM = "runs"
LOST_NOTICE = "lost_runs_notice"
ADOPTED = "adopted_trainers"  # {state key: trainer id}: pages restore their settings from it
WAITING_SINCE = "adopt_waiting_since"  # when this page first saw its run still watched
HEARTBEAT_SECONDS = 1.5
# A run touched this recently may still have its page open elsewhere (another tab with the same
# link): wait until it has not been touched for this long before adopting it. A reloaded page's
# old session stops touching at once; live pages touch at least every HEARTBEAT_SECONDS.
ADOPT_AFTER_SECONDS = 4.0
GIVE_UP_SECONDS = 15.0  # still touched after this long: the run is open in another tab


def session_trainers() -> list:
    return [st.session_state[key] for key in TRAINER_KEYS if st.session_state.get(key)]


def session_trainer_ids() -> list[str]:
    return [trainer.id for trainer in session_trainers()]


def dismiss_lost_notice() -> None:
    st.session_state.pop(LOST_NOTICE, None)


def unwatched_for(trainer) -> float:
    """Seconds since a page last touched the trainer (infinite if never)."""
    return float("inf") if trainer.last_seen is None else time.monotonic() - trainer.last_seen


def adopt_named_runs(named: list[str]) -> list[str]:
    """Adopt the live runs the URL names whose page is gone; return the ids still watched
    elsewhere (not adopted yet)."""
    watched = []
    for trainer_id in named:
        found = trainer_by_id(trainer_id)
        if found is None:
            continue
        trainer, key = found
        if st.session_state.get(key) is not None:
            continue  # this session has its own run there
        if not trainer.done and unwatched_for(trainer) < ADOPT_AFTER_SECONDS:
            watched.append(trainer_id)
            continue
        adopt_trainer(key, trainer)
        st.session_state.setdefault(ADOPTED, {})[key] = trainer_id
        st.toast(
            _("Reconnected to your run ({status}): it was kept while the page reloaded.").format(
                status=library_text(trainer.status)
            ),
            icon=":material/link:",
        )
    return watched


def wait_to_adopt(watched: list[str]) -> None:
    """A run the URL names is still watched: wait a little (a reload's old page stops within
    seconds), then adopt it, or say it stays where it is open."""
    since = st.session_state.setdefault(WAITING_SINCE, time.monotonic())
    if time.monotonic() - since > GIVE_UP_SECONDS:
        st.info(
            _(
                "This link names a training run that is open in another tab or browser; it stays "
                "there. Start your own run here."
            ),
            icon=":material/tab:",
        )
        return

    def poll() -> None:
        for trainer_id in watched:
            found = trainer_by_id(trainer_id)
            if (
                found is None
                or found[0].done
                or unwatched_for(found[0]) >= ADOPT_AFTER_SECONDS
                or time.monotonic() - since > GIVE_UP_SECONDS
            ):
                st.rerun(scope="app")
        st.caption(_("Reconnecting to your training run…"))

    st.fragment(poll, run_every=1.0)()


def heartbeat() -> None:
    """Touch this session's trainers: a page of this session is open."""
    for trainer in session_trainers():
        trainer.touch()


def guard_runs_across_restarts() -> None:
    """Adopt or report the runs the URL names; keep the URL up to date; keep the runs touched."""
    named = [i for i in st.query_params.get(RUN_PARAM, "").split(",") if i]
    watched = adopt_named_runs([i for i in named if i not in session_trainer_ids()])
    mine = session_trainer_ids()
    lost = [i for i in named if i not in mine and i not in watched and not trainer_is_live(i)]
    if lost:
        ended = any(i in ENDED_WITH_SESSION for i in lost)
        st.session_state[LOST_NOTICE] = ("ended" if ended else "restart", len(lost))
    if watched:
        wait_to_adopt(watched)
    else:
        st.session_state.pop(WAITING_SINCE, None)
    if mine or watched:
        st.query_params[RUN_PARAM] = ",".join(mine + watched)
    elif RUN_PARAM in st.query_params:
        del st.query_params[RUN_PARAM]
    if any(not trainer.done for trainer in session_trainers()):
        heartbeat()
        with st.sidebar:
            st.fragment(heartbeat, run_every=HEARTBEAT_SECONDS)()
    reset_control()
    lost_notice()


RESET_ASKED = "reset_asked"
KEPT_BY_RESET = (SAVED_MODELS, LANGUAGE)  # files on disk; the interface's language


def ask_reset() -> None:
    st.session_state[RESET_ASKED] = True


def cancel_reset() -> None:
    st.session_state.pop(RESET_ASKED, None)


def reset_session() -> None:
    """Forget this session's runs (stopped first) and settings; saved checkpoints stay."""
    state = st.session_state
    for key in list(state.keys()):
        value = state[key]
        for trainer in value if isinstance(value, list) else [value]:
            if hasattr(trainer, "stop") and hasattr(trainer, "done") and not trainer.done:
                trainer.stop()
    kept = {key: state[key] for key in KEPT_BY_RESET if key in state}
    for key in list(state.keys()):
        del state[key]
    state.update(kept)
    st.query_params.clear()
    st.query_params.update(language_param())  # the reset keeps the language
    st.toast(
        _("This session starts afresh: runs and settings forgotten."), icon=":material/restart_alt:"
    )


def reset_control() -> None:
    """In the sidebar: forget this session's runs and settings (after a confirmation)."""
    with st.sidebar:
        if not st.session_state.get(RESET_ASKED):
            st.button(
                _("Reset this session"),
                key="reset_session",
                icon=":material/restart_alt:",
                on_click=ask_reset,
                help=_(
                    "Stop and forget your runs and settings (for a fresh start in class). "
                    "Saved checkpoints stay."
                ),
            )
            return
        st.warning(_("Stop and forget all your runs and settings? Saved checkpoints stay."))
        st.button(_("Yes, reset"), key="reset_confirm", on_click=reset_session, type="primary")
        st.button(_("Cancel"), key="reset_cancel", on_click=cancel_reset)


def lost_notice() -> None:
    notice = st.session_state.get(LOST_NOTICE)
    if not notice:
        return
    cause, count = notice if isinstance(notice, tuple) else ("restart", notice)
    if cause == "ended":
        text = ngettext(
            "Your training run stopped: its page was closed for longer than the server keeps a "
            "closed page (about 2 minutes). Its curves and any weights you had not saved are "
            "gone. Checkpoints you saved are files in `checkpoints/` and are intact. Start the "
            "run again on the Train or Compare page.",
            "Your {count} training runs stopped: their page was closed for longer than the "
            "server keeps a closed page (about 2 minutes). Their curves and any weights you had "
            "not saved are gone. Checkpoints you saved are files in `checkpoints/` and are "
            "intact. Start the runs again on the Train or Compare page.",
            count,
        )
    else:
        text = ngettext(
            "The server restarted, and your training run was lost: its curves and any weights "
            "you had not saved are gone. Checkpoints you saved are files in `checkpoints/` and "
            "are intact. Start the run again on the Train or Compare page.",
            "The server restarted, and your {count} training runs were lost: their curves and "
            "any weights you had not saved are gone. Checkpoints you saved are files in "
            "`checkpoints/` and are intact. Start the runs again on the Train or Compare page.",
            count,
        )
    text = text.format(count=count)
    st.warning(text, icon=":material/restart_alt:")
    st.button(_("Got it"), key="lost_runs_dismiss", on_click=dismiss_lost_notice)
