"""AppTest of the SDLM panel: the paper's recipe on the Train page, the shipped run on Home."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from lenet_viz.checkpoints.store import checkpoint_metadata, save_checkpoint
from lenet_viz.data.datasets import data_available
from lenet_viz.nets.build import build_model
from lenet_viz.nets.config import ModelConfig
from lenet_viz.training.config import PRESETS
from lenet_viz.training.pattern_steps import SDLM_CHECKPOINT_NAME

APP = str(Path(__file__).resolve().parent.parent / "app.py")
HOME, TRAIN = "pages/home.py", "pages/train.py"
TIMEOUT = 90
TRAIN_SECONDS = 300

PASSES = [
    {
        "epoch": p,
        "iteration": 60_000 * p,
        "train_loss": 1.0,
        "train_acc": 0.98,
        "test_loss": 1.0,
        "test_acc": 0.985 + 0.001 * p,
        "train_set_acc": 0.99 + 0.001 * p,
        "pass_lr": 0.0005,
        "step_sizes": {name: [1e-5, 1e-4, 1e-2] for name in ("C1", "S2", "C3", "S4", "C5", "F6")},
    }
    for p in (1, 2)
]


def charts(at: AppTest) -> list:
    return at.get("plotly_chart")


def pass_table(at: AppTest):
    [table] = [d.value for d in at.dataframe if "pass" in d.value.columns]
    return table


@pytest.fixture
def sdlm_checkpoint_dir(tmp_path, monkeypatch):
    model = build_model(ModelConfig(arch="faithful", init="sqrt3"), seed=0)
    metadata = checkpoint_metadata(
        model,
        dataset="mnist",
        train_config={"optimizer": "sdlm", "batch_size": 1, "augment": "none"},
        test_acc=PASSES[-1]["test_acc"],
        extra={"passes": PASSES},
    )
    save_checkpoint(model, tmp_path / SDLM_CHECKPOINT_NAME, metadata)
    monkeypatch.setenv("LENET_VIZ_CHECKPOINTS", str(tmp_path))
    return tmp_path


def test_home_shows_the_shipped_sdlm_run_beside_the_papers_figure_5_when_asked(
    sdlm_checkpoint_dir,
):
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.switch_page(HOME)
    at.run()
    assert not at.exception, at.exception
    before = len(charts(at))
    at.toggle(key="home_show_sdlm").set_value(True)
    at.run()
    assert not at.exception, at.exception
    assert len(charts(at)) == before + 2  # Figure 5 beside ours, and the step sizes
    table = pass_table(at)
    assert list(table["pass"]) == [1, 2]
    assert list(table["test error %"]) == pytest.approx([1.4, 1.3])
    assert "0.95% test error" in "\n".join(c.value for c in at.caption)


def test_home_says_how_to_train_the_sdlm_checkpoint_when_it_is_missing(tmp_path, monkeypatch):
    monkeypatch.setenv("LENET_VIZ_CHECKPOINTS", str(tmp_path))
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.switch_page(HOME)
    at.run()
    at.toggle(key="home_show_sdlm").set_value(True)
    at.run()
    assert not at.exception, at.exception
    assert "--preset paper --save" in "\n".join(c.value for c in at.caption)


@pytest.mark.skipif(not data_available("mnist"), reason="MNIST is not fetched (run `make data`)")
def test_the_papers_recipe_trains_with_sdlm_and_shows_figure_5_and_step_sizes():
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.switch_page(TRAIN)
    at.run()
    [recipe] = [b for b in at.button if b.label.startswith("Use the paper's recipe")]
    recipe.click()
    at.run()
    assert not at.exception, at.exception
    state = at.session_state
    assert state["train_opt_arch"] == "faithful" and state["train_opt_optimizer"] == "sdlm"
    assert state["train_opt_batch_size"] == 1 and state["train_opt_schedule"] == "paper"
    assert state["train_opt_lr_exact"] == PRESETS["paper"]["lr"]
    assert state["train_opt_epochs"] == 20
    assert state["train_opt_seed"] == PRESETS["paper"]["seed"]
    at.selectbox(key="train_opt_size").set_value("Tiny: 500 images")
    at.number_input(key="train_opt_epochs").set_value(1)
    at.run()
    [start] = [b for b in at.button if b.label == "Start"]
    start.click()
    at.run()
    trainer = at.session_state["train_trainer"]
    try:
        config = trainer.runs[0].config
        assert (config.optimizer, config.batch_size, config.model.init) == ("sdlm", 1, "sqrt3")
        assert trainer.wait(TRAIN_SECONDS), "the run did not finish"
        at.run()
        assert not at.exception, at.exception
        assert trainer.status == "completed"
        assert "Trained the paper's way" in "\n".join(s.value for s in at.subheader)
        table = pass_table(at)
        assert list(table["pass"]) == [1]
        assert list(table["eta"]) == [f"{PRESETS['paper']['lr']:g}"]
        titles = [c.proto.spec for c in charts(at)]
        assert any("Figure 5" in spec for spec in titles)
        assert any("Effective learning rates" in spec for spec in titles)
    finally:
        trainer.stop()
        trainer.wait(30)
