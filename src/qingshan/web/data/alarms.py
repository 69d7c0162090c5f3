"""The alarm centre for the console and the API (docs/alerts.md): the alarms list, state changes and the turn of
an alarm into a ledger dispatch event — one implementation behind ``/api/v1/alerts`` and the ``/alarms`` pages."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

from fastapi import HTTPException

from ...ledger.api import Ctx
from ...ledger.rbac import SUPERVISORS
from ..console import Console

#: alarm level (1 提示 … 4 严重) → the event's urgency grade; an alarm is never more than 较大 by itself — the bureau
#: raises the grade on the event when the facts call for it
EVENT_LEVEL_OF_ALARM = {1: "general", 2: "general", 3: "larger", 4: "larger"}


def bureau_only(ctx: Ctx) -> None:
    if ctx.anonymous:
        raise HTTPException(401, "未登录", headers={"WWW-Authenticate": "Bearer"})
    if ctx.principal.role not in SUPERVISORS:
        raise HTTPException(403, "仅局机关人员可处置报警")


def actor(ctx: Ctx) -> str:
    return f"{ctx.principal.name}（用户 {ctx.principal.user_id}）"


def alarms(console: Console, states: list[str] | None = None, level: int = 1, station: str | None = None,
           limit: int = 200, alarm_id: int | None = None) -> list[dict[str, Any]]:
    """Alarms as plain dicts with their evidence, state and level in Chinese and the rule's title."""
    from ...alerts.config import LEVELS, load_rules
    from ...store.alarms import STATES, list_alarms

    bad = [s for s in states or [] if s not in STATES]
    if bad:
        raise HTTPException(422, f"未知状态：{'、'.join(bad)}")
    with console.store.cursor() as cur:
        rows = list_alarms(cur, states=states, min_level=level, subject=station, limit=limit, alarm_id=alarm_id)
    titles = {r.name: r.title for r in load_rules(console.workspace).rules}
    items = [] if rows.empty else json.loads(rows.to_json(orient="records", force_ascii=False, date_format="iso"))
    for a in items:
        a["evidence"] = json.loads(a["evidence"] or "{}")
        a["state_text"] = STATES.get(a["state"], a["state"])
        a["level_text"] = LEVELS.get(a["level"], str(a["level"]))
        a["rule_title"] = titles.get(a["rule"]) or titles.get(a["rule"].rsplit(".", 1)[0]) or a["rule"]
        a["start"], a["end"], a["peak_at"] = (hour_text(a["start_hi"]), hour_text(a["end_hi"]),
                                              hour_text(a["peak_hi"]) if a["peak_hi"] is not None else None)
    return items


def hour_text(hi: int) -> str:
    return f"{datetime(1970, 1, 1) + timedelta(hours=int(hi)):%Y-%m-%d %H:%M}"


def move(console: Console, ctx: Ctx, alarm_id: int, to: str, reason: str | None,
         event_id: int | None = None) -> dict[str, Any]:
    """One step of the alarm workflow, logged with the signed-in user (404 unknown, 409 not allowed)."""
    from ...store.alarms import STATES, AlarmStateError, change_state

    bureau_only(ctx)
    try:
        with console.store.cursor() as cur:
            before = change_state(cur, alarm_id, to, actor(ctx), reason, event_id)
    except AlarmStateError as e:
        raise HTTPException(404 if "没有编号" in str(e) else 409, str(e)) from None
    return {"alarm_id": alarm_id, "from": before, "to": to, "from_text": STATES[before], "to_text": STATES[to]}


def to_event(console: Console, ctx: Ctx, alarm_id: int, event_kind: str = "quality", district: str | None = None,
             note: str | None = None) -> dict[str, Any]:
    """The alarm as a ledger dispatch event with its evidence, and the alarm moved to 已派发 (docs/alerts.md)."""
    from ...ledger.limits import ValidationFailed
    from ...ledger.service.base import WorkflowError
    from ...store.alarms import TRANSITIONS

    bureau_only(ctx)
    found = alarms(console, alarm_id=alarm_id, limit=1)
    if not found:
        raise HTTPException(404, f"没有编号为 {alarm_id} 的报警")
    a = found[0]
    if "dispatched" not in TRANSITIONS.get(a["state"], ()):
        raise HTTPException(409, f"报警 {alarm_id} 当前为“{a['state_text']}”，不能派发")
    alarm = {"id": f"Q{alarm_id}", "station": str(a["subject"]), "rule": str(a["rule"]),
             "hour": (datetime(1970, 1, 1) + timedelta(hours=int(a["peak_hi"] or a["end_hi"]))).isoformat(),
             "level": EVENT_LEVEL_OF_ALARM.get(int(a["level"]), "general"),
             "evidence": {"pollutant": a["pollutant"], "peak": a["peak_value"], "reference": a["peak_reference"],
                          "hours": a["evidence"].get("hours", [])},
             "note": note or None, "event_kind": event_kind}
    alarm = {k: v for k, v in alarm.items() if v is not None}
    station_district = a.get("district") if isinstance(a.get("district"), str) else None
    try:
        try:
            chosen = district or station_district
            rec = ctx.svc.event_from_alarm({**alarm, "district": chosen} if chosen else alarm)
        except ValidationFailed:
            if district or station_district is None:
                raise
            ctx.session.rollback()  # the station's district is not a ledger unit: the bureau assigns it later
            rec = ctx.svc.event_from_alarm(alarm)
        ctx.commit()
    except WorkflowError as e:
        raise HTTPException(409, str(e)) from None
    move(console, ctx, alarm_id, "dispatched", f"转调度事件 {rec.code}", rec.id)
    return {"alarm_id": alarm_id, "event_id": rec.id, "event_code": rec.code}
