"""LeNet-5 trained the paper's way (SDLM), in the app: its error per pass beside the paper's
Figure 5, and the effective learning rates eps_k per layer and pass.

Not a page: the Train page calls `paper_recipe_button` (settings) and `sdlm_panel_for_run` (a
run that uses SDLM, live and after it ends); the Home page calls `shipped_sdlm_section` for the
shipped SDLM checkpoint. The figures are `lenet_viz.figures.sdlm`; the pass records come from
the run's history (`History.epochs`) or the checkpoint's metadata ("passes").
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import streamlit as st

from lenet_viz.checkpoints.store import CheckpointError, configured_checkpoint_dir, load_checkpoint
from lenet_viz.figures.sdlm import (
    PAPER_TEST_ERROR,
    PAPER_TRAIN_ERROR,
    error_per_pass,
    figure5_comparison,
    step_size_figure,
)
from lenet_viz.training.config import PRESETS
from lenet_viz.training.pattern_steps import SDLM_CHECKPOINT_NAME as SDLM_CHECKPOINT
from ui.charts import chart
from ui.i18n import _

PAPER_RUN_SIZE = "Full: 60,000 images"  # the paper trains on all of them


def pass_table(passes: list[dict]) -> pd.DataFrame:
    """One row per pass: eta, test and training error, and the range of eps_k over all layers."""
    errors = error_per_pass(passes)
    rows = []
    for record, test, train in zip(passes, errors["test"], errors["train"], strict=True):
        row = {_("pass"): int(record["epoch"])}
        if "pass_lr" in record:
            row["eta"] = f"{record['pass_lr']:g}"
        row[_("test error %")] = round(test, 2)
        row[_("training error %")] = round(train, 2)
        sizes = record.get("step_sizes")
        if sizes:
            row[_("eps_k from")] = f"{min(v[0] for v in sizes.values()):.1e}"
            row[_("eps_k to")] = f"{max(v[2] for v in sizes.values()):.1e}"
        rows.append(row)
    return pd.DataFrame(rows)


def sdlm_panel(passes: list[dict], title: str, key: str) -> None:
    """Both figures and the pass table, for pass records of a run trained with SDLM."""
    st.subheader(_("Trained the paper's way: SDLM, pass by pass"))
    if not passes:
        st.caption(
            _(
                "Figure 5 of the paper and SDLM's step sizes appear here after the first pass "
                "through the training digits."
            )
        )
        return
    st.caption(
        _(
            "The paper (p.10, Fig. 5): {test_error}% test error from about pass 10, "
            "{train_error}% training error after pass 19. SDLM gives every weight its own step "
            "eps_k = eta / (mu + h_kk): large where the loss is flat, small where it curves "
            "sharply. The few shared weights of S2 and S4 feed thousands of connections, so "
            "their curvature is large and their steps small."
        ).format(test_error=PAPER_TEST_ERROR, train_error=PAPER_TRAIN_ERROR)
    )
    left, right = st.columns(2, gap="large")
    chart(left, figure5_comparison(passes, title), key=f"{key}_figure5")
    if any(record.get("step_sizes") for record in passes):
        chart(right, step_size_figure(passes), key=f"{key}_step_sizes")
    else:
        right.caption(_("Step sizes are recorded for runs of one pattern per step (batch size 1)."))
    st.dataframe(pass_table(passes), hide_index=True, key=f"{key}_table")


def sdlm_panel_for_run(config, passes: list[dict], key: str) -> None:
    """`sdlm_panel` for a Train page run, if it uses SDLM (nothing otherwise)."""
    if config.optimizer == "sdlm":
        sdlm_panel(passes, _("this run"), key)


def paper_recipe_button(disabled: bool, on_click) -> None:
    """The Train page's shortcut to `--preset paper`; `on_click` (the page's) applies it."""
    st.button(
        _("Use the paper's recipe (SDLM)"),
        on_click=on_click,
        disabled=disabled,
        help=_(
            "LeCun et al. 1998, p.10: the faithful net, SDLM, one digit per step, the paper's "
            "learning rate pass by pass, 20 passes over all 60,000 digits (about a minute of "
            "CPU per pass). It goes on while you visit other pages; Pause and Resume any time."
        ),
    )


def paper_init(arch: str, optimizer: str) -> str | None:
    """The initial weights a Train page run gets: SDLM on the faithful net starts from
    +-sqrt(3/F_i), as `--preset paper` (lenet_viz/sdlm/optimizer.py says why); others keep their
    own."""
    if arch == "faithful" and optimizer == "sdlm":
        return PRESETS["paper"]["init"]
    return None


@st.cache_resource(show_spinner=False, max_entries=4)
def _shipped_passes(path: str, modified_ns: int) -> list[dict] | None:
    try:
        return load_checkpoint(path).metadata.get("passes")
    except CheckpointError:
        return None


def shipped_sdlm_section() -> None:
    """The shipped SDLM checkpoint's passes beside the paper's, behind a toggle on Home (the
    page stays light until asked)."""
    path = Path(configured_checkpoint_dir()) / SDLM_CHECKPOINT
    if not st.toggle(
        _("Show LeNet-5 trained as in 1998 (SDLM), beside the paper's Figure 5"),
        key="home_show_sdlm",
    ):
        return
    if not path.is_file():
        st.caption(
            _(
                "`{name}` is not in `{folder}`. Train it with "
                "`python -m lenet_viz train --preset paper --save {path}`."
            ).format(name=SDLM_CHECKPOINT, folder=path.parent, path=path)
        )
        return
    passes = _shipped_passes(str(path), path.stat().st_mtime_ns)
    if not passes:
        st.caption(_("`{name}` does not record its passes.").format(name=path.name))
        return
    sdlm_panel(passes, _("shipped checkpoint"), "home_sdlm")
