"""Alembic environment: runs on the connection that ``_engine.ensure_schema`` hands over."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

from hyperpipe.store._schema import metadata

connection = context.config.attributes.get("connection")
if connection is None:  # `alembic` command line, for writing new migrations
    connection = create_engine(context.config.get_main_option("sqlalchemy.url")).connect()

context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
