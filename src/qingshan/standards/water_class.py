"""GB 3838-2002 地表水环境质量标准 — Table 1 (表1 地表水环境质量标准基本项目标准限值) and single-factor classes.

Everything here is data (the 24 basic items with their class limits) and pure functions: a scalar reference
(:func:`item_class`, :func:`sample_class`) and the vectorised kernels the engines run (:func:`item_class_array`,
:func:`classify_arrays`), both driven by the same :data:`ITEMS` table so that a limit lives in one place.

Clauses implemented
-------------------
* 表1 items 1–24, classes Ⅰ–Ⅴ, units mg/L except pH (dimensionless), water temperature (℃) and fecal coliform
  (个/L). Item 1 (水温) limits man-made change only (weekly mean rise ≤ 1 ℃, drop ≤ 2 ℃); it has no class and is
  never classed here.
* Item 8 总磷: separate limits for lakes and reservoirs (湖、库, the bracketed row of 表1). Item 9 总氮 applies to
  lakes and reservoirs only (表1 note "湖、库，以N计"): a river sample gets no TN class.
* Item 3 溶解氧 is a lower limit (≥); item 2 pH is the range 6–9 for every class: inside → Ⅰ (no gradation),
  outside → 劣Ⅴ. DO class Ⅰ is "≥ 7.5 (或饱和率90%)": only the concentration form is implemented.
* All other items are upper limits (≤). A value equal to a limit meets it (GB 3838 §5 "达到…标准"); where
  several classes share a limit (COD 15 for Ⅰ and Ⅱ) the value takes the **better** class. Worse than the Ⅴ limit
  → 劣Ⅴ. Values are compared with a relative tolerance of 1e-9 so that a period mean computed in binary floating
  point (0.1 + 0.1 + 0.1)/3 meets the limit it equals in decimal.
* Single-factor method (单因子评价法, GB 3838 §5.2 and 地表水环境质量评价办法 二(一)): the sample class is the worst
  item class; the items at that class are the class-determining factors (定类因子).
* Missing, NaN and negative values have no class.

Classes are the integers 1…6 (:data:`CLASS_CODES` ``I … 劣V``, :data:`CLASS_ROMAN` ``Ⅰ … 劣Ⅴ``); 0 = no class.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal, Mapping

import numpy as np

CLASS_CODES: tuple[str, ...] = ("I", "II", "III", "IV", "V", "劣V")
CLASS_ROMAN: tuple[str, ...] = ("Ⅰ", "Ⅱ", "Ⅲ", "Ⅳ", "Ⅴ", "劣Ⅴ")
WORSE_THAN_V = 6

#: Relative tolerance of the limit comparisons (see module docstring).
REL_TOL = 1e-9

WaterBody = Literal["river", "lake"]


@dataclass(frozen=True)
class WaterItem:
    """One row of GB 3838-2002 表1."""

    number: int  # 序号 in 表1
    code: str
    name_zh: str
    unit: str
    kind: Literal["le", "ge", "range", "none"]  # upper limit, lower limit, range, no class
    limits: tuple[float, ...] = ()  # classes Ⅰ…Ⅴ (for "range": the (low, high) pair)
    lake_limits: tuple[float, ...] | None = None  # 湖、库 limits where they differ
    lake_only: bool = False

    def limits_for(self, water_body: str) -> tuple[float, ...] | None:
        """Limits that apply to a ``river`` or ``lake`` (lake = lake or reservoir); None = item not applicable."""
        lake = water_body == "lake"
        if self.lake_only and not lake:
            return None
        if lake and self.lake_limits is not None:
            return self.lake_limits
        return self.limits


def _it(number, code, name, unit, kind, limits=(), lake=None, lake_only=False) -> WaterItem:
    return WaterItem(number, code, name, unit, kind, tuple(float(x) for x in limits),
                     None if lake is None else tuple(float(x) for x in lake), lake_only)


#: GB 3838-2002 表1, all 24 items, in the order of the table.
ITEMS_TABLE: tuple[WaterItem, ...] = (
    _it(1, "temp", "水温", "℃", "none"),
    _it(2, "ph", "pH值", "无量纲", "range", (6, 9)),
    _it(3, "do", "溶解氧", "mg/L", "ge", (7.5, 6, 5, 3, 2)),
    _it(4, "codmn", "高锰酸盐指数", "mg/L", "le", (2, 4, 6, 10, 15)),
    _it(5, "cod", "化学需氧量", "mg/L", "le", (15, 15, 20, 30, 40)),
    _it(6, "bod5", "五日生化需氧量", "mg/L", "le", (3, 3, 4, 6, 10)),
    _it(7, "nh3n", "氨氮", "mg/L", "le", (0.15, 0.5, 1.0, 1.5, 2.0)),
    _it(8, "tp", "总磷", "mg/L", "le", (0.02, 0.1, 0.2, 0.3, 0.4), lake=(0.01, 0.025, 0.05, 0.1, 0.2)),
    _it(9, "tn", "总氮", "mg/L", "le", (0.2, 0.5, 1.0, 1.5, 2.0), lake_only=True),
    _it(10, "cu", "铜", "mg/L", "le", (0.01, 1.0, 1.0, 1.0, 1.0)),
    _it(11, "zn", "锌", "mg/L", "le", (0.05, 1.0, 1.0, 2.0, 2.0)),
    _it(12, "f", "氟化物", "mg/L", "le", (1.0, 1.0, 1.0, 1.5, 1.5)),
    _it(13, "se", "硒", "mg/L", "le", (0.01, 0.01, 0.01, 0.02, 0.02)),
    _it(14, "as", "砷", "mg/L", "le", (0.05, 0.05, 0.05, 0.1, 0.1)),
    _it(15, "hg", "汞", "mg/L", "le", (0.00005, 0.00005, 0.0001, 0.001, 0.001)),
    _it(16, "cd", "镉", "mg/L", "le", (0.001, 0.005, 0.005, 0.005, 0.01)),
    _it(17, "cr6", "铬(六价)", "mg/L", "le", (0.01, 0.05, 0.05, 0.05, 0.1)),
    _it(18, "pb", "铅", "mg/L", "le", (0.01, 0.01, 0.05, 0.05, 0.1)),
    _it(19, "cn", "氰化物", "mg/L", "le", (0.005, 0.05, 0.2, 0.2, 0.2)),
    _it(20, "phenol", "挥发酚", "mg/L", "le", (0.002, 0.002, 0.005, 0.01, 0.1)),
    _it(21, "oil", "石油类", "mg/L", "le", (0.05, 0.05, 0.05, 0.5, 1.0)),
    _it(22, "las", "阴离子表面活性剂", "mg/L", "le", (0.2, 0.2, 0.2, 0.3, 0.3)),
    _it(23, "s2", "硫化物", "mg/L", "le", (0.05, 0.1, 0.2, 0.5, 1.0)),
    _it(24, "fcoli", "粪大肠菌群", "个/L", "le", (200, 2000, 10000, 20000, 40000)),
)

ITEMS: dict[str, WaterItem] = {i.code: i for i in ITEMS_TABLE}

#: The 23 classed items in output order (the ``water classify`` contract; 水温 has no class).
CLASSED_ITEMS: tuple[str, ...] = tuple(i.code for i in ITEMS_TABLE if i.kind != "none")


def class_code(c: int | None) -> str:
    """``I … 劣V`` of a class number, '' for none."""
    return CLASS_CODES[c - 1] if c else ""


def class_roman(c: int | None) -> str:
    """``Ⅰ … 劣Ⅴ`` of a class number, '' for none."""
    return CLASS_ROMAN[c - 1] if c else ""


_CLASS_TEXT = {
    **{t: i + 1 for i, t in enumerate(CLASS_CODES)},
    **{t: i + 1 for i, t in enumerate(CLASS_ROMAN)},
    **{str(i + 1): i + 1 for i in range(5)},
    **{t: i + 1 for i, t in enumerate(("一", "二", "三", "四", "五"))},
    "劣5": 6, "劣五": 6,
}


def parse_class(text: object) -> int | None:
    """Class number of a class text (``Ⅲ``, ``III``, ``3``, ``Ⅲ类``, ``劣Ⅴ``, ``劣V类`` …); None when not a class.

    >>> parse_class("Ⅲ"), parse_class("iii"), parse_class("劣Ⅴ类"), parse_class("-")
    (3, 3, 6, None)
    """
    if text is None:
        return None
    t = str(text).strip().replace(" ", "")
    if t.endswith("类"):
        t = t[:-1]
    return _CLASS_TEXT.get(t.upper())


def _valid(value: float | None) -> bool:
    return value is not None and not (isinstance(value, float) and math.isnan(value)) and value >= 0


def item_class(code: str, value: float | None, water_body: str = "river") -> int | None:
    """Class 1…6 of one item value (scalar reference). None = missing, negative, or item not applicable
    (水温; 总氮 at a river).

    >>> item_class("nh3n", 1.2), item_class("tp", 0.15), item_class("tp", 0.15, "lake"), item_class("do", 4.0)
    (4, 3, 5, 4)
    >>> item_class("cod", 15), item_class("ph", 9.1), item_class("tn", 1.0, "river")
    (1, 6, None)
    """
    item = ITEMS[code]
    if item.kind == "none" or not _valid(value):
        return None
    limits = item.limits_for(water_body)
    if limits is None:
        return None
    v = float(value)
    if item.kind == "range":
        lo, hi = limits
        return 1 if lo * (1 - REL_TOL) <= v <= hi * (1 + REL_TOL) else WORSE_THAN_V
    if item.kind == "ge":
        for k, lim in enumerate(limits):
            if v >= lim * (1 - REL_TOL):
                return k + 1
        return WORSE_THAN_V
    for k, lim in enumerate(limits):
        if v <= lim * (1 + REL_TOL):
            return k + 1
    return WORSE_THAN_V


@dataclass(frozen=True)
class SampleClass:
    klass: int | None  # 1…6, None when no item has a class
    factors: tuple[str, ...]  # items at the sample class, in CLASSED_ITEMS order
    items: dict[str, int | None]  # class of every item given

    @property
    def code(self) -> str:
        return class_code(self.klass)


def sample_class(values: Mapping[str, float | None], water_body: str = "river",
                 items: tuple[str, ...] | None = None) -> SampleClass:
    """Single-factor class of one sample: worst item class and the items that set it (scalar reference).

    ``items`` restricts the items that count (e.g. the 21 evaluation items of 评价办法); every item of ``values``
    still gets its own class.
    """
    per = {c: item_class(c, v, water_body) for c, v in values.items() if c in ITEMS}
    counted = [c for c in CLASSED_ITEMS if c in per and per[c] is not None and (items is None or c in items)]
    if not counted:
        return SampleClass(None, (), per)
    worst = max(per[c] for c in counted)
    return SampleClass(worst, tuple(c for c in counted if per[c] == worst), per)


def exceedance_multiple(code: str, value: float | None, water_body: str = "river", reference_class: int = 3) -> float | None:
    """超标倍数 (C − C_s) / C_s against the class-Ⅲ limit (评价办法 二(一)4; docs/rules/water.md#exceedance-multiple): None when the item
    does not exceed, has no class, or is pH, DO or water temperature (no multiple is computed for them)."""
    item = ITEMS[code]
    if item.kind != "le" or not _valid(value):
        return None
    limits = item.limits_for(water_body)
    if limits is None:
        return None
    s = limits[reference_class - 1]
    if value <= s * (1 + REL_TOL):
        return None
    return (float(value) - s) / s


# --- vectorised kernels -----------------------------------------------------------------------------------------


def _count_class(item: WaterItem, limits: tuple[float, ...], v: np.ndarray) -> np.ndarray:
    """Class 1…6 of every value by counting the limits it fails (NaN counts as meeting all of them — callers zero
    invalid values): for "≤" items 1 + #{k: v > L_k}, for DO 1 + #{k: v < L_k}. With the better class winning on
    shared limits this equals the first-limit-met rule of :func:`item_class`, at about 1 ns per value and limit."""
    with np.errstate(invalid="ignore"):
        if item.kind == "range":
            lo, hi = limits
            out = ((v < lo * (1 - REL_TOL)) | (v > hi * (1 + REL_TOL))).view(np.int8) * np.int8(WORSE_THAN_V - 1)
            return out + np.int8(1)
        out = np.ones(v.shape, dtype=np.int8)
        for lim in limits:
            if item.kind == "ge":
                out += (v < lim * (1 - REL_TOL)).view(np.int8)
            else:
                out += (v > lim * (1 + REL_TOL)).view(np.int8)
    return out


def item_class_array(code: str, values: np.ndarray, is_lake: np.ndarray | bool = False) -> np.ndarray:
    """:func:`item_class` for an array: int8 classes 1…6, 0 = no class. ``is_lake`` is a bool array (or scalar)."""
    item = ITEMS[code]
    v = np.asarray(values, dtype=float)
    if item.kind == "none":
        return np.zeros(v.shape, dtype=np.int8)
    lake = np.asarray(is_lake, dtype=bool)
    river_limits, lake_limits = item.limits_for("river"), item.limits_for("lake")
    if river_limits == lake_limits:
        out = _count_class(item, river_limits, v)
    elif river_limits is None:  # lake-only item (TN)
        out = _count_class(item, lake_limits, v)
        out *= lake
    elif lake.ndim == 0:
        out = _count_class(item, lake_limits if lake else river_limits, v)
    else:
        out = np.where(lake, _count_class(item, lake_limits, v), _count_class(item, river_limits, v))
    with np.errstate(invalid="ignore"):
        out *= v >= 0  # NaN and negative values have no class
    return out


#: Bit of each classed item in the ``factor_mask`` of :func:`classify_arrays`.
ITEM_BIT: dict[str, int] = {c: 1 << k for k, c in enumerate(CLASSED_ITEMS)}


def classify_arrays(values: Mapping[str, np.ndarray], is_lake: np.ndarray | bool = False,
                    items: tuple[str, ...] | None = None, chunk: int = 1 << 16) -> dict[str, np.ndarray]:
    """:func:`sample_class` for arrays. Returns ``class`` (int8, 0 = none), ``factor_mask`` (int32: bit
    :data:`ITEM_BIT` set for the items at the sample class) and ``class_<item>`` for every classed item given.
    Rows are processed in cache-sized slices."""
    codes = [c for c in CLASSED_ITEMS if c in values]
    n = len(next(iter(values.values()))) if values else 0
    lake_full = np.asarray(is_lake, dtype=bool)
    out = {f"class_{c}": np.zeros(n, dtype=np.int8) for c in codes}
    worst = np.zeros(n, dtype=np.int8)
    mask = np.zeros(n, dtype=np.int32)
    counted = [c for c in codes if items is None or c in items]
    for a in range(0, max(n, 1), chunk):
        b = min(n, a + chunk)
        lake = lake_full if lake_full.ndim == 0 else lake_full[a:b]
        w = worst[a:b]
        for c in codes:
            k = item_class_array(c, np.asarray(values[c][a:b], dtype=float), lake)
            out[f"class_{c}"][a:b] = k
            if c in counted:
                np.maximum(w, k, out=w)
        m = mask[a:b]
        classed = w > 0
        for c in counted:
            hit = out[f"class_{c}"][a:b] == w
            hit &= classed
            np.bitwise_or(m, np.int32(ITEM_BIT[c]), out=m, where=hit)
    out["class"] = worst
    out["factor_mask"] = mask
    return out


def factor_text(mask: np.ndarray) -> np.ndarray:
    """Comma-joined item codes (``CLASSED_ITEMS`` order) of factor bit masks; computed once per distinct mask."""
    m = np.asarray(mask)
    uniq = np.unique(m)  # a sort of the masks; the inverse by binary search is cheaper than return_inverse
    texts = np.array([",".join(c for c in CLASSED_ITEMS if int(u) & ITEM_BIT[c]) for u in uniq], dtype=object)
    return texts[np.searchsorted(uniq, m)]


_CODE_TEXT = np.array([""] + list(CLASS_CODES), dtype=object)
_ROMAN_TEXT = np.array([""] + list(CLASS_ROMAN), dtype=object)


def class_text(classes: np.ndarray, roman: bool = False) -> np.ndarray:
    """``I … 劣V`` (or ``Ⅰ … 劣Ⅴ``) texts of class numbers; '' for 0."""
    return (_ROMAN_TEXT if roman else _CODE_TEXT)[np.asarray(classes, dtype=np.int64)]
