"""``/api/v1/water/...`` — sections with classes and targets; share of good sections by level."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query

from ...ledger.api import API_PREFIX
from ..console import Console, get_console
from ..data.water import water_sections, water_summary
from .response import ConsoleJSON

router = APIRouter(prefix=f"{API_PREFIX}/water", tags=["地表水"], default_response_class=ConsoleJSON)

YEAR = Query(None, ge=2000, le=2100, description="年份；缺省为最新数据所在年")
PERIOD = Query(None, description="时段（代替年份）：2025-03、2025-01-01:2025-03-31 等，按时段内均值定类")


@router.get("/sections", summary="断面：最新月份类别、年度（时段）类别、目标类别、是否达标、湖库 TLI")
def sections(year: int | None = YEAR, period: str | None = PERIOD,
             console: Console = Depends(get_console)) -> ConsoleJSON:
    return ConsoleJSON(water_sections(console, year, period))


@router.get("/summary", summary="按考核级别的优Ⅲ比例与劣Ⅴ比例")
def summary(year: int | None = YEAR, period: str | None = PERIOD,
            console: Console = Depends(get_console)) -> ConsoleJSON:
    return ConsoleJSON(water_summary(console, year, period))
