"""Adapter for the CNEMC real-time API export, one row per station-hour:

``timepoint,stationcode,longitude,latitude,area,positionname,primarypollutant,aqi,pm10,pm10_24h,pm2_5,pm2_5_24h,
o3,o3_24h,o3_8h,o3_8h_24h,no2,no2_24h,so2,so2_24h,co,co_24h`` (as archived hourly by e.g. HeQinWill/CNEMC).

* ``timepoint`` is Beijing time, hour-ending (``2022-01-04T16:00:00`` = 15:00–16:00).
* Known defect: in some archives the O3 labels are swapped (``o3`` holds the 24-h maximum and ``o3_24h`` the
  1-h value; likewise ``o3_8h``/``o3_8h_24h``). A 24-h maximum can never be below the current value, so when any
  row has ``o3 > o3_24h`` (or ``o3_8h > o3_8h_24h``) the file's labels are swapped; the adapter swaps them back and
  says so.
* Unknown stations are registered from the row's own ``positionname``/``area``/lon/lat.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from .common import ParsedFile, Quarantine, coerce_numeric, read_bytes, sha256_of, utf8_bytes
from .errors import IngestError
from .limits import clip, read_csv_text

KIND = "cnemc"

COLUMN_MAP: dict[str, str] = {
    "aqi": "pub_aqi",
    "pm10": "pm10",
    "pm10_24h": "pub_pm10_24h",
    "pm2_5": "pm25",
    "pm2_5_24h": "pub_pm25_24h",
    "o3": "o3",
    "o3_24h": "pub_o3_24h",
    "o3_8h": "pub_o3_8h",
    "o3_8h_24h": "pub_o3_8h_24h",
    "no2": "no2",
    "no2_24h": "pub_no2_24h",
    "so2": "so2",
    "so2_24h": "pub_so2_24h",
    "co": "co",
    "co_24h": "pub_co_24h",
}
REQUIRED = ("timepoint", "stationcode")


def parse_hour_index(times: pd.Series, line_no: np.ndarray, q: Quarantine, field_name: str) -> np.ndarray:
    """Hour-ending Beijing-time stamps → ``hi`` (float, NaN where invalid; invalid ones quarantined).

    Accepts ISO forms (``2023-01-20 01:00``, ``2023-01-20T01:00:00``, ``…+08:00``) and ``24:00`` for midnight.
    Stamps not on the full hour are rejected: they cannot be hourly values."""
    text = times.astype("string").str.strip()
    is24 = text.str.contains(r"[ T]24:00", regex=True, na=False)
    fixed = text.where(~is24, text.str.replace(r"[ T]24:00(:00)?", " 00:00", regex=True))
    has_zone = fixed.str.contains(r"(?:[+-]\d{2}:?\d{2}|Z)$", regex=True, na=False).to_numpy()
    ns = np.full(len(fixed), np.datetime64("NaT"), dtype="datetime64[ns]")
    if (~has_zone).any():
        naive = pd.to_datetime(fixed[~has_zone], errors="coerce", format="mixed")
        ns[~has_zone] = naive.to_numpy(dtype="datetime64[ns]")
    if has_zone.any():  # stamps with an offset are converted to Beijing time
        zoned = pd.to_datetime(fixed[has_zone], errors="coerce", format="mixed", utc=True)
        ns[has_zone] = zoned.dt.tz_convert("Asia/Shanghai").dt.tz_localize(None).to_numpy(dtype="datetime64[ns]")
    bad = np.isnat(ns)
    secs = (ns - np.datetime64("1970-01-01T00:00:00", "ns")).astype("timedelta64[s]").astype(np.int64)
    off_hour = ~bad & (secs % 3600 != 0)
    if bad.any():
        q.extend(line_no[bad], field_name, text[bad].fillna("").tolist(), "时间无法识别")
    if off_hour.any():
        q.extend(line_no[off_hour], field_name, text[off_hour].tolist(), "时间不是整点，不是小时值")
    hi = np.where(bad | off_hour, np.nan, secs // 3600 + np.where(is24.to_numpy(), 24, 0))
    return hi


def dedupe(frame: pd.DataFrame, line_no: np.ndarray, q: Quarantine, messages: list[str], value_cols: list[str]) -> pd.DataFrame:
    """One row per (station, hi): identical repeats dropped, conflicting repeats quarantined (first kept)."""
    dup_mask = frame.duplicated(["station", "hi"], keep="first").to_numpy()
    if not dup_mask.any():
        return frame
    dups = frame[dup_mask]
    first = frame[~dup_mask].rename(columns={c: c + "_first" for c in value_cols})
    joined = dups.merge(first, on=["station", "hi"], how="left")
    a = joined[value_cols].to_numpy(dtype=float)
    b = joined[[c + "_first" for c in value_cols]].to_numpy(dtype=float)
    conflict = ~((a == b) | (np.isnan(a) & np.isnan(b))).all(axis=1)
    if conflict.any():
        rows = np.flatnonzero(dup_mask)[conflict]
        q.extend(line_no[rows], "station,time", [f"{s} hi={h}" for s, h in zip(dups["station"][conflict], dups["hi"][conflict])],
                 "同一站点同一时次重复且数值不同，保留先出现的行")
    messages.append(f"{int(dup_mask.sum())} 行为重复的站点时次（其中 {int(conflict.sum())} 行数值冲突）")
    return frame[~dup_mask]


def parse(path: str | Path, data: bytes | None = None) -> ParsedFile:
    source = str(path)
    raw = read_bytes(path) if data is None else data
    buf, encoding = utf8_bytes(raw, source)
    q = Quarantine(source)
    messages = [f"文件编码为 {encoding}"] if encoding != "UTF-8" else []
    df = read_csv_text(buf, source)
    df.columns = [str(c).strip().lower() for c in df.columns]
    missing = [c for c in REQUIRED if c not in df.columns]
    if missing:
        raise IngestError(f"{source}: 不是 CNEMC 接口导出格式，缺少列 {', '.join(missing)}")
    if df.columns.duplicated().any():
        dup = df.columns[df.columns.duplicated()].unique().tolist()
        raise IngestError(f"{source}: 表头中的列重复：{clip(', '.join(dup), 80)}")
    line_no = np.arange(len(df), dtype=np.int64) + 2
    hi = parse_hour_index(df["timepoint"], line_no, q, "timepoint")
    station = df["stationcode"].str.strip()
    no_station = (station == "").to_numpy()
    if no_station.any():
        q.extend(line_no[no_station], "stationcode", [""] * int(no_station.sum()), "缺少站点编码")
    out = pd.DataFrame({"station": station, "hi": hi})
    present_cols = [c for c in COLUMN_MAP if c in df.columns]
    for c in present_cols:  # each column screened by the range of its pollutant (aqi: 0–500)
        out[COLUMN_MAP[c]] = coerce_numeric(df[c], line_no, c, q, param=COLUMN_MAP[c])
    swapped = []
    for now, maxcol in (("o3", "pub_o3_24h"), ("pub_o3_8h", "pub_o3_8h_24h")):
        if now in out and maxcol in out:
            both = out[now].notna() & out[maxcol].notna()
            above = (out[now] > out[maxcol]) & both
            if both.any() and above.sum() > 0.5 * both.sum():
                out[now], out[maxcol] = out[maxcol].copy(), out[now].copy()
                swapped.append(f"{now}/{maxcol}")
            elif above.any():
                messages.append(f"{int(above.sum())} 行的 {now} 大于其24小时最大值 {maxcol}，数据自相矛盾，已原样保留")
    if swapped:
        messages.append("检测到 O3 列标签互换（24小时最大值小于当前值），已纠正：" + "、".join(swapped))
    ok = ~np.isnan(hi) & ~no_station
    out, kept_lines = out[ok], line_no[ok]
    out["hi"] = out["hi"].astype(np.int64)
    value_cols = [COLUMN_MAP[c] for c in present_cols]
    out = dedupe(out.reset_index(drop=True), kept_lines, q, messages, value_cols)

    stations = None
    if {"positionname", "area"}.issubset(df.columns):
        meta = df.loc[ok, ["stationcode", "positionname", "area"] + [c for c in ("longitude", "latitude") if c in df.columns]]
        meta = meta.assign(stationcode=meta["stationcode"].str.strip())
        stations = meta[meta["stationcode"] != ""].drop_duplicates("stationcode")
    pf = ParsedFile(source, KIND, pa.Table.from_pandas(out, preserve_index=False), q, messages, len(df), sha256_of(raw))
    pf.stations_meta = stations  # type: ignore[attr-defined]
    return pf
