"""The Draw page's input: the drawing pad (ui/draw/drawing_pad.py; cleared by a new key, its
drawing kept across pages) and an uploaded picture.
"""

from __future__ import annotations

import base64
import io

import numpy as np
import streamlit as st
from PIL import Image

from lenet_viz.data.images import ImageError, load_image
from ui.draw.drawing_pad import drawing_pad
from ui.i18n import N_, _, file_uploader
from ui.state import DIGIT  # the app contract: the last digit the Draw page read, for Inside

CANVAS_SIZE = 280  # 10x MNIST's 28 px
STROKE_WIDTH = 20  # about 2 MNIST pixels, like a pen stroke in MNIST
CANVAS_VERSION = "draw_canvas_version"  # bumped by Clear: a new key gives an empty pad
# The last drawing read: {"strokes": its strokes, "image": its RGBA array}, drawn again on the
# pad when the user comes back from another page.
LAST_DRAWING = "draw_last_drawing"
CANVAS_STARTS = "draw_canvas_starts"  # {pad key: the strokes it was mounted with}
INPUT_MODE = "draw_input_mode"
STEP_PX = 160  # the preprocessing steps are shown at most this many pixels wide and high
DRAW, UPLOAD = N_("Draw with the mouse"), N_("Upload a picture")  # format_func=_ shows them
STEP_CAPTIONS = {
    "raw": N_("1. What you drew"),
    "cropped": N_("2. Cropped to the ink"),
    "28x28 centred": N_("3. 20x20 box, centred in 28x28 (MNIST's layout)"),
    "32x32 input": N_("4. The 32x32 network input"),
}


def canvas_key() -> str:
    return f"draw_canvas_{st.session_state.get(CANVAS_VERSION, 0)}"


def clear_canvas() -> None:
    st.session_state[CANVAS_VERSION] = st.session_state.get(CANVAS_VERSION, 0) + 1
    st.session_state.pop(DIGIT, None)
    st.session_state.pop(LAST_DRAWING, None)


def initial_strokes(key: str) -> list | None:
    """What the pad starts with: the last drawing's strokes when the pad is mounted again.

    Streamlit forgets a widget's state when the user visits another page, so the pad would
    come back empty. When it is mounted (its key has no state yet), it gets the last drawing
    and keeps that same starting drawing for as long as it stays mounted (the pad reads it only
    when it is made, and steady props spare the browser needless work).
    """
    starts = st.session_state.setdefault(CANVAS_STARTS, {})
    if key not in st.session_state:  # being mounted: first visit, after Clear, or coming back
        starts.clear()
        last = st.session_state.get(LAST_DRAWING)
        starts[key] = last["strokes"] if last else None
    return starts.get(key)


def image_from_data_url(url: str) -> np.ndarray:
    """A "data:image/png;base64,..." URL as an RGBA array."""
    png = base64.b64decode(url.partition(",")[2])
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGBA"))


def drawn_image() -> np.ndarray | None:
    """The pad as an RGBA array (ink in the alpha channel), or None before the first stroke."""
    key = canvas_key()
    started_with = initial_strokes(key)
    drawing = drawing_pad(
        key,
        size=CANVAS_SIZE,
        pen=STROKE_WIDTH,
        label=_("Drawing area: write one digit here with the mouse, a pen or a finger"),
        strokes=started_with,
    )
    if drawing and drawing.get("strokes"):
        image = image_from_data_url(drawing["image"])
        st.session_state[LAST_DRAWING] = {"strokes": drawing["strokes"], "image": image}
        return image
    last = st.session_state.get(LAST_DRAWING)
    if started_with and last and last["strokes"] == started_with:
        return last["image"]  # the restored drawing, before the pad has sent anything
    return None


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
