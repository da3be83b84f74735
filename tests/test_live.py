"""The live view: bounded curves, incremental smoothing, and polls that read only new records."""

from __future__ import annotations

import json
import math

import numpy as np
import plotly.io
import plotly.tools
import pytest

from lenet_viz.figures import live as live_module
from lenet_viz.figures.comparison import gradient_norm_figure, overlay_figure, summary_rows
from lenet_viz.figures.live import LiveRun, LiveView, PreparedFigure, array_of, typed_array
from lenet_viz.figures.live_curve import AUTO_SETTLED, LiveCurve
from lenet_viz.figures.smoothing import auto_smoothing, smooth
from lenet_viz.figures.style import RUN_COLORS
from lenet_viz.figures.training import iteration_figure
from lenet_viz.nets.config import ModelConfig
from lenet_viz.nets.model import LAYER_NAMES
from lenet_viz.training.config import TrainConfig
from lenet_viz.training.history import History
from lenet_viz.training.runner import Trainer
from lenet_viz.training.slots import RunSlots


def noisy(count: int, seed: int = 0) -> list[float]:
    rng = np.random.default_rng(seed)
    return (np.linspace(3, 0, count) + rng.standard_normal(count)).tolist()


def feed(curve: LiveCurve, xs, ys, seed: int = 0) -> None:
    """Add the points in chunks of random sizes, as polls do."""
    rng = np.random.default_rng(seed)
    start = 0
    while start < len(xs):
        step = int(rng.integers(1, 400))
        curve.extend(xs[start : start + step], ys[start : start + step])
        start += step


def bucket_ends(xs: np.ndarray) -> np.ndarray:
    return np.asarray(xs, dtype=int) - 1  # x = iteration, 1-based


# ------------------------------------------------------------------ LiveCurve


@pytest.mark.parametrize("count", [1, 7, 64, 65, 999, 1000, 1001, 5_000, 60_000])
def test_decimated_curve_keeps_first_last_min_and_max_and_stays_bounded(count):
    ys = noisy(count, seed=count)
    xs = list(range(1, count + 1))
    curve = LiveCurve(max_buckets=64)
    feed(curve, xs, ys)
    raw_x, raw_y = curve.raw()
    assert (raw_x[0], raw_y[0]) == (1, ys[0])
    assert (raw_x[-1], raw_y[-1]) == (count, ys[-1])
    assert raw_y.min() == min(ys) and raw_y.max() == max(ys)
    assert np.all(np.diff(raw_x) > 0)  # in x order, each point once
    assert all(ys[int(x) - 1] == y for x, y in zip(raw_x, raw_y, strict=True))  # real points
    assert len(raw_x) <= 2 * 64 + 2
    if count <= 64:
        assert raw_x.tolist() == xs  # short curves: every point
    else:
        assert 32 <= len(curve.smoothed()[0]) <= 64


def test_every_bucket_keeps_its_own_min_and_max():
    count, buckets = 10_000, 32
    ys = noisy(count)
    curve = LiveCurve(max_buckets=buckets)
    feed(curve, list(range(1, count + 1)), ys)
    size = curve.bucket_size
    assert size & (size - 1) == 0 and buckets // 2 <= math.ceil(count / size) <= buckets
    raw_x, raw_y = curve.raw()
    shown = dict(zip(raw_x.astype(int).tolist(), raw_y.tolist(), strict=True))
    for start in range(0, count, size):
        chunk = ys[start : start + size]
        assert min(chunk) in [shown.get(start + 1 + i) for i in range(len(chunk))]
        assert max(chunk) in [shown.get(start + 1 + i) for i in range(len(chunk))]


@pytest.mark.parametrize("count", [5, 400, AUTO_SETTLED - 1, AUTO_SETTLED, 3_000, 40_000])
def test_incremental_auto_smoothing_equals_batch_smoothing(count):
    ys = noisy(count, seed=1)
    curve = LiveCurve(max_buckets=128)
    feed(curve, list(range(1, count + 1)), ys, seed=2)
    expected = np.asarray(smooth(ys, auto_smoothing(count)))
    smooth_x, smooth_y = curve.smoothed()
    assert smooth_x[-1] == count  # the last point's value is drawn
    np.testing.assert_allclose(smooth_y, expected[bucket_ends(smooth_x)], rtol=1e-9)
    assert curve.last_smoothed == pytest.approx(expected[-1], rel=1e-9)


def test_incremental_smoothing_with_a_fixed_weight_skips_non_finite_values():
    ys = noisy(3_000, seed=3)
    for i in (0, 1, 500, 2_999):
        ys[i] = math.nan if i % 2 else math.inf
    curve = LiveCurve(smoothing=0.9, max_buckets=64)
    feed(curve, list(range(1, 3_001)), ys, seed=4)
    expected = np.asarray(smooth(ys, 0.9))
    smooth_x, smooth_y = curve.smoothed()
    np.testing.assert_allclose(smooth_y, expected[bucket_ends(smooth_x)], rtol=1e-9)
    raw_x, raw_y = curve.raw()
    assert np.all(np.isfinite(raw_y))  # the browser gets no NaN or infinity
    assert raw_y.max() == max(y for y in ys if math.isfinite(y))


def test_a_curve_refuses_bad_settings_and_mismatched_points():
    with pytest.raises(ValueError, match="even"):
        LiveCurve(max_buckets=3)
    with pytest.raises(ValueError, match="smoothing"):
        LiveCurve(smoothing=1.0)
    with pytest.raises(ValueError, match="length"):
        LiveCurve().extend([1, 2], [1.0])
    empty = LiveCurve()
    assert empty.raw()[0].size == 0 and empty.smoothed()[0].size == 0
    assert empty.last_smoothed is None


# ------------------------------------------------------------------ reading only new records


def made_up_trainer(runs: int = 2, configs: list[TrainConfig] | None = None) -> Trainer:
    activations = ("sigmoid", "relu", "tanh")[:runs]
    configs = configs or [TrainConfig(model=ModelConfig(activation=a)) for a in activations]
    return Trainer(configs, names=[f"run{i}" for i in range(len(configs))], slots=RunSlots(1))


def record(trainer: Trainer, count: int, seed: int = 0, epoch_every: int = 0) -> None:
    """Append `count` iterations to every run, as the training thread does (under the lock)."""
    rng = np.random.default_rng(seed)
    for run in trainer.runs:
        run.iterations_per_epoch = run.iterations_per_epoch or 100
        run.total_iterations = 10**6
        with run.lock:
            h = run.history
            for _ in range(count):
                run.iteration += 1
                h.iteration.append(run.iteration)
                h.epoch_float.append(run.iteration / 100)
                h.loss.append(2.0 * math.exp(-run.iteration / 300) + 0.1 * rng.random())
                h.accuracy.append(float(rng.random()))
                h.lr.append(0.01)
                for depth, name in enumerate(LAYER_NAMES):
                    trained = name not in ("S2", "S4")
                    h.grad_norm[name].append(trained * 10.0 ** (depth - 7) * (1 + rng.random()))
                if epoch_every and run.iteration % epoch_every == 0:
                    h.epochs.append(
                        dict(
                            epoch=run.iteration // epoch_every,
                            iteration=run.iteration,
                            train_loss=0.5,
                            train_acc=0.8,
                            test_loss=0.6,
                            test_acc=0.75,
                        )
                    )


def test_history_since_returns_only_the_new_records_and_every_epoch():
    trainer = made_up_trainer(1)
    record(trainer, 250, epoch_every=100)
    run = trainer.runs[0]
    tail = run.history_since(240)
    assert tail.iteration == list(range(241, 251))
    assert len(tail.loss) == len(tail.grad_norm["C1"]) == 10
    assert [e["epoch"] for e in tail.epochs] == [1, 2]
    assert run.history_since(250).iteration == []
    assert trainer.snapshot(histories=False).runs[0]["history"] is None


def test_a_poll_reads_only_the_records_added_since_the_last_one(monkeypatch):
    trainer = made_up_trainer(2)
    record(trainer, 1_000)
    view = LiveView(trainer)
    view.poll(trainer)
    assert view.records_read == 2_000
    starts = []
    for run in trainer.runs:
        original = run.history_since

        def spy(start, original=original):
            starts.append(start)
            return original(start)

        run.history_since = spy

    def no_whole_copy(self):
        raise AssertionError("a poll must not copy a whole history")

    monkeypatch.setattr(History, "copy", no_whole_copy)
    record(trainer, 30, seed=1)
    snapshot = view.poll(trainer)
    assert starts == [1_000, 1_000] and view.records_read == 60
    assert snapshot.iteration == 1_030 and all(run.count == 1_030 for run in view.runs)
    view.overlay_figure(), view.gradient_norm_figure(), view.small_multiples_figure()
    view.poll(trainer)  # nothing new
    assert starts[2:] == [1_030, 1_030] and view.records_read == 0


def test_a_figure_whose_data_did_not_change_is_left_alone():
    trainer = made_up_trainer(2)
    record(trainer, 50)
    view = LiveView(trainer)
    view.poll(trainer)
    overlay = view.overlay_figure()
    arrays = [trace["y"] for trace in overlay.traces]
    view.poll(trainer)  # a paused run: no new record
    assert view.overlay_figure() is overlay
    assert all(a is trace["y"] for a, trace in zip(arrays, overlay.traces, strict=True))
    streamlit_spec(overlay)  # what st.plotly_chart does with it (Plotly drops the uids)
    for poll in range(2):
        record(trainer, 5, seed=2 + poll)
        view.poll(trainer)
        assert view.overlay_figure() is overlay  # refreshed in place, not built again
        sent = streamlit_spec(overlay)
        assert [len(array_of(t["x"])) for t in sent["data"]] == [55 + 5 * poll] * 8


# ------------------------------------------------------------------ the same figures


def streamlit_spec(figure) -> dict:
    """The figure as `st.plotly_chart` serializes it."""
    as_dict = plotly.tools.return_figure_from_figure_or_data(figure, validate_figure=True)
    return json.loads(plotly.io.to_json(as_dict, validate=False))


def test_live_figures_match_the_figures_built_from_the_whole_history():
    trainer = made_up_trainer(2)
    record(trainer, 300, epoch_every=100)
    view = LiveView(trainer)
    view.poll(trainer)
    histories = [(run.name, run.history_snapshot()) for run in trainer.runs]
    pairs = [
        (view.iteration_figure(), iteration_figure(histories[0][1])),
        (view.overlay_figure(), overlay_figure(histories)),
        (view.gradient_norm_figure(), gradient_norm_figure(histories)),
    ]
    for live, whole in pairs:
        live_spec, whole_spec = streamlit_spec(live), streamlit_spec(whole)
        assert live_spec["layout"] == whole_spec["layout"]
        assert len(live_spec["data"]) == len(whole_spec["data"])
        for mine, theirs in zip(live_spec["data"], whole_spec["data"], strict=True):
            assert {k: v for k, v in mine.items() if k not in "xy"} == {
                k: v for k, v in theirs.items() if k not in "xy"
            }
            # 300 points, fewer than the buckets: every point, the same smoothing
            np.testing.assert_allclose(array_of(mine["x"]), array_of(theirs["x"]))
            np.testing.assert_allclose(array_of(mine["y"]), array_of(theirs["y"]), rtol=1e-9)
    overlay = view.overlay_figure()
    assert {t["line"]["color"] for t in overlay.traces} == set(RUN_COLORS[:2])


def test_live_figures_follow_a_long_run_with_bounded_points():
    trainer = made_up_trainer(1)
    view = LiveView(trainer, max_buckets=64)
    for poll in range(40):
        record(trainer, 250, seed=poll)
        view.poll(trainer)
        sent = streamlit_spec(view.iteration_figure())
    history = trainer.runs[0].history
    assert [t["name"] for t in sent["data"][:2]] == ["smoothed loss (each batch)", "smoothed loss"]
    raw_x, raw_y, smooth_x, smooth_y = (
        array_of(trace[axis]) for trace in sent["data"][:2] for axis in "xy"
    )
    assert len(raw_x) <= 130 and raw_x[-1] == 10_000
    assert max(raw_y) == max(history.loss) and min(raw_y) == min(history.loss)
    expected = np.asarray(smooth(history.loss, auto_smoothing(10_000)))
    np.testing.assert_allclose(smooth_y, expected[bucket_ends(smooth_x)])
    accuracy = array_of(sent["data"][2]["y"])
    assert max(accuracy) == pytest.approx(100 * max(history.accuracy))  # in percent


def test_runs_of_different_batch_sizes_are_drawn_against_the_epoch():
    trainer = made_up_trainer(configs=[TrainConfig(batch_size=32), TrainConfig(batch_size=64)])
    record(trainer, 200)
    view = LiveView(trainer, x="epoch")
    view.poll(trainer)
    overlay = view.overlay_figure()
    assert array_of(overlay.traces[0]["x"])[-1] == pytest.approx(2.0)  # epochs, not iterations
    gradients = view.gradient_norm_figure()
    assert array_of(gradients.traces[0]["x"])[-1] == 200  # gradient norms stay per iteration
    assert view.follows(trainer, "epoch") and not view.follows(trainer, "iteration")


def test_the_live_summary_matches_the_summary_from_the_whole_history():
    trainer = made_up_trainer(2)
    record(trainer, 1_500, epoch_every=500)
    view = LiveView(trainer)
    snapshot = view.poll(trainer)
    configs = [run.config.to_dict() for run in trainer.runs]
    live = view.summary_rows(snapshot, configs)
    whole = summary_rows(
        [
            {**entry, "history": run.history_snapshot(), "config": config}
            for entry, run, config in zip(snapshot.runs, trainer.runs, configs, strict=True)
        ]
    )
    for mine, theirs in zip(live, whole, strict=True):
        assert mine.keys() == theirs.keys()
        for key, value in theirs.items():
            if isinstance(value, float):
                # the whole-history summary smooths bucket means: close, not bit-equal
                assert mine[key] == pytest.approx(value, rel=0.02), key
            else:
                assert mine[key] == value, key


def sent_curves(figure) -> list[tuple[list, list]]:
    return [(list(array_of(t["x"])), list(array_of(t["y"]))) for t in figure.traces]


def test_views_of_runs_with_the_same_names_build_each_frame_once(monkeypatch):
    """A class starting the same experiment: the second view copies the first one's frames,
    shows its own data, and each view's later refreshes leave the other's figures alone."""
    live_module.forget_frames()
    builds = []
    for name in ("overlay_figure", "gradient_norm_figure", "small_multiples_figure"):
        build = getattr(live_module, name)
        monkeypatch.setattr(
            live_module, name, lambda runs, build=build, **kw: builds.append(1) or build(runs, **kw)
        )
    first, second = made_up_trainer(2), made_up_trainer(2)
    record(first, 40, seed=1)
    record(second, 40, seed=2)
    views = [LiveView(first), LiveView(second)]
    figures = []
    for view, trainer in zip(views, (first, second), strict=True):
        view.poll(trainer)
        figures.append(
            [view.overlay_figure(), view.gradient_norm_figure(), view.small_multiples_figure()]
        )
    assert len(builds) == 3  # the second view built none
    live_module.forget_frames()
    histories = [(run.name, run.history_snapshot()) for run in second.runs]
    fresh = [overlay_figure(histories), gradient_norm_figure(histories)]
    for mine, built in zip(figures[1][:2], fresh, strict=True):
        mine_spec, built_spec = streamlit_spec(mine), streamlit_spec(built)
        assert mine_spec["layout"] == built_spec["layout"]
        for ours, theirs in zip(mine_spec["data"], built_spec["data"], strict=True):
            np.testing.assert_allclose(array_of(ours["y"]), array_of(theirs["y"]), rtol=1e-9)
    assert sent_curves(figures[0][0]) != sent_curves(figures[1][0])  # each its own data
    kept = sent_curves(figures[1][0])
    record(first, 10, seed=3)
    views[0].poll(first)
    views[0].overlay_figure()
    assert sent_curves(figures[1][0]) == kept


def test_runs_with_other_names_get_a_frame_of_their_own():
    live_module.forget_frames()
    named = []
    for names in (["sigmoid", "relu"], ["tanh", "gelu"]):
        configs = [TrainConfig(model=ModelConfig(activation=a)) for a in names]
        trainer = Trainer(configs, names=names, slots=RunSlots(1))
        record(trainer, 5)
        view = LiveView(trainer)
        view.poll(trainer)
        named.append({t["name"] for t in view.overlay_figure().traces if t["showlegend"]})
    assert named == [{"sigmoid", "relu"}, {"tanh", "gelu"}]


def test_a_run_with_no_record_yet_draws_empty_figures_that_say_so():
    trainer = made_up_trainer(2)
    view = LiveView(trainer)
    view.poll(trainer)
    text = json.dumps(streamlit_spec(view.overlay_figure())["layout"].get("annotations", []))
    assert "first batch" in text
    assert view.gradient_norm_figure().traces == []
    record(trainer, 3)
    view.poll(trainer)
    assert "first batch" not in json.dumps(streamlit_spec(view.overlay_figure())["layout"])
    assert len(view.gradient_norm_figure().traces) == 10  # 5 trained layers x 2 runs
    assert LiveRun("x").layers() == []


def test_a_prepared_figure_is_sent_as_its_dict():
    trainer = made_up_trainer(1)
    record(trainer, 20)
    for history in (History(grad_norm={}), trainer.runs[0].history):
        figure = iteration_figure(history)
        assert streamlit_spec(PreparedFigure(figure)) == streamlit_spec(figure)


def test_typed_arrays_round_trip():
    for values in (np.arange(5), np.array([0.5, -1e-9, 3e7]), np.array([2**40])):
        spec = typed_array(values)
        assert set(spec) == {"dtype", "bdata"}
        np.testing.assert_array_equal(array_of(spec), values)
