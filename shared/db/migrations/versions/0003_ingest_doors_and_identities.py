"""ingest doors and identities

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 14:12:50.886575
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "api_keys",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("prefix", sa.Text(), nullable=False),
        sa.Column("key_hash", sa.Text(), nullable=False),
        sa.Column("scopes", sa.ARRAY(sa.Text()), nullable=False),
        sa.Column("allowed_origins", sa.ARRAY(sa.Text()), nullable=False),
        sa.Column("rate_per_second", sa.Double(), nullable=True),
        sa.Column("burst", sa.Integer(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("key_hash"),
        sa.UniqueConstraint("name"),
    )
    op.create_table(
        "identities",
        sa.Column("anonymous_id", sa.Text(), nullable=False),
        sa.Column("customer_id", sa.Text(), nullable=False),
        sa.Column("linked_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("event_id", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("anonymous_id"),
    )
    op.create_index("ix_identities_customer", "identities", ["customer_id"], unique=False)
    op.create_table(
        "rejected_events",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("endpoint", sa.Text(), nullable=False),
        sa.Column("item_index", sa.Integer(), nullable=True),
        sa.Column("event_id", sa.Text(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("payload", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_rejected_events_received", "rejected_events", ["received_at", "id"], unique=False
    )
    op.add_column(
        "touchpoints",
        sa.Column("identified", sa.Boolean(), server_default=sa.text("false"), nullable=False),
    )
    op.create_index("ix_touchpoints_anonymous", "touchpoints", ["anonymous_id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_touchpoints_anonymous", table_name="touchpoints")
    op.drop_column("touchpoints", "identified")
    op.drop_index("ix_rejected_events_received", table_name="rejected_events")
    op.drop_table("rejected_events")
    op.drop_index("ix_identities_customer", table_name="identities")
    op.drop_table("identities")
    op.drop_table("api_keys")
