"""Classes of the national automatic stations' published rows, recomputed and compared with the official 水质类别.

The automatic stations publish five of the 21 evaluation items: pH, DO, CODMn, NH3-N and TP (TN is published but,
as in 地表水环境质量评价办法, does not enter the class; temperature, conductivity, turbidity, chlorophyll-a and
algae density have no GB 3838 class). The official class is the single-factor class of those five
(:data:`AUTO_CLASS_ITEMS`), computed on the unrounded values, with the lake/reservoir TP limits at lake and
reservoir stations.

The data do not say which stations are on lakes or reservoirs. :func:`infer_lake_stations` recovers that one bit
per station from the published classes: a station is a lake/reservoir station when the lake TP table reproduces
more of its classes than the river table. This is a calibration of missing metadata, stated as such wherever it is
used (the oracle test, docs/water.md); with real section metadata (``water_sections.water_body``) it is not needed.

:func:`explain_differences` sorts every row whose recomputed class differs from the official one into a kind
(:data:`DIFFERENCE_KINDS`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..standards.water_class import classify_arrays, parse_class

AUTO_CLASS_ITEMS: tuple[str, ...] = ("ph", "do", "codmn", "nh3n", "tp")

DIFFERENCE_KINDS: dict[str, str] = {
    "display_rounding": "只有修约后的显示值：官方类别落在显示值修约区间允许的类别范围内（原始值在限值两侧均有可能）",
    "stale_midnight": "00:00 时次的官方类别等于同一断面上一时次数值的类别（类别未随 00:00 数值更新）",
    "revision": "同一断面同一时间有另一条发布记录，官方类别与那条记录的数值一致（重抓/更正时数值与类别错位）",
    "no_time": "监测时间为“--”的行（无时间戳的发布记录），数值与类别不一致",
    "other": "其他（数值与类别不一致，无法由上述原因解释）",
}


def official_classes(frame: pd.DataFrame) -> np.ndarray:
    """Official class numbers (0 = not assessed: empty, '-', '*')."""
    return np.array([parse_class(t) or 0 for t in frame["official_class"]], dtype=np.int8)


def recompute(frame: pd.DataFrame, is_lake: np.ndarray | bool = False) -> dict[str, np.ndarray]:
    """Single-factor class of each row from the published items (:func:`classify_arrays`)."""
    values = {c: frame[c].to_numpy(dtype=float) for c in AUTO_CLASS_ITEMS}
    return classify_arrays(values, is_lake)


def infer_lake_stations(frame: pd.DataFrame) -> set[str]:
    """Stations whose published classes follow the lake/reservoir TP limits more often than the river limits."""
    off = official_classes(frame)
    river = recompute(frame, False)["class"]
    lake = recompute(frame, True)["class"]
    has = off > 0
    df = pd.DataFrame({"station": frame["station"].to_numpy()[has], "r": (river == off)[has], "l": (lake == off)[has]})
    s = df.groupby("station")[["r", "l"]].sum()
    return set(s.index[s["l"] > s["r"]])


def _decimals(shown: pd.Series) -> np.ndarray:
    frac = shown.astype(str).str.extract(r"^-?\d*\.(\d+)$")[0]
    return frac.str.len().fillna(0).to_numpy(dtype=float)


def display_class_range(frame: pd.DataFrame, is_lake: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Lowest and highest class that the published values allow when only the rounded display is known (rows
    with 原始值 have no ambiguity): each value may lie anywhere within half a unit of its last shown digit."""
    has_raw = frame["has_raw"].to_numpy(dtype=bool) if "has_raw" in frame else np.zeros(len(frame), bool)
    lo_vals, hi_vals = {}, {}
    for c in AUTO_CLASS_ITEMS:
        v = frame[c].to_numpy(dtype=float)
        h = np.where(has_raw, 0.0, 0.5 * 10.0 ** -_decimals(frame[f"{c}_shown"]))
        if c == "do":  # lower limit: a higher value is the better class
            lo_vals[c], hi_vals[c] = v + h, np.maximum(v - h, 0)
        elif c == "ph":  # class Ⅰ inside 6–9, 劣Ⅴ outside
            lo_vals[c] = np.where((v - h <= 9) & (v + h >= 6), np.clip(v, 6.0, 9.0), v)
            hi_vals[c] = np.where(v - h < 6, v - h, np.where(v + h > 9, v + h, v))
        else:
            lo_vals[c], hi_vals[c] = np.maximum(v - h, 0), v + h
    lo = classify_arrays(lo_vals, is_lake)["class"]
    hi = classify_arrays(hi_vals, is_lake)["class"]
    return lo, hi


def explain_differences(frame: pd.DataFrame, is_lake: np.ndarray) -> pd.DataFrame:
    """Per row: official class, recomputed class, and the kind of difference ('' where they agree, or where no
    official class was published). Rows are compared in file order; "previous row" means the previous time of the
    same station among the rows given."""
    off = official_classes(frame)
    comp = recompute(frame, is_lake)["class"]
    lo, hi = display_class_range(frame, is_lake)
    kind = np.full(len(frame), "", dtype=object)
    has = off > 0
    diff = has & (comp != off)
    kind[diff & (off >= lo) & (off <= hi)] = "display_rounding"
    # previous publication time of the same station (by time, over all rows with a time)
    ts = pd.to_datetime(frame["ts"])
    order = np.lexsort((np.arange(len(frame)), ts.to_numpy(), frame["station"].to_numpy()))
    prev_comp = np.zeros(len(frame), dtype=np.int8)
    st = frame["station"].to_numpy()[order]
    t = ts.to_numpy()[order]
    same_station = np.r_[False, st[1:] == st[:-1]]
    earlier = np.r_[False, t[1:] > t[:-1]]
    # the previous *time*: walk back over repeats of the same time stamp
    prev_idx = np.full(len(order), -1)
    last_time_start = 0
    for i in range(1, len(order)):
        if not same_station[i]:
            last_time_start = i
            continue
        if earlier[i]:
            prev_idx[i] = i - 1
            last_time_start = i
        else:
            prev_idx[i] = prev_idx[last_time_start]
    pc = np.where(prev_idx >= 0, comp[order][np.maximum(prev_idx, 0)], 0)
    prev_comp[order] = pc
    midnight = (ts.dt.hour == 0).to_numpy() & (ts.dt.minute == 0).to_numpy()
    open_ = diff & (kind == "")
    kind[open_ & midnight & (prev_comp == off)] = "stale_midnight"
    # another publication of the same station and time whose values give the official class
    key = frame["station"].astype(str) + "|" + frame["time_published"].astype(str)
    alt = pd.DataFrame({"key": key, "comp": comp})
    classes_by_key = alt.groupby("key")["comp"].agg(lambda x: {int(v) for v in x})
    open_ = diff & (kind == "")
    dup = key.duplicated(keep=False).to_numpy()
    for i in np.flatnonzero(open_ & dup):
        if int(off[i]) in classes_by_key[key.iloc[i]]:
            kind[i] = "revision"
    open_ = diff & (kind == "")
    kind[open_ & ts.isna().to_numpy()] = "no_time"
    kind[diff & (kind == "")] = "other"
    return pd.DataFrame({"station": frame["station"].to_numpy(), "official": off, "recomputed": comp, "kind": kind})
