"""The Trainer: determinism, controls, divergence, snapshots, lockstep runs and the run queue."""

import dataclasses
import math
import threading

import pytest
import torch

from lenet_viz.data.datasets import to_network_input
from lenet_viz.nets.config import ConfigError, ModelConfig
from lenet_viz.nets.model import LAYER_NAMES
from lenet_viz.training.config import TrainConfig, preset_config
from lenet_viz.training.loop import learning_rate
from lenet_viz.training.runner import Trainer
from lenet_viz.training.slots import RunSlots


def make_trainer(small, slots=None, **changes):
    train, test = small
    config = TrainConfig.from_dict({"batch_size": 64, "lr": 0.05, **changes})
    return Trainer(config, train=train, test=test, slots=slots or RunSlots(4))


def test_a_run_records_every_iteration_and_epoch(small):
    trainer = make_trainer(small, epochs=2).run_here()
    run = trainer.runs[0]
    h = run.history
    assert trainer.status == run.status == "completed"
    assert run.iteration == len(h.loss) == len(h.accuracy) == len(h.lr) == 2 * 16
    assert h.iteration == list(range(1, 33))
    assert set(h.grad_norm) == set(LAYER_NAMES)
    assert h.grad_norm["S2"] == [0.0] * 32  # max pooling has no parameters
    assert all(v > 0 for v in h.grad_norm["C1"])
    assert [e["epoch"] for e in h.epochs] == [1, 2]
    assert all(0 <= e["test_acc"] <= 1 and e["iteration"] in (16, 32) for e in h.epochs)
    assert run.final["test_acc"] == h.epochs[-1]["test_acc"]
    rows = h.to_csv_rows()
    assert rows[0][:3] == ["iteration", "epoch", "loss"] and len(rows) == 33


def test_one_seed_gives_the_same_weights_batches_and_history(small):
    a = make_trainer(small, seed=3).run_here().runs[0]
    b = make_trainer(small, seed=3).run_here().runs[0]
    c = make_trainer(small, seed=4).run_here().runs[0]
    assert a.history.loss == b.history.loss
    assert a.history.loss != c.history.loss
    sa, sb = a.model.state_dict(), b.model.state_dict()
    assert all(torch.equal(sa[k], sb[k]) for k in sa)


def test_pause_step_resume(small, wait_until):
    trainer = make_trainer(small, epochs=1)
    trainer.step()  # starts paused and trains exactly one batch
    assert wait_until(lambda: trainer.runs[0].iteration == 1 and trainer.status == "paused")
    trainer.step(2)  # a paused run that went on by itself would pass 3 and not be paused there
    assert wait_until(lambda: trainer.runs[0].iteration == 3 and trainer.status == "paused")
    trainer.resume()
    assert trainer.wait(timeout=30)
    assert trainer.status == "completed"
    assert trainer.runs[0].iteration == 16


def test_stop_is_honoured_within_a_batch_and_leaves_a_usable_model(small, tmp_path, wait_until):
    from lenet_viz.checkpoints.store import load_checkpoint, save_checkpoint

    trainer = make_trainer(small, epochs=50, batch_size=8)
    trainer.start()
    assert wait_until(lambda: trainer.runs[0].iteration >= 5)
    trainer.stop()
    assert trainer.wait(timeout=10)
    run = trainer.runs[0]
    assert trainer.status == run.status == "stopped"
    assert run.message.startswith("stopped at iteration")
    assert run.iteration < 50 * 128
    assert run.final["test_acc"] is not None
    assert all(torch.isfinite(p).all() for p in run.model.parameters())
    path = save_checkpoint(run.model, tmp_path / "stopped.pt")
    restored = load_checkpoint(path).model
    x = run.test_inputs[:4]
    assert torch.allclose(restored(x), run.model_snapshot()(x))
    # ... and training it further picks up from those weights.
    more = Trainer(
        dataclasses.replace(run.config, epochs=1),
        train=small[0],
        test=small[1],
        models=[restored],
    ).run_here()
    assert more.status == "completed"


def test_a_diverging_run_stops_itself_and_keeps_finite_weights(small):
    trainer = make_trainer(small, lr=1e6, momentum=0.9, epochs=3).run_here()
    run = trainer.runs[0]
    assert trainer.status == run.status == "diverged"
    assert "diverged at iteration" in run.message
    assert run.iteration < 48
    assert len(run.history.loss) == run.iteration
    assert all(math.isfinite(v) for v in run.history.loss)
    assert all(torch.isfinite(p).all() for p in run.model.parameters())


def test_a_loss_that_blows_up_while_still_finite_is_a_divergence(small):
    # ReLU at SGD lr 10: the loss jumps to ~1e5 within a few batches, then the dead net sits
    # at chance with a finite loss; without this check the run would "complete" at 10%.
    trainer = make_trainer(small, activation="relu", lr=10, momentum=0.0, epochs=1).run_here()
    run = trainer.runs[0]
    assert trainer.status == run.status == "diverged"
    assert "diverged at iteration" in run.message and "times its first value" in run.message
    assert run.iteration < 16  # stopped within the first epoch
    assert all(math.isfinite(v) for v in run.history.loss)
    assert all(torch.isfinite(p).all() for p in run.model.parameters())


def test_early_spikes_of_a_healthy_run_are_not_a_divergence(small):
    trainer = make_trainer(small, optimizer="adam", lr=0.1, epochs=1).run_here()
    assert trainer.status == "completed"
    assert max(trainer.runs[0].history.loss) > 10 * trainer.runs[0].history.loss[0]


def test_a_snapshot_says_when_a_run_is_testing_at_the_end_of_an_epoch(small, monkeypatch):
    import lenet_viz.training.run as run_module

    trainer = make_trainer(small, epochs=2)
    seen_while_testing = []
    real_evaluate = run_module.evaluate

    def observed_evaluate(*args, **kwargs):
        seen_while_testing.append(trainer.runs[0].testing)
        return real_evaluate(*args, **kwargs)

    monkeypatch.setattr(run_module, "evaluate", observed_evaluate)
    trainer.run_here()
    assert seen_while_testing == [True, True]  # one end-of-epoch test per epoch
    assert trainer.snapshot().testing is False


def test_snapshots_are_safe_while_the_run_goes_on(small):
    trainer = make_trainer(small, epochs=3, batch_size=16)
    trainer.start()
    seen = []
    while not trainer.done:
        snapshot = trainer.snapshot()
        history = snapshot.runs[0]["history"]
        assert len(history.loss) == len(history.accuracy) == len(history.grad_norm["C1"])
        model = trainer.runs[0].model_snapshot()
        assert not model.training
        seen.append(snapshot.iteration)
    trainer.wait()
    assert seen == sorted(seen)
    assert trainer.snapshot().images_per_second > 0


def test_runs_in_lockstep_share_initial_weights_and_batch_order(small):
    train, test = small
    configs = [
        TrainConfig(model=ModelConfig(activation="sigmoid"), batch_size=64, seed=5),
        TrainConfig(model=ModelConfig(activation="relu"), batch_size=64, seed=5),
    ]
    trainer = Trainer(configs, train=train, test=test, slots=RunSlots(1))
    a, b = trainer.runs
    sa, sb = a.model.state_dict(), b.model.state_dict()
    assert all(torch.equal(sa[k], sb[k]) for k in sa)
    progress = []
    trainer.on_event = lambda run, event: progress.append((a.iteration, b.iteration))
    trainer.run_here()
    assert all(abs(i - j) <= 1 for i, j in progress)  # the curves grow together
    assert a.iteration == b.iteration == 16
    assert a.history.loss != b.history.loss


def test_the_queue_bounds_concurrent_runs(small, wait_until):
    slots = RunSlots(1)
    first = make_trainer(small, slots=slots, epochs=50, batch_size=8)
    second = make_trainer(small, slots=slots, epochs=1)
    first.start()
    assert wait_until(lambda: first.status == "running")
    second.start()
    assert wait_until(lambda: second.snapshot().queue_position == 1)
    assert second.status == "queued" and second.runs[0].iteration == 0
    assert slots.counts() == (1, 1)
    first.stop()
    assert second.wait(timeout=30) and second.status == "completed"
    third = make_trainer(small, slots=slots, epochs=50)
    blocker = make_trainer(small, slots=slots, epochs=50, batch_size=8).start()
    assert wait_until(lambda: blocker.status == "running")
    third.start()
    assert wait_until(lambda: third.snapshot().queue_position == 1)
    third.stop()  # stopping a queued run works
    assert third.wait(timeout=5) and third.status == "stopped"
    blocker.stop()
    blocker.wait()
    assert slots.counts() == (0, 0)


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"lr": 0}, "learning rate"),
        ({"lr": -0.1}, "learning rate"),
        ({"lr": float("nan")}, "learning rate"),
        ({"lr": float("inf")}, "learning rate"),
        ({"batch_size": 0}, "batch size"),
        ({"epochs": 0}, "epochs"),
        ({"epochs": 1000}, "epochs"),
        ({"momentum": 1.5}, "momentum"),
        ({"optimizer": "rmsprop"}, "optimizer"),
        ({"activation": "nope"}, "activation"),
        ({"dataset": "cifar"}, "dataset"),
    ],
)
def test_bad_settings_are_refused_with_a_message(changes, message):
    with pytest.raises(ConfigError, match=message):
        TrainConfig.from_dict(changes).validate()
    if "activation" not in changes:  # a model setting is refused as its ModelConfig is made
        with pytest.raises(ConfigError, match=message):
            Trainer(TrainConfig.from_dict(changes))


def test_presets_and_schedules():
    seed = preset_config("seed", activation="sigmoid")
    assert (seed.batch_size, seed.lr, seed.momentum, seed.epochs, seed.model.resize) == (
        32,
        0.01,
        0.5,
        1,
        "scale",
    )
    assert seed.model.activation == "sigmoid" and seed.optimizer == "sgd"
    with pytest.raises(ConfigError, match="unknown preset"):
        preset_config("nope")
    onecycle = TrainConfig(lr=0.1, epochs=2, schedule="onecycle")
    rates = [learning_rate(onecycle, i, 100) for i in range(200)]
    assert rates[0] == pytest.approx(0.1 / 25)
    assert max(rates) == pytest.approx(0.1, rel=1e-3)
    assert rates[-1] < 0.001
    assert learning_rate(TrainConfig(lr=0.3), 123, 10) == 0.3


def test_a_thread_never_blocks_the_caller(small):
    trainer = make_trainer(small, epochs=50, batch_size=8)
    started = threading.Event()
    trainer.on_event = lambda run, event: started.set()
    trainer.start()
    assert started.wait(10)
    assert trainer.status in ("running", "queued")
    trainer.stop()
    assert trainer.wait(10)


# ------------------------------------------------------------------ the plain loop, start_run


def test_the_plain_loop_reads_top_to_bottom_and_learns(small):
    """train.py's functions without the runner, as pytorch/examples' mnist/main.py."""
    from lenet_viz.nets.build import build_model
    from lenet_viz.training.loop import evaluate, make_optimizer, train_one_epoch

    train, test = small
    config = TrainConfig(optimizer="adam", lr=3e-3, batch_size=64, epochs=2, schedule="onecycle")
    inputs, labels = to_network_input(train.images), train.labels
    model = build_model(config.model, seed=0)
    optimizer = make_optimizer(config, model)
    generators = (torch.Generator().manual_seed(0), torch.Generator().manual_seed(1))
    results = []
    for epoch in range(config.epochs):
        results += list(
            train_one_epoch(model, optimizer, inputs, labels, config, epoch, generators=generators)
        )
        test_loss, test_acc, predicted = evaluate(model, to_network_input(test.images), test.labels)
    assert [r.iteration for r in results] == list(range(1, 33))
    assert results[16].epoch == 1.0 and results[-1].lr < results[8].lr  # one-cycle annealing
    assert sum(r.size for r in results) == 2 * len(labels)
    assert test_acc > 0.5 and len(predicted) == len(test.labels)  # chance is 0.1


def test_optimizers_are_torch_optims_own_fused_ones():
    from lenet_viz.nets.build import build_model
    from lenet_viz.training.loop import make_optimizer

    model = build_model(ModelConfig(), seed=0)
    adam = make_optimizer(TrainConfig(optimizer="adam", lr=0.01), model)
    sgd = make_optimizer(TrainConfig(optimizer="sgd", momentum=0.5), model)
    assert type(adam) is torch.optim.Adam and adam.defaults["fused"]
    assert type(sgd) is torch.optim.SGD and sgd.defaults["fused"]
    assert sgd.param_groups[0]["momentum"] == 0.5


def test_a_diverging_loss_raises_before_its_step():
    from lenet_viz.nets.build import build_model
    from lenet_viz.training.loop import Diverged, DivergenceGuard

    guard = DivergenceGuard(build_model(ModelConfig(), seed=0))
    guard.check(2.3)
    guard.check(2.3e3)  # a spike, not yet a divergence
    with pytest.raises(Diverged, match="over 10,000 times its first value"):
        guard.check(2.3e5)
    with pytest.raises(Diverged, match="the loss became nan"):
        guard.check(float("nan"))


def test_network_inputs_of_a_limited_run_are_the_first_digits_of_the_shared_ones():
    from lenet_viz.training.loop import network_inputs

    whole, all_labels = network_inputs("mnist", ModelConfig(), train=False)
    first, labels = network_inputs("mnist", ModelConfig(), train=False, limit=100)
    assert len(whole) == 10_000 and first.shape == (100, 1, 32, 32)
    assert torch.equal(first, whole[:100]) and torch.equal(labels, all_labels[:100])


def test_start_run_is_one_call_that_checks_then_starts(monkeypatch, tmp_path, wait_until):
    from lenet_viz.data.datasets import DataError
    from lenet_viz.training.runner import start_run

    with pytest.raises(ConfigError, match="learning rate"):
        start_run(TrainConfig(lr=0))
    with pytest.raises(DataError, match="fetch-data --dataset fashion-mnist"):
        monkeypatch.setenv("LENET_VIZ_DATA", str(tmp_path))
        start_run(TrainConfig(dataset="fashion-mnist"))
    monkeypatch.delenv("LENET_VIZ_DATA")
    config = TrainConfig(batch_size=50, train_limit=200, test_limit=100)
    trainer = start_run([config, config], names=["a", "b"], paused=True, slots=RunSlots(1))
    try:
        trainer.step()
        assert wait_until(lambda: trainer.runs[0].iteration == 1 and trainer.status == "paused")
        assert [run.name for run in trainer.runs] == ["a", "b"]
        assert len(trainer.runs[0].train_labels) == 200 and len(trainer.runs[1].test_labels) == 100
    finally:
        trainer.stop()
        assert trainer.wait(10)
