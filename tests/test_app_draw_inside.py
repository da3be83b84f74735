"""AppTest of the Draw and Inside pages and the model picker they share.

AppTest cannot run the drawing pad component, so a drawing is injected as the component's own
state (its strokes and a PNG data URL, what the pad sends at every pen-up); the page decodes it
through the same code path as in the browser.
"""

from __future__ import annotations

import base64
import io
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image, ImageFilter
from streamlit.testing.v1 import AppTest

from lenet_viz.checkpoints.store import (
    DEFAULT_CHECKPOINT_NAMES,
    REPO_CHECKPOINT_DIR,
    checkpoint_bytes,
    checkpoint_metadata,
    save_checkpoint,
)
from lenet_viz.data.datasets import Split, data_available, load_split, sample_digits
from lenet_viz.data.preprocess import prepare_for_model
from lenet_viz.nets.build import build_model
from lenet_viz.nets.config import ModelConfig
from lenet_viz.training.config import TrainConfig
from lenet_viz.training.runner import Trainer
from lenet_viz.training.slots import RunSlots

APP = str(Path(__file__).resolve().parent.parent / "app.py")
DRAW, INSIDE = "pages/draw.py", "pages/inside.py"
CANVAS_KEY = "draw_canvas_0"  # the canvas's key before any Clear
TIMEOUT = 60


# ------------------------------------------------------------------ fixtures


def _train_quick_modern(digits: Split):
    """A modern net trained for a few seconds (used only when the shipped one is missing)."""
    config = TrainConfig(
        model=ModelConfig(arch="modern"),
        optimizer="adam",
        lr=3e-3,
        batch_size=64,
        epochs=1,
        schedule="constant",
        seed=0,
    )
    trainer = Trainer(config, train=digits, test=digits.subset(500), slots=RunSlots(1))
    run = trainer.run_here().runs[0]
    return run.model.eval(), run.final.get("test_acc")


@pytest.fixture(scope="module")
def checkpoint_dir(tmp_path_factory) -> Path:
    """A folder with both "shipped" checkpoints: the real ones when they exist, else a quickly
    trained modern net and an untrained faithful net (Inside does not need a trained one)."""
    folder = tmp_path_factory.mktemp("checkpoints")
    for arch, name in DEFAULT_CHECKPOINT_NAMES.items():
        shipped = REPO_CHECKPOINT_DIR / name
        if shipped.is_file():
            shutil.copy(shipped, folder / name)
            continue
        if arch == "modern":
            train = load_split("mnist", train=True).subset(3000)
            model, accuracy = _train_quick_modern(train)
        else:
            model, accuracy = build_model(ModelConfig(arch="faithful"), seed=0), None
        metadata = checkpoint_metadata(model, dataset="mnist", train_config=None, test_acc=accuracy)
        save_checkpoint(model, folder / name, metadata)
    return folder


@pytest.fixture
def app(checkpoint_dir, monkeypatch) -> AppTest:
    monkeypatch.setenv("LENET_VIZ_CHECKPOINTS", str(checkpoint_dir))
    return AppTest.from_file(APP, default_timeout=TIMEOUT)


def mnist_test_digits() -> Split:
    return load_split("mnist", train=False) if data_available("mnist") else sample_digits()


def draw_on_canvas(digit28: np.ndarray, top: int = 30, left: int = 95, size: int = 170):
    """An MNIST digit as the canvas returns a drawing: 280x280 RGBA, black ink in the alpha
    channel on a transparent background; enlarged, thickened and placed off-centre."""
    ink = Image.fromarray(np.asarray(digit28, dtype=np.uint8)).resize((size, size))
    ink = ink.filter(ImageFilter.MaxFilter(5))  # a thick pen
    rgba = np.zeros((280, 280, 4), dtype=np.uint8)
    rgba[top : top + size, left : left + size, 3] = np.asarray(ink)
    return rgba


def canvas_state(rgba: np.ndarray | None, strokes: int = 1) -> dict:
    """What the drawing pad sends to Python: its strokes and a PNG data URL (the strokes here
    are stand-ins: the page reads the image and keeps the strokes to restore the pad)."""
    url = None
    if rgba is not None:
        buffer = io.BytesIO()
        Image.fromarray(rgba).save(buffer, format="PNG")
        url = "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")
    lines = [[[40.0 + 10 * i, 20.0], [40.0 + 10 * i, 260.0]] for i in range(strokes)]
    return {"drawing": {"strokes": lines, "image": url}}


@pytest.fixture(scope="module")
def drawn_digit(checkpoint_dir):
    """(label, canvas RGBA) of a real MNIST test digit of class 3 that the modern model reads
    right through the library (the page must then read it the same way)."""
    from lenet_viz.checkpoints.store import load_checkpoint

    model = load_checkpoint(checkpoint_dir / DEFAULT_CHECKPOINT_NAMES["modern"]).model
    digits = mnist_test_digits()
    for index in torch.nonzero(digits.labels == 3).flatten()[:10].tolist():
        rgba = draw_on_canvas(digits.images[index].numpy())
        digit = prepare_for_model(rgba, model.config)
        with torch.no_grad():
            if int(model.predict(model(digit.network_input))) == 3:
                return 3, rgba
    pytest.fail("the modern model misreads the first ten 3s of the MNIST test set")


def open_page(app: AppTest, page: str) -> AppTest:
    app.switch_page(page)
    return app.run()


def texts(elements) -> list[str]:
    return [str(element.value) for element in elements]


# ------------------------------------------------------------------ Draw


def test_draw_renders_with_a_hint_and_no_guess_before_any_stroke(app):
    at = open_page(app, DRAW)
    assert not at.exception
    assert at.title[0].value.endswith("Draw a digit")
    assert any("Draw a digit in the box" in text for text in texts(at.info))
    assert not at.metric  # no prediction without a drawing
    assert "digit" not in at.session_state


def test_draw_predicts_the_right_digit_from_an_injected_drawing(app, drawn_digit):
    label, rgba = drawn_digit
    at = open_page(app, DRAW)
    at.session_state[CANVAS_KEY] = canvas_state(rgba, strokes=3)
    at.run()
    assert not at.exception
    prediction = at.metric[0]
    assert prediction.label == "Prediction"
    assert prediction.value == str(label)
    assert "sure" in prediction.delta
    # The preprocessing steps are shown, and the digit is kept for the Inside page.
    assert any("becomes the network's input" in text for text in texts(at.subheader))
    digit = at.session_state["digit"]
    assert not digit.blank
    assert digit.centered.shape == (28, 28)


def test_the_faithful_net_reads_a_drawing_with_its_rbf_penalties(app, drawn_digit):
    _, rgba = drawn_digit
    at = open_page(app, DRAW)
    at.selectbox(key="picked_model").set_value("shipped:faithful")
    at.session_state[CANVAS_KEY] = canvas_state(rgba)
    at.run()
    assert not at.exception
    assert at.metric[0].label == "Prediction"
    assert at.metric[0].delta.startswith("penalty ")
    assert any("RBF penalties" in text for text in texts(at.caption))


def test_a_blank_or_speck_canvas_shows_a_hint_not_a_guess(app):
    at = open_page(app, DRAW)
    at.session_state[CANVAS_KEY] = canvas_state(np.zeros((280, 280, 4), np.uint8))
    at.run()
    assert not at.metric
    assert any("Nothing to read yet" in text for text in texts(at.info))
    speck = np.zeros((280, 280, 4), np.uint8)
    speck[100:106, 100:106, 3] = 255  # a single tap of the pen
    at.session_state[CANVAS_KEY] = canvas_state(speck)
    at.run()
    assert not at.exception
    assert not at.metric
    assert any("speck" in text for text in texts(at.info))


def test_clear_gives_an_empty_canvas_and_forgets_the_digit(app, drawn_digit):
    _, rgba = drawn_digit
    at = open_page(app, DRAW)
    at.session_state[CANVAS_KEY] = canvas_state(rgba)
    at.run()
    assert at.metric
    at.button(key="draw_clear").click().run()
    assert not at.exception
    assert not at.metric
    assert "digit" not in at.session_state
    assert any("Draw a digit in the box" in text for text in texts(at.info))


def test_the_drawing_is_still_there_after_a_visit_to_inside(app, drawn_digit):
    label, rgba = drawn_digit
    at = open_page(app, DRAW)
    at.session_state[CANVAS_KEY] = canvas_state(rgba, strokes=2)
    at.run()
    at.switch_page(INSIDE)
    at.run()
    assert CANVAS_KEY not in at.session_state  # Streamlit forgot the canvas's state
    at.switch_page(DRAW)
    at.run()
    assert not at.exception
    # The canvas is mounted again with the last drawing, and the page reads it at once.
    restored = at.session_state["draw_canvas_starts"][CANVAS_KEY]
    assert restored == canvas_state(rgba, strokes=2)["drawing"]["strokes"]
    assert at.metric[0].value == str(label)


def test_an_unreadable_upload_shows_an_error_not_a_crash(app):
    at = open_page(app, DRAW)
    at.radio(key="draw_input_mode").set_value("Upload a picture").run()
    at.file_uploader(key="draw_upload").upload("digit.png", b"this is not a picture").run()
    assert not at.exception
    assert at.error and "Cannot read this picture" in at.error[0].value
    assert not at.metric


def test_an_uploaded_picture_is_read_like_a_drawing(app, drawn_digit):
    label, rgba = drawn_digit
    buffer = io.BytesIO()
    # A dark digit on white paper, as a photo or scan would be.
    paper = 255 - rgba[:, :, 3]
    Image.fromarray(paper).save(buffer, format="PNG")
    at = open_page(app, DRAW)
    at.radio(key="draw_input_mode").set_value("Upload a picture").run()
    at.file_uploader(key="draw_upload").upload("three.png", buffer.getvalue(), "image/png").run()
    assert not at.exception
    assert at.metric[0].value == str(label)


# ------------------------------------------------------------------ the model picker


def test_missing_shipped_checkpoints_give_a_clear_message(monkeypatch, tmp_path):
    monkeypatch.setenv("LENET_VIZ_CHECKPOINTS", str(tmp_path))
    at = open_page(AppTest.from_file(APP, default_timeout=TIMEOUT), DRAW)
    assert not at.exception
    assert any("No trained model is available yet" in text for text in texts(at.info))
    assert any("Choose a checkpoint file to upload" in text for text in texts(at.info))
    assert not at.metric


def test_an_uploaded_checkpoint_is_used_and_a_bad_one_refused(monkeypatch, tmp_path):
    monkeypatch.setenv("LENET_VIZ_CHECKPOINTS", str(tmp_path))
    at = open_page(AppTest.from_file(APP, default_timeout=TIMEOUT), INSIDE)
    assert not at.metric
    at.file_uploader(key="model_upload").upload("broken.pt", b"PK\x03\x04 not a model").run()
    assert not at.exception
    assert at.error and "Cannot use this model" in at.error[0].value
    faithful = build_model(ModelConfig(arch="faithful"), seed=0)
    content = checkpoint_bytes(
        faithful, checkpoint_metadata(faithful, dataset=None, train_config=None, test_acc=None)
    )
    at.file_uploader(key="model_upload").clear().upload("mine.pt", content).run()
    assert not at.exception
    assert not at.error
    assert at.metric[0].label == "Prediction"
    # The faithful net's Table I: C3's parameters in its layer's caption.
    assert any("**C3** · output 16 x 10 x 10 · 1,516 parameters" in t for t in texts(at.markdown))


def test_the_model_training_right_now_can_be_picked(app):
    digits = sample_digits()
    trainer = Trainer(
        TrainConfig(model=ModelConfig(arch="modern"), batch_size=50, epochs=1, seed=3),
        train=digits,
        test=digits,
        slots=RunSlots(1),
    )
    at = open_page(app, INSIDE)
    at.session_state["train_trainer"] = trainer
    at.run()
    picker = at.selectbox(key="picked_model")
    assert "The model on the Train page (its weights right now)" in picker.options
    picker.set_value("training").run()
    assert not at.exception
    assert "Train page" in at.caption[0].value
    assert at.metric[0].label == "Prediction"


# ------------------------------------------------------------------ Inside


def test_inside_renders_every_layer_for_a_test_digit(app):
    at = open_page(app, INSIDE)
    assert not at.exception
    assert at.metric[0].label == "Prediction"
    headers = texts(at.header)
    for header in ("What every layer sees", "C1's six kernels"):
        assert header in headers
    markdown = " ".join(texts(at.markdown))
    for layer in ("**C1** · output 6 x 28 x 28", "**C3** · output 16 x 10 x 10", "**F6**"):
        assert layer in markdown
    for vector in ("C5: 120 units", "F6: 84 units", "Output: 10 scores"):  # drawn as SVG
        assert f'aria-label="{vector}' in markdown
    # One picture per layer (and one of the kernels), not one per map: 51 pictures held
    # the page back in the browser (issue 22). Each says which maps it holds, in what order.
    pictures = {image.proto.imgs[0].alt: image.proto.imgs[0] for image in at.get("image")}
    for described in (
        "C1 maps 0 to 5, 3 to a row, left to right, each under its number.",
        "S2 maps 0 to 5, 3 to a row, left to right, each under its number.",
        "C3 maps 0 to 15, 4 to a row, left to right, each under its number.",
        "S4 maps 0 to 15, 4 to a row, left to right, each under its number.",
        "C1's kernels 0 to 5, 3 to a row, left to right, each under its number.",
    ):
        assert pictures[described].caption == described
    # The connection table's view: the modern net's full table, against the paper's.
    at.radio(key="inside_view").set_value("S2 → C3 connections").run()
    assert not at.exception
    assert "S2 → C3: which maps feed which" in texts(at.header)
    code = " ".join(texts(at.code))
    assert "C3 = 16 × (6·25+1) = 2,416" in code
    assert "6 × (3·25+1) + 9 × (4·25+1) + 1 × (6·25+1) = 456 + 909 + 151 = 1,516" in code


def test_inside_for_the_faithful_net_and_choosing_a_c3_map(app):
    at = open_page(app, INSIDE)
    at.selectbox(key="picked_model").set_value("shipped:faithful").run()
    assert not at.exception
    at.radio(key="inside_view").set_value("RBF output codes").run()
    assert "Each output unit holds a fixed 7x12 picture" in " ".join(texts(at.markdown))
    at.radio(key="inside_view").set_value("S2 → C3 connections").run()
    assert "C3 map 0** sees S2 maps **0, 1, 2**" in " ".join(texts(at.markdown))
    at.selectbox(key="inside_c3_map").set_value(15).run()
    assert "C3 map 15** sees S2 maps **0, 1, 2, 3, 4, 5**" in " ".join(texts(at.markdown))
    at.selectbox(key="inside_c3_map").set_value(12).run()
    assert "C3 map 12** sees S2 maps **0, 1, 3, 4**" in " ".join(texts(at.markdown))
    assert "C3 = 6 × (3·25+1)" in at.code[0].value


def test_inside_shows_the_digit_drawn_on_the_draw_page(app, drawn_digit):
    label, rgba = drawn_digit
    at = open_page(app, DRAW)
    at.session_state[CANVAS_KEY] = canvas_state(rgba)
    at.run()
    at.switch_page(INSIDE)
    at.run()
    assert not at.exception
    assert at.radio(key="inside_source").value == "The digit you drew"
    assert any("the digit you drew" in text for text in texts(at.markdown))
    assert at.metric[0].value == str(label)


def test_inside_uses_the_shipped_sample_digits_without_mnist(app, monkeypatch):
    import streamlit as st

    monkeypatch.setattr("lenet_viz.data.datasets.data_available", lambda *args, **kwargs: False)
    st.cache_resource.clear()  # the test split may be cached from another test
    try:
        at = open_page(app, INSIDE)
        assert not at.exception
        assert any("MNIST is not downloaded" in text for text in texts(at.caption))
        assert at.number_input(key="inside_test_index").max == len(sample_digits()) - 1
        assert at.metric[0].label == "Prediction"
    finally:
        st.cache_resource.clear()


def _drawing_of(style: str) -> np.ndarray:
    from lenet_viz.data.drawn import NOT_DIGIT_TEMPLATES, render_canvas, template_paths

    template = next(t for t in NOT_DIGIT_TEMPLATES if t.style == style)
    return render_canvas(template_paths(template, height=180), pen=20)


@pytest.mark.parametrize("style", ["scribble", "two digits 12"])
def test_draw_says_it_is_unsure_of_a_scribble_and_names_the_runner_up(app, style):
    """Not "98% sure" of a wrong digit: the page says it is unsure, with its two best guesses."""
    at = open_page(app, DRAW)
    at.session_state[CANVAS_KEY] = canvas_state(_drawing_of(style), strokes=2)
    at.run()
    assert not at.exception
    prediction = at.metric[0]
    assert prediction.delta == "unsure"
    warning = " ".join(texts(at.warning))
    assert "Not sure" in warning and "or else a" in warning
    assert f"**{prediction.value}**" in warning


def test_inside_and_its_explorer_read_an_unsure_drawing_as_draw_does(app):
    """A scribble Draw calls "unsure" is not "35% sure" on Inside: one reading, one wording."""
    at = open_page(app, DRAW)
    at.session_state[CANVAS_KEY] = canvas_state(_drawing_of("scribble"), strokes=2)
    at.run()
    drawn = at.metric[0]
    assert drawn.delta == "unsure"
    at = open_page(app, INSIDE)
    assert not at.exception
    assert (at.metric[0].value, at.metric[0].delta) == (drawn.value, "unsure")
    at.radio(key="inside_view").set_value("Move, turn, thicken (invariance)").run()
    assert not at.exception
    assert (at.metric[1].value, at.metric[1].delta) == (drawn.value, "unsure")
