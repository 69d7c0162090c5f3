"""Scenario suite of the cause note (issue 14 item 5): a seeded generator of realistic hourly data with one
injected, known cause (docs/alerts.md "Scenario suite").

Each :class:`Scenario` holds plain tables — stations, air hours, meteorology, HJ 212 outlets and their hourly
values — for a target station and five neighbours 4–25 km away, 31 days ending at the hour to explain. The
background has what real data has: a shared regional component (AR(1) in log space), local noise, diurnal cycles
(night PM, rush-hour CO/NO2, afternoon O3), wind that wanders around a prevailing direction, values rounded as the
store keeps them. One of :data:`CAUSES` is then injected; sources that rise *outside* the upwind sector (decoys)
are added to the dust and industry cases, and the note must never name them.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import numpy as np
import pandas as pd

from ..evaluate.periods import EPOCH
from ..standards.pollutants import SIX
from .festivals import festival_dates

CAUSES = ("regional", "dust", "traffic", "industry", "fireworks", "instrument", "stagnation")
DAYS = 15  # enough for a baseline median; the note reads up to 30 days
CITY = "示例市"
_EPOCH_DT = datetime(EPOCH.year, EPOCH.month, EPOCH.day)
KM_PER_DEG_LAT = 111.2


@dataclass
class Scenario:
    cause: str
    seed: int
    station: str
    at: datetime
    wind_from: float  # prevailing direction (degrees the wind comes from) of the last hours
    stations: pd.DataFrame
    air: pd.DataFrame
    met: pd.DataFrame
    outlets: pd.DataFrame
    outlet_hours: pd.DataFrame
    sources: set[str] = field(default_factory=set)  # injected sources inside the upwind sector
    decoys: set[str] = field(default_factory=set)  # rising sources outside the upwind sector
    variant: str = ""


def _offset(lon: float, lat: float, bearing_deg: float, km: float) -> tuple[float, float]:
    """A point ``km`` away at ``bearing_deg`` (flat-earth: distances here are ≤ 30 km)."""
    b = math.radians(bearing_deg)
    dlat = km * math.cos(b) / KM_PER_DEG_LAT
    dlon = km * math.sin(b) / (KM_PER_DEG_LAT * math.cos(math.radians(lat)))
    return lon + dlon, lat + dlat


def _ar1(rng: np.random.Generator, n: int, phi: float, sigma: float) -> np.ndarray:
    e = rng.normal(0, sigma, n)
    out = np.empty(n)
    out[0] = e[0] / math.sqrt(1 - phi * phi)
    for i in range(1, n):
        out[i] = phi * out[i - 1] + e[i]
    return out


def _hour_of_day(hours: np.ndarray) -> np.ndarray:
    return hours % 24


def _rush(h: np.ndarray) -> np.ndarray:
    """Rush-hour shape: bumps at 08 and 19 h."""
    return 1 + 0.45 * np.exp(-((h - 8) ** 2) / 3) + 0.4 * np.exp(-((h - 19) ** 2) / 4)


def _ramp(n: int, hours: int, factor: float, lead: int = 0) -> np.ndarray:
    """Multiplier rising linearly from 1 to ``factor`` over the last ``hours`` (``lead`` hours earlier)."""
    m = np.ones(n)
    end = n - 1 - lead
    for k in range(hours + 1):
        i = end - hours + k
        if 0 <= i < n:
            m[i] = 1 + (factor - 1) * k / hours
    m[end + 1:] = factor
    return m


def _pick_at(rng: np.random.Generator, cause: str) -> datetime:
    year = int(rng.integers(2015, 2026))
    if cause == "fireworks":
        eve = festival_dates(year)["除夕"]
        hour = int(rng.choice([22, 23, 24, 25]))  # 22:00 … 01:00 of the night
        return datetime(eve.year, eve.month, eve.day) + timedelta(hours=hour)
    day = datetime(year, int(rng.choice([4, 5, 9, 10, 11])), int(rng.integers(1, 28)))
    if cause == "traffic":
        return day + timedelta(hours=int(rng.choice([8, 9, 18, 19])))
    return day + timedelta(hours=int(rng.integers(0, 24)))


def generate(cause: str, seed: int) -> Scenario:
    """One scenario of ``cause`` (one of :data:`CAUSES`), reproducible from ``seed``."""
    if cause not in CAUSES:
        raise ValueError(f"unknown cause {cause!r}")
    rng = np.random.default_rng([seed, CAUSES.index(cause)])
    at = _pick_at(rng, cause)
    hi = int((at - _EPOCH_DT) // timedelta(hours=1))
    n = DAYS * 24 + 13
    hours = np.arange(hi - n + 1, hi + 1)
    hod = _hour_of_day(hours)

    # --- stations: the target and five neighbours --------------------------------------------------------------
    lon0, lat0 = 119.95 + rng.uniform(-0.1, 0.1), 31.78 + rng.uniform(-0.1, 0.1)
    codes = ["S00"] + [f"S{i:02d}" for i in range(1, 6)]
    bearings = (rng.uniform(0, 360) + np.arange(5) * 72 + rng.uniform(-15, 15, 5)) % 360
    dists = rng.uniform(4, 25, 5)
    pos = [(lon0, lat0)] + [_offset(lon0, lat0, b, d) for b, d in zip(bearings, dists)]
    st_rows = [{"code": c, "name": f"站点{c[1:]}", "city": CITY, "district": "示例区", "lon": p[0], "lat": p[1],
                "is_control": False, "network": "国控"} for c, p in zip(codes, pos)]

    # --- meteorology: prevailing wind and what the cause needs in the last day --------------------------------
    prevailing = float(rng.uniform(0, 360))
    wdir = (prevailing + _ar1(rng, n, 0.9, 8) + rng.normal(0, 8, n)) % 360
    wspd = np.clip(2.5 + 0.8 * np.sin((hod - 9) * math.pi / 12) + _ar1(rng, n, 0.8, 0.4), 0.3, None)
    rh = np.clip(60 - 15 * np.sin((hod - 9) * math.pi / 12) + _ar1(rng, n, 0.9, 3), 15, 99)
    last = slice(n - 24, n)
    if cause == "stagnation":
        wspd[last] = rng.uniform(0.2, 0.8, 24)
        rh[last] = rng.uniform(82, 96, 24)
    elif cause == "dust":
        wspd[last] = rng.uniform(3.5, 6.5, 24)
        rh[last] = rng.uniform(20, 40, 24)
    elif cause in ("regional", "industry"):
        wspd[last] = rng.uniform(2.2, 4.5, 24)
    elif cause in ("traffic", "fireworks"):
        wspd[last] = rng.uniform(1.3, 2.5, 24)
    wind_from = prevailing

    # --- background air ---------------------------------------------------------------------------------------
    regional = _ar1(rng, n, 0.97, 0.07)
    night = 1 + 0.18 * np.cos((hod - 23) * math.pi / 12)
    sunlit = np.where((hod >= 8) & (hod <= 19), 1 + 0.9 * np.sin((hod - 8) * math.pi / 11), 0.45)
    level = rng.uniform(25, 45)
    air: dict[str, dict[str, np.ndarray]] = {}
    for c in codes:
        local = _ar1(rng, n, 0.8, 0.06)
        pm25 = level * np.exp(regional + local) * night
        air[c] = {
            "pm25": pm25,
            "pm10": pm25 / rng.uniform(0.5, 0.62) * np.exp(rng.normal(0, 0.05, n)),
            "no2": 28 * _rush(hod) * np.exp(0.5 * regional + _ar1(rng, n, 0.7, 0.08)),
            "co": 0.55 * _rush(hod) * np.exp(0.5 * regional + _ar1(rng, n, 0.7, 0.06)),
            "so2": 9 * np.exp(0.3 * regional + _ar1(rng, n, 0.7, 0.1)),
            "o3": 55 * sunlit * np.exp(_ar1(rng, n, 0.8, 0.08)),
        }

    outlets: list[dict] = []
    outlet_rows: list[pd.DataFrame] = []
    sensors: list[dict] = []
    sources: set[str] = set()
    decoys: set[str] = set()
    variant = ""
    target = air["S00"]

    def up_sector() -> float:
        return (wind_from + rng.uniform(-15, 15)) % 360

    def off_sector() -> float:
        return (wind_from + rng.choice([-1, 1]) * rng.uniform(100, 180)) % 360

    def add_outlet(mn: str, bearing_deg: float, km: float, rising: bool) -> None:
        lon, lat = _offset(lon0, lat0, bearing_deg, km)
        outlets.append({"mn": mn, "enterprise": f"企业{mn[-2:]}", "outlet": "1号排口", "name": None,
                        "limits": json.dumps({"a21026": 50.0, "a34013": 20.0}), "lon": lon, "lat": lat})
        so2 = 30 * np.exp(rng.normal(0, 0.08, 7))
        if rising:
            so2[-3:] *= rng.uniform(2.5, 5.0)
        outlet_rows.append(pd.DataFrame({"mn": mn, "hi": hours[-7:], "factor": "a21026", "avg": so2}))
        outlet_rows.append(pd.DataFrame({"mn": mn, "hi": hours[-7:], "factor": "a34013",
                                         "avg": 8 * np.exp(rng.normal(0, 0.08, 7))}))

    def add_sensor(code: str, network: str, bearing_deg: float, km: float, rising: bool) -> None:
        lon, lat = _offset(lon0, lat0, bearing_deg, km)
        sensors.append({"code": code, "name": f"工地{code[-2:]}扬尘", "city": CITY, "district": "示例区", "lon": lon,
                        "lat": lat, "is_control": False, "network": network})
        pm10 = 90 * np.exp(_ar1(rng, n, 0.7, 0.1))
        if rising:
            pm10 *= _ramp(n, 3, rng.uniform(3, 6))
        air[code] = {p: np.full(n, np.nan) for p in SIX}
        air[code]["pm10"] = pm10
        air[code]["pm25"] = pm10 * 0.3

    if cause == "regional":
        f = rng.uniform(2.2, 3.5)
        for c, (lon, lat) in zip(codes, pos):
            lead = 0
            if c != "S00":
                b = math.degrees(math.atan2((lon - lon0) * math.cos(math.radians(lat0)), lat - lat0)) % 360
                diff = abs((b - wind_from + 180) % 360 - 180)
                lead = 2 if diff <= 60 else (-1 if diff >= 120 else 0)
            m = _ramp(n, 6, f, lead=max(lead, 0)) if lead >= 0 else _ramp(n, 5, f * 0.9)
            air[c]["pm25"] = air[c]["pm25"] * m
            air[c]["pm10"] = air[c]["pm10"] * (0.2 + 0.8 * m)
            air[c]["co"] = air[c]["co"] * (1 + 0.15 * (m - 1))
    elif cause == "dust":
        f = rng.uniform(3.5, 6.0)
        target["pm10"] = target["pm10"] * _ramp(n, 3, f)
        target["pm25"] = target["pm25"] * _ramp(n, 3, rng.uniform(1.2, 1.6))
        add_sensor("D01", "扬尘", up_sector(), rng.uniform(1.0, 4.0), True)
        add_sensor("D02", "扬尘", off_sector(), rng.uniform(1.0, 4.0), True)
        add_sensor("D03", "扬尘", up_sector(), rng.uniform(5.0, 9.0), False)
        sources.add("D01")
        decoys.add("D02")
    elif cause == "traffic":
        target["co"] = target["co"] * _ramp(n, 2, rng.uniform(1.9, 3.0))
        target["no2"] = target["no2"] * _ramp(n, 2, rng.uniform(1.7, 2.5))
        target["pm25"] = target["pm25"] * _ramp(n, 2, rng.uniform(1.1, 1.4))
        for c in codes[1:]:
            air[c]["co"] = air[c]["co"] * _ramp(n, 2, rng.uniform(1.0, 1.15))
    elif cause == "industry":
        target["so2"] = target["so2"] * _ramp(n, 3, rng.uniform(3.0, 6.0))
        target["pm25"] = target["pm25"] * _ramp(n, 3, rng.uniform(1.05, 1.3))
        target["no2"] = target["no2"] * _ramp(n, 3, rng.uniform(1.0, 1.2))
        add_outlet("MN0000000001", up_sector(), rng.uniform(2.0, 8.0), True)
        add_outlet("MN0000000002", off_sector(), rng.uniform(2.0, 8.0), True)
        add_outlet("MN0000000003", up_sector(), rng.uniform(8.0, 14.0), False)
        sources.add("MN0000000001")
        decoys.add("MN0000000002")
    elif cause == "fireworks":
        for c in codes:
            f = rng.uniform(3.0, 6.0)
            air[c]["pm25"] = air[c]["pm25"] * _ramp(n, 3, f)
            air[c]["pm10"] = air[c]["pm10"] * _ramp(n, 3, f * rng.uniform(0.75, 0.9))
            air[c]["so2"] = air[c]["so2"] * _ramp(n, 3, rng.uniform(2.0, 4.0))
            air[c]["co"] = air[c]["co"] * _ramp(n, 3, rng.uniform(1.5, 2.5))
    elif cause == "instrument":
        variant = str(rng.choice(["stuck", "step", "pm25_over_pm10"]))
        k = int(rng.integers(4, 8))
        if variant == "stuck":
            target["pm25"][-k:] = max(round(float(target["pm25"][-k])), 25)
        elif variant == "step":
            p = str(rng.choice(["pm25", "no2", "so2"]))
            lvl = float(np.mean(target[p][-k - 3:-k])) * rng.uniform(3.0, 5.0)
            target[p][-k:] = lvl * (1 + rng.uniform(-0.008, 0.008, k))  # one analyser: the others go on as before
        else:
            target["pm10"][-k:] = target["pm25"][-k:] * rng.uniform(0.5, 0.8)
    elif cause == "stagnation":
        f = rng.uniform(2.3, 3.3)
        ramp_h = int(rng.integers(12, 16))
        for c in codes:
            m = _ramp(n, ramp_h, f * rng.uniform(0.9, 1.1))
            air[c]["pm25"] = air[c]["pm25"] * m
            air[c]["pm10"] = air[c]["pm10"] * (0.3 + 0.7 * m)

    # --- tables ------------------------------------------------------------------------------------------------
    names = list(air)
    table: dict[str, np.ndarray] = {"station": np.repeat(np.array(names, dtype=object), n),
                                    "hi": np.tile(hours, len(names))}
    for p in SIX:
        v = np.concatenate([np.asarray(air[c][p], float) for c in names])
        table[p] = np.round(v, 1) if p == "co" else np.round(v)
    met = pd.DataFrame({"station": "S00", "hi": hours, "temp": 15 + 6 * np.sin((hod - 9) * math.pi / 12),
                        "rh": np.round(rh), "pressure": 1013.0, "wind_speed": np.round(wspd, 1),
                        "wind_dir": np.round(wdir)})
    out_cols = ["mn", "enterprise", "outlet", "name", "limits", "lon", "lat"]
    return Scenario(
        cause, seed, "S00", at, wind_from, pd.DataFrame(st_rows + sensors), pd.DataFrame(table),
        met, pd.DataFrame(outlets, columns=out_cols),
        pd.concat(outlet_rows, ignore_index=True) if outlet_rows else pd.DataFrame(columns=["mn", "hi", "factor", "avg"]),
        sources, decoys, variant)


def suite(per_cause: int = 20, first_seed: int = 1) -> list[Scenario]:
    """``per_cause`` scenarios of every cause, seeds ``first_seed …``."""
    return [generate(c, s) for c in CAUSES for s in range(first_seed, first_seed + per_cause)]
