"""The alarm centre's API (docs/alerts.md), for the bureau (roles admin and bureau); anyone else gets 401 (not
signed in) or 403:

* ``GET /api/v1/alerts`` — the alarms (episodes of the alarm rules), newest first, with filters;
* ``POST /api/v1/alerts/{alarm_id}/state`` — move an alarm through its workflow (acknowledge, false alarm, close);
* ``GET /api/v1/alerts/explain`` — the cause note 初步原因分析 of a station and hour."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Depends, HTTPException, Query
from pydantic import BaseModel, Field

from ...alerts.explain import ExplainError, NoDataAtHour, UnknownStation, explain, parse_hour
from ...charts.rose import pollution_rose
from ...ledger.api import API_PREFIX, Ctx, get_ctx
from ...ledger.rbac import SUPERVISORS
from ...standards.pollutants import POLLUTANTS
from ..console import Console, get_console
from ..data import alarms as alarms_data
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


@router.get("/alerts", summary="报警列表：报警规则合并出的报警事件（最新在前）",
            description="状态 new 新报警、acknowledged 已确认、dispatched 已派发、closed 已办结、false_alarm 误报；"
                        "级别 1 提示 … 4 严重。证据为逐时数值（小时、数值、参照值）。仅局机关与系统管理员可用。")
def get_alarms(state: list[str] | None = Query(None, description="状态，可多个"),
               level: int = Query(1, ge=1, le=4, description="最低级别"),
               station: str | None = Query(None, description="站点编码或设备 MN"),
               limit: int = Query(200, ge=1, le=5000),
               console: Console = Depends(get_console), ctx: Ctx = Depends(get_ctx)) -> ConsoleJSON:
    alarms_data.bureau_only(ctx)
    items = alarms_data.alarms(console, state, level, station, limit)
    return ConsoleJSON({"count": len(items), "items": items})


class StateChange(BaseModel):
    to: Literal["acknowledged", "dispatched", "closed", "false_alarm"] = Field(description="新状态")
    reason: str | None = Field(None, max_length=2000, description="理由（误报、办结时必填）")
    event_id: int | None = Field(None, ge=1, description="派发时：台账中的调度事件编号")


@router.post("/alerts/{alarm_id}/state", summary="报警处置：确认、派发、办结或标记误报（记入报警日志）",
             responses={404: {"description": "无此报警"}, 409: {"description": "当前状态不允许此操作"}})
def post_state(alarm_id: int, body: StateChange, console: Console = Depends(get_console),
               ctx: Ctx = Depends(get_ctx)) -> ConsoleJSON:
    return ConsoleJSON(alarms_data.move(console, ctx, alarm_id, body.to, body.reason, body.event_id))


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
    return ConsoleJSON(alarms_data.to_event(console, ctx, alarm_id, body.event_kind, body.district, body.note),
                       status_code=201)
