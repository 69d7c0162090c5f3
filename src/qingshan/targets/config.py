"""Annual targets as a versioned YAML file per city and year (``data/<city>-<year>.yaml``).

Format (``schema: qingshan.targets/1``)::

    schema: qingshan.targets/1
    city: 常州市                 # the city name; ``aliases`` lists other spellings used in the store
    aliases: [常州]
    year: 2023
    version: "2023-04-17"        # version of the target document (date or label), required
    source: 常政发〔2023〕23号 …  # the document the targets come from
    targets:
      - id: pm25                 # unique within the file
        indicator: pm25_mean     # one of INDICATORS
        name: PM2.5 年均浓度      # optional display name (defaults to the indicator's)
        comparison: "≤"          # ≤ ≥ < > (ASCII <= >= accepted)
        value: 31
        unit: µg/m³              # must be the indicator's unit
        digits: 0                # optional: reporting precision of the annual value (defaults per indicator)
        level: 国考              # water indicators only: assessment level (国考/省考/市考/…)
        source: 工作目标 …         # where in the document (required)

Every problem of a file is collected and raised at once as :class:`TargetConfigError` with Chinese messages that
name the file and the place (``targets[2].comparison``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

SCHEMA = "qingshan.targets/1"
DATA_DIR = Path(__file__).resolve().parent / "data"


@dataclass(frozen=True)
class IndicatorSpec:
    """What an indicator is: its unit, default reporting digits, the comparisons that make sense, its kind."""

    name: str
    unit: str
    digits: int
    comparisons: tuple[str, ...]
    kind: str  # daily_mean | day_ratio | share | monthly_count | monthly_mean
    needs_level: bool = False


INDICATORS: dict[str, IndicatorSpec] = {
    "pm25_mean": IndicatorSpec("PM2.5 年均浓度", "µg/m³", 0, ("≤", "<"), "daily_mean"),
    "good_ratio": IndicatorSpec("优良天数比率", "%", 1, ("≥", ">"), "day_ratio"),
    "water_share_ge3": IndicatorSpec("断面水质优Ⅲ比例", "%", 1, ("≥", ">"), "share", True),
    "water_share_ge2": IndicatorSpec("断面水质优Ⅱ比例", "%", 1, ("≥", ">"), "share", True),
    "water_no_worse_v": IndicatorSpec("断面劣Ⅴ类月数", "月", 0, ("≤", "<"), "monthly_count", True),
    "dustfall_mean": IndicatorSpec("降尘量年均值", "t/(km²·月)", 1, ("≤", "<"), "monthly_mean"),
}

_COMPARISONS = {"≤": "≤", "<=": "≤", "≥": "≥", ">=": "≥", "<": "<", ">": ">"}
_UNIT_ALIASES = {"ug/m3": "µg/m³", "μg/m³": "µg/m³", "μg/m3": "µg/m³", "µg/m3": "µg/m³", "微克/立方米": "µg/m³",
                 "％": "%", "吨/平方千米·月": "t/(km²·月)", "t/(km2·月)": "t/(km²·月)", "t/(km²·month)": "t/(km²·月)",
                 "个月": "月"}


class TargetConfigError(ValueError):
    """A target file is invalid; ``problems`` lists every problem found (Chinese)."""

    def __init__(self, source: str, problems: list[str]):
        self.source = source
        self.problems = problems
        super().__init__(f"目标配置 {source} 有 {len(problems)} 处错误：\n" + "\n".join(f"  - {p}" for p in problems))


@dataclass(frozen=True)
class Target:
    id: str
    indicator: str
    name: str
    comparison: str
    value: float
    unit: str
    digits: int
    source: str
    level: str | None = None

    @property
    def spec(self) -> IndicatorSpec:
        return INDICATORS[self.indicator]

    @property
    def text(self) -> str:
        """E.g. ``≤ 31 µg/m³``."""
        v = f"{self.value:.{self.digits}f}" if self.digits > 0 else f"{self.value:g}"
        return f"{self.comparison} {v} {self.unit}"


@dataclass(frozen=True)
class TargetConfig:
    city: str
    year: int
    version: str
    source: str
    targets: tuple[Target, ...]
    aliases: tuple[str, ...] = ()
    path: str = "<内存>"

    def matches_city(self, name: str) -> bool:
        return name.strip() in (self.city, *self.aliases)


def _is_number(x: object) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(float(x))


def parse_config(doc: object, source: str = "<内存>") -> TargetConfig:
    """Validate a parsed YAML document and build the :class:`TargetConfig`; every problem is reported at once."""
    problems: list[str] = []
    if not isinstance(doc, dict):
        raise TargetConfigError(source, ["文件顶层应为映射（键: 值），实际为 " + type(doc).__name__])
    if doc.get("schema") != SCHEMA:
        problems.append(f"schema 应为 {SCHEMA}，实际为 {doc.get('schema')!r}")
    city = doc.get("city")
    if not isinstance(city, str) or not city.strip():
        problems.append("缺少 city（城市名称）")
    aliases = doc.get("aliases", []) or []
    if not isinstance(aliases, list) or not all(isinstance(a, str) for a in aliases):
        problems.append("aliases 应为字符串列表")
        aliases = []
    year = doc.get("year")
    if not isinstance(year, int) or isinstance(year, bool) or not 2000 <= year <= 2100:
        problems.append(f"year 应为 2000–2100 之间的整数年份，实际为 {year!r}")
    version = doc.get("version")
    if version is None or str(version).strip() == "":
        problems.append("缺少 version（目标文件版本，如印发日期）")
    src = doc.get("source")
    if not isinstance(src, str) or not src.strip():
        problems.append("缺少 source（目标出处文件）")
    items = doc.get("targets")
    targets: list[Target] = []
    if not isinstance(items, list) or not items:
        problems.append("targets 应为非空列表")
        items = []
    seen: set[str] = set()
    for i, t in enumerate(items):
        where = f"targets[{i}]"
        if not isinstance(t, dict):
            problems.append(f"{where} 应为映射")
            continue
        before = len(problems)
        tid = t.get("id")
        if not isinstance(tid, str) or not tid.strip():
            problems.append(f"{where}.id 缺失")
        elif tid in seen:
            problems.append(f"{where}.id 重复：{tid}")
        else:
            seen.add(tid)
            where = f"{where}（{tid}）"
        ind = t.get("indicator")
        spec = INDICATORS.get(ind) if isinstance(ind, str) else None
        if spec is None:
            problems.append(f"{where}.indicator 未知：{ind!r}；可选 {'、'.join(INDICATORS)}")
        cmp_raw = t.get("comparison")
        cmp = _COMPARISONS.get(str(cmp_raw).strip()) if cmp_raw is not None else None
        if cmp is None:
            problems.append(f"{where}.comparison 应为 ≤、≥、< 或 >，实际为 {cmp_raw!r}")
        elif spec is not None and cmp not in spec.comparisons:
            problems.append(f"{where}.comparison {cmp} 对指标 {ind} 无意义，应为 {' 或 '.join(spec.comparisons)}")
        value = t.get("value")
        if not _is_number(value):
            problems.append(f"{where}.value 应为数值，实际为 {value!r}")
        elif spec is not None:
            v = float(value)
            if v < 0 or (spec.unit == "%" and v > 100):
                problems.append(f"{where}.value {value} 超出合理范围" + ("（0–100）" if spec.unit == "%" else "（应 ≥ 0）"))
        unit_raw = t.get("unit")
        unit = _UNIT_ALIASES.get(str(unit_raw).strip(), str(unit_raw).strip()) if unit_raw is not None else None
        if unit is None:
            problems.append(f"{where}.unit 缺失")
        elif spec is not None and unit != spec.unit:
            problems.append(f"{where}.unit 应为 {spec.unit}（指标 {ind}），实际为 {unit_raw!r}")
        digits = t.get("digits", spec.digits if spec else 0)
        if not isinstance(digits, int) or isinstance(digits, bool) or not 0 <= digits <= 4:
            problems.append(f"{where}.digits 应为 0–4 的整数，实际为 {digits!r}")
        level = t.get("level")
        if spec is not None and spec.needs_level and (not isinstance(level, str) or not level.strip()):
            problems.append(f"{where}.level 缺失：水质指标须注明考核层级（如 国考、省考、市考）")
        if spec is not None and not spec.needs_level and level is not None:
            problems.append(f"{where}.level 仅用于水质指标")
        tsrc = t.get("source")
        if not isinstance(tsrc, str) or not tsrc.strip():
            problems.append(f"{where}.source 缺失：请注明目标在文件中的出处")
        if len(problems) == before and spec is not None:
            targets.append(Target(tid, ind, str(t.get("name") or spec.name), cmp, float(value), unit, digits,
                                  tsrc.strip(), level.strip() if isinstance(level, str) else None))
    if problems:
        raise TargetConfigError(source, problems)
    return TargetConfig(city.strip(), year, str(version).strip(), src.strip(), tuple(targets),
                        tuple(a.strip() for a in aliases), source)


def load_config(path: str | Path) -> TargetConfig:
    """Read and validate one YAML target file (UTF-8)."""
    import yaml  # PyYAML; imported here so the rest of qingshan does not need it

    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise TargetConfigError(str(p), ["文件不存在"]) from None
    except UnicodeDecodeError:
        raise TargetConfigError(str(p), ["文件不是 UTF-8 编码"]) from None
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        at = f"第 {mark.line + 1} 行第 {mark.column + 1} 列" if mark is not None else ""
        raise TargetConfigError(str(p), [f"YAML 语法错误{at}：{getattr(e, 'problem', None) or e}"]) from None
    if isinstance(doc, dict) and "based_on" in doc:
        doc = _inherit(doc, p)
    return parse_config(doc, str(p))


def _inherit(doc: dict, path: Path) -> dict:
    """``based_on: other.yaml`` (same folder): take the other file's targets; keys given here replace its keys.

    Lets a city adopt another's target list without copying it (the demo city uses Changzhou's 2023 targets).
    """
    base_name = doc["based_on"]
    base_path = path.parent / str(base_name)
    if not isinstance(base_name, str) or "/" in base_name or not base_path.is_file():
        raise TargetConfigError(str(path), [f"based_on 应为同一目录下的目标文件名，实际为 {base_name!r}"])
    import yaml

    base = yaml.safe_load(base_path.read_text(encoding="utf-8"))
    if not isinstance(base, dict) or "based_on" in base:
        raise TargetConfigError(str(path), [f"based_on 指向的 {base_name} 不是独立的目标文件"])
    merged = {**base, "aliases": []}
    merged.update({k: v for k, v in doc.items() if k != "based_on"})
    return merged


def find_config(city: str, year: int, directory: str | Path | None = None) -> TargetConfig:
    """The shipped (or ``directory``'s) target file whose city or aliases match ``city`` and whose year is ``year``."""
    d = Path(directory) if directory else DATA_DIR
    for p in sorted(d.glob("*.yaml")):
        cfg = load_config(p)
        if cfg.year == year and cfg.matches_city(city):
            return cfg
    raise TargetConfigError(str(d), [f"没有找到 {city} {year} 年的目标文件；请用 --config 指定"])
