"""Inside LeNet-5: what every layer sees for one digit and C1's kernels; as views of their own
(computed only when opened), the S2 -> C3 connection table (interactive) with its parameter
arithmetic, and the faithful net's RBF codes.

The digit is the one drawn on the Draw page (session_state["digit"]) or any MNIST test digit
(the 200 shipped sample digits when MNIST is not downloaded). Everything shown comes from one
`forward_layers` pass (lenet_viz.explain.inside). The page's other views (ui/inside/views.py,
ui/inside/top_digits.py): the invariance explorer, saliency, and what each map looks for.
"""

from __future__ import annotations

import streamlit as st

from lenet_viz.explain import inside
from lenet_viz.explain.calibration import read_digit
from lenet_viz.figures import inside as figures
from ui.confidence import sure_label
from ui.i18n import _
from ui.inside import views
from ui.inside.digit import as_unit_image, choose_digit
from ui.inside.layers import (
    show_connection_table,
    show_kernels,
    show_layers,
    show_rbf,
    show_table_against_paper,
)
from ui.inside.top_digits import show_top_digits
from ui.model_picker import model_picker
from ui.navigation import ensure_app_navigation

ensure_app_navigation()
st.title(":material/biotech: " + _("Inside LeNet-5"))
st.markdown(
    _(
        "Follow one digit through the network, layer by layer: input → **C1** → **S2** → **C3** "
        "→ **S4** → **C5** → **F6** → output."
    )
)
picked = model_picker()
if picked is None:
    st.stop()
model = picked.model
chooser, picture, summary = st.columns([2, 1, 2], vertical_alignment="top")
with chooser:
    image28, what = choose_digit()
result = inside.inspect_digit(model, inside.network_input(image28, model.config))
picture.image(
    figures.pixel_image(as_unit_image(image28), 168),
    caption=_("The digit (28x28)"),
    alt=_("The digit the page follows through the net: {digit}").format(digit=what),
)
with summary:
    if result.output_is_penalty:  # RBF penalties: no probabilities to be sure with
        st.metric(_("Prediction"), str(result.prediction))
    else:  # the Draw page's reading: calibrated, "unsure" below the same threshold
        reading = read_digit(model, inside.network_input(image28, model.config), picked.temperature)
        st.metric(
            _("Prediction"),
            str(reading.prediction),
            sure_label(reading),
            delta_color="off",
            delta_arrow="off",
        )
    st.markdown(
        _("Looking at {what}, with the model *{model}*.").format(what=what, model=picked.label)
    )

view = views.view_picker()
if view == views.LAYERS:
    show_layers(model, result)
    show_kernels(model)
elif view == views.CONNECTIONS:
    show_connection_table(model, result)
    show_table_against_paper(model)
elif view == views.RBF:
    show_rbf(model, result)
elif view == views.INVARIANCE:
    views.show_invariance(model, image28, picked.temperature)
elif view == views.SALIENCY:
    views.show_saliency(model, image28)
else:
    show_top_digits(model)
