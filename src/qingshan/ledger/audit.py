"""The append-only audit log: who, when, what, before/after (issue 4 "Workflows"; docs/ledger.md#audit-log).

Three defences, from the inside out:

1. **Service layer.** This module only *appends*. A session guard (:func:`install_guard`, installed on every
   session the ledger hands out) refuses to flush an update or a delete of an :class:`AuditEntry`, whichever
   code asks for it.
2. **Database.** The migration installs triggers that abort UPDATE and DELETE (SQLite) and UPDATE, DELETE and
   TRUNCATE (PostgreSQL) on ``audit_log`` — raw SQL from any role fails too.
3. **Hash chain.** Each entry stores the SHA-256 of the previous entry's hash and its own content; whoever
   bypasses the triggers (a database superuser disabling them, someone editing the SQLite file) breaks the chain,
   and :func:`verify_chain` (``qingshan ledger audit --verify``) names the first entry that no longer matches.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import event, select, text
from sqlalchemy.orm import Session

from .models import AuditEntry, now_beijing
from .rbac import LedgerError, Principal

GENESIS = "0" * 64
_PG_LOCK_KEY = 0x71696E67  # 'qing': serialises appends so the chain stays linear under concurrent writers


class AuditImmutable(LedgerError):
    """Raised when code tries to change or remove an audit entry."""


def jsonable(value: Any) -> Any:
    """Values as stored in before/after: dates ISO strings, decimals strings (exact), sets sorted lists."""
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return value
    if isinstance(value, Decimal):
        return format(value.normalize(), "f") if value == value.to_integral_value() else str(value)
    if isinstance(value, (dt.datetime, dt.date)):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (set, frozenset)):
        return sorted(jsonable(v) for v in value)
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    return str(value)


def _canonical(obj: Any) -> str:
    return json.dumps(obj, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def entry_hash(prev_hash: str, at: dt.datetime, actor_id: int | None, actor_name: str, actor_role: str,
               action: str, entity_type: str, entity_id: int | None, record_id: int | None,
               record_version: int | None, before: Any, after: Any, note: str | None) -> str:
    payload = _canonical([prev_hash, at.isoformat(timespec="microseconds"), actor_id, actor_name, actor_role,
                          action, entity_type, entity_id, record_id, record_version, before, after, note])
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def _last_hash(session: Session) -> str:
    bind = session.get_bind()
    if bind.dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_LOCK_KEY})
    h = session.execute(select(AuditEntry.hash).order_by(AuditEntry.id.desc()).limit(1)).scalar()
    return h or GENESIS


def record(session: Session, actor: Principal, action: str, entity_type: str, entity_id: int | None, *,
           before: Any = None, after: Any = None, note: str | None = None, record_id: int | None = None,
           record_version: int | None = None) -> AuditEntry:
    """Append one entry (in the caller's transaction: the change and its audit entry commit or fail together)."""
    session.flush()
    before, after = jsonable(before), jsonable(after)
    at = now_beijing()
    prev = _last_hash(session)
    h = entry_hash(prev, at, actor.user_id, actor.name, actor.role, action, entity_type, entity_id, record_id,
                   record_version, before, after, note)
    entry = AuditEntry(at=at, actor_id=actor.user_id, actor_name=actor.name, actor_role=actor.role, action=action,
                       entity_type=entity_type, entity_id=entity_id, record_id=record_id,
                       record_version=record_version, before=before, after=after, note=note, prev_hash=prev, hash=h)
    session.add(entry)
    session.flush()
    return entry


def _guard(session: Session, flush_context: Any, instances: Any) -> None:
    for obj in list(session.dirty) + list(session.deleted):
        if isinstance(obj, AuditEntry) and (obj in session.deleted or session.is_modified(obj)):
            raise AuditImmutable("审计日志只能追加，不能修改或删除")


def install_guard(session_or_factory: Any) -> None:
    """Refuse, at flush time, any change or deletion of an audit entry made through the ORM.

    Installed once per session factory or session, remembered by a marker on the object itself: SQLAlchemy's
    ``event.contains`` keys its registry by ``id()``, and a new factory that reuses the address of a collected one
    was seen to count as guarded already (an intermittent test failure on PostgreSQL, where the database trigger
    then refused the change instead)."""
    if getattr(session_or_factory, "_qingshan_audit_guard", False):
        return
    event.listen(session_or_factory, "before_flush", _guard)
    session_or_factory._qingshan_audit_guard = True


@dataclass
class ChainReport:
    entries: int
    ok: bool
    first_bad_id: int | None = None
    reason: str = ""


def verify_chain(session: Session, batch: int = 2000) -> ChainReport:
    """Recompute every entry's hash in id order; report the first entry that does not match."""
    cols = (AuditEntry.id, AuditEntry.prev_hash, AuditEntry.hash, AuditEntry.at, AuditEntry.actor_id,
            AuditEntry.actor_name, AuditEntry.actor_role, AuditEntry.action, AuditEntry.entity_type,
            AuditEntry.entity_id, AuditEntry.record_id, AuditEntry.record_version, AuditEntry.before,
            AuditEntry.after, AuditEntry.note)
    prev, n, last_id = GENESIS, 0, 0
    while True:
        rows = session.execute(select(*cols).where(AuditEntry.id > last_id).order_by(AuditEntry.id).limit(batch)).all()
        if not rows:
            return ChainReport(n, True)
        for r in rows:
            if r.prev_hash != prev:
                return ChainReport(n, False, r.id, "与前一条记录的链接不一致（有记录被删除或插入）")
            h = entry_hash(r.prev_hash, r.at, r.actor_id, r.actor_name, r.actor_role, r.action, r.entity_type,
                           r.entity_id, r.record_id, r.record_version, r.before, r.after, r.note)
            if h != r.hash:
                return ChainReport(n, False, r.id, "内容与哈希不一致（记录被改写）")
            prev, n, last_id = r.hash, n + 1, r.id
