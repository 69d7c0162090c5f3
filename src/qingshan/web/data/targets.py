"""Annual targets of a city: :func:`qingshan.targets.evaluate.target_status` as it is, cached per store state.

The target file is the workspace's (``<workspace>/targets/*.yaml``) when one matches the city and year, else the
shipped one (:func:`qingshan.targets.config.find_config`). The as-of date defaults to the last complete day of the
as-of hour (a partial day has no valid daily values yet) when the year is the as-of year, and to 31 December for a
past year.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from ...standards.rulesets import EVAL_RULESETS, eval_ruleset_for
from ...standards.water_eval import EVAL_2011
from ...targets.config import (
    DATA_DIR,
    TargetConfig,
    TargetConfigError,
    find_config,
    load_config,
)
from ...targets.evaluate import target_status
from ..console import Console
from ..jsonable import records
from ..store import StoreState, last_complete_day
from .common import BadParameter, DataNotFound, need_data, resolve_city, year_param

STATUS_CLASS = {"on_track": "ok", "at_risk": "warn", "missed": "bad", "no_data": "none"}


def _files_signature(console: Console) -> tuple:
    """Name, size and modification time of every target file that could be used (edits invalidate the cache)."""
    out = []
    for d in (console.targets_dir, DATA_DIR):
        if d.is_dir():
            for p in sorted(d.glob("*.yaml")):
                st = p.stat()
                out.append((str(p), st.st_size, st.st_mtime_ns))
    return tuple(out)


def find_target_config(console: Console, city: str, year: int) -> TargetConfig:
    """The workspace's target file for ``city`` and ``year``, else the shipped one (:class:`DataNotFound`).

    Parsed once per set of files (YAML parsing costs milliseconds, too much for every overview request)."""
    key = ("target_config", city, year, _files_signature(console))
    found = console.cache.get_or_compute(key, lambda: _find_config(console, city, year))
    if isinstance(found, TargetConfig):
        return found
    raise DataNotFound(found)


def _find_config(console: Console, city: str, year: int) -> TargetConfig | str:
    """The config, or the reason there is none (cached too, so a city without targets costs nothing)."""
    if console.targets_dir.is_dir():
        for path in sorted(console.targets_dir.glob("*.yaml")):
            try:
                cfg = load_config(path)
            except TargetConfigError as e:  # a broken deployment file is reported, not skipped silently
                return f"工作区目标文件有误，无法使用：{e}"
            if cfg.year == year and cfg.matches_city(city):
                return cfg
    try:
        return find_config(city, year)
    except TargetConfigError:
        return f"没有找到 {city} {year} 年的年度目标文件（可放在工作区 targets/ 目录，格式同 src/qingshan/targets/data/ 中的 YAML 文件）"


def _as_of_param(text: str | None, year: int, state: StoreState) -> date:
    if text:
        try:
            d = date.fromisoformat(text.strip())
        except ValueError:
            raise BadParameter(f"截至日期 as_of 应为 YYYY-MM-DD，而不是 {text!r}") from None
        if d.year != year:
            raise BadParameter(f"截至日期 {d} 不在目标年度 {year} 内")
        return d
    last = last_complete_day(need_data(state))
    if year == last.year:
        return last
    if year < last.year:
        return date(year, 12, 31)
    raise BadParameter(f"{year} 年尚无监测数据（测量库最新数据截至 {last}）")


def targets(console: Console, city: str | None = None, year: int | None = None,
            as_of: str | None = None) -> dict[str, Any]:
    """Every target of the city's file with the year-to-date value, coverage, status and what the rest of the
    year must achieve (``required``/``required_text``)."""
    state = console.store.state()
    name = resolve_city(console, state, city)
    y = year_param(year, last_complete_day(need_data(state)).year)
    day = _as_of_param(as_of, y, state)
    config = find_target_config(console, name, y)

    def compute(_: StoreState) -> list[dict[str, Any]]:
        with console.store.cursor() as cur:
            try:
                table = target_status(cur, config, name, day)
            except ValueError as e:
                raise BadParameter(str(e)) from None
        rows = records(table)
        by_id = {t.id: t for t in config.targets}
        for r in rows:  # the numeric target and its comparison beside the text ("≤ 31 µg/m³")
            t = by_id.get(r["id"])
            r["target_value"], r["comparison"] = (t.value, t.comparison) if t else (None, None)
        return rows

    rows = console.cached("targets", (name, y, day, config.path, config.version), compute, state)
    evals = sorted({eval_ruleset_for(date(y, 1, 1)).name, eval_ruleset_for(day).name})
    counts = {k: sum(1 for r in rows if r["status"] == k) for k in STATUS_CLASS}
    return {"city": name, "year": y, "as_of": day.isoformat(),
            "config": {"city": config.city, "year": config.year, "version": config.version, "source": config.source,
                       "file": config.path},
            "rows": rows, "status_counts": counts,
            "rulesets": {"eval": evals, "eval_titles": {n: EVAL_RULESETS[n].title_zh for n in evals},
                         "water": EVAL_2011.name,
                         "method": "空气：HJ 663 城市日均值（点位平均法）年初至截至日；水：断面年初至截至日均值定类；"
                                   "剩余天数按全部有效计算“余下时段须达到”的数值"}}
