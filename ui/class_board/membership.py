"""Being in a class, on every page: this browser's durable identity (a random id in a cookie),
joining by `?class=CODE`, the sidebar's class panel, and publishing every finished run.

Cookies are read from the request (`st.context.cookies`) and written by a small script
(`st.html`, our own fixed text): a reload, a new tab or a server restart finds the same student
in the same class.
"""

from __future__ import annotations

import re
import time

import streamlit as st

from lenet_viz.classroom import ClassNotFound, StorageUnavailable, Student, new_identity
from lenet_viz.classroom.publication import PublishWhenDone
from lenet_viz.classroom.schema import NAME_LENGTH
from lenet_viz.training.status import RunStatus
from ui.class_board.resources import class_board, class_outbox, workspace
from ui.i18n import _
from ui.library_text import library_text
from ui.state import (
    BROWSER_ID,
    CLASS_CODE,
    CLASS_PUBLISH,
    CLASS_STUDENT,
    CLASS_TEACHER_TOKEN,
    CLASS_WATCHERS,
    TRAINER_KEYS,
    default,
)

CLASS_PARAM, TEACHER_PARAM = "class", "teacher"
IDENTITY_COOKIE, CLASS_COOKIE = "lenet_viz_id", "lenet_viz_class"
COOKIE_SECONDS = 365 * 24 * 3600
IDENTITY_PATTERN = re.compile(r"[A-Za-z0-9_-]{16,64}")
CODE_PATTERN = re.compile(r"[A-Z2-7]{16}")
NAME_INPUT = "class_display_name"
CLASS_NOTICE = "class_notice"
PUBLISH_SWITCH = "class_publish_switch"  # the object the watcher threads read the toggle from
JOIN_TRIED = "class_join_tried"  # when joining last failed (the database was down)
JOIN_RETRY_SECONDS = 10.0
LEFT_CLASS = "class_left"  # the class this session left: its cookie no longer joins it


class PublishSwitch:
    """The toggle's value where a training thread can read it (not in session state)."""

    enabled = True


def cookie(name: str) -> str:
    """The cookie the browser sent ("" if none; AppTest has no browser and no cookies)."""
    value = st.context.cookies.get(name, "")
    return value if isinstance(value, str) else ""


def browser_identity() -> str:
    """This browser's secret id: from its cookie, else a new one (written to the cookie)."""
    if BROWSER_ID not in st.session_state:
        sent = cookie(IDENTITY_COOKIE)
        st.session_state[BROWSER_ID] = sent if IDENTITY_PATTERN.fullmatch(sent) else new_identity()
    return st.session_state[BROWSER_ID]


def class_code() -> str | None:
    return st.session_state.get(CLASS_CODE)


def student() -> Student | None:
    return st.session_state.get(CLASS_STUDENT)


def requested_code() -> str | None:
    """The class this page is asked to be in: the link's `?class=`, else the session's, else
    the one the browser's cookie remembers."""
    from_link = st.query_params.get(CLASS_PARAM, "").strip().upper()
    if from_link:
        return from_link
    if class_code():
        return class_code()
    remembered = cookie(CLASS_COOKIE)
    if remembered == st.session_state.get(LEFT_CLASS):
        return None  # left in this session (the request's cookie is older than that)
    return remembered if CODE_PATTERN.fullmatch(remembered) else None


def join(code: str, name: str | None = None) -> None:
    """Join the class (or come back to it) as this browser; the sidebar says what went wrong."""
    try:
        token = st.query_params.get(TEACHER_PARAM) or st.session_state.get(CLASS_TEACHER_TOKEN)
        joined = class_board().join(code, browser_identity(), name, teacher_token=token)
    except ClassNotFound as error:
        st.session_state[CLASS_NOTICE] = library_text(str(error))
        leave()
        return
    except StorageUnavailable as error:
        # Still in the class: its runs wait in the outbox, and joining is tried again.
        st.session_state[CLASS_CODE] = code
        st.session_state[JOIN_TRIED] = time.monotonic()
        st.session_state[CLASS_NOTICE] = library_text(str(error))
        return
    st.session_state[CLASS_CODE] = joined.code
    st.session_state[CLASS_STUDENT] = joined
    st.session_state[NAME_INPUT] = joined.display_name


def leave() -> None:
    st.session_state[LEFT_CLASS] = class_code()
    for key in (CLASS_CODE, CLASS_STUDENT):
        st.session_state.pop(key, None)
    if CLASS_PARAM in st.query_params:
        del st.query_params[CLASS_PARAM]


def rename() -> None:
    """The name field's callback."""
    if class_code():
        join(class_code(), st.session_state[NAME_INPUT])


def follow_class() -> None:
    """app.py's hook, before every page: join the class a link or cookie names, show the
    class panel in the sidebar, and watch this session's runs to publish them."""
    browser_identity()
    class_outbox()  # made at a server's first page view: runs a stopped server left are retried
    code = requested_code()
    retry_due = time.monotonic() - st.session_state.get(JOIN_TRIED, -JOIN_RETRY_SECONDS)
    if code and (code != class_code() or (student() is None and retry_due >= JOIN_RETRY_SECONDS)):
        join(code)
    default(CLASS_PUBLISH, True)
    switch = st.session_state.setdefault(PUBLISH_SWITCH, PublishSwitch())
    switch.enabled = bool(st.session_state[CLASS_PUBLISH])
    if class_code():
        sidebar_panel()
    watch_trainers(switch)
    notice = st.session_state.pop(CLASS_NOTICE, None)
    if notice:
        st.sidebar.warning(notice)
    remember_in_cookies()


def sidebar_panel() -> None:
    me = student()
    with st.sidebar.container(border=True):
        st.caption(_("Class board"))
        if me is None:
            st.caption(_("Joining the class when its database answers again."))
            return
        if not st.session_state.get(NAME_INPUT):
            # The field's key is gone if a script run ended without drawing the field (Streamlit
            # then forgets its value): the field would read empty. The board's name is the truth.
            st.session_state[NAME_INPUT] = me.display_name
        st.text_input(
            _("Your name on the board"), key=NAME_INPUT, max_chars=NAME_LENGTH, on_change=rename
        )
        st.toggle(
            _("Publish my finished runs"),
            key=CLASS_PUBLISH,
            help=_("Every run you finish on Train or Compare goes to the class board."),
        )
        if me.assignment:
            st.text(_("Your part: {part}").format(part=part_text(me.assignment)))
        waiting = class_outbox().waiting(me.code)
        if waiting:
            st.caption(
                _("{count} run(s) wait for the board's database; they are kept.").format(
                    count=waiting
                )
            )
        st.page_link(
            "pages/classroom.py", label=_("Open the class board"), icon=":material/groups:"
        )
        st.button(_("Leave the class"), on_click=leave, key="class_leave")


def part_text(assignment: dict) -> str:
    """'activation sigmoid, lr 0.1', in the page's language."""
    return ", ".join(
        f"{library_text(name)} {library_text(str(value))}" for name, value in assignment.items()
    )


def watch_trainers(switch: PublishSwitch) -> None:
    """Keep each of this session's trainers when it finishes (a thread waits for it): in the
    browser's history, and on the class board if in a class."""

    watchers = st.session_state.setdefault(CLASS_WATCHERS, {})
    for key in TRAINER_KEYS:
        trainer = st.session_state.get(key)
        if trainer is None or trainer.status == RunStatus.IDLE or trainer.id in watchers:
            continue
        watchers[trainer.id] = PublishWhenDone(
            trainer,
            class_outbox(),
            class_code(),
            browser_identity(),
            wanted=lambda: switch.enabled,
            workspace=workspace(),
        )


def remember_in_cookies() -> None:
    """Write the identity and class cookies the browser did not send. Drawn at every script run
    of the session that needs it (the cookies a session sees are those of its first request), so
    that the sidebar keeps the same elements from run to run."""
    wanted = {IDENTITY_COOKIE: browser_identity(), CLASS_COOKIE: class_code() or ""}
    missing = {name: value for name, value in wanted.items() if cookie(name) != value}
    if not missing:
        return
    lines = "".join(
        f'document.cookie = "{name}={value}; path=/; max-age={COOKIE_SECONDS if value else 0}; '
        'SameSite=Lax";'
        for name, value in missing.items()
    )
    with st.sidebar:
        st.html(f"<script>{lines}</script>", unsafe_allow_javascript=True)
