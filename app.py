"""LeNet-5 Explorer: `streamlit run app.py`.

The entry only configures the page and registers the six pages; each page is a thin script in
pages/ over the `lenet_viz` library. With st.navigation, files in pages/ are not auto-discovered.
"""

import streamlit as st

from pages.session_guard import guard_runs_across_restarts

st.set_page_config(page_title="LeNet-5 Explorer", page_icon=":material/pin:", layout="wide")

PAGES = [
    st.Page("pages/home.py", title="Home", icon=":material/home:", default=True),
    st.Page("pages/train.py", title="Train", icon=":material/monitoring:", url_path="train"),
    st.Page(
        "pages/compare.py", title="Compare", icon=":material/compare_arrows:", url_path="compare"
    ),
    st.Page("pages/draw.py", title="Draw", icon=":material/draw:", url_path="draw"),
    st.Page(
        "pages/inside.py", title="Inside LeNet-5", icon=":material/biotech:", url_path="inside"
    ),
    st.Page(
        "pages/robustness.py", title="Robustness", icon=":material/shield:", url_path="robustness"
    ),
]

page = st.navigation(PAGES)
guard_runs_across_restarts()
page.run()
