"""journey steps

Journey and experience states become summaries of bounded size. A journey's steps
move from its state document to the journey_steps table, one row per step; the
experience map reads its sentiment curve and support timeline from the touchpoints,
and the friction rules their evidence, through indexes made for it.
Documents written before keep their lists until the aggregator next saves them: the
readers derive the summaries from them (shared/db/state_json.py).

Revision ID: 0011
Revises: 0010
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "journey_steps",
        sa.Column("customer_id", sa.Text(), nullable=False),
        sa.Column("product_id", sa.Text(), nullable=False),
        sa.Column("instance", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("position", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("event_id", sa.Text(), nullable=False),
        sa.Column("type", sa.Text(), nullable=False),
        sa.Column("channel", sa.Text(), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("stage", sa.Text(), nullable=True),
        sa.Column("revisit", sa.Boolean(), nullable=False),
        sa.Column("sentiment", sa.Double(), nullable=True),
        sa.PrimaryKeyConstraint("customer_id", "product_id", "instance", "position"),
    )
    # A step is [event_id, type, channel, occurred_at, stage, revisit, sentiment?].
    op.execute(
        "INSERT INTO journey_steps (customer_id, product_id, instance, position, event_id, "
        "type, channel, occurred_at, stage, revisit, sentiment) "
        "SELECT j.customer_id, j.product_id, j.instance, s.n - 1, s.step->>0, s.step->>1, "
        "s.step->>2, (s.step->>3)::timestamptz, s.step->>4, (s.step->>5)::boolean, "
        "(s.step->>6)::float8 FROM journeys j "
        "CROSS JOIN LATERAL jsonb_array_elements(j.state->'steps') WITH ORDINALITY AS s(step, n) "
        "WHERE j.state ? 'steps'"
    )
    op.create_index(
        "ix_touchpoints_customer_type_time",
        "touchpoints",
        ["customer_id", "type", "occurred_at"],
    )
    op.create_index(
        "ix_touchpoints_customer_sentiment",
        "touchpoints",
        ["customer_id", "occurred_at"],
        postgresql_where=sa.text("sentiment IS NOT NULL"),
    )


def downgrade() -> None:
    op.drop_index("ix_touchpoints_customer_sentiment", table_name="touchpoints")
    op.drop_index("ix_touchpoints_customer_type_time", table_name="touchpoints")
    op.drop_table("journey_steps")
