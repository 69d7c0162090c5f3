"""``/api/v1/jobs`` — imports and report builds running in the platform (``qingshan serve``; docs/deployment.md).

The job service is the platform's (:mod:`qingshan.platform.jobs`), put on ``app.state.jobs`` by ``qingshan
serve``; a console app built without it (tests, the stand-alone app) has no such routes (404), and answers 503
here only while the platform is starting or stopping.

Who may: bureau staff and administrators (the ledger roles ``bureau`` and ``admin``, who also import on the command
line), never the public — or the platform's **local token** (``<workspace>/platform.token``, readable only by the
account running the platform): ``qingshan import`` run by that account while the platform runs hands the paths of
its files to the internal ``POST /api/v1/jobs/imports/local`` (not in the OpenAPI schema; local token only) with
``Authorization: Bearer <local token>``, follows ``GET /api/v1/jobs/<id>`` and prints the job's report. The token
is not a ledger token; it gives the rights of the local operator (who can read the workspace's files anyway) on
these endpoints only. Uploads (multipart) are for signed-in users (the console's upload guard checks them before
reading the body).
"""

from __future__ import annotations

import hmac
from typing import Any, Optional, Protocol

from fastapi import APIRouter, Depends, File, Form, HTTPException, Query, Request, UploadFile
from fastapi.security import HTTPAuthorizationCredentials
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from ...ledger.api import API_PREFIX, bearer, get_ctx, get_session
from ..data.common import BadParameter, DataNotFound

router = APIRouter(prefix=f"{API_PREFIX}/jobs", tags=["任务"])

#: Largest file accepted for an import upload (bytes); the whole request is capped by the console's upload limit
#: too (5 × the ledger's attachment limit, docs/console.md). Larger files: ``qingshan import`` on the server.
MAX_IMPORT_BYTES = 100 * 1024 * 1024
LOCAL_OPERATOR = "本机命令行"


class JobService(Protocol):
    """What the platform's job queue offers the API (:class:`qingshan.platform.jobs.JobQueue`)."""

    token: str

    def import_kinds(self) -> list[dict[str, Any]]: ...
    def submit_import(self, kind: str, files: list[tuple[str, bytes]], options: dict[str, Any],
                      owner: str) -> dict[str, Any]: ...
    def submit_local_import(self, kind: str, paths: list[str], options: dict[str, Any],
                            owner: str) -> dict[str, Any]: ...
    async def backup(self, target: str | None, owner: str) -> dict[str, Any]: ...
    def submit_report(self, report: str, params: dict[str, Any], owner: str, public: bool) -> dict[str, Any]: ...
    def report_file(self, job: dict[str, Any]) -> Any: ...
    def get(self, job_id: str) -> dict[str, Any] | None: ...
    def list(self, kind: str | None = None, limit: int = 50) -> list[dict[str, Any]]: ...


def job_service(request: Request) -> JobService:
    svc = getattr(request.app.state, "jobs", None)
    if svc is None:
        raise HTTPException(503, "任务队列只在平台进程（qingshan serve）中运行")
    return svc


def job_caller(request: Request, session: Session = Depends(get_session),
               cred: Optional[HTTPAuthorizationCredentials] = Depends(bearer),
               svc: JobService = Depends(job_service)) -> str:
    """Who submits or reads jobs: the local operator (local token) or a signed-in bureau/admin user."""
    if cred is not None and hmac.compare_digest(cred.credentials.encode(), svc.token.encode()):
        return LOCAL_OPERATOR
    ctx = get_ctx(request, session, cred)
    if ctx.anonymous:
        raise HTTPException(401, "请先登录（导入数据须为生态环境局工作人员或管理员）",
                            headers={"WWW-Authenticate": "Bearer"})
    if not ctx.principal.is_supervisor:
        raise HTTPException(403, "只有生态环境局工作人员或管理员可以导入数据、查看任务")
    return ctx.principal.name


def public_job(job: dict[str, Any]) -> dict[str, Any]:
    """A job as the API shows it (uploaded files by their names, not the server's paths)."""
    params = dict(job.get("params") or {})
    if "files" in params:
        params["files"] = params.pop("names", None) or [p.rsplit("/", 1)[-1] for p in params["files"]]
        params.pop("labels", None)
    out = {k: (params if k == "params" else v) for k, v in job.items()}
    result = out.get("result")
    if isinstance(result, dict) and isinstance(result.get("reports"), list):
        out["result"] = {**result, "reports": [{**r, "source": str(r.get("source", "")).rsplit("/", 1)[-1]}
                                               for r in result["reports"]]}
    return out


@router.get("/import-kinds", summary="可导入的数据类型")
def import_kinds(_: str = Depends(job_caller), svc: JobService = Depends(job_service)) -> list[dict[str, Any]]:
    return svc.import_kinds()


@router.post("/imports", status_code=202, summary="上传文件并排队导入（类型与选项同 qingshan import）")
async def submit_import(request: Request, kind: str = Form(..., max_length=32, description="导入类型，如 long、quotsoft"),
                        files: list[UploadFile] = File(...),
                        hour_beginning: Optional[bool] = Form(None, description="long：时间为时段开始"),
                        year: Optional[str] = Form(None, max_length=8, description="噪声：监测年度"),
                        who: str = Depends(job_caller), svc: JobService = Depends(job_service)) -> dict[str, Any]:
    from fastapi.concurrency import run_in_threadpool

    data: list[tuple[str, bytes]] = []
    for f in files:
        body = await f.read(MAX_IMPORT_BYTES + 1)
        if len(body) > MAX_IMPORT_BYTES:
            raise HTTPException(413, f"文件 {f.filename} 超过大小上限 {MAX_IMPORT_BYTES // (1024 * 1024)} MiB")
        data.append((f.filename or "upload", body))
    options = {"hour_beginning": hour_beginning or None, "year": year or None}
    try:
        job = await run_in_threadpool(svc.submit_import, kind, data, options, who)
    except ValueError as e:  # the job service's refusals (unknown kind, bad option) are ValueErrors
        raise BadParameter(str(e)) from None
    return public_job(job)


class LocalImport(BaseModel):
    kind: str = Field(..., max_length=32)
    files: list[str] = Field(..., min_length=1, max_length=10_000)
    hour_beginning: bool | None = None
    year: int | None = None


def local_operator(cred: Optional[HTTPAuthorizationCredentials] = Depends(bearer),
                   svc: JobService = Depends(job_service)) -> str:
    if cred is None or not hmac.compare_digest(cred.credentials.encode(), svc.token.encode()):
        raise HTTPException(401, "此接口只接受平台的本机令牌（platform.token）", headers={"WWW-Authenticate": "Bearer"})
    return LOCAL_OPERATOR


@router.post("/imports/local", status_code=202, include_in_schema=False)
def submit_local_import(body: LocalImport, who: str = Depends(local_operator),
                        svc: JobService = Depends(job_service)) -> dict[str, Any]:
    """Internal: ``qingshan import`` run by the platform's account hands over the paths of its files (local token
    only; the platform copies them into the job's upload folder before answering)."""
    try:
        job = svc.submit_local_import(body.kind, body.files, {"hour_beginning": body.hour_beginning,
                                                              "year": body.year}, who)
    except ValueError as e:
        raise BadParameter(str(e)) from None
    return public_job(job)


class LocalBackup(BaseModel):
    target: str | None = Field(None, max_length=4096)


@router.post("/backup/local", include_in_schema=False)
async def backup_local(body: LocalBackup, who: str = Depends(local_operator),
                       svc: JobService = Depends(job_service)) -> dict[str, Any]:
    """Internal: ``qingshan backup`` while the platform runs (local token only): export the store between two
    writes and answer when done."""
    try:
        return public_job(await svc.backup(body.target, who))
    except ValueError as e:
        raise BadParameter(str(e)) from None


@router.get("", summary="任务列表（导入、定时任务、备份、报告生成）")
def list_jobs(kind: Optional[str] = Query(None, pattern="^(import|scheduled|backup|report)$"),
              limit: int = Query(50, ge=1, le=500), _: str = Depends(job_caller),
              svc: JobService = Depends(job_service)) -> list[dict[str, Any]]:
    return [public_job(j) for j in svc.list(kind, limit)]


@router.get("/{job_id}", summary="任务状态：进度与导入报告（含隔离数据）")
def get_job(job_id: str, _: str = Depends(job_caller), svc: JobService = Depends(job_service)) -> dict[str, Any]:
    job = svc.get(job_id)
    if job is None:
        raise DataNotFound(f"没有任务 {job_id}")
    return public_job(job)
