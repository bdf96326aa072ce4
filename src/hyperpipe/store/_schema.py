"""SQLAlchemy Core tables of the metadata store.

The schema is versioned by Alembic (``migrations/``); ``SCHEMA_REVISION`` names the head revision
the code expects, so opening a store costs one SELECT when the schema is current.
Timestamps are UNIX seconds (float); JSON columns hold small dicts (tags, properties, definitions).
Runs have a string id (what users see) and an integer key (what other tables point at, so that
millions of metric points stay compact).
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from hyperpipe.store._revision import SCHEMA_REVISION  # noqa: F401 - read here by tests and tools

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

# SQLite only autoincrements an INTEGER PRIMARY KEY; BigInteger elsewhere.
_Id = BigInteger().with_variant(Integer(), "sqlite")

experiments = Table(
    "experiments",
    metadata,
    Column("key", _Id, primary_key=True, autoincrement=True),
    Column("name", String(255), nullable=False, unique=True),
    Column("created_at", Float, nullable=False),
    Column("run_counter", Integer, nullable=False, default=0),
    Column("archived", Boolean, nullable=False, default=False),
)

runs = Table(
    "runs",
    metadata,
    Column("key", _Id, primary_key=True, autoincrement=True),
    Column("id", String(255), nullable=False, unique=True),
    Column("experiment_key", _Id, ForeignKey("experiments.key"), nullable=False),
    Column("number", Integer, nullable=False),
    Column("parent_key", _Id, ForeignKey("runs.key"), nullable=True),
    Column("run_type", String(64), nullable=False),
    Column("display_name", String(255), nullable=True),
    Column("status", String(32), nullable=False),
    Column("target", String(255), nullable=True),
    Column("definition", JSON, nullable=False),
    Column("error", JSON, nullable=True),
    Column("tags", JSON, nullable=False),
    Column("properties", JSON, nullable=False),
    Column("created_at", Float, nullable=False),
    Column("started_at", Float, nullable=True),
    Column("ended_at", Float, nullable=True),
    Column("host", String(255), nullable=True),
    Column("pid", Integer, nullable=True),
    Column("pid_started_at", Float, nullable=True),
    # When the process driving the run last said it lives (every few seconds): how a reader on
    # another machine, which cannot check host and pid, tells a dead driver.
    Column("heartbeat_at", Float, nullable=True),
    # Pipeline steps: the key a later run of the same step looks its outputs up by.
    Column("reuse_key", String(64), nullable=True),
    UniqueConstraint("experiment_key", "number"),
    Index(None, "parent_key"),
    Index(None, "status"),
    Index(None, "reuse_key"),
)

metric_series = Table(
    "metric_series",
    metadata,
    Column("id", _Id, primary_key=True, autoincrement=True),
    Column("run_key", _Id, ForeignKey("runs.key"), nullable=False),
    Column("name", String(255), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("description", Text, nullable=False, default=""),
    # Kept by every write, so that a series' size never needs its points counted.
    Column("point_count", BigInteger, nullable=False, default=0, server_default="0"),
    UniqueConstraint("run_key", "name"),
)

metric_points = Table(
    "metric_points",
    metadata,
    Column("id", _Id, primary_key=True, autoincrement=True),
    Column("series_id", _Id, ForeignKey("metric_series.id"), nullable=False),
    Column("step", BigInteger, nullable=True),
    Column("value", Float, nullable=True),
    Column("payload", Text, nullable=True),  # JSON text; NULL for plain numbers (most points)
    Column("ts", Float, nullable=False),
    Index(None, "series_id", "id"),
)

# Every ROLLUP_POINTS (``_metric_rows``) consecutive points of a series, summarised as they are
# written: charts of series of millions of points read these rows instead of the points.
metric_rollups = Table(
    "metric_rollups",
    metadata,
    Column("series_id", _Id, ForeignKey("metric_series.id"), primary_key=True),
    Column("chunk", BigInteger, primary_key=True),  # point number // ROLLUP_POINTS
    Column("points", Integer, nullable=False),
    Column("steps", Integer, nullable=False),  # how many of them have a step
    Column("first_step", BigInteger, nullable=True),
    Column("first_value", Float, nullable=True),
    Column("last_step", BigInteger, nullable=True),
    Column("last_value", Float, nullable=True),
    Column("low", Float, nullable=True),
    Column("high", Float, nullable=True),
)

# How far each metric-writing process got: its journal is replayed past last_seq after a crash.
metric_writers = Table(
    "metric_writers",
    metadata,
    Column("run_key", _Id, ForeignKey("runs.key"), primary_key=True),
    Column("writer", String(64), primary_key=True),
    Column("last_seq", BigInteger, nullable=False),
)

artifacts = Table(
    "artifacts",
    metadata,
    Column("run_key", _Id, ForeignKey("runs.key"), primary_key=True),
    Column("path", String(1024), primary_key=True),
    Column("size", BigInteger, nullable=False),
    Column("created_at", Float, nullable=False),
)

models = Table(
    "models",
    metadata,
    Column("key", _Id, primary_key=True, autoincrement=True),
    Column("name", String(255), nullable=False),
    Column("version", Integer, nullable=False),
    Column("datastore", String(255), nullable=False),
    Column("path", String(1024), nullable=False),
    Column("run_id", String(255), nullable=True),
    Column("experiment_name", String(255), nullable=True),
    Column("description", Text, nullable=True),
    Column("framework", String(64), nullable=True),
    Column("framework_version", String(64), nullable=True),
    Column("tags", JSON, nullable=False),
    Column("properties", JSON, nullable=False),
    Column("created_at", Float, nullable=False),
    UniqueConstraint("name", "version"),
)

# A dataset version: an immutable manifest of files. Anonymous versions (name NULL) are datasets
# given to runs without being registered.
datasets = Table(
    "datasets",
    metadata,
    Column("key", _Id, primary_key=True, autoincrement=True),
    Column("id", String(64), nullable=False, unique=True),
    Column("name", String(255), nullable=True),
    Column("version", Integer, nullable=True),
    Column("kind", String(16), nullable=False),
    Column("definition", JSON, nullable=False),
    Column("content_hash", String(64), nullable=False),
    Column("description", Text, nullable=True),
    Column("tags", JSON, nullable=False),
    Column("file_count", Integer, nullable=False),
    Column("total_size", BigInteger, nullable=False),
    Column("created_at", Float, nullable=False),
    UniqueConstraint("name", "version"),
    Index(None, "content_hash"),
)

dataset_files = Table(
    "dataset_files",
    metadata,
    Column("dataset_key", _Id, ForeignKey("datasets.key"), primary_key=True),
    Column("datastore", String(255), primary_key=True),  # "" for files given by URL
    Column("path", String(2048), primary_key=True),
    Column("size", BigInteger, nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("mtime", Float, nullable=True),
)

# A registered environment version (SDK v1's Environment.register): its definition as JSON.
environments = Table(
    "environments",
    metadata,
    Column("key", _Id, primary_key=True, autoincrement=True),
    Column("name", String(255), nullable=False),
    Column("version", Integer, nullable=False),
    Column("definition", JSON, nullable=False),
    Column("created_at", Float, nullable=False),
    UniqueConstraint("name", "version"),
)

# -- what starts pipelines without a person ---------------------------------------------------

# A published pipeline: an immutable stored definition (every step spec, its snapshot's digest,
# the parameters and their defaults). Only its status changes.
published_pipelines = Table(
    "published_pipelines",
    metadata,
    Column("key", _Id, primary_key=True, autoincrement=True),
    Column("id", String(64), nullable=False, unique=True),
    Column("name", String(255), nullable=False),
    Column("description", Text, nullable=True),
    Column("version", String(64), nullable=True),
    Column("status", String(16), nullable=False),
    Column("graph_id", String(64), nullable=False),
    Column("definition", JSON, nullable=False),
    Column("continue_on_step_failure", Boolean, nullable=True),
    Column("source_run_id", String(255), nullable=True),
    Column("created_at", Float, nullable=False),
    Index(None, "name"),
)

# A named endpoint over versions "0", "1", ... of published pipelines, one of them the default.
pipeline_endpoints = Table(
    "pipeline_endpoints",
    metadata,
    Column("key", _Id, primary_key=True, autoincrement=True),
    Column("id", String(64), nullable=False, unique=True),
    Column("name", String(255), nullable=False, unique=True),
    Column("description", Text, nullable=True),
    Column("status", String(16), nullable=False),
    Column("default_version", String(16), nullable=False),
    Column("created_at", Float, nullable=False),
    Column("updated_at", Float, nullable=False),
)

pipeline_endpoint_versions = Table(
    "pipeline_endpoint_versions",
    metadata,
    Column("endpoint_key", _Id, ForeignKey("pipeline_endpoints.key"), primary_key=True),
    Column("version", String(16), primary_key=True),
    Column("number", Integer, nullable=False),  # the version as a number, for ordering
    Column("pipeline_id", String(64), ForeignKey("published_pipelines.id"), nullable=False),
    Column("created_at", Float, nullable=False),
)

# A schedule submits a published pipeline (or an endpoint's default version) when its trigger
# says so. ``state`` is the trigger's memory (a datastore trigger's files last seen), changed only
# together with ``state_version`` so that two schedulers never act on the same change.
schedules = Table(
    "schedules",
    metadata,
    Column("key", _Id, primary_key=True, autoincrement=True),
    Column("id", String(64), nullable=False, unique=True),
    Column("name", String(255), nullable=False),
    Column("description", Text, nullable=True),
    Column("status", String(16), nullable=False),
    Column("pipeline_id", String(64), nullable=True),
    Column("pipeline_endpoint_id", String(64), nullable=True),
    Column("experiment_name", String(255), nullable=False),
    Column("trigger", JSON, nullable=False),
    Column("pipeline_parameters", JSON, nullable=False),
    Column("continue_on_step_failure", Boolean, nullable=True),
    Column("not_before", Float, nullable=False),  # due times before this never fire
    Column("state", JSON, nullable=False),
    Column("state_version", Integer, nullable=False, default=0),
    Column("created_at", Float, nullable=False),
    Column("updated_at", Float, nullable=False),
    Index(None, "pipeline_id"),
    Index(None, "pipeline_endpoint_id"),
)

# One row per schedule and fire: a due time of a recurrence, or one data change. The unique
# (schedule, fire_key) is what makes firing exactly-once between any number of schedulers.
schedule_fires = Table(
    "schedule_fires",
    metadata,
    Column("key", _Id, primary_key=True, autoincrement=True),
    Column("schedule_key", _Id, ForeignKey("schedules.key"), nullable=False),
    Column("fire_key", String(255), nullable=False),
    Column("due_at", Float, nullable=False),
    Column("outcome", String(16), nullable=False),  # Claimed, Submitted, Failed, Skipped
    Column("claimed_at", Float, nullable=False),
    Column("claimed_by", String(64), nullable=True),
    Column("run_id", String(255), nullable=True),
    Column("reason", Text, nullable=True),
    Column("details", JSON, nullable=False),
    Column("ended_at", Float, nullable=True),
    UniqueConstraint("schedule_key", "fire_key"),
    Index(None, "schedule_key", "due_at"),
)

# Scheduler daemons: who they are (host, pid, process start time) and when they last looked.
scheduler_daemons = Table(
    "scheduler_daemons",
    metadata,
    Column("key", _Id, primary_key=True, autoincrement=True),
    Column("id", String(64), nullable=False, unique=True),
    Column("host", String(255), nullable=False),
    Column("pid", Integer, nullable=True),
    Column("pid_started_at", Float, nullable=True),
    Column("started_at", Float, nullable=False),
    Column("heartbeat_at", Float, nullable=False),
    Column("stopped_at", Float, nullable=True),
    Column("details", JSON, nullable=False),
)

# A data drift monitor (SDK v1's DataDriftDetector): each change records a new version of its
# definition as JSON; the newest version is the monitor (a deleted one has state "Deleted").
datadrift_detectors = Table(
    "datadrift_detectors",
    metadata,
    Column("key", _Id, primary_key=True, autoincrement=True),
    Column("name", String(255), nullable=False),
    Column("version", Integer, nullable=False),
    Column("definition", JSON, nullable=False),
    Column("created_at", Float, nullable=False),
    UniqueConstraint("name", "version"),
)

# The retrains drift monitors started. A check claims one (at most one per monitor within its
# cool-down, decided under a lock on the monitor's rows), then records the run it submitted.
# Window bounds are ISO-8601 strings of the monitor's naive UTC datetimes.
datadrift_retrains = Table(
    "datadrift_retrains",
    metadata,
    Column("key", _Id, primary_key=True, autoincrement=True),
    Column("name", String(255), nullable=False),
    Column("window_start", String(32), nullable=False),
    Column("window_end", String(32), nullable=False),
    Column("check_run_id", String(255), nullable=False),
    Column("retrain_run_id", String(255), nullable=True),
    Column("claimed_at", Float, nullable=False),
    Index(None, "name"),
)
