"""``/water`` — sections table and shares by assessment level (the ``/api/v1/water`` functions)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse

from ...ledger.api import Ctx, get_ctx
from ..console import Console, get_console
from ..data.water import water_sections, water_summary
from . import charts, periods
from .render import render

router = APIRouter(include_in_schema=False)


@router.get("/water", response_class=HTMLResponse)
def water_page(request: Request, year: int | None = None, period: str | None = None, preset: str | None = None,
               start: str | None = None, end: str | None = None, console: Console = Depends(get_console),
               ctx: Ctx = Depends(get_ctx)) -> HTMLResponse:
    chosen = periods.resolve(console, preset, start, end, period)
    sections = water_sections(console, year, chosen)
    summary = water_summary(console, year, chosen)
    fig = charts.water_classes(summary) if summary["levels"] else None
    dates = sections.get("dates")
    pc = periods.picker(console, dates["start"], dates["end"]) if dates else None
    return render(request, "water.html", ctx, active="water", title="水环境", sections=sections, summary=summary,
                  fig=fig, pc=pc, query=request.url.query)
