"""Initial ledger schema: units, users, tokens, records of six kinds, progress, attachments, audit log.

Revision ID: 0001
Revises:
Create Date: 2026-11-25

The audit log is append-only at the database level too: triggers abort UPDATE and DELETE on SQLite, and UPDATE,
DELETE and TRUNCATE on PostgreSQL (docs/ledger.md#audit-log).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

_SQLITE_TRIGGERS = (
    """CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
       BEGIN SELECT RAISE(ABORT, 'audit_log is append-only: UPDATE refused'); END""",
    """CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
       BEGIN SELECT RAISE(ABORT, 'audit_log is append-only: DELETE refused'); END""",
)

_PG_TRIGGERS = (
    """CREATE OR REPLACE FUNCTION audit_log_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN
         RAISE EXCEPTION 'audit_log is append-only: % refused', TG_OP USING ERRCODE = 'insufficient_privilege';
       END $$""",
    """CREATE TRIGGER audit_log_no_update_delete BEFORE UPDATE OR DELETE ON audit_log
       FOR EACH ROW EXECUTE FUNCTION audit_log_refuse_change()""",
    """CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
       FOR EACH STATEMENT EXECUTE FUNCTION audit_log_refuse_change()""",
)


def _audit_triggers() -> None:
    name = op.get_bind().dialect.name
    statements = _SQLITE_TRIGGERS if name == "sqlite" else _PG_TRIGGERS if name == "postgresql" else ()
    if not statements:
        raise RuntimeError(f"the ledger supports SQLite and PostgreSQL, not {name}: audit-log triggers unavailable")
    for sql in statements:
        op.execute(sql)


def _drop_audit_triggers() -> None:
    name = op.get_bind().dialect.name
    if name == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS audit_log_no_update")
        op.execute("DROP TRIGGER IF EXISTS audit_log_no_delete")
    elif name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS audit_log_no_update_delete ON audit_log")
        op.execute("DROP TRIGGER IF EXISTS audit_log_no_truncate ON audit_log")
        op.execute("DROP FUNCTION IF EXISTS audit_log_refuse_change()")


def upgrade() -> None:
    op.create_table(
        "org_units",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("parent_id", sa.Integer(), nullable=True),
        sa.Column("district_id", sa.Integer(), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(["district_id"], ["org_units.id"], name=op.f("fk_org_units_district_id_org_units")),
        sa.ForeignKeyConstraint(["parent_id"], ["org_units.id"], name=op.f("fk_org_units_parent_id_org_units")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_org_units")),
        sa.UniqueConstraint("code", name=op.f("uq_org_units_code")),
        sa.UniqueConstraint("name", name=op.f("uq_org_units_name")),
    )
    op.create_table(
        "ledger_records",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("district_id", sa.Integer(), nullable=True),
        sa.Column("start_date", sa.Date(), nullable=True),
        sa.Column("deadline_kind", sa.String(length=24), nullable=True),
        sa.Column("deadline", sa.Date(), nullable=True),
        sa.Column("disclosed", sa.Boolean(), nullable=False),
        sa.Column("disclosure_text", sa.Text(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["district_id"], ["org_units.id"], name=op.f("fk_ledger_records_district_id_org_units")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_records")),
        sa.UniqueConstraint("kind", "code", name="uq_ledger_records_kind_code"),
    )
    op.create_index("ix_ledger_records_deadline", "ledger_records", ["deadline"], unique=False)
    op.create_index("ix_ledger_records_district_id", "ledger_records", ["district_id"], unique=False)
    op.create_index("ix_ledger_records_kind", "ledger_records", ["kind"], unique=False)
    op.create_index("ix_ledger_records_status", "ledger_records", ["status"], unique=False)
    op.create_table(
        "users",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("display_name", sa.String(length=100), nullable=False),
        sa.Column("password_hash", sa.String(length=255), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["unit_id"], ["org_units.id"], name=op.f("fk_users_unit_id_org_units")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
        sa.UniqueConstraint("username", name=op.f("uq_users_username")),
    )
    op.create_table(
        "api_tokens",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_api_tokens_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_tokens")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_api_tokens_token_hash")),
    )
    op.create_index("ix_api_tokens_user_id", "api_tokens", ["user_id"], unique=False)
    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("actor_name", sa.String(length=100), nullable=False),
        sa.Column("actor_role", sa.String(length=16), nullable=False),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("entity_type", sa.String(length=32), nullable=False),
        sa.Column("entity_id", sa.Integer(), nullable=True),
        sa.Column("record_id", sa.Integer(), nullable=True),
        sa.Column("record_version", sa.Integer(), nullable=True),
        sa.Column("before", sa.JSON(), nullable=True),
        sa.Column("after", sa.JSON(), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(["actor_id"], ["users.id"], name=op.f("fk_audit_log_actor_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log")),
        sa.UniqueConstraint("hash", name=op.f("uq_audit_log_hash")),
        sa.UniqueConstraint("prev_hash", name=op.f("uq_audit_log_prev_hash")),
    )
    op.create_index("ix_audit_log_entity", "audit_log", ["entity_type", "entity_id"], unique=False)
    op.create_index("ix_audit_log_record_id", "audit_log", ["record_id"], unique=False)
    op.create_table(
        "campaigns",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["id"], ["ledger_records.id"], name=op.f("fk_campaigns_id_ledger_records"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_campaigns")),
    )
    op.create_table(
        "enforcement_cases",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_no", sa.String(length=64), nullable=True),
        sa.Column("party", sa.String(length=200), nullable=False),
        sa.Column("violation", sa.Text(), nullable=False),
        sa.Column("legal_basis", sa.Text(), nullable=True),
        sa.Column("filed_on", sa.Date(), nullable=False),
        sa.Column("decision_no", sa.String(length=64), nullable=True),
        sa.Column("decided_on", sa.Date(), nullable=True),
        sa.Column("penalty_amount", sa.Numeric(precision=16, scale=2), nullable=True),
        sa.Column("transferred_on", sa.Date(), nullable=True),
        sa.Column("transfer_ref", sa.String(length=200), nullable=True),
        sa.Column("order_served_on", sa.Date(), nullable=True),
        sa.Column("stop_measure_on", sa.Date(), nullable=True),
        sa.ForeignKeyConstraint(
            ["id"], ["ledger_records.id"], name=op.f("fk_enforcement_cases_id_ledger_records"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_enforcement_cases")),
    )
    op.create_table(
        "key_tasks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("plan", sa.String(length=200), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("section", sa.String(length=100), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("completion_note", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["id"], ["ledger_records.id"], name=op.f("fk_key_tasks_id_ledger_records"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_key_tasks")),
    )
    op.create_table(
        "petitions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=24), nullable=False),
        sa.Column("category", sa.String(length=50), nullable=True),
        sa.Column("received_on", sa.Date(), nullable=False),
        sa.Column("complainant", sa.String(length=100), nullable=True),
        sa.Column("contact", sa.String(length=100), nullable=True),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("accept_due", sa.Date(), nullable=True),
        sa.Column("accepted_on", sa.Date(), nullable=True),
        sa.Column("assigned_on", sa.Date(), nullable=True),
        sa.Column("extension_days", sa.Integer(), nullable=False),
        sa.Column("extension_reason", sa.Text(), nullable=True),
        sa.Column("replied_on", sa.Date(), nullable=True),
        sa.Column("reply_text", sa.Text(), nullable=True),
        sa.Column("closed_on", sa.Date(), nullable=True),
        sa.Column("callback_on", sa.Date(), nullable=True),
        sa.Column("satisfaction", sa.String(length=24), nullable=True),
        sa.ForeignKeyConstraint(
            ["id"], ["ledger_records.id"], name=op.f("fk_petitions_id_ledger_records"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_petitions")),
    )
    op.create_table(
        "progress_entries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("record_id", sa.Integer(), nullable=False),
        sa.Column("entry_date", sa.Date(), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=True),
        sa.Column("author_name", sa.String(length=100), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["author_id"], ["users.id"], name=op.f("fk_progress_entries_author_id_users")),
        sa.ForeignKeyConstraint(
            ["record_id"],
            ["ledger_records.id"],
            name=op.f("fk_progress_entries_record_id_ledger_records"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_progress_entries")),
    )
    op.create_index("ix_progress_entries_record_id", "progress_entries", ["record_id"], unique=False)
    op.create_table(
        "projects",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("category", sa.String(length=100), nullable=True),
        sa.Column("planned_investment", sa.Numeric(precision=16, scale=2), nullable=True),
        sa.Column("completed_investment", sa.Numeric(precision=16, scale=2), nullable=True),
        sa.Column("percent_complete", sa.Numeric(precision=5, scale=2), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["id"], ["ledger_records.id"], name=op.f("fk_projects_id_ledger_records"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_projects")),
    )
    op.create_table(
        "record_units",
        sa.Column("record_id", sa.Integer(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["record_id"],
            ["ledger_records.id"],
            name=op.f("fk_record_units_record_id_ledger_records"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(["unit_id"], ["org_units.id"], name=op.f("fk_record_units_unit_id_org_units")),
        sa.PrimaryKeyConstraint("record_id", "unit_id", "role", name=op.f("pk_record_units")),
    )
    op.create_index("ix_record_units_unit_id", "record_units", ["unit_id"], unique=False)
    op.create_table(
        "rectification_items",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("source_inspection", sa.String(length=200), nullable=False),
        sa.Column("problem", sa.Text(), nullable=False),
        sa.Column("measures", sa.Text(), nullable=True),
        sa.Column("completion_note", sa.Text(), nullable=True),
        sa.Column("acceptance_evidence", sa.Text(), nullable=True),
        sa.Column("accepted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("accepted_by_id", sa.Integer(), nullable=True),
        sa.Column("signoff_evidence", sa.Text(), nullable=True),
        sa.Column("signed_off_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("signed_off_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["accepted_by_id"], ["users.id"], name=op.f("fk_rectification_items_accepted_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["id"], ["ledger_records.id"], name=op.f("fk_rectification_items_id_ledger_records"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["signed_off_by_id"], ["users.id"], name=op.f("fk_rectification_items_signed_off_by_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rectification_items")),
    )
    op.create_table(
        "attachments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("record_id", sa.Integer(), nullable=False),
        sa.Column("progress_id", sa.Integer(), nullable=True),
        sa.Column("purpose", sa.String(length=16), nullable=False),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column("content_type", sa.String(length=100), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("storage_key", sa.String(length=255), nullable=False),
        sa.Column("uploaded_by_id", sa.Integer(), nullable=True),
        sa.Column("uploaded_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["progress_id"], ["progress_entries.id"], name=op.f("fk_attachments_progress_id_progress_entries")
        ),
        sa.ForeignKeyConstraint(
            ["record_id"],
            ["ledger_records.id"],
            name=op.f("fk_attachments_record_id_ledger_records"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(["uploaded_by_id"], ["users.id"], name=op.f("fk_attachments_uploaded_by_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_attachments")),
    )
    op.create_index("ix_attachments_record_id", "attachments", ["record_id"], unique=False)
    op.create_table(
        "campaign_enterprises",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("credit_code", sa.String(length=32), nullable=True),
        sa.Column("district_id", sa.Integer(), nullable=True),
        sa.Column("stage", sa.String(length=16), nullable=False),
        sa.Column("stage_note", sa.Text(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["campaigns.id"],
            name=op.f("fk_campaign_enterprises_campaign_id_campaigns"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["district_id"], ["org_units.id"], name=op.f("fk_campaign_enterprises_district_id_org_units")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_campaign_enterprises")),
        sa.UniqueConstraint("campaign_id", "name", name="uq_campaign_enterprises_campaign_name"),
    )
    op.create_index("ix_campaign_enterprises_campaign_id", "campaign_enterprises", ["campaign_id"], unique=False)
    op.create_table(
        "case_rechecks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("recheck_on", sa.Date(), nullable=False),
        sa.Column("violation_continues", sa.Boolean(), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["enforcement_cases.id"],
            name=op.f("fk_case_rechecks_case_id_enforcement_cases"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_rechecks")),
    )
    op.create_index("ix_case_rechecks_case_id", "case_rechecks", ["case_id"], unique=False)
    op.create_table(
        "indicators",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("task_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("target_value", sa.Numeric(precision=18, scale=4), nullable=False),
        sa.Column("unit", sa.String(length=32), nullable=False),
        sa.Column("direction", sa.String(length=8), nullable=False),
        sa.ForeignKeyConstraint(
            ["task_id"], ["key_tasks.id"], name=op.f("fk_indicators_task_id_key_tasks"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_indicators")),
    )
    op.create_index("ix_indicators_task_id", "indicators", ["task_id"], unique=False)
    op.create_table(
        "milestones",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("planned_date", sa.Date(), nullable=True),
        sa.Column("done_date", sa.Date(), nullable=True),
        sa.ForeignKeyConstraint(
            ["project_id"], ["projects.id"], name=op.f("fk_milestones_project_id_projects"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_milestones")),
    )
    op.create_index("ix_milestones_project_id", "milestones", ["project_id"], unique=False)
    op.create_table(
        "indicator_values",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("indicator_id", sa.Integer(), nullable=False),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("value", sa.Numeric(precision=18, scale=4), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("author_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["author_id"], ["users.id"], name=op.f("fk_indicator_values_author_id_users")),
        sa.ForeignKeyConstraint(
            ["indicator_id"],
            ["indicators.id"],
            name=op.f("fk_indicator_values_indicator_id_indicators"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_indicator_values")),
    )
    op.create_index("ix_indicator_values_indicator_id", "indicator_values", ["indicator_id"], unique=False)

    _audit_triggers()


def downgrade() -> None:
    _drop_audit_triggers()
    op.drop_index("ix_indicator_values_indicator_id", table_name="indicator_values")
    op.drop_table("indicator_values")
    op.drop_index("ix_milestones_project_id", table_name="milestones")
    op.drop_table("milestones")
    op.drop_index("ix_indicators_task_id", table_name="indicators")
    op.drop_table("indicators")
    op.drop_index("ix_case_rechecks_case_id", table_name="case_rechecks")
    op.drop_table("case_rechecks")
    op.drop_index("ix_campaign_enterprises_campaign_id", table_name="campaign_enterprises")
    op.drop_table("campaign_enterprises")
    op.drop_index("ix_attachments_record_id", table_name="attachments")
    op.drop_table("attachments")
    op.drop_table("rectification_items")
    op.drop_index("ix_record_units_unit_id", table_name="record_units")
    op.drop_table("record_units")
    op.drop_table("projects")
    op.drop_index("ix_progress_entries_record_id", table_name="progress_entries")
    op.drop_table("progress_entries")
    op.drop_table("petitions")
    op.drop_table("key_tasks")
    op.drop_table("enforcement_cases")
    op.drop_table("campaigns")
    op.drop_index("ix_audit_log_record_id", table_name="audit_log")
    op.drop_index("ix_audit_log_entity", table_name="audit_log")
    op.drop_table("audit_log")
    op.drop_index("ix_api_tokens_user_id", table_name="api_tokens")
    op.drop_table("api_tokens")
    op.drop_table("users")
    op.drop_index("ix_ledger_records_status", table_name="ledger_records")
    op.drop_index("ix_ledger_records_kind", table_name="ledger_records")
    op.drop_index("ix_ledger_records_district_id", table_name="ledger_records")
    op.drop_index("ix_ledger_records_deadline", table_name="ledger_records")
    op.drop_table("ledger_records")
    op.drop_table("org_units")
