"""Engines tuned for each database, and the schema check done when a store opens.

SQLite runs in WAL mode (readers never block the writer) with a long busy timeout, and every write
transaction starts with ``BEGIN IMMEDIATE``: taking the write lock up front is what keeps
"database is locked" away under parallel writers, since a deferred transaction that upgrades from
read to write cannot wait on the busy timeout.
"""

from __future__ import annotations

import contextlib
import fcntl
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, OperationalError

from hyperpipe.exceptions import StoreError
from hyperpipe.store._revision import SCHEMA_REVISION
from hyperpipe.store._rows import BUSY_TIMEOUT_S
from hyperpipe.store._sqlite import configure

if TYPE_CHECKING:
    from collections.abc import Iterator

    from sqlalchemy.engine import URL, Engine

WRITE_OPTION = "hyperpipe_write"


def normalize_url(url: str) -> URL:
    """Parse a store URL, choosing psycopg 3 for plain ``postgresql://`` URLs."""
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise StoreError(
            f"store URL {url!r} is not a database URL; use e.g. 'sqlite:////abs/path/hyperpipe.db' "
            "or 'postgresql+psycopg://user@host:5432/db'"
        ) from exc
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    if parsed.get_backend_name() not in ("sqlite", "postgresql"):
        raise StoreError(
            f"store URL {url!r} names the {parsed.get_backend_name()!r} database; hyperpipe "
            "supports sqlite:// and postgresql:// URLs"
        )
    return parsed


def make_engine(url: str) -> Engine:
    """Create an engine for ``url`` with hyperpipe's connection settings."""
    parsed = normalize_url(url)
    if parsed.get_backend_name() == "sqlite":
        return _sqlite_engine(parsed)
    try:
        return create_engine(parsed, pool_pre_ping=True, pool_size=2, max_overflow=4)
    except (NoSuchModuleError, ModuleNotFoundError) as exc:
        raise StoreError(
            f"the PostgreSQL driver is not installed (needed for {parsed.render_as_string()}); "
            "run: pip install 'hyperpipe[postgres]'"
        ) from exc


def _sqlite_engine(parsed: URL) -> Engine:
    database = parsed.database
    if database and database != ":memory:":
        folder = Path(database).parent
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(
                f"cannot create the SQLite store {database}: its folder {folder} cannot be made "
                f"({exc.strerror}; is part of that path a file?); point the store URL at a "
                "folder you can write"
            ) from exc
    engine = create_engine(
        parsed, connect_args={"timeout": BUSY_TIMEOUT_S, "check_same_thread": False}
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record) -> None:  # type: ignore[no-untyped-def]
        configure(dbapi_conn)  # autocommit: SQLAlchemy's "begin" event below emits BEGIN itself

    @event.listens_for(engine, "begin")
    def _on_begin(conn) -> None:  # type: ignore[no-untyped-def]
        immediate = conn.get_execution_options().get(WRITE_OPTION, False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


def ensure_schema(engine: Engine) -> None:
    """Bring the database to ``SCHEMA_REVISION``; one SELECT when it is already there."""
    if _current_revision(engine) == SCHEMA_REVISION:
        return
    with _migration_lock(engine) as conn:
        current = _current_revision(engine)
        if current == SCHEMA_REVISION:
            return
        from alembic import command
        from alembic.config import Config
        from alembic.util import CommandError

        config = Config()
        config.set_main_option("script_location", str(Path(__file__).parent / "migrations"))
        config.attributes["connection"] = conn
        try:
            command.upgrade(config, "head")
        except CommandError as exc:  # e.g. a revision this version does not know
            raise StoreError(
                f"cannot bring the store at {engine.url.render_as_string(hide_password=True)!r} "
                f"from schema revision {current!r} to {SCHEMA_REVISION!r}: {exc}; if a newer "
                "hyperpipe created this store, upgrade hyperpipe here too"
            ) from exc
        if conn.in_transaction():
            conn.commit()


def _current_revision(engine: Engine) -> str | None:
    try:
        with engine.connect() as conn:
            return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
    except OperationalError:
        return None
    except Exception as exc:  # psycopg reports a missing table as ProgrammingError
        if "alembic_version" in str(exc):
            return None
        raise StoreError(f"cannot read the store at {engine.url!r}: {exc}") from exc


@contextlib.contextmanager
def _migration_lock(engine: Engine) -> Iterator:
    """Serialize schema upgrades between processes opening a new store at the same time."""
    database = engine.url.database
    if engine.dialect.name == "sqlite" and database in (None, "", ":memory:"):
        with engine.connect() as conn:
            yield conn
    elif engine.dialect.name == "sqlite":
        # The lock file stays: unlinking it would let two processes lock different inodes.
        with open(f"{database}.lock", "a") as lock_file:
            fcntl.flock(lock_file, fcntl.LOCK_EX)
            try:
                with engine.connect() as conn:
                    yield conn
            finally:
                fcntl.flock(lock_file, fcntl.LOCK_UN)
    else:
        with engine.connect() as conn:
            conn.execute(text("SELECT pg_advisory_lock(74656)"))
            conn.commit()
            try:
                yield conn
            finally:
                if conn.in_transaction():
                    conn.rollback()
                conn.execute(text("SELECT pg_advisory_unlock(74656)"))
                conn.commit()
