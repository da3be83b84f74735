"""Train: choose the settings, start a run, watch the curves grow live, keep the model.

The Trainer lives in session_state["train_trainer"] and trains on its own thread, so the run
goes on while the user visits other pages. A fragment polls its snapshot every POLL_SECONDS;
the buttons only send start/pause/resume/stop/step through callbacks.
"""

from __future__ import annotations

from importlib.util import find_spec

import streamlit as st

from lenet_viz.activations import ACTIVATIONS
from lenet_viz.checkpoints import (
    DEFAULT_CHECKPOINT_NAMES,
    CheckpointError,
    checkpoint_bytes,
    checkpoint_metadata,
    configured_checkpoint_dir,
    sanitize_checkpoint_name,
    save_checkpoint,
)
from lenet_viz.data import DataError
from lenet_viz.figures.training import class_names, confusion_figure, misclassified_figure
from lenet_viz.model import C3_TABLES, POOLINGS
from lenet_viz.train import MAX_EPOCHS, SCHEDULES, ConfigError, TrainConfig, Trainer
from pages.common import (
    ACTIVE_STATUSES,
    ARCH_DEFAULT_C3,
    BATCH_SIZES,
    DATASET_LABELS,
    FINISHED_STATUSES,
    PERSIST,
    POOLING_LABELS,
    RUN_SIZES,
    SAVED_MODELS,
    TRAIN_TRAINER,
    c3_label,
    csv_text,
    dataset_ready,
    default,
    fetch_hint,
    is_active,
    learning_rate_input,
    live_fragment,
    live_view,
    new_trainer,
    pause_resume_stop_buttons,
    progress_panel,
    replace_trainer,
    status_of,
    test_split,
)
from pages.models_ui import ensure_app_navigation

KEY = "train_opt_"  # the settings widgets' keys
NOTICE = "train_notice"  # (kind, text) to show once, set by a callback
SAVE_NOTICE = "train_save_notice"
PENDING_OVERWRITE = "train_pending_overwrite"  # a file name waiting for "overwrite?" confirmation
SEEN_STATUS = "train_seen_status"  # the trainer status the page was last drawn with
RESULTS = "train_results"  # evaluate_full() results and checkpoint bytes of the finished run
FIGURES = "train_figures"  # the LiveView of the trainer: its figures, updated at each poll
GALLERY_SIZE = 24

ARCH_LABELS = {"modern": "Modern (simplified)", "faithful": "Faithful (LeCun 1998)"}
ARCH_DEFAULT_ACTIVATION = {"modern": "relu", "faithful": "lecun_tanh"}
OPTIMIZER_LABELS = {"sgd": "SGD", "adam": "Adam", "sdlm": "SDLM (the paper's)"}
SCHEDULE_LABELS = {
    "constant": "constant",
    "onecycle": "one-cycle: warm up, then anneal",
    "paper": "the paper's, pass by pass (p.10)",
}
DEFAULTS = {
    "dataset": "mnist",
    "arch": "modern",
    "activation": "relu",
    "c3": ARCH_DEFAULT_C3["modern"],
    "pooling": "max",
    "optimizer": "sgd",
    "lr": 0.01,
    "momentum": 0.9,
    "batch_size": 64,
    "epochs": 2,
    "schedule": "constant",
    "seed": 0,
    "size": "Medium: 10,000 images",
}


def optimizer_choices(arch: str) -> list[str]:
    """SGD and Adam; SDLM, the paper's optimizer, only for the faithful net (when installed)."""
    choices = ["sgd", "adam"]
    if arch == "faithful" and find_spec("lenet_viz.sdlm") is not None:
        choices.append("sdlm")
    return choices


def on_arch_change() -> None:
    """Each architecture starts from its own activation and C3 table; SDLM exists for the
    faithful net only."""
    arch = st.session_state[KEY + "arch"]
    st.session_state[KEY + "activation"] = ARCH_DEFAULT_ACTIVATION[arch]
    st.session_state[KEY + "c3"] = ARCH_DEFAULT_C3[arch]
    if st.session_state.get(KEY + "optimizer") not in optimizer_choices(arch):
        st.session_state[KEY + "optimizer"] = "sgd"


def structure_settings(arch: str, disabled: bool) -> None:
    """The S2->C3 connection table (both nets) and the pooling (the modern net's)."""
    st.selectbox(
        "C3 connections",
        list(C3_TABLES),
        key=KEY + "c3",
        format_func=lambda table: c3_label(arch, table),
        disabled=disabled,
        persist_state=PERSIST,
        help="Which S2 maps each C3 map sees: all six, or the paper's partial Table I "
        "(LeCun et al. 1998, p.8). Inside LeNet-5 shows the table.",
    )
    if arch == "modern":
        st.radio(
            "Pooling (S2, S4)",
            list(POOLINGS),
            key=KEY + "pooling",
            format_func=POOLING_LABELS.get,
            horizontal=True,
            disabled=disabled,
            persist_state=PERSIST,
        )
    else:
        st.caption("S2, S4: the paper's trainable subsampling (p.7).")


def settings(disabled: bool) -> None:
    """The settings widgets; their values live in session_state (read by `current_config`)."""
    for name, value in DEFAULTS.items():
        if name != "lr":
            default(KEY + name, value)
    st.radio(
        "Dataset",
        list(DATASET_LABELS),
        key=KEY + "dataset",
        format_func=DATASET_LABELS.get,
        horizontal=True,
        disabled=disabled,
        persist_state=PERSIST,
    )
    st.radio(
        "Architecture",
        list(ARCH_LABELS),
        key=KEY + "arch",
        format_func=ARCH_LABELS.get,
        horizontal=True,
        on_change=on_arch_change,
        disabled=disabled,
        persist_state=PERSIST,
    )
    arch = st.session_state[KEY + "arch"]
    structure_settings(arch, disabled)
    left, right = st.columns(2)
    left.selectbox(
        "Activation",
        list(ACTIVATIONS),
        key=KEY + "activation",
        disabled=disabled,
        persist_state=PERSIST,
        help="The squashing function after each layer. Try sigmoid to see a net get stuck.",
    )
    right.selectbox(
        "Optimizer",
        optimizer_choices(arch),
        key=KEY + "optimizer",
        format_func=OPTIMIZER_LABELS.get,
        disabled=disabled,
        persist_state=PERSIST,
    )
    learning_rate_input(KEY + "lr", DEFAULTS["lr"], disabled=disabled)
    st.slider(
        "Momentum (SGD)",
        0.0,
        0.99,
        step=0.01,
        key=KEY + "momentum",
        disabled=disabled or st.session_state[KEY + "optimizer"] != "sgd",
        persist_state=PERSIST,
        help="How much of the previous step SGD keeps. Only SGD uses it.",
    )
    st.select_slider(
        "Batch size",
        BATCH_SIZES,
        key=KEY + "batch_size",
        disabled=disabled,
        persist_state=PERSIST,
        help="Images per step. One iteration = one batch.",
    )
    left, right = st.columns(2)
    left.number_input(
        f"Epochs (1-{MAX_EPOCHS})",
        min_value=1,
        max_value=MAX_EPOCHS,
        step=1,
        key=KEY + "epochs",
        disabled=disabled,
        persist_state=PERSIST,
        help="One epoch = one pass over the training images.",
    )
    right.number_input(
        "Seed",
        min_value=0,
        max_value=2**31 - 1,
        step=1,
        key=KEY + "seed",
        disabled=disabled,
        persist_state=PERSIST,
        help="Same seed, same initial weights and same batch order.",
    )
    st.selectbox(
        "Learning-rate schedule",
        list(SCHEDULES),
        key=KEY + "schedule",
        format_func=SCHEDULE_LABELS.get,
        disabled=disabled,
        persist_state=PERSIST,
    )
    st.selectbox(
        "Run size",
        list(RUN_SIZES),
        key=KEY + "size",
        disabled=disabled,
        persist_state=PERSIST,
        help="Quick runs train on the first images only: good for a class. "
        "Full uses all 60,000 training and 10,000 test images.",
    )


def current_config() -> TrainConfig:
    """The TrainConfig the settings describe (not validated: Start reports what is wrong)."""
    state = st.session_state
    train_limit, test_limit = RUN_SIZES[state[KEY + "size"]]
    return TrainConfig(
        arch=state[KEY + "arch"],
        activation=state[KEY + "activation"],
        c3=state[KEY + "c3"],
        pooling=state[KEY + "pooling"] if state[KEY + "arch"] == "modern" else None,
        dataset=state[KEY + "dataset"],
        optimizer=state[KEY + "optimizer"],
        lr=float(state[KEY + "lr_exact"]),
        momentum=float(state[KEY + "momentum"]),
        batch_size=int(state[KEY + "batch_size"]),
        epochs=int(state[KEY + "epochs"]),
        schedule=state[KEY + "schedule"],
        seed=int(state[KEY + "seed"]),
        train_limit=train_limit,
        test_limit=test_limit,
    )


# ----------------------------------------------------------------------------- controls


def trainer_now() -> Trainer | None:
    return st.session_state.get(TRAIN_TRAINER)


def begin_run(paused: bool) -> Trainer | None:
    """Build a Trainer from the settings and keep it; say why if the settings cannot work."""
    try:
        trainer = new_trainer([current_config()])
    except (ConfigError, DataError) as error:
        st.session_state[NOTICE] = ("error", f"Cannot start: {error}")
        return None
    replace_trainer(TRAIN_TRAINER, trainer)
    for key in (RESULTS, SAVE_NOTICE, PENDING_OVERWRITE):
        st.session_state.pop(key, None)
    return trainer if paused else trainer.start()


def on_start() -> None:
    begin_run(paused=False)


def on_step() -> None:
    """One batch: of the paused run, or of a new run that then waits paused."""
    trainer = trainer_now()
    if not is_active(trainer):
        trainer = begin_run(paused=True)
    if trainer is not None:
        trainer.step()


def control_buttons(status: str | None, data_ok: bool) -> None:
    """The run buttons, enabled by the status the page was drawn with (None: no trainer)."""
    active = status in ACTIVE_STATUSES
    row = st.container(horizontal=True)
    row.button(
        "Start",
        icon=":material/play_arrow:",
        type="primary",
        on_click=on_start,
        disabled=active or not data_ok,
        help="Train a new net with the settings on the left.",
    )
    pause_resume_stop_buttons(row, TRAIN_TRAINER, status)
    row.button(
        "Step one batch",
        icon=":material/skip_next:",
        on_click=on_step,
        disabled=not data_ok or status in ("running", "queued"),
        help="Train exactly one batch, then wait. Starts a new run if none is paused.",
    )


# ----------------------------------------------------------------------------- live panel


def live_panel() -> None:
    """Progress and curves, redrawn every POLL_SECONDS while a run is active."""
    trainer = trainer_now()
    if trainer is None:
        st.info(
            "Choose the settings on the left and press **Start**. The curves appear here "
            "and grow with every batch; the run goes on if you visit another page."
        )
        return
    view = live_view(FIGURES, trainer)
    snapshot = view.poll(trainer)
    run = snapshot.runs[0]
    st.markdown(f"**Run:** {run['name']}")
    progress_panel(snapshot, TRAIN_TRAINER)
    if run["status"] == "diverged":
        st.error(f"The run {run['message']}", icon=":material/warning:")
    elif run["status"] == "error":
        st.error(run["message"])
    st.plotly_chart(view.iteration_figure(), key="train_iteration_chart")
    epochs = trainer.runs[0].config.epochs
    st.plotly_chart(view.epoch_figure(total_epochs=epochs), key="train_epoch_chart")
    if snapshot.status != st.session_state.get(SEEN_STATUS):
        st.rerun()  # the whole page: the buttons and the results follow the new status


# ----------------------------------------------------------------------------- results


def results_of(trainer: Trainer) -> dict:
    """evaluate_full() and the checkpoint bytes of a finished run, computed once."""
    cached = st.session_state.get(RESULTS)
    if cached is not None and cached["trainer_id"] == id(trainer):
        return cached
    run = trainer.runs[0]
    with st.spinner("Evaluating on the test images…"):
        evaluation = run.evaluate_full()
        model = run.model_snapshot()
        metadata = checkpoint_metadata(
            model,
            dataset=run.config.dataset,
            train_config=run.config.to_dict(),
            test_acc=evaluation["test_acc"],
            extra={"iterations": run.iteration, "run_status": run.status},
        )
    cached = {
        "trainer_id": id(trainer),
        "evaluation": evaluation,
        "model": model,
        "metadata": metadata,
        "checkpoint": checkpoint_bytes(model, metadata),
    }
    st.session_state[RESULTS] = cached
    return cached


def results_section(trainer: Trainer) -> None:
    run = trainer.runs[0]
    if run.iteration == 0:
        return
    results = results_of(trainer)
    evaluation = results["evaluation"]
    labels, predicted = evaluation["labels"], evaluation["predicted"]
    wrong = (predicted != labels).nonzero().flatten()
    names = class_names(run.config.dataset)

    st.divider()
    st.header("Results")
    columns = st.columns(4)
    columns[0].metric("Test accuracy", f"{100 * evaluation['test_acc']:.2f} %")
    columns[1].metric("Test images wrong", f"{len(wrong):,} of {len(labels):,}")
    columns[2].metric("Test loss", f"{evaluation['test_loss']:.4f}")
    columns[3].metric("Iterations trained", f"{run.iteration:,}")

    left, right = st.columns([1, 1], gap="large")
    with left:
        st.subheader("Confusion matrix")
        st.caption(
            "Rows: the true label. Columns: what the net answered. The colours show the mistakes."
        )
        st.plotly_chart(
            confusion_figure(evaluation["confusion"], names), key="train_confusion_chart"
        )
    with right:
        st.subheader("Misclassified test images")
        shown = wrong[:GALLERY_SIZE]
        st.caption(
            f"The first {len(shown)} of {len(wrong):,} mistakes, titled "
            "*true → predicted*. Would you have read them right?"
        )
        images = test_split(run.config.dataset).images[shown].numpy()
        st.plotly_chart(
            misclassified_figure(images, labels[shown].tolist(), predicted[shown].tolist(), names),
            key="train_gallery_chart",
            config={"displayModeBar": False},
        )
    keep_model_section(trainer, results)


def save_model(trainer: Trainer, overwrite: bool) -> None:
    """Save the finished run's model under the chosen name (a callback)."""
    st.session_state.pop(PENDING_OVERWRITE, None)
    results = results_of(trainer)
    try:
        file_name = sanitize_checkpoint_name(st.session_state.get("train_save_name", ""))
        if file_name in DEFAULT_CHECKPOINT_NAMES.values():
            raise CheckpointError(
                f"{file_name} is the name of a model shipped with the app; pick another name"
            )
        path = configured_checkpoint_dir() / file_name
        if path.exists() and not overwrite:
            st.session_state[PENDING_OVERWRITE] = file_name
            return
        save_checkpoint(results["model"], path, results["metadata"], overwrite=overwrite)
    except CheckpointError as error:
        st.session_state[SAVE_NOTICE] = ("error", str(error))
        return
    saved = st.session_state.setdefault(SAVED_MODELS, [])
    if str(path) not in saved:
        saved.append(str(path))
    st.session_state[SAVE_NOTICE] = (
        "success",
        f"Saved as `{path}`. The Draw and Inside pages can use it now.",
    )


def cancel_overwrite() -> None:
    st.session_state.pop(PENDING_OVERWRITE, None)
    st.session_state[SAVE_NOTICE] = ("info", "Not saved: the existing file was kept.")


def keep_model_section(trainer: Trainer, results: dict) -> None:
    run = trainer.runs[0]
    st.subheader("Keep the model")
    config = run.config
    default(
        "train_save_name",
        f"my_lenet5_{config.arch}_{run.model.config.activation}",
    )
    save_col, download_col = st.columns([1.4, 1], gap="large")
    with save_col:
        st.text_input(
            f"Name for the checkpoint (saved in `{configured_checkpoint_dir().name}/`)",
            key="train_save_name",
            max_chars=80,
            help="Letters, digits, '.', '_' and '-'; other characters become '_'.",
        )
        st.button("Save", icon=":material/save:", on_click=save_model, args=(trainer, False))
        pending = st.session_state.get(PENDING_OVERWRITE)
        if pending:
            st.warning(f"A checkpoint named **{pending}** already exists. Replace it?")
            yes, no = st.columns(2)
            yes.button(
                "Yes, overwrite it", on_click=save_model, args=(trainer, True), type="primary"
            )
            no.button("No, keep the old one", on_click=cancel_overwrite)
        notice = st.session_state.get(SAVE_NOTICE)
        if notice:
            getattr(st, notice[0])(notice[1])
    with download_col:
        st.download_button(
            "Download the model (.pt)",
            icon=":material/download:",
            data=results["checkpoint"],
            file_name=f"lenet5_{config.arch}_{run.model.config.activation}.pt",
            mime="application/octet-stream",
            on_click="ignore",
        )
        st.download_button(
            "Download the metrics (.csv)",
            icon=":material/download:",
            data=csv_text(run.history_snapshot().to_csv_rows()),
            file_name="lenet5_training_metrics.csv",
            mime="text/csv",
            on_click="ignore",
        )


# ----------------------------------------------------------------------------- the page

ensure_app_navigation()  # a deep link on a fresh server: rerun through app.py
st.title("Train LeNet-5")
trainer = trainer_now()
seen_status = status_of(trainer)  # read once: the page, and how the panel polls
active = seen_status in ACTIVE_STATUSES
st.session_state[SEEN_STATUS] = seen_status

settings_column, live_column = st.columns([1, 2.6], gap="large")
with settings_column, st.container(border=True):
    st.subheader("Settings")
    if active:
        st.caption("Locked while a run is going on: Stop it to change them.")
    settings(disabled=active)
data_ok = dataset_ready(st.session_state[KEY + "dataset"])

with live_column:
    if not data_ok:
        st.warning(fetch_hint(st.session_state[KEY + "dataset"]))
    control_buttons(seen_status, data_ok)
    notice = st.session_state.pop(NOTICE, None)
    if notice:
        getattr(st, notice[0])(notice[1])
    live_fragment(live_panel, seen_status)

if trainer is not None and seen_status in FINISHED_STATUSES:
    results_section(trainer)
