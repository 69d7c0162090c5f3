"""The alarm rules: the versioned YAML shipped with the package (``alerts/rules.yaml``), overridable per workspace.

A workspace file ``<workspace>/alerts.yaml`` has the same layout. A rule with a shipped name replaces only the
keys it gives (``enabled: false`` switches a rule off); a rule with a new name is added (its ``kind`` must be one
the engine knows). The resulting rule set's version is the shipped version, plus ``+<workspace version>`` when the
workspace file names one, so every alarm says which rules raised it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from ..errors import QingshanError

WORKSPACE_FILE = "alerts.yaml"
AIR_KINDS = ("spike_baseline", "spike_neighbours", "aqi_category", "sustained_rise", "missing_hours", "flat_line",
             "pm25_gt_pm10")
KINDS = AIR_KINDS + ("hj212", "water_class", "water_change", "targets", "ranking_drag")
LEVELS = {1: "提示", 2: "一般", 3: "较重", 4: "严重"}


class AlarmRuleError(QingshanError, ValueError):
    """An alarm rule file that cannot be used; the message names the file, the rule and the key."""


@dataclass(frozen=True)
class AlarmRule:
    name: str
    title: str
    kind: str
    level: int = 1
    enabled: bool = True
    params: dict[str, Any] = field(default_factory=dict)

    def param(self, key: str, default: Any = None) -> Any:
        return self.params.get(key, default)


@dataclass(frozen=True)
class AlarmRules:
    version: str
    rules: tuple[AlarmRule, ...]

    def enabled(self, kind: str | None = None) -> list[AlarmRule]:
        return [r for r in self.rules if r.enabled and (kind is None or r.kind == kind)]

    def by_name(self, name: str) -> AlarmRule:
        for r in self.rules:
            if r.name == name:
                return r
        raise KeyError(name)


def _read(text: str, where: str) -> dict[str, Any]:
    try:
        data = yaml.safe_load(text) or {}
    except yaml.YAMLError as e:
        raise AlarmRuleError(f"{where}：YAML 格式错误：{' '.join(str(e).split())}") from None
    if not isinstance(data, dict) or not isinstance(data.get("rules", []), list):
        raise AlarmRuleError(f"{where}：应为含 rules 列表的映射")
    return data


def _rule(raw: dict[str, Any], where: str) -> AlarmRule:
    name = raw.get("name")
    if not isinstance(name, str) or not name:
        raise AlarmRuleError(f"{where}：规则缺少 name")
    kind = raw.get("kind")
    if kind not in KINDS:
        raise AlarmRuleError(f"{where} 规则 {name}：kind 应为 {'、'.join(KINDS)} 之一，实为 {kind!r}")
    level = raw.get("level", 1)
    if level not in LEVELS:
        raise AlarmRuleError(f"{where} 规则 {name}：level 应为 1–4，实为 {level!r}")
    params = {k: v for k, v in raw.items() if k not in ("name", "title", "kind", "level", "enabled")}
    for key in ("ratio", "radius_km", "tolerance", "margin"):
        if key in params and not (isinstance(params[key], (int, float)) and params[key] > 0):
            raise AlarmRuleError(f"{where} 规则 {name}：{key} 应为正数，实为 {params[key]!r}")
    if "min_lift" in params and not (isinstance(params["min_lift"], (int, float)) and params["min_lift"] >= 0):
        raise AlarmRuleError(f"{where} 规则 {name}：min_lift 应为非负数，实为 {params['min_lift']!r}")
    if "period" in params and params["period"] not in ("month", "year"):
        raise AlarmRuleError(f"{where} 规则 {name}：period 应为 month 或 year，实为 {params['period']!r}")
    if "rank_level" in params and params["rank_level"] not in LEVELS:
        raise AlarmRuleError(f"{where} 规则 {name}：rank_level 应为 1–4，实为 {params['rank_level']!r}")
    peers = params.get("peers")
    if peers is not None and not (isinstance(peers, dict) and all(
            isinstance(v, dict) and all(isinstance(x, (int, float)) and x > 0 for x in v.values()) for v in peers.values())):
        raise AlarmRuleError(f"{where} 规则 {name}：peers 应为 城市: {{对比城市: 综合指数}} 的映射")
    for key in ("hours", "baseline_hours", "min_neighbours", "min_days"):
        if key in params and not (isinstance(params[key], int) and params[key] >= 1):
            raise AlarmRuleError(f"{where} 规则 {name}：{key} 应为正整数，实为 {params[key]!r}")
    return AlarmRule(name=name, title=str(raw.get("title") or name), kind=kind, level=int(level),
                     enabled=bool(raw.get("enabled", True)), params=params)


def load_rules(workspace: Path | None = None) -> AlarmRules:
    """The shipped rules, with ``<workspace>/alerts.yaml`` applied when it exists."""
    shipped = _read(resources.files(__package__).joinpath("rules.yaml").read_text(encoding="utf-8"), "rules.yaml")
    raw = {r["name"]: dict(r) for r in shipped["rules"]}
    version = str(shipped.get("version", "?"))
    path = None if workspace is None else Path(workspace) / WORKSPACE_FILE
    if path is not None and path.exists():
        local = _read(path.read_text(encoding="utf-8"), str(path))
        for r in local.get("rules", []):
            if not isinstance(r, dict) or "name" not in r:
                raise AlarmRuleError(f"{path}：每条规则应为含 name 的映射")
            raw[r["name"]] = {**raw.get(r["name"], {}), **r}
        if local.get("version"):
            version += f"+{local['version']}"
    return AlarmRules(version, tuple(_rule(r, str(path or "rules.yaml")) for r in raw.values()))
