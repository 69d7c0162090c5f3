"""``/api/v1/reports/...`` — the published documents generated on request, as Word, PDF or HTML downloads.

The same builders as ``qingshan report monthly|bulletin|rectification`` (:mod:`qingshan.reports`), on the
console's store cursor and ledger session. All three are public documents: the rectification disclosure is read
with the public principal inside its builder whoever asks, and the bulletin's governance chapter holds aggregate
counts only. A build takes seconds (the bulletin evaluates two years); it runs in the request's worker thread.
"""

from __future__ import annotations

import datetime as dt
import tempfile
from pathlib import Path
from urllib.parse import quote

from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response

from ...ledger.api import API_PREFIX, Ctx, get_ctx
from ...reports.model import Document
from ..console import Console, get_console
from ..data.common import BadParameter, DataNotFound, resolve_city

router = APIRouter(prefix=f"{API_PREFIX}/reports", tags=["报告"])

MEDIA = {"docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
         "pdf": "application/pdf", "html": "text/html; charset=utf-8"}
FORMAT = Query("docx", description="docx（Word）、pdf 或 html")


def _format(fmt: str) -> str:
    """The format, checked before the (seconds-long) build."""
    if fmt not in MEDIA:
        raise BadParameter(f"格式应为 {'、'.join(MEDIA)}，实际为 {fmt!r}")
    return fmt


def _file(document: Document, stem: str, fmt: str) -> Response:
    from ...reports.output import write_report

    with tempfile.TemporaryDirectory(prefix="qingshan-report-") as tmp:
        path = write_report(document, Path(tmp) / "report", (fmt,))[0]
        body = path.read_bytes()
    name = f"{stem}.{fmt}"
    return Response(body, media_type=MEDIA[fmt], headers={
        "Content-Disposition": f"attachment; filename=\"report.{fmt}\"; filename*=UTF-8''{quote(name)}",
        "X-Report-Log": quote("；".join(document.log)[:2000])})


@router.get("/monthly", summary="月度空气质量排名通报（区、镇街、点位；本月与累计；同比；黄/红标注）")
def monthly(month: str = Query(..., description="月份 YYYY-MM"), city: str | None = Query(None),
            format: str = FORMAT, console: Console = Depends(get_console), ctx: Ctx = Depends(get_ctx)) -> Response:
    from ...reports.monthly import ReportError, build_monthly

    _format(format)
    name = resolve_city(console, console.store.state(), city)
    with console.store.cursor() as cur:
        try:
            # 指挥调度 figures for signed-in users only: the public sees no dispatch work
            doc = build_monthly(cur, name, month, ledger_session=None if ctx.principal.is_public else ctx.session)
        except ReportError as e:
            raise BadParameter(str(e)) from None
    return _file(doc, f"{name}{month}空气质量排名通报", format)


@router.get("/bulletin", summary="年度生态环境状况公报（空气、降水、降尘、地表水、声环境、治理）")
def bulletin(year: int = Query(..., ge=2000, le=2100), city: str | None = Query(None), format: str = FORMAT,
             console: Console = Depends(get_console), ctx: Ctx = Depends(get_ctx)) -> Response:
    from ...reports.bulletin import ReportError, build_bulletin

    _format(format)
    name = resolve_city(console, console.store.state(), city)
    with console.store.cursor() as cur:
        try:
            doc = build_bulletin(cur, name, year, ledger_session=ctx.session)
        except ReportError as e:
            raise BadParameter(str(e)) from None
    return _file(doc, f"{year}年{name}生态环境状况公报", format)


@router.get("/rectification", summary="督察整改进展公开（仅含已公开内容）")
def rectification(inspection: str | None = Query(None, description="督察名称或其中唯一的一段；台账只有一轮时可省略"),
                  as_of: dt.date | None = Query(None, description="截至日期 YYYY-MM-DD；缺省为今天"),
                  format: str = FORMAT, ctx: Ctx = Depends(get_ctx)) -> Response:
    from ...reports.rectification import RectificationReportError, build_rectification

    _format(format)
    day = as_of or ctx.svc.today
    try:
        doc = build_rectification(ctx.session, inspection, day)
    except RectificationReportError as e:
        raise (DataNotFound if "没有" in str(e) else BadParameter)(str(e)) from None
    return _file(doc, f"整改进展公开（截至{day.isoformat()}）", format)


@router.get("/inspections", summary="可生成整改公开的督察轮次（已公开任务所属）")
def inspections(ctx: Ctx = Depends(get_ctx)) -> list[str]:
    from ...reports.rectification import inspections as listed

    return listed(ctx.session)
