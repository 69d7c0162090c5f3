"""Latest alerts: HJ 212 pollution-source alerts (``hj212_alerts``, when the workspace has the table) and the
air alerts of :mod:`.air_now` (stations with hourly AQI above 200 in the last 24 hours).

HJ 212 alerts concern enterprises' outlets and carry internal evidence; they are listed for signed-in users only
(the public sees the air alerts), and never with their raw evidence.
"""

from __future__ import annotations

from typing import Any

from ...numbers import finite
from ...store.read import hj212_alerts as stored_alerts
from ..console import Console
from ..jsonable import value
from ..store import StoreState

HJ212_LIMIT = 10
KIND_LABELS = {"exceed": "超标", "flat": "数据恒值", "flags": "数据标记异常", "missing": "因子缺失", "silent": "设备失联"}


def hj212_alerts(console: Console, state: StoreState, limit: int = HJ212_LIMIT) -> list[dict[str, Any]]:
    if not state.has_hj212_alerts:
        return []

    def compute(_: StoreState) -> list[dict[str, Any]]:
        with console.store.cursor() as cur:
            rows = stored_alerts(cur, limit)
        out = []
        for r in rows:
            d = {k: value(v) for k, v in r.items()}
            d["value"], d["threshold"] = finite(d["value"]), finite(d["threshold"])
            d["kind_label"] = KIND_LABELS.get(str(d["kind"]), str(d["kind"]))
            d["source"] = "hj212"
            out.append(d)
        return out

    return console.cached("hj212_alerts", (limit,), compute, state)


def latest_alerts(console: Console, air_alerts: list[dict[str, Any]], public: bool) -> dict[str, Any]:
    state = console.store.state()
    src = [] if public else hj212_alerts(console, state)
    return {"air": air_alerts, "hj212": src, "hj212_available": state.has_hj212_alerts,
            "hj212_hidden": public and state.has_hj212_alerts,
            "total": len(air_alerts) + len(src)}
