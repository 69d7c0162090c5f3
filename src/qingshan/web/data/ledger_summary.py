"""The ledger panel of the overview: counts, overdue and at-risk records as the caller may see them.

Everything comes from :meth:`qingshan.ledger.service.LedgerService.stats` bound to the caller's principal, so the
public sees only disclosed records and the aggregate petition counts bureaus publish — never a single petition.
Stats are cached per ledger state (the last audit-log entry: every change of the ledger appends one), the
ledger's "today" and the principal's scope (role, unit, district).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from ...ledger.api import Ctx
from ...ledger.models import KIND_LABELS, ROLE_LABELS, AuditEntry
from ..console import Console

LIST_LIMIT = 10


def ledger_state(ctx: Ctx) -> int:
    return int(ctx.session.execute(select(func.max(AuditEntry.id))).scalar() or 0)


def ledger_summary(console: Console, ctx: Ctx) -> dict[str, Any]:
    p = ctx.principal
    key = ("ledger_stats", ledger_state(ctx), ctx.svc.today, p.role, p.unit_id, p.district_id)
    st = console.cache.get_or_compute(key, ctx.svc.stats)
    rate = st.get("rectification_completion_rate")

    def items(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [{**r, "kind_label": KIND_LABELS.get(r["kind"], r["kind"])} for r in rows[:LIST_LIMIT]]

    return {
        "as_of": st["as_of"], "scope": st["scope"], "scope_label": ROLE_LABELS.get(st["scope"], st["scope"]),
        "public": p.is_public,
        "rectification_items": st["rectification_items"],
        "rectification_completed": st["rectification_completed"],
        "rectification_in_progress": st["rectification_in_progress"],
        "rectification_completion_pct": round(rate * 100, 1) if rate is not None else None,
        "rectification_overdue": st["rectification_overdue"],
        "rectification_at_risk": st["rectification_at_risk"],
        "key_tasks": st["key_tasks"], "key_tasks_completed": st["key_tasks_completed"],
        "projects": st["projects"], "enforcement_cases": st["enforcement_cases"],
        "petitions": st["petitions"], "petitions_closed": st["petitions_closed"],
        "petitions_open": st["petitions_open"], "petitions_overdue": st["petitions_overdue"],
        "overdue_total": len(st["overdue"]), "at_risk_total": len(st["at_risk"]),
        "overdue": items(st["overdue"]), "at_risk": items(st["at_risk"]),
        "note": "公众仅可见已公开事项及信访件汇总数" if p.is_public else "",
    }


REMINDERS_SHOWN = 8


def deadline_reminders(ctx: Ctx) -> dict[str, Any] | None:
    """期限提醒 of the overview for a signed-in user: overdue records and those due within
    :data:`qingshan.ledger.service.REMIND_DAYS` days — over the caller's 我的待办 for a unit's user, over every
    open record for bureau staff — counted with the ledger's own overdue rule on the ledger's today
    (:meth:`qingshan.ledger.service.LedgerService.deadline_reminders`). ``None`` for the public."""
    if ctx.principal.is_public:
        return None
    r = ctx.svc.deadline_reminders()
    states = r["states"]

    def rows(recs: list[Any]) -> list[dict[str, Any]]:
        return [{"id": x.id, "kind": x.kind, "kind_label": KIND_LABELS.get(x.kind, x.kind), "code": x.code,
                 "title": x.title, "deadline": x.deadline.isoformat() if x.deadline else None,
                 "days_left": states[x.id].days_left,
                 "href": f"/dispatch/events/{x.id}" if x.kind == "event" else f"/ledger/items/{x.id}"}
                for x in recs[:REMINDERS_SHOWN]]

    return {"as_of": r["as_of"], "days": r["days"], "overdue_total": len(r["overdue"]),
            "due_soon_total": len(r["due_soon"]), "overdue": rows(r["overdue"]), "due_soon": rows(r["due_soon"]),
            "scope": "全部未办结事项" if ctx.principal.is_supervisor else "我的待办"}
