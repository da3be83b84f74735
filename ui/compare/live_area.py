"""The Compare page's live panel: the runs' progress, curves, summary table and CSV, redrawn at
every poll.
"""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd
import streamlit as st

from lenet_viz.figures.comparison import overlay_figure, short_run_names, summary_row
from lenet_viz.training.config import TrainConfig, flat_settings
from lenet_viz.training.diagnose import diagnose
from lenet_viz.training.runner import Trainer
from lenet_viz.training.status import FINISHED_STATUSES, RunStatus
from ui.charts import live_chart, static_chart_svg
from ui.compare.settings import DIAGNOSES, FIGURES, current_configs
from ui.compare.settings import KEY as SETTINGS_KEY
from ui.i18n import _
from ui.library_text import library_text
from ui.runs.live_panel import chart_config, poll_trainer, progress_panel
from ui.runs.replay_panel import inside_panel
from ui.runs.results_table import CSV_SETTINGS, csv_text, metrics_rows
from ui.state import COMPARE_TRAINER

SUMMARY_FORMATS = {
    "lr": "{:g}",
    "momentum": "{:g}",
    "train loss (smoothed)": "{:.3f}",
    "train accuracy % (smoothed)": "{:.1f}",
    "test accuracy %": "{:.2f}",
    "C1 gradient norm (last 10%)": "{:.1e}",
}


def summary_table(rows: list[dict]) -> pd.DataFrame:
    """The summary as text, most telling columns first (a static table reads well projected)."""
    first = ["run", "test accuracy %", "train accuracy % (smoothed)", "train loss (smoothed)"]
    table = pd.DataFrame(rows)
    table = table[first + [c for c in table.columns if c not in first]]
    for column, template in SUMMARY_FORMATS.items():
        if column in table:
            table[column] = [
                "–" if value is None or pd.isna(value) else template.format(value)
                for value in table[column]
            ]
    for column in ("status", "c3"):  # words ("completed", "full"), in the page's language
        if column in table:
            table[column] = [library_text(str(value)) for value in table[column]]
    table["run"] = [library_text(name) for name in table["run"]]
    return table.set_index("run").rename(columns=library_text).rename_axis(library_text("run"))


def x_axis(trainer: Trainer) -> str:
    """Iterations, or epochs when the runs' batch sizes differ (their iterations do not align)."""
    same_batches = len({r.config.batch_size for r in trainer.runs}) == 1
    return "iteration" if same_batches else "epoch"


def with_differing_settings(rows: list[dict], configs: list[TrainConfig]) -> list[dict]:
    """Add every setting that differs between the runs (momentum included) to the summary."""
    values = [flat_settings(config) for config in configs]
    differing = [key for key in CSV_SETTINGS if len({str(v.get(key)) for v in values}) > 1]
    return [
        {**row, **{key: v.get(key) for key in differing if key not in row}}
        for row, v in zip(rows, values, strict=True)
    ]


def diagnosis_of(trainer: Trainer, index: int):
    """`diagnose` of a finished run, computed once per run and status (it reads the run's
    whole history, which a poll must not copy)."""
    run = trainer.runs[index]
    key = (trainer.id, index, run.status)
    cached = st.session_state.get(DIAGNOSES)
    if cached is None or key not in cached:
        cached = {k: v for k, v in (cached or {}).items() if k[0] == trainer.id}
        cached[key] = diagnose(run.config, run.history_snapshot(), run.final.get("test_acc"))
        st.session_state[DIAGNOSES] = cached
    return cached[key]


def metrics_csv(trainer: Trainer) -> Callable[[], str]:
    """Every run's metrics and settings as CSV text, made when the button is clicked (a poll
    does not copy the runs' whole histories)."""
    runs = [(run.name, run.config, run) for run in trainer.runs]
    return lambda: csv_text(
        metrics_rows([(name, config, run.history_snapshot()) for name, config, run in runs])
    )


def live_area() -> None:
    """What the Compare page's polling fragment draws: the curves and summary, then the
    inside view of every run."""
    live_panel()
    # kernels, maps, prediction; replay
    inside_panel(COMPARE_TRAINER, "compare", st.session_state[SETTINGS_KEY + "dataset"])


@st.cache_data(show_spinner=False)
def empty_curves(language: str) -> str:
    """The runs' loss and accuracy axes before any run, as SVG (built once per language)."""
    return static_chart_svg(overlay_figure([]))


def live_panel() -> None:
    polled = poll_trainer(
        COMPARE_TRAINER,
        FIGURES,
        _(
            "Press **The notebook's experiment** for sigmoid against ReLU, or set up your own "
            "runs above and press **Start all runs**. The curves of all runs grow together."
        ),
        empty_curves,
        x=x_axis,
    )
    if polled is None:
        planned_summary()
        return
    trainer, view, snapshot = polled
    progress_panel(snapshot, COMPARE_TRAINER, notice=trainer.notice)
    for index, run in enumerate(snapshot.runs):
        if run["status"] in (RunStatus.DIVERGED, RunStatus.ERROR):
            st.error(
                _("**{name}**: {message}").format(
                    name=library_text(run["name"]), message=library_text(run["message"])
                )
            )
        if run["status"] in (RunStatus.COMPLETED, RunStatus.STOPPED, RunStatus.DIVERGED):
            failed = diagnosis_of(trainer, index)
            if failed is not None:
                st.warning(
                    _("**{name}**: {headline} {cause} ({change} for this run.)").format(
                        name=library_text(run["name"]),
                        headline=library_text(failed.headline),
                        cause=library_text(failed.cause),
                        change=library_text(failed.change_label).replace("Try", "try"),
                    ),
                    icon=":material/error:",
                )
    running = snapshot.status not in FINISHED_STATUSES
    st.subheader(_("Loss and accuracy, all runs"))
    live_chart(
        st,
        view.overlay_figure(),
        running=running,
        key="compare_overlay_chart",
        config=chart_config("compare_curves"),
    )
    st.subheader(_("Why sigmoid stalls: each layer's gradient norm"))
    st.caption(
        _(
            "How strongly each layer is told to change, on a log scale. The error signal goes "
            "backwards from the output; every sigmoid multiplies it by at most 1/4, so with "
            "sigmoid the first layers (C1, C3) get gradients hundreds of times smaller than with "
            "ReLU, and barely learn."
        )
    )
    live_chart(
        st,
        view.gradient_norm_figure(),
        running=running,
        key="compare_gradient_chart",
        config=chart_config("compare_gradient_norms"),
    )
    st.subheader(_("Each run on its own"))
    live_chart(
        st,
        view.small_multiples_figure(),
        running=running,
        key="compare_multiples_chart",
        config=chart_config("compare_each_run"),
    )
    st.subheader(_("Summary"))
    configs = [r.config for r in trainer.runs]
    rows = view.summary_rows(snapshot, [c.to_dict() for c in configs])
    st.table(summary_table(with_differing_settings(rows, configs)))
    csv_download(metrics_csv(trainer))


def planned_summary() -> None:
    """Before any run: the summary of the runs set up above, every number still "–", and the
    CSV download, not yet available. The page drawn after Start then needs no new code in the
    tab (issue 22)."""
    configs = current_configs()
    names = short_run_names([config.to_dict() for config in configs])
    rows = [
        summary_row(
            {"name": name, "status": RunStatus.IDLE, "iteration": 0, "config": config.to_dict()},
            [],
            loss=None,
            accuracy=None,
            c1_gradient=None,
        )
        for name, config in zip(names, configs, strict=True)
    ]
    st.subheader(_("Summary"))
    st.table(summary_table(with_differing_settings(rows, configs)))
    csv_download(None)


def csv_download(data: Callable[[], str] | None) -> None:
    """The runs' metrics as CSV (`data` makes it when clicked); disabled before any run."""
    st.download_button(
        _("Download every run's metrics and settings (.csv)"),
        icon=":material/download:",
        data=data or "",
        disabled=data is None,
        file_name="lenet5_compare_runs.csv",
        mime="text/csv",
        on_click="ignore",
        key="compare_csv_download",
        help=_("One row per iteration of each run, with the run's name and all its settings."),
    )
