"""AppTest of the lesson details of issue 23: what a page says matches the run it starts.

- Compare's one-click experiments run at a size that shows their lesson;
- the Train page's recipe texts give the run's own number of batches;
- d2l-zh's recipe and its exercises set every setting of their presets.
(The setup link, the CSV, the diagnosis and the "unsure" reading are tested beside the features
they belong to: tests/test_app_classroom.py, tests/test_app_draw_inside.py.)
"""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from lenet_viz.data.datasets import SPLIT_SIZES, data_available
from lenet_viz.training.config import (
    D2L_PUBLISHED,
    D2L_VARIATIONS,
    batches_per_epoch,
    preset_config,
)
from tests.apptest_helpers import button, texts
from ui.compare.settings import EXPERIMENTS, experiment_configs, experiment_size
from ui.runs.settings import RUN_SIZES

APP = str(Path(__file__).resolve().parent.parent / "app.py")
TRAIN, COMPARE = "pages/train.py", "pages/compare.py"
QUICK, MEDIUM, FULL = "Quick: 2,000 images", "Medium: 10,000 images", "Full: 60,000 images"

pytestmark = pytest.mark.skipif(
    not data_available("mnist"), reason="MNIST is not fetched (run `make data`)"
)


@pytest.fixture
def apps():
    """AppTests whose trainers are stopped afterwards (never leave a slot taken)."""
    made: list[AppTest] = []
    yield made
    for at in made:
        if "compare_trainer" in at.session_state:
            at.session_state["compare_trainer"].stop()
            at.session_state["compare_trainer"].wait(30)


def app_on(page: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    at.switch_page(page)
    at.run()
    assert not at.exception, at.exception
    return at


def test_an_experiment_runs_at_least_at_the_size_that_shows_its_lesson():
    for name, experiment in EXPERIMENTS.items():
        smallest = experiment["min_size"]
        assert experiment_size(name, QUICK) == smallest  # Quick ends before anything shows
        assert experiment_size(name, FULL) == FULL  # a larger size chosen is kept


def test_the_notebook_experiment_clicked_at_quick_trains_at_medium(apps):
    at = app_on(COMPARE)
    apps.append(at)
    at.selectbox(key="compare_opt_size").set_value(QUICK).run()
    button(at, "The notebook's experiment: sigmoid vs ReLU").click().run()
    assert not at.exception
    trainer = at.session_state["compare_trainer"]
    trainer.stop()
    assert at.session_state["compare_opt_size"] == MEDIUM  # Settings closed by Start
    assert "Run size raised from Quick" in texts(at.info)
    assert [run.config for run in trainer.runs] == experiment_configs("notebook", MEDIUM)


@pytest.mark.parametrize("size", [QUICK, MEDIUM])
def test_a_recipe_text_gives_the_runs_own_number_of_batches(size):
    at = app_on(TRAIN)
    at.selectbox(key="train_opt_size").set_value(size).run()
    captions = texts(at.caption)
    images = RUN_SIZES[size][0] or SPLIT_SIZES[True]
    default_run = batches_per_epoch(images, 64) * 2  # the default recipe: batch 64, 2 epochs
    assert f"2 epochs: {default_run:,} batches at this run size" in captions
    assert "hundred batches" not in captions


def test_the_d2l_recipe_and_its_variations_set_every_setting_of_the_preset():
    at = app_on(TRAIN)
    for preset in ("d2l", *(f"d2l-{name}" for name in D2L_VARIATIONS)):
        at.button(key=f"train_recipe_{preset}").click().run()
        assert not at.exception
        state = at.session_state
        recipe = preset_config(preset)
        shown = {
            "activation": recipe.model.activation,
            "pooling": recipe.model.pooling,
            "scaling": recipe.model.scaling,
            "init": recipe.model.init,
            "dataset": recipe.dataset,
            "optimizer": recipe.optimizer,
            "lr_exact": recipe.lr,
            "momentum": recipe.momentum,
            "batch_size": recipe.batch_size,
            "epochs": recipe.epochs,
        }
        assert {name: state[f"train_opt_{name}"] for name in shown} == shown, preset
        assert state["train_opt_size"] == FULL  # the book trains on all 60,000 images
    published = texts(at.caption)
    assert all(str(value) in published for value in D2L_PUBLISHED.values())
    at.button(key="train_recipe_default").click().run()  # back: the net's own input and init
    assert at.session_state["train_opt_scaling"] == "mnist"
    assert at.session_state["train_opt_init"] == "pytorch"
