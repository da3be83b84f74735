"""Train and Compare: the live "inside the net" panel while a run trains, and the replay slider
after it (ui/runs/replay_panel.py), through AppTest."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from lenet_viz.data.datasets import data_available, load_split
from lenet_viz.data.preprocess import prepare_for_model
from lenet_viz.nets.config import ModelConfig
from lenet_viz.training.config import preset_config
from lenet_viz.training.runner import Trainer
from lenet_viz.training.slots import RunSlots
from tests.apptest_helpers import button

APP = str(Path(__file__).resolve().parent.parent / "app.py")
TRAIN, COMPARE = "pages/train.py", "pages/compare.py"
TINY = "Tiny: 500 images"
TIMEOUT = 90
TRAIN_SECONDS = 240

pytestmark = pytest.mark.skipif(
    not data_available("mnist"), reason="MNIST is not fetched (run `make data`)"
)


@pytest.fixture
def apps():
    """The AppTests of a test; their trainers are stopped afterwards (the training slot)."""
    opened: list[AppTest] = []
    yield opened
    for at in opened:
        for key in ("train_trainer", "compare_trainer"):
            if key in at.session_state:
                at.session_state[key].stop()
                at.session_state[key].wait(30)


def app_on(page: str, apps: list) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    apps.append(at)
    at.switch_page(page)
    at.run()
    assert not at.exception, at.exception
    return at


def rerun(at: AppTest) -> None:
    at.run()
    assert not at.exception, at.exception


def markdown(at: AppTest) -> str:
    return "\n".join(str(element.value) for element in at.markdown)


def pictures(at: AppTest) -> int:
    """How many images the page shows (st.image)."""
    return len(at.get("image"))


def replay_chart(at: AppTest, prefix: str):
    return next(c for c in at.get("plotly_chart") if c.key == f"{prefix}_replay_loss_chart")


def test_train_shows_the_net_live_then_replays_it(apps, wait_until):
    at = app_on(TRAIN, apps)
    at.selectbox(key="train_opt_size").set_value(TINY)
    at.number_input(key="train_opt_epochs").set_value(1)
    rerun(at)
    # before a run: the digit to watch, and what will appear (no kernels or maps yet)
    assert "Inside the net while it learns" in [h.value for h in at.subheader]
    assert pictures(at) == 1
    assert any("Once the training starts" in c.value for c in at.caption)
    button(at, "Step one batch").click()
    rerun(at)
    trainer = at.session_state["train_trainer"]
    assert wait_until(
        lambda: trainer.status == "paused" and trainer.runs[0].iteration == 1, TRAIN_SECONDS
    )
    rerun(at)
    # live: the digit, C1's kernels, its C1 and C3 maps, and the prediction, at iteration 1
    assert "Inside the net while it learns" in [h.value for h in at.subheader]
    assert pictures(at) == 1 + 4
    text = markdown(at)
    assert "iteration 1 ·" in text and "Predicts **" in text
    assert not [s for s in at.select_slider if s.key == "train_replay_stop"]  # not yet

    at.number_input(key="train_inside_test_index").set_value(7)  # another test digit
    rerun(at)
    label = int(load_split("mnist", train=False).labels[7])
    assert "test image #7" in "\n".join(c.value for c in at.caption)
    assert f"(it is a {label})" in markdown(at) or "✓" in markdown(at)

    button(at, "Resume").click()
    rerun(at)
    assert wait_until(lambda: trainer.done, TRAIN_SECONDS)
    rerun(at)
    slider = at.select_slider(key="train_replay_stop")
    snapshots = trainer.runs[0].replay.snapshots()
    assert [s.iteration for s in snapshots] == list(range(9))  # 500 digits / 64: every one
    assert slider.value == len(snapshots) - 1  # starts at the end of training
    assert "iteration 8 ·" in markdown(at)
    assert replay_chart(at, "train")

    slider.set_value(0)
    rerun(at)
    assert "iteration 0 ·" in markdown(at)  # the kernels and maps of the initial weights
    figure = replay_chart(at, "train").proto.spec
    assert '"x0":0' in figure.replace(" ", "")  # the marker moved to iteration 0
    assert pictures(at) == 1 + 4


def test_compare_shows_one_row_per_run_and_one_slider_moves_them_together(apps, wait_until):
    at = app_on(COMPARE, apps)
    train = load_split("mnist", train=True).subset(320)
    test = load_split("mnist", train=False).subset(100)
    configs = [preset_config("seed", activation=a) for a in ("sigmoid", "relu")]
    trainer = Trainer(configs, train=train, test=test, names=["sigmoid", "relu"], slots=RunSlots(2))
    trainer.step(3)
    at.session_state["compare_trainer"] = trainer
    assert wait_until(
        lambda: trainer.status == "paused" and trainer.runs[0].iteration == 3, TRAIN_SECONDS
    )
    rerun(at)
    text = markdown(at)
    assert "**sigmoid** · iteration 3" in text and "**relu** · iteration 3" in text
    assert pictures(at) == 1 + 2 * 4  # the digit; kernels, C1 and C3 maps, bars per run

    # the digit drawn on the Draw page can be chosen instead of a test digit
    seven = load_split("mnist", train=False).images[0].numpy()
    at.session_state["digit"] = prepare_for_model(seven, ModelConfig())
    rerun(at)
    source = at.radio(key="compare_inside_source")
    assert source.options == ["A test image", "The digit drawn on Draw"]
    source.set_value("The digit drawn on Draw")
    rerun(at)
    assert "your drawing" in "\n".join(c.value for c in at.caption)

    trainer.resume()
    assert wait_until(lambda: trainer.done, TRAIN_SECONDS)
    rerun(at)
    slider = at.select_slider(key="compare_replay_stop")
    assert slider.value == len(trainer.runs[0].replay.snapshots()) - 1
    slider.set_value(2)
    rerun(at)
    iteration = trainer.runs[0].replay.snapshots()[2].iteration
    text = markdown(at)
    assert f"**sigmoid** · iteration {iteration} ·" in text
    assert f"**relu** · iteration {iteration} ·" in text  # both runs follow the one slider
    assert pictures(at) == 1 + 2 * 4
