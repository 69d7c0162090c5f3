"""Calibration of grid micro-sensors (网格化监测微站) against their nearest reference station (docs/networks.md).

Each sensor is paired with the nearest standard-method station (国控/省控/市控, not a control site; great-circle
distance by the haversine formula) within :data:`MAX_DISTANCE_KM`, and its hourly values are regressed on the
reference's over a co-location period. Two models:

* ``linear`` — ``ref = a·raw + b``, ordinary least squares. OLS rather than a robust fit because it is what the
  published sensor corrections use (Barkjohn et al. 2021 below), its R² and RMSE are the figures the quality gates
  are stated in, and gross outliers are the data review's business before a fit.
* ``humidity`` — ``ref = a·raw + b·RH + c`` (OLS), the multilinear form of the US EPA correction for PurpleAir
  PM2.5 sensors: Barkjohn, Gantt & Clements (2021), *Development and application of a United States-wide correction
  for PM2.5 data collected with the PurpleAir sensor*, Atmos. Meas. Tech. 14, 4617–4637,
  doi:10.5194/amt-14-4617-2021 (their nationwide fit: PM2.5 = 0.524·PA − 0.0862·RH + 5.75). Optical sensors read
  high in humid air (particle growth), so RH enters with its own coefficient. RH (%) comes from ``met_hourly`` of
  the nearest met station; without humidity data only ``linear`` is offered.

Quality gates: at least :data:`MIN_HOURS` co-located hours and R² ≥ :data:`MIN_R2` (the US EPA target for PM2.5
sensors: Duvall et al. 2021, *Performance Testing Protocols, Metrics, and Target Values for Fine Particulate Matter
Air Sensors*, EPA/600/R-20/280: R² ≥ 0.70). A fit failing a gate is stored as refused, with the reason.

Every fit is a new version (:mod:`qingshan.store.calibration`); a calibrated value of hour *h* uses the newest
accepted version whose ``valid_from_hi`` ≤ *h* (``valid_from_hi`` defaults to the first hour of its co-location
period), and hours before the first version use the first version. Calibrated values are derived on read.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import duckdb
import numpy as np
import pandas as pd

from ..errors import QingshanError
from ..standards.networks import GRID_NETWORK, indicative_mask, is_reference, network_mask
from ..store import calibration as store

MODELS = ("linear", "humidity")
#: farthest reference station a sensor may be calibrated against (km): beyond it the two see different air
MAX_DISTANCE_KM = 10.0
#: fewest co-located hours (one week of hourly pairs) for a fit
MIN_HOURS = 168
#: lowest R² of an accepted fit (US EPA PM2.5 sensor target, EPA/600/R-20/280)
MIN_R2 = 0.70
#: mean Earth radius (km, IUGG)
EARTH_RADIUS_KM = 6371.0088


class CalibrationError(QingshanError, ValueError):
    """A calibration request that cannot run (unknown sensor, no humidity for the humidity model …)."""


@dataclass(frozen=True)
class Fit:
    model: str
    coefficients: dict[str, float]
    n: int
    r2: float
    rmse: float


@dataclass(frozen=True)
class Outcome:
    """What one sensor's calibration did: the stored version, accepted or refused (with the reason)."""

    sensor: str
    pollutant: str
    version: int
    status: str
    reason: str | None
    reference: str | None
    distance_km: float | None
    fit: Fit | None


# --- pure functions -------------------------------------------------------------------------------------------


def haversine_km(lon1, lat1, lon2, lat2) -> np.ndarray:
    """Great-circle distance (km) between points given in degrees (arrays broadcast)."""
    lon1, lat1, lon2, lat2 = (np.radians(np.asarray(x, dtype=float)) for x in (lon1, lat1, lon2, lat2))
    h = np.sin((lat2 - lat1) / 2) ** 2 + np.cos(lat1) * np.cos(lat2) * np.sin((lon2 - lon1) / 2) ** 2
    return 2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(h, 0.0, 1.0)))


def nearest(lon: float, lat: float, candidates: pd.DataFrame) -> tuple[str, float] | None:
    """The nearest row of ``candidates`` (``code, lon, lat``; rows without coordinates ignored) and its distance."""
    c = candidates.dropna(subset=["lon", "lat"])
    if not len(c) or lon is None or lat is None or np.isnan(lon) or np.isnan(lat):
        return None
    d = haversine_km(lon, lat, c["lon"].to_numpy(), c["lat"].to_numpy())
    i = int(np.argmin(d))
    return str(c["code"].iloc[i]), float(d[i])


def _ols(x: np.ndarray, y: np.ndarray, names: Sequence[str], model: str) -> Fit:
    coef, *_ = np.linalg.lstsq(x, y, rcond=None)
    pred = x @ coef
    ss_res = float(np.sum((y - pred) ** 2))
    ss_tot = float(np.sum((y - y.mean()) ** 2))
    r2 = 1.0 - ss_res / ss_tot if ss_tot > 0 else float("nan")
    return Fit(model, {k: float(v) for k, v in zip(names, coef)}, int(len(y)), r2, float(np.sqrt(ss_res / len(y))))


def fit_linear(raw: np.ndarray, ref: np.ndarray) -> Fit:
    """OLS fit of ``ref = a·raw + b``; R² and RMSE of the fitted values against ``ref``."""
    raw, ref = np.asarray(raw, dtype=float), np.asarray(ref, dtype=float)
    return _ols(np.column_stack([raw, np.ones_like(raw)]), ref, ("a", "b"), "linear")


def fit_humidity(raw: np.ndarray, rh: np.ndarray, ref: np.ndarray) -> Fit:
    """OLS fit of ``ref = a·raw + b·RH + c`` (Barkjohn et al. 2021, AMT 14, 4617–4637)."""
    raw, rh, ref = (np.asarray(v, dtype=float) for v in (raw, rh, ref))
    return _ols(np.column_stack([raw, rh, np.ones_like(raw)]), ref, ("a", "b", "c"), "humidity")


def apply_model(model: str, coefficients: dict[str, float], raw: np.ndarray, rh: np.ndarray | None = None) -> np.ndarray:
    """Calibrated values of ``raw`` (NaN where an input is missing)."""
    raw = np.asarray(raw, dtype=float)
    if model == "linear":
        return coefficients["a"] * raw + coefficients["b"]
    if model == "humidity":
        rh = np.full_like(raw, np.nan) if rh is None else np.asarray(rh, dtype=float)
        return coefficients["a"] * raw + coefficients["b"] * rh + coefficients["c"]
    raise ValueError(f"unknown calibration model {model!r}")


def gate(fit: Fit | None, n: int, min_hours: int = MIN_HOURS, min_r2: float = MIN_R2) -> str | None:
    """Why a fit is refused (None: accepted)."""
    if n < min_hours:
        return f"同期有效小时数 {n} 少于 {min_hours}"
    if fit is None or not np.isfinite(fit.r2) or fit.r2 < min_r2:
        r2 = "无法计算" if fit is None or not np.isfinite(fit.r2) else f"{fit.r2:.3f}"
        return f"决定系数 R² {r2} 低于 {min_r2}"
    return None


# --- against the store ----------------------------------------------------------------------------------------


def sensors_of(stations: pd.DataFrame) -> pd.DataFrame:
    """The sensor rows (grid micro-sensors and dust monitors, aliases included) of a station frame."""
    return stations[indicative_mask(stations)]


def references_of(stations: pd.DataFrame) -> pd.DataFrame:
    """The reference stations (standard-method evaluation stations, not control sites) of a station frame."""
    ok = stations["network"].map(lambda n: is_reference(n if isinstance(n, str) else None)).astype(bool)
    return stations[ok & ~stations["is_control"].fillna(False).astype(bool)]


def nearest_reference(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Every sensor with its nearest reference station and distance (``code, reference, distance_km``)."""
    st = store.stations_located(con)
    refs = references_of(st)
    rows = []
    for s in sensors_of(st).itertuples():
        got = nearest(s.lon, s.lat, refs)
        rows.append({"code": s.code, "reference": got[0] if got else None,
                     "distance_km": round(got[1], 3) if got else None})
    return pd.DataFrame(rows, columns=["code", "reference", "distance_km"])


def _met_station(con: duckdb.DuckDBPyConnection, st: pd.DataFrame, lon: float, lat: float) -> str | None:
    met = st[st["code"].isin(store.met_stations(con))]
    got = nearest(lon, lat, met)
    return got[0] if got else None


def calibrate(con: duckdb.DuckDBPyConnection, *, model: str = "linear", pollutant: str = "pm25",
              first_hi: int | None = None, last_hi: int | None = None, sensors: Sequence[str] | None = None,
              valid_from_hi: int | None = None, created_by: str | None = None,
              max_distance_km: float = MAX_DISTANCE_KM, min_hours: int = MIN_HOURS,
              min_r2: float = MIN_R2) -> list[Outcome]:
    """Fit every grid sensor (or the ``sensors`` given: grid sensors or dust monitors) over the co-location hours
    ``first_hi … last_hi`` (inclusive, either end open) and store each fit as a new version. ``con`` must be
    writable."""
    if model not in MODELS:
        raise CalibrationError(f"校准模型应为 {'、'.join(MODELS)}，实际为 {model!r}")
    st = store.stations_located(con)
    candidates = sensors_of(st)
    if sensors:
        unknown = [c for c in sensors if c not in set(candidates["code"])]
        if unknown:
            raise CalibrationError(f"不是网格微站或扬尘监测点：{'、'.join(unknown)}")
        chosen = candidates[candidates["code"].isin(list(sensors))]
    else:
        chosen = candidates[network_mask(candidates, GRID_NETWORK)]
    if model == "humidity" and not store.met_stations(con):
        raise CalibrationError("测量库中没有相对湿度数据（met_hourly），只能使用 linear 模型")
    refs = references_of(st)
    pairs_of = _Pairs(con, pollutant, first_hi, last_hi, chosen["code"], refs["code"])
    fits = [_calibrate_one(con, st, refs, s, model, pollutant, first_hi, last_hi, valid_from_hi, created_by,
                           max_distance_km, min_hours, min_r2, pairs_of) for s in chosen.itertuples()]
    versions = store.add_calibrations(con, [rec for rec, _ in fits])  # one transaction for the run
    return [Outcome(rec.sensor, pollutant, v, rec.status, rec.reason, rec.reference, rec.distance_km, fit)
            for (rec, fit), v in zip(fits, versions)]


class _Pairs:
    """The hourly values of every sensor and reference of one calibration run, read in one query."""

    def __init__(self, con, pollutant: str, first_hi, last_hi, sensors, refs) -> None:
        v = store.hourly_values(con, [*sensors, *refs], pollutant, first_hi, last_hi)  # by station, hour
        codes = v["station"].to_numpy()
        hours, values = v["hi"].to_numpy(dtype=np.int64), v["value"].to_numpy(dtype=float)
        cuts = np.flatnonzero(codes[1:] != codes[:-1]) + 1 if len(codes) else np.array([], dtype=int)
        self.by_station = {str(codes[a]): (hours[a:b], values[a:b])
                           for a, b in zip(np.r_[0, cuts], np.r_[cuts, len(codes)]) if b > a}

    def __call__(self, sensor: str, ref: str) -> pd.DataFrame:
        empty = (np.array([], dtype=np.int64), np.array([], dtype=float))
        (h1, v1), (h2, v2) = self.by_station.get(sensor, empty), self.by_station.get(ref, empty)
        common, i1, i2 = np.intersect1d(h1, h2, assume_unique=True, return_indices=True)
        return pd.DataFrame({"hi": common, "raw": v1[i1], "ref": v2[i2]})


def _calibrate_one(con, st, refs, s, model, pollutant, first_hi, last_hi, valid_from_hi, created_by,
                   max_distance_km, min_hours, min_r2, pairs_of: _Pairs) -> tuple[store.CalibrationRecord, Fit | None]:
    got = nearest(s.lon, s.lat, refs)
    ref, dist = (got[0], got[1]) if got else (None, None)
    fit, met, reason, hours = None, None, None, np.array([], dtype=np.int64)
    if ref is None:
        reason = "没有带坐标的参比站点" if pd.notna(s.lon) and pd.notna(s.lat) else "微站缺少经纬度"
    elif dist > max_distance_km:
        reason = f"最近参比站 {ref} 距离 {dist:.1f} km，超过 {max_distance_km:g} km"
    else:
        pairs = pairs_of(s.code, ref)
        if model == "humidity":
            met = _met_station(con, st, s.lon, s.lat)
            rh = store.humidity(con, met, first_hi, last_hi) if met else pd.DataFrame(columns=["hi", "rh"])
            pairs = pairs.merge(rh, on="hi", how="inner")
        hours = pairs["hi"].to_numpy()
        if len(pairs) >= 3:
            fit = (fit_linear(pairs["raw"], pairs["ref"]) if model == "linear"
                   else fit_humidity(pairs["raw"], pairs["rh"], pairs["ref"]))
        reason = gate(fit, len(pairs), min_hours, min_r2)
    status = "refused" if reason else "accepted"
    f_from = int(hours.min()) if len(hours) else first_hi
    f_to = int(hours.max()) if len(hours) else last_hi
    rec = store.CalibrationRecord(
        sensor=s.code, pollutant=pollutant, model=model, coefficients=fit.coefficients if fit else None,
        reference=ref, distance_km=round(dist, 3) if dist is not None else None, met_station=met,
        fit_from_hi=f_from, fit_to_hi=f_to, valid_from_hi=valid_from_hi if valid_from_hi is not None else f_from,
        n=int(len(hours)), r2=fit.r2 if fit and np.isfinite(fit.r2) else None, rmse=fit.rmse if fit else None,
        status=status, reason=reason, created_by=created_by)
    return rec, fit


def version_of_hours(hours: np.ndarray, versions: pd.DataFrame | list[dict]) -> np.ndarray:
    """The accepted version (``version``, ``valid_from_hi`` of each) valid at each hour: the newest whose
    ``valid_from_hi`` ≤ the hour; hours before every version get the first one. 0 when there is none."""
    rows = versions.to_dict("records") if isinstance(versions, pd.DataFrame) else versions
    out = np.zeros(len(hours), dtype=np.int64)
    if not rows:
        return out
    rows = sorted(rows, key=lambda r: r["version"])
    for r in rows:
        vf = r["valid_from_hi"]
        out[hours >= (vf if pd.notna(vf) else np.iinfo(np.int64).min)] = int(r["version"])
    out[out == 0] = int(rows[0]["version"])
    return out


def calibrated_frame(con: duckdb.DuckDBPyConnection, sensors: Sequence[str], pollutant: str = "pm25",
                     first_hi: int | None = None, last_hi: int | None = None) -> pd.DataFrame:
    """The sensors' hours (``station, hi, raw, calibrated, version``), read in one query: raw as stored,
    calibrated with the version valid at each hour (NaN and version 0 without an accepted calibration, NaN where the
    humidity model lacks RH)."""
    raw = store.hourly_values(con, sensors, pollutant, first_hi, last_hi).rename(columns={"value": "raw"})
    raw = raw.reset_index(drop=True)
    cal = store.calibrations(con, pollutant=pollutant, accepted_only=True)
    cal = cal[cal["sensor"].isin(list(sensors))]
    calibrated = np.full(len(raw), np.nan)
    version = np.zeros(len(raw), dtype=np.int64)
    rh_cache: dict[str, dict[int, float]] = {}
    hours_all = raw["hi"].to_numpy(dtype=np.int64)
    values_all = raw["raw"].to_numpy(dtype=float)
    by_sensor: dict[str, list[dict]] = {}
    for r in cal.to_dict("records"):
        by_sensor.setdefault(r["sensor"], []).append(r)
    for code, idx in raw.groupby("station", sort=False).indices.items():
        versions = by_sensor.get(code)
        if not versions:
            continue
        hours = hours_all[idx]
        v = version_of_hours(hours, versions)
        version[idx] = v
        for row in versions:
            m = v == row["version"]
            if not m.any():
                continue
            rh = None
            met = row["met_station"]
            if row["model"] == "humidity":
                if met not in rh_cache:
                    h = store.humidity(con, met, first_hi, last_hi) if isinstance(met, str) else None
                    rh_cache[met] = dict(zip(h["hi"], h["rh"])) if h is not None else {}
                rh = pd.Series(hours[m]).map(rh_cache[met]).to_numpy(dtype=float)
            calibrated[idx[m]] = apply_model(row["model"], row["coefficients"], values_all[idx][m], rh)
    raw["calibrated"] = calibrated
    raw["version"] = version
    return raw


def calibrated_series(con: duckdb.DuckDBPyConnection, sensor: str, pollutant: str = "pm25",
                      first_hi: int | None = None, last_hi: int | None = None) -> pd.DataFrame:
    """One sensor's hours (``hi, raw, calibrated, version``) as :func:`calibrated_frame`."""
    return calibrated_frame(con, [sensor], pollutant, first_hi, last_hi).drop(columns="station").reset_index(drop=True)
