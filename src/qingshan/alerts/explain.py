"""The cause note 初步原因分析 of one station and hour (issue 14 item 2; docs/alerts.md).

:func:`explain` reads a small window of the store (the station's last 30 days for its baselines and pollution rose,
its neighbours' and sensors' last 13 hours, the meteorology, the HJ 212 outlets' last 6 hours) and hands arrays to
the pure functions of :mod:`.fingerprint`, :mod:`.neighbours`, :mod:`.wind`, :mod:`.sources` and
:mod:`.judgement`. The result is a :class:`CauseNote`: ranked causes with scores, confidence, what data was
missing, an evidence table, a short Chinese paragraph, the upwind sector and the candidate sources.
"""

from __future__ import annotations

import json
import math
import warnings
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

import duckdb
import numpy as np

from ..errors import QingshanError
from ..evaluate.periods import EPOCH
from ..standards.pollutants import POLLUTANTS, SIX
from ..store.nearby import (
    Columns,
    air_window,
    located_outlets,
    located_stations,
    met_stations,
    met_window,
    outlet_hours,
)
from .festivals import festival_night
from .fingerprint import Fingerprint, fingerprint
from .judgement import Score, confidence, judge
from .neighbours import Spatial, haversine_km, spatial
from .sources import DUST_NETWORKS, OUTLET_FACTORS, SENSOR_NETWORKS, Candidate, candidate, locate, rank
from .wind import WindSummary, compass_name_zh, pollution_rose, summarise

#: hours of the window before the hour used for rises (13: a 12-hour accumulation test plus the hour)
WINDOW_HOURS = 13
#: days of the baseline and the pollution rose
BASELINE_DAYS = 30
_EPOCH_DT = datetime(EPOCH.year, EPOCH.month, EPOCH.day)


class ExplainError(QingshanError, ValueError):
    """The note cannot be made (unknown station, no data at the hour, a malformed hour)."""


class UnknownStation(ExplainError):
    """No station with that code and coordinates."""


class NoDataAtHour(ExplainError):
    """The station has no stored values at the hour."""


def hour_index(t: datetime) -> int:
    """``hi`` of a naive Beijing datetime labelling the end of an hour."""
    return int((t - _EPOCH_DT) // timedelta(hours=1))


def hour_time(hi: int) -> datetime:
    return _EPOCH_DT + timedelta(hours=int(hi))


def parse_hour(text: str) -> datetime:
    """``YYYY-MM-DD HH:00`` (or ISO ``T``) → datetime; ``D 24:00``, as published for the last hour of a day, is
    D+1 00:00; a clear Chinese error otherwise."""
    text = text.strip().replace("T", " ")
    day_end = text.endswith(" 24:00")
    try:
        t = datetime.fromisoformat(text[:-5] + "00:00" if day_end else text)
    except ValueError:
        raise ExplainError(f"时间格式无效：{text}（应为 YYYY-MM-DD HH:00）") from None
    if day_end:
        t += timedelta(days=1)
    if t.minute or t.second or t.microsecond or t.tzinfo is not None:
        raise ExplainError(f"时间须为整点（北京时间）：{text}")
    if not 1971 <= t.year <= 2100:  # the store's hour index is a 32-bit count of hours from 1970
        raise ExplainError(f"时间超出范围（1971–2100 年）：{text}")
    return t


@dataclass
class CauseNote:
    """The cause note of a station-hour (docs/alerts.md "The note")."""

    station: str
    station_name: str
    at: datetime
    causes: list[Score]
    confidence: str
    confidence_reason: str
    missing: list[str]
    evidence: list[dict[str, Any]]
    paragraph: str
    scope: str  # regional | local | unknown
    wind: WindSummary | None
    sector: tuple[float, float] | None
    candidates: list[Candidate]
    rose: list[dict[str, Any]] = field(default_factory=list)
    rose_pollutant: str = "pm25"
    map_points: list[dict[str, Any]] = field(default_factory=list)

    @property
    def first(self) -> str | None:
        return self.causes[0].cause if self.causes else None

    def as_dict(self) -> dict[str, Any]:
        w = None
        if self.wind is not None:
            w = {k: (None if isinstance(v, float) and math.isnan(v) else (round(v, 2) if isinstance(v, float) else v))
                 for k, v in vars(self.wind).items()}
        return {
            "station": self.station, "station_name": self.station_name, "at": self.at.strftime("%Y-%m-%d %H:%M"),
            "judgement": [{"cause": s.cause, "name": s.name, "score": round(s.score, 3), "reasons": list(s.reasons)}
                          for s in self.causes],
            "confidence": self.confidence, "confidence_reason": self.confidence_reason, "missing": self.missing,
            "scope": self.scope, "paragraph": self.paragraph, "evidence": self.evidence, "wind": w,
            "upwind_sector": list(self.sector) if self.sector else None,
            "candidates": [c.as_dict() for c in self.candidates],
            "rose": {"pollutant": self.rose_pollutant, "cells": self.rose}, "map": self.map_points,
        }

    def to_json(self) -> str:
        return json.dumps(self.as_dict(), ensure_ascii=False, indent=1, default=_jsonable)


def _jsonable(x: Any) -> Any:
    if isinstance(x, (np.floating, np.integer)):
        return x.item()
    raise TypeError(type(x))


def _grid(frame: Columns, cols: list[str], first: int, last: int) -> dict[str, dict[str, np.ndarray]]:
    """station → column → hourly array over ``first … last`` (NaN for absent hours), in one pass over the
    columns (``station``, ``hi`` and ``cols``)."""
    n = last - first + 1
    out: dict[str, dict[str, np.ndarray]] = {}
    if not len(frame["hi"]):
        return out
    order = np.argsort(frame["station"], kind="stable")
    st = frame["station"][order]
    idx = frame["hi"][order].astype(np.int64) - first
    bounds = np.flatnonzero(st[1:] != st[:-1]) + 1
    for lo, hi in zip(np.r_[0, bounds], np.r_[bounds, len(st)]):
        i = idx[lo:hi]
        ok = (i >= 0) & (i < n)
        arrays = {}
        for c in cols:
            a = np.full(n, np.nan)
            a[i[ok]] = np.asarray(frame[c][order[lo:hi]], float)[ok]
            arrays[c] = a
        out[str(st[lo])] = arrays
    return out


def _take(cols: Columns, mask: np.ndarray) -> Columns:
    """The rows of numpy columns where ``mask`` holds."""
    return {k: v[mask] for k, v in cols.items()}


def _limits(text: object) -> dict[str, float]:
    """The registry's JSON of emission limits; anything else (none, a column's 'None') is no limit."""
    try:
        out = json.loads(text) if isinstance(text, str) else None
    except ValueError:
        return {}
    return out if isinstance(out, dict) else {}


def _nearest_met(con: duckdb.DuckDBPyConnection, code: str, lon: float, lat: float, stations: Columns
                 ) -> tuple[str | None, float]:
    """The station's own met series, else the nearest station with meteorology (and its distance, km)."""
    have = met_stations(con)
    if code in have:
        return code, 0.0
    located = _take(stations, np.isin(stations["code"], have))
    if not len(located["code"]):
        return None, math.nan
    d = haversine_km(lon, lat, located["lon"], located["lat"])
    i = int(np.argmin(d))
    return str(located["code"][i]), float(d[i])


def explain(con: duckdb.DuckDBPyConnection, station: str, at: datetime, *, radius_km: tuple[float, float] = (10, 30)
            ) -> CauseNote:
    """The cause note of ``station`` at the hour labelled ``at`` (naive Beijing time, end of the hour)."""
    hi = hour_index(at)
    stations = located_stations(con)
    found = np.flatnonzero(stations["code"] == station)
    if not len(found):
        raise UnknownStation(f"未知站点或站点无坐标：{station}")
    i0 = int(found[0])
    lon, lat, city = float(stations["lon"][i0]), float(stations["lat"][i0]), stations["city"][i0]
    name = str(stations["name"][i0] or station)
    inner, outer = radius_km
    missing: list[str] = []
    critical: list[str] = []

    # --- the station itself: 30 days for the baselines and the rose ---------------------------------------------
    first_long, first = hi - BASELINE_DAYS * 24, hi - WINDOW_HOURS + 1
    own = air_window(con, [station], first_long, hi)
    if not len(own["hi"]) or not (own["hi"] == hi).any():
        raise NoDataAtHour(f"站点 {station} 在 {at:%Y-%m-%d %H:%M} 无监测数据")
    long = _grid(own, list(SIX), first_long, hi)[station]
    window = {p: long[p][-WINDOW_HOURS:] for p in SIX}
    same_hour = {p: long[p][:-1][::-1][23::24] for p in SIX}  # hi-24, hi-48, …
    fp = fingerprint(window, same_hour)
    absent = [POLLUTANTS[p].short_zh for p in SIX if math.isnan(fp.values[p])]
    if absent:
        missing.append(f"本时缺测：{'、'.join(absent)}")

    # --- meteorology ----------------------------------------------------------------------------------------------
    wind: WindSummary | None = None
    rose: list[dict[str, Any]] = []
    met_code, met_km = _nearest_met(con, station, lon, lat, stations)
    if met_code is None:
        missing.append("气象数据（风向、风速、湿度）")
        critical.append("气象数据")
    else:
        met = met_window(con, met_code, first_long, hi)
        met["station"] = np.full(len(met["hi"]), station, dtype=object)
        mg = _grid(met, ["wind_speed", "wind_dir", "rh"], first_long, hi)
        empty = np.full(hi - first_long + 1, np.nan)
        ws, wd, rh = (mg.get(station, {}).get(c, empty) for c in ("wind_speed", "wind_dir", "rh"))
        if not np.isfinite(ws[-6:]).any():
            missing.append(f"{at:%m-%d %H} 时前后的气象数据")
            critical.append("气象数据")
        else:
            wind = summarise(ws[-WINDOW_HOURS:], wd[-WINDOW_HOURS:], rh[-WINDOW_HOURS:])
        if met_km > outer:
            missing.append(f"本站附近气象站（最近 {met_km:.0f} km）")
    wind_from = wind.dir_3h if wind is not None and wind.sector is not None else math.nan

    # --- neighbours and the city ----------------------------------------------------------------------------------
    others = _take(stations, stations["code"] != station)
    others["km"] = haversine_km(lon, lat, others["lon"], others["lat"])
    sensor = np.isin(others["network"], SENSOR_NETWORKS)
    air_others = _take(others, ~sensor & (others["city"] == city) & ~others["is_control"].astype(bool))
    far_st = _take(air_others, air_others["km"] <= outer)
    sensors = _take(others, sensor & (others["km"] <= outer))
    city_codes = [str(c) for c in air_others["code"]]
    near_frame = air_window(con, city_codes + [str(c) for c in sensors["code"]], first, hi)
    grid = _grid(near_frame, list(SIX), first, hi)
    blank = np.full(WINDOW_HOURS, np.nan)
    upwind_idx = locate(lon, lat, far_st["lon"], far_st["lat"], wind_from, outer)
    sps: dict[str, Spatial] = {}
    for p in SIX:  # every pollutant: the judgement and the paragraph may each speak of another one
        far = [grid.get(c, {}).get(p, blank) for c in far_st["code"]]
        near = [x for x, km in zip(far, far_st["km"]) if km <= inner]
        city_stack = [window[p]] + [grid[c][p] for c in city_codes if c in grid]
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # an hour no city station reported stays NaN
            city_mean = np.nanmean(np.vstack(city_stack), axis=0)
        sps[p] = spatial(p, window[p], near, far, city_mean, [far[i] for i, _, _ in upwind_idx])
    sp = sps[fp.primary or "pm25"]
    if sp.far == 0:
        missing.append(f"{outer:g} km 内的邻近站点数据")
        critical.append("邻近站点")

    # --- candidate sources in the upwind sector -------------------------------------------------------------------
    cands: list[Candidate] = []
    for i, km, b in locate(lon, lat, sensors["lon"], sensors["lat"], wind_from, outer):
        code_i, name_i = str(sensors["code"][i]), str(sensors["name"][i] or sensors["code"][i])
        kind = "dust" if sensors["network"][i] in DUST_NETWORKS else "grid"
        for p in ("pm10", "pm25"):
            c = candidate(kind, code_i, name_i, p, POLLUTANTS[p].short_zh, grid.get(code_i, {}).get(p, blank), km, b)
            if c:
                cands.append(replace(c, lon=float(sensors["lon"][i]), lat=float(sensors["lat"][i])))
    outlets = located_outlets(con)
    if not len(outlets["mn"]):
        missing.append("带坐标的污染源排口（HJ 212 设备登记无设备或无经纬度）")
    elif not math.isnan(wind_from):
        hits = locate(lon, lat, outlets["lon"], outlets["lat"], wind_from, outer)
        data = outlet_hours(con, [str(outlets["mn"][i]) for i, _, _ in hits], hi - 6, hi)
        factor_of = data["factor"]
        for i, km, b in hits:
            o = {k: v[i] for k, v in outlets.items()}
            limits = _limits(o["limits"])
            label = "、".join(str(x) for x in (o["enterprise"], o["outlet"]) if isinstance(x, str) and x) or str(o["mn"])
            for f, fname in OUTLET_FACTORS.items():
                m = (data["station"] == o["mn"]) & (factor_of == f)
                if not m.any():
                    continue
                series = _grid({k: v[m] for k, v in data.items()}, ["avg"], hi - 6, hi)[str(o["mn"])]["avg"]
                c = candidate("outlet", str(o["mn"]), label, f, fname, series, km, b, limits.get(f))
                if c:
                    cands.append(replace(c, lon=float(o["lon"]), lat=float(o["lat"])))
    if math.isnan(wind_from) and wind is not None:
        missing.append("可信的风向（静风或风向多变，未指认上风向污染源）")
    cands = rank(cands)

    festival = festival_night(at)
    ranked = judge(fp, sp, wind, cands, at.hour, festival)
    level, why = confidence(ranked, critical)
    lead = headline(ranked[0].cause if ranked else None, fp) or sp.pollutant
    sp = sps[lead]
    rose_pollutant = lead
    if wind is not None:  # the station's last 30 days of the pollutant the note is about, by wind
        rose = pollution_rose(long[lead][:-1], ws[:-1], wd[:-1])
    evidence = _evidence(fp, sp, wind, festival)
    points = _map_points(station, name, lon, lat, far_st, cands, lead, window[lead][-1],
                         {str(c): grid.get(str(c), {}).get(lead, blank)[-1] for c in far_st["code"]})
    note = CauseNote(station, name, at, ranked, level, why, missing, evidence, "", sp.scope, wind,
                     wind.sector if wind else None, cands, rose, rose_pollutant, points)
    note.paragraph = paragraph(note, fp, sp)
    return note


def _evidence(fp: Fingerprint, sp: Spatial, wind: WindSummary | None, festival: str | None) -> list[dict[str, Any]]:
    """The evidence table: one row per number the judgement used."""
    def num(x: float, d: int = 1) -> float | None:
        return None if x is None or math.isnan(x) or math.isinf(x) else round(float(x), d)

    rows = [{"item": f"{POLLUTANTS[p].short_zh} 本时/前3–6时均值/30日同时段中位数/上升倍数", "value":
             [num(fp.values[p], 2), num(fp.before[p], 2), num(fp.baseline[p], 2), num(fp.up[p], 2)],
             "unit": POLLUTANTS[p].unit} for p in SIX]
    rows += [
        {"item": "PM2.5/PM10", "value": num(fp.pm_ratio, 2), "unit": ""},
        {"item": f"本站 {POLLUTANTS[sp.pollutant].short_zh} 上升（较前3–6时）", "value": num(sp.station_rise), "unit": POLLUTANTS[sp.pollutant].unit},
        {"item": "本站与邻近站点比较的上升（近3时较7–12时前；新近上升则本时较3–6时前）", "value": num(sp.own_recent), "unit": POLLUTANTS[sp.pollutant].unit},
        {"item": "10 km 内邻近站点数/上升中位数", "value": [sp.near, num(sp.near_rise)], "unit": POLLUTANTS[sp.pollutant].unit},
        {"item": "30 km 内邻近站点数/上升中位数/同步上升比例", "value": [sp.far, num(sp.far_rise), num(sp.share_rising, 2)],
         "unit": ""},
        {"item": "全市均值上升", "value": num(sp.city_rise), "unit": POLLUTANTS[sp.pollutant].unit},
    ]
    if wind is not None:
        rows += [
            {"item": "本时风速/风向", "value": [num(wind.speed_at), num(wind.dir_at, 0)], "unit": "m/s / °"},
            {"item": "近3小时矢量平均风向/平均风速", "value": [num(wind.dir_3h, 0), num(wind.speed_3h)], "unit": "° / m/s"},
            {"item": "近6小时平均风速/相对湿度", "value": [num(wind.speed_6h), num(wind.rh_6h, 0)], "unit": "m/s / %"},
        ]
    if fp.stuck or fp.step:
        rows.append({"item": "仪器迹象（恒值小时数/阶跃倍数）", "value": {**fp.stuck, **{k: num(v, 2) for k, v in fp.step.items()}},
                     "unit": ""})
    if festival:
        rows.append({"item": "节日夜间", "value": festival, "unit": ""})
    return rows


def _map_points(code: str, name: str, lon: float, lat: float, far_st: Columns, cands: list[Candidate],
                pollutant: str, value: float, values: dict[str, float]) -> list[dict[str, Any]]:
    """The map's points: the station and its neighbours with their value of ``pollutant`` at the hour (None when
    absent), the candidate sources with their coordinates, factor and recent mean."""
    def num(x: float) -> float | None:
        return None if x is None or not math.isfinite(x) else round(float(x), POLLUTANTS[pollutant].digits)

    pts = [{"kind": "station", "id": code, "name": name, "lon": lon, "lat": lat, "pollutant": pollutant,
            "value": num(value)}]
    pts += [{"kind": "neighbour", "id": str(c), "name": str(n), "lon": float(x), "lat": float(y), "km": round(float(k), 1),
             "pollutant": pollutant, "value": num(values.get(str(c), math.nan))}
            for c, n, x, y, k in zip(far_st["code"], far_st["name"], far_st["lon"], far_st["lat"], far_st["km"])]
    pts += [{"kind": c.kind, "id": c.id, "name": c.name, "lon": c.lon, "lat": c.lat, "km": round(c.distance_km, 1),
             "bearing": round(c.bearing), "factor": c.factor, "factor_zh": c.factor_zh,
             "value": round(c.recent, 2) if math.isfinite(c.recent) else None}
            for c in cands]
    return pts


#: the pollutant a cause is about (the paragraph leads with it)
CAUSE_POLLUTANT = {"dust": "pm10", "fireworks": "pm25", "traffic": "no2", "industry": "so2", "stagnation": "pm25",
                   "regional": "pm25", "photochemical": "o3"}


def headline(cause: str | None, fp: Fingerprint) -> str | None:
    """The pollutant the paragraph leads with: the first cause's own, else the one that rose most."""
    p = CAUSE_POLLUTANT.get(cause or "")
    if p and not math.isnan(fp.values[p]):
        return p
    if cause == "instrument" and (fp.stuck or fp.step):
        return next(iter({**fp.stuck, **fp.step}))
    return fp.primary


SCOPE_ZH = {"regional": "区域性", "local": "局地性", "unknown": "范围不明（无邻近站点数据）"}


def paragraph(note: CauseNote, fp: Fingerprint, sp: Spatial) -> str:
    """The short Chinese paragraph of the note."""
    head = f"{note.station_name}（{note.station}）{note.at:%Y-%m-%d %H:00}："
    if not note.causes:
        return head + "未见明显的异常上升，暂无需分析原因。" + (f"缺少{'、'.join(note.missing)}。" if note.missing else "")
    pol = sp.pollutant
    p = POLLUTANTS[pol]
    what = f"{p.short_zh} {fp.values[pol]:.{p.digits}f} {p.unit}"
    if fp.before[pol] > 0:
        what += f"，为前 3–6 小时均值的 {fp.values[pol] / fp.before[pol]:.1f} 倍"
    if fp.baseline[pol] > 0:
        what += f"、30 日同时段中位数的 {fp.values[pol] / fp.baseline[pol]:.1f} 倍"
    parts = [head + what]
    parts.append(f"上升为{SCOPE_ZH[note.scope]}")
    if note.wind is not None:
        w = note.wind
        if w.sector is not None:
            parts.append(f"近 3 小时主导风向 {compass_name_zh(w.dir_3h)}（{w.dir_3h:.0f}°），平均风速 {w.speed_3h:.1f} m/s")
        else:
            parts.append(f"近 3 小时平均风速 {w.speed_3h:.1f} m/s（静风）")
    first = note.causes[0]
    parts.append(f"初步判断为{first.name}：" + "；".join(first.reasons))
    if len(note.causes) > 1:
        parts.append("其次可能为" + "、".join(f"{s.name}（{s.score:.2f}）" for s in note.causes[1:3]))
    if note.candidates:
        parts.append("上风向可疑源：" + "；".join(
            f"{c.name}（{c.distance_km:.1f} km，{c.factor_zh} 近3时均值 {c.recent:.1f}，较此前 ×{c.rise:.1f}"
            + (f"，为限值的 {c.exceed:.1f} 倍" if c.exceed else "") + "）" for c in note.candidates[:3]))
    parts.append(f"置信度：{note.confidence}（{note.confidence_reason}）")
    if note.missing:
        parts.append("缺少数据：" + "、".join(note.missing))
    return "；".join(parts) + "。"
