"""REST API of the ledger: ``/api/v1/ledger/...`` and ``/api/v1/auth/...`` (docs/ledger.md#api).

Authentication: ``POST /api/v1/auth/token`` with ``username`` and ``password`` (form or JSON) returns a bearer
token; send it as ``Authorization: Bearer <token>``. A browser signed in through the console (qingshan.web) sends
the same kind of token in the HttpOnly cookie ``qs_session`` instead; a cookie-authenticated request with an unsafe
method must also carry ``X-CSRF-Token`` (checked by ``app.state.csrf_verify``; without a verifier such requests
are refused). A bearer header wins over the cookie; an unknown or expired cookie is ignored (the caller is the
public). Without a token the caller is the public and sees only disclosed records. Every endpoint goes through
:class:`.service.LedgerService`, so the permission rules of :mod:`.rbac` hold here exactly as in the CLI: a
department cannot change another unit's record through any endpoint (tests enumerate every mutating route to
prove it).

Errors: 401 (no or bad token where one is needed), 403 (not allowed), 404 (absent or not visible), 409 (workflow
or version conflict, a name already taken), 413 (file too large), 415/422 (bad file type, bad input). Messages are
in Chinese. Request bodies are typed (:mod:`.bodies`): a malformed one gets 422 naming the field, from the routers'
own route class, so the message is the same in the ledger app and in the console.
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Optional, TypeVar
from urllib.parse import quote

from fastapi import APIRouter, Depends, File, Form, HTTPException, Query, Request, UploadFile
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.routing import APIRoute
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import select
from sqlalchemy.exc import DataError, IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from . import auth, views
from .audit import AuditImmutable
from .bodies import (
    CreateBody,
    EnterprisesBody,
    FineBody,
    IndicatorValueBody,
    MilestoneBody,
    Offset,
    PartBody,
    PartWithdrawBody,
    PasswordBody,
    PatchBody,
    RecheckBody,
    RecordId,
    StageBody,
    SubId,
    TransferBody,
    TransitionBody,
    UserBody,
    validation_message,
)
from .db import Ledger
from .files import FileStore, UploadRejected
from .fines import Recheck, daily_fine
from .limits import TEXT_MAX
from .models import KIND_LABELS, CampaignEnterprise, Indicator, Milestone, OrgUnit, User
from .rbac import LedgerError, NotFound, PermissionDenied, Principal
from .service import AlreadyExists, LedgerService, ValidationFailed, VersionConflict, WorkflowError
from .throttle import THROTTLED, client_address
from .xlsx import XlsxError, export_workbook, import_xlsx

_Part = TypeVar("_Part", Indicator, Milestone, CampaignEnterprise)

API_PREFIX = "/api/v1"
bearer = HTTPBearer(auto_error=False, description="POST /api/v1/auth/token 取得的令牌")



class LedgerRoute(APIRoute):
    """A route whose malformed requests get the ledger's Chinese 422 (:func:`.bodies.validation_message`)."""

    def get_route_handler(self) -> Any:
        handler = super().get_route_handler()

        async def run(request: Request) -> Response:
            try:
                return await handler(request)
            except RequestValidationError as exc:
                return JSONResponse({"detail": validation_message(exc)}, status_code=422)

        return run


auth_router = APIRouter(prefix=f"{API_PREFIX}/auth", tags=["认证"], route_class=LedgerRoute)
router = APIRouter(prefix=f"{API_PREFIX}/ledger", tags=["治理台账"], route_class=LedgerRoute)

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


SESSION_COOKIE = "qs_session"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


@dataclass
class Ctx:
    """One request's session, principal and service (``cookie_token``: the session token when the caller was
    authenticated by the console's cookie rather than a bearer header)."""

    session: Session
    principal: Principal
    anonymous: bool
    svc: LedgerService
    cookie_token: Optional[str] = None

    def commit(self) -> None:
        self.session.commit()


def _ledger(request: Request) -> Ledger:
    return request.app.state.ledger


def get_session(request: Request) -> Iterator[Session]:
    s = _ledger(request).sessionmaker()
    try:
        yield s
    finally:
        s.rollback()
        s.close()


def resolve_ctx(request: Request, session: Session, cred: Optional[HTTPAuthorizationCredentials]) -> Ctx:
    """The caller from the bearer header, else from the session cookie, else the public (no CSRF check)."""
    principal, anonymous, cookie_token = Principal.public(), True, None
    if cred is not None:
        user = auth.user_for_token(session, cred.credentials)
        if user is None:
            raise HTTPException(401, "令牌无效或已过期", headers={"WWW-Authenticate": "Bearer"})
        principal, anonymous = Principal.of(user), False
    elif (cookie := request.cookies.get(SESSION_COOKIE)) and (user := auth.user_for_token(session, cookie)):
        principal, anonymous, cookie_token = Principal.of(user), False, cookie
    request.state.anonymous = anonymous
    state = request.app.state
    svc = LedgerService(session, principal, files=state.files, today=state.today)
    return Ctx(session, principal, anonymous, svc, cookie_token)


def get_ctx(request: Request, session: Session = Depends(get_session),
            cred: Optional[HTTPAuthorizationCredentials] = Depends(bearer)) -> Ctx:
    ctx = resolve_ctx(request, session, cred)
    if ctx.cookie_token is not None and request.method not in SAFE_METHODS:
        verify = getattr(request.app.state, "csrf_verify", None)
        if verify is None or not verify(ctx.cookie_token, request.headers.get(CSRF_HEADER)):
            raise HTTPException(403, f"通过 Cookie 登录的写操作须携带有效的 {CSRF_HEADER} 请求头（CSRF 校验失败）")
    return ctx


def install_error_handlers(app: Any) -> None:
    """Map the ledger's exceptions to HTTP statuses (messages stay in Chinese)."""

    def handler(status: int):
        async def _h(request: Request, exc: Exception) -> JSONResponse:
            code = status
            headers = None
            if isinstance(exc, PermissionDenied) and getattr(request.state, "anonymous", False):
                code, headers = 401, {"WWW-Authenticate": "Bearer"}
            if isinstance(exc, UploadRejected):
                code = 413 if "大小" in str(exc) else 415
            return JSONResponse({"detail": str(exc)}, status_code=code, headers=headers)
        return _h

    app.add_exception_handler(PermissionDenied, handler(403))
    app.add_exception_handler(NotFound, handler(404))
    app.add_exception_handler(WorkflowError, handler(409))
    app.add_exception_handler(VersionConflict, handler(409))
    app.add_exception_handler(AlreadyExists, handler(409))
    app.add_exception_handler(AuditImmutable, handler(403))
    app.add_exception_handler(UploadRejected, handler(415))
    app.add_exception_handler(ValidationFailed, handler(422))
    app.add_exception_handler(XlsxError, handler(422))
    app.add_exception_handler(LedgerError, handler(400))

    async def stale(request: Request, exc: Exception) -> JSONResponse:
        return JSONResponse({"detail": "记录已被他人同时修改，请刷新后重试"}, status_code=409)

    app.add_exception_handler(StaleDataError, stale)

    async def integrity(request: Request, exc: Exception) -> JSONResponse:
        # the service checks references and required fields first; this is the database's last word
        kind = _integrity_kind(exc)
        if kind == "foreign_key":
            return JSONResponse({"detail": "引用的单位、用户或记录不存在"}, status_code=422)
        if kind == "not_null":
            return JSONResponse({"detail": "缺少必填字段"}, status_code=422)
        return JSONResponse({"detail": "与已有记录冲突（编号或名称重复）"}, status_code=409)

    async def data_error(request: Request, exc: Exception) -> JSONResponse:
        return JSONResponse({"detail": "数值或文本超出字段允许的范围"}, status_code=422)

    app.add_exception_handler(IntegrityError, integrity)
    app.add_exception_handler(DataError, data_error)


def _integrity_kind(exc: Exception) -> str:
    """'foreign_key', 'not_null' or 'unique' for an IntegrityError of SQLite or PostgreSQL."""
    orig = getattr(exc, "orig", None)
    state = getattr(orig, "sqlstate", None)
    text = str(orig or exc).upper()
    if state == "23503" or "FOREIGN KEY" in text:
        return "foreign_key"
    if state == "23502" or "NOT NULL" in text:
        return "not_null"
    return "unique"


# --- auth --------------------------------------------------------------------------------------------------


@auth_router.post(
    "/token",
    summary="用户名密码换取访问令牌",
    openapi_extra={"requestBody": {"required": True, "content": {
        "application/x-www-form-urlencoded": {"schema": {"type": "object", "required": ["username", "password"],
                                                         "properties": {"username": {"type": "string"},
                                                                        "password": {"type": "string"}}}},
        "application/json": {"schema": {"type": "object", "required": ["username", "password"],
                                        "properties": {"username": {"type": "string"},
                                                       "password": {"type": "string"}}}}}}},
)
async def token(request: Request, session: Session = Depends(get_session)) -> dict[str, Any]:
    ctype = request.headers.get("content-type", "")
    if ctype.startswith("application/json"):
        try:
            body = await request.json()
        except (ValueError, RecursionError):
            raise HTTPException(422, "请求体不是有效的 JSON") from None
    else:
        body = dict(await request.form())
    if not isinstance(body, dict):
        raise HTTPException(422, "请求体应为含 username 和 password 的对象")
    username, password = body.get("username"), body.get("password")
    if not isinstance(username, str) or not isinstance(password, str) or not username or not password:
        raise HTTPException(422, "需要 username 和 password（文本）")
    if len(username) > 64 or len(password) > auth.MAX_PASSWORD_LENGTH:
        raise HTTPException(422, "用户名或密码过长")
    throttle, address = request.app.state.login_throttle, client_address(request)
    if (wait := throttle.retry_after(username, address)) is not None:
        raise HTTPException(429, THROTTLED.format(seconds=wait), headers={"Retry-After": str(wait)})
    user = auth.authenticate(session, username, password)
    if user is None:
        session.commit()
        throttle.failed(username, address)
        raise HTTPException(401, "用户名或密码错误", headers={"WWW-Authenticate": "Bearer"})
    throttle.succeeded(username, address)
    tok, expires = auth.issue_token(session, user)
    session.commit()
    return {"access_token": tok, "token_type": "bearer", "expires_at": expires.isoformat(),
            "user": _user(user)}


@auth_router.post("/logout", summary="注销当前令牌")
def logout(ctx: Ctx = Depends(get_ctx), cred: Optional[HTTPAuthorizationCredentials] = Depends(bearer)) -> dict:
    if cred is None:
        raise HTTPException(401, "未登录", headers={"WWW-Authenticate": "Bearer"})
    auth.revoke_token(ctx.session, cred.credentials)
    ctx.commit()
    return {"ok": True}


@auth_router.get("/me", summary="当前用户")
def me(ctx: Ctx = Depends(get_ctx)) -> dict[str, Any]:
    p = ctx.principal
    return {"role": p.role, "name": p.name, "user_id": p.user_id, "unit_id": p.unit_id, "district_id": p.district_id,
            "anonymous": ctx.anonymous}


@auth_router.post("/password", summary="修改自己的密码（其他会话和令牌随之失效）")
def change_password(body: PasswordBody, request: Request, ctx: Ctx = Depends(get_ctx),
                    cred: Optional[HTTPAuthorizationCredentials] = Depends(bearer)) -> dict[str, Any]:
    if ctx.anonymous or ctx.principal.user_id is None:
        raise HTTPException(401, "未登录", headers={"WWW-Authenticate": "Bearer"})
    current_token = cred.credentials if cred is not None else ctx.cookie_token
    revoked = change_own_password(request, ctx, body.current_password, body.new_password, current_token)
    return {"ok": True, "revoked_sessions": revoked}


def change_own_password(request: Request, ctx: Ctx, current: str, new: str, keep_token: Optional[str]) -> int:
    """Change the caller's password (API and console page): wrong current passwords count towards the sign-in
    throttle of the account, as at the login form; commits on success."""
    user = ctx.session.get(User, ctx.principal.user_id)
    name = user.username if user is not None else ""
    throttle, address = request.app.state.login_throttle, client_address(request)
    if (wait := throttle.retry_after(name, address)) is not None:
        raise HTTPException(429, THROTTLED.format(seconds=wait), headers={"Retry-After": str(wait)})
    try:
        revoked = ctx.svc.change_own_password(current, new, keep_token=keep_token)
    except PermissionDenied:
        throttle.failed(name, address)
        raise
    ctx.commit()
    return revoked


def _user(u: Any) -> dict[str, Any]:
    return {"id": u.id, "username": u.username, "display_name": u.display_name, "role": u.role,
            "unit": u.unit.name if u.unit else None, "active": u.active}


# --- records -----------------------------------------------------------------------------------------------


@router.get("/items", summary="台账列表（按类型、单位、状态、逾期、临期、时限区间筛选）")
def list_items(
    ctx: Ctx = Depends(get_ctx),
    kind: Optional[str] = Query(None, description="rectification|key_task|project|campaign|petition|case"),
    unit: Optional[str] = Query(None, max_length=200, description="单位 id、编码或名称"),
    unit_role: Optional[str] = Query(None, description="responsible|cooperating"),
    status: Optional[list[str]] = Query(None),
    overdue: Optional[bool] = None,
    at_risk: Optional[bool] = None,
    deadline_from: Optional[dt.date] = None,
    deadline_to: Optional[dt.date] = None,
    district: Optional[str] = Query(None, max_length=200),
    q: Optional[str] = Query(None, max_length=200),
    limit: int = Query(100, ge=1, le=1000),
    offset: Offset = 0,
) -> dict[str, Any]:
    page = ctx.svc.list_records(kind=kind, unit=unit, unit_role=unit_role, status=status, overdue=overdue,
                                at_risk=at_risk, deadline_from=deadline_from, deadline_to=deadline_to,
                                district=district, q=q, limit=limit, offset=offset)
    states = ctx.svc.deadline_states(page.items)
    return {"total": page.total, "limit": limit, "offset": offset,
            "items": [views.summary(ctx.svc, r, states[r.id]) for r in page.items]}


_CREATORS = {"rectification": "create_rectification", "key_task": "create_key_task", "project": "create_project",
             "campaign": "create_campaign", "petition": "create_petition", "case": "create_case",
             "event": "create_event"}


@router.post("/items", status_code=201, summary="新建台账记录（局机关）")
def create_item(body: CreateBody, ctx: Ctx = Depends(get_ctx)) -> dict[str, Any]:
    fields = body.fields.model_dump(exclude_unset=True)
    for name in ("indicators", "milestones"):
        if name in fields:  # the service takes plain dicts
            fields[name] = [dict(x) for x in fields[name]]
    rec = getattr(ctx.svc, _CREATORS[body.kind])(**fields)
    ctx.commit()
    return views.detail(ctx.svc, rec)


@router.get("/items/{record_id}", summary="台账详情（含时间线）")
def get_item(record_id: RecordId, ctx: Ctx = Depends(get_ctx)) -> dict[str, Any]:
    return views.detail(ctx.svc, ctx.svc.get(record_id))


@router.patch("/items/{record_id}", summary="修改字段（按角色限制可改字段）")
def patch_item(record_id: RecordId, body: PatchBody, ctx: Ctx = Depends(get_ctx)) -> dict[str, Any]:
    rec = ctx.svc.update_record(record_id, body.changes, expected_version=body.expected_version, note=body.note)
    ctx.commit()
    return views.detail(ctx.svc, rec)


@router.get("/items/{record_id}/timeline", summary="时间线")
def timeline(record_id: RecordId, ctx: Ctx = Depends(get_ctx)) -> list[dict[str, Any]]:
    return ctx.svc.timeline(record_id)


async def _read_files(request: Request, files: list[UploadFile]) -> list[tuple[str, bytes]]:
    store: FileStore = request.app.state.files
    out = []
    for f in files:
        data = await f.read(store.max_bytes + 1)
        if len(data) > store.max_bytes:
            raise UploadRejected(f"文件 {f.filename} 超过大小上限 {store.max_bytes // (1024 * 1024)} MiB")
        out.append((f.filename or "file", data))
    return out


@router.post("/items/{record_id}/progress", status_code=201, summary="报送进展（可附文件）")
async def add_progress(request: Request, record_id: RecordId, text: str = Form(..., max_length=TEXT_MAX),
                       entry_date: Optional[dt.date] = Form(None), files: list[UploadFile] = File(default=[]),
                       ctx: Ctx = Depends(get_ctx)) -> dict[str, Any]:
    ctx.svc._editable(record_id)
    data = await _read_files(request, files)
    entry = ctx.svc.add_progress(record_id, text, entry_date=entry_date, files=data)
    ctx.commit()
    return {"id": entry.id, "entry_date": entry.entry_date.isoformat(), "text": entry.text,
            "attachments": [{"id": a.id, "filename": a.filename, "size": a.size} for a in entry.attachments]}


@router.post("/items/{record_id}/attachments", status_code=201, summary="上传证明材料")
async def add_attachments(request: Request, record_id: RecordId, purpose: str = Form("evidence", max_length=16),
                          files: list[UploadFile] = File(...), ctx: Ctx = Depends(get_ctx)) -> list[dict[str, Any]]:
    ctx.svc._editable(record_id)
    data = await _read_files(request, files)
    atts = ctx.svc.attach(record_id, data, purpose)
    ctx.commit()
    return [{"id": a.id, "filename": a.filename, "size": a.size, "purpose": a.purpose} for a in atts]


@router.get("/items/{record_id}/attachments/{attachment_id}", summary="下载附件")
def download(record_id: RecordId, attachment_id: SubId, request: Request, ctx: Ctx = Depends(get_ctx)) -> Response:
    att = ctx.svc.attachment(record_id, attachment_id)
    data = request.app.state.files.read(att.storage_key)
    return Response(data, media_type=att.content_type, headers={
        "Content-Disposition": f"attachment; filename*=UTF-8''{quote(att.filename)}",
        "X-Content-Type-Options": "nosniff", "Cache-Control": "private, no-store"})


@router.get("/items/{record_id}/transitions", summary="当前用户可执行的流转")
def transitions(record_id: RecordId, ctx: Ctx = Depends(get_ctx)) -> list[dict[str, Any]]:
    return [{"name": t.name, "label": t.label, "target": t.target, "requires": list(t.requires)}
            for t in ctx.svc.allowed_transitions(record_id)]


@router.post("/items/{record_id}/transitions", summary="执行流转（状态机）")
def do_transition(record_id: RecordId, body: TransitionBody, ctx: Ctx = Depends(get_ctx)) -> dict[str, Any]:
    rec = ctx.svc.transition(record_id, body.name, body.payload)
    ctx.commit()
    return views.detail(ctx.svc, rec)


@router.post("/items/{record_id}/parts", status_code=201, summary="报送本单位完成情况（分工完成情况）")
def report_part(record_id: RecordId, body: PartBody, ctx: Ctx = Depends(get_ctx)) -> dict[str, Any]:
    rec = ctx.svc.get(record_id)
    ctx.svc.report_part(record_id, body.note, unit=body.unit, on=body.on)
    ctx.commit()
    return views.detail(ctx.svc, rec)


@router.post("/items/{record_id}/parts/withdraw", summary="撤回单位完成情况（本单位或局机关退回）")
def withdraw_part(record_id: RecordId, body: PartWithdrawBody, ctx: Ctx = Depends(get_ctx)) -> dict[str, Any]:
    rec = ctx.svc.get(record_id)
    ctx.svc.withdraw_part(record_id, body.reason, unit=body.unit)
    ctx.commit()
    return views.detail(ctx.svc, rec)


def _part_of(ctx: Ctx, record_id: int, model: type[_Part], part_id: int, parent_key: str, what: str) -> _Part:
    """A row (indicator, milestone, enterprise) of a record the caller may see; the path's two ids must match."""
    ctx.svc.get(record_id)
    row = ctx.session.get(model, part_id)
    if row is None or getattr(row, parent_key) != record_id:
        raise NotFound(f"{what}不存在")
    return row


@router.post("/items/{record_id}/indicators/{indicator_id}/values", status_code=201, summary="填报指标完成值")
def indicator_value(record_id: RecordId, indicator_id: SubId, body: IndicatorValueBody,
                    ctx: Ctx = Depends(get_ctx)) -> dict[str, Any]:
    _part_of(ctx, record_id, Indicator, indicator_id, "task_id", "指标")
    v = ctx.svc.record_indicator_value(indicator_id, body.value, as_of=body.as_of, note=body.note)
    ctx.commit()
    return {"id": v.id, "as_of": v.as_of.isoformat(), "value": str(v.value)}


@router.patch("/items/{record_id}/milestones/{milestone_id}", summary="登记节点完成")
def milestone(record_id: RecordId, milestone_id: SubId, body: MilestoneBody, ctx: Ctx = Depends(get_ctx)) -> dict[str, Any]:
    ms = _part_of(ctx, record_id, Milestone, milestone_id, "project_id", "节点")
    ctx.svc.set_milestone_done(milestone_id, body.done_date)
    ctx.commit()
    return {"id": ms.id, "name": ms.name, "done_date": ms.done_date.isoformat() if ms.done_date else None}


@router.get("/items/{record_id}/enterprises", summary="专项整治企业")
def enterprises(record_id: RecordId, stage: Optional[str] = Query(None, max_length=32),
                limit: int = Query(200, ge=1, le=5000), offset: Offset = 0, ctx: Ctx = Depends(get_ctx)) -> dict[str, Any]:
    camp = ctx.svc.get(record_id)
    if ctx.principal.is_public:
        return {"rates": ctx.svc.campaign_rates(camp.id), "items": []}
    stmt = select(CampaignEnterprise).where(CampaignEnterprise.campaign_id == camp.id)
    if stage:
        stmt = stmt.where(CampaignEnterprise.stage == stage)
    if ctx.principal.role == "district":
        stmt = stmt.where(CampaignEnterprise.district_id == ctx.principal.district_id)
    rows = ctx.session.execute(stmt.order_by(CampaignEnterprise.id).limit(limit).offset(offset)).scalars().all()
    return {"rates": ctx.svc.campaign_rates(camp.id),
            "items": [{"id": e.id, "name": e.name, "stage": e.stage, "district_id": e.district_id,
                       "stage_note": e.stage_note} for e in rows]}


@router.post("/items/{record_id}/enterprises", status_code=201, summary="登记专项整治企业（局机关）")
def add_enterprises(record_id: RecordId, body: EnterprisesBody, ctx: Ctx = Depends(get_ctx)) -> dict[str, Any]:
    n = ctx.svc.add_enterprises(record_id, [e.model_dump(exclude_unset=True) for e in body.enterprises])
    ctx.commit()
    return {"added": n}


@router.patch("/items/{record_id}/enterprises/{enterprise_id}", summary="推进企业整治阶段")
def enterprise_stage(record_id: RecordId, enterprise_id: SubId, body: StageBody, ctx: Ctx = Depends(get_ctx)) -> dict:
    ent = _part_of(ctx, record_id, CampaignEnterprise, enterprise_id, "campaign_id", "企业")
    ctx.svc.set_enterprise_stage(enterprise_id, body.stage, body.note)
    ctx.commit()
    return {"id": ent.id, "stage": ent.stage}


@router.post("/items/{record_id}/transfer", summary="移送公安机关（局机关）")
def transfer(record_id: RecordId, body: TransferBody, ctx: Ctx = Depends(get_ctx)) -> dict[str, Any]:
    rec = ctx.svc.transfer_case(record_id, body.ref, body.on)
    ctx.commit()
    return views.detail(ctx.svc, rec)


@router.post("/items/{record_id}/rechecks", status_code=201, summary="登记复查结果")
def recheck(record_id: RecordId, body: RecheckBody, ctx: Ctx = Depends(get_ctx)) -> dict[str, Any]:
    rc = ctx.svc.add_recheck(record_id, body.on, body.violation_continues, body.note)
    ctx.commit()
    return {"id": rc.id, "recheck_on": rc.recheck_on.isoformat(), "violation_continues": rc.violation_continues}


def _fine_view(f: Any) -> dict[str, Any]:
    return {"days": f.days, "daily_amount": str(f.daily_amount), "amount": str(f.amount),
            "start": f.start.isoformat() if f.start else None, "end": f.end.isoformat() if f.end else None,
            "notes": f.notes}


@router.get("/items/{record_id}/daily-fine", summary="按日连续处罚计算")
def case_daily_fine(record_id: RecordId, ctx: Ctx = Depends(get_ctx)) -> dict[str, Any]:
    return _fine_view(ctx.svc.daily_fine(record_id))


@router.post("/tools/daily-fine", summary="按日连续处罚计算器（不写入台账）")
def daily_fine_tool(body: FineBody) -> dict[str, Any]:
    try:
        f = daily_fine(body.original_fine, body.order_served_on,
                       [Recheck(r.on, r.violation_continues) for r in body.rechecks], body.stop_measure_on)
    except (ValueError, ArithmeticError) as e:
        raise ValidationFailed(f"参数有误：{e}") from None
    return _fine_view(f)


# --- statistics, audit, units, users -----------------------------------------------------------------------


@router.get("/stats", summary="统计（按状态/单位/时限月份、完成率、逾期清单）")
def stats(ctx: Ctx = Depends(get_ctx)) -> dict[str, Any]:
    return ctx.svc.stats()


@router.get("/audit", summary="审计日志（局机关、管理员）")
def audit_log(record_id: Optional[int] = Query(None, ge=1, le=2**31 - 1), limit: int = Query(200, ge=1, le=2000),
              offset: Offset = 0,
              ctx: Ctx = Depends(get_ctx)) -> list[dict[str, Any]]:
    return [{"id": e.id, "at": e.at.isoformat(), "actor": e.actor_name, "role": e.actor_role, "action": e.action,
             "entity_type": e.entity_type, "entity_id": e.entity_id, "record_id": e.record_id,
             "record_version": e.record_version, "before": e.before, "after": e.after, "note": e.note,
             "hash": e.hash} for e in ctx.svc.audit_entries(record_id=record_id, limit=limit, offset=offset)]


@router.get("/units", summary="单位")
def units(ctx: Ctx = Depends(get_ctx)) -> list[dict[str, Any]]:
    return [{"id": u.id, "code": u.code, "name": u.name, "kind": u.kind, "district_id": u.district_id}
            for u in ctx.session.execute(select(OrgUnit).order_by(OrgUnit.id)).scalars()]


@router.post("/users", status_code=201, summary="添加用户（管理员）")
def add_user(body: UserBody, ctx: Ctx = Depends(get_ctx)) -> dict[str, Any]:
    u = ctx.svc.create_user(body.username, body.password, body.role, body.unit, body.display_name)
    ctx.commit()
    return _user(u)


@router.get("/users", summary="用户列表（管理员）")
def list_users(ctx: Ctx = Depends(get_ctx)) -> list[dict[str, Any]]:
    return [_user(u) for u in ctx.svc.users()]


# --- XLSX ----------------------------------------------------------------------------------------------------


@router.get("/export.xlsx", summary="导出 XLSX（public=true 为公开表）")
def export(public: bool = False, ctx: Ctx = Depends(get_ctx)) -> Response:
    buf = io.BytesIO()
    export_workbook(ctx.svc, public=public or ctx.principal.is_public).save(buf)
    name = "督察整改公开表.xlsx" if public or ctx.principal.is_public else "督察整改台账.xlsx"
    return Response(buf.getvalue(), media_type=XLSX_TYPE,
                    headers={"Content-Disposition": f"attachment; filename*=UTF-8''{quote(name)}"})


@router.post("/import", summary="导入 XLSX（重复导入按编号更新，报告冲突）")
async def import_sheet(request: Request, file: UploadFile = File(...), source: str = Form("", max_length=200),
                       dry_run: bool = Form(False), ctx: Ctx = Depends(get_ctx)) -> dict[str, Any]:
    if ctx.principal.is_public:
        raise PermissionDenied("公众不能导入台账")
    store: FileStore = request.app.state.files
    data = await file.read(store.max_bytes + 1)
    if len(data) > store.max_bytes:
        raise UploadRejected("导入文件超过大小上限")
    report = import_xlsx(ctx.svc, data, default_source=source)
    if dry_run:
        ctx.session.rollback()
    else:
        ctx.commit()
    return {**report.as_dict(), "dry_run": dry_run}


@router.get("/kinds", summary="记录类型与状态")
def kinds() -> dict[str, Any]:
    from .workflow import MACHINES

    return {k: {"label": KIND_LABELS[k], "states": m.states, "initial": m.initial, "done": sorted(m.done),
                "transitions": [{"name": t.name, "label": t.label, "from": list(t.sources), "to": t.target,
                                 "actor": t.actor, "requires": list(t.requires)} for t in m.transitions]}
            for k, m in MACHINES.items()}


__all__ = ["API_PREFIX", "CSRF_HEADER", "SESSION_COOKIE", "auth_router", "get_ctx", "install_error_handlers",
           "resolve_ctx", "router"]
