"""Inside the net while it learns: live kernels, maps and prediction, then a replay slider.

A page draws `inside_panel(state_key, prefix)` under its curves, inside its one polling
fragment (ui/state.live_fragment). While the run trains, each poll shows, for one chosen digit
and every run of the trainer (one row each): C1's six kernels, the digit's C1 and C3 maps, and the
prediction. Each poll copies the run's weights between two steps (`run.live_snapshot()`) and draws
from that copy only, so its cost does not grow with the run; what a snapshot shows is cached
by (trainer, run, iteration, digit), so a poll that finds the run where it was redraws nothing.
After the run a slider moves through the snapshots the runs kept, all runs together, with a
marker on the loss curve. The logic is in `lenet_viz.training.replay` and
`lenet_viz.figures.replay`.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

import numpy as np
import streamlit as st

from lenet_viz.data.datasets import DataError
from lenet_viz.figures.replay import loss_marker_figure, png_bytes, view_images
from lenet_viz.figures.style import RUN_COLORS
from lenet_viz.training.replay import (
    aligned_stops,
    digit_input,
    inside_at,
    scratch_model,
)
from ui.cached_data import test_split
from ui.charts import chart
from ui.i18n import N_, _
from ui.library_text import library_text, localized_figure
from ui.state import DIGIT

# Session-state keys, each followed by the page's prefix ("train", "compare").
SOURCE = "{}_inside_source"  # which digit: a test image or the drawing
TEST_INDEX = "{}_inside_test_index"
STOP = "{}_replay_stop"  # the replay slider's position (a stop index)
STOP_OWNER = "{}_replay_owner"  # the trainer the slider's position belongs to
CACHE = "{}_inside_cache"  # {(trainer, run, iteration, digit): Drawn}
MODELS = "{}_inside_models"  # {(trainer, run): scratch model to load snapshots into}

TEST_IMAGE, DRAWING = N_("A test image"), N_("The digit drawn on Draw")  # format_func=_
X_TITLES = {"iteration": N_("iteration (batches)"), "epoch": N_("epoch")}
CACHE_ENTRIES = 400  # 4 runs x 100 snapshots; older entries are dropped first


@dataclass(frozen=True)
class Digit:
    image: np.ndarray  # 28x28, uint8 or 0..1
    key: str  # identifies the digit in the cache
    text: str  # what it is, for the captions
    label: int | None  # its true class, when known


@dataclass(frozen=True)
class Drawn:
    """What one snapshot shows for the digit, ready to render."""

    iteration: int
    epoch: float
    pictures: dict[str, bytes]  # "kernels", "C1", "C3", "prediction" as PNG
    probabilities: np.ndarray
    prediction: int


def inside_panel(state_key: str, prefix: str, dataset: str) -> None:
    """The panel for the trainer kept at session_state[state_key]; live while the run is
    unfinished, a replay after. Before any run, the digit to watch, chosen ahead (a test image
    of `dataset`, the page's setting): the page drawn after Start then needs no new code in
    the tab (issue 22). `prefix` keeps the keys of two pages apart. Drawn inside the page's
    polling fragment, never as a polling fragment of its own (see live_fragment)."""
    trainer = st.session_state.get(state_key)
    with st.container(key=f"{prefix}_inside_panel"):
        st.subheader(_("Inside the net while it learns"))
        # The pictures are sent small and enlarged by the browser in whole pixels, not blurred.
        st.markdown(
            f"<style>[class*='st-key-{prefix}_inside_row_'] img "
            "{image-rendering: pixelated;}</style>",
            unsafe_allow_html=True,
        )
        try:
            digit = choose_digit(trainer.runs[0].config.dataset if trainer else dataset, prefix)
        except DataError as error:  # the page says what to do about the data; nothing to show
            st.caption(_("No test digit to look at: {error}").format(error=error))
            return
        if trainer is None:
            st.caption(
                _(
                    "Once the training starts, the kernels, the feature maps and the prediction "
                    "for {digit} appear here, updated as the weights change."
                ).format(digit=digit.text)
            )
        elif trainer.done:
            replay(trainer, digit, prefix)
        else:
            live(trainer, digit, prefix)


# ----------------------------------------------------------------------------- the digit


def choose_digit(dataset: str, prefix: str) -> Digit:
    """A test image by number, or the digit drawn on the Draw page (MNIST runs only)."""
    drawn = st.session_state.get(DIGIT)
    can_use_drawing = dataset == "mnist" and drawn is not None and not drawn.blank
    sources = (TEST_IMAGE, DRAWING) if can_use_drawing else (TEST_IMAGE,)
    source_key, index_key = SOURCE.format(prefix), TEST_INDEX.format(prefix)
    if st.session_state.get(source_key) not in sources:
        st.session_state[source_key] = TEST_IMAGE
    st.session_state.setdefault(index_key, 0)
    test = test_split(dataset)
    picture, choice = st.columns([1, 6], vertical_alignment="center")
    with choice:
        row = st.container(horizontal=True, vertical_alignment="bottom")
        row.radio(_("Digit to look at"), sources, key=source_key, format_func=_, horizontal=True)
        if st.session_state[source_key] == DRAWING:
            image = drawn.centered
            digit = Digit(image, f"drawing-{hash(image.tobytes())}", _("your drawing"), None)
        else:
            index = row.number_input(
                _("Test image (0 to {last})").format(last=f"{len(test.labels) - 1:,}"),
                min_value=0,
                max_value=len(test.labels) - 1,
                step=1,
                key=index_key,
            )
            row.button(
                _("Random"),
                icon=":material/casino:",
                key=f"{prefix}_inside_random",
                on_click=_random_index,
                args=(index_key, len(test.labels)),
            )
            image = test.images[index].numpy()
            label = int(test.labels[index])
            text = _("test image #{index}").format(index=f"{index:,}")
            digit = Digit(image, f"test-{dataset}-{index}", text, label)
        if not can_use_drawing and dataset == "mnist":
            st.caption(_("Draw a digit on the **Draw** page to watch the nets read your own."))
    picture.image(
        _as_unit(image),
        width=84,
        clamp=True,
        alt=_("The digit the nets read: {digit}").format(digit=digit.text),
    )
    return digit


def _random_index(key: str, count: int) -> None:
    st.session_state[key] = random.randrange(count)


def _as_unit(image) -> np.ndarray:
    array = np.asarray(image, dtype=np.float32)
    return array / 255.0 if array.max() > 1.0 else array


# ----------------------------------------------------------------------------- drawing


def _cache(prefix: str) -> dict:
    return st.session_state.setdefault(CACHE.format(prefix), {})


def _model_for(prefix: str, trainer, index: int):
    models = st.session_state.setdefault(MODELS.format(prefix), {})
    key = (trainer.id, index)
    if key not in models:
        if len(models) >= 8:  # models of trainers replaced since
            models.clear()
        models[key] = scratch_model(trainer.runs[index].model.config)
    return models[key]


def drawn_at(prefix: str, trainer, index: int, snapshot, digit: Digit) -> Drawn:
    """What `snapshot` of run `index` shows for `digit`, computed once per session."""
    cache = _cache(prefix)
    key = (trainer.id, index, snapshot.iteration, digit.key)
    if key in cache:
        return cache[key]
    model = _model_for(prefix, trainer, index)
    view = inside_at(snapshot, model, digit_input(digit.image, model.config))
    drawn = Drawn(
        iteration=view.iteration,
        epoch=view.epoch,
        pictures={name: png_bytes(rgb) for name, rgb in view_images(view).items()},
        probabilities=view.probabilities,
        prediction=view.prediction,
    )
    while len(cache) >= CACHE_ENTRIES:
        cache.pop(next(iter(cache)))
    cache[key] = drawn
    return drawn


def live_drawn(prefix: str, trainer, index: int, digit: Digit) -> Drawn:
    """The run's weights as they are now; copied only when the run has moved since."""
    run = trainer.runs[index]
    cached = _cache(prefix).get((trainer.id, index, run.iteration, digit.key))
    if cached is not None:
        return cached
    return drawn_at(prefix, trainer, index, run.live_snapshot(), digit)


def run_row(prefix: str, index: int, name: str, drawn: Drawn, digit: Digit) -> None:
    """One run: its name, C1's kernels, the digit's C1 and C3 maps, the prediction."""
    color = RUN_COLORS[index % len(RUN_COLORS)]
    st.markdown(
        f"<span style='color:{color};font-size:1.2em'>●</span> "
        + _("**{name}** · iteration {iteration} · epoch {epoch}").format(
            name=library_text(name),
            iteration=f"{drawn.iteration:,}",
            epoch=f"{drawn.epoch:.2f}",
        ),
        unsafe_allow_html=True,
    )
    row = st.container(key=f"{prefix}_inside_row_{index}")
    kernels, c1, c3, prediction = row.columns([1, 1, 1, 1.2], gap="medium")
    kernels.image(
        drawn.pictures["kernels"],
        caption=_("C1's six 5x5 kernels"),
        width="stretch",
        alt=_("{name}: C1's six 5x5 kernels at iteration {iteration}").format(
            name=library_text(name), iteration=f"{drawn.iteration:,}"
        ),
    )
    c1.image(
        drawn.pictures["C1"],
        caption=_("the digit's six C1 maps"),
        width="stretch",
        alt=_("{name}: the digit's six C1 feature maps at iteration {iteration}").format(
            name=library_text(name), iteration=f"{drawn.iteration:,}"
        ),
    )
    c3.image(
        drawn.pictures["C3"],
        caption=_("its sixteen C3 maps"),
        width="stretch",
        alt=_("{name}: the digit's sixteen C3 feature maps at iteration {iteration}").format(
            name=library_text(name), iteration=f"{drawn.iteration:,}"
        ),
    )
    guess = drawn.prediction
    verdict = ""
    if digit.label is not None:
        verdict = (
            " ✓" if guess == digit.label else _(" ✗ (it is a {label})").format(label=digit.label)
        )
    prediction.markdown(
        _("Predicts **{guess}** ({probability}){verdict}").format(
            guess=guess, probability=f"{float(drawn.probabilities[guess]):.0%}", verdict=verdict
        )
    )
    prediction.image(
        drawn.pictures["prediction"],
        caption=_("probability of each digit"),
        alt=_("{name}: bars of the probability of each digit; it predicts {guess}").format(
            name=library_text(name), guess=guess
        ),
    )


def live(trainer, digit: Digit, prefix: str) -> None:
    st.caption(
        _(
            "Now, for {digit}: the weights are copied between two training steps at every "
            "update. Kernels: blue weights subtract, red ones add. Maps: bright = strong. Each "
            "kernel and each layer's maps have their own colour scale."
        ).format(digit=digit.text)
    )
    for index, run in enumerate(trainer.runs):
        drawn = live_drawn(prefix, trainer, index, digit)
        run_row(prefix, index, run.name, drawn, digit)
    kept = len(trainer.runs[0].replay)
    st.caption(
        _(
            "{kept} snapshots kept so far (about 30 per run plus one per epoch, log-spaced: "
            "dense at the start, where the kernels change the most). When the run ends, a "
            "slider replays them."
        ).format(kept=kept)
    )


# ----------------------------------------------------------------------------- the replay


def _stop_label(snapshot) -> str:
    return _("iteration {iteration} (epoch {epoch})").format(
        iteration=f"{snapshot.iteration:,}", epoch=f"{snapshot.epoch:.2f}"
    )


def replay(trainer, digit: Digit, prefix: str) -> None:
    """A slider over the snapshots, every run together, and a marker on the loss curve."""
    per_run = [run.replay.snapshots() for run in trainer.runs]
    stops = aligned_stops(per_run)
    if not stops:
        st.info(_("This run kept no snapshots to replay."))
        return
    lead = max(range(len(per_run)), key=lambda i: len(per_run[i]))
    stop_key, owner_key = STOP.format(prefix), STOP_OWNER.format(prefix)
    if st.session_state.get(owner_key) != trainer.id or st.session_state.get(stop_key) not in (
        range(len(stops))
    ):
        st.session_state[owner_key] = trainer.id
        st.session_state[stop_key] = len(stops) - 1  # start at the end of training
    position = st.select_slider(
        _("Replay the training: move through the snapshots"),
        options=list(range(len(stops))),
        key=stop_key,
        format_func=lambda i: _stop_label(per_run[lead][i]),
        help=_(
            "About 30 snapshots per run, log-spaced (dense at the start) plus every epoch "
            "end. The kernels, the maps, the prediction and the marker on the loss curve follow."
        ),
    )
    chosen = [per_run[run][at] for run, at in enumerate(stops[position])]
    same_batches = len({run.config.batch_size for run in trainer.runs}) == 1
    x = "iteration" if same_batches else "epoch"
    curves, markers = [], []
    for run, snapshot in zip(trainer.runs, chosen, strict=True):
        history = run.history_snapshot()
        xs = history.iteration if x == "iteration" else history.epoch_float
        curves.append((run.name, xs, history.loss))
        markers.append(snapshot.iteration if x == "iteration" else snapshot.epoch)
    chart(
        st,
        localized_figure(loss_marker_figure(curves, markers, x_title=X_TITLES[x])),
        key=f"{prefix}_replay_loss_chart",
        config={"displayModeBar": False},
    )
    st.caption(
        _(
            "For {digit}. Kernels: blue weights subtract, red ones add. Maps: bright = strong. "
            "Each kernel and each layer's maps have their own colour scale."
        ).format(digit=digit.text)
    )
    for index, (run, snapshot) in enumerate(zip(trainer.runs, chosen, strict=True)):
        drawn = drawn_at(prefix, trainer, index, snapshot, digit)
        run_row(prefix, index, run.name, drawn, digit)
