"""Training slots in a classroom: a paused run holds none, a run whose page is gone gives way.

Issue #16: one student's paused run (or closed tab) must never make the whole class wait.
"""

from lenet_viz.training.config import TrainConfig
from lenet_viz.training.runner import UNWATCHED_SECONDS, Trainer
from lenet_viz.training.slots import RunSlots


def trainer_on(small, slots, **changes) -> Trainer:
    train, test = small
    config = TrainConfig.from_dict({"batch_size": 8, "lr": 0.05, "epochs": 50, **changes})
    return Trainer(config, train=train, test=test, slots=slots)


def test_a_paused_run_frees_its_slot_and_queues_again_on_resume(small, wait_until):
    slots = RunSlots(1)
    first = trainer_on(small, slots).start()
    assert wait_until(lambda: first.status == "running")
    assert slots.counts() == (1, 0)
    first.pause(settle_seconds=30)  # returns once the run has paused, not when asked
    assert first.status == "paused"
    assert slots.counts() == (0, 0)  # nobody waits for a paused run

    second = trainer_on(small, slots).start()
    assert wait_until(lambda: second.status == "running")  # at once, not after the pause
    first.resume()
    assert wait_until(lambda: first.status == "queued" and first.snapshot().queue_position == 1)
    iteration = first.runs[0].iteration
    second.stop()
    assert second.wait(10)
    assert wait_until(lambda: first.runs[0].iteration > iteration)  # it goes on by itself
    first.stop()
    assert first.wait(10) and slots.counts() == (0, 0)


def test_a_step_while_paused_trains_without_a_slot(small, wait_until):
    slots = RunSlots(1)
    busy = trainer_on(small, slots).start()
    assert wait_until(lambda: busy.status == "running")
    stepped = trainer_on(small, slots)
    stepped.step(3)  # starts paused: three batches, although the only slot is busy
    assert wait_until(lambda: stepped.runs[0].iteration == 3 and stepped.status == "paused")
    assert slots.counts() == (1, 0)
    for trainer in (busy, stepped):
        trainer.stop()
        assert trainer.wait(10)


def test_pausing_a_queued_run_takes_it_out_of_the_queue(small, wait_until):
    slots = RunSlots(1)
    busy = trainer_on(small, slots).start()
    assert wait_until(lambda: busy.status == "running")
    queued = trainer_on(small, slots).start()
    assert wait_until(lambda: queued.snapshot().queue_position == 1)
    queued.pause()
    assert wait_until(lambda: queued.status == "paused")
    assert slots.counts() == (1, 0) and queued.snapshot().queue_position is None
    for trainer in (busy, queued):
        trainer.stop()
        assert trainer.wait(10)


def test_a_run_whose_page_is_gone_gives_way_to_a_waiting_run(small, monkeypatch, wait_until):
    slots = RunSlots(1)
    orphan = trainer_on(small, slots).start()
    orphan.touch()
    assert wait_until(lambda: orphan.status == "running")
    orphan.last_seen -= UNWATCHED_SECONDS + 1  # its tab was closed a while ago
    waiting = trainer_on(small, slots, epochs=1)
    waiting.touch()
    waiting.start()
    assert wait_until(lambda: waiting.status in ("running", "completed"), timeout=10)
    assert orphan.status == "queued" and "not open" in orphan.notice
    assert waiting.wait(60) and waiting.status == "completed"
    # Nobody waits any more: the orphan goes on with the free slot.
    iteration = orphan.runs[0].iteration
    assert wait_until(lambda: orphan.runs[0].iteration > iteration)
    orphan.stop()
    assert orphan.wait(10) and slots.counts() == (0, 0)


def test_a_watched_run_and_an_unwatched_cli_run_keep_their_slot(small, wait_until):
    slots = RunSlots(1)
    watched = trainer_on(small, slots).start()
    cli = trainer_on(small, RunSlots(1)).start()  # never touched: no page watches it
    assert wait_until(lambda: watched.status == "running" and cli.status == "running")
    waiting = trainer_on(small, slots, epochs=1)
    waiting.start()
    assert wait_until(lambda: waiting.snapshot().queue_position == 1)
    start = watched.runs[0].iteration

    def twenty_more_batches_with_both_pages_open() -> bool:
        watched.touch()
        waiting.touch()
        return watched.runs[0].iteration >= start + 20

    # the holder decides between every two batches whether to give way: 20 decisions
    assert wait_until(twenty_more_batches_with_both_pages_open)
    assert watched.status == "running" and waiting.status == "queued"
    for trainer in (watched, cli, waiting):
        trainer.stop()
        assert trainer.wait(10)
