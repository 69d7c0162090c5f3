"""Lead units and each unit's own part (牵头单位, 分工完成情况; issue 15).

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-06

``record_units`` gains ``lead`` (the responsible unit answerable for the whole record) and the unit's report that
its own part is done (``part_done_on``, ``part_note``, ``part_by``). Existing records keep their meaning: a record
with exactly one responsible unit has that unit as its lead; several responsible units stay co-responsible
(按职责分工负责) without a lead — the bureau confirms the whole (docs/ledger.md#分工完成情况).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("record_units", sa.Column("lead", sa.Boolean(), nullable=False, server_default=sa.text("false")))
    op.add_column("record_units", sa.Column("part_done_on", sa.Date(), nullable=True))
    op.add_column("record_units", sa.Column("part_note", sa.Text(), nullable=True))
    op.add_column("record_units", sa.Column("part_by", sa.String(length=100), nullable=True))
    # the sole responsible unit of a record is its lead (re-running sets the same rows again)
    op.execute(sa.text(
        "UPDATE record_units SET lead = true WHERE role = 'responsible' AND record_id IN ("
        " SELECT record_id FROM record_units WHERE role = 'responsible' GROUP BY record_id HAVING count(*) = 1)"))


def downgrade() -> None:
    with op.batch_alter_table("record_units") as batch:
        batch.drop_column("part_by")
        batch.drop_column("part_note")
        batch.drop_column("part_done_on")
        batch.drop_column("lead")
