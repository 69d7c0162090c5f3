"""``/`` — 总览: the same :func:`qingshan.web.data.overview.overview` that backs ``GET /api/v1/overview``."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse

from ...ledger.api import Ctx, get_ctx
from ..console import Console, get_console
from ..data.air_now import air_now
from ..data.common import DataNotFound
from ..data.ledger_summary import deadline_reminders
from ..data.map_layers import outlets, pm25_surface
from ..data.overview import overview
from . import charts
from .render import render

router = APIRouter(include_in_schema=False)


@router.get("/", response_class=HTMLResponse)
def home(request: Request, city: str | None = None, console: Console = Depends(get_console),
         ctx: Ctx = Depends(get_ctx)) -> HTMLResponse:
    live = request.app.state.events.snapshot()  # before the data: a change in between makes the page refresh
    reminders = deadline_reminders(ctx)
    try:
        data = overview(console, ctx, city)
    except DataNotFound as e:
        return render(request, "overview.html", ctx, active="overview", title="总览", o=None, message=str(e),
                      live=live, reminders=reminders)
    now = air_now(console, data["city"])
    return render(request, "overview.html", ctx, active="overview", title="总览", o=data, live=live, reminders=reminders,
                  today_chart=charts.today_aqi(now["today"]["hourly"], data["city"]),
                  map_chart=charts.station_map(data["stations"], data["city"],
                                               outlets=() if ctx.principal.is_public else outlets(console),
                                               surface=pm25_surface(console, data["city"], data["stations"])))
