"""The Inside page's views, and those besides the net's own (every layer, the S2 -> C3
connections, the RBF codes: `ui/inside/layers.py`): the invariance explorer and why this answer
(saliency). `ui/inside/top_digits.py` has the last, what each map looks for.

Each view is a function of the model and the 28x28 digit the page chose; the work is done by
`lenet_viz.explain.invariance` and `lenet_viz.explain.saliency`.
"""

from __future__ import annotations

import streamlit as st

from lenet_viz.explain.invariance import Distortion, as_ink_image, explore
from lenet_viz.explain.saliency import (
    MID_GREY,
    MNIST_MEAN_GREY,
    input_gradient,
    occluded,
    occlusion_map,
)
from lenet_viz.figures import explain as explain_figures
from lenet_viz.figures import inside as figures
from lenet_viz.nets.model import LeNetBase
from ui.charts import chart
from ui.confidence import sure_label
from ui.i18n import N_, _

VIEW = "inside_view"
LAYERS = N_("Every layer")  # the views, shown through format_func=_
CONNECTIONS = N_("S2 → C3 connections")
RBF = N_("RBF output codes")
INVARIANCE = N_("Move, turn, thicken (invariance)")
SALIENCY = N_("Why this answer? (saliency)")
MAPS = N_("What each map looks for")
VIEWS = (LAYERS, CONNECTIONS, RBF, INVARIANCE, SALIENCY, MAPS)
PLAIN = {"displayModeBar": False}

# Distortion field: (label, min, max, step). Keys of the sliders: "inside_inv_<field>".
SLIDERS = {
    "shift_x": (N_("Shift right (pixels)"), -8.0, 8.0, 0.5),
    "shift_y": (N_("Shift down (pixels)"), -8.0, 8.0, 0.5),
    "rotation": (N_("Rotation (degrees, anticlockwise)"), -90.0, 90.0, 5.0),
    "scale": (N_("Scale (x size)"), 0.4, 1.6, 0.05),
    "squeeze": (N_("Squeeze (> 0 taller and narrower)"), -0.5, 0.5, 0.05),
    "stroke": (N_("Stroke width (pixels per side)"), -1.5, 3.0, 0.25),
    "noise": (N_("Noise (std; 1 = full ink)"), 0.0, 1.0, 0.05),
}
NOISE_SEED = "inside_inv_noise_seed"
PATCH = "inside_occlusion_patch"
FILL = "inside_occlusion_fill"
FILLS = {
    N_("dark grey (MNIST's average pixel)"): MNIST_MEAN_GREY,
    N_("background (erase)"): 0.0,
    N_("mid grey"): MID_GREY,
}


def view_picker() -> str:
    if st.session_state.get(VIEW) not in VIEWS:
        st.session_state[VIEW] = LAYERS
    return st.radio(_("Show"), VIEWS, key=VIEW, format_func=_, horizontal=True)


# ------------------------------------------------------------------ invariance


def _slider_key(name: str) -> str:
    return f"inside_inv_{name}"


def _reset_sliders() -> None:
    default = Distortion()
    for name in SLIDERS:
        st.session_state[_slider_key(name)] = float(getattr(default, name))


def _new_noise() -> None:
    st.session_state[NOISE_SEED] = st.session_state.get(NOISE_SEED, 0) + 1


def distortion_sliders() -> Distortion:
    default = Distortion()
    values = {}
    columns = st.columns(2)
    for i, (name, (label, low, high, step)) in enumerate(SLIDERS.items()):
        key = _slider_key(name)
        if key not in st.session_state:
            st.session_state[key] = float(getattr(default, name))
        values[name] = columns[i % 2].slider(_(label), low, high, step=step, key=key)
    reset, noise = st.columns(2)
    reset.button(
        _("Reset"), icon=":material/restart_alt:", on_click=_reset_sliders, key="inv_reset"
    )
    noise.button(_("New noise"), icon=":material/grain:", on_click=_new_noise, key="inv_noise")
    return Distortion(**values, noise_seed=st.session_state.get(NOISE_SEED, 0))


@st.fragment
def show_invariance(model: LeNetBase, image28, temperature: float = 1.0) -> None:
    """Sliders; the distorted digit, the prediction, the probabilities, C1's and C3's maps.
    A fragment: moving a slider reruns this view only."""
    st.header(_("Move, turn, thicken: does the net still read it?"))
    st.caption(
        _(
            "The same transforms as the robustness curves (the **Robustness** page) and the "
            "training distortions, applied to the 28x28 digit before the net's own preprocessing."
        )
    )
    controls, pictures, reading_column = st.columns([2, 1, 2], gap="medium")
    with controls:
        distortion = distortion_sliders()
    view = explore(model, image28, distortion, temperature)
    result = view.inspection
    with pictures:
        st.image(
            figures.pixel_image(view.original, 140),
            caption=_("The digit"),
            alt=_("The digit, as chosen"),
        )
        st.image(
            figures.pixel_image(view.distorted, 140),
            caption=_("Distorted"),
            alt=_("The digit with the distortions of the sliders"),
        )
    with reading_column:
        reading = view.reading  # the Draw page's reading; None for the faithful net
        probabilities, prediction = (
            (reading.probabilities, reading.prediction)
            if reading
            else (result.probabilities, result.prediction)
        )
        st.metric(
            _("Prediction"),
            str(prediction),
            sure_label(reading) if reading else None,
            delta_color="off",
            delta_arrow="off",
        )
        chart(
            st,
            figures.probabilities_figure(probabilities, prediction),
            key="inv_probabilities",
            config=PLAIN,
        )
    for name, columns in (("C1", 6), ("C3", 8)):
        st.markdown(_("**{name}** of the distorted digit").format(name=name))
        chart(
            st,
            figures.feature_maps_figure(result.layers[name], name, columns, cell_px=130),
            key=f"inv_{name}",
            config=PLAIN,
        )


# ------------------------------------------------------------------ saliency


def show_saliency(model: LeNetBase, image28) -> None:
    st.header(_("Why this answer?"))
    faithful = model.config.arch == "faithful"
    patch_column, fill_column, measure_column = st.columns(3)
    patch = patch_column.slider(_("Grey square (pixels)"), 2, 14, value=10, key=PATCH)
    fill_label = fill_column.radio(_("Its grey"), list(FILLS), key=FILL, format_func=_)
    measures = (N_("the answer's probability"), N_("the answer's score"))
    measure = measure_column.radio(
        _("The occlusion map shows the drop in"),
        measures,
        format_func=_,
        index=1 if faithful else 0,
        key=f"inside_occlusion_measure_{model.config.arch}",
        help=_(
            "The score is the logit (modern net) or minus the RBF penalty (faithful net). "
            "The faithful net's probability is a softmax of penalties far apart, which stays at "
            "100% as long as the answer holds; its score moves before that."
        ),
    )
    occlusion = occlusion_map(model, image28, patch=patch, fill=FILLS[fill_label])
    gradient = input_gradient(model, image28, target=occlusion.target)
    digit = occlusion.target
    by_probability = measure == measures[0]
    drops = occlusion.probability_drop if by_probability else occlusion.score_drop
    what = f"P({digit})" if by_probability else _("score of {digit}").format(digit=digit)
    image = as_ink_image(image28).numpy()
    chart(
        st,
        explain_figures.saliency_figure(
            image,
            drops,
            gradient.gradient,
            _("Occlusion: drop in {what}").format(what=what),
            _("Input gradient of the score of {digit}").format(digit=digit),
            occlusion_unit="drop",
        ),
        key="inside_saliency",
        config=PLAIN,
    )
    st.caption(
        _(
            "Left: a {patch}x{patch} grey square is centred on every pixel in turn; orange marks "
            "where hiding the digit lowers {what} most (a rise is left clear). Right: how the "
            "score of {digit} changes as a pixel gets more ink: red raises it, blue lowers it."
        ).format(patch=patch, what=what, digit=digit)
    )
    if by_probability and float(drops.max()) < 0.01:
        st.info(
            _(
                "Hiding any {patch}x{patch} square leaves {what} within a point of "
                "{probability}: the net is sure wherever the square goes. Show the drop in the "
                "score, or try a larger square, to see what it rests on."
            ).format(patch=patch, what=what, probability=f"{occlusion.probability:.0%}"),
            icon=":material/info:",
        )
    row, col = occlusion.worst_place()
    hidden = occluded(image28, row, col, patch=patch, fill=FILLS[fill_label])
    left, right = st.columns([1, 4], vertical_alignment="center")
    left.image(
        figures.pixel_image(hidden, 140),
        caption=_("The square where it hurts most"),
        alt=_("The digit with a square hidden where hiding hurts the answer most"),
    )
    now = occlusion.probability - float(occlusion.probability_drop[row, col])
    reads = int(occlusion.predictions[row, col])
    right.markdown(
        _(
            "With the square centred on row {row}, column {col}, P({digit}) goes from "
            "**{before}** to **{after}**"
        ).format(
            row=row,
            col=col,
            digit=digit,
            before=f"{occlusion.probability:.0%}",
            after=f"{now:.0%}",
        )
        + (
            _(" and the net reads **{reads}**.").format(reads=reads)
            if reads != digit
            else _("; it still reads {digit}.").format(digit=digit)
        )
    )
