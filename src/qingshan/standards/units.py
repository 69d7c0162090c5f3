"""Concentration units and reference states of ambient-air data (pure functions, no I/O).

The store holds gases in µg/m³ (CO mg/m³) at the **reference state** and particles in µg/m³ at **actual
conditions**: GB 3095-2012 as amended by 生态环境部公告 2018年第29号 (《环境空气质量标准》（GB 3095-2012）修改单,
in force 2018-09-01) — "监测状态: SO2, NO2, CO, O3, NOx … 为参比状态（298.15 K, 1013.25 hPa）下的浓度；颗粒物
（PM10、PM2.5、TSP）及其组分（Pb、BaP）为监测时大气温度和压力下的浓度" (GB 3095-2012 修改单, 3.14/3.15 and
the note to 表1/表2; GB 3095-2026 §3.14 and §4.3 keep it; docs/rules/hj212-feed.md#units-and-reference-state).

Analysers configured before the amendment report gases at the **standard state** (标准状态, 273.15 K,
101.325 kPa). One cubic metre at 273.15 K expands to 298.15/273.15 m³ at 298.15 K and the same pressure, so a
mass concentration at the standard state is multiplied by 273.15/298.15 (≈ 0.9161) to give the reference-state
value. Mixing ratios (ppb, ppm) become mass concentrations with the molar volume of an ideal gas at the reference
state, V_m = R·T/p = 8.314462618 × 298.15 / 101325 m³/mol = 24.465 L/mol.
"""

from __future__ import annotations

from ..errors import QingshanError

R = 8.314462618  # J/(mol·K), CODATA 2018
REFERENCE_T_K = 298.15  # GB 3095-2012 修改单 (2018): 参比状态
STANDARD_T_K = 273.15  # 标准状态
P_REF_PA = 101_325.0  # 1013.25 hPa, both states

#: Molar masses (g/mol) of the gases the store holds (IUPAC standard atomic weights).
MOLAR_MASS: dict[str, float] = {"so2": 64.064, "no2": 46.005, "co": 28.010, "o3": 47.997, "nox": 46.005}

#: The store's unit per pollutant (docs/design.md#pollutant-identifiers).
STORE_UNIT: dict[str, str] = {"so2": "µg/m³", "no2": "µg/m³", "co": "mg/m³", "o3": "µg/m³", "nox": "µg/m³",
                              "pm10": "µg/m³", "pm25": "µg/m³"}
GASES = frozenset(MOLAR_MASS)
PARTICLES = frozenset({"pm10", "pm25"})

#: Spellings of the units a device may report in, to one canonical spelling.
UNIT_ALIASES: dict[str, str] = {
    "µg/m³": "µg/m³", "μg/m³": "µg/m³", "ug/m3": "µg/m³", "µg/m3": "µg/m³", "μg/m3": "µg/m³", "ug/m³": "µg/m³",
    "mg/m³": "mg/m³", "mg/m3": "mg/m³",
    "ppb": "ppb", "ppm": "ppm",
}
#: Reference states of a device's gas values: reference (298.15 K, no conversion), standard (273.15 K).
STATES: dict[str, str] = {"reference": "reference", "参比": "reference", "参比状态": "reference", "298": "reference",
                          "standard": "standard", "标准": "standard", "标准状态": "standard", "273": "standard",
                          "actual": "actual", "实际": "actual", "实况": "actual"}


class UnitError(QingshanError, ValueError):
    """A unit or reference state that cannot be converted (the message is user-facing)."""


def canonical_unit(text: str) -> str:
    """The canonical spelling of a concentration unit.

    >>> canonical_unit("ug/m3"), canonical_unit("PPB")
    ('µg/m³', 'ppb')
    """
    u = UNIT_ALIASES.get(text.strip().replace(" ", "")) or UNIT_ALIASES.get(text.strip().lower().replace(" ", ""))
    if u is None:
        raise UnitError(f"不支持的浓度单位：{text!r}（可用：µg/m³、mg/m³、ppb、ppm）")
    return u


def canonical_state(text: str) -> str:
    """``reference`` | ``standard`` | ``actual`` for a state as written in a registry.

    >>> canonical_state("标准状态")
    'standard'
    """
    s = STATES.get(text.strip().lower())
    if s is None:
        raise UnitError(f"不支持的状态：{text!r}（可用：参比、标准、实际）")
    return s


def molar_volume_l(t_k: float = REFERENCE_T_K, p_pa: float = P_REF_PA) -> float:
    """Molar volume of an ideal gas in litres per mole.

    >>> round(molar_volume_l(), 3)
    24.465
    >>> round(molar_volume_l(STANDARD_T_K), 3)
    22.414
    """
    return R * t_k / p_pa * 1000.0


def standard_to_reference(x: float) -> float:
    """A mass concentration at the standard state (273.15 K) as the same gas at the reference state (298.15 K,
    GB 3095-2012 修改单 2018): × 273.15/298.15.

    >>> round(standard_to_reference(100.0), 2)
    91.61
    """
    return x * STANDARD_T_K / REFERENCE_T_K


def ppb_to_ugm3(x: float, pollutant: str) -> float:
    """A mixing ratio in ppb (nmol/mol) as µg/m³ at the reference state: x · M / V_m(298.15 K).

    >>> round(ppb_to_ugm3(100.0, "so2"), 1)
    261.9
    >>> round(ppb_to_ugm3(1.0, "no2"), 3)
    1.88
    """
    return x * MOLAR_MASS[pollutant] / molar_volume_l()


def factor_to_store(pollutant: str, unit: str, state: str = "reference") -> float:
    """The factor that turns a value of ``pollutant`` reported in ``unit`` at ``state`` into the store's unit and
    state (gases: reference state, particles: actual conditions, GB 3095-2012 修改单 2018). Every conversion is
    linear, so hourly means may be taken before or after it.

    >>> factor_to_store("no2", "µg/m³")
    1.0
    >>> round(factor_to_store("so2", "mg/m³", "standard"), 4)
    916.1496
    >>> factor_to_store("co", "µg/m³")
    0.001
    >>> round(factor_to_store("co", "ppm"), 4)
    1.1449
    >>> factor_to_store("pm25", "mg/m³")
    1000.0
    """
    unit, state = canonical_unit(unit), canonical_state(state)
    target = STORE_UNIT.get(pollutant)
    if target is None:
        raise UnitError(f"未知的污染物：{pollutant}")
    if pollutant in PARTICLES:
        if unit in ("ppb", "ppm"):
            raise UnitError(f"颗粒物 {pollutant} 不能以 {unit} 报送")
        if state == "standard":
            raise UnitError(f"颗粒物 {pollutant} 按实际状态监测（GB 3095-2012 修改单），不能登记为标准状态")
        f = 1000.0 if unit == "mg/m³" else 1.0
        return f
    if unit in ("ppb", "ppm"):
        # a mixing ratio does not depend on the state; converted at the reference state
        f = ppb_to_ugm3(1.0, pollutant) * (1000.0 if unit == "ppm" else 1.0)  # µg/m³
    else:
        f = 1000.0 if unit == "mg/m³" else 1.0  # µg/m³
        if state == "standard":
            f = standard_to_reference(f)
    return f / 1000.0 if target == "mg/m³" else f


def kpa_to_hpa(x: float) -> float:
    """Air pressure: HJ 212-2017 附录B 表B.2 gives a01006 in kPa, the store keeps hPa.

    >>> kpa_to_hpa(95.0)
    950.0
    """
    return x * 10.0
