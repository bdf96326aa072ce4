"""metric_series.point_count: a series' size without counting its points

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("metric_series", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("point_count", sa.BigInteger(), nullable=False, server_default="0")
        )
    op.execute(
        "UPDATE metric_series SET point_count = "
        "(SELECT COUNT(*) FROM metric_points WHERE metric_points.series_id = metric_series.id)"
    )


def downgrade() -> None:
    with op.batch_alter_table("metric_series", schema=None) as batch_op:
        batch_op.drop_column("point_count")
