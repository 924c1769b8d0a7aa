"""event_log.key as bytes

Revision ID: 0004
Revises: 0003
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("ALTER TABLE event_log ALTER COLUMN key TYPE bytea USING convert_to(key, 'UTF8')")


def downgrade() -> None:
    op.execute("ALTER TABLE event_log ALTER COLUMN key TYPE text USING convert_from(key, 'UTF8')")
