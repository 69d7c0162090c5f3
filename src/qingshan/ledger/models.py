"""SQLAlchemy 2 typed ORM of the ledger (docs/ledger.md#model).

One base table ``ledger_records`` holds what every kind of record shares — code, title, status, district,
deadline, disclosure, optimistic-lock version — and each kind adds its own table (joined-table inheritance):
``rectification_items``, ``key_tasks``, ``projects``, ``campaigns``, ``petitions``, ``enforcement_cases``.
Responsible (责任/牵头) and cooperating (配合) units, progress entries, attachments and the audit log refer to the
base record, so permissions, timelines and transitions work the same for every kind.

Times are stored as Beijing time (docs/design.md#time): :class:`BeijingDateTime` keeps them timezone-aware on
PostgreSQL and as naive Beijing wall-clock time on SQLite, and always returns aware ``Asia/Shanghai`` values.
The schema is created by the Alembic migrations in ``migrations/versions`` — never by ``create_all`` — and a
test checks that both agree.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any, Optional
from zoneinfo import ZoneInfo

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

BEIJING = ZoneInfo("Asia/Shanghai")


def now_beijing() -> dt.datetime:
    """The current instant as an aware Beijing-time datetime."""
    return dt.datetime.now(BEIJING)


def today_beijing() -> dt.date:
    """Today's date in Beijing (deadlines and time limits are counted in Beijing calendar days)."""
    return now_beijing().date()


class BeijingDateTime(TypeDecorator[dt.datetime]):
    """An aware datetime stored as Beijing time on every backend (docs/design.md#time)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: Optional[dt.datetime], dialect: Any) -> Optional[dt.datetime]:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are refused: pass an aware datetime (Beijing time)")
        value = value.astimezone(BEIJING)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Optional[dt.datetime], dialect: Any) -> Optional[dt.datetime]:
        if value is None:
            return None
        return value.replace(tzinfo=BEIJING) if value.tzinfo is None else value.astimezone(BEIJING)


NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

Money = Numeric(16, 2)
Quantity = Numeric(18, 4)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


# --- organisation and people ---------------------------------------------------------------------------------

UNIT_KINDS = ("bureau", "department", "district", "town", "other")
UNIT_KIND_LABELS = {"bureau": "生态环境局", "department": "部门", "district": "辖市区", "town": "镇（街道）/园区", "other": "其他"}


class OrgUnit(Base):
    """An organisational unit: the bureau, a municipal department, a district (辖市区) or a town (镇/街道/园区).

    ``district_id`` is the district the unit belongs to (the unit itself for a district; NULL for city-level
    departments) — the scope of a district user.
    """

    __tablename__ = "org_units"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[str] = mapped_column(String(16))
    parent_id: Mapped[Optional[int]] = mapped_column(ForeignKey("org_units.id"))
    district_id: Mapped[Optional[int]] = mapped_column(ForeignKey("org_units.id"))
    active: Mapped[bool] = mapped_column(Boolean, default=True)


ROLES = ("admin", "bureau", "department", "district", "public")
ROLE_LABELS = {"admin": "系统管理员", "bureau": "局机关人员", "department": "部门用户", "district": "辖市区用户", "public": "公众"}


class User(Base):
    """A person who signs in. ``role`` is one of :data:`ROLES`; department and district users need a unit.
    User names and display names are unique ignoring case (indexes on ``lower(...)``, migration 0002)."""

    __tablename__ = "users"
    __table_args__ = (
        Index("uq_users_username_lower", func.lower(text("username")), unique=True),
        Index("uq_users_display_name_lower", func.lower(text("display_name")), unique=True),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(100))
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16))
    unit_id: Mapped[Optional[int]] = mapped_column(ForeignKey("org_units.id"))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(BeijingDateTime(), default=now_beijing)

    unit: Mapped[Optional[OrgUnit]] = relationship(lazy="joined")


class ApiToken(Base):
    """A bearer token for the API. Only the SHA-256 of the token is stored."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(BeijingDateTime(), default=now_beijing)
    expires_at: Mapped[dt.datetime] = mapped_column(BeijingDateTime())
    revoked_at: Mapped[Optional[dt.datetime]] = mapped_column(BeijingDateTime())

    user: Mapped[User] = relationship(lazy="joined")


# --- the shared record ------------------------------------------------------------------------------------------

KINDS = ("rectification", "key_task", "project", "campaign", "petition", "case", "event")
KIND_LABELS = {
    "rectification": "督察整改任务",
    "key_task": "重点任务",
    "project": "项目",
    "campaign": "专项整治",
    "petition": "信访件",
    "case": "执法案件",
    "event": "调度事件",
}

DEADLINE_KINDS = ("date", "immediate", "long_term", "immediate_long_term")
DEADLINE_KIND_LABELS = {
    "date": "日期",
    "immediate": "立行立改",
    "long_term": "长期坚持",
    "immediate_long_term": "立行立改、长期坚持",
}

UNIT_ROLES = ("responsible", "cooperating")


class Record(Base):
    """What every ledger record shares. ``version`` is the optimistic-lock counter (bumped by every change)."""

    __tablename__ = "ledger_records"
    __table_args__ = (UniqueConstraint("kind", "code", name="uq_ledger_records_kind_code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), index=True)
    code: Mapped[str] = mapped_column(String(64))
    title: Mapped[str] = mapped_column(String(300))
    status: Mapped[str] = mapped_column(String(32), index=True)
    district_id: Mapped[Optional[int]] = mapped_column(ForeignKey("org_units.id"), index=True)
    start_date: Mapped[Optional[dt.date]] = mapped_column(Date)
    deadline_kind: Mapped[Optional[str]] = mapped_column(String(24))
    deadline: Mapped[Optional[dt.date]] = mapped_column(Date, index=True)
    disclosed: Mapped[bool] = mapped_column(Boolean, default=False)
    disclosure_text: Mapped[Optional[str]] = mapped_column(Text)
    version: Mapped[int] = mapped_column(Integer, nullable=False)
    created_at: Mapped[dt.datetime] = mapped_column(BeijingDateTime(), default=now_beijing)
    updated_at: Mapped[dt.datetime] = mapped_column(BeijingDateTime(), default=now_beijing)
    closed_at: Mapped[Optional[dt.datetime]] = mapped_column(BeijingDateTime())

    units: Mapped[list[RecordUnit]] = relationship(
        back_populates="record", cascade="all, delete-orphan", lazy="selectin", order_by="RecordUnit.position"
    )
    progress: Mapped[list[ProgressEntry]] = relationship(
        back_populates="record", cascade="all, delete-orphan", order_by="(ProgressEntry.entry_date, ProgressEntry.id)"
    )
    attachments: Mapped[list[Attachment]] = relationship(back_populates="record", cascade="all, delete-orphan")
    district: Mapped[Optional[OrgUnit]] = relationship(foreign_keys=[district_id], lazy="joined")

    __mapper_args__ = {"polymorphic_on": "kind", "version_id_col": version}

    def unit_ids(self, role: str | None = None) -> set[int]:
        return {u.unit_id for u in self.units if role is None or u.role == role}

    def unit_names(self, role: str) -> list[str]:
        return [u.unit.name for u in self.units if u.role == role]


class RecordUnit(Base):
    """A unit attached to a record as responsible (责任) or cooperating (配合), and its own part of the work.

    ``lead`` marks a responsible unit as the lead (牵头单位), answerable for the whole record: only a lead unit (or
    the bureau) submits the whole record as complete, and only once every other unit has reported its part
    (docs/ledger.md#分工完成情况). Several responsible units without a lead are co-responsible (按职责分工负责):
    each reports its part and the bureau confirms the whole. ``part_done_on``/``part_note``/``part_by`` are the
    unit's report that its own part is done (NULL: not reported); the audit log keeps every report and withdrawal.
    """

    __tablename__ = "record_units"

    record_id: Mapped[int] = mapped_column(ForeignKey("ledger_records.id", ondelete="CASCADE"), primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"), primary_key=True, index=True)
    role: Mapped[str] = mapped_column(String(16), primary_key=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    lead: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))
    part_done_on: Mapped[Optional[dt.date]] = mapped_column(Date)
    part_note: Mapped[Optional[str]] = mapped_column(Text)
    part_by: Mapped[Optional[str]] = mapped_column(String(100))

    record: Mapped[Record] = relationship(back_populates="units")
    unit: Mapped[OrgUnit] = relationship(lazy="joined")


class ProgressEntry(Base):
    """A dated progress report (整改进展) by a user. Entries are never edited: a correction is a new entry."""

    __tablename__ = "progress_entries"

    id: Mapped[int] = mapped_column(primary_key=True)
    record_id: Mapped[int] = mapped_column(ForeignKey("ledger_records.id", ondelete="CASCADE"), index=True)
    entry_date: Mapped[dt.date] = mapped_column(Date)
    author_id: Mapped[Optional[int]] = mapped_column(ForeignKey("users.id"))
    author_name: Mapped[str] = mapped_column(String(100))
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(BeijingDateTime(), default=now_beijing)

    record: Mapped[Record] = relationship(back_populates="progress")
    attachments: Mapped[list[Attachment]] = relationship(back_populates="progress_entry")


class Attachment(Base):
    """A stored file (evidence, photos, documents). ``storage_key`` is relative to the workspace's file store."""

    __tablename__ = "attachments"

    id: Mapped[int] = mapped_column(primary_key=True)
    record_id: Mapped[int] = mapped_column(ForeignKey("ledger_records.id", ondelete="CASCADE"), index=True)
    progress_id: Mapped[Optional[int]] = mapped_column(ForeignKey("progress_entries.id"))
    purpose: Mapped[str] = mapped_column(String(16), default="progress")
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    storage_key: Mapped[str] = mapped_column(String(255))
    uploaded_by_id: Mapped[Optional[int]] = mapped_column(ForeignKey("users.id"))
    uploaded_at: Mapped[dt.datetime] = mapped_column(BeijingDateTime(), default=now_beijing)

    record: Mapped[Record] = relationship(back_populates="attachments")
    progress_entry: Mapped[Optional[ProgressEntry]] = relationship(back_populates="attachments")


# --- the six kinds ----------------------------------------------------------------------------------------------


class RectificationItem(Record):
    """A rectification task after an environmental inspection (督察整改任务).

    Sign-off (销号) needs the acceptance evidence (验收) and a public disclosure text (公开).
    """

    __tablename__ = "rectification_items"

    id: Mapped[int] = mapped_column(ForeignKey("ledger_records.id", ondelete="CASCADE"), primary_key=True)
    seq: Mapped[int] = mapped_column(Integer)
    source_inspection: Mapped[str] = mapped_column(String(200))
    problem: Mapped[str] = mapped_column(Text)
    measures: Mapped[Optional[str]] = mapped_column(Text)
    completion_note: Mapped[Optional[str]] = mapped_column(Text)
    acceptance_evidence: Mapped[Optional[str]] = mapped_column(Text)
    accepted_at: Mapped[Optional[dt.datetime]] = mapped_column(BeijingDateTime())
    accepted_by_id: Mapped[Optional[int]] = mapped_column(ForeignKey("users.id"))
    signoff_evidence: Mapped[Optional[str]] = mapped_column(Text)
    signed_off_at: Mapped[Optional[dt.datetime]] = mapped_column(BeijingDateTime())
    signed_off_by_id: Mapped[Optional[int]] = mapped_column(ForeignKey("users.id"))

    __mapper_args__ = {"polymorphic_identity": "rectification", "polymorphic_load": "selectin"}


class KeyTask(Record):
    """An annual key task of a work plan (重点任务) with quantitative indicators."""

    __tablename__ = "key_tasks"

    id: Mapped[int] = mapped_column(ForeignKey("ledger_records.id", ondelete="CASCADE"), primary_key=True)
    seq: Mapped[int] = mapped_column(Integer)
    plan: Mapped[str] = mapped_column(String(200))
    year: Mapped[int] = mapped_column(Integer)
    section: Mapped[Optional[str]] = mapped_column(String(100))
    description: Mapped[Optional[str]] = mapped_column(Text)
    completion_note: Mapped[Optional[str]] = mapped_column(Text)

    indicators: Mapped[list[Indicator]] = relationship(
        back_populates="task", cascade="all, delete-orphan", order_by="Indicator.position", lazy="selectin"
    )

    __mapper_args__ = {"polymorphic_identity": "key_task", "polymorphic_load": "selectin"}


class Indicator(Base):
    """A quantitative target of a key task: ``direction`` 'min' (at least) or 'max' (at most)."""

    __tablename__ = "indicators"

    id: Mapped[int] = mapped_column(primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("key_tasks.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    name: Mapped[str] = mapped_column(String(200))
    target_value: Mapped[Decimal] = mapped_column(Quantity)
    unit: Mapped[str] = mapped_column(String(32))
    direction: Mapped[str] = mapped_column(String(8), default="min")

    task: Mapped[KeyTask] = relationship(back_populates="indicators")
    values: Mapped[list[IndicatorValue]] = relationship(
        back_populates="indicator", cascade="all, delete-orphan",
        order_by="(IndicatorValue.as_of, IndicatorValue.id)", lazy="selectin",
    )


class IndicatorValue(Base):
    """The achieved value of an indicator as of a date (cumulative for the year)."""

    __tablename__ = "indicator_values"

    id: Mapped[int] = mapped_column(primary_key=True)
    indicator_id: Mapped[int] = mapped_column(ForeignKey("indicators.id", ondelete="CASCADE"), index=True)
    as_of: Mapped[dt.date] = mapped_column(Date)
    value: Mapped[Decimal] = mapped_column(Quantity)
    note: Mapped[Optional[str]] = mapped_column(Text)
    author_id: Mapped[Optional[int]] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[dt.datetime] = mapped_column(BeijingDateTime(), default=now_beijing)

    indicator: Mapped[Indicator] = relationship(back_populates="values")


class Project(Record):
    """A project: planned vs completed investment (万元), milestones and percent complete."""

    __tablename__ = "projects"

    id: Mapped[int] = mapped_column(ForeignKey("ledger_records.id", ondelete="CASCADE"), primary_key=True)
    category: Mapped[Optional[str]] = mapped_column(String(100))
    planned_investment: Mapped[Optional[Decimal]] = mapped_column(Money)
    completed_investment: Mapped[Optional[Decimal]] = mapped_column(Money)
    percent_complete: Mapped[Optional[Decimal]] = mapped_column(Numeric(5, 2))
    description: Mapped[Optional[str]] = mapped_column(Text)

    milestones: Mapped[list[Milestone]] = relationship(
        back_populates="project", cascade="all, delete-orphan", order_by="Milestone.position", lazy="selectin"
    )

    __mapper_args__ = {"polymorphic_identity": "project", "polymorphic_load": "selectin"}


class Milestone(Base):
    __tablename__ = "milestones"

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    name: Mapped[str] = mapped_column(String(200))
    planned_date: Mapped[Optional[dt.date]] = mapped_column(Date)
    done_date: Mapped[Optional[dt.date]] = mapped_column(Date)

    project: Mapped[Project] = relationship(back_populates="milestones")


ENTERPRISE_STAGES = ("registered", "plan_approved", "remediated", "accepted")
ENTERPRISE_STAGE_LABELS = {
    "registered": "待方案审核",
    "plan_approved": "方案审核完成",
    "remediated": "整治完成",
    "accepted": "验收通过",
}


class Campaign(Record):
    """An enterprise remediation campaign (专项整治, e.g. 涉磷企业整治): each enterprise moves
    方案审核 → 整治 → 验收; the completion rates are cumulative shares of the enterprises in scope."""

    __tablename__ = "campaigns"

    id: Mapped[int] = mapped_column(ForeignKey("ledger_records.id", ondelete="CASCADE"), primary_key=True)
    description: Mapped[Optional[str]] = mapped_column(Text)

    enterprises: Mapped[list[CampaignEnterprise]] = relationship(
        back_populates="campaign", cascade="all, delete-orphan", order_by="CampaignEnterprise.id"
    )

    __mapper_args__ = {"polymorphic_identity": "campaign", "polymorphic_load": "selectin"}


class CampaignEnterprise(Base):
    __tablename__ = "campaign_enterprises"
    __table_args__ = (UniqueConstraint("campaign_id", "name", name="uq_campaign_enterprises_campaign_name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    credit_code: Mapped[Optional[str]] = mapped_column(String(32))
    district_id: Mapped[Optional[int]] = mapped_column(ForeignKey("org_units.id"))
    stage: Mapped[str] = mapped_column(String(16), default="registered")
    stage_note: Mapped[Optional[str]] = mapped_column(Text)
    updated_at: Mapped[dt.datetime] = mapped_column(BeijingDateTime(), default=now_beijing)

    campaign: Mapped[Campaign] = relationship(back_populates="enterprises")


PETITION_CHANNELS = ("letter_visit", "hotline_12369", "inspection_handover")
PETITION_CHANNEL_LABELS = {"letter_visit": "来信来访", "hotline_12369": "12369 热线", "inspection_handover": "督察组交办"}
SATISFACTION = ("satisfied", "basically_satisfied", "unsatisfied")
SATISFACTION_LABELS = {"satisfied": "满意", "basically_satisfied": "基本满意", "unsatisfied": "不满意"}


class Petition(Record):
    """A petition (信访件 / 12369 complaint). Time limits (``accept_due``, ``reply_due``) are working days on the
    calendar with swapped days (:mod:`.workcal`); the policy per channel is in :mod:`.workflow`.
    ``complainant`` and ``contact`` are personal data: never disclosed, masked for users who do not handle it."""

    __tablename__ = "petitions"

    id: Mapped[int] = mapped_column(ForeignKey("ledger_records.id", ondelete="CASCADE"), primary_key=True)
    channel: Mapped[str] = mapped_column(String(24))
    category: Mapped[Optional[str]] = mapped_column(String(50))
    received_on: Mapped[dt.date] = mapped_column(Date)
    complainant: Mapped[Optional[str]] = mapped_column(String(100))
    contact: Mapped[Optional[str]] = mapped_column(String(100))
    content: Mapped[str] = mapped_column(Text)
    accept_due: Mapped[Optional[dt.date]] = mapped_column(Date)
    accepted_on: Mapped[Optional[dt.date]] = mapped_column(Date)
    assigned_on: Mapped[Optional[dt.date]] = mapped_column(Date)
    extension_days: Mapped[int] = mapped_column(Integer, default=0)
    extension_reason: Mapped[Optional[str]] = mapped_column(Text)
    replied_on: Mapped[Optional[dt.date]] = mapped_column(Date)
    reply_text: Mapped[Optional[str]] = mapped_column(Text)
    closed_on: Mapped[Optional[dt.date]] = mapped_column(Date)
    callback_on: Mapped[Optional[dt.date]] = mapped_column(Date)
    satisfaction: Mapped[Optional[str]] = mapped_column(String(24))

    __mapper_args__ = {"polymorphic_identity": "petition", "polymorphic_load": "selectin"}


class EnforcementCase(Record):
    """An administrative penalty case (执法案件): 立案 → 调查 → 告知 → 处罚决定 → 执行 → 结案, optional transfer
    to the police (移送公安), and the 按日连续处罚 inputs (order served, re-inspections, stop measure)."""

    __tablename__ = "enforcement_cases"

    id: Mapped[int] = mapped_column(ForeignKey("ledger_records.id", ondelete="CASCADE"), primary_key=True)
    case_no: Mapped[Optional[str]] = mapped_column(String(64))
    party: Mapped[str] = mapped_column(String(200))
    violation: Mapped[str] = mapped_column(Text)
    legal_basis: Mapped[Optional[str]] = mapped_column(Text)
    filed_on: Mapped[dt.date] = mapped_column(Date)
    decision_no: Mapped[Optional[str]] = mapped_column(String(64))
    decided_on: Mapped[Optional[dt.date]] = mapped_column(Date)
    penalty_amount: Mapped[Optional[Decimal]] = mapped_column(Money)
    transferred_on: Mapped[Optional[dt.date]] = mapped_column(Date)
    transfer_ref: Mapped[Optional[str]] = mapped_column(String(200))
    order_served_on: Mapped[Optional[dt.date]] = mapped_column(Date)
    stop_measure_on: Mapped[Optional[dt.date]] = mapped_column(Date)

    rechecks: Mapped[list[CaseRecheck]] = relationship(
        back_populates="case", cascade="all, delete-orphan", order_by="CaseRecheck.recheck_on", lazy="selectin"
    )

    __mapper_args__ = {"polymorphic_identity": "case", "polymorphic_load": "selectin"}


class CaseRecheck(Base):
    """A re-inspection (复查) after a correction order: did the illegal discharge continue?"""

    __tablename__ = "case_rechecks"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("enforcement_cases.id", ondelete="CASCADE"), index=True)
    recheck_on: Mapped[dt.date] = mapped_column(Date)
    violation_continues: Mapped[bool] = mapped_column(Boolean)
    note: Mapped[Optional[str]] = mapped_column(Text)

    case: Mapped[EnforcementCase] = relationship(back_populates="rechecks")


EVENT_KINDS = ("quality", "violation", "emergency", "petition")
EVENT_KIND_LABELS = {"quality": "环境质量问题", "violation": "环境违法线索", "emergency": "突发环境事件",
                     "petition": "环境信访事项"}
#: the four grades of 《国家突发环境事件应急预案》(国办函〔2014〕119号) §1.4 / 附件1, lowest first; used for every kind
EVENT_LEVELS = ("general", "larger", "major", "especially_major")
EVENT_LEVEL_LABELS = {"general": "一般", "larger": "较大", "major": "重大", "especially_major": "特别重大"}
EVENT_SOURCES = ("alarm", "manual")


class Event(Record):
    """A command-and-dispatch event (指挥调度事件, seed 003): 环境质量问题, 环境违法线索, 突发环境事件 or 环境信访事项,
    created from an alarm (``source`` 'alarm', its evidence kept in ``alarm_evidence``) or by hand, dispatched to
    units with a deadline in hours or working days (``due_at``), answered by the units, verified by the bureau.

    ``escalated_due_at`` is the deadline whose overdue escalation was done (escalation is idempotent per deadline);
    ``case_id`` links a violation clue to the enforcement case it became.
    """

    __tablename__ = "events"

    id: Mapped[int] = mapped_column(ForeignKey("ledger_records.id", ondelete="CASCADE"), primary_key=True)
    event_kind: Mapped[str] = mapped_column(String(16), index=True)
    level: Mapped[str] = mapped_column(String(24))
    source: Mapped[str] = mapped_column(String(16))
    alarm_id: Mapped[Optional[str]] = mapped_column(String(100), unique=True)  # one event per alarm, even racing
    alarm_evidence: Mapped[Optional[Any]] = mapped_column(JSON)
    station: Mapped[Optional[str]] = mapped_column(String(100))
    location: Mapped[Optional[str]] = mapped_column(String(200))
    occurred_at: Mapped[Optional[dt.datetime]] = mapped_column(BeijingDateTime())
    description: Mapped[str] = mapped_column(Text)
    dispatched_at: Mapped[Optional[dt.datetime]] = mapped_column(BeijingDateTime())
    due_at: Mapped[Optional[dt.datetime]] = mapped_column(BeijingDateTime(), index=True)
    first_response_at: Mapped[Optional[dt.datetime]] = mapped_column(BeijingDateTime())
    answered_at: Mapped[Optional[dt.datetime]] = mapped_column(BeijingDateTime())
    findings: Mapped[Optional[str]] = mapped_column(Text)
    return_reason: Mapped[Optional[str]] = mapped_column(Text)
    verified_at: Mapped[Optional[dt.datetime]] = mapped_column(BeijingDateTime())
    escalations: Mapped[int] = mapped_column(Integer, default=0)
    escalated_due_at: Mapped[Optional[dt.datetime]] = mapped_column(BeijingDateTime())
    case_id: Mapped[Optional[int]] = mapped_column(ForeignKey("ledger_records.id"))

    __mapper_args__ = {"polymorphic_identity": "event", "polymorphic_load": "selectin",
                       "inherit_condition": id == Record.id}


# --- the audit log ----------------------------------------------------------------------------------------------


class AuditEntry(Base):
    """One change: who (actor), when (``at``), what (action, entity, record), before/after (JSON), and the
    record's version after the change. Append-only: the service refuses updates/deletes and database
    triggers (SQLite and PostgreSQL) abort any UPDATE, DELETE or TRUNCATE. ``hash`` chains every entry to the
    previous one (SHA-256), so a rewrite that bypassed the triggers is detected by :func:`.audit.verify_chain`;
    ``prev_hash`` is unique, so two concurrent writers can never fork the chain (the second one fails and retries).
    """

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_entity", "entity_type", "entity_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(BeijingDateTime())
    actor_id: Mapped[Optional[int]] = mapped_column(ForeignKey("users.id"))
    actor_name: Mapped[str] = mapped_column(String(100))
    actor_role: Mapped[str] = mapped_column(String(16))
    action: Mapped[str] = mapped_column(String(64))
    entity_type: Mapped[str] = mapped_column(String(32))
    entity_id: Mapped[Optional[int]] = mapped_column(Integer)
    record_id: Mapped[Optional[int]] = mapped_column(Integer, index=True)
    record_version: Mapped[Optional[int]] = mapped_column(Integer)
    before: Mapped[Optional[Any]] = mapped_column(JSON)
    after: Mapped[Optional[Any]] = mapped_column(JSON)
    note: Mapped[Optional[str]] = mapped_column(Text)
    prev_hash: Mapped[str] = mapped_column(String(64), unique=True)
    hash: Mapped[str] = mapped_column(String(64), unique=True)
