"""A browser's work kept in the database under its identity (the cookie's random id): the
models it saved (offered again by the model picker after a reload, in a new tab, after a server
restart, on another replica), its finished runs (listed on Train), and, for a class's teacher,
every model the class saved. A database that is down only hides them for a while. (The Train
page's list of the runs is ui/class_board/kept_runs.py.)"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from lenet_viz.checkpoints.store import LoadedCheckpoint, load_checkpoint_bytes
from lenet_viz.classroom import ClassroomError, StorageUnavailable
from lenet_viz.classroom.workspace import SavedModelInfo
from ui.class_board.membership import browser_identity, class_code
from ui.class_board.resources import workspace
from ui.i18n import _

KEPT_PREFIX = "kept:"
LOADED_KEPT = "kept_models_loaded"  # {model id: LoadedCheckpoint}, decoded once a session


def keep_saved_model(path: Path) -> bool:
    """Keep a checkpoint just saved on disk for this browser (and its class); False if the
    database could not take it (the file is saved all the same)."""
    try:
        workspace().save_model(browser_identity(), path.name, path.read_bytes(), class_code())
    except (StorageUnavailable, ClassroomError, OSError):
        return False
    return True


def kept_models(skip_names: set[str]) -> list[SavedModelInfo]:
    """This browser's saved models, but those the session already offers by file."""
    try:
        return [m for m in workspace().saved_models(browser_identity()) if m.name not in skip_names]
    except StorageUnavailable:
        return []


def load_kept_model(option: str) -> LoadedCheckpoint:
    """The model behind a picker option "kept:ID" (CheckpointError if it cannot be read)."""
    model_id = int(option.removeprefix(KEPT_PREFIX))
    loaded = st.session_state.setdefault(LOADED_KEPT, {})
    if model_id not in loaded:
        data = workspace().model_bytes(model_id, identity=browser_identity())
        loaded[model_id] = load_checkpoint_bytes(data, f"saved model {model_id}")
    return loaded[model_id]


def class_models_panel(code: str, token: str) -> None:
    """Class page, for the teacher: every model the class saved, to download."""
    try:
        models = workspace().class_models(code, token)
    except (StorageUnavailable, ClassroomError) as error:
        st.warning(str(error))
        return
    if not models:
        st.caption(_("No student has saved a model in this class yet."))
        return
    for model in models:
        name_column, button_column = st.columns([3, 1])
        who = model.student or _("a student")
        name_column.text(f"{who}: {model.name} ({model.saved_at[:16]})")
        button_column.download_button(
            _("Download"),
            lambda model_id=model.id: workspace().model_bytes(
                model_id, class_code=code, teacher_token=token
            ),
            file_name=model.name,
            key=f"class_model_{model.id}",
        )
