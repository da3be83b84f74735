"""The Compare page's controls: Start and the experiments, setups shared by link,
Pause/Resume/Stop.
"""

from __future__ import annotations

import base64
import json
from urllib.parse import urlencode

import streamlit as st

from lenet_viz.data.datasets import DataError
from lenet_viz.figures.comparison import short_run_names
from lenet_viz.nets.config import ConfigError
from lenet_viz.training.config import TrainConfig
from lenet_viz.training.runner import Trainer
from lenet_viz.training.status import ACTIVE_STATUSES
from lenet_viz.workers.launch import start_run
from ui.compare.settings import (
    DEFAULT_ACTIVATIONS,
    EXPERIMENTS,
    KEY,
    MAX_RUNS,
    NOTICE,
    PRESET_PARAM,
    RUNS_SHOWN,
    SETTINGS_ARCH,
    SETTINGS_OPEN,
    SETUP_PARAM,
    SETUP_WRITTEN,
    SHARED_DEFAULTS,
    current_configs,
    experiment_label,
    experiment_size,
    set_run_values,
)
from ui.i18n import _
from ui.runs.controls import START_SETTLE_SECONDS, pause_resume_stop_buttons
from ui.runs.settings import ARCH_DEFAULT_C3, run_size_label
from ui.session_guard import RUN_PARAM
from ui.state import COMPARE_TRAINER, replace_trainer


def trainer_now() -> Trainer | None:
    return st.session_state.get(COMPARE_TRAINER)


def on_start() -> None:
    try:
        configs = current_configs()
        names = short_run_names([c.to_dict() for c in configs])
        trainer = start_run(configs, names=names)
    except (ConfigError, DataError) as error:
        st.session_state[NOTICE] = ("error", _("Cannot start: {error}").format(error=error))
        return
    replace_trainer(COMPARE_TRAINER, trainer)
    st.session_state[SETTINGS_OPEN] = False  # locked while the runs go on: out of the way
    trainer.settle(START_SETTLE_SECONDS)


def apply_experiment(name: str) -> None:
    """The named experiment's settings: every run (also those not shown) gets its recipe."""
    experiment = EXPERIMENTS[name]
    recipe, runs = experiment["recipe"], experiment["runs"]
    state = st.session_state
    state[KEY + "runs"] = state[RUNS_SHOWN] = len(runs)
    state[KEY + "arch"] = state[SETTINGS_ARCH] = "modern"
    state[KEY + "epochs"] = recipe["epochs"]
    state[KEY + "resize"] = recipe["resize"]
    chosen = state.get(KEY + "size", SHARED_DEFAULTS["size"])
    state[KEY + "size"] = experiment_size(name, chosen)
    if state[KEY + "size"] != chosen:
        state[NOTICE] = (
            "info",
            f"Run size raised from {chosen} to {state[KEY + 'size']}: a smaller run ends "
            "before this experiment shows anything.",
        )
    for index in range(MAX_RUNS):
        activation, lr = runs[min(index, len(runs) - 1)]
        set_run_values(
            index,
            {
                "activation": activation if index < len(runs) else DEFAULT_ACTIVATIONS[index],
                "optimizer": recipe["optimizer"],
                "lr": lr,
                "momentum": recipe["momentum"],
                "batch_size": recipe["batch_size"],
                "c3": ARCH_DEFAULT_C3["modern"],
            },
        )


def on_experiment(name: str) -> None:
    """A preset button: its settings, then Start."""
    apply_experiment(name)
    st.session_state["compare_experiment"] = name
    on_start()


def restore_settings(configs: list[TrainConfig]) -> None:
    """Show these runs' settings (a reattached run, a shared link)."""
    state = st.session_state
    first = configs[0]
    state[KEY + "runs"] = state[RUNS_SHOWN] = len(configs)
    state[KEY + "arch"] = state[SETTINGS_ARCH] = first.model.arch
    state[KEY + "dataset"] = first.dataset
    state[KEY + "epochs"] = first.epochs
    state[KEY + "seed"] = first.seed
    state[KEY + "resize"] = first.model.resize
    size = run_size_label(first.train_limit, first.test_limit)
    if size:
        state[KEY + "size"] = size
    for index, config in enumerate(configs):
        model = config.model
        set_run_values(
            index,
            {
                "activation": model.activation,
                "optimizer": config.optimizer,
                "lr": config.lr,
                "momentum": config.momentum,
                "batch_size": config.batch_size,
                "c3": model.c3,
            },
        )


def setup_token() -> str:
    """The current setup as one URL-safe token (JSON of the runs' configs, base64)."""
    configs = [c.to_dict() for c in current_configs()]
    text = json.dumps(configs, separators=(",", ":"))
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def setup_link() -> str:
    """The current setup as a full URL that opens it for a whole class, and the same setup
    kept in the address bar (so the address a teacher copies from the browser works too).
    Other parameters of the address (e.g. the language) stay; a run id does not travel."""
    token = setup_token()
    st.session_state[SETUP_WRITTEN] = token
    if st.query_params.get(SETUP_PARAM) != token:
        st.query_params[SETUP_PARAM] = token
    params = {k: v for k, v in st.query_params.to_dict().items() if k != RUN_PARAM}
    page = st.context.url or "/compare"  # None outside a browser (AppTest)
    return f"{page}?{urlencode(params)}"


def apply_link_setup() -> None:
    """Open the setup or the named experiment a link gives. A named experiment is applied
    once (the URL then drops it); a setup only when it is not the one this page last put in
    the address bar (a link opened, or an address edited by hand)."""
    params = st.query_params
    if PRESET_PARAM in params:
        name = params[PRESET_PARAM]
        del params[PRESET_PARAM]
        if name in EXPERIMENTS:
            apply_experiment(name)
            st.session_state["compare_experiment"] = name
            st.session_state[NOTICE] = (
                "info",
                _("Set up from the link: **{label}**. Press **Start all runs**.").format(
                    label=_(experiment_label(name))
                ),
            )
        else:
            st.session_state[NOTICE] = (
                "warning",
                _("The link names an unknown experiment {name}; choose one of: {names}.").format(
                    name=repr(name), names=", ".join(EXPERIMENTS)
                ),
            )
    token = params.get(SETUP_PARAM)
    if token and token != st.session_state.get(SETUP_WRITTEN):
        st.session_state[SETUP_WRITTEN] = token  # read once, even if it cannot be
        try:
            text = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
            configs = [TrainConfig.from_dict(values).validate() for values in json.loads(text)]
            if not 2 <= len(configs) <= MAX_RUNS:
                raise ValueError(f"{len(configs)} runs")
            restore_settings(configs)
        except (ValueError, TypeError, KeyError, AttributeError, ConfigError) as error:
            st.session_state[NOTICE] = (
                "warning",
                _(
                    "The link's setup could not be read ({error}); the settings are unchanged."
                ).format(error=error),
            )
            return
        st.session_state[NOTICE] = (
            "info",
            _("Set up from the link. Press **Start all runs**."),
        )


def control_buttons(status: str | None, data_ok: bool) -> None:
    """The run buttons, enabled by the status the page was drawn with (None: no trainer)."""
    active = status in ACTIVE_STATUSES
    row = st.container(horizontal=True)
    row.button(
        _("Start all runs"),
        icon=":material/play_arrow:",
        type="primary",
        on_click=on_start,
        disabled=active or not data_ok,
    )
    pause_resume_stop_buttons(row, COMPARE_TRAINER, status)
