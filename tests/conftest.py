"""What the tests share: real MNIST subsets, waiting for an event, and the auto-rerun timers a
page's script run sets. Helpers for reading an AppTest page are in `apptest_helpers.py`.

In parallel (`make test TEST_WORKERS=2`, `make test-quick`: pytest-xdist, `--dist loadfile`):
every browser test goes to one worker (one app server, one Chromium), and every other test file
is a unit of its own (its module-scoped fixtures, a trained net or a server, are made once).

The class board's: `postgres`, a real PostgreSQL server (Debian's `postgresql`, a fresh cluster
in a temporary folder, started once per test session and only by the tests that ask for it);
`board_database_url`, an empty database on each of SQLite and that server; `board`, a class
board on each.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator

import pytest
from sqlalchemy import text

from devtools.postgres import INSTALL_HINT, PostgresServer, postgres_bin, start_postgres
from lenet_viz.classroom import ClassBoard, ClassLimits
from lenet_viz.classroom.database import make_engine
from lenet_viz.data.datasets import load_split

BROWSER_SCOPE = "tests/browser/"  # where the browser tests' node ids start


# ------------------------------------------------------------------ running in parallel


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_setupnodes(config, specs) -> None:
    """Before pytest-xdist starts its workers: their OpenMP threads sleep while they wait for
    work (unless OMP_WAIT_POLICY is set). Two workers on two cores keep the machine busy, and
    spinning threads take the cores from the ones doing the work (lenet_viz.cli's
    set_openmp_wait_policy, benchmarks/RESULTS.md). The workers, and the servers and commands
    they start, inherit it; torch reads it when a worker first imports it."""
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config, log):
    """`--dist loadfile`, but with every browser test in one unit of work: one worker runs them
    all, against one app server and one Chromium. Every other test file is a unit of its own,
    so its module-scoped fixtures (a trained net, a server, a benchmark run) are made once."""
    if config.getvalue("dist") != "loadfile":
        return None
    from xdist.scheduler import LoadScopeScheduling

    # `_split_scope` is how xdist's own LoadFileScheduling picks its unit: not a public API,
    # so requirements.txt pins pytest-xdist (a new release is checked before it is taken).
    class BrowserTogetherScheduling(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            path = nodeid.split("::", 1)[0]
            return BROWSER_SCOPE if path.startswith(BROWSER_SCOPE) else path

    return BrowserTogetherScheduling(config, log)


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


# ------------------------------------------------------------------ the class board's databases


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    """A running PostgreSQL server for the whole test session (skipped, saying why, if
    Debian's postgresql package is not installed: `make test` installs it)."""
    if postgres_bin() is None:
        pytest.skip(INSTALL_HINT)
    server = start_postgres()
    try:
        yield server
    finally:
        server.stop()


def fresh_postgres_database(server: PostgresServer, name: str) -> str:
    """A new, empty database on `server`; its URL."""
    engine = make_engine(server.url)
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    return server.url.rsplit("/", 1)[0] + f"/{name}"


_databases = iter(range(1, 1_000_000))


@pytest.fixture(params=["sqlite", "postgresql"])
def board_database_url(request, tmp_path) -> str:
    """An empty database: an SQLite file, or a new database on the real PostgreSQL server."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'classroom.sqlite'}"
    server = request.getfixturevalue("postgres")
    return fresh_postgres_database(server, f"board_{next(_databases)}")


@pytest.fixture
def board(board_database_url) -> Iterator[ClassBoard]:
    """A class board on each database, with small limits so the tests can reach them."""
    board = ClassBoard.from_url(board_database_url, ClassLimits(max_runs=5, runs_per_minute=3))
    yield board
    board.engine.dispose()
