"""Layouts that hold from a projector to a phone (1920 to 390 px wide, sidebar open or closed).

Streamlit splits `st.columns` by fixed ratios and stacks them only when the *window* is under
640 px, so with the sidebar open on a projector (1024 px) or a tablet (820 px) a column can get
narrower than what it holds: the Draw page's 280-px canvas got a 180-px column. These helpers
style one keyed container (`st.container(key=...)`, whose element carries the class
`st-key-<key>`) with CSS container queries, which follow the room the container really has.
"""

from __future__ import annotations

import streamlit as st


def style(css: str) -> None:
    """Add CSS rules to the page (an element of no height)."""
    st.html(f"<style>{css}</style>")


def columns_that_wrap(key: str, min_px: tuple[int, ...]) -> None:
    """The columns directly in container `key` keep at least `min_px[i]` pixels each (never more
    than the whole row) and wrap onto a new row when the row is too narrow for them."""
    block = f".st-key-{key} [data-testid='stHorizontalBlock']"
    rules = [f"{block} {{ flex-wrap: wrap; }}"]
    for index, width in enumerate(min_px, start=1):
        rules.append(
            f"{block} > [data-testid='stColumn']:nth-child({index}) "
            f"{{ min-width: min({width}px, 100%) !important; flex: 1 1 {width}px !important; }}"
        )
    style(f".st-key-{key} {{ container-type: inline-size; }}" + "".join(rules))


def last_column_first_below(key: str, width_px: int) -> None:
    """When container `key` is narrower than `width_px` (its columns stacked), its last column
    comes first: e.g. the Train page's Start and curves above its twenty settings on a phone."""
    style(
        f".st-key-{key} {{ container-type: inline-size; }}"
        f"@container (max-width: {width_px}px) {{ .st-key-{key} [data-testid='stHorizontalBlock'] "
        f"> [data-testid='stColumn']:last-child {{ order: -1; }} }}"
    )


def shown_only_below(key: str, inside: str, width_px: int) -> None:
    """Container `key` is shown only while container `inside` (which holds it) is narrower than
    `width_px`: e.g. the prediction repeated above the canvas when it wraps below it.

    The container's layout wrapper is hidden with it: left showing, that empty wrapper still
    takes the column's gap (16 px), and what comes below moves when the container first gets
    content (the Draw page's pad moved under the pen at its first prediction)."""
    hidden = f"[data-testid='stLayoutWrapper']:has(> .st-key-{key}), .st-key-{key}"
    style(
        f".st-key-{inside} {{ container-type: inline-size; }}"
        f"{hidden} {{ display: none; }}"
        f"@container (max-width: {width_px}px) {{ {hidden} {{ display: flex; }} }}"
    )


def scrolls_below(key: str, min_px: int) -> None:
    """What container `key` holds is drawn at least `min_px` wide; a narrower screen scrolls it
    sideways inside the container instead of squeezing it (a diagram whose labels would meet).
    Never up and down: the last element's bottom margin would make it a second scrolling
    region (one that axe flags on a wide screen, where nothing scrolls sideways)."""
    style(
        f".st-key-{key} {{ overflow-x: auto; overflow-y: hidden; }}"
        f".st-key-{key} > div {{ min-width: {min_px}px; }}"
    )
