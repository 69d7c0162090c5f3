"""``/api/v1/review/...`` — data review (数据审核): pre-check suggestions, review marks and their log, the XLSX
round trip (docs/review.md#api). Reviewers only (roles bureau and admin): the public gets 401, other roles 403.
A browser session sends ``X-CSRF-Token`` with every POST (checked by the ledger's :func:`get_ctx`)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, Optional, TypeVar
from urllib.parse import quote

from fastapi import APIRouter, Depends, File, Query, UploadFile
from fastapi.responses import Response
from pydantic import BaseModel, Field

from ...errors import QingshanError
from ...ledger.api import API_PREFIX, XLSX_TYPE, Ctx, get_ctx
from ..console import Console, get_console
from ..data import review as data
from ..data.common import BadParameter
from .response import ConsoleJSON

router = APIRouter(prefix=f"{API_PREFIX}/review", tags=["数据审核"], default_response_class=ConsoleJSON)

PERIOD = Query(None, description="时段：2025-03、2025-03-01:2025-03-07 或 2025-03-05；缺省为最近 7 天（最长 92 天）")
STATION = Query(None, description="站点编码；缺省为全部")
MAX_WORKBOOK_BYTES = 5 * 1024 * 1024
T = TypeVar("T")


@contextmanager
def _checked() -> Iterator[None]:
    """A reviewer's bad input (unknown station, bad time, reason …) answers 422 with its Chinese line."""
    try:
        yield
    except BadParameter:
        raise
    except QingshanError as e:
        raise BadParameter(str(e)) from None


def _run(fn: Callable[..., T], *args: Any) -> T:
    with _checked():
        return fn(*args)


class MarkBody(BaseModel):
    action: str = Field("invalidate", description="invalidate 标记无效 | restore 恢复有效")
    station: str = Field(..., max_length=64, description="站点编码")
    start: str = Field(..., max_length=32, description="起始小时（小时结束时刻，YYYY-MM-DD HH:00）")
    end: str = Field(..., max_length=32, description="结束小时（含）")
    reason: str = Field(..., max_length=32, description="校准 故障 停电 维护 异常值 沙尘天气影响 其他（或其代码）")
    pollutants: Optional[str] = Field(None, max_length=64, description="逗号分隔，缺省为全部（沙尘：pm10,pm25）")
    note: Optional[str] = Field(None, max_length=500, description="说明（原因为“其他”时必填）")


class ConfirmBody(BaseModel):
    reason: str = Field(..., max_length=32)
    note: Optional[str] = Field(None, max_length=500)


class DismissBody(BaseModel):
    note: Optional[str] = Field(None, max_length=500)


@router.get("/suggestions", summary="自动预审建议（负值、恒值、PM2.5>PM10、超量程、突变、数采仪标记）")
def get_suggestions(period: str | None = PERIOD, station: str | None = STATION,
                    include_handled: bool = Query(False, description="也列出已确认或已驳回的建议"),
                    ctx: Ctx = Depends(get_ctx), console: Console = Depends(get_console)) -> ConsoleJSON:
    data.reviewer(ctx)
    return ConsoleJSON(_run(data.suggestions, console, period, station, include_handled))


@router.post("/suggestions/{key}/confirm", summary="确认预审建议：其站点小时标记为无效")
def post_confirm(key: str, body: ConfirmBody, ctx: Ctx = Depends(get_ctx),
                 console: Console = Depends(get_console)) -> ConsoleJSON:
    by = data.reviewer(ctx)
    return ConsoleJSON(_run(data.confirm, console, by, "api", key, body.reason, body.note))


@router.post("/suggestions/{key}/dismiss", summary="驳回预审建议（数据有效）")
def post_dismiss(key: str, body: DismissBody, ctx: Ctx = Depends(get_ctx),
                 console: Console = Depends(get_console)) -> ConsoleJSON:
    by = data.reviewer(ctx)
    return ConsoleJSON(_run(data.dismiss, console, by, "api", key, body.note))


@router.get("/marks", summary="审核记录（最新在前）与当前无效时段")
def get_marks(station: str | None = STATION, limit: int = Query(200, ge=1, le=5000),
              ctx: Ctx = Depends(get_ctx), console: Console = Depends(get_console)) -> ConsoleJSON:
    data.reviewer(ctx)
    return ConsoleJSON(_run(data.marks, console, station, limit))


@router.post("/marks", summary="标记站点×污染物×小时段无效，或恢复有效（记审核人、时间、原因、前后有效值个数）")
def post_mark(body: MarkBody, ctx: Ctx = Depends(get_ctx), console: Console = Depends(get_console)) -> ConsoleJSON:
    by = data.reviewer(ctx)
    return ConsoleJSON(_run(data.add_mark, console, by, "api", body.action, body.station, body.start, body.end,
                            body.reason, body.pollutants, body.note))


@router.get("/workbook", summary="导出审核工作簿（XLSX：预审建议与现有标记）")
def get_workbook(period: str | None = PERIOD, station: str | None = STATION, ctx: Ctx = Depends(get_ctx),
                 console: Console = Depends(get_console)) -> Response:
    data.reviewer(ctx)
    body, name = _run(data.workbook, console, period, station)
    return Response(body, media_type=XLSX_TYPE, headers={
        "Content-Disposition": f"attachment; filename=\"review.xlsx\"; filename*=UTF-8''{quote(name)}"})


@router.post("/workbook", summary="导入填写后的审核工作簿（逐行报告问题；重复导入不重复记录）")
async def post_workbook(file: UploadFile = File(...), ctx: Ctx = Depends(get_ctx),
                        console: Console = Depends(get_console)) -> ConsoleJSON:
    from fastapi.concurrency import run_in_threadpool

    by = data.reviewer(ctx)
    content = await file.read(MAX_WORKBOOK_BYTES + 1)
    if len(content) > MAX_WORKBOOK_BYTES:
        raise BadParameter(f"审核工作簿超过 {MAX_WORKBOOK_BYTES // (1024 * 1024)} MB")
    return ConsoleJSON(await run_in_threadpool(_run, data.load_workbook, console, by, content))
