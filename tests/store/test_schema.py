"""Opening a store: the schema is created once, at ``SCHEMA_REVISION``, even by racing processes;
bad URLs fail with a message that names the URLs hyperpipe supports.
"""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import alembic.command
import pytest
from sqlalchemy import create_engine, inspect, text

from hyperpipe.exceptions import StoreError
from hyperpipe.store import get_store
from hyperpipe.store._schema import SCHEMA_REVISION, metadata
from hyperpipe.store._sql import SqlStore

if TYPE_CHECKING:
    from collections.abc import Callable

_TABLES = {*metadata.tables, "alembic_version"}


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def new_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The URL of a database that does not exist yet (SQLite) or is empty (PostgreSQL)."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'not' / 'yet' / 'store.db'}"
    return request.getfixturevalue("new_postgres_database")("hp_schema")


def _schema_state(url: str) -> tuple[list[str], set[str]]:
    """(rows of alembic_version, tables) as seen from outside the store."""
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            versions = list(conn.execute(text("SELECT version_num FROM alembic_version")).scalars())
            return versions, set(inspect(conn).get_table_names())
    finally:
        engine.dispose()


def test_a_new_store_is_created_at_the_schema_revision(new_url: str) -> None:
    SqlStore(new_url).close()
    assert _schema_state(new_url) == ([SCHEMA_REVISION], _TABLES)


def test_reopening_a_current_store_does_not_migrate(
    new_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = SqlStore(new_url)
    run = store.create_run(experiment_name="e", run_id="kept", run_type="t")
    store.close()

    def no_upgrade(*args: object, **kwargs: object) -> None:
        raise AssertionError("a store at the current revision ran an Alembic upgrade")

    monkeypatch.setattr(alembic.command, "upgrade", no_upgrade)
    reopened = SqlStore(new_url)
    try:
        assert reopened.get_run("kept") == run
    finally:
        reopened.close()
    assert _schema_state(new_url) == ([SCHEMA_REVISION], _TABLES)


_OPENER = """
import json, traceback
from hyperpipe.store._sql import SqlStore

wait_for_go()
try:
    store = SqlStore(ARGS[0])
    run = store.create_run(experiment_name="race", run_id=f"opener-{INDEX}", run_type="t")
    print(json.dumps({"number": run.number}))
except Exception:
    print(json.dumps({"error": traceback.format_exc()}))
"""


@pytest.mark.timeout(120)
def test_processes_opening_a_new_store_at_once_all_succeed(
    new_url: str, run_together: Callable[..., list]
) -> None:
    results = run_together(_OPENER, [[new_url]] * 6)
    reports = []
    for result in results:
        assert result.returncode == 0, result.stderr[-2000:]
        reports.append(json.loads(result.stdout.strip().splitlines()[-1]))
    assert [r.get("error") for r in reports] == [None] * 6
    assert sorted(r["number"] for r in reports) == list(range(1, 7))
    assert _schema_state(new_url) == ([SCHEMA_REVISION], _TABLES)


def test_a_store_from_a_newer_hyperpipe_raises_store_error(tmp_path: Path) -> None:
    path = tmp_path / "store.db"
    SqlStore(f"sqlite:///{path}").close()
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE alembic_version SET version_num = '9999'")
    with pytest.raises(StoreError, match=r"'9999'.*upgrade hyperpipe"):
        SqlStore(f"sqlite:///{path}")


@pytest.mark.parametrize("url", ["mysql://x", "not a url", "mssql+pyodbc://u@h/db", ""])
def test_a_bad_url_raises_store_error_naming_the_supported_urls(url: str) -> None:
    for open_store in (SqlStore, get_store):
        with pytest.raises(StoreError) as info:
            open_store(url)
        message = str(info.value)
        assert repr(url) in message
        assert "sqlite://" in message
        assert "postgresql" in message


def test_a_store_from_before_point_counts_upgrades_with_its_series_counted_and_rolled_up(
    new_url: str,
) -> None:
    from alembic.config import Config

    from hyperpipe.store import NewPoint, _engine

    store = SqlStore(new_url)
    run = store.create_run(experiment_name="e", run_id="old", run_type="t")
    store.log_metrics(run.key, [NewPoint("loss", "scalar", float(i), None, 0.0) for i in range(7)])
    store.log_metrics(run.key, [NewPoint("acc", "scalar", 0.5, None, 0.0)])
    store.close()
    engine = create_engine(new_url)
    config = Config()
    config.set_main_option("script_location", str(Path(_engine.__file__).parent / "migrations"))
    with engine.begin() as conn:  # back to the revision before the column existed
        config.attributes["connection"] = conn
        alembic.command.downgrade(config, "0003")
    engine.dispose()
    assert _schema_state(new_url)[0] == ["0003"]

    reopened = SqlStore(new_url)
    try:
        counts = {s.name: s.count for s in reopened.metric_summaries(run.key)}
        assert counts == {"loss": 7, "acc": 1}
        [rolled] = reopened.metric_buckets(run.key, "loss", 1)  # from the rebuilt rollups
        assert (rolled.count, rolled.first, rolled.last) == (7, (None, 0.0), (None, 6.0))
        assert (rolled.low, rolled.high) == (0.0, 6.0)
    finally:
        reopened.close()
    assert _schema_state(new_url)[0] == [SCHEMA_REVISION]


_AUTOMATION_TABLES = {
    "published_pipelines",
    "pipeline_endpoints",
    "pipeline_endpoint_versions",
    "schedules",
    "schedule_fires",
    "scheduler_daemons",
}
_DRIFT_TABLES = {"datadrift_detectors", "datadrift_retrains"}


def _downgrade(url: str, revision: str) -> None:
    from alembic.config import Config

    from hyperpipe.store import _engine

    engine = create_engine(url)
    config = Config()
    config.set_main_option("script_location", str(Path(_engine.__file__).parent / "migrations"))
    try:
        with engine.begin() as conn:
            config.attributes["connection"] = conn
            alembic.command.downgrade(config, revision)
    finally:
        engine.dispose()


def _publish_and_schedule(store: SqlStore) -> None:
    """What the 0007 tables hold works: a published pipeline, a schedule, an exactly-once fire."""
    from hyperpipe.store import NewFire

    published = store.publish_pipeline(
        pipeline_id="p1", name="retrain", graph_id="g", definition={"steps": []}
    )
    schedule = store.create_schedule(
        schedule_id="s1",
        name="nightly",
        experiment_name="e",
        trigger={"recurrence": {"frequency": "Day", "interval": 1}},
        pipeline_id=published.id,
    )
    assert store.claim_schedule_fires(schedule.id, [NewFire("t", 1.0)]) is not None
    assert store.claim_schedule_fires(schedule.id, [NewFire("t", 1.0)]) is None


def test_a_store_from_before_environments_and_schedules_upgrades_keeping_its_data(
    new_url: str,
) -> None:
    store = SqlStore(new_url)
    run = store.create_run(experiment_name="e", run_id="kept", run_type="azureml.PipelineRun")
    store.register_model("m", datastore="ds", path="models/m")
    store.close()
    _downgrade(new_url, "0005")  # back to before environments (0006) and schedules (0007)
    assert _schema_state(new_url) == (
        ["0005"],
        _TABLES - {"environments"} - _AUTOMATION_TABLES - _DRIFT_TABLES,
    )

    reopened = SqlStore(new_url)  # upgrades through 0006 and 0007
    try:
        assert reopened.get_run("kept") == run
        assert reopened.get_model("m").path == "models/m"
        assert reopened.register_environment("train", {"name": "train"}).version == 1
        _publish_and_schedule(reopened)
    finally:
        reopened.close()
    assert _schema_state(new_url) == ([SCHEMA_REVISION], _TABLES)


def test_a_store_with_environments_from_before_schedules_upgrades_keeping_them(
    new_url: str,
) -> None:
    store = SqlStore(new_url)
    run = store.create_run(experiment_name="e", run_id="kept", run_type="azureml.PipelineRun")
    store.register_environment("train", {"name": "train", "python": {"version": "3.12"}})
    store.close()
    _downgrade(new_url, "0006")  # environments exist, schedules do not yet
    assert _schema_state(new_url) == (["0006"], _TABLES - _AUTOMATION_TABLES - _DRIFT_TABLES)

    reopened = SqlStore(new_url)
    try:
        assert reopened.get_run("kept") == run
        kept = reopened.get_environment("train")
        assert kept is not None and kept.version == 1
        assert kept.definition == {"name": "train", "python": {"version": "3.12"}}
        _publish_and_schedule(reopened)
    finally:
        reopened.close()
    assert _schema_state(new_url) == ([SCHEMA_REVISION], _TABLES)


def test_a_store_from_before_drift_monitors_upgrades_keeping_its_data(new_url: str) -> None:
    store = SqlStore(new_url)
    run = store.create_run(experiment_name="e", run_id="kept", run_type="azureml.PipelineRun")
    _publish_and_schedule(store)
    store.close()
    _downgrade(new_url, "0007")  # schedules exist, drift monitors do not yet
    assert _schema_state(new_url) == (["0007"], _TABLES - _DRIFT_TABLES)

    reopened = SqlStore(new_url)  # upgrades through the head
    try:
        assert reopened.get_run("kept") == run
        assert reopened.get_schedule("s1") is not None
        first = reopened.save_datadrift("monitor", {"state": "Disabled", "frequency": "Day"})
        assert first.version == 1
        assert (
            reopened.save_datadrift("monitor", {"state": "Disabled", "frequency": "Day"}) == first
        )
        second = reopened.save_datadrift("monitor", {"state": "Enabled", "frequency": "Day"})
        assert (second.version, reopened.get_datadrift("monitor")) == (2, second)
        assert reopened.list_datadrifts() == [second]
    finally:
        reopened.close()
    assert _schema_state(new_url) == ([SCHEMA_REVISION], _TABLES)


def test_a_store_from_before_heartbeats_upgrades_keeping_its_runs(new_url: str) -> None:
    store = SqlStore(new_url)
    run = store.create_run(experiment_name="e", run_id="kept", run_type="azureml.scriptrun")
    store.close()
    _downgrade(new_url, "0008")  # no heartbeat column yet
    assert _schema_state(new_url)[0] == ["0008"]

    reopened = SqlStore(new_url)  # upgrades to 0009
    try:
        assert reopened.get_run("kept") == run and run.heartbeat_at is None
        assert reopened.update_run("kept", heartbeat_at=123.5).heartbeat_at == 123.5
    finally:
        reopened.close()
    assert _schema_state(new_url) == ([SCHEMA_REVISION], _TABLES)


def test_a_store_from_before_retrain_claims_upgrades_copying_the_retrains_its_checks_started(
    new_url: str,
) -> None:
    store = SqlStore(new_url)
    store.save_datadrift("posts", {"state": "Enabled"})
    quiet = store.create_run(experiment_name="datadrift-posts", run_id="quiet", run_type="check")
    fired = store.create_run(
        experiment_name="datadrift-posts",
        run_id="fired",
        run_type="check",
        tags={"retrain_run_id": "retrain-1", "retrain_window_end": "2024-04-06T00:00:00"},
        properties={"datadrift_start": "2024-04-05T00:00:00"},
    )
    store.close()
    _downgrade(new_url, "0009")  # retrains known only from the check runs' tags
    assert _schema_state(new_url)[0] == ["0009"]

    reopened = SqlStore(new_url)  # upgrades to the head
    try:
        assert reopened.get_run("fired") == fired and reopened.get_run("quiet") == quiet
        [copied] = reopened.list_datadrift_retrains("posts")
        assert (copied.check_run_id, copied.retrain_run_id) == ("fired", "retrain-1")
        assert (copied.window_start, copied.window_end) == (
            "2024-04-05T00:00:00",
            "2024-04-06T00:00:00",
        )
        # The copied retrain's cool-down holds; after it, a claim succeeds.
        day = datetime(2024, 4, 8)
        week = timedelta(days=7)
        kept = {"cool_down": week, "check_run_id": "next", "window_end": day}
        assert reopened.claim_datadrift_retrain("posts", window_start=day, **kept) is None
        later = datetime(2024, 4, 13)
        assert reopened.claim_datadrift_retrain("posts", window_start=later, **kept) is not None
    finally:
        reopened.close()
    assert _schema_state(new_url) == ([SCHEMA_REVISION], _TABLES)
