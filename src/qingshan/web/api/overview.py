"""``GET /api/v1/overview`` — the home page's panels as JSON (docs/console.md#endpoints)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query, Response

from ...ledger.api import API_PREFIX, Ctx, get_ctx
from ..console import Console, get_console
from ..data.overview import overview
from .response import ConsoleJSON, encoded_json

router = APIRouter(prefix=API_PREFIX, tags=["总览"], default_response_class=ConsoleJSON)


@router.get("/overview", summary="总览：城市实时 AQI、各站点、今日首要污染物、年度目标、水环境、台账、预警",
            description="“当前”为测量库中最新的小时（小时结束时刻，北京时间）。台账汇总按调用者的角色计算：公众只看到"
                        "已公开事项与信访汇总数；污染源（HJ 212）预警仅对登录用户列出。")
def get_overview(city: str | None = Query(None, description="城市名称（站点表 city 列）；缺省为站点最多的城市"),
                 console: Console = Depends(get_console), ctx: Ctx = Depends(get_ctx)) -> Response:
    content = overview(console, ctx, city)
    p = ctx.principal
    return encoded_json(console.json_memo.dumps(("overview", content["city"], p.role, p.unit_id, p.district_id),
                                                content))
