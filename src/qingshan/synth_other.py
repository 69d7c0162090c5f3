"""Seeded, documented synthetic noise, acid-rain and dustfall files for the demo city (generated, not real).

Written in the input formats of ``qingshan noise|rain|dust evaluate`` (docs/water.md) so the demo's bulletin
(``qingshan report bulletin … --noise-regional … --rain … --dust …``) has every chapter. Levels are centred on
Changzhou's published 2023 figures (seeds 004): regional noise ≈ 53.7 dB(A) by day and 44.8 at night, road traffic
≈ 65.9 / 58.9, functional zones compliant by day; rain pH ≈ 5.9 with a few acid events; dustfall ≈ 2.2
t/(km²·30d) across sites of 2.1–2.6.
"""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pandas as pd

_DISTRICTS = ("天宁区", "钟楼区", "新北区", "武进区")
_ZONES = (("1类", 50.0, 41.5), ("2类", 55.5, 46.5), ("3类", 60.5, 51.0), ("4a类", 66.0, 55.0))
_ROADS = ("延安路", "人民路", "和平路", "解放路", "长江路", "黄河路", "中山路", "青年路", "建设路", "新华路",
          "文化路", "滨湖大道", "高新大道", "北塘路", "南环路", "东方大道", "西林路", "运河路")


def noise_files(folder: Path, year: int, seed: int = 7) -> dict[str, Path]:
    """Regional grid points, road segments and functional-zone points (quarterly) of ``year``."""
    rng = np.random.default_rng([seed, year])
    regional = pd.DataFrame({
        "point": [f"QY{i:03d}" for i in range(1, 101)],
        "leq_day": np.round(rng.normal(53.7, 2.6, 100), 1),
        "leq_night": np.round(rng.normal(44.8, 2.4, 100), 1),
        "district": [_DISTRICTS[i % 4] for i in range(100)],
    })
    road = pd.DataFrame({
        "segment": list(_ROADS),
        "length_km": np.round(rng.uniform(1.2, 7.5, len(_ROADS)), 1),
        "leq_day": np.round(rng.normal(65.9, 1.8, len(_ROADS)), 1),
        "leq_night": np.round(rng.normal(58.9, 2.2, len(_ROADS)), 1),
        "district": [_DISTRICTS[i % 4] for i in range(len(_ROADS))],
    })
    zones = []
    for k, (zone, day, night) in enumerate(_ZONES * 2):
        for quarter in range(1, 5):
            zones.append({"point": f"GN{k + 1:02d}", "zone": zone,
                          "leq_day": round(day - 1.5 + rng.normal(0, 1.0), 1),
                          "leq_night": round(night - 1.0 + rng.normal(0, 1.6), 1),
                          "date": f"{year}-{3 * quarter - 1:02d}-15"})
    paths = {"regional": folder / f"noise_regional_{year}.csv", "road": folder / f"noise_road_{year}.csv",
             "zones": folder / f"noise_zones_{year}.csv"}
    regional.to_csv(paths["regional"], index=False)
    road.to_csv(paths["road"], index=False)
    pd.DataFrame(zones).to_csv(paths["zones"], index=False)
    return paths


def rain_file(folder: Path, years: list[int], seed: int = 11) -> Path:
    """Rain events at two sites: rainfall (mm) and pH; about one event in twenty is acid (pH < 5.6)."""
    rows = []
    for year in years:
        rng = np.random.default_rng([seed, year])
        day = date(year, 1, 1)
        while day.year == year:
            day += timedelta(days=int(rng.integers(3, 9)))
            if day.year != year:
                break
            for site in ("市区", "郊区"):
                ph = float(np.clip(rng.normal(6.1 if year < 2023 else 6.0, 0.38), 4.4, 7.5))
                rows.append({"site": site, "date": day.isoformat(), "ph": round(ph, 2),
                             "rainfall": round(float(rng.gamma(1.4, 9.0)) + 0.5, 1)})
    path = folder / "rain.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


def dust_file(folder: Path, years: list[int], last_month: tuple[int, int] | None = None, seed: int = 13) -> Path:
    """Monthly dustfall at six sites, t/(km²·30d)."""
    sites = {"天宁": 2.15, "钟楼": 2.25, "新北": 2.05, "武进": 2.35, "经开": 2.2, "高新": 2.1}
    rows = []
    for year in years:
        rng = np.random.default_rng([seed, year])
        for m in range(1, 13):
            if last_month is not None and (year, m) > last_month:
                break
            spring = 1 + 0.18 * np.cos(2 * np.pi * (m - 4) / 12)  # dust peaks in spring
            for site, base in sites.items():
                level = base * (1.05 if year < 2023 else 1.0) * spring * np.exp(rng.normal(0, 0.1))
                rows.append({"site": site, "month": f"{year}-{m:02d}", "dustfall": round(float(level), 2)})
    path = folder / "dust.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    return path
