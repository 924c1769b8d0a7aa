"""timers by customer

The aggregator loads a batch's customers' timers; without this index that lookup
scanned every timer (seconds per batch at 100,000 customers).

Revision ID: 0006
Revises: 0005
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_timers_customer", "timers", ["customer_id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_timers_customer", table_name="timers")
