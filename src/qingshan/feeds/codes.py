"""HJ 212 factor codes of environmental-quality stations and the store columns they feed.

Codes: HJ 212-2017 附录B 表B.1 (water) and 表B.2 (air; O3 a05024 and PM2.5 a34004 from practice,
docs/rules/hj212.md#ambient-air-codes-in-practice).  Default units are those ambient stations send in practice
(the flash520 ST=22 packet, docs/rules/hj212-feed.md#units-and-reference-state: NO2 4, SO2 6, CO 0.427, PM 14/31, pressure 95): gases
µg/m³ but CO mg/m³, particles µg/m³, pressure kPa (表B.2), all at the reference state.  A device reporting
otherwise says so in the registry's ``units``/``state`` columns (:mod:`qingshan.hj212.devices`).
"""

from __future__ import annotations

#: ST=22 pollutant code → ``air_hourly`` column (the six of the AQI).
AIR_CODES: dict[str, str] = {"a21026": "so2", "a21004": "no2", "a21005": "co", "a05024": "o3", "a34002": "pm10",
                             "a34004": "pm25"}
#: Default unit of each pollutant when the registry names none.
AIR_DEFAULT_UNITS: dict[str, str] = {"so2": "µg/m³", "no2": "µg/m³", "co": "mg/m³", "o3": "µg/m³",
                                     "pm10": "µg/m³", "pm25": "µg/m³"}
#: Meteorological factor code → ``met_hourly`` quantity (temperature ℃, humidity %, pressure kPa → hPa, wind).
MET_CODES: dict[str, str] = {"a01001": "temp", "a01002": "rh", "a01006": "pressure", "a01007": "wind_speed",
                             "a01008": "wind_dir"}
#: ST=21 water factor code → ``water_auto`` item (units as 表B.1 and the store agree: mg/L, ℃, µS/cm, NTU).
WATER_CODES: dict[str, str] = {"w01001": "ph", "w01009": "do", "w01019": "codmn", "w21003": "nh3n",
                               "w21011": "tp", "w21001": "tn", "w01010": "temp", "w01014": "cond", "w01003": "turb"}
AIR_ST, WATER_ST = "22", "21"
