"""``/alarms`` — 报警中心 for the bureau: the alarms of the alarm rules with filters and the actions (确认, 误报 with
its reason, 转调度事件), and ``/alarms/{id}``: the actions again plus 办结 (with its reason), the alarm's evidence
hour by hour, its log and the cause note 初步原因分析 of its station at the peak hour with the pollution rose and
the map of the upwind sector. Forms post here (CSRF field ``csrf``) and go through the same functions
as ``/api/v1/alerts`` (:mod:`qingshan.web.data.alarms`)."""

from __future__ import annotations

from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from ...ledger.api import Ctx, get_ctx
from ...ledger.models import EVENT_KIND_LABELS
from ..console import Console, get_console
from ..data import alarms as data
from . import charts
from .render import render
from .session import page_ctx, require_form_csrf

router = APIRouter(include_in_schema=False)

STATE_FILTERS = {"open": ("new", "acknowledged"), "new": ("new",), "acknowledged": ("acknowledged",),
                 "dispatched": ("dispatched",), "closed": ("closed", "false_alarm"), "all": None}
FILTER_LABELS = {"open": "待处置", "new": "新报警", "acknowledged": "已确认", "dispatched": "已派发",
                 "closed": "已结束", "all": "全部"}


@router.get("/alarms", response_class=HTMLResponse)
def alarms_page(request: Request, state: str = Query("open", max_length=20), level: int = Query(1, ge=1, le=4),
                done: str | None = Query(None, max_length=200), console: Console = Depends(get_console),
                ctx: Ctx = Depends(get_ctx)) -> HTMLResponse:
    data.bureau_only(ctx)
    if state not in STATE_FILTERS:
        raise HTTPException(422, f"未知状态筛选：{state}")
    states = STATE_FILTERS[state]
    items = data.alarms(console, list(states) if states else None, level, limit=500)
    return render(request, "alarms.html", ctx, active="alarms", title="报警中心", items=items, state=state,
                  level=level, filters=FILTER_LABELS, kinds=EVENT_KIND_LABELS, message=done or "")


@router.get("/alarms/{alarm_id}", response_class=HTMLResponse)
def alarm_page(request: Request, alarm_id: int, console: Console = Depends(get_console),
               ctx: Ctx = Depends(get_ctx)) -> HTMLResponse:
    from ...alerts.explain import ExplainError, explain
    from ...store.alarms import alarm_log

    data.bureau_only(ctx)
    found = data.alarms(console, alarm_id=alarm_id, limit=1)
    if not found:
        raise HTTPException(404, f"没有编号为 {alarm_id} 的报警")
    a = found[0]
    note, note_error = None, ""
    if a["peak_at"] and not a["rule"].startswith(("source.", "water.", "targets.")):
        from datetime import datetime

        try:
            with console.store.cursor() as cur:
                note = explain(cur, a["subject"], datetime.fromisoformat(a["peak_at"]))
        except ExplainError as e:
            note_error = str(e)
    from ...store.alarms import STATES

    with console.store.cursor() as cur:
        log = [{"at": f"{r['changed_at']:%Y-%m-%d %H:%M:%S}", "actor": r["actor"],
                "from": STATES.get(r["from_state"], "—") if isinstance(r["from_state"], str) else "—",
                "to": STATES.get(r["to_state"], r["to_state"]), "reason": r["reason"] if isinstance(r["reason"], str) else ""}
               for r in alarm_log(cur, alarm_id).to_dict("records")]
    hours = [{"at": data.hour_text(h[0]), "value": h[1], "reference": h[2]} for h in a["evidence"].get("hours", [])]
    figures = [] if note is None else [c for c in (charts.note_rose(note), charts.note_map(note)) if c]
    return render(request, "alarm_item.html", ctx, active="alarms", title=f"报警 {alarm_id}", a=a, hours=hours,
                  log=log, note=note, note_error=note_error, kinds=EVENT_KIND_LABELS, figures=figures)


def _back(message: str, state: str = "open") -> RedirectResponse:
    return RedirectResponse(f"/alarms?state={quote(state)}&done={quote(message)}", status_code=303)


@router.post("/alarms/{alarm_id}/action")
def post_action(alarm_id: int, action: str = Form(""), reason: str = Form(""), event_kind: str = Form("quality"),
                csrf: str = Form(""), console: Console = Depends(get_console), ctx: Ctx = Depends(page_ctx)) -> Response:
    require_form_csrf(console, ctx, csrf)
    if action == "ack":
        r = data.move(console, ctx, alarm_id, "acknowledged", None)
        return _back(f"报警 {alarm_id}：{r['from_text']} → {r['to_text']}")
    if action == "false":
        r = data.move(console, ctx, alarm_id, "false_alarm", reason.strip() or None)
        return _back(f"报警 {alarm_id}：已标记为误报")
    if action == "close":
        data.move(console, ctx, alarm_id, "closed", reason.strip() or None)
        return RedirectResponse(f"/alarms/{alarm_id}", status_code=303)
    if action == "event":
        if event_kind not in EVENT_KIND_LABELS:
            raise HTTPException(422, f"未知事件类别：{event_kind}")
        r = data.to_event(console, ctx, alarm_id, event_kind, None, reason.strip() or None)
        return RedirectResponse(f"/dispatch/events/{r['event_id']}", status_code=303)
    raise HTTPException(422, f"未知操作：{action}")
