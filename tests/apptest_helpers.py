"""Small helpers the AppTest files share: find a button by its label, read elements' text."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest


def button(at: AppTest, label: str):
    """The first button labelled `label`; fails with the labels there are."""
    matches = [b for b in at.button if b.label == label]
    assert matches, f"no button {label!r} in {[b.label for b in at.button]}"
    return matches[0]


def texts(elements) -> str:
    """The values of `elements` (markdown, captions, alerts...), one per line."""
    return "\n".join(str(element.value) for element in elements)
