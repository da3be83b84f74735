"""Alembic's environment for the class board: runs on the connection `migrate()` hands over
(`config.attributes["connection"]`), or on `sqlalchemy.url` when run by the alembic command."""

from __future__ import annotations

from alembic import context
from sqlalchemy import engine_from_config, pool

from lenet_viz.classroom.schema import Base

config = context.config


def run_on(connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",  # SQLite alters by copying tables
    )
    with context.begin_transaction():
        context.run_migrations()


connection = config.attributes.get("connection")
if connection is not None:
    run_on(connection)
else:
    engine = engine_from_config(
        config.get_section(config.config_ini_section, {}),
        prefix="sqlalchemy.",
        poolclass=pool.NullPool,
    )
    with engine.connect() as fresh:
        run_on(fresh)
