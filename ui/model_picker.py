"""The model picker shared by the Draw, Inside and Robustness pages.

A session sees: the shipped checkpoints (loaded once per server, `st.cache_resource`), the
models it saved itself (session_state["saved_models"]), a checkpoint it uploads, and the model
the Train page is training right now (a consistent snapshot of its weights, never mid-update).
The choice is remembered across the two pages.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import streamlit as st

from lenet_viz.checkpoints.store import (
    DEFAULT_CHECKPOINT_NAMES,
    DEFAULT_CHECKPOINT_PRESETS,
    CheckpointError,
    LoadedCheckpoint,
    configured_checkpoint_dir,
    load_checkpoint,
    load_checkpoint_bytes,
)
from lenet_viz.classroom import ClassroomError, StorageUnavailable
from lenet_viz.explain.calibration import temperature_of
from lenet_viz.nets.model import LeNetBase
from lenet_viz.training.status import ACTIVE_STATUSES
from ui.class_board.kept_work import KEPT_PREFIX, kept_models, load_kept_model
from ui.i18n import N_, _, file_uploader
from ui.library_text import library_text
from ui.state import SAVED_MODELS, TRAIN_TRAINER

PICKED = "picked_model"  # the widget key, kept across pages (persist_state)
UPLOADED = "uploaded_checkpoint"  # {"file_id", "name", "loaded"}: the upload, decoded once

TRAINING = "training"
UPLOAD = "upload"
SHIPPED_LABELS = {
    "modern": N_("modern LeNet-5 (ReLU)"),
    "faithful": N_("faithful LeNet-5 (1998)"),
}


@dataclass
class PickedModel:
    model: LeNetBase  # in eval mode; shared read-only between sessions for shipped models
    label: str  # what to call it on the page
    description: str  # one line: architecture, activation, accuracy, where it comes from
    temperature: float = 1.0  # calibration of its probabilities (lenet_viz.explain.calibration)


@st.cache_resource(show_spinner=False, max_entries=32)  # `_load` shows the spinner
def _load_cached(path: str, modified_ns: int, size: int) -> LoadedCheckpoint:
    """Load a checkpoint once per server; a changed file (time, size) is loaded again."""
    return load_checkpoint(path)


def _load(path: Path) -> LoadedCheckpoint:
    stat = path.stat()
    with st.spinner(_("Loading the model…")):
        return _load_cached(str(path), stat.st_mtime_ns, stat.st_size)


def _describe(loaded: LoadedCheckpoint, origin: str) -> str:
    config = loaded.config
    accuracy = loaded.metadata.get("test_acc")
    parts = [
        _("{arch} net").format(arch=library_text(config.arch)),
        _("activation {activation}").format(activation=config.activation),
        _("C3 table: {c3}").format(c3=library_text(config.c3)),
    ]
    if isinstance(accuracy, float):
        parts.append(_("test accuracy {accuracy}").format(accuracy=f"{accuracy:.2%}"))
    return " · ".join([origin, *parts])


def _shipped_paths() -> dict[str, Path]:
    folder = configured_checkpoint_dir()
    return {arch: folder / name for arch, name in DEFAULT_CHECKPOINT_NAMES.items()}


def _options() -> tuple[list[str], dict[str, str]]:
    """The choices (stable ids) and their labels, in the order they are offered."""
    options, labels = [], {}
    for arch, path in _shipped_paths().items():
        if path.is_file():
            option = f"shipped:{arch}"
            options.append(option)
            labels[option] = _("Shipped: {label}").format(label=_(SHIPPED_LABELS[arch]))
    session_files = {Path(p).name for p in st.session_state.get(SAVED_MODELS, [])}
    for path in st.session_state.get(SAVED_MODELS, []):
        if Path(path).is_file():
            option = f"saved:{path}"
            options.append(option)
            labels[option] = _("Saved by you: {name}").format(name=Path(path).name)
    for kept in kept_models(session_files):  # saved in earlier visits of this browser
        option = f"{KEPT_PREFIX}{kept.id}"
        options.append(option)
        labels[option] = f"Saved by you: {kept.name} ({kept.saved_at[:10]})"
    trainer = st.session_state.get(TRAIN_TRAINER)
    if trainer is not None and getattr(trainer, "runs", None):
        options.append(TRAINING)
        labels[TRAINING] = _("The model on the Train page (its weights right now)")
    options.append(UPLOAD)
    labels[UPLOAD] = _("Upload a checkpoint (.pt)…")
    return options, labels


def _missing_shipped_message() -> str:
    commands = _(" and ").join(
        f"`python -m lenet_viz train --preset {DEFAULT_CHECKPOINT_PRESETS[arch]} --save {path}`"
        for arch, path in _shipped_paths().items()
    )
    return _(
        "No trained model is available yet: the shipped checkpoints are not in `{folder}`. "
        "Train one on the **Train** page (it appears here while it trains, and once you save "
        "it), upload a checkpoint, or run {commands}."
    ).format(folder=configured_checkpoint_dir(), commands=commands)


def _missing_some_shipped_note() -> str | None:
    """A line naming the shipped checkpoints that are not there yet (None if all are)."""
    missing = [
        _("the {label} ({command})").format(
            label=_(SHIPPED_LABELS[arch]),
            command=f"`python -m lenet_viz train --preset {DEFAULT_CHECKPOINT_PRESETS[arch]} "
            f"--save {path}`",
        )
        for arch, path in _shipped_paths().items()
        if not path.is_file()
    ]
    return _("Not shipped yet: {missing}.").format(missing="; ".join(missing)) if missing else None


def model_picker() -> PickedModel | None:
    """Draw the picker and return the chosen model, or None (with a message saying why)."""
    options, labels = _options()
    if st.session_state.get(PICKED) not in options:
        st.session_state[PICKED] = options[0]
    column, info = st.columns([2, 3], vertical_alignment="bottom")
    choice = column.selectbox(
        _("Model"),
        options,
        format_func=labels.__getitem__,
        key=PICKED,
        persist_state="session",
        help=_(
            "The shipped nets were trained on all of MNIST. Models you save on the Train page "
            "and the model training there right now appear here too."
        ),
    )
    if not any(option.startswith("shipped:") for option in options):
        st.info(_missing_shipped_message(), icon=":material/info:")
    elif note := _missing_some_shipped_note():
        st.caption(note)
    picked = _resolve(choice, labels[choice])
    if picked is not None and choice == TRAINING:
        with info:
            _training_status(st.session_state[TRAIN_TRAINER])
    elif picked is not None:
        info.caption(picked.description)
    return picked


STATUS_POLL_SECONDS = 1.0


def _training_status(trainer) -> None:
    """The Train page's run as it is now, updated every second while it goes on; when its
    status changes (the run ends), the page reruns so the prediction uses the final weights.
    (It used to say "running" until the next stroke, long after the run had ended.)"""
    drawn_with = trainer.status
    drawn_iteration = trainer.runs[0].iteration

    def status_line() -> None:
        status, run = trainer.status, trainer.runs[0]
        if status != drawn_with:
            st.rerun(scope="app")
        weights = (
            _(
                "the prediction uses the weights of iteration {iteration} (draw again to use "
                "newer ones)"
            ).format(iteration=f"{drawn_iteration:,}")
            if status in ACTIVE_STATUSES and run.iteration != drawn_iteration
            else _("the prediction uses these weights")
        )
        st.caption(training_line(status, run, weights))

    every = STATUS_POLL_SECONDS if drawn_with in ACTIVE_STATUSES else None
    st.fragment(status_line, run_every=every)()


def training_line(status: str, run, weights: str) -> str:
    """The Train page's run in one line: status, progress, net, and which weights are used."""
    progress = (
        _("iteration {iteration} of {total}").format(
            iteration=f"{run.iteration:,}", total=f"{run.total_iterations:,}"
        )
        if run.total_iterations
        else _("not trained yet")
    )
    config = run.config.model
    return _(
        "Train page, {status} · {progress} · {arch} net · activation {activation} · {weights}"
    ).format(
        status=library_text(status),
        progress=progress,
        arch=library_text(config.arch),
        activation=config.activation,
        weights=weights,
    )


def _resolve(choice: str, label: str) -> PickedModel | None:
    try:
        if choice.startswith("shipped:"):
            path = _shipped_paths()[choice.split(":", 1)[1]]
            loaded = _load(path)
            description = _describe(loaded, _("shipped `{name}`").format(name=path.name))
            return PickedModel(loaded.model, label, description, temperature_of(loaded.metadata))
        if choice.startswith("saved:"):
            path = Path(choice.split(":", 1)[1])
            loaded = _load(path)
            description = _describe(loaded, _("saved `{name}`").format(name=path.name))
            return PickedModel(loaded.model, label, description, temperature_of(loaded.metadata))
        if choice.startswith(KEPT_PREFIX):
            loaded = load_kept_model(choice)
            description = _describe(loaded, _("saved by you earlier"))
            return PickedModel(loaded.model, label, description, temperature_of(loaded.metadata))
        if choice == TRAINING:
            return _training_model(label)
        return _uploaded_model()
    except (CheckpointError, OSError, ClassroomError, StorageUnavailable) as error:
        st.error(_("Cannot use this model: {error}").format(error=error), icon=":material/error:")
        return None


def _training_model(label: str) -> PickedModel | None:
    trainer = st.session_state[TRAIN_TRAINER]
    run = trainer.runs[0]
    model = run.model_snapshot()  # a consistent copy, taken between two training steps
    description = training_line(
        trainer.status, run, _("the weights as they were when this page updated")
    )
    return PickedModel(model, label, description)


def _uploaded_model() -> PickedModel | None:
    upload = file_uploader(
        _("Checkpoint file (.pt) saved by this app or `python -m lenet_viz train --save`"),
        ["pt"],
        key="model_upload",
    )
    if upload is not None:
        previous = st.session_state.get(UPLOADED)
        if previous is None or previous["file_id"] != upload.file_id:
            st.session_state.pop(UPLOADED, None)
            loaded = load_checkpoint_bytes(upload.getvalue(), upload.name)  # CheckpointError
            st.session_state[UPLOADED] = {
                "file_id": upload.file_id,
                "name": upload.name,
                "loaded": loaded,
            }
    kept = st.session_state.get(UPLOADED)
    if kept is None:
        st.info(_("Choose a checkpoint file to upload, or pick another model above."))
        return None
    name = os.path.basename(kept["name"])
    loaded = kept["loaded"]
    description = _describe(loaded, _("uploaded `{name}`").format(name=name))
    return PickedModel(
        loaded.model,
        _("Uploaded: {name}").format(name=name),
        description,
        temperature_of(loaded.metadata),
    )


NO_MODEL = "none"


def second_model_picker(key: str, first: str | None = None) -> PickedModel | None:
    """A second model to set beside the one `model_picker` chose (shipped, saved or training;
    uploads go through the first picker), or None. It starts on the other shipped net."""
    options, labels = _options()
    choices = [NO_MODEL] + [o for o in options if o not in (UPLOAD, first)]
    labels = {**labels, NO_MODEL: _("Nothing: one model only")}
    if st.session_state.get(key) not in choices:
        others = [o for o in choices if o.startswith("shipped:")]
        st.session_state[key] = others[0] if others else NO_MODEL
    choice = st.selectbox(_("Compare with"), choices, format_func=labels.__getitem__, key=key)
    return None if choice == NO_MODEL else _resolve(choice, labels[choice])


def picked_option() -> str | None:
    """The id of the model `model_picker` chose (e.g. "shipped:modern")."""
    return st.session_state.get(PICKED)
