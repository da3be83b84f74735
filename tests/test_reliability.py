"""Reliability and security (issue 6) at the level of the pages and the CLI.

The library's own guards have their tests (test_checkpoints, test_images, test_data, test_train,
test_cli); this file checks that the pages and the CLI put them in front of the user: garbage
uploads of every kind on the Draw page give a message and never crash it, the pages work (or say
how to fetch the data) without MNIST or with a damaged copy, the UI refuses learning rates that
cannot work, saving into an unwritable folder says so, and one session never sees another's
models or runs.
"""

from __future__ import annotations

import io
import pickle
import shutil
from pathlib import Path

import numpy as np
import pytest
import streamlit as st
import torch
from PIL import Image
from streamlit.testing.v1 import AppTest

import lenet_viz.checkpoints.store as checkpoints
from lenet_viz.checkpoints.store import (
    DEFAULT_CHECKPOINT_NAMES,
    REPO_CHECKPOINT_DIR,
    checkpoint_bytes,
    checkpoint_metadata,
    load_checkpoint,
    save_checkpoint,
)
from lenet_viz.cli import main as cli_main
from lenet_viz.data.datasets import (
    RAW_FILES,
    clear_split_cache,
    data_available,
    raw_dir,
    sample_digits,
)
from lenet_viz.data.images import DEFAULT_MAX_BYTES
from lenet_viz.data.preprocess import prepare_for_model
from lenet_viz.nets.build import build_model
from lenet_viz.nets.config import ModelConfig
from lenet_viz.training.config import MAX_EPOCHS, TrainConfig
from lenet_viz.training.runner import Trainer
from lenet_viz.training.slots import RunSlots
from tests.apptest_helpers import button, texts

APP = str(Path(__file__).resolve().parent.parent / "app.py")
HOME, TRAIN, COMPARE = "pages/home.py", "pages/train.py", "pages/compare.py"
DRAW, INSIDE = "pages/draw.py", "pages/inside.py"
CANVAS_KEY = "draw_canvas_0"
TIMEOUT = 90  # one script run on a busy shared machine
MODERN = REPO_CHECKPOINT_DIR / DEFAULT_CHECKPOINT_NAMES["modern"]

needs_shipped_model = pytest.mark.skipif(
    not MODERN.is_file(), reason=f"the shipped checkpoint {MODERN.name} is missing"
)
needs_mnist = pytest.mark.skipif(
    not data_available("mnist"), reason="MNIST is not fetched (run `make data`)"
)


# ------------------------------------------------------------------ helpers


def app_on(page: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.switch_page(page)
    at.run()
    assert not at.exception, at.exception
    return at


def encode(image: Image.Image, fmt: str = "PNG", **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **options)
    return buffer.getvalue()


def plain_metadata(model) -> dict:
    return checkpoint_metadata(model, dataset=None, train_config=None, test_acc=None)


def png_declaring(width: int, height: int) -> bytes:
    """A 1x1 PNG whose header claims width x height (a decompression bomb's calling card)."""
    import struct
    import zlib

    data = bytearray(encode(Image.new("L", (1, 1))))
    data[16:24] = struct.pack(">II", width, height)
    data[29:33] = struct.pack(">I", zlib.crc32(bytes(data[12:29])))
    return bytes(data)


@pytest.fixture(autouse=True)
def fresh_caches():
    """The pages cache data and models per process (st.cache_resource, load_split): start and
    end every test without them, since these tests change what is on disk."""
    st.cache_resource.clear()
    clear_split_cache()
    yield
    st.cache_resource.clear()
    clear_split_cache()


@pytest.fixture
def shipped_dir(tmp_path, monkeypatch) -> Path:
    """A checkpoint folder holding a copy of the shipped checkpoints (LENET_VIZ_CHECKPOINTS)."""
    folder = tmp_path / "checkpoints"
    folder.mkdir()
    for name in DEFAULT_CHECKPOINT_NAMES.values():
        if (REPO_CHECKPOINT_DIR / name).is_file():
            shutil.copy(REPO_CHECKPOINT_DIR / name, folder / name)
    monkeypatch.setenv("LENET_VIZ_CHECKPOINTS", str(folder))
    return folder


@pytest.fixture(scope="module")
def seven_on_paper() -> Image.Image:
    """A shipped sample 7, enlarged, as dark ink on white paper (a scan or a photo), that the
    shipped model reads as 7 and, turned a quarter, not as 7 (so rotation matters)."""
    if not MODERN.is_file():
        pytest.skip(f"the shipped checkpoint {MODERN.name} is missing")
    model = load_checkpoint(MODERN).model
    digits = sample_digits()

    def reads(image: Image.Image) -> int:
        digit = prepare_for_model(np.asarray(image), model.config)
        with torch.no_grad():
            return int(model.predict(model(digit.network_input)))

    for index in torch.nonzero(digits.labels == 7).flatten().tolist():
        ink = Image.fromarray(digits.images[index].numpy()).resize((140, 140), Image.LANCZOS)
        paper = Image.new("L", (200, 200), 255)
        paper.paste(Image.eval(ink, lambda value: 255 - value), (30, 30))
        if reads(paper) == 7 and reads(paper.transpose(Image.Transpose.ROTATE_90)) != 7:
            return paper
    pytest.fail("the shipped model reads none of the sample 7s")


# ------------------------------------------------------------------ images on the Draw page


def _gif(paper: Image.Image) -> bytes:
    blank = Image.new("L", paper.size, 255)
    return encode(paper, "GIF", save_all=True, append_images=[blank], duration=100, loop=0)


def _sixteen_bit(paper: Image.Image) -> bytes:
    values = np.asarray(paper).astype(np.uint16) * 257
    return encode(Image.fromarray(values))


def _palette(paper: Image.Image) -> bytes:
    """Two colours, the paper transparent: a sticker-like PNG."""
    ink = np.asarray(paper) < 128
    image = Image.fromarray(ink.astype(np.uint8), "P")
    image.putpalette([255, 255, 255, 10, 10, 120] + [0, 0, 0] * 254)
    return encode(image, transparency=0)


def _exif_rotated(paper: Image.Image) -> bytes:
    """Pixels stored sideways, with EXIF orientation 6 saying how to turn them upright."""
    exif = Image.Exif()
    exif[0x0112] = 6
    stored = paper.transpose(Image.Transpose.ROTATE_90)
    return encode(stored.convert("RGB"), "JPEG", quality=95, exif=exif.tobytes())


# (file name, how to make its bytes from the 7 on paper)
READABLE_SEVENS = {
    "first_frame.gif": _gif,
    "deep.png": _sixteen_bit,
    "sticker.png": _palette,
    "print.jpg": lambda paper: encode(paper.convert("CMYK"), "JPEG", quality=95),
    "phone.jpg": _exif_rotated,
}
REFUSED = {
    "empty.png": (b"", "empty"),
    "notes.png": (b"these are my notes, not a picture", "not an image"),
    "half.png": (None, "truncated"),  # made from a real PNG below
    "bomb.png": (png_declaring(100_000, 100_000), "too many pixels"),
    "wide.png": (png_declaring(6000, 6000), "megapixels"),
    "huge.png": (b"\x89PNG\r\n\x1a\n" + bytes(DEFAULT_MAX_BYTES), "allowed"),
}
NOTHING_TO_READ = {
    "dot.png": encode(Image.new("L", (1, 1), 0)),
    "white.png": encode(Image.new("L", (500, 500), 255)),
    "grey.jpg": encode(Image.new("RGB", (64, 64), (128, 128, 128)), "JPEG"),
}
ODD_BUT_DECODABLE = {
    "strip.png": encode(Image.new("L", (3000, 1), 0)),
    "noise.png": encode(
        Image.fromarray(np.random.default_rng(0).integers(0, 256, (64, 64), dtype=np.uint8))
    ),
    "float.tif": encode(
        Image.fromarray(np.linspace(0, 1, 32 * 32, dtype=np.float32).reshape(32, 32)), "TIFF"
    ),
    "black.png": encode(Image.new("L", (50, 50), 0)),
}


def upload_on_draw(at: AppTest, name: str, data: bytes) -> AppTest:
    at.radio(key="draw_input_mode").set_value("Upload a picture").run()
    at.file_uploader(key="draw_upload").upload(name, data).run()
    assert not at.exception, f"{name}: {at.exception}"
    return at


@needs_shipped_model
@pytest.mark.parametrize("name", sorted(READABLE_SEVENS))
def test_odd_image_formats_of_a_seven_are_read_as_7_on_the_draw_page(
    name, seven_on_paper, shipped_dir
):
    at = upload_on_draw(app_on(DRAW), name, READABLE_SEVENS[name](seven_on_paper))
    assert not at.error, texts(at.error)
    assert at.metric[0].label == "Prediction"
    assert at.metric[0].value == "7", f"{name} was read as {at.metric[0].value}"


@needs_shipped_model
@pytest.mark.parametrize("name", sorted(REFUSED))
def test_unreadable_uploads_are_refused_with_a_message_naming_the_file(name, shipped_dir):
    data, reason = REFUSED[name]
    if data is None:
        whole = encode(
            Image.fromarray(np.random.default_rng(1).integers(0, 256, (64, 64, 3), np.uint8))
        )
        data = whole[: len(whole) // 2]
    at = upload_on_draw(app_on(DRAW), name, data)
    message = texts(at.error)
    assert "Cannot read this picture" in message and name in message
    assert reason in message
    assert not at.metric
    assert "digit" not in at.session_state  # nothing half-read is kept for Inside


@needs_shipped_model
@pytest.mark.parametrize("name", sorted(NOTHING_TO_READ))
def test_uploads_without_a_digit_give_a_hint_not_a_guess(name, shipped_dir):
    at = upload_on_draw(app_on(DRAW), name, NOTHING_TO_READ[name])
    assert not at.error, texts(at.error)
    assert not at.metric
    assert "Nothing to read yet" in texts(at.info)


@needs_shipped_model
@pytest.mark.parametrize("name", sorted(ODD_BUT_DECODABLE))
def test_odd_uploads_never_crash_the_draw_or_inside_page(name, shipped_dir):
    at = upload_on_draw(app_on(DRAW), name, ODD_BUT_DECODABLE[name])
    assert at.metric or "Nothing to read yet" in texts(at.info) or at.error
    at.switch_page(INSIDE)
    at.run()
    assert not at.exception, at.exception
    assert at.metric[0].label == "Prediction"


# ------------------------------------------------------------------ checkpoints in the picker


def _tampered(change) -> bytes:
    """The bytes of a valid checkpoint whose payload `change` edited (a forged upload)."""
    model = build_model(ModelConfig(), seed=0)
    payload = torch.load(
        io.BytesIO(checkpoint_bytes(model, plain_metadata(model))),
        weights_only=True,
    )
    change(payload)
    buffer = io.BytesIO()
    torch.save(payload, buffer)
    return buffer.getvalue()


class RunsAShellCommand:
    """Unpickling this runs `touch marker`: what a malicious checkpoint would carry."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        import os

        return (os.system, (f"touch {self.marker}",))


def _valid_checkpoint() -> bytes:
    model = build_model(ModelConfig(), seed=0)
    return checkpoint_bytes(model, plain_metadata(model))


BAD_CHECKPOINTS = {
    "empty.pt": (lambda marker: b"", "empty"),
    "noise.pt": (lambda marker: bytes(range(256)) * 20, "not a PyTorch checkpoint"),
    "half.pt": (lambda marker: _valid_checkpoint()[:100_000], "truncated or corrupt"),
    "evil.pt": (
        lambda marker: _payload_checkpoint(marker),
        "could run code",
    ),
    "evil_pickle.pt": (
        lambda marker: pickle.dumps({"metadata": RunsAShellCommand(marker)}),
        "evil_pickle.pt",
    ),
    "alexnet.pt": (
        lambda marker: _tampered(lambda p: p["metadata"]["model"].update(arch="alexnet")),
        "unknown architecture 'alexnet'",
    ),
    "shapes.pt": (
        lambda marker: _tampered(
            lambda p: p["state_dict"].update({"layers.F6.0.weight": torch.zeros(84, 100)})
        ),
        "wrong shapes",
    ),
    "weights.pt": (
        lambda marker: _tampered(lambda p: p["state_dict"].pop("layers.F6.0.weight")),
        "missing keys",
    ),
    "huge.pt": (lambda marker: b"PK\x03\x04" + bytes(checkpoints.MAX_CHECKPOINT_BYTES), "limit"),
}


def _payload_checkpoint(marker: Path) -> bytes:
    buffer = io.BytesIO()
    torch.save({"format": "lenet_viz-checkpoint/1", "metadata": RunsAShellCommand(marker)}, buffer)
    return buffer.getvalue()


@pytest.mark.parametrize("name", sorted(BAD_CHECKPOINTS))
def test_bad_checkpoint_uploads_are_refused_on_the_draw_page_and_never_run_code(
    name, shipped_dir, tmp_path
):
    marker = tmp_path / "payload_ran"
    make, reason = BAD_CHECKPOINTS[name]
    at = app_on(DRAW)
    at.selectbox(key="picked_model").set_value("upload").run()
    at.file_uploader(key="model_upload").upload(name, make(marker)).run()
    assert not at.exception, at.exception
    message = texts(at.error)
    assert "Cannot use this model" in message and name in message
    assert reason in message
    assert not marker.exists(), "the checkpoint ran code while being loaded"
    assert not at.metric
    # The page still works: pick the shipped model again and it reads a drawing.
    at.selectbox(key="picked_model").set_value("shipped:modern").run()
    assert not at.exception and not at.error


def test_a_missing_checkpoint_folder_gives_a_message_not_a_crash(tmp_path, monkeypatch):
    monkeypatch.setenv("LENET_VIZ_CHECKPOINTS", str(tmp_path / "not_there"))
    for page in (DRAW, INSIDE):
        at = app_on(page)
        assert "No trained model is available yet" in texts(at.info)
        assert "not_there" in texts(at.info)
        assert not at.metric


# ------------------------------------------------------------------ CLI: untrusted --checkpoint


@pytest.mark.parametrize("command", ["evaluate", "predict"])
def test_cli_refuses_a_malicious_checkpoint_in_one_line_and_runs_nothing(command, tmp_path, capsys):
    marker = tmp_path / "payload_ran"
    evil = tmp_path / "evil.pt"
    evil.write_bytes(_payload_checkpoint(marker))
    image = tmp_path / "digit.png"
    Image.new("L", (28, 28), 0).save(image)
    args = [command, "--checkpoint", str(evil)] + ([str(image)] if command == "predict" else [])
    code = cli_main(args)
    err = capsys.readouterr().err
    assert code == 2
    assert not marker.exists()
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:") and "evil.pt" in lines[0]


@pytest.mark.parametrize(
    "args, fragment",
    [
        (["--lr", "-0.01"], "learning rate"),
        (["--lr", "inf"], "learning rate"),
        (["--epochs", str(MAX_EPOCHS + 1)], "epochs"),
        (["--batch-size", "-8"], "batch size"),
    ],
)
def test_cli_refuses_more_training_settings_that_cannot_work(args, fragment, capsys):
    try:
        code = cli_main(["train", *args])
    except SystemExit as exit_:  # argparse's own refusal
        code = exit_.code
    err = capsys.readouterr().err
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:") and fragment in lines[0]


# ------------------------------------------------------------------ training settings in the UI


@pytest.mark.parametrize("lr", [-0.01, 0.0])
def test_compare_refuses_a_learning_rate_that_cannot_work(lr):
    at = app_on(COMPARE)
    at.number_input(key="compare_opt_run1_lr_exact").set_value(lr)
    at.run()
    button(at, "Start all runs").click()
    at.run()
    assert not at.exception, at.exception
    assert "Cannot start" in texts(at.error) and "learning rate" in texts(at.error)
    assert "compare_trainer" not in at.session_state


def test_train_refuses_a_negative_learning_rate():
    at = app_on(TRAIN)
    at.number_input(key="train_opt_lr_exact").set_value(-0.5)
    at.run()
    button(at, "Start").click()
    at.run()
    assert not at.exception, at.exception
    assert "Cannot start" in texts(at.error) and "learning rate" in texts(at.error)
    assert "train_trainer" not in at.session_state


@pytest.mark.parametrize("page, prefix", [(TRAIN, "train_opt_"), (COMPARE, "compare_opt_")])
def test_the_epochs_and_batch_widgets_offer_only_what_training_accepts(page, prefix):
    """The UI cannot even send epochs out of range or a batch size of 0: its widgets' limits are
    the library's (the library refuses anything outside them, see test_train)."""
    at = app_on(page)
    epochs = at.number_input(key=prefix + "epochs")
    assert (epochs.min, epochs.max) == (1, MAX_EPOCHS)
    TrainConfig(epochs=MAX_EPOCHS).validate()
    with pytest.raises(ValueError):
        TrainConfig(epochs=MAX_EPOCHS + 1).validate()
    batch_key = prefix + ("batch_size" if page == TRAIN else "run0_batch_size")
    batch_sizes = at.select_slider(key=batch_key).options
    assert batch_sizes and min(int(size) for size in batch_sizes) >= 1


# ------------------------------------------------------------------ data: none, or damaged


def test_without_mnist_draw_and_inside_work_and_compare_says_how_to_fetch(
    tmp_path, monkeypatch, shipped_dir
):
    """A fresh clone before `make data`: the shipped model and the shipped sample digits keep
    Draw and Inside working; the training pages say what to run."""
    monkeypatch.setenv("LENET_VIZ_DATA", str(tmp_path / "no_data"))
    at = app_on(COMPARE)
    assert "lenet_viz fetch-data --dataset mnist" in texts(at.warning)
    assert button(at, "Start all runs").disabled

    at.switch_page(DRAW)
    at.run()
    assert not at.exception, at.exception
    digits = sample_digits()
    seven = digits.images[int(torch.nonzero(digits.labels == 7)[0])].numpy()
    drawing = np.zeros((280, 280, 4), np.uint8)
    drawing[70:210, 70:210, 3] = np.asarray(Image.fromarray(seven).resize((140, 140)))
    at.session_state[CANVAS_KEY] = canvas_state(drawing)
    at.run()
    assert not at.exception, at.exception
    assert at.metric[0].label == "Prediction"

    at.switch_page(INSIDE)
    at.run()
    assert not at.exception, at.exception
    assert at.radio(key="inside_source").value == "The digit you drew"
    at.radio(key="inside_source").set_value("An MNIST test digit").run()
    assert not at.exception, at.exception
    assert "MNIST is not downloaded" in texts(at.caption)
    assert at.number_input(key="inside_test_index").max == len(digits) - 1
    assert at.metric[0].label == "Prediction"


def canvas_state(rgba: np.ndarray) -> dict:
    """What the drawing pad sends at pen-up: its strokes (one stand-in) and a PNG data URL."""
    import base64

    url = "data:image/png;base64," + base64.b64encode(encode(Image.fromarray(rgba))).decode()
    return {"drawing": {"strokes": [[[140.0, 40.0], [140.0, 240.0]]], "image": url}}


@pytest.fixture
def damaged_mnist(tmp_path, monkeypatch) -> Path:
    """MNIST files with the right sizes (so the app thinks it has the data) but zeros inside:
    the wrong magic number. Sparse files, so nothing big is written."""
    from lenet_viz.data.datasets import EXPECTED_FILE_BYTES

    root = tmp_path / "data"
    folder = raw_dir("mnist", root)
    folder.mkdir(parents=True)
    for name in RAW_FILES:
        with open(folder / name, "wb") as handle:
            handle.truncate(EXPECTED_FILE_BYTES[name])
    monkeypatch.setenv("LENET_VIZ_DATA", str(root))
    assert data_available("mnist")
    return folder


@pytest.mark.parametrize("size", ["Tiny: 500 images", "Full: 60,000 images"])
def test_damaged_mnist_files_give_a_clear_error_on_the_train_page(damaged_mnist, size):
    at = app_on(TRAIN)
    at.selectbox(key="train_opt_size").set_value(size)
    at.run()
    button(at, "Start").click()
    at.run()
    trainer = None
    if "train_trainer" in at.session_state:
        trainer = at.session_state["train_trainer"]
    if trainer is not None:  # the full run reads the files on its own thread
        try:
            assert trainer.wait(60)
        finally:
            trainer.stop()
        at.run()
    assert not at.exception, at.exception
    message = texts(at.error)
    assert "magic" in message and "idx" in message, message
    if trainer is not None:
        assert trainer.status == "error"


def test_damaged_mnist_files_leave_inside_on_the_sample_digits(damaged_mnist, shipped_dir):
    at = app_on(INSIDE)
    assert "MNIST is not downloaded" in texts(at.caption)
    assert at.metric[0].label == "Prediction"


# ------------------------------------------------------------------ saving from the Train page


@needs_mnist
def test_saving_into_a_missing_then_an_unwritable_folder(tmp_path, monkeypatch):
    """A missing checkpoints/ folder is created; an unwritable one gives a message and keeps
    nothing half-saved. (We run as root, where chmod does not stop writes, so the temporary file
    cannot be created instead.)"""
    digits = sample_digits()
    trainer = Trainer(
        TrainConfig(batch_size=64, epochs=1, seed=0, train_limit=200, test_limit=200),
        train=digits,
        test=digits,
        slots=RunSlots(1),
    ).run_here()
    folder = tmp_path / "not_yet" / "checkpoints"
    monkeypatch.setenv("LENET_VIZ_CHECKPOINTS", str(folder))
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.session_state["train_trainer"] = trainer
    at.switch_page(TRAIN)
    at.run()
    assert not at.exception, at.exception
    at.text_input(key="train_save_name").set_value("first")
    button(at, "Save").click()
    at.run()
    assert "Saved as" in texts(at.success)
    assert (folder / "first.pt").is_file()

    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(checkpoints.tempfile, "mkstemp", refuse)
    at.text_input(key="train_save_name").set_value("second")
    button(at, "Save").click()
    at.run()
    assert not at.exception, at.exception
    assert "Permission denied" in texts(at.error)
    assert sorted(path.name for path in folder.iterdir()) == ["first.pt"]
    assert at.session_state["saved_models"] == [str(folder / "first.pt")]


# ------------------------------------------------------------------ one session, its own things


@needs_shipped_model
def test_a_session_is_offered_its_own_saved_models_not_the_files_of_others(shipped_dir):
    """Every session saves into the same folder; the picker lists the shipped models and the
    session's own, never every file there (another student's model is not yours to see)."""
    model = build_model(ModelConfig(activation="tanh"), seed=1)
    theirs = save_checkpoint(
        model,
        shipped_dir / "someone_elses.pt",
        plain_metadata(model),
    )
    mine = save_checkpoint(
        model,
        shipped_dir / "mine.pt",
        plain_metadata(model),
    )

    stranger = app_on(DRAW)
    options = stranger.selectbox(key="picked_model").options
    assert not any("someone_elses" in option or "mine" in option for option in options)
    assert not any("Saved by you" in option for option in options)

    owner = AppTest.from_file(APP, default_timeout=TIMEOUT)
    owner.session_state["saved_models"] = [str(mine)]
    owner.switch_page(DRAW)
    owner.run()
    options = owner.selectbox(key="picked_model").options
    assert "Saved by you: mine.pt" in options
    assert not any("someone_elses" in option for option in options)
    assert theirs.is_file()


def test_another_sessions_run_is_not_on_a_fresh_train_page():
    digits = sample_digits()
    theirs = Trainer(
        TrainConfig(batch_size=64, epochs=1, seed=0), train=digits, test=digits, slots=RunSlots(1)
    )
    busy = AppTest.from_file(APP, default_timeout=TIMEOUT)
    busy.session_state["train_trainer"] = theirs
    busy.switch_page(TRAIN)
    busy.run()
    assert any("Run:" in text for text in texts(busy.markdown).splitlines())

    at = app_on(TRAIN)
    assert "train_trainer" not in at.session_state
    assert not any(line.startswith("**Run:**") for line in texts(at.markdown).splitlines())
    assert "Choose the settings and press **Start**" in texts(at.info)
    picker = app_on(DRAW).selectbox(key="picked_model").options
    assert "training" not in picker
