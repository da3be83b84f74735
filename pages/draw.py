"""Draw: write a digit with the mouse and watch LeNet-5 read it after every stroke.

The drawing pad is our own component (ui/draw/drawing_pad.py and .js). Every stroke is sent to
Python as soon as the pen lifts; the page then reruns and reads the whole drawing, so a stroke
drawn while the page is still updating is part of the next read (the pad and the upload:
ui/draw/canvas.py). Tests inject a drawing by setting the pad's state:
session_state[canvas_key()] = {"drawing": {"strokes": [...], "image": "data:image/png;base64,..."}},
exactly what the component itself sends.
"""

from __future__ import annotations

import numpy as np
import streamlit as st

from lenet_viz.data.preprocess import DigitPreprocessing, prepare_for_model
from lenet_viz.explain.calibration import read_digit
from lenet_viz.explain.inside import inspect_digit
from lenet_viz.figures.inside import pixel_image, probabilities_figure
from ui.charts import chart
from ui.confidence import sure_label
from ui.draw.canvas import (
    DRAW,
    INPUT_MODE,
    STEP_CAPTIONS,
    STEP_PX,
    UPLOAD,
    clear_canvas,
    drawn_image,
    uploaded_image,
)
from ui.i18n import N_, _
from ui.layout import columns_that_wrap, shown_only_below
from ui.library_text import library_text
from ui.model_picker import model_picker
from ui.navigation import ensure_app_navigation
from ui.state import DIGIT  # the app contract: the last digit the Draw page read, for Inside

LAYOUT, COMPACT, STEPS = "draw_layout", "draw_compact", "draw_steps"  # containers' keys
CANVAS_COLUMN_PX = 300  # the 280-px canvas and its margin
PREDICTION_COLUMN_PX = 300


def show_prediction(
    digit: DigitPreprocessing, model, temperature: float = 1.0, compact=None
) -> None:
    """The prediction, how sure, and the probabilities; `compact` (a container above the
    canvas, shown only when this column has wrapped below it) gets the prediction in one line."""
    result = inspect_digit(model, digit.network_input)
    probabilities, prediction, delta = result.probabilities, result.prediction, _how_sure(result)
    if (
        not result.output_is_penalty
    ):  # calibrated, averaged over shifts (lenet_viz.explain.calibration)
        reading = read_digit(model, digit.network_input, temperature)
        probabilities, prediction = reading.probabilities, reading.prediction
        delta = sure_label(reading)
    if compact is not None:
        compact.markdown(f"**Prediction: {prediction}** · {delta}")
    st.metric(
        label=_("Prediction"),
        value=str(prediction),
        delta=delta,
        delta_color="off",
        delta_arrow="off",
    )
    if not result.output_is_penalty and reading.unsure:
        st.warning(
            _(
                "Not sure. This looks most like a **{prediction}** ({confidence}), or else a "
                "**{runner_up}** ({runner_up_probability}). Is it one clear digit? Try writing "
                "it larger, in one piece, or clear and draw it again."
            ).format(
                prediction=reading.prediction,
                confidence=f"{reading.confidence:.0%}",
                runner_up=reading.runner_up,
                runner_up_probability=f"{reading.runner_up_probability:.0%}",
            ),
            icon=":material/help:",
        )
    chart(
        st,
        probabilities_figure(probabilities, prediction),
        key="draw_probabilities",
        config={"displayModeBar": False},
    )
    if result.output_is_penalty:
        st.caption(
            _(
                "The faithful net outputs RBF penalties (smaller = closer to that digit's code); "
                "the bars are softmax(−penalty), a readout for display, not part of the paper."
            )
        )


def _how_sure(result) -> str:
    """The modern net's probability; for the faithful net, its RBF penalty and the runner-up's
    (softmax of penalties that far apart says "100%" for anything, which teaches nothing)."""
    if not result.output_is_penalty:
        return _("{share} sure").format(
            share=f"{float(result.probabilities[result.prediction]):.0%}"
        )
    penalties = result.layers["output"]
    runner_up = int(np.argsort(penalties)[1])
    return _("penalty {penalty} · next: {runner_up} at {runner_up_penalty}").format(
        penalty=f"{penalties[result.prediction]:.1f}",
        runner_up=runner_up,
        runner_up_penalty=f"{penalties[runner_up]:.1f}",
    )


def show_steps(digit: DigitPreprocessing, resize: str, uploaded: bool = False) -> None:
    if uploaded:
        st.subheader(_("How your picture becomes the network's input"))
    else:
        st.subheader(_("How your drawing becomes the network's input"))
    captions = {**STEP_CAPTIONS, "raw": N_("1. Your picture")} if uploaded else STEP_CAPTIONS
    columns_that_wrap(STEPS, (STEP_PX + 16,) * 4)  # two rows of two, not four overlapping
    columns = st.container(key=STEPS).columns(4)
    for column, (name, image) in zip(columns, digit.steps().items(), strict=True):
        height, width = image.shape
        shown_width = max(8, round(STEP_PX * min(1.0, width / height)))  # at most STEP_PX high
        column.image(
            pixel_image(image, STEP_PX),
            caption=_(captions[name]) if name in captions else name,
            width=shown_width,
            alt=_("Preprocessing step: {step}").format(
                step=_(captions[name]) if name in captions else name
            ),
        )
    padding = (
        _("adds a 2-pixel border, as the paper did (LeCun et al. 1998, p.7)")
        if resize == "pad"
        else _("resizes the 28x28 digit to 32x32, as this model was trained")
    )
    how = (
        _(
            "MNIST digits were made this way: each was scaled to fit a 20x20 box keeping its "
            "shape, then placed in a 28x28 field with its centre of mass in the middle. A "
            "picture treated the same way looks like the digits the net learned from. The last "
            "step {padding}."
        )
        if uploaded
        else _(
            "MNIST digits were made this way: each was scaled to fit a 20x20 box keeping its "
            "shape, then placed in a 28x28 field with its centre of mass in the middle. A "
            "drawing treated the same way looks like the digits the net learned from. The last "
            "step {padding}."
        )
    )
    st.caption(how.format(padding=padding))


ensure_app_navigation()
st.title(":material/draw: " + _("Draw a digit"))
st.markdown(
    _(
        "Write one digit, **0 to 9**, in the box with your mouse (or finger). The network reads it "
        "every time you lift the pen: no button to press."
    )
)
picked = model_picker()

# The canvas's column never narrower than the canvas; the prediction's wraps below it when the
# row is too narrow, and then a one-line prediction shows above the canvas (ui/layout.py).
columns_that_wrap(LAYOUT, (CANVAS_COLUMN_PX, PREDICTION_COLUMN_PX))
shown_only_below(COMPACT, LAYOUT, CANVAS_COLUMN_PX + PREDICTION_COLUMN_PX + 60)
left, right = st.container(key=LAYOUT).columns([1, 1.3], gap="large")
with left:
    mode = st.radio(
        _("Input"),
        (DRAW, UPLOAD),
        key=INPUT_MODE,
        format_func=_,
        horizontal=True,
        label_visibility="collapsed",
    )
    # One line, empty until the first prediction fills it: the pad below never moves under
    # the pen (on a narrow screen, where this line shows).
    compact = st.container(key=COMPACT).empty()
    compact.markdown("&nbsp;")
    if mode == DRAW:
        image = drawn_image()
        st.button(
            _("Clear"),
            key="draw_clear",
            icon=":material/ink_eraser:",
            on_click=clear_canvas,
            help=_("Start again with an empty canvas."),
        )
    else:
        image = uploaded_image()

digit = None
if image is not None and picked is not None:
    digit = prepare_for_model(image, picked.model.config)
    st.session_state[DIGIT] = digit
elif image is None:
    st.session_state.pop(DIGIT, None)

with right:
    if picked is None:
        st.warning(_("Pick a model above to read your digit."), icon=":material/warning:")
    elif digit is None:
        hint = _("Draw a digit in the box.") if mode == DRAW else _("Upload a picture.")
        st.info(_("{hint} The prediction appears here.").format(hint=hint), icon=":material/edit:")
    elif digit.blank:
        st.info(
            _("Nothing to read yet: {reason}.").format(reason=library_text(digit.reason)),
            icon=":material/edit:",
        )
    else:
        show_prediction(digit, picked.model, picked.temperature, compact)

if digit is not None and not digit.blank:
    show_steps(digit, picked.model.config.resize, uploaded=mode == UPLOAD)
    st.page_link(
        "pages/inside.py",
        label=_("See what every layer of LeNet-5 sees in this digit"),
        icon=":material/biotech:",
    )
