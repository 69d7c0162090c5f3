"""``/targets`` — the target table and progress chart of ``GET /api/v1/targets``."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse

from ...ledger.api import Ctx, get_ctx
from ..console import Console, get_console
from ..data.common import BadParameter
from ..data.targets import targets
from . import charts, periods
from .render import render

router = APIRouter(include_in_schema=False)


@router.get("/targets", response_class=HTMLResponse)
def targets_page(request: Request, city: str | None = None, year: int | None = None,
                 as_of: str | None = None, preset: str | None = None, console: Console = Depends(get_console),
                 ctx: Ctx = Depends(get_ctx)) -> HTMLResponse:
    year, as_of = target_period(console, preset, year, as_of)
    t = targets(console, city, year, as_of)
    pc = periods.picker(console, f"{t['year']}-01-01", t["as_of"], keys=TARGET_PRESETS, custom=False)
    return render(request, "targets.html", ctx, active="targets", title="年度目标", t=t, fig=charts.targets(t), pc=pc,
                  query=request.url.query)


#: a target is judged from 1 January to a day of its year: only the year-to-date presets apply
TARGET_PRESETS = ("year", "year_ago")


def target_period(console: Console, preset: str | None, year: int | None, as_of: str | None
                  ) -> tuple[int | None, str | None]:
    """(year, as_of) of the targets page: a preset (今年, 去年同期) gives both; otherwise the parameters as they are."""
    if not preset:
        return year, as_of
    if preset not in TARGET_PRESETS:
        raise BadParameter(f"年度目标的时段预设应为 {'、'.join(TARGET_PRESETS)}，而不是 {preset!r}")
    r = periods.preset_range(preset, periods.clock(console))
    return r.end.year, r.end.isoformat()
