"""Data review in the console: who may review, the suggestions, the log and the marks (docs/review.md).

Only the bureau's reviewers — ledger roles ``bureau`` and ``admin`` (:data:`REVIEWER_ROLES`) — see suggestions and
marks or change them; the public gets 401, any other role 403. Every change names the signed-in user (login name)
in the log and makes the console re-read its store state, so the next evaluation applies it.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fastapi import HTTPException

from ...evaluate.periods import Period
from ...evaluate.precheck import suggest
from ...evaluate.review import (
    confirm_suggestion,
    dismiss_suggestion,
    export_workbook,
    hour_text,
    import_workbook,
    mark_request,
)
from ...ledger.api import Ctx
from ...ledger.models import User
from ...standards.review import ACTIONS, REASONS
from ...store.review import current_marks, marks_log, record_mark
from ..console import Console
from ..jsonable import records
from ..store import hour_day
from .common import BadParameter, need_data, period_param

REVIEWER_ROLES = frozenset({"admin", "bureau"})
DEFAULT_DAYS = 7
MAX_SUGGESTION_DAYS = 92


def reviewer(ctx: Ctx) -> str:
    """The signed-in reviewer's login name; 401 for the public, 403 for roles that may not review."""
    if ctx.anonymous or ctx.principal.is_public:
        raise HTTPException(401, "请先登录（数据审核仅限生态环境局审核人员）", headers={"WWW-Authenticate": "Bearer"})
    if ctx.principal.role not in REVIEWER_ROLES:
        raise HTTPException(403, "数据审核仅限生态环境局（bureau）与管理员（admin）角色")
    user = ctx.session.get(User, ctx.principal.user_id) if ctx.principal.user_id is not None else None
    return user.username if user is not None else ctx.principal.name


def review_period(console: Console, period: str | None) -> Period:
    """``period`` or the last :data:`DEFAULT_DAYS` days up to "now"; at most :data:`MAX_SUGGESTION_DAYS` days."""
    state = console.store.state()
    last = hour_day(need_data(state))
    default = Period(last - timedelta(days=DEFAULT_DAYS - 1), last,
                     f"{(last - timedelta(days=DEFAULT_DAYS - 1)).isoformat()}:{last.isoformat()}")
    p = period_param(period, default)
    if p.n_days > MAX_SUGGESTION_DAYS:
        raise BadParameter(f"预审时段最长 {MAX_SUGGESTION_DAYS} 天，而不是 {p.n_days} 天")
    return p


def _hours(p: Period) -> tuple[int, int]:
    return p.first_day * 24 + 1, (p.last_day + 1) * 24


def suggestions(console: Console, period: str | None = None, station: str | None = None,
                include_handled: bool = False) -> dict[str, Any]:
    p = review_period(console, period)
    lo, hi = _hours(p)
    with console.store.cursor() as cur:
        res = suggest(cur, lo, hi, [station] if station else None, include_handled=include_handled)
    rows = records(res)
    for r in rows:
        r["from"], r["to"] = hour_text(r["hi_from"]), hour_text(r["hi_to"])
    return {"period": {"label": p.label, "start": p.start.isoformat(), "end": p.end.isoformat()},
            "suggestions": rows, "reasons": REASONS,
            "time_convention": "小时结束时刻（09:00 表示 08:00—09:00），北京时间"}


def marks(console: Console, station: str | None = None, limit: int = 200) -> dict[str, Any]:
    with console.store.cursor() as cur:
        log = marks_log(cur, station, limit)
        state = current_marks(cur)
    if station:
        state = state[state["station"] == station]
    for m in log:
        m["marked_at"] = m["marked_at"].isoformat(sep=" ")
        m["from"], m["to"] = hour_text(m["hi_from"]), hour_text(m["hi_to"])
        m["action_label"] = ACTIONS[m["action"]]
    current = records(state)
    for r in current:
        r["from"], r["to"] = hour_text(r["hi_from"]), hour_text(r["hi_to"])
    return {"log": log, "current": current, "reasons": REASONS}


def add_mark(console: Console, by: str, via: str, action: str, station: str, start: str, end: str, reason: str,
             pollutants: str | None = None, note: str | None = None) -> dict[str, Any]:
    if action not in ACTIONS:
        raise BadParameter(f"操作 action 应为 {'|'.join(ACTIONS)}，而不是 {action!r}")
    with console.store.cursor() as cur:
        req = mark_request(action, station, start, end, reason, pollutants, note)
        mark = record_mark(cur, req, by, via)
    console.store.refresh()
    return _result(mark)


def _result(mark: dict[str, Any] | None) -> dict[str, Any]:
    if mark is None:
        return {"changed": False, "mark": None, "message": "所选小时已是该状态，未记录"}
    mark = dict(mark, marked_at=mark["marked_at"].isoformat(sep=" "), **{"from": hour_text(mark["hi_from"]),
                                                                          "to": hour_text(mark["hi_to"])})
    return {"changed": True, "mark": mark, "message": f"已记录审核 #{mark['mark_id']}"}


def confirm(console: Console, by: str, via: str, key: str, reason: str, note: str | None = None) -> dict[str, Any]:
    with console.store.cursor() as cur:
        mark = confirm_suggestion(cur, key, reason, by, via, note)
    console.store.refresh()
    return _result(mark)


def dismiss(console: Console, by: str, via: str, key: str, note: str | None = None) -> dict[str, Any]:
    with console.store.cursor() as cur:
        done = dismiss_suggestion(cur, key, by, via, note)
    console.store.refresh()
    return {"changed": done, "message": "已驳回" if done else "此前已驳回"}


def workbook(console: Console, period: str | None = None, station: str | None = None) -> tuple[bytes, str]:
    p = review_period(console, period)
    lo, hi = _hours(p)
    with console.store.cursor() as cur:
        data, _, _ = export_workbook(cur, lo, hi, [station] if station else None)
    assert data is not None
    return data, f"审核_{p.label.replace(':', '_')}.xlsx"


def load_workbook(console: Console, by: str, content: bytes) -> dict[str, Any]:
    with console.store.cursor() as cur:
        report = import_workbook(cur, content, by)
    console.store.refresh()
    return {"applied": report.applied, "unchanged": report.unchanged, "skipped": report.skipped,
            "problems": [{"line": n, "reason": r} for n, r in report.problems], "marks": report.marks,
            "summary": report.summary()}
