"""HJ 212 pollutant codes: the 2017 code table, the HJ/T 212-2005 codes they replace, names and units.

Source: HJ 212-2017 附录B (表B.1 water, 表B.2 air, 表B.3 noise), as transcribed in docs/rules/hj212.md#pollutant-codes;
the "原编码" column of 附录B is the HJ/T 212-2005 code.  Ambient-air codes used by ST=22 stations (a34004 PM2.5,
a05024 O3, meteorology) are from docs/rules/hj212.md#ambient-air-codes-in-practice; O3 (a05024) is not in 表B.2 and comes from practice.

Values are stored exactly as the device sent them: the unit given here is the standard's default unit for the
concentration (``-Rtd/-Avg/-Min/-Max``), for display only.  Nothing is converted.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..standards.ranges import RANGES


@dataclass(frozen=True, slots=True)
class Factor:
    code: str  # HJ 212-2017 code
    name: str  # Chinese name (user-facing)
    unit: str  # default concentration unit per 附录B ("" when dimensionless)
    code_2005: str | None = None  # HJ/T 212-2005 code (附录B "原编码")


# HJ 212-2017 附录B 表B.2 (air emission / ambient air) — clause cited per row group in docs/rules/hj212.md#pollutant-codes.
_AIR = [
    Factor("a21026", "二氧化硫", "mg/m³", "02"),
    Factor("a21002", "氮氧化物", "mg/m³", "03"),
    Factor("a21003", "一氧化氮", "mg/m³"),
    Factor("a21004", "二氧化氮", "mg/m³"),
    Factor("a21005", "一氧化碳", "mg/m³", "04"),
    Factor("a21028", "硫化氢", "mg/m³", "05"),
    Factor("a34013", "烟尘（颗粒物）", "mg/m³", "01"),
    Factor("a00000", "废气流量", "m³/s", "B02"),
    Factor("a19001", "氧气含量", "%", "S01"),
    Factor("a01011", "烟气流速", "m/s", "S02"),
    Factor("a01012", "烟气温度", "℃", "S03"),
    Factor("a01017", "烟气动压", "kPa", "S04"),
    Factor("a01014", "烟气湿度", "%", "S05"),
    Factor("a01016", "烟道截面积", "m²", "S07"),
    Factor("a01013", "烟气压力", "kPa", "S08"),
    Factor("a01001", "温度", "℃"),
    Factor("a01002", "湿度", "%"),
    Factor("a01006", "气压", "kPa"),
    Factor("a01007", "风速", "m/s"),
    Factor("a01008", "风向", "°"),
    # 表B.2 gives ng/m³ for particles, which does not match practice: stations send µg/m³ (docs/rules/hj212.md#pollutant-codes).
    Factor("a34002", "PM10", "µg/m³"),
    Factor("a34004", "PM2.5", "µg/m³"),
    Factor("a34001", "总悬浮颗粒物", "µg/m³"),
    Factor("a05024", "臭氧", "µg/m³"),
    Factor("a24088", "非甲烷总烃", "mg/m³"),
]

# 表B.1 (water).
_WATER = [
    Factor("w00000", "污水流量", "L/s", "B01"),
    Factor("w01001", "pH 值", "", "001"),
    Factor("w01018", "化学需氧量", "mg/L", "011"),
    Factor("w01019", "高锰酸盐指数", "mg/L"),
    Factor("w01009", "溶解氧", "mg/L"),
    Factor("w01010", "水温", "℃"),
    Factor("w01014", "电导率", "µS/cm"),
    Factor("w01003", "浑浊度", "NTU"),
    Factor("w01012", "悬浮物", "mg/L", "003"),
    Factor("w01017", "五日生化需氧量", "mg/L", "010"),
    Factor("w21003", "氨氮", "mg/L", "060"),
    Factor("w21011", "总磷", "mg/L", "101"),
    Factor("w21001", "总氮", "mg/L", "065"),
    Factor("w22001", "石油类", "mg/L", "080"),
    Factor("w23002", "挥发酚", "mg/L", "110"),
    Factor("w21016", "氰化物", "mg/L", "070"),
    Factor("w20111", "总汞", "µg/L", "020"),
    Factor("w20115", "总镉", "µg/L", "022"),
    Factor("w20117", "六价铬", "µg/L", "024"),
    Factor("w20119", "总砷", "µg/L", "026"),
    Factor("w20120", "总铅", "µg/L", "027"),
]

# 表B.3 (noise), dB.
_NOISE = [
    Factor(c, n, "dB")
    for c, n in [
        ("LA", "A 声级"), ("L5", "累积百分声级 L5"), ("L10", "累积百分声级 L10"), ("L50", "累积百分声级 L50"),
        ("L90", "累积百分声级 L90"), ("L95", "累积百分声级 L95"), ("Leq", "等效声级"), ("Ldn", "昼夜等效声级"),
        ("Ld", "昼间等效声级"), ("Ln", "夜间等效声级"), ("LMx", "最大声级"), ("LMn", "最小声级"),
    ]
]

FACTORS: dict[str, Factor] = {f.code: f for f in (*_AIR, *_WATER, *_NOISE)}

#: HJ/T 212-2005 code → HJ 212-2017 code (附录B "原编码").  The 2005 air codes are two characters (``01``–``05``),
#: the water codes three (``001``, ``011`` …), so the mapping is unambiguous without looking at ST.
CODE_2005_TO_2017: dict[str, str] = {f.code_2005: f.code for f in FACTORS.values() if f.code_2005}
CODE_2017_TO_2005: dict[str, str] = {v: k for k, v in CODE_2005_TO_2017.items()}


def to_2017(code: str) -> str:
    """The HJ 212-2017 code for ``code``: 2005 codes are mapped (附录B), anything else is returned unchanged."""
    return CODE_2005_TO_2017.get(code, code)


def name_of(code: str) -> str:
    """Chinese name of a factor (2005 or 2017 code); the code itself when unknown."""
    f = FACTORS.get(to_2017(code))
    return f.name if f else code


def unit_of(code: str) -> str:
    f = FACTORS.get(to_2017(code))
    return f.unit if f else ""


# --- physical ranges of reported values ----------------------------------------------------------------------------
#
# A number a data logger sends is stored only when it is a finite decimal number inside the physical range of its
# quantity; anything else (``inf``, ``NaN``, ``1e308``, a 400-digit number, a pH of 20) is kept as text in
# ``quarantine`` with the reason and stored as missing (docs/hj212.md#数值范围).  Values are in the device's own
# unit (nothing is converted), so the ranges must hold in every unit 附录B uses for the quantity:
#
# * every value, any factor, any field: |x| ≤ MAX_MAGNITUDE = 1e10.  Larger is impossible in every 附录B unit:
#   10 t/m³ of a gas component (mg/m³), 10 g/m³ of particles even in ng/m³, 10 kg/L in water (µg/L), a flow of
#   1e10 m³/s or L/s, a day's cumulative flue gas of one stack (~2e8 m³ for a large power plant) × 50.  It also
#   keeps sums and means over any realistic number of values far from overflowing to ``inf``.
# * measured values (Rtd/Min/Avg/Max and the converted Zs*) of quantities bounded by definition: percentages,
#   pH, an angle, temperatures (not below absolute zero).
#
# Negative concentrations are kept: analysers report small negative readings around zero (zero drift) and the
# platform stores what was measured; they are within |x| ≤ MAX_MAGNITUDE.
#
# The importers' table (:mod:`qingshan.standards.ranges`) bounds ambient quantities in the store's units and
# refuses negative values; HJ 212 also carries emission sources (flue gas, effluent) in the device's unit, so only
# the quantities bounded by definition are shared: pH is taken from that table, not written twice.

MAX_MAGNITUDE = 1e10
ABSOLUTE_ZERO_C = -273.15

#: Measured-value bounds (inclusive) per 2017 factor code, where the quantity defines them.
PHYSICAL_RANGES: dict[str, tuple[float, float]] = {
    "a19001": (0.0, 100.0),  # 氧气含量 %
    "a01014": (0.0, 100.0),  # 烟气湿度 %
    "a01002": (0.0, 100.0),  # 湿度 %
    "w01001": (float(RANGES["ph"].lo), float(RANGES["ph"].hi)),  # pH 0–14
    "a01008": (0.0, 360.0),  # 风向 °
    "a01001": (ABSOLUTE_ZERO_C, MAX_MAGNITUDE),  # 温度 ℃
    "a01012": (ABSOLUTE_ZERO_C, MAX_MAGNITUDE),  # 烟气温度 ℃
    "w01010": (ABSOLUTE_ZERO_C, MAX_MAGNITUDE),  # 水温 ℃
}

#: Fields holding the measured quantity (``-Cou``, a cumulative amount in another unit, only gets the magnitude rule).
MEASURED_FIELDS = frozenset({"Rtd", "Min", "Avg", "Max", "ZsRtd", "ZsMin", "ZsAvg", "ZsMax"})


def value_range(code: str, fld: str) -> tuple[float, float]:
    """The inclusive range a value of field ``fld`` (``Rtd``, ``Avg``, ``Cou`` …) of factor ``code`` must lie in."""
    if fld in MEASURED_FIELDS:
        r = PHYSICAL_RANGES.get(to_2017(code))
        if r is not None:
            return r
    return (-MAX_MAGNITUDE, MAX_MAGNITUDE)
