"""``/reports`` — download the published documents: the forms submit to ``/api/v1/reports/...`` directly."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse

from ...ledger.api import Ctx, get_ctx
from ..api.reports import inspections
from ..console import Console, get_console
from ..data.common import cities
from .render import render

router = APIRouter(include_in_schema=False)


@router.get("/reports", response_class=HTMLResponse)
def reports_page(request: Request, console: Console = Depends(get_console),
                 ctx: Ctx = Depends(get_ctx)) -> HTMLResponse:
    state = console.store.state()
    today = state.today
    last_month = f"{today:%Y-%m}" if today else ""
    last_full_year = (today.year - 1) if today else None
    return render(request, "reports.html", ctx, active="reports", title="报告", cities=cities(console, state),
                  month=last_month, year=last_full_year, inspections=inspections(ctx),
                  as_of=ctx.svc.today.isoformat())
