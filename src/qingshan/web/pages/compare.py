"""``/air/compare`` — several stations on one chart with the city mean and last year's city mean of the same
period (:func:`qingshan.web.data.air_compare.air_compare`); the station page links here with its station chosen."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse

from ...evaluate.city_hourly import CITY_COLUMNS
from ...ledger.api import Ctx, get_ctx
from ..console import Console, get_console
from ..data.air_compare import MAX_STATIONS, air_compare
from ..data.air_now import air_now
from ..data.common import COLUMN_LABELS
from . import charts
from .render import render

router = APIRouter(include_in_schema=False)


@router.get("/air/compare", response_class=HTMLResponse)
def compare_page(request: Request, stations: list[str] = Query(default=[]), pollutant: str = "pm25",
                 start: str | None = None, end: str | None = None, city: str | None = None,
                 console: Console = Depends(get_console), ctx: Ctx = Depends(get_ctx)) -> HTMLResponse:
    codes = [c for s in stations for c in s.split(",") if c.strip()]
    now = air_now(console, city)
    choices = [s for s in now["stations"] if s["group"] in ("city", "town", "control")]
    if not codes:  # default: the evaluation stations with the highest AQI now
        ranked = sorted((s for s in choices if s["aqi"] is not None), key=lambda s: -s["aqi"])
        codes = [s["code"] for s in ranked[:3]]
    c = air_compare(console, codes, pollutant, start, end, now["city"])
    return render(request, "compare.html", ctx, active="air", title="多站对比", c=c, fig=charts.comparison(c),
                  choices=choices, chosen=set(codes), pollutants={p: COLUMN_LABELS[p][0] for p in CITY_COLUMNS},
                  max_stations=MAX_STATIONS)
