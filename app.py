"""LeNet-5 Explorer: `streamlit run app.py`.

The entry only configures the page and registers the six pages (ui/navigation.py); each page is a
thin script in pages/ over the `lenet_viz` library.
"""

import streamlit as st

from lenet_viz.figures.svg.fluid import page_css
from ui.class_board.membership import follow_class
from ui.layout import style
from ui.navigation import run_app
from ui.session_guard import guard_runs_across_restarts

st.set_page_config(page_title="LeNet-5 Explorer", page_icon=":material/pin:", layout="wide")


def before_page() -> None:
    style(page_css())  # the line charts' rules, once a page (ui.charts draws them without)
    guard_runs_across_restarts()
    follow_class()  # ?class=CODE joins; finished runs go to the class board


run_app(before_page=before_page)
