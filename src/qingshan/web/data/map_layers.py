"""What the station map shows besides the stations of :func:`.air_now.air_now`: the enterprise outlets with
coordinates from the HJ 212 device registry (signed-in users only: an outlet's position and name are the
enterprise's, not public information), and the interpolated PM2.5 surface of the stations' and grid sensors'
latest hour (:func:`qingshan.charts.interpolate.surface`), cached per store state; and the town boundaries the
bureau imported (``qingshan import boundaries``: :func:`town_boundaries`), read again when the file changes."""

from __future__ import annotations

import functools
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ...charts import geo
from ...charts.interpolate import Cell, surface
from ...ingest.boundaries import towns_path
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


@dataclass(frozen=True)
class Towns:
    """The imported town boundaries as the map draws them: the GeoJSON body (rings oriented for d3-geo, as
    :func:`qingshan.charts.geo.simplify_geometry` leaves them), each town's label point and the source file."""

    body: bytes
    labels: tuple[tuple[str, float, float], ...]
    source: str

    @property
    def version(self) -> str:
        """Changes with the content: the map's URL carries it, so a re-import is never hidden by a browser cache."""
        return hashlib.sha256(self.body).hexdigest()[:12]


@functools.lru_cache(maxsize=4)
def _read_towns(path: str, mtime_ns: int, size: int) -> Towns | None:
    try:
        fc = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    features, labels = [], []
    for f in fc.get("features", []):
        g = geo.simplify_geometry(f["geometry"], digits=4)
        if g is None:
            continue
        name = str(f["properties"]["name"])
        features.append({"type": "Feature", "geometry": g, "properties": {"name": name, "kind": "乡镇"}})
        labels.append((name, *geo.label_point(g)))
    body = json.dumps({"type": "FeatureCollection", "features": features}, ensure_ascii=False,
                      separators=(",", ":")).encode()
    return Towns(body, tuple(labels), str(fc.get("source") or ""))


def town_boundaries(console: Console) -> Towns | None:
    """The workspace's imported town boundaries (``<workspace>/boundaries/towns.geojson``), None without them."""
    p = towns_path(console.workspace)
    try:
        st = p.stat()
    except OSError:
        return None
    return _read_towns(str(p), st.st_mtime_ns, st.st_size)
