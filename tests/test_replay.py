"""Weight snapshots during training and the replay: schedule, recorder, what a snapshot shows,
checkpoints that carry snapshots, the pictures, `lenet-viz replay`, and sigmoid against ReLU."""

import io
import json
import threading

import numpy as np
import pytest
import torch
from PIL import Image

from lenet_viz.checkpoints.store import (
    checkpoint_metadata,
    load_checkpoint,
    load_checkpoint_bytes,
    save_checkpoint,
)
from lenet_viz.cli import main
from lenet_viz.data.datasets import data_available, load_split, sample_digits
from lenet_viz.explain import inside
from lenet_viz.figures.replay import (
    colorize,
    frame,
    kernels_image,
    loss_marker_figure,
    tile,
    view_images,
)
from lenet_viz.nets.build import build_model
from lenet_viz.nets.config import ModelConfig
from lenet_viz.training.config import MAX_EPOCHS, TrainConfig, preset_config
from lenet_viz.training.replay import (
    LOG_SNAPSHOTS,
    ReplayError,
    SnapshotRecorder,
    WeightSnapshot,
    aligned_stops,
    capture,
    digit_input,
    inside_at,
    kernel_change,
    kernel_smoothness,
    kernels_at,
    live_snapshot,
    load_snapshot,
    max_snapshots,
    replay_payload,
    scratch_model,
    snapshot_bytes,
    snapshot_schedule,
    snapshots_from_payload,
)
from lenet_viz.training.runner import Trainer
from lenet_viz.training.slots import RunSlots

needs_mnist = pytest.mark.skipif(
    not data_available("mnist"), reason="MNIST is not fetched (run `make data`)"
)


@pytest.fixture(scope="module")
def digits():
    """Real digits without MNIST: the 200 shipped samples (train on 160, test on 40)."""
    samples = sample_digits()
    return samples.subset(160), samples.select(list(range(160, 200)))


def trained(digits, **changes) -> Trainer:
    train, test = digits
    config = TrainConfig.from_dict({"batch_size": 16, "lr": 0.05, "epochs": 2, **changes})
    return Trainer(config, train=train, test=test, slots=RunSlots(4)).run_here()


def params_of(model) -> dict[str, torch.Tensor]:
    return {n: p.detach().clone() for n, p in model.named_parameters()}


# ------------------------------------------------------------------ the schedule


def test_schedule_keeps_the_start_about_30_log_spaced_iterations_and_every_epoch_end():
    schedule = snapshot_schedule(total_iterations=1875 * 3, iterations_per_epoch=1875)
    assert schedule[0] == 0 and schedule[-1] == 1875 * 3
    assert {1875, 3750, 5625} <= set(schedule)
    assert list(schedule) == sorted(set(schedule))
    assert LOG_SNAPSHOTS <= len(schedule) <= max_snapshots(3)
    gaps = np.diff(schedule[1:])
    assert gaps[0] <= 2 and gaps[-1] > 500  # dense at the start, sparse at the end
    assert schedule[:4] == (0, 1, 2, 3)


def test_a_short_run_keeps_every_iteration_and_memory_stays_bounded():
    assert snapshot_schedule(10, 5) == tuple(range(11))
    assert snapshot_schedule(0, 0) == (0,)
    for epochs in (1, 7, MAX_EPOCHS):
        for per_epoch in (1, 3, 157, 60_000):
            total = epochs * per_epoch
            assert len(snapshot_schedule(total, per_epoch)) <= max_snapshots(epochs) - 1
    # the stated memory: 2 bytes per parameter
    assert snapshot_bytes(build_model(ModelConfig())) == 2 * 61_706
    assert snapshot_bytes(build_model(ModelConfig(arch="faithful"))) == 2 * 60_900


# ------------------------------------------------------------------ the recorder in a run


def test_a_run_keeps_its_weights_at_the_scheduled_iterations(digits):
    train, test = digits
    config = TrainConfig(batch_size=16, lr=0.05, epochs=2)
    trainer = Trainer(config, train=train, test=test, slots=RunSlots(4))
    initial = params_of(trainer.runs[0].model)
    trainer.run_here()
    run = trainer.runs[0]
    snapshots = run.replay.snapshots()
    assert [s.iteration for s in snapshots] == list(snapshot_schedule(20, 10))
    assert [s.epoch for s in snapshots][-1] == 2.0
    assert snapshots[0].loss is None and snapshots[-1].loss == run.history.loss[-1]
    for name, value in snapshots[0].parameters.items():
        assert value.dtype == torch.float16
        torch.testing.assert_close(value.float(), initial[name], atol=1e-3, rtol=1e-3)
    final = params_of(run.model)
    for name, value in snapshots[-1].parameters.items():
        torch.testing.assert_close(value.float(), final[name], atol=1e-3, rtol=1e-3)
    assert run.replay.nbytes == len(snapshots) * snapshot_bytes(run.model)


def test_the_snapshot_of_iteration_k_holds_the_weights_after_exactly_k_steps(digits, wait_until):
    """Taken between two steps (run.py, after a batch is recorded): a run stepped 3 batches
    and paused holds the weights its twin's snapshot of iteration 3 kept."""
    train, test = digits
    config = TrainConfig(batch_size=16, lr=0.05, epochs=2)
    whole = Trainer(config, train=train, test=test, slots=RunSlots(4)).run_here()
    third = next(s for s in whole.runs[0].replay.snapshots() if s.iteration == 3)
    stepped = Trainer(config, train=train, test=test, slots=RunSlots(4))
    stepped.step(3)
    assert wait_until(lambda: stepped.status == "paused" and stepped.runs[0].iteration >= 3, 60)
    after_three = params_of(stepped.runs[0].model)
    stepped.stop()
    assert stepped.wait(60)
    for name, value in third.parameters.items():
        torch.testing.assert_close(value.float(), after_three[name], atol=1e-3, rtol=1e-3)


def test_a_stopped_run_keeps_the_weights_it_stopped_with(digits, wait_until):
    train, test = digits
    trainer = Trainer(
        TrainConfig(batch_size=8, epochs=3), train=train, test=test, slots=RunSlots(4)
    )
    trainer.step(5)  # five batches, then paused
    assert wait_until(lambda: trainer.status == "paused" and trainer.runs[0].iteration >= 5, 60)
    trainer.stop()
    assert trainer.wait(60)
    run = trainer.runs[0]
    last = run.replay.snapshots()[-1]
    assert last.iteration == run.iteration == 5
    final = params_of(run.model)
    for name, value in last.parameters.items():
        torch.testing.assert_close(value.float(), final[name], atol=1e-3, rtol=1e-3)


class LockThatTellsWhoWaits:
    """A run's lock that sets an event when a thread asks for it."""

    def __init__(self):
        self.lock = threading.Lock()
        self.someone_waits = threading.Event()

    def __enter__(self):
        self.someone_waits.set()
        self.lock.acquire()

    def __exit__(self, *exc):
        self.lock.release()


def test_live_snapshot_copies_the_weights_under_the_runs_lock(digits):
    """Holding the run's lock stands for a step in progress: the copy waits for its end."""
    train, test = digits
    trainer = Trainer(TrainConfig(batch_size=16), train=train, test=test, slots=RunSlots(4))
    run = trainer.runs[0]
    result = {}
    run.lock = lock = LockThatTellsWhoWaits()
    with lock.lock:
        reader = threading.Thread(target=lambda: result.setdefault("s", live_snapshot(run)))
        reader.start()
        assert lock.someone_waits.wait(10)  # the reader reached the lock...
        assert "s" not in result  # ...and waits there for the end of the "step"
        with torch.no_grad():
            for parameter in run.model.parameters():
                parameter.add_(1.0)
    reader.join(10)
    snapshot = result["s"]
    after = params_of(run.model)
    for name, value in snapshot.parameters.items():
        torch.testing.assert_close(value.float(), after[name], atol=1e-2, rtol=1e-3)
    assert snapshot.iteration == 0


def test_recorder_alone_follows_any_object_with_a_runs_attributes():
    model = build_model(ModelConfig(), seed=0)

    class FakeRun:
        lock = threading.Lock()
        iteration, iterations_per_epoch, total_iterations = 0, 4, 8

        def __init__(self):
            self.model = model
            self.history = type("H", (), {"loss": []})()

    run, recorder = FakeRun(), SnapshotRecorder(count=3)
    recorder.after_step(run)  # before the first step: the initial weights
    for step in range(8):
        run.iteration = step + 1  # a step has been taken and recorded
        run.history.loss.append(float(step))
        recorder.after_step(run)
    with torch.no_grad():  # a diverged run's guard puts the last finite weights back
        model.layers.C1[0].weight.fill_(0.5)
    recorder.at_end(run)
    recorder.at_end(run)  # twice: still one snapshot of the end
    assert [s.iteration for s in recorder.snapshots()] == [0, 1, 3, 4, 8]
    assert recorder.schedule() == (0, 1, 3, 4, 8)
    assert recorder.snapshots()[-1].loss == 7.0
    # the end's weights replace the snapshot taken after that iteration's step
    assert np.all(kernels_at(recorder.snapshots()[-1]) == 0.5)
    assert not np.all(kernels_at(recorder.snapshots()[0]) == 0.5)


# ------------------------------------------------------------------ what a snapshot shows


def test_inside_at_the_last_snapshot_is_what_the_trained_net_sees(digits):
    trainer = trained(digits, activation="tanh")
    run = trainer.runs[0]
    config = run.model.config
    image = digits[1].images[3]
    x = digit_input(image, config)
    view = inside_at(run.replay.snapshots()[-1], scratch_model(config), x)
    model = run.model_snapshot()
    expected = inside.inspect_digit(model, inside.network_input(image, config))
    assert view.kernels.shape == (6, 5, 5) and view.c1.shape == (6, 28, 28)
    assert view.c3.shape == (16, 10, 10) and view.probabilities.shape == (10,)
    np.testing.assert_allclose(view.kernels, inside.c1_kernels(model), atol=2e-3)
    np.testing.assert_allclose(view.c1, expected.layers["C1"], atol=2e-2)
    np.testing.assert_allclose(view.probabilities, expected.probabilities, atol=2e-2)
    assert view.prediction == expected.prediction
    assert view.probabilities.sum() == pytest.approx(1.0, abs=1e-4)
    np.testing.assert_allclose(kernels_at(run.replay.snapshots()[-1]), view.kernels, atol=1e-6)


def test_the_first_snapshot_shows_the_initial_weights(digits):
    trainer = trained(digits)
    snapshots = trainer.runs[0].replay.snapshots()
    initial = build_model(ModelConfig(), seed=0)  # the run's seed
    np.testing.assert_allclose(kernels_at(snapshots[0]), inside.c1_kernels(initial), atol=1e-3)
    assert kernel_change(kernels_at(snapshots[-1]), kernels_at(snapshots[0])) > 0.01


def test_a_snapshot_refuses_a_net_it_does_not_fit():
    snapshot = capture(build_model(ModelConfig(arch="faithful")), 0)
    with pytest.raises(ReplayError, match="does not fit this net"):
        load_snapshot(scratch_model(ModelConfig()), snapshot)
    narrow = capture(build_model(ModelConfig(c3="paper")), 0)
    model = scratch_model(ModelConfig())
    narrow.parameters["layers.C1.0.weight"] = torch.zeros(3, 1, 5, 5)
    with pytest.raises(ReplayError, match="has shape"):
        load_snapshot(model, narrow)


def test_faithful_snapshots_keep_the_papers_c3_table_and_rbf_output():
    model = build_model(ModelConfig(arch="faithful"), seed=1)
    snapshot = capture(model, 0)
    scratch = scratch_model(model.config)
    view = inside_at(snapshot, scratch, digit_input(sample_digits().images[0], model.config))
    assert view.output_is_penalty
    assert scratch.connection_table() == model.connection_table()
    assert "layers.C3.0.mask" not in snapshot.parameters  # buffers come from the config


def test_a_huge_weight_is_kept_in_float32_not_turned_into_infinity():
    model = build_model(ModelConfig())
    with torch.no_grad():
        model.layers["F6"][0].weight[0, 0] = 1e6
    snapshot = capture(model, 3)
    assert snapshot.parameters["layers.F6.0.weight"].dtype == torch.float32
    assert snapshot.parameters["layers.C1.0.weight"].dtype == torch.float16
    assert torch.isfinite(snapshot.parameters["layers.F6.0.weight"]).all()


# ------------------------------------------------------------------ noise or structure


def test_smoothness_tells_noise_from_strokes():
    rng = np.random.default_rng(0)
    noise = rng.normal(size=(6, 5, 5))
    assert abs(kernel_smoothness(noise)) < 0.2
    ramp = np.tile(np.linspace(-1, 1, 5), (5, 1))  # an edge detector
    blob = np.exp(-((np.arange(5) - 2.0) ** 2))[:, None] * np.exp(-((np.arange(5) - 2.0) ** 2))
    strokes = np.stack([ramp, ramp.T, blob, -ramp, -ramp.T, -blob])
    assert kernel_smoothness(strokes) > 0.5
    assert kernel_change(strokes, strokes) == 0.0
    assert kernel_change(2 * strokes, strokes) == pytest.approx(1.0)


def snapshots_at(epochs: list[float], per_epoch: int) -> list[WeightSnapshot]:
    return [WeightSnapshot(round(e * per_epoch), e, None, {}) for e in epochs]


def test_one_slider_moves_runs_of_different_lengths_together():
    same = snapshots_at([0, 0.5, 1.0], 10)
    assert aligned_stops([same, same]) == [(0, 0), (1, 1), (2, 2)]
    long = snapshots_at([0, 0.1, 0.25, 0.5, 0.75, 1.0], 40)  # smaller batches, more stops
    short = snapshots_at([0, 0.3, 1.0], 10)
    stops = aligned_stops([short, long])
    assert len(stops) == len(long)  # the run with the most snapshots sets the stops
    assert [s[1] for s in stops] == list(range(6))
    assert [s[0] for s in stops] == [0, 0, 0, 1, 1, 2]  # never a snapshot from the future
    assert aligned_stops([]) == [] and aligned_stops([[], []]) == []


# ------------------------------------------------------------------ in a checkpoint


def test_a_checkpoint_carries_its_snapshots_and_stays_weights_only(digits, tmp_path):
    trainer = trained(digits)
    run = trainer.runs[0]
    snapshots = run.replay.snapshots()
    payload = replay_payload(snapshots, run.history.iteration, run.history.loss)
    metadata = checkpoint_metadata(run.model, dataset="mnist", train_config=None, test_acc=None)
    path = save_checkpoint(run.model, tmp_path / "run.pt", metadata, replay=payload)
    raw = torch.load(path, weights_only=True)  # plain tensors and numbers only
    assert raw["replay"]["iterations"] == [s.iteration for s in snapshots]
    loaded = load_checkpoint(path)
    replay = snapshots_from_payload(loaded.replay)
    assert [s.iteration for s in replay.snapshots] == [s.iteration for s in snapshots]
    assert [s.loss for s in replay.snapshots] == [s.loss for s in snapshots]
    for before, after in zip(snapshots, replay.snapshots, strict=True):
        for name, value in before.parameters.items():
            assert torch.equal(value, after.parameters[name])
    assert replay.curve_losses.tolist() == pytest.approx(run.history.loss)
    plain = save_checkpoint(run.model, tmp_path / "plain.pt", metadata)
    assert load_checkpoint(plain).replay is None
    with pytest.raises(ReplayError, match="no training snapshots"):
        snapshots_from_payload(load_checkpoint(plain).replay, "plain.pt")


def test_a_long_curve_is_decimated_and_damaged_snapshots_are_refused():
    model = build_model(ModelConfig())
    snapshots = [capture(model, 0), capture(model, 5, 1.0, 0.5)]
    payload = replay_payload(snapshots, list(range(1, 10_001)), [1.0] * 10_000)
    assert len(payload["curve"]["loss"]) == 1500
    assert payload["curve"]["iteration"][-1] == 10_000
    for damage in (
        lambda p: p.pop("parameters"),
        lambda p: p["iterations"].append(7),
        lambda p: p.update(parameters=[{"w": "not a tensor"}, {}]),
        lambda p: p.update(iterations=[5, 0]),
    ):
        broken = {**payload, "iterations": list(payload["iterations"])}
        damage(broken)
        with pytest.raises(ReplayError):
            snapshots_from_payload(broken)
    with pytest.raises(ReplayError, match="format"):
        snapshots_from_payload({**payload, "format": "lenet_viz-replay/99"})


def test_a_checkpoint_with_snapshots_loads_from_bytes_too(tmp_path):
    from lenet_viz.checkpoints.store import checkpoint_bytes

    model = build_model(ModelConfig())
    data = checkpoint_bytes(model, None, replay_payload([capture(model, 0)]))
    assert len(snapshots_from_payload(load_checkpoint_bytes(data, "x.pt").replay).snapshots) == 1


# ------------------------------------------------------------------ pictures


def test_colours_follow_the_inside_page_blue_white_red_and_black_to_white():
    signed = colorize(np.array([[[-1.0, 0.0, 1.0]]]))
    assert tuple(signed[0, 0, 0]) == (5, 48, 97)  # most negative: dark blue
    assert tuple(signed[0, 0, 1]) == (247, 247, 247)  # zero: white
    assert tuple(signed[0, 0, 2]) == (103, 0, 31)  # most positive: dark red
    grey = colorize(np.array([[[0.0, 0.5, 1.0]]]))
    assert [int(v) for v in grey[0, 0, :, 0]] == [0, 128, 255]
    assert colorize(np.zeros((1, 2, 2))).max() == 0  # all zero: black, no division by 0
    grid = tile(colorize(np.ones((6, 5, 5))), columns=3, pixels=4, gap=2)
    assert grid.shape == (2 * 20 + 2, 3 * 20 + 2 * 2, 3)
    assert kernels_image(np.ones((6, 5, 5))).dtype == np.uint8


def test_a_frame_shows_kernels_maps_prediction_and_the_loss_marker():
    model = build_model(ModelConfig(), seed=0)
    view = inside_at(
        capture(model, 3, 0.5, 2.0),
        scratch_model(model.config),
        digit_input(sample_digits().images[0], model.config),
    )
    images = view_images(view)
    assert set(images) == {"kernels", "C1", "C3", "prediction"}
    assert images["C1"].shape == (2 * 56 + 2, 3 * 56 + 2 * 2, 3)  # 3x2 maps of 28x28, x2
    bars = images["prediction"]
    orange = (bars == np.array([255, 127, 14], dtype=np.uint8)).all(axis=-1)
    assert orange.any()  # the predicted digit's bar
    with_curve = frame(view, "title", (np.arange(1, 50), np.linspace(2.3, 0.5, 49)))
    without = frame(view, "title")
    assert with_curve.shape[0] == without.shape[0] and with_curve.shape[1] > without.shape[1]
    figure = loss_marker_figure([("a", [1, 2, 3], [3.0, 2.0, 1.0])], [2])
    assert figure.layout.shapes[0].x0 == 2  # the vertical marker
    assert list(figure.data[1].x) == [2]  # and a dot on the curve


# ------------------------------------------------------------------ the CLI


def test_cli_replay_writes_a_gif_and_a_grid(digits, tmp_path, capsys):
    trainer = trained(digits)
    run = trainer.runs[0]
    payload = replay_payload(run.replay.snapshots(), run.history.iteration, run.history.loss)
    metadata = checkpoint_metadata(run.model, dataset="mnist", train_config=None, test_acc=None)
    checkpoint = save_checkpoint(run.model, tmp_path / "run.pt", metadata, replay=payload)
    count = len(run.replay.snapshots())

    assert main(["replay", str(checkpoint), "--out", str(tmp_path / "r.gif"), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["snapshots"] == count and result["iterations"][0] == 0
    gif = Image.open(tmp_path / "r.gif")
    assert gif.format == "GIF" and gif.n_frames == count

    assert main(["replay", str(checkpoint), "--out", str(tmp_path / "r.png"), "--digit", "3"]) == 0
    assert "snapshots" in capsys.readouterr().out
    grid = Image.open(tmp_path / "r.png")
    assert grid.format == "PNG" and grid.height > count * 100

    assert main(["replay", str(checkpoint), "--out", str(tmp_path / "r.jpg")]) == 2
    assert "must end in .gif" in capsys.readouterr().err
    plain = save_checkpoint(run.model, tmp_path / "plain.pt", metadata)
    assert main(["replay", str(plain), "--out", str(tmp_path / "p.gif")]) == 2
    error = capsys.readouterr().err
    assert error.startswith("error:") and "no training snapshots" in error
    assert main(["replay", str(checkpoint), "--out", str(tmp_path / "x.gif"), "--digit", "-1"]) == 2


@needs_mnist
def test_cli_train_save_keeps_the_snapshots_unless_told_not_to(tmp_path, capsys):
    common = ["train", "--train-limit", "256", "--test-limit", "64", "--batch-size", "64"]
    assert main([*common, "--save", str(tmp_path / "a.pt"), "--json"]) == 0
    with_replay = load_checkpoint(tmp_path / "a.pt")
    assert [s.iteration for s in snapshots_from_payload(with_replay.replay).snapshots] == [
        0,
        1,
        2,
        3,
        4,
    ]
    assert main([*common, "--save", str(tmp_path / "b.pt"), "--no-replay", "--json"]) == 0
    assert load_checkpoint(tmp_path / "b.pt").replay is None
    capsys.readouterr()
    assert main(["replay", str(tmp_path / "a.pt"), "--out", str(tmp_path / "a.gif")]) == 0


# ------------------------------------------------------------------ the notebook's lesson


@needs_mnist
def test_after_the_notebooks_experiment_relu_kernels_are_structured_sigmoids_noise():
    """The `seed` preset (SGD lr 0.01, momentum 0.5, batch 32), sigmoid against ReLU, on the
    first 10,000 training digits (313 batches; the difference is already plain): ReLU's C1
    kernels move far from their random start and become smooth; sigmoid's stay the noise
    they started as (its C1 gradients are hundreds of times smaller)."""
    train = load_split("mnist", train=True).subset(10_000)
    test = load_split("mnist", train=False).subset(500)
    configs = [preset_config("seed", activation=a) for a in ("sigmoid", "relu")]
    trainer = Trainer(configs, train=train, test=test, slots=RunSlots(4)).run_here()
    measured = {}
    for run in trainer.runs:
        snapshots = run.replay.snapshots()
        first, last = kernels_at(snapshots[0]), kernels_at(snapshots[-1])
        measured[run.model.config.activation] = (
            kernel_change(last, first),
            kernel_smoothness(last) - kernel_smoothness(first),
        )
    (sigmoid_change, sigmoid_smoother), (relu_change, relu_smoother) = (
        measured["sigmoid"],
        measured["relu"],
    )
    assert relu_change > 0.3 and sigmoid_change < 0.01, measured
    assert relu_change > 50 * sigmoid_change, measured
    assert relu_smoother > 0.05 and abs(sigmoid_smoother) < 0.01, measured


def test_figures_render_the_png_the_page_sends():
    from lenet_viz.figures.replay import png_bytes

    data = png_bytes(kernels_image(np.random.default_rng(1).normal(size=(6, 5, 5))))
    assert Image.open(io.BytesIO(data)).size == (3 * 40 + 2 * 2, 2 * 40 + 2)


def test_the_benchmark_measures_a_live_poll_early_and_late_in_a_run():
    from benchmarks.replay import measure_live_poll

    measured = measure_live_poll(polls=1, iterations=(10, 1_000), runs=(1, 2))
    cases = measured["by_case"].values()
    assert sorted((c["runs"], c["iteration"]) for c in cases) == [
        (1, 10),
        (1, 1_000),
        (2, 10),
        (2, 1_000),
    ]
    assert all(0 < c["median_ms"] <= c["p95_ms"] for c in cases)
    assert measured["capture_ms"] > 0
