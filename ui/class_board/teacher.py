"""The Class page's other parts: creating or joining a class, the links and QR code to share,
and the teacher's controls (assignments, close, delete, remove runs). Names go to the page as
text (`st.text`, tables), never as Markdown or HTML."""

from __future__ import annotations

import segno
import streamlit as st

from lenet_viz.classroom import (
    ClassInfo,
    ClassroomError,
    StorageUnavailable,
    class_link,
    teacher_link,
)
from lenet_viz.classroom.schema import NAME_LENGTH
from lenet_viz.nets.activations import ACTIVATIONS
from lenet_viz.training.config import OPTIMIZERS
from ui.class_board.membership import (
    CLASS_PARAM,
    TEACHER_PARAM,
    browser_identity,
    join,
    leave,
    student,
)
from ui.class_board.resources import class_board
from ui.i18n import _
from ui.library_text import library_text
from ui.runs.settings import BATCH_SIZES, LR_CHOICES
from ui.state import CLASS_TEACHER_TOKEN

# The settings a teacher can hand out, and the values to choose from.
GRID_SETTINGS = {
    "activation": list(ACTIVATIONS),
    "lr": list(LR_CHOICES),
    "optimizer": list(OPTIMIZERS[:2]),  # SDLM needs batch size 1: not a class experiment
    "batch_size": [b for b in BATCH_SIZES if 8 <= b <= 512],
    "epochs": [1, 2, 3, 5],
}
# The lesson's question first: does the activation matter, and at which learning rate?
GRID_DEFAULTS = {"activation": ["relu", "sigmoid"], "lr": [0.01, 0.1]}


def grid_default(name: str) -> list:
    return GRID_DEFAULTS.get(name, GRID_SETTINGS[name][:2])


PAGE_NOTICE = "class_page_notice"


def base_url() -> str | None:
    """The address students use: $LENET_VIZ_PUBLIC_URL if set, else this page's own."""
    import os

    if os.environ.get("LENET_VIZ_PUBLIC_URL"):
        return None
    url = st.context.url
    if not isinstance(url, str) or not url.startswith("http"):
        return None  # AppTest: no browser, the configured or default address
    return url.split("?")[0].rsplit("/", 1)[0]


def teacher_token() -> str | None:
    token = st.query_params.get(TEACHER_PARAM)
    if token:
        st.session_state[CLASS_TEACHER_TOKEN] = token
    return st.session_state.get(CLASS_TEACHER_TOKEN)


def create_or_join() -> None:
    """Without a class: create one (a teacher) or type a code (a student)."""
    create_column, join_column = st.columns(2, gap="large")
    with create_column, st.container(border=True):
        st.subheader(_("Create a class"))
        st.text_input(_("Class name"), key="class_new_name", max_chars=NAME_LENGTH)
        st.button(_("Create the class"), type="primary", on_click=create_class, key="class_create")
    with join_column, st.container(border=True):
        st.subheader(_("Join a class"))
        st.text_input(_("Class code (from the class link)"), key="class_join_code")
        st.button(_("Join"), on_click=join_typed, key="class_join")
    notice = st.session_state.pop(PAGE_NOTICE, None)
    if notice:
        getattr(st, notice[0])(notice[1])


def create_class() -> None:
    try:
        new = class_board().create_class(st.session_state.get("class_new_name") or _("My class"))
    except (ClassroomError, StorageUnavailable) as error:
        st.session_state[PAGE_NOTICE] = ("warning", library_text(str(error)))
        return
    st.session_state[CLASS_TEACHER_TOKEN] = new.teacher_token
    st.query_params[CLASS_PARAM] = new.code
    st.query_params[TEACHER_PARAM] = new.teacher_token
    join(new.code, _("Teacher"))


def join_typed() -> None:
    code = (st.session_state.get("class_join_code") or "").strip().upper()
    if code:
        join(code)


def share_panel(info: ClassInfo, token: str) -> None:
    """The class link with its QR code (for the projector), and the teacher's own link."""
    link = class_link(info.code, base_url())
    qr_column, links_column = st.columns([1, 2], gap="large")
    qr_column.image(
        segno.make(link, error="m").png_data_uri(scale=8),
        caption=_("The class link"),
        alt=_("QR code of the class link: {link}").format(link=link),
    )
    with links_column:
        st.markdown(_("**Students open** (any page of the app with `?class=` joins):"))
        st.code(link, language=None, wrap_lines=True)  # wrapped: no scroll box to reach
        st.markdown(_("**Your teacher link** (keep it private: it manages the class):"))
        st.code(teacher_link(info.code, token, base_url()), language=None, wrap_lines=True)
        st.caption(
            _("Class code `{code}`; it expires on {date}.").format(
                code=info.code, date=f"{info.expires_at:%Y-%m-%d}"
            )
        )


def assignments_panel(info: ClassInfo, token: str) -> None:
    """The grid of settings the class fills in together, one cell per student as they join."""
    rows_column, columns_column = st.columns(2)
    with rows_column:
        rows = st.selectbox(
            _("Rows"), list(GRID_SETTINGS), format_func=library_text, key="class_grid_rows"
        )
        row_values = st.multiselect(
            _("Values of {setting}").format(setting=library_text(rows)),
            GRID_SETTINGS[rows],
            key=f"class_grid_rows_{rows}",
            placeholder=_("Choose values"),
            default=grid_default(rows),
        )
    with columns_column:
        others = [name for name in GRID_SETTINGS if name != rows]
        columns = st.selectbox(
            _("Columns"),
            others,
            format_func=library_text,
            key="class_grid_columns",
            index=others.index("lr") if "lr" in others else 0,
        )
        column_values = st.multiselect(
            _("Values of {setting}").format(setting=library_text(columns)),
            GRID_SETTINGS[columns],
            key=f"class_grid_columns_{columns}",
            placeholder=_("Choose values"),
            default=grid_default(columns),
        )
    st.button(
        _("Set the assignments"),
        key="class_set_grid",
        on_click=set_assignments,
        args=(info.code, token, rows, row_values, columns, column_values),
    )
    notice = st.session_state.pop(PAGE_NOTICE, None)
    if notice:
        getattr(st, notice[0])(notice[1])
    cells = class_board().assignments(info.code)
    if cells:
        st.dataframe(
            [
                {
                    **{library_text(name): value for name, value in cell["settings"].items()},
                    _("students"): ", ".join(map(library_text, cell["students"])),
                }
                for cell in cells
            ],
            hide_index=True,
            key="class_grid_table",
        )


def set_assignments(code: str, token: str, rows, row_values, columns, column_values) -> None:
    """The Set button's callback."""
    try:
        cells = class_board().set_assignments(code, token, rows, row_values, columns, column_values)
    except (ClassroomError, StorageUnavailable) as error:
        st.session_state[PAGE_NOTICE] = ("warning", library_text(str(error)))
        return
    st.session_state[PAGE_NOTICE] = (
        "success",
        _("{cells} cells: each student who joins gets the next one, preloaded on Train.").format(
            cells=cells
        ),
    )


def close_class(code: str, token: str, closed: bool) -> None:
    class_board().close_class(code, token, closed=closed)


def delete_class(code: str, token: str) -> None:
    """The Delete button's callback: the class goes, and this page leaves it."""
    class_board().delete_class(code, token)
    st.session_state.pop(CLASS_TEACHER_TOKEN, None)
    if TEACHER_PARAM in st.query_params:
        del st.query_params[TEACHER_PARAM]
    leave()


def remove_runs(code: str, token: str | None) -> None:
    for run_id in st.session_state.get("class_remove") or []:
        class_board().remove_run(code, run_id, identity=browser_identity(), token=token)
    st.session_state["class_remove"] = []


def manage_panel(info: ClassInfo, token: str) -> None:
    """Close or reopen the class, delete it."""
    if info.closed:
        st.text(_("The class is closed: it takes no new runs."))
    st.button(
        _("Reopen the class") if info.closed else _("Close the class (no new runs)"),
        key="class_close",
        on_click=close_class,
        args=(info.code, token, not info.closed),
    )
    sure = st.checkbox(_("Yes, delete this class and every run on it"), key="class_delete_sure")
    st.button(
        _("Delete the class"),
        disabled=not sure,
        type="primary",
        key="class_delete",
        on_click=delete_class,
        args=(info.code, token),
    )


def remove_panel(info: ClassInfo, token: str | None) -> None:
    """Remove runs: the teacher any, a student their own."""
    me = student()
    runs = class_board().export(info.code)
    removable = [run for run in runs if token or (me and run["member_id"] == me.member_id)]
    if not removable:
        st.caption(_("No runs you can remove."))
        return
    labels = {
        run["id"]: f"#{run['id']} {library_text(run['student'])}: {library_text(run['name'])}"
        for run in removable
    }
    chosen = st.multiselect(
        _("Runs to remove"),
        list(labels),
        format_func=labels.get,
        key="class_remove",
        placeholder=_("Choose runs"),
    )
    st.button(
        _("Remove"),
        disabled=not chosen,
        key="class_remove_button",
        on_click=remove_runs,
        args=(info.code, token),
    )
