"""``/imports`` — bureau staff import a file from the browser: the same kinds and report as ``qingshan import``.

The form posts the file to ``POST /imports`` (CSRF in the hidden field); the file is handed to the platform's job
queue (:mod:`qingshan.web.api.jobs`) and the browser goes to ``/imports?job=<id>``, which shows the job's
progress and, once done, its import report with the quarantined rows. While the job runs, ``/static/imports.js``
polls ``/api/v1/jobs/<id>`` and reloads the page when it has finished (without JavaScript: the reload button).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, File, Form, HTTPException, Query, Request, UploadFile
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from ...ledger.api import Ctx, get_ctx
from ..api.jobs import MAX_IMPORT_BYTES, public_job
from ..console import Console, get_console
from .render import render
from .session import page_ctx, require_form_csrf

router = APIRouter(include_in_schema=False)


def _may_import(ctx: Ctx) -> None:
    if ctx.anonymous:
        raise HTTPException(401, "请先登录")
    if not ctx.principal.is_supervisor:
        raise HTTPException(403, "只有生态环境局工作人员或管理员可以导入数据")


def _service(request: Request) -> Any:
    svc = getattr(request.app.state, "jobs", None)
    if svc is None:
        raise HTTPException(503, "数据导入只在平台进程（qingshan serve）中提供")
    return svc


def _page(request: Request, ctx: Ctx, svc: Any, job: dict | None, error: str | None = None,
          status_code: int = 200) -> HTMLResponse:
    recent = [public_job(j) for j in svc.list("import", 10)]
    return render(request, "imports.html", ctx, active="imports", title="数据导入", status_code=status_code,
                  kinds=svc.import_kinds(), job=job, recent=recent, error=error)


@router.get("/imports", response_class=HTMLResponse)
def imports_page(request: Request, job: str | None = Query(None, max_length=32),
                 ctx: Ctx = Depends(get_ctx)) -> HTMLResponse:
    _may_import(ctx)
    svc = _service(request)
    shown = svc.get(job) if job else None
    if job and shown is None:
        raise HTTPException(404, f"没有任务 {job}")
    return _page(request, ctx, svc, public_job(shown) if shown else None)


@router.post("/imports")
async def post_import(request: Request, kind: str = Form("", max_length=32), csrf: str = Form(""),
                      files: list[UploadFile] = File(default=[]), hour_beginning: bool = Form(False),
                      year: str = Form("", max_length=8), console: Console = Depends(get_console),
                      ctx: Ctx = Depends(page_ctx)) -> Response:
    require_form_csrf(console, ctx, csrf)
    _may_import(ctx)
    svc = _service(request)
    chosen = [f for f in files if f.filename]
    if not chosen:
        return _page(request, ctx, svc, None, error="请选择要导入的文件", status_code=422)
    data: list[tuple[str, bytes]] = []
    for f in chosen:
        body = await f.read(MAX_IMPORT_BYTES + 1)
        if len(body) > MAX_IMPORT_BYTES:
            return _page(request, ctx, svc, None, status_code=413,
                         error=f"文件 {f.filename} 超过大小上限 {MAX_IMPORT_BYTES // (1024 * 1024)} MiB")
        data.append((f.filename or "upload", body))
    options = {"hour_beginning": hour_beginning or None, "year": year.strip() or None}
    try:
        job = await run_in_threadpool(svc.submit_import, kind, data, options, ctx.principal.name)
    except ValueError as e:
        return _page(request, ctx, svc, None, error=str(e), status_code=422)
    return RedirectResponse(f"/imports?job={job['id']}", status_code=303)
