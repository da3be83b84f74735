"""Fixtures shared by the test folders.

The class board's: `postgres`, a real PostgreSQL server (Debian's `postgresql`, a fresh cluster
in a temporary folder, started once per test session and only by the tests that ask for it);
`board_database_url`, an empty database on each of SQLite and that server; `board`, a class
board on each.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import text

from devtools.postgres import INSTALL_HINT, PostgresServer, postgres_bin, start_postgres
from lenet_viz.classroom import ClassBoard, ClassLimits
from lenet_viz.classroom.database import make_engine


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
