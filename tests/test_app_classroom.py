"""Classroom-proof (issue #16), as AppTests of the real pages.

- a reloaded page gets its run back (or is told it was lost), and a dropped session's stopper
  leaves an adopted run alone;
- Compare's added runs copy run 1, and the summary names every setting that differs;
- each net's defaults learn, and switching nets keeps the user's choices for each;
- a run that ends near chance says so, why, and offers a one-click retry;
- the Train page keeps the session's last runs and asks before dropping an unsaved model;
- Draw's line about the model in training follows the run;
- links that open a recipe or a whole Compare setup; the session reset.
"""

from __future__ import annotations

import gc
import math
import weakref
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from streamlit.testing.v1 import AppTest

from lenet_viz.data.datasets import data_available, load_split
from lenet_viz.figures.training import epoch_figure, epoch_loss_range
from lenet_viz.training.config import PRESETS, TrainConfig
from lenet_viz.training.diagnose import diagnose, loss_went_up
from lenet_viz.training.history import History
from lenet_viz.training.runner import Trainer
from lenet_viz.training.slots import RUN_SLOTS
from tests.apptest_helpers import button, texts
from ui.runs.results_table import metrics_rows
from ui.state import ENDED_WITH_SESSION

APP = str(Path(__file__).resolve().parent.parent / "app.py")
TRAIN, COMPARE, DRAW = "pages/train.py", "pages/compare.py", "pages/draw.py"
TINY, QUICK = "Tiny: 500 images", "Quick: 2,000 images"
TIMEOUT = 90
TRAIN_SECONDS = 300

needs_mnist = pytest.mark.skipif(
    not data_available("mnist"), reason="MNIST is not fetched (run `make data`)"
)
pytestmark = needs_mnist


# ------------------------------------------------------------------ helpers


def app_on(page: str, **params: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.query_params.update(params)
    at.switch_page(page)
    at.run()
    assert not at.exception, at.exception
    return at


def rerun(at: AppTest) -> AppTest:
    at.run()
    assert not at.exception, at.exception
    return at


def wait_for(trainer: Trainer, predicate, seconds: float = 120) -> None:
    for _ in range(int(seconds * 10)):
        if predicate(trainer):
            return
        trainer.wait(0.1)
    raise AssertionError(f"not reached in {seconds} s: status {trainer.status}")


def finish(at: AppTest, key: str = "train_trainer") -> Trainer:
    trainer = at.session_state[key]
    assert trainer.wait(TRAIN_SECONDS), f"the run did not finish in {TRAIN_SECONDS} s"
    rerun(at)
    return trainer


@pytest.fixture
def apps():
    """AppTests whose trainers are stopped afterwards (never leave a slot taken)."""
    made: list[AppTest] = []
    yield made
    for at in made:
        for key in ("train_trainer", "compare_trainer"):
            if key in at.session_state:
                at.session_state[key].stop()
                at.session_state[key].wait(30)


@pytest.fixture(scope="module")
def tiny_splits():
    return load_split("mnist", train=True).subset(128), load_split("mnist", train=False).subset(64)


def finished_trainer(splits, **changes) -> Trainer:
    config = TrainConfig.from_dict({"batch_size": 64, "epochs": 1, **changes})
    return Trainer(config, train=splits[0], test=splits[1]).run_here()


# ------------------------------------------------------------------ bug 1: reload, closed tab


def paused_train_run(apps) -> tuple[AppTest, Trainer]:
    """A Train page whose run (Tiny, lr 0.05) took one batch and waits paused."""
    at = app_on(TRAIN)
    apps.append(at)
    at.selectbox(key="train_opt_size").set_value(TINY)
    at.number_input(key="train_opt_lr_exact").set_value(0.05)
    rerun(at)
    button(at, "Step one batch").click()
    rerun(at)
    trainer = at.session_state["train_trainer"]
    wait_for(trainer, lambda t: t.status == "paused" and t.runs[0].iteration == 1)
    rerun(at)
    assert at.query_params["runs"] == trainer.id
    return at, trainer


def test_a_reloaded_page_gets_its_paused_run_and_settings_back(apps):
    old, trainer = paused_train_run(apps)
    trainer.last_seen -= 30  # F5: the old page stopped polling

    new = app_on(TRAIN, runs=trainer.id)  # the new session, same URL
    apps.append(new)
    assert new.session_state["train_trainer"] is trainer
    assert new.selectbox(key="train_opt_size").value == TINY  # its settings, not the defaults
    assert new.number_input(key="train_opt_lr_exact").value == pytest.approx(0.05)
    assert not button(new, "Resume").disabled
    assert trainer.status == "paused"

    old_stopper = weakref.ref(old.session_state["train_trainer_stopper"])
    del old  # Streamlit forgets the old session: its stopper must leave the adopted run alone
    apps.pop(0)
    gc.collect()
    assert old_stopper() is None  # the old session's stopper is gone: its finalizer has run...
    assert trainer.id not in ENDED_WITH_SESSION  # ...and did not stop the adopted run
    assert trainer.status == "paused"
    button(new, "Resume").click()
    rerun(new)
    wait_for(trainer, lambda t: t.done)
    assert trainer.status == "completed"


def test_a_run_whose_page_is_still_open_is_not_taken_by_another_tab(apps):
    _, trainer = paused_train_run(apps)
    trainer.touch()  # its page polls: the link was opened in a second tab
    other = app_on(TRAIN, runs=trainer.id)
    apps.append(other)
    assert "train_trainer" not in other.session_state
    assert "Reconnecting to your training run" in texts(other.caption)


def test_a_reload_after_the_run_is_gone_says_what_happened():
    at = app_on(TRAIN, runs="0123456789ab")
    assert "The server restarted" in texts(at.warning)
    ENDED_WITH_SESSION.append("ba9876543210")
    at = app_on(TRAIN, runs="ba9876543210")
    assert "its page was closed" in texts(at.warning)
    assert "The server restarted" not in texts(at.warning)


def test_a_dropped_session_stops_its_run_unless_a_new_page_adopted_it(tiny_splits):
    from ui.state import StopWhenSessionEnds, adopt_trainer  # noqa: F401

    dropped = Trainer(TrainConfig(epochs=1), train=tiny_splits[0], test=tiny_splits[1])
    dropped.start(paused=True)
    state = {"stopper": StopWhenSessionEnds(dropped, "train_trainer")}
    state.clear()  # Streamlit forgets the session
    gc.collect()
    assert dropped.wait(30) and dropped.status == "stopped"
    assert dropped.id in ENDED_WITH_SESSION


def test_a_paused_train_run_holds_no_slot_so_compare_starts(apps, monkeypatch):
    monkeypatch.setattr(RUN_SLOTS, "capacity", 1)
    at, trainer = paused_train_run(apps)
    at.switch_page(COMPARE)
    rerun(at)
    at.selectbox(key="compare_opt_size").set_value(TINY)
    rerun(at)
    button(at, "Start all runs").click()
    rerun(at)
    compare = at.session_state["compare_trainer"]
    wait_for(compare, lambda t: t.status in ("running", "completed"), seconds=30)
    assert trainer.status == "paused"


# ------------------------------------------------------------------ bug 2: fair comparisons


def test_runs_added_to_the_notebook_experiment_copy_run_1(apps):
    at = app_on(COMPARE, preset="notebook")  # its settings, at a size quick for a test
    apps.append(at)
    at.selectbox(key="compare_opt_size").set_value(TINY)
    rerun(at)
    button(at, "Start all runs").click()
    rerun(at)
    trainer = finish(at, "compare_trainer")
    assert "compare_opt_runs" not in [radio.key for radio in at.radio]  # Settings closed
    at.session_state["compare_settings_open"] = True  # the user opens Settings (Start closed it)
    rerun(at)
    at.radio(key="compare_opt_runs").set_value(4)
    rerun(at)
    state = at.session_state
    seed = PRESETS["seed"]
    for index in (2, 3):  # runs 3 and 4: tanh and gelu with the notebook's recipe
        assert state[f"compare_opt_run{index}_momentum"] == seed["momentum"]
        assert state[f"compare_opt_run{index}_batch_size"] == seed["batch_size"]
        assert state[f"compare_opt_run{index}_lr_exact"] == seed["lr"]
        assert state[f"compare_opt_run{index}_optimizer"] == seed["optimizer"]
    assert [state[f"compare_opt_run{i}_activation"] for i in range(4)] == [
        "sigmoid",
        "relu",
        "tanh",
        "gelu",
    ]
    assert trainer.status == "completed"


def test_a_run_added_by_hand_copies_run_1_and_the_summary_shows_what_differs(apps):
    at = app_on(COMPARE)
    apps.append(at)
    at.selectbox(key="compare_opt_size").set_value(TINY)
    at.slider(key="compare_opt_run0_momentum").set_value(0.3)
    at.select_slider(key="compare_opt_run0_batch_size").set_value(128)
    rerun(at)
    at.radio(key="compare_opt_runs").set_value(3)
    rerun(at)
    assert at.slider(key="compare_opt_run2_momentum").value == pytest.approx(0.3)
    assert at.select_slider(key="compare_opt_run2_batch_size").value == 128
    assert at.slider(key="compare_opt_run1_momentum").value == pytest.approx(0.9)  # run 2: own
    button(at, "Start all runs").click()
    rerun(at)
    finish(at, "compare_trainer")
    summary = at.table[0].value
    assert "momentum" in summary.columns  # differs between runs 1 and 2
    assert list(summary["momentum"]) == ["0.3", "0.9", "0.3"]


# ------------------------------------------------------------------ bug 3: defaults that learn


def test_switching_nets_keeps_each_nets_own_settings(apps):
    at = app_on(TRAIN)
    apps.append(at)
    at.selectbox(key="train_opt_activation").set_value("sigmoid")
    at.number_input(key="train_opt_lr_exact").set_value(0.02)
    rerun(at)
    at.radio(key="train_opt_arch").set_value("faithful")
    rerun(at)
    recipe = PRESETS["faithful-fast"]
    assert at.selectbox(key="train_opt_optimizer").value == recipe["optimizer"]
    assert at.number_input(key="train_opt_lr_exact").value == pytest.approx(recipe["lr"])
    assert at.selectbox(key="train_opt_activation").value == "lecun_tanh"
    assert at.selectbox(key="train_opt_schedule").value == recipe["schedule"]
    assert at.number_input(key="train_opt_epochs").value == recipe["epochs"]
    at.radio(key="train_opt_arch").set_value("modern")
    rerun(at)
    assert at.selectbox(key="train_opt_activation").value == "sigmoid"  # not relu again
    assert at.number_input(key="train_opt_lr_exact").value == pytest.approx(0.02)
    assert at.selectbox(key="train_opt_optimizer").value == "sgd"


def test_the_faithful_nets_defaults_learn(apps):
    at = app_on(TRAIN)
    apps.append(at)
    at.radio(key="train_opt_arch").set_value("faithful")
    at.selectbox(key="train_opt_size").set_value(QUICK)
    rerun(at)
    button(at, "Start").click()
    rerun(at)
    trainer = finish(at)
    accuracy = trainer.runs[0].final["test_acc"]
    assert trainer.status == "completed" and accuracy > 0.3, accuracy  # chance is 0.1
    assert "This run failed" not in texts(at.warning)
    assert "RBF criterion" in texts(at.caption)  # the loss scale is explained


def test_a_recipe_button_sets_the_recipe(apps):
    at = app_on(TRAIN)
    apps.append(at)
    button(at, "The notebook's recipe").click()
    rerun(at)
    seed = PRESETS["seed"]
    assert at.slider(key="train_opt_momentum").value == pytest.approx(seed["momentum"])
    assert at.select_slider(key="train_opt_batch_size").value == seed["batch_size"]
    assert at.number_input(key="train_opt_epochs").value == seed["epochs"]


# ------------------------------------------------------------------ bug 4: failed runs


def test_a_run_at_chance_says_so_and_retries_with_a_tenth_of_the_lr(apps):
    at = app_on(TRAIN)
    apps.append(at)
    at.selectbox(key="train_opt_size").set_value(TINY)
    at.number_input(key="train_opt_lr_exact").set_value(1.0)
    rerun(at)
    button(at, "Start").click()
    rerun(at)
    failed = finish(at)
    assert failed.runs[0].final["test_acc"] < 0.2
    message = texts(at.warning)
    assert "This run failed" in message and "learning rate (1) is too high" in message
    button(at, "Try lr ÷ 10 (0.1)").click()
    rerun(at)
    retry = at.session_state["train_trainer"]
    assert retry is not failed and retry.runs[0].config.lr == pytest.approx(0.1)
    assert at.number_input(key="train_opt_lr_exact").value == pytest.approx(0.1)
    assert failed in at.session_state["train_history"]  # the failed run is kept


def test_diagnosis_names_the_likely_cause():
    def history(losses, c1=1e-2):
        return History(loss=losses, grad_norm={"C1": [c1] * len(losses)})

    rising = history([2.3] * 50 + [5.0] * 150)
    assert loss_went_up(rising)
    sgd = TrainConfig(lr=0.01)
    assert "too high" in diagnose(sgd, rising, 0.1).cause
    assert diagnose(sgd, rising, 0.9) is None  # learned: nothing to say
    stuck = history([2.30] * 300, c1=1e-5)
    sigmoid = diagnose(TrainConfig.from_dict(dict(activation="sigmoid")), stuck, 0.11)
    assert "Saturation" in sigmoid.cause and sigmoid.change == {"activation": "relu"}
    dead = diagnose(
        TrainConfig.from_dict(dict(activation="relu", lr=1.0)), history([2.30] * 300), 0.1
    )
    assert "dead ReLUs" in dead.cause and dead.change == {"lr": pytest.approx(0.1)}
    short = diagnose(TrainConfig(epochs=1), history([2.30] * 10), 0.12)
    assert "too few" in short.cause and short.change == {"epochs": 3}
    slow = diagnose(TrainConfig(lr=1e-5), history([2.30] * 300), 0.12)
    assert slow.change == {"lr": pytest.approx(1e-4)}
    # Sigmoid at a tiny rate: the rate is named (not only sigmoid), even in a short run.
    for losses in ([2.30] * 300, [2.30] * 64):
        tiny = diagnose(
            TrainConfig.from_dict(dict(activation="sigmoid", lr=1e-4)), history(losses, 1e-5), 0.1
        )
        assert "learning rate (0.0001) is so low" in tiny.cause and "sigmoid" in tiny.cause
        assert tiny.change == {"lr": pytest.approx(1e-3)}
    adam = TrainConfig.from_dict(dict(optimizer="adam", activation="sigmoid", lr=1e-4))
    assert "Saturation" in diagnose(adam, stuck, 0.11).cause  # Adam still moves at 1e-4


def test_the_per_epoch_loss_axis_starts_at_zero():
    history = History()
    history.epochs = [
        {"epoch": e, "iteration": e, "train_loss": l, "train_acc": 0.1, "test_loss": l + 0.01}
        | {"test_acc": 0.1}
        for e, l in ((1, 2.32), (2, 2.35), (3, 2.33))
    ]
    low, high = epoch_loss_range(history)
    assert low == 0 and 2.36 < high < 3.0  # noise at chance reads as the flat line it is
    assert list(epoch_figure(history).layout.yaxis.range) == [low, high]
    history.epochs[0]["test_loss"] = math.inf
    assert math.isfinite(epoch_loss_range(history)[1])


# ------------------------------------------------------------------ bug 5: run history


def test_start_files_the_last_run_and_show_brings_it_back(apps):
    at = app_on(TRAIN)
    apps.append(at)
    at.selectbox(key="train_opt_size").set_value(TINY)
    at.number_input(key="train_opt_epochs").set_value(1)
    rerun(at)
    button(at, "Start").click()
    rerun(at)
    first = finish(at)
    at.selectbox(key="train_opt_activation").set_value("tanh")
    rerun(at)
    button(at, "Start").click()
    rerun(at)
    second = finish(at)
    assert at.session_state["train_history"] == [first]
    assert "Earlier runs in this session" in texts(at.subheader)
    button(at, "Show").click()
    rerun(at)
    assert at.session_state["train_trainer"] is first
    assert at.session_state["train_history"] == [second]
    assert at.selectbox(key="train_opt_activation").value == "relu"  # its settings came back


def test_a_new_run_asks_before_dropping_an_unsaved_model(apps, tiny_splits):
    at = app_on(TRAIN)
    apps.append(at)
    earlier = [finished_trainer(tiny_splits, seed=i) for i in range(5)]
    at.session_state["train_history"] = earlier
    at.session_state["train_trainer"] = finished_trainer(tiny_splits, seed=9)
    at.selectbox(key="train_opt_size").set_value(TINY)
    rerun(at)
    current = at.session_state["train_trainer"]
    button(at, "Start").click()
    rerun(at)
    assert at.session_state["train_trainer"] is current  # nothing started, nothing dropped
    assert "never saved" in texts(at.warning)
    button(at, "Cancel").click()
    rerun(at)
    assert "never saved" not in texts(at.warning)

    button(at, "Step one batch").click()  # Step asks too
    rerun(at)
    assert "never saved" in texts(at.warning)
    button(at, "Drop it and step").click()
    rerun(at)
    assert at.session_state["train_trainer"] is not current
    assert at.session_state["train_history"] == [current, *earlier[:4]]

    at.session_state["train_saved_runs"] = {t.id for t in at.session_state["train_history"]}
    at.session_state["train_trainer"].stop()
    at.session_state["train_trainer"].wait(30)
    rerun(at)
    button(at, "Start").click()  # every model in the history was saved: no question
    rerun(at)
    assert "never saved" not in texts(at.warning)


# ------------------------------------------------------------------ bug 7: Draw's status line


def test_draw_follows_the_run_on_the_train_page(apps):
    at, trainer = paused_train_run(apps)
    at.switch_page(DRAW)
    rerun(at)
    at.selectbox(key="picked_model").set_value("training")
    rerun(at)
    assert "Train page, paused" in texts(at.caption)
    trainer.stop()
    assert trainer.wait(30)
    rerun(at)
    assert "Train page, stopped" in texts(at.caption)


# ------------------------------------------------------------------ for a teacher


def test_a_link_opens_a_recipe_on_the_train_page(apps):
    at = app_on(TRAIN, preset="faithful-fast")
    apps.append(at)
    assert at.radio(key="train_opt_arch").value == "faithful"
    assert at.selectbox(key="train_opt_optimizer").value == "adam"
    assert "Recipe from the link" in texts(at.info)
    assert "preset" not in at.query_params  # applied once
    bad = app_on(TRAIN, preset="nope")
    assert "unknown recipe" in texts(bad.warning)


def test_a_compare_setup_travels_in_a_link(apps):
    at = app_on(COMPARE, preset="learning-rates")
    apps.append(at)
    assert at.radio(key="compare_opt_runs").value == 3
    lrs = [at.session_state[f"compare_opt_run{i}_lr_exact"] for i in range(3)]
    assert lrs == [0.01, 0.1, 1.0]
    at.slider(key="compare_opt_run1_momentum").set_value(0.42)
    rerun(at)
    shown = next(m.value for m in at.markdown if "setup=" in m.value)  # a link: [`url`](url)
    link = shown.rpartition("](")[2].removesuffix(")")
    assert link.startswith("/compare?")  # AppTest has no browser URL; a browser's is in front
    token = parse_qs(urlsplit(link).query)["setup"][0]
    assert at.query_params["setup"] == token  # kept in the address bar too
    at.slider(key="compare_opt_run1_momentum").set_value(0.5)
    rerun(at)  # the address follows the settings, and does not set them back
    assert at.slider(key="compare_opt_run1_momentum").value == pytest.approx(0.5)
    assert at.query_params["setup"] not in ("", token)
    opened = app_on(COMPARE, setup=token)
    assert opened.radio(key="compare_opt_runs").value == 3
    assert opened.slider(key="compare_opt_run1_momentum").value == pytest.approx(0.42)
    assert [opened.session_state[f"compare_opt_run{i}_lr_exact"] for i in range(3)] == lrs
    broken = app_on(COMPARE, setup="bm90IGpzb24")
    assert "could not be read" in texts(broken.warning)


def test_the_csv_of_several_runs_holds_their_settings(tiny_splits):
    runs = [finished_trainer(tiny_splits, activation=a).runs[0] for a in ("relu", "tanh")]
    rows = metrics_rows([(r.name, r.config, r.history) for r in runs])
    header = rows[0]
    assert header[:3] == ["run", "arch", "activation"] and "momentum" in header
    assert "test_acc" in header and "loss" in header
    assert len(rows) == 1 + 2 * 2  # two iterations each
    activation = header.index("activation")
    assert [row[activation] for row in rows[1:]] == ["relu", "relu", "tanh", "tanh"]
    # Every setting once, none empty (arch and resize sit in the model's settings).
    settings = header[1 : header.index("iteration")]
    assert len(header) == len(set(header)) and "lr_at_iteration" in header
    assert set(TrainConfig.from_dict({}).model.to_dict()) <= set(settings)
    for name in ("arch", "resize", "pooling", "lr", "batch_size", "precision", "seed"):
        assert all(row[header.index(name)] not in ("", None) for row in rows[1:]), name
    assert rows[1][header.index("arch")] == "modern" and rows[1][header.index("resize")] == "pad"


def test_reset_forgets_runs_and_settings_but_not_saved_models(apps):
    at, trainer = paused_train_run(apps)
    at.session_state["saved_models"] = ["checkpoints/mine.pt"]
    button(at, "Reset this session").click()
    rerun(at)
    button(at, "Yes, reset").click()
    rerun(at)
    assert "train_trainer" not in at.session_state
    assert trainer.wait(30) and trainer.status == "stopped"
    assert at.selectbox(key="train_opt_size").value != TINY  # the defaults again
    assert at.session_state["saved_models"] == ["checkpoints/mine.pt"]


# ------------------------------------------------------------------ the heartbeat


def test_every_page_keeps_an_unfinished_run_touched(apps, auto_rerun_timers):
    """A run's page is gone when nobody touches its trainer: so every page of the session
    touches it, on a timer, until the run is over (Home has no live panel of its own)."""
    from ui.session_guard import HEARTBEAT_SECONDS

    at, trainer = paused_train_run(apps)
    at.switch_page("pages/home.py")
    trainer.last_seen = None
    rerun(at)
    assert auto_rerun_timers == [pytest.approx(HEARTBEAT_SECONDS)]
    assert trainer.last_seen is not None
    trainer.stop()
    assert trainer.wait(30)
    rerun(at)
    assert auto_rerun_timers == []


def test_the_gradient_chart_of_four_runs_has_room_and_colours_of_its_own():
    from lenet_viz.figures.comparison import gradient_norm_figure
    from lenet_viz.figures.style import RUN_COLORS

    history = History(
        iteration=[1, 2, 3],
        loss=[2.3, 2.2, 2.1],
        grad_norm={"C1": [1e-3] * 3, "C3": [1e-2] * 3, "output": [1e-1] * 3},
    )
    names = ["sigmoid · lr 0.01", "relu · lr 0.01", "tanh · lr 0.01", "gelu · lr 0.01"]
    fig = gradient_norm_figure([(name, history) for name in names])
    assert [a.text for a in fig.layout.annotations] == names
    assert {t.xaxis for t in fig.data} == {"x", "x2", "x3", "x4"}  # a 2x2 grid, not one row
    assert not {t.line.color for t in fig.data} & set(RUN_COLORS)  # layers never look like runs
