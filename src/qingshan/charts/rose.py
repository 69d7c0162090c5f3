"""The pollution rose of the cause note (docs/alerts.md): mean concentration by wind sector and speed, drawn as
openair's ``polarPlot`` draws it — direction around the circle (where the wind comes from, north up, clockwise),
wind speed outwards, colour the mean concentration of the hours in the cell."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from .specs import _chart

#: outer edge (m/s) drawn for the open top speed bin
TOP_SPEED = 8.0
SIZE = 320


def pollution_rose(cells: Sequence[Mapping[str, Any]], title: str, unit: str) -> dict:
    """Vega-Lite spec of :func:`qingshan.alerts.wind.pollution_rose` cells (16 sectors × speed bins)."""
    scale = (SIZE / 2 - 20) / TOP_SPEED  # pixels per m/s
    values = []
    for c in cells:
        centre = math.radians(float(c["sector"]))
        hi = TOP_SPEED if c.get("speed_hi") is None else min(float(c["speed_hi"]), TOP_SPEED)
        lo = min(float(c["speed_lo"]), TOP_SPEED)
        speed = f"≥ {c['speed_lo']:g}" if c.get("speed_hi") is None else f"{c['speed_lo']:g}–{c['speed_hi']:g}"
        values.append({"t0": centre - math.pi / 16, "t1": centre + math.pi / 16, "r0": lo * scale, "r1": hi * scale,
                       "方位": c["sector_zh"], "风速": f"{speed} m/s", "均值": c["mean"], "小时数": c["hours"]})
    return _chart(
        title, values, width=SIZE, height=SIZE,
        mark={"type": "arc", "stroke": "white", "strokeWidth": 0.5},
        encoding={
            "theta": {"field": "t0", "type": "quantitative", "scale": None},
            "theta2": {"field": "t1"},
            "radius": {"field": "r0", "type": "quantitative", "scale": None},
            "radius2": {"field": "r1"},
            "color": {"field": "均值", "type": "quantitative", "title": f"均值（{unit}）",
                      "scale": {"scheme": "yelloworangered"}},
            "tooltip": [{"field": "方位"}, {"field": "风速"}, {"field": "均值", "type": "quantitative"},
                        {"field": "小时数", "type": "quantitative"}],
        })
