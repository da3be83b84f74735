"""The Inside page's digit: the one drawn on the Draw page, or a test digit chosen by number."""

from __future__ import annotations

import random

import numpy as np
import streamlit as st

from lenet_viz.data import datasets as data
from lenet_viz.data.datasets import DataError, Split, load_split, sample_digits
from ui.i18n import N_, _
from ui.state import DIGIT  # the app contract: the last digit the Draw page read, for Inside

SOURCE = "inside_source"
TEST_INDEX = "inside_test_index"
DRAWN, TEST = N_("The digit you drew"), N_("An MNIST test digit")  # format_func=_ shows them


@st.cache_resource(show_spinner=False)  # the caller shows a spinner in the page's language
def test_digits() -> tuple[Split, bool]:
    """(digits, is_full_test_set): MNIST's test set, or the shipped sample digits without it."""
    if data.data_available("mnist"):  # read at each call (tests stand in for it)
        try:
            return load_split("mnist", train=False), True
        except DataError:
            pass
    return sample_digits(), False


def choose_digit():
    """The 28x28 digit to look at (float 0..1 or uint8) and a line saying what it is."""
    drawn = st.session_state.get(DIGIT)
    has_drawing = drawn is not None and not drawn.blank
    sources = (DRAWN, TEST) if has_drawing else (TEST,)
    if st.session_state.get(SOURCE) not in sources:
        st.session_state[SOURCE] = sources[0]
    source = st.radio(_("Digit"), sources, key=SOURCE, format_func=_, horizontal=True)
    if not has_drawing:
        st.caption(_("Draw a digit on the **Draw** page to look at your own here."))
    if source == DRAWN:
        return drawn.centered, _("the digit you drew on the Draw page")
    with st.spinner(_("Loading the MNIST test digits…")):
        digits, full = test_digits()
    if not full:
        st.caption(
            _(
                "MNIST is not downloaded, so these are the 200 test digits shipped with the app "
                "(run `make data` for all 10,000)."
            )
        )
    if TEST_INDEX not in st.session_state:
        st.session_state[TEST_INDEX] = 0
    number, dice = st.columns([3, 2], vertical_alignment="bottom")
    index = number.number_input(
        _("Test digit number (0 to {last})").format(last=f"{len(digits) - 1:,}"),
        min_value=0,
        max_value=len(digits) - 1,
        step=1,
        key=TEST_INDEX,
    )
    dice.button(_("Random"), icon=":material/casino:", on_click=_random_digit, args=(len(digits),))
    label = int(digits.labels[index])
    return digits.images[index], _("test digit #{index}, labelled **{label}**").format(
        index=index, label=label
    )


def as_unit_image(image) -> np.ndarray:
    """A digit as float 0..1 (MNIST's uint8 0..255 or an already 0..1 drawing)."""
    array = np.asarray(image, dtype=np.float32)
    return array / 255.0 if array.max() > 1.0 else array


def _random_digit(count: int) -> None:
    st.session_state[TEST_INDEX] = random.randrange(count)
