"""Roles, permissions and scopes — our own small RBAC module (docs/design.md#web), enforced in the service.

Roles (docs/ledger.md#roles):

=============  ==========================================  ============================================
role           sees                                        changes
=============  ==========================================  ============================================
``admin``      everything, the audit log                   everything, users and units
``bureau``     everything, the audit log                   every record; supervisor steps (验收, 销号,
                                                           受理, 交办, 延期, 办结, 处罚决定 …); imports
``department`` every record; of a petition or a case only   only records where its unit is **responsible**
               the outline unless its unit handles it      (责任/牵头 — cooperating 配合 is not enough):
                                                           fields, progress, files, responsible steps
``district``   records of its district: the record's       records whose responsible unit lies in its
               district, or a unit of the district         district (or whose district is its own)
               attached to it
``public``     only disclosed records, public fields       nothing
=============  ==========================================  ============================================

Anonymous API callers are ``public``. A record that a principal may not see is reported as *not found*
(its existence is not leaked); a record it may see but not change gives *permission denied*.

Seeing a record is not seeing all of it. Its **content** — progress texts, attachments, the timeline (audit
trail) and the free texts that may carry personal data — is for :func:`can_see_content`: supervisors, and for the
kinds in :data:`PERSONAL_KINDS` (petitions: complainants' names, phones and complaints; cases: the parties of a
penalty) only the units handling the record (the same principals as :func:`can_edit`); the public never. Everybody
else who may view such a record gets its outline (code, title, status, deadline, units) with the rest masked.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..errors import QingshanError
from .models import ROLES

if TYPE_CHECKING:
    from .models import Record, User

SUPERVISORS = frozenset({"admin", "bureau"})


class LedgerError(QingshanError):
    """Base of the ledger's user-facing errors (messages in Chinese; the API maps each subclass to its 4xx)."""


class PermissionDenied(LedgerError):
    pass


class NotFound(LedgerError):
    pass


@dataclass(frozen=True)
class Principal:
    """Who acts: a user, the local operator (CLI) or the anonymous public."""

    role: str
    user_id: int | None = None
    name: str = "公众"
    unit_id: int | None = None
    district_id: int | None = None

    def __post_init__(self) -> None:
        if self.role not in ROLES:
            raise ValueError(f"unknown role {self.role!r}")
        if self.role in ("department", "district") and self.unit_id is None:
            raise ValueError(f"a {self.role} user needs a unit")
        if self.role == "district" and self.district_id is None:
            raise ValueError("a district user's unit must belong to a district")

    @property
    def is_supervisor(self) -> bool:
        return self.role in SUPERVISORS

    @property
    def is_public(self) -> bool:
        return self.role == "public"

    @classmethod
    def public(cls) -> Principal:
        return cls("public")

    @classmethod
    def system(cls, name: str = "系统（本机命令行）") -> Principal:
        """The local operator: whoever can run the CLI on the workspace can already read and write its files."""
        return cls("admin", None, name)

    @classmethod
    def of(cls, user: User) -> Principal:
        unit = user.unit
        return cls(user.role, user.id, user.display_name or user.username, user.unit_id,
                   unit.district_id if unit is not None else None)


def _record_districts(record: Record, role: str | None = None) -> set[int]:
    out = {u.unit.district_id for u in record.units if (role is None or u.role == role) and u.unit.district_id}
    return out


#: Kinds seen only by the units they were dispatched to (and supervisors): a dispatch event (调度事件) is work
#: sent to a unit, not a public or city-wide record.
DISPATCHED_KINDS = frozenset({"event"})


def _dispatched_to(p: Principal, record: Record) -> bool:
    """Is ``record`` dispatched to ``p``'s unit — for a district user, to a unit of its district (the district
    bureau or one of its towns)?"""
    if p.role == "department":
        return p.unit_id in record.unit_ids("responsible")
    if p.role == "district":
        return p.district_id in _record_districts(record, "responsible")
    return False


def can_view(p: Principal, record: Record) -> bool:
    if record.kind in DISPATCHED_KINDS and not p.is_supervisor:
        return _dispatched_to(p, record)
    if p.role in ("admin", "bureau", "department"):
        return True
    if p.role == "district":
        return record.district_id == p.district_id or p.district_id in _record_districts(record)
    return bool(record.disclosed) and record.kind != "petition"


def can_edit(p: Principal, record: Record) -> bool:
    """May ``p`` change ``record`` as (or on behalf of) a responsible unit: fields, progress, files, the
    responsible unit's workflow steps?"""
    if p.is_supervisor:
        return True
    if record.kind in DISPATCHED_KINDS:
        return _dispatched_to(p, record)
    if p.role == "department":
        return p.unit_id in record.unit_ids("responsible")
    if p.role == "district":
        return record.district_id == p.district_id or p.district_id in _record_districts(record, "responsible")
    return False


def can_supervise(p: Principal) -> bool:
    """Supervisor steps (acceptance, sign-off, petition intake/assignment/extension/closing, penalty decisions),
    creating records, changing supervisor-only fields."""
    return p.is_supervisor


#: Kinds whose records hold personal data; their content is restricted to the units handling them.
PERSONAL_KINDS = frozenset({"petition", "case", "event"})


def can_see_content(p: Principal, record: Record) -> bool:
    """May ``p`` see the record's full content (progress, attachments, timeline, personal data)? Supervisors
    yes; the public never; departments and districts for records they may view, except records of
    :data:`PERSONAL_KINDS`, which only their handling units see."""
    if p.is_public or not can_view(p, record):
        return False
    if p.is_supervisor:
        return True
    if record.kind in PERSONAL_KINDS:
        return can_edit(p, record)
    return True


def can_see_personal_data(p: Principal, record: Record) -> bool:
    """Complainants' names and contacts: supervisors and the units that handle the petition."""
    return can_see_content(p, record)


def can_view_audit(p: Principal) -> bool:
    return p.is_supervisor


def can_manage_users(p: Principal) -> bool:
    return p.role == "admin"


def require(condition: bool, message: str) -> None:
    if not condition:
        raise PermissionDenied(message)
