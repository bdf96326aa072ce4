"""metric_rollups: every 256 points of a series summarised, for charts of very long series

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

CHUNK = 256


def upgrade() -> None:
    op.create_table(
        "metric_rollups",
        sa.Column(
            "series_id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            sa.ForeignKey("metric_series.id", name="fk_metric_rollups_series_id_metric_series"),
            nullable=False,
        ),
        sa.Column("chunk", sa.BigInteger(), nullable=False),
        sa.Column("points", sa.Integer(), nullable=False),
        sa.Column("steps", sa.Integer(), nullable=False),
        sa.Column("first_step", sa.BigInteger(), nullable=True),
        sa.Column("first_value", sa.Float(), nullable=True),
        sa.Column("last_step", sa.BigInteger(), nullable=True),
        sa.Column("last_value", sa.Float(), nullable=True),
        sa.Column("low", sa.Float(), nullable=True),
        sa.Column("high", sa.Float(), nullable=True),
        sa.PrimaryKeyConstraint("series_id", "chunk", name="pk_metric_rollups"),
    )
    # Existing points, numbered within their series in logging order. NULLIF keeps a NaN
    # (PostgreSQL stores it as a value and orders it above every number) out of the extremes.
    op.execute(
        f"""
        WITH numbered AS (
            SELECT id, series_id, step, NULLIF(value, 'NaN') AS value,
                   (ROW_NUMBER() OVER (PARTITION BY series_id ORDER BY id) - 1) / {CHUNK} AS chunk
            FROM metric_points
        ), chunks AS (
            SELECT series_id, chunk, COUNT(*) AS points, COUNT(step) AS steps,
                   MIN(id) AS first_id, MAX(id) AS last_id, MIN(value) AS low, MAX(value) AS high
            FROM numbered GROUP BY series_id, chunk
        )
        INSERT INTO metric_rollups (series_id, chunk, points, steps, first_step, first_value,
                                    last_step, last_value, low, high)
        SELECT c.series_id, c.chunk, c.points, c.steps, f.step, f.value, l.step, l.value,
               c.low, c.high
        FROM chunks c JOIN numbered f ON f.id = c.first_id JOIN numbered l ON l.id = c.last_id
        """
    )


def downgrade() -> None:
    op.drop_table("metric_rollups")
