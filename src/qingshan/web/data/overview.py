"""The overview (总览): one call that assembles the panels of the home page and of ``GET /api/v1/overview``.

Every panel is another data function of this package, each cached on what it depends on, so a cached overview
costs a few dictionary look-ups, one query of the ledger's last audit id and the JSON encoding.
A panel whose data are missing (no target file, no water samples) says so instead of failing the overview.
"""

from __future__ import annotations

from typing import Any

from ...ledger.api import Ctx
from ..console import Console
from .air_now import air_now
from .alerts import latest_alerts
from .capture import capture
from .common import DataNotFound
from .ledger_summary import ledger_summary
from .targets import targets
from .water import water_summary


def _targets_panel(console: Console, city: str) -> dict[str, Any]:
    try:
        t = targets(console, city)
    except DataNotFound as e:
        return {"available": False, "message": str(e), "rows": []}
    rows = [{k: r[k] for k in ("id", "name", "indicator", "level", "target", "ytd_value", "unit", "n", "expected",
                                "coverage", "status", "status_text", "requirement", "requirement_text", "required",
                                "required_text", "remaining", "target_value", "comparison")} for r in t["rows"]]
    return {"available": True, "year": t["year"], "as_of": t["as_of"], "config": t["config"], "rows": rows,
            "status_counts": t["status_counts"], "rulesets": t["rulesets"]}


def _water_panel(console: Console) -> dict[str, Any]:
    w = water_summary(console)
    total = next((lv for lv in w["levels"] if lv["level"] == "全部"), None)
    return {"available": bool(w["levels"]), "year": w["year"], "levels": w["levels"], "total": total,
            "rulesets": w["rulesets"], "notes": w["notes"]}


def overview(console: Console, ctx: Ctx, city: str | None = None) -> dict[str, Any]:
    now = air_now(console, city)
    name = now["city"]
    return {
        "city": name,
        "as_of": now["as_of"],
        "city_now": now["city_now"],
        "stations": now["stations"],
        "today": {k: v for k, v in now["today"].items() if k != "hourly"},
        "targets": _targets_panel(console, name),
        "water": _water_panel(console),
        "ledger": ledger_summary(console, ctx),
        "capture": capture(console, name, "today", public=ctx.principal.is_public, device_limit=20),
        "alerts": latest_alerts(console, now["alerts"], ctx.principal.is_public),
        "rulesets": now["rulesets"],
    }
