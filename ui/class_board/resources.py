"""The server's one class board, outbox and workspace (shared by every session)."""

from __future__ import annotations

import streamlit as st

from lenet_viz.classroom import ClassBoard
from lenet_viz.classroom.outbox_file import outbox_path
from lenet_viz.classroom.publication import Outbox
from lenet_viz.classroom.workspace import Workspace


@st.cache_resource(show_spinner=False)
def class_board() -> ClassBoard:
    """The board on the configured database (LENET_VIZ_DATABASE_URL, else data/); it connects
    at its first use, so a database that is down does not stop the app."""
    return ClassBoard.from_url()


@st.cache_resource(show_spinner=False)
def class_outbox() -> Outbox:
    """Runs waiting for the database, kept in a file beside it: a server restarted during an
    outage reads them back (at its first page view) and publishes them when it is back."""
    board = class_board()
    return Outbox(board, path=outbox_path(board.engine.url))


@st.cache_resource(show_spinner=False)
def workspace() -> Workspace:
    """Each browser's own runs and saved models, on the board's database."""
    return Workspace(class_board())
