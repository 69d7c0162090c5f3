"""Grid micro-sensors for the API and the command line: the sensor list (network, nearest reference, active
calibration, drift flag) and a sensor's raw or calibrated series (docs/networks.md).

Not cached by the console's store fingerprint: a calibration changes what these return without changing
``air_hourly``.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import duckdb

from ...evaluate.calibration import calibrated_series, nearest_reference, sensors_of
from ...evaluate.drift import drift_flags
from ...numbers import finite
from ...standards.networks import network_of
from ...store import calibration as store
from ..store import hour_time
from .common import BadParameter, DataNotFound

EPOCH = date(1970, 1, 1)
#: hours the sensor list's drift flag looks back over (one week)
DRIFT_LOOKBACK_HOURS = 7 * 24
#: longest series one request returns (days)
MAX_SERIES_DAYS = 366


def _hour_label(hi: int) -> str:
    return hour_time(int(hi)).strftime("%Y-%m-%d %H:%M")


def _date(day: int) -> str:
    return date.fromordinal(EPOCH.toordinal() + day).isoformat()


def sensor_rows(con: duckdb.DuckDBPyConnection, pollutant: str = "pm25") -> list[dict[str, Any]]:
    """Every grid micro-sensor and dust monitor with its nearest reference station, its active calibration of
    ``pollutant`` (None when never accepted) and whether the drift check of the last week flags it."""
    st = store.stations_located(con)
    sensors = sensors_of(st)
    if not len(sensors):
        return []
    refs = nearest_reference(con).set_index("code")
    cal = store.calibrations(con, pollutant=pollutant)
    active = {r["sensor"]: store.as_dict(r) for r in cal[cal["active"]].to_dict("records")} if len(cal) else {}
    last = store.last_hour(con)
    flags = {c.sensor: c for c in drift_flags(con, last - DRIFT_LOOKBACK_HOURS + 1 if last else None, pollutant)}
    out = []
    for s in sensors.to_dict("records"):
        ref = refs.loc[s["code"]] if s["code"] in refs.index else None
        check = flags.get(s["code"])
        out.append({"code": s["code"], "name": s["name"], "network": network_of(s["network"]), "city": s["city"],
                    "district": s["district"], "lon": finite(s["lon"]), "lat": finite(s["lat"]),
                    "reference": ref["reference"] if ref is not None else None,
                    "distance_km": finite(ref["distance_km"]) if ref is not None else None,
                    "calibration": active.get(s["code"]),
                    "drift": bool(check.flagged) if check else False,
                    "drift_check": check.as_dict() if check else None})
    return out


def _day(text: str | None, name: str) -> int | None:
    if text is None or not text.strip():
        return None
    try:
        return (date.fromisoformat(text) - EPOCH).days
    except ValueError:
        raise BadParameter(f"{name} 日期无效：{text}（应为 YYYY-MM-DD）") from None


def sensor_series(con: duckdb.DuckDBPyConnection, code: str, calibrated: bool, start: str | None, end: str | None,
                  pollutant: str = "pm25") -> dict[str, Any]:
    """A sensor's hourly ``pollutant`` values from ``start`` to ``end`` (inclusive days; default: the last 7 days
    of its data): raw always, calibrated (and the calibration version of each hour) when asked."""
    if pollutant not in ("pm25", "pm10"):
        raise BadParameter(f"污染物应为 pm25 或 pm10，实际为 {pollutant!r}")
    st = store.stations_located(con)
    sensors = sensors_of(st)
    if code not in set(sensors["code"]):
        raise DataNotFound(f"没有编码为 {code} 的网格微站或扬尘监测点")
    d0, d1 = _day(start, "start"), _day(end, "end")
    if d1 is None:
        got = store.hourly_values(con, [code], pollutant)
        if not len(got):
            return {"code": code, "pollutant": pollutant, "calibrated": calibrated, "hours": []}
        d1 = (int(got["hi"].max()) - 1) // 24
    if d0 is None:
        d0 = d1 - 6
    if d1 < d0:
        raise BadParameter("结束日期早于起始日期")
    if d1 - d0 + 1 > MAX_SERIES_DAYS:
        raise BadParameter(f"单次最多查询 {MAX_SERIES_DAYS} 天")
    frame = calibrated_series(con, code, pollutant, d0 * 24 + 1, (d1 + 1) * 24)
    hours = []
    for r in frame.itertuples():
        row: dict[str, Any] = {"time": _hour_label(r.hi), "raw": finite(r.raw)}
        if calibrated:
            row["calibrated"] = finite(round(r.calibrated, 1)) if r.calibrated == r.calibrated else None
            row["version"] = int(r.version) or None
        hours.append(row)
    return {"code": code, "pollutant": pollutant, "calibrated": calibrated,
            "start": _date(d0), "end": _date(d1), "hours": hours,
            "note": "校准值按各小时适用的校准版本由原始值推算，原始值保持不变" if calibrated else "原始值（未校准）"}
