"""The Inside page's views besides "Every layer": the invariance explorer and why this answer
(saliency). `ui/inside/top_digits.py` has the third, what each map looks for.

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

VIEW = "inside_view"
LAYERS = "Every layer"
INVARIANCE = "Move, turn, thicken (invariance)"
SALIENCY = "Why this answer? (saliency)"
MAPS = "What each map looks for"
VIEWS = (LAYERS, INVARIANCE, SALIENCY, MAPS)
PLAIN = {"displayModeBar": False}

# Distortion field: (label, min, max, step). Keys of the sliders: "inside_inv_<field>".
SLIDERS = {
    "shift_x": ("Shift right (pixels)", -8.0, 8.0, 0.5),
    "shift_y": ("Shift down (pixels)", -8.0, 8.0, 0.5),
    "rotation": ("Rotation (degrees, anticlockwise)", -90.0, 90.0, 5.0),
    "scale": ("Scale (x size)", 0.4, 1.6, 0.05),
    "squeeze": ("Squeeze (> 0 taller and narrower)", -0.5, 0.5, 0.05),
    "stroke": ("Stroke width (pixels per side)", -1.5, 3.0, 0.25),
    "noise": ("Noise (std; 1 = full ink)", 0.0, 1.0, 0.05),
}
NOISE_SEED = "inside_inv_noise_seed"
PATCH = "inside_occlusion_patch"
FILL = "inside_occlusion_fill"
FILLS = {
    "dark grey (MNIST's average pixel)": MNIST_MEAN_GREY,
    "background (erase)": 0.0,
    "mid grey": MID_GREY,
}


def view_picker() -> str:
    if st.session_state.get(VIEW) not in VIEWS:
        st.session_state[VIEW] = LAYERS
    return st.radio("Show", VIEWS, key=VIEW, horizontal=True)


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
        values[name] = columns[i % 2].slider(label, low, high, step=step, key=key)
    reset, noise = st.columns(2)
    reset.button("Reset", icon=":material/restart_alt:", on_click=_reset_sliders, key="inv_reset")
    noise.button("New noise", icon=":material/grain:", on_click=_new_noise, key="inv_noise")
    return Distortion(**values, noise_seed=st.session_state.get(NOISE_SEED, 0))


@st.fragment
def show_invariance(model: LeNetBase, image28, temperature: float = 1.0) -> None:
    """Sliders; the distorted digit, the prediction, the probabilities, C1's and C3's maps.
    A fragment: moving a slider reruns this view only."""
    st.header("Move, turn, thicken: does the net still read it?")
    st.caption(
        "The same transforms as the robustness curves (the **Robustness** page) and the "
        "training distortions, applied to the 28x28 digit before the net's own preprocessing."
    )
    controls, pictures, reading_column = st.columns([2, 1, 2], gap="medium")
    with controls:
        distortion = distortion_sliders()
    view = explore(model, image28, distortion, temperature)
    result = view.inspection
    with pictures:
        st.image(
            figures.pixel_image(view.original, 140),
            caption="The digit",
            alt="The digit, as chosen",
        )
        st.image(
            figures.pixel_image(view.distorted, 140),
            caption="Distorted",
            alt="The digit with the distortions of the sliders",
        )
    with reading_column:
        reading = view.reading  # the Draw page's reading; None for the faithful net
        probabilities, prediction = (
            (reading.probabilities, reading.prediction)
            if reading
            else (result.probabilities, result.prediction)
        )
        st.metric(
            "Prediction",
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
        st.markdown(f"**{name}** of the distorted digit")
        chart(
            st,
            figures.feature_maps_figure(result.layers[name], name, columns, cell_px=130),
            key=f"inv_{name}",
            config=PLAIN,
        )


# ------------------------------------------------------------------ saliency


def show_saliency(model: LeNetBase, image28) -> None:
    st.header("Why this answer?")
    faithful = model.config.arch == "faithful"
    patch_column, fill_column, measure_column = st.columns(3)
    patch = patch_column.slider("Grey square (pixels)", 2, 14, value=10, key=PATCH)
    fill_label = fill_column.radio("Its grey", list(FILLS), key=FILL)
    measures = ("the answer's probability", "the answer's score")
    measure = measure_column.radio(
        "The occlusion map shows the drop in",
        measures,
        index=1 if faithful else 0,
        key=f"inside_occlusion_measure_{model.config.arch}",
        help="The score is the logit (modern net) or minus the RBF penalty (faithful net). "
        "The faithful net's probability is a softmax of penalties far apart, which stays at "
        "100% until the answer flips; its score moves before that.",
    )
    occlusion = occlusion_map(model, image28, patch=patch, fill=FILLS[fill_label])
    gradient = input_gradient(model, image28, target=occlusion.target)
    digit = occlusion.target
    by_probability = measure == measures[0]
    drops = occlusion.probability_drop if by_probability else occlusion.score_drop
    what = f"P({digit})" if by_probability else f"score of {digit}"
    image = as_ink_image(image28).numpy()
    chart(
        st,
        explain_figures.saliency_figure(
            image,
            drops,
            gradient.gradient,
            f"Occlusion: drop in {what}",
            f"Input gradient of the score of {digit}",
            occlusion_unit="drop",
        ),
        key="inside_saliency",
        config=PLAIN,
    )
    st.caption(
        f"Left: a {patch}x{patch} grey square is centred on every pixel in turn; orange marks "
        f"where hiding the digit lowers {what} most (a rise is left clear). Right: how the "
        f"score of {digit} changes as a pixel gets more ink: red raises it, blue lowers it."
    )
    if by_probability and float(drops.max()) < 0.01:
        st.info(
            f"Hiding any {patch}x{patch} square leaves {what} within a point of "
            f"{occlusion.probability:.0%}: the net is sure wherever the square goes. Show the "
            "drop in the score, or try a larger square, to see what it rests on.",
            icon=":material/info:",
        )
    row, col = occlusion.worst_place()
    hidden = occluded(image28, row, col, patch=patch, fill=FILLS[fill_label])
    left, right = st.columns([1, 4], vertical_alignment="center")
    left.image(
        figures.pixel_image(hidden, 140),
        caption="The square where it hurts most",
        alt="The digit with a square hidden where hiding hurts the answer most",
    )
    now = occlusion.probability - float(occlusion.probability_drop[row, col])
    reads = int(occlusion.predictions[row, col])
    right.markdown(
        f"With the square centred on row {row}, column {col}, P({digit}) goes from "
        f"**{occlusion.probability:.0%}** to **{now:.0%}**"
        + (f" and the net reads **{reads}**." if reads != digit else f"; it still reads {digit}.")
    )
