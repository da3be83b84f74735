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

from ui.i18n import _, choose_language

# Per script-runner thread: is the current script run going through app.py's navigation?
run_state = threading.local()

PAGE_FILES = {
    "home": "pages/home.py",
    "train": "pages/train.py",
    "compare": "pages/compare.py",
    "draw": "pages/draw.py",
    "inside": "pages/inside.py",
    "robustness": "pages/robustness.py",
    "classroom": "pages/classroom.py",
}


def app_pages() -> list:
    """The pages, in the sidebar's order."""
    return [
        st.Page(PAGE_FILES["home"], title=_("Home"), icon=":material/home:", default=True),
        st.Page(
            PAGE_FILES["train"], title=_("Train"), icon=":material/monitoring:", url_path="train"
        ),
        st.Page(
            PAGE_FILES["compare"],
            title=_("Compare"),
            icon=":material/compare_arrows:",
            url_path="compare",
        ),
        st.Page(PAGE_FILES["draw"], title=_("Draw"), icon=":material/draw:", url_path="draw"),
        st.Page(
            PAGE_FILES["inside"],
            title=_("Inside LeNet-5"),
            icon=":material/biotech:",
            url_path="inside",
        ),
        st.Page(
            PAGE_FILES["robustness"],
            title=_("Robustness"),
            icon=":material/shield:",
            url_path="robustness",
        ),
        st.Page(
            PAGE_FILES["classroom"],
            title=_("Class board"),
            icon=":material/groups:",
            url_path="classroom",
        ),
    ]


def run_app(before_page=None) -> None:
    """app.py's body: settle the language, register the pages, run `before_page` (if any), then
    the chosen page."""
    choose_language()
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


def page_links() -> None:
    """A link to every page, with what it is for."""
    st.page_link(PAGE_FILES["home"], label=_("Home: what LeNet-5 is"), icon=":material/home:")
    st.page_link(
        PAGE_FILES["train"],
        label=_("Train: watch the net learn, live"),
        icon=":material/monitoring:",
    )
    st.page_link(
        PAGE_FILES["compare"],
        label=_("Compare: runs side by side (sigmoid vs ReLU)"),
        icon=":material/compare_arrows:",
    )
    st.page_link(
        PAGE_FILES["draw"],
        label=_("Draw: write a digit, see the prediction"),
        icon=":material/draw:",
    )
    st.page_link(
        PAGE_FILES["inside"],
        label=_("Inside LeNet-5: what every layer sees"),
        icon=":material/biotech:",
    )
    st.page_link(
        PAGE_FILES["robustness"],
        label=_("Robustness: accuracy on rotated, shifted, noisy digits"),
        icon=":material/shield:",
    )
    st.page_link(
        PAGE_FILES["classroom"],
        label=_("Class board: a whole class's runs on one board"),
        icon=":material/groups:",
    )
