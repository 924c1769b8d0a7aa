"""bounded rejections

Ingest keeps at most a set number of refused events per key: every write deletes the
key's rows past that number, which this index finds without reading the rest.

The keys `journeymap up` generated allowed browsers from any origin; generated keys
now allow none (a browser site gets a key with its own `--origin`).

Revision ID: 0008
Revises: 0007
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_rejected_events_source", "rejected_events", ["source", "id"])
    op.execute("UPDATE api_keys SET allowed_origins = '{}' WHERE name LIKE 'local-%'")


def downgrade() -> None:
    op.drop_index("ix_rejected_events_source", table_name="rejected_events")
