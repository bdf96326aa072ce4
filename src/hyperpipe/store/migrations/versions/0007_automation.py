"""published pipelines, pipeline endpoints, schedules, their fires and scheduler daemons

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

_Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "published_pipelines",
        sa.Column("key", _Id, autoincrement=True, nullable=False),
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("version", sa.String(length=64), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("graph_id", sa.String(length=64), nullable=False),
        sa.Column("definition", sa.JSON(), nullable=False),
        sa.Column("continue_on_step_failure", sa.Boolean(), nullable=True),
        sa.Column("source_run_id", sa.String(length=255), nullable=True),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_published_pipelines")),
        sa.UniqueConstraint("id", name=op.f("uq_published_pipelines_id")),
    )
    op.create_index(
        op.f("ix_published_pipelines_name"), "published_pipelines", ["name"], unique=False
    )
    op.create_table(
        "pipeline_endpoints",
        sa.Column("key", _Id, autoincrement=True, nullable=False),
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("default_version", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("updated_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_pipeline_endpoints")),
        sa.UniqueConstraint("id", name=op.f("uq_pipeline_endpoints_id")),
        sa.UniqueConstraint("name", name=op.f("uq_pipeline_endpoints_name")),
    )
    op.create_table(
        "pipeline_endpoint_versions",
        sa.Column("endpoint_key", _Id, nullable=False),
        sa.Column("version", sa.String(length=16), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("pipeline_id", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(
            ["endpoint_key"],
            ["pipeline_endpoints.key"],
            name=op.f("fk_pipeline_endpoint_versions_endpoint_key_pipeline_endpoints"),
        ),
        sa.ForeignKeyConstraint(
            ["pipeline_id"],
            ["published_pipelines.id"],
            name=op.f("fk_pipeline_endpoint_versions_pipeline_id_published_pipelines"),
        ),
        sa.PrimaryKeyConstraint(
            "endpoint_key", "version", name=op.f("pk_pipeline_endpoint_versions")
        ),
    )
    op.create_table(
        "schedules",
        sa.Column("key", _Id, autoincrement=True, nullable=False),
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("pipeline_id", sa.String(length=64), nullable=True),
        sa.Column("pipeline_endpoint_id", sa.String(length=64), nullable=True),
        sa.Column("experiment_name", sa.String(length=255), nullable=False),
        sa.Column("trigger", sa.JSON(), nullable=False),
        sa.Column("pipeline_parameters", sa.JSON(), nullable=False),
        sa.Column("continue_on_step_failure", sa.Boolean(), nullable=True),
        sa.Column("not_before", sa.Float(), nullable=False),
        sa.Column("state", sa.JSON(), nullable=False),
        sa.Column("state_version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("updated_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_schedules")),
        sa.UniqueConstraint("id", name=op.f("uq_schedules_id")),
    )
    op.create_index(op.f("ix_schedules_pipeline_id"), "schedules", ["pipeline_id"], unique=False)
    op.create_index(
        op.f("ix_schedules_pipeline_endpoint_id"),
        "schedules",
        ["pipeline_endpoint_id"],
        unique=False,
    )
    op.create_table(
        "schedule_fires",
        sa.Column("key", _Id, autoincrement=True, nullable=False),
        sa.Column("schedule_key", _Id, nullable=False),
        sa.Column("fire_key", sa.String(length=255), nullable=False),
        sa.Column("due_at", sa.Float(), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("claimed_at", sa.Float(), nullable=False),
        sa.Column("claimed_by", sa.String(length=64), nullable=True),
        sa.Column("run_id", sa.String(length=255), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.Column("ended_at", sa.Float(), nullable=True),
        sa.ForeignKeyConstraint(
            ["schedule_key"],
            ["schedules.key"],
            name=op.f("fk_schedule_fires_schedule_key_schedules"),
        ),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_schedule_fires")),
        sa.UniqueConstraint(
            "schedule_key", "fire_key", name=op.f("uq_schedule_fires_schedule_key_fire_key")
        ),
    )
    op.create_index(
        op.f("ix_schedule_fires_schedule_key_due_at"),
        "schedule_fires",
        ["schedule_key", "due_at"],
        unique=False,
    )
    op.create_table(
        "scheduler_daemons",
        sa.Column("key", _Id, autoincrement=True, nullable=False),
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("host", sa.String(length=255), nullable=False),
        sa.Column("pid", sa.Integer(), nullable=True),
        sa.Column("pid_started_at", sa.Float(), nullable=True),
        sa.Column("started_at", sa.Float(), nullable=False),
        sa.Column("heartbeat_at", sa.Float(), nullable=False),
        sa.Column("stopped_at", sa.Float(), nullable=True),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_scheduler_daemons")),
        sa.UniqueConstraint("id", name=op.f("uq_scheduler_daemons_id")),
    )


def downgrade() -> None:
    op.drop_table("scheduler_daemons")
    op.drop_index(op.f("ix_schedule_fires_schedule_key_due_at"), table_name="schedule_fires")
    op.drop_table("schedule_fires")
    op.drop_index(op.f("ix_schedules_pipeline_endpoint_id"), table_name="schedules")
    op.drop_index(op.f("ix_schedules_pipeline_id"), table_name="schedules")
    op.drop_table("schedules")
    op.drop_table("pipeline_endpoint_versions")
    op.drop_table("pipeline_endpoints")
    op.drop_index(op.f("ix_published_pipelines_name"), table_name="published_pipelines")
    op.drop_table("published_pipelines")
