"""The Draw page's input: the canvas (its toolbar hidden, cleared by a new key, its drawing kept
across pages) and an uploaded picture.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import streamlit as st
import streamlit_drawable_canvas
from streamlit_drawable_canvas import st_canvas

from lenet_viz.data.images import ImageError, load_image
from ui.i18n import N_, _, file_uploader
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
DRAW, UPLOAD = N_("Draw with the mouse"), N_("Upload a picture")  # format_func=_ shows them
STEP_CAPTIONS = {
    "raw": N_("1. What you drew"),
    "cropped": N_("2. Cropped to the ink"),
    "28x28 centred": N_("3. 20x20 box, centred in 28x28 (MNIST's layout)"),
    "32x32 input": N_("4. The 32x32 network input"),
}

# streamlit-drawable-canvas 0.13 floats a toolbar (send, undo, redo, edit, reset) over the top
# right corner of the canvas. Until the mouse has rested on the canvas it is invisible but still
# there, so a stroke that starts near the top edge (the bar of a 7) lands on the toolbar and is
# lost. The component has no option to turn it off, and its styles live in a shadow root that
# page CSS cannot reach, so we register the component again under its own name, with its own
# script and stylesheet plus one rule that hides the toolbar. Clear (below) replaces its reset.
_CANVAS_COMPONENT = "streamlit-drawable-canvas.streamlit_drawable_canvas"
_HIDE_TOOLBAR_CSS = ".dc-toolbar { display: none !important; }"
_CANVAS_BUILD = Path(streamlit_drawable_canvas.__file__).parent / "frontend" / "build"


@st.cache_resource(show_spinner=False)
def _canvas_css() -> str:
    stylesheets = sorted(_CANVAS_BUILD.glob("index-*.css"))
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
    upload = file_uploader(
        _("A photo or scan of one handwritten digit"),
        ["png", "jpg", "jpeg", "bmp", "gif", "webp", "tif", "tiff"],
        key="draw_upload",
    )
    if upload is None:
        return None
    try:
        return load_image(upload.getvalue(), name=upload.name)
    except ImageError as error:
        st.error(
            _("Cannot read this picture. {error}").format(error=error), icon=":material/error:"
        )
        return None
