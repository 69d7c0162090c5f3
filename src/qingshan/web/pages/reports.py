"""``/reports`` — the published documents.

A plain console app (no platform) keeps its forms pointing at ``/api/v1/reports/...``: the browser waits for the
file. In the platform process (``qingshan serve``) a build is a job of the platform's queue
(:meth:`qingshan.platform.jobs.JobQueue.submit_report`): ``POST /reports/build`` records it and goes to
``/reports?job=<id>``, which shows its stage while ``/static/reports.js`` polls ``/reports/jobs/<id>/status``
(without JavaScript: the 刷新 button), then the download link ``/reports/jobs/<id>/file`` — or the builder's error
in Chinese. A build started by a signed-in user (it may hold figures only signed-in users see) is shown to
signed-in users only; a public build to whoever has its id (it holds public figures only).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Form, HTTPException, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, RedirectResponse, Response

from ...ledger.api import Ctx, get_ctx
from ..api.reports import REPORTS, download_headers, inspections
from ..console import Console, get_console
from ..data.common import cities
from .render import render
from .session import page_ctx, require_form_csrf

router = APIRouter(include_in_schema=False)
JOB_ID = Query(None, max_length=32, pattern="^[0-9a-f]{1,32}$")


def _jobs(request: Request) -> Any:
    return getattr(request.app.state, "jobs", None)


def _page(request: Request, console: Console, ctx: Ctx, job: dict[str, Any] | None = None, error: str = "",
          status_code: int = 200) -> HTMLResponse:
    state = console.store.state()
    today = state.today
    last_month = f"{today:%Y-%m}" if today else ""
    last_full_year = (today.year - 1) if today else None
    return render(request, "reports.html", ctx, active="reports", title="报告", cities=cities(console, state),
                  month=last_month, year=last_full_year, inspections=inspections(ctx),
                  as_of=ctx.svc.today.isoformat(), as_job=_jobs(request) is not None, job=job, error=error,
                  reports=REPORTS, status_code=status_code)


def _job(request: Request, ctx: Ctx, job_id: str) -> dict[str, Any]:
    """The report job ``job_id`` as the caller may see it (404 otherwise: its existence is not leaked)."""
    svc = _jobs(request)
    job = svc.get(job_id) if svc is not None else None
    if job is None or job["kind"] != "report" or (ctx.principal.is_public and not job["params"].get("public")):
        raise HTTPException(404, f"没有报告任务 {job_id}")
    return job


def _shown(job: dict[str, Any]) -> dict[str, Any]:
    """What the page and its poll show of a job (never the server's path of the file)."""
    result = job.get("result") or {}
    return {"id": job["id"], "report": job["name"], "title": REPORTS.get(job["name"], job["name"]),
            "state": job["state"], "progress": job.get("progress") or {}, "error": job.get("error"),
            "name": result.get("name"), "size": result.get("size"), "created": job["created"],
            "finished": job.get("finished"),
            "file": f"/reports/jobs/{job['id']}/file" if job["state"] == "done" else None}


@router.get("/reports", response_class=HTMLResponse)
def reports_page(request: Request, job: str | None = JOB_ID, console: Console = Depends(get_console),
                 ctx: Ctx = Depends(get_ctx)) -> HTMLResponse:
    return _page(request, console, ctx, _shown(_job(request, ctx, job)) if job else None)


@router.post("/reports/build")
async def build(request: Request, report: str = Form("", max_length=32), city: str = Form("", max_length=100),
                month: str = Form("", max_length=10), year: str = Form("", max_length=8),
                inspection: str = Form("", max_length=200), as_of: str = Form("", max_length=10),
                format: str = Form("docx", max_length=8), csrf: str = Form(""),
                console: Console = Depends(get_console), ctx: Ctx = Depends(page_ctx)) -> Response:
    """Start a build on the platform's job queue (a signed-in user's form carries its CSRF token)."""
    if not ctx.anonymous:
        require_form_csrf(console, ctx, csrf)
    svc = _jobs(request)
    if svc is None:
        raise HTTPException(503, "报告生成任务只在平台进程（qingshan serve）中运行；请使用页面上的下载表单")
    if report not in REPORTS:
        return _page(request, console, ctx, error=f"未知的报告类型 {report!r}", status_code=422)
    params = {"monthly": {"city": city, "month": month}, "bulletin": {"city": city, "year": year},
              "rectification": {"inspection": inspection, "as_of": as_of or ctx.svc.today.isoformat()}}[report]
    params["format"] = format
    owner = "公众" if ctx.principal.is_public else ctx.principal.name
    try:
        job = await run_in_threadpool(svc.submit_report, report, params, owner, ctx.principal.is_public)
    except ValueError as e:  # JobError: the queue is full or not running
        return _page(request, console, ctx, error=str(e), status_code=503)
    return RedirectResponse(f"/reports?job={job['id']}", status_code=303)


@router.get("/reports/jobs/{job_id}/status")
def job_status(request: Request, job_id: str, ctx: Ctx = Depends(get_ctx)) -> JSONResponse:
    return JSONResponse(_shown(_job(request, ctx, job_id)), headers={"Cache-Control": "no-store"})


@router.get("/reports/jobs/{job_id}/file")
def job_file(request: Request, job_id: str, ctx: Ctx = Depends(get_ctx)) -> Response:
    job = _job(request, ctx, job_id)
    path = _jobs(request).report_file(job)
    if path is None:
        raise HTTPException(404, "报告尚未生成完成，或文件已过保存期限（请重新生成）")
    result = job["result"]
    return FileResponse(path, media_type=result["media"],
                        headers={**download_headers(result["name"], result.get("log") or []),
                                 "Cache-Control": "no-store"})
