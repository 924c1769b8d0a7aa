"""offset digests

Each stored offset keeps a digest of the record the maps read there, so a log that
was recreated and refilled past that offset is noticed instead of read on from.
Offsets stored before this have none: they are checked against the log's bounds only,
until the next batch stores one.

Revision ID: 0014
Revises: 0013
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("consumer_offsets", sa.Column("last_digest", sa.LargeBinary(), nullable=True))


def downgrade() -> None:
    op.drop_column("consumer_offsets", "last_digest")
