"""``/screen`` — the big screen (大屏) of the command centre: city AQI now, the map, the worst stations, the open
alerts and the targets at risk (and, for the bureau, the open alarms), dark and in large type for a 1920×1080 wall.
It follows the live event stream (``/static/screen.js``): on a new store version it fetches ``/api/v1/overview``
and ``/screen/map.json`` and rewrites the panels in place, no reload. Content is what the overview shows the same
caller: a public visitor sees no HJ 212 alerts, no alarms and no enterprise outlets."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, JSONResponse

from ...ledger.api import Ctx, get_ctx
from ...ledger.rbac import SUPERVISORS
from ..console import Console, get_console
from ..data.alarms import alarms
from ..data.common import DataNotFound
from ..data.map_layers import outlets, pm25_surface
from ..data.overview import overview
from . import charts
from .render import render

router = APIRouter(include_in_schema=False)

#: how many of the worst stations the screen lists
WORST_N = 5
AT_RISK = ("at_risk", "missed")


def worst_stations(stations: list[dict[str, Any]], n: int = WORST_N) -> list[dict[str, Any]]:
    """The ``n`` stations (evaluation and town stations with data) with the highest AQI now, highest first."""
    ranked = [s for s in stations if s.get("group") in ("city", "town") and s.get("aqi") is not None]
    return sorted(ranked, key=lambda s: (-s["aqi"], s["name"]))[:n]


def targets_at_risk(o: dict[str, Any]) -> list[dict[str, Any]]:
    return [r for r in o["targets"]["rows"] if r["status"] in AT_RISK]


#: the map's height on the wall (px; the page's map is 420)
MAP_HEIGHT = 560


#: how many open alarms the screen lists (the 报警中心 has the rest)
ALARMS_N = 5
OPEN_STATES = ["new", "acknowledged"]


def open_alarms(console: Console, ctx: Ctx) -> list[dict[str, Any]] | None:
    """The newest open alarms (新报警, 已确认) for the bureau and admin; None for anyone else (not shown)."""
    if ctx.anonymous or ctx.principal.role not in SUPERVISORS:
        return None
    return alarms(console, OPEN_STATES, 1, limit=ALARMS_N)


def _map(console: Console, ctx: Ctx, o: dict[str, Any]) -> dict[str, Any]:
    c = charts.station_map(o["stations"], o["city"], outlets=() if ctx.principal.is_public else outlets(console),
                           surface=pm25_surface(console, o["city"], o["stations"]), name="station-map-screen")
    c["spec"]["height"] = MAP_HEIGHT
    return c


@router.get("/screen", response_class=HTMLResponse)
def screen(request: Request, city: str | None = None, console: Console = Depends(get_console),
           ctx: Ctx = Depends(get_ctx)) -> HTMLResponse:
    live = request.app.state.events.snapshot()
    try:
        o = overview(console, ctx, city)
    except DataNotFound as e:
        return render(request, "screen.html", ctx, title="大屏", o=None, message=str(e), live=live, alarms=None)
    return render(request, "screen.html", ctx, title="大屏", o=o, live=live, worst=worst_stations(o["stations"]),
                  at_risk=targets_at_risk(o), map_chart=_map(console, ctx, o), alarms=open_alarms(console, ctx))


@router.get("/screen/map.json")
def screen_map(city: str | None = None, console: Console = Depends(get_console),
               ctx: Ctx = Depends(get_ctx)) -> JSONResponse:
    """The map chart of the screen for the current data (``name``, ``spec``, ``caption``)."""
    o = overview(console, ctx, city)
    return JSONResponse(_map(console, ctx, o), headers={"Cache-Control": "no-store"})
