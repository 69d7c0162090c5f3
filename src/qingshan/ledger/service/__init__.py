"""The ledger's service layer: every read and every change goes through here, with permissions and audit.

:class:`LedgerService` is bound to a session and a :class:`~.rbac.Principal`. It enforces, for every call:

* **visibility** (:func:`.rbac.can_view`): what a principal may not see does not exist for it (:class:`NotFound`);
* **permission** (:func:`.rbac.can_edit`, :func:`.rbac.can_supervise`): changing another unit's record, a
  supervisor-only field or step is :class:`PermissionDenied` — for the API, the CLI and the XLSX import alike;
* **workflow** (:mod:`.workflow`): a status changes only through a named transition from an allowed state, with
  its evidence (:class:`WorkflowError` otherwise);
* **audit** (:mod:`.audit`): each change appends an entry with before/after in the same transaction.

The service never commits; its caller (API request, CLI command) does, so a failed step leaves nothing behind.

The class is composed of one part per concern (this package): :mod:`.base` (session, principal, audit, lookups,
input coercion), :mod:`.users` (units, users, passwords), one module per record kind (:mod:`.rectification`,
:mod:`.key_task`, :mod:`.project`, :mod:`.campaign`, :mod:`.petition`, :mod:`.case`, :mod:`.event`: creation, kind-specific
operations and the effect of the kind's workflow steps, listed in :data:`.kinds.EFFECTS`), :mod:`.records`
(editing, progress, attachments), :mod:`.parts` (each unit's part, the lead rule), :mod:`.transitions`,
:mod:`.queries` and :mod:`.stats`. Import everything from
``qingshan.ledger.service``; the modules inside are not an API.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from ..files import FileStore
from ..limits import ValidationFailed
from ..rbac import LedgerError, NotFound, PermissionDenied, Principal
from ..workcal import DEFAULT_CALENDAR, WorkCalendar
from .base import (
    ACTION_LABELS,
    COMMON_SUPERVISOR_FIELDS,
    DATE_FIELDS,
    DECIMAL_FIELDS,
    EVIDENCE_LABELS,
    INT_FIELDS,
    PAYLOAD_TEXTS,
    REQUIRED_TEXT_FIELDS,
    RESPONSIBLE_FIELDS,
    SUPERVISOR_FIELDS,
    AlreadyExists,
    Page,
    VersionConflict,
    WorkflowError,
    lead_names,
    to_date,
)
from .campaign import CampaignMixin, campaign_rates_from_counts
from .case import CaseMixin
from .event import EventMixin, source_event
from .key_task import KeyTaskMixin, indicator_met, latest_value
from .kinds import EFFECTS, KIND_CLASSES
from .parts import ROLE_LABELS as PART_ROLE_LABELS
from .parts import has_parts
from .petition import PetitionMixin
from .project import ProjectMixin
from .records import RecordsMixin
from .rectification import RectificationMixin
from .stats import StatsMixin
from .todo import REMIND_DAYS, RowActions, TodoMixin, finishes
from .transitions import TransitionsMixin
from .users import UsersMixin

__all__ = [
    "ACTION_LABELS",
    "COMMON_SUPERVISOR_FIELDS",
    "DATE_FIELDS",
    "DECIMAL_FIELDS",
    "EFFECTS",
    "EVIDENCE_LABELS",
    "INT_FIELDS",
    "KIND_CLASSES",
    "PART_ROLE_LABELS",
    "PAYLOAD_TEXTS",
    "REMIND_DAYS",
    "REQUIRED_TEXT_FIELDS",
    "RESPONSIBLE_FIELDS",
    "SUPERVISOR_FIELDS",
    "AlreadyExists",
    "LedgerError",
    "LedgerService",
    "NotFound",
    "Page",
    "PermissionDenied",
    "RowActions",
    "ValidationFailed",
    "VersionConflict",
    "WorkflowError",
    "campaign_rates_from_counts",
    "finishes",
    "has_parts",
    "indicator_met",
    "latest_value",
    "lead_names",
    "source_event",
    "to_date",
]


class LedgerService(UsersMixin, RectificationMixin, KeyTaskMixin, ProjectMixin, CampaignMixin, PetitionMixin,
                    CaseMixin, TodoMixin, EventMixin, RecordsMixin, TransitionsMixin, StatsMixin):
    """All ledger operations for one principal in one session (see the module docstring)."""

    def __init__(self, session: Session, principal: Principal, *, today: dt.date | None = None,
                 files: FileStore | None = None, calendar: WorkCalendar = DEFAULT_CALENDAR,
                 now: dt.datetime | None = None):
        super().__init__(session, principal, today=today, files=files, calendar=calendar, now=now)
