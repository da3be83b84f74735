"""Home: what LeNet-5 is, how to use the app, and the architecture computed by the library.

Loads no data, so it works before MNIST is fetched.
"""

import pandas as pd
import streamlit as st

from lenet_viz.figures.training import architecture_figure
from pages.common import DATASET_LABELS, dataset_ready, fetch_hint, model_info, page_links

st.title("LeNet-5 Explorer")
st.markdown(
    "**LeNet-5** is the convolutional neural network Yann LeCun, Léon Bottou, Yoshua Bengio "
    "and Patrick Haffner published in 1998 to read handwritten digits (*Gradient-Based "
    "Learning Applied to Document Recognition*). It looks at a 32x32 image through small "
    "5x5 filters, shrinks the result, looks again, and ends with a few fully connected "
    "layers that vote for one of the ten digits. Almost every image network since follows "
    "the same plan."
)

intro, links = st.columns([3, 2], gap="large")
with intro:
    st.subheader("How to use this app")
    st.markdown(
        "1. **Train** a LeNet-5 and watch its loss fall and its accuracy climb, batch after "
        "batch. Change the learning rate or the activation and see what changes.\n"
        "2. **Compare** runs side by side from the same starting weights: the notebook's "
        "experiment shows why *sigmoid* gets stuck while *ReLU* learns.\n"
        "3. **Draw** a digit with the mouse and see what the network reads.\n"
        "4. Look **Inside LeNet-5**: every layer's feature maps for your digit."
    )
    missing = [name for name in DATASET_LABELS if not dataset_ready(name)]
    if "mnist" in missing:
        st.warning(fetch_hint("mnist"))
with links:
    st.subheader("Pages")
    page_links()

st.subheader("The architecture")
st.markdown(
    "Two versions, computed from the networks themselves. **Modern** is the usual "
    "simplification (ReLU, max-pooling, every S2 map feeding every C3 map, softmax output). "
    "**Faithful** follows the 1998 paper: scaled tanh, trainable subsampling, C3 wired by "
    "the paper's Table I, and an RBF output layer. *Connections* counts the multiply-adds, "
    "as the paper does; shared weights make it much larger than the number of parameters."
)

ARCH_TITLES = {
    "modern": "Modern LeNet-5",
    "faithful": "Faithful LeNet-5 (LeCun et al. 1998)",
}


def layer_table(info: dict) -> pd.DataFrame:
    rows = [
        {
            "layer": layer["name"],
            "output shape": " x ".join(str(size) for size in layer["output_shape"]),
            "parameters": layer["params"],
            "connections": layer["connections"],
        }
        for layer in info["layers"]
    ]
    rows.append(
        {
            "layer": "total",
            "output shape": "",
            "parameters": info["total_params"],
            "connections": info["total_connections"],
        }
    )
    return pd.DataFrame(rows)


for tab, arch in zip(st.tabs(list(ARCH_TITLES.values())), ARCH_TITLES, strict=True):
    with tab:
        info = model_info(arch)
        st.plotly_chart(
            architecture_figure(info),
            key=f"home_arch_{arch}",
            config={"displayModeBar": False, "staticPlot": True},
        )
        st.dataframe(
            layer_table(info),
            hide_index=True,
            column_config={
                "parameters": st.column_config.NumberColumn(format="localized"),
                "connections": st.column_config.NumberColumn(format="localized"),
            },
        )
