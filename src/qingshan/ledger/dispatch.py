"""Entry points of command and dispatch (指挥调度) for other parts of the platform: the alarm centre turns an
alarm into an event (:func:`event_from_alarm`), the scheduler escalates overdue events every hour
(:func:`escalate_overdue`). Both take a session of an open ledger and leave committing to the caller, like
:class:`.service.LedgerService` (docs/ledger.md#指挥调度)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy.orm import Session

from .files import FileStore
from .models import Event, User
from .rbac import Principal
from .service import LedgerService

SCHEDULER = "系统（调度超期升级）"


def _principal(actor: Principal | User) -> Principal:
    return actor if isinstance(actor, Principal) else Principal.of(actor)


def event_from_alarm(session: Session, alarm: dict[str, Any], actor: Principal | User, *,
                     files: FileStore | None = None, event_kind: str = "quality",
                     district: int | str | None = None, now: dt.datetime | None = None) -> Event:
    """One action: the event of an alarm (``alarm``: ``id``, ``station``, ``hour``, ``rule``, ``level``,
    ``evidence``, ``note``), its evidence kept on the event and — with ``files`` — attached as a JSON text file.
    ``actor`` must be bureau staff (events are created by the bureau)."""
    svc = LedgerService(session, _principal(actor), files=files, now=now)
    return svc.event_from_alarm(alarm, event_kind=event_kind, district=district)


def escalate_overdue(session: Session, now: dt.datetime | None = None) -> list[Event]:
    """Escalate the events whose units did not answer by their deadline (see
    :meth:`.service.LedgerService.escalate_overdue`); idempotent — the hourly scheduler may call it any number of
    times. Acts as the system (its audit entries name :data:`SCHEDULER`)."""
    svc = LedgerService(session, Principal.system(SCHEDULER), now=now)
    return svc.escalate_overdue(now)
