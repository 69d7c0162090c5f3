"""HJ 633 — 环境空气质量指数 (AQI) 技术规定, versions 2012 and 2026, plus the national platform practice.

Everything here is data (breakpoint tables, categories, rule sets) and pure functions: the scalar reference
(:func:`iaqi`, :func:`aqi_of`, exact :class:`fractions.Fraction` arithmetic) and the vectorised kernels the engine
runs (:func:`iaqi_array`, :func:`aqi_arrays`), both driven by the same tables so a breakpoint lives in one place.

Clauses implemented
-------------------
* Breakpoints: HJ 633-2012 表1; HJ 633-2026 表3 (PM10 100-point 150→120, PM2.5 75→60; the rest unchanged).
* IAQI formula: HJ 633-2012 §4.2 eq. (1); 2026 §4.2.4. Concentrations are first rounded per GB/T 8170 to the
  reporting precision (integers in µg/m³, CO one decimal in mg/m³; 2026 §4.2.2–4.2.3), so the interpolation is
  done in exact integer arithmetic and then rounded **up** (2012 §6.2, 2026 §4.2.6).
* Above the highest breakpoint neither version defines a value; the IAQI is capped at 500 (implementation choice,
  as in the national platform's published data where PM above the table shows AQI 500).
* SO2 1-h above 800 µg/m³: 2012 table note (2) — no 1-h IAQI, report the 24-h IAQI; 2026 note b and the national
  platform practice — IAQI = 200.
* O3 8-h above 800 µg/m³: 2012 note (3) — no 8-h IAQI, the 1-h IAQI is used; 2026 note c — IAQI = 300.
* AQI = max IAQI (eq. 2); primary pollutant(s) when AQI > 50, all ties listed (2012 §4.4.2, 2026 §4.3.1).
* Categories and colours: 2012 表2 + 附录A; 2026 表1 + 附录A (identical RGB).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Literal, Mapping

import numpy as np

from .pollutants import PRIMARY_CODES
from .rounding import round_gbt8170, round_gbt8170_array

IAQI_STEPS: tuple[int, ...] = (0, 50, 100, 150, 200, 300, 400, 500)


@dataclass(frozen=True)
class Breakpoints:
    """One column of the HJ 633 breakpoint table."""

    key: str
    pollutant: str
    averaging: str  # "1h", "24h" (daily), "8h"
    conc: tuple[float, ...]
    digits: int  # reporting precision of the concentration
    iaqi: tuple[int, ...] = IAQI_STEPS

    def __post_init__(self) -> None:
        if len(self.conc) > len(self.iaqi) or list(self.conc) != sorted(self.conc):
            raise ValueError(f"bad breakpoint table {self.key}")

    @property
    def top(self) -> float:
        return self.conc[-1]

    @property
    def top_iaqi(self) -> int:
        return self.iaqi[len(self.conc) - 1]

    def scaled(self) -> tuple[int, ...]:
        """Breakpoints in integer units of the reporting precision (CO in 0.1 mg/m³)."""
        s = 10**self.digits
        return tuple(int(round(c * s)) for c in self.conc)


def _bp(key: str, pollutant: str, averaging: str, conc: tuple[float, ...], digits: int = 0) -> Breakpoints:
    return Breakpoints(key, pollutant, averaging, conc, digits)


# HJ 633-2012 表1 (µg/m³; CO mg/m³).
TABLES_2012: dict[str, Breakpoints] = {
    b.key: b
    for b in (
        _bp("so2_24h", "so2", "24h", (0, 50, 150, 475, 800, 1600, 2100, 2620)),
        _bp("so2_1h", "so2", "1h", (0, 150, 500, 650, 800)),
        _bp("no2_24h", "no2", "24h", (0, 40, 80, 180, 280, 565, 750, 940)),
        _bp("no2_1h", "no2", "1h", (0, 100, 200, 700, 1200, 2340, 3090, 3840)),
        _bp("pm10_24h", "pm10", "24h", (0, 50, 150, 250, 350, 420, 500, 600)),
        _bp("co_24h", "co", "24h", (0, 2, 4, 14, 24, 36, 48, 60), digits=1),
        _bp("co_1h", "co", "1h", (0, 5, 10, 35, 60, 90, 120, 150), digits=1),
        _bp("o3_1h", "o3", "1h", (0, 160, 200, 300, 400, 800, 1000, 1200)),
        _bp("o3_8h", "o3", "8h", (0, 100, 160, 215, 265, 800)),
        _bp("pm25_24h", "pm25", "24h", (0, 35, 75, 115, 150, 250, 350, 500)),
    )
}

# HJ 633-2026 表3: identical except the PM daily columns.
TABLES_2026: dict[str, Breakpoints] = {
    **TABLES_2012,
    "pm10_24h": _bp("pm10_24h", "pm10", "24h", (0, 50, 120, 250, 350, 420, 500, 600)),
    "pm25_24h": _bp("pm25_24h", "pm25", "24h", (0, 35, 60, 115, 150, 250, 350, 500)),
}


# --- categories -----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Category:
    level: int  # 1..6
    level_zh: str  # 一级 …
    name_zh: str  # 优 …
    colour: str  # HJ 633 附录A RGB as hex
    upper: int | None  # highest AQI of the band (None = open)


CATEGORIES: tuple[Category, ...] = (
    Category(1, "一级", "优", "#00E400", 50),
    Category(2, "二级", "良", "#FFFF00", 100),
    Category(3, "三级", "轻度污染", "#FF7E00", 150),
    Category(4, "四级", "中度污染", "#FF0000", 200),
    Category(5, "五级", "重度污染", "#99004C", 300),
    Category(6, "六级", "严重污染", "#7E0023", None),
)


def category(aqi: int | None) -> Category | None:
    """HJ 633-2012 表2 / 2026 表1 band of an AQI value."""
    if aqi is None:
        return None
    for c in CATEGORIES:
        if c.upper is None or aqi <= c.upper:
            return c
    raise AssertionError("unreachable")


# --- rule sets ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Indicator:
    """One IAQI term of an AQI: which output code, from which input value, with which breakpoints."""

    code: str  # one of PRIMARY_CODES
    source: str  # input column name
    table: str  # key into the rule set's tables


@dataclass(frozen=True)
class AqiRuleSet:
    name: str
    title_zh: str
    tables: Mapping[str, Breakpoints]
    hourly: tuple[Indicator, ...]
    daily: tuple[Indicator, ...]
    so2_1h_above_top: Literal["use_24h", "iaqi_200"]
    o3_8h_above_top: Literal["use_1h", "iaqi_300"]
    #: HJ 633-2026 §5.3.1: with a pollutant missing, AQI is published only when the rest already give AQI > 100.
    publish_requires_complete: bool
    notes: tuple[str, ...] = field(default=())

    def hourly_sources(self) -> tuple[str, ...]:
        extra = ("so2_24h",) if self.so2_1h_above_top == "use_24h" else ()
        return tuple(dict.fromkeys([i.source for i in self.hourly] + list(extra)))


_I = Indicator

_DAILY_2012 = (
    _I("so2", "so2", "so2_24h"),
    _I("no2", "no2", "no2_24h"),
    _I("co", "co", "co_24h"),
    _I("o3", "o3_1h_max", "o3_1h"),
    _I("o3_8h", "o3_8h_max", "o3_8h"),
    _I("pm10", "pm10", "pm10_24h"),
    _I("pm25", "pm25", "pm25_24h"),
)

_DAILY_2026 = (
    _I("so2", "so2", "so2_24h"),
    _I("no2", "no2", "no2_24h"),
    _I("co", "co", "co_24h"),
    _I("o3_8h", "o3_8h_max", "o3_8h"),
    _I("pm10", "pm10", "pm10_24h"),
    _I("pm25", "pm25", "pm25_24h"),
)

_HOURLY_SIX = (
    _I("so2", "so2", "so2_1h"),
    _I("no2", "no2", "no2_1h"),
    _I("co", "co", "co_1h"),
    _I("o3", "o3", "o3_1h"),
    _I("pm10", "pm10", "pm10_24h"),
    _I("pm25", "pm25", "pm25_24h"),
)

CNEMC_REALTIME = AqiRuleSet(
    name="cnemc-realtime",
    title_zh="全国城市空气质量实时发布平台口径（HJ 633-2012 表值）",
    tables=TABLES_2012,
    hourly=_HOURLY_SIX,
    daily=_DAILY_2012,
    so2_1h_above_top="iaqi_200",
    o3_8h_above_top="use_1h",
    publish_requires_complete=False,
    notes=(
        "实时报：六项污染物1小时浓度；PM10、PM2.5 1小时浓度按24小时平均浓度限值计算分指数（2014-01-01起平台做法）；",
        "SO2 1小时浓度高于800 µg/m³ 时分指数按200计（平台发布数据实测）；O3 8小时滑动平均不参与实时AQI。",
        "日报同 HJ 633-2012。",
    ),
)

HJ633_2012 = AqiRuleSet(
    name="hj633-2012",
    title_zh="HJ 633-2012 字面规定",
    tables=TABLES_2012,
    hourly=(
        _I("so2", "so2", "so2_1h"),
        _I("no2", "no2", "no2_1h"),
        _I("co", "co", "co_1h"),
        _I("o3", "o3", "o3_1h"),
        _I("o3_8h", "o3_8h", "o3_8h"),
        _I("pm10", "pm10_24h", "pm10_24h"),
        _I("pm25", "pm25_24h", "pm25_24h"),
    ),
    daily=_DAILY_2012,
    so2_1h_above_top="use_24h",
    o3_8h_above_top="use_1h",
    publish_requires_complete=False,
    notes=(
        "实时报按 §5.1.3 与表4：PM 分指数取24小时滑动平均；含 O3 8小时滑动平均；",
        "SO2 1小时浓度高于800 µg/m³ 时取24小时平均浓度分指数（表1注2）；O3 8小时高于800时取1小时分指数（表1注3）。",
    ),
)

HJ633_2026 = AqiRuleSet(
    name="hj633-2026",
    title_zh="HJ 633-2026",
    tables=TABLES_2026,
    hourly=_HOURLY_SIX,
    daily=_DAILY_2026,
    so2_1h_above_top="iaqi_200",
    o3_8h_above_top="iaqi_300",
    publish_requires_complete=True,
    notes=(
        "实时报：六项污染物1小时浓度，PM 1小时浓度按日平均浓度限值（§4.2.4）；",
        "日报：SO2、NO2、CO、PM10、PM2.5 日平均与 O3 日最大8小时平均（§4.2.2）；",
        "缺项时仅当其余项目 AQI>100 才发布 AQI（§5.3.1）。",
    ),
)

AQI_RULESETS: dict[str, AqiRuleSet] = {r.name: r for r in (CNEMC_REALTIME, HJ633_2012, HJ633_2026)}


# --- pure scalar functions (the reference the SQL kernels are tested against) ---------------------------------


def iaqi(table: Breakpoints, conc: float | None) -> int | None:
    """IAQI of one concentration against one breakpoint column (HJ 633 eq. 1, rounded up).

    Missing or negative → ``None``. Above the top breakpoint → the top IAQI of the column (500 for full
    columns); the SO2-1h and O3-8h special cases are applied by :func:`aqi_of`.

    >>> iaqi(TABLES_2012["pm25_24h"], 40)
    57
    >>> iaqi(TABLES_2012["co_24h"], 1.5)
    38
    """
    if conc is None or conc != conc or conc < 0:
        return None
    s = 10**table.digits
    x = int(round_gbt8170(conc * s))  # integer units of the reporting precision
    bps = table.scaled()
    if x >= bps[-1]:
        return table.top_iaqi
    for i in range(1, len(bps)):
        if x <= bps[i]:
            lo, hi = bps[i - 1], bps[i]
            ilo, ihi = table.iaqi[i - 1], table.iaqi[i]
            value = Fraction(ihi - ilo, hi - lo) * (x - lo) + ilo
            return -((-value.numerator) // value.denominator)  # ceiling
    raise AssertionError("unreachable")


@dataclass(frozen=True)
class AqiResult:
    iaqi: dict[str, int | None]
    aqi: int | None
    primary: tuple[str, ...]
    category: Category | None


def aqi_of(values: Mapping[str, float | None], ruleset: AqiRuleSet, kind: Literal["hourly", "daily"]) -> AqiResult:
    """AQI of one station-hour (``kind="hourly"``) or one day, with IAQIs, primary pollutants and category.

    ``values`` maps the indicator sources (``so2``, ``pm25_24h``, ``o3_8h_max`` …) to concentrations.
    """
    indicators = ruleset.hourly if kind == "hourly" else ruleset.daily
    out: dict[str, int | None] = {}
    for ind in indicators:
        table = ruleset.tables[ind.table]
        c = values.get(ind.source)
        v = iaqi(table, c)
        if v is not None and c is not None and c > table.top:
            if ind.table == "so2_1h":
                if ruleset.so2_1h_above_top == "iaqi_200":
                    v = 200
                else:  # HJ 633-2012 note (2): the 24-h IAQI is reported instead
                    v = iaqi(ruleset.tables["so2_24h"], values.get("so2_24h"))
            elif ind.table == "o3_8h":
                # 2012 note (3): no 8-h IAQI; the 1-h IAQI (already an indicator) stands for O3.
                v = 300 if ruleset.o3_8h_above_top == "iaqi_300" else None
        out[ind.code] = v
    present = [v for v in out.values() if v is not None]
    aqi = max(present) if present else None
    if aqi is not None and ruleset.publish_requires_complete and len(present) < len(out) and aqi <= 100:
        aqi = None
    primary: tuple[str, ...] = ()
    if aqi is not None and aqi > 50:
        primary = tuple(c for c in PRIMARY_CODES if out.get(c) == aqi)
    return AqiResult(out, aqi, primary, category(aqi))


# --- vectorised kernels (numpy): the engine's hot path ------------------------------------------------------


@functools.lru_cache(maxsize=None)
def _lookup(table: Breakpoints) -> np.ndarray:
    """IAQI of every concentration from 0 to the top breakpoint, in integer units of the reporting precision
    (at most 38,401 entries): the exact ceiling interpolation of :func:`iaqi`, evaluated once per table."""
    bps = np.asarray(table.scaled(), dtype=np.int64)
    steps = np.asarray(table.iaqi[: len(bps)], dtype=np.int64)
    x = np.arange(bps[-1] + 1, dtype=np.int64)
    j = np.clip(np.searchsorted(bps, x, side="left"), 1, len(bps) - 1)
    lo, hi, ilo, ihi = bps[j - 1], bps[j], steps[j - 1], steps[j]
    den = hi - lo
    return (ilo + ((ihi - ilo) * (x - lo) + den - 1) // den).astype(np.float32)  # ceiling, exact integers


def iaqi_array(table: Breakpoints, conc: np.ndarray) -> np.ndarray:
    """:func:`iaqi` for an array (float32 result — IAQIs are integers ≤ 500 —, NaN = no IAQI): GB/T 8170-rounded
    concentration in integer units, capped at the top breakpoint, looked up in the table's exact IAQI table."""
    c = np.asarray(conc, dtype=float)
    lut = _lookup(table)
    units = round_gbt8170_array(c * 10**table.digits if table.digits else c, 0)  # integer-valued, exact
    with np.errstate(invalid="ignore"):
        invalid = ~(c >= 0)  # NaN or negative
    units[invalid] = 0
    out = lut.take(units.astype(np.int64), mode="clip")  # "clip" caps at the top breakpoint
    out[invalid] = np.nan
    return out


#: ``primary_pollutants`` text for every bit pattern of :data:`PRIMARY_CODES`.
PRIMARY_TEXT = np.array(
    [",".join(c for k, c in enumerate(PRIMARY_CODES) if m >> k & 1) for m in range(1 << len(PRIMARY_CODES))],
    dtype=object,
)
_LEVEL_UPPER = np.array([c.upper for c in CATEGORIES[:-1]], dtype=float)


def level_array(aqi: np.ndarray) -> np.ndarray:
    """Category level 1…6 of each AQI (0 where AQI is missing)."""
    a = np.asarray(aqi, dtype=float)
    return np.where(np.isnan(a), 0, np.searchsorted(_LEVEL_UPPER, np.nan_to_num(a), side="left") + 1).astype(np.int8)


def primary_text(mask: np.ndarray) -> np.ndarray:
    """``primary_pollutants`` texts (comma-joined codes) of primary-pollutant bit masks."""
    return PRIMARY_TEXT[np.asarray(mask, dtype=np.int64)]


#: Rows per internal slice of :func:`aqi_arrays`: small enough for the CPU caches, large enough for numpy.
CHUNK_ROWS = 1 << 18


def aqi_arrays(
    values: Mapping[str, np.ndarray], ruleset: AqiRuleSet, kind: Literal["hourly", "daily"]
) -> dict[str, np.ndarray]:
    """:func:`aqi_of` for arrays: ``iaqi_<code>`` for every code of :data:`PRIMARY_CODES` (NaN where the rule set
    has no such term), ``aqi`` (NaN = none), ``level`` (1…6, 0 = missing) and ``primary_mask`` (bit k set when
    ``PRIMARY_CODES[k]`` is a primary pollutant; 0 when AQI ≤ 50 — see :func:`primary_text`)."""
    n = len(next(iter(values.values())))
    if n <= CHUNK_ROWS:
        return _aqi_chunk(values, ruleset, kind, n)
    out: dict[str, np.ndarray] | None = None
    for i in range(0, n, CHUNK_ROWS):
        part = _aqi_chunk({k: v[i : i + CHUNK_ROWS] for k, v in values.items()}, ruleset, kind, min(CHUNK_ROWS, n - i))
        if out is None:
            out = {k: np.empty(n, dtype=v.dtype) for k, v in part.items()}
        for k, v in part.items():
            out[k][i : i + len(v)] = v
    return out


def _aqi_chunk(values: Mapping[str, np.ndarray], ruleset: AqiRuleSet, kind: str, n: int) -> dict[str, np.ndarray]:
    indicators = ruleset.hourly if kind == "hourly" else ruleset.daily
    out: dict[str, np.ndarray] = {}
    aqi = np.full(n, np.nan, dtype=np.float32)
    complete = np.ones(n, dtype=bool)
    for ind in indicators:
        table = ruleset.tables[ind.table]
        c = np.asarray(values[ind.source], dtype=float)
        v = iaqi_array(table, c)
        with np.errstate(invalid="ignore"):
            above = c > table.top
        if ind.table == "so2_1h" and above.any():
            alt = (np.full(n, 200.0, dtype=np.float32) if ruleset.so2_1h_above_top == "iaqi_200"
                   else iaqi_array(ruleset.tables["so2_24h"], values["so2_24h"]))
            v = np.where(above, alt, v)
        elif ind.table == "o3_8h" and above.any():
            v = np.where(above, np.float32(300.0 if ruleset.o3_8h_above_top == "iaqi_300" else np.nan), v)
        out[f"iaqi_{ind.code}"] = v
        np.fmax(aqi, v, out=aqi)
        if ruleset.publish_requires_complete:
            complete &= ~np.isnan(v)
    if ruleset.publish_requires_complete:
        with np.errstate(invalid="ignore"):
            aqi[~(complete | (aqi > 100))] = np.nan
    mask = np.zeros(n, dtype=np.int16)
    with np.errstate(invalid="ignore"):
        for k, code in enumerate(PRIMARY_CODES):
            if f"iaqi_{code}" in out:
                np.bitwise_or(mask, np.int16(1 << k), out=mask, where=out[f"iaqi_{code}"] == aqi)
        mask[~(aqi > 50)] = 0
    for code in PRIMARY_CODES:
        out.setdefault(f"iaqi_{code}", np.full(n, np.nan, dtype=np.float32))
    out["aqi"] = aqi
    out["level"] = level_array(aqi)
    out["primary_mask"] = mask
    return out
