"""``GET /api/v1/targets`` — annual targets with year-to-date status and what the rest of the year must achieve."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query

from ...ledger.api import API_PREFIX
from ..console import Console, get_console
from ..data.targets import targets
from .response import ConsoleJSON

router = APIRouter(prefix=API_PREFIX, tags=["年度目标"], default_response_class=ConsoleJSON)


@router.get("/targets", summary="年度目标：年初至今数值、数据覆盖、状态、余下时段须达到")
def get_targets(city: str | None = Query(None, description="城市名称"),
                year: int | None = Query(None, ge=2000, le=2100, description="目标年度；缺省为最新完整日所在年"),
                as_of: str | None = Query(None, description="截至日期 YYYY-MM-DD；缺省为最新完整日（往年为 12-31）"),
                console: Console = Depends(get_console)) -> ConsoleJSON:
    return ConsoleJSON(targets(console, city, year, as_of))
