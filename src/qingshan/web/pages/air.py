"""``/air`` pages: station table, one station (series, calendar, diurnal), HJ 663 evaluation, ranking — each
rendering the dict of the function behind the matching ``/api/v1/air`` endpoint."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse

from ...evaluate.ranking import RANKING_METRICS
from ...ledger.api import Ctx, get_ctx
from ..console import Console, get_console
from ..data.air_eval import evaluation, ranking
from ..data.air_now import air_now
from ..data.air_station import (
    SERIES_COLUMNS,
    station_calendar,
    station_diurnal,
    station_series,
)
from ..data.capture import capture
from ..data.common import COLUMN_LABELS
from . import charts, periods
from .render import render
from .tables import WORST_N, worst_by_rank, worst_codes

router = APIRouter(include_in_schema=False)

TABLE_COLUMNS = ("pm25", "pm25_24h", "pm10", "pm10_24h", "o3", "o3_8h", "no2", "so2", "co")
SERIES_CHOICES = {"pm25": "PM₂.₅", "pm10": "PM₁₀", "o3": "O₃", "no2": "NO₂", "so2": "SO₂", "co": "CO",
                  "aqi": "AQI", "pm25_24h": "PM₂.₅ 24小时", "o3_8h": "O₃ 8小时"}


@router.get("/air", response_class=HTMLResponse)
def air_page(request: Request, city: str | None = None, console: Console = Depends(get_console),
             ctx: Ctx = Depends(get_ctx)) -> HTMLResponse:
    live = request.app.state.events.snapshot()  # before the data: a change in between makes the page refresh
    now = air_now(console, city)
    columns = [(c, *COLUMN_LABELS[c]) for c in TABLE_COLUMNS]
    worst = worst_codes(now["stations"], "aqi", WORST_N["stations"])
    return render(request, "air.html", ctx, active="air", title="环境空气", now=now, columns=columns, live=live,
                  worst=worst, worst_n=len(worst), query=request.url.query)


@router.get("/air/capture", response_class=HTMLResponse)
def capture_page(request: Request, city: str | None = None, period: str = "today",
                 console: Console = Depends(get_console), ctx: Ctx = Depends(get_ctx)) -> HTMLResponse:
    live = request.app.state.events.snapshot()
    c = capture(console, city, period, public=ctx.principal.is_public)
    pc = periods.picker(console, c["first_day"], c["first_day"], keys=("today", "month"), custom=False,
                        name="period", chosen=c["period"])
    return render(request, "air_capture.html", ctx, active="air", title="数据获取率", c=c, live=live, pc=pc,
                  query=request.url.query)


@router.get("/air/stations/{code}", response_class=HTMLResponse)
def station_page(request: Request, code: str, start: str | None = None, end: str | None = None,
                 pollutant: str | None = None, year: int | None = None, preset: str | None = None,
                 console: Console = Depends(get_console), ctx: Ctx = Depends(get_ctx)) -> HTMLResponse:
    chosen = pollutant if pollutant in SERIES_COLUMNS else None
    if preset and preset != periods.CUSTOM:  # a preset sets the dates; a custom range is the dates themselves
        start, end = periods.resolve(console, preset, None, None).split(":")
    elif preset == periods.CUSTOM:
        periods.custom_range(start, end, periods.clock(console))
    series = station_series(console, code, start, end, chosen)
    cal = station_calendar(console, code, year)
    diurnal = station_diurnal(console, code)
    shown = [chosen] if chosen else ["pm25", "pm10", "o3", "no2"]
    page_charts = [charts.station_series(series, shown), charts.station_calendar(cal), charts.category_days(cal),
                   charts.station_diurnal(diurnal, ["pm25", "pm10", "o3", "no2"])]
    return render(request, "station.html", ctx, active="air", title=series["station"]["name"], series=series,
                  cal=cal, diurnal=diurnal, charts=page_charts, choices=SERIES_CHOICES, chosen=chosen or "",
                  pc=periods.picker(console, series["start"], series["end"]))


@router.get("/air/evaluation", response_class=HTMLResponse)
def evaluation_page(request: Request, city: str | None = None, period: str | None = None,
                    level: str | None = None, preset: str | None = None, start: str | None = None,
                    end: str | None = None, console: Console = Depends(get_console),
                    ctx: Ctx = Depends(get_ctx)) -> HTMLResponse:
    ev = evaluation(console, city, periods.resolve(console, preset, start, end, period), level)
    worst = worst_codes(ev["rows"], "composite_index", WORST_N.get(ev["level"], 0), valid="valid_all")
    return render(request, "evaluation.html", ctx, active="air", title="HJ 663 评价", ev=ev, worst=worst,
                  worst_n=len(worst),
                  pc=periods.picker(console, ev["period"]["start"], ev["period"]["end"]), query=request.url.query)


@router.get("/air/ranking", response_class=HTMLResponse)
def ranking_page(request: Request, city: str | None = None, period: str | None = None,
                 level: str | None = None, by: str | None = None, preset: str | None = None,
                 start: str | None = None, end: str | None = None, console: Console = Depends(get_console),
                 ctx: Ctx = Depends(get_ctx)) -> HTMLResponse:
    r = ranking(console, city, periods.resolve(console, preset, start, end, period), level, by)
    worst = worst_by_rank(r["rows"], WORST_N.get(r["level"], 0))
    return render(request, "ranking.html", ctx, active="air", title="空气质量排名", r=r,
                  fig=charts.ranking(r), metrics=RANKING_METRICS, worst=worst, worst_n=len(worst),
                  pc=periods.picker(console, r["period"]["start"], r["period"]["end"]), query=request.url.query)
