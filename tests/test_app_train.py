"""Home, Train and Compare: AppTest of the pages, and unit tests of their figure functions.

The training tests use the "Tiny" run size (500 training and 250 test digits), start a run with
the page's own buttons, wait for the Trainer's thread to finish, then run the script again and
check what the page shows, as a user's next poll would.
"""

from __future__ import annotations

import gc
import math
from pathlib import Path

import numpy as np
import plotly.graph_objects as go
import pytest
import torch
from streamlit.testing.v1 import AppTest

from lenet_viz.checkpoints.store import load_checkpoint
from lenet_viz.data.datasets import data_available, load_split
from lenet_viz.figures.architecture import architecture_figure
from lenet_viz.figures.comparison import (
    gradient_norm_figure,
    overlay_figure,
    short_run_names,
    small_multiples_figure,
    summary_rows,
    trained_layers,
)
from lenet_viz.figures.smoothing import auto_smoothing, decimate, decimation_indices, smooth
from lenet_viz.figures.style import RUN_COLORS
from lenet_viz.figures.training import (
    confusion_figure,
    epoch_figure,
    iteration_figure,
    misclassified_figure,
)
from lenet_viz.nets.build import build_model
from lenet_viz.nets.config import ModelConfig
from lenet_viz.nets.model import LAYER_NAMES
from lenet_viz.nets.paper import table_i
from lenet_viz.training.config import PRESETS, TrainConfig, setting
from lenet_viz.training.history import History
from lenet_viz.training.runner import Trainer
from lenet_viz.training.slots import RUN_SLOTS
from tests.apptest_helpers import button, texts
from ui.state import POLL_SECONDS

APP = str(Path(__file__).resolve().parent.parent / "app.py")
HOME, TRAIN, COMPARE = "pages/home.py", "pages/train.py", "pages/compare.py"
TINY = "Tiny: 500 images"
TIMEOUT = 90  # one script run on a busy shared machine (imports torch the first time)
TRAIN_SECONDS = 240  # a tiny run, generous for a loaded CI machine

needs_mnist = pytest.mark.skipif(
    not data_available("mnist"), reason="MNIST is not fetched (run `make data`)"
)


# ------------------------------------------------------------------ helpers


def history_of(iterations: int, epochs_every: int | None = None) -> History:
    """A made-up History: loss falling from 2.3, accuracy rising, sigmoid-like tiny C1 norms."""
    history = History(grad_norm={name: [] for name in LAYER_NAMES})
    for i in range(1, iterations + 1):
        history.iteration.append(i)
        history.epoch_float.append(i / 100)
        history.loss.append(2.3 * math.exp(-i / 200) + 0.05 * (i % 3))
        history.accuracy.append(min(1.0, 0.1 + i / iterations))
        history.lr.append(0.01)
        for name in LAYER_NAMES:
            norm = 0.0 if name in ("S2", "S4") else 10.0 ** -(7 - LAYER_NAMES.index(name))
            history.grad_norm[name].append(norm)
        if epochs_every and i % epochs_every == 0:
            history.epochs.append(
                {
                    "epoch": i // epochs_every,
                    "iteration": i,
                    "train_loss": 1.0 / i,
                    "train_acc": 0.5,
                    "test_loss": 1.2 / i,
                    "test_acc": 0.6,
                }
            )
    return history


def app_on(page: str, **params: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.query_params.update(params)
    at.switch_page(page)
    at.run()
    assert not at.exception, at.exception
    return at


def finish_run(at: AppTest, key: str):
    """Wait for the page's trainer to finish, then run the page again (the next poll)."""
    trainer = at.session_state[key]
    assert trainer.wait(TRAIN_SECONDS), f"the run did not finish in {TRAIN_SECONDS} s"
    at.run()
    assert not at.exception, at.exception
    return trainer


def chart_count(at: AppTest) -> int:
    return len(at.get("plotly_chart"))


@pytest.fixture(autouse=True)
def stop_trainers_afterwards():
    """Never leave a run holding the server-wide training slot for the next test."""
    apps: list[AppTest] = []
    yield apps
    for at in apps:
        for key in ("train_trainer", "compare_trainer"):
            if key in at.session_state:
                trainer = at.session_state[key]
                trainer.stop()
                trainer.wait(30)


# ------------------------------------------------------------------ figures: plain helpers


def test_decimation_keeps_first_and_last_and_bounds_the_count():
    for count in (0, 1, 2, 10, 1500, 1501, 20_000, 123_457):
        keep = decimation_indices(count, max_points=1500)
        assert len(keep) <= 1500
        assert keep == sorted(set(keep))
        if count:
            assert keep[0] == 0 and keep[-1] == count - 1
        if count <= 1500:
            assert keep == list(range(count))


def test_decimate_pairs_x_with_y_and_refuses_mismatches():
    xs = list(range(10_000))
    ys = [2 * x for x in xs]
    small_x, small_y = decimate(xs, ys, max_points=100)
    assert len(small_x) == len(small_y) <= 100
    assert all(y == 2 * x for x, y in zip(small_x, small_y, strict=True))
    assert (small_x[0], small_x[-1]) == (0, 9_999)
    with pytest.raises(ValueError, match="differ in length"):
        decimate([1, 2], [1])
    with pytest.raises(ValueError, match="at least 2"):
        decimation_indices(10, max_points=1)


def test_smooth_is_debiased_and_skips_non_finite_values():
    assert smooth([3.0] * 20, 0.9) == pytest.approx([3.0] * 20)  # no pull towards zero
    values = smooth([1.0, float("nan"), 3.0], 0.5)
    assert values[0] == pytest.approx(1.0)
    assert values[1] == pytest.approx(1.0)  # the NaN is skipped, not propagated
    assert math.isfinite(values[2]) and 1.0 < values[2] < 3.0
    assert math.isnan(smooth([float("inf")], 0.5)[0])
    with pytest.raises(ValueError):
        smooth([1.0], 1.0)


def test_auto_smoothing_grows_with_the_curve_up_to_a_limit():
    assert auto_smoothing(10) == 0.0  # too short to smooth
    assert auto_smoothing(200) < auto_smoothing(600) < auto_smoothing(100_000)
    assert auto_smoothing(100_000) == pytest.approx(1 - 1 / 50)


# ------------------------------------------------------------------ figures: one run


def test_iteration_figure_has_raw_and_smoothed_curves_decimated():
    history = history_of(5_000)
    fig = iteration_figure(history, max_points=400)
    assert isinstance(fig, go.Figure)
    assert len(fig.data) == 4  # loss raw + smoothed, accuracy raw + smoothed
    for trace in fig.data:
        assert 2 <= len(trace.x) <= 400
        assert trace.x[0] == 1 and trace.x[-1] == 5_000
    raw_accuracy = fig.data[2]
    assert max(raw_accuracy.y) == pytest.approx(100.0)  # shown in percent
    assert fig.data[1].line.width > fig.data[0].line.width  # the smoothed curve stands out


def test_iteration_figure_of_an_empty_history_says_when_curves_appear():
    fig = iteration_figure(History(grad_norm={}))
    assert any("first batch" in a.text for a in fig.layout.annotations)


def test_epoch_figure_plots_train_against_test_per_epoch():
    fig = epoch_figure(history_of(300, epochs_every=100), total_epochs=5)
    names = [trace.name for trace in fig.data]
    assert names.count("train") == 2 and names.count("test") == 2
    test_accuracy = [t for t in fig.data if t.name == "test"][1]
    assert list(test_accuracy.x) == [1, 2, 3]
    assert list(test_accuracy.y) == pytest.approx([60.0] * 3)
    assert fig.layout.xaxis.range[1] >= 5  # the axis spans the whole run
    empty = epoch_figure(history_of(10))
    assert any("end of each epoch" in a.text for a in empty.layout.annotations)


def test_confusion_figure_shows_counts_and_highlights_mistakes():
    confusion = np.diag([100] * 10)
    confusion[3, 5] = 7
    fig = confusion_figure(confusion.tolist())
    heatmap = fig.data[0]
    assert np.asarray(heatmap.z).tolist() == confusion.tolist()
    assert heatmap.zmax == 7  # the colour scale is set by the worst mistake, not the diagonal
    assert fig.layout.yaxis.autorange == "reversed"  # true label 0 on top


def test_misclassified_figure_titles_each_image_true_then_predicted():
    images = np.zeros((5, 28, 28), dtype=np.uint8)
    fig = misclassified_figure(images, [1, 2, 3, 4, 5], [7, 7, 8, 9, 0], columns=3)
    assert len(fig.data) == 5
    titles = [a.text for a in fig.layout.annotations]
    assert titles == ["1 → 7", "2 → 7", "3 → 8", "4 → 9", "5 → 0"]
    empty = misclassified_figure(np.zeros((0, 28, 28)), [], [])
    assert any("No mistakes" in a.text for a in empty.layout.annotations)


# ------------------------------------------------------------------ figures: several runs


def test_overlay_figure_gives_each_run_one_colour():
    runs = [("sigmoid", history_of(300)), ("relu", history_of(200)), ("tanh", history_of(100))]
    fig = overlay_figure(runs)
    for index, (name, _) in enumerate(runs):
        traces = [t for t in fig.data if t.legendgroup == name]
        assert len(traces) == 4  # raw and smoothed, loss and accuracy
        assert {t.line.color for t in traces} == {RUN_COLORS[index]}
    assert [t.name for t in fig.data if t.showlegend] == ["sigmoid", "relu", "tanh"]
    by_epoch = overlay_figure(runs, x="epoch")
    assert by_epoch.data[1].x[-1] == pytest.approx(3.0)


def test_small_multiples_draw_one_column_per_run():
    runs = [("a", history_of(50)), ("b", history_of(50))]
    fig = small_multiples_figure(runs)
    assert [a.text for a in fig.layout.annotations] == ["a", "b"]
    assert {t.xaxis for t in fig.data} == {"x", "x2", "x3", "x4"}  # 2 rows x 2 columns


def test_gradient_norm_figure_is_log_scale_and_skips_layers_without_parameters():
    history = history_of(100)
    assert trained_layers(history) == ["C1", "C3", "C5", "F6", "output"]
    fig = gradient_norm_figure([("sigmoid", history), ("relu", history)])
    assert fig.layout.yaxis.type == "log"
    names = {t.name for t in fig.data}
    assert names == {"C1", "C3", "C5", "F6", "output"}
    assert len(fig.data) == 10  # 5 layers in each of the 2 panels
    c1 = next(t for t in fig.data if t.name == "C1")
    assert max(c1.y) == pytest.approx(1e-7)


def test_summary_rows_report_final_numbers():
    history = history_of(100, epochs_every=100)
    rows = summary_rows(
        [
            {
                "name": "relu",
                "status": "completed",
                "iteration": 100,
                "history": history,
                "final": {"test_acc": 0.97},
                "config": {"activation": "relu", "optimizer": "sgd", "lr": 0.01, "batch_size": 32},
            },
            {"name": "empty", "status": "stopped", "iteration": 0, "history": History()},
        ]
    )
    assert rows[0]["test accuracy %"] == pytest.approx(97.0)
    assert rows[0]["activation"] == "relu" and rows[0]["batch_size"] == 32
    assert rows[0]["C1 gradient norm (last 10%)"] == pytest.approx(1e-7)
    assert rows[1]["test accuracy %"] is None and rows[1]["train loss (smoothed)"] is None


def test_short_run_names_say_what_differs():
    seed = {**PRESETS["seed"], "activation": "sigmoid"}
    assert short_run_names([seed, {**seed, "activation": "relu"}]) == ["sigmoid", "relu"]
    names = short_run_names([seed, {**seed, "lr": 0.1}])
    assert names == ["sigmoid · lr 0.01", "sigmoid · lr 0.1"]
    assert short_run_names([seed, seed]) == ["#1 sigmoid", "#2 sigmoid"]


def test_architecture_figure_labels_every_layer_with_its_shape_and_parameters():
    info = build_model(ModelConfig(arch="faithful")).info()
    fig = architecture_figure(info)
    text = " ".join(a.text for a in fig.layout.annotations)
    for layer in info["layers"]:
        assert f"<b>{layer['name']}</b>" in text
        assert f"{layer['params']:,} params" in text
    assert "16@10x10" in text and "Gaussian (RBF)" in text


# ------------------------------------------------------------------ Home


def test_home_shows_both_architectures_and_links_every_page():
    at = app_on(HOME)
    table = at.table[0].value
    assert list(table["layer"]) == [*LAYER_NAMES, "total"]
    c3 = table[table["layer"] == "C3"].iloc[0]
    assert c3["modern params"] == 2_416 and c3["faithful params"] == 1_516  # Table I wiring
    assert c3["output shape"] == "16 x 10 x 10"
    diagrams = [m.value for m in at.markdown if "<svg" in m.value[:40]]  # drawn as SVG
    assert all(d.startswith('<div tabindex="0">') for d in diagrams)  # scrolled by keyboard
    assert len(diagrams) == 2  # the diagram of each net
    for arch, diagram in zip(("Modern", "Faithful"), diagrams, strict=True):
        assert f'aria-label="{arch} LeNet-5' in diagram and "16@10x10</tspan>" in diagram
    links = [link.proto.page for link in at.get("page_link")]
    # url paths; "" is Home
    assert links == ["", "train", "compare", "draw", "inside", "robustness", "classroom"]


def test_home_and_train_work_before_mnist_is_fetched(monkeypatch, tmp_path):
    monkeypatch.setenv("LENET_VIZ_DATA", str(tmp_path))  # an empty data folder
    at = app_on(HOME)
    assert "make data" in texts(at.warning)
    at.switch_page(TRAIN)
    at.run()
    assert not at.exception, at.exception
    assert "lenet_viz fetch-data --dataset mnist" in texts(at.warning)
    assert button(at, "Start").disabled and button(at, "Step one batch").disabled


# ------------------------------------------------------------------ Train


@needs_mnist
def test_train_page_runs_and_shows_curves_metrics_and_results(stop_trainers_afterwards):
    at = app_on(TRAIN)
    stop_trainers_afterwards.append(at)
    assert chart_count(at) == 0
    at.selectbox(key="train_opt_size").set_value(TINY)
    at.number_input(key="train_opt_epochs").set_value(1)
    at.run()
    button(at, "Start").click()
    at.run()
    assert not at.exception, at.exception
    trainer = at.session_state["train_trainer"]
    assert trainer.runs[0].config.train_limit == 500
    assert button(at, "Start").disabled  # locked while the run goes on
    trainer = finish_run(at, "train_trainer")
    assert trainer.status == "completed"

    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Iteration"] == "8"  # 500 digits / batch 64
    assert metrics["Test accuracy"].endswith("%")
    assert metrics["Test images wrong"].endswith("of 250")
    # live curves (iteration, epoch), confusion matrix and gallery; the replay's loss curve
    # (ui/runs/replay_panel.py)
    assert chart_count(at) == 4 + 1
    assert "Finished" in at.get("progress")[0].proto.text
    downloads = at.get("download_button")
    assert len(downloads) == 2


@needs_mnist
def test_train_refuses_a_learning_rate_that_cannot_work(stop_trainers_afterwards):
    at = app_on(TRAIN)
    stop_trainers_afterwards.append(at)
    at.number_input(key="train_opt_lr_exact").set_value(0.0)
    at.run()
    assert at.select_slider(key="train_opt_lr_slider").value == 1e-5  # the slider follows
    button(at, "Start").click()
    at.run()
    assert "learning rate must be a positive" in texts(at.error)
    assert "train_trainer" not in at.session_state


@needs_mnist
def test_learning_rate_slider_and_exact_entry_share_one_value():
    at = app_on(TRAIN)
    at.select_slider(key="train_opt_lr_slider").set_value(0.1)
    at.run()
    assert at.number_input(key="train_opt_lr_exact").value == pytest.approx(0.1)
    at.number_input(key="train_opt_lr_exact").set_value(0.003)
    at.run()
    assert at.select_slider(key="train_opt_lr_slider").value == 0.002  # nearest on a log scale
    assert at.number_input(key="train_opt_lr_exact").value == pytest.approx(0.003)


@needs_mnist
def test_a_diverged_run_says_where_and_keeps_its_model(stop_trainers_afterwards):
    at = app_on(TRAIN)
    stop_trainers_afterwards.append(at)
    at.selectbox(key="train_opt_size").set_value(TINY)
    at.number_input(key="train_opt_lr_exact").set_value(1e6)
    at.run()
    button(at, "Start").click()
    at.run()
    trainer = finish_run(at, "train_trainer")
    assert trainer.status == "diverged"
    assert "diverged at iteration" in texts(at.error)
    assert "Test accuracy" in [m.label for m in at.metric]  # the kept model is evaluated


@needs_mnist
def test_step_trains_exactly_one_batch_then_waits(stop_trainers_afterwards):
    at = app_on(TRAIN)
    stop_trainers_afterwards.append(at)
    at.selectbox(key="train_opt_size").set_value(TINY)
    at.run()
    button(at, "Step one batch").click()
    at.run()
    trainer = at.session_state["train_trainer"]
    for _ in range(600):  # the thread takes the batch, then pauses
        if trainer.runs[0].iteration == 1 and trainer.status == "paused":
            break
        trainer.wait(0.1)
    assert trainer.runs[0].iteration == 1 and trainer.status == "paused"
    at.run()
    assert not button(at, "Resume").disabled
    button(at, "Stop").click()
    at.run()
    assert trainer.wait(60) and trainer.status == "stopped"


@needs_mnist
def test_saving_sanitizes_the_name_and_asks_before_overwriting(
    monkeypatch, tmp_path, stop_trainers_afterwards
):
    monkeypatch.setenv("LENET_VIZ_CHECKPOINTS", str(tmp_path))
    at = app_on(TRAIN)
    stop_trainers_afterwards.append(at)
    at.selectbox(key="train_opt_size").set_value(TINY)
    at.number_input(key="train_opt_epochs").set_value(1)
    at.run()
    button(at, "Start").click()
    at.run()
    finish_run(at, "train_trainer")

    at.text_input(key="train_save_name").set_value("../../evil name")
    button(at, "Save").click()
    at.run()
    saved = tmp_path / "evil_name.pt"
    assert saved.is_file() and sorted(p.name for p in tmp_path.iterdir()) == ["evil_name.pt"]
    assert not any(tmp_path.parent.glob("evil*"))  # nothing escaped the folder
    assert at.session_state["saved_models"] == [str(saved)]
    assert load_checkpoint(saved).metadata["train_config"]["train_limit"] == 500
    first_bytes = saved.read_bytes()

    button(at, "Save").click()  # the same name again
    at.run()
    assert "already exists" in texts(at.warning)
    assert saved.read_bytes() == first_bytes  # nothing replaced yet
    button(at, "No, keep the old one").click()
    at.run()
    assert "already exists" not in texts(at.warning)

    button(at, "Save").click()
    at.run()
    button(at, "Yes, overwrite it").click()
    at.run()
    assert "Saved as" in texts(at.success)
    assert at.session_state["saved_models"] == [str(saved)]  # listed once

    at.text_input(key="train_save_name").set_value("lenet5_modern_relu")
    button(at, "Save").click()
    at.run()
    assert "shipped with the app" in texts(at.error)


# ------------------------------------------------------------------ Compare


@needs_mnist
def test_compare_runs_the_notebook_preset_in_lockstep(stop_trainers_afterwards):
    at = app_on(COMPARE, preset="notebook")  # its settings, at a size quick for a test
    stop_trainers_afterwards.append(at)
    at.selectbox(key="compare_opt_size").set_value(TINY)
    at.run()
    button(at, "Start all runs").click()
    at.run()
    assert not at.exception, at.exception
    trainer = at.session_state["compare_trainer"]
    configs = [run.config for run in trainer.runs]
    assert [c.model.activation for c in configs] == ["sigmoid", "relu"]
    for config in configs:
        for key, value in PRESETS["seed"].items():
            assert setting(config.to_dict(), key) == value, key
        assert config.train_limit == 500 and config.seed == configs[0].seed
    # same seed and shapes: both runs start from the same weights (as the Trainer builds them)
    first, second = (build_model(c.model, c.seed).state_dict() for c in configs)
    assert all(torch.equal(first[key], second[key]) for key in first)

    trainer = finish_run(at, "compare_trainer")
    assert trainer.status == "completed"
    assert [run.iteration for run in trainer.runs] == [16, 16]  # 500 digits / batch 32
    table = at.table[0].value
    assert list(table.index) == ["sigmoid", "relu"]
    assert table.columns[0] == "test accuracy %"
    assert all(float(value) >= 0 for value in table["test accuracy %"])
    assert chart_count(at) == 3 + 1  # overlay, gradient norms, small multiples; the
    # replay's loss curve (ui/runs/replay_panel.py)


@needs_mnist
def test_train_page_switches_the_c3_table_and_pooling(stop_trainers_afterwards):
    at = app_on(TRAIN)
    stop_trainers_afterwards.append(at)
    c3 = at.selectbox(key="train_opt_c3")
    assert c3.value == "full"
    # The parameter count moves with the table (LeCun et al. 1998, p.8: 1,516).
    assert c3.format_func("full").endswith("(2,416 parameters)")
    assert c3.format_func("paper").endswith("(1,516 parameters)")
    c3.set_value("paper")
    at.radio(key="train_opt_pooling").set_value("avg")
    at.selectbox(key="train_opt_size").set_value(TINY)
    at.run()
    button(at, "Start").click()
    at.run()
    trainer = at.session_state["train_trainer"]
    model = trainer.runs[0].model
    assert (model.config.c3, model.config.pooling) == ("paper", "avg")
    assert model.connection_table() == [list(row) for row in table_i()]
    assert "C3 paper · avg pooling" in trainer.runs[0].name
    button(at, "Stop").click()
    at.run()
    assert trainer.wait(60)
    at.run()  # the page as the next poll draws it: the run is over, the settings unlocked
    # The faithful net starts from its own table, and has no pooling choice.
    at.radio(key="train_opt_arch").set_value("faithful")
    at.run()
    assert at.selectbox(key="train_opt_c3").value == "paper"
    assert not [radio for radio in at.radio if radio.key == "train_opt_pooling"]


@needs_mnist
def test_compare_runs_a_full_c3_against_the_papers_table(stop_trainers_afterwards):
    at = app_on(COMPARE)
    stop_trainers_afterwards.append(at)
    at.selectbox(key="compare_opt_size").set_value(TINY)
    at.selectbox(key="compare_opt_run0_activation").set_value("relu")
    at.selectbox(key="compare_opt_run1_c3").set_value("paper")
    at.run()
    button(at, "Start all runs").click()
    at.run()
    trainer = at.session_state["compare_trainer"]
    assert [run.model.config.c3 for run in trainer.runs] == ["full", "paper"]
    assert [run.name for run in trainer.runs] == ["relu · C3 full", "relu · C3 paper"]
    finish_run(at, "compare_trainer")
    assert "C3 paper" in at.table[0].value.index.tolist()[1]
    assert at.table[0].value["c3"].tolist() == ["full", "paper"]


@needs_mnist
def test_compare_starts_as_many_runs_as_chosen(stop_trainers_afterwards):
    at = app_on(COMPARE)
    stop_trainers_afterwards.append(at)
    at.selectbox(key="compare_opt_size").set_value(TINY)
    at.radio(key="compare_opt_runs").set_value(3)
    at.run()
    at.selectbox(key="compare_opt_run2_activation").set_value("elu")
    at.run()
    button(at, "Start all runs").click()
    at.run()
    trainer = at.session_state["compare_trainer"]
    assert [run.config.model.activation for run in trainer.runs] == ["sigmoid", "relu", "elu"]
    assert [run.name for run in trainer.runs] == ["sigmoid", "relu", "elu"]
    button(at, "Stop").click()
    at.run()
    assert trainer.wait(60) and trainer.status in ("stopped", "completed")


@needs_mnist
def test_a_run_waiting_for_a_slot_shows_its_place_and_can_be_stopped(
    monkeypatch, stop_trainers_afterwards
):
    monkeypatch.setattr(RUN_SLOTS, "capacity", 1)  # one run at a time on this "server"
    at = app_on(TRAIN)
    stop_trainers_afterwards.append(at)
    at.selectbox(key="train_opt_size").set_value("Medium: 10,000 images")
    at.run()
    button(at, "Start").click()  # a running run holds the only slot (a paused one would not)
    at.run()
    train_trainer = at.session_state["train_trainer"]
    for _ in range(600):
        if train_trainer.status == "running":
            break
        train_trainer.wait(0.1)
    assert train_trainer.status == "running"

    at.switch_page(COMPARE)
    at.run()
    at.selectbox(key="compare_opt_size").set_value(TINY)
    at.run()
    button(at, "Start all runs").click()
    at.run()
    compare_trainer = at.session_state["compare_trainer"]
    assert compare_trainer.status == "queued"
    assert "Queued: position 1" in texts(at.info)
    assert "run on the Train page" in texts(at.warning)
    assert not button(at, "Stop").disabled
    button(at, "Stop").click()
    at.run()
    assert compare_trainer.wait(30) and compare_trainer.status == "stopped"
    assert compare_trainer.runs[0].iteration == 0  # it never trained


def test_a_dropped_session_stops_its_trainer():
    """A closed tab's paused run must not keep its training slot for good."""
    from ui.state import StopWhenSessionEnds

    class FakeTrainer:
        id = "fake0trainer"
        done = stopped = False

        def stop(self) -> None:
            self.stopped = True

    trainer = FakeTrainer()
    session_state = {
        "train_trainer": trainer,
        "stopper": StopWhenSessionEnds(trainer, "train_trainer"),
    }
    assert not trainer.stopped
    session_state.clear()  # Streamlit forgets the session
    gc.collect()
    assert trainer.stopped


# ------------------------------------------------------------------ live panel: it must poll


class StatusScript(Trainer):
    """A Trainer, never started, whose status reads follow a script: each read takes the next
    value and the last one repeats. It plays a run that changes state while a page draws."""

    def __init__(self, reads: list[str], splits):
        self._reads = list(reads)
        super().__init__(TrainConfig(epochs=1), train=splits[0], test=splits[1])

    @property
    def status(self) -> str:
        return self._reads.pop(0) if len(self._reads) > 1 else self._reads[0]

    @status.setter
    def status(self, value: str) -> None:  # Trainer.__init__ writes "idle": the script rules
        pass


@pytest.fixture(scope="module")
def tiny_splits():
    return load_split("mnist", train=True).subset(64), load_split("mnist", train=False).subset(32)


class PollTimers:
    """The poll periods among a script run's auto-rerun timers: all but the session's
    heartbeat (ui/session_guard.py, tested in test_app_classroom)."""

    def __init__(self, timers: list[float]):
        self.timers = timers

    def __eq__(self, other) -> bool:
        return self.periods() == other

    def periods(self) -> list[float]:
        from ui.session_guard import HEARTBEAT_SECONDS

        return [t for t in self.timers if not math.isclose(t, HEARTBEAT_SECONDS)]

    def __repr__(self) -> str:
        return repr(self.periods())


@pytest.fixture
def poll_timers(auto_rerun_timers) -> PollTimers:
    return PollTimers(auto_rerun_timers)


def page_with_trainer(page: str, key: str, trainer: Trainer) -> AppTest:
    """The page drawn once, then again with `trainer` in the session (a steady page)."""
    at = app_on(page)
    at.session_state[key] = trainer
    at.run()
    assert not at.exception, at.exception
    return at


PAGES = [(TRAIN, "train_trainer"), (COMPARE, "compare_trainer")]
# Each page polls with one fragment (ui/state.live_fragment), the curves and the inside-the-net
# panel together: with two polling fragments, Streamlit's browser side blanked the page under
# load when a status change reran the app ("Cannot set a node at a delta path"; the load test
# and five sessions pausing and resuming at once showed it, one fragment never did).
POLLS = [pytest.approx(POLL_SECONDS)]


@needs_mnist
@pytest.mark.parametrize(("page", "key"), PAGES)
@pytest.mark.parametrize("status", ["idle", "queued", "running", "paused"])
def test_the_live_panel_polls_until_the_run_is_over(page, key, status, tiny_splits, poll_timers):
    page_with_trainer(page, key, StatusScript([status], tiny_splits))
    assert poll_timers == POLLS


@needs_mnist
@pytest.mark.parametrize(("page", "key"), PAGES)
@pytest.mark.parametrize("status", ["completed", "stopped"])
def test_a_finished_run_is_not_polled(page, key, status, tiny_splits, poll_timers):
    page_with_trainer(page, key, StatusScript([status], tiny_splits))
    assert poll_timers == []


@needs_mnist
@pytest.mark.parametrize(("page", "key"), PAGES)
def test_a_run_that_starts_while_the_page_draws_is_still_polled(
    page, key, tiny_splits, poll_timers
):
    """The page reads the status once, both to decide whether to poll and as the status it
    was drawn with; a run that starts while the page draws (idle, then queued) is polled."""
    at = page_with_trainer(page, key, StatusScript(["idle", "queued"], tiny_splits))
    assert poll_timers == POLLS
    assert at.session_state[key.replace("trainer", "seen_status")] == "queued"


@needs_mnist
@pytest.mark.parametrize(("page", "key"), PAGES)
def test_a_run_that_ends_while_the_page_draws_stops_polling(page, key, tiny_splits, poll_timers):
    """The other way round: a page drawn as finished does not keep polling."""
    at = page_with_trainer(page, key, StatusScript(["running", "completed"], tiny_splits))
    assert poll_timers == []
    assert at.session_state[key.replace("trainer", "seen_status")] == "completed"


@needs_mnist
def test_train_page_trains_with_the_papers_distortions(stop_trainers_afterwards):
    """--augment paper on the page: the run's config carries it, and the run name says so."""
    at = app_on(TRAIN)
    stop_trainers_afterwards.append(at)
    distortions = at.selectbox(key="train_opt_augment")
    assert distortions.value == "none"
    assert "shear" in distortions.format_func("paper")
    distortions.set_value("paper")
    at.selectbox(key="train_opt_size").set_value(TINY)
    at.run()
    button(at, "Start").click()
    at.run()
    trainer = at.session_state["train_trainer"]
    assert trainer.runs[0].config.augment == "paper"
    assert trainer.runs[0].name.endswith("augment paper")
    button(at, "Stop").click()
    at.run()
    assert trainer.wait(60)
