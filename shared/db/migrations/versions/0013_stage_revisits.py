"""stage revisits

A journey's summary counts its revisits per stage it was in when it went back, so the
stage flow reads them from the journey rows instead of every step. Documents written
since 0011 get the counts from their journey_steps; older ones still carry their steps
and are counted from them when read (shared/db/state_json.py).

Revision ID: 0013
Revises: 0012
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(
        "UPDATE journeys j SET state = j.state || jsonb_build_object('stage_revisits', "
        " coalesce((SELECT jsonb_object_agg(counted.stage, counted.revisits) FROM "
        "  (SELECT coalesce(s.stage, '') AS stage, count(*) AS revisits FROM journey_steps s "
        "   WHERE s.customer_id = j.customer_id AND s.product_id = j.product_id "
        "   AND s.instance = j.instance AND s.revisit GROUP BY 1) AS counted), '{}'::jsonb)) "
        "WHERE NOT j.state ? 'stage_revisits' AND NOT j.state ? 'steps'"
    )


def downgrade() -> None:
    op.execute("UPDATE journeys SET state = state - 'stage_revisits'")
