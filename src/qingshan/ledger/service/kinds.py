"""The record kinds in one table: the ORM class of each and the effect its workflow steps have on it.

An effect is called by :meth:`.transitions.TransitionsMixin.transition` after the step's permission and evidence
were checked and before the status changes; it updates the record's own fields and fills ``before``/``after`` for
the audit entry (it may refuse the step with :class:`.base.WorkflowError`). A kind whose steps change nothing but
the status has :func:`no_effect`, so that every kind is listed here on purpose.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from ..models import Campaign, EnforcementCase, Event, KeyTask, Petition, Project, Record, RectificationItem
from ..workflow import Transition
from . import case, event, key_task, petition, project, rectification
from .base import ServiceBase

#: ``effect(service, record, transition, payload, on, before, after)``
Effect = Callable[[ServiceBase, Any, Transition, dict[str, Any], dt.date, dict[str, Any], dict[str, Any]], None]


def no_effect(svc: ServiceBase, rec: Record, t: Transition, payload: dict[str, Any], on: dt.date,
              before: dict[str, Any], after: dict[str, Any]) -> None:
    """A step that changes only the status (a campaign's steps: its enterprises carry the detail)."""


KIND_CLASSES: dict[str, type[Record]] = {
    "rectification": RectificationItem, "key_task": KeyTask, "project": Project, "campaign": Campaign,
    "petition": Petition, "case": EnforcementCase, "event": Event,
}

EFFECTS: dict[str, Effect] = {
    "rectification": rectification.effect,
    "key_task": key_task.effect,
    "project": project.effect,
    "campaign": no_effect,
    "petition": petition.effect,
    "case": case.effect,
    "event": event.effect,
}
