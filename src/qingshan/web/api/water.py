"""``/api/v1/water/...`` — sections with classes and targets; share of good sections by level; the map's water
layer (sections with their positions and latest class)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field

from ...ledger.api import API_PREFIX
from ..console import Console, get_console
from ..data.water import water_sections, water_summary
from ..data.water_map import water_map
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


class MapSection(BaseModel):
    section: str = Field(description="断面编码（断面表的 section）")
    name: str
    lon: float = Field(description="经度（WGS-84 十进制度）")
    lat: float = Field(description="纬度（WGS-84 十进制度）")
    class_: str = Field(alias="class", description="最新监测月份的水质类别 Ⅰ…劣Ⅴ；时段内无数据为“无数据”")
    colour: str = Field(description="类别颜色（与控制台其他水质图表相同）")
    ink: str = Field(description="写在该颜色上的文字颜色（对比度较高的白或深灰）")
    month: str | None = Field(description="定类所用的最新监测月份 YYYY-MM")
    factors: list[str] = Field(description="定类因子（决定类别的监测项目）")
    main_pollutants: str = Field(description="该月主要污染指标（超Ⅲ类的项目及超标倍数）")
    period_class: str = Field(description="整个时段（年度）的水质类别")
    target_class: str
    meets_target: bool | None = Field(description="时段类别是否达到目标")
    water_body_label: str
    note: str
    url: str | None = Field(description="水环境页面上该断面所在行的链接（该时段有数据时）")


class Unplaced(BaseModel):
    section: str
    name: str


class LegendEntry(BaseModel):
    class_: str = Field(alias="class")
    colour: str
    ink: str


class WaterMap(BaseModel):
    year: int | None
    period: str | None = Field(description="评价时段的名称（年份、月份或日期区间）")
    dates: dict[str, str] | None = Field(description="评价时段起止日期 start、end")
    basis: str = Field(description="着色依据")
    ruleset: str
    ruleset_title: str
    legend: list[LegendEntry]
    sections: list[MapSection] = Field(description="有坐标的断面")
    without_coordinates: list[Unplaced] = Field(description="无坐标、地图上无法标出的断面")
    notes: list[str]


@router.get("/map", summary="地图水质断面图层：有坐标断面的位置、最新月水质类别与定类因子；无坐标断面名单",
            response_model=WaterMap)
def map_layer(year: int | None = YEAR, period: str | None = PERIOD,
              console: Console = Depends(get_console)) -> ConsoleJSON:
    return ConsoleJSON(water_map(console, year, period))
