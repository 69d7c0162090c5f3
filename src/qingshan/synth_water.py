"""A seeded, documented synthetic set of surface-water sections and monthly samples for the demo city.

*Generated*, not real. 示范市 has 24 assessment sections: 8 national (国考, also counted as provincial), 9 more
provincial (省考) and 7 city (市考) ones; two of them are lakes with trophic-state items (chlorophyll a,
transparency, total nitrogen) and one is a drinking-water source. Each section has an annual "character" — mean
concentrations around a Ⅱ/Ⅲ river — and a few sections are made worse on purpose (ammonia or total phosphorus
near the Ⅲ/Ⅳ limit) so that the shares come out near the Changzhou 2023 bulletin (国考 ≥ Ⅲ 85 %, 省考 94 %, no
劣Ⅴ), not at a suspicious 100 %. Months vary with a seasonal cycle (nutrients higher in summer, DO lower) and
lognormal noise; values are rounded like laboratory reports. Each section gets a made-up position (经度/纬度) in
its district, so the demo's map shows the water layer. The output is the documented samples workbook
(docs/water.md#input-formats) so the demo imports it through the same adapter a user's file goes through.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from .spreadsheet import write_frames_xlsx

#: (name, water body, levels, target class, basin, district, how it deviates from the typical river)
_SECTIONS: list[tuple[str, str, str, str, str, str, dict[str, float]]] = [
    ("运河东桥", "river", "国考,省考", "Ⅲ", "太湖流域", "天宁区", {}),
    ("运河西闸", "river", "国考,省考", "Ⅲ", "太湖流域", "钟楼区", {"nh3n": 1.9}),
    ("北江口", "river", "国考,省考", "Ⅱ", "长江流域", "新北区", {"tp": 0.6, "nh3n": 0.5}),
    ("南河大桥", "river", "国考,省考", "Ⅲ", "太湖流域", "武进区", {"tp": 0.6, "nh3n": 0.5}),
    ("滨湖入湖口", "river", "国考,省考", "Ⅲ", "太湖流域", "武进区", {"tp": 1.8}),
    ("西湖湖心", "lake", "国考,省考", "Ⅲ", "太湖流域", "武进区", {}),
    ("东郊水厂取水口", "river", "国考,省考,集中式饮用水水源地", "Ⅱ", "长江流域", "新北区", {"tp": 0.55, "nh3n": 0.4, "codmn": 0.7}),
    ("城北桥", "river", "国考,省考", "Ⅲ", "长江流域", "新北区", {"tp": 0.6, "nh3n": 0.5}),
    ("青山湖", "lake", "省考", "Ⅳ", "太湖流域", "武进区", {"chla": 1.4}),
    ("老城河口", "river", "省考", "Ⅲ", "太湖流域", "天宁区", {}),
    ("东风桥", "river", "省考", "Ⅲ", "太湖流域", "天宁区", {}),
    ("白荡闸", "river", "省考", "Ⅲ", "太湖流域", "钟楼区", {}),
    ("新桥", "river", "省考", "Ⅲ", "长江流域", "新北区", {"tp": 0.6, "nh3n": 0.5}),
    ("港口大桥", "river", "省考", "Ⅲ", "长江流域", "新北区", {}),
    ("湖塘桥", "river", "省考", "Ⅲ", "太湖流域", "武进区", {}),
    ("夏溪", "river", "省考", "Ⅲ", "太湖流域", "武进区", {}),
    ("三河口", "river", "省考", "Ⅲ", "太湖流域", "钟楼区", {}),
    ("西郊桥", "river", "市考", "Ⅲ", "太湖流域", "钟楼区", {}),
    ("东庄", "river", "市考", "Ⅲ", "太湖流域", "天宁区", {}),
    ("南湖闸", "river", "市考", "Ⅲ", "太湖流域", "武进区", {"codmn": 1.3}),
    ("北塘河口", "river", "市考", "Ⅲ", "长江流域", "新北区", {}),
    ("小河桥", "river", "市考", "Ⅲ", "太湖流域", "天宁区", {}),
    ("南庄", "river", "市考", "Ⅲ", "太湖流域", "武进区", {}),
    ("高新桥", "river", "市考", "Ⅲ", "长江流域", "新北区", {"nh3n": 1.6}),
]
#: a typical Ⅱ–Ⅲ river of the region (annual means, mg/L; pH dimensionless)
_RIVER = {"ph": 7.6, "do": 7.2, "codmn": 3.8, "cod": 14.0, "bod5": 2.6, "nh3n": 0.38, "tp": 0.13}
#: a mesotrophic/lightly eutrophic lake (TP on the lake scale; chla mg/m³, sd m)
_LAKE = {"ph": 8.1, "do": 8.3, "codmn": 4.3, "cod": 16.0, "bod5": 3.0, "nh3n": 0.16, "tp": 0.042, "tn": 1.3,
         "chla": 14.0, "sd": 0.5}
_DIGITS = {"ph": 2, "do": 1, "codmn": 1, "cod": 0, "bod5": 1, "nh3n": 3, "tp": 3, "tn": 2, "chla": 1, "sd": 2}


#: where the demo's districts lie (near their air stations, :data:`qingshan.synth.DEMO_STATIONS`)
_DISTRICT_CENTRES = {"天宁区": (119.98, 31.79), "钟楼区": (119.88, 31.76), "新北区": (119.96, 31.88),
                     "武进区": (119.93, 31.66)}


def _position(district: str, seed: int, k: int) -> tuple[float, float]:
    """A made-up position for the map: the district's centre moved by up to 0.05° (a generator of its own, so the
    samples' values do not change with it)."""
    lon, lat = _DISTRICT_CENTRES[district]
    dx, dy = np.random.default_rng([seed, 10_000 + k]).uniform(-0.05, 0.05, 2)
    return round(lon + float(dx), 4), round(lat + float(dy), 4)


def generate_water(years: list[int], seed: int = 2023,
                   last_month: tuple[int, int] | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(sections, samples) tables in the documented workbook layout: one sample per section and month, up to
    ``last_month`` (year, month) when given."""
    sections, rows = [], []
    for k, (name, body, level, target, basin, district, dev) in enumerate(_SECTIONS):
        code = f"SF{k + 1:02d}"
        lon, lat = _position(district, seed, k)
        sections.append({"断面编码": code, "断面名称": name, "水体类型": {"river": "河流", "lake": "湖库"}[body],
                         "流域": basin, "考核级别": level, "水质目标": target, "区县": district,
                         "经度": lon, "纬度": lat})
        base = dict(_LAKE if body == "lake" else _RIVER)
        rng = np.random.default_rng([seed, k])  # per section and per year: a year's values do not depend on
        character = {c: v * rng.uniform(0.85, 1.1) for c, v in base.items() if c not in ("ph", "do")}
        base.update(character)
        for item, factor in dev.items():
            base[item] *= factor
        for year in years:
            rng = np.random.default_rng([seed, k, year])  # which other years are generated
            trend = 1.0 + 0.04 * (2023 - year)  # the year before is a little worse: a visible year-on-year gain
            for m in range(1, 13):
                if last_month is not None and (year, m) > last_month:
                    break
                summer = np.cos(2 * np.pi * (m - 7.5) / 12)  # +1 in mid-summer
                row: dict[str, object] = {"断面编码": code, "采样日期": f"{year}-{m:02d}-{8 + k % 10:02d}"}
                for item, v in base.items():
                    if item == "ph":
                        value = v + rng.normal(0, 0.15)
                    elif item == "do":
                        value = v * (1 - 0.12 * summer) * np.exp(rng.normal(0, 0.06))
                    elif item == "sd":
                        value = v * (1 - 0.15 * summer) * np.exp(rng.normal(0, 0.1))
                    else:
                        seasonal = 1 + (0.15 if item in ("tp", "nh3n", "chla", "tn") else 0.05) * summer
                        value = v * trend * seasonal * np.exp(rng.normal(0, 0.15))
                    row[item] = round(float(value), _DIGITS[item])
                row["hg[ug/L]"] = "<0.04"
                row["cd"] = "<0.0005"
                row["pb"] = "<0.0025"
                row["cn"] = "0.004L"
                rows.append(row)
    return pd.DataFrame(sections), pd.DataFrame(rows)


def write_workbook(path: Path, years: list[int], seed: int = 2023, last_month: tuple[int, int] | None = None) -> int:
    """Write the demo workbook (sheets 监测数据 and 断面信息); return the number of sample rows."""
    sections, samples = generate_water(years, seed, last_month)
    write_frames_xlsx(path, {"监测数据": samples, "断面信息": sections})
    return len(samples)
