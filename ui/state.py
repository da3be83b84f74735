"""Session keys, run statuses and the session's trainers: the one place that names them.

Pages and `ui` modules import them as `from ui.state import ...` (app.py's folder is on sys.path).
Everything here is UI glue; the logic lives in `lenet_viz`.
"""

from __future__ import annotations

import collections
import itertools
import weakref
from collections.abc import Callable

import streamlit as st

from lenet_viz.figures.live import LiveView
from lenet_viz.training.runner import Trainer
from lenet_viz.training.status import ACTIVE_STATUSES, FINISHED_STATUSES

# Session-state keys of the app contract (ARCHITECTURE.md, "The UI package").
TRAIN_TRAINER = "train_trainer"
COMPARE_TRAINER = "compare_trainer"
TRAINER_KEYS = (TRAIN_TRAINER, COMPARE_TRAINER)
SAVED_MODELS = "saved_models"
DIGIT = "digit"
LANGUAGE = "language"  # the interface's language, "en" or "zh" (ui/i18n.py chooses it)
# The class board (ui/class_board): this browser's identity, the class it is in, the teacher's
# token (Class page), the "publish my runs" toggle and the trainers being watched for it.
BROWSER_ID = "browser_id"
CLASS_CODE = "class_code"
CLASS_STUDENT = "class_student"
CLASS_TEACHER_TOKEN = "class_teacher_token"
CLASS_PUBLISH = "class_publish"
CLASS_WATCHERS = "class_watchers"

# Widgets created with persist_state=PERSIST keep their values when the user visits another page
# and comes back (by default Streamlit forgets the state of widgets a page did not draw).
PERSIST = "session"

POLL_SECONDS = 0.8  # the live panel's refresh period: "updated at least once a second"


def default(key: str, value) -> None:
    """Give a widget its initial value through session state (once), never through `value=`."""
    if key not in st.session_state:
        st.session_state[key] = value


# Every trainer a page made in this process: by id (a reloaded page finds its run through the
# `?runs=` ids in its URL), and the session-state key and owner token it lives under.
_TRAINERS_BY_ID: weakref.WeakValueDictionary[str, Trainer] = weakref.WeakValueDictionary()
_OWNERS: weakref.WeakKeyDictionary[Trainer, tuple[str, int]] = weakref.WeakKeyDictionary()
_OWNER_TOKENS = itertools.count(1)
# Ids of runs stopped because their session ended (bounded), so a late reload can say so.
ENDED_WITH_SESSION: collections.deque[str] = collections.deque(maxlen=1000)


def _stop_unless_adopted(trainer: Trainer, token: int) -> None:
    """Stop `trainer` if the session that owned it with `token` still does (not adopted)."""
    owner = _OWNERS.get(trainer)
    if owner is not None and owner[1] == token and not trainer.done:
        ENDED_WITH_SESSION.append(trainer.id)
        trainer.stop()


class StopWhenSessionEnds:
    """Kept in session_state next to a trainer; stops the trainer when the session is dropped.

    When a tab is closed or reloaded, Streamlit keeps the old session for its reconnect window
    (`server.disconnectedSessionTTL`, 2 minutes), then forgets it; this object goes with the
    state, and its finalizer stops the run. That can be minutes later (the session store drops
    expired sessions only when it is next used), so the slot itself is guarded by the Trainer:
    a paused run holds none, and a run no page touches gives way to a waiting one. A page
    reloaded in time adopts the run instead (`adopt_trainer`): then this stopper does nothing.
    """

    def __init__(self, trainer: Trainer, state_key: str) -> None:
        token = next(_OWNER_TOKENS)
        _TRAINERS_BY_ID[trainer.id] = trainer
        _OWNERS[trainer] = (state_key, token)
        self._finalizer = weakref.finalize(self, _stop_unless_adopted, trainer, token)


def trainer_by_id(trainer_id: str) -> tuple[Trainer, str] | None:
    """The live trainer a page made with this id, and the session-state key it lives under."""
    trainer = _TRAINERS_BY_ID.get(trainer_id)
    owner = _OWNERS.get(trainer) if trainer is not None else None
    return (trainer, owner[0]) if owner is not None else None


def replace_trainer(state_key: str, trainer: Trainer) -> None:
    """Keep `trainer` in the session under `state_key`, stopping the one it replaces."""
    previous = st.session_state.get(state_key)
    if previous is not None and previous is not trainer and not previous.done:
        previous.stop()
    st.session_state[state_key] = trainer
    st.session_state[f"{state_key}_stopper"] = StopWhenSessionEnds(trainer, state_key)
    trainer.touch()


def adopt_trainer(state_key: str, trainer: Trainer) -> None:
    """Take over a run of a session that is gone (a reloaded page): this session owns it now,
    and the old session's stopper leaves it alone."""
    st.session_state[state_key] = trainer
    st.session_state[f"{state_key}_stopper"] = StopWhenSessionEnds(trainer, state_key)
    trainer.touch()


def is_active(trainer: Trainer | None) -> bool:
    """True while the trainer is queued, training or paused (not before start, not at the end)."""
    return trainer is not None and trainer.status in ACTIVE_STATUSES


def status_of(trainer: Trainer | None) -> str | None:
    """The trainer's status, read once (None without a trainer): a page draws with one value."""
    return trainer.status if trainer is not None else None


def poll_period(status: str | None) -> float | None:
    """How often the live panel polls a trainer last seen with `status`: every POLL_SECONDS
    until the run is over (idle after "Step", queued, running, paused), else never.

    The page reads the status once and uses it both for this and as the "seen" status the
    panel compares with: a panel drawn for an unfinished run therefore always polls, and a
    poll that sees another status reruns the page (which then decides again).
    """
    return POLL_SECONDS if status is not None and status not in FINISHED_STATUSES else None


def live_view(state_key: str, trainer: Trainer, x: str = "iteration", prepare=None) -> LiveView:
    """The session's LiveView of `trainer` (kept at `state_key`, replaced for a new trainer, or
    when `prepare`, its figures' translation, changed with the language): each poll reads only
    the iterations added since the last one."""
    view = st.session_state.get(state_key)
    if not isinstance(view, LiveView) or not view.follows(trainer, x, prepare):
        view = LiveView(trainer, x=x, prepare=prepare)
        st.session_state[state_key] = view
    return view


PAGE_JUST_DRAWN = "live_fragment_page_just_drawn"  # the next fragment run is the inline one


def live_fragment(
    body: Callable[[], None], status: str | None, trainer_key: str, seen_status_key: str
) -> None:
    """Draw `body` as the page's one polling fragment: it reruns every poll_period(status)
    seconds, and reruns the whole page when the trainer at `trainer_key` no longer has the
    status the page was drawn with (`session_state[seen_status_key]`): the buttons and the
    results follow the status.

    Streamlit's browser side blanked pages under load ("Cannot set a node at a delta path")
    when a page had two polling fragments (curves, and the inside view) and a status change
    reran the app. So: one polling fragment per page, the status checked before it draws
    anything, and no rerun from the call inside the page's own run (a status that changed a
    moment ago is drawn as it is; the next poll reruns the page).
    """
    st.session_state[PAGE_JUST_DRAWN] = True

    def poll() -> None:
        inline = st.session_state.pop(PAGE_JUST_DRAWN, False)
        trainer = st.session_state.get(trainer_key)
        seen = st.session_state.get(seen_status_key)
        if not inline and trainer is not None and trainer.status != seen:
            st.rerun(scope="app")
        body()

    st.fragment(poll, run_every=poll_period(status))()
