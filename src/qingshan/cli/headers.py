"""Chinese column headers, with units, for the ``air evaluate`` result table (XLSX for people).

The table's keys stay the machine interface (CSV/JSON, the "machine" sheet); people read the first sheet with these
headers. Units: µg/m³ for every pollutant but CO (mg/m³), HJ 663 statistics as named there.
"""

from __future__ import annotations

import re

POLLUTANTS = {"so2": "SO2", "no2": "NO2", "co": "CO", "o3": "O3", "o3_8h": "O3-8h", "pm10": "PM10", "pm25": "PM2.5"}
STATISTICS = {"mean": "年（期）平均", "p98": "日均值第98百分位数", "p95": "日均值第95百分位数",
              "8h_p90": "日最大8小时平均第90百分位数"}
PLAIN = {
    "level": "层级", "code": "编码", "name": "名称", "city": "城市", "district": "区县", "town": "乡镇",
    "is_control": "对照点", "network": "网络", "expected_days": "应有天数", "valid_days": "有效天数",
    "good_days": "优良天数", "good_ratio": "优良天数比例（%）", "composite_index": "综合指数",
    "valid_all": "六项统计均有效", "complies_all": "六项均达标", "eval_rulesets": "评价规则集", "limits": "限值标准",
    "period": "时段", "below_validity_minimum": "有效天数不足",
}


def unit(p: str) -> str:
    return "mg/m³" if p == "co" else "µg/m³"


def _stat(key: str) -> tuple[str, str] | None:
    """(pollutant, statistic) of a key such as ``pm25_p95`` or ``o3_8h_p90``."""
    for p in sorted(POLLUTANTS, key=len, reverse=True):
        if key.startswith(p + "_") and key[len(p) + 1:] in STATISTICS:
            return p, key[len(p) + 1:]
    return None


def zh_header(key: str) -> str:
    """The Chinese header of a result column (the key itself when it has none)."""
    if key in PLAIN:
        return PLAIN[key]
    for suffix, text, with_unit in (("_limit", "限值", True), ("_complies", "达标", False),
                                    ("_exceed_multiple", "超标倍数", False), ("", "", True)):
        if key.endswith(suffix) and (st := _stat(key[: len(key) - len(suffix)] if suffix else key)):
            p, s = st
            return f"{POLLUTANTS[p]} {STATISTICS[s]}{text}" + (f"（{unit(p)}）" if with_unit else "")
    if m := re.fullmatch(r"(n|valid|index)_(\w+)", key):
        kind, p = m.groups()
        if p in POLLUTANTS:
            return f"{POLLUTANTS[p]} " + {"n": "有效日数", "valid": "统计有效", "index": "单项指数"}[kind]
    if m := re.fullmatch(r"(\w+?)_(daily_min|daily_max|exceed_days|daily_compliance)", key):
        p, what = m.groups()
        if p in POLLUTANTS:
            return f"{POLLUTANTS[p]} " + {"daily_min": f"日均值最小（{unit(p)}）", "daily_max": f"日均值最大（{unit(p)}）",
                                          "exceed_days": "超标天数", "daily_compliance": "日均值达标率（%）"}[what]
    if m := re.fullmatch(r"days_level(\d)", key):
        return f"空气质量{'一二三四五六'[int(m.group(1)) - 1]}级天数"
    if m := re.fullmatch(r"primary_days_(\w+)", key):
        if m.group(1) in POLLUTANTS:
            return f"首要污染物为 {POLLUTANTS[m.group(1)]} 的天数"
    return key


def people_and_machine(table, sheet: str = "空气质量评价") -> dict:  # noqa: ANN001 - a pandas DataFrame
    """The sheets of a result XLSX: ``sheet`` with Chinese headers, ``machine`` with the keys (same rows)."""
    return {sheet: table.rename(columns={c: zh_header(c) for c in table.columns}), "machine": table}
