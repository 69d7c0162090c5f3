"""``/api/v1/grid/...`` — grid micro-sensors: the list, a sensor's raw or calibrated series, and new calibrations
(bureau roles only; docs/networks.md)."""

from __future__ import annotations

from typing import Literal, Optional

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field

from ...evaluate.calibration import MODELS, CalibrationError, calibrate
from ...ledger.api import API_PREFIX, Ctx, get_ctx
from ...ledger.rbac import PermissionDenied
from ...store import calibration as store
from ..console import Console, get_console
from ..data.common import BadParameter
from ..data.grid import EPOCH, sensor_rows, sensor_series
from .response import ConsoleJSON

router = APIRouter(prefix=f"{API_PREFIX}/grid", tags=["网格微站"], default_response_class=ConsoleJSON)

#: roles that may fit calibrations (the bureau's own staff; docs/ledger.md#roles)
CALIBRATING_ROLES = frozenset({"admin", "bureau"})
POLLUTANT = Query("pm25", description="pm25 或 pm10")


@router.get("/sensors", summary="网格微站与扬尘监测点：网络、最近参比站、当前校准、漂移标记")
def sensors(pollutant: str = POLLUTANT, console: Console = Depends(get_console)) -> ConsoleJSON:
    if pollutant not in ("pm25", "pm10"):
        raise BadParameter(f"污染物应为 pm25 或 pm10，实际为 {pollutant!r}")
    with console.store.cursor() as cur:
        rows = sensor_rows(cur, pollutant)
    return ConsoleJSON({"pollutant": pollutant, "sensors": rows,
                        "note": "网格微站与扬尘监测点不参与任何官方评价、排名与目标考核"})


@router.get("/sensors/{code}/series", summary="微站逐时数据：原始值，及按各小时适用的校准版本推算的校准值")
def series(code: str, calibrated: bool = Query(False, description="true：同时给出校准值与所用版本"),
           start: Optional[str] = Query(None, description="起始日期 YYYY-MM-DD"),
           end: Optional[str] = Query(None, description="结束日期 YYYY-MM-DD（含）；缺省为该微站最新数据日"),
           pollutant: str = POLLUTANT, console: Console = Depends(get_console)) -> ConsoleJSON:
    with console.store.cursor() as cur:
        return ConsoleJSON(sensor_series(cur, code, calibrated, start, end, pollutant))


class CalibrationBody(BaseModel):
    model: Literal["linear", "humidity"] = Field("linear", description="linear 或 humidity")
    pollutant: Literal["pm25", "pm10"] = "pm25"
    sensors: Optional[list[str]] = Field(None, description="只校准这些微站；缺省为全部网格微站")
    start: Optional[str] = Field(None, alias="from", description="同期比对起始日 YYYY-MM-DD")
    end: Optional[str] = Field(None, alias="to", description="同期比对结束日 YYYY-MM-DD（含）")


def _day(text: str | None, name: str) -> int | None:
    from datetime import date

    if text is None:
        return None
    try:
        return (date.fromisoformat(text) - EPOCH).days
    except ValueError:
        raise BadParameter(f"{name} 日期无效：{text}（应为 YYYY-MM-DD）") from None


@router.post("/calibrations", summary="拟合校准系数（每次拟合存为新版本；仅限生态环境局用户）")
def post_calibration(body: CalibrationBody, console: Console = Depends(get_console),
                     ctx: Ctx = Depends(get_ctx)) -> ConsoleJSON:
    if ctx.principal.role not in CALIBRATING_ROLES:
        raise PermissionDenied("只有生态环境局用户可以校准网格微站")
    d0, d1 = _day(body.start, "from"), _day(body.end, "to")
    if d0 is not None and d1 is not None and d1 < d0:
        raise BadParameter("结束日期早于起始日期")
    with console.store.cursor() as cur:
        try:
            outcomes = calibrate(cur, model=body.model, pollutant=body.pollutant, sensors=body.sensors,
                                 first_hi=d0 * 24 + 1 if d0 is not None else None,
                                 last_hi=(d1 + 1) * 24 if d1 is not None else None,
                                 created_by=ctx.principal.name)
        except CalibrationError as e:
            raise BadParameter(str(e)) from None
        stored = store.calibrations(cur, pollutant=body.pollutant)
    rows = {(r["sensor"], int(r["version"])): store.as_dict(r) for r in stored.to_dict("records")}
    return ConsoleJSON({"models": list(MODELS),
                        "calibrations": [rows[(o.sensor, o.version)] for o in outcomes]})
