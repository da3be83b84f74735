"""The Train page's results: accuracy, failures and diagnosis, saving the model, and this session's
earlier runs.
"""

from __future__ import annotations

import streamlit as st

from lenet_viz.checkpoints.store import (
    DEFAULT_CHECKPOINT_NAMES,
    CheckpointError,
    checkpoint_bytes,
    checkpoint_metadata,
    configured_checkpoint_dir,
    sanitize_checkpoint_name,
    save_checkpoint,
)
from lenet_viz.figures.training import class_names, confusion_figure, misclassified_figure
from lenet_viz.training.diagnose import diagnose
from lenet_viz.training.replay import replay_payload
from lenet_viz.training.runner import Trainer
from ui.cached_data import test_split
from ui.charts import chart
from ui.class_board.kept_work import keep_saved_model
from ui.i18n import _
from ui.library_text import library_text, localized_figure
from ui.runs.results_table import csv_text, metrics_rows
from ui.state import SAVED_MODELS, TRAIN_TRAINER, default, replace_trainer
from ui.train.controls import (
    history,
    is_saved,
    keep_in_history,
    mark_saved,
    retry_with,
    trainer_now,
)
from ui.train.settings import (
    GALLERY_SIZE,
    HISTORY,
    HISTORY_SIZE,
    PENDING_OVERWRITE,
    RESULTS,
    SAVE_NOTICE,
    restore_settings,
)


def results_of(trainer: Trainer) -> dict:
    """evaluate_full() and the checkpoint bytes of a finished run, computed once."""
    cached = st.session_state.get(RESULTS)
    if cached is not None and cached["trainer_id"] == id(trainer):
        return cached
    run = trainer.runs[0]
    with st.spinner(_("Evaluating on the test images…")):
        evaluation = run.evaluate_full()
        model = run.model_snapshot()
        metadata = checkpoint_metadata(
            model,
            dataset=run.config.dataset,
            train_config=run.config.to_dict(),
            test_acc=evaluation["test_acc"],
            extra={
                "iterations": run.iteration,
                "run_status": run.status,
                "passes": run.history_snapshot().epochs,
            },
        )
    history = run.history_snapshot()  # the snapshots go along, for `lenet-viz replay`
    replay = replay_payload(run.replay.snapshots(), history.iteration, history.loss)
    cached = {
        "trainer_id": id(trainer),
        "evaluation": evaluation,
        "model": model,
        "metadata": metadata,
        "replay": replay,
        "checkpoint": checkpoint_bytes(model, metadata, replay),
    }
    st.session_state[RESULTS] = cached
    return cached


def failure_panel(run, test_acc: float | None) -> None:
    """A run that ended near chance says so, with the likely cause and a one-click retry."""
    diagnosis = diagnose(run.config, run.history_snapshot(), test_acc)
    if diagnosis is None:
        return
    # A warning, not an error: the app worked, the run did not learn.
    st.warning(
        f"**{library_text(diagnosis.headline)}** {library_text(diagnosis.cause)}",
        icon=":material/error:",
    )
    st.button(
        library_text(diagnosis.change_label),
        icon=":material/replay:",
        on_click=retry_with,
        args=(diagnosis.change,),
        type="primary",
        help=_("Start a new run with the same settings and this one change."),
    )


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
    st.header(_("Results"))
    failure_panel(run, evaluation["test_acc"])
    columns = st.columns(4)
    columns[0].metric(_("Test accuracy"), f"{100 * evaluation['test_acc']:.2f} %")
    columns[1].metric(
        _("Test images wrong"),
        _("{wrong} of {total}").format(wrong=f"{len(wrong):,}", total=f"{len(labels):,}"),
    )
    columns[2].metric(_("Test loss"), f"{evaluation['test_loss']:.4f}")
    columns[3].metric(_("Iterations trained"), f"{run.iteration:,}")

    left, right = st.columns([1, 1], gap="large")
    with left:
        st.subheader(_("Confusion matrix"))
        st.caption(
            _(
                "Rows: the true label. Columns: what the net answered. The colours show the "
                "mistakes."
            )
        )
        chart(
            st,
            localized_figure(confusion_figure(evaluation["confusion"], names)),
            key="train_confusion_chart",
        )
    with right:
        st.subheader(_("Misclassified test images"))
        shown = wrong[:GALLERY_SIZE]
        st.caption(
            _(
                "The first {shown} of {wrong} mistakes, titled *true → predicted*. Would you "
                "have read them right?"
            ).format(shown=len(shown), wrong=f"{len(wrong):,}")
        )
        images = test_split(run.config.dataset).images[shown].numpy()
        chart(
            st,
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
                _("{name} is the name of a model shipped with the app; pick another name").format(
                    name=file_name
                )
            )
        path = configured_checkpoint_dir() / file_name
        if path.exists() and not overwrite:
            st.session_state[PENDING_OVERWRITE] = file_name
            return
        save_checkpoint(
            results["model"],
            path,
            results["metadata"],
            overwrite=overwrite,
            replay=results["replay"],
        )
    except CheckpointError as error:
        st.session_state[SAVE_NOTICE] = ("error", str(error))
        return
    mark_saved(trainer)
    saved = st.session_state.setdefault(SAVED_MODELS, [])
    if str(path) not in saved:
        saved.append(str(path))
    kept = keep_saved_model(path)  # for this browser: after a reload, in a new tab, ...
    st.session_state[SAVE_NOTICE] = (
        "success",
        f"Saved as `{path}`. The Draw and Inside pages can use it now"
        + (", in this browser's later visits too." if kept else "."),
    )


def cancel_overwrite() -> None:
    st.session_state.pop(PENDING_OVERWRITE, None)
    st.session_state[SAVE_NOTICE] = ("info", _("Not saved: the existing file was kept."))


def keep_model_section(trainer: Trainer, results: dict) -> None:
    run = trainer.runs[0]
    st.subheader(_("Keep the model"))
    config = run.config
    default(
        "train_save_name",
        f"my_lenet5_{config.model.arch}_{run.model.config.activation}",
    )
    save_col, download_col = st.columns([1.4, 1], gap="large")
    with save_col:
        st.text_input(
            _("Name for the checkpoint (saved in `{folder}/`)").format(
                folder=configured_checkpoint_dir().name
            ),
            key="train_save_name",
            max_chars=80,
            help=_("Letters, digits, `.`, `_` and `-`; other characters become `_`."),
        )
        st.button(_("Save"), icon=":material/save:", on_click=save_model, args=(trainer, False))
        pending = st.session_state.get(PENDING_OVERWRITE)
        if pending:
            st.warning(
                _("A checkpoint named **{name}** already exists. Replace it?").format(name=pending)
            )
            yes, no = st.columns(2)
            yes.button(
                _("Yes, overwrite it"), on_click=save_model, args=(trainer, True), type="primary"
            )
            no.button(_("No, keep the old one"), on_click=cancel_overwrite)
        notice = st.session_state.get(SAVE_NOTICE)
        if notice:
            getattr(st, notice[0])(notice[1])
    try:  # the downloads are named as the user named the checkpoint
        stem = sanitize_checkpoint_name(st.session_state.get("train_save_name", "")).removesuffix(
            ".pt"
        )
    except CheckpointError:
        stem = f"lenet5_{config.model.arch}_{run.model.config.activation}"
    with download_col:
        st.download_button(
            _("Download the model (.pt)"),
            icon=":material/download:",
            data=results["checkpoint"],
            file_name=f"{stem}.pt",
            mime="application/octet-stream",
            on_click=mark_saved,
            args=(trainer,),
        )
        st.download_button(
            _("Download the metrics and settings (.csv)"),
            icon=":material/download:",
            data=csv_text(metrics_rows([(run.name, config, run.history_snapshot())])),
            file_name=f"{stem}_metrics.csv",
            mime="text/csv",
            on_click="ignore",
        )


# ----------------------------------------------------------------------------- earlier runs


def show_earlier(trainer: Trainer) -> None:
    """A callback: make an earlier run the one the page shows (the current one is filed)."""
    current = trainer_now()
    replace_trainer(TRAIN_TRAINER, trainer)
    keep_in_history(current)
    st.session_state[HISTORY] = [t for t in history() if t is not trainer]
    for key in (RESULTS, SAVE_NOTICE, PENDING_OVERWRITE):
        st.session_state.pop(key, None)
    restore_settings(trainer.runs[0].config)


def history_section(active: bool) -> None:
    """This session's earlier runs: settings, curves and model, a click away."""
    earlier = history()
    if not earlier:
        return
    st.divider()
    st.subheader(
        _("Earlier runs in this session ({count} of at most {most})").format(
            count=len(earlier), most=HISTORY_SIZE
        )
    )
    st.caption(
        _(
            "A new run files the one shown above here. Show brings a run back above, with its "
            "curves, results and model (to save or download); its settings go back into Settings."
        )
    )
    for index, trainer in enumerate(earlier):
        run = trainer.runs[0]
        accuracy = run.final.get("test_acc")
        score = "–" if accuracy is None else f"{100 * accuracy:.2f} %"
        kept = _("saved") if is_saved(trainer) else _("not saved")
        row = st.container(horizontal=True, vertical_alignment="center")
        row.markdown(
            _("**{name}** · {epochs} epoch(s) · {status} · test accuracy {score} · {kept}").format(
                name=library_text(run.name),
                epochs=run.config.epochs,
                status=library_text(run.status),
                score=score,
                kept=kept,
            )
        )
        row.button(
            _("Show"),
            key=f"train_history_show_{index}",
            on_click=show_earlier,
            args=(trainer,),
            disabled=active,
        )
