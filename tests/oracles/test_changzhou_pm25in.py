"""Oracle: Changzhou station hourly AQI, level and primary pollutants as published (pm25.in mirror, 2020)."""

from __future__ import annotations

import pandas as pd
import pytest

from qingshan.evaluate.aqi_table import compute_aqi_table
from qingshan.standards.pollutants import PRIMARY_CODES, PRIMARY_NAMES_ZH

from ..conftest import SHARED_DATA, need

pytestmark = pytest.mark.oracle
FOLDER = SHARED_DATA / "changzhou_station_hourly_pm25in_2020"
#: CNEMC wording of the primary pollutants in these files → our codes.
WORDING = {"颗粒物(PM10)": "pm10", "细颗粒物(PM2.5)": "pm25", "臭氧1小时": "o3", "臭氧8小时": "o3_8h",
           "二氧化氮": "no2", "二氧化硫": "so2", "一氧化碳": "co"}


def _codes(text) -> str:
    if not isinstance(text, str):
        return ""
    found = {code for word, code in WORDING.items() if word in text}
    return ",".join(c for c in PRIMARY_CODES if c in found)


@pytest.mark.parametrize("name, expected_rows", [("changzhou_20200326-20200402.csv", 967),
                                                 ("常州_20200402-20200408.csv", 1134)])
def test_station_hourly_aqi_level_and_primary(name, expected_rows):
    raw = pd.read_csv(need(FOLDER) / name, dtype=str, keep_default_na=False)
    df = pd.DataFrame({
        "station": raw["WatchPoint"],
        "time": pd.to_datetime(raw["Date"], format="%Y%m%d").dt.strftime("%Y-%m-%d") + " " + raw["Hour"].str.zfill(2) + ":00",
        "so2": raw["SO2"], "no2": raw["NO2"], "co": raw["CO"], "o3": raw["O3_1h"], "pm10": raw["PM10"], "pm25": raw["PM2.5"],
    })
    out = compute_aqi_table(df).table
    published = pd.to_numeric(raw["AQI"], errors="coerce")
    rows = published.notna()
    assert int(rows.sum()) == expected_rows
    assert (out.loc[rows, "aqi"].astype(int) == published[rows].astype(int)).all()
    assert (out.loc[rows, "category"] == raw.loc[rows, "Level"]).all()
    # primary pollutants, ties included (e.g. "颗粒物(PM10) 细颗粒物(PM2.5)" published on one hour)
    assert (out.loc[rows, "primary_pollutants"] == raw.loc[rows, "PrimaryPollution"].map(_codes)).all()
    assert (out.loc[rows, "primary_pollutants"] == "pm10,pm25").sum() > 0
    assert set(WORDING.values()) <= set(PRIMARY_NAMES_ZH)
