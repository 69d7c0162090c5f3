"""``/export/<table>.xlsx`` and ``/export/<table>.csv`` — every data table of the console as a file.

Each export calls the same data function with the same parameters and the same caller as the page that shows the
table (:mod:`qingshan.web.data`, the ledger API functions), so the file holds the numbers of the API (unrounded,
as ``/api/v1`` answers them) and exactly the rows the caller may see: the public gets what its page shows (no
petition list, no alarm or review list, ledger items without deadline days), petition fields masked as the API
masks them. Headers are Chinese with units; file names carry the period. XLSX goes through
:mod:`qingshan.spreadsheet` (no text cell is ever a formula); CSV is UTF-8 with a byte-order mark (Excel in China
opens it as UTF-8) and text that a spreadsheet would take for a formula gets a leading apostrophe
(:func:`qingshan.spreadsheet.csv_text_safe`).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import Response

from ...ledger.api import Ctx, get_ctx
from ...spreadsheet import append_row_safe, csv_text_safe
from ...standards.pollutants import POLLUTANTS
from ..console import Console, get_console
from ..data import alarms as alarm_data
from ..data.air_eval import evaluation, ranking
from ..data.air_now import air_now
from ..data.capture import capture
from ..data.common import COLUMN_LABELS, BadParameter
from ..data.targets import targets
from ..data.water import water_sections
from . import periods

router = APIRouter(include_in_schema=False)

Row = Mapping[str, Any]


@dataclass(frozen=True)
class Column:
    header: str  # Chinese, with the unit
    get: Callable[[Row], Any]


@dataclass(frozen=True)
class Sheet:
    title: str  # sheet name and the start of the file name
    period: str  # the period (or date) the table is of: the end of the file name
    columns: list[Column]
    rows: list[Row]


def key(name: str) -> Callable[[Row], Any]:
    return lambda r: r.get(name)


def path(*names: str) -> Callable[[Row], Any]:
    def get(r: Row) -> Any:
        v: Any = r
        for n in names:
            v = v.get(n) if isinstance(v, Mapping) else None
        return v
    return get


def with_unit(label: str, unit: str) -> str:
    return f"{label}（{unit}）" if unit else label


def cell(v: Any) -> Any:
    """A value as the file stores it: numbers unchanged (as the API gives them), 是/否, lists joined, empty for
    missing."""
    if v is None:
        return None
    if isinstance(v, bool):
        return "是" if v else "否"
    if isinstance(v, (list, tuple)):
        return "、".join(str(x.get("name", x) if isinstance(x, Mapping) else x) for x in v)
    if isinstance(v, float) and v != v:  # NaN never reaches the API; be safe
        return None
    return v


def q(request: Request, name: str) -> str | None:
    v = request.query_params.get(name)
    return v if v is not None and v.strip() else None


def period_of(request: Request, console: Console) -> str | None:
    """The page's period: the picker's preset/start/end, else ``period`` (:func:`.periods.resolve`)."""
    return periods.resolve(console, q(request, "preset"), q(request, "start"), q(request, "end"), q(request, "period"))


# --- the tables -------------------------------------------------------------------------------------------------

AIR_COLUMNS = ("pm25", "pm25_24h", "pm10", "pm10_24h", "o3", "o3_8h", "no2", "so2", "co")


def stations_sheet(console: Console, ctx: Ctx, request: Request) -> Sheet:
    now = air_now(console, q(request, "city"))
    cols = [Column("站点编码", key("code")), Column("站点", key("name")), Column("区", key("district")),
            Column("AQI", key("aqi")), Column("类别", key("category")), Column("首要污染物", key("primary")),
            *(Column(with_unit(COLUMN_LABELS[c][0], COLUMN_LABELS[c][1]), path("values", c)) for c in AIR_COLUMNS)]
    return Sheet(f"{now['city']}各站点实时", now["as_of"].replace(":", "")[:13], cols, now["stations"])


def _item_unit(pollutant: str) -> str:
    return POLLUTANTS[pollutant].unit


def evaluation_sheet(console: Console, ctx: Ctx, request: Request) -> Sheet:
    ev = evaluation(console, q(request, "city"), period_of(request, console), q(request, "level"), q(request, "data"))
    cols = [Column("编码", key("code")), Column("名称", key("name")), Column("所属区", key("district")),
            Column("有效天数（天）", path("coverage", "valid_days")),
            Column("应有天数（天）", path("coverage", "expected_days")),
            Column("覆盖率（%）", path("coverage", "percent")), Column("优良天数比例（%）", key("good_ratio")),
            *(Column(with_unit(it["short"], _item_unit(it["pollutant"])), key(it["key"])) for it in ev["items"]),
            Column("综合指数", key("composite_index"))]
    for c in ev["compared"]:
        unit = "百分点" if c["change"] == "pp" else "%"
        cols += [Column(f"{c['name']} 上年同期", path("compare", c["key"], "yoy_previous")),
                 Column(f"{c['name']} 同比（{unit}）", path("compare", c["key"], "yoy_change")),
                 Column(f"{c['name']} 上一时段", path("compare", c["key"], "mom_previous")),
                 Column(f"{c['name']} 环比（{unit}）", path("compare", c["key"], "mom_change"))]
    cols += [Column("数据有效", key("valid_all")), Column("全部达标", key("complies_all"))]
    return Sheet(f"{ev['city']}{ev['level_label']}HJ663评价", ev["period"]["label"].replace(":", "至"), cols, ev["rows"])


def ranking_sheet(console: Console, ctx: Ctx, request: Request) -> Sheet:
    r = ranking(console, q(request, "city"), period_of(request, console), q(request, "level"), q(request, "by"),
                q(request, "data"))
    m = r["metric"]
    name = with_unit(m["name"], m["unit"])
    unit = "百分点" if m["change"] == "pp" else "%"
    cols = [Column("排名", key("rank")), Column("编码", key("code")), Column(r["level_label"], key("name")),
            Column("所属区", key("district")), Column(name, key("value")), Column("上年同期", key("previous_value")),
            Column(f"同比（{unit}）", key("change")), Column("上一时段", key("mom_previous_value")),
            Column(f"环比（{unit}）", key("mom_change")), Column("劣于全市", key("worse_than_city")),
            Column("较上年同期变差", key("worse_than_previous"))]
    return Sheet(f"{r['city']}{r['level_label']}排名_{m['name']}", r["period"]["label"].replace(":", "至"), cols,
                 r["rows"])


def capture_sheet(console: Console, ctx: Ctx, request: Request) -> Sheet:
    c = capture(console, q(request, "city"), q(request, "period") or "today", public=ctx.principal.is_public)
    cols = [Column("站点编码", key("code")), Column("站点", key("name")), Column("应有小时（小时）", key("expected")),
            Column("已收到（小时）", key("received")), Column("获取率（%）", key("share")),
            *(Column(f"{POLLUTANTS[p].short_zh} 获取率（%）", path("by_pollutant", p, "share"))
              for p in ("pm25", "pm10", "o3", "no2", "so2", "co")),
            Column("有效日（天）", key("valid_days")), Column("最后数据", key("last_hour")),
            Column("离线", key("offline")), Column("已无法满足有效性", key("lost"))]
    label = "今日" if c["period"] == "today" else "本月"
    return Sheet(f"{c['city']}数据获取率_{label}", c["first_day"], cols, c["stations"])


def water_sheet(console: Console, ctx: Ctx, request: Request) -> Sheet:
    year = q(request, "year")
    try:
        y = int(year) if year else None
    except ValueError:
        raise BadParameter(f"年份 year 应为整数，而不是 {year!r}") from None
    s = water_sections(console, y, period_of(request, console))
    cols = [Column("断面编码", key("section")), Column("断面", key("name")), Column("水体", key("water_body_label")),
            Column("考核级别", key("level")), Column("最新月份", key("latest_month")),
            Column("最新月类别", key("latest_month_class")), Column("年度类别", key("class")),
            Column("目标类别", key("target_class")), Column("达标", key("meets_target")),
            Column("主要污染指标", key("main_pollutants")), Column("综合营养状态指数 TLI", key("tli")),
            Column("营养状态", key("tli_grade"))]
    return Sheet("地表水断面", str(s.get("period") or s["year"] or "").replace(":", "至"), cols, s["sections"])


def targets_sheet(console: Console, ctx: Ctx, request: Request) -> Sheet:
    year = q(request, "year")
    try:
        y = int(year) if year else None
    except ValueError:
        raise BadParameter(f"年份 year 应为整数，而不是 {year!r}") from None
    from .targets import target_period

    y, as_of = target_period(console, q(request, "preset"), y, q(request, "as_of"))
    t = targets(console, q(request, "city"), y, as_of)
    cols = [Column("目标", key("id")), Column("指标", key("name")), Column("层级", key("level")),
            Column("比较", key("comparison")), Column("目标值", key("target_value")), Column("单位", key("unit")),
            Column("年初至今", key("ytd_value")), Column("有效数（天/次）", key("n")),
            Column("应有数（天/次）", key("expected")), Column("数据覆盖（%）", key("coverage")),
            Column("状态", key("status_text")), Column("判断", key("requirement_text")),
            Column("余下时段须达到", key("required")), Column("余下时段须达到（说明）", key("required_text"))]
    return Sheet(f"{t['city']}{t['year']}年度目标", f"截至{t['as_of']}", cols, t["rows"])


def alarms_sheet(console: Console, ctx: Ctx, request: Request) -> Sheet:
    from .alarms import STATE_FILTERS

    alarm_data.bureau_only(ctx)
    state = q(request, "state") or "open"
    if state not in STATE_FILTERS:
        raise BadParameter(f"未知状态筛选：{state}")
    try:
        level = int(q(request, "level") or 1)
    except ValueError:
        raise BadParameter("级别 level 应为 1–4") from None
    states = STATE_FILTERS[state]
    items = alarm_data.alarms(console, list(states) if states else None, level, limit=500)
    cols = [Column("编号", key("alarm_id")), Column("级别", key("level_text")), Column("状态", key("state_text")),
            Column("对象编码", key("subject")), Column("对象", key("subject_name")), Column("规则", key("rule_title")),
            Column("因子", key("pollutant")), Column("开始", key("start")), Column("结束", key("end")),
            Column("持续（小时）", key("hours")), Column("峰值时刻", key("peak_at")), Column("峰值", key("peak_value")),
            Column("参照值", key("peak_reference"))]
    return Sheet("报警列表", state, cols, items)


def _ledger_items(ctx: Ctx, **filters: Any) -> list[dict[str, Any]]:
    from .ledger import _list

    out: list[dict[str, Any]] = []
    while True:  # every matching item, a page of 1000 at a time (the API's page limit)
        page = _list(ctx, **filters, limit=1000, offset=len(out))
        out += page["items"]
        if not page["items"] or len(out) >= page["total"]:
            return out


def ledger_sheet(console: Console, ctx: Ctx, request: Request) -> Sheet:
    from ...ledger.workflow import MACHINES

    kind = q(request, "kind")
    status = q(request, "status")
    status = status if status and kind and kind in MACHINES and status in MACHINES[kind].states else None
    items = _ledger_items(ctx, kind=kind, status=[status] if status else None, unit=q(request, "unit"),
                          overdue=True if q(request, "overdue") == "1" else None, q=q(request, "q"))
    cols = [Column("类型", key("kind_label")), Column("编号", key("code")), Column("事项", key("title")),
            Column("状态", key("status_label")), Column("时限", lambda r: r.get("deadline") or r.get("deadline_label")),
            Column("责任单位", key("responsible"))]
    if not ctx.principal.is_public:
        cols += [Column("剩余天数（天）", key("days_left")), Column("逾期", key("overdue"))]
    today = console.today or dt.date.today()  # the ledger's "today" (pinned in the demo and the tests)
    return Sheet("治理台账", f"截至{today.isoformat()}", cols, items)


def petitions_sheet(console: Console, ctx: Ctx, request: Request) -> Sheet:
    if ctx.principal.is_public:
        raise HTTPException(403, "信访件含个人信息，不公开单件")
    items = _ledger_items(ctx, kind="petition")
    if (q(request, "show") or "open") == "open":
        items = [r for r in items if r.get("days_left") is not None or r.get("overdue")]
    cols = [Column("编号", key("code")), Column("事项", key("title")), Column("状态", key("status_label")),
            Column("答复时限", key("deadline")), Column("剩余天数（天）", key("days_left")), Column("逾期", key("overdue")),
            Column("承办单位", key("responsible"))]
    return Sheet("信访件办理时限", "", cols, items)


def review_suggestions_sheet(console: Console, ctx: Ctx, request: Request) -> Sheet:
    from ..data import review

    review.reviewer(ctx)
    sugg = review.suggestions(console, period_of(request, console), q(request, "station"))
    cols = [Column("检查", key("check_label")), Column("站点", key("station")), Column("污染物", key("pollutants")),
            Column("起", key("from")), Column("止", key("to")), Column("说明", key("detail"))]
    return Sheet("预审建议", sugg["period"]["label"].replace(":", "至"), cols, sugg["suggestions"])


def review_log_sheet(console: Console, ctx: Ctx, request: Request) -> Sheet:
    from ..data import review

    review.reviewer(ctx)
    log = review.marks(console, q(request, "station"), 100)  # the page's list: the latest 100 marks
    cols = [Column("编号", key("mark_id")), Column("时间", key("marked_at")), Column("审核人", key("by_user")),
            Column("来源", key("via")), Column("操作", key("action_label")), Column("站点", key("station")),
            Column("污染物", key("pollutants")), Column("起", key("from")), Column("止", key("to")),
            Column("原因", key("reason_label")), Column("说明", key("note"))]
    return Sheet("审核记录", "", cols, log["log"])


EVENT_COLUMNS = [Column("编号", key("code")), Column("事件", key("title")), Column("类别", key("event_kind_label")),
                 Column("级别", key("level_label")), Column("已升级", lambda r: bool(r.get("escalations"))),
                 Column("状态", key("status_label")), Column("承办单位", key("responsible")),
                 Column("反馈期限", key("due_at")), Column("超期", key("overdue"))]


def _supervised(ctx: Ctx) -> None:
    from ...ledger.rbac import PermissionDenied

    if ctx.principal.is_public:  # as the board: /dispatch
        raise PermissionDenied("调度事件仅对局机关和承办单位开放，请先登录")


def dispatch_todo_sheet(console: Console, ctx: Ctx, request: Request) -> Sheet:
    from ...ledger import dispatch_api

    _supervised(ctx)
    return Sheet("调度_我的待办", "", EVENT_COLUMNS, dispatch_api.todo(ctx)["items"])


def dispatch_events_sheet(console: Console, ctx: Ctx, request: Request) -> Sheet:
    from ...ledger import dispatch_api
    from ...ledger.models import EVENT_KIND_LABELS
    from ...ledger.workflow import EVENT

    _supervised(ctx)
    state, kind = q(request, "state"), q(request, "kind")
    state = state if state in EVENT.states else None
    kind = kind if kind in EVENT_KIND_LABELS else None
    items: list[dict[str, Any]] = []
    while True:  # every matching event, 1000 at a time (the API's page limit)
        page = dispatch_api.list_events(ctx, state=[state] if state else None, unit=q(request, "unit"), kind=kind,
                                        overdue=True if q(request, "overdue") == "1" else None, limit=1000,
                                        offset=len(items))
        items += page["items"]
        if not page["items"] or len(items) >= page["total"]:
            break
    return Sheet("调度事件", "", EVENT_COLUMNS, items)


def dispatch_stats_sheet(console: Console, ctx: Ctx, request: Request) -> Sheet:
    from ...ledger import dispatch_api

    month = q(request, "month")
    if month is not None and not (len(month) == 7 and month[4] == "-" and month.replace("-", "").isdigit()):
        month = None  # as the page: an unreadable month shows every month
    data = dispatch_api.stats(ctx, month=month)
    cols = [Column("月份", key("month")), Column("承办单位", key("unit")), Column("派发（件）", key("issued")),
            Column("按时反馈（件）", key("in_time")), Column("超期（件）", key("overdue")), Column("待反馈（件）", key("open")),
            Column("按时率", key("in_time_rate")), Column("平均首次响应（小时）", key("mean_response_hours"))]
    return Sheet("调度统计", month or "全部月份", cols, data["by_unit_month"])


def water_summary_sheet(console: Console, ctx: Ctx, request: Request) -> Sheet:
    from ..data.water import water_summary

    year = q(request, "year")
    try:
        y = int(year) if year else None
    except ValueError:
        raise BadParameter(f"年份 year 应为整数，而不是 {year!r}") from None
    s = water_summary(console, y, period_of(request, console))
    cols = [Column("考核级别", key("level")), Column("断面数（个）", key("sections")),
            Column("优Ⅲ比例（%）", key("share_good_pct")), Column("劣Ⅴ比例（%）", key("share_worse_than_v_pct")),
            Column("状况", key("status")), Column("达到目标（个）", key("meets_target")),
            Column("有目标（个）", key("with_target"))]
    return Sheet("地表水按考核级别", str(s.get("period") or s["year"] or "").replace(":", "至"), cols, s["levels"])


EXPORTS: dict[str, Callable[[Console, Ctx, Request], Sheet]] = {
    "stations": stations_sheet, "evaluation": evaluation_sheet, "ranking": ranking_sheet,
    "capture": capture_sheet, "water-sections": water_sheet, "targets": targets_sheet, "alarms": alarms_sheet,
    "ledger": ledger_sheet, "petitions": petitions_sheet, "review-suggestions": review_suggestions_sheet,
    "review-log": review_log_sheet, "dispatch-todo": dispatch_todo_sheet, "dispatch-events": dispatch_events_sheet,
    "dispatch-stats": dispatch_stats_sheet, "water-summary": water_summary_sheet,
}
"""table name (``data-table`` of the page) → the function building its sheet"""


# --- writing ----------------------------------------------------------------------------------------------------

def xlsx_bytes(sheet: Sheet) -> bytes:
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.title = "".join(ch for ch in sheet.title if ch not in "[]:*?/\\")[:31] or "表"
    append_row_safe(ws, [c.header for c in sheet.columns])
    for r in sheet.rows:
        append_row_safe(ws, [cell(c.get(r)) for c in sheet.columns])
    ws.freeze_panes = "A2"
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def csv_bytes(sheet: Sheet) -> bytes:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow([c.header for c in sheet.columns])
    for r in sheet.rows:
        w.writerow([csv_text_safe(v) if isinstance(v, str) else ("" if v is None else repr(v) if isinstance(v, float)
                                                                 else v)
                    for v in (cell(c.get(r)) for c in sheet.columns)])
    return ("\ufeff" + buf.getvalue()).encode("utf-8")


MEDIA = {"xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "csv": "text/csv; charset=utf-8"}


def file_name(sheet: Sheet, fmt: str) -> str:
    stem = f"{sheet.title}_{sheet.period}" if sheet.period else sheet.title
    return "".join("_" if ch in '\\/:*?"<>|' else ch for ch in stem) + "." + fmt


@router.get("/export/{name}.{fmt}")
def export(request: Request, name: str, fmt: str, console: Console = Depends(get_console),
           ctx: Ctx = Depends(get_ctx)) -> Response:
    if name not in EXPORTS:
        raise HTTPException(404, f"没有名为 {name} 的表格（可导出：{'、'.join(EXPORTS)}）")
    if fmt not in MEDIA:
        raise HTTPException(404, f"导出格式应为 xlsx 或 csv，而不是 {fmt}")
    sheet = EXPORTS[name](console, ctx, request)
    body = xlsx_bytes(sheet) if fmt == "xlsx" else csv_bytes(sheet)
    fn = file_name(sheet, fmt)
    return Response(body, media_type=MEDIA[fmt], headers={
        "Content-Disposition": f"attachment; filename=\"export.{fmt}\"; filename*=UTF-8''{quote(fn)}",
        "Cache-Control": "no-store"})

