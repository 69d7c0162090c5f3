"""``/api/v1/air/...`` — stations now, one station's series, calendar and diurnal profile, HJ 663 evaluation,
rankings with the bulletin highlights (docs/console.md#endpoints)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query

from ...ledger.api import API_PREFIX, Ctx, get_ctx
from ..console import Console, get_console
from ..data.air_eval import evaluation, ranking
from ..data.air_now import air_now
from ..data.air_station import (
    station_calendar,
    station_diurnal,
    station_info,
    station_series,
)
from ..data.capture import capture
from .response import ConsoleJSON

router = APIRouter(prefix=f"{API_PREFIX}/air", tags=["环境空气"], default_response_class=ConsoleJSON)

CITY = Query(None, description="城市名称；缺省为站点最多的城市")
PERIOD = Query(None, description="时段：2025、2025-03、2025-01-01:2025-03-31 或 2025-03-05；缺省为年初至最新完整日")
DATA = Query(None, description="数据口径：reviewed 审核后（缺省）| raw 原始数据；答复的 data 字段说明所用口径")


@router.get("/stations", summary="站点列表与当前小时 AQI、各污染物小时值及 24 小时/8 小时滑动平均")
def stations(city: str | None = CITY, console: Console = Depends(get_console)) -> ConsoleJSON:
    now = air_now(console, city)
    return ConsoleJSON({"city": now["city"], "as_of": now["as_of"], "city_now": now["city_now"],
                        "stations": now["stations"], "rulesets": now["rulesets"]})


@router.get("/stations/{code}", summary="站点信息与数据范围")
def station(code: str, console: Console = Depends(get_console)) -> ConsoleJSON:
    return ConsoleJSON(station_info(console, code))


@router.get("/stations/{code}/series", summary="站点逐时数据与 AQI（缺省为最近 7 天）")
def series(code: str, start: str | None = Query(None, description="起始日期 YYYY-MM-DD"),
           end: str | None = Query(None, description="结束日期 YYYY-MM-DD（含）"),
           pollutant: str | None = Query(None, description="只取一项：so2 no2 co o3 pm10 pm25 so2_24h … o3_8h aqi"),
           data: str | None = DATA, console: Console = Depends(get_console)) -> ConsoleJSON:
    return ConsoleJSON(station_series(console, code, start, end, pollutant, data))


@router.get("/stations/{code}/calendar", summary="站点全年日 AQI（日报）与类别")
def calendar(code: str, year: int | None = Query(None, ge=2000, le=2100, description="年份；缺省为最新数据所在年"),
             console: Console = Depends(get_console)) -> ConsoleJSON:
    return ConsoleJSON(station_calendar(console, code, year))


@router.get("/stations/{code}/diurnal", summary="站点日变化：各小时（1—24 时）平均浓度与 AQI（缺省为最近 30 天）")
def diurnal(code: str, start: str | None = Query(None, description="起始日期 YYYY-MM-DD"),
            end: str | None = Query(None, description="结束日期 YYYY-MM-DD（含）"),
            console: Console = Depends(get_console)) -> ConsoleJSON:
    return ConsoleJSON(station_diurnal(console, code, start, end))


@router.get("/evaluation", summary="HJ 663 时段评价统计表（含数据覆盖：有效天数/应有天数）")
def get_evaluation(city: str | None = CITY, period: str | None = PERIOD,
                   level: str | None = Query(None, description="station（缺省）| district | town | city"),
                   data: str | None = DATA, console: Console = Depends(get_console)) -> ConsoleJSON:
    return ConsoleJSON(evaluation(console, city, period, level, data))


@router.get("/ranking", summary="排名：黄色=劣于全市平均，红色=较上年同期变差")
def get_ranking(city: str | None = CITY, period: str | None = PERIOD,
                level: str | None = Query(None, description="station（缺省）| district | town（乡镇站所在镇/街道）"),
                by: str | None = Query(None, description="composite_index（缺省）| pm25_mean | good_ratio | pm10_mean"
                                                            " | no2_mean | so2_mean | o3_8h_p90 | co_p95"),
                data: str | None = DATA, console: Console = Depends(get_console)) -> ConsoleJSON:
    return ConsoleJSON(ranking(console, city, period, level, by, data))


@router.get("/capture", summary="数据获取率：各站点今日/本月应有小时数、已收到小时数与比例，离线站点与 HJ 212 设备",
            description="应有小时 = 时段内截至当前时刻已经过的小时数（实时运行时按北京时间钟点，数据停止于过去时按数据时钟）；"
                        "已收到 = 至少有一项污染物数值的小时数。公众只看到离线设备数量，不含设备明细。")
def get_capture(city: str | None = CITY,
                period: str = Query("today", description="today（今日，缺省）| month（本月）"),
                console: Console = Depends(get_console), ctx: Ctx = Depends(get_ctx)) -> ConsoleJSON:
    return ConsoleJSON(capture(console, city, period, public=ctx.principal.is_public))
