"""REST API of command and dispatch (指挥调度): ``/api/v1/ledger/events/...`` (docs/ledger.md#指挥调度).

Same style, authentication and errors as :mod:`.api` (bearer token or console cookie + CSRF header); every step is
a :class:`.service.LedgerService` call, so the workflow, the RBAC scopes (a unit sees only the events dispatched
to it; the public none) and the audit log hold exactly as in the service.
"""

from __future__ import annotations

from typing import Any, Optional

from fastapi import APIRouter, Depends, File, Form, Query, Request, UploadFile

from . import views
from .api import API_PREFIX, Ctx, LedgerRoute, _read_files, get_ctx
from .bodies import AlarmBody, CreateEvent, DispatchBody, NoteBody, Offset, ReasonBody, RecordId, ToCaseBody
from .limits import TEXT_MAX
from .models import Event
from .rbac import NotFound, PermissionDenied
from .workflow import EVENT

dispatch_router = APIRouter(prefix=f"{API_PREFIX}/ledger/events", tags=["指挥调度"], route_class=LedgerRoute)


def _event(ctx: Ctx, event_id: int) -> Event:
    rec = ctx.svc.get(event_id)
    if not isinstance(rec, Event):
        raise NotFound(f"调度事件 {event_id} 不存在或无权查看")
    return rec


def _out(ctx: Ctx, rec: Any) -> dict[str, Any]:
    return views.detail(ctx.svc, rec)


@dispatch_router.get("", summary="调度事件列表（按状态、承办单位、类别、超期筛选）")
def list_events(ctx: Ctx = Depends(get_ctx), state: Optional[list[str]] = Query(None),
                unit: Optional[str] = Query(None, max_length=200, description="承办单位 id、编码或名称"),
                kind: Optional[str] = Query(None, max_length=32, description="quality|violation|emergency|petition"),
                overdue: Optional[bool] = None, limit: int = Query(100, ge=1, le=1000),
                offset: Offset = 0) -> dict[str, Any]:
    total, rows = ctx.svc.list_events(state=state, unit=unit, event_kind=kind, overdue=overdue, limit=limit,
                                      offset=offset)
    return {"total": total, "limit": limit, "offset": offset, "items": [views.summary(ctx.svc, r) for r in rows]}


@dispatch_router.get("/todo", summary="我的待办（本单位待办事件，期限最早在前）")
def todo(ctx: Ctx = Depends(get_ctx)) -> dict[str, Any]:
    rows = ctx.svc.my_todo()
    return {"total": len(rows), "items": [views.summary(ctx.svc, r) for r in rows]}


@dispatch_router.get("/stats", summary="调度统计（派发、按时反馈、超期、平均首次响应时间；按单位和月份）")
def stats(ctx: Ctx = Depends(get_ctx), month: Optional[str] = Query(None, pattern=r"^\d{4}-\d{2}$")) -> dict[str, Any]:
    if ctx.principal.is_public:
        raise PermissionDenied("公众不能查看调度统计")
    return ctx.svc.event_stats(month=month)


@dispatch_router.post("", status_code=201, summary="手工登记调度事件（局机关）")
def create(body: CreateEvent, ctx: Ctx = Depends(get_ctx)) -> dict[str, Any]:
    rec = ctx.svc.create_event(**body.fields.model_dump(exclude_unset=True))
    ctx.commit()
    return _out(ctx, rec)


@dispatch_router.post("/from-alarm", status_code=201, summary="由报警生成调度事件（证据随附，局机关）")
def from_alarm(body: AlarmBody, ctx: Ctx = Depends(get_ctx)) -> dict[str, Any]:
    alarm = body.model_dump(exclude_none=True)
    rec = ctx.svc.event_from_alarm(alarm)
    ctx.commit()
    return _out(ctx, rec)


@dispatch_router.post("/escalate", summary="超期升级（局机关；调度程序每小时执行）")
def escalate(ctx: Ctx = Depends(get_ctx)) -> dict[str, Any]:
    rows = ctx.svc.escalate_overdue()
    ctx.commit()
    return {"escalated": [{"id": e.id, "code": e.code, "level": e.level} for e in rows]}


@dispatch_router.get("/{event_id}", summary="调度事件详情（含时间线、证据、可执行操作）")
def get_event(event_id: RecordId, ctx: Ctx = Depends(get_ctx)) -> dict[str, Any]:
    return _out(ctx, _event(ctx, event_id))


@dispatch_router.post("/{event_id}/dispatch", summary="派发至承办单位（局机关；多个单位时指定主办单位）")
def dispatch(event_id: RecordId, body: DispatchBody, ctx: Ctx = Depends(get_ctx)) -> dict[str, Any]:
    _event(ctx, event_id)
    rec = ctx.svc.transition(event_id, "dispatch", {"unit_ids": body.unit_ids, "host_unit_id": body.host_unit_id,
                                                    "note": body.note})
    ctx.commit()
    return _out(ctx, rec)


@dispatch_router.post("/{event_id}/answer", summary="承办单位反馈办理情况（multipart：findings, files[]）")
async def answer(request: Request, event_id: RecordId, findings: str = Form(..., max_length=TEXT_MAX),
                 files: list[UploadFile] = File(default=[]), ctx: Ctx = Depends(get_ctx)) -> dict[str, Any]:
    rec = _event(ctx, event_id)
    ctx.svc._editable(event_id)  # refuse before reading the files — an assisting unit (协办) too: the answer is the host's
    if not ctx.svc.may_declare_whole(rec, EVENT.get("answer")):
        ctx.svc.check_whole(rec, EVENT.get("answer"))
    data = await _read_files(request, [f for f in files if f.filename])
    rec = ctx.svc.answer_event(event_id, findings, data)
    ctx.commit()
    return _out(ctx, rec)


@dispatch_router.post("/{event_id}/close", summary="核实办结（局机关）")
def close(event_id: RecordId, body: NoteBody, ctx: Ctx = Depends(get_ctx)) -> dict[str, Any]:
    _event(ctx, event_id)
    rec = ctx.svc.transition(event_id, "close", {"note": body.note})
    ctx.commit()
    return _out(ctx, rec)


@dispatch_router.post("/{event_id}/send-back", summary="退回重办（局机关，须说明理由）")
def send_back(event_id: RecordId, body: ReasonBody, ctx: Ctx = Depends(get_ctx)) -> dict[str, Any]:
    _event(ctx, event_id)
    rec = ctx.svc.transition(event_id, "send_back", {"reason": body.reason})
    ctx.commit()
    return _out(ctx, rec)


@dispatch_router.post("/{event_id}/to-case", status_code=201, summary="环境违法线索转立案查处（证据随案移交）")
def to_case(event_id: RecordId, body: ToCaseBody, ctx: Ctx = Depends(get_ctx)) -> dict[str, Any]:
    _event(ctx, event_id)
    case = ctx.svc.event_to_case(event_id, **body.model_dump())
    ctx.commit()
    return {"event": _out(ctx, ctx.svc.get(event_id)), "case": views.detail(ctx.svc, case)}


@dispatch_router.post("/{event_id}/cancel", summary="撤销（无需处置，局机关）")
def cancel(event_id: RecordId, body: ReasonBody, ctx: Ctx = Depends(get_ctx)) -> dict[str, Any]:
    _event(ctx, event_id)
    rec = ctx.svc.transition(event_id, "cancel", {"reason": body.reason})
    ctx.commit()
    return _out(ctx, rec)


__all__ = ["dispatch_router"]
