"""The app's pages, registered in one place, and the guard for a deep link on a fresh server.

Streamlit treats a `pages/` folder beside the entry script the old way (every file in it is a
page, and the entry script is skipped) until the first script run calls `st.navigation`. So the
very first visitor of a fresh server who opens `/draw` directly would get the page without
app.py: no page config, no guard, and a sidebar that lists the folder's files. `run_app` marks
the script runs that went through app.py; a page run without that mark registers the app's
pages with the public `st.navigation` (which turns the old way off for the server) and reruns,
so app.py then opens the page the URL asks for.
"""

from __future__ import annotations

import threading

import streamlit as st

# Per script-runner thread: is the current script run going through app.py's navigation?
run_state = threading.local()


def app_pages() -> list:
    """The five pages, in the sidebar's order."""
    return [
        st.Page("pages/home.py", title="Home", icon=":material/home:", default=True),
        st.Page("pages/train.py", title="Train", icon=":material/monitoring:", url_path="train"),
        st.Page(
            "pages/compare.py",
            title="Compare",
            icon=":material/compare_arrows:",
            url_path="compare",
        ),
        st.Page("pages/draw.py", title="Draw", icon=":material/draw:", url_path="draw"),
        st.Page(
            "pages/inside.py",
            title="Inside LeNet-5",
            icon=":material/biotech:",
            url_path="inside",
        ),
    ]


def run_app(before_page=None) -> None:
    """app.py's body: register the pages, run `before_page` (if any), then the chosen page."""
    page = st.navigation(app_pages())
    if before_page is not None:
        before_page()
    run_state.through_app = True
    try:
        page.run()
    finally:
        run_state.through_app = False


def ensure_app_navigation() -> None:
    """Rerun through app.py if this page was run without it (a deep link on a fresh server)."""
    if getattr(run_state, "through_app", False):
        return
    st.navigation(app_pages(), position="hidden")
    st.rerun()
