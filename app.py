"""LeNet-5 Explorer: `streamlit run app.py`.

The entry only configures the page and registers the five pages; each page is a thin script in
pages/ over the `lenet_viz` library. With st.navigation, files in pages/ are not auto-discovered.
"""

import streamlit as st

st.set_page_config(page_title="LeNet-5 Explorer", page_icon="🔢", layout="wide")

PAGES = [
    st.Page("pages/home.py", title="Home", icon="🏠", default=True),
    st.Page("pages/train.py", title="Train", icon="📈", url_path="train"),
    st.Page("pages/compare.py", title="Compare", icon="⚖️", url_path="compare"),
    st.Page("pages/draw.py", title="Draw", icon="✏️", url_path="draw"),
    st.Page("pages/inside.py", title="Inside LeNet-5", icon="🔬", url_path="inside"),
]

st.navigation(PAGES).run()
