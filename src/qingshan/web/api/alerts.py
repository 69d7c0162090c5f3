"""``GET /api/v1/alerts/explain`` — the cause note 初步原因分析 of a station and hour (docs/alerts.md), for the
bureau (roles admin and bureau); anyone else gets 401 (not signed in) or 403."""

from __future__ import annotations

from fastapi import APIRouter, Depends, HTTPException, Query

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
