"""A seeded, documented synthetic data set for the demo and for tests that need a full year.

It is *generated*, not real: a demo city 示范市 with 8 evaluation stations in 4 districts, one control site and
7 town stations in 6 towns,
hourly values for one year with a seasonal cycle (PM high in winter, O3 high on summer afternoons), a diurnal
cycle, station offsets, autocorrelated noise, a few pollution episodes, ~2 % random gaps and one multi-day outage.
Values are rounded like published data (integers; CO one decimal).
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd

DEMO_CITY = "示范市"
DEMO_STATIONS = pd.DataFrame(
    {
        "code": ["D001A", "D002A", "D003A", "D004A", "D005A", "D006A", "D007A", "D008A", "D009A",
                 "T001A", "T002A", "T003A", "T004A", "T005A", "T006A", "T007A"],
        "name": ["市监测站", "城东", "城西", "开发区", "滨湖", "高新区", "北郊", "南湖", "森林公园(对照点)",
                 "东湖镇", "西山镇", "南塘镇", "南塘镇工业园", "北桥街道", "青龙街道", "新安镇"],
        "city": [DEMO_CITY] * 16,
        "district": ["天宁区", "天宁区", "钟楼区", "新北区", "武进区", "新北区", "天宁区", "武进区", "武进区",
                     "天宁区", "钟楼区", "武进区", "武进区", "新北区", "天宁区", "新北区"],
        "lon": [119.95, 119.99, 119.91, 119.97, 119.94, 119.98, 119.96, 119.93, 119.80,
                120.05, 119.84, 119.90, 119.92, 119.99, 120.02, 119.88],
        "lat": [31.78, 31.79, 31.77, 31.83, 31.70, 31.86, 31.85, 31.68, 31.60,
                31.76, 31.75, 31.64, 31.62, 31.90, 31.82, 31.92],
        "is_control": [False] * 8 + [True] + [False] * 7,
        # town stations (乡镇站) rank their towns (镇/街道) and stay out of city and district values
        "town": [None] * 9 + ["东湖镇", "西山镇", "南塘镇", "南塘镇", "北桥街道", "青龙街道", "新安镇"],
        "network": ["国控"] * 9 + ["乡镇"] * 7,
    }
)


# Calibration (docs/demo.md): with seed 2023 and year 2023 the city values come out close to Changzhou's published
# 2023 figures (PM2.5 34, PM10 57, SO2 8, NO2 30 µg/m³, CO-95 1.1 mg/m³, O3-8h-90 174 µg/m³, good days 78.1 %).
N_EPISODES = 14
PHOTO_SD = 0.22
O3_BASE = 51.0
O3_AMP = 44.0


def generate_hourly(stations: pd.DataFrame, year: int, seed: int = 2023) -> pd.DataFrame:
    """Long table ``station, hi, so2, no2, co, o3, pm10, pm25`` for every hour label of ``year``."""
    rng = np.random.default_rng(seed)
    first = (date(year, 1, 1) - date(1970, 1, 1)).days * 24 + 1
    last = (date(year + 1, 1, 1) - date(1970, 1, 1)).days * 24
    hi = np.arange(first, last + 1)
    n = len(hi)
    doy = ((hi - 1) // 24 - (first - 1) // 24) / 365.25
    hour = (hi - 1) % 24 + 1
    winter = np.cos(2 * np.pi * (doy - 0.03))  # +1 in January, −1 in July
    summer = -winter
    # regional signal shared by all stations: AR(1) with occasional episodes
    shock = rng.normal(0, 0.18, n)
    regional = np.zeros(n)
    for i in range(1, n):  # generator, not the engine: a simple loop over 8,760 hours is fine
        regional[i] = 0.97 * regional[i - 1] + shock[i]
    episodes = np.zeros(n)
    for start in rng.choice(n - 96, size=N_EPISODES, replace=False):
        length = rng.integers(24, 96)
        episodes[start : start + length] += rng.uniform(0.5, 1.1) * (0.5 + 0.5 * winter[start]) * np.hanning(length)
    base = np.exp(regional * 0.35 + episodes)
    # day-to-day photochemistry (sunny vs cloudy/rainy days), shared by all stations: thins the O3 upper tail
    photo = np.repeat(np.exp(rng.normal(0, PHOTO_SD, n // 24 + 1)), 24)[:n]
    out = []
    for j, row in enumerate(stations.itertuples()):
        off = 0.85 if row.is_control else rng.uniform(0.9, 1.15)
        local = np.exp(rng.normal(0, 0.15, n))
        traffic = 1 + 0.25 * np.exp(-((hour - 8) ** 2) / 6) + 0.3 * np.exp(-((hour - 19) ** 2) / 8)
        pm25 = (29 + 17 * winter) * base * local * off * (1 + 0.1 * np.cos(2 * np.pi * (hour - 2) / 24))
        pm10 = pm25 * rng.uniform(1.5, 1.9) * np.exp(rng.normal(0, 0.1, n))
        no2 = (25 + 8 * winter) * traffic * off * np.exp(rng.normal(0, 0.25, n)) * base**0.4
        so2 = (7 + 2.5 * winter) * off * np.exp(rng.normal(0, 0.3, n))
        co = (0.68 + 0.27 * winter) * base**0.5 * np.exp(rng.normal(0, 0.15, n))
        sun = np.clip(np.sin(np.pi * (hour - 7) / 12), 0, None)
        o3 = np.clip((O3_BASE + O3_AMP * summer) * (0.4 + 1.6 * sun) * photo * np.exp(rng.normal(0, 0.2, n)) - 0.3 * no2, 2, None)
        frame = pd.DataFrame(
            {"station": row.code, "hi": hi, "so2": np.round(so2), "no2": np.round(no2), "co": np.round(co, 1),
             "o3": np.round(o3), "pm10": np.round(pm10), "pm25": np.round(pm25)}
        )
        gaps = rng.random((n, 6)) < 0.02
        values = frame[["so2", "no2", "co", "o3", "pm10", "pm25"]].to_numpy(dtype=float, copy=True)
        values[gaps] = np.nan
        if j == 3:  # one station has a five-day outage in April
            s = 24 * 100
            values[s : s + 120] = np.nan
        frame[["so2", "no2", "co", "o3", "pm10", "pm25"]] = values
        out.append(frame)
    return pd.concat(out, ignore_index=True)


def to_long_csv(frame: pd.DataFrame) -> pd.DataFrame:
    """The documented long format (hour-ending ``time``) of a generated table."""
    ts = pd.Timestamp("1970-01-01") + pd.to_timedelta(frame["hi"], unit="h")
    out = frame.drop(columns=["hi"]).copy()
    out.insert(1, "time", ts.dt.strftime("%Y-%m-%d %H:%M"))
    return out
