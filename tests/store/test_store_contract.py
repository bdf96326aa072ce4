"""The store contract (``hyperpipe.testing.store_contract``) over every store: SQLite's fast path
(``SqliteStore``, what a SQLite workspace opens), SqlStore on SQLite, and SqlStore on PostgreSQL.

SQLite gets a new database file per test. PostgreSQL gets one new database per module (made by
``new_postgres_database``, dropped at the end), whose tables are emptied before each test: much
cheaper than a schema per test, and each test still starts from keys and numbers at 1.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from sqlalchemy import create_engine, text

from hyperpipe.store._schema import metadata
from hyperpipe.store._sql import SqlStore
from hyperpipe.store._sqlite import SqliteStore
from hyperpipe.testing.store_contract import StoreContract

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from pathlib import Path


@pytest.fixture(scope="module")
def postgres_store_url(new_postgres_database: Callable[[str], str]) -> str:
    url = new_postgres_database("hp_contract")
    SqlStore(url).close()  # creates the schema once for the module
    return url


@pytest.fixture(scope="module")
def wipe_postgres_store(postgres_store_url: str) -> Iterator[Callable[[], None]]:
    engine = create_engine(postgres_store_url, pool_size=1)
    tables = ", ".join(f'"{table.name}"' for table in metadata.sorted_tables)

    def wipe() -> None:
        with engine.begin() as conn:
            conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))

    yield wipe
    engine.dispose()


@pytest.fixture(
    params=["sqlite", "sqlite-sqlalchemy", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SqlStore | SqliteStore]:
    if request.param == "postgresql":
        url = request.getfixturevalue("postgres_store_url")
        request.getfixturevalue("wipe_postgres_store")()
    else:
        url = f"sqlite:///{tmp_path / 'store.db'}"
    opened = SqliteStore(url) if request.param == "sqlite" else SqlStore(url)
    yield opened
    opened.close()


class TestSqlStore(StoreContract):
    """Every contract test, once per store and database."""
