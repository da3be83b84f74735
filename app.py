"""LeNet-5 Explorer: `streamlit run app.py`.

The entry only configures the page and registers the six pages (ui/navigation.py); each page is a
thin script in pages/ over the `lenet_viz` library.
"""

import streamlit as st

from ui.navigation import run_app
from ui.session_guard import guard_runs_across_restarts

st.set_page_config(page_title="LeNet-5 Explorer", page_icon=":material/pin:", layout="wide")

run_app(before_page=guard_runs_across_restarts)
