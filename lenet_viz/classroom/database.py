"""Where the class board lives: SQLite under data/ by default, any SQLAlchemy URL (PostgreSQL
for several app servers) when LENET_VIZ_DATABASE_URL is set; schema versions by Alembic.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.exc import SQLAlchemyError

from lenet_viz.data.datasets import default_data_root

DATABASE_URL_VARIABLE = "LENET_VIZ_DATABASE_URL"
SQLITE_FILE = "classroom.sqlite"
MIGRATIONS = Path(__file__).resolve().parent / "migrations"
# Two servers starting at once on one PostgreSQL migrate one after the other (any fixed key).
MIGRATION_LOCK_KEY = 2025_0025


class StorageUnavailable(RuntimeError):
    """The database cannot be reached or failed; what the board shows, and what the outbox
    waits out."""

    @classmethod
    def because(cls, error: Exception) -> StorageUnavailable:
        return cls(
            "the class board's database is not reachable right now "
            f"({type(error).__name__}); training goes on, and finished runs are published "
            "when it is back"
        )


def database_url() -> str:
    """$LENET_VIZ_DATABASE_URL, else an SQLite file in the data folder (no setup)."""
    from_env = os.environ.get(DATABASE_URL_VARIABLE, "").strip()
    if from_env:
        return normalized_url(from_env)
    return f"sqlite:///{default_data_root() / SQLITE_FILE}"


def normalized_url(url: str) -> str:
    """A plain postgresql:// URL uses psycopg 3 (the driver requirements.txt installs)."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def make_engine(url: str) -> Engine:
    """An engine for `url`. SQLite: the folder is created, foreign keys are on, and writers wait
    for each other (WAL journal, 30 s busy timeout) instead of failing."""
    if url.startswith("sqlite:///"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(url, pool_pre_ping=True, connect_args=_connect_timeout(url))


def _connect_timeout(url: str) -> dict:
    """Fail fast (5 s) when PostgreSQL is down, so the board can say so."""
    return {"connect_timeout": 5} if url.startswith("postgresql") else {}


def _sqlite_pragmas(connection, _record) -> None:
    cursor = connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.close()


def alembic_config(engine: Engine) -> Config:
    """Alembic's configuration for the migrations shipped inside this package."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", engine.url.render_as_string(hide_password=False))
    return config


_migrated: set[str] = set()
_migrate_lock = threading.Lock()


def migrate(engine: Engine) -> None:
    """Bring the database's schema to the newest version (once per process and database)."""
    key = engine.url.render_as_string(hide_password=False)
    with _migrate_lock:
        if key in _migrated:
            return
        try:
            with engine.begin() as connection:
                if engine.dialect.name == "postgresql":
                    connection.execute(
                        text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY}
                    )
                config = alembic_config(engine)
                config.attributes["connection"] = connection
                command.upgrade(config, "head")
        except SQLAlchemyError as error:
            raise StorageUnavailable.because(error) from error
        _migrated.add(key)
