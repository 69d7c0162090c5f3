"""Pollutant identifiers, Chinese names and canonical units (docs/design.md#pollutant-identifiers).

Gases and particles are stored in µg/m³, CO in mg/m³. ``digits`` is the reporting precision of HJ 633-2026
§4.2.2 / HJ 663: integers for µg/m³ pollutants, one decimal for CO.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Pollutant:
    code: str
    name_zh: str
    short_zh: str
    unit: str
    digits: int


POLLUTANTS: dict[str, Pollutant] = {
    p.code: p
    for p in (
        Pollutant("so2", "二氧化硫", "SO₂", "µg/m³", 0),
        Pollutant("no2", "二氧化氮", "NO₂", "µg/m³", 0),
        Pollutant("co", "一氧化碳", "CO", "mg/m³", 1),
        Pollutant("o3", "臭氧", "O₃", "µg/m³", 0),
        Pollutant("pm10", "可吸入颗粒物", "PM₁₀", "µg/m³", 0),
        Pollutant("pm25", "细颗粒物", "PM₂.₅", "µg/m³", 0),
    )
}

#: The six pollutants, in the order used by every table and CSV contract.
SIX: tuple[str, ...] = ("so2", "no2", "co", "o3", "pm10", "pm25")

#: Codes that may appear in ``primary_pollutants``, in output order (o3 = 1-h, o3_8h = 8-h moving / MDA8).
PRIMARY_CODES: tuple[str, ...] = ("so2", "no2", "co", "o3", "o3_8h", "pm10", "pm25")

#: Chinese display names of the primary-pollutant codes (CNEMC wording).
PRIMARY_NAMES_ZH: dict[str, str] = {
    "so2": "二氧化硫",
    "no2": "二氧化氮",
    "co": "一氧化碳",
    "o3": "臭氧1小时",
    "o3_8h": "臭氧8小时",
    "pm10": "颗粒物(PM10)",
    "pm25": "细颗粒物(PM2.5)",
}


def digits_of(code: str) -> int:
    """Reporting precision for a pollutant or derived code (``o3_8h`` → o3, ``pm25_24h`` → pm25)."""
    return POLLUTANTS[code.split("_")[0]].digits
