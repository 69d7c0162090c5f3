"""Command-and-dispatch events (指挥调度事件, issue 14).

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-05

A new record kind ``event`` (joined-table inheritance like the six others): its own table ``events`` holds the
event kind, level, source (an alarm with its evidence JSON, or 手工), place, the dispatch clock (``dispatched_at``,
``due_at``, ``first_response_at``, ``answered_at``), the units' findings, the escalation bookkeeping and the link to
the enforcement case a violation clue became (docs/ledger.md#指挥调度).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("event_kind", sa.String(length=16), nullable=False),
        sa.Column("level", sa.String(length=24), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("alarm_id", sa.String(length=100), nullable=True),
        sa.Column("alarm_evidence", sa.JSON(), nullable=True),
        sa.Column("station", sa.String(length=100), nullable=True),
        sa.Column("location", sa.String(length=200), nullable=True),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("dispatched_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("first_response_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("findings", sa.Text(), nullable=True),
        sa.Column("return_reason", sa.Text(), nullable=True),
        sa.Column("verified_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("escalations", sa.Integer(), nullable=False),
        sa.Column("escalated_due_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("case_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["id"], ["ledger_records.id"], name=op.f("fk_events_id_ledger_records"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["case_id"], ["ledger_records.id"], name=op.f("fk_events_case_id_ledger_records")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_events")),
        sa.UniqueConstraint("alarm_id", name=op.f("uq_events_alarm_id")),
    )
    op.create_index("ix_events_event_kind", "events", ["event_kind"], unique=False)
    op.create_index("ix_events_due_at", "events", ["due_at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_events_due_at", table_name="events")
    op.drop_index("ix_events_event_kind", table_name="events")
    op.drop_table("events")
