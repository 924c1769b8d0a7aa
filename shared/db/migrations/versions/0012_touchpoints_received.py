"""touchpoints by arrival

The console's home shows the latest touchpoints and the events per minute; both read
the touchpoints by the time ingest received them. Arrival times only grow, so the
index appends at its right edge.

Revision ID: 0012
Revises: 0011
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_touchpoints_received", "touchpoints", ["received_at"])


def downgrade() -> None:
    op.drop_index("ix_touchpoints_received", table_name="touchpoints")
