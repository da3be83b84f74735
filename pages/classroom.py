"""Class board: a teacher's class pools every student's finished runs on one board.

Opened with `?class=CODE` (any page joins the class; see ui/class_board/membership.py), or
with the teacher's link (`&teacher=TOKEN`), which adds the class link's QR code, the
assignments grid and the controls to close or delete the class and remove runs.
"""

from __future__ import annotations

import streamlit as st

from lenet_viz.classroom import ClassNotFound, StorageUnavailable
from ui.class_board.board_view import board_fragment
from ui.class_board.kept_work import class_models_panel
from ui.class_board.membership import class_code, leave, part_text, student
from ui.class_board.resources import class_board
from ui.class_board.teacher import (
    assignments_panel,
    create_or_join,
    manage_panel,
    remove_panel,
    share_panel,
    teacher_token,
)
from ui.i18n import _
from ui.navigation import ensure_app_navigation

ensure_app_navigation()  # a deep link on a fresh server: rerun through app.py
st.title(_("Class board"))
st.caption(
    _(
        "Every run a student of the class finishes on Train or Compare appears here: one table, "
        "every curve on one chart, and the pooled experiment."
    )
)
code = class_code()
info = None
if code is not None:
    try:
        info = class_board().info(code)
    except ClassNotFound as error:
        st.warning(str(error))
        leave()
    except StorageUnavailable as error:
        st.error(_("The class board's database is not reachable: {error}.").format(error=error))
        st.stop()
if info is None:
    create_or_join()
else:
    token = teacher_token()
    teacher = class_board().is_teacher(info.code, token)
    st.caption(_("Class"))
    st.text(info.name)  # as text: a class name is never Markdown or HTML
    if info.closed:
        st.warning(_("This class is closed: it takes no new runs."))
    me = student()
    if me is not None and not teacher:
        st.text(
            _("You are {name}.").format(name=me.display_name)
            + (
                " " + _("Your part: {part}.").format(part=part_text(me.assignment))
                if me.assignment
                else ""
            )
        )
    if teacher:
        with st.expander(_("Share the class"), expanded=info.run_count == 0):
            share_panel(info, token)
        with st.expander(_("Assignments: a grid the class fills in together")):
            assignments_panel(info, token)
        with st.expander(_("Models the class saved")):
            class_models_panel(info.code, token)
        with st.expander(_("Close or delete the class")):
            manage_panel(info, token)
    with st.expander(_("Remove runs")):
        remove_panel(info, token if teacher else None)
    board_fragment(info)
