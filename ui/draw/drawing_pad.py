"""The Draw page's drawing pad: a Streamlit custom component (v2) of our own, its script in
drawing_pad.js.

It replaced streamlit-drawable-canvas 0.13, which waits 200 ms after every pen-up before it
sends the drawing (a fixed debounce, no option): with it, pen-up to prediction took about
0.37 s against a budget of 0.25 s (README, "Waits in the browser"). This pad sends at once.

What it sends, in one state value `drawing`, at every pen-up: {"strokes": [[[x, y], ...], ...],
"image": "data:image/png;base64,..."}, the strokes in pad pixels (to restore the drawing) and
the size x size PNG, black ink on a transparent background.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

PAD_NAME = "lenet_viz_explorer.drawing_pad"
PAD_CSS = """
.drawing-pad {
    display: block;
    cursor: crosshair;
    touch-action: none; /* a finger on a phone draws instead of scrolling the page */
    outline: 1px solid var(--st-border-color, lightgrey);
    outline-offset: -1px;
}
"""
mount_pad = st.components.v2.component(
    PAD_NAME,
    js=(Path(__file__).parent / "drawing_pad.js").read_text(encoding="utf-8"),
    css=PAD_CSS,
)


def drawing_pad(
    key: str, size: int, pen: int, label: str, strokes: list | None = None
) -> dict | None:
    """Mount the pad (`size` px square, a `pen`-px round pen, `label` its accessible name) and
    return the drawing it last sent, or None before the first pen-up.

    `strokes` is drawn when the pad is mounted (a drawing being restored); afterwards the pad
    keeps its own strokes, so later values are ignored until a new key mounts a new pad.
    """
    result = mount_pad(
        key=key,
        data={"size": size, "pen": pen, "label": label, "strokes": strokes or []},
        default={"drawing": None},
        on_drawing_change=lambda: None,
        width="content",
        height="content",
    )
    return result.get("drawing")
