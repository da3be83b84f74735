"""Robustness: how a model's accuracy falls as the digits are rotated, shifted, scaled,
squeezed, thickened or thinned, and buried in noise; one model, or two side by side.

The curves come from `lenet_viz.explain.robustness` (1,000 MNIST test digits, 100 of each class):
stored on disk for the shipped checkpoints, computed once per other model on a thread of its
own while the page shows its progress, then cached in the library;
`lenet-viz robustness CHECKPOINT --json` prints the same numbers.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from lenet_viz.explain.robustness import (
    SWEEPS,
    curves_in_background,
    robustness_digits,
    sweep_examples,
)
from lenet_viz.figures import explain as figures
from ui.charts import static_chart_svg
from ui.i18n import _, current_language
from ui.library_text import library_text
from ui.model_picker import model_picker, picked_option, second_model_picker
from ui.navigation import ensure_app_navigation

SECOND_MODEL = "robustness_second_model"
EXAMPLE_INDEX = "robustness_example"
PROGRESS_SECONDS = 0.5  # how often the progress bars move while curves are computed
# The strengths the table shows (points of the curves).
TABLE_POINTS = {
    "rotation": (-40, -20, 20, 40),
    "shift": (2, 4, 6),
    "scale": (0.6, 0.8, 1.3),
    "squeeze": (-0.3, 0.3),
    "stroke": (-1, 2),
    "noise": (0.3, 0.6),
}


def curves_of(models: dict) -> dict[str, dict] | None:
    """{label: curves as a dict}, or None while some are being computed: those are computed
    on a thread of their own, once per model (the shipped checkpoints' are stored on disk),
    and the page shows their progress meanwhile."""
    jobs = {label: curves_in_background(model) for label, model in models.items()}
    if all(job.finished.is_set() for job in jobs.values()):
        for label, job in jobs.items():
            if job.error is not None:
                st.error(
                    _("{model}: the robustness curves could not be computed ({error}).").format(
                        model=label, error=library_text(str(job.error))
                    )
                )
                return None
        return {label: job.curves.to_dict() for label, job in jobs.items()}
    show_progress(jobs)
    return None


@st.fragment(run_every=PROGRESS_SECONDS)
def show_progress(jobs: dict) -> None:
    """Each model's progress; the whole page again once every curve is there."""
    if all(job.finished.is_set() for job in jobs.values()):
        st.rerun(scope="app")
    digits, _source = robustness_digits()
    ways = sum(len(sweep.strengths) for sweep in SWEEPS.values())
    distorting = _("Distorting {count} test digits {ways} ways for {label}…")
    for label, job in jobs.items():
        text = distorting.format(count=f"{len(digits):,}", ways=ways, label=label)
        st.progress(job.progress, text=f"{text} {job.progress:.0%}")


def transform_label(row: str) -> str:
    """A row of the table ("rotation 40") in the page's language."""
    transform, _space, strength = row.rpartition(" ")
    return f"{library_text(transform)} {strength}" if transform else library_text(row)


@st.cache_data(show_spinner=False, max_entries=16)
def curves_svg(results: dict[str, dict], language: str) -> str:
    """The curves drawn as SVG (a static figure: no Plotly.js to load, issue 22), named by
    their subplots' titles, built once per set of curves and language."""
    return static_chart_svg(figures.robustness_figure(results))


def show_table(results: dict[str, dict]) -> None:
    rows = figures.robustness_table(results, TABLE_POINTS)
    clean = {label: result["clean_accuracy"] for label, result in results.items()}
    table = {_("undistorted"): clean} | rows
    shown = pd.DataFrame(
        [
            {_("transform"): transform_label(name)}
            | {label: f"{value:.1%}" for label, value in row.items()}
            for name, row in table.items()
        ]
    )
    # A plain table, every row shown (no data grid to load in the browser: issue 22).
    st.container(key="robustness_table").table(shown.style.hide(axis="index"))


def show_curves(results: dict[str, dict]) -> None:
    first = next(iter(results.values()))
    if first["source"] != "MNIST test set":
        st.caption(
            _(
                "MNIST is not downloaded, so these curves use the {count} sample digits shipped "
                "with the app (run `make data` for 1,000 test digits)."
            ).format(count=first["digits"])
        )
    st.container(key="robustness_curves").markdown(
        curves_svg(results, current_language()), unsafe_allow_html=True
    )
    st.caption(
        _(
            "Shift: each digit is moved that many pixels right, down, left or up in turn. Stroke "
            "width: grey dilation (thicker) or erosion (thinner) of every stroke by that many "
            "pixels per side. Noise: Gaussian, clipped to the ink range, the same pattern at "
            "every strength. The net reads every distorted digit through its own preprocessing, "
            "as on the Draw page."
        )
    )
    show_table(results)


def show_examples() -> None:
    st.subheader(_("What the transforms do to a digit"))
    digits, source = robustness_digits()
    index = st.number_input(
        _("Example digit (0 to {last})").format(last=len(digits) - 1),
        min_value=0,
        max_value=len(digits) - 1,
        value=0,
        step=1,
        key=EXAMPLE_INDEX,
    )
    alt = _("Example digit {index} under every transform, at every strength").format(index=index)
    st.container(key="robustness_examples").image(
        example_strip(int(index), source, alt), alt=alt, width="stretch"
    )


@st.cache_data(show_spinner=False, max_entries=32)
def example_strip(index: int, source: str, alt: str) -> str:
    """One digit under every transform at every strength, as SVG (a picture: no Plotly.js to
    load), built once per digit, set of digits and language (that of `alt`)."""
    digits, _source = robustness_digits()
    examples = sweep_examples(digits.images[index])
    rows = [
        (library_text(SWEEPS[name].label), images, [f"{s:g}" for s in SWEEPS[name].strengths])
        for name, images in examples.items()
    ]
    return static_chart_svg(figures.digit_strip_figure(rows), alt=alt)


ensure_app_navigation()
st.title(":material/shield: " + _("How robust is it?"))
st.markdown(
    _(
        "LeCun's LeNet-5 demonstrations showed it reading digits shifted, rotated, scaled, "
        "squeezed, written thick or thin, or buried in noise. Here each transform is swept over "
        "**1,000 MNIST test digits** (the first 100 of each class) and the accuracy measured at "
        "every strength. Pick a model, and a second one to set beside it."
    )
)
picked = model_picker()
if picked is None:
    st.stop()
second = second_model_picker(SECOND_MODEL, first=picked_option())
models = {picked.label: picked.model}
if second is not None and second.label != picked.label:
    models[second.label] = second.model
results = curves_of(models)
if results is not None:
    show_curves(results)
st.markdown(
    _(
        "Try one digit yourself: the **invariance explorer** on the *Inside LeNet-5* page moves, "
        "turns and thickens a digit with sliders and shows the feature maps change."
    )
)
show_examples()
