"""``/ledger`` pages: lists with filters, a record's detail with timeline and progress form, the petition board.

我的待办 (the clerk's day, docs/console.md): for department, district and town users ``/ledger`` opens on their
to-do list (:meth:`qingshan.ledger.service.LedgerService.todo_records`: the open records their unit may act on and
the dispatch events they owe an answer, earliest deadline first); ``?view=all`` is the whole ledger as before.
Every row says what the caller may do on it (the workflow steps it may take, 报送进展, or 仅查看). A step that
completes, signs off (销号) or closes a record (:func:`qingshan.ledger.service.finishes`) is confirmed on a page of
its own before it is taken (it works without JavaScript).

Each page calls the functions behind the ledger API (:mod:`qingshan.ledger.api`: ``list_items``, ``get_item``,
``add_progress``) with the caller's context, so the service's permission rules hold exactly as in the API: the
public sees disclosed records only and no single petition; the progress form is shown only when the record says
``can_edit`` for the caller, and the service checks again when the form is posted.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import APIRouter, Depends, File, Form, Query, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from ...ledger import api as ledger_api
from ...ledger import views
from ...ledger.api import Ctx, get_ctx
from ...ledger.models import KIND_LABELS, KINDS, SATISFACTION_LABELS, Record
from ...ledger.rbac import LedgerError, NotFound, PermissionDenied
from ...ledger.service import EVIDENCE_LABELS, ValidationFailed, finishes
from ...ledger.workflow import MACHINES
from ..console import Console, get_console
from ..data.ledger_summary import ledger_summary
from .render import render
from .session import page_ctx, require_form_csrf

router = APIRouter(include_in_schema=False)
PAGE_SIZE = 50
BOARD_LIMIT = 1000
TODO_LIMIT = 500
#: roles whose ledger opens on 我的待办 (a town user is a district user whose unit is a town)
TODO_ROLES = ("department", "district")


def _list(ctx: Ctx, **filters: Any) -> dict[str, Any]:
    """``GET /api/v1/ledger/items`` called as a function (every parameter given: the route's defaults are
    FastAPI ``Query`` objects)."""
    args: dict[str, Any] = {"kind": None, "unit": None, "unit_role": None, "status": None, "overdue": None,
                            "at_risk": None, "deadline_from": None, "deadline_to": None, "district": None, "q": None,
                            "limit": PAGE_SIZE, "offset": 0}
    args.update(filters)
    return ledger_api.list_items(ctx, **args)


def _marks(ctx: Ctx, records: list[Record]) -> dict[int, dict[str, Any]]:
    """What the caller may do on each row: the workflow steps it may take now and whether it may report progress
    (the service's rules; the item page and the service check again)."""
    kinds = {r.id: r.kind for r in records}
    return {rid: {"steps": [{"label": t.label, "finish": finishes(kinds[rid], t)} for t in a.steps],
                  "progress": a.progress, "part": a.part, "any": a.any}
            for rid, a in ctx.svc.row_actions(records).items()}


def _records(ctx: Ctx, ids: list[int]) -> list[Record]:
    return [ctx.svc.get(i) for i in ids]


@router.get("/ledger", response_class=HTMLResponse)
def ledger_page(request: Request, kind: str | None = None, status: str | None = None,
                unit: str | None = None, overdue: str | None = None, q: str | None = None,
                view: str | None = Query(None, pattern="^(todo|all)$"),
                page: int = Query(1, ge=1, le=100_000), ctx: Ctx = Depends(get_ctx)) -> HTMLResponse:
    kind = kind or None
    status = status if status and kind and status in MACHINES[kind].states else None
    page = max(1, page)
    filtered = any((kind, status, unit, overdue, q)) or page > 1
    if view is None:
        view = "todo" if ctx.principal.role in TODO_ROLES and not filtered else "all"
    if view == "todo" and ctx.principal.is_public:
        view = "all"
    flt = {"kind": kind, "status": [status] if status else None, "unit": unit or None,
           "overdue": True if overdue == "1" else None, "q": q or None}
    if view == "todo":
        rows = ctx.svc.todo_records()
        states = ctx.svc.deadline_states(rows[:TODO_LIMIT])
        data = {"total": len(rows), "items": [views.summary(ctx.svc, r, states[r.id]) for r in rows[:TODO_LIMIT]]}
        marks = _marks(ctx, rows[:TODO_LIMIT])
    else:
        data = _list(ctx, **flt, offset=(page - 1) * PAGE_SIZE)
        marks = _marks(ctx, _records(ctx, [r["id"] for r in data["items"]]))
    units = [{"id": u.id, "name": u.name} for u in ctx.svc.units()]
    return render(request, "ledger_list.html", ctx, active="ledger", title="我的待办" if view == "todo" else "治理台账",
                  data=data, kinds=KINDS, marks=marks, view=view, todo_default=ctx.principal.role in TODO_ROLES,
                  kind_labels=KIND_LABELS, statuses=MACHINES[kind].states if kind else {}, units=units,
                  f={"kind": kind or "", "status": status or "", "unit": unit or "", "overdue": overdue == "1",
                     "q": q or ""},
                  page=page, pages=max(1, -(-data["total"] // PAGE_SIZE)) if view == "all" else 1,
                  public=ctx.principal.is_public)


#: how each evidence field of a transition is entered in the page form (others: one line of text)
LONG_TEXT = {"completion_note", "reason", "acceptance_evidence", "signoff_evidence", "disclosure_text", "note",
             "reply_text"}
NUMBER = {"days", "penalty_amount"}


def _actions(ctx: Ctx, record_id: int) -> list[dict[str, Any]]:
    """The transitions the caller may perform now, each with the inputs of its required evidence."""
    if ctx.principal.is_public:
        return []
    out = []
    kind = ctx.svc.get(record_id).kind
    finishing = {t.name for t in MACHINES[kind].transitions if finishes(kind, t)}
    for t in ledger_api.transitions(record_id, ctx):
        fields = []
        for f in t["requires"]:
            kind = ("textarea" if f in LONG_TEXT else "number" if f in NUMBER else
                    "satisfaction" if f == "satisfaction" else "units" if f == "unit_ids" else "text")
            fields.append({"name": f, "label": EVIDENCE_LABELS.get(f, f), "kind": kind})
        out.append({**t, "fields": fields, "finish": t["name"] in finishing})
    return out


def _detail_page(request: Request, ctx: Ctx, record_id: int, *, error: str = "", status_code: int = 200,
                 saved: str = "") -> HTMLResponse:
    item = ledger_api.get_item(record_id, ctx)
    actions = _actions(ctx, record_id)
    units = [{"id": u.id, "name": u.name} for u in ctx.svc.units()] if any(
        f["kind"] == "units" for a in actions for f in a["fields"]) else []
    return render(request, "ledger_item.html", ctx, active="ledger", title=item["title"], item=item,
                  can_edit=bool(item.get("can_edit")) and not ctx.principal.is_public, error=error, saved=saved,
                  today=ctx.svc.today.isoformat(), status_code=status_code, actions=actions, units=units,
                  satisfaction=SATISFACTION_LABELS)


@router.get("/ledger/items/{record_id}", response_class=HTMLResponse)
def item_page(request: Request, record_id: int, saved: str = Query("", max_length=16),
              ctx: Ctx = Depends(get_ctx)) -> HTMLResponse:
    shown = saved if saved in SAVED_NOTICES else "1" if saved not in ("", "0") else ""
    return _detail_page(request, ctx, record_id, saved=shown)


#: ``?saved=`` values with a notice of their own (others: 进展已报送)
SAVED_NOTICES = ("part", "withdrawn")


@router.post("/ledger/items/{record_id}/part")
async def post_part(request: Request, record_id: int, console: Console = Depends(get_console),
                    ctx: Ctx = Depends(page_ctx)) -> Response:
    """报送本单位完成情况 (分工完成情况) from the item page: the same service call as
    ``POST /api/v1/ledger/items/{id}/parts``."""
    form = await request.form()
    require_form_csrf(console, ctx, str(form.get("csrf") or ""))
    note = str(form.get("note") or "").strip()
    if not note:
        return _detail_page(request, ctx, record_id, error="请填写本单位完成情况", status_code=422)
    try:
        ctx.svc.report_part(record_id, note, unit=_unit_ref(form.get("unit")), on=str(form.get("on") or "") or None)
        ctx.commit()
    except LedgerError as e:
        return _refused(request, ctx, record_id, e)
    return RedirectResponse(f"/ledger/items/{record_id}?saved=part#parts", status_code=303)


@router.post("/ledger/items/{record_id}/part/withdraw")
async def post_part_withdraw(request: Request, record_id: int, console: Console = Depends(get_console),
                             ctx: Ctx = Depends(page_ctx)) -> Response:
    """撤回 a unit's report of its part (its own mistake, or the bureau sending it back), with a reason."""
    form = await request.form()
    require_form_csrf(console, ctx, str(form.get("csrf") or ""))
    reason = str(form.get("reason") or "").strip()
    if not reason:
        return _detail_page(request, ctx, record_id, error="请填写撤回理由", status_code=422)
    try:
        ctx.svc.withdraw_part(record_id, reason, unit=_unit_ref(form.get("unit")))
        ctx.commit()
    except LedgerError as e:
        return _refused(request, ctx, record_id, e)
    return RedirectResponse(f"/ledger/items/{record_id}?saved=withdrawn#parts", status_code=303)


def _unit_ref(value: Any) -> int | None:
    """A unit id from a form field (the service checks it is one the caller may act for)."""
    v = str(value or "").strip()
    return int(v) if v.isascii() and v.isdigit() and len(v) < 10 else None


@router.post("/ledger/items/{record_id}/progress")
async def post_progress(request: Request, record_id: int, text: str = Form(""), csrf: str = Form(""),
                        entry_date: dt.date | None = Form(None), files: list[UploadFile] = File(default=[]),
                        console: Console = Depends(get_console), ctx: Ctx = Depends(page_ctx)) -> Response:
    require_form_csrf(console, ctx, csrf)
    if not text.strip():
        return _detail_page(request, ctx, record_id, error="请填写进展内容", status_code=422)
    chosen = [f for f in files if f.filename]
    try:
        await ledger_api.add_progress(request, record_id, text.strip(), entry_date, chosen, ctx)
    except LedgerError as e:
        return _refused(request, ctx, record_id, e)
    return RedirectResponse(f"/ledger/items/{record_id}?saved=1", status_code=303)


def _refused(request: Request, ctx: Ctx, record_id: int, e: LedgerError) -> HTMLResponse:
    """The item page again with the service's reason (422 bad input, 409 workflow); a record that is not visible
    or not editable keeps its 404/403 error page."""
    if isinstance(e, (NotFound, PermissionDenied)):
        raise e
    ctx.session.rollback()
    code = 422 if isinstance(e, ValidationFailed) else 409
    return _detail_page(request, ctx, record_id, error=str(e), status_code=code)


@router.post("/ledger/items/{record_id}/transition")
async def post_transition(request: Request, record_id: int, console: Console = Depends(get_console),
                          ctx: Ctx = Depends(page_ctx)) -> Response:
    """One workflow step (申请验收, 验收通过, 销号, 交办, 答复 …) from the item page: the same service call as
    ``POST /api/v1/ledger/items/{id}/transitions``; the state machine and the role rules decide."""
    form = await request.form()
    require_form_csrf(console, ctx, str(form.get("csrf") or ""))
    name = str(form.get("name") or "")
    allowed = {t["name"]: t for t in ledger_api.transitions(record_id, ctx)}
    if name not in allowed:
        return _detail_page(request, ctx, record_id, error="当前状态下不能执行该操作，或无此权限", status_code=409)
    payload: dict[str, Any] = {}
    for f in allowed[name]["requires"]:
        if f == "unit_ids":
            payload[f] = [int(v) for v in form.getlist(f) if str(v).isascii() and str(v).isdigit() and len(str(v)) < 10]
            if (host := _unit_ref(form.get("host_unit_id"))) is not None:  # 主办单位 of a 交办 (docs/ledger.md#主办协办)
                payload["host_unit_id"] = host
        elif (v := str(form.get(f) or "").strip()):
            payload[f] = v
    if (on := str(form.get("on") or "").strip()):
        payload["on"] = on
    rec = ctx.svc.get(record_id)
    step = MACHINES[rec.kind].get(name)
    if finishes(rec.kind, step) and form.get("confirm") != "1":
        return _confirm_page(request, ctx, record_id, step.label, name, payload)
    try:
        ctx.svc.transition(record_id, name, payload)
        ctx.commit()
    except LedgerError as e:
        return _refused(request, ctx, record_id, e)
    return RedirectResponse(f"/ledger/items/{record_id}?saved=1", status_code=303)


def _confirm_page(request: Request, ctx: Ctx, record_id: int, label: str, name: str,
                  payload: dict[str, Any]) -> HTMLResponse:
    """确认 before a step that completes, signs off or closes a record: what will happen, the evidence entered
    (carried in hidden fields), 确认 posts the same form with ``confirm=1``, 返回 goes back to the item unchanged."""
    item = ledger_api.get_item(record_id, ctx)
    m = MACHINES[item["kind"]]
    target = m.label(m.get(name).target)
    units = {u.id: u.name for u in ctx.svc.units()}
    shown = []
    hidden: list[tuple[str, str]] = []
    for k, v in payload.items():
        values = v if isinstance(v, list) else [v]
        hidden += [(k, str(x)) for x in values]
        text = "、".join(units.get(x, str(x)) for x in values) if k in ("unit_ids", "host_unit_id") else \
            SATISFACTION_LABELS.get(str(v), str(v)) if k == "satisfaction" else str(v)
        shown.append((EVIDENCE_LABELS.get(k, "办理日期" if k == "on" else k), text))
    return render(request, "ledger_confirm.html", ctx, active="ledger", title=f"确认{label}", item=item,
                  label=label, name=name, target=target, shown=shown, hidden=hidden)


@router.get("/ledger/petitions", response_class=HTMLResponse)
def petitions_page(request: Request, show: str = "open", console: Console = Depends(get_console),
                   ctx: Ctx = Depends(get_ctx)) -> HTMLResponse:
    summary = ledger_summary(console, ctx)
    items: list[dict[str, Any]] = []
    if not ctx.principal.is_public:
        data = _list(ctx, kind="petition", limit=BOARD_LIMIT)
        items = data["items"]
        if show == "open":
            items = [r for r in items if r.get("days_left") is not None or r.get("overdue")]
        items.sort(key=lambda r: (not r.get("overdue"), r.get("days_left") if r.get("days_left") is not None else 10**6,
                                  r["code"] or ""))
    return render(request, "petitions.html", ctx, active="ledger", title="信访件办理时限", items=items,
                  summary=summary, show=show, public=ctx.principal.is_public)
