"""The server's one class board, outbox and workspace (shared by every session)."""

from __future__ import annotations

import streamlit as st

from lenet_viz.classroom import ClassBoard
from lenet_viz.classroom.publication import Outbox
from lenet_viz.classroom.workspace import Workspace


@st.cache_resource
def class_board() -> ClassBoard:
    """The board on the configured database (LENET_VIZ_DATABASE_URL, else data/); it connects
    at its first use, so a database that is down does not stop the app."""
    return ClassBoard.from_url()


@st.cache_resource
def class_outbox() -> Outbox:
    return Outbox(class_board())


@st.cache_resource
def workspace() -> Workspace:
    """Each browser's own runs and saved models, on the board's database."""
    return Workspace(class_board())
