"""journey instances and stats

Existing journey rows become instance 0 without funnel columns; after upgrading,
run `journeymap rebuild-maps` (with the aggregators stopped) to recompute journeys,
experiences and the figures from the stored touchpoints.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23 14:44:16.861817
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


# The funnel reads only these: an index-only scan of the product's journeys.
_FUNNEL_COLUMNS = [
    "stage_rank",
    "first_channel",
    "abandoned_at",
    "converted_at",
    "stage_seconds",
    "last_type",
    "last_channel",
]


def upgrade() -> None:
    op.create_table(
        "data_versions",
        sa.Column("scope", sa.Text(), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("scope"),
    )
    op.create_table(
        "hotspot_stats",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("product_id", sa.Text(), nullable=False),
        sa.Column("type", sa.Text(), nullable=False),
        sa.Column("channel", sa.Text(), nullable=False),
        sa.Column("touches", sa.BigInteger(), nullable=False),
        sa.Column("sentiment_micros", sa.BigInteger(), nullable=False),
        sa.Column("sentiment_count", sa.BigInteger(), nullable=False),
        sa.Column("negative", sa.BigInteger(), nullable=False),
        sa.Column("promoters", sa.BigInteger(), nullable=False),
        sa.Column("passives", sa.BigInteger(), nullable=False),
        sa.Column("detractors", sa.BigInteger(), nullable=False),
        sa.Column("csat_total", sa.BigInteger(), nullable=False),
        sa.Column("csat_count", sa.BigInteger(), nullable=False),
        sa.Column("alerts", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("day", "product_id", "type", "channel"),
    )
    op.create_table(
        "journey_timeouts",
        sa.Column("customer_id", sa.Text(), nullable=False),
        sa.Column("product_id", sa.Text(), nullable=False),
        sa.Column("instance", sa.Integer(), nullable=False),
        sa.Column("partition", sa.Integer(), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("customer_id", "product_id"),
    )
    op.create_index(
        "ix_journey_timeouts_partition_due",
        "journey_timeouts",
        ["partition", "due_at"],
        unique=False,
    )
    op.create_table(
        "touch_stats",
        sa.Column("product_id", sa.Text(), nullable=False),
        sa.Column("cohort_day", sa.Date(), nullable=False),
        sa.Column("type", sa.Text(), nullable=False),
        sa.Column("channel", sa.Text(), nullable=False),
        sa.Column("journeys", sa.BigInteger(), nullable=False),
        sa.Column("touches", sa.BigInteger(), nullable=False),
        sa.Column("converted_after", sa.BigInteger(), nullable=False),
        sa.Column("bounced", sa.BigInteger(), nullable=False),
        sa.Column("sentiment_micros", sa.BigInteger(), nullable=False),
        sa.Column("sentiment_count", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("product_id", "cohort_day", "type", "channel"),
    )
    op.add_column(
        "journeys",
        sa.Column(
            "instance", sa.Integer(), autoincrement=False, nullable=False, server_default="0"
        ),
    )
    op.alter_column("journeys", "instance", server_default=None)
    op.drop_constraint("journeys_pkey", "journeys", type_="primary")
    op.create_primary_key("journeys_pkey", "journeys", ["customer_id", "product_id", "instance"])
    op.add_column("journeys", sa.Column("stage_rank", sa.SmallInteger(), nullable=True))
    op.add_column(
        "journeys",
        sa.Column(
            "stage_seconds",
            postgresql.ARRAY(sa.Double()),
            nullable=False,
            server_default="{}",
        ),
    )
    op.alter_column("journeys", "stage_seconds", server_default=None)
    op.add_column("journeys", sa.Column("abandoned_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("journeys", sa.Column("first_channel", sa.Text(), nullable=True))
    op.add_column("journeys", sa.Column("last_type", sa.Text(), nullable=True))
    op.add_column("journeys", sa.Column("last_channel", sa.Text(), nullable=True))
    op.create_index(
        "ix_journeys_product_started",
        "journeys",
        ["product_id", "started_at"],
        unique=False,
        postgresql_include=_FUNNEL_COLUMNS,
    )


def downgrade() -> None:
    op.drop_index("ix_journeys_product_started", table_name="journeys")
    op.drop_column("journeys", "last_channel")
    op.drop_column("journeys", "last_type")
    op.drop_column("journeys", "first_channel")
    op.drop_column("journeys", "abandoned_at")
    op.drop_column("journeys", "stage_seconds")
    op.drop_column("journeys", "stage_rank")
    op.drop_constraint("journeys_pkey", "journeys", type_="primary")
    op.drop_column("journeys", "instance")
    op.create_primary_key("journeys_pkey", "journeys", ["customer_id", "product_id"])
    op.drop_table("touch_stats")
    op.drop_index("ix_journey_timeouts_partition_due", table_name="journey_timeouts")
    op.drop_table("journey_timeouts")
    op.drop_table("hotspot_stats")
    op.drop_table("data_versions")
