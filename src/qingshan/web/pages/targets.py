"""``/targets`` — the target table and progress chart of ``GET /api/v1/targets``."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse

from ...ledger.api import Ctx, get_ctx
from ..console import Console, get_console
from ..data.targets import targets
from . import charts
from .render import render

router = APIRouter(include_in_schema=False)


@router.get("/targets", response_class=HTMLResponse)
def targets_page(request: Request, city: str | None = None, year: int | None = None,
                 as_of: str | None = None, console: Console = Depends(get_console),
                 ctx: Ctx = Depends(get_ctx)) -> HTMLResponse:
    t = targets(console, city, year, as_of)
    return render(request, "targets.html", ctx, active="targets", title="年度目标", t=t, fig=charts.targets(t))
