"""The alarm centre's API (docs/alerts.md), for the bureau (roles admin and bureau); anyone else gets 401 (not
signed in) or 403:

* ``GET /api/v1/alerts`` — the alarms (episodes of the alarm rules), newest first, with filters;
* ``POST /api/v1/alerts/{alarm_id}/state`` — move an alarm through its workflow (acknowledge, false alarm, close);
* ``GET /api/v1/alerts/explain`` — the cause note 初步原因分析 of a station and hour."""

from __future__ import annotations

import json
from typing import Literal

from fastapi import APIRouter, Depends, HTTPException, Query
from pydantic import BaseModel, Field

from ...alerts.explain import ExplainError, NoDataAtHour, UnknownStation, explain, parse_hour
from ...charts.rose import pollution_rose
from ...ledger.api import API_PREFIX, Ctx, get_ctx
from ...ledger.rbac import SUPERVISORS
from ...standards.pollutants import POLLUTANTS
from ..console import Console, get_console
from .response import ConsoleJSON

router = APIRouter(prefix=API_PREFIX, tags=["报警中心"], default_response_class=ConsoleJSON)


@router.get("/alerts/explain", summary="初步原因分析：某站点某小时的区域/局地判断、污染特征、气象、上风向可疑源",
            description="时间为小时结束时刻（北京时间）。仅局机关与系统管理员可用。返回原因排序（含得分与依据）、置信度、"
                        "缺少的数据、证据表、中文说明、上风向扇区、可疑源，以及污染玫瑰图（Vega-Lite）。")
def get_explain(station: str = Query(..., description="站点编码"),
                at: str = Query(..., description="小时 YYYY-MM-DD HH:00"),
                console: Console = Depends(get_console), ctx: Ctx = Depends(get_ctx)) -> ConsoleJSON:
    if ctx.anonymous:
        raise HTTPException(401, "未登录", headers={"WWW-Authenticate": "Bearer"})
    if ctx.principal.role not in SUPERVISORS:
        raise HTTPException(403, "仅局机关人员可查看初步原因分析")
    try:
        t = parse_hour(at)
        with console.store.cursor() as cur:
            note = explain(cur, station, t)
    except ExplainError as e:
        raise HTTPException(404 if isinstance(e, (UnknownStation, NoDataAtHour)) else 422, str(e)) from None
    body = note.as_dict()
    p = POLLUTANTS[note.rose_pollutant]
    body["rose_spec"] = pollution_rose(note.rose, f"{note.station_name} 近 30 日 {p.short_zh} 污染玫瑰图", p.unit)
    return ConsoleJSON(body)


def _bureau_only(ctx: Ctx) -> None:
    if ctx.anonymous:
        raise HTTPException(401, "未登录", headers={"WWW-Authenticate": "Bearer"})
    if ctx.principal.role not in SUPERVISORS:
        raise HTTPException(403, "仅局机关人员可处置报警")


@router.get("/alerts", summary="报警列表：报警规则合并出的报警事件（最新在前）",
            description="状态 new 新报警、acknowledged 已确认、dispatched 已派发、closed 已办结、false_alarm 误报；"
                        "级别 1 提示 … 4 严重。证据为逐时数值（小时、数值、参照值）。仅局机关与系统管理员可用。")
def get_alarms(state: list[str] | None = Query(None, description="状态，可多个"),
               level: int = Query(1, ge=1, le=4, description="最低级别"),
               station: str | None = Query(None, description="站点编码或设备 MN"),
               limit: int = Query(200, ge=1, le=5000),
               console: Console = Depends(get_console), ctx: Ctx = Depends(get_ctx)) -> ConsoleJSON:
    from ...alerts.config import LEVELS, load_rules
    from ...store.alarms import STATES, list_alarms

    _bureau_only(ctx)
    bad = [s for s in state or [] if s not in STATES]
    if bad:
        raise HTTPException(422, f"未知状态：{'、'.join(bad)}")
    with console.store.cursor() as cur:
        rows = list_alarms(cur, states=state, min_level=level, subject=station, limit=limit)
    titles = {r.name: r.title for r in load_rules(console.workspace).rules}
    items = [] if rows.empty else json.loads(rows.to_json(orient="records", force_ascii=False, date_format="iso"))
    for a in items:
        a["evidence"] = json.loads(a["evidence"] or "{}")
        a["state_text"] = STATES.get(a["state"], a["state"])
        a["level_text"] = LEVELS.get(a["level"], str(a["level"]))
        a["rule_title"] = titles.get(a["rule"]) or titles.get(a["rule"].rsplit(".", 1)[0]) or a["rule"]
    return ConsoleJSON({"count": len(items), "items": items})


class StateChange(BaseModel):
    to: Literal["acknowledged", "dispatched", "closed", "false_alarm"] = Field(description="新状态")
    reason: str | None = Field(None, max_length=2000, description="理由（误报、办结时必填）")
    event_id: int | None = Field(None, ge=1, description="派发时：台账中的调度事件编号")


@router.post("/alerts/{alarm_id}/state", summary="报警处置：确认、派发、办结或标记误报（记入报警日志）",
             responses={404: {"description": "无此报警"}, 409: {"description": "当前状态不允许此操作"}})
def post_state(alarm_id: int, body: StateChange, console: Console = Depends(get_console),
               ctx: Ctx = Depends(get_ctx)) -> ConsoleJSON:
    from ...store.alarms import STATES, AlarmStateError, change_state

    _bureau_only(ctx)
    who = f"{ctx.principal.name}（用户 {ctx.principal.user_id}）"
    try:
        with console.store.cursor() as cur:
            before = change_state(cur, alarm_id, body.to, who, body.reason, body.event_id)
    except AlarmStateError as e:
        raise HTTPException(404 if "没有编号" in str(e) else 409, str(e)) from None
    return ConsoleJSON({"alarm_id": alarm_id, "from": before, "to": body.to, "from_text": STATES[before],
                        "to_text": STATES[body.to]})


#: alarm level (1 提示 … 4 严重) → the event's urgency grade; an alarm is never more than 较大 by itself — the bureau
#: raises the grade on the event when the facts call for it
EVENT_LEVEL_OF_ALARM = {1: "general", 2: "general", 3: "larger", 4: "larger"}


class ToEvent(BaseModel):
    event_kind: Literal["quality", "violation", "emergency", "petition"] = Field(
        "quality", description="事件类别：环境质量问题、环境违法线索、突发环境事件、环境信访事项")
    district: str | None = Field(None, max_length=200, description="属地（区）名称或编号；缺省取站点所在区")
    note: str | None = Field(None, max_length=4000, description="初步原因分析（缺省为空：由事件页查看）")


@router.post("/alerts/{alarm_id}/event", status_code=201,
             summary="报警转调度事件：证据随附，报警改为“已派发”（台账中继续派发到承办单位）",
             responses={404: {"description": "无此报警"}, 409: {"description": "报警已结束或已生成事件"}})
def post_event(alarm_id: int, body: ToEvent, console: Console = Depends(get_console),
               ctx: Ctx = Depends(get_ctx)) -> ConsoleJSON:
    from datetime import datetime, timedelta

    from ...ledger.limits import ValidationFailed
    from ...ledger.service.base import WorkflowError
    from ...store.alarms import TRANSITIONS, AlarmStateError, change_state, list_alarms

    _bureau_only(ctx)
    with console.store.cursor() as cur:
        rows = list_alarms(cur, alarm_id=alarm_id)
    if rows.empty:
        raise HTTPException(404, f"没有编号为 {alarm_id} 的报警")
    a = rows.iloc[0]
    if "dispatched" not in TRANSITIONS.get(a["state"], ()):
        raise HTTPException(409, f"报警 {alarm_id} 当前状态不能派发")
    evidence = json.loads(a["evidence"] or "{}")
    alarm = {"id": f"Q{alarm_id}", "station": str(a["subject"]), "rule": str(a["rule"]),
             "hour": (datetime(1970, 1, 1) + timedelta(hours=int(a["peak_hi"]))).isoformat(),
             "level": EVENT_LEVEL_OF_ALARM.get(int(a["level"]), "general"),
             "evidence": {"pollutant": a["pollutant"], "peak": a["peak_value"], "reference": a["peak_reference"],
                          "hours": evidence.get("hours", [])},
             "note": body.note, "event_kind": body.event_kind}
    station_district = a["district"] if isinstance(a.get("district"), str) else None
    alarm = {k: v for k, v in alarm.items() if v is not None}
    try:
        try:
            rec = ctx.svc.event_from_alarm({**alarm, "district": body.district or station_district}
                                           if body.district or station_district else alarm)
        except ValidationFailed:
            if body.district or station_district is None:
                raise
            ctx.session.rollback()  # the station's district is not a ledger unit: the bureau assigns it later
            rec = ctx.svc.event_from_alarm(alarm)
        ctx.commit()
    except WorkflowError as e:
        raise HTTPException(409, str(e)) from None
    try:
        with console.store.cursor() as cur:
            change_state(cur, alarm_id, "dispatched", f"{ctx.principal.name}（用户 {ctx.principal.user_id}）",
                         f"转调度事件 {rec.code}", rec.id)
    except AlarmStateError as e:  # changed meanwhile; the event stands and names the alarm
        raise HTTPException(409, str(e)) from None
    return ConsoleJSON({"alarm_id": alarm_id, "event_id": rec.id, "event_code": rec.code}, status_code=201)
