"""``/review`` — data review (数据审核) for the bureau's reviewers: the pre-check suggestions with confirm/dismiss,
a form to mark or restore a range, the XLSX round trip and the log. Forms post here (CSRF field ``csrf``) and go
through the same functions as ``/api/v1/review`` (:mod:`qingshan.web.data.review`)."""

from __future__ import annotations

from urllib.parse import quote

from fastapi import APIRouter, Depends, File, Form, Query, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from ...errors import QingshanError
from ...ledger.api import Ctx, get_ctx
from ...standards.pollutants import POLLUTANTS
from ...standards.review import ACTIONS, REASONS
from ..api.review import MAX_WORKBOOK_BYTES
from ..console import Console, get_console
from ..data import review as data
from . import periods
from .render import render
from .session import page_ctx, require_form_csrf

router = APIRouter(include_in_schema=False)


def _page(request: Request, console: Console, ctx: Ctx, period: str | None, station: str | None,
          message: str = "", error: str = "", status_code: int = 200, problems: list | None = None) -> HTMLResponse:
    try:
        sugg = data.suggestions(console, period or None, station or None)
    except QingshanError as e:  # a bad period typed into the filter: the page with the reason, default period
        error, status_code = str(e), 422
        sugg = data.suggestions(console, None, station or None)
    log = data.marks(console, station or None, 100)
    pc = periods.picker(console, sugg["period"]["start"], sugg["period"]["end"])
    return render(request, "review.html", ctx, active="review", title="数据审核", s=sugg, log=log, pc=pc,
                  query=f"period={quote(sugg['period']['label'])}&station={quote(station or '')}",
                  period=sugg["period"]["label"], station=station or "", reasons=REASONS, actions=ACTIONS,
                  pollutants=POLLUTANTS, message=message, error=error, problems=problems or [],
                  status_code=status_code)


@router.get("/review", response_class=HTMLResponse)
def review_page(request: Request, period: str | None = Query(None, max_length=40),
                station: str | None = Query(None, max_length=64), done: str | None = Query(None, max_length=200),
                preset: str | None = Query(None, max_length=20), start: str | None = Query(None, max_length=20),
                end: str | None = Query(None, max_length=20),
                console: Console = Depends(get_console), ctx: Ctx = Depends(get_ctx)) -> HTMLResponse:
    data.reviewer(ctx)
    return _page(request, console, ctx, periods.resolve(console, preset, start, end, period), station,
                 message=done or "")


def _back(period: str, station: str, message: str) -> RedirectResponse:
    url = f"/review?period={quote(period)}&station={quote(station)}&done={quote(message)}"
    return RedirectResponse(url, status_code=303)


@router.post("/review/mark")
def post_mark(request: Request, action: str = Form("invalidate"), station_code: str = Form(""),
              start: str = Form(""), end: str = Form(""), reason: str = Form(""), pollutants: list[str] = Form([]),
              note: str = Form(""), period: str = Form(""), station: str = Form(""), csrf: str = Form(""),
              console: Console = Depends(get_console), ctx: Ctx = Depends(page_ctx)) -> Response:
    require_form_csrf(console, ctx, csrf)
    by = data.reviewer(ctx)
    try:
        res = data.add_mark(console, by, "console", action, station_code, start, end, reason,
                            ",".join(pollutants) or None, note)
    except QingshanError as e:
        return _page(request, console, ctx, period, station, error=str(e), status_code=422)
    return _back(period, station, res["message"])


@router.post("/review/confirm")
def post_confirm(request: Request, key: str = Form(""), reason: str = Form(""), note: str = Form(""),
                 period: str = Form(""), station: str = Form(""), csrf: str = Form(""),
                 console: Console = Depends(get_console), ctx: Ctx = Depends(page_ctx)) -> Response:
    require_form_csrf(console, ctx, csrf)
    by = data.reviewer(ctx)
    try:
        res = data.confirm(console, by, "console", key, reason, note)
    except QingshanError as e:
        return _page(request, console, ctx, period, station, error=str(e), status_code=422)
    return _back(period, station, res["message"])


@router.post("/review/dismiss")
def post_dismiss(request: Request, key: str = Form(""), note: str = Form(""), period: str = Form(""),
                 station: str = Form(""), csrf: str = Form(""), console: Console = Depends(get_console),
                 ctx: Ctx = Depends(page_ctx)) -> Response:
    require_form_csrf(console, ctx, csrf)
    by = data.reviewer(ctx)
    try:
        res = data.dismiss(console, by, "console", key, note)
    except QingshanError as e:
        return _page(request, console, ctx, period, station, error=str(e), status_code=422)
    return _back(period, station, res["message"])


@router.post("/review/workbook")
async def post_workbook(request: Request, file: UploadFile = File(...), period: str = Form(""),
                        station: str = Form(""), csrf: str = Form(""), console: Console = Depends(get_console),
                        ctx: Ctx = Depends(page_ctx)) -> Response:
    from fastapi.concurrency import run_in_threadpool

    require_form_csrf(console, ctx, csrf)
    by = data.reviewer(ctx)
    content = await file.read(MAX_WORKBOOK_BYTES + 1)
    if len(content) > MAX_WORKBOOK_BYTES:
        return _page(request, console, ctx, period, station, status_code=422,
                     error=f"审核工作簿超过 {MAX_WORKBOOK_BYTES // (1024 * 1024)} MB")
    try:
        res = await run_in_threadpool(data.load_workbook, console, by, content)
    except QingshanError as e:
        return _page(request, console, ctx, period, station, error=str(e), status_code=422)
    return _page(request, console, ctx, period, station, message=res["summary"], problems=res["problems"])
