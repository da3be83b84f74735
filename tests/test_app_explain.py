"""AppTest of the views of issue 14: the invariance explorer, why this answer (saliency) and what
each map looks for on the Inside page, and the Robustness page. What each shows is checked
against the library it calls."""

from __future__ import annotations

from xml.sax.saxutils import escape

from lenet_viz.checkpoints.store import DEFAULT_CHECKPOINT_NAMES, load_checkpoint
from lenet_viz.explain.calibration import temperature_of
from lenet_viz.explain.invariance import Distortion, explore
from lenet_viz.explain.robustness import cached_robustness_curves
from lenet_viz.explain.saliency import MNIST_MEAN_GREY, occlusion_map
from tests import test_app_draw_inside as draw_inside
from tests.test_app_draw_inside import INSIDE, mnist_test_digits, open_page, texts
from ui.confidence import sure_label

# The Draw and Inside tests' fixtures: the shipped checkpoints in a folder the app is pointed at.
checkpoint_dir = draw_inside.checkpoint_dir
app = draw_inside.app

ROBUSTNESS = "pages/robustness.py"
VIEW = "inside_view"


def shipped(checkpoint_dir, arch: str):
    return load_checkpoint(checkpoint_dir / DEFAULT_CHECKPOINT_NAMES[arch]).model


def charts(at) -> list:
    return at.get("plotly_chart")


def curves_drawn(at) -> list[str]:
    """The Robustness page's curves, drawn by the page (HTML and SVG) in a Markdown element."""
    return [m.value for m in at.markdown if m.value.startswith('<div class="static-figure')]


def open_view(app, view: str):
    at = open_page(app, INSIDE)
    at.radio(key=VIEW).set_value(view).run()
    assert not at.exception
    return at


def test_the_inside_page_still_opens_on_every_layer(app):
    at = open_page(app, INSIDE)
    assert at.radio(key=VIEW).value == "Every layer"
    assert "What every layer sees" in texts(at.header)


def test_the_invariance_explorer_reads_the_distorted_digit(app, checkpoint_dir):
    at = open_view(app, "Move, turn, thicken (invariance)")
    assert "Move, turn, thicken: does the net still read it?" in texts(at.header)
    for key in ("shift_x", "shift_y", "rotation", "scale", "squeeze", "stroke", "noise"):
        assert at.slider(key=f"inside_inv_{key}") is not None
    assert len(charts(at)) == 3  # probabilities, C1, C3
    digit = mnist_test_digits().images[0].numpy()
    loaded = load_checkpoint(checkpoint_dir / DEFAULT_CHECKPOINT_NAMES["modern"])
    model, temperature = loaded.model, temperature_of(loaded.metadata)
    plain = explore(model, digit, Distortion(), temperature).reading
    assert at.metric[1].value == str(plain.prediction)

    at.slider(key="inside_inv_rotation").set_value(90.0).run()
    at.slider(key="inside_inv_stroke").set_value(1.5).run()
    assert not at.exception
    # The Draw page's reading of the distorted digit: calibrated, "unsure" below its threshold.
    turned = explore(model, digit, Distortion(rotation=90.0, stroke=1.5), temperature).reading
    explorer = at.metric[1]
    assert explorer.value == str(turned.prediction)
    assert explorer.delta == sure_label(turned)

    at.button(key="inv_reset").click().run()
    assert at.slider(key="inside_inv_rotation").value == 0.0
    assert at.slider(key="inside_inv_stroke").value == 0.0


def test_saliency_shows_where_hiding_the_digit_hurts_most(app, checkpoint_dir):
    at = open_view(app, "Why this answer? (saliency)")
    assert "Why this answer?" in texts(at.header)
    assert len(charts(at)) == 1
    at.slider(key="inside_occlusion_patch").set_value(12).run()
    assert not at.exception
    digit = mnist_test_digits().images[0].numpy()
    found = occlusion_map(shipped(checkpoint_dir, "modern"), digit, patch=12, fill=MNIST_MEAN_GREY)
    row, col = found.worst_place()
    markdown = " ".join(texts(at.markdown))
    assert f"With the square centred on row {row}, column {col}, P({found.target})" in markdown


def test_saliency_on_the_faithful_net_measures_the_score(app):
    at = open_page(app, INSIDE)
    at.selectbox(key="picked_model").set_value("shipped:faithful").run()
    at.radio(key=VIEW).set_value("Why this answer? (saliency)").run()
    assert not at.exception
    measure = at.radio(key="inside_occlusion_measure_faithful")
    assert measure.value == "the answer's score"


def test_what_each_map_looks_for(app, checkpoint_dir):
    at = open_view(app, "What each map looks for")
    assert "What each map looks for" in texts(at.header)
    assert at.radio(key="inside_top_layer").value == "C1"
    assert len(charts(at)) == 1
    assert any("10,000 MNIST test digits" in text for text in texts(at.markdown))
    at.radio(key="inside_top_layer").set_value("C3").run()
    assert not at.exception
    assert any("14x14 patch" in text for text in texts(at.caption))
    at.radio(key="inside_top_layer").set_value("F6").run()
    at.number_input(key="inside_top_unit_F6").set_value(17).run()
    assert not at.exception
    assert len(charts(at)) == 1
    assert any("of the 9 are" in text for text in texts(at.caption))


def test_the_robustness_page_sets_two_models_side_by_side(app, checkpoint_dir):
    # The curves are computed once per model and cached in the library, for every session:
    # computed here first, the page must show the same numbers (and draws at once; the time
    # the first computation takes is measured by `make bench`).
    for arch in ("modern", "faithful"):
        cached_robustness_curves(shipped(checkpoint_dir, arch))
    at = open_page(app, ROBUSTNESS)
    assert not at.exception
    assert at.title[0].value.endswith("How robust is it?")
    assert at.selectbox(key="robustness_second_model").value == "shipped:faithful"
    table = at.table[0].value
    columns = list(table.columns)
    assert columns == [
        "transform",
        "Shipped: modern LeNet-5 (ReLU)",
        "Shipped: faithful LeNet-5 (1998)",
    ]
    for arch, column in zip(("modern", "faithful"), columns[1:], strict=True):
        curves = cached_robustness_curves(shipped(checkpoint_dir, arch))
        assert table[column][0] == f"{curves.clean_accuracy:.1%}"
        rotation = dict(zip(table["transform"], table[column], strict=True))["rotation 40"]
        assert rotation == f"{curves.curves['rotation'].accuracy_at(40):.1%}"
    assert not charts(at)  # no Plotly.js to load (issue 22): the curves are drawn as SVG
    (curves,) = curves_drawn(at)
    assert 'role="img" aria-label="rotation (degrees, anticlockwise) · shift' in curves
    assert "<style>" not in curves  # the page has the line charts' rules once (app.py)
    rules = [e.proto.body for e in at.get("html") if ".fluid-figure{" in e.proto.body]
    assert len(rules) == 1
    for column in columns[1:]:
        assert f">{escape(column)}</span>" in curves  # the legend: each model
    assert ">100%</span>" in curves  # the accuracy axis in percents
    strip = [image for image in at.get("image") if "every transform" in image.proto.imgs[0].alt]
    assert len(strip) == 1  # and the example digits, a picture

    at.selectbox(key="robustness_second_model").set_value("none").run()
    assert not at.exception
    assert list(at.table[0].value.columns) == ["transform", "Shipped: modern LeNet-5 (ReLU)"]
    (curves,) = curves_drawn(at)
    assert "Shipped: modern LeNet-5" in curves and "Shipped: faithful" not in curves
    at.number_input(key="robustness_example").set_value(123).run()
    assert not at.exception


def test_a_new_models_curves_are_computed_in_the_background_with_a_progress_bar(app):
    """A model that nobody has looked at yet (the one training on the Train page): the page
    shows its progress at once, then the curves when they are there."""
    from lenet_viz.data.datasets import sample_digits
    from lenet_viz.explain.robustness import curves_in_background
    from lenet_viz.nets.config import ModelConfig
    from lenet_viz.training.config import TrainConfig
    from lenet_viz.training.runner import Trainer
    from lenet_viz.training.slots import RunSlots

    digits = sample_digits()
    config = TrainConfig(model=ModelConfig(arch="modern"), batch_size=50, epochs=1, seed=11)
    trainer = Trainer(config, train=digits, test=digits, slots=RunSlots(1))
    at = open_page(app, ROBUSTNESS)
    at.session_state["train_trainer"] = trainer
    at.selectbox(key="robustness_second_model").set_value("none").run()
    at.selectbox(key="picked_model").set_value("training").run()
    assert not at.exception
    shown = [bar.proto.text for bar in at.get("progress")]
    assert len(shown) == 1 and "The model on the Train page" in shown[0]
    assert not at.table  # no table before the curves
    job = curves_in_background(trainer.runs[0].model)  # the same job, shared
    assert job.finished.wait(timeout=600) and job.error is None
    at.run()
    assert not at.exception
    assert not at.get("progress")
    column = list(at.table[0].value.columns)[1]
    assert at.table[0].value[column][0] == f"{job.curves.clean_accuracy:.1%}"
    (curves,) = curves_drawn(at)
    assert f">{escape(column)}</span>" in curves
