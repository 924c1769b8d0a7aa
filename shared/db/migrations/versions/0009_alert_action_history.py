"""alert action history

A resolve's note overwrote the acknowledge's. Each person's acknowledge and resolve is
now a row of its own: who, when, what, and the note. Existing alerts get the actions
their columns still show (an acknowledge's note was lost where a resolve followed it).

Revision ID: 0009
Revises: 0008
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "alert_actions",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("alert_id", sa.BigInteger(), nullable=False),
        sa.Column("action", sa.Text(), nullable=False),
        sa.Column("actor", sa.Text(), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["alert_id"], ["alerts.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_alert_actions_alert_id", "alert_actions", ["alert_id"], unique=False)
    op.execute(
        "INSERT INTO alert_actions (alert_id, action, actor, note, at) "
        "SELECT id, 'acknowledged', acknowledged_by, "
        "CASE WHEN status = 'acknowledged' THEN resolution_note END, acknowledged_at "
        "FROM alerts WHERE acknowledged_at IS NOT NULL AND acknowledged_by IS NOT NULL"
    )
    op.execute(
        "INSERT INTO alert_actions (alert_id, action, actor, note, at) "
        "SELECT id, 'resolved', resolved_by, resolution_note, resolved_at FROM alerts "
        "WHERE resolved_at IS NOT NULL AND resolved_by IS NOT NULL AND resolved_by <> 'condition'"
    )
    # An acknowledge's note lived in resolution_note; it is in the history now.
    op.execute("UPDATE alerts SET resolution_note = NULL WHERE status = 'acknowledged'")


def downgrade() -> None:
    op.drop_index("ix_alert_actions_alert_id", table_name="alert_actions")
    op.drop_table("alert_actions")
