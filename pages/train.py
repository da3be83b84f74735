"""Train: choose the settings, start a run, watch the curves grow live, keep the model.

The Trainer lives in session_state["train_trainer"] and trains on its own thread, so the run
goes on while the user visits other pages. A fragment polls its snapshot every POLL_SECONDS;
the buttons only send start/pause/resume/stop/step through callbacks.
"""

from __future__ import annotations

import streamlit as st

from lenet_viz.activations import ACTIVATIONS
from lenet_viz.augment import AUGMENT_HELP
from lenet_viz.checkpoints import (
    DEFAULT_CHECKPOINT_NAMES,
    CheckpointError,
    checkpoint_bytes,
    checkpoint_metadata,
    configured_checkpoint_dir,
    sanitize_checkpoint_name,
    save_checkpoint,
)
from lenet_viz.config import (
    C3_TABLES,
    MAX_EPOCHS,
    POOLINGS,
    PRESETS,
    SCHEDULES,
    ConfigError,
    ModelConfig,
    TrainConfig,
)
from lenet_viz.data import DataError
from lenet_viz.diagnose import diagnose
from lenet_viz.figures.training import (
    class_names,
    confusion_figure,
    misclassified_figure,
)
from lenet_viz.replay import replay_payload
from lenet_viz.runner import Trainer, start_run
from ui.data import DATASET_LABELS, dataset_ready, fetch_hint, test_split
from ui.live_panel import progress_panel
from ui.navigation import ensure_app_navigation
from ui.replay_panel import inside_panel
from ui.results import csv_text, metrics_rows
from ui.run_controls import pause_resume_stop_buttons
from ui.sdlm_panel import PAPER_RUN_SIZE, paper_init, paper_recipe_button, sdlm_panel_for_run
from ui.session_guard import ADOPTED
from ui.state import (
    ACTIVE_STATUSES,
    FINISHED_STATUSES,
    PERSIST,
    SAVED_MODELS,
    SLOT_STATUSES,
    TRAIN_TRAINER,
    default,
    is_active,
    live_fragment,
    live_view,
    replace_trainer,
    status_of,
)
from ui.training_settings import (
    ARCH_DEFAULT_C3,
    BATCH_SIZES,
    POOLING_LABELS,
    RUN_SIZES,
    c3_label,
    learning_rate_input,
    run_size_label,
    set_learning_rate,
)

KEY = "train_opt_"  # the settings widgets' keys
NOTICE = "train_notice"  # (kind, text) to show once, set by a callback
SAVE_NOTICE = "train_save_notice"
PENDING_OVERWRITE = "train_pending_overwrite"  # a file name waiting for "overwrite?" confirmation
SEEN_STATUS = "train_seen_status"  # the trainer status the page was last drawn with
RESULTS = "train_results"  # evaluate_full() results and checkpoint bytes of the finished run
FIGURES = "train_figures"  # the LiveView of the trainer: its figures, updated at each poll
SETTINGS_ARCH = "train_settings_arch"  # the architecture the per-net settings belong to
ARCH_MEMORY = "train_arch_memory"  # {arch: the user's per-net settings}, kept across switches
HISTORY = "train_history"  # this session's earlier runs (Trainers), newest first
SAVED_RUNS = "train_saved_runs"  # ids of the trainers whose model was saved or downloaded
CONFIRM_DISCARD = "train_confirm_discard"  # "start" or "step", waiting for "drop it?"
HISTORY_SIZE = 5  # earlier runs kept, besides the current one
GALLERY_SIZE = 24

ARCH_LABELS = {"modern": "Modern (simplified)", "faithful": "Faithful (LeCun 1998)"}
OPTIMIZER_LABELS = {"sgd": "SGD", "adam": "Adam", "sdlm": "SDLM (the paper's)"}
# The Train page offers these; "drawn" (stroke digits mixed in) is for `lenet_viz train`: it
# synthesizes 12,000 drawings first, a minute of a shared server's CPU.
PAGE_AUGMENTS = ["none", "shift", "paper"]
SCHEDULE_LABELS = {
    "constant": "constant",
    "onecycle": "one-cycle: warm up, then anneal",
    "paper": "the paper's, pass by pass (p.10)",
    "paper-hold": "the paper's, without its last drop (pass 13 on)",
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
    "augment": "none",
    "seed": 0,
    "size": "Medium: 10,000 images",
}


# The settings that belong to one architecture: switching nets keeps each net's own choices.
ARCH_SETTINGS = (
    "activation", "c3", "optimizer", "lr", "momentum", "batch_size", "epochs", "schedule"
)  # fmt: skip
# Recipes a learner can pick, per net: (preset, button label, what to notice). "default" is the
# page's DEFAULTS for the modern net; the others are lenet_viz.train.PRESETS.
RECIPES = {
    "modern": [
        (
            "default",
            "Quick SGD (the default)",
            "SGD, lr 0.01, momentum 0.9, batch 64, 2 epochs. Notice how fast the loss falls in "
            "the first hundred batches, then only slowly.",
        ),
        (
            "fast",
            "Fast: Adam, one-cycle",
            "Adam with a one-cycle schedule, batch 256, 3 epochs: about 99 % on the Full size. "
            "Notice the learning rate warming up, then annealing (the loss drops late).",
        ),
        (
            "seed",
            "The notebook's recipe",
            "SGD, lr 0.01, momentum 0.5, batch 32, 1 epoch. Try it with sigmoid: the net stays "
            "stuck near 10 % (a guess) while ReLU learns.",
        ),
    ],
    "faithful": [
        (
            "faithful-fast",
            "Fast: Adam, one-cycle (the default)",
            "Adam, lr 0.002, batch 64, 4 epochs. Notice the loss starts near 200, not 2.3: it is "
            "the RBF output's penalty (eq. 9), squared distances to 84-pixel codes.",
        ),
        (
            "paper",
            "The paper's: SDLM, one digit per step",
            "SDLM, one digit per step, 20 passes (LeCun et al. 1998, p.10): about a minute of "
            "CPU per pass over all 60,000 digits. Notice how few passes it needs, and the step "
            "sizes per layer below the curves.",
        ),
    ],
}
FAITHFUL_LOSS_NOTE = (
    "The faithful net's loss is the paper's RBF criterion (eq. 9): the squared distance of F6's "
    "84 outputs to the right digit's code, so it starts near 200, not near 2.3 as the modern "
    "net's cross-entropy. Compare how it falls, not its size."
)


def recipe_settings(arch: str, preset: str) -> dict:
    """The per-net settings of a recipe (missing ones from the net's own defaults)."""
    model = ModelConfig(arch=arch)
    base = {name: DEFAULTS[name] for name in ARCH_SETTINGS}
    base.update(activation=model.activation, c3=model.c3)
    if preset == "default":
        return base
    recipe = PRESETS[preset]
    base.update({name: recipe[name] for name in ARCH_SETTINGS if name in recipe})
    base["activation"] = recipe.get("activation") or model.activation
    return base


def arch_defaults(arch: str) -> dict:
    """Settings that learn on this net: for the faithful net its fast recipe (SGD at lr 0.01,
    momentum 0.9 makes its RBF loss climb from 80 to 200 and end at chance)."""
    return recipe_settings(arch, RECIPES[arch][0][0])


def settings_now() -> dict:
    state = st.session_state
    return {
        name: float(state[KEY + "lr_exact"]) if name == "lr" else state[KEY + name]
        for name in ARCH_SETTINGS
    }


def apply_settings(values: dict) -> None:
    for name, value in values.items():
        if name == "lr":
            set_learning_rate(KEY + "lr", value)
        else:
            st.session_state[KEY + name] = value


def apply_recipe(preset: str) -> None:
    """A callback: the recipe's settings for the current net."""
    apply_settings(recipe_settings(st.session_state[KEY + "arch"], preset))


def apply_paper_recipe() -> None:
    """A callback: the faithful net (keeping the modern net's settings, as a switch does), the
    paper's recipe (`--preset paper`) on all 60,000 digits."""
    st.session_state[KEY + "arch"] = "faithful"
    on_arch_change()
    apply_recipe("paper")
    st.session_state[KEY + "size"] = PAPER_RUN_SIZE
    st.session_state[KEY + "seed"] = PRESETS["paper"]["seed"]  # the shipped run's (README)


def restore_settings(config: TrainConfig) -> None:
    """Show `config` in the settings (a reattached or an earlier run, a shared link)."""
    state = st.session_state
    model = config.model
    state[KEY + "dataset"] = config.dataset
    state[KEY + "arch"] = state[SETTINGS_ARCH] = config.model.arch
    apply_settings(
        {
            "activation": model.activation,
            "c3": model.c3,
            "optimizer": config.optimizer,
            "lr": config.lr,
            "momentum": config.momentum,
            "batch_size": config.batch_size,
            "epochs": config.epochs,
            "schedule": config.schedule,
        }
    )
    if config.model.arch == "modern":
        state[KEY + "pooling"] = model.pooling
    state[KEY + "seed"] = config.seed
    if config.augment in PAGE_AUGMENTS:  # "drawn" runs come from `lenet_viz train` only
        state[KEY + "augment"] = config.augment
    size = run_size_label(config.train_limit, config.test_limit)
    if size:
        state[KEY + "size"] = size


def optimizer_choices(arch: str) -> list[str]:
    """SGD and Adam; SDLM, the paper's optimizer, only for the faithful net."""
    choices = ["sgd", "adam"]
    if arch == "faithful":
        choices.append("sdlm")
    return choices


def on_arch_change() -> None:
    """Each net keeps its own settings: the user's choices for the net left are remembered, and
    the net chosen gets back the user's earlier choices for it, or its own defaults that learn.
    (Modern with sigmoid -> Faithful -> Modern is sigmoid again.)"""
    state = st.session_state
    arch = state[KEY + "arch"]
    left = state.get(SETTINGS_ARCH) or next(a for a in ARCH_LABELS if a != arch)
    memory = state.setdefault(ARCH_MEMORY, {})
    if left != arch:
        memory[left] = settings_now()
    apply_settings(memory.get(arch) or arch_defaults(arch))
    state[SETTINGS_ARCH] = arch
    if state.get(KEY + "optimizer") not in optimizer_choices(arch):
        state[KEY + "optimizer"] = "sgd"


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


def recipe_buttons(arch: str, disabled: bool) -> None:
    """One button per recipe of this net, each with what to notice when it runs."""
    with st.expander("Recipes: settings that work on this net"):
        for preset, label, notice in RECIPES[arch]:
            st.button(
                label,
                key=f"train_recipe_{preset}",
                on_click=apply_recipe,
                args=(preset,),
                disabled=disabled,
                width="stretch",
            )
            st.caption(notice)


def settings(disabled: bool) -> None:
    """The settings widgets; their values live in session_state (read by `current_config`)."""
    for name, value in DEFAULTS.items():
        if name != "lr":
            default(KEY + name, value)
    default(SETTINGS_ARCH, st.session_state[KEY + "arch"])
    paper_recipe_button(disabled, apply_paper_recipe)
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
    recipe_buttons(arch, disabled)
    structure_settings(arch, disabled)
    st.selectbox(
        "Activation",
        list(ACTIVATIONS),
        key=KEY + "activation",
        disabled=disabled,
        persist_state=PERSIST,
        help="The squashing function after each layer. Try sigmoid to see a net get stuck.",
    )
    st.selectbox(
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
    st.number_input(
        f"Epochs (1-{MAX_EPOCHS})",
        min_value=1,
        max_value=MAX_EPOCHS,
        step=1,
        key=KEY + "epochs",
        disabled=disabled,
        persist_state=PERSIST,
        help="One epoch = one pass over the training images.",
    )
    st.number_input(
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
        "Training distortions",
        PAGE_AUGMENTS,
        key=KEY + "augment",
        format_func=AUGMENT_HELP.get,
        disabled=disabled,
        persist_state=PERSIST,
        help="What happens to each training digit before the net sees it. The paper's random "
        "distortions brought LeNet-5's test error from 0.95% to 0.8% (LeCun et al. 1998, p.10). "
        "Train with and without them and compare.",
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
        model=ModelConfig(
            arch=state[KEY + "arch"],
            activation=state[KEY + "activation"],
            c3=state[KEY + "c3"],
            pooling=state[KEY + "pooling"] if state[KEY + "arch"] == "modern" else None,
            init=paper_init(state[KEY + "arch"], state[KEY + "optimizer"]),
        ),
        dataset=state[KEY + "dataset"],
        optimizer=state[KEY + "optimizer"],
        lr=float(state[KEY + "lr_exact"]),
        momentum=float(state[KEY + "momentum"]),
        batch_size=int(state[KEY + "batch_size"]),
        epochs=int(state[KEY + "epochs"]),
        schedule=state[KEY + "schedule"],
        augment=state[KEY + "augment"],
        seed=int(state[KEY + "seed"]),
        train_limit=train_limit,
        test_limit=test_limit,
    )


# ----------------------------------------------------------------------------- controls


def trainer_now() -> Trainer | None:
    return st.session_state.get(TRAIN_TRAINER)


def history() -> list[Trainer]:
    return st.session_state.setdefault(HISTORY, [])


def is_saved(trainer: Trainer) -> bool:
    return trainer.id in st.session_state.get(SAVED_RUNS, set())


def mark_saved(trainer: Trainer) -> None:
    st.session_state.setdefault(SAVED_RUNS, set()).add(trainer.id)


def would_drop() -> Trainer | None:
    """The unsaved run a new run would push out of the history, if any."""
    current, earlier = trainer_now(), history()
    if current is None or current.runs[0].iteration == 0 or is_active(current):
        return None
    if len(earlier) < HISTORY_SIZE:
        return None
    oldest = earlier[-1]
    return None if is_saved(oldest) else oldest


def keep_in_history(trainer: Trainer | None) -> None:
    """File the current run among the earlier ones (newest first, at most HISTORY_SIZE)."""
    if trainer is None or trainer.runs[0].iteration == 0:
        return
    earlier = [t for t in history() if t is not trainer]
    earlier.insert(0, trainer)
    del earlier[HISTORY_SIZE:]
    st.session_state[HISTORY] = earlier


def begin_run(paused: bool) -> Trainer | None:
    """Build a Trainer from the settings and keep it; say why if the settings cannot work.
    The run it replaces goes to the session's history."""
    try:
        trainer = start_run(current_config(), paused=paused)
    except (ConfigError, DataError) as error:
        st.session_state[NOTICE] = ("error", f"Cannot start: {error}")
        return None
    previous = trainer_now()
    replace_trainer(TRAIN_TRAINER, trainer)
    if previous is not None and previous.done:
        keep_in_history(previous)
    for key in (RESULTS, SAVE_NOTICE, PENDING_OVERWRITE, CONFIRM_DISCARD):
        st.session_state.pop(key, None)
    return trainer


def on_start(confirmed: bool = False) -> None:
    if not confirmed and would_drop() is not None:
        st.session_state[CONFIRM_DISCARD] = "start"
        return
    begin_run(paused=False)


def on_step(confirmed: bool = False) -> None:
    """One batch: of the paused run, or of a new run that then waits paused."""
    trainer = trainer_now()
    if not is_active(trainer):
        if not confirmed and would_drop() is not None:
            st.session_state[CONFIRM_DISCARD] = "step"
            return
        trainer = begin_run(paused=True)
    if trainer is not None:
        trainer.step()


def cancel_discard() -> None:
    st.session_state.pop(CONFIRM_DISCARD, None)


def confirm_discard_panel() -> None:
    """Ask before a new run pushes an unsaved model out of the history."""
    action = st.session_state.get(CONFIRM_DISCARD)
    dropped = would_drop()
    if action is None or dropped is None:
        st.session_state.pop(CONFIRM_DISCARD, None)
        return
    run = dropped.runs[0]
    accuracy = run.final.get("test_acc")
    score = f", {100 * accuracy:.1f} % test accuracy" if accuracy is not None else ""
    st.warning(
        f"A new run drops the oldest of your last {HISTORY_SIZE} runs, **{run.name}**{score}, "
        "and its model was never saved. Save it first (Earlier runs → Show, then Save), or "
        "drop it.",
        icon=":material/delete_forever:",
    )
    yes, no = st.columns(2)
    handler = on_start if action == "start" else on_step
    yes.button(
        "Drop it and start" if action == "start" else "Drop it and step",
        on_click=handler,
        kwargs={"confirmed": True},
        type="primary",
    )
    no.button("Cancel", key="train_discard_cancel", on_click=cancel_discard)


def retry_with(change: dict) -> None:
    """A callback: the failed run's settings with one change, started at once."""
    if "lr" in change:
        set_learning_rate(KEY + "lr", change["lr"])
    for name in ("activation", "epochs"):
        if name in change:
            st.session_state[KEY + name] = change[name]
    on_start()


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
        disabled=not data_ok or status in SLOT_STATUSES,
        help="Train exactly one batch, then wait. Starts a new run if none is paused.",
    )


# ----------------------------------------------------------------------------- live panel


def chart_config(name: str) -> dict:
    """Plotly's own toolbar, whose camera button downloads the chart as a PNG named after it."""
    return {"toImageButtonOptions": {"format": "png", "filename": f"lenet5_{name}", "scale": 2}}


def live_panel() -> None:
    """Progress and curves, redrawn every POLL_SECONDS while a run is active."""
    trainer = trainer_now()
    if trainer is None:
        st.info(
            "Choose the settings on the left and press **Start**. The curves appear here "
            "and grow with every batch; the run goes on if you visit another page."
        )
        return
    trainer.touch()  # this page is open: the run keeps its training slot
    view = live_view(FIGURES, trainer)
    snapshot = view.poll(trainer)
    run = snapshot.runs[0]
    st.markdown(f"**Run:** {run['name']}")
    progress_panel(snapshot, TRAIN_TRAINER, notice=trainer.notice)
    if run["status"] == "diverged":
        st.error(f"The run {run['message']}", icon=":material/warning:")
    elif run["status"] == "error":
        st.error(run["message"])
    st.plotly_chart(
        view.iteration_figure(), key="train_iteration_chart", config=chart_config("curves")
    )
    epochs = trainer.runs[0].config.epochs
    st.plotly_chart(
        view.epoch_figure(total_epochs=epochs),
        key="train_epoch_chart",
        config=chart_config("per_epoch"),
    )
    if trainer.runs[0].config.model.arch == "faithful":
        st.caption(FAITHFUL_LOSS_NOTE)
    sdlm_panel_for_run(trainer.runs[0].config, view.runs[0].epochs, key="train_sdlm")
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
    st.warning(f"**{diagnosis.headline}** {diagnosis.cause}", icon=":material/error:")
    st.button(
        diagnosis.change_label,
        icon=":material/replay:",
        on_click=retry_with,
        args=(diagnosis.change,),
        type="primary",
        help="Start a new run with the same settings and this one change.",
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
    st.header("Results")
    failure_panel(run, evaluation["test_acc"])
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
        f"my_lenet5_{config.model.arch}_{run.model.config.activation}",
    )
    save_col, download_col = st.columns([1.4, 1], gap="large")
    with save_col:
        st.text_input(
            f"Name for the checkpoint (saved in `{configured_checkpoint_dir().name}/`)",
            key="train_save_name",
            max_chars=80,
            help="Letters, digits, `.`, `_` and `-`; other characters become `_`.",
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
    try:  # the downloads are named as the user named the checkpoint
        stem = sanitize_checkpoint_name(st.session_state.get("train_save_name", "")).removesuffix(
            ".pt"
        )
    except CheckpointError:
        stem = f"lenet5_{config.model.arch}_{run.model.config.activation}"
    with download_col:
        st.download_button(
            "Download the model (.pt)",
            icon=":material/download:",
            data=results["checkpoint"],
            file_name=f"{stem}.pt",
            mime="application/octet-stream",
            on_click=mark_saved,
            args=(trainer,),
        )
        st.download_button(
            "Download the metrics and settings (.csv)",
            icon=":material/download:",
            data=csv_text(metrics_rows([(run.name, config, run.history_snapshot())])),
            file_name=f"{stem}_metrics.csv",
            mime="text/csv",
            on_click="ignore",
        )


# ----------------------------------------------------------------------------- the page


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
    st.subheader(f"Earlier runs in this session ({len(earlier)} of at most {HISTORY_SIZE})")
    st.caption(
        "A new run files the one shown above here. Show brings a run back above, with its "
        "curves, results and model (to save or download); its settings go back on the left."
    )
    for index, trainer in enumerate(earlier):
        run = trainer.runs[0]
        accuracy = run.final.get("test_acc")
        score = "–" if accuracy is None else f"{100 * accuracy:.2f} %"
        kept = "saved" if is_saved(trainer) else "not saved"
        row = st.container(horizontal=True, vertical_alignment="center")
        row.markdown(
            f"**{run.name}** · {run.config.epochs} epoch(s) · {run.status} · test accuracy "
            f"{score} · {kept}"
        )
        row.button(
            "Show",
            key=f"train_history_show_{index}",
            on_click=show_earlier,
            args=(trainer,),
            disabled=active,
        )


def apply_link_preset() -> None:
    """A teacher's link, e.g. /train?preset=faithful-fast: the recipe's settings, once."""
    preset = st.query_params.get("preset")
    if not preset:
        return
    del st.query_params["preset"]
    for arch, recipes in RECIPES.items():
        if preset in [name for name, _, _ in recipes] and preset != "default":
            st.session_state[KEY + "arch"] = st.session_state[SETTINGS_ARCH] = arch
            apply_settings(recipe_settings(arch, preset))
            notice = next(text for name, _, text in recipes if name == preset)
            st.session_state[NOTICE] = ("info", f"Recipe from the link: {notice}")
            return
    names = ", ".join(name for recipes in RECIPES.values() for name, _, _ in recipes)
    st.session_state[NOTICE] = (
        "warning",
        f"The link asks for an unknown recipe {preset!r}: {names}.",
    )


# ----------------------------------------------------------------------------- the page

ensure_app_navigation()  # a deep link on a fresh server: rerun through app.py
st.title("Train LeNet-5")
trainer = trainer_now()
if trainer is not None and st.session_state.get(ADOPTED, {}).pop(TRAIN_TRAINER, None):
    restore_settings(trainer.runs[0].config)  # a reloaded page: its run and its settings
seen_status = status_of(trainer)  # read once: the page, and how the panel polls
active = seen_status in ACTIVE_STATUSES
st.session_state[SEEN_STATUS] = seen_status
if not active:
    apply_link_preset()

settings_column, live_column = st.columns([1, 2.4], gap="large")
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
    confirm_discard_panel()
    notice = st.session_state.pop(NOTICE, None)
    if notice:
        getattr(st, notice[0])(notice[1])
    live_fragment(live_panel, seen_status)
    inside_panel(TRAIN_TRAINER, seen_status, "train")  # kernels, maps, prediction; replay

if trainer is not None and seen_status in FINISHED_STATUSES:
    results_section(trainer)
history_section(active)
