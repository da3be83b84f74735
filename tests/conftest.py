"""What the tests share: real MNIST subsets, waiting for an event, and the auto-rerun timers a
page's script run sets. Helpers for reading an AppTest page are in `apptest_helpers.py`."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest

from lenet_viz.data.datasets import load_split


@pytest.fixture(scope="session")
def small():
    """The first 1,024 training and 512 test digits of real MNIST."""
    train, test = load_split("mnist", train=True), load_split("mnist", train=False)
    return train.subset(1024), test.subset(512)


def wait_for(condition: Callable[[], bool], timeout: float = 30.0) -> bool:
    """Poll `condition` every 10 ms until it holds (True) or `timeout` seconds pass (False)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.01)
    return condition()


@pytest.fixture
def wait_until() -> Callable[..., bool]:
    """`wait_until(condition, timeout=30.0)`: wait for an event instead of sleeping."""
    return wait_for


@pytest.fixture
def auto_rerun_timers(monkeypatch) -> list[float]:
    """The interval of every `run_every` timer (a fragment's auto-rerun) that the page's last
    script run set: a new script run clears the list."""
    from streamlit.runtime.scriptrunner_utils.script_run_context import ScriptRunContext

    timers: list[float] = []
    enqueue, reset = ScriptRunContext.enqueue, ScriptRunContext.reset

    def recording_enqueue(self, msg):
        if msg.WhichOneof("type") == "auto_rerun":
            timers.append(msg.auto_rerun.interval)
        return enqueue(self, msg)

    def reset_per_run(self, *args, **kwargs):
        timers.clear()
        return reset(self, *args, **kwargs)

    monkeypatch.setattr(ScriptRunContext, "enqueue", recording_enqueue)
    monkeypatch.setattr(ScriptRunContext, "reset", reset_per_run)
    return timers
