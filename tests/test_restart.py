"""After a server restart mid-run the user is told the run was lost; saved checkpoints stay."""

from pathlib import Path

from streamlit.testing.v1 import AppTest

from lenet_viz.training.config import TrainConfig
from lenet_viz.training.runner import Trainer, trainer_is_live

APP = str(Path(__file__).resolve().parent.parent / "app.py")
TIMEOUT = 90


def warnings_text(at: AppTest) -> str:
    return "\n".join(str(w.value) for w in at.warning)


def test_a_run_id_this_server_does_not_know_is_reported_lost():
    # The URL a browser keeps when it reconnects to a restarted server.
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.query_params["runs"] = "0123456789ab"
    at.switch_page("pages/train.py")
    at.run()
    assert not at.exception
    assert "server restarted" in warnings_text(at)
    assert "checkpoints/" in warnings_text(at) and "intact" in warnings_text(at)
    assert "runs" not in at.query_params  # nothing half-kept: the stale id is gone
    [got_it] = [b for b in at.button if b.label == "Got it"]
    got_it.click()
    at.run()
    assert "server restarted" not in warnings_text(at)


def test_a_live_run_keeps_its_id_in_the_url_and_raises_no_alarm():
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.switch_page("pages/home.py")
    at.run()
    trainer = Trainer(TrainConfig(train_limit=64, test_limit=64))
    at.session_state["train_trainer"] = trainer
    at.run()
    assert at.query_params["runs"] == trainer.id
    assert trainer_is_live(trainer.id)
    assert "server restarted" not in warnings_text(at)


def test_another_sessions_live_run_is_not_reported_as_lost():
    other = Trainer(TrainConfig(train_limit=64, test_limit=64))  # alive in this process
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.query_params["runs"] = other.id
    at.switch_page("pages/home.py")
    at.run()
    assert "server restarted" not in warnings_text(at)
    assert "runs" not in at.query_params  # and this session does not adopt it
