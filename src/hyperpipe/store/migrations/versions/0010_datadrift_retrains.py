"""datadrift_retrains: the retrains drift monitors started, claimed one at a time per monitor

Revision ID: 0010
Revises: 0009

Monitors already in a store recorded their retrains only as tags of the check runs
(``retrain_window_end``, ``retrain_run_id``); those are copied in, so a cool-down running when
the store is upgraded still holds.
"""

from __future__ import annotations

import json
import time

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

_PREFIX = "datadrift-"


def upgrade() -> None:
    retrains = op.create_table(
        "datadrift_retrains",
        sa.Column(
            "key",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("window_start", sa.String(length=32), nullable=False),
        sa.Column("window_end", sa.String(length=32), nullable=False),
        sa.Column("check_run_id", sa.String(length=255), nullable=False),
        sa.Column("retrain_run_id", sa.String(length=255), nullable=True),
        sa.Column("claimed_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_datadrift_retrains")),
    )
    op.create_index(op.f("ix_datadrift_retrains_name"), "datadrift_retrains", ["name"])

    conn = op.get_bind()
    runs = sa.table(
        "runs",
        sa.column("id", sa.String),
        sa.column("experiment_key", sa.BigInteger),
        sa.column("tags", sa.JSON),
        sa.column("properties", sa.JSON),
        sa.column("created_at", sa.Float),
    )
    experiments = sa.table("experiments", sa.column("key", sa.BigInteger), sa.column("name"))
    rows = conn.execute(
        sa.select(experiments.c.name, runs.c.id, runs.c.tags, runs.c.properties, runs.c.created_at)
        .select_from(runs.join(experiments, runs.c.experiment_key == experiments.c.key))
        .where(experiments.c.name.like(f"{_PREFIX}%"))
    ).all()
    copied = []
    for name, run_id, tags, properties, created_at in rows:
        tags = json.loads(tags) if isinstance(tags, str) else (tags or {})
        properties = json.loads(properties) if isinstance(properties, str) else (properties or {})
        end = tags.get("retrain_window_end")
        if not end:
            continue
        copied.append(
            {
                "name": name[len(_PREFIX) :],
                "window_start": properties.get("datadrift_start", end),
                "window_end": end,
                "check_run_id": run_id,
                "retrain_run_id": tags.get("retrain_run_id"),
                "claimed_at": created_at or time.time(),
            }
        )
    if copied:
        conn.execute(sa.insert(retrains), copied)


def downgrade() -> None:
    op.drop_index(op.f("ix_datadrift_retrains_name"), table_name="datadrift_retrains")
    op.drop_table("datadrift_retrains")
