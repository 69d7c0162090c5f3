"""What the station map shows besides the stations of :func:`.air_now.air_now`: the enterprise outlets with
coordinates from the HJ 212 device registry (signed-in users only: an outlet's position and name are the
enterprise's, not public information), and the interpolated PM2.5 surface of the stations' and grid sensors'
latest hour (:func:`qingshan.charts.interpolate.surface`). Cached per store state."""

from __future__ import annotations

from typing import Any

from ...charts.interpolate import Cell, surface
from ...store.nearby import located_outlets
from ..console import Console

#: station groups of :func:`.air_now.air_now` whose latest PM2.5 feeds the surface (control sites stand apart from
#: the city on purpose, so they are left out)
SURFACE_GROUPS = ("city", "town", "sensor")


def outlets(console: Console) -> list[dict[str, Any]]:
    """Registered pollution-source devices with coordinates (``name``, ``enterprise``, ``lon``, ``lat``)."""
    def compute(_: Any) -> list[dict[str, Any]]:
        with console.store.cursor() as cur:
            cols = located_outlets(cur)
        return [{"name": " / ".join(str(x) for x in (cols["enterprise"][i], cols["outlet"][i]) if x)
                 or str(cols["mn"][i]), "lon": float(cols["lon"][i]), "lat": float(cols["lat"][i])}
                for i in range(len(cols["mn"]))]

    return console.cached("map_outlets", (), compute)


def pm25_surface(console: Console, city: str, stations: list[dict[str, Any]]) -> list[Cell]:
    """The IDW surface from the stations' latest PM2.5 (cached with the store state, per city)."""
    points = [(s["lon"], s["lat"], (s.get("values") or {}).get("pm25")) for s in stations
              if s.get("group") in SURFACE_GROUPS]
    return console.cached("map_surface", (city,), lambda _: surface(points))
