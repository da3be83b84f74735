"""Draw: write a digit with the mouse and watch LeNet-5 read it after every stroke.

The canvas is streamlit-drawable-canvas. Every stroke is sent to Python when the mouse is
released (update_streamlit=True); the page then reruns and reads the whole drawing, so a stroke
drawn while the page is still updating is part of the next read. Tests inject a drawing by
setting the canvas's state: session_state[canvas_key()] = {"drawing": {"raw": {...},
"data": "data:image/png;base64,..."}}, exactly what the component itself sends.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import streamlit as st
import streamlit_drawable_canvas
from streamlit_drawable_canvas import st_canvas

from lenet_viz.calibration import read_digit
from lenet_viz.figures.inside import pixel_image, probabilities_figure
from lenet_viz.images import ImageError, load_image
from lenet_viz.inside import inspect_digit
from lenet_viz.preprocess import DigitPreprocessing, prepare_for_model
from ui.models import model_picker
from ui.navigation import ensure_app_navigation
from ui.state import DIGIT  # the app contract: the last digit the Draw page read, for Inside

CANVAS_SIZE = 280  # 10x MNIST's 28 px
STROKE_WIDTH = 20  # about 2 MNIST pixels, like a pen stroke in MNIST
CANVAS_VERSION = "draw_canvas_version"  # bumped by Clear: a new key gives an empty canvas
# The last drawing read: {"json": its Fabric.js JSON, "image": its RGBA array}, redrawn on the
# canvas when the user comes back from another page.
LAST_DRAWING = "draw_last_drawing"
CANVAS_STARTS = "draw_canvas_starts"  # {canvas key: the drawing it was mounted with}
INPUT_MODE = "draw_input_mode"
STEP_PX = 160  # the preprocessing steps are shown at most this many pixels wide and high
DRAW, UPLOAD = "Draw with the mouse", "Upload a picture"
STEP_CAPTIONS = {
    "raw": "1. What you drew",
    "cropped": "2. Cropped to the ink",
    "28x28 centred": "3. 20x20 box, centred in 28x28 (MNIST's layout)",
    "32x32 input": "4. The 32x32 network input",
}

# streamlit-drawable-canvas 0.13 floats a toolbar (send, undo, redo, edit, reset) over the top
# right corner of the canvas. Until the mouse has rested on the canvas it is invisible but still
# there, so a stroke that starts near the top edge (the bar of a 7) lands on the toolbar and is
# lost. The component has no option to turn it off, and its styles live in a shadow root that
# page CSS cannot reach, so we register the component again under its own name, with its own
# script and stylesheet plus one rule that hides the toolbar. Clear (below) replaces its reset.
_CANVAS_COMPONENT = "streamlit-drawable-canvas.streamlit_drawable_canvas"
_HIDE_TOOLBAR_CSS = ".dc-toolbar { display: none !important; }"


@st.cache_resource(show_spinner=False)
def _canvas_css() -> str:
    build = Path(streamlit_drawable_canvas.__file__).parent / "frontend" / "build"
    stylesheets = sorted(build.glob("index-*.css"))
    return "".join(path.read_text() for path in stylesheets) + _HIDE_TOOLBAR_CSS


def register_canvas_without_toolbar() -> None:
    st.components.v2.component(
        _CANVAS_COMPONENT,
        html='<div class="canvas-root"></div>',
        css=_canvas_css(),
        js="index-*.js",
        isolate_styles=True,
    )


def canvas_key() -> str:
    return f"draw_canvas_{st.session_state.get(CANVAS_VERSION, 0)}"


def clear_canvas() -> None:
    st.session_state[CANVAS_VERSION] = st.session_state.get(CANVAS_VERSION, 0) + 1
    st.session_state.pop(DIGIT, None)
    st.session_state.pop(LAST_DRAWING, None)


def initial_drawing(key: str) -> dict | None:
    """What the canvas starts with: the last drawing when the canvas is mounted again.

    Streamlit forgets a widget's state when the user visits another page, so the canvas would
    come back empty. When it is mounted (its key has no state yet), it gets the last drawing
    and keeps that same starting drawing for as long as it stays mounted: a changing
    initial_drawing would make the component reload and drop a stroke being drawn.
    """
    starts = st.session_state.setdefault(CANVAS_STARTS, {})
    if key not in st.session_state:  # being mounted: first visit, after Clear, or coming back
        starts.clear()
        last = st.session_state.get(LAST_DRAWING)
        starts[key] = last["json"] if last else None
    return starts.get(key)


def drawn_image() -> np.ndarray | None:
    """The canvas as an RGBA array (ink in the alpha channel), or None before the first stroke."""
    register_canvas_without_toolbar()
    key = canvas_key()
    result = st_canvas(
        stroke_width=STROKE_WIDTH,
        stroke_color="#000000",
        background_color="",  # transparent: the ink is the alpha channel
        width=CANVAS_SIZE,
        height=CANVAS_SIZE,
        drawing_mode="freedraw",
        update_streamlit=True,
        return_image_data=True,
        initial_drawing=initial_drawing(key),
        key=key,
    )
    objects = (result.json_data or {}).get("objects") or []
    if not objects:
        return None
    image = result.image_data
    last = st.session_state.get(LAST_DRAWING)
    if image is not None:
        st.session_state[LAST_DRAWING] = {"json": result.json_data, "image": image}
    elif last and objects == last["json"].get("objects"):
        image = last["image"]  # the restored drawing, before the component has sent it back
    return image


def uploaded_image():
    """The uploaded picture (PIL), None if none; a message instead of a crash if unreadable."""
    upload = st.file_uploader(
        "A photo or scan of one handwritten digit",
        type=["png", "jpg", "jpeg", "bmp", "gif", "webp", "tif", "tiff"],
        key="draw_upload",
    )
    if upload is None:
        return None
    try:
        return load_image(upload.getvalue(), name=upload.name)
    except ImageError as error:
        st.error(f"Cannot read this picture. {error}", icon=":material/error:")
        return None


def show_prediction(digit: DigitPreprocessing, model, temperature: float = 1.0) -> None:
    result = inspect_digit(model, digit.network_input)
    probabilities, prediction, delta = result.probabilities, result.prediction, _how_sure(result)
    if not result.output_is_penalty:  # calibrated, averaged over shifts (lenet_viz.calibration)
        reading = read_digit(model, digit.network_input, temperature)
        probabilities, prediction = reading.probabilities, reading.prediction
        delta = "unsure" if reading.unsure else f"{reading.confidence:.0%} sure"
    st.metric(
        label="Prediction",
        value=str(prediction),
        delta=delta,
        delta_color="off",
        delta_arrow="off",
    )
    if not result.output_is_penalty and reading.unsure:
        st.warning(
            f"Not sure. This looks most like a **{reading.prediction}** "
            f"({reading.confidence:.0%}), or else a **{reading.runner_up}** "
            f"({reading.runner_up_probability:.0%}). Is it one clear digit? Try writing it "
            "larger, in one piece, or clear and draw it again.",
            icon=":material/help:",
        )
    st.plotly_chart(
        probabilities_figure(probabilities, prediction),
        key="draw_probabilities",
        config={"displayModeBar": False},
    )
    if result.output_is_penalty:
        st.caption(
            "The faithful net outputs RBF penalties (smaller = closer to that digit's code); "
            "the bars are softmax(−penalty), a readout for display, not part of the paper."
        )


def _how_sure(result) -> str:
    """The modern net's probability; for the faithful net, its RBF penalty and the runner-up's
    (softmax of penalties that far apart says "100%" for anything, which teaches nothing)."""
    if not result.output_is_penalty:
        return f"{float(result.probabilities[result.prediction]):.0%} sure"
    penalties = result.layers["output"]
    runner_up = int(np.argsort(penalties)[1])
    return (
        f"penalty {penalties[result.prediction]:.1f} · next: {runner_up} "
        f"at {penalties[runner_up]:.1f}"
    )


def show_steps(digit: DigitPreprocessing, resize: str, uploaded: bool = False) -> None:
    what = "picture" if uploaded else "drawing"
    st.subheader(f"How your {what} becomes the network's input")
    captions = {**STEP_CAPTIONS, "raw": "1. Your picture"} if uploaded else STEP_CAPTIONS
    columns = st.columns(4)
    for column, (name, image) in zip(columns, digit.steps().items(), strict=True):
        height, width = image.shape
        shown_width = max(8, round(STEP_PX * min(1.0, width / height)))  # at most STEP_PX high
        column.image(
            pixel_image(image, STEP_PX), caption=captions.get(name, name), width=shown_width
        )
    padding = (
        "adds a 2-pixel border, as the paper did (LeCun et al. 1998, p.7)"
        if resize == "pad"
        else "resizes the 28x28 digit to 32x32, as this model was trained"
    )
    st.caption(
        "MNIST digits were made this way: each was scaled to fit a 20x20 box keeping its shape, "
        f"then placed in a 28x28 field with its centre of mass in the middle. A {what} treated "
        f"the same way looks like the digits the net learned from. The last step {padding}."
    )


ensure_app_navigation()
st.title(":material/draw: Draw a digit")
st.markdown(
    "Write one digit, **0 to 9**, in the box with your mouse (or finger). The network reads it "
    "every time you lift the pen: no button to press."
)
picked = model_picker()

left, right = st.columns([1, 1.3], gap="large")
with left:
    mode = st.radio(
        "Input", (DRAW, UPLOAD), key=INPUT_MODE, horizontal=True, label_visibility="collapsed"
    )
    if mode == DRAW:
        image = drawn_image()
        st.button(
            "Clear",
            key="draw_clear",
            icon=":material/ink_eraser:",
            on_click=clear_canvas,
            help="Start again with an empty canvas.",
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
        st.warning("Pick a model above to read your digit.", icon=":material/warning:")
    elif digit is None:
        hint = "Draw a digit in the box on the left." if mode == DRAW else "Upload a picture."
        st.info(f"{hint} The prediction appears here.", icon=":material/edit:")
    elif digit.blank:
        st.info(f"Nothing to read yet: {digit.reason}.", icon=":material/edit:")
    else:
        show_prediction(digit, picked.model, picked.temperature)

if digit is not None and not digit.blank:
    show_steps(digit, picked.model.config.resize, uploaded=mode == UPLOAD)
    st.page_link(
        "pages/inside.py",
        label="See what every layer of LeNet-5 sees in this digit",
        icon=":material/biotech:",
    )
