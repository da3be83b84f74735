"""Home: what LeNet-5 is, how to use the app, and the architecture computed by the library.

Loads no data, so it works before MNIST is fetched.
"""

import pandas as pd
import streamlit as st

from lenet_viz.figures.architecture import architecture_figure
from ui.cached_data import DATASET_LABELS, dataset_ready, fetch_hint, model_info
from ui.charts import static_chart_svg
from ui.i18n import N_, _, current_language
from ui.layout import columns_that_wrap, scrolls_below
from ui.library_text import library_text
from ui.navigation import ensure_app_navigation, page_links
from ui.train.sdlm_panel import shipped_sdlm_section

INTRO, DIAGRAM = "home_intro", "home_diagram"  # containers' keys
DIAGRAM_MIN_PX = 720  # eight layers whose labels stay apart (tests/browser/test_screens_browser)

ensure_app_navigation()  # a deep link on a fresh server: rerun through app.py
st.title(_("LeNet-5 Explorer"))
st.markdown(
    _(
        "**LeNet-5** is the convolutional neural network Yann LeCun, Léon Bottou, Yoshua Bengio "
        "and Patrick Haffner published in 1998 to read handwritten digits (*Gradient-Based "
        "Learning Applied to Document Recognition*). It looks at a 32x32 image through small "
        "5x5 filters, shrinks the result, looks again, and ends with a few fully connected "
        "layers that vote for one of the ten digits. Almost every image network since follows "
        "the same plan."
    )
)

columns_that_wrap(INTRO, (320, 300))  # the page links never clipped: they wrap below
intro, links = st.container(key=INTRO).columns([3, 2], gap="large")
with intro:
    st.subheader(_("How to use this app"))
    st.markdown(
        _(
            "1. **Train** a LeNet-5 and watch its loss fall and its accuracy climb, batch after "
            "batch. Change the learning rate or the activation and see what changes.\n"
            "2. **Compare** runs side by side from the same starting weights: the notebook's "
            "experiment shows why *sigmoid* gets stuck while *ReLU* learns.\n"
            "3. **Draw** a digit with the mouse and see what the network reads.\n"
            "4. Look **Inside LeNet-5**: every layer's feature maps for your digit."
        )
    )
    missing = [name for name in DATASET_LABELS if not dataset_ready(name)]
    if "mnist" in missing:
        st.warning(fetch_hint("mnist"))
with links:
    st.subheader(_("Pages"))
    page_links()

st.subheader(_("The architecture"))
st.markdown(
    _(
        "Two versions, computed from the networks themselves. **Modern** is the usual "
        "simplification (ReLU, max-pooling, every S2 map feeding every C3 map, softmax output). "
        "**Faithful** follows the 1998 paper: scaled tanh, trainable subsampling, C3 wired by "
        "the paper's Table I, and an RBF output layer. *Connections* counts the multiply-adds, "
        "as the paper does; shared weights make it much larger than the number of parameters."
    )
)

ARCH_TITLES = {
    "modern": N_("Modern LeNet-5"),
    "faithful": N_("Faithful LeNet-5 (LeCun et al. 1998)"),
}


def params_column(arch: str) -> str:
    return _("{arch} params").format(arch=library_text(arch))


def connections_column(arch: str) -> str:
    return _("{arch} connections").format(arch=library_text(arch))


def layer_table(infos: dict[str, dict]) -> pd.DataFrame:
    """One row per layer: its output shape, then parameters and connections of each net."""
    rows = []
    layer_lists = [info["layers"] for info in infos.values()]
    for layers in zip(*layer_lists, strict=True):
        row = {
            _("layer"): library_text(layers[0]["name"]),
            _("output shape"): " x ".join(str(size) for size in layers[0]["output_shape"]),
        }
        for arch, layer in zip(infos, layers, strict=True):
            row[params_column(arch)] = layer["params"]
            row[connections_column(arch)] = layer["connections"]
        rows.append(row)
    total = {_("layer"): _("total"), _("output shape"): ""}
    for arch, info in infos.items():
        total[params_column(arch)] = info["total_params"]
        total[connections_column(arch)] = info["total_connections"]
    rows.append(total)
    return pd.DataFrame(rows)


@st.cache_data(show_spinner=False)
def architecture_svg(arch: str, language: str) -> str:
    """The architecture diagram drawn as SVG (a static figure: no Plotly.js to load), built once
    per net and language: the figure takes a few tenths of a second to build."""
    return static_chart_svg(
        architecture_figure(model_info(arch)),
        alt=_("{net}: each layer's output shape and parameters, input to output").format(
            net=_(ARCH_TITLES[arch])
        ),
    )


infos = {arch: model_info(arch) for arch in ARCH_TITLES}
tabs = st.tabs([_(title) for title in ARCH_TITLES.values()])
for tab, arch in zip(tabs, ARCH_TITLES, strict=True):
    with tab:
        scrolls_below(f"{DIAGRAM}_{arch}", DIAGRAM_MIN_PX)  # labels apart; a phone scrolls
        # Focusable: a keyboard user scrolls it sideways with the arrow keys (WCAG 2.1.1).
        st.container(key=f"{DIAGRAM}_{arch}").markdown(
            f'<div tabindex="0">{architecture_svg(arch, current_language())}</div>',
            unsafe_allow_html=True,
        )

c3 = {
    arch: next(layer for layer in infos[arch]["layers"] if layer["name"] == "C3") for arch in infos
}
# A plain table (no data grid to load in the browser: issue 22), counts with thousands commas.
table = layer_table(infos)
counts = [
    column for arch in ARCH_TITLES for column in (params_column(arch), connections_column(arch))
]
st.table(table.style.hide(axis="index").format("{:,}", subset=counts))
st.caption(
    _(
        "Same shapes, different wiring. C3 has {modern} parameters in the modern net but "
        "{faithful} in the faithful one: the paper's Table I connects each C3 map to only some "
        "of the S2 maps (see Inside LeNet-5). The faithful subsampling layers learn a "
        "coefficient and a bias per map; max-pooling learns nothing."
    ).format(modern=f"{c3['modern']['params']:,}", faithful=f"{c3['faithful']['params']:,}")
)
shipped_sdlm_section()
