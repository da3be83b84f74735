"""The board itself (Class page): the runs table, every curve overlaid and coloured by a
setting the viewer picks, the pooled experiment, and CSV / PNG downloads. Drawn by the page's
one polling fragment, which reads the database every BOARD_POLL_SECONDS and rebuilds only when
a run was added or removed."""

from __future__ import annotations

import streamlit as st

from lenet_viz.classroom import ClassInfo, StorageUnavailable, pooled_grid
from lenet_viz.classroom.tables import csv_text, run_rows, varying_settings
from lenet_viz.figures.classroom import CURVES, board_png, curves_figure, pooled_figure
from ui.class_board.resources import class_board
from ui.i18n import _
from ui.library_text import localized_figure

BOARD_POLL_SECONDS = 1.0  # "the board updates within 2 s of a run finishing"
BOARD_CACHE = "class_board_cache"  # (code, version, runs)
CURVE_LABELS = {name: title for name, (title, _) in CURVES.items()}


def board_runs(code: str) -> list[dict]:
    """The board's runs, read again only when its version (count, newest id) changed."""
    board = class_board()
    version = board.version(code)
    cached = st.session_state.get(BOARD_CACHE)
    if cached is None or cached[:2] != (code, version):
        cached = (code, version, board.runs(code))
        st.session_state[BOARD_CACHE] = cached
    return cached[2]


def board_fragment(info: ClassInfo) -> None:
    """The page's one polling fragment: the whole board."""

    def poll() -> None:
        try:
            runs = board_runs(info.code)
        except StorageUnavailable as error:
            st.error(_("The board cannot be shown right now: {error}.").format(error=error))
            return
        draw_board(info, runs)

    st.fragment(poll, run_every=BOARD_POLL_SECONDS)()


def draw_board(info: ClassInfo, runs: list[dict]) -> None:
    students = len({run["member_id"] for run in runs})
    st.subheader(
        _("{runs} runs from {students} students").format(runs=len(runs), students=students)
    )
    if not runs:
        st.info(_("No runs yet: each run a student finishes on Train or Compare appears here."))
        return
    rows = run_rows(runs)
    st.dataframe(rows, hide_index=True, key="class_runs_table")
    settings = varying_settings(runs)
    colour_column, curve_column = st.columns(2)
    colour_by = colour_column.selectbox(_("Colour the curves by"), settings, key="class_colour_by")
    curve = curve_column.selectbox(
        _("Curve"), list(CURVE_LABELS), format_func=CURVE_LABELS.get, key="class_curve"
    )
    st.plotly_chart(localized_figure(curves_figure(runs, curve, colour_by)), key="class_curves")
    grid = pooled_section(info, runs, settings)
    csv_column, png_column = st.columns(2)
    csv_column.download_button(
        _("Download the runs (CSV)"),
        csv_text(rows),
        file_name=f"class-{info.code}.csv",
        mime="text/csv",
        icon=":material/table:",
        key="class_csv",
    )
    png_column.download_button(
        _("Download the board (PNG, for slides)"),
        lambda: board_png(info.name, runs, grid, curve, colour_by),  # drawn when clicked
        file_name=f"class-{info.code}.png",
        mime="image/png",
        icon=":material/image:",
        key="class_png",
    )


def pooled_section(info: ClassInfo, runs: list[dict], settings: list[str]):
    """The pooled experiment over two settings (the assignments grid's, by default)."""
    st.subheader(_("The pooled experiment"))
    first, second = info.grid or ("activation", "lr")
    rows_column, columns_column = st.columns(2)
    rows = rows_column.selectbox(
        _("Rows"),
        settings,
        index=settings.index(first) if first in settings else 0,
        key="class_rows",
    )
    others = [name for name in settings if name != rows] or settings
    columns = columns_column.selectbox(
        _("Columns"),
        others,
        index=others.index(second) if second in others else 0,
        key="class_columns",
    )
    grid = pooled_grid(runs, rows, columns)
    st.caption(
        _(
            "Each cell: the mean final test accuracy of the runs with these two settings, ± their "
            "standard deviation, and how many runs (n)."
        )
    )
    st.plotly_chart(localized_figure(pooled_figure(grid)), key="class_pooled")
    return grid
