"""``/dispatch`` pages of command and dispatch (指挥调度): the board (我的待办 first, then events by state and unit),
an event's page (facts, alarm evidence, files, timeline, the steps the caller may take — a step that finishes the
event (办结, 转立案查处, 撤销) asks for an explicit confirmation) and the statistics table.

Each page calls the functions behind ``/api/v1/ledger/events`` (:mod:`qingshan.ledger.dispatch_api`) or the
service with the caller's context, so the permission rules hold exactly as in the API: a unit sees only the events
dispatched to it, the public none.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.datastructures import UploadFile  # what request.form() yields (FastAPI's is a subclass)

from ...ledger import dispatch_api
from ...ledger.api import Ctx, get_ctx
from ...ledger.event_rules import DEADLINES
from ...ledger.models import EVENT_KIND_LABELS, EVENT_LEVEL_LABELS
from ...ledger.rbac import LedgerError, NotFound, PermissionDenied
from ...ledger.service import EVIDENCE_LABELS, ValidationFailed, finishes
from ...ledger.workflow import EVENT
from ..console import Console, get_console
from .render import render
from .session import page_ctx, require_form_csrf

router = APIRouter(include_in_schema=False)
PAGE_SIZE = 100
#: evidence fields entered as several lines
LONG = {"findings", "reason", "note", "violation", "legal_basis"}
#: what the caller confirms before a step that finishes an event (:func:`qingshan.ledger.service.finishes`)
CONFIRM = {"close": "我已核实承办单位的反馈和证据，确认办结", "to_case": "确认转立案查处（本事件随之办结）",
           "cancel": "确认撤销本事件（无需处置）"}


@router.get("/dispatch", response_class=HTMLResponse)
def board(request: Request, state: str | None = None, unit: str | None = None, kind: str | None = None,
          overdue: str | None = None, ctx: Ctx = Depends(get_ctx)) -> HTMLResponse:
    if ctx.principal.is_public:
        raise PermissionDenied("调度事件仅对局机关和承办单位开放，请先登录")
    state = state if state in EVENT.states else None
    kind = kind if kind in EVENT_KIND_LABELS else None
    todo = dispatch_api.todo(ctx)
    data = dispatch_api.list_events(ctx, state=[state] if state else None, unit=unit or None, kind=kind,
                                    overdue=True if overdue == "1" else None, limit=PAGE_SIZE, offset=0)
    counts: dict[str, int] = {}
    _, every = ctx.svc.list_events(limit=None)
    for e in every:
        counts[e.status] = counts.get(e.status, 0) + 1
    units = [{"id": u.id, "name": u.name} for u in ctx.svc.units() if u.kind != "bureau"]
    return render(request, "dispatch_list.html", ctx, active="dispatch", title="指挥调度", todo=todo, data=data,
                  states=EVENT.states, counts=counts, kinds=EVENT_KIND_LABELS, units=units,
                  bureau=ctx.principal.is_supervisor,
                  f={"state": state or "", "unit": unit or "", "kind": kind or "", "overdue": overdue == "1"})


def _evidence_rows(evidence: Any, prefix: str = "") -> list[tuple[str, str]]:
    """The alarm's evidence as (name, value) rows: nested objects flattened with dotted names."""
    rows: list[tuple[str, str]] = []
    if isinstance(evidence, dict):
        for k, v in evidence.items():
            rows += _evidence_rows(v, f"{prefix}{k}.") if isinstance(v, dict) else [
                (f"{prefix}{k}", json.dumps(v, ensure_ascii=False) if isinstance(v, list) else str(v))]
    return rows


def _event_page(request: Request, ctx: Ctx, event_id: int, *, error: str = "", status_code: int = 200,
                saved: bool = False) -> HTMLResponse:
    item = dispatch_api.get_event(event_id, ctx)
    actions = []
    for t in ctx.svc.allowed_transitions(event_id):
        fields = [{"name": f, "label": EVIDENCE_LABELS.get(f, f),
                   "kind": "units" if f == "unit_ids" else "textarea" if f in LONG else "text"}
                  for f in t.requires]
        if t.name == "to_case":
            fields.append({"name": "legal_basis", "label": "法律依据（可选）", "kind": "optional"})
        actions.append({"name": t.name, "label": t.label, "fields": fields, "files": t.name == "answer",
                        "confirm": CONFIRM.get(t.name, f"确认{t.label}") if finishes("event", t) else ""})
    units = [{"id": u.id, "name": u.name} for u in ctx.svc.units() if u.kind != "bureau"]
    alarm = item.get("alarm_evidence") or {}
    return render(request, "dispatch_item.html", ctx, active="dispatch", title=item["title"], item=item,
                  actions=actions, units=units, error=error, saved=saved, status_code=status_code,
                  today=ctx.svc.today.isoformat(),
                  evidence=_evidence_rows(alarm.get("evidence")) if isinstance(alarm, dict) else [],
                  alarm=alarm if isinstance(alarm, dict) else {})


@router.get("/dispatch/events/{event_id}", response_class=HTMLResponse)
def event_page(request: Request, event_id: int, saved: int = 0, ctx: Ctx = Depends(get_ctx)) -> HTMLResponse:
    if ctx.principal.is_public:
        raise NotFound("调度事件不存在或无权查看")
    return _event_page(request, ctx, event_id, saved=bool(saved))


@router.post("/dispatch/events/{event_id}/action")
async def event_action(request: Request, event_id: int, console: Console = Depends(get_console),
                       ctx: Ctx = Depends(page_ctx)) -> Response:
    """One step from the event page: the same service calls as the API; the state machine and the roles decide."""
    form = await request.form()
    require_form_csrf(console, ctx, str(form.get("csrf") or ""))
    name = str(form.get("name") or "")
    allowed = {t.name: t for t in ctx.svc.allowed_transitions(event_id)}
    if name not in allowed:
        return _event_page(request, ctx, event_id, error="当前状态下不能执行该操作，或无此权限", status_code=409)
    if finishes("event", allowed[name]) and form.get("confirm") != "1":
        what = "办结前请勾选确认：已核实承办单位的反馈和证据" if name == "close" else \
            f"“{allowed[name].label}”将办结本事件，请勾选确认后再提交"
        return _event_page(request, ctx, event_id, error=what, status_code=422)
    payload: dict[str, Any] = {}
    for f in (*allowed[name].requires, "legal_basis"):
        if f == "unit_ids":
            payload[f] = [int(v) for v in form.getlist(f) if str(v).isascii() and str(v).isdigit() and len(str(v)) < 10]
            if (host := _unit_ref(form.get("host_unit_id"))) is not None:  # 主办单位 (docs/ledger.md#主办协办)
                payload["host_unit_id"] = host
        elif (v := str(form.get(f) or "").strip()):
            payload[f] = v
    try:
        if name == "answer":
            files = [f for f in form.getlist("files") if isinstance(f, UploadFile) and f.filename]
            await dispatch_api.answer(request, event_id, payload.get("findings", ""), files, ctx)
        elif name == "to_case":
            ctx.svc.event_to_case(event_id, party=payload.get("party", ""), violation=payload.get("violation", ""),
                                  legal_basis=payload.get("legal_basis"))
            ctx.commit()
        else:
            ctx.svc.transition(event_id, name, payload)
            ctx.commit()
    except LedgerError as e:
        return _refused(request, ctx, event_id, e)
    return RedirectResponse(f"/dispatch/events/{event_id}?saved=1", status_code=303)


def _refused(request: Request, ctx: Ctx, event_id: int, e: LedgerError) -> Response:
    """The event page again with the service's refusal (422 invalid input, 409 a workflow rule); a record the
    caller may not see or change is the error handler's (404 / 403)."""
    if isinstance(e, (NotFound, PermissionDenied)):
        raise e
    ctx.session.rollback()
    return _event_page(request, ctx, event_id, error=str(e), status_code=422 if isinstance(e, ValidationFailed) else 409)


def _unit_ref(value: Any) -> int | None:
    """A unit id from a form field (the service checks it)."""
    v = str(value or "").strip()
    return int(v) if v.isascii() and v.isdigit() and len(v) < 10 else None


@router.post("/dispatch/events/{event_id}/part")
async def post_part(request: Request, event_id: int, console: Console = Depends(get_console),
                    ctx: Ctx = Depends(page_ctx)) -> Response:
    """An assisting unit (协办单位) reports its findings to the host (docs/ledger.md#主办协办): the service call of
    ``POST /api/v1/ledger/items/{id}/parts``; ``withdraw`` takes a report back with a reason."""
    return await _part_step(request, event_id, console, ctx, withdraw=False)


@router.post("/dispatch/events/{event_id}/part/withdraw")
async def post_part_withdraw(request: Request, event_id: int, console: Console = Depends(get_console),
                             ctx: Ctx = Depends(page_ctx)) -> Response:
    return await _part_step(request, event_id, console, ctx, withdraw=True)


async def _part_step(request: Request, event_id: int, console: Console, ctx: Ctx, *, withdraw: bool) -> Response:
    form = await request.form()
    require_form_csrf(console, ctx, str(form.get("csrf") or ""))
    dispatch_api.get_event(event_id, ctx)  # an event the caller may see (404 otherwise)
    text = str(form.get("reason" if withdraw else "note") or "").strip()
    if not text:
        return _event_page(request, ctx, event_id, error="请填写撤回理由" if withdraw else "请填写本单位办理情况",
                           status_code=422)
    try:
        if withdraw:
            ctx.svc.withdraw_part(event_id, text, unit=_unit_ref(form.get("unit")))
        else:
            ctx.svc.report_part(event_id, text, unit=_unit_ref(form.get("unit")), on=str(form.get("on") or "") or None)
        ctx.commit()
    except LedgerError as e:
        return _refused(request, ctx, event_id, e)
    return RedirectResponse(f"/dispatch/events/{event_id}?saved=1#parts", status_code=303)


@router.get("/dispatch/stats", response_class=HTMLResponse)
def stats_page(request: Request, month: str | None = Query(None, max_length=7),
               ctx: Ctx = Depends(get_ctx)) -> HTMLResponse:
    month = month or None
    if month is not None and not (len(month) == 7 and month[4] == "-" and month.replace("-", "").isdigit()):
        month = None
    data = dispatch_api.stats(ctx, month=month)
    return render(request, "dispatch_stats.html", ctx, active="dispatch", title="调度统计", data=data,
                  month=month or "", deadlines=DEADLINES, kinds=EVENT_KIND_LABELS, levels=EVENT_LEVEL_LABELS)
