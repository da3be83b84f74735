"""The text the library writes that a page shows, as catalog templates, and its translation.

`lenet_viz` stays English (it is also the CLI): its charts, run statuses, diagnoses and error
messages are translated here, on their way to the page. Each entry is the library's English with
its values as {placeholders}; `ui.i18n.translate_text` matches a text against them and translates
the values it filled in the same way (a run's name, a layer's name). A text that matches none is
shown as the library wrote it, and the Chinese browser test (tests/browser/test_i18n_browser.py)
reports it.
"""

from __future__ import annotations

import functools

from lenet_viz.figures.live import PreparedFigure
from ui.i18n import (
    ENGLISH,
    N_,
    current_language,
    translate_figure,
    translate_text,
)

CHART_TEXT = (
    # figures/training.py
    N_("Loss per batch"),
    N_("Accuracy per batch (%)"),
    N_("Loss per epoch"),
    N_("Accuracy per epoch (%)"),
    N_("iteration (batches)"),
    N_("epoch"),
    N_("loss"),
    N_("accuracy"),
    N_("smoothed {metric}"),
    N_("{name} (each batch)"),
    N_("train"),
    N_("test"),
    N_("The curves appear with the first batch."),
    N_("Train and test points appear at the end of each epoch."),
    N_("true %{y}, predicted %{x}: %{z}<extra></extra>"),
    N_("count"),
    N_("predicted"),
    N_("true"),
    N_("No mistakes on this test set."),
    N_("{true} → {predicted}"),
    N_("T-shirt"),
    N_("Trouser"),
    N_("Pullover"),
    N_("Dress"),
    N_("Coat"),
    N_("Sandal"),
    N_("Shirt"),
    N_("Sneaker"),
    N_("Bag"),
    N_("Boot"),
    # figures/comparison.py
    N_("Loss (smoothed)"),
    N_("Batch accuracy (%, smoothed)"),
    N_("accuracy (%)"),
    N_("gradient norm (log)"),
    N_("The gradient norms appear with the first batch."),
    N_("{layer}: %{y:.2e}<extra></extra>"),
    N_("lr {value}"),
    N_("momentum {value}"),
    N_("batch {value}"),
    N_("augment {value}"),
    N_("{value} schedule"),
    N_("C3 {value}"),
    N_("{value} pooling"),
    N_("#{number} {name}"),
    # figures/architecture.py
    N_("convolution 5x5"),
    N_("pooling 2x2"),
    N_("subsampling 2x2"),
    N_("convolution 5x5 (Table I)"),
    N_("full connection"),
    N_("Gaussian (RBF)"),
    N_("32x32 pixels"),
    N_("{count} units"),
    N_("{count} params"),
    N_("<b>{name}</b><br>{shape}"),
    N_("{kind}<br><i>{params}</i>"),
    N_("input"),
    N_("output"),
    # figures/inside.py, figures/c3_table.py
    N_("{layer} map {index}"),
    N_("{layer} kernel {index}"),
    N_("digit {digit}"),
    N_("F6 output (84 units as 7x12)"),
    N_("RBF code of digit {digit}"),
    N_("{title}<br>row %{y}, col %{x}: %{z:.3f}<extra></extra>"),
    N_("unit %{x}: %{y:.3f}<extra></extra>"),
    N_("probability"),
    N_("digit"),
    N_("activation"),  # the colour bar of the maps, and the setting
    N_("digit %{x}: %{y:.1%}<extra></extra>"),
    N_("S2 map {index}"),
    N_("kernel {index}→{c3_map}"),
    N_("S2 map {index}<br>* kernel"),
    N_("= sum<br>+ bias"),
    N_("→ C3 map {c3_map}<br>(activation)"),
    N_("{label}: %{z:.3f}<extra></extra>"),
    N_("S2 map %{y} %{customdata} C3 map %{x}<extra>click to open</extra>"),
    N_("does not feed"),
    N_("feeds"),
    N_("S2 map"),
    N_("C3 map"),
    N_("weight"),
    # figures/explain.py
    N_("{label}<br>%{x}: %{y:.1%}<extra></extra>"),
    N_("row %{y}, col %{x}: %{z:.3g}<extra></extra>"),
    N_("d score / d pixel"),
    # figures/replay.py
    N_("training loss"),
    N_("training loss (smoothed)"),
    N_("{name}: %{y:.3f} at the snapshot<extra></extra>"),
    # figures/sdlm.py
    N_("This run"),
    N_("{title}: test error"),
    N_("{title}: training error ({kind})"),
    N_("training set after the pass"),
    N_("running, during the pass"),
    N_("paper: test error {error} from about pass {number}"),
    N_("paper: training error {error} after pass {number}"),
    N_("Error per pass, beside the paper's Figure 5"),
    N_("pass through the 60,000 training digits"),
    N_("error (%)"),
    N_("pass"),
    N_("these passes record no SDLM step sizes (train with --optimizer sdlm)"),
    N_("paper, pass 1: {low} to {high}"),
    N_("Effective learning rates eps_k = eta / (mu + h_kk), per layer"),
    N_("{layer} (median; band: min to max)"),
    N_(
        "{layer} pass %{x}: median %{y:.2g}, min %{customdata[0]:.2g}, "
        "max %{customdata[1]:.2g}<extra></extra>"
    ),
    # figures/classroom.py (a browser's kept runs)
    N_("Test accuracy per epoch (%)"),
)

EXPLAIN_TEXT = (
    # lenet_viz/explain/robustness.py's sweeps, figures/explain.py
    N_("rotation (degrees, anticlockwise)"),
    N_("shift (pixels)"),
    N_("scale (x size)"),
    N_("squeeze (taller and narrower > 0)"),
    N_("stroke width (pixels added per side)"),
    N_("Gaussian noise (std, 1 = full ink)"),
    N_("<b>{title}</b>"),
    N_("drop"),
    # lenet_viz/data/preprocess.py: why a drawing is not read
    N_("no ink found: draw a digit (or upload a picture of one)"),
    N_("only a speck of ink ({height}x{width} px in a {size} picture): draw a whole digit, larger"),
)

DIAGNOSIS_TEXT = (
    # lenet_viz/training/diagnose.py
    N_("This run failed: {accuracy} % test accuracy is about what guessing gets ({chance} %)."),
    N_("Try lr ÷ 10 ({lr})"),
    N_("Try lr × 10 ({lr})"),
    N_("Try ReLU"),
    N_("Try {epochs} epochs"),
    N_(
        "The learning rate ({lr}) is too high: the loss went up instead of down, so every step "
        "overshoots."
    ),
    N_(
        "The learning rate ({lr}) is too high: the first big steps pushed the ReLUs to output 0 "
        "for every image (dead ReLUs); they no longer learn, and the net guesses."
    ),
    N_("The learning rate ({lr}) is too high for this net."),
    N_(
        "Saturation: {activation} squashes its input, and its slope is small, so the error "
        "signal shrinks at every layer on its way back; the first layers get gradients of about "
        "{gradient} and barely learn. ReLU does not shrink it."
    ),
    N_(
        "Only {count} batches: too few to learn much yet. Train longer (more epochs), or on more "
        "images (a bigger run size)."
    ),
    N_("The learning rate ({lr}) is so low that the weights hardly move."),
    N_("The learning rate is the usual cause: a smaller one often gets it going."),
    # run messages (lenet_viz/training/run.py, runner.py, loop.py)
    N_("stopped at iteration {iteration}"),
    N_("training failed: {error}"),
    N_("the loss became {loss}"),
    N_("the loss reached {loss}, over {factor} times its first value ({first})"),
    N_(
        "diverged at iteration {iteration}: {what}. The last finite weights and the history are "
        "kept; try a smaller learning rate."
    ),
)

RUN_TEXT = (
    # run and trainer statuses (lenet_viz/training/status.py)
    N_("idle"),
    N_("ready"),
    N_("queued"),
    N_("running"),
    N_("paused"),
    N_("completed"),
    N_("stopped"),
    N_("diverged"),
    N_("error"),
    # settings as the library names them
    N_("modern"),
    N_("faithful"),
    N_("full"),
    N_("table1"),
    N_("max"),
    N_("avg"),
    N_("constant"),
    N_("step"),
    N_("cosine"),
    N_("onecycle"),
    N_("none"),
    N_("shift"),
    N_("paper"),
    # the Robustness table's transforms (lenet_viz.figures.explain.robustness_table's rows)
    N_("rotation"),
    N_("scale"),
    N_("squeeze"),
    N_("stroke"),
    N_("noise"),
    N_("mnist"),
    N_("fashion-mnist"),
    # the Compare summary's columns (lenet_viz/figures/comparison.py) and the settings' names
    N_("run"),
    N_("status"),
    N_("iterations"),
    N_("train loss (smoothed)"),
    N_("train accuracy % (smoothed)"),
    N_("test accuracy %"),
    N_("C1 gradient norm (last 10%)"),
    N_("arch"),
    N_("pooling"),
    N_("c3"),
    N_("resize"),
    N_("dataset"),
    N_("optimizer"),
    N_("lr"),
    N_("momentum"),
    N_("weight_decay"),
    N_("batch_size"),
    N_("epochs"),
    N_("schedule"),
    N_("augment"),
    N_("seed"),
    N_("train_limit"),
    N_("test_limit"),
    # lenet_viz/training/augment.py's AUGMENT_HELP (the Train page's distortions)
    N_("the training digits as they are"),
    N_("each digit moved by up to 2 px"),
    N_("the paper's random distortions: shift, scale, squeeze, shear (p.10)"),
    N_("paper, plus a quarter of every batch synthesized from pen strokes (for drawings)"),
    N_("drawn, plus scribbles and digit pairs the net learns to be unsure of"),
)

CLASS_TEXT = (
    # lenet_viz/figures/classroom.py
    N_("Test accuracy at each epoch's end"),
    N_("Train accuracy at each epoch's end"),
    N_("Training loss"),
    N_("Batch accuracy"),
    N_("iteration"),
    N_("{name} = {value}"),
    N_("test %"),
    N_("The pooled experiment: final test accuracy, mean ± spread"),
    # lenet_viz/classroom/: the names it gives, the board's columns, and why it refuses
    N_("Student {number}"),
    N_("Teacher"),
    N_("student"),
    N_("name"),
    N_("train_accuracy"),
    N_("test_accuracy"),
    N_("seconds"),
    N_("give the class a name (for example: 'Year 11, Tuesday')"),
    N_("an assignments grid needs two different settings, each with at least one value"),
    N_("run {run_id} is not on this class's board"),
    N_("only the student who published a run, or the teacher, can remove it"),
    N_(
        "no class with code {code}: check the link, or ask the teacher for a new one "
        "(classes expire after their retention time)"
    ),
    N_("this needs the teacher link (the one with the teacher token)"),
    N_("this class is closed: the teacher no longer takes new runs"),
    N_(
        "this class's board is full ({count} runs): ask the teacher to remove some runs or start "
        "a new class"
    ),
    N_("at most {count} runs a minute per student: this run is kept and published in a minute"),
    N_(
        "the class board's database is not reachable right now ({error}); training goes on, and "
        "finished runs are published when it is back"
    ),
    N_("this checkpoint is {size} MB; at most {most} MB are kept per model"),
    N_("saved model {number} is gone"),
    N_("this model was saved by another browser"),
)

LIBRARY_TEXT = CHART_TEXT + EXPLAIN_TEXT + DIAGNOSIS_TEXT + RUN_TEXT + CLASS_TEXT


def library_text(text: str, language: str | None = None) -> str:
    """Text the library made (a status, a run's name, a diagnosis), in the page's language."""
    return text_in(language or current_language(), text)


@functools.lru_cache(maxsize=8192)
def text_in(language: str, text: str) -> str:
    """`text` in `language` (kept: a live chart asks for the same few texts at every poll)."""
    return translate_text(text, LIBRARY_TEXT, language)


def localized_figure(fig, language: str | None = None):
    """A library figure with its text in the page's language (a go.Figure, changed in place). A
    live view's PreparedFigure is returned as it is: its view translated it when it built it
    (`figure_localizer`), and only its data changes from poll to poll."""
    if isinstance(fig, PreparedFigure):
        return fig
    return translate_figure(fig, LIBRARY_TEXT, language)


def figure_localizer(language: str | None = None):
    """What a LiveView applies to each figure it builds: the translation into `language` (the
    page's), one function per language (a view made for another language is made again); None
    for English."""
    language = language or current_language()
    return None if language == ENGLISH else _localizer(language)


@functools.cache
def _localizer(language: str):
    return functools.partial(translate_figure, messages=LIBRARY_TEXT, language=language)
