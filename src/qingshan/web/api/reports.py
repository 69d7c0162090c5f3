"""``/api/v1/reports/...`` — the published documents generated on request, as Word, PDF or HTML downloads.

The same builders as ``qingshan report monthly|bulletin|rectification`` (:mod:`qingshan.reports`), on the
console's store cursor and ledger session. All three are public documents: the rectification disclosure is read
with the public principal inside its builder whoever asks, and the bulletin's governance chapter holds aggregate
counts only. A build takes seconds (the bulletin evaluates two years); here it runs in the request's worker thread.

The console's 报告 page in the platform process (``qingshan serve``) hands builds to the job queue instead
(:func:`build_report_file`, the same builders; docs/console.md "报告生成任务") and shows their progress.
"""

from __future__ import annotations

import datetime as dt
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response
from sqlalchemy.orm import Session

from ...ledger.api import API_PREFIX, Ctx, get_ctx
from ...reports.model import Document
from ..console import Console, get_console
from ..data.common import BadParameter, DataNotFound, resolve_city

router = APIRouter(prefix=f"{API_PREFIX}/reports", tags=["报告"])

MEDIA = {"docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
         "pdf": "application/pdf", "html": "text/html; charset=utf-8"}
FORMAT = Query("docx", description="docx（Word）、pdf 或 html")
REPORTS = {"monthly": "月度空气质量排名通报", "bulletin": "年度生态环境状况公报", "rectification": "督察整改进展公开"}


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
    return Response(body, media_type=MEDIA[fmt], headers=download_headers(f"{stem}.{fmt}", document.log))


def build_document(console: Console, session: Session, report: str, params: dict[str, Any],
                   public: bool) -> tuple[Document, str]:
    """Build one of :data:`REPORTS` (``params``: ``city`` and ``month`` | ``city`` and ``year`` | ``inspection``
    and ``as_of``); returns the document and the stem of its file name. The public's build leaves out the
    指挥调度 figures of the monthly report (the public sees no dispatch work). :class:`BadParameter` /
    :class:`DataNotFound` with the builders' Chinese message."""
    if report == "monthly":
        from ...reports.monthly import ReportError, build_monthly

        month = str(params.get("month") or "")
        name = resolve_city(console, console.store.state(), params.get("city"))
        with console.store.cursor() as cur:
            try:
                doc = build_monthly(cur, name, month, ledger_session=None if public else session)
            except ReportError as e:
                raise BadParameter(str(e)) from None
        return doc, f"{name}{month}空气质量排名通报"
    if report == "bulletin":
        from ...reports.bulletin import ReportError as BulletinError
        from ...reports.bulletin import build_bulletin

        try:
            year = int(params.get("year"))  # type: ignore[arg-type]
        except (TypeError, ValueError):
            raise BadParameter(f"年度应为整数 YYYY，而不是 {params.get('year')!r}") from None
        if not 2000 <= year <= 2100:
            raise BadParameter(f"年度应在 2000–2100 之间，实际为 {year}")
        name = resolve_city(console, console.store.state(), params.get("city"))
        with console.store.cursor() as cur:
            try:
                doc = build_bulletin(cur, name, year, ledger_session=session)
            except BulletinError as e:
                raise BadParameter(str(e)) from None
        return doc, f"{year}年{name}生态环境状况公报"
    if report == "rectification":
        from ...reports.rectification import RectificationReportError, build_rectification

        try:
            day = dt.date.fromisoformat(str(params.get("as_of")))
        except ValueError:
            raise BadParameter(f"截至日期应为 YYYY-MM-DD，而不是 {params.get('as_of')!r}") from None
        try:
            doc = build_rectification(session, params.get("inspection") or None, day)
        except RectificationReportError as e:
            raise (DataNotFound if "没有" in str(e) else BadParameter)(str(e)) from None
        return doc, f"整改进展公开（截至{day.isoformat()}）"
    raise BadParameter(f"报告应为 {'、'.join(REPORTS)}，实际为 {report!r}")


def build_report_file(console: Console, report: str, params: dict[str, Any], public: bool, folder: Path,
                      stage: Callable[[str], None]) -> dict[str, Any]:
    """A report build of the platform's job queue (:class:`qingshan.platform.jobs.JobQueue`): the document
    written into ``folder``; returns the job's result (the file, its download name and media type, the build
    log)."""
    from ...reports.output import write_report

    fmt = _format(str(params.get("format") or "docx"))
    with console.ledger.session() as session:
        doc, stem = build_document(console, session, report, params, public)
    stage("正在写出文件")
    path = write_report(doc, folder / "report", (fmt,))[0]
    return {"file": str(path), "name": f"{stem}.{fmt}", "media": MEDIA[fmt], "title": REPORTS[report],
            "size": path.stat().st_size, "log": list(doc.log)}


def download_headers(name: str, log: list[str] | tuple[str, ...] = ()) -> dict[str, str]:
    """The headers of a report download: the file's Chinese name (RFC 5987) and the build log."""
    fmt = name.rsplit(".", 1)[-1]
    return {"Content-Disposition": f"attachment; filename=\"report.{fmt}\"; filename*=UTF-8''{quote(name)}",
            "X-Report-Log": quote("；".join(log)[:2000])}


@router.get("/monthly", summary="月度空气质量排名通报（区、镇街、点位；本月与累计；同比；黄/红标注）")
def monthly(month: str = Query(..., description="月份 YYYY-MM"), city: str | None = Query(None),
            format: str = FORMAT, console: Console = Depends(get_console), ctx: Ctx = Depends(get_ctx)) -> Response:
    _format(format)
    # 指挥调度 figures for signed-in users only: the public sees no dispatch work
    doc, stem = build_document(console, ctx.session, "monthly", {"month": month, "city": city},
                               ctx.principal.is_public)
    return _file(doc, stem, format)


@router.get("/bulletin", summary="年度生态环境状况公报（空气、降水、降尘、地表水、声环境、治理）")
def bulletin(year: int = Query(..., ge=2000, le=2100), city: str | None = Query(None), format: str = FORMAT,
             console: Console = Depends(get_console), ctx: Ctx = Depends(get_ctx)) -> Response:
    _format(format)
    doc, stem = build_document(console, ctx.session, "bulletin", {"year": year, "city": city},
                               ctx.principal.is_public)
    return _file(doc, stem, format)


@router.get("/rectification", summary="督察整改进展公开（仅含已公开内容）")
def rectification(inspection: str | None = Query(None, description="督察名称或其中唯一的一段；台账只有一轮时可省略"),
                  as_of: dt.date | None = Query(None, description="截至日期 YYYY-MM-DD；缺省为今天"),
                  format: str = FORMAT, console: Console = Depends(get_console),
                  ctx: Ctx = Depends(get_ctx)) -> Response:
    _format(format)
    day = as_of or ctx.svc.today
    doc, stem = build_document(console, ctx.session, "rectification", {"inspection": inspection,
                                                                       "as_of": day.isoformat()},
                               ctx.principal.is_public)
    return _file(doc, stem, format)


@router.get("/inspections", summary="可生成整改公开的督察轮次（已公开任务所属）")
def inspections(ctx: Ctx = Depends(get_ctx)) -> list[str]:
    from ...reports.rectification import inspections as listed

    return listed(ctx.session)
