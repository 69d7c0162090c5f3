"""Surface-water engine: GB 3838 classes of samples and sections, 地表水环境质量评价办法 evaluations of periods and
groups, CWQI, lake trophic state — applied to the store (``water_samples`` + ``water_sections``) or to a table.

Entry points
------------
* :func:`classify_table` — the ``qingshan water classify`` contract: one row per sample, ``water_body`` river|lake,
  item columns in mg/L (fecal coliform 个/L); adds ``class`` (``I … 劣V``), ``class_factors`` and ``class_<item>``.
* :func:`evaluate_water` — a period (year, month, range): per-sample classes, per-section period evaluation (means,
  class, 定类因子, status, main pollutants with exceedance multiples, target comparison, CWQI, TLI for lakes), the
  same per month, group shares (优Ⅲ and 劣Ⅴ, class-proportion status) by assessment level, basin or district, and
  the lake TLI series.

Rules live in :mod:`qingshan.standards.water_class`, :mod:`~qingshan.standards.water_eval`,
:mod:`~qingshan.standards.trophic` and :mod:`~qingshan.standards.cwqi`; every output names its rule set.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import duckdb
import numpy as np
import pandas as pd

from ..ingest.common import Quarantine, screen
from ..ingest.water_samples import normalise_water_body
from ..standards.cwqi import section_cwqi
from ..standards.rounding import round_gbt8170
from ..standards.trophic import TLI_INDICES, tli, tli_grade
from ..standards.water_class import (
    CLASSED_ITEMS,
    ITEMS,
    class_code,
    class_roman,
    class_text,
    classify_arrays,
    factor_text,
    item_class,
)
from ..standards.water_eval import (
    EVAL_2011,
    STATUS_ORDER,
    WaterEvalRuleSet,
    evaluate_group,
    evaluate_section,
    nondetect_value,
    status_of_class,
)
from ..store.water import load_samples as stored_samples
from ..store.water import load_sections
from .periods import Period

GROUPS: dict[str, tuple[str, str]] = {  # CLI name → (column, Chinese label)
    "assessment": ("level", "考核级别"),
    "level": ("level", "考核级别"),
    "basin": ("basin", "流域"),
    "district": ("district", "区县"),
    "water_body": ("water_body", "水体类型"),
}
SHARE_DIGITS = 1
#: A section's ``level`` may list several assessment levels ("国考,省考"): it counts in each of them.
LEVEL_SEPARATORS = r"[,，、;；/ ]+"
LEVEL_ORDER = {"国考": 0, "省考": 1, "市考": 2, "县考": 3}


# --- the classify contract --------------------------------------------------------------------------------------


@dataclass
class ClassifyResult:
    table: pd.DataFrame
    problems: Quarantine
    items: list[str]


def classify_table(df: pd.DataFrame, source: str = "<input>", rule: WaterEvalRuleSet = EVAL_2011,
                   items: tuple[str, ...] | None = None) -> ClassifyResult:
    """Add ``class``, ``class_factors`` and ``class_<item>`` to a table of samples (cells as text or numbers).

    Every GB 3838 item present counts (总氮 for lakes only); ``items`` restricts the items that set ``class``
    (e.g. :data:`~qingshan.standards.water_eval.EVAL_ITEMS`). Bad cells (non-numeric, negative, an unknown
    ``water_body``) are reported in ``problems`` and treated as missing; a ``<DL`` cell enters as the rule set's
    non-detect value (default half the limit).
    """
    cols = {str(c).strip().lower(): c for c in df.columns}
    if "water_body" not in cols:
        raise ValueError("输入缺少 water_body 列（每行填 river 或 lake）")
    present = [c for c in CLASSED_ITEMS if c in cols]
    if not present:
        raise ValueError("输入没有任何监测项目列（ph, do, codmn, cod, bod5, nh3n, tp, tn, cu, zn, f, se, as, hg, cd, "
                         "cr6, pb, cn, phenol, oil, las, s2, fcoli）")
    q = Quarantine(source)
    n = len(df)
    lines = np.arange(n, dtype=np.int64) + 2
    wb_text = df[cols["water_body"]].astype(str).str.strip()
    wb = wb_text.map(lambda t: normalise_water_body(t) if t else None)
    bad_wb = wb.isna().to_numpy()
    if bad_wb.any():
        q.extend(lines[bad_wb], "water_body", wb_text[bad_wb].tolist(), "水体类型应为 river 或 lake，该行不定类")
    is_lake = (wb == "lake").to_numpy()
    values = {c: _numeric_cells(df[cols[c]], lines, c, q, rule) for c in present}
    for v in values.values():
        v[bad_wb] = np.nan
    res = classify_arrays(values, is_lake, items=items)
    out = df.copy()
    out["class"] = class_text(res["class"])
    out["class_factors"] = factor_text(res["factor_mask"])
    for c in present:
        out[f"class_{c}"] = class_text(res[f"class_{c}"])
    return ClassifyResult(out, q, present)


def _numeric_cells(col: pd.Series, lines: np.ndarray, code: str, q: Quarantine, rule: WaterEvalRuleSet) -> np.ndarray:
    """Values of one item column; non-numeric, negative, infinite and physically impossible values
    (:mod:`qingshan.standards.ranges`) are quarantined and count as missing."""
    if pd.api.types.is_numeric_dtype(col):
        v = col.to_numpy(dtype=float, na_value=np.nan).copy()
        neg = v < 0
        if neg.any():
            q.extend(lines[neg], code, v[neg].tolist(), "负值（浓度不可能为负），按缺测处理")
            v[neg] = np.nan
        return screen(v, lines, code, q)
    text = col.astype("string").str.strip().fillna("")
    missing = text.isin(["", "NA", "N/A", "nan", "NaN", "-", "--", "—", "/", "*"]).to_numpy()
    nd = text.str.extract(r"^[<＜]\s*([0-9.eE+-]+)$")[0]
    dl = pd.to_numeric(nd, errors="coerce").to_numpy(dtype=float)
    is_nd = ~np.isnan(dl) & (dl > 0)
    v = pd.to_numeric(text.where(~pd.Series(missing | is_nd, index=text.index)), errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    bad = np.isnan(v) & ~missing & ~is_nd
    if bad.any():
        q.extend(lines[bad], code, text[bad].tolist(), "非数值，按缺测处理")
    neg = v < 0
    if neg.any():
        q.extend(lines[neg], code, v[neg].tolist(), "负值（浓度不可能为负），按缺测处理")
        v[neg] = np.nan
    raws = text.to_numpy(dtype=object)
    screen(v, lines, code, q, raws=raws)
    dl = np.where(is_nd, dl, np.nan)
    screen(dl, lines, code, q, raws=raws)  # a detection limit "<1e999" is no limit
    is_nd &= ~np.isnan(dl)
    if is_nd.any():
        v[is_nd] = [nondetect_value(d, rule) for d in dl[is_nd]]
    return v


# --- the store ------------------------------------------------------------------------------------------------


def load_samples(con: duckdb.DuckDBPyConnection, period: Period) -> pd.DataFrame:
    """Samples of the period joined with their section metadata (sections without metadata have NULLs); empty
    when the store holds no water samples yet (read-only: no table is created here)."""
    return stored_samples(con, period.start, period.end)


def _effective_values(samples: pd.DataFrame, rule: WaterEvalRuleSet) -> pd.Series:
    v = samples["value"].astype(float).copy()
    nd = samples["nondetect"].astype(bool).to_numpy()
    if nd.any():
        v[nd] = [nondetect_value(d, rule) for d in samples.loc[nd, "dl"].astype(float)]
    return v


META = ["name", "water_body", "basin", "river", "level", "target_class", "district"]
EXTRA_ITEMS = ("temp", "chla", "sd")


def period_means(samples: pd.DataFrame, rule: WaterEvalRuleSet = EVAL_2011, by: tuple[str, ...] = ("section",)) -> pd.DataFrame:
    """一(二): arithmetic mean of each item per ``by`` group (non-detects per the rule set), wide; with
    ``n_samples`` (distinct sampling dates) and ``nd_only`` (items whose results were all non-detects)."""
    if samples.empty:
        return pd.DataFrame(columns=[*by, "n_samples", "nd_only"])
    s = samples.assign(_v=_effective_values(samples, rule))
    wide = s.pivot_table(index=list(by), columns="item", values="_v", aggfunc="mean")
    wide.columns = [str(c) for c in wide.columns]
    nd_only = s.groupby([*by, "item"])["nondetect"].all()
    nd_only = nd_only[nd_only].reset_index().groupby(list(by))["item"].agg(lambda x: ",".join(sorted(x)))
    n = s.groupby(list(by))["date"].nunique().rename("n_samples")
    out = wide.join(n).join(nd_only.rename("nd_only")).reset_index()
    out["nd_only"] = out["nd_only"].fillna("")
    return out


def _section_rows(means: pd.DataFrame, meta: pd.DataFrame, rule: WaterEvalRuleSet) -> pd.DataFrame:
    """Evaluate each row of ``means`` (one section, or one section-month)."""
    df = means.merge(meta, on="section", how="left")
    recs = []
    for row in df.to_dict("records"):
        wb = row.get("water_body")
        wb = wb if isinstance(wb, str) and wb else None
        m = {c: row[c] for c in CLASSED_ITEMS if c in row and row[c] == row[c] and row[c] is not None}
        if wb is None:
            recs.append({"class": "", "class_roman": "", "status": "", "class_factors": "", "main_pollutants": "",
                         "main_pollutant_items": "", "meets_target": None, "cwqi": None, "tli": None, "tli_grade": "",
                         "note": "缺少断面信息（水体类型），未评价"})
            continue
        ev = evaluate_section(m, wb, rule)
        target = row.get("target_class")
        target = int(target) if target is not None and target == target else None
        tl = None
        if wb == "lake":
            tl, _ = tli({k: row.get(k) for k in TLI_INDICES if row.get(k) is not None and row.get(k) == row.get(k)})
        recs.append({
            "class": class_code(ev.klass), "class_roman": class_roman(ev.klass), "status": ev.status,
            "class_factors": ",".join(ev.factors),
            "main_pollutants": "、".join(p.text(rule.multiple_digits) for p in ev.main),
            "main_pollutant_items": ",".join(p.item for p in ev.main),
            "meets_target": (ev.klass <= target) if (ev.klass and target) else None,
            "cwqi": section_cwqi(m, wb), "tli": tl, "tli_grade": tli_grade(tl), "note": "",
        })
    return pd.concat([df.reset_index(drop=True), pd.DataFrame(recs)], axis=1)


@dataclass
class WaterEvaluation:
    period: Period
    ruleset: str
    samples: pd.DataFrame  # one row per section and date, with the class of every item and of the sample
    sections: pd.DataFrame  # one row per section: period evaluation
    months: pd.DataFrame  # one row per section and month
    groups: pd.DataFrame  # shares by the chosen grouping (and the total)
    tli: pd.DataFrame  # lake sections by month, plus the period value
    group_by: str | None
    notes: list[str] = field(default_factory=list)


def _sample_table(samples: pd.DataFrame, meta: pd.DataFrame, rule: WaterEvalRuleSet) -> pd.DataFrame:
    if samples.empty:
        return pd.DataFrame()
    s = samples.assign(_v=_effective_values(samples, rule))
    wide = s.pivot_table(index=["section", "date"], columns="item", values="_v", aggfunc="first").reset_index()
    wide.columns = [str(c) for c in wide.columns]
    wide = wide.merge(meta[["section", "water_body"]], on="section", how="left")
    present = [c for c in CLASSED_ITEMS if c in wide]
    ok = wide["water_body"].notna().to_numpy()
    vals = {c: np.where(ok, wide[c].to_numpy(dtype=float), np.nan) for c in present}
    res = classify_arrays(vals, (wide["water_body"] == "lake").to_numpy(), items=rule.items)
    wide["class"] = class_text(res["class"])
    wide["class_factors"] = factor_text(res["factor_mask"])
    for c in present:
        wide[f"class_{c}"] = class_text(res[f"class_{c}"])
    return wide


def _shares(sections: pd.DataFrame, group_col: str | None, label: str, rule: WaterEvalRuleSet) -> pd.DataFrame:
    rows = []
    frames = [("全部", sections)]
    if group_col is not None:
        keys = sections[group_col].fillna("（未填）").astype(str)
        if group_col == "level":  # a section may count at several levels: "国考,省考"
            keys = keys.str.split(LEVEL_SEPARATORS)
            exploded = sections.assign(_k=keys).explode("_k")
            exploded["_k"] = exploded["_k"].str.strip()
            exploded = exploded[exploded["_k"] != ""]
        else:
            exploded = sections.assign(_k=keys)
        order = sorted(exploded["_k"].unique(), key=lambda k: (LEVEL_ORDER.get(k, 99), k))
        frames += [(k, exploded[exploded["_k"] == k].drop(columns="_k")) for k in order]
    for name, g in frames:
        classes = [_class_number(t) for t in g["class"]]
        means = [{c: r[c] for c in rule.items if c in r and r[c] == r[c]} for r in g.to_dict("records")]
        ev = evaluate_group(classes, means, g["water_body"].fillna("river").tolist(), rule)
        rows.append({
            label: name, "sections": ev.n_sections,
            "share_good_pct": _pct(ev.share_good), "share_worse_than_v_pct": _pct(ev.share_worse_than_v),
            **{f"n_{class_code(k)}": ev.class_counts.get(k, 0) for k in range(1, 7)},
            "method": {"proportion": "断面水质类别比例法", "mean": "断面均值单因子法", "none": ""}[ev.method],
            "status": ev.status, "class": class_roman(ev.klass),
            "main_pollutants": "、".join(ITEMS[c].name_zh for c in ev.main),
            "meets_target": int(g["meets_target"].fillna(False).astype(bool).sum()),
            "with_target": int(g["meets_target"].notna().sum()),
        })
    return pd.DataFrame(rows)


def _class_number(text: str) -> int | None:
    from ..standards.water_class import CLASS_CODES

    return CLASS_CODES.index(text) + 1 if text in CLASS_CODES else None


def _pct(x: float | None) -> float | None:
    return None if x is None else round_gbt8170(100.0 * x, SHARE_DIGITS)


def evaluate_water(con: duckdb.DuckDBPyConnection, period: Period, group: str | None = None,
                   rule: WaterEvalRuleSet = EVAL_2011) -> WaterEvaluation:
    """Evaluate every section with samples in ``period`` (see module docstring)."""
    if group is not None and group not in GROUPS:
        raise ValueError(f"分组应为 {'|'.join(k for k in GROUPS if k != 'level')}，而不是 {group!r}")
    samples = load_samples(con, period)
    notes = list(rule.notes)
    meta = load_sections(con, META)
    empty = WaterEvaluation(period, rule.name, pd.DataFrame(), pd.DataFrame(), pd.DataFrame(), pd.DataFrame(),
                            pd.DataFrame(), group, notes)
    if samples.empty:
        return empty
    lacking = sorted(set(samples["section"]) - set(meta.loc[meta["water_body"].notna(), "section"]))
    if lacking:
        notes.append(f"{len(lacking)} 个断面缺少断面信息（水体类型），未参与评价：" + "、".join(lacking[:10])
                     + (" 等" if len(lacking) > 10 else ""))
    means = period_means(samples, rule)
    sections = _section_rows(means, meta, rule)
    sections.insert(1, "period", period.label)
    samples = samples.assign(month=pd.to_datetime(samples["date"]).dt.strftime("%Y-%m"))
    mm = period_means(samples, rule, by=("section", "month"))
    months = _section_rows(mm, meta, rule)
    evaluated = sections[sections["water_body"].notna()]
    col, label = GROUPS[group] if group else (None, "分组")
    groups = _shares(evaluated, col, label, rule)
    lakes = months[months["water_body"] == "lake"]
    tli_cols = ["section", "name", "month", *[c for c in TLI_INDICES if c in lakes], "tli", "tli_grade"]
    tli_series = lakes[[c for c in tli_cols if c in lakes]].copy()
    if not tli_series.empty:
        period_rows = sections[sections["water_body"] == "lake"].assign(month=period.label)
        tli_series = pd.concat([tli_series, period_rows[[c for c in tli_cols if c in period_rows]]], ignore_index=True)
    return WaterEvaluation(period, rule.name, _sample_table(samples, meta, rule), sections, months, groups,
                           tli_series, group, notes)


STATUS_RANK = {s: i for i, s in enumerate(STATUS_ORDER)}


def status_for(klass_text: str) -> str:
    return status_of_class(_class_number(klass_text))


def item_class_text(code: str, value: float | None, water_body: str) -> str:
    return class_code(item_class(code, value, water_body))
