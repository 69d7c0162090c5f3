"""Physical plausibility ranges of every number the importers accept, in the units of the store (one table).

A value outside its range is not a measurement: it is a typing slip, a unit mistake, an instrument's error code or
a hostile file (``inf``, ``1e308``, a 400-digit number). The importers quarantine such a cell with the reason
(:func:`qingshan.ingest.common.screen`), never store it and never let it overwrite a stored value; the store
refuses a batch that still carries one (:mod:`qingshan.store.plausible`). The table is documented in
docs/formats.md#plausibility-ranges.

How the bounds were chosen: **generous but finite** — above anything a real instrument reports for ambient air,
surface water, precipitation or environmental noise, including the extremes of real episodes, so that real data
are never quarantined; low enough to stop absurd numbers. Reasoning per row:

* Air, hourly values (µg/m³; CO mg/m³). Ambient analysers' full scales (SO₂ UV fluorescence, NO₂
  chemiluminescence, O₃ UV photometry: 0.5–20 ppm; CO gas-filter correlation: 50–200 ppm) convert to roughly
  SO₂ 57,000, NO₂ 38,000, O₃ 2,000–20,000 µg/m³ and CO 60–250 mg/m³ at the top of their extended ranges; real
  hourly extremes are far lower (the real CNEMC files of 2023-01-20…23 reach SO₂ 952, NO₂ 196, O₃ 164, CO 16).
  Particles: dust storms bring hourly PM₁₀ of 10⁴ µg/m³ at desert-edge stations (the Spring-Festival fireworks
  of 2023-01-23 gave 5,202 at a national station), beta-attenuation monitors read to 10,000 (some to
  100,000 µg/m³): PM₁₀ and PM₂.₅ (which is part of PM₁₀) ≤ 50,000 µg/m³. A published AQI is capped at 500 by
  HJ 633 (IAQI 500 is the top breakpoint).
* Surface water (mg/L unless noted). pH 0–14 by definition; dissolved oxygen ≤ 100 (water saturated with pure
  oxygen at 0 ℃ holds ≈ 70 mg/L; real supersaturation in algal blooms stays below 30); conductivity ≤ 500,000
  µS/cm (saturated brine ≈ 250,000; sea water ≈ 50,000); turbidity ≤ 100,000 NTU (hyper-concentrated silt
  floods); chlorophyll a ≤ 100,000 mg/m³ (= 100 mg/L: surface scums of algal blooms reach 10³–10⁴ mg/m³; the
  real automatic-station data of 2020–2021 reach 32,560); algal density ≤ 10¹² cells/L (blooms 10⁹–10¹⁰);
  fecal coliform ≤ 10¹² 个/L (raw sewage 10⁹–10¹⁰); transparency ≤ 100 m (the clearest natural waters ≈ 80 m);
  water temperature 0–100 ℃. Every other chemical item ≤ 100,000 mg/L, i.e. 10 % of the sample's mass — no
  natural or polluted water carries that much of one constituent (sea water's whole salt content is 35,000).
* Precipitation: pH 0–14; rainfall of one daily sample ≤ 2,000 mm (the world's 24-hour record is 1,825 mm).
* Dustfall ≤ 10,000 t/(km²·30d) (cities report 2–20; dust-storm months reach 10²–10³); the raw flux of a
  sampling period ≤ 100,000 t/km² and its length ≤ 366 days.
* Environmental noise: L_eq 0–150 dB(A) (above the range of class-1 sound-level meters and of any environmental
  sound); a monitored road segment ≤ 1,000 km.
* Station coordinates: longitude −180–180°, latitude −90–90°.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Range:
    """Plausible values of one quantity, inclusive, in the store's unit."""

    lo: float
    hi: float
    unit: str
    name_zh: str

    def reason(self) -> str:
        """The quarantine reason of a value outside the range (Chinese, for users)."""
        unit = f" {self.unit}" if self.unit else ""
        return f"超出物理量程 {self.lo:,.15g}–{self.hi:,.15g}{unit}（{self.name_zh}），按缺测处理"


_MGL = 100_000.0  # 10 % by mass: the bound of every water constituent without a tighter one (module docstring)

RANGES: dict[str, Range] = {
    # air, hourly (and the published 24-h / 8-h values, which are means of hourly values)
    "so2": Range(0, 30_000, "µg/m³", "二氧化硫"),
    "no2": Range(0, 20_000, "µg/m³", "二氧化氮"),
    "o3": Range(0, 10_000, "µg/m³", "臭氧"),
    "co": Range(0, 500, "mg/m³", "一氧化碳"),
    "pm10": Range(0, 50_000, "µg/m³", "PM10"),
    "pm25": Range(0, 50_000, "µg/m³", "PM2.5"),
    "aqi": Range(0, 500, "", "AQI"),
    # surface water: automatic stations and manual samples
    "temp": Range(0, 100, "℃", "水温"),
    "ph": Range(0, 14, "", "pH"),
    "do": Range(0, 100, "mg/L", "溶解氧"),
    "cond": Range(0, 500_000, "µS/cm", "电导率"),
    "turb": Range(0, 100_000, "NTU", "浊度"),
    "chla": Range(0, 100_000, "mg/m³", "叶绿素a"),
    "algae": Range(0, 1e12, "cells/L", "藻密度"),
    "fcoli": Range(0, 1e12, "个/L", "粪大肠菌群"),
    "sd": Range(0, 100, "m", "透明度"),
    **{code: Range(0, _MGL, "mg/L", name) for code, name in (
        ("codmn", "高锰酸盐指数"), ("cod", "化学需氧量"), ("bod5", "五日生化需氧量"), ("nh3n", "氨氮"), ("tp", "总磷"),
        ("tn", "总氮"), ("cu", "铜"), ("zn", "锌"), ("f", "氟化物"), ("se", "硒"), ("as", "砷"), ("hg", "汞"),
        ("cd", "镉"), ("cr6", "铬(六价)"), ("pb", "铅"), ("cn", "氰化物"), ("phenol", "挥发酚"), ("oil", "石油类"),
        ("las", "阴离子表面活性剂"), ("s2", "硫化物"))},
    # precipitation, dustfall
    "rainfall": Range(0, 2_000, "mm", "降水量"),
    "dustfall": Range(0, 10_000, "t/(km²·30d)", "降尘量"),
    "flux": Range(0, 100_000, "t/km²", "降尘通量"),
    "days": Range(0, 366, "天", "采样天数"),
    # noise
    "leq": Range(0, 150, "dB(A)", "等效声级"),
    "length_km": Range(0, 1_000, "km", "路段长度"),
    # station coordinates
    "lon": Range(-180, 180, "°", "经度"),
    "lat": Range(-90, 90, "°", "纬度"),
}

#: Column names of the formats and the store that name a quantity of :data:`RANGES` differently.
_ALIASES: dict[str, str] = {
    "pm2_5": "pm25", "pm2.5": "pm25", "leq_day": "leq", "leq_night": "leq", "rainfall_mm": "rainfall",
    "longitude": "lon", "latitude": "lat",
}


def param_of(name: str) -> str | None:
    """The :data:`RANGES` key of a column name: the store's published values (``pub_pm25_24h``, ``pub_o3_8h``,
    ``pub_aqi``) and the CNEMC columns (``pm2_5_24h``, ``o3_8h_24h``) take the range of their pollutant."""
    key = name.strip().lower()
    if key.startswith("pub_"):
        key = key[4:]
    for suffix in ("_24h", "_8h", "_24h"):  # o3_8h_24h → o3_8h → o3
        if key.endswith(suffix) and key[: -len(suffix)]:
            key = key[: -len(suffix)]
    key = _ALIASES.get(key, key)
    return key if key in RANGES else None


def range_of(name: str) -> Range | None:
    """The plausibility range of a column name (None: a quantity without a range, such as a date)."""
    p = param_of(name)
    return RANGES[p] if p is not None else None
