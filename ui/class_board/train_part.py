"""The Train page's part in the class experiment: a student given a cell of the teacher's
assignments grid finds its settings preloaded, once ("your part: sigmoid, lr 0.1")."""

from __future__ import annotations

import streamlit as st

from ui.class_board.membership import part_text, student
from ui.i18n import _
from ui.train.settings import NOTICE, apply_settings

PRELOADED = "class_part_preloaded"  # the assignment already put into the settings


def preload_assignment() -> None:
    """Put the student's assigned settings into the Train settings (before they are drawn),
    once per assignment: the student may change them afterwards."""
    me = student()
    if me is None or not me.assignment or st.session_state.get(PRELOADED) == me.assignment:
        return
    apply_settings(me.assignment)
    st.session_state[PRELOADED] = me.assignment
    st.session_state[NOTICE] = (
        "info",
        _(
            "Your part in the class experiment: {part}. Start the run; it goes to the class "
            "board when it finishes."
        ).format(part=part_text(me.assignment)),
    )
